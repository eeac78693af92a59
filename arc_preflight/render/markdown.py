"""Markdown for tickets and chat: the verdict, the diagnoses with their fixes, then every check."""

from __future__ import annotations

from typing import Any, List

from ..model import Report, Status
from ..redact import redact


def _badge(status: Status) -> str:
    """The status word, in bold where there is something to read."""
    return f"**{status.label}**" if status.is_problem else status.label


def _cell(text: str) -> str:
    return redact(text).replace("|", "\\|").replace("\n", " ")


def render(report: Report, **_: Any) -> str:
    settings = report.settings
    lines: List[str] = [
        f"## arc-preflight: {report.status.value.upper()} on {report.host.hostname}",
        "",
        f"- tool {report.tool_version}, {report.host.os}, Python {report.host.python}, "
        f"{'elevated' if report.host.elevated else 'not elevated'}",
        f"- cloud {settings.get('cloud')}, location {settings.get('location') or 'not given'}",
        f"- started {report.started_at}, took {report.duration_s:.2f} s, exit code "
        f"{report.exit_code}",
        "",
    ]
    if report.diagnoses:
        lines.append("### What is wrong")
        lines.append("")
        for number, diag in enumerate(report.diagnoses, 1):
            codes = f" ({', '.join(diag.azcm)})" if diag.azcm else ""
            lines.append(f"{number}. **{_cell(diag.title)}** `{diag.category}`{codes}")
            lines.append(f"   {_cell(diag.explanation)}")
            lines.append("   Evidence:")
            lines.extend(f"   - `{_cell(item)}`" for item in diag.evidence[:10])
            lines.append("   Fix:")
            lines.extend(f"   - {_cell(step)}" for step in diag.remedy)
            lines.extend(f"   - See <{doc}>" for doc in diag.docs[:2])
            lines.append("")
    else:
        lines.extend(["No problem found.", ""])
    if report.changes:
        lines.extend(["### Changes since the last run", "", "| check | before | now | kind |",
                      "| --- | --- | --- | --- |"])
        lines.extend(f"| `{c.id}` | {c.before or '-'} | {c.after or '-'} | {c.kind} |"
                     for c in report.changes)
        lines.append("")
    lines.extend(["### Checks", "", "| status | check | result |", "| --- | --- | --- |"])
    for result in report.checks:
        summary = _cell(result.summary) + (f" `{result.code}`" if result.code else "")
        lines.append(f"| {_badge(result.status)} | `{result.id}` | {summary} |")
    return "\n".join(lines) + "\n"
