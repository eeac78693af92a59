"""One system-log entry per changed check, for a scheduled run to leave a trail.

On Linux the entry goes to journald through its native socket, with structured fields: a stable
``MESSAGE_ID`` per check (a UUID derived from the check id), so ``journalctl MESSAGE_ID=...``
follows one endpoint across runs. Without journald it falls back to syslog (``/dev/log``). On
Windows it writes to the Application event log with ``eventcreate``. Failing to log is reported
as a warning; it never changes the result of the check.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from typing import List, Optional, Sequence

from .model import Change, Report
from .redact import redact

_NAMESPACE = uuid.UUID("7c2d3a5e-5f0b-4c58-9a59-2f4d5b1e9a10")
PRIORITY = {"new_failure": 3, "flapping": 4, "changed": 4, "new_check": 4, "gone": 6,
            "recovered": 6}


def message_id(check_id: str) -> str:
    """The same 32-hex-digit id for the same check, on every host and every run."""
    return uuid.uuid5(_NAMESPACE, check_id).hex


def _text(change: Change, report: Report) -> str:
    summary = next((r.summary for r in report.checks if r.id == change.id), "")
    text = (f"arc-preflight: {change.id} {change.before or 'absent'} -> "
            f"{change.after or 'absent'} ({change.kind})")
    if summary:
        text += f": {summary}"
    return redact(text).replace("\n", " ")


def _journal_fields(change: Change, report: Report) -> bytes:
    code = next((r.code for r in report.checks if r.id == change.id), None) or ""
    fields = {
        "MESSAGE": _text(change, report),
        "PRIORITY": str(PRIORITY.get(change.kind, 5)),
        "SYSLOG_IDENTIFIER": "arc-preflight",
        "MESSAGE_ID": message_id(change.id),
        "ARC_PREFLIGHT_CHECK": change.id,
        "ARC_PREFLIGHT_CHANGE": change.kind,
        "ARC_PREFLIGHT_STATUS": change.after or "absent",
        "ARC_PREFLIGHT_CODE": code,
    }
    return "".join(f"{k}={v}\n" for k, v in fields.items()).encode("utf-8")


def emit(changes: Sequence[Change], report: Report, journal_socket: str,
         syslog_socket: str = "/dev/log") -> Optional[str]:
    """Log every change; returns a warning to show when the log could not be written."""
    if not changes:
        return None
    if sys.platform.startswith("win"):  # pragma: no cover - Windows only
        return _eventlog(changes, report)
    if not os.path.exists(journal_socket) and not os.path.exists(syslog_socket):
        # Python's syslog() would drop every entry silently without /dev/log.
        return (f"neither journald ({journal_socket}) nor syslog ({syslog_socket}) is "
                f"available; {len(changes)} change(s) not logged")
    if os.path.exists(journal_socket):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                for change in changes:
                    sock.sendto(_journal_fields(change, report), journal_socket)
            return None
        except OSError as exc:
            return f"could not write to journald ({exc.strerror}); changes not logged"
    try:
        import syslog

        syslog.openlog("arc-preflight", 0, syslog.LOG_DAEMON)
        for change in changes:
            syslog.syslog(PRIORITY.get(change.kind, 5),
                          f"{_text(change, report)} [check_id={change.id} "
                          f"msgid={message_id(change.id)}]")
        syslog.closelog()
    except (ImportError, OSError) as exc:
        return f"could not write to syslog ({exc}); changes not logged"
    return None


def _eventlog(changes: Sequence[Change], report: Report) -> Optional[str]:  # pragma: no cover
    problems: List[str] = []
    for change in changes:
        kind = "ERROR" if PRIORITY.get(change.kind, 5) <= 3 else (
            "WARNING" if PRIORITY.get(change.kind, 5) == 4 else "INFORMATION")
        # eventcreate takes ids 1-1000: a stable one per check, from its message id.
        event_id = int(message_id(change.id)[:6], 16) % 1000 + 1
        try:
            subprocess.run(["eventcreate", "/T", kind, "/ID", str(event_id), "/L",
                            "APPLICATION", "/SO", "arc-preflight", "/D",
                            _text(change, report)[:30000]],
                           capture_output=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(str(exc))
    return f"could not write to the event log: {problems[0]}" if problems else None
