"""The Arc gateway suite's pieces without a network: flags, the agent's gateway settings and
their version gates, the Arc proxy's upstream route, the plan, and the arcproxy.log reader.

The lab scenarios (healthy, Arc proxy not listening, gateway name TLS-inspected, upstream proxy
refusing) are in tests/lab/test_gateway.py.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from conftest import run_subprocess

from arc_preflight import config, kb, plan
from arc_preflight.config import Settings
from arc_preflight.diagnose import from_results
from arc_preflight.errors import ConfigError
from arc_preflight.model import ProbeContext, Result, Status
from arc_preflight.probes import arcproxylog, gateway, proxyplan, proxysources
from arc_preflight.probes.proxysources import AgentView

GW = "abc123.gw.arc.azure.com"
NOW = datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.timezone.utc)
GATEWAY_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-arc/"
              "providers/Microsoft.HybridCompute/gateways/gw-weu")


def settings(tmp_path: Path, local: Optional[Dict[str, Any]] = None, installed: bool = True,
             **kw: Any) -> Settings:
    folder = tmp_path / "agent"
    folder.mkdir(exist_ok=True)
    if local is not None:
        (folder / "localconfig.json").write_text(json.dumps(local))
    if installed:
        (folder / "agentconfig.json").write_text("{}")
    return Settings(agent_dir=str(folder), system_root=str(tmp_path / "root"),
                    azcmagent=str(tmp_path / "no-azcmagent"), location="westeurope", **kw)


def ctx(s: Settings) -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=s, deadline_at=time.monotonic() + 30)


def view(**kw: str) -> AgentView:
    base: Dict[str, Any] = {"https_proxy": "http://localhost:40343", "upstream_proxy": "",
                            "gateway_url": f"https://{GW}", "bypass": "",
                            "connection_type": "gateway", "agent_version": "1.66.03452.1"}
    base.update(kw)
    return AgentView(**base)


def shown(monkeypatch: pytest.MonkeyPatch, value: Optional[AgentView]) -> None:
    for module in (proxyplan, proxysources):
        monkeypatch.setattr(module, "agent_view", lambda *a, **k: value)


# -- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [GW, f"https://{GW}", f"https://{GW}:443/", f" {GW.upper()} "])
def test_gateway_url_forms(url: str) -> None:
    assert config.gateway_host(url) == GW


@pytest.mark.parametrize("url", [f"http://{GW}", f"https://{GW}:8443", "https://", "not a host",
                                 "https://-x.gw.arc.azure.com", "https://[::1]"])
def test_bad_gateway_urls(url: str) -> None:
    assert config.gateway_host(url) is None
    with pytest.raises(ConfigError, match="--gateway-url"):
        config.build({"gateway_url": url}, environ={})


def test_gateway_id_must_be_a_gateway_resource_id() -> None:
    assert config.build({"gateway_id": GATEWAY_ID}, environ={}).gateway_id == GATEWAY_ID
    machine = GATEWAY_ID.replace("gateways/gw-weu", "machines/web01")
    for bad in (machine, "gw-weu", GATEWAY_ID + "/extra"):
        with pytest.raises(ConfigError, match="--gateway-id"):
            config.build({"gateway_id": bad}, environ={})


@pytest.mark.parametrize("argv", [["--gateway-id", "/subscriptions/x"],
                                  ["--gateway-url", "http://x.gw.arc.azure.com"]])
def test_cli_bad_gateway_flag_is_one_line_and_exit_3(argv: List[str]) -> None:
    result = run_subprocess("check", *argv)
    assert result.code == 3 and result.out == ""
    assert result.err.startswith("arc-preflight: error: --gateway-")
    assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err


# -- what the run knows about the gateway ---------------------------------------------------


def test_no_gateway_no_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown(monkeypatch, None)
    s = settings(tmp_path)
    assert not gateway.setup(s, proxyplan.resolve_proxy(s, environ={})).active
    ids = [c.id for c in plan.build(s).checks]
    assert not [i for i in ids if i.startswith("gateway:")]


def test_gateway_from_show_with_upstream_from_proxy_url(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    shown(monkeypatch, view())
    s = settings(tmp_path, {"proxy.url": "http://corp:8080", "connection.type": "gateway"})
    proxy = proxyplan.resolve_proxy(s, environ={})
    found = gateway.setup(s, proxy)
    assert found.active and found.host == GW and found.host_source == "azcmagent show"
    assert found.upstream.url == "http://corp:8080" and not found.upstream.gateway
    assert found.upstream.route(GW) == ("proxy", found.upstream.source)


def test_upstream_from_show_then_direct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown(monkeypatch, view(upstream_proxy="http://shown-upstream:3128"))
    s = settings(tmp_path, {"connection.type": "gateway"})
    up = proxyplan.upstream_plan(s, proxyplan.resolve_proxy(s, environ={}))
    assert up.url == "http://shown-upstream:3128" and "azcmagent show" in up.source
    shown(monkeypatch, view())
    up = proxyplan.upstream_plan(s, proxyplan.resolve_proxy(s, environ={}))
    assert up.url is None and up.route(GW)[0] == "direct"


def test_gateway_flags_before_connecting_plan_the_suite(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Before installation: the gateway's name and the names outside it are probed on the
    route everything else takes; the Arc proxy is not there yet (skipped, not failed)."""
    shown(monkeypatch, None)
    s = settings(tmp_path, installed=False, gateway_id=GATEWAY_ID, gateway_url=GW,
                 no_proxy=True)
    built = plan.build(s)
    ids = [c.id for c in built.checks]
    for wanted in ("gateway:config", "gateway:arcproxy", "gateway:log", f"dns:{GW}",
                   f"tcp:{GW}:443", f"tls:{GW}:443", "tls:aka.ms:443",
                   "http:crl.microsoft.com:80", "http:ocsp.digicert.com:80"):
        assert wanted in ids, wanted
    assert f"https:{GW}:443" not in ids  # TLS proves the gateway's route; it has no page
    own = next(c for c in built.checks if c.id == f"tls:{GW}:443")
    assert own.required and own.meta["gateway"] == "own"
    outside = next(c for c in built.checks if c.id == "tls:aka.ms:443")
    assert not outside.required and outside.meta["gateway"] == "outside"
    arc = next(c for c in built.checks if c.id == "gateway:arcproxy")
    out = arc.run(ctx(s), {})
    assert out.status is Status.SKIP and "not installed" in out.summary
    skipped = [c.id for c in plan.build(Settings(**{**s.__dict__, "skip": ("gateway",)})).checks]
    assert not [i for i in skipped if "gateway" in i or GW in i or "aka.ms" in i]


# -- the agent's gateway settings and version gates ----------------------------------------


def setup_for(tmp_path: Path, local: Dict[str, Any], **kw: Any) -> gateway.GatewaySetup:
    up = proxyplan.ProxyPlan(None, "no upstream proxy: the Arc proxy connects direct")
    return gateway.GatewaySetup(True, ("azcmagent show reports a gateway URL",), GW,
                                "azcmagent show", up, str(local.get("connection.type", "")),
                                **kw)


def test_agent_150_without_connection_type_fails(tmp_path: Path) -> None:
    s = settings(tmp_path)
    out = gateway.config_probe(setup_for(tmp_path, {}, agent_version="1.50.02881.1"), True,
                               ctx(s), {})
    assert out.status is Status.FAIL and out.code == "gateway.connection_type_manual"
    assert "azcmagent config set connection.type gateway" in out.summary


@pytest.mark.parametrize("version,local", [("1.51.0.1", {}), ("1.50.1.1",
                                                               {"connection.type": "gateway"}),
                                           ("", {})])
def test_connection_type_gate_passes(tmp_path: Path, version: str,
                                     local: Dict[str, Any]) -> None:
    out = gateway.config_probe(setup_for(tmp_path, local, agent_version=version), True,
                               ctx(settings(tmp_path)), {})
    assert out.status is Status.PASS and GW in out.summary and "direct" in out.summary


@pytest.mark.parametrize("cloud,supported", [("AzureCloud", True), ("azure.local", True),
                                             ("public", True), ("AzureUSGovernment", False),
                                             ("usgov", False), ("21vianet", False)])
def test_gateway_cloud_comes_from_the_catalogue(tmp_path: Path, cloud: str,
                                                supported: bool) -> None:
    """Any name the catalogue knows for the public cloud (which alone lists gateway endpoints)
    has the gateway; the other clouds fail, and the diagnosis names the cause."""
    s = settings(tmp_path, cloud=cloud)
    out = gateway.config_probe(setup_for(tmp_path, {}), True, ctx(s), {})
    if supported:
        assert out.status is Status.PASS, out.summary
        return
    assert out.status is Status.FAIL and out.code == "gateway.cloud_unsupported"
    found = from_results([Result("gateway:config", "gateway", "gateway", out.status,
                                 out.summary, out.code, facts=out.facts)], kb.load())
    assert [d.cause_id for d in found] == ["gateway_cloud_unsupported"]


def test_unknown_gateway_url_says_which_flag(tmp_path: Path) -> None:
    found = gateway.GatewaySetup(True, ("--gateway-id",))
    out = gateway.config_probe(found, False, ctx(settings(tmp_path)), {})
    assert out.status is Status.PASS and "--gateway-url" in out.summary


@pytest.mark.parametrize("version,disagree", [("1.60.02925.1722", False), ("", False),
                                              ("1.64.03414.2961", True),
                                              ("1.66.03452.1", True)])
def test_bypass_list_with_gateway_warns_on_every_version(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, disagree: bool) -> None:
    """arc-gateway.md says proxy bypass is unsupported with the gateway; the release notes add
    a gateway bypass list (FQDNs) in 1.64 and fix it in 1.66. No source says that list is
    proxy.bypass, so every version warns; from 1.64 the warning names the disagreement."""
    shown(monkeypatch, view(agent_version=version))
    s = settings(tmp_path, {"connection.type": "gateway", "proxy.bypass": ["AAD"]})
    out = proxysources.probe(proxyplan.resolve_proxy(s, environ={}), True, ctx(s), {})
    assert out.status is Status.WARN and out.code == "proxy.bypass_with_gateway"
    if disagree:
        assert "disagree; verify the route" in out.summary
        assert "arc-gateway.md" in out.summary and "release-notes" in out.summary
        assert out.facts["gateway_bypass"].startswith("sources disagree")
    else:
        assert "ignores bypass lists" in out.summary and "1.64" in out.summary


# -- the knowledge base -----------------------------------------------------------------------


@pytest.mark.parametrize("code,target,cause", [
    ("tls.untrusted", f"{GW}:443", "gateway_tls_inspected"),
    ("tls.unexpected_issuer", f"{GW}:443", "gateway_tls_inspected"),
    ("proxy.denied", f"{GW}:443", "gateway_url_blocked"),
    ("tcp.timeout", f"{GW}:443", "gateway_url_blocked"),
    ("tcp.timeout", "aka.ms:443", "gateway_outside_names_blocked"),
    ("tcp.timeout", "crl.microsoft.com:80", "gateway_outside_names_blocked"),
    ("gateway.arcproxy_down", "localhost:40343", "arc_proxy_not_listening"),
    ("gateway.connection_type_manual", "Arc gateway settings", "gateway_connection_type_manual"),
    ("gateway.cloud_unsupported", "Arc gateway settings", "gateway_cloud_unsupported"),
    ("gateway.log_errors", "/var/opt/azcmagent/log/arcproxy.log", "gateway_log_errors"),
])
def test_gateway_causes(code: str, target: str, cause: str) -> None:
    found = kb.load().for_failure(code, target)
    assert found is not None and found.id == cause
    assert any("arc-gateway" in doc for doc in found.docs)


def test_the_gateway_entries_do_not_capture_other_hosts() -> None:
    assert kb.load().for_failure("tls.untrusted", "management.azure.com:443").id \
        != "gateway_tls_inspected"


@pytest.mark.parametrize("code,target", [("tls.timeout", "crl.microsoft.com:443"),
                                         ("https.timeout", "aka.ms:80"),
                                         ("proxy.denied", "oneocsp.microsoft.com:443")])
def test_outside_names_cause_only_on_the_outside_ports(code: str, target: str) -> None:
    """crl.microsoft.com on 443 is carried by the gateway (arc-gateway-endpoints.md): its
    failure is not "a name outside the gateway is blocked"."""
    found = kb.load().for_failure(code, target)
    assert found is None or found.id != "gateway_outside_names_blocked"


# -- arcproxy.log -----------------------------------------------------------------------------

# The agent's log line shape (logrus key=value, https://github.com/MicrosoftDocs/azure-docs/
# issues/109136). arcproxy.log's own wording has no public sample (searched again in November
# 2026: issues, pages and code only show its paths, and the Azure Local articles only
# screenshots), so the words are ours and the reader is tested as a best-effort reader.
LOG = f"""\
time="2026-11-30T08:00:01Z" level=info msg="Arc proxy listening on localhost:40343"
time="2026-11-30T08:00:02Z" level=info msg="Routing management.azure.com:443 through gateway {GW}"
time="2026-11-30T08:00:03Z" level=info msg="Routing aka.ms:443 to upstream proxy (bypass)"
time="2026-11-30T08:00:04Z" level=info msg="CONNECT notmanagement.azure.com.evil:443 via gateway"
time="2026-11-30T08:00:05Z" level=info msg="request to login.microsoftonline.com:443 done"
"""


def test_routes_are_read_only_for_known_hosts_and_plain_words() -> None:
    hosts = ("management.azure.com", "aka.ms", "login.microsoftonline.com", GW)
    found = arcproxylog.read_routes(LOG, hosts, GW, NOW)
    assert {h: r for h, (r, _) in found.routes.items()} == {
        "management.azure.com": "gateway", "aka.ms": "outside the gateway"}
    assert found.routes["management.azure.com"][1] == 2 and found.lines == 5
    assert found.errors == []


def test_newest_line_wins_and_gateway_errors_are_kept() -> None:
    text = LOG + (f'time="2026-11-30T09:00:00Z" level=error msg="tls handshake with {GW} '
                  'failed: x509: certificate signed by unknown authority"\n'
                  'time="2026-11-30T09:00:01Z" level=info msg="management.azure.com: '
                  'direct"\n')
    found = arcproxylog.read_routes(text, ("management.azure.com",), GW, NOW)
    assert found.routes["management.azure.com"] == ("outside the gateway", 7)
    assert [n for n, _ in found.errors] == [6]
    assert found.newest_error == datetime.datetime(2026, 11, 30, 9, tzinfo=datetime.timezone.utc)


def test_words_are_whole_words_and_tied_to_the_gateway_host() -> None:
    """Microsoft describes the log as showing endpoints "redirected to the Arc gateway":
    "redirected" must not read as "direct", and "upstream" on a line naming the gateway is the
    route to the gateway, not around it."""
    host = "management.azure.com"
    redirected = f'level=info msg="{host}:443 redirected to the Arc gateway"\n'
    assert arcproxylog.read_routes(redirected, (host,), None, NOW).routes[host][0] == "gateway"
    via_upstream = f'level=info msg="CONNECT {host}:443 via upstream proxy to {GW}"\n'
    assert arcproxylog.read_routes(via_upstream, (host,), GW, NOW).routes[host][0] == "gateway"
    ambiguous = f'level=info msg="{host}:443 gateway {GW} bypassed"\n'
    assert arcproxylog.read_routes(ambiguous, (host,), GW, NOW).routes == {}
    # With the gateway's name known, the bare word "gateway" does not name a route.
    other = f'level=info msg="{host}:443 redirected to gateway other.gw.arc.azure.com"\n'
    assert arcproxylog.read_routes(other, (host,), GW, NOW).routes == {}


def test_empty_error_fields_are_not_errors() -> None:
    """Go logs "no error" as error=<nil>; such a line is not gateway trouble."""
    text = (f'time="2026-11-30T09:00:00Z" level=info msg="tunnel to {GW} up" error=<nil>\n'
            f'time="2026-11-30T09:00:01Z" level=info msg="gateway {GW} ok" err=""\n')
    assert arcproxylog.read_routes(text, (), GW, NOW).errors == []
    bad = f'time="2026-11-30T09:00:02Z" level=info msg="gateway {GW}" error="EOF"\n'
    assert len(arcproxylog.read_routes(bad, (), GW, NOW).errors) == 1


def test_only_recent_errors_warn(tmp_path: Path) -> None:
    """An error fixed days ago stays in the log until it rotates; it must not warn forever."""
    old = f'time="2026-11-27T09:00:00Z" level=error msg="tls handshake with {GW} failed"\n'
    found = arcproxylog.read_routes(old, (), GW, NOW)
    assert found.errors == [] and found.old_errors == 1
    path = tmp_path / "arcproxy.log"
    path.write_text(LOG + old)
    out = arcproxylog.probe(str(path), ("aka.ms",), GW, ctx(settings(tmp_path)), {}, now=NOW)
    assert out.status is Status.PASS and out.facts["older_error_lines"] == 1
    # An undated error counts only while the file changed lately.
    undated = f'level=error msg="gateway {GW} unreachable"\n'
    assert arcproxylog.read_routes(undated, (), GW, NOW, undated_recent=False).errors == []
    path.write_text(LOG + old.replace("11-27", "11-30"))
    out = arcproxylog.probe(str(path), ("aka.ms",), GW, ctx(settings(tmp_path)), {}, now=NOW)
    assert out.code == "gateway.log_errors"
    assert out.facts["newest_error_time"] == "2026-11-30T09:00:00+00:00"
    found = from_results([Result("gateway:log", "gateway", str(path), out.status, out.summary,
                                 out.code, facts=out.facts)], kb.load())
    assert [d.cause_id for d in found] == ["gateway_log_errors"]


def test_a_fifo_at_the_log_path_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "arcproxy.log"
    os.mkfifo(path)
    started = time.monotonic()
    out = arcproxylog.probe(str(path), ("aka.ms",), GW, ctx(settings(tmp_path)), {})
    assert time.monotonic() - started < 2
    assert out.status is Status.SKIP and "regular file" in out.summary


def test_log_probe_states(tmp_path: Path) -> None:
    s = settings(tmp_path)
    path = tmp_path / "arcproxy.log"
    out = arcproxylog.probe(str(path), ("aka.ms",), GW, ctx(s), {})
    assert out.status is Status.SKIP and "no " in out.summary
    path.write_text(LOG)
    out = arcproxylog.probe(str(path), ("management.azure.com", "aka.ms"), GW, ctx(s), {})
    assert out.status is Status.PASS and "through the gateway: management.azure.com" in out.summary
    path.write_text(LOG + f'time="x" level=error msg="gateway {GW} unreachable: \x1b[31mEOF"\n')
    out = arcproxylog.probe(str(path), (), GW, ctx(s), {})
    assert out.status is Status.WARN and out.code == "gateway.log_errors"
    assert "\x1b" not in out.summary and "arcproxy.log:6:" in out.summary
    path.write_text("nothing about routes\n")
    out = arcproxylog.probe(str(path), ("aka.ms",), GW, ctx(s), {})
    assert out.status is Status.SKIP and "log format not recognised" in out.summary


def test_log_reading_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "arcproxy.log"
    line = f"Routing aka.ms:443 through gateway {GW} " + "x" * 10_000 + "\n"
    path.write_text(line * 400)  # about 4 MB: only the newest MiB is read
    started = time.monotonic()
    out = arcproxylog.probe(str(path), ("aka.ms",), GW, ctx(settings(tmp_path)), {})
    assert time.monotonic() - started < 2
    assert out.facts["lines_read"] < 110 and out.facts["routes"]["aka.ms"]["route"] == "gateway"


def test_default_log_path_beside_the_agent_config() -> None:
    assert arcproxylog.default_path("/var/opt/azcmagent") == \
        "/var/opt/azcmagent/log/arcproxy.log"
    # arc-gateway.md: arcproxy.log is in ProgramData\AzureConnectedMachineAgent\Log on Windows.
    windows = arcproxylog.default_path(r"C:\ProgramData\AzureConnectedMachineAgent\Config",
                                       "win32")
    assert windows == r"C:\ProgramData\AzureConnectedMachineAgent\Log\arcproxy.log"


# -- the Arc proxy's own check: a timeout is not a refusal -------------------------------------


def test_arc_proxy_timeout_and_refusal_are_told_apart(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from arc_preflight.probes import proxy

    s = settings(tmp_path)
    plan = proxyplan.ProxyPlan("http://127.0.0.1:40343", "agent", gateway=True)

    def refuse(*_: Any) -> None:  # unit tests open no socket: the lab tests the real refusal
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(proxy, "connect", refuse)
    out = proxy.probe(plan, ctx(s), {})
    assert (out.status, out.code) == (Status.FAIL, "gateway.arcproxy_down")
    assert "does not listen" in out.summary and out.facts["failure"] == "refused"

    def hang(*_: Any) -> None:
        raise socket.timeout("timed out")

    monkeypatch.setattr(proxy, "connect", hang)
    out = proxy.probe(plan, ctx(s), {})
    assert (out.status, out.code) == (Status.FAIL, "gateway.arcproxy_down")
    assert "did not answer within" in out.summary and "does not listen" not in out.summary
    assert out.facts["failure"] == "timeout"
    # Without the gateway the same timeout keeps the enterprise proxy's own code.
    out = proxy.probe(proxyplan.ProxyPlan(plan.url, "agent"), ctx(s), {})
    assert out.code == "proxy.timeout"
