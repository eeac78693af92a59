"""The endpoint catalogue against Microsoft's documented lists, per cloud (issue 15, item 7).

The documented tables are kept as data in tests/fixtures/network_requirements.toml, with their
source (MicrosoftDocs/azure-management-docs articles/azure-arc/servers/includes/
network-requirements.md at commit d923d588, and arc-gateway.md for the gateway). Every
documented name must be in the catalogue with the documented port, time and private-link
status; every catalogue name must be documented, covered by a documented wildcard, or say where
it comes from, and what no Microsoft page backs is marked inferred.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from arc_preflight import catalog, plan
from arc_preflight.config import Settings
from arc_preflight.datafiles import loads
from arc_preflight.errors import CatalogError

FIXTURE = loads((Path(__file__).parent / "fixtures" / "network_requirements.toml")
                .read_text(encoding="utf-8"))
CLOUDS = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")


def filled(host: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "x", host).lower()


def catalogue(cloud_name: str) -> List[catalog.Endpoint]:
    return catalog.endpoints(catalog.find_cloud(cloud_name), None, include_optional=True)


def test_fixture_names_its_source() -> None:
    source = FIXTURE["source"]
    assert source["repository"] == "MicrosoftDocs/azure-management-docs"
    assert source["path"].endswith("includes/network-requirements.md")
    assert len(source["commit"]) == 40


@pytest.mark.parametrize("cloud_name", CLOUDS)
def test_every_documented_name_is_catalogued(cloud_name: str) -> None:
    items = catalogue(cloud_name)
    for doc in FIXTURE[cloud_name]:
        found = [e for e in items if e.host == doc["host"]]
        assert found, f"{cloud_name}: {doc['host']} is documented but not catalogued"
        assert sorted(e.port for e in found) == sorted(doc.get("ports", [443])), doc["host"]
        for item in found:
            assert item.when == doc["when"], (doc["host"], item.when)
            state = doc.get("private_link")
            if state == "private":
                assert item.private_link, doc["host"]
            elif state == "public":
                assert not item.private_link and item.needed_with_private_link, doc["host"]
            elif state == "unused":
                assert not item.needed_with_private_link, doc["host"]


@pytest.mark.parametrize("cloud_name", CLOUDS)
def test_every_catalogued_name_is_documented_or_says_where_it_comes_from(
        cloud_name: str) -> None:
    documented = [d["host"] for d in FIXTURE[cloud_name]]
    wildcards = [filled(h) for h in documented if "*" in h]
    for item in catalogue(cloud_name):
        if item.host in documented:
            continue
        covered = any(fnmatch.fnmatchcase(filled(item.host), w) for w in wildcards)
        if covered:
            continue
        assert item.source, f"{cloud_name}: {item.host} is neither documented nor sourced"


def test_names_no_microsoft_page_backs_are_inferred() -> None:
    gov = {e.host: e for e in catalogue("AzureUSGovernment")}
    for host in ("{region}.login.microsoftonline.us", "guestnotificationservice.azure.us",
                 "*.servicebus.usgovcloudapi.net"):
        notes = gov[host].inferred
        assert any(n.startswith("name:") and "AzureStack-Tools" in n for n in notes), host
    # Documented names carry no note about the name itself.
    assert not any(n.startswith("name:") for n in gov["login.microsoftonline.us"].inferred)


@pytest.mark.parametrize("cloud_name", ["AzureUSGovernment", "AzureChinaCloud"])
def test_bypass_categories_outside_the_public_cloud_are_inferred(cloud_name: str) -> None:
    for item in catalogue(cloud_name):
        if item.bypass:
            assert any(n.startswith(f"bypass {item.bypass}:") for n in item.inferred), item.host


def test_private_link_flags_of_21vianet_are_inferred() -> None:
    for item in catalogue("AzureChinaCloud"):
        if item.private_link:
            assert any(n.startswith("private link:") for n in item.inferred), item.host


def test_public_cloud_flags_are_documented() -> None:
    for item in catalogue("AzureCloud"):
        assert not any(n.startswith(("bypass", "private link")) for n in item.inferred)


def test_us_government_pkiops_on_80_and_443() -> None:
    cloud = catalog.find_cloud("AzureUSGovernment")
    esu = [e for e in catalog.endpoints(cloud, None, ["esu"]) if e.host == "www.microsoft.com"]
    assert sorted((e.port, e.scheme) for e in esu) == [(80, "http"), (443, "https")]
    assert all(e.path == "/pkiops/certs" and e.probe for e in esu)


def test_21vianet_global_his_is_probeable() -> None:
    cloud = catalog.find_cloud("AzureChinaCloud")
    his = {e.host: e for e in catalog.endpoints(cloud, "chinaeast2")}["gbl.his.arc.azure.cn"]
    assert his.probe and his.private_link


@pytest.mark.parametrize(("cloud_name", "blob"), [
    ("AzureUSGovernment", "*.blob.core.usgovcloudapi.net"),
    ("AzureChinaCloud", "*.blob.core.chinacloudapi.cn"),
])
def test_extension_blob_storage_not_required_with_a_private_link_scope(cloud_name: str,
                                                                       blob: str) -> None:
    cloud = catalog.find_cloud(cloud_name)
    assert blob in {e.host for e in catalog.endpoints(cloud)}
    assert blob not in {e.host for e in catalog.endpoints(cloud, private_link_scope=True)}
    scope = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
             "Microsoft.HybridCompute/privateLinkScopes/pls")
    settings = Settings(cloud=cloud_name, private_link_scope=scope, only=("dns",),
                        agent_dir="/nonexistent-arc-agent")
    assert blob not in {e.host for e in plan.build(settings).endpoints}
    without = Settings(cloud=cloud_name, only=("dns",), agent_dir="/nonexistent-arc-agent")
    assert blob in {e.host for e in plan.build(without).endpoints}


# -- the Arc gateway ------------------------------------------------------------------------------


def by_role(items: List[catalog.Endpoint]) -> Dict[str, set]:
    roles: Dict[str, set] = {}
    for item in items:
        roles.setdefault(item.gateway, set()).add(item.host)
    return roles


def test_gateway_allow_list_is_the_documented_one() -> None:
    cloud = catalog.find_cloud("AzureCloud")
    roles = by_role(catalog.gateway_endpoints(cloud))
    wanted = set(FIXTURE["gateway"]["allow"])
    # Without --location the regional names stay templates, and their wildcards stand in.
    assert roles["allow"] - {"*.login.microsoft.com", "*.his.arc.azure.com"} == wanted
    filled_roles = by_role(catalog.gateway_endpoints(cloud, "eastus"))
    assert {"eastus.login.microsoft.com", "eus.his.arc.azure.com"} <= filled_roles["allow"]


def test_gateway_lists_what_stays_outside() -> None:
    cloud = catalog.find_cloud("AzureCloud")
    items = catalog.gateway_endpoints(cloud, "eastus", include_optional=True)
    roles = by_role(items)
    assert set(FIXTURE["gateway"]["outside"]) <= roles["outside"]
    assert "dls.microsoft.com" in roles["outside"]  # not in the gateway's endpoint list
    # Carried by the gateway (arc-gateway-endpoints.md): not needed in the firewall.
    assert {"guestnotificationservice.azure.com", "pas.windows.net",
            "eastus-gas.guestconfiguration.azure.com"} <= roles["through"]
    revocation = [e for e in items if e.host == "crl.microsoft.com"]
    assert revocation and revocation[0].port == 80 and revocation[0].inferred
    # allow first, then outside, then through
    order = [e.gateway for e in items]
    assert order == sorted(order, key=catalog.GATEWAY_ROLES.index)


@pytest.mark.parametrize("cloud_name", ["AzureUSGovernment", "AzureChinaCloud"])
def test_gateway_is_public_cloud_only(cloud_name: str) -> None:
    with pytest.raises(CatalogError):
        catalog.gateway_endpoints(catalog.find_cloud(cloud_name))


def test_endpoints_command_gateway_and_inferred_output(run_cli: Any) -> None:
    import csv
    import io
    import json

    result = run_cli("endpoints", "--gateway", "--location", "eastus", "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert rows[0]["host"] == "{prefix}.gw.arc.azure.com" and rows[0]["gateway"] == "allow"
    assert {r["gateway"] for r in rows} == {"allow", "outside", "through"}
    table = run_cli("endpoints", "--gateway", "--location", "eastus")
    assert "via gateway" in table.out and "allow (outside)" in table.out
    gov = run_cli("endpoints", "--cloud", "AzureUSGovernment", "--format", "csv")
    lines = list(csv.DictReader(io.StringIO(gov.out)))
    inferred = {r["host"]: r["inferred"] for r in lines}
    assert "AzureStack-Tools" in inferred["guestnotificationservice.azure.us"]
    assert inferred["*.blob.core.usgovcloudapi.net"] == ""
    china_plain = run_cli("endpoints", "--cloud", "AzureChinaCloud")
    assert "inferred [" in china_plain.out and "no private-link column" in china_plain.out
    refused = run_cli("endpoints", "--cloud", "AzureUSGovernment", "--gateway")
    assert refused.code == 3 and "public cloud only" in refused.err


def test_endpoints_with_scope_say_not_used(run_cli: Any) -> None:
    import json

    result = run_cli("endpoints", "--cloud", "usgov", "--private-link-scope", "x", "--format",
                     "json")
    rows = {r["host"]: r for r in json.loads(result.out)}
    assert rows["*.blob.core.usgovcloudapi.net"]["must_resolve"] == "not used"
    assert rows["*.his.arc.azure.us"]["must_resolve"] == "private"
