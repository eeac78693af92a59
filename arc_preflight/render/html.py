"""One host's report as a self-contained HTML page (``check --format html``), and a log's
diagnosis (``diagnose --format html``), in the page design of :mod:`.html_page` that the fleet's
page uses too.

The page says first what a person must read: the verdict, then the diagnoses with their evidence
and fixes; then every endpoint with all its layers and every fact each probe recorded; then the
host's own checks, the connect parameters and the settings of the run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..model import LogReport, Report, Result, Status
from .html_page import (
    badge,
    card,
    diagnosis_block,
    esc,
    kv,
    page,
    table,
    tile,
)

_LAYERS = ("dns", "tcp", "tls", "https")
_HOST_KINDS = ("privilege", "service", "himds", "agent", "imds", "clock", "proxy", "revocation",
               "gateway")
_CONNECT_KINDS = ("params", "auth")
_SETTINGS_SHOWN = ("cloud", "location", "profile", "proxy", "no_proxy", "dns_servers",
                   "ca_bundle", "private_link_scope", "tenant_id", "subscription_id",
                   "resource_group", "resource_name", "extensions", "timeout", "deadline",
                   "expected_issuers", "agent_dir", "himds_url", "auth")


def _endpoint_key(result: Result) -> str:
    if result.probe == "dns":
        return result.target
    name, sep, port = result.target.rpartition(":")
    return name if sep and port.isdigit() else result.target


def _endpoints(report: Report) -> Dict[str, Dict[str, Result]]:
    grouped: Dict[str, Dict[str, Result]] = {}
    for result in report.checks:
        if result.probe in _LAYERS:
            grouped.setdefault(_endpoint_key(result), {}).setdefault(result.probe, result)
    return grouped


def _root(layers: Mapping[str, Result]) -> Tuple[Status, str]:
    """The endpoint's verdict and what to say about it: its first problem, else what the top
    layer learnt (TLS version and issuer, the HTTP answer)."""
    for kind in _LAYERS:
        found = layers.get(kind)
        if found is not None and found.status.is_problem:
            code = f" [{found.code}]" if found.code else ""
            return found.status, f"{kind}: {found.summary}{code}"
    passed = [layers[k] for k in _LAYERS if k in layers and layers[k].status == Status.PASS]
    if not passed:
        first = next(iter(layers.values()))
        return first.status, first.summary
    text = "; ".join(r.summary for r in passed if r.probe in ("tls", "https")) or \
        passed[-1].summary
    return Status.PASS, text


def _facts_html(result: Result) -> str:
    facts = [(k, v) for k, v in result.facts.items() if k != "started_ms"]
    head = [("check", result.id), ("status", result.status.label), ("code", result.code or "-"),
            ("duration", f"{result.duration_ms} ms"), ("blocked by", result.blocked_by or "-"),
            ("summary", result.summary)]
    return kv(head + facts)


def _endpoint_rows(report: Report) -> List[str]:
    rows = []
    grouped = _endpoints(report)
    ordered = sorted(grouped.items(),
                     key=lambda item: (-_root(item[1])[0].rank, item[0]))
    for name, layers in ordered:
        status, text = _root(layers)
        cells = []
        for kind in _LAYERS:
            layer = layers.get(kind)
            cells.append(f'<td data-sort="{layer.status.rank if layer else -1}">'
                         f"{badge(layer.status) if layer else '<span class=muted>-</span>'}</td>")
        route = next((str(r.facts.get("route")) for r in layers.values() if r.facts.get("route")),
                     "-")
        present = [kind for kind in _LAYERS if kind in layers]
        inner = "".join(f'<div class="layer">{esc(kind)}</div>{_facts_html(layers[kind])}'
                        for kind in present)
        details = (f'<details class="facts"><summary>every fact ({esc(", ".join(present))})'
                   f"</summary>{inner}</details>")
        rows.append(
            f'<tr><td data-sort="{-status.rank}">{badge(status)}</td>'
            f'<td class="mono">{esc(name)}</td>{"".join(cells)}<td>{esc(route)}</td>'
            f"<td>{esc(text)}{details}</td></tr>")
    return rows


def _check_rows(results: List[Result]) -> List[str]:
    rows = []
    for result in results:
        code = f' <span class="code">[{esc(result.code)}]</span>' if result.code else ""
        rows.append(
            f'<tr><td data-sort="{-result.status.rank}">{badge(result.status)}</td>'
            f'<td class="mono">{esc(result.id)}</td><td>{esc(result.summary)}{code}'
            f'<details class="facts"><summary>every fact</summary>{_facts_html(result)}'
            f"</details></td></tr>")
    return rows


def _subtitle_bits(report: Report) -> str:
    settings = report.settings
    proxy = settings.get("proxy_effective") or {}
    proxy_url = proxy.get("url") if isinstance(proxy, dict) else None
    return (f"{report.host.os} · Python {report.host.python} · "
            f"{'elevated' if report.host.elevated else 'not elevated'} · cloud "
            f"{settings.get('cloud')} · location {settings.get('location') or 'not given'} · "
            f"proxy {proxy_url or 'none'} · started {report.started_at} · "
            f"{report.duration_s:.2f} s · exit code {report.exit_code}")


def render(report: Report, **_: Any) -> str:
    """``check --format html``: the whole report as one page."""
    counts = Counter(r.status for r in report.checks)
    failed = counts[Status.FAIL] + counts[Status.ERROR]
    tiles = "".join([  # a tile takes its status's colour only when it counts something
        tile(failed, "failed", Status.FAIL if failed else None),
        tile(counts[Status.WARN], "warnings", Status.WARN if counts[Status.WARN] else None),
        tile(counts[Status.PASS], "passed", Status.PASS if counts[Status.PASS] else None),
        tile(counts[Status.SKIP], "skipped"),
        tile(len(report.diagnoses), "diagnoses", report.status if report.diagnoses else None),
    ])
    body = [f'<div class="tiles">{tiles}</div>']
    body.extend(f'<div class="notice">{esc(n)}</div>' for n in report.notices)
    if report.diagnoses:
        blocks = "".join(
            diagnosis_block(d.status, d.title, d.category, d.azcm, d.explanation, d.evidence,
                            d.remedy, d.docs, number=i)
            for i, d in enumerate(report.diagnoses, 1))
        body.append(card("What is wrong, and how to fix it", blocks, "diagnoses"))
    else:
        body.append(card("What is wrong", "<p>No problem found: every check passed or was "
                         "skipped.</p>", "diagnoses"))
    endpoint_rows = _endpoint_rows(report)
    if endpoint_rows:
        body.append(card("Endpoints", table(
            ("result", "endpoint", "dns", "tcp", "tls", "https", "route", "what was learnt"),
            endpoint_rows), "endpoints"))
    for title, kinds, ident in (("This host", _HOST_KINDS, "host-checks"),
                                ("Connect parameters and credentials", _CONNECT_KINDS,
                                 "connect")):
        results = [r for r in report.checks if r.probe in kinds]
        if results:
            body.append(card(title, table(("status", "check", "result"), _check_rows(results)),
                             ident))
    if report.changes:
        rows = [f'<tr><td class="mono">{esc(c.id)}</td><td>{esc(c.kind)}</td>'
                f"<td>{esc(c.before or '-')}</td><td>{esc(c.after or '-')}</td>"
                f"<td>{esc(c.since or '-')}</td></tr>" for c in report.changes]
        body.append(card("Changes since the last run", table(
            ("check", "change", "before", "now", "since"), rows), "changes"))
    host = report.host
    facts = [("host name", host.hostname), ("operating system", host.os),
             ("Python", host.python), ("elevated", host.elevated),
             ("tool version", report.tool_version), ("profile", report.profile),
             ("started", report.started_at), ("duration", f"{report.duration_s:.2f} s"),
             ("exit code", report.exit_code)]
    settings = [(k, report.settings.get(k)) for k in _SETTINGS_SHOWN if k in report.settings]
    body.append(card("Host and run", kv(facts) + "<h3>Settings</h3>" + kv(settings), "facts"))
    headline = f"{host.hostname}: {_verdict_words(report.status)}"
    return page(f"arc-preflight {report.status.label} on {host.hostname}", report.status,
                headline, _subtitle_bits(report), "".join(body),
                footer=f"arc-preflight {report.tool_version} · schema arc-preflight/1 · "
                       f"{len(report.checks)} checks")


def _verdict_words(status: Status) -> str:
    return {
        Status.PASS: "ready for azcmagent connect",
        Status.WARN: "warnings to read",
        Status.FAIL: "something blocks the agent",
        Status.UNKNOWN: "could not judge every check",
    }.get(status, status.label)


def render_log(report: LogReport, tool_version: str) -> str:
    """``diagnose --format html``: a log's causes, with their numbered evidence lines."""
    blocks = []
    for number, item in enumerate(report.diagnoses, 1):
        diag = item.diagnosis
        lines = [f"line {n}: {text}" for n, text in diag.log_evidence()] or list(diag.evidence)
        seen = (f'<div class="meta">seen {item.occurrences} time(s), lines {item.first_line}'
                f"&ndash;{item.last_line}</div>")
        blocks.append(diagnosis_block(diag.status, diag.title, diag.category, diag.azcm,
                                      diag.explanation, lines, diag.remedy, diag.docs,
                                      number=number, extra=seen))
    body = [f'<div class="tiles">{tile(len(report.diagnoses), "causes found", report.status)}'
            f'{tile(report.lines_read, "lines read")}{tile(report.attempts, "connect attempts")}'
            "</div>"]
    body.extend(f'<div class="notice">{esc(w)}</div>' for w in report.warnings)
    body.append(card("What the log says", "".join(blocks) if blocks else
                     "<p>No known failure found in what was read.</p>", "diagnoses"))
    facts: List[Tuple[str, Optional[Any]]] = [
        ("source", report.source), ("path", report.path), ("scope", report.scope_text),
        ("lines", f"{report.start_line}-{report.end_line} of {report.lines_read}"),
        ("bytes read", report.bytes_read), ("compressed", report.compressed),
        ("since", report.since.isoformat() if report.since else None)]
    notes = "".join(f"<li>{esc(n)}</li>" for n in report.notes)
    body.append(card("Input", kv(facts) + (f"<ul>{notes}</ul>" if notes else ""), "input"))
    headline = f"{report.source}: {len(report.diagnoses)} cause(s) found"
    sub = f"{report.scope_text} · exit code {report.exit_code}"
    return page(f"arc-preflight diagnose {report.status.label}: {report.source}",
                report.status, headline, sub, "".join(body),
                footer=f"arc-preflight {tool_version} · diagnose")


__all__ = ["render", "render_log"]
