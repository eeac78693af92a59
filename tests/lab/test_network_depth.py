"""Network depth (issue 4, item 7): proxies, certificates, TLS versions, clocks, IMDS, Private
Link DNS and agent state, each produced for real in the lab.

Every test builds one situation (squid allowing, denying or demanding credentials; a dead proxy
port; a proxy known only from the environment or the agent's localconfig.json; a server
certificate from a second CA, for another name or expired; a TLS 1.1-only server; skewed ``Date``
headers; an Azure IMDS stand-in on 169.254.169.254; private answers from dnsmasq; stand-in agent
files and ``azcmagent``), runs the CLI unchanged inside the namespace through ``run()`` (which
validates the JSON against the schema) and asserts both the failing check (status, code, facts)
and the diagnosis (cause, category, severity).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from .netlab import PROXY_FROM_ENVIRONMENT, CliResult, Lab
from .test_scenarios import (
    LAB_ISSUER,
    LOCATION,
    agent_dir,
    checks,
    diagnosis,
    endpoint_checks,
    fake_systemd,
    run,
)

pytestmark = pytest.mark.lab

ARM = "management.azure.com"
DEAD_PROXY = "http://127.0.0.1:3999"
PROXY_PASSWORD = "Lab-Pw-7f3k9qZ"  # distinctive, so a leak anywhere in the output is found
PRIVATE_LINK_HOSTS = ("gbl.his.arc.azure.com", "eus.his.arc.azure.com",
                      "agentserviceapi.guestconfiguration.azure.com",
                      "eastus-gas.guestconfiguration.azure.com")
PRIVATE_RANGE = "127.0.2.0/24"
SCOPE = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
         "Microsoft.HybridCompute/privateLinkScopes/pls")
FOREIGN_ISSUER = "Contoso TLS Inspection CA"
INSTALL_ONLY = ("download.microsoft.com", "packages.microsoft.com")
CONNECTED_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/arc-rg/"
                "providers/Microsoft.HybridCompute/machines/web01")


# ---------------------------------------------------------------------------------------------
# Helpers (run/checks/diagnosis come from test_scenarios)


def cause(result: CliResult, cause_id: str) -> Dict[str, Any]:
    found = [d for d in result.data["diagnoses"] if d["cause_id"] == cause_id]
    assert found, f"no {cause_id} diagnosis in {[d['cause_id'] for d in result.data['diagnoses']]}"
    return found[0]


def cause_ids(result: CliResult) -> List[str]:
    return [d["cause_id"] for d in result.data["diagnoses"]]


def by_host(result: CliResult, probe: str) -> Dict[str, Dict[str, Any]]:
    """Endpoint checks of one probe kind keyed by host name."""
    return {c["target"].rsplit(":", 1)[0] if probe != "dns" else c["target"]: c
            for c in endpoint_checks(result, probe)}


def failed(check: Dict[str, Any], code: str) -> bool:
    """The check failed with ``code``; install-only endpoints (optional once the agent is
    installed, as it is in these tests) are demoted to warnings by design."""
    host = check["target"].rsplit(":", 1)[0]
    status = "warn" if host in INSTALL_ONLY else "fail"
    return check["status"] == status and check["code"] == code


def localconfig(lab: Lab, settings: Dict[str, Any]) -> str:
    """Write the agent's localconfig.json into the stand-in agent folder; returns the folder."""
    folder = agent_dir(lab)
    path = Path(folder) / "localconfig.json"
    path.write_text(json.dumps(settings))
    path.chmod(0o644)
    return folder


def assert_proxied(result: CliResult, proxy_id: str) -> None:
    """Every TLS check went through the proxy, and no endpoint was resolved or dialled."""
    tls = endpoint_checks(result, "tls")
    assert tls
    for check in tls:
        assert check["status"] == "pass", (check["id"], check["summary"])
        assert check["facts"]["route"] == "proxy"
    assert endpoint_checks(result, "dns") == []
    assert endpoint_checks(result, "tcp") == []
    assert checks(result)[proxy_id]["status"] == "pass"


def write_cert(lab: Lab, days_left: float) -> Path:
    """A stand-in managed-identity certificate ``<agent_dir>/certs/myCert`` expiring in
    ``days_left`` days (negative: already expired), in the agent's shape: base64 of a PKCS#12
    bundle without a password (see tests/test_agent_cert.py for the public readers of the real
    file)."""
    import trustme
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now + datetime.timedelta(days=days_left)
    not_before = min(now, not_after) - datetime.timedelta(days=90)
    leaf = trustme.CA().issue_cert("web01.arc.local", not_before=not_before,
                                   not_after=not_after)
    cert = x509_from_pem(leaf.cert_chain_pems[0].bytes())
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    bundle = pkcs12.serialize_key_and_certificates(None, key, cert, None,
                                                   serialization.NoEncryption())
    folder = Path(agent_dir(lab)) / "certs"
    folder.mkdir(exist_ok=True)
    path = folder / "myCert"
    path.write_bytes(base64.b64encode(bundle))
    folder.chmod(0o755)
    path.chmod(0o644)
    return path


def x509_from_pem(data: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(data)


# ---------------------------------------------------------------------------------------------
# 1-4. squid: allowing, denying one host (403), requiring basic auth (407); a dead proxy port


def test_proxy_allowing_everything(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    result = run(healthy_lab, proxy=proxy.url)
    assert result.returncode == 0, result.data["diagnoses"]
    assert result.data["diagnoses"] == []
    assert_proxied(result, "proxy:127.0.0.1:3128")
    for check in endpoint_checks(result, "tls"):
        assert check["facts"]["route_reason"] == "--proxy"
        assert check["facts"]["issuer"] == LAB_ISSUER
    assert all(c["status"] == "pass" for c in endpoint_checks(result, "https"))
    assert result.data["settings"]["proxy_effective"]["source"] == "--proxy"
    log = proxy.access_log()
    for host in ("login.microsoftonline.com", ARM, "gbl.his.arc.azure.com"):
        assert f"CONNECT {host}:443" in log
    assert "TCP_DENIED" not in log


def test_proxy_denying_management_endpoint(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy(deny=[ARM])
    result = run(healthy_lab, proxy=proxy.url)
    by_id = checks(result)
    tls = by_id[f"tls:{ARM}:443"]
    assert tls["status"] == "fail" and tls["code"] == "proxy.denied"
    assert tls["facts"]["proxy_status"] == 403 and tls["facts"]["route"] == "proxy"
    assert by_id[f"https:{ARM}:443"]["blocked_by"] == f"tls:{ARM}:443"
    diag = cause(result, "arm_blocked")
    assert diag["category"] == "firewall_or_proxy_blocking" and diag["severity"] == "fail"
    assert any(ARM in e for e in diag["evidence"])
    assert len(diag["evidence"]) == 1
    others = [c for c in endpoint_checks(result, "tls") if c["id"] != f"tls:{ARM}:443"]
    assert others and all(c["status"] == "pass" for c in others)
    assert f"CONNECT {ARM}:443" in proxy.access_log()
    assert "TCP_DENIED/403" in proxy.access_log()
    assert result.returncode == 2


def test_proxy_requiring_auth_without_credentials(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy(auth=("arc", PROXY_PASSWORD))
    result = run(healthy_lab, proxy=proxy.url)
    tls = endpoint_checks(result, "tls")
    assert tls and all(c["code"] == "proxy.auth_required" for c in tls)
    assert all(c["facts"]["proxy_status"] == 407 for c in tls)
    # The proxy itself is reachable: the failure is the authentication, reported once.
    assert checks(result)["proxy:127.0.0.1:3128"]["status"] == "pass"
    assert cause_ids(result).count("proxy_auth_required") == 1
    diag = cause(result, "proxy_auth_required")
    assert diag["category"] == "proxy_auth_required" and diag["severity"] == "fail"
    assert "firewall_or_proxy_blocking" not in [d["category"] for d in result.data["diagnoses"]]
    assert result.returncode == 2


def table_run(lab: Lab, *extra: str, env: Dict[str, str]) -> Any:
    """The same check rendered as the table an admin reads (no proxy flag unless given)."""
    return lab.cli("check", "--ca-bundle", str(lab.ca_bundle), "--format", "table",
                   "--timeout", "2", "--location", LOCATION, "--himds-url", lab.himds_url,
                   "--agent-dir", agent_dir(lab), "--expected-issuer", LAB_ISSUER, *extra,
                   env=env, timeout=60)


def assert_password_hidden(*texts: str) -> None:
    token = base64.b64encode(f"arc:{PROXY_PASSWORD}".encode()).decode()
    for text in texts:
        assert PROXY_PASSWORD not in text
        assert token not in text


def test_proxy_credentials_in_flag_work_and_never_leak(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy(auth=("arc", PROXY_PASSWORD))
    assert PROXY_PASSWORD in proxy.url_with_auth
    result = run(healthy_lab, proxy=proxy.url_with_auth)
    assert_proxied(result, "proxy:127.0.0.1:3128")
    assert "TCP_TUNNEL/200" in proxy.access_log()
    assert result.data["settings"]["proxy_effective"]["url"].endswith("127.0.0.1:3128")
    table = table_run(healthy_lab, "--proxy", proxy.url_with_auth,
                      env=fake_systemd(healthy_lab))
    assert "Traceback" not in table.stderr
    assert "127.0.0.1:3128" in result.stdout  # the URL is still shown, without its password
    assert_password_hidden(result.stdout, result.stderr, table.stdout, table.stderr)


def test_proxy_credentials_in_agent_config_warn_and_never_leak(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy(auth=("arc", PROXY_PASSWORD))
    localconfig(healthy_lab, {"proxy.url": proxy.url_with_auth})
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT)
    assert result.data["settings"]["proxy_effective"]["source"] == "agent proxy.url"
    assert_proxied(result, "proxy:127.0.0.1:3128")
    config = checks(result)["proxy:config"]
    assert config["status"] == "warn" and config["code"] == "proxy.credentials_in_url"
    diag = cause(result, "proxy_credentials_in_url")
    assert diag["category"] == "proxy_auth_required" and diag["severity"] == "warn"
    assert result.returncode == 1
    table = table_run(healthy_lab, env=fake_systemd(healthy_lab))
    assert table.returncode == 1, table.stderr[-2000:]
    assert "proxy.credentials_in_url" in table.stdout
    assert_password_hidden(result.stdout, result.stderr, table.stdout, table.stderr)


def test_proxy_credentials_in_flag_are_flagged(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy(auth=("arc", PROXY_PASSWORD))
    result = run(healthy_lab, proxy=proxy.url_with_auth)
    config = checks(result)["proxy:config"]
    assert config["status"] == "warn" and config["code"] == "proxy.credentials_in_url"
    assert cause(result, "proxy_credentials_in_url")["severity"] == "warn"
    assert result.returncode == 1


def test_dead_proxy_port(healthy_lab: Lab) -> None:
    result = run(healthy_lab, proxy=DEAD_PROXY)
    by_id = checks(result)
    proxy = by_id["proxy:127.0.0.1:3999"]
    assert proxy["status"] == "fail" and proxy["code"] == "proxy.unreachable"
    assert "refused" in proxy["summary"]
    tls = endpoint_checks(result, "tls")
    assert tls and all(c["status"] == "skip" and c["blocked_by"] == "proxy:127.0.0.1:3999"
                       for c in tls)
    assert all(c["status"] == "skip" for c in endpoint_checks(result, "https"))
    diag = diagnosis(result, "proxy_misconfigured")
    assert diag["cause_id"] == "proxy_unreachable" and diag["severity"] == "fail"
    assert any("proxy:127.0.0.1:3999" in e for e in diag["evidence"])
    # One root cause: nothing about the endpoints behind the dead proxy.
    assert [d["category"] for d in result.data["diagnoses"]] == ["proxy_misconfigured"]
    assert result.returncode == 2


# ---------------------------------------------------------------------------------------------
# 5. A proxy known only from the environment, or from the agent's own configuration


def test_proxy_only_from_environment(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT, env={"HTTPS_PROXY": proxy.url})
    effective = result.data["settings"]["proxy_effective"]
    assert "HTTPS_PROXY" in effective["source"]
    assert effective["url"] == proxy.url
    assert_proxied(result, "proxy:127.0.0.1:3128")
    for check in endpoint_checks(result, "tls"):
        assert "HTTPS_PROXY" in check["facts"]["route_reason"]
    assert f"CONNECT {ARM}:443" in proxy.access_log()
    # The agent's services do not see this shell's variable: said, but only as a warning.
    config = checks(result)["proxy:config"]
    assert config["status"] == "warn" and config["code"] == "proxy.conflict"
    assert "no proxy" in config["summary"]
    assert [s["source"] for s in config["facts"]["sources"]] == ["this shell's HTTPS_PROXY"]
    assert cause_ids(result) == ["proxy_sources_conflict"]
    assert result.returncode == 1


def service_proxy(lab: Lab, url: str) -> Dict[str, str]:
    """PATH whose systemctl answers ``show himdsd.service -p Environment`` with HTTPS_PROXY (as
    ``azcmagent_proxy add`` / a systemd drop-in sets it) and otherwise defers to the stand-in
    systemctl of ``fake_systemd()``."""
    fakebin = Path(lab.workdir) / "fakebin"
    fake_systemd(lab)  # make sure the stand-ins exist
    folder = Path(lab.workdir) / "svcbin"
    folder.mkdir(exist_ok=True)
    script = folder / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        'case " $* " in\n'
        f"  *\" -p Environment \"*) echo 'Environment=HTTPS_PROXY={url} NO_PROXY=localhost';"
        " exit 0;;\n"
        "esac\n"
        f'exec {fakebin}/systemctl "$@"\n')
    script.chmod(0o755)
    folder.chmod(0o755)
    return {"PATH": f"{folder}:{fakebin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def test_proxy_in_agent_service_environment_is_listed(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT, env=service_proxy(healthy_lab,
                                                                              proxy.url))
    config = checks(result)["proxy:config"]
    assert {"source": "himdsd service environment", "url": proxy.url,
            "detail": "systemctl show", "used": True} in config["facts"]["sources"]


def test_proxy_only_in_agent_service_environment(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT, env=service_proxy(healthy_lab,
                                                                              proxy.url))
    config = checks(result)["proxy:config"]
    assert "no proxy configured in any source" not in config["summary"]
    proxied = result.data["settings"]["proxy_effective"]["url"] == proxy.url
    # Either the agent's proxy is used (and reported), or the mismatch is at least a warning.
    assert proxied or (config["status"] == "warn" and config["code"] == "proxy.conflict")
    if proxied:
        assert_proxied(result, "proxy:127.0.0.1:3128")


def systemd_proxy_root(lab: Lab, url: str) -> Path:
    """A --config file whose system-root holds what ``azcmagent_proxy add URL`` writes:
    DefaultEnvironment="https_proxy=URL" in lib/systemd/system.conf.d/proxy.conf, beside the
    installer's azcmagent.conf with the identity endpoints (shapes: tests/test_proxy_sources.py).
    """
    root = Path(lab.workdir) / "sysroot"
    conf = root / "lib" / "systemd" / "system.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "proxy.conf").write_text(f'[Manager]\nDefaultEnvironment="https_proxy={url}"\n')
    (conf / "azcmagent.conf").write_text(
        '[Manager]\nDefaultEnvironment="IDENTITY_ENDPOINT=http://localhost:40342/metadata/'
        'identity/oauth2/token" "IMDS_ENDPOINT=http://localhost:40342"\n')
    config = Path(lab.workdir) / "sysroot.toml"
    config.write_text(f'system-root = "{root}"\n')
    for path in (root, root / "lib", root / "lib" / "systemd", conf):
        path.chmod(0o755)
    return config


def test_proxy_in_global_systemd_file_is_used(healthy_lab: Lab) -> None:
    """The global file is not a unit property: the stand-in systemctl prints 'Environment='
    for himdsd, as systemd does, and the proxy is still found and used."""
    proxy = healthy_lab.proxy()
    config = systemd_proxy_root(healthy_lab, proxy.url)
    result = run(healthy_lab, "--config", str(config), proxy=PROXY_FROM_ENVIRONMENT)
    effective = result.data["settings"]["proxy_effective"]
    assert effective["url"] == proxy.url
    assert effective["source"] == "systemd DefaultEnvironment (azcmagent_proxy)"
    config_check = checks(result)["proxy:config"]
    used = [s for s in config_check["facts"]["sources"] if s["used"]]
    assert [s["source"] for s in used] == ["systemd DefaultEnvironment (azcmagent_proxy)"]
    assert "proxy.conf" in used[0]["detail"]
    assert_proxied(result, "proxy:127.0.0.1:3128")
    assert f"CONNECT {ARM}:443" in proxy.access_log()


def test_show_disagreeing_with_the_systemd_file(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    config = systemd_proxy_root(healthy_lab, proxy.url)
    # azcmagent show -j as an agent whose services started before azcmagent_proxy ran.
    shown = {"status": "Disconnected", "agentVersion": "1.64.03414.2961", "httpsProxy": "",
             "gatewayUrl": "", "connectionType": "direct"}
    result = run(healthy_lab, "--config", str(config), proxy=PROXY_FROM_ENVIRONMENT, show=shown)
    config_check = checks(result)["proxy:config"]
    assert config_check["status"] == "warn" and config_check["code"] == "proxy.conflict"
    assert "azcmagent show reports no proxy" in config_check["summary"]
    assert config_check["facts"]["agent_show"]["connection_type"] == "direct"


def test_proxy_named_by_host_name(healthy_lab: Lab) -> None:
    healthy_lab.dns({"proxy.corp.example": "127.0.0.1"})
    proxy = healthy_lab.proxy()
    result = run(healthy_lab, proxy=f"http://proxy.corp.example:{proxy.port}")
    check = checks(result)["proxy:proxy.corp.example:3128"]
    assert check["status"] == "pass" and check["facts"]["address"] == "127.0.0.1"
    assert_proxied(result, "proxy:proxy.corp.example:3128")
    assert result.returncode == 0, result.data["diagnoses"]


def test_proxy_host_name_not_resolving(healthy_lab: Lab) -> None:
    healthy_lab.dns(nxdomain=["proxy.corp.example"])
    result = run(healthy_lab, proxy="http://proxy.corp.example:3128")
    by_id = checks(result)
    check = by_id["proxy:proxy.corp.example:3128"]
    assert check["status"] == "fail" and check["code"] == "proxy.dns"
    assert all(c["blocked_by"] == check["id"] for c in endpoint_checks(result, "tls"))
    diag = diagnosis(result, "proxy_misconfigured")
    assert diag["cause_id"] == "proxy_host_unresolvable" and diag["severity"] == "fail"
    assert result.returncode == 2


def test_proxy_from_agent_localconfig(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    localconfig(healthy_lab, {"proxy.url": proxy.url})
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT)
    effective = result.data["settings"]["proxy_effective"]
    assert effective["source"] == "agent proxy.url"
    assert_proxied(result, "proxy:127.0.0.1:3128")
    assert checks(result)["proxy:config"]["status"] == "pass"
    assert result.returncode == 0, result.data["diagnoses"]
    assert f"CONNECT {ARM}:443" in proxy.access_log()


def test_agent_proxy_bypass_sends_arm_direct(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    localconfig(healthy_lab, {"proxy.url": proxy.url, "proxy.bypass": ["ARM"]})
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT)
    by_id = checks(result)
    assert result.data["settings"]["proxy_effective"]["bypass"] == ["ARM"]
    for layer in ("dns", "tcp"):
        check_id = f"dns:{ARM}" if layer == "dns" else f"tcp:{ARM}:443"
        assert by_id[check_id]["status"] == "pass"
    tls = by_id[f"tls:{ARM}:443"]
    assert tls["status"] == "pass" and tls["facts"]["route"] == "direct"
    assert "bypass" in tls["facts"]["route_reason"]
    # Only ARM is bypassed: everything else is tunnelled, and squid never saw ARM.
    others = [c for c in endpoint_checks(result, "tls") if c["id"] != f"tls:{ARM}:443"]
    assert others and all(c["facts"]["route"] == "proxy" and c["status"] == "pass"
                          for c in others)
    assert [c["target"] for c in endpoint_checks(result, "dns")] == [ARM]
    log = proxy.access_log()
    assert f"CONNECT {ARM}:443" not in log and "CONNECT login.microsoftonline.com:443" in log
    assert result.returncode == 0, result.data["diagnoses"]


def test_shell_proxy_conflicts_with_agent_proxy(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy()
    localconfig(healthy_lab, {"proxy.url": proxy.url})
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT,
                 env={"HTTPS_PROXY": "http://127.0.0.1:3999"})
    # The agent's own proxy.url wins over the shell's variable.
    assert result.data["settings"]["proxy_effective"]["source"] == "agent proxy.url"
    assert_proxied(result, "proxy:127.0.0.1:3128")
    config = checks(result)["proxy:config"]
    assert config["status"] == "warn" and config["code"] == "proxy.conflict"
    assert "127.0.0.1:3999" in config["summary"] and "127.0.0.1:3128" in config["summary"]
    diag = cause(result, "proxy_sources_conflict")
    assert diag["category"] == "proxy_misconfigured" and diag["severity"] == "warn"
    assert result.returncode == 1


def test_gateway_routes_everything_through_the_local_arc_proxy(healthy_lab: Lab) -> None:
    """connection.type gateway: every endpoint goes through localhost:40343 (squid stands in
    for the agent's Arc proxy), whatever proxy.url says, and rows say 'gateway'."""
    arc_proxy = healthy_lab.proxy(port=40343)
    upstream = healthy_lab.proxy(port=3128)
    localconfig(healthy_lab, {"proxy.url": upstream.url, "connection.type": "gateway"})
    # The gateway suite's own rows (the names outside the gateway, on the upstream route) are
    # tests/lab/test_gateway.py's business.
    result = run(healthy_lab, "--skip", "gateway", proxy=PROXY_FROM_ENVIRONMENT)
    by_id = checks(result)
    effective = result.data["settings"]["proxy_effective"]
    assert effective["gateway"] is True and "40343" in effective["url"]
    assert "proxy:localhost:40343" in by_id
    tls = [c for c in result.data["checks"] if c["probe"] == "tls"]
    assert tls and all(c["facts"]["route"] == "gateway" and c["status"] == "pass" for c in tls)
    assert not [c for c in result.data["checks"] if c["probe"] in ("dns", "tcp")]
    assert ARM in arc_proxy.access_log() and ARM not in upstream.access_log()
    assert result.returncode == 0, result.data["diagnoses"]


def test_gateway_with_local_arc_proxy_down(healthy_lab: Lab) -> None:
    localconfig(healthy_lab, {"connection.type": "gateway"})
    # --skip gateway: the names outside the gateway do not go through the Arc proxy.
    result = run(healthy_lab, "--skip", "gateway", proxy=PROXY_FROM_ENVIRONMENT)
    proxy_check = checks(result)["proxy:localhost:40343"]
    assert proxy_check["code"] == "gateway.arcproxy_down"  # the Arc proxy, not a user's proxy
    assert cause(result, "arc_proxy_not_listening")["category"] == "gateway_misconfigured"
    tls = [c for c in result.data["checks"] if c["probe"] == "tls"]
    assert tls and all(c["blocked_by"] == "proxy:localhost:40343" for c in tls)
    assert result.returncode == 2


def test_bypass_with_gateway(healthy_lab: Lab) -> None:
    healthy_lab.proxy(port=40343)  # the agent's local Arc proxy
    proxy = healthy_lab.proxy()
    localconfig(healthy_lab, {"proxy.url": proxy.url, "proxy.bypass": ["AAD"],
                              "connection.type": "gateway"})
    result = run(healthy_lab, proxy=PROXY_FROM_ENVIRONMENT)
    assert checks(result)["tls:login.microsoftonline.com:443"]["facts"]["route"] == "gateway"
    config = checks(result)["proxy:config"]
    assert config["status"] == "warn" and config["code"] == "proxy.bypass_with_gateway"
    assert config["facts"]["connection_type"] == "gateway"
    diag = cause(result, "proxy_bypass_with_gateway")
    assert diag["category"] == "proxy_misconfigured" and diag["severity"] == "warn"
    assert result.returncode == 1


# ---------------------------------------------------------------------------------------------
# 6. --compare-direct: the direct path works where the proxy refuses


def test_compare_direct_with_denying_proxy(healthy_lab: Lab) -> None:
    proxy = healthy_lab.proxy(deny=[ARM])
    result = run(healthy_lab, "--compare-direct", proxy=proxy.url)
    by_id = checks(result)
    assert by_id[f"tls:{ARM}:443"]["code"] == "proxy.denied"
    for check_id in (f"dns:{ARM}", f"tcp:{ARM}:443"):
        direct = by_id[check_id]
        assert direct["status"] == "pass", direct
        assert direct["facts"]["route"] == "direct"
        assert direct["facts"]["route_reason"] == "--compare-direct"
    # Every proxied endpoint got its direct comparison, all passing.
    tcp = endpoint_checks(result, "tcp")
    assert {c["target"].rsplit(":", 1)[0] for c in tcp} == {
        c["target"].rsplit(":", 1)[0] for c in endpoint_checks(result, "tls")}
    assert all(c["status"] == "pass" for c in tcp + endpoint_checks(result, "dns"))
    assert cause(result, "arm_blocked")["category"] == "firewall_or_proxy_blocking"
    assert result.returncode == 2


# ---------------------------------------------------------------------------------------------
# 7. Certificates: a second, trusted CA (inspection); wrong name; expired; reset after hello


def test_second_trusted_ca_is_reported_as_inspection(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, issuer="foreign")
    lab.himds()
    both = Path(lab.workdir) / "both-cas.pem"
    both.write_bytes(lab.ca_bundle.read_bytes() + lab.foreign_ca_bundle.read_bytes())
    both.chmod(0o644)
    result = run(lab, "--ca-bundle", str(both))
    tls = endpoint_checks(result, "tls")
    assert tls and all(c["status"] == "warn" and c["code"] == "tls.unexpected_issuer"
                       for c in tls)
    assert all(c["facts"]["issuer"] == FOREIGN_ISSUER for c in tls)
    assert FOREIGN_ISSUER in tls[0]["summary"]
    # The chain verified, so the HTTPS layer ran on top of it.
    assert all(c["status"] == "pass" for c in endpoint_checks(result, "https"))
    diag = diagnosis(result, "tls_inspection")
    assert diag["cause_id"] == "tls_inspection_trusted_issuer"
    assert diag["severity"] == "warn"
    assert "tls_inspection_untrusted" not in cause_ids(result)
    assert result.returncode == 1 and result.data["status"] == "warn"


def test_certificate_for_another_name(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, cert_hosts=["wrong.example"])
    lab.himds()
    result = run(lab)
    tls = endpoint_checks(result, "tls")
    assert tls and all(failed(c, "tls.hostname_mismatch") for c in tls)
    assert all(c["facts"]["verify_code"] == 62 for c in tls)
    assert f"does not name {ARM}" in checks(result)[f"tls:{ARM}:443"]["summary"]
    diag = cause(result, "tls_hostname_mismatch")
    assert diag["severity"] == "fail"
    assert "tls_inspection_untrusted" not in cause_ids(result)
    assert result.returncode == 2


def test_expired_certificate(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, expired=True)
    lab.himds()
    result = run(lab)
    tls = endpoint_checks(result, "tls")
    assert tls and all(failed(c, "tls.expired") for c in tls)
    assert all(c["facts"]["verify_code"] == 10 for c in tls)
    assert all(c["facts"]["issuer"] == LAB_ISSUER for c in tls)
    diag = cause(result, "tls_cert_expired")
    assert diag["severity"] == "fail"
    assert "tls_inspection_untrusted" not in cause_ids(result)
    assert result.returncode == 2


def test_connection_reset_after_client_hello(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, mode="reset-after-hello")
    lab.himds()
    result = run(lab)
    assert all(c["status"] == "pass" for c in endpoint_checks(result, "tcp"))
    tls = endpoint_checks(result, "tls")
    assert tls and all(failed(c, "tls.reset") for c in tls)
    # Reset by a middlebox after the ClientHello: blocking, named per endpoint group.
    assert cause(result, "arm_blocked")["category"] == "firewall_or_proxy_blocking"
    assert cause(result, "entra_id_blocked")["category"] == "firewall_or_proxy_blocking"
    assert {d["category"] for d in result.data["diagnoses"]} == {"firewall_or_proxy_blocking"}
    assert result.returncode == 2


# ---------------------------------------------------------------------------------------------
# 8. A server that speaks only TLS 1.0/1.1


def _server_speaks_tls11(lab: Lab) -> bool:
    """Can a client in the namespace negotiate TLS 1.1 with the stand-in at all?"""
    code = (
        "import socket, ssl, sys\n"
        "c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); c.check_hostname = False\n"
        "c.verify_mode = ssl.CERT_NONE\n"
        "c.minimum_version = ssl.TLSVersion.TLSv1; c.maximum_version = ssl.TLSVersion.TLSv1_1\n"
        "c.set_ciphers('ALL:@SECLEVEL=0')\n"
        "s = c.wrap_socket(socket.create_connection(('127.0.1.1', 443), 5),"
        " server_hostname='management.azure.com')\n"
        "print(s.version())\n")
    proc = lab.python(code, timeout=30)
    return proc.returncode == 0 and proc.stdout.strip() == "TLSv1.1"


def test_server_with_only_old_tls(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, tls_max="1.1")
    lab.himds()
    result = run(lab)
    tls = endpoint_checks(result, "tls")
    assert tls
    if not _server_speaks_tls11(lab):
        # This OpenSSL build cannot speak TLS 1.1 even at security level 0, so the old server
        # cannot be told apart from any refused handshake: the best the CLI can say is that.
        assert all(failed(c, "tls.handshake_failure") for c in tls)
        assert diagnosis(result, "tls_protocol")["cause_id"] == "tls_handshake_failure"
        return
    assert all(failed(c, "tls.protocol_old") for c in tls), [c["code"] for c in tls]
    assert all(c["facts"]["server_max_version"] == "TLSv1.1" for c in tls)
    assert "TLSv1.1" in tls[0]["summary"]
    diag = diagnosis(result, "tls_protocol")
    assert diag["cause_id"] == "tls_protocol_old"
    assert any(ARM in e for e in diag["evidence"])
    assert result.returncode == 2 and result.data["status"] == "fail"


def test_old_tls_only_server_diagnosis_is_a_failure(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, tls_max="1.1")
    lab.himds()
    if not _server_speaks_tls11(lab):
        pytest.skip("this OpenSSL cannot speak TLS 1.1 (see test_server_with_only_old_tls)")
    result = run(lab)
    assert checks(result)[f"tls:{ARM}:443"]["status"] == "fail"
    diag = diagnosis(result, "tls_protocol")
    assert diag["severity"] == "fail"
    assert result.data["diagnoses"][0]["category"] == "tls_protocol"  # failures sort first


# ---------------------------------------------------------------------------------------------
# 9. Skewed Date headers


@pytest.mark.parametrize(("offset", "status", "code", "cause_id"), [
    (-600, "fail", "clock.skew_large", "clock_skew_large"),
    (200, "warn", "clock.skew", "clock_skew"),
    (30, "pass", None, None),
])
def test_clock_skew_from_date_headers(lab: Lab, lab_hosts: List[str], offset: float,
                                      status: str, code: str | None,
                                      cause_id: str | None) -> None:
    lab.serve_endpoints(lab_hosts, date_offset=offset)
    lab.himds()
    result = run(lab)
    clock = checks(result)["clock"]
    assert clock["status"] == status, clock
    assert clock.get("code") == code
    # The server is ``offset`` seconds off, so the local clock is ``-offset`` off Azure.
    assert abs(clock["facts"]["skew_s"] + offset) < 5
    assert clock["facts"]["samples"] >= 5
    if cause_id is None:
        assert result.returncode == 0 and result.data["diagnoses"] == []
        return
    diag = cause(result, cause_id)
    assert diag["category"] == "clock_skew" and diag["severity"] == status
    direction = "ahead of" if offset < 0 else "behind"
    assert direction in clock["summary"]
    assert result.returncode == (2 if status == "fail" else 1)


# ---------------------------------------------------------------------------------------------
# 10. Azure IMDS stand-in on 169.254.169.254


def test_azure_vm_detected(healthy_lab: Lab) -> None:
    healthy_lab.azure_imds()
    result = run(healthy_lab)
    imds = checks(result)["imds"]
    assert imds["status"] == "fail" and imds["code"] == "imds.azure_vm"
    assert imds["facts"]["vmId"]
    assert "Microsoft.Compute/virtualMachines" in imds["facts"]["resourceId"]
    diag = cause(result, "azure_vm_detected")
    assert diag["category"] == "azure_vm_detected" and diag["severity"] == "fail"
    assert any("MSFT_ARC_TEST" in step for step in diag["remedy"])
    assert result.returncode == 2


def test_not_an_azure_vm_is_quick(healthy_lab: Lab) -> None:
    result = run(healthy_lab)
    imds = checks(result)["imds"]
    assert imds["status"] == "pass" and imds.get("code") is None
    assert imds["duration_ms"] < 2500


def test_metadata_address_answering_not_as_azure(healthy_lab: Lab) -> None:
    """Something answers on 169.254.169.254 (another cloud), without Azure's compute document."""
    healthy_lab.azure_imds(compute={"vmId": "", "azEnvironment": "",
                                    "resourceId": "/projects/other-cloud/instances/web01"})
    result = run(healthy_lab)
    imds = checks(result)["imds"]
    assert imds["status"] == "pass" and imds["facts"]["status_code"] == 200
    assert "azure_vm_detected" not in cause_ids(result)


# ---------------------------------------------------------------------------------------------
# 11. Private Link: private and public answers from dnsmasq


def private_link_lab(lab: Lab, hosts: List[str], private: bool = True) -> None:
    """Everything served publicly on 127.0.1.1; with ``private`` the Private Link names resolve
    to 127.0.2.x and a stand-in serves them there (the private endpoint)."""
    lab.serve_endpoints(hosts)
    lab.himds()
    if private:
        lab.serve(list(PRIVATE_LINK_HOSTS), ip="127.0.2.1")
        lab.dns({host: "127.0.2.1" for host in PRIVATE_LINK_HOSTS})


def test_private_answers_without_scope(lab: Lab, lab_hosts: List[str]) -> None:
    private_link_lab(lab, lab_hosts)
    result = run(lab, "--private-range", PRIVATE_RANGE)
    dns = by_host(result, "dns")
    for host in PRIVATE_LINK_HOSTS:
        assert dns[host]["status"] == "fail" and dns[host]["code"] == "dns.unexpected_private"
        assert dns[host]["facts"]["private"] == ["127.0.2.1"]
    assert dns[ARM]["status"] == "pass" and dns[ARM]["facts"]["private"] == []
    diag = cause(result, "private_link_scope_required")
    assert diag["category"] == "private_link_scope_required" and diag["severity"] == "fail"
    assert "AZCM0026" in diag["azcm"]
    assert all(any(host in e for e in diag["evidence"]) for host in PRIVATE_LINK_HOSTS)
    assert result.returncode == 2


def test_private_answers_with_scope(lab: Lab, lab_hosts: List[str]) -> None:
    private_link_lab(lab, lab_hosts)
    result = run(lab, "--private-range", PRIVATE_RANGE, "--private-link-scope", SCOPE)
    by_id = checks(result)
    for host in PRIVATE_LINK_HOSTS:
        assert by_id[f"dns:{host}"]["status"] == "pass"
        assert by_id[f"tcp:{host}:443"]["facts"]["address"] == "127.0.2.1"
        assert by_id[f"tls:{host}:443"]["status"] == "pass"
        assert by_id[f"https:{host}:443"]["status"] == "pass"
    assert result.returncode == 0, result.data["diagnoses"]


def test_public_answers_with_scope(lab: Lab, lab_hosts: List[str]) -> None:
    private_link_lab(lab, lab_hosts, private=False)
    result = run(lab, "--private-range", PRIVATE_RANGE, "--private-link-scope", SCOPE)
    dns = by_host(result, "dns")
    for host in PRIVATE_LINK_HOSTS:
        assert dns[host]["status"] == "fail" and dns[host]["code"] == "dns.expected_private"
        assert "127.0.1.1" in dns[host]["summary"]
    # Identity and ARM are never private: public answers are right for them.
    assert dns["login.microsoftonline.com"]["status"] == "pass"
    assert dns[ARM]["status"] == "pass"
    diag = cause(result, "private_link_dns_not_private")
    assert diag["category"] == "dns_failure" and diag["severity"] == "fail"
    assert result.returncode == 2


def test_public_only_name_answering_privately(lab: Lab, lab_hosts: List[str]) -> None:
    private_link_lab(lab, lab_hosts, private=False)
    lab.serve(["login.microsoftonline.com"], ip="127.0.2.5")
    lab.dns({"login.microsoftonline.com": "127.0.2.5"})
    result = run(lab, "--private-range", PRIVATE_RANGE)
    by_id = checks(result)
    dns = by_id["dns:login.microsoftonline.com"]
    assert dns["status"] == "warn" and dns["code"] == "dns.private_for_public"
    assert dns["facts"]["private"] == ["127.0.2.5"]
    # A warning, not a blocker: the connection is still tried (and works here).
    assert by_id["tls:login.microsoftonline.com:443"]["status"] == "pass"
    diag = cause(result, "public_endpoint_resolves_private")
    assert diag["category"] == "dns_failure" and diag["severity"] == "warn"
    assert result.returncode == 1


# ---------------------------------------------------------------------------------------------
# 12. Stand-in agent files and an azcmagent stand-in on PATH


def test_agent_already_connected(healthy_lab: Lab) -> None:
    healthy_lab.himds(connected=True)  # azcmagent show names web01: HIMDS serves it
    result = run(healthy_lab, show={"status": "Connected", "agentVersion": "1.60",
                                    "resourceId": CONNECTED_ID})
    agent = checks(result)["agent"]
    assert agent["status"] == "warn" and agent["code"] == "agent.connected"
    assert agent["facts"]["resource_id"] == CONNECTED_ID
    assert "AZCM0067" in agent["summary"]
    diag = cause(result, "agent_already_connected")
    assert "AZCM0067" in diag["azcm"] and diag["severity"] == "warn"
    assert result.returncode == 1


def test_agent_connected_to_another_subscription_and_region(healthy_lab: Lab) -> None:
    """azcmagent show -j as a connected 1.64 agent (keys as public scripts read them; see
    tests/test_agent_show.py) against the flags of the connect about to be run."""
    healthy_lab.himds(connected=True)  # azcmagent show names web01: HIMDS serves it
    other = "11111111-2222-3333-4444-555555555555"
    shown = {"status": "Connected", "agentVersion": "1.64.03414.2961",
             "resourceId": CONNECTED_ID, "resourceName": "web01", "resourceGroup": "arc-rg",
             "subscriptionId": "00000000-0000-0000-0000-000000000000",
             "tenantId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "location": "westeurope",
             "cloud": "AzureCloud", "identityKeyStore": "Default", "agentErrorCode": "",
             "agentErrorTimestamp": "", "httpsProxy": "",
             "services": [{"displayName": "Agent Service", "serviceName": "himds",
                           "status": "active"}]}
    result = run(healthy_lab, "--subscription-id", other, show=shown)
    agent = checks(result)["agent"]
    assert (agent["status"], agent["code"]) == ("warn", "agent.connected_elsewhere"), agent
    flags = {m["flag"] for m in agent["facts"]["differs_from_flags"]}
    assert flags == {"--subscription-id", "--location"}
    assert agent["facts"]["identity_key_store"] == "Default"
    diag = cause(result, "agent_connected_elsewhere")
    assert diag["severity"] == "warn" and "AZCM0067" in diag["azcm"]
    # Only the connect flags' own completeness check may fail (a partial set was given).
    failed = [c["code"] for c in result.data["checks"] if c["status"] == "fail"]
    assert set(failed) <= {"params.missing"}, failed


def test_agent_expired(healthy_lab: Lab) -> None:
    healthy_lab.himds(connected=True)  # azcmagent show names web01: HIMDS serves it
    result = run(healthy_lab, show={"status": "Expired", "agentVersion": "1.60",
                                    "resourceId": CONNECTED_ID})
    agent = checks(result)["agent"]
    assert agent["status"] == "fail" and agent["code"] == "agent.expired"
    diag = cause(result, "agent_expired")
    assert diag["severity"] == "fail"
    assert result.returncode == 2


def test_agent_reports_error_code(healthy_lab: Lab) -> None:
    healthy_lab.himds(connected=True)  # azcmagent show names web01: HIMDS serves it
    result = run(healthy_lab, show={"status": "Disconnected", "agentErrorCode": "AZCM0081",
                                    "agentErrorDetails": "failed to renew the certificate",
                                    "agentVersion": "1.60", "resourceId": CONNECTED_ID})
    agent = checks(result)["agent"]
    assert agent["status"] == "warn" and agent["code"] == "agent.error"
    assert agent["facts"]["error_code"] == "AZCM0081"
    assert "AZCM0081" in agent["summary"]
    diag = [d for d in result.data["diagnoses"] if any(e.startswith("agent:") for e in
                                                        d["evidence"])]
    assert diag and diag[0]["severity"] == "warn"
    assert result.returncode == 1


def test_agent_error_code_names_its_documented_cause(healthy_lab: Lab) -> None:
    healthy_lab.himds(connected=True)  # azcmagent show names web01: HIMDS serves it
    result = run(healthy_lab, show={"status": "Disconnected", "agentErrorCode": "AZCM0081",
                                    "agentVersion": "1.60", "resourceId": CONNECTED_ID})
    assert checks(result)["agent"]["code"] == "agent.error"
    diag = cause(result, "mi_certificate_failed")
    assert "AZCM0081" in diag["azcm"]


@pytest.mark.parametrize(("days", "status", "code", "cause_id"), [
    (10, "warn", "agent.cert_expiring", "agent_cert_expiring"),
    (-3, "fail", "agent.cert_expired", "mi_certificate_failed"),
    (200, "pass", None, None),
])
def test_agent_certificate_expiry(healthy_lab: Lab, days: float, status: str,
                                  code: str | None, cause_id: str | None) -> None:
    write_cert(healthy_lab, days)
    result = run(healthy_lab)
    cert = checks(result)["agent:certificate"]
    assert cert["status"] == status, cert
    assert cert.get("code") == code
    assert cert["facts"]["files"] == 1
    assert abs(cert["facts"]["days_left"] - days) <= 1
    if cause_id is None:
        assert result.returncode == 0, result.data["diagnoses"]
        return
    diag = cause(result, cause_id)
    assert diag["category"] == "managed_identity_cert_error" and diag["severity"] == status
    assert result.returncode == (2 if status == "fail" else 1)


def test_azcmagent_show_hanging(healthy_lab: Lab) -> None:
    hangbin = Path(healthy_lab.workdir) / "hangbin"
    hangbin.mkdir()
    script = hangbin / "azcmagent"
    # Not exec: the sleeping grandchild keeps the pipes open after the shell is killed.
    script.write_text("#!/bin/sh\nsleep 30\necho '{}'\n")
    script.chmod(0o755)
    hangbin.chmod(0o755)
    fakebin = Path(healthy_lab.workdir) / "fakebin"  # systemctl stand-in from fake_systemd()
    path = f"{hangbin}:{fakebin}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    timeout = 1.5
    started = time.monotonic()
    result = run(healthy_lab, timeout=timeout, env={"PATH": path})
    elapsed = time.monotonic() - started
    agent = checks(result)["agent"]
    # The tool could not read the agent: its own finding, not the agent reporting an error.
    assert agent["status"] == "warn" and agent["code"] == "agent.unreadable"
    assert cause(result, "agent_state_unreadable")["severity"] == "warn"
    assert agent["facts"]["azcmagent"] == str(script)
    assert agent["duration_ms"] < (timeout + 1) * 1000
    assert elapsed < timeout + 5, elapsed
    assert checks(result)["https:management.azure.com:443"]["status"] == "pass"
    assert result.returncode == 1


def test_azcmagent_show_with_warnings_around_the_json(healthy_lab: Lab) -> None:
    """Agents print warnings on stdout by default: the status object is still found."""
    bindir = Path(healthy_lab.workdir) / "chattybin"
    bindir.mkdir()
    script = bindir / "azcmagent"
    script.write_text("#!/bin/sh\necho 'WARN {deprecated} flag'\n"
                      "echo '{\"status\": \"Expired\", \"agentVersion\": \"1.50\"}'\n"
                      "echo 'Extra text {after}'\n")
    script.chmod(0o755)
    bindir.chmod(0o755)
    fakebin = Path(healthy_lab.workdir) / "fakebin"
    path = f"{bindir}:{fakebin}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    result = run(healthy_lab, env={"PATH": path})
    agent = checks(result)["agent"]
    assert agent["code"] == "agent.expired", agent
    assert cause(result, "agent_expired")["severity"] == "fail"
