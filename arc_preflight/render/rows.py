"""The rows of the terminal report, as plain data: what each row says, before any layout.

One row per host check, and one per endpoint (host:port) whatever its layers (DNS, TCP, TLS,
HTTPS). A row with a problem carries its reason (the first failure, else the first warning) and
failure code; a passing row carries a few short facts (route, TLS version, issuer). Problem rows
come first, worst first, each group keeping the plan's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..model import Report, Result, Status
from ..redact import redact

HOST_KINDS = ("privilege", "service", "himds", "agent", "imds", "clock", "proxy")
CONNECT_KINDS = ("params", "auth")
LAYERS = ("dns", "tcp", "tls", "https")


@dataclass(frozen=True)
class Row:
    """One line of a section: who, how it went, and what to say about it."""

    name: str
    status: Status
    reason: str  # the problem, or what a passing/skipped check learnt (redacted)
    code: Optional[str] = None
    brief: Tuple[str, ...] = ()  # short facts of a passing row, most useful first
    layers: Dict[str, Status] = field(default_factory=dict)  # endpoint rows only
    details: Tuple[Tuple[str, Result], ...] = ()  # (label, result) for --verbose


def _order(rows: Sequence[Row]) -> List[Row]:
    """Problems first (failures, then errors, then warnings), otherwise the plan's order."""
    return sorted(rows, key=lambda row: -row.status.rank if row.status.is_problem else 0)


def _route(result: Result) -> str:
    via = result.facts.get("route")
    return f"via {via}" if via in ("proxy", "gateway") else ""


def _text(result: Result) -> str:
    return " ".join(redact(result.summary).split())


def host_rows(report: Report, kinds: Sequence[str]) -> List[Row]:
    """Rows of the checks of these probe kinds; for ``HOST_KINDS``, also of any kind that is
    neither an endpoint layer nor a connect check (a probe added later is never left out)."""
    others = kinds == HOST_KINDS
    rows = []
    for result in report.checks:
        if result.probe not in kinds and not (
                others and result.probe not in LAYERS and result.probe not in CONNECT_KINDS):
            continue
        code = result.code if result.status.is_problem else None
        rows.append(Row(name=redact(result.id), status=result.status, reason=_text(result),
                        code=code, details=((result.id, result),)))
    return _order(rows)


def _group(report: Report) -> Dict[str, Dict[str, Result]]:
    """Endpoint checks by host:port; a DNS check covers every port of its host."""
    grouped: Dict[str, Dict[str, Result]] = {}
    for result in report.checks:
        if result.probe in LAYERS and result.probe != "dns":
            grouped.setdefault(result.target, {})[result.probe] = result
    for result in report.checks:
        if result.probe == "dns":
            ports = [t for t in grouped if t.rsplit(":", 1)[0] == result.target]
            for target in ports or [f"{result.target}:443"]:
                grouped.setdefault(target, {})["dns"] = result
    return grouped


_GENERIC = re.compile(r"^(RSA|ECC|TLS|SSL|Issuing|CA\d*|G\d+|SHA\d+|\d+|Root|Server|Secure|"
                      r"EV|DV|OV|Certification|Authority|Inc\.?|Ltd\.?|Corp\.?|Corporation)$",
                      re.IGNORECASE)


def issuer_short(issuer: str) -> str:
    """The issuer's name without the words every CA name has ("Microsoft Azure RSA TLS Issuing
    CA 03" is "Microsoft Azure")."""
    words = [w for w in redact(issuer).replace(",", " ").split() if not _GENERIC.match(w)]
    return " ".join(words[:2]) or redact(issuer).strip()


def _passing_brief(layers: Dict[str, Result]) -> Tuple[str, ...]:
    facts: List[str] = []
    for result in layers.values():
        route = _route(result)
        if route:
            facts.append(route)
            break
    tls = layers.get("tls")
    if tls is not None and tls.status == Status.PASS:
        version = str(tls.facts.get("version") or "")
        if version:
            facts.append(version.replace("TLSv", "TLS "))
        issuer = tls.facts.get("issuer")
        if issuer:
            facts.append(issuer_short(str(issuer)))
    return tuple(facts)


def _endpoint_row(target: str, layers: Dict[str, Result]) -> Row:
    ordered = [layers[kind] for kind in LAYERS if kind in layers]
    worst = Status.worst(r.status for r in ordered)
    states = {kind: layers[kind].status for kind in LAYERS if kind in layers}
    details = tuple((kind, layers[kind]) for kind in LAYERS if kind in layers)
    if worst.is_problem:
        failing = [r for r in ordered if r.status in (Status.FAIL, Status.ERROR)]
        first = (failing or [r for r in ordered if r.status.is_problem])[0]
        return Row(redact(target), worst, _text(first), first.code, layers=states,
                   details=details)
    if any(r.status == Status.PASS for r in ordered):
        return Row(redact(target), Status.PASS, "ok", brief=_passing_brief(layers),
                   layers=states, details=details)
    return Row(redact(target), Status.SKIP, _text(ordered[0]), layers=states, details=details)


def endpoint_rows(report: Report) -> List[Row]:
    return _order([_endpoint_row(target, layers) for target, layers in _group(report).items()])


def counts(report: Report) -> Dict[str, int]:
    """Checks by outcome, as the closing lines say them."""
    tally = {"failed": 0, "warnings": 0, "passed": 0, "skipped": 0}
    for result in report.checks:
        if result.status in (Status.FAIL, Status.ERROR):
            tally["failed"] += 1
        elif result.status == Status.WARN:
            tally["warnings"] += 1
        elif result.status == Status.PASS:
            tally["passed"] += 1
        else:
            tally["skipped"] += 1
    return tally
