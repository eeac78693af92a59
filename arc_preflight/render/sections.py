"""Laying out the rows of a section (the host checks, the connect parameters, the endpoints)
within a width.

Three layouts, each a list of lines that never exceed the width:

* ``table``: one line per row under a header (a problem's reason may take a second line under
  the result column), the failure code always whole; passing rows say "ok" and a few facts when
  there is room. From 120 columns endpoints get a column per layer (dns, tcp, tls, https).
* ``list``: for narrow terminals and for files and pipes: a row's status and name on one line,
  the reason of a problem in full on indented lines below it; no column can shrink to nothing.
* ``verbose``: the list, with every layer's full result under each endpoint.

Lines are rich ``Text``; colour is only the status word's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, List, Sequence

from ..model import Status
from .fit import cells, cut_end, cut_keeping_tail, cut_middle, pad, without_asides
from .rows import LAYERS, Row
from .style import labelled

GRID_FROM = 120  # columns from which endpoints get one column per layer
STATUS_W = 6  # "status" (the header) is the widest word of the column
LAYER_W = 5  # "https" and "ERROR"
GAP = "  "
NAME_MIN = 16
RESULT_KEEP = 44


def _line(*parts: Any) -> Any:
    from rich.text import Text

    return Text.assemble(*parts)


def _status(status: Status, width: int = STATUS_W) -> Any:
    label, style = labelled(status)
    return (pad(label, width), style)


def _header(*columns: str) -> Any:
    return _line((GAP.join(columns).rstrip(), "bold"))


def _result_text(row: Row, width: int) -> str:
    """What the result column says, in ``width`` cells."""
    if row.status.is_problem:
        return cut_keeping_tail(row.reason, f"[{row.code}]" if row.code else "", width)
    if row.status == Status.PASS and row.reason == "ok":
        # As many of the facts as fit, most useful first; at least "ok".
        said = "ok"
        for fact in row.brief:
            longer = f"{said}, {fact}"
            if cells(longer) > width:
                break
            said = longer
        return said if cells(said) <= width else cut_end(said, width)
    return cut_end(row.reason, width)


def _problem_lines(row: Row, width: int) -> List[str]:
    """A problem's reason and code in the result column: one line when it fits (without its
    parenthetical asides if need be), else two, the second cut to keep the code whole."""
    tail = f"[{row.code}]" if row.code else ""
    one = cut_keeping_tail(row.reason, tail, width)
    if "…" not in one or width < 20:
        return [one]
    plain = without_asides(row.reason)
    words = plain.split()
    first = ""
    while words and cells(f"{first} {words[0]}".strip()) <= width:
        first = f"{first} {words.pop(0)}".strip()
    if not first or not words:
        return [one]
    return [first, cut_keeping_tail(" ".join(words), tail, width)]


def same_port(rows: Sequence[Row]) -> str:
    """The port every endpoint row shares (then the table leaves it out), or ""."""
    ports = {row.name.rsplit(":", 1)[-1] for row in rows if ":" in row.name}
    return ports.pop() if len(ports) == 1 and all(":" in row.name for row in rows) else ""


def table(title: str, rows: Sequence[Row], width: int, name_header: str) -> List[Any]:
    """One line per row: status, name (shortened in the middle), result. Endpoints that all
    use one port are named without it (the caller's title says which)."""
    port = same_port(rows) if name_header == "endpoint" else ""
    if port:
        rows = [replace(row, name=row.name[:-len(port) - 1]) for row in rows]
    grid = name_header == "endpoint" and width >= GRID_FROM
    fixed = (STATUS_W + len(GAP)) if not grid else len(LAYERS) * (LAYER_W + len(GAP))
    longest = max([cells(r.name) for r in rows] + [len(name_header)])
    # The result keeps what it needs up to 60% of the line (at 80 columns at least 44 cells: a
    # reason and its code); names take the rest, shortened in the middle if they must be.
    avail = width - fixed - len(GAP)
    need = max(cells(_result_text(row, 1000)) for row in rows) if rows else 0
    keep = min(need, max(RESULT_KEEP, avail * 3 // 5))
    name_w = min(longest, max(NAME_MIN, avail - keep))
    result_w = width - fixed - name_w - len(GAP)
    lines = [_line((title, "bold"))]
    if grid:
        lines.append(_header(pad(name_header, name_w), *(pad(k, LAYER_W) for k in LAYERS),
                             "result"))
    else:
        lines.append(_header(pad("status", STATUS_W), pad(name_header, name_w), "result"))
    for row in rows:
        name = pad(cut_middle(row.name, name_w), name_w)
        results = _problem_lines(row, result_w) if row.status.is_problem else \
            [_result_text(row, result_w)]
        result = results[0]
        if grid:
            cells_ = []
            for kind in LAYERS:
                state = row.layers.get(kind)
                cells_.append(_status(state, LAYER_W) if state else (pad("-", LAYER_W), "dim"))
                cells_.append(GAP)
            cells_ = cells_[:-1]
            lines.append(_line(name, GAP, *cells_, GAP, result))
        else:
            lines.append(_line(_status(row.status), GAP, name, GAP, result))
        # A reason that needs it continues under the result column.
        lines.extend(_line(" " * (width - result_w) + more) for more in results[1:])
    for line in lines:
        line.rstrip()
    return lines


def _wrapped(text: str, width: int, indent: int) -> List[Any]:
    from .prose import paragraph

    return paragraph([text], width, indent)


def listing(title: str, rows: Sequence[Row], width: int, verbose: bool = False) -> List[Any]:
    """Status and name on a line; a problem's full reason below; a passing row's facts on the
    same line when they fit."""
    indent = STATUS_W
    lines = [_line((title, "bold"))]
    for row in rows:
        label, style = labelled(row.status)
        head = _line((pad(label, STATUS_W), style), row.name)
        said = ", ".join(("ok", *row.brief)) if row.status == Status.PASS and row.brief \
            else row.reason
        reason = f"{said} [{row.code}]" if row.code else said
        same_line = not row.status.is_problem and not verbose and \
            cells(head.plain) + 2 + cells(reason) <= width
        if same_line:
            head.append(f"  {reason}")
        lines.append(head)
        if verbose:
            for label_, result in row.details:
                word = result.status.label
                detail = " ".join(result.summary.split())
                if result.code:
                    detail += f" [{result.code}]"
                text = f"{label_} {word}: {detail}" if label_ in LAYERS else detail
                lines.extend(_wrapped(_redacted(text), width, indent))
        elif not same_line:
            lines.extend(_wrapped(reason, width, indent))
    return lines


def _redacted(text: str) -> str:
    from ..redact import redact

    return redact(text)
