"""The agent's services: installed, running, stopped or failed.

systemd is asked on Linux (``systemctl show``, bounded by the probe's timeout); where there is no
systemd (containers, WSL) the process table is read with psutil instead. On Windows psutil reads the
service manager. A service that is not installed is not a failure before the agent is installed,
which is exactly when this tool is most often run.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Mapping, Optional, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from .sysmgr import unit_properties, windows_service

# Processes that show a Linux unit is running when systemd cannot be asked.
PROCESS_NAMES = {
    "himdsd": ("himds",),
    "gcad": ("gc_linux_service", "gc_arc_service"),
    "extd": ("gc_linux_service", "gc_extension_service"),
    "arcproxyd": ("arcproxy",),
}
# Only the identity service is required to connect; the others are reported as warnings.
REQUIRED = {"himdsd", "himds"}


def _process_running(unit: str) -> Tuple[bool, Optional[int]]:
    import psutil

    names = PROCESS_NAMES.get(unit, (unit,))
    for proc in psutil.process_iter(["name", "pid"]):
        if proc.info.get("name") in names:
            return True, proc.info.get("pid")
    return False, None


def probe(name: str, installed: bool, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    required = name in REQUIRED
    bad = Status.FAIL if required else Status.WARN
    if sys.platform.startswith("win"):  # pragma: no cover
        info = windows_service(name)
        if info is None:
            return _absent(name, installed)
        status = str(info.get("status"))
        if status == "running":
            return Outcome(Status.PASS, f"{name} is running", facts=info)
        return Outcome(bad, f"{name} is {status}", code="service.stopped", facts=info)
    state = unit_properties(name, "LoadState,ActiveState,SubState,UnitFileState", ctx.budget())
    if state is not None:
        facts: Dict[str, Any] = {"manager": "systemd", **state}
        if state.get("LoadState") == "not-found":
            return _absent(name, installed)
        active = state.get("ActiveState", "unknown")
        if active == "active":
            return Outcome(Status.PASS, f"{name} is active ({state.get('SubState')})", facts=facts)
        if active == "failed":
            return Outcome(bad, f"{name} has failed", code="service.failed", facts=facts)
        return Outcome(bad, f"{name} is {active}", code="service.stopped", facts=facts)
    running, pid = _process_running(name)
    facts = {"manager": "process table", "pid": pid}
    if running:
        return Outcome(Status.PASS, f"{name} process is running (pid {pid})", facts=facts)
    if not installed:
        return _absent(name, installed)
    return Outcome(bad, f"{name} is not running (no systemd to ask; no process found)",
                   code="service.stopped", facts=facts)


def _absent(name: str, installed: bool) -> Outcome:
    if installed and name in REQUIRED:
        return Outcome(Status.FAIL, f"{name} is not installed although the agent is",
                       code="service.stopped", facts={"installed": False})
    return Outcome(Status.SKIP, f"{name} is not installed (agent not installed yet)",
                   facts={"installed": False})
