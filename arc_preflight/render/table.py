"""The terminal report: the checks, what is wrong and how to fix it, and a closing verdict.

A pure function of the report: the CLI says how wide the terminal is and whether it is one, and
this module lays the report out for it (``sections``): at 80 columns and wider a table with one
line per check, problems first, every line within the width; narrower, or into a file or pipe,
a list whose reasons wrap instead of being cut. ``verbose`` lists every layer's full result.
Colour (rich styles, only when asked) repeats the status words, never replaces them.
"""

from __future__ import annotations

import io
from typing import Any, List, Sequence

from ..model import Diagnosis, Report
from ..redact import redact
from . import prose, rows, sections
from .style import labelled

MIN_TABLE_WIDTH = 80
EVIDENCE_SHOWN = 8
PROSE_MAX = 100  # diagnoses read better in lines no longer than this, however wide the screen


def _console(buffer: io.StringIO, color: bool, width: int) -> Any:
    from rich.console import Console

    return Console(file=buffer, width=width, force_terminal=color,
                   color_system="standard" if color else None, no_color=not color,
                   highlight=False, soft_wrap=True, emoji=False, markup=False)


def _header(report: Report, width: int) -> List[Any]:
    settings = report.settings
    proxy = settings.get("proxy_effective", {}) or {}
    proxy_url = redact(str(proxy.get("url") or "none"))
    source = f" ({proxy.get('source')})" if proxy.get("source") else ""
    title = (f"arc-preflight {report.tool_version} on {redact(report.host.hostname)} "
             f"({redact(report.host.os)})")
    where = (f"cloud {settings.get('cloud')}, location {settings.get('location') or 'not given'}"
             f", proxy {proxy_url}{source}")
    return [*prose.paragraph([(title, "bold")], width, 0, 2),
            *prose.paragraph([where], width, 0, 2)]


def _diagnosis(number: int, diag: Diagnosis, width: int) -> List[Any]:
    label, style = labelled(diag.status)
    codes = f"  {', '.join(diag.azcm)}" if diag.azcm else ""
    lines = [*prose.paragraph([f"{number}.", (label, style), (diag.title, "bold")], width, 0, 3),
             # The cause id is what `arc-preflight explain` looks up (the category works too).
             *prose.paragraph([(f"[{diag.category}] {diag.cause_id}{codes}", "dim")], width, 3),
             *prose.paragraph([redact(diag.explanation)], width, 3),
             *prose.paragraph([("Evidence:", "bold")], width, 3)]
    for line in diag.evidence[:EVIDENCE_SHOWN]:
        lines.extend(prose.paragraph([f"- {redact(line)}"], width, 5, 7))
    if len(diag.evidence) > EVIDENCE_SHOWN:
        lines.extend(prose.paragraph([f"... and {len(diag.evidence) - EVIDENCE_SHOWN} more"],
                                     width, 5))
    lines.extend(prose.paragraph([("Fix:", "bold")], width, 3))
    for step_no, step in enumerate(diag.remedy, 1):
        lines.extend(prose.remedy_step(step_no, redact(step), width, 5))
    lines.extend(prose.links(list(diag.docs[:3]), width, 3))
    return lines


def _numbers(count: int) -> str:
    if count == 1:
        return "diagnosis 1"
    if count == 2:
        return "diagnoses 1 and 2"
    return f"diagnoses 1-{count}"


def _closing(report: Report, width: int) -> List[Any]:
    tally = rows.counts(report)
    problems = tally["failed"] + tally["warnings"]
    checks = (f"{len(report.checks)} checks: {tally['failed']} failed, {tally['warnings']} "
              f"warning(s), {tally['passed']} passed, {tally['skipped']} skipped in "
              f"{report.duration_s:.2f} s")
    label, style = labelled(report.status)
    if report.diagnoses:
        problem_word = "problem" if problems == 1 else "problems"
        said = f"{problems} {problem_word}; read {_numbers(len(report.diagnoses))} above"
        if not problems:
            said = f"read {_numbers(len(report.diagnoses))} above"
    elif problems:
        said = f"{problems} {'problem' if problems == 1 else 'problems'}; see the rows above"
    else:
        said = "no problems"
    return [*prose.paragraph([checks], width),
            *prose.paragraph([("Result:", "bold"), (label, style),
                              f"- {said}; exit code {report.exit_code}"], width)]


def render(report: Report, color: bool = False, width: int = MIN_TABLE_WIDTH, *,
           terminal: bool = True, verbose: bool = False, **_: Any) -> str:
    """The report for people. ``terminal`` says the text goes to a terminal ``width`` columns
    wide; otherwise (a file, a pipe) it is laid out as a list."""
    buffer = io.StringIO()
    console = _console(buffer, color, width)
    as_table = terminal and not verbose and width >= MIN_TABLE_WIDTH
    blocks: List[Sequence[Any]] = [_header(report, width)]
    for title, kinds, name in (("This host", rows.HOST_KINDS, "check"),
                               ("Connect parameters and credentials", rows.CONNECT_KINDS,
                                "check")):
        found = rows.host_rows(report, kinds)
        if found:
            blocks.append(_section(title, found, width, name, as_table, verbose))
    endpoints = rows.endpoint_rows(report)
    if endpoints:
        blocks.append(_section("Endpoints", endpoints, width, "endpoint", as_table, verbose))
    for number, diag in enumerate(report.diagnoses, 1):
        blocks.append(_diagnosis(number, diag, min(width, PROSE_MAX)))
    blocks.append(_closing(report, width))
    for index, block in enumerate(blocks):
        if index:
            console.print()
        for line in block:
            console.print(line)
    return buffer.getvalue()


def _section(title: str, found: List[rows.Row], width: int, name: str, as_table: bool,
             verbose: bool) -> List[Any]:
    problems = sum(1 for row in found if row.status.is_problem)
    problem_word = "problem" if problems == 1 else "problems"
    heading = f"{title} ({len(found)}; {problems} {problem_word}, shown first)" if problems \
        else f"{title} ({len(found)})"
    if as_table:
        port = sections.same_port(found) if name == "endpoint" else ""
        if port:
            heading = heading.replace(title, f"{title} on port {port}", 1)
        return sections.table(heading, found, width, name)
    return sections.listing(heading, found, width, verbose)
