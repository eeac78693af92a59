"""The fleet roll-up for a terminal: hosts by status, causes by hosts hit, endpoint failures,
and every report that was not rolled up as it is.

Rendered by rich into a string, like ``render/table.py``; colour only repeats the status word.
"""

from __future__ import annotations

import io
from typing import Any, Iterable, List

from ..fleet.model import Fleet, status_counts
from ..model import Status
from .style import labelled

GRID_MAX_HOSTS = 6  # endpoint x host columns up to this many hosts; a list beyond
NAMES_SHOWN = 12


def names(items: Iterable[str], limit: int = NAMES_SHOWN) -> str:
    found: List[str] = list(items)
    more = f" and {len(found) - limit} more" if len(found) > limit else ""
    return ", ".join(found[:limit]) + more


def _badge(status: Status, text: str = "") -> Any:
    from rich.text import Text

    label, style = labelled(status)
    return Text(text or label, style=style)


def render(fleet: Fleet, color: bool = False, width: int = 110, **_: Any) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system=(
        "standard" if color else None), no_color=not color, highlight=False, soft_wrap=False,
        emoji=False, markup=False)

    def new_table(title: str) -> Any:
        return Table(title=title, title_justify="left", header_style="bold", pad_edge=False)

    counts = ", ".join(f"{n} {s.label}" for s, n in status_counts(fleet.hosts)) or "no hosts"
    console.print(Text(f"arc-preflight fleet report: {len(fleet.hosts)} hosts ({counts})",
                       style="bold"))
    console.print(Text(f"{fleet.inputs} reports read; newest {fleet.newest or 'unknown'}; "
                       f"stale after {fleet.stale_after_s / 3600:g} h"
                       if fleet.stale_after_s > 0 else
                       f"{fleet.inputs} reports read; newest {fleet.newest or 'unknown'}"))

    table = new_table("Hosts by status")
    table.add_column("status", no_wrap=True)
    table.add_column("hosts", justify="right", no_wrap=True)
    table.add_column("which", ratio=1, overflow="fold")
    for status, hosts in fleet.by_status():
        table.add_row(_badge(status), str(len(hosts)),
                      Text(names(h.hostname + (" (stale)" if h.stale else "") for h in hosts)))
    console.print(table)

    if fleet.causes:
        table = new_table("Causes, by hosts hit")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("sev", no_wrap=True)
        table.add_column("cause", ratio=3, overflow="fold")
        table.add_column("hosts", justify="right", no_wrap=True)
        table.add_column("which", ratio=2, overflow="fold")
        for rank, rolled in enumerate(fleet.causes, 1):
            cause = rolled.cause
            table.add_row(str(rank), _badge(Status(rolled.severity)),
                          Text.assemble(cause.title, (f" [{cause.cause_id}]", "dim")),
                          str(len(rolled.hosts)), Text(names(rolled.hosts)))
        console.print(table)
    else:
        console.print(Text("No diagnosis on any host."))

    if fleet.endpoints:
        console.print(_endpoints(fleet, new_table, width))

    if fleet.problems:
        table = new_table("Reports not rolled up as they are")
        table.add_column("why", no_wrap=True)
        table.add_column("report", ratio=1, overflow="fold")
        table.add_column("host", overflow="fold")
        table.add_column("details", ratio=2, overflow="fold")
        for problem in fleet.problems:
            table.add_row(problem.kind, Text(problem.source), Text(problem.hostname or "-"),
                          Text(problem.reason))
        console.print(table)

    console.print()
    console.print(Text.assemble(("Result: ", "bold"), _badge(fleet.status),
                                f" - worst host's verdict; exit code {fleet.exit_code}"))
    return buffer.getvalue()


def _endpoints(fleet: Fleet, new_table: Any, width: int) -> Any:
    from rich.text import Text

    hosts = sorted({c.hostname for e in fleet.endpoints for c in e.cells}, key=str.casefold)
    widths = {h: len(h) for h in hosts}
    for rolled in fleet.endpoints:
        for c in rolled.cells:
            widths[c.hostname] = max(widths[c.hostname], len(c.code or c.status.label))
    needed = max(len(e.endpoint) for e in fleet.endpoints) + sum(w + 3 for w in widths.values())
    if len(hosts) <= GRID_MAX_HOSTS and needed + 2 <= width:
        table = new_table("Endpoint failures by host (first failing layer's code)")
        table.add_column("endpoint", no_wrap=True)
        for name in hosts:
            table.add_column(name, no_wrap=True)
        for rolled in fleet.endpoints:
            by_host = {c.hostname: c for c in rolled.cells}
            cells = [_badge(by_host[h].status, by_host[h].code or "") if h in by_host
                     else Text("-", style="dim") for h in hosts]
            table.add_row(Text(rolled.endpoint), *cells)
        return table
    table = new_table("Endpoint failures")
    table.add_column("endpoint", overflow="fold")
    table.add_column("hosts", justify="right", no_wrap=True)
    table.add_column("codes (hosts)", overflow="fold")
    table.add_column("which", ratio=1, overflow="fold")
    for rolled in fleet.endpoints:
        codes = ", ".join(f"{code} ({n})" for code, n in rolled.codes())
        table.add_row(Text(rolled.endpoint), str(len(rolled.cells)), Text(codes),
                      Text(names(c.hostname for c in rolled.cells)))
    return table
