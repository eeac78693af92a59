"""The CSV roll-up's row: its columns, the cells made safe, and their text as CSV.

The reader and the renderer both need it. A fleet's CSV is one row per host and check (600,000
rows for 10,000 hosts), and most of a row is the check's own columns, which many hosts share.
So the reader encodes those columns once per distinct check, in the worker processes, and the
renderer only joins the host's cells to them. Both go through :func:`encode`, which is the
standard library's writer itself (the same dialect as a whole-file ``csv.writer``), so a row
joined from pieces is byte for byte the row that writer would have written.

Every cell that a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is prefixed with ``'``: a host name or message from an
untrusted report must never run as a formula.
"""

from __future__ import annotations

import csv
from typing import Any, Optional, Sequence

COLUMNS = ("host", "check_id", "probe", "target", "status", "code", "message", "cause_id",
           "cause", "doc_link", "report_started_at")
LINE_END = "\r\n"  # RFC 4180
NO_CAUSE = ",,"  # the three cause columns, empty
_FORMULA_START = frozenset("=+-@\t\r")


class _Returned:
    """A "file" whose ``write`` hands the line back: ``csv.writer.writerow`` returns what the
    file's ``write`` returned, so the writer encodes a row without a buffer to empty."""

    write = str


# The line end must be the file's own: the writer quotes a cell holding any of its characters.
_WRITEROW = csv.writer(_Returned(), lineterminator=LINE_END, quoting=csv.QUOTE_MINIMAL).writerow


def cell(value: Optional[Any]) -> str:
    """A value as a CSV cell that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text and text[0] in _FORMULA_START else text


def encode(cells: Sequence[str]) -> str:
    """``cells`` as CSV text, comma-separated, without the line end: what ``csv.writer`` writes
    for them inside a longer row. (Alone on a line, one empty cell is written ``""``; inside a
    row it is nothing, and that is what this returns.)"""
    if len(cells) == 1 and not cells[0]:
        return ""
    line: str = _WRITEROW(cells)
    return line[:-len(LINE_END)]


def check_head(check_id: str, probe: str, target: str, status: str, code: Optional[str]) -> str:
    """The columns ``check_id`` to ``code``, encoded: what hosts share for one check."""
    return encode((cell(check_id), cell(probe), cell(target), status, cell(code)))


def message(summary: str) -> str:
    """The ``message`` column, encoded: what differs from host to host."""
    return encode((cell(summary),))


def cause_cells(cause_id: str, title: str, doc: Optional[str]) -> str:
    """The columns ``cause_id``, ``cause`` and ``doc_link``, encoded."""
    return encode((cell(cause_id), cell(title), cell(doc) if doc else ""))
