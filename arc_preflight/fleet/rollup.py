"""Many hosts' reports into one :class:`~.model.Fleet`: latest report per host, staleness,
causes ranked by the hosts they hit, and the endpoints that failed where.

Rules, as the README states them:

- **duplicates**: host names are compared without case (Windows names are case-insensitive);
  the report that started last wins (on a tie, the one read last) and every other one is listed
  as ``duplicate``, naming the report that superseded it.
- **stale**: a report that started more than ``stale_after_s`` before the *newest* report of the
  set is stale (0 turns the rule off). Measuring from the newest report rather than from the
  clock gives the same answer tomorrow for an archived set, and still flags the host whose
  scheduled run stopped while the others went on. A stale host stays in the roll-up with its own
  status, is listed, and counts as at least "could not judge" in the exit code.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional, Set, Tuple

from ..model import Status
from .load import Loaded
from .model import (
    CauseInfo,
    CauseRollup,
    EndpointCell,
    EndpointRollup,
    Fleet,
    HostCheck,
    HostDiagnosis,
    HostReport,
    InputProblem,
)

DEFAULT_STALE_S = 24 * 3600.0
_LAYERS = ("dns", "tcp", "tls", "https")


def build(loaded: Loaded, tool_version: str, stale_after_s: float = DEFAULT_STALE_S) -> Fleet:
    problems: List[InputProblem] = list(loaded.problems)
    hosts = _shared_identity(_latest_per_host(loaded.hosts, problems), loaded)
    known = [h.started for h in hosts if h.started is not None]
    newest_at = max(known) if known else None
    newest = next((h.started_at for h in hosts if h.started == newest_at), None)
    if stale_after_s > 0 and newest_at is not None:
        hosts = [_judge_age(h, newest_at, newest or "", stale_after_s, problems) for h in hosts]
    hosts.sort(key=lambda h: (-h.verdict.rank, h.hostname.casefold(), h.hostname))
    order = {"unreadable": 0, "schema": 1, "stale": 2, "duplicate": 3}
    problems.sort(key=lambda p: (order.get(p.kind, 9), p.source))
    return Fleet(tool_version=tool_version, inputs=loaded.inputs, hosts=tuple(hosts),
                 problems=tuple(problems), causes=_causes(hosts, loaded),
                 endpoints=_endpoints(hosts), newest=newest, stale_after_s=stale_after_s)


def _latest_per_host(hosts: List[HostReport], problems: List[InputProblem]) -> List[HostReport]:
    chosen: Dict[str, HostReport] = {}
    losers: List[Tuple[HostReport, str]] = []
    for host in hosts:
        key = host.hostname.casefold()
        held = chosen.get(key)
        if held is None:
            chosen[key] = host
            continue
        if _when(host) >= _when(held):
            losers.append((held, key))
            chosen[key] = host
        else:
            losers.append((host, key))
    for loser, key in losers:
        winner = chosen[key]
        problems.append(InputProblem(
            "duplicate", loser.source,
            f"{loser.hostname} again: this report started {loser.started_at}; "
            f"{winner.source} (started {winner.started_at}) is used instead", loser.hostname))
    return list(chosen.values())


CLONED = "cloned_machine_identity"


def _shared_identity(hosts: List[HostReport], loaded: Loaded) -> List[HostReport]:
    """Hosts whose agents hold the same resource id or VM id: machines cloned from a connected
    image heartbeat for one resource (agent-overview.md, "Cloning guidelines"). One host cannot
    see this; the fleet can, so each of them gets the cloned-identity diagnosis."""
    holders: Dict[Tuple[str, str], List[HostReport]] = {}
    for host in hosts:
        for kind, value in host.agent_identity:
            holders.setdefault((kind, value.casefold()), []).append(host)
    shared: Dict[str, List[str]] = {}
    for (kind, _), owners in holders.items():
        if len(owners) < 2:
            continue
        what = "resource id" if kind == "resource" else "VM id"
        for owner in owners:
            value = dict(owner.agent_identity)[kind]
            others = ", ".join(sorted((o.hostname for o in owners if o is not owner),
                                      key=str.casefold))
            shared.setdefault(owner.hostname, []).append(
                f"agent: {what} {value} is also held by {others}")
    if not shared:
        return hosts
    if CLONED not in loaded.causes:
        from ..kb import load as load_kb

        cause = load_kb().get(CLONED)
        if cause is None:  # pragma: no cover - the packaged knowledge base has it
            return hosts
        loaded.causes[CLONED] = CauseInfo(
            cause_id=cause.id, category=cause.category, severity=cause.severity,
            title=cause.title, explanation=cause.explanation, remedy=cause.remedy,
            docs=cause.docs, azcm=cause.azcm)
    found = []
    for host in hosts:
        evidence = shared.get(host.hostname)
        if evidence and all(d.cause_id != CLONED for d in host.diagnoses):
            # A finding the host could not report itself still makes it at least a warning.
            host = dataclasses.replace(host, status=Status.worst((host.status, Status.WARN)),
                                       diagnoses=(*host.diagnoses, HostDiagnosis(
                                           cause_id=CLONED, severity="warn",
                                           evidence=tuple(evidence), checks=("agent",))))
        found.append(host)
    return found


def _when(host: HostReport) -> float:
    return host.started if host.started is not None else float("-inf")


def _judge_age(host: HostReport, newest_at: float, newest: str, limit: float,
               problems: List[InputProblem]) -> HostReport:
    if host.started is None:
        reason = f"its start time {host.started_at!r} cannot be read, so its age is unknown"
    elif newest_at - host.started > limit:
        reason = (f"started {host.started_at}, {_age(newest_at - host.started)} before the "
                  f"newest report ({newest})")
    else:
        return host
    problems.append(InputProblem("stale", host.source, reason, host.hostname))
    return dataclasses.replace(host, stale=True)


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


def _causes(hosts: List[HostReport], loaded: Loaded) -> Tuple[CauseRollup, ...]:
    hit: Dict[str, List[str]] = {}
    worst: Dict[str, str] = {}
    for host in hosts:
        seen: Set[str] = set()
        for diag in host.diagnoses:
            if diag.cause_id in seen:
                continue
            seen.add(diag.cause_id)
            hit.setdefault(diag.cause_id, []).append(host.hostname)
            if diag.severity == "fail" or diag.cause_id not in worst:
                worst[diag.cause_id] = diag.severity
    rolled = [CauseRollup(cause=loaded.causes[cid], hosts=tuple(sorted(names, key=str.casefold)),
                          severity=worst[cid]) for cid, names in hit.items()]
    rolled.sort(key=lambda c: (-len(c.hosts), c.severity != "fail", c.cause.cause_id))
    return tuple(rolled)


def endpoint_of(check: HostCheck) -> Optional[str]:
    """The endpoint a network check probes (host name without the port), else None."""
    if check.probe not in _LAYERS:
        return None
    name, sep, port = check.target.rpartition(":")
    return name if sep and port.isdigit() and check.probe != "dns" else check.target


def _endpoints(hosts: List[HostReport]) -> Tuple[EndpointRollup, ...]:
    cells: Dict[str, List[EndpointCell]] = {}
    for host in hosts:
        first: Dict[str, HostCheck] = {}
        for check in host.problems:
            endpoint = endpoint_of(check)
            if endpoint is None:
                continue
            held = first.get(endpoint)
            # The root failure is the lowest layer (DNS before TCP before TLS before HTTPS);
            # among equals, a failure before a warning.
            if held is None or _layer_key(check) < _layer_key(held):
                first[endpoint] = check
        for endpoint, check in first.items():
            cells.setdefault(endpoint, []).append(EndpointCell(
                hostname=host.hostname, check_id=check.id, status=check.status, code=check.code,
                summary=check.summary))
    rolled = [EndpointRollup(endpoint=name, cells=tuple(sorted(
        found, key=lambda c: (-c.status.rank, c.hostname.casefold()))))
        for name, found in cells.items()]
    rolled.sort(key=lambda e: (-len(e.cells), -max(c.status.rank for c in e.cells), e.endpoint))
    return tuple(rolled)


def _layer_key(check: HostCheck) -> Tuple[int, int]:
    return (_LAYERS.index(check.probe), -check.status.rank)
