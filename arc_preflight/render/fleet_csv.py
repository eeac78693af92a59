"""The fleet as CSV: one row per host and check, the layout fleet tools such as gcpdiag use.

RFC 4180 (comma, double quotes doubled, CRLF line ends) with a header row, so a spreadsheet,
``Import-Csv`` or a Log Analytics custom table loads it as is. A report that could not be
rolled up still gets a row (check ``report``, its path in ``message``), so nothing goes missing
between the files read and the sheet. Every cell that a spreadsheet would take for a formula
(starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``: a
host name or message from an untrusted report must never run as a formula.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator, List, Optional

from ..fleet.model import Fleet

COLUMNS = ("host", "check_id", "probe", "target", "status", "code", "message", "cause_id",
           "cause", "doc_link", "report_started_at")
_FORMULA_START = frozenset("=+-@\t\r")
# What a report that was not rolled up as it is shows as its status.
_INPUT_STATUS = {"unreadable": "unknown", "schema": "unknown", "stale": "unknown",
                 "duplicate": "skip"}


def cell(value: Optional[Any]) -> str:
    """A value as a CSV cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text and text[0] in _FORMULA_START else text


def rows(fleet: Fleet) -> Iterator[List[str]]:
    """The data rows, every cell already made safe, in COLUMNS order."""
    causes = {}
    for rolled in fleet.causes:
        cause = rolled.cause
        causes[cause.cause_id] = (cell(cause.cause_id), cell(cause.title),
                                  cell(cause.docs[0]) if cause.docs else "")
    no_cause = ("", "", "")
    for host in fleet.hosts:
        name, started = cell(host.hostname), cell(host.started_at)
        for check in host.checks or host.problems:
            cause_cells = causes.get(check.cause_id, no_cause) if check.cause_id else no_cause
            yield [name, cell(check.id), cell(check.probe), cell(check.target),
                   check.status.value, cell(check.code), cell(check.summary), *cause_cells,
                   started]
    for problem in fleet.problems:
        yield [cell(problem.hostname), "report", "", "",
               _INPUT_STATUS.get(problem.kind, "unknown"), f"report.{problem.kind}",
               cell(f"{problem.source}: {problem.reason}"), "", "", "", ""]


def render(fleet: Fleet, **_: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    writer.writerows(rows(fleet))
    return buffer.getvalue()
