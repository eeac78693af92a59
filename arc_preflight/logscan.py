"""Stream an agent log into events: the few lines that say something about a failure.

Agent logs grow to gigabytes, and almost every line is ``level=info``. Running the knowledge
base's hundred-odd regexes on every line in a Python loop would crawl, so reading is built in two
stages:

1. **Prefilter, at C speed.** The input is read in 1 MiB binary chunks and lower-cased (one C
   call). A *prefilter* then finds every place where one of a set of literals occurs. The set
   is built from *required literals*: for every knowledge-base pattern,
   :func:`required_literals` walks the parsed regex and finds literal text that every match
   must contain (``x509: certificate signed by unknown authority``, ``: no such host``, one of
   ``connection refused``/``actively refused``...). A line the pattern matches always contains
   one of its literals, so it always hits the prefilter: the prefilter is complete by
   construction, not by a hand-kept word list. Trigger patterns for error levels, ``AZCM``
   codes and connect-attempt starts are added the same way. CPython's regex engine is slow on
   a plain alternation of a hundred literals (it tries every branch at every byte), so the
   literals are grouped by an *anchor* character, a set cover chosen so that about three
   anchors serve them all; each anchor gets one regex that starts with that byte (the engine
   then scans for it in a tight C loop), rejects most stops with a two-byte look-ahead class,
   and only then walks a trie of the literals (see :class:`Prefilter`). Three such passes over
   a chunk cost far less than one alternation.
2. **Full match, per hit.** Only for a hit is the containing line cut out (line numbers come from
   ``bytes.count`` of newlines), decoded, and checked against the knowledge-base patterns whose
   literals it contains. The result is an :class:`Event`.

Lines are capped at :data:`LINE_CAP` bytes: the rest of an overlong line is skipped without being
held in memory and keeps the same line number; only the first 64 KiB of a line is matched.
Memory stays constant whatever the input size. Gzip input is detected by its magic bytes, a
UTF-16 byte-order mark (PowerShell 5 redirections) is transcoded, and invalid UTF-8 is replaced,
never fatal.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import importlib
import os
import re
import stat
import sys
import zlib
from dataclasses import dataclass, field
from typing import (
    IO,
    Any,
    BinaryIO,
    Dict,
    FrozenSet,
    Iterator,
    List,
    Optional,
    Pattern,
    Sequence,
    Set,
    Tuple,
)

from .kb import KnowledgeBase
from .model import Cause

CHUNK_SIZE = 1 << 20
LINE_CAP = 64 * 1024

# ---------------------------------------------------------------------------------------------
# Line structure: levels, timestamps, fields, attempt boundaries
# ---------------------------------------------------------------------------------------------

ERROR_LEVELS = frozenset({"error", "fatal", "panic"})
_LEVEL_NAMES = {
    "trace": "trace", "trac": "trace", "debug": "debug", "debu": "debug", "info": "info",
    "warn": "warning", "warning": "warning", "error": "error", "erro": "error", "fatal": "fatal",
    "fata": "fatal", "panic": "panic", "pani": "panic",
}
# logrus text format: level=error; JSON format: "level":"error"; console: ERRO[0002] / ERROR[0002]
_LEVEL_RE = re.compile(
    r'\blevel=\\?"?(?P<a>[A-Za-z]{4,7})\b|"level":\s{0,2}"(?P<b>[A-Za-z]{4,7})"'
    r"|^(?:\x1b\[\d{1,2}m)?(?P<c>TRACE?|DEBUG?|INFO|WARN(?:ING)?|ERROR?|FATAL?|PANIC?)"
    r"(?:\x1b\[0m)?\[\d{1,6}\]"
    r"|^\s{0,8}(?P<d>error|fatal|panic):\s",
    re.IGNORECASE,
)
# Only these matter for finding lines: error-level lines the knowledge base may not know.
_ERROR_LEVEL_TRIGGERS = (
    r'level=\\?"?(?:error|fatal|panic)',
    r'"level":"(?:error|fatal|panic)"',
    r'"level": "(?:error|fatal|panic)"',
    r"(?:erro\[|error\[|fata\[|fatal\[|pani\[|panic\[)\d",
    r"\x1b\[31m",
)
_TIME_RE = re.compile(
    r'(?:\btime="?|^\s{0,4}\[?)(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})'
    r"(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}|UTC)?",
    re.IGNORECASE,
)
_MSG_RE = re.compile(r'\bmsg=(?:"((?:[^"\\]|\\.){0,65536})"|(\S{1,4096}))')
_ERR_RE = re.compile(r'\b(?:error|err)=(?:"((?:[^"\\]|\\.){0,65536})"|(\S{1,4096}))',
                     re.IGNORECASE)
_CONSOLE_MSG_RE = re.compile(r"^(?:\x1b\[\d{1,2}m)?[A-Z]{4,7}(?:\x1b\[0m)?\[\d{1,6}\]\s?")
AZCM_RE = re.compile(r"\bAZCM\d{4}\b", re.IGNORECASE)
_AZCM_TRIGGER = r"azcm[0-9]"

# A connect attempt starts on a line that shows the ``connect`` command being run. The agent's
# exact wording is not documented, so this is a heuristic: a line quoting the command itself
# (``azcmagent connect ...``, ``azcmagent.exe connect``: shell traces, PowerShell transcripts,
# "Running azcmagent connect"), or the first message ``connect`` prints (``Onboarding Machine``).
# Lines at warning level or above, or that carry an AZCM code or a known error, never start an
# attempt (an error that says "run azcmagent connect again" is not a new attempt).
BOUNDARY_PATTERNS: Tuple[str, ...] = (
    r"\bazcmagent(?:\.exe)? connect\b",
    r"\bonboarding machine\b",
)
_BOUNDARY_RE = re.compile("|".join(BOUNDARY_PATTERNS), re.IGNORECASE)

_CONTROL_RE = re.compile(r"\x1b\[[0-9;]{0,16}[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` without ANSI colour codes or control characters, safe to print on a terminal."""
    return _CONTROL_RE.sub(lambda m: "" if m.group().startswith("\x1b") else "?", text)


def parse_level(text: str) -> Optional[str]:
    """The normalised log level of a line (``error``, ``info``...), or None if it shows none."""
    m = _LEVEL_RE.search(text)
    if not m:
        return None
    word = (m.group("a") or m.group("b") or m.group("c") or m.group("d") or "").lower()
    return _LEVEL_NAMES.get(word)


def parse_time(text: str) -> Optional[dt.datetime]:
    """The timestamp of a line (``time="..."`` or a leading ISO date), timezone-aware.

    A timestamp without an offset is taken as local time, as the agent writes it.
    """
    m = _TIME_RE.search(text[:256])
    if not m:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        stamp = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                            min(int(second), 59), micro)
        if not zone:
            return stamp.astimezone()
        if zone.upper() in ("Z", "UTC"):
            return stamp.replace(tzinfo=dt.timezone.utc)
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return stamp.replace(tzinfo=dt.timezone(sign * offset))
    except (ValueError, OverflowError):
        return None


def _field(regex: Pattern[str], text: str) -> Optional[str]:
    m = regex.search(text)
    if not m:
        return None
    value = m.group(1) if m.group(1) is not None else m.group(2)
    return value.replace('\\"', '"') if value is not None else None


# ---------------------------------------------------------------------------------------------
# Required literals: what every match of a regex must contain
# ---------------------------------------------------------------------------------------------

# Python's own regex parser (``re._parser`` since 3.11, ``sre_parse`` before), so that what is
# analysed is exactly what the engine runs.
_sre_parse: Any = importlib.import_module(
    "re._parser" if sys.version_info >= (3, 11) else "sre_parse")

# A requirement is a set of alternatives: every match contains at least one of them.
Requirement = Tuple[str, ...]

# Literals too common in healthy logs to be worth prefiltering on, when a pattern offers better.
_COMMON = frozenset({
    "http", "https", "https://", "http://", "://", "status", "error", "failed", "fail", "get",
    "post", "put", "the", "is", "not", "to", "on", "tcp", "time", "level=", "msg=", "proxy",
})
# Parts of literals that healthy logs are full of (URLs, heartbeats to Azure, logrus fields).
_FREQUENT_PARTS = ("http", "status", "azure.", "microsoft", "windows.net", "level=", "msg=",
                   "time=")
_RARE_FREQ = 35.0  # a literal holding a character this rare (q, z, x, k, @, [...) is worth more
_MAX_ALTERNATIVES = 32
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _literal_char(code: int) -> Optional[str]:
    char = chr(code)
    if not char.isascii() or char in "\r\n":
        return None
    return char.lower()


def _strings(seq: Any) -> Optional[List[str]]:
    """Every string ``seq`` can match, if it is a small finite set of literals; else None."""
    out = [""]
    for op, av in seq:
        name = op.name
        options: Optional[List[str]]
        if name == "LITERAL":
            char = _literal_char(av)
            options = None if char is None else [char]
        elif name == "IN":
            chars: List[Optional[str]] = []
            for item, value in av:
                if item.name == "LITERAL":
                    chars.append(_literal_char(value))
                elif item.name == "RANGE" and value[1] - value[0] < 16:
                    chars.extend(_literal_char(v) for v in range(value[0], value[1] + 1))
                else:
                    chars.append(None)
            options = None if None in chars else list(dict.fromkeys(c for c in chars if c))
        elif name == "SUBPATTERN":
            options = _strings(av[-1])
        elif name == "BRANCH":
            options = []
            for branch in av[1]:
                sub = _strings(branch)
                if sub is None:
                    options = None
                    break
                options.extend(sub)
        elif name in _REPEATS and av[0] == 0 and av[1] == 1:
            sub = _strings(av[2])
            options = None if sub is None else ["", *sub]
        else:
            options = None
        if options is None:
            return None
        out = list(dict.fromkeys(a + b for a in out for b in options))
        if len(out) > _MAX_ALTERNATIVES:
            return None
    return out


class _Walker:
    """Collects requirements from a parsed regex, keeping literal runs as long as possible."""

    def __init__(self) -> None:
        self.out: List[Requirement] = []
        self.run: List[str] = [""]

    def flush(self) -> None:
        if any(self.run):
            self.out.append(tuple(dict.fromkeys(self.run)))
        self.run = [""]

    def walk(self, seq: Any) -> None:
        for op, av in seq:
            name = op.name
            options = _strings([(op, av)])
            if options is not None and len(self.run) * len(options) <= _MAX_ALTERNATIVES:
                self.run = list(dict.fromkeys(a + b for a in self.run for b in options))
                continue
            if name == "SUBPATTERN":
                self.walk(av[-1])  # the group's content is matched in sequence, in place
            elif name == "BRANCH":
                self.flush()
                alternatives: List[str] = []
                for branch in av[1]:
                    best = _best(_requirements(branch))
                    if best is None:
                        alternatives = []
                        break
                    alternatives.extend(best)
                if alternatives:
                    self.out.append(tuple(dict.fromkeys(alternatives)))
            elif name in _REPEATS and av[0] >= 1:
                self.flush()
                self.out.extend(_requirements(av[2]))
            else:
                # IN, ANY, AT, CATEGORY, assertions, optional parts...: the run ends here.
                self.flush()


def _requirements(seq: Any) -> List[Requirement]:
    walker = _Walker()
    walker.walk(seq)
    walker.flush()
    return walker.out


def _score(requirement: Requirement) -> int:
    """How selective a requirement is (higher is better); -1 if unusable.

    Longer literals are rarer; a literal holding a rare character (``@``, ``x``, ``[``...) is
    rarer still; URL schemes, host names and field names that fill healthy logs count for
    nothing, so ``forbidden`` is preferred to ``https://management.azure.com/``. A literal
    without letters (``429``, ``127.0.0.1:40342``) cannot join the anchored passes and needs a
    scan of its own, so it scores low, though above the words healthy logs are full of.
    """
    if not requirement or any(not alt.strip() for alt in requirement):
        return -1
    scores = []
    for alt in requirement:
        if alt.strip() in _COMMON or any(part in alt for part in _FREQUENT_PARTS):
            scores.append(1)
        elif not any(c.isalpha() for c in alt):
            if min(_freq(c) for c in alt) <= _RARE_FREQ:
                scores.append(3)  # "@": a memchr scan finds it nearly for free
            else:
                scores.append(2 if len(alt) >= 3 else 1)
        else:
            rare = min(_freq(c) for c in alt) <= _RARE_FREQ
            scores.append(len(alt) + (5 if rare else 0))
    return min(scores)


def _best(requirements: Sequence[Requirement]) -> Optional[Requirement]:
    best: Optional[Requirement] = None
    best_score = -1
    for requirement in requirements:
        score = _score(requirement)
        if score > best_score:
            best, best_score = requirement, score
    return best


def required_literals(pattern: str) -> Optional[Requirement]:
    """Lower-case literals of which every match of ``pattern`` contains at least one.

    Sound by construction: only literal runs that every match passes through are used, and a
    run is only extended over a group when every way through the group is a known literal (a
    character class, a repeat, an assertion... end a run). None when the pattern has no usable
    literal, so it cannot be prefiltered. The regex is parsed by Python's own parser, so what is
    analysed is what the engine runs.
    """
    try:
        parsed = _sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:
        return None
    return _best(_requirements(parsed))


# ---------------------------------------------------------------------------------------------
# The prefilter
# ---------------------------------------------------------------------------------------------

# Approximate frequency (per 10,000 bytes) of lower-cased bytes in agent logs: timestamps, GUIDs,
# URLs and English messages. It only steers the choice of anchors and guards (see Prefilter).
_FREQ: Dict[str, float] = {
    **dict.fromkeys("`~^|{}<>!#$%&*+;?@'\\_", 1.0),
    "q": 8, "j": 8, "z": 30, "x": 35, "[": 10, "]": 10, "(": 10, ")": 10, "k": 30, "w": 30,
    "y": 50, "v": 130, "b": 110, ",": 30, "g": 250, "f": 120, "p": 165, "h": 110, "u": 240,
    "c": 270, "m": 270, "d": 175, "l": 250, "r": 275, "n": 430, "i": 435, "o": 350, "a": 350,
    "s": 465, "t": 525, "e": 750, " ": 530, "\"": 340, "=": 330, ":": 220, ".": 175, "/": 165,
    "-": 200, "0": 385, "1": 265, "2": 290, "3": 185, "4": 115, "5": 115, "6": 165, "7": 80,
    "8": 90, "9": 90,
}
# One more scan of the text costs about as much as stopping on 10% of its bytes (measured: a
# single-byte scan runs at ~4 GB/s, a stop with a failing guard costs ~6-20 ns).
_PASS_COST = 1000.0
_SHORT = 3  # literals shorter than this get a plain search of their own


def _freq(char: str) -> float:
    return _FREQ.get(char, 100.0)


def _minimise(literals: Set[str]) -> List[str]:
    """Drop every literal that contains another one: a line holding it holds the shorter one."""
    kept: List[str] = []
    for literal in sorted(literals, key=lambda s: (len(s), s)):
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
        best = max(counts, key=lambda c: (counts[c] / (_PASS_COST + _freq(c)), -_freq(c), c))
        chosen.add(best)
        uncovered = {lit for lit in uncovered if best not in lit}
    # A character taken early may have been made redundant by later ones: drop it if so.
    for char in sorted(chosen, key=_freq, reverse=True):
        rest = chosen - {char}
        if all(any(c in lit for c in rest) for lit in literals):
            chosen = rest
    return {lit: min((c for c in chosen if c in lit), key=lambda c: (_freq(c), c))
            for lit in literals}


def _class(values: Set[int]) -> bytes:
    return b"[" + b"".join(re.escape(bytes([v])) for v in sorted(values)) + b"]"


_TOTAL = 10000.0


def _p(chars: Set[int]) -> float:
    """Rough chance that a byte of log text is one of ``chars``."""
    return min(1.0, sum(_freq(chr(c)) for c in chars) / _TOTAL)


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
            guard = (b"(?=" + _class({c[0] for c in chars}) + _class({c[1] for c in chars})
                     + b")")
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
    get a plain search of their own. Every occurrence of every literal is found, whatever the
    text around it.
    """

    literals: Tuple[bytes, ...]  # literal id -> literal
    anchors: Tuple[str, ...]
    passes: Tuple[Pattern[bytes], ...]
    group_literal: Tuple[Tuple[int, ...], ...]  # per pass: group number -> literal id
    plain: Tuple[int, ...]  # ids of literals found without an anchor pass
    plain_regex: Tuple[Tuple[int, Pattern[bytes]], ...] = ()  # ... those longer than a byte

    @classmethod
    def build(cls, literals: Set[str]) -> Prefilter:
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
        order = tuple(sorted(groups, key=lambda a: (_freq(a), a)))
        passes = []
        group_maps = []
        for anchor in order:
            code = ord(anchor)
            numbering: List[int] = [-1]
            choice = _place(groups[anchor], code, encoded)
            body = _guarded(code, choice, encoded, numbering)
            passes.append(re.compile(re.escape(anchor.encode("ascii")) + body))
            group_maps.append(tuple(numbering))
        plain_regex = tuple((i, re.compile(re.escape(encoded[i]))) for i in plain
                            if len(encoded[i]) > 1)
        return cls(literals=encoded, anchors=order, passes=tuple(passes),
                   group_literal=tuple(group_maps), plain=plain, plain_regex=plain_regex)

    def hits(self, lowered: bytes, end: int) -> List[Tuple[int, int]]:
        """(offset, literal id) of every literal occurrence in ``lowered[:end]``, in order.

        The offset is inside the occurrence (at its anchor), so on the literal's own line.
        """
        found: List[Tuple[int, int]] = []
        for regex, numbering in zip(self.passes, self.group_literal):
            found.extend((m.start(), numbering[m.lastindex or 0])
                         for m in regex.finditer(lowered, 0, end))
        for lit_id, regex in self.plain_regex:  # the engine's prefix scan beats bytes.find
            found.extend((m.start(), lit_id) for m in regex.finditer(lowered, 0, end))
        for lit_id in self.plain:
            literal = self.literals[lit_id]
            if len(literal) > 1:
                continue
            pos = lowered.find(literal, 0, end)  # one byte: memchr
            while pos >= 0:
                found.append((pos, lit_id))
                pos = lowered.find(literal, pos + 1, end)
        found.sort()
        return found

    def line_literals(self, lowered: bytes) -> Set[int]:
        """Ids of the literals that occur in one lower-cased line."""
        return {lit_id for _, lit_id in self.hits(lowered, len(lowered))}


@dataclass(frozen=True)
class Matcher:
    """The knowledge base compiled for streaming: the prefilter and, per prefilter literal, the
    patterns that may match a line holding it."""

    kb: KnowledgeBase
    prefilter: Prefilter
    # pattern id -> (cause position in kb.causes, compiled pattern, its own required literals)
    patterns: Tuple[Tuple[int, Pattern[str], Tuple[bytes, ...]], ...]
    # prefilter literal id -> ids of the patterns whose required literal contains it
    candidates: Tuple[Tuple[int, ...], ...]
    # patterns with no required literal: run on every prefiltered line; reported as uncovered
    always: Tuple[int, ...]
    uncovered: Tuple[Tuple[str, str], ...]  # (cause id, pattern)
    azcm_ids: FrozenSet[int]  # prefilter literals that may start an AZCM code
    boundary_ids: FrozenSet[int]  # ... that may belong to a connect-attempt start
    literals: FrozenSet[str] = field(default_factory=frozenset)  # every required literal

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
        chosen: Set[int] = set(self.always)
        for lit_id in literal_ids:
            chosen.update(self.candidates[lit_id])
        if not chosen:
            return []
        found: Dict[int, Tuple[int, int]] = {}
        for pid in sorted(chosen):
            cause_pos, regex, needs = self.patterns[pid]
            if cause_pos in found or (needs and not any(n in lowered for n in needs)):
                continue
            hit = regex.search(text)
            if hit:
                found[cause_pos] = hit.span()
        causes = self.kb.causes
        order = sorted(found, key=lambda pos: (-causes[pos].priority, pos))
        return [(causes[pos], found[pos][0], found[pos][1]) for pos in order]


def build_matcher(kb: KnowledgeBase) -> Matcher:
    """Compile the knowledge base's patterns, and the tool's own triggers, for streaming."""
    literals: Set[str] = set()
    patterns: List[Tuple[int, Pattern[str], Tuple[bytes, ...]]] = []
    always: List[int] = []
    uncovered: List[Tuple[str, str]] = []
    for cause_pos, cause in enumerate(kb.causes):
        for source, regex in zip(cause.patterns, kb.compiled[cause.id]):
            pid = len(patterns)
            requirement = required_literals(source)
            if requirement is None:
                always.append(pid)
                uncovered.append((cause.id, source))
                patterns.append((cause_pos, regex, ()))
                continue
            literals.update(requirement)
            patterns.append((cause_pos, regex, tuple(s.encode("ascii") for s in requirement)))
    triggers: Dict[str, Requirement] = {}
    for trigger in (*_ERROR_LEVEL_TRIGGERS, _AZCM_TRIGGER, *BOUNDARY_PATTERNS):
        requirement = required_literals(trigger)
        if requirement is None:  # pragma: no cover - guarded by tests
            raise ValueError(f"trigger {trigger!r} has no required literal")
        literals.update(requirement)
        triggers[trigger] = requirement
    prefilter = Prefilter.build(literals)
    candidates: List[Tuple[int, ...]] = []
    azcm_ids: Set[int] = set()
    boundary_ids: Set[int] = set()
    for lit_id, small in enumerate(prefilter.literals):
        candidates.append(tuple(pid for pid, (_, _, needs) in enumerate(patterns)
                                if any(small in need for need in needs)))
        if any(small in t.encode("ascii") for t in triggers[_AZCM_TRIGGER]):
            azcm_ids.add(lit_id)
        if any(small in t.encode("ascii") for b in BOUNDARY_PATTERNS for t in triggers[b]):
            boundary_ids.add(lit_id)
    return Matcher(
        kb=kb, prefilter=prefilter, patterns=tuple(patterns), candidates=tuple(candidates),
        always=tuple(always), uncovered=tuple(uncovered), azcm_ids=frozenset(azcm_ids),
        boundary_ids=frozenset(boundary_ids), literals=frozenset(literals),
    )


_MATCHERS: Dict[int, Matcher] = {}


def matcher_for(kb: KnowledgeBase) -> Matcher:
    """The matcher for a knowledge base, built once per process (the KB is immutable)."""
    cached = _MATCHERS.get(id(kb))
    if cached is None or cached.kb is not kb:
        cached = build_matcher(kb)
        _MATCHERS.clear()
        _MATCHERS[id(kb)] = cached
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

    @property
    def is_error(self) -> bool:
        return self.level in ERROR_LEVELS


@dataclass
class ScanStats:
    lines: int = 0
    bytes_read: int = 0
    truncated_lines: int = 0
    sample: bytes = b""  # the first bytes read, to tell text from binary
    warnings: List[str] = field(default_factory=list)

    def looks_binary(self) -> bool:
        """More than one byte in ten of the start is a NUL, a control byte or invalid UTF-8."""
        if not self.sample:
            return False
        text = self.sample.decode("utf-8", "replace")
        odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\r\n"))
        return odd * 10 > len(text)


class LogReadError(Exception):
    """The input cannot be read at all; the message is one line for the user."""


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
    causes = matcher.match(text, lowered, literal_ids)
    codes: Tuple[str, ...] = ()
    if not literal_ids.isdisjoint(matcher.azcm_ids):
        codes = tuple(dict.fromkeys(c.upper() for c in AZCM_RE.findall(text)))
    level = parse_level(text)
    boundary = False
    if (not causes and not codes and level not in ERROR_LEVELS and level != "warning"
            and not literal_ids.isdisjoint(matcher.boundary_ids)):
        boundary = _BOUNDARY_RE.search(text) is not None
    if not causes and not codes and not boundary and level not in ERROR_LEVELS:
        return None
    msg = _field(_MSG_RE, text)
    if msg is None:
        console = _CONSOLE_MSG_RE.match(text)
        if console:
            msg = text[console.end():]
    return Event(
        line_no=line_no, text=text, timestamp=parse_time(text), level=level, msg=msg,
        error=_field(_ERR_RE, text), azcm=codes, causes=tuple(causes), boundary=boundary,
        truncated=truncated,
    )


def scan_stream(stream: Any, matcher: Matcher, stats: Optional[ScanStats] = None,
                chunk_size: int = CHUNK_SIZE, line_cap: int = LINE_CAP) -> Iterator[Event]:
    """Events of a binary stream, in line order, reading at most ``chunk_size`` at a time.

    Lines are numbered from 1 and split on ``\\n`` only (a ``\\r`` before it is dropped).
    A line longer than ``line_cap`` bytes is matched on its first ``line_cap`` bytes; the rest
    is skipped as it streams by, never held in memory. ``stats`` (if given) is filled in as the
    stream is read.
    """
    if stats is None:
        stats = ScanStats()
    hits = matcher.prefilter.hits
    line_no = 0  # newlines consumed before the start of ``carry``
    carry = b""
    skipping = False  # inside the unread tail of an overlong line
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        if not stats.bytes_read:
            stats.sample = chunk[:4096]
        stats.bytes_read += len(chunk)
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1:]
            line_no += 1
            skipping = False
            stats.lines = line_no
            if not chunk:
                continue
        buf = carry + chunk if carry else chunk
        carry = b""
        last = buf.rfind(b"\n")
        if last >= 0:
            end = last + 1
            lowered = buf.lower()
            found = hits(lowered, end)
            counted = 0  # newlines in buf[:count_pos]
            count_pos = 0
            index = 0
            while index < len(found):
                hit = found[index][0]
                start = buf.rfind(b"\n", 0, hit) + 1
                stop = buf.find(b"\n", hit, end)
                ids = set()
                while index < len(found) and found[index][0] < stop:
                    ids.add(found[index][1])
                    index += 1
                counted += buf.count(b"\n", count_pos, start)
                count_pos = start
                number = line_no + counted + 1
                if stop - start > line_cap:
                    stats.truncated_lines += 1
                    event = event_for_line(matcher, buf[start:start + line_cap], number,
                                           truncated=True)
                else:
                    event = event_for_line(matcher, buf[start:stop], number,
                                           lowered[start:stop], ids)
                if event is not None:
                    yield event
            line_no += counted + buf.count(b"\n", count_pos, end)
            stats.lines = line_no
            rest = buf[end:]
        else:
            rest = buf
        if len(rest) > line_cap:
            # An overlong line: match its first LINE_CAP bytes now, skip the rest as it comes.
            stats.truncated_lines += 1
            event = event_for_line(matcher, rest[:line_cap], line_no + 1, truncated=True)
            if event is not None:
                yield event
            skipping = True
        else:
            carry = rest
    if skipping:
        line_no += 1
    elif carry:
        line_no += 1
        event = event_for_line(matcher, carry, line_no)
        if event is not None:
            yield event
    stats.lines = line_no


# ---------------------------------------------------------------------------------------------
# Opening inputs: files, stdin, gzip, UTF-16
# ---------------------------------------------------------------------------------------------

GZIP_MAGIC = b"\x1f\x8b"


def default_log_path(platform: str = sys.platform) -> str:
    """The agent's own log for this operating system."""
    if platform.startswith("win"):
        base = os.environ.get("PROGRAMDATA") or r"C:\ProgramData"
        return base.rstrip("\\/") + r"\AzureConnectedMachineAgent\Log\azcmagent.log"
    return "/var/opt/azcmagent/log/azcmagent.log"


class _Prefixed:
    """A read-only stream that returns ``head`` first, then the rest of ``raw``."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass


class _Transcoded:
    """Decode UTF-16 (with BOM) on the fly and hand out UTF-8 bytes."""

    def __init__(self, raw: Any, encoding: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done:
            data = self._raw.read(size if size and size > 0 else CHUNK_SIZE)
            if not data:
                self._done = True
                return self._decoder.decode(b"", final=True).encode("utf-8", "replace")
            text = self._decoder.decode(data)
            if text:
                return text.encode("utf-8", "replace")
        return b""


def _read_head(raw: Any, size: int) -> bytes:
    head = b""
    while len(head) < size:
        data = raw.read(size - len(head))
        if not data:
            break
        head += data
    return head


class _Guarded:
    """Turn decompression errors in the middle of a stream into an end of input + a warning."""

    def __init__(self, raw: Any, name: str, stats: ScanStats) -> None:
        self._raw = raw
        self._name = name
        self._stats = stats

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._raw.read(size)
            return data
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            reason = str(exc) or type(exc).__name__
            self._stats.warnings.append(
                f"{self._name}: stopped reading after line {self._stats.lines}: "
                f"damaged compressed data ({reason})")
            return b""
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._stats.warnings.append(
                f"{self._name}: stopped reading after line {self._stats.lines}: {reason}")
            return b""


@dataclass
class LogInput:
    """An opened input: ``stream`` yields raw (decompressed, UTF-8) bytes."""

    name: str  # file name for evidence ("azcmagent.log", "stdin")
    path: str  # what the user gave, for messages
    stream: Any
    compressed: bool
    encoding: str
    _close: Optional[BinaryIO] = None

    def close(self) -> None:
        if self._close is not None:
            self._close.close()


def open_log(path: str, stats: ScanStats, stdin: Optional[BinaryIO] = None) -> LogInput:
    """Open a log file, ``-`` for standard input; gzip and UTF-16 are recognised by content.

    Raises :class:`LogReadError` with a one-line, user-facing reason when it cannot be read.
    """
    to_close: Optional[BinaryIO] = None
    if path == "-":
        raw: Any = stdin if stdin is not None else sys.stdin.buffer
        name = "stdin"
    else:
        name = os.path.basename(path.rstrip("/\\")) or path
        if os.path.isdir(path):
            raise LogReadError(f"{path} is a directory; give the log file inside it "
                               "(e.g. azcmagent.log or himds.log)")
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = 0  # let open() below say what is wrong
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            # /dev/zero or a disk would be read for ever; a pipe (FIFO) is fine.
            raise LogReadError(f"{path} is a device, not a log file (use - to read a stream "
                               "from stdin)")
        try:
            to_close = open(path, "rb")  # noqa: SIM115 - closed by LogInput.close
        except FileNotFoundError:
            raise LogReadError(f"cannot read {path}: no such file") from None
        except PermissionError:
            raise LogReadError(f"cannot read {path}: permission denied (the agent's logs are "
                               "readable by root/Administrator only; rerun elevated)") from None
        except OSError as exc:
            raise LogReadError(f"cannot read {path}: {exc.strerror or exc}") from None
        raw = to_close
    try:
        head = _read_head(raw, 4)
    except OSError as exc:
        if to_close is not None:
            to_close.close()
        raise LogReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    stream: Any = _Prefixed(head, raw)
    compressed = head[:2] == GZIP_MAGIC
    if compressed:
        stream = _Guarded(gzip.GzipFile(fileobj=stream, mode="rb"), name, stats)
        head = stream.read(4)
        stream = _Prefixed(head, stream)
    else:
        stream = _Guarded(stream, name, stats)
    encoding = "utf-8"
    if head.startswith(codecs.BOM_UTF8):
        stream.read(3)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        stream = _Transcoded(stream, "utf-16")
    return LogInput(name=name, path=path, stream=stream, compressed=compressed,
                    encoding=encoding, _close=to_close)


def rotated_siblings(path: str) -> List[str]:
    """Older rotated copies next to ``path`` (``azcmagent.log.1``, ``.2.gz``...), newest first."""
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    found: List[Tuple[int, str]] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    pattern = re.compile(re.escape(base) + r"\.(\d{1,4})(?:\.gz)?$")
    for entry in names:
        m = pattern.match(entry)
        if m:
            found.append((int(m.group(1)), os.path.join(folder, entry)))
    return [p for _, p in sorted(found)]
