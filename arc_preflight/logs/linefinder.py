"""Stage one's fast path: RE2 finds the lines of a block that hold one of the prefilter's
literals.

CPython's regex engine tries every branch of an alternation at every byte, which is why the
pure prefilter (:mod:`.prefilter`) needs anchors, guards and a trie per anchor byte, and even so
spends most of ``diagnose``'s time. RE2 compiles the same alternation into one DFA (in effect an
Aho-Corasick automaton) and walks the text once, in linear time whatever the text, which is
DESIGN section 7's rule for untrusted input. It reports leftmost matches that do not overlap, so
it cannot tell which literals a line holds when they overlap; it only has to find the lines. No
literal holds a newline, so every line that holds any literal holds a match that starts on it.
Which literals such a line holds comes from RE2's set matcher (every literal a separate
pattern, all reported), and the offsets of :meth:`.prefilter.Prefilter.hits` from the pure
prefilter run on that line alone; the property tests hold both to the pure prefilter's hits.

RE2 comes from the ``google-re2`` wheel, installed with the package where a wheel is published
(see pyproject.toml's markers); where it is missing (another interpreter, a machine without a
wheel, the single-file build) the pure prefilter does all the work, with the same results.
Setting :data:`PURE_ENV` forces that path, for tests and for comparing the two.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Optional, Sequence, Set, Tuple

PURE_ENV = "ARC_PREFLIGHT_PURE_PREFILTER"
BACKENDS = ("auto", "re2", "pure")

# RE2's budget for the compiled program and its DFA caches. The knowledge base's alternation is
# a program of about 15,000 instructions (240 KB); the DFA builds only the states the text
# visits, so memory actually used stays far below the budget (see scripts/bench.py). A budget
# too small makes RE2 throw its DFA cache away again and again and then fall back to its slow
# NFA; tests/test_linefinder.py holds the program to a fraction of the budget.
MAX_MEM = 64 << 20


class LineFinder:
    """The lines of a text that hold at least one of a set of literals, in any ASCII case, and
    which of the literals a line holds."""

    __slots__ = ("regex", "set")

    def __init__(self, regex: Any, literal_set: Any) -> None:
        self.regex = regex
        self.set = literal_set

    def literal_ids(self, lowered: bytes) -> Set[int]:
        """Positions (in the list it was built from) of the literals that occur in one
        lower-cased line: one call into RE2's set matcher, where the pure prefilter's passes
        cost several times as much on a line (see :meth:`.prefilter.Prefilter.line_literals`,
        which the tests hold this to)."""
        return set(self.set.Match(lowered) or ())

    def holds_literal(self, lowered: bytes) -> bool:
        """Whether the line holds any literal, by the search :meth:`lines` uses: a check on an
        empty :meth:`literal_ids` (RE2's set matcher answers "none" when it runs out of
        memory, where its search would fall back to a slower engine)."""
        return self.regex.search(lowered) is not None

    def lines(self, text: bytes, end: int) -> Iterator[Tuple[int, int]]:
        """(start, stop) of each line of ``text[:end]`` holding a literal, in order; ``stop``
        is the offset of the line's newline, or ``end``."""
        search = self.regex.search
        pos = 0
        while pos < end:
            found = search(text, pos, end)
            if found is None:
                return
            at = found.start()
            start = text.rfind(b"\n", pos, at) + 1 or pos
            stop = text.find(b"\n", at, end)
            if stop < 0:
                stop = end
            yield start, stop
            pos = stop + 1

    @property
    def program_size(self) -> int:
        return int(self.regex.programsize)


def _re2() -> Any:
    """The re2 module, or None where it is not installed, cannot load (a missing shared
    library raises OSError, not ImportError) or is another package of the same name (pyre2,
    fb-re2, an old google-re2) without the API used here: each of those means the pure path."""
    try:
        import re2
    except Exception:
        return None
    options = getattr(re2, "Options", None)
    encoding = getattr(options, "Encoding", None)
    if (getattr(encoding, "LATIN1", None) is None
            or getattr(getattr(re2, "Set", None), "SearchSet", None) is None
            or not callable(getattr(re2, "compile", None))):
        return None
    return re2


def available() -> bool:
    return _re2() is not None


def chosen_backend(backend: str = "auto") -> str:
    """``re2`` or ``pure``: what ``backend`` means here (``auto`` is RE2 where it is installed
    and :data:`PURE_ENV` is not set to a true value)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown prefilter backend {backend!r}; use one of {BACKENDS}")
    if backend == "auto":
        forced = os.environ.get(PURE_ENV, "").strip().lower() not in ("", "0", "false", "no")
        return "pure" if forced or not available() else "re2"
    if backend == "re2" and not available():
        raise ValueError("the re2 prefilter backend needs the google-re2 package")
    return backend


def build(literals: Sequence[bytes], backend: str = "auto", max_mem: int = MAX_MEM
          ) -> Optional[LineFinder]:
    """A LineFinder for ``literals`` (lower-case ASCII, none empty or holding a newline), or
    None where the pure prefilter is to do the work. ``max_mem`` is RE2's budget (the default
    is the one to use; tests lower it to show what too small a budget does)."""
    if chosen_backend(backend) == "pure" or not literals:
        return None
    for literal in literals:
        if not literal or b"\n" in literal:
            raise ValueError(f"literal {literal!r} cannot mark a line")
    try:
        return _compile(literals, max_mem)
    except Exception:
        # RE2 refused (a budget too small for the literals, an API that differs): asked for by
        # name that is an error; otherwise the pure passes do the same work, more slowly.
        if backend == "re2":
            raise
        return None


def _options(re2: Any, max_mem: int, case_sensitive: bool) -> Any:
    options = re2.Options()
    options.max_mem = max_mem
    # Latin-1: every byte is one character, so invalid UTF-8 in a log is just more bytes.
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    options.case_sensitive = case_sensitive
    return options


def _compile(literals: Sequence[bytes], max_mem: int) -> LineFinder:
    re2 = _re2()
    # The search ignores ASCII case, as bytes.lower() does (the literals are ASCII, and in
    # Latin-1 no other byte folds to an ASCII letter), so raw text can be searched without
    # lower-casing it; the set matcher is handed lines already lower-cased.
    # longest_match off: RE2 may stop at the first literal that ends, which is all a line needs.
    pattern = b"|".join(re2.escape(literal) for literal in literals)
    literal_set = re2.Set.SearchSet(_options(re2, max_mem, case_sensitive=True))
    for literal in literals:
        literal_set.Add(re2.escape(literal))  # numbered 0, 1... in this order
    literal_set.Compile()
    return LineFinder(re2.compile(pattern, _options(re2, max_mem, case_sensitive=False)),
                      literal_set)
