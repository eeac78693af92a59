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
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import redact_url, register_secret
from .agentconfig import load_localconfig, read_localconfig
from .sysmgr import systemctl

if TYPE_CHECKING:
    from ..config import Settings
    from .proxyplan import ProxyPlan

SYSTEMD_DROPIN = "/lib/systemd/system.conf.d/azcmagent.conf"
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy")


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
    """HTTPS_PROXY as systemd will hand it to the agent's service."""
    text = systemctl(["show", f"{unit}.service", "--no-pager", "-p", "Environment"], timeout)
    if text:
        value = text.split("=", 1)[1] if "=" in text else ""
        try:
            pairs = shlex.split(value)
        except ValueError:
            pairs = value.split()
        url = _from_env_text(pairs)
        if url:
            return ProxySource(f"{unit} service environment", url, "systemctl show")
    text = systemctl(["show-environment"], timeout)
    if text:
        url = _from_env_text(text.splitlines())
        if url:
            return ProxySource("systemd manager environment", url, "systemctl show-environment")
    return None


def running_process_environment() -> Optional[ProxySource]:
    """HTTPS_PROXY in the environment of the running himds process (needs root to read)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover
        return None
    for proc in psutil.process_iter(["name"]):
        if proc.info.get("name") not in ("himds", "himds.exe"):
            continue
        try:
            env = proc.environ()
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
            return None
        url = next((env[v] for v in _PROXY_VARS if env.get(v)), None)
        return ProxySource("running himds process", url, f"pid {proc.pid}") if url else None
    return None


def systemd_dropin(path: str = SYSTEMD_DROPIN) -> Optional[ProxySource]:
    """The drop-in that ``azcmagent_proxy add`` writes: DefaultEnvironment for every service."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError:
        return None
    for match in re.finditer(r'(?i)https_proxy=([^"\s]+)', text):
        return ProxySource("systemd drop-in " + os.path.basename(path), match.group(1), path)
    return None


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


def agent_environment_sources(timeout: float) -> List[ProxySource]:
    """Proxies the agent's services inherit from their environment, most specific first."""
    if sys.platform.startswith("win"):  # pragma: no cover
        found = [windows_machine_env()]
    else:
        found = [service_environment("himdsd", timeout), running_process_environment(),
                 systemd_dropin()]
    return [source for source in found if source is not None]


def gather(settings: Settings, environ: Mapping[str, str], timeout: float,
           local: Optional[Mapping[str, Any]] = None) -> List[ProxySource]:
    """Every proxy setting in sight; ``local`` is the agent's localconfig.json when the caller
    has read it already."""
    if local is None:
        local = read_localconfig(settings.agent_dir)
    sources: List[ProxySource] = []
    if local.get("proxy.url"):
        sources.append(ProxySource("agent proxy.url", str(local["proxy.url"]), "localconfig.json"))
    shell = next((environ[v] for v in _PROXY_VARS if environ.get(v)), None)
    if shell:
        sources.append(ProxySource("this shell's HTTPS_PROXY", shell))
    sources.extend(agent_environment_sources(timeout))
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


def probe(plan: ProxyPlan, installed: bool, ctx: ProbeContext,
          deps: Mapping[str, Result]) -> Outcome:
    settings = ctx.settings
    local, unreadable = load_localconfig(settings.agent_dir)
    sources = gather(settings, os.environ, min(ctx.budget(), 2.0), local)
    facts: Dict[str, Any] = {
        "effective": plan.public(),
        "sources": [s.shown() for s in sources],
        "connection_type": local.get("connection.type"),
    }
    problems: List[str] = []
    codes: List[str] = []
    # An unusable setting is the worst finding: the agent cannot use its proxy at all.
    for note in plan.notes:
        problems.append(note)
        codes.append("proxy.config_invalid")
    if unreadable:
        problems.append(f"agent configuration {unreadable}")
        codes.append("proxy.config_invalid")
    agent_side = [s for s in sources if s.name != "this shell's HTTPS_PROXY"
                  and not s.name.startswith("WinHTTP")]
    agent_url = agent_side[0].url if agent_side else None
    shell = next((s.url for s in sources if s.name == "this shell's HTTPS_PROXY"), None)
    # Before installation there are no agent services to disagree with this shell.
    if shell and (installed or agent_side) and _norm(shell) != _norm(agent_url):
        problems.append(f"this shell uses {redact_url(shell)} but the agent's services use "
                        f"{redact_url(agent_url) if agent_url else 'no proxy'}")
        codes.append("proxy.conflict")
    distinct = {_norm(s.url) for s in agent_side}
    if len(distinct) > 1:
        listed = "; ".join(f"{s.name}: {redact_url(s.url or '')}" for s in agent_side)
        problems.append(f"agent proxy settings disagree ({listed}); proxy.url wins")
        codes.append("proxy.conflict")
    urls = [s.url for s in sources if s.url] + ([plan.url] if plan.url else [])
    if any(urlsplit(_norm(url)).password is not None or "@" in url for url in urls):
        problems.append("a proxy URL carries credentials: the agent does not support "
                        "authenticated proxies, and extensions fail with them")
        codes.append("proxy.credentials_in_url")
    if str(local.get("connection.type", "")).lower() == "gateway" and local.get("proxy.bypass"):
        problems.append("proxy.bypass is set but the Arc gateway ignores bypass lists")
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
