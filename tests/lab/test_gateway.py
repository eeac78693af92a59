"""The Azure Arc gateway suite (issue 11, item 1), for real in the lab.

The traffic path of arc-gateway.md is built hop by hop: the agent's local Arc proxy on
localhost:40343 (squid stands in for it, as in test_network_depth), the enterprise proxy the Arc
proxy uses upstream (a second squid, named by the agent's ``proxy.url``), and the gateway itself,
``lab01.gw.arc.azure.com``, an HTTPS stand-in on loopback whose certificate comes from a lab CA
named like Microsoft's issuing CAs (``Microsoft Azure RSA TLS Issuing CA 07``; its root is added
to the lab's CA bundle, so the chain verifies and the issuer is one Microsoft uses). The names
that stay outside the gateway are served too: ``aka.ms`` over HTTPS, and the CRL/OCSP names over
plain HTTP on port 80 (``Lab.arc_gateway`` and ``Lab.outside_gateway``; ``scripts/lab up
gateway`` builds the same path by hand).

Each scenario breaks one hop and asserts the check that fails, its code, and the diagnosis:
healthy; Arc proxy not listening; gateway name TLS-inspected (a certificate from the lab's
"Contoso TLS Inspection CA"); the upstream proxy refusing the gateway name (squid answering 403).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest

from .netlab import LAB_GATEWAY, OUTSIDE_GATEWAY_HTTP, PROXY_FROM_ENVIRONMENT, CliResult, Lab
from .test_network_depth import cause, localconfig
from .test_scenarios import agent_dir, checks, run

pytestmark = pytest.mark.lab

GATEWAY = LAB_GATEWAY
GATEWAY_IP = "127.0.4.1"
REVOCATION_HOSTS = OUTSIDE_GATEWAY_HTTP
MS_LIKE_CA = "Microsoft Azure RSA TLS Issuing CA 07"
ARM = "management.azure.com"

# What azcmagent show -j says on a machine using the gateway: the JSON keys of
# Azure/arc_jumpstart_drops script_automation/arc_endpoint_check/ArcEndpointCheck.ps1 (gatewayUrl,
# connectionType) and Azure/ArcEnabledServersGroupPolicy EnableAzureArc.ps1 (httpsProxy); the
# values as arc-gateway.md says they should read ("Using HTTPS Proxy: http://localhost:40343",
# the gateway URL of the gateway resource).
SHOW = {"status": "Disconnected", "agentVersion": "1.66.03452.1234",
        "httpsProxy": "http://localhost:40343", "gatewayUrl": f"https://{GATEWAY}",
        "connectionType": "gateway"}

# arcproxy.log: Microsoft publishes no text of its lines (screenshots only, in the Azure Local
# gateway articles), so these follow the shape of the agent's other logs, logrus key=value lines
# such as 'time="2023-05-05T10:25:32+01:00" level=info msg="..."'
# (https://github.com/MicrosoftDocs/azure-docs/issues/109136), with plain words for the route;
# no public text sample of arcproxy.log exists, so this tests a best-effort reader.
ARCPROXY_LOG = f"""\
time="2026-11-30T08:00:01Z" level=info msg="Arc proxy listening on localhost:40343"
time="2026-11-30T08:00:02Z" level=info msg="Routing {ARM}:443 through gateway {GATEWAY}"
time="2026-11-30T08:00:02Z" level=info msg="Routing aka.ms:443 to upstream proxy (bypass)"
"""


def gateway_lab(lab: Lab, *, arc_proxy: bool = True, inspected: bool = False,
                deny: tuple[str, ...] = (), issuer: str = MS_LIKE_CA) -> Dict[str, Any]:
    """The whole path; returns the proxies for their access logs."""
    proxies: Dict[str, Any] = {}
    if arc_proxy:
        proxies["arc"] = lab.proxy(port=40343)
    proxies["upstream"] = lab.proxy(port=3128, deny=deny)
    localconfig(lab, {"proxy.url": proxies["upstream"].url, "connection.type": "gateway"})
    log = Path(agent_dir(lab)) / "log" / "arcproxy.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(ARCPROXY_LOG)
    lab.arc_gateway(GATEWAY, GATEWAY_IP, inspected=inspected, issuer=issuer)
    lab.outside_gateway()
    return proxies


def check_gateway(lab: Lab, *extra: str) -> CliResult:
    return run(lab, *extra, proxy=PROXY_FROM_ENVIRONMENT, show=SHOW)


def ids(result: CliResult, prefix: str) -> List[str]:
    return [c["id"] for c in result.data["checks"] if c["id"].startswith(prefix)]


def test_gateway_healthy(healthy_lab: Lab) -> None:
    proxies = gateway_lab(healthy_lab)
    result = check_gateway(healthy_lab)
    by_id = checks(result)
    config = by_id["gateway:config"]
    assert config["status"] == "pass", config
    assert GATEWAY in config["summary"] and "azcmagent show" in config["summary"]
    assert config["facts"]["upstream"]["url"] == proxies["upstream"].url
    # The gateway's own name: on the Arc proxy's upstream route, verified, issuer Microsoft's.
    own = by_id[f"tls:{GATEWAY}:443"]
    assert own["status"] == "pass", own
    assert own["facts"]["route"] == "proxy" and own["facts"]["issuer"] == MS_LIKE_CA
    assert "upstream" in own["facts"]["route_reason"]
    # The Arc proxy carries the catalogue; the upstream proxy saw the gateway, not ARM.
    assert by_id["proxy:localhost:40343"]["status"] == "pass"
    assert by_id[f"tls:{ARM}:443"]["facts"]["route"] == "gateway"
    upstream_log = proxies["upstream"].access_log()
    assert f"CONNECT {GATEWAY}:443" in upstream_log and f"CONNECT {ARM}:443" not in upstream_log
    assert f"CONNECT {GATEWAY}:443" not in proxies["arc"].access_log()
    # What stays outside the gateway, on that same upstream route.
    aka = by_id["tls:aka.ms:443"]
    assert aka["status"] == "pass" and aka["facts"]["gateway"] == "outside"
    for host in REVOCATION_HOSTS:
        row = by_id[f"http:{host}:80"]
        assert row["status"] == "pass" and row["facts"]["route"] == "proxy", row
    assert "GET http://crl.microsoft.com/" in upstream_log
    # arcproxy.log read for the routes really taken.
    log = by_id["gateway:log"]
    assert log["status"] == "pass", log
    assert log["facts"]["routes"][ARM]["route"] == "gateway"
    assert log["facts"]["routes"]["aka.ms"]["route"] == "outside the gateway"
    assert result.data["diagnoses"] == [] and result.returncode == 0


def test_arc_proxy_not_listening(healthy_lab: Lab) -> None:
    gateway_lab(healthy_lab, arc_proxy=False)
    result = check_gateway(healthy_lab)
    by_id = checks(result)
    arc = by_id["proxy:localhost:40343"]
    assert (arc["status"], arc["code"]) == ("fail", "gateway.arcproxy_down"), arc
    assert "Arc proxy does not listen" in arc["summary"]
    assert by_id[f"tls:{ARM}:443"]["blocked_by"] == "proxy:localhost:40343"
    # The gateway's own route does not need the Arc proxy, so it is still judged (and fine).
    assert by_id[f"tls:{GATEWAY}:443"]["status"] == "pass"
    found = cause(result, "arc_proxy_not_listening")
    assert found["category"] == "gateway_misconfigured" and found["severity"] == "fail"
    assert found["checks"] == ["proxy:localhost:40343"]
    assert "proxy_unreachable" not in [d["cause_id"] for d in result.data["diagnoses"]]
    assert result.returncode == 2


def test_gateway_name_tls_inspected(healthy_lab: Lab) -> None:
    gateway_lab(healthy_lab, inspected=True)
    result = check_gateway(healthy_lab)
    own = checks(result)[f"tls:{GATEWAY}:443"]
    assert (own["status"], own["code"]) == ("fail", "tls.untrusted"), own
    assert own["facts"]["issuer"] == "Contoso TLS Inspection CA"
    found = cause(result, "gateway_tls_inspected")
    assert found["category"] == "tls_inspection" and found["severity"] == "fail"
    assert found["checks"] == [f"tls:{GATEWAY}:443"]
    # Only the gateway's name is inspected here: the generic entry is not used for it.
    assert "tls_inspection_untrusted" not in [d["cause_id"] for d in result.data["diagnoses"]]
    assert result.returncode == 2


def test_gateway_name_inspected_by_a_trusted_ca_still_fails(healthy_lab: Lab) -> None:
    """An inspecting proxy whose root this machine trusts: the chain verifies, but the gateway
    connection still breaks (the nested CONNECT inside TLS; arc-gateway.md), so for the
    gateway's name an issuer Microsoft does not use is a failure, not the usual warning."""
    gateway_lab(healthy_lab, issuer="Contoso Trusted Inspection CA")
    result = check_gateway(healthy_lab)
    own = checks(result)[f"tls:{GATEWAY}:443"]
    assert (own["status"], own["code"]) == ("fail", "tls.unexpected_issuer"), own
    assert own["facts"]["issuer"] == "Contoso Trusted Inspection CA"
    found = cause(result, "gateway_tls_inspected")
    assert found["severity"] == "fail" and found["checks"] == [f"tls:{GATEWAY}:443"]
    assert result.returncode == 2


def test_upstream_proxy_refusing_the_gateway(healthy_lab: Lab) -> None:
    proxies = gateway_lab(healthy_lab, deny=(GATEWAY,))
    result = check_gateway(healthy_lab)
    by_id = checks(result)
    own = by_id[f"tls:{GATEWAY}:443"]
    assert (own["status"], own["code"]) == ("fail", "proxy.denied"), own
    assert own["facts"]["proxy_status"] == 403
    assert by_id["proxy:127.0.0.1:3128"]["status"] == "pass"  # the proxy itself answers
    found = cause(result, "gateway_url_blocked")
    assert found["category"] == "firewall_or_proxy_blocking" and found["severity"] == "fail"
    assert found["checks"] == [f"tls:{GATEWAY}:443"]
    assert f"CONNECT {GATEWAY}:443" in proxies["upstream"].access_log()
    assert result.returncode == 2


def test_old_agent_needs_connection_type_by_hand(healthy_lab: Lab) -> None:
    """Agent 1.50 with a gateway URL but no connection.type: arc-gateway.md says 1.50 and
    earlier must be switched by hand."""
    shown = {**SHOW, "agentVersion": "1.50.02881.1234", "connectionType": ""}
    result = run(healthy_lab, "--only", "gateway", proxy=PROXY_FROM_ENVIRONMENT, show=shown)
    config = checks(result)["gateway:config"]
    assert (config["status"], config["code"]) == ("fail", "gateway.connection_type_manual")
    assert "azcmagent config set connection.type gateway" in config["summary"]
    assert cause(result, "gateway_connection_type_manual")["category"] == "gateway_misconfigured"
    assert result.returncode == 2


def test_arc_proxy_checked_on_its_own_before_the_run_goes_through_it(healthy_lab: Lab) -> None:
    """--gateway-id before connecting (the run probes on its usual route, here --no-proxy): the
    Arc proxy is checked by itself, and nothing listens on localhost:40343."""
    gateway_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/"
                  "providers/Microsoft.HybridCompute/gateways/gw")
    result = run(healthy_lab, "--only", "gateway", "--gateway-id", gateway_id,
                 "--gateway-url", GATEWAY)
    arc = checks(result)["gateway:arcproxy"]
    assert (arc["status"], arc["code"]) == ("fail", "gateway.arcproxy_down"), arc
    assert "not listening" in arc["summary"]
    assert cause(result, "arc_proxy_not_listening")["checks"] == ["gateway:arcproxy"]
    config = checks(result)["gateway:config"]
    assert config["status"] == "pass" and "--gateway-url" in config["summary"]
    healthy_lab.proxy(port=40343)  # now something listens there
    result = run(healthy_lab, "--only", "gateway", "--gateway-id", gateway_id)
    assert checks(result)["gateway:arcproxy"]["status"] == "pass"


def test_upstream_proxy_refusing_the_names_outside_the_gateway(healthy_lab: Lab) -> None:
    """aka.ms and the CRL names on port 80 stay outside the gateway (arc-gateway.md): a proxy
    refusing them (squid's 403) is its own cause, and the gateway's own route stays fine."""
    proxies = gateway_lab(healthy_lab, deny=("aka.ms", "crl.microsoft.com"))
    result = check_gateway(healthy_lab)
    by_id = checks(result)
    aka = by_id["tls:aka.ms:443"]
    assert aka["code"] == "proxy.denied" and aka["status"] in ("warn", "fail"), aka
    crl = by_id["http:crl.microsoft.com:80"]
    assert crl["status"] in ("warn", "fail") and crl["code"] == "proxy.denied", crl
    assert by_id[f"tls:{GATEWAY}:443"]["status"] == "pass"
    found = cause(result, "gateway_outside_names_blocked")
    assert found["category"] == "firewall_or_proxy_blocking"
    assert set(found["checks"]) >= {"tls:aka.ms:443", "http:crl.microsoft.com:80"}
    assert all(c.endswith((":443", ":80")) for c in found["checks"])
    log = proxies["upstream"].access_log()
    assert "CONNECT aka.ms:443" in log and "http://crl.microsoft.com/" in log
