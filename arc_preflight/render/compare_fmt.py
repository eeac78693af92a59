"""``compare`` output: the differences between two reports as a table, Markdown or JSON
(schema ``arc-preflight-compare/1``, described in ``data/fleet.schema.json``'s ``$defs``).

Only what differs is shown, section by section; a section where everything matched says how
many items it compared, so "no difference" is never confused with "not compared".
"""

from __future__ import annotations

import io
import json
from typing import Any, Dict, List

from ..fleet.model import COMPARE_SCHEMA, SECTIONS, Comparison, Side
from .fleet_markdown import cell
from .style import labelled


def _side_line(side: Side) -> str:
    return (f"{side.label}: {side.hostname} ({side.status.label}), started {side.started_at}, "
            f"tool {side.tool_version} - {side.source}")


def render_table(comparison: Comparison, color: bool = False, width: int = 110) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system=(
        "standard" if color else None), no_color=not color, highlight=False, soft_wrap=False,
        emoji=False, markup=False)
    console.print(Text("arc-preflight compare", style="bold"))
    for side in (comparison.a, comparison.b):
        label, style = labelled(side.status)
        console.print(Text.assemble(f"{side.label}: {side.hostname} (", (label, style),
                                    f"), started {side.started_at}, tool {side.tool_version}"))
        console.print(Text(f"   {side.source}", style="dim"))
    compared = dict(comparison.compared)
    for key, title in SECTIONS:
        found = comparison.section(key)
        if not found:
            if compared.get(key):
                console.print(Text(f"{title}: same ({compared[key]} compared)", style="dim"))
            continue
        table = Table(title=f"{title} ({len(found)} of {compared.get(key, len(found))} differ)",
                      title_justify="left", header_style="bold", pad_edge=False)
        table.add_column("item", ratio=3, overflow="fold")
        table.add_column(f"A: {comparison.a.hostname}", ratio=2, overflow="fold")
        table.add_column(f"B: {comparison.b.hostname}", ratio=2, overflow="fold")
        for diff in found:
            table.add_row(Text(diff.item), Text(diff.a), Text(diff.b))
        console.print(table)
    console.print()
    total = len(comparison.differences)
    console.print(Text(f"{total} difference(s); exit code {comparison.exit_code}"
                       if total else "No difference found; exit code 0", style="bold"))
    return buffer.getvalue()


def render_markdown(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    lines: List[str] = [f"## arc-preflight compare: {cell(a.hostname)} and {cell(b.hostname)}",
                        "", f"- {cell(_side_line(a))}", f"- {cell(_side_line(b))}", ""]
    compared = dict(comparison.compared)
    for key, title in SECTIONS:
        found = comparison.section(key)
        if not found:
            if compared.get(key):
                lines.extend([f"### {title}: same ({compared[key]} compared)", ""])
            continue
        lines.extend([f"### {title}", "", f"| item | A: {cell(a.hostname)} | B: "
                      f"{cell(b.hostname)} |", "| --- | --- | --- |"])
        lines.extend(f"| {cell(d.item)} | {cell(d.a)} | {cell(d.b)} |" for d in found)
        lines.append("")
    lines.append(f"{len(comparison.differences)} difference(s).")
    return "\n".join(lines) + "\n"


def comparison_dict(comparison: Comparison) -> Dict[str, Any]:
    def side(s: Side) -> Dict[str, Any]:
        return {"source": s.source, "hostname": s.hostname, "status": s.status.value,
                "started_at": s.started_at, "tool_version": s.tool_version}

    return {
        "schema": COMPARE_SCHEMA,
        "a": side(comparison.a),
        "b": side(comparison.b),
        "differs": bool(comparison.differences),
        "exit_code": comparison.exit_code,
        "compared": dict(comparison.compared),
        "differences": [{"section": d.section, "item": d.item, "a": d.a, "b": d.b}
                        for d in comparison.differences],
    }


def render_json(comparison: Comparison) -> str:
    return json.dumps(comparison_dict(comparison), indent=2) + "\n"


def render(comparison: Comparison, fmt: str = "table", color: bool = False,
           width: int = 110, **_: Any) -> str:
    if fmt == "json":
        return render_json(comparison)
    if fmt == "markdown":
        return render_markdown(comparison)
    return render_table(comparison, color=color, width=width)
