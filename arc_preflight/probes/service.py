"""The agent's services: installed, running, stopped or failed.

systemd is asked on Linux (``systemctl show``, bounded by the probe's timeout); where there is no
systemd (containers, WSL) the process table is read with psutil instead. On Windows psutil reads the
service manager. A service that is not installed is not a failure before the agent is installed,
which is exactly when this tool is most often run.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Dict, Mapping, Optional, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from .agentconfig import read_localconfig
from .sysmgr import unit_properties, windows_service

# How a Linux unit shows in the process table when systemd cannot be asked (agent-overview.md,
# azure-management-docs articles/azure-arc/servers, Linux table: himdsd.service runs "himds",
# gcad.service and extd.service both run "gc_linux_service"; their executables live in
# /opt/GC_Service/ and /opt/GC_Ext/ respectively). gcad and extd are therefore told apart by
# the executable's folder, never by the process name alone.
PROCESS_NAMES = {
    "himdsd": ("himds",),
    "gcad": ("gc_linux_service",),
    "extd": ("gc_linux_service",),
    "arcproxyd": ("arcproxy",),
}
PROCESS_FOLDERS = {"gcad": "/opt/GC_Service/", "extd": "/opt/GC_Ext/"}
# Only the identity service is required to connect; the others are reported as warnings.
REQUIRED = {"himdsd", "himds"}
# The Arc proxy service: disabled by default before agent 1.51 and meant to stay so unless the
# Arc gateway is used; started by default since 1.51 but may be turned off with
# "azcmagent config set connection.type direct" (agent-overview.md, "Azure Arc Proxy"). So it
# matters only with the gateway, where every request goes through it (AZCM0004 otherwise).
ARC_PROXY = {"arcproxyd", "arcproxy"}


def _process_paths(proc: Any) -> Tuple[str, ...]:
    """The executable and command line of a process, as far as this user may see them."""
    import psutil

    found = []
    with contextlib.suppress(psutil.Error, OSError):
        found.append(proc.exe() or "")
    with contextlib.suppress(psutil.Error, OSError):
        found.extend(proc.cmdline()[:1])
    return tuple(p for p in found if p)


def _process_running(unit: str) -> Tuple[Optional[bool], Optional[int]]:
    """(running, pid) from the process table; running is None when a process of the shared
    name runs but this user cannot see which unit's executable it is."""
    import psutil

    names = PROCESS_NAMES.get(unit, (unit,))
    folder = PROCESS_FOLDERS.get(unit)
    unattributed: Optional[int] = None
    for proc in psutil.process_iter(["name", "pid"]):
        if proc.info.get("name") not in names:
            continue
        if folder is None:
            return True, proc.info.get("pid")
        paths = _process_paths(proc)
        if any(path.startswith(folder) for path in paths):
            return True, proc.info.get("pid")
        if not paths:
            unattributed = proc.info.get("pid")
    if unattributed is not None:
        return None, unattributed
    return False, None


def gateway_in_use(settings: Any) -> bool:
    """Whether the agent is set to use the Arc gateway (``connection.type gateway``)."""
    local = read_localconfig(settings.agent_dir) if settings is not None else {}
    return str(local.get("connection.type", "")).strip().lower() == "gateway"


def is_required(name: str, settings: Any) -> bool:
    """Whether a service must run to connect: the identity service always, the Arc proxy
    service when the gateway is used."""
    return name in REQUIRED or (name in ARC_PROXY and gateway_in_use(settings))


def _not_needed(name: str, state: str, facts: Dict[str, Any]) -> Outcome:
    return Outcome(Status.PASS, f"{name} is {state}: normal without the Arc gateway (the Arc "
                   "proxy carries traffic only when connection.type is gateway)",
                   facts={**facts, "needed": False})


def probe(name: str, installed: bool, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    arc_proxy = name in ARC_PROXY
    gateway = arc_proxy and gateway_in_use(ctx.settings)
    required = is_required(name, ctx.settings)
    bad = Status.FAIL if required else Status.WARN
    if sys.platform.startswith("win"):
        info = windows_service(name)
        if info is None:
            return _absent(name, installed)
        status = str(info.get("status"))
        if status == "running":
            return Outcome(Status.PASS, f"{name} is running", facts=info)
        if arc_proxy and not gateway:
            return _not_needed(name, status, dict(info))
        return Outcome(bad, f"{name} is {status}", code="service.stopped", facts=info)
    state = unit_properties(name, "LoadState,ActiveState,SubState,UnitFileState", ctx.budget())
    if state is not None:
        facts: Dict[str, Any] = {"manager": "systemd", **state}
        if state.get("LoadState") == "not-found":
            return _absent(name, installed)
        active = state.get("ActiveState", "unknown")
        sub = state.get("SubState") or "?"
        enabled = state.get("UnitFileState")
        shown = f"{active} ({sub}" + (f", {enabled}" if enabled else "") + ")"
        if active == "active":
            return Outcome(Status.PASS, f"{name} is {shown}", facts=facts)
        if arc_proxy and not gateway and active != "failed":
            return _not_needed(name, shown, facts)
        if active == "failed":
            return Outcome(bad, f"{name} has failed ({sub})", code="service.failed",
                           facts=facts)
        why = ": the Arc gateway sends every request through it" if gateway else ""
        return Outcome(bad, f"{name} is {shown}{why}", code="service.stopped", facts=facts)
    running, pid = _process_running(name)
    facts = {"manager": "process table", "pid": pid}
    if running:
        return Outcome(Status.PASS, f"{name} process is running (pid {pid})", facts=facts)
    if running is None:
        return Outcome(Status.SKIP, f"a {PROCESS_NAMES[name][0]} process runs (pid {pid}) but "
                       "this user cannot see its executable, so gcad and extd cannot be told "
                       "apart (run as root)", facts=facts)
    if not installed:
        return _absent(name, installed)
    if arc_proxy and not gateway:
        return _not_needed(name, "not running", facts)
    return Outcome(bad, f"{name} is not running (no systemd to ask; no process found)",
                   code="service.stopped", facts=facts)


def _absent(name: str, installed: bool) -> Outcome:
    if installed and name in REQUIRED:
        return Outcome(Status.FAIL, f"{name} is not installed although the agent is",
                       code="service.stopped", facts={"installed": False})
    return Outcome(Status.SKIP, f"{name} is not installed (agent not installed yet)",
                   facts={"installed": False})
