"""The literal analysis of the shipped patterns, done once per release instead of once per run.

Building the matcher analyses every knowledge-base pattern and failure shape
(:func:`.literals.analyse`): more than half a second at the start of every ``diagnose``, for
patterns that change only with a release. The results are kept in
``data/pattern_analysis.json``, written by ``scripts/pattern_analysis.py``. A pattern the file does
not hold (a knowledge base edited by hand, a file not yet regenerated) is analysed as before, and
an unreadable file counts as empty, so the file can only make a run start sooner, never change
what it finds. ``tests/test_pattern_analysis.py`` checks that it holds exactly the shipped
patterns and that every entry equals a fresh analysis.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..datafiles import read_generated
from ..kb import KnowledgeBase
from . import literals
from .levels import ERROR_LEVEL_TRIGGERS
from .lines import AZCM_TRIGGER, BOUNDARY_PATTERNS, FAILURE_PATTERNS

FILE_NAME = "pattern_analysis.json"
FORMAT = 1
Analysis = Tuple[Optional[literals.Requirement], Optional[Any]]

_entries: Optional[Dict[str, Any]] = None


def triggers() -> Tuple[str, ...]:
    """The tool's own shapes the matcher prefilters on, beside the knowledge base's patterns."""
    return (*ERROR_LEVEL_TRIGGERS, AZCM_TRIGGER, *BOUNDARY_PATTERNS, *FAILURE_PATTERNS)


def shipped_patterns(kb: KnowledgeBase) -> List[str]:
    """Every pattern the matcher analyses, in a stable order, each once."""
    every = [p for cause in kb.causes for p in cause.patterns]
    return list(dict.fromkeys([*every, *triggers()]))


def _encode(condition: Any) -> Any:
    # bytes leaves become ASCII strings, ("any"|"all", items) groups become lists
    if condition is None or isinstance(condition, bytes):
        return None if condition is None else condition.decode("ascii")
    kind, items = condition
    return [kind, [_encode(item) for item in items]]


def _decode(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return None if value is None else value.encode("ascii")
    kind, items = value
    return (kind, tuple(_decode(item) for item in items))


def encode(result: Analysis) -> List[Any]:
    """One entry of the file, as JSON values."""
    requirement, condition = result
    return [None if requirement is None else list(requirement), _encode(condition)]


def document(patterns: Iterable[str]) -> Dict[str, Any]:
    """The whole file for ``patterns``, analysed now."""
    return {"format": FORMAT,
            "patterns": {p: encode(literals.analyse(p)) for p in patterns}}


def _load() -> Dict[str, Any]:
    entries = read_generated(FILE_NAME, FORMAT).get("patterns")
    return entries if isinstance(entries, dict) else {}


def analyse(pattern: str) -> Analysis:
    """:func:`.literals.analyse` of ``pattern``, from the file when it holds the pattern."""
    global _entries
    if _entries is None:
        _entries = _load()
    entry = _entries.get(pattern)
    if not (isinstance(entry, list) and len(entry) == 2):
        return literals.analyse(pattern)
    try:
        requirement = None if entry[0] is None else tuple(str(t) for t in entry[0])
        return requirement, _decode(entry[1])
    except (TypeError, ValueError, AttributeError):
        return literals.analyse(pattern)
