"""The terminal report: a table of checks, then what is wrong and how to fix it.

Rendered to a string by rich with an in-memory console, so it stays a pure function of the report
and the same text can go to a file with ``--output``.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from ..model import Report, Status
from ..redact import redact

_STYLE = {
    Status.PASS: ("PASS", "green"),
    Status.WARN: ("WARN", "yellow"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.ERROR: ("ERROR", "bold red"),
    Status.SKIP: ("skip", "dim"),
}


def render(report: Report, color: bool = False, width: int = 110, **_: Any) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system=(
        "standard" if color else None), no_color=not color, highlight=False, soft_wrap=False)
    settings = report.settings
    proxy = settings.get("proxy_effective", {}) or {}
    console.print(Text(
        f"arc-preflight {report.tool_version} on {report.host.hostname} ({report.host.os}); "
        f"cloud {settings.get('cloud')}, location {settings.get('location') or 'not given'}, "
        f"proxy {proxy.get('url') or 'none'} ({proxy.get('source', '')})", style="bold"))

    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False)
    table.add_column("status", no_wrap=True)
    table.add_column("check", overflow="fold")
    table.add_column("result", overflow="fold")
    for result in report.checks:
        label, style = _STYLE[result.status]
        summary = redact(result.summary)
        if result.code and result.status != Status.PASS:
            summary += f" [{result.code}]"
        table.add_row(Text(label, style=style), Text(result.id),
                      Text(summary, style="dim" if result.status == Status.SKIP else ""))
    console.print(table)

    for number, diag in enumerate(report.diagnoses, 1):
        label, style = _STYLE[Status.FAIL if diag.severity == "fail" else Status.WARN]
        codes = f" ({', '.join(diag.azcm)})" if diag.azcm else ""
        console.print()
        console.print(Text.assemble((f"{number}. {label} ", style), (diag.title, "bold"),
                                    (f"  [{diag.category}]{codes}", "dim")))
        console.print(Text("   " + diag.explanation))
        console.print(Text("   Evidence:", style="bold"))
        for line in diag.evidence[:8]:
            console.print(Text(f"     - {redact(line)}"))
        if len(diag.evidence) > 8:
            console.print(Text(f"     ... and {len(diag.evidence) - 8} more"))
        console.print(Text("   Fix:", style="bold"))
        for step_no, step in enumerate(diag.remedy, 1):
            console.print(Text(f"     {step_no}. {step}"))
        for doc in diag.docs[:3]:
            console.print(Text(f"   See {doc}", style="dim"))

    counts = Counter(r.status for r in report.checks)
    label, style = _STYLE[report.status]
    console.print()
    console.print(Text.assemble(
        ("Result: ", "bold"), (label, style),
        f" - {counts[Status.FAIL] + counts[Status.ERROR]} failed, {counts[Status.WARN]} "
        f"warning(s), {counts[Status.PASS]} passed, {counts[Status.SKIP]} skipped "
        f"in {report.duration_s:.2f} s; exit code {report.exit_code}"))
    return buffer.getvalue()
