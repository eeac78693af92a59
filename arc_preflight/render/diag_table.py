"""Terminal output of ``diagnose`` and ``explain``.

Rendered to a string by rich with an in-memory console, like ``render/table.py``, so it stays a
pure function of its input and the same text can go to a file with ``--output``. Every excerpt
taken from a log was redacted when it was cut (``redact.excerpt``); titles and remedies come
from the knowledge base.
"""

from __future__ import annotations

import io
from typing import Any, Sequence, Tuple

from ..kb import KnowledgeBase, remedy_for
from ..model import Cause, Diagnosis, Explanation, LogDiagnosis, LogReport, Status
from ..redact import redact
from .prose import links, remedy_step
from .style import labelled


def _console(buffer: io.StringIO, color: bool, width: int) -> Any:
    from rich.console import Console

    return Console(file=buffer, width=width, force_terminal=color,
                   color_system="standard" if color else None, no_color=not color,
                   highlight=False, soft_wrap=False, emoji=False, markup=False)


def _text(*parts: Any) -> Any:
    from rich.text import Text

    return Text.assemble(*parts)


def _para(console: Any, indent: int, *parts: Any) -> None:
    """One paragraph of (text, style) parts, wrapped to the console width; wrapped lines keep
    the indent and carry no trailing spaces."""
    import textwrap

    from rich.text import Text

    pieces = [(p, "") if isinstance(p, str) else (p[0], p[1]) for p in parts]
    plain = "".join(text for text, _ in pieces)
    lines = textwrap.wrap(plain, width=max(20, console.width - indent), break_on_hyphens=False,
                          replace_whitespace=False, drop_whitespace=True) or [""]
    # Style the leading parts (labels) where they fall on the first line.
    offset = 0
    spans = []
    for text, style in pieces:
        if style:
            spans.append((offset, offset + len(text), style))
        offset += len(text)
    position = 0
    for line in lines:
        start = plain.find(line, position)
        position = start + len(line) if start >= 0 else position
        out = Text(" " * indent + line)
        if start >= 0:
            for lo, hi, style in spans:
                a, b = max(lo, start), min(hi, start + len(line))
                if a < b:
                    out.stylize(style, indent + a - start, indent + b - start)
        console.print(out, soft_wrap=True)


def _cause_block(console: Any, number: int, severity: str, title: str, category: str,
                 azcm: Sequence[str], explanation: str, evidence: Sequence[Tuple[int, str]],
                 more: int, remedy: Sequence[str], docs: Sequence[str]) -> None:
    label, style = labelled(Status(severity))
    console.print()
    _para(console, 0, (f"{number}. " if number else "", ""), (f"{label}  ", style),
          (title, "bold"))
    _para(console, 3, (f"[{category}]", "dim"), (f"  {', '.join(azcm)}" if azcm else "", "bold"))
    _para(console, 3, explanation)
    if evidence:
        _para(console, 3, ("Evidence:", "bold"))
        for line_no, text in evidence:
            _para(console, 5, (f"L{line_no}: ", "dim"), text)
        if more > 0:
            _para(console, 5, (f"... and {more:,} more line(s)", "dim"))
    _para(console, 3, ("Fix:", "bold"))
    # Commands whole on their own lines and links unbroken, so both can be copied.
    for step_no, step in enumerate(remedy, 1):
        for line in remedy_step(step_no, step, console.width, 5):
            console.print(line, soft_wrap=True)
    for line in links(list(docs[:3]), console.width, 3):
        console.print(line, soft_wrap=True)


def _diagnosis_block(console: Any, number: int, item: LogDiagnosis) -> None:
    diag: Diagnosis = item.diagnosis
    evidence = diag.log_evidence()
    more = item.occurrences - len(evidence)
    _cause_block(console, number, diag.severity, diag.title, diag.category, diag.azcm,
                 diag.explanation, evidence, more, diag.remedy, diag.docs)
    if more > 0 and item.last_line not in diag.lines:
        _para(console, 5, (f"(last seen on line {item.last_line:,})", "dim"))


def render_report(report: LogReport, color: bool = False, width: int = 110) -> str:
    """The ``diagnose`` report for people."""
    buffer = io.StringIO()
    console = _console(buffer, color, width)
    gz = " (gzip)" if report.compressed else ""
    shown = "standard input" if report.path == "-" else redact(report.path)
    console.print(_text(("arc-preflight diagnose: ", "bold"), (shown + gz, "bold"),
                        f"; {report.lines_read:,} lines read"))
    console.print(_text(("Scope: ", "bold"), report.scope_text))
    for warning in report.warnings:
        console.print(_text(("warning: ", "yellow"), redact(warning)))
    for note in report.notes:
        console.print(_text(("note: ", "dim"), redact(note)))
    if not report.diagnoses:
        console.print()
        if report.status == Status.UNKNOWN:
            console.print(_text(("No known error found in the part that could be read", "yellow"),
                                f" ({report.lines_read:,} lines); exit code 3."))
            return buffer.getvalue()
        console.print(_text(("No known error found", "green"),
                            f" in {report.lines_read:,} lines" + (
                                " (in scope)" if report.scope == "latest_attempt" else "")
                            + "."))
        console.print(_text(("If the agent still fails, run arc-preflight check with the same "
                             "flags as azcmagent connect.", "dim")))
        return buffer.getvalue()
    for number, item in enumerate(report.diagnoses, 1):
        _diagnosis_block(console, number, item)
    fails = sum(1 for d in report.diagnoses if d.diagnosis.severity == "fail")
    warns = len(report.diagnoses) - fails
    label, style = labelled(report.status)
    console.print()
    console.print(_text(("Result: ", "bold"), (label, style),
                        f" - {fails} failure cause(s), {warns} warning(s); "
                        f"exit code {report.exit_code}"))
    return buffer.getvalue()


def _cause_entry(console: Any, number: int, cause: Cause, platform: str,
                 kb: KnowledgeBase) -> None:
    _cause_block(console, number, cause.severity, cause.title, cause.category, cause.azcm,
                 cause.explanation, (), 0, remedy_for(cause, platform), cause.docs)
    facts = [f"id {cause.id}"]
    if cause.probe_codes:
        facts.append("probe codes " + ", ".join(cause.probe_codes))
    _para(console, 3, ("; ".join(facts), "dim"))
    if cause.notes:
        _para(console, 3, ("Note: ", "bold"), cause.notes)


def render_explain(result: Explanation, kb: KnowledgeBase, platform: str, color: bool = False,
                   width: int = 110) -> str:
    """One or more knowledge-base entries, as found by ``explain``."""
    buffer = io.StringIO()
    console = _console(buffer, color, width)
    if result.matched_by == "success":
        console.print(_text((f"{result.code}", "bold"),
                            " (exit code 0) means success: the command worked."))
        return buffer.getvalue()
    how = {
        "azcm": f"{result.code} (agent exit code {int(result.code[4:])})" if result.code else "",
        "cause_id": f"cause {result.causes[0].id}" if result.causes else "",
        "probe_code": f"probe failure code {result.query.strip()}",
        "category": f"category {result.query.strip().lower()}",
        "text": "the text given, classified as diagnose would",
    }[result.matched_by]
    console.print(_text(("arc-preflight explain: ", "bold"), how,
                        f" - {len(result.causes)} entr{'y' if len(result.causes) == 1 else 'ies'}"))
    if result.matched_by == "azcm" and len(result.causes) > 1:
        console.print(_text(("The agent uses this code for more than one cause; the message "
                             "next to it tells which.", "dim")))
    if result.text_report is not None:
        items = [d for d in result.text_report.diagnoses
                 if d.diagnosis.category != "unknown"]
        for number, item in enumerate(items, 1):
            _diagnosis_block(console, number, item)
        return buffer.getvalue()
    for number, cause in enumerate(result.causes, 1):
        _cause_entry(console, number if len(result.causes) > 1 else 0, cause, platform, kb)
    return buffer.getvalue()


def render_list(kb: KnowledgeBase, color: bool = False, width: int = 110) -> str:
    """Every knowledge-base entry: id, category, severity, AZCM codes, then its title."""
    buffer = io.StringIO()
    console = _console(buffer, color, width)
    for cause in kb.causes:
        label, style = labelled(Status(cause.severity))
        codes = f"  {', '.join(cause.azcm)}" if cause.azcm else ""
        _para(console, 0, (cause.id, "bold"), (f"  [{cause.category}]", "dim"),
              (f"  {label}", style), (codes, "bold"))
        _para(console, 4, cause.title)
    console.print()
    _para(console, 0, (f"{len(kb.causes)} entries. arc-preflight explain ID|CODE|TEXT shows one "
                       "of them.", "dim"))
    return buffer.getvalue()
