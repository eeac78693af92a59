"""The ready-made schedules (systemd service and timer, cron, Windows scheduled task), shipped
inside the package so that a pip, pipx or single-file install has them too.

``arc-preflight schedule NAME`` prints one of them with the command line of *this*
installation filled in (a virtual environment's console script, or the single-file build run by
its Python), so the printed file can be redirected into place as it is. The tool itself still
writes nothing on the host.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from typing import Dict, Optional, Sequence

from .datafiles import DATA_DIR
from .errors import UserError

FOLDER = DATA_DIR / "schedules"
# name -> what it is; the names are the file names under data/schedules.
SCHEDULES: Dict[str, str] = {
    "arc-preflight.service": "systemd service: one health check (goes with the timer)",
    "arc-preflight.timer": "systemd timer: the service every 15 minutes",
    "arc-preflight.cron": "cron file for /etc/cron.d: every 15 minutes, quiet unless something "
                          "changed",
    "arc-preflight-task.xml": "Windows Task Scheduler definition (SYSTEM, every 15 minutes)",
    "register-task.ps1": "PowerShell script that registers the Windows task",
}
# The command each Linux file names as shipped; replaced by this installation's.
_SHIPPED = {"arc-preflight.service": "/usr/local/bin/arc-preflight",
            "arc-preflight.cron": "arc-preflight"}


def this_command(argv0: Optional[str] = None) -> str:
    """How to start this installation from a scheduler, as a shell word sequence.

    The single-file build is started by the Python running it; a pip install by its console
    script (found as it was started, else on PATH).
    """
    started = os.path.abspath(argv0 if argv0 is not None else sys.argv[0])
    if started.endswith(".pyz") and os.path.isfile(started):
        return f"{shlex.quote(sys.executable)} {shlex.quote(started)}"
    if os.path.basename(started) == "arc-preflight" and os.path.isfile(started):
        return shlex.quote(started)
    found = shutil.which("arc-preflight")
    return shlex.quote(found) if found else _SHIPPED["arc-preflight.service"]


def render(name: str, command: Optional[str] = None) -> str:
    """The schedule file ``name`` with ``command`` (default: this installation) filled in."""
    if name not in SCHEDULES:
        raise UserError(f"unknown schedule {name!r} (expected one of: {', '.join(SCHEDULES)})")
    text = (FOLDER / name).read_text(encoding="utf-8")
    shipped = _SHIPPED.get(name)
    if shipped is None:
        return text
    wanted = command or this_command()
    if name == "arc-preflight.service":
        return text.replace(f"ExecStart={shipped} ", f"ExecStart={wanted} ")
    return text.replace(f" root {shipped} check ", f" root {wanted} check ")


def listing(names: Sequence[str] = tuple(SCHEDULES)) -> str:
    width = max(len(n) for n in names)
    return "".join(f"{name.ljust(width)}  {SCHEDULES[name]}\n" for name in names)
