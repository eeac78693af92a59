"""Where the agent's proxy lives on Linux, read in the agent's precedence (issue 15, item 4).

Shapes: ``azcmagent_proxy add URL`` prints "Setting proxy environment variable to file:
/lib/systemd/system.conf.d/proxy.conf" and "Adding proxy environment variable to file:
/opt/azcmagent/bin/azcmagent"; the wrapper line is ``export https_proxy=URL`` below "# Do not
remove this line ==== place Environment Variables below ======" (davi-cruz/davi-cruz.github.io,
_i18n/en-US/_posts/2021-03-02-azure-arc-enabled-servers-service-level-proxy-configuration-on-
linux.md). The proxy.conf line is systemd's manager syntax, ``DefaultEnvironment="https_proxy=
URL"`` under ``[Manager]`` (systemd-system.conf(5)); a manager default is not a unit property,
so ``systemctl show UNIT -p Environment`` prints ``Environment=`` for it.
``/lib/systemd/system.conf.d/azcmagent.conf`` holds IDENTITY_ENDPOINT and IMDS_ENDPOINT
(Microsoft's agent-overview.md, Linux). ``azcmagent show -j`` keys: ``httpsProxy``
(Azure/ArcEnabledServersGroupPolicy EnableAzureArc.ps1), ``gatewayUrl``/``connectionType``
(Azure/arc_jumpstart_drops ArcEndpointCheck.ps1); display names from the ``azcmagent show``
sample in MicrosoftDocs/azure-stack-docs (disconnected-operations-post-restore-reconnect-arc.md).
The AMA bypass names: manage-agent-proxy-settings.md, "Proxy bypass for private endpoints".
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from arc_preflight.config import Settings
from arc_preflight.model import ProbeContext, Status
from arc_preflight.probes import agent, proxyplan, proxysources
from arc_preflight.probes.proxyplan import ProxyPlan, resolve_proxy
from arc_preflight.probes.proxysources import AgentView

PROXY_CONF = '[Manager]\nDefaultEnvironment="https_proxy=http://vmlx01:3128"\n'
AZCMAGENT_CONF = ('[Manager]\nDefaultEnvironment="IDENTITY_ENDPOINT=http://localhost:40342/'
                  'metadata/identity/oauth2/token" "IMDS_ENDPOINT=http://localhost:40342"\n')
WRAPPER = """#!/bin/bash
# azcmagent wrapper (shape as azcmagent_proxy edits it)
# Do not remove this line ==== place Environment Variables below ======
export https_proxy=http://vmlx01:3128

exec /opt/azcmagent/bin/azcmagent_executable "$@"
"""


@pytest.fixture(autouse=True)
def no_host_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never ask this machine's systemd or read its processes."""
    monkeypatch.setattr(proxysources, "systemctl", lambda args, timeout: None)
    monkeypatch.setattr(proxysources, "running_process_environment", lambda: None)
    monkeypatch.setattr(agent, "_SHOWN", {})


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def settings(tmp_path: Path, local: Optional[Dict[str, Any]] = None, installed: bool = False,
             azcmagent: Optional[str] = None) -> Settings:
    folder = tmp_path / "agent"
    folder.mkdir(exist_ok=True)
    if local is not None:
        (folder / "localconfig.json").write_text(json.dumps(local))
    if installed:
        (folder / "agentconfig.json").write_text("{}")
    return Settings(agent_dir=str(folder), system_root=str(tmp_path / "root"),
                    azcmagent=azcmagent or str(tmp_path / "no-azcmagent"))


def ctx(s: Settings) -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=s, deadline_at=time.monotonic() + 30)


# -- systemd DefaultEnvironment -----------------------------------------------------------------


def test_parse_the_azcmagent_proxy_file() -> None:
    assert proxysources.parse_default_environment(PROXY_CONF) == [
        ("https_proxy", "http://vmlx01:3128")]
    assert proxysources.parse_default_environment(AZCMAGENT_CONF) == [
        ("IDENTITY_ENDPOINT", "http://localhost:40342/metadata/identity/oauth2/token"),
        ("IMDS_ENDPOINT", "http://localhost:40342")]


def test_parse_continuations_sections_and_reset() -> None:
    text = ('[Unit]\nDefaultEnvironment="https_proxy=http://ignored:1"\n'
            "[Manager]\n# comment\nDefaultEnvironment=\\\n  HTTPS_PROXY=http://a:1 \\\n"
            "  NO_PROXY=localhost\nDefaultEnvironment=\n")
    assert proxysources.parse_default_environment(text) == [
        ("HTTPS_PROXY", "http://a:1"), ("NO_PROXY", "localhost"), ("", "")]


def test_proxy_conf_written_by_azcmagent_proxy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    path = write(root, "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    write(root, "lib/systemd/system.conf.d/azcmagent.conf", AZCMAGENT_CONF)
    found = proxysources.systemd_default_environment(str(root))
    assert found is not None
    assert found.name == "systemd DefaultEnvironment (azcmagent_proxy)"
    assert found.url == "http://vmlx01:3128" and str(path) in found.detail


def test_azcmagent_conf_alone_is_not_a_proxy(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "lib/systemd/system.conf.d/azcmagent.conf", AZCMAGENT_CONF)
    assert proxysources.systemd_default_environment(str(root)) is None


def test_systemd_order_etc_hides_lib_and_later_files_win(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    write(root, "etc/systemd/system.conf.d/proxy.conf",
          '[Manager]\nDefaultEnvironment="https_proxy=http://etc:1"\n')
    found = proxysources.systemd_default_environment(str(root))
    assert found is not None and found.url == "http://etc:1"
    assert found.name == "systemd DefaultEnvironment"
    write(root, "lib/systemd/system.conf.d/zz-late.conf",
          '[Manager]\nDefaultEnvironment="https_proxy=http://late:2"\n')
    assert proxysources.systemd_default_environment(str(root)).url == "http://late:2"


def test_uppercase_wins_like_go(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "etc/systemd/system.conf",
          '[Manager]\nDefaultEnvironment="https_proxy=http://lower:1" '
          '"HTTPS_PROXY=http://upper:2"\n')
    assert proxysources.systemd_default_environment(str(root)).url == "http://upper:2"


# -- the CLI wrapper ----------------------------------------------------------------------------


def test_cli_wrapper_export_line(tmp_path: Path) -> None:
    path = write(tmp_path, "azcmagent", WRAPPER)
    found = proxysources.cli_wrapper_proxy(str(path))
    assert found is not None and found.url == "http://vmlx01:3128"
    assert found.name == proxysources.WRAPPER and "export https_proxy" in found.detail


def test_cli_wrapper_binary_or_without_export(tmp_path: Path) -> None:
    binary = tmp_path / "azcmagent-bin"
    binary.write_bytes(b"\x7fELF\x02\x01export https_proxy=http://x:1\n")
    assert proxysources.cli_wrapper_proxy(str(binary)) is None
    plain = write(tmp_path, "plain", "#!/bin/sh\nexec true\n")
    assert proxysources.cli_wrapper_proxy(str(plain)) is None


# -- precedence, which one was used, disagreements ----------------------------------------------


def test_plan_uses_the_global_systemd_proxy(tmp_path: Path) -> None:
    s = settings(tmp_path)
    write(tmp_path / "root", "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    plan = resolve_proxy(s, environ={})
    assert plan.url == "http://vmlx01:3128"
    assert plan.source == "systemd DefaultEnvironment (azcmagent_proxy)"
    out = proxysources.probe(plan, False, ctx(s), {})
    assert out.status is Status.PASS, out
    used = [src for src in out.facts["sources"] if src["used"]]
    assert [src["source"] for src in used] == ["systemd DefaultEnvironment (azcmagent_proxy)"]


def test_proxy_url_beats_the_systemd_default_and_says_so(tmp_path: Path) -> None:
    s = settings(tmp_path, {"proxy.url": "http://agent:8080"})
    write(tmp_path / "root", "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    plan = resolve_proxy(s, environ={})
    assert plan.source == "agent proxy.url"
    out = proxysources.probe(plan, True, ctx(s), {})
    assert out.code == "proxy.conflict"
    assert "agent proxy.url wins" in out.summary


def test_wrapper_and_systemd_file_agree(tmp_path: Path) -> None:
    wrapper = write(tmp_path, "bin/azcmagent", WRAPPER)
    wrapper.chmod(0o755)
    s = settings(tmp_path, azcmagent=str(wrapper))
    write(tmp_path / "root", "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    plan = resolve_proxy(s, environ={})
    out = proxysources.probe(plan, False, ctx(s), {})
    names = [src["source"] for src in out.facts["sources"]]
    assert names == ["systemd DefaultEnvironment (azcmagent_proxy)", proxysources.WRAPPER]
    assert out.status is Status.PASS, out.summary


def view(**kw: str) -> AgentView:
    base: Dict[str, Any] = {"https_proxy": "", "upstream_proxy": "", "gateway_url": "",
                            "bypass": "", "connection_type": ""}
    base.update(kw)
    return AgentView(**base)


def test_show_disagreeing_with_the_files_is_said(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path, installed=True)
    write(tmp_path / "root", "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    monkeypatch.setattr(proxysources, "agent_view", lambda *a, **k: view())
    monkeypatch.setattr(proxyplan, "agent_view", lambda *a, **k: view())
    plan = resolve_proxy(s, environ={})
    out = proxysources.probe(plan, True, ctx(s), {})
    assert out.code == "proxy.conflict"
    assert "azcmagent show reports no proxy" in out.summary
    assert "daemon-reexec" in out.summary
    assert out.facts["agent_show"]["https_proxy"] is None


def test_show_is_the_agents_answer_when_no_proxy_url(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path, installed=True)
    shown = view(https_proxy="http://shown:3128")
    monkeypatch.setattr(proxyplan, "agent_view", lambda *a, **k: shown)
    monkeypatch.setattr(proxysources, "agent_view", lambda *a, **k: shown)
    plan = resolve_proxy(s, environ={})
    assert (plan.url, plan.source) == ("http://shown:3128", proxysources.SHOWN)
    out = proxysources.probe(plan, True, ctx(s), {})
    # No file names that proxy: the agent's view disagrees with every file.
    assert out.code == "proxy.conflict" and "no file or setting names one" in out.summary


def test_gateway_from_show_and_upstream_proxy(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path, {"proxy.url": "http://corp:8080"}, installed=True)
    shown = view(https_proxy="http://localhost:40343", upstream_proxy="http://other:8080",
                 gateway_url="https://abc.gw.arc.azure.com")
    monkeypatch.setattr(proxyplan, "agent_view", lambda *a, **k: shown)
    monkeypatch.setattr(proxysources, "agent_view", lambda *a, **k: shown)
    plan = resolve_proxy(s, environ={})
    assert plan.gateway and "gateway URL" in plan.source
    out = proxysources.probe(plan, True, ctx(s), {})
    assert "upstream proxy http://other:8080 but proxy.url is http://corp:8080" in out.summary


def test_agent_view_reads_show_json(tmp_path: Path) -> None:
    script = write(tmp_path, "bin/azcmagent", "#!/bin/sh\ncat <<'EOF'\n" + json.dumps({
        "status": "Connected", "agentVersion": "1.64.03414.2961",
        "httpsProxy": "http://user:Pw-9x@proxy.corp:3128", "Upstream Proxy": "",
        "gatewayUrl": "", "connectionType": "direct"}) + "\nEOF\n")
    script.chmod(0o755)
    s = settings(tmp_path, installed=True, azcmagent=str(script))
    found = proxysources.agent_view(s)
    assert found is not None and (found.https_proxy or "").endswith("proxy.corp:3128")
    assert found.upstream_proxy == "" and not found.gateway
    assert "Pw-9x" not in json.dumps(found.shown())


def test_older_show_without_proxy_keys_is_not_a_disagreement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(tmp_path, {"proxy.url": "http://agent:8080"}, installed=True)
    old = view(https_proxy=None, upstream_proxy=None)  # type: ignore[arg-type]
    monkeypatch.setattr(proxysources, "agent_view", lambda *a, **k: old)
    monkeypatch.setattr(proxyplan, "agent_view", lambda *a, **k: old)
    out = proxysources.probe(resolve_proxy(s, environ={}), True, ctx(s), {})
    assert out.status is Status.PASS, out.summary


def test_agent_view_needs_the_agent_installed(tmp_path: Path) -> None:
    assert proxysources.agent_view(settings(tmp_path)) is None


# -- the AMA bypass category --------------------------------------------------------------------


@pytest.mark.parametrize(("host", "route"), [
    ("global.handler.control.monitor.azure.com", "direct"),
    ("eastus.handler.control.monitor.azure.com", "direct"),
    ("0f1e2d3c-aaaa-bbbb-cccc-1234567890ab.ods.opinsights.azure.com", "direct"),
    ("eastus.monitoring.azure.com", "direct"),
    ("my-dce-abcd.eastus.ingest.monitor.azure.com", "direct"),
    ("management.azure.com", "direct"),
    ("login.microsoftonline.com", "proxy"),
    ("gbl.his.arc.azure.com", "proxy"),
])
def test_ama_bypass(host: str, route: str) -> None:
    plan = ProxyPlan("http://proxy.corp:3128", "agent proxy.url", bypass_categories=("AMA",))
    assert plan.route(host)[0] == route, host
    if route == "direct":
        assert plan.route(host)[1] == "agent proxy.bypass AMA"


def test_arm_bypass_still_covers_management() -> None:
    plan = ProxyPlan("http://proxy.corp:3128", "agent proxy.url", bypass_categories=("ARM",))
    assert plan.route("management.azure.com")[0] == "direct"
    assert plan.route("global.handler.control.monitor.azure.com")[0] == "proxy"


def test_environment_sources_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit's own Environment= comes before systemd's DefaultEnvironment= (systemd applies
    the manager default first and the unit's setting over it)."""
    def fake(args: Any, timeout: float) -> Optional[str]:
        if "-p" in args:
            return "Environment=HTTPS_PROXY=http://unit:1 NO_PROXY=localhost\n"
        return "LANG=C.UTF-8\nhttps_proxy=http://vmlx01:3128\n"
    monkeypatch.setattr(proxysources, "systemctl", fake)
    root = tmp_path / "root"
    write(root, "lib/systemd/system.conf.d/proxy.conf", PROXY_CONF)
    found = proxysources.agent_environment_sources(1.0, str(root))
    assert [f.name for f in found] == ["himdsd service environment",
                                       "systemd DefaultEnvironment (azcmagent_proxy)",
                                       "systemd manager environment"]
    assert os.path.basename(found[1].detail.split(":")[0]) == "proxy.conf"
