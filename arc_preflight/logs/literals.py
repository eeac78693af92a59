"""Which literal text a regex requires: every match of the pattern holds one of a few literals.

The prefilter (:mod:`.prefilter`) searches a log for these literals instead of running every
knowledge-base pattern on every line; a line a pattern matches always holds one of the literals
:func:`required_literals` finds for it, so nothing is missed. The regex is parsed by Python's
own parser, so what is analysed is exactly what the engine runs.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

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
# Words some healthy logs hold on nearly every line (the extension manager names the extension
# in each): worse than the common words above, so ``extension ... failed`` is found by ``fail``.
_EVERY_LINE = frozenset({"extension", "extensions"})
# ... and those a family's stem may not hold (``winhttp`` is no URL).
STEM_FREQUENT = ("http:", "https", "://", "status", *_FREQUENT_PARTS[2:])
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
                self.branch(av[1])
            elif name in _REPEATS and av[0] >= 1:
                self.flush()
                self.repeat(av[2])
                self.after_repeat(av[2])
            else:
                # IN, ANY, AT, CATEGORY, assertions, optional parts...: the run ends here.
                self.flush()


    def branch(self, branches: Any) -> None:
        """An alternation: the best requirement of every branch, put together."""
        alternatives: List[str] = []
        for branch in branches:
            best = _best(_requirements(branch))
            if best is None:
                return
            alternatives.extend(best)
        if alternatives:
            self.out.append(tuple(dict.fromkeys(alternatives)))

    def repeat(self, item: Any) -> None:
        """A repeat of at least once: what its item requires."""
        self.out.extend(_requirements(item))

    def after_repeat(self, item: Any) -> None:
        """Where a run of literals starts again after a repeat (here: afresh)."""


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
        if alt.strip() in _EVERY_LINE:
            scores.append(0)
        elif alt.strip() in _COMMON or any(part in alt for part in _FREQUENT_PARTS):
            scores.append(1)
        elif not any(c.isalpha() for c in alt):
            if min(freq(c) for c in alt) <= _RARE_FREQ:
                scores.append(3)  # "@": a memchr scan finds it nearly for free
            else:
                scores.append(2 if len(alt) >= 3 else 1)
        else:
            rare = min(freq(c) for c in alt) <= _RARE_FREQ
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


# Approximate frequency (per 10,000 bytes) of lower-cased bytes in agent logs: timestamps, GUIDs,
# URLs and English messages. It only steers the choice of anchors and guards (see Prefilter).
FREQ: Dict[str, float] = {
    **dict.fromkeys("`~^|{}<>!#$%&*+;?@'\\_", 1.0),
    "q": 8, "j": 8, "z": 30, "x": 35, "[": 10, "]": 10, "(": 10, ")": 10, "k": 30, "w": 30,
    "y": 50, "v": 130, "b": 110, ",": 30, "g": 250, "f": 120, "p": 165, "h": 110, "u": 240,
    "c": 270, "m": 270, "d": 175, "l": 250, "r": 275, "n": 430, "i": 435, "o": 350, "a": 350,
    "s": 465, "t": 525, "e": 750, " ": 530, "\"": 340, "=": 330, ":": 220, ".": 175, "/": 165,
    "-": 200, "0": 385, "1": 265, "2": 290, "3": 185, "4": 115, "5": 115, "6": 165, "7": 80,
    "8": 90, "9": 90,
}

def freq(char: str) -> float:
    return FREQ.get(char, 100.0)


# A condition every match of a pattern meets, on the lower-cased line: ("any", items) holds when
# one of its items does, ("all", items) when all of them do; an item is a literal or a condition,
# and a condition may be a single literal.
Condition = Tuple[str, Tuple[Any, ...]]
_MAX_CONDITION_LITERALS = 128  # an ``all`` stops at its first failing item, so size costs little
_CLASS_RUN = 8


class _ConditionWalker(_Walker):
    """Collects, besides the requirements of a sequence, one condition per alternation (any of
    its branches' own conditions) and per repeated group, instead of only their best literals."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: List[Condition] = []

    def branch(self, branches: Any) -> None:
        options = []
        for branch in branches:
            sub = _condition(branch)
            if sub is None:  # a branch that requires nothing: nor does the alternation
                return
            options.append(sub)
        self.parts.append(("any", tuple(options)))

    def repeat(self, item: Any) -> None:
        sub = _condition(item)
        if sub is not None:
            self.parts.append(sub)

    def after_repeat(self, item: Any) -> None:
        """A repeat of one of a few characters ends with one of them, right before what
        follows: ``[":= ]{1,4}407`` needs one of ``"407``, ``:407``, ``=407``, `` 407``, which
        a timestamp's ``.407`` is not. (Not for the prefilter's own literals: a run starting with
        a space or a quote would cost it a pass over the text that stops everywhere.)"""
        options = _strings(item)
        if options and len(options) <= _CLASS_RUN and all(len(o) == 1 for o in options):
            self.run = options


def _condition(seq: Any) -> Optional[Condition]:
    walker = _ConditionWalker()
    walker.walk(seq)
    walker.flush()
    items: List[Any] = [("any", tuple(alt.encode("ascii") for alt in requirement))
                        for requirement in walker.out if "" not in requirement]
    items.extend(walker.parts)
    return ("all", tuple(items)) if items else None


def _size(condition: Condition) -> int:
    return sum(1 if isinstance(item, bytes) else _size(item) for item in condition[1])


def required_condition(pattern: str) -> Optional[Any]:
    """All that :func:`required_literals` knows about ``pattern``, kept as a condition a line
    must meet to be matched, or None when it is too large to be worth testing.

    The best requirement alone lets through every line holding it: ``112`` occurs in many a
    byte count and timestamp, but a line without ``exit code``, ``error code``... cannot match
    ``(?:exit code|error code|...)\\W{1,3}112\\b``, and testing a few substrings costs far
    less than the regex search it saves.
    """
    return analyse(pattern)[1]


def analyse(pattern: str) -> Tuple[Optional[Requirement], Optional[Any]]:
    """:func:`required_literals` and :func:`required_condition` of ``pattern``, parsed once
    (building the matcher parses every knowledge-base pattern)."""
    try:
        parsed = _sre_parse.parse(pattern, re.IGNORECASE)
    except re.error:
        return None, None
    condition = _condition(parsed)
    if condition is not None and _size(condition) > _MAX_CONDITION_LITERALS:
        condition = None
    return _best(_requirements(parsed)), (None if condition is None else _simplify(condition))


def holds(condition: Any, lowered: bytes) -> bool:
    """Whether a lower-cased line meets ``condition`` (or holds a literal). Plain loops: this
    runs for every pattern that a hit line might match, and generators cost more here."""
    if condition.__class__ is bytes:
        return condition in lowered
    kind, items = condition
    if kind == "any":
        for item in items:
            if item in lowered if item.__class__ is bytes else holds(item, lowered):
                return True
        return False
    for item in items:
        if not (item in lowered if item.__class__ is bytes else holds(item, lowered)):
            return False
    return True


def _simplify(condition: Any) -> Any:
    """The same condition with single-item groups unwrapped and nested groups of the same kind
    merged."""
    if isinstance(condition, bytes):
        return condition
    kind, items = condition
    flat: List[Any] = []
    for item in (_simplify(i) for i in items):
        if not isinstance(item, bytes) and item[0] == kind:
            flat.extend(item[1])
        else:
            flat.append(item)
    unique = tuple(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else (kind, unique)
