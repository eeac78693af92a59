"""The endpoint catalogue as a table, CSV or JSON, for firewall and proxy change requests."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List, Optional

from ..catalog import Cloud, Endpoint

COLUMNS = ("host", "port", "when", "feature", "private_link", "probe", "proxy_bypass", "purpose",
           "reason")


def render(items: List[Endpoint], fmt: str, cloud: Cloud, location: Optional[str],
           private_link: bool) -> str:
    rows = [item.as_dict() for item in items]
    if private_link:
        for row in rows:
            row["must_resolve"] = "private" if row["private_link"] else "public"
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        columns = [*COLUMNS, "must_resolve"] if private_link else list(COLUMNS)
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        return buffer.getvalue()
    return _table(rows, cloud, location, private_link)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _table(
    rows: List[Dict[str, Any]], cloud: Cloud, location: Optional[str], private_link: bool
) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=140, no_color=True, highlight=False)
    title = f"{cloud.display} ({cloud.name}), region {location or 'not given'}"
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("host", no_wrap=True)  # a host name must survive copy and paste whole
    for column in ("port", "when", "private link", "probed", "purpose"):
        table.add_column(column, overflow="fold")
    for row in rows:
        probed = "yes" if row["probe"] else f"no: {row['reason']}"
        link = _cell(row["private_link"])
        if private_link:
            link = row["must_resolve"]
        when = row["when"] + (f" ({row['feature']})" if row["feature"] else "")
        table.add_row(row["host"], str(row["port"]), when, link, probed, row["purpose"])
    console.print(table)
    console.print("All traffic is outbound TCP; HTTPS unless the port says otherwise.")
    return buffer.getvalue()
