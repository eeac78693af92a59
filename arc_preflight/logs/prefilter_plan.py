"""The prefilter for the shipped patterns, planned once per release instead of once per run.

Choosing anchors, placing every literal on one and writing the tries (:meth:`.prefilter.
Prefilter.build`), then asking the prefilter which of its literals each required literal holds
(:func:`.scanner.build_matcher`), took about 0.4 s at the start of every ``diagnose``: most of
the wait for a pasted paragraph, and time the 1 GB benchmark's workers spent idle. All of it
depends only on the set of required literals, which changes only with a release, so
``scripts/pattern_analysis.py`` writes the result to ``data/prefilter_plan.json``.

The file is used only when the set of literals it was planned for is exactly the set a run needs;
otherwise (a knowledge base edited by hand, a file not yet regenerated, a damaged file) the
prefilter is built as before. So it can only make a run start sooner, never change what it
finds; ``tests/test_prefilter_plan.py`` holds the shipped file to a fresh build.
"""

from __future__ import annotations

import json
from typing import AbstractSet, Any, Dict, List, Optional, Tuple

from ..datafiles import DATA_DIR
from . import linefinder
from .prefilter import Prefilter

FILE_NAME = "prefilter_plan.json"
FORMAT = 1

_loaded: Optional[Dict[str, Any]] = None


def document(literals: AbstractSet[str], prefilter: Prefilter) -> Dict[str, Any]:
    """The file's content for a prefilter built from ``literals`` (every required literal)."""
    ordered = sorted(literals)
    return {
        "format": FORMAT,
        "literals": ordered,
        "minimal": [lit.decode("ascii") for lit in prefilter.literals],
        "anchors": list(prefilter.anchors),
        "sources": [src.decode("ascii") for src in prefilter.sources],
        "groups": [list(g) for g in prefilter.group_literal],
        "plain": list(prefilter.plain),
        "siblings": [[list(pair) for pair in links] for links in prefilter.siblings],
        "holds": [sorted(prefilter.literals_in(lit.encode("ascii"))) for lit in ordered],
    }


def _read() -> Dict[str, Any]:
    global _loaded
    if _loaded is None:
        try:
            raw = json.loads((DATA_DIR / FILE_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        _loaded = raw if isinstance(raw, dict) and raw.get("format") == FORMAT else {}
    return _loaded


def _ints(values: Any) -> Tuple[int, ...]:
    return tuple(int(v) for v in values)


def from_plan(plan: Dict[str, Any], literals: AbstractSet[str], backend: str
              ) -> Optional[Prefilter]:
    """The prefilter the plan describes, or None when it was planned for other literals or
    does not have the expected shape."""
    ordered: List[str] = sorted(literals)
    if plan.get("literals") != ordered:
        return None
    try:
        minimal = tuple(str(lit).encode("ascii") for lit in plan["minimal"])
        holds = plan["holds"]
        if len(holds) != len(ordered) or len(plan["groups"]) != len(plan["sources"]) or \
                len(plan["siblings"]) != len(minimal):
            return None
        known = {lit.encode("ascii"): _ints(ids) for lit, ids in zip(ordered, holds)}
        if any(i < 0 or i >= len(minimal) for ids in known.values() for i in ids):
            return None
        return Prefilter(
            literals=minimal,
            anchors=tuple(str(a) for a in plan["anchors"]),
            sources=tuple(str(src).encode("ascii") for src in plan["sources"]),
            group_literal=tuple(_ints(g) for g in plan["groups"]),
            plain=_ints(plan["plain"]),
            siblings=tuple(tuple((int(a), int(b)) for a, b in links)
                           for links in plan["siblings"]),
            finder=linefinder.build(minimal, backend),
            known=known)
    except (KeyError, TypeError, ValueError, UnicodeError):
        return None


def prefilter_for(literals: AbstractSet[str], backend: str = "auto") -> Prefilter:
    """The prefilter for ``literals``: from the shipped plan when it was made for exactly these
    literals, else built now (:meth:`Prefilter.build`)."""
    return from_plan(_read(), literals, backend) or Prefilter.build(set(literals), backend)
