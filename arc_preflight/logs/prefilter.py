"""Stage one of reading a log: find, at C speed, the few places a knowledge-base pattern could
match.

The literals come from the patterns themselves: :func:`required_literals` walks each parsed
regex and finds literal text every match must contain (``x509: certificate signed by unknown
authority``, one of ``connection refused``/``actively refused``...). A line a pattern matches
always holds one of its literals, so it always hits the prefilter: complete by construction, not
by a hand-kept word list. CPython's regex engine is slow on a plain alternation of a hundred
literals (it tries every branch at every byte), so the literals are grouped by an *anchor*
character chosen so that about three anchors serve them all; each anchor gets one regex that
starts with that byte, rejects most stops with a two-byte look-ahead class, and only then walks a
trie of the literals (see :class:`Prefilter`). Where google-re2 is installed, RE2 first finds
the lines holding any literal (:mod:`.linefinder`) and the passes run on those lines only: the
same hits, several times faster. This module is a black box to the rest of the package:
literals in, hit offsets out; its property tests hold both ways to "every occurrence found".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Dict, List, Optional, Pattern, Sequence, Set, Tuple

from . import linefinder
from .linefinder import LineFinder
from .literals import STEM_FREQUENT, freq
from .literals import Requirement as Requirement
from .literals import required_literals as required_literals

# A line holding a literal: its start and stop offsets, the line lower-cased, the literal ids.
HitLine = Tuple[int, int, bytes, Set[int]]

# ---------------------------------------------------------------------------------------------
# The prefilter
# ---------------------------------------------------------------------------------------------

# One more scan of the text costs about as much as stopping on 10% of its bytes (measured: a
# single-byte scan runs at ~4 GB/s, a stop with a failing guard costs ~6-20 ns).
_PASS_COST = 1000.0
_SHORT = 3  # literals shorter than this get a plain search of their own
_USEFUL_GUARD = 0.3  # a guard that lets through more of the stops than this is left out


# A code family: a stem, then a code (``aadsts50126``, ``winhttp error 12029``), or names that
# share a prefix of two underscore-joined words (``error_winhttp_timeout``, ``cert_e_expired``).
_STEM_RE = re.compile(r"(.{6,80}?)[0-9][0-9a-z()]{0,12}"
                      r"|([a-z0-9]{1,20}_[a-z0-9]{1,20}_)[a-z0-9_]{1,80}")


_MIN_STEM = 6
_MIN_UNDERSCORE_STEM = 9


def _stems(literals: Set[str]) -> Set[str]:
    """Literals with a family's stem put in place of the family: ``aadsts`` for thirty
    ``aadsts...`` codes, ``winhttp error `` for the WinHTTP codes. A line holding a member holds
    the stem, so the prefilter stays complete; a stem shared by fewer than three literals, or
    that healthy logs are full of, is not used."""
    by_stem: Dict[str, List[str]] = {}
    for literal in literals:
        m = _STEM_RE.fullmatch(literal)
        stem = (m.group(1) or m.group(2) or "").strip() if m else ""
        # Short stems of underscore names (``sec_e_``, ``cert_e_``) hold only letters whose
        # anchors are costly; their members hold better ones (``sec_e_cert_expired``: x).
        short = _MIN_UNDERSCORE_STEM if m and m.group(2) else _MIN_STEM
        if len(stem) >= short and not any(part in stem for part in STEM_FREQUENT):
            by_stem.setdefault(stem, []).append(literal)
    out = set(literals)
    for stem, members in by_stem.items():
        if len(members) >= 3:
            out.difference_update(members)
            out.add(stem)
    return out


def _minimise(literals: Set[str]) -> List[str]:
    """Drop every literal that contains another one: a line holding it holds the shorter one."""
    kept: List[str] = []
    for literal in sorted(_stems(literals), key=lambda s: (len(s), s)):
        if not any(short in literal for short in kept):
            kept.append(literal)
    return kept


def choose_anchors(literals: Sequence[str]) -> Dict[str, str]:
    """Give every literal an anchor character; few, rare anchors overall.

    Each distinct anchor costs one scan of the text plus a stop at every place it occurs, so
    this is a weighted set cover, solved greedily: take the character that covers the most
    remaining literals per unit of cost, until every literal holds a chosen character; then
    anchor each literal on the rarest chosen character it holds.
    """
    uncovered = set(literals)
    chosen: Set[str] = set()
    while uncovered:
        counts: Dict[str, int] = {}
        for literal in uncovered:
            for char in set(literal):
                counts[char] = counts.get(char, 0) + 1
        best = max(counts, key=lambda c: (counts[c] / (_PASS_COST + freq(c)), -freq(c), c))
        chosen.add(best)
        uncovered = {lit for lit in uncovered if best not in lit}
    # A character taken early may have been made redundant by later ones: drop it if so.
    for char in sorted(chosen, key=freq, reverse=True):
        rest = chosen - {char}
        if all(any(c in lit for c in rest) for lit in literals):
            chosen = rest
    return {lit: min((c for c in chosen if c in lit), key=lambda c: (freq(c), c))
            for lit in literals}


def _class(values: Set[int]) -> bytes:
    return b"[" + b"".join(re.escape(bytes([v])) for v in sorted(values)) + b"]"


_TOTAL = 10000.0


def _p(chars: Set[int]) -> float:
    """Rough chance that a byte of log text is one of ``chars``."""
    return min(1.0, sum(freq(chr(c)) for c in chars) / _TOTAL)


# How an anchor occurrence is checked before the trie: by the two bytes after it ("ahead"),
# or, for a literal whose anchor is near its end, by the byte before it ("behind").
_MODES = ("ahead", "behind")


def _guard_chars(literal: bytes, index: int, mode: str) -> Optional[Tuple[int, ...]]:
    if mode == "ahead" and index + 2 < len(literal):
        return literal[index + 1], literal[index + 2]
    if mode == "behind" and index >= 1:
        return (literal[index - 1],)
    return None


class _GuardCost:
    """Expected share of anchor stops that get past the guards (plus a cost per guard), kept up
    to date as literals move between anchor positions."""

    def __init__(self) -> None:
        self.counts: Dict[Tuple[str, int], Dict[int, int]] = {}

    def _keys(self, literal: bytes, option: Tuple[int, str]) -> List[Tuple[str, int, int]]:
        chars = _guard_chars(literal, option[0], option[1]) or ()
        return [(option[1], position, char) for position, char in enumerate(chars)]

    def add(self, literal: bytes, option: Tuple[int, str], step: int = 1) -> None:
        for mode, position, char in self._keys(literal, option):
            bucket = self.counts.setdefault((mode, position), {})
            bucket[char] = bucket.get(char, 0) + step
            if not bucket[char]:
                del bucket[char]

    def total(self) -> float:
        result = 0.0
        for mode in _MODES:
            first = self.counts.get((mode, 0))
            if first:
                second = self.counts.get((mode, 1))
                result += 0.2 + _p(set(first)) * (_p(set(second)) if second else 1.0)
        return result

    def with_move(self, literal: bytes, old: Tuple[int, str], new: Tuple[int, str]) -> float:
        self.add(literal, old, -1)
        self.add(literal, new)
        cost = self.total()
        self.add(literal, new, -1)
        self.add(literal, old)
        return cost


def _place(group: Sequence[int], anchor: int, literals: Sequence[bytes]
           ) -> Dict[int, Tuple[int, str]]:
    """For each literal of one anchor's group: which occurrence of the anchor, checked how.

    A small local search that keeps the guards' byte classes narrow and rare, so that most
    stops on the anchor byte fail the guard at once.
    """
    options: Dict[int, List[Tuple[int, str]]] = {}
    for lit_id in group:
        literal = literals[lit_id]
        spots = [i for i, byte in enumerate(literal) if byte == anchor]
        found = [(i, m) for i in spots for m in _MODES if _guard_chars(literal, i, m)]
        ahead = [(i, m) for i, m in found if m == "ahead"]
        options[lit_id] = ahead or found or [(spots[0], "none")]
    cost = _GuardCost()
    choice: Dict[int, Tuple[int, str]] = {}
    for lit_id, opts in options.items():
        def alone(option: Tuple[int, str], literal: bytes = literals[lit_id]) -> float:
            single = _GuardCost()
            single.add(literal, option)
            return single.total()

        choice[lit_id] = min(opts, key=alone)
        cost.add(literals[lit_id], choice[lit_id])
    for _ in range(3):
        changed = False
        for lit_id, opts in options.items():
            if len(opts) < 2:
                continue
            literal, current = literals[lit_id], choice[lit_id]
            best = min(opts, key=lambda o: cost.with_move(literal, current, o))
            if best != current:
                cost.add(literal, current, -1)
                cost.add(literal, best)
                choice[lit_id] = best
                changed = True
        if not changed:
            break
    return choice


def _link_siblings(choice: Dict[int, Tuple[int, str]], literals: Sequence[bytes],
                   siblings: List[List[Tuple[int, int]]]) -> None:
    """Record the pairs of one pass's literals that can both occur at one anchor byte: what
    follows their anchors starts alike and what precedes it ends alike."""
    by_tail: Dict[bytes, List[int]] = {}
    for lit_id, (index, _) in choice.items():
        by_tail.setdefault(literals[lit_id][index:], []).append(lit_id)
    for a, (ia, _) in choice.items():
        head_a, tail_a = literals[a][:ia], literals[a][ia:]
        for k in range(1, len(tail_a) + 1):  # every b whose tail is a prefix of a's
            for b in by_tail.get(tail_a[:k], ()):
                ib = choice[b][0]
                if b == a or (k == len(tail_a) and b < a):
                    continue  # a pair with equal tails is seen once, from its lower id
                head_b = literals[b][:ib]
                if head_a.endswith(head_b) or head_b.endswith(head_a):
                    siblings[a].append((b, ib))
                    siblings[b].append((a, ia))


def _guarded(anchor: int, choice: Dict[int, Tuple[int, str]], literals: Sequence[bytes],
             numbering: List[int]) -> bytes:
    """After the anchor byte: per guard mode, a cheap check of neighbouring bytes, then the
    trie of what follows the anchor."""
    alts = []
    mark = re.escape(bytes([anchor]))
    for mode in (*_MODES, "none"):
        items = [(literals[lit_id][index + 1:], lit_id)
                 for lit_id, (index, m) in sorted(choice.items()) if m == mode]
        if not items:
            continue
        chars = [_guard_chars(literals[lit_id], index, m) or ()
                 for lit_id, (index, m) in choice.items() if m == mode]
        if mode == "ahead":
            first, second = {c[0] for c in chars}, {c[1] for c in chars}
            # A guard most stops get past costs more than it saves: the trie alone then.
            guard = (b"(?=" + _class(first) + _class(second) + b")"
                     if _p(first) * _p(second) < _USEFUL_GUARD else b"")
        elif mode == "behind":
            guard = b"(?<=" + _class({c[0] for c in chars}) + mark + b")"
        else:
            guard = b""
        alts.append(guard + _trie(items, literals, numbering))
    return alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"


def _trie(items: Sequence[Tuple[bytes, int]], literals: Sequence[bytes],
          numbering: List[int]) -> bytes:
    """A regex for (suffix, literal id) pairs: suffixes share prefixes; at each leaf a
    look-behind checks the whole literal and an empty group numbers it."""
    ends = sorted({lit_id for suffix, lit_id in items if not suffix})
    by_first: Dict[int, List[Tuple[bytes, int]]] = {}
    for suffix, lit_id in items:
        if suffix:
            by_first.setdefault(suffix[0], []).append((suffix[1:], lit_id))
    alts = [re.escape(bytes([first])) + _trie(rest, literals, numbering)
            for first, rest in sorted(by_first.items())]
    for lit_id in ends:
        numbering.append(lit_id)
        alts.append(b"(?<=" + re.escape(literals[lit_id]) + b")()")
    if len(alts) == 1:
        return alts[0]
    return b"(?:" + b"|".join(alts) + b")"


# Where the line finder stops paying: after this many lines found in a block, if they average
# fewer than this many bytes apart, the rest of the block goes to the pure passes (measured on
# lines that each hold ``@``: one RE2 call per line ~15 us, the pure passes ~4.5 us a line).
_DENSE_AFTER = 256
_DENSE_BYTES = 512


@dataclass(frozen=True)
class Prefilter:
    """Finds, at C speed, every place in lower-cased text where one of a set of literals occurs.

    Each literal is *anchored* on one of its characters, chosen so that a few characters serve
    every literal (:func:`choose_anchors`). There is one regex per anchor: it starts with the
    anchor byte, so the engine scans for that byte in a tight C loop; a guard on the two bytes
    after it (or, for a literal that ends just after its anchor, the byte before it) throws most
    stops away at once (:func:`_place` picks anchor positions that keep the guard classes
    narrow); then comes a trie of what follows the anchor in each literal, ending in a
    look-behind for the whole literal: ``forbidden`` anchored on ``b`` becomes
    ``b(?=[..][..])(?:idden(?<=forbidden)()|...)``. The empty group at each leaf tells which
    literal was found. Literals shorter than three bytes or without letters (``@``, ``429``)
    are not anchored: a one-byte literal is found by memchr, the others by one trie pass per
    first byte (``4`` for ``404``, ``407`` and ``429``). Every occurrence of every literal is
    found, whatever the text around it.
    """

    literals: Tuple[bytes, ...]  # literal id -> literal
    anchors: Tuple[str, ...]
    sources: Tuple[bytes, ...]  # each pass's regex; compiled when first needed (see passes)
    group_literal: Tuple[Tuple[int, ...], ...]  # per pass: group number -> literal id
    plain: Tuple[int, ...]  # ids of literals without letters: one-byte ones found by memchr,
    # longer ones by a trie pass per first byte (after the anchored passes)
    # literal id -> (other literal id, index of its anchor) for the literals of the same pass that
    # can occur at the very same anchor byte: the trie reports only one literal per position.
    siblings: Tuple[Tuple[Tuple[int, int], ...], ...] = ()
    # RE2's search for the lines holding any literal, where it is installed (see .linefinder):
    # then the passes above run only on those lines.
    finder: Optional[LineFinder] = field(default=None, compare=False)
    # Required literal -> the ids of the literals above that it holds, from the shipped plan
    # (.prefilter_plan): what :meth:`literals_in` would answer for it, without running the passes.
    known: Dict[bytes, Tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, literals: Set[str], backend: str = "auto") -> Prefilter:
        """The prefilter for ``literals``; ``backend`` is ``auto`` (RE2 finds the lines where
        it is installed, unless ``ARC_PREFLIGHT_PURE_PREFILTER`` is set), ``re2`` or ``pure``.
        """
        minimal = _minimise(literals)
        encoded = tuple(lit.encode("ascii") for lit in minimal)
        plain = tuple(i for i, lit in enumerate(minimal)
                      if len(lit) < _SHORT or not any(c.isalpha() for c in lit))
        rest = [lit for i, lit in enumerate(minimal) if i not in plain]
        anchors = choose_anchors(rest)
        groups: Dict[str, List[int]] = {}
        for lit_id, literal in enumerate(minimal):
            if lit_id not in plain:
                groups.setdefault(anchors[literal], []).append(lit_id)
        order = tuple(sorted(groups, key=lambda a: (freq(a), a)))
        passes = []
        group_maps = []
        siblings: List[List[Tuple[int, int]]] = [[] for _ in encoded]
        for anchor in order:
            code = ord(anchor)
            numbering: List[int] = [-1]
            choice = _place(groups[anchor], code, encoded)
            _link_siblings(choice, encoded, siblings)
            body = _guarded(code, choice, encoded, numbering)
            # The trie sits in a look-ahead, so a match consumes only its anchor byte: an
            # occurrence that starts inside another one found by the same pass (``subscription ``
            # inside ``readonlydisabledsubscription ``) is still found.
            passes.append(re.escape(anchor.encode("ascii")) + b"(?=" + body + b")")
            group_maps.append(tuple(numbering))
        # Literals without letters (MSI exit codes 1601-1644, 404, 429...) share one pass per
        # first byte, a trie like the anchored passes': a pass of its own for each cost a whole
        # scan of the text apiece (fourteen MSI codes were a third of the prefilter's time).
        by_first: Dict[int, List[int]] = {}
        for i in plain:
            if len(encoded[i]) > 1:
                by_first.setdefault(encoded[i][0], []).append(i)
        for first, ids in sorted(by_first.items()):
            numbering = [-1]
            items = [(encoded[i][1:], i) for i in ids]
            passes.append(re.escape(bytes([first])) + b"(?=" + _trie(items, encoded, numbering)
                          + b")")
            group_maps.append(tuple(numbering))
        return cls(literals=encoded, anchors=order, sources=tuple(passes),
                   group_literal=tuple(group_maps), plain=plain,
                   siblings=tuple(tuple(links) for links in siblings),
                   finder=linefinder.build(encoded, backend))

    @cached_property
    def passes(self) -> Tuple[Pattern[bytes], ...]:
        """The passes, compiled the first time they run: where RE2 finds the lines they serve
        only its rare fallbacks, and compiling them took a tenth of a second of every start."""
        return tuple(re.compile(source) for source in self.sources)

    def ids_in(self, literal: bytes) -> Set[int]:
        """:meth:`literals_in` for a required literal, from the shipped plan when it has the
        answer (building the matcher asks this of every required literal)."""
        known = self.known.get(literal)
        return set(known) if known is not None else self.literals_in(literal)

    def hits(self, lowered: bytes, end: int) -> List[Tuple[int, int]]:
        """(offset, literal id) of every literal occurrence in ``lowered[:end]``, in order.

        The offset is inside the occurrence (at its anchor), so on the literal's own line. With
        a line finder (:mod:`.linefinder`), only the lines it finds are searched, each on its
        own; a literal never spans a newline, so the hits are the same.
        """
        found: List[Tuple[int, int]] = []
        if self.finder is None:
            self._exact(lowered, 0, end, found)
            found.sort()
            return found
        for start, stop in self.finder.lines(lowered, end):
            line: List[Tuple[int, int]] = []
            self._exact(lowered, start, stop, line)
            line.sort()
            found.extend(line)
        return found

    def hit_lines(self, block: bytes, end: int) -> List[HitLine]:
        """Each line of ``block[:end]`` (raw, not lower-cased) that holds a literal in any
        case: (start, stop, the line lower-cased, ids of the literals it holds), in order;
        ``stop`` is the offset of its newline or ``end``.

        The literal ids are what :meth:`hits` finds on that line. With a line finder, RE2
        looks for the lines in the raw text (ignoring ASCII case, as lower-casing would) and
        only those lines are lower-cased and searched; without one, the whole block is.
        """
        out: List[HitLine] = []
        if self.finder is None:
            self._pure_lines(block, 0, end, out)
            return out
        literal_ids = self.finder.literal_ids
        for start, stop in self.finder.lines(block, end):
            lowered = block[start:stop].lower()
            # Every line found holds a literal: an empty answer is RE2's set matcher out of
            # memory, not "none", so the pure passes say which.
            out.append((start, stop, lowered, literal_ids(lowered) or self.literals_in(lowered)))
            if len(out) >= _DENSE_AFTER and stop < len(out) * _DENSE_BYTES and stop < end:
                # Nearly every line holds a literal (a text made of ``user@host`` lines, say):
                # one call per line costs more than the pure passes over the whole rest.
                self._pure_lines(block, stop + 1, end, out)
                break
        return out

    def _pure_lines(self, block: bytes, begin: int, end: int, out: List[HitLine]) -> None:
        """:meth:`hit_lines` for ``block[begin:end]`` (``begin`` at a line start) by the pure
        passes over the lower-cased region, appended to ``out``."""
        whole = block[begin:end].lower()
        size = end - begin
        found: List[Tuple[int, int]] = []
        self._exact(whole, 0, size, found)  # the whole region at once, never line by line
        found.sort()
        index = 0
        while index < len(found):
            at = found[index][0]
            start = whole.rfind(b"\n", 0, at) + 1
            stop = whole.find(b"\n", at, size)
            if stop < 0:
                stop = size
            ids = set()
            while index < len(found) and found[index][0] < stop:
                ids.add(found[index][1])
                index += 1
            out.append((begin + start, begin + stop, whole[start:stop], ids))

    def _exact(self, lowered: bytes, start: int, end: int, found: List[Tuple[int, int]]
               ) -> None:
        """Append every occurrence in ``lowered[start:end]`` to ``found`` (unordered)."""
        for regex, numbering in zip(self.passes, self.group_literal):
            for m in regex.finditer(lowered, start, end):
                at, lit_id = m.start(), numbering[m.lastindex or 0]
                found.append((at, lit_id))
                for other, index in self.siblings[lit_id] if self.siblings else ():
                    begin = at - index
                    if begin >= start and begin + len(self.literals[other]) <= end and \
                            lowered.startswith(self.literals[other], begin):
                        found.append((at, other))
        for lit_id in self.plain:
            literal = self.literals[lit_id]
            if len(literal) > 1:
                continue
            pos = lowered.find(literal, start, end)  # one byte: memchr
            while pos >= 0:
                found.append((pos, lit_id))
                pos = lowered.find(literal, pos + 1, end)

    def line_literals(self, lowered: bytes) -> Set[int]:
        """Ids of the literals that occur in one lower-cased line."""
        if self.finder is not None:
            ids = self.finder.literal_ids(lowered)
            if ids or not self.finder.holds_literal(lowered):
                return ids
        return self.literals_in(lowered)

    def literals_in(self, lowered: bytes) -> Set[int]:
        """The same as :meth:`line_literals`, always by the pure passes: for building tables
        from the literals themselves, which would fill RE2's caches with states no log needs
        (about 7 MB for the knowledge base's required literals)."""
        found: List[Tuple[int, int]] = []
        self._exact(lowered, 0, len(lowered), found)
        return {lit_id for _, lit_id in found}
