"""The operating system's service manager, asked the same way by every probe that needs it.

On Linux that is ``systemctl`` (bounded by a timeout; None where there is no systemd, as in
containers and WSL); on Windows, psutil's view of the service control manager.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Dict, List, Optional


def systemctl(args: List[str], timeout: float) -> Optional[str]:
    """``systemctl ARGS`` output, or None when systemd cannot be asked."""
    program = shutil.which("systemctl")
    if not program:
        return None
    try:
        proc = subprocess.run([program, *args], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # A non-zero exit is "System has not been booted with systemd" and the like.
    return proc.stdout if proc.returncode == 0 else None


def unit_properties(unit: str, properties: str, timeout: float) -> Optional[Dict[str, str]]:
    """``systemctl show UNIT.service -p PROPERTIES`` (which must include LoadState) as a dict;
    None without systemd."""
    text = systemctl(["show", f"{unit}.service", "--no-pager", "-p", properties], timeout)
    if text is None:
        return None
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return fields if "LoadState" in fields else None


def windows_service(name: str) -> Optional[Dict[str, Any]]:  # pragma: no cover - Windows only
    """A Windows service as psutil describes it, or None when it does not exist."""
    try:
        import psutil

        getter = psutil.__dict__["win_service_get"]  # exists only on Windows
        return dict(getter(name).as_dict())
    except Exception:
        return None
