"""The fleet roll-up as Markdown, for a ticket or a chat: the same sections as the table."""

from __future__ import annotations

from typing import Any, List

from ..fleet.model import Fleet, status_counts
from ..model import Status
from .fleet_table import names

GRID_MAX_HOSTS = 8


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell (pipes escaped; markup characters neutralised)."""
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in ("`", "*", "_", "[", "]", "<", ">"):
        out = out.replace(ch, "\\" + ch)
    return out


def _status(status: Status) -> str:
    return f"**{status.label}**" if status.is_problem or status == Status.UNKNOWN \
        else status.label


def render(fleet: Fleet, **_: Any) -> str:
    counts = ", ".join(f"{n} {s.label}" for s, n in status_counts(fleet.hosts)) or "no hosts"
    lines: List[str] = [
        f"## arc-preflight fleet report: {fleet.status.label}",
        "",
        f"- {len(fleet.hosts)} hosts ({counts}); {fleet.inputs} reports read",
        f"- newest report {fleet.newest or 'unknown'}; exit code {fleet.exit_code}",
        "",
        "### Hosts by status",
        "",
        "| status | hosts | which |",
        "| --- | ---: | --- |",
    ]
    for status, hosts in fleet.by_status():
        which = names(h.hostname + (" (stale)" if h.stale else "") for h in hosts)
        lines.append(f"| {_status(status)} | {len(hosts)} | {cell(which)} |")
    lines.append("")
    if fleet.causes:
        lines.extend(["### Causes, by hosts hit", "", "| # | severity | cause | hosts | which |",
                      "| ---: | --- | --- | ---: | --- |"])
        for rank, rolled in enumerate(fleet.causes, 1):
            cause = rolled.cause
            url = cause.docs[0] if cause.docs else ""
            safe = url.startswith("https://") and not any(c in url for c in " ()<>[]`")
            link = f" ([docs]({url}))" if safe else ""
            lines.append(f"| {rank} | {_status(Status(rolled.severity))} | {cell(cause.title)} "
                         f"`{cell(cause.cause_id)}`{link} | {len(rolled.hosts)} | "
                         f"{cell(names(rolled.hosts))} |")
        lines.append("")
        lines.extend(["### Fixes", ""])
        for rolled in fleet.causes:
            cause = rolled.cause
            lines.append(f"- **{cell(cause.title)}**: " + " ".join(
                f"{n}. {cell(step)}" for n, step in enumerate(cause.remedy, 1)))
        lines.append("")
    else:
        lines.extend(["No diagnosis on any host.", ""])
    if fleet.endpoints:
        lines.extend(_endpoints(fleet))
    if fleet.problems:
        lines.extend(["### Reports not rolled up as they are", "",
                      "| why | report | host | details |", "| --- | --- | --- | --- |"])
        lines.extend(f"| {p.kind} | {cell(p.source)} | {cell(p.hostname or '-')} | "
                     f"{cell(p.reason)} |" for p in fleet.problems)
        lines.append("")
    return "\n".join(lines)


def _endpoints(fleet: Fleet) -> List[str]:
    hosts = sorted({c.hostname for e in fleet.endpoints for c in e.cells}, key=str.casefold)
    if len(hosts) <= GRID_MAX_HOSTS:
        lines = ["### Endpoint failures by host", "",
                 "| endpoint | " + " | ".join(cell(h) for h in hosts) + " |",
                 "| --- |" + " --- |" * len(hosts)]
        for rolled in fleet.endpoints:
            by_host = {c.hostname: c for c in rolled.cells}
            cells = [cell(by_host[h].code or by_host[h].status.label) if h in by_host else "-"
                     for h in hosts]
            lines.append(f"| {cell(rolled.endpoint)} | " + " | ".join(cells) + " |")
        return [*lines, ""]
    lines = ["### Endpoint failures", "", "| endpoint | hosts | codes (hosts) | which |",
             "| --- | ---: | --- | --- |"]
    for rolled in fleet.endpoints:
        codes = ", ".join(f"{code} ({n})" for code, n in rolled.codes())
        lines.append(f"| {cell(rolled.endpoint)} | {len(rolled.cells)} | {cell(codes)} | "
                     f"{cell(names(c.hostname for c in rolled.cells))} |")
    return [*lines, ""]
