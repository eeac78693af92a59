"""Two reports side by side: what differs between a server that works and one that does not.

Each section compares what the checks learnt rather than their wording (a passing TCP check
says "connected in 3 ms" on one host and "in 4 ms" on the other; that is not a difference):
DNS answers, the route and proxy each endpoint took, TLS version and issuer, the clock's offset,
the agent's version and state, checks whose status or failure code differs, and diagnoses only
one report has. Values come from untrusted files, so every one shown is printable, redacted and
bounded.
"""

from __future__ import annotations

import json
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..errors import UserError
from ..model import Status
from ..redact import clean, redact
from .fields import SCHEMA, _Unusable
from .load import MAX_REPORT_BYTES, Loaded, _open_regular, extract
from .model import SECTIONS, Comparison, Difference, Side

ABSENT = "-"
CLOCK_TOLERANCE_S = 2.0
_Doc = Mapping[str, Any]


def read_report(path: str, stdin: Optional[IO[bytes]] = None) -> _Doc:
    """One whole report, parsed and checked; any problem is a UserError naming the file."""
    try:
        if path == "-":
            if stdin is None:
                raise UserError("no stdin to read the report from")
            data = stdin.read(MAX_REPORT_BYTES + 1)
        else:
            with _open_regular(path) as handle:
                data = handle.read(MAX_REPORT_BYTES + 1)
    except _Unusable as exc:
        raise UserError(f"{path}: {exc.reason}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_REPORT_BYTES:
        raise UserError(f"{path}: larger than {MAX_REPORT_BYTES >> 20} MiB: not read")
    try:
        doc = json.loads(data)
    except RecursionError:
        raise UserError(f"{path}: not JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not JSON: {clean(str(exc))[:120]}") from None
    try:
        extract(doc, path, Loaded().causes)
    except _Unusable as exc:
        raise UserError(f"{path}: {exc.reason}") from None
    result: _Doc = doc
    return result


def _show(value: Any, limit: int = 160) -> str:
    if value is None or value == "" or value == []:
        return ABSENT
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = redact(clean(str(value)))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _checks(doc: _Doc) -> Dict[str, Mapping[str, Any]]:
    return {str(c["id"]): c for c in doc.get("checks", []) if isinstance(c, dict)}


def _facts(check: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    facts = check.get("facts") if check else None
    return facts if isinstance(facts, dict) else {}


def _verdict(check: Mapping[str, Any]) -> str:
    status = str(check.get("status", "?"))
    label = Status(status).label if status in Status._value2member_map_ else _show(status)
    code = check.get("code")
    return f"{label} {_show(code)}" if isinstance(code, str) else label


def _side(label: str, source: str, doc: _Doc) -> Side:
    found = doc.get("host")
    host: Mapping[str, Any] = found if isinstance(found, dict) else {}
    return Side(label=label, source=_show(source, 300), hostname=_show(host.get("hostname")),
                status=Status(str(doc["status"])), started_at=_show(doc.get("started_at")),
                tool_version=_show(doc.get("tool_version")))


def compare(a: _Doc, b: _Doc, source_a: str = "A", source_b: str = "B") -> Comparison:
    diffs: List[Difference] = []
    compared: List[Tuple[str, int]] = []
    ca, cb = _checks(a), _checks(b)
    for key, _title in SECTIONS:
        items = _SECTION[key](a, b, ca, cb)
        compared.append((key, len(items)))
        diffs.extend(Difference(key, item, va, vb) for item, va, vb in items if va != vb)
    return Comparison(a=_side("A", source_a, a), b=_side("B", source_b, b),
                      differences=tuple(diffs), compared=tuple(compared))


_Items = List[Tuple[str, str, str]]
_Checks = Dict[str, Mapping[str, Any]]


def _pairs(ids: List[str], ca: _Checks, cb: _Checks,
           value: Callable[[Optional[Mapping[str, Any]]], str]) -> _Items:
    return [(i, value(ca.get(i)), value(cb.get(i))) for i in ids]


def _ids(ca: _Checks, cb: _Checks, probe: str) -> List[str]:
    found = {i for source in (ca, cb) for i, c in source.items() if c.get("probe") == probe}
    return sorted(found)


def _verdict_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    def status(doc: _Doc) -> str:
        return f"{Status(str(doc['status'])).label} (exit {_show(doc.get('exit_code'))})"

    def host(doc: _Doc, key: str) -> str:
        return _show(doc["host"].get(key)) if isinstance(doc.get("host"), dict) else ABSENT

    return [("status", status(a), status(b)),
            ("tool version", _show(a.get("tool_version")), _show(b.get("tool_version"))),
            ("operating system", host(a, "os"), host(b, "os")),
            ("elevated", host(a, "elevated"), host(b, "elevated")),
            ("profile", _show(a.get("profile")), _show(b.get("profile")))]


def _settings_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    def get(doc: _Doc, key: str) -> str:
        settings = doc.get("settings")
        return _show(settings.get(key)) if isinstance(settings, dict) else ABSENT

    def proxy(doc: _Doc) -> str:
        settings = doc.get("settings")
        effective = settings.get("proxy_effective") if isinstance(settings, dict) else None
        if not isinstance(effective, dict):
            return get(doc, "proxy")
        url = _show(effective.get("url")) if effective.get("url") else "none (direct)"
        return f"{url} from {_show(effective.get('source'))}"

    keys = ("cloud", "location", "dns_servers", "private_link_scope", "ca_bundle",
            "expected_issuers")
    return [("proxy in use", proxy(a), proxy(b)),
            *((key, get(a, key), get(b, key)) for key in keys)]


def _dns_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    def answer(check: Optional[Mapping[str, Any]]) -> str:
        if check is None:
            return ABSENT
        facts = _facts(check)
        addresses = facts.get("addresses")
        if check.get("status") in ("pass", "warn") and isinstance(addresses, list):
            private = set(facts.get("private") or [])
            shown = sorted(f"{x} (private)" if x in private else str(x) for x in addresses)
            text = _show(shown)
            return text if check.get("status") == "pass" else f"{text}; {_verdict(check)}"
        return _verdict(check)

    return _pairs(_ids(ca, cb, "dns"), ca, cb, answer)


def _route_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    def route(checks: _Checks, target: str) -> str:
        check = checks.get(f"tcp:{target}") or checks.get(f"tls:{target}")
        if check is None:
            return ABSENT
        facts = _facts(check)
        how = _show(facts.get("route"))
        why = facts.get("route_reason")
        return f"{how} ({_show(why)})" if why else how

    targets = sorted({i.split(":", 1)[1] for i in _ids(ca, cb, "tcp") + _ids(ca, cb, "tls")})
    return [(_endpoint(target), route(ca, target), route(cb, target)) for target in targets]


def _endpoint(target: str) -> str:
    """An endpoint as people name it: the port only when it is not HTTPS's."""
    return target[:-4] if target.endswith(":443") else target


def _tls_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    def tls(check: Optional[Mapping[str, Any]]) -> str:
        if check is None:
            return ABSENT
        facts = _facts(check)
        parts = [_show(facts.get("version"))] if facts.get("version") else []
        if facts.get("issuer"):
            parts.append(f"issuer {_show(facts.get('issuer'))}")
        if check.get("status") != "pass":
            parts.insert(0, _verdict(check))
        return ", ".join(parts) or _verdict(check)

    return [(_endpoint(i.split(":", 1)[-1]), va, vb)
            for i, va, vb in _pairs(_ids(ca, cb, "tls"), ca, cb, tls)]


def _clock_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    items = []
    for check_id in _ids(ca, cb, "clock"):
        sa, sb = ca.get(check_id), cb.get(check_id)
        skew_a, skew_b = _facts(sa).get("skew_s"), _facts(sb).get("skew_s")
        va, vb = _clock(sa, skew_a), _clock(sb, skew_b)
        close = isinstance(skew_a, (int, float)) and isinstance(skew_b, (int, float)) and \
            abs(skew_a - skew_b) < CLOCK_TOLERANCE_S and \
            (sa or {}).get("status") == (sb or {}).get("status")
        items.append(("offset from Azure", va, va if close else vb))
    return items


def _clock(check: Optional[Mapping[str, Any]], skew: Any) -> str:
    if check is None:
        return ABSENT
    if isinstance(skew, (int, float)) and not isinstance(skew, bool):
        return f"{skew:+.1f} s ({_verdict(check)})"
    return _verdict(check)


def _agent_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    items = []
    for check_id in _ids(ca, cb, "agent"):
        fa, fb = _facts(ca.get(check_id)), _facts(cb.get(check_id))
        if check_id == "agent":
            for key, shown in (("installed", "installed"), ("version", "version"),
                               ("status", "state"), ("error_code", "error code"),
                               ("last_heartbeat", "last heartbeat")):
                items.append((f"agent {shown}", _show(fa.get(key)), _show(fb.get(key))))
        sa, sb = ca.get(check_id), cb.get(check_id)
        items.append((check_id, _verdict(sa) if sa else ABSENT, _verdict(sb) if sb else ABSENT))
    return items


def _check_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    ids = list(ca) + [i for i in cb if i not in ca]
    return [(i, _verdict(ca[i]) if i in ca else ABSENT, _verdict(cb[i]) if i in cb else ABSENT)
            for i in ids]


def _diagnosis_items(a: _Doc, b: _Doc, ca: _Checks, cb: _Checks) -> _Items:
    def causes(doc: _Doc) -> Dict[str, str]:
        found: Dict[str, str] = {}
        for item in doc.get("diagnoses", []):
            if isinstance(item, dict) and isinstance(item.get("cause_id"), str):
                severity = str(item.get("severity", "fail")).upper()
                found[_show(item["cause_id"], 80)] = f"{severity} {_show(item.get('title'))}"
        return found

    da, db = causes(a), causes(b)
    ids = list(da) + [i for i in db if i not in da]
    return [(i, da.get(i, ABSENT), db.get(i, ABSENT)) for i in ids]


_SECTION: Dict[str, Callable[[_Doc, _Doc, _Checks, _Checks], _Items]] = {
    "verdict": _verdict_items,
    "settings": _settings_items,
    "dns": _dns_items,
    "route": _route_items,
    "tls": _tls_items,
    "clock": _clock_items,
    "agent": _agent_items,
    "checks": _check_items,
    "diagnoses": _diagnosis_items,
}

__all__ = ["SCHEMA", "compare", "read_report"]
