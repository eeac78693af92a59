"""The fleet as CSV: one row per host and check, the layout fleet tools such as gcpdiag use.

RFC 4180 (comma, double quotes doubled, CRLF line ends) with a header row, so a spreadsheet,
``Import-Csv`` or a Log Analytics custom table loads it as is. A report that could not be
rolled up still gets a row (check ``report``), so nothing goes missing between the files read
and the sheet. Every cell that a spreadsheet would take for a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``: a host name or message
from an untrusted report must never run as a formula.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Dict, Iterable, Optional

from ..fleet.model import Fleet

COLUMNS = ("host", "check_id", "probe", "target", "status", "code", "message", "cause_id",
           "cause", "doc_link", "report_started_at", "report")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# What a report that was not rolled up as it is shows as its status.
_INPUT_STATUS = {"unreadable": "unknown", "schema": "unknown", "stale": "unknown",
                 "duplicate": "skip"}


def cell(value: Optional[Any]) -> str:
    """A value as a CSV cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rows(fleet: Fleet) -> Iterable[Dict[str, str]]:
    causes = {c.cause.cause_id: c.cause for c in fleet.causes}
    for host in fleet.hosts:
        checks = host.checks or host.problems
        for check in checks:
            cause = causes.get(check.cause_id) if check.cause_id else None
            yield {"host": host.hostname, "check_id": check.id, "probe": check.probe,
                   "target": check.target, "status": check.status.value,
                   "code": check.code or "", "message": check.summary,
                   "cause_id": check.cause_id or "", "cause": cause.title if cause else "",
                   "doc_link": cause.docs[0] if cause and cause.docs else "",
                   "report_started_at": host.started_at, "report": host.source}
    for problem in fleet.problems:
        yield {"host": problem.hostname or "", "check_id": "report", "probe": "", "target": "",
               "status": _INPUT_STATUS.get(problem.kind, "unknown"),
               "code": f"report.{problem.kind}",
               "message": problem.reason, "cause_id": "", "cause": "", "doc_link": "",
               "report_started_at": "", "report": problem.source}


def render(fleet: Fleet, **_: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for row in rows(fleet):
        writer.writerow([cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()
