"""The endpoint catalogue: clouds, aliases, regional templates, features, wildcards."""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from arc_preflight import catalog
from arc_preflight.catalog import CatalogError, Endpoint

CLOUDS = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")


def by_host(items: List[Endpoint]) -> Dict[str, Endpoint]:
    return {e.host: e for e in items}


def probeable(items: List[Endpoint]) -> List[str]:
    return [e.host for e in items if e.probe]


@pytest.fixture(scope="module")
def public() -> catalog.Cloud:
    return catalog.find_cloud("AzureCloud")


# --------------------------------------------------------------------------------------------
# clouds


def test_every_cloud_loads() -> None:
    loaded = catalog.clouds()
    assert set(loaded) == set(CLOUDS)
    for cloud in loaded.values():
        assert cloud.display
        assert cloud.regions, cloud.name
        assert cloud.templates, cloud.name
        assert cloud.identity_host and cloud.arm_host
        for region in cloud.regions:
            assert region == catalog.normalise_region(region), region
        for region in cloud.his_shards:
            assert region in cloud.regions, f"{cloud.name}: shard for unknown region {region}"


@pytest.mark.parametrize("name, expected", [
    ("AzureCloud", "AzureCloud"),
    ("azurecloud", "AzureCloud"),
    ("AZURECLOUD", "AzureCloud"),
    ("public", "AzureCloud"),
    ("Public", "AzureCloud"),
    (" AzurePublicCloud ", "AzureCloud"),
    ("AzureUSGovernment", "AzureUSGovernment"),
    ("usgov", "AzureUSGovernment"),
    ("USGov", "AzureUSGovernment"),
    ("AzureChinaCloud", "AzureChinaCloud"),
    ("china", "AzureChinaCloud"),
    ("CHINA", "AzureChinaCloud"),
])
def test_find_cloud_names_and_aliases(name: str, expected: str) -> None:
    assert catalog.find_cloud(name).name == expected


@pytest.mark.parametrize("name", ["mars", "", "azure-cloud", "AzureGermanCloud"])
def test_unknown_cloud(name: str) -> None:
    with pytest.raises(CatalogError, match="unknown cloud") as info:
        catalog.find_cloud(name)
    for cloud in CLOUDS:
        assert cloud in str(info.value), "the message lists what is accepted"


@pytest.mark.parametrize("cloud_name", CLOUDS)
@pytest.mark.parametrize("with_location", [False, True])
@pytest.mark.parametrize("optional", [False, True])
def test_wildcards_never_probeable_and_probeable_names_are_concrete(
        cloud_name: str, with_location: bool, optional: bool) -> None:
    cloud = catalog.find_cloud(cloud_name)
    location = cloud.regions[0] if with_location else None
    items = catalog.endpoints(cloud, location, include_optional=optional)
    assert items
    for item in items:
        if "*" in item.host:
            assert not item.probe, item.host
            assert item.reason, f"{item.host} must say why it is not probed"
            assert item.as_dict()["url"] is None
        if item.probe:
            assert "{" not in item.host and "*" not in item.host, item.host
            assert item.url.startswith(f"{item.scheme}://{item.host}")
        assert item.when in catalog.WHEN
        assert 0 < item.port < 65536
    keys = [(e.host, e.port) for e in items]
    assert len(keys) == len(set(keys)), "no endpoint is listed twice"


# --------------------------------------------------------------------------------------------
# public cloud


def test_public_without_location(public: catalog.Cloud) -> None:
    items = catalog.endpoints(public)
    hosts = by_host(items)
    for host in ("login.microsoftonline.com", "login.windows.net", "management.azure.com",
                 "gbl.his.arc.azure.com", "agentserviceapi.guestconfiguration.azure.com"):
        assert host in hosts, host
        assert hosts[host].probe, host
    regional = [e for e in items if "{" in e.host]
    assert {e.host for e in regional} >= {
        "{region}.login.microsoft.com",
        "{his_shard}.his.arc.azure.com",
        "{region}-gas.guestconfiguration.azure.com",
    }
    for item in regional:
        assert not item.probe
        assert "--location" in item.reason, item.host


def test_public_with_eastus(public: catalog.Cloud) -> None:
    items = catalog.endpoints(public, "eastus")
    hosts = by_host(items)
    for host in ("eastus.login.microsoft.com", "eus.his.arc.azure.com",
                 "eastus-gas.guestconfiguration.azure.com", "login.microsoftonline.com",
                 "gbl.his.arc.azure.com"):
        assert host in hosts, host
        assert hosts[host].probe, host
    assert not [e.host for e in items if "{" in e.host], "every template is filled"
    # the wildcards stay listed for firewall requests
    assert "*.his.arc.azure.com" in hosts
    assert "*.guestconfiguration.azure.com" in hosts
    assert hosts["eus.his.arc.azure.com"].private_link
    assert hosts["eus.his.arc.azure.com"].bypass == "Arc"


@pytest.mark.parametrize("location", ["East US", "eastus", "EASTUS", " East  US "])
def test_region_normalisation(public: catalog.Cloud, location: str) -> None:
    assert catalog.normalise_region(location) == "eastus"
    assert "eastus-gas.guestconfiguration.azure.com" in probeable(
        catalog.endpoints(public, location))
    assert catalog.check_region(public, location) is None


def test_normalise_region_multiword() -> None:
    assert catalog.normalise_region("East US 2") == "eastus2"
    assert catalog.normalise_region("West Central US") == "westcentralus"


def test_region_without_known_his_shard(public: catalog.Cloud) -> None:
    assert "westus2" not in public.his_shards
    items = catalog.endpoints(public, "westus2")
    hosts = by_host(items)
    his = [h for h in hosts if h.endswith(".his.arc.azure.com")]
    assert sorted(his) == ["*.his.arc.azure.com", "gbl.his.arc.azure.com"]
    assert not hosts["*.his.arc.azure.com"].probe
    assert "westus2-gas.guestconfiguration.azure.com" in probeable(items)
    assert "westus2.login.microsoft.com" in probeable(items)


@pytest.mark.parametrize("region, shard", [("westeurope", "weu"), ("japaneast", "je"),
                                           ("southeastasia", "sea")])
def test_known_his_shards(public: catalog.Cloud, region: str, shard: str) -> None:
    assert f"{shard}.his.arc.azure.com" in probeable(catalog.endpoints(public, region))


def test_optional_endpoints_only_with_features(public: catalog.Cloud) -> None:
    base = catalog.endpoints(public, "eastus")
    assert all(e.when != "optional" for e in base)
    sql = catalog.endpoints(public, "eastus", ["sql"])
    optional = {e.host for e in sql if e.when == "optional"}
    assert optional == {"dataprocessingservice.eastus.arcdataservices.com",
                        "telemetry.eastus.arcdataservices.com", "graph.microsoft.com",
                        "*.eastus.arcdataservices.com", "*.vault.azure.net"}
    assert all(e.feature == "sql" for e in sql if e.when == "optional")
    esu = catalog.endpoints(public, None, ["esu"])
    ports = sorted(e.port for e in esu if e.host == "www.microsoft.com")
    assert ports == [80, 443], "HTTP and HTTPS ESU endpoints are separate entries"
    http = next(e for e in esu if e.host == "www.microsoft.com" and e.port == 80)
    assert http.url == "http://www.microsoft.com/pkiops/certs"


def test_include_optional_lists_every_feature(public: catalog.Cloud) -> None:
    items = catalog.endpoints(public, "eastus", include_optional=True)
    features = {e.feature for e in items if e.when == "optional"}
    assert features == set(catalog.FEATURES) - {"extensions"}
    assert "dls.microsoft.com" in by_host(items)


def test_optional_regional_template_without_location(public: catalog.Cloud) -> None:
    hosts = by_host(catalog.endpoints(public, None, ["sql"]))
    template = hosts["dataprocessingservice.{region}.arcdataservices.com"]
    assert not template.probe
    assert "--location" in template.reason


def test_as_dict_fields(public: catalog.Cloud) -> None:
    row = by_host(catalog.endpoints(public))["management.azure.com"].as_dict()
    assert row == {
        "host": "management.azure.com", "port": 443, "scheme": "https",
        "url": "https://management.azure.com/", "purpose": row["purpose"], "when": "connect",
        "feature": None, "private_link": False, "probe": True, "reason": None,
        "proxy_bypass": "ARM,AMA", "needed_with_private_link": True, "source": None,
        "inferred": None,
    }
    assert by_host(catalog.endpoints(public))["management.azure.com"].target == \
        "management.azure.com:443"


# --------------------------------------------------------------------------------------------
# sovereign clouds


@pytest.mark.parametrize("cloud_name, identity, arm", [
    ("AzureCloud", "login.microsoftonline.com", "management.azure.com"),
    ("AzureUSGovernment", "login.microsoftonline.us", "management.usgovcloudapi.net"),
    ("AzureChinaCloud", "login.chinacloudapi.cn", "management.chinacloudapi.cn"),
])
def test_identity_and_arm_hosts(cloud_name: str, identity: str, arm: str) -> None:
    cloud = catalog.find_cloud(cloud_name)
    assert cloud.identity_host == identity
    assert cloud.arm_host == arm
    names = probeable(catalog.endpoints(cloud))
    assert identity in names
    assert arm in names


def test_us_government_endpoints() -> None:
    cloud = catalog.find_cloud("usgov")
    items = catalog.endpoints(cloud, "usgovvirginia")
    names = probeable(items)
    for host in ("login.microsoftonline.us", "usgovvirginia.login.microsoftonline.us",
                 "management.usgovcloudapi.net", "gbl.his.arc.azure.us",
                 "usgv.his.arc.azure.us", "agentserviceapi.guestconfiguration.azure.us",
                 "usgovvirginia-gas.guestconfiguration.azure.us"):
        assert host in names, host
    assert not [h for h in names if h.endswith(".com") and "azure.com" in h], \
        "no public-cloud Azure names in US Government"


def test_china_endpoints() -> None:
    cloud = catalog.find_cloud("china")
    items = catalog.endpoints(cloud, "chinaeast2")
    names = probeable(items)
    for host in ("login.chinacloudapi.cn", "management.chinacloudapi.cn",
                 "agentserviceapi.guestconfiguration.azure.cn",
                 "chinaeast2-gas.guestconfiguration.azure.cn"):
        assert host in names, host
    his = by_host(items)["*.his.arc.azure.cn"]
    assert not his.probe
    assert not [h for h in names if h.endswith("azure.com")]


# --------------------------------------------------------------------------------------------
# check_region


@pytest.mark.parametrize("cloud_name, location, ok", [
    ("AzureCloud", "eastus", True),
    ("AzureCloud", "East US 2", True),
    ("AzureCloud", "atlantis", False),
    ("AzureCloud", "usgovvirginia", False),
    ("AzureUSGovernment", "usgovvirginia", True),
    ("AzureUSGovernment", "eastus", False),
    ("AzureChinaCloud", "China North 3", True),
    ("AzureChinaCloud", "westeurope", False),
])
def test_check_region(cloud_name: str, location: str, ok: bool) -> None:
    message: Optional[str] = catalog.check_region(catalog.find_cloud(cloud_name), location)
    if ok:
        assert message is None
    else:
        assert message is not None
        assert location in message and cloud_name in message
