"""The fleet's plain data: what ``report`` rolled up and what ``compare`` found.

Frozen dataclasses with no I/O, like :mod:`arc_preflight.model`; the renderers under
``arc_preflight.render`` read them. The per-check rows use ``__slots__``: a roll-up of 10,000
hosts holds hundreds of thousands of them, and a slotted instance is a third the size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..model import Status

FLEET_SCHEMA = "arc-preflight-fleet/1"
COMPARE_SCHEMA = "arc-preflight-compare/1"

# Why an input is listed rather than rolled up (or rolled up with a flag, for "stale").
PROBLEM_KINDS = ("unreadable", "schema", "duplicate", "stale")


@dataclass(frozen=True)
class HostCheck:
    """One check of one host, as the roll-up keeps it (the facts are dropped)."""

    __slots__ = ("cause_id", "code", "id", "probe", "status", "summary", "target")
    id: str
    probe: str
    target: str
    status: Status
    code: Optional[str]
    summary: str
    cause_id: Optional[str]  # the diagnosis whose evidence this check is, if any

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        # Frozen and slotted: pickle (worker processes send these back) must rebuild it
        # through __init__, since setting slots one by one is refused.
        return (HostCheck, (self.id, self.probe, self.target, self.status, self.code,
                            self.summary, self.cause_id))


@dataclass(frozen=True)
class HostDiagnosis:
    """A cause found on one host; its text lives once in the fleet's :class:`CauseInfo`."""

    cause_id: str
    severity: str
    evidence: Tuple[str, ...]
    checks: Tuple[str, ...]


@dataclass(frozen=True)
class CauseInfo:
    """A knowledge-base entry as the reports stated it (the first report to name it wins)."""

    cause_id: str
    category: str
    severity: str
    title: str
    explanation: str
    remedy: Tuple[str, ...]
    docs: Tuple[str, ...]
    azcm: Tuple[str, ...]


@dataclass(frozen=True)
class HostReport:
    """One host's latest report, reduced to what a fleet view shows."""

    hostname: str
    source: str  # the file (or stdin:LINE) it came from
    started_at: str
    started: Optional[float]  # epoch seconds of started_at, None when unparsable
    status: Status
    exit_code: int
    tool_version: str
    os: str
    elevated: bool
    duration_s: float
    cloud: str
    location: str
    proxy: str
    counts: Tuple[Tuple[Status, int], ...]  # checks by status
    problems: Tuple[HostCheck, ...]  # checks that warned, failed or erred
    diagnoses: Tuple[HostDiagnosis, ...]
    # Every check as the CSV shows it, kept only when asked (csvrow): its columns check_id to
    # code encoded (one string per kind of check, the tuple shared by hosts with the same
    # checks), its message encoded, and the cause it is evidence of (() when none is). A fleet's
    # CSV is 600,000 rows, so they are kept as shared text rather than as a HostCheck each.
    csv_heads: Tuple[str, ...] = ()
    csv_messages: Tuple[str, ...] = ()
    csv_causes: Tuple[Optional[str], ...] = ()
    stale: bool = False
    # The agent's identity as its check recorded it (resource id, VM id): two hosts holding
    # the same one are clones of a connected image.
    agent_identity: Tuple[Tuple[str, str], ...] = ()

    @property
    def verdict(self) -> Status:
        """The status the fleet counts: a stale report cannot vouch for the host today, so a
        stale host is at least "could not judge"."""
        return Status.worst((self.status, Status.UNKNOWN)) if self.stale else self.status

    def count(self, status: Status) -> int:
        return sum(n for s, n in self.counts if s == status)


@dataclass(frozen=True)
class InputProblem:
    """An input that was not rolled up as it is: unreadable, another schema, a duplicate host
    (superseded by a later report), or a stale report (rolled up, and listed)."""

    kind: str  # one of PROBLEM_KINDS
    source: str
    reason: str
    hostname: Optional[str] = None

    @property
    def verdict(self) -> Status:
        """What it adds to the fleet's verdict: an unreadable or foreign report hides a host."""
        return Status.UNKNOWN if self.kind in ("unreadable", "schema") else Status.PASS


@dataclass(frozen=True)
class CauseRollup:
    """One cause and every host it hit."""

    cause: CauseInfo
    hosts: Tuple[str, ...]
    severity: str  # the worst severity any host reported it with


@dataclass(frozen=True)
class EndpointCell:
    """Why one endpoint failed on one host: its first failing layer."""

    hostname: str
    check_id: str
    status: Status
    code: Optional[str]
    summary: str


@dataclass(frozen=True)
class EndpointRollup:
    """One endpoint and the hosts where it failed or warned."""

    endpoint: str
    cells: Tuple[EndpointCell, ...]

    def codes(self) -> List[Tuple[str, int]]:
        """Failure codes with how many hosts showed each, most frequent first."""
        found: Dict[str, int] = {}
        for cell in self.cells:
            key = cell.code or cell.status.value
            found[key] = found.get(key, 0) + 1
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Fleet:
    """Every host's latest report rolled up."""

    tool_version: str
    inputs: int  # reports read, including the unreadable ones
    hosts: Tuple[HostReport, ...]  # worst first, then by name
    problems: Tuple[InputProblem, ...]
    causes: Tuple[CauseRollup, ...]  # most hosts first
    endpoints: Tuple[EndpointRollup, ...]  # most hosts first
    newest: Optional[str]  # started_at of the newest report
    stale_after_s: float  # 0: staleness not judged

    @property
    def status(self) -> Status:
        """The worst host's verdict; an unreadable report counts as "could not judge"."""
        return Status.worst([*(h.verdict for h in self.hosts),
                             *(p.verdict for p in self.problems)])

    @property
    def exit_code(self) -> int:
        return self.status.exit_code

    def by_status(self) -> List[Tuple[Status, Tuple[HostReport, ...]]]:
        """Hosts grouped by verdict, the worst group first; empty groups left out."""
        groups: Dict[Status, List[HostReport]] = {}
        for host in self.hosts:
            groups.setdefault(host.verdict, []).append(host)
        order = sorted(groups, key=lambda s: (-s.rank, s.value))
        return [(status, tuple(groups[status])) for status in order]

    def unreadable(self) -> int:
        return sum(1 for p in self.problems if p.verdict != Status.PASS)


def status_counts(hosts: Iterable[HostReport]) -> List[Tuple[Status, int]]:
    """(verdict, number of hosts) for every verdict, worst first."""
    found: Dict[Status, int] = {}
    for host in hosts:
        found[host.verdict] = found.get(host.verdict, 0) + 1
    return sorted(found.items(), key=lambda item: (-item[0].rank, item[0].value))


# -- compare ---------------------------------------------------------------------------------

# The sections of a comparison, in the order a person reads them.
SECTIONS: Tuple[Tuple[str, str], ...] = (
    ("verdict", "Verdict"),
    ("settings", "Settings"),
    ("dns", "DNS answers"),
    ("route", "Route and proxy"),
    ("tls", "TLS version and issuer"),
    ("clock", "Clock"),
    ("agent", "Agent"),
    ("checks", "Checks whose status differs"),
    ("diagnoses", "Diagnoses only one has"),
)


@dataclass(frozen=True)
class Side:
    """One of the two reports compared."""

    label: str  # "A" or "B"
    source: str
    hostname: str
    status: Status
    started_at: str
    tool_version: str


@dataclass(frozen=True)
class Difference:
    """One thing that differs; ``a``/``b`` are what each side showed ("-" for absent)."""

    section: str  # a key of SECTIONS
    item: str
    a: str
    b: str


@dataclass(frozen=True)
class Comparison:
    a: Side
    b: Side
    differences: Tuple[Difference, ...]
    compared: Tuple[Tuple[str, int], ...] = ()  # section -> items compared (same or not)

    @property
    def exit_code(self) -> int:
        """0 when nothing differs, 1 when something does (``diff``'s convention)."""
        return 1 if self.differences else 0

    def section(self, key: str) -> Tuple[Difference, ...]:
        return tuple(d for d in self.differences if d.section == key)
