"""The terminal report: a table of checks, then what is wrong and how to fix it.

Rendered to a string by rich with an in-memory console, so it stays a pure function of the report
and the same text can go to a file with ``--output``.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any, Dict

from ..model import Report, Result, Status
from ..redact import redact
from .style import labelled

_HOST_KINDS = ("privilege", "service", "himds", "agent", "imds", "clock", "proxy")
_CONNECT_KINDS = ("params", "auth")
_LAYERS = ("dns", "tcp", "tls", "https")


def _badge(status: Status) -> Any:
    from rich.text import Text

    label, style = labelled(status)
    return Text(label, style=style)


def _summary(result: Result) -> Any:
    from rich.text import Text

    summary = redact(result.summary)
    if result.code and result.status != Status.PASS:
        summary += f" [{result.code}]"
    return Text(summary, style="dim" if result.status == Status.SKIP else "")


def _group_endpoints(report: Report) -> Dict[str, Dict[str, Result]]:
    """Endpoint checks by host:port, so each endpoint is one row whatever its layers."""
    grouped: Dict[str, Dict[str, Result]] = {}
    for result in report.checks:
        if result.probe not in _LAYERS:
            continue
        target = result.target if result.probe != "dns" else None
        if target is None:
            # A DNS check covers every port of its host; attach it to each of them below.
            continue
        grouped.setdefault(target, {})[result.probe] = result
    for result in report.checks:
        if result.probe == "dns":
            ports = [t for t in grouped if t.rsplit(":", 1)[0] == result.target]
            for target in ports or [f"{result.target}:443"]:
                grouped.setdefault(target, {})["dns"] = result
    return grouped


def _endpoint_summary(layers: Dict[str, Result]) -> Any:
    """The root failure if there is one, else what the top layer learnt."""
    for kind in _LAYERS:
        result = layers.get(kind)
        if result and result.status in (Status.FAIL, Status.ERROR, Status.WARN):
            return _summary(result)
    for kind in ("tls", "https", "tcp", "dns"):
        found = layers.get(kind)
        if found and found.status == Status.PASS:
            result = found
            via = result.facts.get("route")
            text = redact(result.summary)
            if kind == "https" and "tls" in layers:
                text = redact(layers["tls"].summary) + "; " + text
            if via in ("proxy", "gateway"):
                text += f" (via {via})"
            return _summary_text(text)
    first = next(iter(layers.values()))
    return _summary(first)


def _summary_text(text: str) -> Any:
    from rich.text import Text

    return Text(text)


def render(report: Report, color: bool = False, width: int = 110, **_: Any) -> str:
    from rich.console import Console
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system=(
        "standard" if color else None), no_color=not color, highlight=False, soft_wrap=False)
    settings = report.settings
    proxy = settings.get("proxy_effective", {}) or {}
    proxy_url = redact(str(proxy.get("url") or "none"))
    console.print(Text(f"arc-preflight {report.tool_version} on {report.host.hostname} "
                       f"({report.host.os})", style="bold"))
    console.print(Text(f"cloud {settings.get('cloud')}, location "
                       f"{settings.get('location') or 'not given'}, proxy {proxy_url} "
                       f"({proxy.get('source', '')})"))

    for title, kinds in (("This host", _HOST_KINDS),
                         ("Connect parameters and credentials", _CONNECT_KINDS)):
        rows = [r for r in report.checks if r.probe in kinds]
        if not rows:
            continue
        table = Table(title=title, title_justify="left", show_header=True,
                      header_style="bold", pad_edge=False)
        table.add_column("status", no_wrap=True)
        table.add_column("check", overflow="fold")
        table.add_column("result", overflow="fold")
        for result in rows:
            table.add_row(_badge(result.status), Text(result.id), _summary(result))
        console.print(table)

    endpoints = _group_endpoints(report)
    if endpoints:
        table = Table(title="Endpoints", title_justify="left", show_header=True,
                      header_style="bold", pad_edge=False)
        # Host names stay whole (they are copied into firewall requests); the result column
        # takes the rest of the width and wraps at words.
        table.add_column("endpoint", no_wrap=True)
        for kind in _LAYERS:
            table.add_column(kind, no_wrap=True)
        table.add_column("result", ratio=1, overflow="fold")
        for target, layers in endpoints.items():
            cells = []
            for kind in _LAYERS:
                layer = layers.get(kind)
                cells.append(_badge(layer.status) if layer else Text("-", style="dim"))
            table.add_row(Text(target), *cells, _endpoint_summary(layers))
        console.print(table)

    for number, diag in enumerate(report.diagnoses, 1):
        label, style = labelled(diag.status)
        codes = f" ({', '.join(diag.azcm)})" if diag.azcm else ""
        console.print()
        console.print(Text.assemble((f"{number}. {label} ", style), (diag.title, "bold"),
                                    (f"  [{diag.category}]{codes}", "dim")))
        console.print(Padding(Text(diag.explanation), (0, 0, 0, 3), expand=False))
        console.print(Padding(Text("Evidence:", style="bold"), (0, 0, 0, 3), expand=False))
        for line in diag.evidence[:8]:
            console.print(Padding(Text(f"- {redact(line)}"), (0, 0, 0, 5), expand=False))
        if len(diag.evidence) > 8:
            more = Text(f"... and {len(diag.evidence) - 8} more")
            console.print(Padding(more, (0, 0, 0, 5), expand=False))
        console.print(Padding(Text("Fix:", style="bold"), (0, 0, 0, 3), expand=False))
        for step_no, step in enumerate(diag.remedy, 1):
            console.print(Padding(Text(f"{step_no}. {step}"), (0, 0, 0, 5), expand=False))
        for doc in diag.docs[:3]:
            console.print(Padding(Text(f"See {doc}", style="dim"), (0, 0, 0, 3), expand=False))

    counts = Counter(r.status for r in report.checks)
    label, style = labelled(report.status)
    console.print()
    console.print(Text.assemble(
        ("Result: ", "bold"), (label, style),
        f" - {counts[Status.FAIL] + counts[Status.ERROR]} failed, {counts[Status.WARN]} "
        f"warning(s), {counts[Status.PASS]} passed, {counts[Status.SKIP]} skipped "
        f"in {report.duration_s:.2f} s; exit code {report.exit_code}"))
    return buffer.getvalue()
