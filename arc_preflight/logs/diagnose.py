"""Events from an agent log -> diagnoses: each cause once, the most decisive first, with evidence.

How a line becomes a cause:

* **Message patterns first.** A line's causes come from the knowledge base's message patterns
  (through :class:`.scanner.Matcher`, equal to ``KnowledgeBase.match_text``). Several may match
  one line; the most decisive is kept, plus any other whose match covers *different* text (a line
  listing several failed endpoints) or the very same text with a different category (the seed's
  "no such host" row: DNS, or the profile-cleanup policy). Umbrella entries (priority below
  :data:`.explains.UMBRELLA`) are dropped when a specific cause is on the line.
* **AZCM codes second.** A line with an ``AZCMnnnn`` code but no known message (or only an
  umbrella message such as ``AZCM0026: Network Error``) says *that* the command failed, not why.
  It is held back until the whole scope is read; then it joins, as evidence, the diagnosis whose
  cause lists its code (AZCM0041 next to ``AADSTS7000215``), else the failing diagnosis seen last
  before it (AZCM0042 after an ARM ``Forbidden``), and its code is added to that diagnosis's
  ``azcm`` list. With no such diagnosis, the code's own entries become diagnoses: its umbrella
  entry if it has one, else every entry for the code (AZCM0147 means either an Azure VM or a
  missing ``--desiredversion``; AZCM0041 a bad secret or an unknown app or tenant).
* **The reason wins over the symptom.** A generic transport failure (a timeout, a reset, a
  refused connection, "unable to connect": firewall_or_proxy_blocking below priority 70) beside a
  cause that says why (DNS, no route, the proxy, a rejected certificate, the clock, Private Link:
  :data:`.explains.SPECIFIC_CONNECTIVITY`) is evidence of that cause, on one line and across
  the scope (:data:`.explains.GENERIC_BESIDE`); so is a wrapper's "could not" beside the reason
  of its own category (``generic = true``). A whole log of several attempts is not folded
  across them.
* **Result records.** Some tools print a result as a record of several lines (the Azure Local
  environment checker's Name, Title, Status, TargetResourceName... lines). A cause marked
  ``record`` in the knowledge base matches the line that says what was tested, and counts only
  when the record's failed status line (:data:`RECORD_FAILED`) follows within
  :data:`RECORD_SPAN` lines (:data:`RECORD_SPAN_JSON` in the JSON layout), before another record
  line: a passed check names the same test and
  must say nothing. Every record's Name line is a record line (a generic, umbrella cause for the
  tests the knowledge base does not know), so a record never borrows the next one's status.
* **Unknown errors last.** Error, fatal and panic lines, and lines that report a failure in
  words (``FAILED``, an exception, ``error:``, a non-zero exit code, HTTP 4xx/5xx; see
  ``lines.FAILURE_PATTERNS``), that match nothing (and codes the knowledge base does not know)
  become one ``unknown`` diagnosis, severity warn, when nothing else was found: a text with a
  failure line is never met with "nothing found".

A cause seen only on lines the agent logged below error level (trace, debug, info, warning) is
demoted to a warning: the agent itself did not treat it as a failure (a retried timeout).

Scope: by default only the latest connect attempt (see ``lines.BOUNDARY_PATTERNS``): from the
last line that starts one (``Agent Command: connect``) to the next ``Agent Command:`` line of
another command, or the end of the input; two start markers at most 20 lines apart with
nothing found between them (the echoed command line, then "Onboarding Machine") are one attempt.
If no attempt start is found, the whole input is one attempt. ``--all`` reads everything.
``--since`` reads everything dated at or after a time, whatever the attempts (undated lines take
the date of the dated line before them; lines before any dated line count). Memory is bounded:
at most :data:`MAX_EVIDENCE` lines are kept per cause, whatever the size of the input.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..errors import LogReadError
from ..kb import KnowledgeBase, remedy_for
from ..model import Cause, Diagnosis, LogDiagnosis, LogReport
from ..redact import excerpt
from .explains import GENERIC_BESIDE, UMBRELLA, after_the_connect, explains, hosts_in
from .inputs import ScanStats, open_log
from .levels import ERROR_LEVELS
from .lines import (
    exit_code_azcm,
    opens_as_advice,
    reads_as_advice,
    states_requirement,
)
from .scanner import Event, matcher_for, scan_stream

RECORD_SPAN = 15  # most lines from a result record's name or target to its status line
# The JSON layout (ConvertTo-Json of the results) puts the failed status inside AdditionalData,
# after a Detail that can be a whole multi-line table (the physical disk validator prints one row
# per disk: https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-Test-PhysicalDisk-API.md),
# so a quoted Name line waits longer for it. The next record's Name line still ends the wait.
RECORD_SPAN_JSON = 120
# The line that reports a record's result. Only it confirms a held record line: an error logged
# by something else after a passed record (whose ``Status : SUCCESS`` line is no event) must not.
RECORD_FAILED = re.compile(
    r'\bStatus"?\s{0,30}[:=]\s{0,4}"?(?:FAILURE|FAILED|ERROR|CRITICAL)\b', re.IGNORECASE)
# Categories whose patterns include statements of a requirement ("must be run as root", "run
# PowerShell as Administrator"): such a match is evidence only where the line is not advice
# (lines.reads_as_advice), for a usage text or a how-to says the same words as a refusal.
ADVICE_SENSITIVE = frozenset({"not_admin"})
MAX_EVIDENCE = 5
# How far before a failing umbrella line (or, right before, a failure line no cause explains) a
# failure cause logged as a warning may stand and still be its reason (see _reason_before).
REASON_SPAN = 30
REASON_SPAN_UNKNOWN = 1
TROUBLESHOOT = "https://learn.microsoft.com/azure/azure-arc/servers/troubleshoot-agent-onboard"

UNKNOWN = Cause(
    id="unrecognised_errors",
    category="unknown",
    severity="warn",
    title="Errors the knowledge base does not recognise",
    explanation=(
        "The text reports errors or failures that match no known cause. They may be harmless, "
        "or a cause this tool does not know yet; the evidence lines are the best lead."
    ),
    remedy=(
        "Read the evidence lines and the lines around them in the log or output.",
        "Run arc-preflight check with the same flags as azcmagent connect: its live probes "
        "confirm or rule out the network, proxy, TLS and identity causes.",
        "If the cause is still unclear, collect the agent's logs with azcmagent logs and open a "
        "support request.",
    ),
    docs=(TROUBLESHOOT,),
)

_WINDOWS_HINTS = re.compile(r"connectex:|wsarecv|wsasend|getaddrinfow|[A-Za-z]:\\|\.exe\b|"
                            r"ProgramData", re.IGNORECASE)
_LINUX_HINTS = re.compile(r"/var/opt/azcmagent|/opt/azcmagent|systemctl|himdsd|"
                          r"install_linux_azcmagent", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Per-line cause selection
# ---------------------------------------------------------------------------------------------


def line_causes(event: Event) -> List[Tuple[Cause, int, int]]:
    """The causes a line stands for: the most decisive, and others about different text (but
    not a generic transport failure beside the specific connectivity cause that explains it)."""
    kept: List[Tuple[Cause, int, int]] = []
    advice: Optional[bool] = None
    for cause, start, end in event.causes:  # most decisive first
        if cause.category in ADVICE_SENSITIVE and states_requirement(event.text[start:end]):
            # "Note: This script must be run as Administrator": a requirement stated as
            # advice is not the tool refusing to run
            if advice is None:
                advice = reads_as_advice(event.text, event.level, event.msg)
            if advice:
                continue
        if cause.priority < UMBRELLA and any(k.priority >= UMBRELLA for k, _, _ in kept):
            continue
        overlapping = [(k, s, e) for k, s, e in kept if start < e and s < end]
        if overlapping and not all((s, e) == (start, end) and k.category != cause.category
                                   for k, s, e in overlapping):
            continue
        kept.append((cause, start, end))
    # "curl: (56) Received HTTP code 407 from proxy": the reason and its symptom on one line
    return [item for item in kept if not _explained_on_line(item[0], kept)]


def _explained_on_line(cause: Cause, kept: List[Tuple[Cause, int, int]]) -> bool:
    """Whether a generic failure is explained by a specific cause on its own line. The rule of
    the scope-level fold (:func:`_may_explain`) holds here too: a refused or unanswered TCP
    connect is not explained by what is said after one, so "One or more errors occurred. (...
    actively refused it.) (The remote certificate is invalid ...)" stays two failures. Hosts
    are not compared: on one line they cannot be told apart per failure. A wrapper
    (``generic = true``) is also explained by a failing cause of another category on its own
    line: Entra ID's "AADSTS70002: Error validating credentials. AADSTS50012: Client assertion is
    not within its valid time range" is the clock, said inside the wrapper's sentence."""
    return any((explains(k, cause) or _wraps(cause, k)) and not after_the_connect(cause, k)
               for k, _, _ in kept)


def _wraps(generic: Cause, specific: Cause) -> bool:
    """Whether ``specific``, found on the same line, is the reason ``generic`` wraps (a category
    with rules of its own on what explains it, :data:`.explains.GENERIC_BESIDE`, keeps them)."""
    return (generic.generic and generic.category not in GENERIC_BESIDE and not specific.generic
            and specific.severity == "fail" and specific.priority >= UMBRELLA)


# ---------------------------------------------------------------------------------------------
# Aggregation (bounded memory)
# ---------------------------------------------------------------------------------------------


@dataclass
class _Evidence:
    lines: List[int] = field(default_factory=list)
    texts: List[str] = field(default_factory=list)
    count: int = 0
    first: int = 0
    last: int = 0
    codes: Dict[str, None] = field(default_factory=dict)
    strong: bool = False  # seen on a line at error level or above, or without a level
    windows: bool = False
    linux: bool = False

    def add(self, event: Event, start: int, end: int, codes: Iterable[str] = ()) -> None:
        self.count += 1
        if not self.first:
            self.first = event.line_no
        self.last = event.line_no
        for code in codes:
            self.codes[code] = None
        if event.level is None or event.level in ERROR_LEVELS:
            self.strong = True
        if len(self.lines) < MAX_EVIDENCE:
            self.lines.append(event.line_no)
            self.texts.append(excerpt(event.text, start, end))
            self.windows = self.windows or bool(_WINDOWS_HINTS.search(event.text))
            self.linux = self.linux or bool(_LINUX_HINTS.search(event.text))

    def merge(self, other: _Evidence) -> None:
        self.count += other.count
        self.first = min(self.first, other.first) if self.first else other.first
        self.last = max(self.last, other.last)
        self.codes.update(other.codes)
        self.strong = self.strong or other.strong
        self.windows = self.windows or other.windows
        self.linux = self.linux or other.linux
        pairs = sorted(set(zip(self.lines, self.texts)) | set(zip(other.lines, other.texts)))
        self.lines = [n for n, _ in pairs[:MAX_EVIDENCE]]
        self.texts = [t for _, t in pairs[:MAX_EVIDENCE]]


class _Scope:
    """Everything learnt from one stretch of the log."""

    def __init__(self, kb: KnowledgeBase, start_line: int = 1) -> None:
        self.kb = kb
        self.start_line = start_line
        self.end_line = start_line
        self.by_cause: Dict[str, Tuple[Cause, _Evidence]] = {}
        self.by_code: Dict[str, _Evidence] = {}
        self.unknown = _Evidence()
        self.events = 0
        # the record line waiting for its record's status: (event, record causes, codes)
        self.held: Optional[Tuple[Event, List[Tuple[Cause, int, int]], Tuple[str, ...]]] = None

    def add(self, event: Event) -> None:
        self.events += 1
        self.end_line = event.line_no
        kept = line_causes(event)
        codes = event.azcm
        if not codes and event.failure:
            codes = exit_code_azcm(event.text)
        if any(cause.record for cause, _, _ in kept):
            # A result record names what it tested before it says whether that failed: hold
            # the line until the record's status. A later record line starts a new record, so a
            # passed check is never confirmed by the next check's failure.
            self.held = (event, [k for k in kept if k[0].record], codes)
            kept = [k for k in kept if not k[0].record]
        if self.held is not None and RECORD_FAILED.search(event.text):
            held_event, held_kept, held_codes = self.held
            self.held = None
            span = RECORD_SPAN_JSON if '"' in held_event.text else RECORD_SPAN
            confirmed = event.line_no - held_event.line_no <= span
            if confirmed:
                for cause, start, end in held_kept:
                    entry = self.by_cause.setdefault(cause.id, (cause, _Evidence()))
                    entry[1].add(held_event, start, end, held_codes)
            if confirmed and not kept and not codes:
                return  # the record's failed status, explained by what the record tested
        if kept:
            for cause, start, end in kept:
                entry = self.by_cause.setdefault(cause.id, (cause, _Evidence()))
                entry[1].add(event, start, end, codes)
            return
        failure = event.failure and not (event.level is None
                                          and opens_as_advice(event.text, event.msg))
        unknown_codes = []
        known = False
        for code in codes:
            if code == "AZCM0000":  # success
                continue
            if self.kb.by_azcm(code):
                known = True
                start = max(event.text.upper().find(code), 0)
                self.by_code.setdefault(code, _Evidence()).add(event, start, start + len(code),
                                                                (code,))
            elif code in event.azcm:
                unknown_codes.append(code)
        if unknown_codes or (not known and (event.is_error or failure)):
            start = event.text.upper().find(unknown_codes[0]) if unknown_codes else 0
            self.unknown.add(event, max(start, 0), max(start, 0) + 9, unknown_codes)

    def resolve(self, fold: bool = True) -> List[Tuple[Cause, _Evidence]]:
        """Causes with their evidence; AZCM-only and umbrella lines attached where they belong.

        A line that only carries an AZCM code, or only an umbrella message (``AZCM0026: Network
        Error``), says *that* the command failed; a specific cause found in the same scope says
        *why*. Such lines join the diagnosis whose cause lists their code, else the failing
        diagnosis seen last before them, else a failure cause logged as a warning shortly before
        them (:func:`_reason_before`), else the most decisive one. With ``fold``, generic
        transport failures join the specific connectivity cause of the scope
        (:func:`_fold_generic`): right for one attempt or one pasted text, not for a whole log of
        several attempts that may each have failed for another reason.
        """
        found: Dict[str, Tuple[Cause, _Evidence]] = {}
        pending: List[Tuple[str, List[Cause], _Evidence]] = []
        for key, (cause, evidence) in self.by_cause.items():
            if cause.priority < UMBRELLA:
                pending.append(("", [cause], evidence))
            else:
                found[key] = (cause, _copy(evidence))
        if fold:
            _fold_generic(found)
        for code, evidence in self.by_code.items():
            pending.append((code, self.kb.by_azcm(code), evidence))
        specific = list(found.values())
        failing = [item for item in specific if _severity(*item) == "fail"]
        # A failure cause its tool logged below error level (PowerShellGet's ``WARNING: Unable to
        # resolve package source`` before the failed install): said shortly before a failing
        # umbrella, it is the reason, and takes the umbrella's level with its lines
        # (:func:`_reason_before`). A cause that is only ever a warning (a newer agent exists)
        # explains no failure.
        downgraded = [item for item in specific if item[0].severity == "fail"]
        for code, candidates, evidence in pending:
            codes = [code] if code else list(evidence.codes)
            related = [item for item in specific if set(codes) & set(item[0].azcm)]
            target: Optional[Tuple[Cause, _Evidence]] = None
            if related:
                target = _nearest(related, evidence)
            elif failing:
                target = _nearest(failing, evidence)
            elif (reason := _reason_before(downgraded, evidence)) is not None:
                target = reason
            elif specific and (code or all(_severity(c, evidence) != "fail" for c in candidates)):
                # The most specific evidence wins even when logged below error level; a bare
                # code's list of possibilities adds nothing beside it (a failing umbrella beside
                # warnings only stays: "The command failed ..." says what no warning says).
                target = _nearest(specific, evidence)
            if target is not None:
                target[1].merge(evidence)
                continue
            umbrellas = [c for c in candidates if c.priority < UMBRELLA]
            chosen = [min(umbrellas, key=lambda c: c.priority)] if umbrellas else candidates
            for cause in chosen:
                entry = found.setdefault(cause.id, (cause, _Evidence()))
                entry[1].merge(evidence)
        if fold:
            # Umbrella entries left on their own (a "dial tcp: lookup" beside a validator's
            # "Not able to connect to") are folded the same way.
            _fold_generic(found)
        return sorted(found.values(), key=_rank)


def _may_explain(generic: Tuple[Cause, _Evidence], specific: Tuple[Cause, _Evidence]) -> bool:
    """Whether ``specific`` can be the reason of ``generic``: a failed TCP connect is not
    explained by what happens after it (:data:`.explains.AFTER_CONNECT`), and two lines that name
    different endpoints are two failures (a DNS failure for one name and a timeout to another
    address). A line that names no endpoint ("Unable to connect to the remote server") is taken
    to be about the one beside it."""
    if after_the_connect(generic[0], specific[0]):
        return False
    mine, theirs = hosts_in(generic[1].texts), hosts_in(specific[1].texts)
    return not mine or not theirs or bool(mine & theirs)


def _fold_generic(found: Dict[str, Tuple[Cause, _Evidence]]) -> None:
    """Generic transport failures join the specific connectivity cause that explains them.

    .NET's "Unable to connect to the remote server" above "No such host is known", curl's
    "Failed to connect ... port 443" before "No route to host", a reset beside "Received HTTP
    code 407 from proxy": the generic line is the symptom, the specific one the cause (issue 9:
    the most specific evidence wins). The generic lines stay as evidence of the cause seen last
    before them, so nothing the text reported is hidden, but the generic cause and its category
    are not listed beside the real one. Only a cause that can be the reason takes it in
    (:func:`_may_explain`); otherwise both stay.
    """
    for key in list(found):
        cause, evidence = found[key]
        targets = [item for other, item in found.items()
                   if other != key and explains(item[0], cause)
                   and _may_explain((cause, evidence), item)]
        if targets:
            _nearest(targets, evidence)[1].merge(evidence)
            del found[key]


def _reason_before(items: List[Tuple[Cause, _Evidence]], evidence: _Evidence,
                   span: int = REASON_SPAN) -> Optional[Tuple[Cause, _Evidence]]:
    """The item said last before ``evidence``'s first line and at most ``span`` lines before
    it (as :func:`_nearest` picks it), or None: a warning said long before a failure, or after
    it, is not taken to be its reason."""
    line = evidence.first
    near = [item for item in items if _seen_before(item, line) >= max(1, line - span)]
    return _nearest(near, evidence) if near else None


def _seen_before(item: Tuple[Cause, _Evidence], line: int) -> int:
    """The last line at or before ``line`` where the item's evidence was seen, or 0."""
    known = [n for n in (*item[1].lines, item[1].first, item[1].last) if n <= line]
    return max(known) if known else 0


def _nearest(items: List[Tuple[Cause, _Evidence]], evidence: _Evidence
             ) -> Tuple[Cause, _Evidence]:
    """The item seen last at or before the evidence's first line, else the most decisive."""
    line = evidence.first
    before = [item for item in items if _seen_before(item, line)]
    if before:
        return max(before, key=lambda item: (_seen_before(item, line), -_rank(item)[1]))
    return min(items, key=_rank)


def _copy(evidence: _Evidence) -> _Evidence:
    clone = _Evidence()
    clone.merge(evidence)
    return clone


def _rank(item: Tuple[Cause, _Evidence]) -> Tuple[int, int, int]:
    cause, evidence = item
    return (0 if _severity(cause, evidence) == "fail" else 1, -cause.priority, evidence.first)


def _severity(cause: Cause, evidence: _Evidence) -> str:
    return cause.severity if evidence.strong else "warn"


def _shown_system(evidence: _Evidence) -> str:
    """"windows" or "linux" when the evidence lines say which, else ""."""
    if evidence.windows != evidence.linux:
        return "windows" if evidence.windows else "linux"
    return ""


def _platform_for(evidence: _Evidence, platform: str) -> str:
    if evidence.windows and not evidence.linux:
        return "win32"
    if evidence.linux and not evidence.windows:
        return "linux"
    return platform


def _diagnosis(cause: Cause, evidence: _Evidence, source: str, platform: str) -> LogDiagnosis:
    codes = tuple(dict.fromkeys([*evidence.codes, *cause.azcm]))
    texts = tuple(f"{source}:{n}: {t}" for n, t in zip(evidence.lines, evidence.texts))
    remedy = remedy_for(cause, _platform_for(evidence, platform)) if cause is not UNKNOWN \
        else cause.remedy
    diag = Diagnosis(
        cause_id=cause.id, category=cause.category, severity=_severity(cause, evidence),
        title=cause.title, explanation=cause.explanation, remedy=remedy, docs=cause.docs,
        azcm=codes, evidence=texts, source=source, lines=tuple(evidence.lines),
    )
    return LogDiagnosis(diagnosis=diag, occurrences=evidence.count,
                        first_line=evidence.first, last_line=evidence.last)


def _finish(scope: _Scope, source: str, platform: str, fold: bool = True
            ) -> Tuple[LogDiagnosis, ...]:
    # A cause of one operating system only (the Windows profile-cleanup policy) is not offered
    # for a log whose own lines show it is another system's; pasted text without such hints
    # keeps both readings, whatever machine reads it.
    found = [(cause, ev) for cause, ev in scope.resolve(fold)
             if not cause.platform or _shown_system(ev) in ("", cause.platform)]
    unknown = scope.unknown
    report_unknown = bool(unknown.count) and not found
    if unknown.count and unknown.strong and found and \
            all(_severity(*item) != "fail" for item in found):
        # Failure lines no cause explains right after a failure cause its tool logged as a
        # warning (PowerShellGet's warnings, then the failed Install-PackageProvider record) are
        # its consequences, and carry it to a failure. Further away, beside such warnings only,
        # they are reported as they are (a warning by nature, not elevated, still explains them).
        downgraded = [item for item in found if item[0].severity == "fail"]
        reason = _reason_before(downgraded, unknown, REASON_SPAN_UNKNOWN)
        if reason is not None:
            reason[1].merge(_copy(unknown))
            found.sort(key=_rank)
        else:
            report_unknown = len(downgraded) == len(found)
    out = [_diagnosis(cause, ev, source, platform) for cause, ev in found]
    if report_unknown:
        # Failure lines that no cause explains are reported when nothing else is, or when only
        # warnings are: beside a failing cause they are its consequences ("Failed to
        # AzcmagentConnect ARM resource"), and alone they are the evidence that something failed
        # (never "nothing found").
        out.append(_diagnosis(UNKNOWN, unknown, source, platform))
    return tuple(out)


def diagnose_events(events: Iterable[Event], kb: KnowledgeBase, source: str, *,
                    all_lines: bool = False, since: Optional[dt.datetime] = None,
                    platform: str = sys.platform) -> Tuple[Tuple[LogDiagnosis, ...], str, int,
                                                           int, int]:
    """Aggregate events into diagnoses.

    Returns (diagnoses, scope kind, first line, last line, number of connect attempts seen).
    """
    whole = _Scope(kb)
    current: Optional[_Scope] = None  # the connect attempt being read
    latest: Optional[_Scope] = None  # the last finished connect attempt
    attempts = 0
    last_time: Optional[dt.datetime] = None
    for event in events:
        if since is not None:
            stamp = event.timestamp or last_time
            if event.timestamp is not None:
                last_time = event.timestamp
            if stamp is not None and stamp < since:
                continue
        if event.command is not None and not event.boundary:
            # Another azcmagent command (show, check, logs...) ends the connect attempt.
            if current is not None:
                latest = current
                current = None
            continue
        if event.boundary:
            if current is None or current.events or event.line_no - current.start_line > 20:

                if current is not None:
                    latest = current
                current = _Scope(kb, event.line_no)
                attempts += 1
            # Two start markers close together with nothing between (the command line, then
            # "Onboarding Machine") are one attempt.
            continue
        whole.add(event)
        if current is not None:
            current.add(event)
    if current is not None:
        latest = current
    fold = attempts <= 1  # the whole input is one attempt (or a pasted text): see _Scope.resolve
    if since is not None:
        return _finish(whole, source, platform, fold), "since", 1, 0, attempts
    if all_lines or latest is None:
        return _finish(whole, source, platform, fold), ("all" if all_lines else "whole_input"), \
            1, 0, attempts
    return _finish(latest, source, platform), "latest_attempt", latest.start_line, 0, attempts


def _scope_text(kind: str, start: int, end: int, attempts: int,
                since: Optional[dt.datetime]) -> str:
    if kind == "latest_attempt":
        which = f"the last of {attempts} connect attempts" if attempts > 1 else \
            "the only connect attempt"
        return f"lines {start:,}-{end:,}, {which} (--all for everything)"
    if kind == "since":
        return f"lines dated at or after {since.isoformat() if since else '?'}"
    if kind == "all":
        return "all lines"
    return "all lines (no connect attempt start found)"


def diagnose_stream(stream: Any, kb: KnowledgeBase, source: str, path: str = "", *,
                    all_lines: bool = False, since: Optional[dt.datetime] = None,
                    platform: str = sys.platform, stats: Optional[ScanStats] = None,
                    compressed: bool = False, workers: int = 0) -> LogReport:
    """Read a binary stream to the end and diagnose it (``workers``: see
    :func:`~.scanner.scan_stream`)."""
    if stats is None:
        stats = ScanStats()
    matcher = matcher_for(kb)
    events = scan_stream(stream, matcher, stats, workers=workers)
    diagnoses, kind, start, _end, attempts = diagnose_events(
        events, kb, source, all_lines=all_lines, since=since, platform=platform)
    end = stats.lines
    if kind != "latest_attempt":
        start = 1 if stats.lines else 0
    notes: List[str] = []
    if stats.looks_binary():
        notes.append(f"{source} does not look like text (binary or another encoding); "
                     "is it the agent's log?")
    if stats.truncated_lines:
        notes.append(f"{stats.truncated_lines:,} line(s) longer than 64 KiB were matched on "
                     "their first 64 KiB only")
    if not stats.bytes_read:
        notes.append(f"{source} is empty")
    return LogReport(
        source=source, path=path or source, lines_read=stats.lines, scope=kind,
        scope_text=_scope_text(kind, start, end, attempts, since), start_line=start,
        end_line=end, attempts=attempts, since=since, diagnoses=diagnoses,
        warnings=tuple(stats.warnings), notes=tuple(notes), bytes_read=stats.bytes_read,
        compressed=compressed,
    )


def diagnose_path(path: str, kb: KnowledgeBase, *, all_lines: bool = False,
                  since: Optional[dt.datetime] = None, stdin: Any = None,
                  platform: str = sys.platform, workers: int = 0) -> LogReport:
    """Open and diagnose a log file (``-`` for standard input).

    Raises :class:`LogReadError` when the input cannot be read at all.
    """
    stats = ScanStats()
    opened = open_log(path, stats, stdin)
    try:
        report = diagnose_stream(opened.stream, kb, opened.name, path, all_lines=all_lines,
                                 since=since, platform=platform, stats=stats,
                                 compressed=opened.compressed, workers=workers)
    except OSError as exc:
        raise LogReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        opened.close()
    if report.warnings and not report.bytes_read:
        raise LogReadError(report.warnings[0])
    return report


def diagnose_text(text: str, kb: KnowledgeBase, source: str = "text",
                  platform: str = sys.platform) -> LogReport:
    """Diagnose pasted text as if it were a log (every line, no attempt narrowing)."""
    data = text.encode("utf-8", "replace")
    return diagnose_stream(io.BytesIO(data), kb, source, source, all_lines=True,
                           platform=platform)
