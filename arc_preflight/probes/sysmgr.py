"""The operating system's service manager, asked the same way by every probe that needs it.

On Linux that is ``systemctl`` (bounded by a timeout; None where there is no systemd, as in
containers and WSL); on Windows, psutil's view of the service control manager.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Dict, Iterator, List, Optional

MAX_OUTPUT = 1 << 20  # systemctl show prints a few KB; more is not systemd

_lock = threading.Lock()
_deadline_at: Optional[float] = None  # monotonic time the current run must end by
_hung = False  # systemctl hung once in this run: asking again would only wait again


@contextlib.contextmanager
def run_deadline(deadline_at: float) -> Iterator[None]:
    """Within this block no ``systemctl`` call outlives ``deadline_at`` (``time.monotonic``),
    and after one call hangs the others of the run are not made."""
    global _deadline_at, _hung
    with _lock:
        _deadline_at, _hung = deadline_at, False
    try:
        yield
    finally:
        with _lock:
            _deadline_at, _hung = None, False


def _budget(timeout: float) -> float:
    with _lock:
        if _hung:
            return 0.0
        if _deadline_at is None:
            return timeout
        return min(timeout, _deadline_at - time.monotonic())


def _mark_hung() -> None:
    global _hung
    with _lock:
        if _deadline_at is not None:
            _hung = True


def systemctl(args: List[str], timeout: float) -> Optional[str]:
    """``systemctl ARGS`` output, or None when systemd cannot be asked (also when it does not
    answer within ``timeout`` or the run's deadline: the whole process group is then killed)."""
    program = shutil.which("systemctl")
    if not program:
        return None
    budget = _budget(timeout)
    if budget < 0.05:
        return None
    posix = not sys.platform.startswith("win")
    try:
        proc = subprocess.Popen([program, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                start_new_session=posix)
    except OSError:
        return None
    try:
        out, _ = proc.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        _mark_hung()
        with contextlib.suppress(OSError):
            if posix:
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows only
                proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            proc.communicate(timeout=0.2)
        return None
    # A non-zero exit is "System has not been booted with systemd" and the like.
    if proc.returncode != 0:
        return None
    return out[:MAX_OUTPUT].decode("utf-8", "replace")


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
