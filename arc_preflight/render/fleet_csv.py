"""The fleet as CSV: one row per host and check, the layout fleet tools such as gcpdiag use.

RFC 4180 (comma, double quotes doubled, CRLF line ends) with a header row, so a spreadsheet,
``Import-Csv`` or a Log Analytics custom table loads it as is. A report that could not be
rolled up still gets a row (check ``report``, its path in ``message``), so nothing goes missing
between the files read and the sheet. No cell can run as a formula (see
:mod:`arc_preflight.fleet.csvrow`, which owns the row's layout and encoding).

The text comes in pieces of about a megabyte (:func:`chunks`): 10,000 hosts make 600,000 rows
and 104 MB, which the command writes as they come instead of holding them all. The reader has
encoded each check's own columns already; here a host's rows are its name, its start time and
the causes joined to them, one ``str.join`` per host.
"""

from __future__ import annotations

from itertools import chain, repeat
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from ..fleet.csvrow import (
    COLUMNS,
    LINE_END,
    NO_CAUSE,
    cause_cells,
    cell,
    check_head,
    encode,
    message,
)
from ..fleet.model import Fleet, HostReport

__all__ = ["COLUMNS", "cell", "chunks", "render"]

CHUNK = 1 << 20  # characters per piece written
# What a report that was not rolled up as it is shows as its status.
_INPUT_STATUS = {"unreadable": "unknown", "schema": "unknown", "stale": "unknown",
                 "duplicate": "skip"}


def render(fleet: Fleet, **_: Any) -> str:
    """The whole CSV as one string (for tests and small fleets; the command streams it)."""
    return "".join(chunks(fleet))


def chunks(fleet: Fleet, size: int = CHUNK) -> Iterator[str]:
    """The CSV in pieces of at least ``size`` characters (the last may be shorter), each made of
    whole rows."""
    causes: Dict[str, str] = {}
    for rolled in fleet.causes:
        cause = rolled.cause
        causes[cause.cause_id] = cause_cells(cause.cause_id, cause.title,
                                             cause.docs[0] if cause.docs else None)
    pending: List[str] = [encode(COLUMNS) + LINE_END]
    held = 0
    for host in fleet.hosts:
        text = _host_rows(host, causes)
        pending.append(text)
        held += len(text)
        if held >= size:
            yield "".join(pending)
            pending, held = [], 0
    for problem in fleet.problems:
        pending.append(encode((
            cell(problem.hostname), "report", "", "", _INPUT_STATUS.get(problem.kind, "unknown"),
            f"report.{problem.kind}", cell(f"{problem.source}: {problem.reason}"), "", "", "",
            "")) + LINE_END)
    if pending:
        yield "".join(pending)


def _host_rows(host: HostReport, causes: Dict[str, str]) -> str:
    """Every row of one host: every check when the reader kept them (``--format csv``), else
    the checks with a problem. The pieces of all its rows are joined at once."""
    heads: Sequence[str] = host.csv_heads
    messages: Sequence[str] = host.csv_messages
    linked: Sequence[Optional[str]] = host.csv_causes
    if not heads:
        heads = [check_head(c.id, c.probe, c.target, c.status.value, c.code)
                 for c in host.problems]
        messages = [message(c.summary) for c in host.problems]
        linked = [c.cause_id for c in host.problems]
    if not heads:
        return ""
    started = f",{encode((cell(host.started_at),))}{LINE_END}"
    tails: Iterable[str] = repeat(f",{NO_CAUSE}{started}")
    if any(linked):
        tails = [f",{causes.get(cause, NO_CAUSE) if cause else NO_CAUSE}{started}"
                 for cause in linked]
    # host,check_id...code,message,cause_id,cause,doc_link,report_started_at
    pieces = zip(repeat(encode((cell(host.hostname),)) + ","), heads, repeat(","), messages,
                 tails)
    return "".join(chain.from_iterable(pieces))
