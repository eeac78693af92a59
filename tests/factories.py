"""Hand-built results, diagnoses and reports for tests that render or judge a run.

One place knows how :class:`~arc_preflight.model.Result`, ``Diagnosis`` and ``Report`` are put
together, so a field added to the model (with a default) is added here once, not in every test
file. Every helper fills what the model requires with plain, recognisable values and takes the
rest as keywords; ``diagnosis`` and ``report`` pass unknown keywords straight to the model
(``Diagnosis(checks=...)`` works as soon as the model has that field).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Union

from arc_preflight.model import Change, Diagnosis, HostInfo, Report, Result, Status

HOST = HostInfo(hostname="web01", os="Linux 6.1", python="3.11.7", elevated=True)
SETTINGS: Mapping[str, Any] = {"cloud": "AzureCloud", "location": "eastus", "proxy": None,
                               "dns_servers": "system"}
STARTED_AT = "2026-01-01T00:00:00Z"
TOOL_VERSION = "0.1.0"

DNS_TITLE = "An endpoint name does not resolve"
DNS_EXPLANATION = "DNS answered NXDOMAIN for a name the agent needs."
DNS_REMEDY = ("Fix the DNS forwarders.", "Flush the resolver cache.")
DNS_DOCS = ("https://learn.microsoft.com/azure/azure-arc/servers/network-requirements",)


def result(
    check_id: str,
    status: Union[Status, str],
    summary: str = "",
    *,
    code: Optional[str] = None,
    probe: Optional[str] = None,
    target: Optional[str] = None,
    duration_ms: int = 10,
    blocked_by: Optional[str] = None,
    facts: Optional[Mapping[str, Any]] = None,
) -> Result:
    """A finished check. The probe is the id's part before ``:`` and the target the part after
    it (the whole id when there is no ``:``) unless given; the summary defaults to
    ``"<id> <status>"``. ``status`` may be a :class:`Status` or its value (``"fail"``)."""
    state = Status(status)
    head, sep, tail = check_id.partition(":")
    return Result(
        id=check_id,
        probe=probe if probe is not None else head,
        target=target if target is not None else (tail if sep else check_id),
        status=state,
        summary=summary or f"{check_id} {state.value}",
        code=code,
        duration_ms=duration_ms,
        blocked_by=blocked_by,
        facts=dict(facts) if facts is not None else {},
    )


def diagnosis(
    title: str = DNS_TITLE,
    *,
    cause_id: str = "dns_name_not_found",
    category: str = "dns_failure",
    severity: str = "fail",
    explanation: str = DNS_EXPLANATION,
    remedy: Sequence[str] = DNS_REMEDY,
    docs: Sequence[str] = DNS_DOCS,
    azcm: Sequence[str] = ("AZCM0026",),
    evidence: Sequence[str] = ("dns:login.microsoftonline.com: NXDOMAIN",),
    **kwargs: Any,
) -> Diagnosis:
    """A found cause; by default the knowledge base's "name does not resolve" entry.

    Other ``Diagnosis`` fields (``source``, ``lines``, and ``checks`` once the model has it) are
    passed through as keywords.
    """
    return Diagnosis(cause_id=cause_id, category=category, severity=severity, title=title,
                     explanation=explanation, remedy=tuple(remedy), docs=tuple(docs),
                     azcm=tuple(azcm), evidence=tuple(evidence), **kwargs)


def report(
    checks: Iterable[Result] = (),
    diagnoses: Iterable[Diagnosis] = (),
    *,
    host: HostInfo = HOST,
    settings: Optional[Mapping[str, Any]] = None,
    started_at: str = STARTED_AT,
    duration_s: float = 1.234,
    tool_version: str = TOOL_VERSION,
    changes: Iterable[Change] = (),
    notices: Iterable[str] = (),
    **kwargs: Any,
) -> Report:
    """A whole run of the given checks and diagnoses (lists or tuples).

    ``settings`` defaults to a copy of :data:`SETTINGS`; ``profile``, ``fail_on`` and any later
    ``Report`` field are passed through as keywords and otherwise keep the model's defaults.
    """
    shown: Dict[str, Any] = dict(SETTINGS if settings is None else settings)
    return Report(tool_version=tool_version, host=host, started_at=started_at,
                  duration_s=duration_s, settings=shown, checks=tuple(checks),
                  diagnoses=tuple(diagnoses), changes=tuple(changes), notices=tuple(notices),
                  **kwargs)
