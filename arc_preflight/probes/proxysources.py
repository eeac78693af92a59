"""Every place a proxy can be configured for the agent, gathered and compared.

The agent uses its own ``proxy.url`` first, then ``HTTPS_PROXY`` from the environment of its
services (set machine-wide on Windows, or through systemd on Linux); the interactive shell's
variables matter only to ``azcmagent connect`` run from that shell, and Windows' WinHTTP proxy
is ignored by the agent although Windows itself uses it to check certificate revocation. Most
proxy trouble in the field is two of these disagreeing, so they are all reported side by side.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import redact_url, register_secret
from .agentconfig import AGENTCONFIG, load_localconfig, needs_elevation, read_localconfig
from .sysmgr import systemctl

if TYPE_CHECKING:
    from ..config import Settings
    from .proxyplan import ProxyPlan

# Where a proxy for the agent can live on Linux besides proxy.url:
# * "azcmagent_proxy add URL" writes DefaultEnvironment="https_proxy=URL" to
#   /lib/systemd/system.conf.d/proxy.conf (a systemd manager setting for every service, so
#   "systemctl show UNIT -p Environment" does not list it) and an "export https_proxy=URL" line
#   into the CLI wrapper /opt/azcmagent/bin/azcmagent, below the line "# Do not remove this line
#   ==== place Environment Variables below ======". The script's own output names both files:
#   davi-cruz/davi-cruz.github.io, _i18n/en-US/_posts/2021-03-02-azure-arc-enabled-servers-
#   service-level-proxy-configuration-on-linux.md ("Setting proxy environment variable to file:
#   /lib/systemd/system.conf.d/proxy.conf", "Adding proxy environment variable to file:
#   /opt/azcmagent/bin/azcmagent"). Microsoft: manage-agent-proxy-settings.md, "Linux
#   environment variables" (the script sets systemd's default proxy for all services).
# * /lib/systemd/system.conf.d/azcmagent.conf holds IDENTITY_ENDPOINT and IMDS_ENDPOINT, not the
#   proxy (agent-overview.md, Linux environment variables); it is read like any drop-in.
# systemd reads system.conf, then the system.conf.d drop-ins of /etc, /run, /usr/lib and /lib
# in file-name order (a name in /etc hides the same name further down); a later
# DefaultEnvironment= assignment of a variable wins, an empty one clears the list.
SYSTEM_CONF = "etc/systemd/system.conf"
SYSTEM_CONF_DIRS = ("etc/systemd/system.conf.d", "run/systemd/system.conf.d",
                    "usr/lib/systemd/system.conf.d", "lib/systemd/system.conf.d")
AZCMAGENT_PROXY_CONF = "lib/systemd/system.conf.d/proxy.conf"
CLI_WRAPPER = "/opt/azcmagent/bin/azcmagent"
MAX_CONF_BYTES = 256 * 1024
# Go's proxy lookup (the agent is a Go program) takes HTTPS_PROXY before https_proxy.
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy")
SHELL = "this shell's HTTPS_PROXY"
SHOWN = "azcmagent show (Using HTTPS Proxy)"
WRAPPER = "azcmagent CLI wrapper (export https_proxy)"


@dataclass(frozen=True)
class ProxySource:
    name: str
    url: Optional[str]
    detail: str = ""

    def shown(self) -> Dict[str, Any]:
        return {"source": self.name, "url": redact_url(self.url) if self.url else None,
                "detail": self.detail}


def _from_env_text(pairs: List[str]) -> Optional[str]:
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name in _PROXY_VARS and value:
            return value
    return None


def service_environment(unit: str, timeout: float) -> Optional[ProxySource]:
    """HTTPS_PROXY in the unit's own Environment= (unit file or drop-in), as systemd shows it."""
    text = systemctl(["show", f"{unit}.service", "--no-pager", "-p", "Environment"], timeout)
    if not text:
        return None
    line = next((ln for ln in text.splitlines() if ln.startswith("Environment=")), "")
    value = line.split("=", 1)[1] if "=" in line else ""
    try:
        pairs = shlex.split(value)
    except ValueError:
        pairs = value.split()
    url = _from_env_text(pairs)
    return ProxySource(f"{unit} service environment", url, "systemctl show") if url else None


def manager_environment(timeout: float) -> Optional[ProxySource]:
    """HTTPS_PROXY in systemd's manager environment (``systemctl show-environment``)."""
    text = systemctl(["show-environment"], timeout)
    url = _from_env_text(text.splitlines()) if text else None
    if url:
        return ProxySource("systemd manager environment", url, "systemctl show-environment")
    return None


def parse_default_environment(text: str) -> List[Tuple[str, str]]:
    """The DefaultEnvironment= assignments of a systemd manager configuration file, in order;
    ``("", "")`` marks an empty assignment, which clears what came before."""
    found: List[Tuple[str, str]] = []
    section = ""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, sep, value = line.partition("=")
        if not sep or section != "Manager" or key.strip() != "DefaultEnvironment":
            continue
        value = value.strip()
        if not value:
            found.append(("", ""))
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = value.split()
        for word in words:
            name, eq, setting = word.partition("=")
            if eq and name:
                found.append((name, setting))
    return found


def _conf_files(root: str) -> List[str]:
    """systemd's manager configuration files under ``root``, in the order systemd reads them."""
    files = [os.path.join(root, SYSTEM_CONF)]
    chosen: Dict[str, str] = {}
    for folder in SYSTEM_CONF_DIRS:
        path = os.path.join(root, folder)
        try:
            names = os.listdir(path)
        except OSError:
            continue
        for name in names:
            if name.endswith(".conf") and name not in chosen:
                chosen[name] = os.path.join(path, name)
    files.extend(chosen[name] for name in sorted(chosen))
    return files


def _read_text(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(MAX_CONF_BYTES)
    except OSError:
        return None


def systemd_default_environment(root: str = "/") -> Optional[ProxySource]:
    """The HTTPS proxy systemd hands every service through DefaultEnvironment= (where
    ``azcmagent_proxy add`` puts it), with the file that set it."""
    setting: Dict[str, Tuple[str, str]] = {}
    for path in _conf_files(root):
        text = _read_text(path)
        if text is None:
            continue
        for name, value in parse_default_environment(text):
            if not name:
                setting.clear()
            elif name in _PROXY_VARS:
                setting[name] = (value, path)
    for name in _PROXY_VARS:
        value, path = setting.get(name, ("", ""))
        if value:
            by_script = os.path.normpath(path) == os.path.normpath(
                os.path.join(root, AZCMAGENT_PROXY_CONF))
            label = ("systemd DefaultEnvironment (azcmagent_proxy)" if by_script
                     else "systemd DefaultEnvironment")
            return ProxySource(label, value, f"{path}: DefaultEnvironment={name}")
    return None


_EXPORT = re.compile(r"^\s*export\s+(HTTPS_PROXY|https_proxy)=(\S*)\s*$", re.MULTILINE)


def cli_wrapper_proxy(path: str = CLI_WRAPPER) -> Optional[ProxySource]:
    """The ``export https_proxy=`` line ``azcmagent_proxy add`` writes into the azcmagent CLI
    wrapper script: the proxy ``azcmagent connect`` uses when run from a shell."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(MAX_CONF_BYTES)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None  # the Go binary itself, not the shell wrapper
    text = head.decode("utf-8", errors="replace")
    found = {name: value for name, value in
             ((m.group(1), m.group(2).strip("'\"")) for m in _EXPORT.finditer(text)) if value}
    for name in _PROXY_VARS:
        if found.get(name):
            return ProxySource(WRAPPER, found[name], f"{path}: export {name}")
    return None


def running_process_environment(proc_root: str = "/proc") -> Optional[ProxySource]:
    """HTTPS_PROXY in the environment of the running himds process (needs root to read).

    On Linux this reads ``/proc`` itself (proc(5): ``/proc/PID/comm`` is the command name,
    ``/proc/PID/environ`` the NUL-separated initial environment): the plan waits for this
    answer before any probe starts, and importing psutil and walking every process through it
    took about 80 ms on an idle host, more with hundreds of processes. Elsewhere psutil."""
    if sys.platform.startswith("linux"):
        return _proc_environment(proc_root)
    try:  # pragma: no cover - other systems
        import psutil
    except ImportError:  # pragma: no cover
        return None
    for proc in psutil.process_iter(["name"]):  # pragma: no cover - other systems
        if proc.info.get("name") not in ("himds", "himds.exe"):
            continue
        try:
            env = proc.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
            return None
        return _from_process(env, proc.pid)
    return None  # pragma: no cover - other systems


def _proc_environment(proc_root: str) -> Optional[ProxySource]:
    try:
        pids = [name for name in os.listdir(proc_root) if name.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(os.path.join(proc_root, pid, "comm"), "rb") as handle:
                if handle.read(64).strip() != b"himds":
                    continue
        except OSError:
            continue  # gone since the listing, or not readable
        try:
            with open(os.path.join(proc_root, pid, "environ"), "rb") as handle:
                raw = handle.read(1 << 20)
        except OSError:
            return None  # not root: the running process's environment cannot be read
        env = dict(item.split("=", 1) for item in
                   raw.decode("utf-8", "replace").split("\0") if "=" in item)
        return _from_process(env, int(pid))
    return None


def _from_process(env: Mapping[str, str], pid: int) -> Optional[ProxySource]:
    url = next((env[v] for v in _PROXY_VARS if env.get(v)), None)
    return ProxySource("running himds process", url, f"pid {pid}") if url else None


def winhttp_proxy(timeout: float) -> Optional[ProxySource]:  # pragma: no cover - Windows only
    try:
        proc = subprocess.run(["netsh", "winhttp", "show", "proxy"], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Proxy Server\(s\)\s*:\s*(\S+)", proc.stdout)
    if not match:
        return None
    return ProxySource("WinHTTP (ignored by the agent; used by Windows for CRL/OCSP)",
                       match.group(1), "netsh winhttp show proxy")


def windows_machine_env() -> Optional[ProxySource]:  # pragma: no cover - Windows only
    try:
        import winreg

        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,  # type: ignore[attr-defined]
                             r"SYSTEM\CurrentControlSet\Control\Session Manager\Environment")
        value, _ = winreg.QueryValueEx(key, "HTTPS_PROXY")  # type: ignore[attr-defined]
    except OSError:
        return None
    return ProxySource("machine environment HTTPS_PROXY", str(value), "registry") if value else None


def agent_environment_sources(timeout: float, root: str = "/") -> List[ProxySource]:
    """Proxies the agent's services inherit from their environment, in the order they apply:
    the unit's own Environment= beats systemd's DefaultEnvironment=; the running himds process
    shows what is in effect now (services read their environment when they start)."""
    if sys.platform.startswith("win"):  # pragma: no cover
        found = [windows_machine_env()]
    else:
        found = [service_environment("himdsd", timeout), running_process_environment(),
                 systemd_default_environment(root), manager_environment(timeout)]
    return [source for source in found if source is not None]


# agent-release-notes.md, 1.64: "Added Arc Gateway bypass list support" (FQDNs); the gateway
# article still says bypass is unsupported, so from here on the warning is reworded, not dropped.
BYPASS_WITH_GATEWAY_SINCE = (1, 64)


@dataclass(frozen=True)
class AgentView:
    """What ``azcmagent show -j`` says about the agent's network path."""

    https_proxy: Optional[str]  # None: this agent's show does not report it (older agents)
    upstream_proxy: Optional[str]
    gateway_url: str
    bypass: str
    connection_type: str
    agent_version: str = ""

    @property
    def gateway(self) -> bool:
        return bool(self.gateway_url) or self.connection_type.lower() == "gateway"

    def shown(self) -> Dict[str, Any]:
        return {"https_proxy": redact_url(self.https_proxy) if self.https_proxy else None,
                "upstream_proxy": (redact_url(self.upstream_proxy) if self.upstream_proxy
                                   else None),
                "gateway_url": self.gateway_url or None, "bypass": self.bypass or None,
                "connection_type": self.connection_type or None}


def agent_view(settings: Settings, timeout: float = 3.0) -> Optional[AgentView]:
    """The agent's own view of its proxy, when the agent is installed and answers.

    JSON keys: ``httpsProxy`` is read by Microsoft's Azure/ArcEnabledServersGroupPolicy
    EnableAzureArc.ps1 (``(Get-ArcAgentstatus).httpsProxy``), ``gatewayUrl`` and
    ``connectionType`` by Azure/arc_jumpstart_drops script_automation/arc_endpoint_check/
    ArcEndpointCheck.ps1. The display names ("Using HTTPS Proxy", "Proxy Bypass List",
    "Upstream Proxy", "Gateway URL") are those of the ``azcmagent show`` sample in
    MicrosoftDocs/azure-stack-docs azure-local/manage/disconnected-operations-post-restore-
    reconnect-arc.md; the upstream proxy's JSON key is not published, so both are tried.
    """
    from .agent import _pick, find_azcmagent, show_once

    if not os.path.exists(os.path.join(settings.agent_dir, AGENTCONFIG)):
        return None
    binary = find_azcmagent(settings.azcmagent)
    if binary is None:
        return None
    try:
        data = show_once(binary, min(timeout, settings.timeout))
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None

    def text(*keys: str) -> str:
        value = _pick(data, *keys)
        return str(value).strip() if isinstance(value, (str, int)) else ""

    def reported(*keys: str) -> Optional[str]:
        """The value when the output has the key at all (an empty value means none)."""
        present = {str(k).replace(" ", "").lower() for k in data}
        if not any(key.replace(" ", "").lower() in present for key in keys):
            return None
        return text(*keys)

    view = AgentView(
        https_proxy=reported("httpsProxy", "Using HTTPS Proxy"),
        upstream_proxy=reported("upstreamProxy", "Upstream Proxy"),
        gateway_url=text("gatewayUrl", "Gateway URL"),
        bypass=text("proxyBypassList", "proxyBypass", "Proxy Bypass List"),
        connection_type=text("connectionType", "Connection Type"),
        agent_version=text("agentVersion", "Agent Version"))
    for url in (view.https_proxy, view.upstream_proxy):
        password = urlsplit(_norm_keep_case(url)).password if url else None
        if password:
            register_secret(password)
    return view


def wrapper_path(settings: Settings) -> str:
    """The azcmagent program this machine would run (the shell wrapper on Linux)."""
    from .agent import find_azcmagent

    binary = find_azcmagent(settings.azcmagent)
    if binary:
        return os.path.realpath(binary)
    return os.path.join(settings.system_root, CLI_WRAPPER.lstrip("/"))


def gather(settings: Settings, environ: Mapping[str, str], timeout: float,
           local: Optional[Mapping[str, Any]] = None,
           view: Optional[AgentView] = None) -> List[ProxySource]:
    """Every proxy setting in sight, the agent's own first; ``local`` is the agent's
    localconfig.json and ``view`` what ``azcmagent show`` said, when the caller has them."""
    if local is None:
        local = read_localconfig(settings.agent_dir)
    sources: List[ProxySource] = []
    if local.get("proxy.url"):
        sources.append(ProxySource("agent proxy.url", str(local["proxy.url"]), "localconfig.json"))
    sources.extend(agent_environment_sources(timeout, settings.system_root))
    if not sys.platform.startswith("win"):
        wrapper = cli_wrapper_proxy(wrapper_path(settings))
        if wrapper:
            sources.append(wrapper)
    if view is not None and view.https_proxy:
        sources.append(ProxySource(SHOWN, view.https_proxy, "azcmagent show -j httpsProxy"))
    shell = next((environ[v] for v in _PROXY_VARS if environ.get(v)), None)
    if shell:
        sources.append(ProxySource(SHELL, shell))
    if sys.platform.startswith("win"):  # pragma: no cover
        winhttp = winhttp_proxy(timeout)
        if winhttp:
            sources.append(winhttp)
    for source in sources:
        password = urlsplit(_norm_keep_case(source.url)).password
        if password:
            register_secret(password)
    return sources


def _norm_keep_case(url: Optional[str]) -> str:
    url = (url or "").strip()
    return url if "://" in url else "http://" + url


def _norm(url: Optional[str]) -> str:
    if not url:
        return ""
    url = url.strip().rstrip("/").lower()
    return url if "://" in url else "http://" + url


def _show_disagrees(view: AgentView, local: Mapping[str, Any],
                    agent_side: List[ProxySource]) -> Optional[str]:
    """What ``azcmagent show`` reports against what the files say, when they differ."""
    if view.gateway:
        # With the gateway the agent's services talk to the local Arc proxy; the enterprise
        # proxy (proxy.url) becomes its upstream proxy.
        configured = local.get("proxy.url")
        configured = configured if isinstance(configured, str) else ""
        if view.upstream_proxy is None:
            return None
        if _norm(view.upstream_proxy) != _norm(configured):
            return (f"azcmagent show reports upstream proxy "
                    f"{redact_url(view.upstream_proxy) if view.upstream_proxy else 'none'} but "
                    f"proxy.url is {redact_url(configured) if configured else 'not set'}")
        return None
    expected = agent_side[0] if agent_side else None
    if view.https_proxy is None or _norm(view.https_proxy) == _norm(
            expected.url if expected else None):
        return None
    said = redact_url(view.https_proxy) if view.https_proxy else "no proxy"
    files = (f"{expected.name} sets {redact_url(expected.url or '')}" if expected
             else "no file or setting names one")
    return (f"azcmagent show reports {said} but {files} (services read their environment "
            "when they start: restart them, after 'systemctl daemon-reexec' for a systemd "
            "DefaultEnvironment change)")


def probe(plan: ProxyPlan, installed: bool, ctx: ProbeContext,
          deps: Mapping[str, Result]) -> Outcome:
    settings = ctx.settings
    local, unreadable = load_localconfig(settings.agent_dir)
    view = agent_view(settings, min(ctx.budget(), 3.0)) if installed else None
    sources = gather(settings, os.environ, min(ctx.budget(), 2.0), local, view)
    facts: Dict[str, Any] = {
        "effective": plan.public(),
        "sources": [{**s.shown(), "used": s.name == plan.source} for s in sources],
        "connection_type": local.get("connection.type"),
    }
    if view is not None:
        facts["agent_show"] = view.shown()
    problems: List[str] = []
    codes: List[str] = []
    # An unusable setting is the worst finding: the agent cannot use its proxy at all.
    for note in plan.notes:
        problems.append(note)
        codes.append("proxy.config_invalid")
    if unreadable and needs_elevation(unreadable):
        # Not a configuration fault: this user may not read it (run elevated to judge it).
        problems.append(f"agent configuration {unreadable}; its proxy settings need elevation "
                        "to check")
        codes.append("privilege.not_admin")
    elif unreadable:
        problems.append(f"agent configuration {unreadable}")
        codes.append("proxy.config_invalid")
    agent_side = [s for s in sources if s.name not in (SHELL, SHOWN)
                  and not s.name.startswith("WinHTTP")]
    agent_url = agent_side[0].url if agent_side else None
    shell = next((s.url for s in sources if s.name == SHELL), None)
    # Before installation there are no agent services to disagree with this shell.
    if shell and (installed or agent_side) and _norm(shell) != _norm(agent_url):
        problems.append(f"this shell uses {redact_url(shell)} but the agent's services use "
                        f"{redact_url(agent_url) if agent_url else 'no proxy'}")
        codes.append("proxy.conflict")
    distinct = {_norm(s.url) for s in agent_side}
    if len(distinct) > 1:
        listed = "; ".join(f"{s.name}: {redact_url(s.url or '')}" for s in agent_side)
        problems.append(f"agent proxy settings disagree ({listed}); {agent_side[0].name} "
                        "wins")
        codes.append("proxy.conflict")
    if view is not None:
        disagreement = _show_disagrees(view, local, agent_side)
        if disagreement:
            problems.append(disagreement)
            codes.append("proxy.conflict")
    urls = [s.url for s in sources if s.url] + ([plan.url] if plan.url else [])
    if any(urlsplit(_norm(url)).password is not None or "@" in url for url in urls):
        problems.append("a proxy URL carries credentials: the agent does not support "
                        "authenticated proxies, and extensions fail with them")
        codes.append("proxy.credentials_in_url")
    if str(local.get("connection.type", "")).lower() == "gateway" and local.get("proxy.bypass"):
        from .agentstate import parse_version

        version = parse_version(view.agent_version) if view is not None else None
        if view is not None and version is not None and version >= BYPASS_WITH_GATEWAY_SINCE:
            # The sources disagree and none settles it: arc-gateway.md (limitations) says proxy
            # bypass is not supported with the gateway; the release notes add a gateway bypass
            # list of FQDNs in 1.64 and fix the Arc proxy's handling of it in 1.66, without
            # saying it is proxy.bypass (which takes service names such as AAD, ARM, Arc). So
            # the warning stays, reworded: the user must check the route.
            facts["gateway_bypass"] = "sources disagree (arc-gateway.md vs release notes 1.64)"
            problems.append(
                f"proxy.bypass is set with the Arc gateway on agent {view.agent_version}: the "
                "gateway article and the release notes disagree; verify the route (arc-gateway.md"
                " says proxy bypass is not supported with the gateway; agent-release-notes.md "
                "adds a gateway bypass list of FQDNs in 1.64, fixed in 1.66, and does not say it"
                " is proxy.bypass)")
        else:
            shown = f"agent {view.agent_version}" if view and view.agent_version else \
                "an agent of unknown version"
            facts["gateway_bypass"] = "not supported"
            problems.append(f"proxy.bypass is set but the Arc gateway ignores bypass lists on "
                            f"{shown} (arc-gateway.md; the release notes add a gateway bypass "
                            "list only in agent 1.64)")
        codes.append("proxy.bypass_with_gateway")
    if problems:
        facts["problems"] = problems
        # One row, several findings: diagnose reads the other codes from "extra_codes".
        facts["extra_codes"] = sorted(set(codes[1:]) - {codes[0]})
        status = Status.FAIL if codes[0] == "proxy.config_invalid" else Status.WARN
        return Outcome(status, "; ".join(problems), code=codes[0], facts=facts)
    if plan.url:
        return Outcome(Status.PASS, f"agent traffic goes through {redact_url(plan.url)} "
                       f"({plan.source}); sources agree", facts=facts)
    return Outcome(Status.PASS, "no proxy configured in any source: traffic goes direct",
                   facts=facts)
