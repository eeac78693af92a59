"""The fleet as one self-contained HTML page (``report --format html``).

Same design as a host's page (:mod:`.html_page`): the verdict and counts on top, then the
causes ranked by the hosts they hit (each with its fix), the endpoints that failed and where,
the hosts (filter by status, cause or name; sort by any column), one card per host with a
problem (its diagnoses and failing checks), and the inputs that could not be rolled up.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ..fleet.model import Fleet, HostCheck, HostReport, status_counts
from ..model import Status
from .html_page import anchor, card, diagnosis_block, esc_clean, page, table, tile
from .html_page import badge as _badge
from .html_page import kv as _kv

# The fleet's texts were made printable and redacted by the loader: escaping is enough here.
# A fleet repeats the same check ids, codes, messages and badges on thousands of hosts, so the
# page being written remembers each text's escaped form (render() forgets them at the end).
_ESCAPED: Dict[str, str] = {}
_BADGES: Dict[Tuple[str, Any], str] = {}
_TABLES: Dict[int, Tuple[Tuple[HostCheck, ...], str]] = {}  # by id() of a host's problems
_REMEMBERED_LEN = 400  # longer texts (rare, and mostly unique) are escaped every time
_REMEMBERED_MAX = 100_000


def esc(value: Any) -> str:
    if type(value) is not str or len(value) > _REMEMBERED_LEN:
        return esc_clean(value)
    found = _ESCAPED.get(value)
    if found is None:
        if len(_ESCAPED) >= _REMEMBERED_MAX:
            _ESCAPED.clear()
        found = _ESCAPED[value] = esc_clean(value)
    return found


def badge(status: Status, text: Any = None) -> str:
    key = (status._value_, text)
    found = _BADGES.get(key)
    if found is None:
        if len(_BADGES) >= _REMEMBERED_MAX:
            _BADGES.clear()
        found = _BADGES[key] = _badge(status, text, escape=esc)
    return found


def kv(pairs: Any) -> str:
    return _kv(pairs, escape=esc)


GRID_MAX_HOSTS = 40  # an endpoint x host grid up to this many hosts; a list beyond
NAMES_SHOWN = 15
EVIDENCE_SHOWN = 10


def _names(names: Any, limit: int = NAMES_SHOWN) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f'<span class="hostlist">{esc(shown + more)}</span>'


def _has_card(host: HostReport) -> bool:
    return bool(host.problems or host.diagnoses or host.stale)


def _tiles(fleet: Fleet) -> str:
    parts = [tile(len(fleet.hosts), "hosts")]
    for status, count in status_counts(fleet.hosts):
        parts.append(tile(count, status.label.lower(), status))
    unreadable = fleet.unreadable()
    if unreadable:
        parts.append(tile(unreadable, "unreadable reports", Status.UNKNOWN))
    stale = sum(1 for h in fleet.hosts if h.stale)
    if stale:
        parts.append(tile(stale, "stale reports", Status.WARN))
    parts.append(tile(len(fleet.causes), "causes"))
    return f'<div class="tiles">{"".join(parts)}</div>'


def _causes(fleet: Fleet) -> str:
    rows = []
    for rank, rolled in enumerate(fleet.causes, 1):
        cause = rolled.cause
        status = Status(rolled.severity)
        fix = diagnosis_block(status, cause.title, cause.category, cause.azcm, cause.explanation,
                              (), cause.remedy, cause.docs, escape=esc)
        rows.append(
            f'<tr id="{anchor("cause", cause.cause_id)}"><td class="num">{rank}</td>'
            f'<td data-sort="{-status.rank}">{badge(status)}</td>'
            f"<td><strong>{esc(cause.title)}</strong><br>"
            f'<span class="code">{esc(cause.cause_id)} &middot; {esc(cause.category)}</span>'
            f'<details class="facts"><summary>why, and the fix</summary>{fix}</details></td>'
            f'<td class="num">{len(rolled.hosts)}</td><td>{_names(rolled.hosts)}<br>'
            f'<a href="#hosts" data-cause="{esc(cause.cause_id)}">show these hosts</a></td></tr>')
    if not rows:
        return card("Causes", "<p>No diagnosis on any host.</p>", "causes")
    return card("Causes, ranked by hosts hit", table(
        ("#", "severity", "cause", "hosts", "which hosts"), rows), "causes")


def _endpoints(fleet: Fleet) -> str:
    if not fleet.endpoints:
        return card("Endpoints", "<p>No endpoint failed or warned on any host.</p>", "endpoints")
    hosts = sorted({c.hostname for e in fleet.endpoints for c in e.cells}, key=str.casefold)
    if len(hosts) <= GRID_MAX_HOSTS:
        return card("Endpoint failures by host", _grid(fleet.endpoints, hosts), "endpoints")
    rows = []
    for rolled in fleet.endpoints:
        worst = Status.worst(c.status for c in rolled.cells)
        codes = ", ".join(f"{code} ({n})" for code, n in rolled.codes())
        rows.append(f'<tr><td data-sort="{-worst.rank}">{badge(worst)}</td>'
                    f'<td class="mono">{esc(rolled.endpoint)}</td>'
                    f'<td class="num">{len(rolled.cells)}</td><td class="code">{esc(codes)}</td>'
                    f"<td>{_names(c.hostname for c in rolled.cells)}</td></tr>")
    return card("Endpoint failures", table(
        ("worst", "endpoint", "hosts", "failure codes (hosts)", "which hosts"), rows),
        "endpoints")


def _grid(endpoints: Any, hosts: List[str]) -> str:
    head = ["endpoint", *hosts]
    rows = []
    for rolled in endpoints:
        by_host = {c.hostname: c for c in rolled.cells}
        cells = []
        for name in hosts:
            cell = by_host.get(name)
            if cell is None:
                cells.append('<td class="cell muted" data-sort="0">&middot;</td>')
            else:
                title = esc(f"{cell.check_id}: {cell.summary}")
                cells.append(f'<td class="cell" data-sort="{-cell.status.rank}" title="{title}">'
                             f"{badge(cell.status, cell.code or cell.status.label)}</td>")
        rows.append(f'<tr><td class="mono">{esc(rolled.endpoint)}</td>{"".join(cells)}</tr>')
    note = ('<p class="muted">Each cell is the first layer that failed (DNS, then TCP, TLS, '
            "HTTPS) and its failure code; hover for the message.</p>")
    return note + f'<div class="scroll">{table(head, rows, extra_class="grid")}</div>'


def _hosts(fleet: Fleet) -> str:
    titles: Dict[str, str] = {c.cause.cause_id: c.cause.title for c in fleet.causes}
    rows = []
    for host in fleet.hosts:
        causes = " ".join(sorted({d.cause_id for d in host.diagnoses}))
        name = esc(host.hostname)
        if _has_card(host):
            name = f'<a href="#{anchor("host", host.hostname)}">{name}</a>'
        diag = "; ".join(titles.get(d.cause_id, d.cause_id) for d in host.diagnoses)
        stale = ' <span class="badge s-warn">stale</span>' if host.stale else ""
        failed = host.count(Status.FAIL) + host.count(Status.ERROR)
        rows.append(
            f'<tr data-status="{host.verdict._value_}" data-causes="{esc(causes)}" '
            f'data-host="{esc(host.hostname.lower())}">'
            f'<td data-sort="{-host.verdict.rank}">{badge(host.verdict)}{stale}</td>'
            f'<td class="mono">{name}</td><td class="num">{failed}</td>'
            f'<td class="num">{host.count(Status.WARN)}</td><td>{esc(diag)}</td>'
            f'<td class="mono nowrap">{esc(host.started_at)}</td>'
            f'<td class="nowrap">{esc(host.tool_version)}</td><td>{esc(host.os)}</td></tr>')
    statuses = "".join(f'<option value="{s.value}">{esc(s.label)} ({n})</option>'
                       for s, n in status_counts(fleet.hosts))
    causes = "".join(f'<option value="{esc(c.cause.cause_id)}">{esc(c.cause.title)} '
                     f"({len(c.hosts)})</option>" for c in fleet.causes)
    filters = (
        '<div class="filters"><label>Status <select id="f-status"><option value="">all'
        f"</option>{statuses}</select></label>"
        f'<label>Cause <select id="f-cause"><option value="">all</option>{causes}</select>'
        '</label><label>Host <input id="f-name" type="search" placeholder="name contains">'
        f'</label><span class="shown" id="f-shown">{len(fleet.hosts)} hosts</span></div>')
    return card("Hosts", filters + table(
        ("status", "host", "failed", "warnings", "diagnoses", "report started", "tool", "OS"),
        rows, table_id="hosts-table"), "hosts")


def _host_cards(fleet: Fleet) -> str:
    titles = {c.cause.cause_id: c.cause for c in fleet.causes}
    cards = []
    for host in fleet.hosts:
        if not _has_card(host):
            continue
        causes = " ".join(sorted({d.cause_id for d in host.diagnoses}))
        parts = [kv([("report", host.source), ("started", host.started_at),
                     ("stale", host.stale), ("tool version", host.tool_version),
                     ("operating system", host.os), ("elevated", host.elevated),
                     ("cloud", host.cloud), ("location", host.location),
                     ("proxy", host.proxy or "none"), ("run took", f"{host.duration_s:.2f} s"),
                     ("exit code", host.exit_code)])]
        for diag in host.diagnoses:
            cause = titles.get(diag.cause_id)
            status = Status(diag.severity)
            title = cause.title if cause else diag.cause_id
            evidence = list(diag.evidence[:EVIDENCE_SHOWN])
            if len(diag.evidence) > EVIDENCE_SHOWN:
                evidence.append(f"... and {len(diag.evidence) - EVIDENCE_SHOWN} more")
            items = "".join(f"<li>{esc(e)}</li>" for e in evidence)
            parts.append(
                f'<div class="diag {"s-warn" if status == Status.WARN else "s-fail"}">'
                f'<h3>{badge(status)}<a href="#{anchor("cause", diag.cause_id)}">{esc(title)}'
                f'</a></h3><div class="meta"><span class="code">{esc(diag.cause_id)}</span>'
                f'</div><ul class="evidence">{items}</ul></div>')
        if host.problems:
            parts.append(_problem_table(host.problems))
        summary = (f"{badge(host.verdict)}<span>{esc(host.hostname)}</span>"
                   f'<span class="muted">{len(host.diagnoses)} diagnoses, '
                   f"{len(host.problems)} checks with problems</span>")
        cards.append(
            f'<details class="host" id="{anchor("host", host.hostname)}" '
            f'data-status="{host.verdict._value_}" data-causes="{esc(causes)}" '
            f'data-host="{esc(host.hostname.lower())}"><summary>{summary}</summary>'
            f'<div class="body">{"".join(parts)}</div></details>')
    if not cards:
        return ""
    return card("Host details", "".join(cards), "details")


def _problem_table(problems: Tuple[HostCheck, ...]) -> str:
    """A host's failing checks as a table; hosts that failed alike share one tuple of rows
    (the loader makes them one object), so the table is written once for all of them."""
    found = _TABLES.get(id(problems))
    if found is None or found[0] is not problems:
        rows = [f'<tr><td data-sort="{-c.status.rank}">{badge(c.status)}</td>'
                f'<td class="mono">{esc(c.id)}</td><td class="code">{esc(c.code or "")}</td>'
                f"<td>{esc(c.summary)}</td></tr>" for c in problems]
        found = _TABLES[id(problems)] = (problems, table(("status", "check", "code", "message"),
                                                         rows))
    return found[1]


def _problems(fleet: Fleet) -> str:
    if not fleet.problems:
        return ""
    rows = [f'<tr><td>{esc(p.kind)}</td><td class="mono">{esc(p.source)}</td>'
            f"<td>{esc(p.hostname or '-')}</td><td>{esc(p.reason)}</td></tr>"
            for p in fleet.problems]
    return card("Reports not rolled up as they are", table(
        ("why", "report", "host", "details"), rows), "inputs")


def render(fleet: Fleet, **_: Any) -> str:
    try:
        return _render(fleet)
    finally:
        _ESCAPED.clear()
        _BADGES.clear()
        _TABLES.clear()


def _render(fleet: Fleet) -> str:
    body = [_tiles(fleet)]
    if fleet.problems:
        body.append(f'<div class="notice">{len(fleet.problems)} report(s) were unreadable, '
                    "stale, from another schema or superseded: see "
                    '<a href="#inputs">the list</a>.</div>')
    body.extend([_causes(fleet), _endpoints(fleet), _hosts(fleet), _host_cards(fleet),
                 _problems(fleet)])
    worst = fleet.status
    headline = f"{len(fleet.hosts)} hosts: {_words(fleet)}"
    subtitle = (f"{fleet.inputs} reports read · newest {fleet.newest or 'unknown'} · stale after "
                f"{_duration(fleet.stale_after_s)} · exit code {fleet.exit_code}")
    return page(f"arc-preflight fleet report: {worst.label}", worst, headline, subtitle,
                "".join(body), footer=f"arc-preflight {fleet.tool_version} · "
                "schema arc-preflight-fleet/1")


def _words(fleet: Fleet) -> str:
    parts = [f"{n} {s.label.lower()}" for s, n in status_counts(fleet.hosts)]
    return ", ".join(parts) or "none"


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "never (not judged)"
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} d"
    if seconds % 3600 == 0:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"

