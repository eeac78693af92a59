"""Stage two of reading a log: cut out each line the prefilter hit and turn it into an event.

A stream is read in 512 KiB binary chunks and lower-cased in one C call; the prefilter
(:mod:`.prefilter`) finds every literal occurrence; only the lines holding one are cut out (line
numbers from ``bytes.count`` of newlines), decoded, and matched against the knowledge-base
patterns whose literals they contain. Lines are capped at :data:`LINE_CAP` bytes: the rest of an
overlong line is skipped without being held in memory. Memory stays constant whatever the size
of the input.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Pattern, Set, Tuple

from ..kb import KnowledgeBase
from ..model import Cause
from .analysed import analyse, triggers
from .benign import BENIGN_HINTS, BENIGN_RE
from .inputs import CHUNK_SIZE, ScanStats
from .levels import ERROR_LEVELS, parse_level
from .linefinder import chosen_backend
from .lines import (
    AZCM_RE,
    AZCM_TRIGGER,
    BOUNDARY_PATTERNS,
    BOUNDARY_RE,
    CONSOLE_MSG_RE,
    ERR_RE,
    FAILURE_LEVELS,
    FAILURE_PATTERNS,
    FAILURE_RES,
    MSG_RE,
    field_value,
    parse_time,
    reports_failure,
)
from .literals import Condition, holds
from .needs import NeedIndex, build_indexes, pattern_sets
from .parallel import PARALLEL_AFTER, Block, search, with_results
from .prefilter import Prefilter, Requirement
from .prefilter_plan import prefilter_for

LINE_CAP = 64 * 1024

@dataclass(frozen=True)
class Matcher:
    """The knowledge base compiled for streaming: the prefilter and, per prefilter literal, the
    patterns that may match a line holding it."""

    kb: KnowledgeBase
    prefilter: Prefilter
    # pattern id -> (cause position in kb.causes, position among the cause's patterns, its own
    # required literals)
    patterns: Tuple[Tuple[int, int, Tuple[bytes, ...]], ...]
    # prefilter literal id -> ids of the patterns whose required literal contains it
    candidates: Tuple[Tuple[int, ...], ...]
    # patterns with no required literal: run on every prefiltered line; reported as uncovered
    always: Tuple[int, ...]
    uncovered: Tuple[Tuple[str, str], ...]  # (cause id, pattern)
    azcm_ids: FrozenSet[int]  # prefilter literals that may start an AZCM code
    boundary_ids: FrozenSet[int]  # ... that may belong to a connect-attempt start
    failure_ids: FrozenSet[int] = frozenset()  # ... that may belong to a failure line
    # prefilter literal id -> indices (in lines.FAILURE_RES) of the failure patterns needing it
    failure_candidates: Tuple[Tuple[int, ...], ...] = ()
    literals: FrozenSet[str] = field(default_factory=frozenset)  # every required literal
    # prefilter literal id -> the required literals holding it, to ask a hit line which it has
    needs: Tuple[NeedIndex, ...] = ()
    need_patterns: Dict[bytes, Tuple[int, ...]] = field(default_factory=dict)  # see needs.py
    cause_pos: Dict[str, int] = field(default_factory=dict)  # cause id -> kb.causes position
    # pattern id -> a condition every line it matches meets (literals.required_condition), or
    # None: the regex is not run on a line that fails it
    conditions: Tuple[Optional[Condition], ...] = ()  # a Condition or a literal (bytes)
    # pattern id -> its compiled regex, compiled the first time a line needs it: on a log, a
    # few dozen of the knowledge base's ~900 patterns ever run, so compiling them all up front
    # cost start-up time and memory (about 0.9 MB, held before the workers fork) for nothing.
    regexes: List[Optional[Pattern[str]]] = field(default_factory=list, compare=False)

    def line_literals(self, lowered: bytes) -> Set[int]:
        return self.prefilter.line_literals(lowered)

    def hits_line(self, line: bytes) -> bool:
        """Whether one line hits the prefilter."""
        return bool(self.prefilter.line_literals(line.lower()))

    def match(self, text: str, lowered: Optional[bytes] = None,
              literal_ids: Optional[Set[int]] = None) -> List[Tuple[Cause, int, int]]:
        """Causes whose patterns match ``text``, with the first match span, most decisive first.

        The same causes, in the same order, as :meth:`KnowledgeBase.match_text`, found by
        running only the patterns whose required literal occurs in the line.
        """
        if lowered is None:
            lowered = text.encode("utf-8", "replace").lower()
        if literal_ids is None:
            literal_ids = self.line_literals(lowered)
        # Only the patterns one of whose required literals is on the line can match it.
        chosen: Set[int] = set(self.always)
        for lit_id in literal_ids:
            for need in self.needs[lit_id].present(lowered):
                chosen.update(self.need_patterns[need])
        if not chosen:
            return []
        found: Dict[int, Tuple[int, int]] = {}
        conditions = self.conditions
        regexes = self.regexes
        for pid in sorted(chosen):
            cause_pos = self.patterns[pid][0]
            if cause_pos in found:
                continue
            condition = conditions[pid] if conditions else None
            if condition is not None and not holds(condition, lowered):
                continue
            regex = regexes[pid]
            if regex is None:
                regex = regexes[pid] = self.regex(pid)
            hit = regex.search(text)
            if hit:
                found[cause_pos] = hit.span()
        causes = self.kb.causes
        order = sorted(found, key=lambda pos: (-causes[pos].priority, pos))
        return [(causes[pos], found[pos][0], found[pos][1]) for pos in order]

    def regex(self, pid: int) -> Pattern[str]:
        """Pattern ``pid`` compiled, as the knowledge base compiles it (a pattern that does not
        compile stops with the error naming its entry, see :mod:`..kb`)."""
        cause_pos, index, _ = self.patterns[pid]
        return self.kb.compiled[self.kb.causes[cause_pos].id][index]


def build_matcher(kb: KnowledgeBase, backend: str = "auto") -> Matcher:
    """Compile the knowledge base's patterns, and the tool's own triggers, for streaming;
    ``backend`` is the prefilter's (:meth:`Prefilter.build`)."""
    literals: Set[str] = set()
    patterns: List[Tuple[int, int, Tuple[bytes, ...]]] = []
    always: List[int] = []
    uncovered: List[Tuple[str, str]] = []
    conditions: List[Optional[Condition]] = []
    # One bytes object per required literal, however many patterns require it.
    interned: Dict[bytes, bytes] = {}
    for cause_pos, cause in enumerate(kb.causes):
        for index, source in enumerate(cause.patterns):
            pid = len(patterns)
            requirement, condition = analyse(source)
            conditions.append(condition)
            if requirement is None:
                # Run on every line (or a pattern Python cannot parse): compiled now, so that
                # one that does not compile stops the build, as the whole set once did.
                kb.compiled[cause.id]
                always.append(pid)
                uncovered.append((cause.id, source))
                patterns.append((cause_pos, index, ()))
                continue
            literals.update(requirement)
            encoded = (s.encode("ascii") for s in requirement)
            patterns.append((cause_pos, index,
                             tuple(interned.setdefault(need, need) for need in encoded)))
    trigger_needs: Dict[str, Requirement] = {}
    for trigger in triggers():
        requirement = analyse(trigger)[0]
        if requirement is None:  # pragma: no cover - guarded by tests
            raise ValueError(f"trigger {trigger!r} has no required literal")
        literals.update(requirement)
        trigger_needs[trigger] = requirement
    prefilter = prefilter_for(literals, backend)
    # Which prefilter literals each requirement holds: the prefilter itself answers that (it
    # finds every literal in a text), far faster than testing every pair.
    count = len(prefilter.literals)
    by_literal: List[Set[int]] = [set() for _ in range(count)]
    needs_of: List[Set[bytes]] = [set() for _ in range(count)]
    for pid, (_, _, needs) in enumerate(patterns):
        for need in needs:
            for lit_id in prefilter.ids_in(need):
                by_literal[lit_id].add(pid)
                needs_of[lit_id].add(need)
    candidates = [tuple(sorted(pids)) for pids in by_literal]

    def holding(requirement: Requirement) -> Set[int]:
        return set().union(*(prefilter.ids_in(t.encode("ascii")) for t in requirement))

    azcm_ids = holding(trigger_needs[AZCM_TRIGGER])
    boundary_ids = set().union(*(holding(trigger_needs[b]) for b in BOUNDARY_PATTERNS))
    wanted_by: List[List[int]] = [[] for _ in range(count)]
    for index, failure in enumerate(FAILURE_PATTERNS):
        for lit_id in holding(trigger_needs[failure]):
            wanted_by[lit_id].append(index)
    failure_candidates = [tuple(w) for w in wanted_by]
    failure_ids = {lit_id for lit_id, w in enumerate(wanted_by) if w}
    return Matcher(
        kb=kb, prefilter=prefilter, patterns=tuple(patterns), candidates=tuple(candidates),
        always=tuple(always), uncovered=tuple(uncovered), azcm_ids=frozenset(azcm_ids),
        boundary_ids=frozenset(boundary_ids), failure_ids=frozenset(failure_ids),
        failure_candidates=tuple(failure_candidates),
        literals=frozenset(literals),
        needs=build_indexes(prefilter.literals, [sorted(n) for n in needs_of]),
        # Tuples, not the frozensets pattern_sets builds: a third of the size, for ~2,600 of them
        need_patterns={need: tuple(sorted(pids)) for need, pids
                       in pattern_sets([needs for _, _, needs in patterns]).items()},
        cause_pos={cause.id: pos for pos, cause in enumerate(kb.causes)},
        conditions=tuple(conditions),
        regexes=[None] * len(patterns),
    )


_MATCHERS: Dict[Tuple[int, str], Matcher] = {}


def matcher_for(kb: KnowledgeBase, backend: str = "auto") -> Matcher:
    """The matcher for a knowledge base, built once per process (the KB is immutable) and
    prefilter backend. The key is the backend ``auto`` resolves to now, so setting or clearing
    ``ARC_PREFLIGHT_PURE_PREFILTER`` later in the process takes effect."""
    key = (id(kb), chosen_backend(backend))
    cached = _MATCHERS.get(key)
    if cached is None or cached.kb is not kb:
        cached = build_matcher(kb, backend)
        for old in [k for k, m in _MATCHERS.items() if m.kb is not kb]:
            del _MATCHERS[old]
        _MATCHERS[key] = cached
    return cached


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One line worth a diagnosis: what it says, where, and which causes it matches."""

    line_no: int
    text: str  # decoded (invalid UTF-8 replaced), at most LINE_CAP bytes; not yet redacted
    timestamp: Optional[dt.datetime]
    level: Optional[str]
    msg: Optional[str]
    error: Optional[str]
    azcm: Tuple[str, ...]
    causes: Tuple[Tuple[Cause, int, int], ...]  # (cause, span start, span end), most decisive
    boundary: bool = False
    truncated: bool = False
    command: Optional[str] = None  # the azcmagent command an ``Agent Command:`` line starts
    failure: bool = False  # the line reports a failure in words (see lines.FAILURE_PATTERNS)

    @property
    def is_error(self) -> bool:
        return self.level in ERROR_LEVELS


def event_for_line(matcher: Matcher, raw: bytes, line_no: int, lowered: Optional[bytes] = None,
                   literal_ids: Optional[Set[int]] = None, truncated: bool = False
                   ) -> Optional[Event]:
    """Turn one raw line (without its newline) into an Event, or None if it says nothing."""
    if lowered is None:
        lowered = raw.lower()
    if literal_ids is None:
        literal_ids = matcher.line_literals(lowered)
        if not literal_ids:
            return None
    text = raw.decode("utf-8", "replace")
    if text.endswith("\r"):
        text = text[:-1]
    if any(hint in lowered for hint in BENIGN_HINTS) and BENIGN_RE.search(text):
        return None
    causes = matcher.match(text, lowered, literal_ids)
    codes: Tuple[str, ...] = ()
    if not literal_ids.isdisjoint(matcher.azcm_ids):
        codes = tuple(dict.fromkeys(c.upper() for c in AZCM_RE.findall(text)))
    level = parse_level(text)
    boundary = False
    command: Optional[str] = None
    if (not causes and not codes and level not in ERROR_LEVELS and level != "warning"
            and not literal_ids.isdisjoint(matcher.boundary_ids)):
        found = BOUNDARY_RE.search(text)
        if found is not None:
            command = found.group("command")
            boundary = command is None or command.lower() == "connect"
            command = command.lower() if command else None
    failure = False
    if level in FAILURE_LEVELS and not literal_ids.isdisjoint(matcher.failure_ids):
        wanted = {i for lit in literal_ids for i in matcher.failure_candidates[lit]}
        failure = any(reports_failure(FAILURE_RES[i], text) for i in sorted(wanted))
    if (not causes and not codes and not boundary and command is None and not failure
            and level not in ERROR_LEVELS):
        return None
    msg = field_value(MSG_RE, text)
    if msg is None:
        console = CONSOLE_MSG_RE.match(text)
        if console:
            msg = text[console.end():]
    return Event(
        line_no=line_no, text=text, timestamp=parse_time(text), level=level, msg=msg,
        error=field_value(ERR_RE, text), azcm=codes, causes=tuple(causes), boundary=boundary,
        truncated=truncated, command=command, failure=failure,
    )


class _Head:
    """The first ``line_cap`` bytes of an overlong line (the rest is skipped as it streams)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class _Tail:
    """The last line of the input, without a newline."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


_SKIP_END = "skip-end"  # the newline that ends an overlong line was found


def _origin(stream: Any) -> Optional[Tuple[int, int]]:
    """(file descriptor, offset) where ``stream`` reads a regular file as it is, else None."""
    origin = getattr(stream, "origin", None)
    if origin is None:
        return None
    found = origin()
    return None if found is None else (int(found[0]), int(found[1]))


def _pieces(stream: Any, stats: ScanStats, chunk_size: int, line_cap: int) -> Iterator[Any]:
    """The stream cut into blocks of whole lines, overlong heads and the last line, in order;
    no matching here (that, and line numbers, are the consumer's). A block of a regular file
    carries where it lies in the file."""
    carry = b""
    skipping = False  # inside the unread tail of an overlong line
    origin = _origin(stream)
    position = 0  # bytes of the stream read before ``chunk``
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        if not stats.bytes_read:
            stats.sample = chunk[:4096]
        stats.bytes_read += len(chunk)
        chunk_at = position
        position += len(chunk)
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1:]
            chunk_at += newline + 1
            skipping = False
            yield _SKIP_END
            if not chunk:
                continue
        buf = carry + chunk if carry else chunk
        buf_at = chunk_at - len(carry)
        carry = chunk = b""
        last = buf.rfind(b"\n")
        if last >= 0:
            block = Block(buf, last + 1,
                          None if origin is None else (origin[0], origin[1] + buf_at))
            rest = buf[last + 1:]
            # The block's bytes are the consumer's from here: this frame keeps no reference to
            # them while the consumer waits for workers, so they are freed as soon as it lets
            # them go (.parallel drops its copy once a worker has read the block itself).
            buf = b""
            yield block
        else:
            rest = buf
        if len(rest) > line_cap:
            yield _Head(rest[:line_cap])
            skipping = True
        else:
            carry = rest
    if skipping:
        yield _SKIP_END
    elif carry:
        yield _Tail(carry)


def scan_stream(stream: Any, matcher: Matcher, stats: Optional[ScanStats] = None,
                chunk_size: int = CHUNK_SIZE, line_cap: int = LINE_CAP, workers: int = 0,
                parallel_after: int = PARALLEL_AFTER) -> Iterator[Event]:
    """Events of a binary stream, in line order, reading at most ``chunk_size`` at a time.

    Lines are numbered from 1 and split on ``\\n`` only (a ``\\r`` before it is dropped).
    A line longer than ``line_cap`` bytes is matched on its first ``line_cap`` bytes; the rest
    is skipped as it streams by, never held in memory. ``stats`` (if given) is filled in as the
    stream is read. With ``workers``, the blocks after the first ``parallel_after`` bytes are
    searched and matched in that many worker processes (:mod:`.parallel`); the events are the
    same.
    """
    if stats is None:
        stats = ScanStats()
    line_no = 0  # lines before the current piece
    work = functools.partial(block_outcome, matcher, line_cap)
    pieces = with_results(_pieces(stream, stats, chunk_size, line_cap), work, workers,
                          parallel_after)
    causes = matcher.kb.causes
    for piece in pieces:
        if isinstance(piece, Block):
            stats.worker_blocks += piece.by_worker
            packed, lines, truncated = piece.result
            stats.truncated_lines += truncated
            for item in packed:
                yield _unpack(item, line_no, causes)
            line_no += lines
        elif isinstance(piece, _Head):
            stats.truncated_lines += 1
            event = event_for_line(matcher, piece.data, line_no + 1, truncated=True)
            if event is not None:
                yield event
        elif isinstance(piece, _Tail):
            line_no += 1
            event = event_for_line(matcher, piece.data, line_no)
            if event is not None:
                yield event
        else:  # _SKIP_END
            line_no += 1
        stats.lines = line_no


# An event as a block's work returns it (from a worker process, pickled): the Event's fields in
# order, its line number counted within the block and its causes as (kb position, start, end),
# so that what crosses between processes is small and the causes stay the knowledge base's own.
Packed = Tuple[Any, ...]


def _pack(event: Event, cause_pos: Dict[str, int]) -> Packed:
    return (event.line_no, event.text, event.timestamp, event.level, event.msg, event.error,
            event.azcm, tuple((cause_pos[c.id], s, e) for c, s, e in event.causes),
            event.boundary, event.truncated, event.command, event.failure)


def _unpack(item: Packed, line_no: int, causes: Tuple[Cause, ...]) -> Event:
    (number, text, timestamp, level, msg, error, azcm, spans, boundary, truncated, command,
     failure) = item
    return Event(line_no=line_no + number, text=text, timestamp=timestamp, level=level, msg=msg,
                 error=error, azcm=azcm, causes=tuple((causes[p], s, e) for p, s, e in spans),
                 boundary=boundary, truncated=truncated, command=command, failure=failure)


def block_outcome(matcher: Matcher, line_cap: int, buf: bytes, end: int
                  ) -> Tuple[List[Packed], int, int]:
    """Everything one block of whole lines (``buf[:end]``) yields: its events (packed, line
    numbers from 1 within the block), its number of lines and how many were cut at
    ``line_cap``. The same wherever it runs, in this process or a worker."""
    found, lines = search(matcher.prefilter.hit_lines, buf, end)
    out: List[Packed] = []
    truncated = 0
    for start, stop, lowered, ids, before in found:
        number = before + 1
        if stop - start > line_cap:
            truncated += 1
            event = event_for_line(matcher, buf[start:start + line_cap], number, truncated=True)
        else:
            event = event_for_line(matcher, buf[start:stop], number, lowered, ids)
        if event is not None:
            out.append(_pack(event, matcher.cause_pos))
    return out, lines, truncated
