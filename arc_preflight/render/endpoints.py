"""The endpoint catalogue as a table, CSV or JSON, for firewall and proxy change requests.

Every row says where it comes from: nothing for the names of Microsoft's network-requirements
table of the cloud (or covered by one of its wildcards), the page otherwise (``source``), and
what no Microsoft page backs (``inferred``: a name, or a cloud's private-link flags or bypass
categories). With ``--gateway`` a row also says what the Arc gateway does with it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Dict, List, Optional

from ..catalog import Cloud, Endpoint

COLUMNS = ("host", "port", "when", "feature", "private_link", "probe", "proxy_bypass", "purpose",
           "reason", "source", "inferred")
GATEWAY_WORDS = {
    "allow": "allow",  # still allowed directly (arc-gateway.md "Confirm access to required URLs")
    "outside": "allow (outside)",  # the gateway does not carry it
    "through": "via gateway",  # carried by the gateway (arc-gateway-endpoints.md)
}


def _must_resolve(row: Dict[str, Any]) -> str:
    if not row.get("needed_with_private_link", True):
        return "not used"
    return "private" if row["private_link"] else "public"


def render(items: List[Endpoint], fmt: str, cloud: Cloud, location: Optional[str],
           private_link: bool, gateway: bool = False) -> str:
    rows = [item.as_dict() for item in items]
    for item, row in zip(items, rows):
        if gateway:
            row["gateway"] = item.gateway or None
        if private_link:
            row["must_resolve"] = _must_resolve(row)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        columns = list(COLUMNS)
        if private_link:
            columns.append("must_resolve")
        if gateway:
            columns.append("gateway")
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})
        return buffer.getvalue()
    return _table(rows, cloud, location, private_link, gateway)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _table(rows: List[Dict[str, Any]], cloud: Cloud, location: Optional[str],
           private_link: bool, gateway: bool) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=160, no_color=True, highlight=False)
    title = f"{cloud.display} ({cloud.name}), region {location or 'not given'}"
    if gateway:
        title += ", with the Arc gateway"
    table = Table(title=title, show_header=True, header_style="bold")
    if gateway:
        table.add_column("with gateway", no_wrap=True)
    table.add_column("host", no_wrap=True)  # a host name must survive copy and paste whole
    for column in ("port", "when", "private link", "probed", "purpose", "basis"):
        table.add_column(column, overflow="fold")
    notes: Dict[str, int] = {}
    for row in rows:
        probed = "yes" if row["probe"] else f"no: {row['reason']}"
        link = _cell(row["private_link"])
        if private_link:
            link = row["must_resolve"]
        elif not row.get("needed_with_private_link", True):
            link = "no (not used with a scope)"
        when = row["when"] + (f" ({row['feature']})" if row["feature"] else "")
        basis = "documented"
        if row.get("inferred") or row.get("source"):
            text = ("inferred: " + "; ".join(row["inferred"]) if row.get("inferred")
                    else f"from {row['source']}")
            number = notes.setdefault(text, len(notes) + 1)
            basis = f"{'inferred' if row.get('inferred') else 'other page'} [{number}]"
        cells = [row["host"], str(row["port"]), when, link, probed, row["purpose"], basis]
        if gateway:
            cells.insert(0, GATEWAY_WORDS.get(row.get("gateway") or "", ""))
        table.add_row(*cells)
    console.print(table)
    console.print("All traffic is outbound TCP; HTTPS unless the port says otherwise. "
                  "'documented': Microsoft's network requirements for this cloud.")
    if gateway:
        console.print("With the Arc gateway: 'allow' names (the gateway's URL first) stay allowed "
                      "directly; 'allow (outside)' names stay allowed for the scenarios that use "
                      "them, the gateway does not carry them; 'via gateway' names are carried by "
                      "the gateway (arc-gateway.md, arc-gateway-endpoints.md).")
    for text, number in notes.items():
        console.print(f"[{number}] {text}", soft_wrap=True)
    return buffer.getvalue()
