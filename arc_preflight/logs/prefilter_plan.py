"""The prefilter for the shipped patterns, planned once per release instead of once per run.

Choosing anchors, placing every literal on one and writing the tries (:meth:`.prefilter.
Prefilter.build`), then asking the prefilter which of its literals each required literal holds
(:func:`.scanner.build_matcher`), took about 0.4 s at the start of every ``diagnose``: most of
the wait for a pasted paragraph, and time the 1 GB benchmark's workers spent idle. All of it
depends only on the set of required literals, which changes only with a release, so
``scripts/pattern_analysis.py`` writes the result to ``data/prefilter_plan.json``.

The file is used only when the set of literals it was planned for is exactly the set a run needs
and its tables have the right shape (lengths agree, every literal id is one of its literals);
otherwise (a knowledge base edited by hand, a file not yet regenerated, a damaged file) the
prefilter is built as before. That the shipped plan is what a build makes, so that using it
changes nothing a run finds, is what ``tests/test_prefilter_plan.py`` holds it to.
"""

from __future__ import annotations

from typing import AbstractSet, Any, Dict, List, Optional, Sequence, Tuple

from ..datafiles import read_generated
from . import linefinder
from .prefilter import Prefilter

FILE_NAME = "prefilter_plan.json"
FORMAT = 1


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


def _ids(values: Any, count: int) -> Tuple[int, ...]:
    """``values`` as literal ids, each below ``count``; ValueError for anything else."""
    ids = tuple(int(v) for v in values)
    if any(i < 0 or i >= count for i in ids):
        raise ValueError("literal id out of range")
    return ids


def _numbering(values: Any, count: int) -> Tuple[int, ...]:
    """A pass's group number -> literal id: group 0 is the whole match (-1, no literal)."""
    if not values or int(values[0]) != -1:
        raise ValueError("a pass's numbering starts with -1")
    return (-1, *_ids(values[1:], count))


def from_plan(plan: Dict[str, Any], literals: AbstractSet[str], backend: str
              ) -> Optional[Prefilter]:
    """The prefilter the plan describes, or None when it was planned for other literals or
    does not have the expected shape."""
    ordered: List[str] = sorted(literals)
    if plan.get("literals") != ordered:
        return None
    try:
        minimal = tuple(str(lit).encode("ascii") for lit in plan["minimal"])
        count = len(minimal)
        holds: Sequence[Any] = plan["holds"]
        sources: Sequence[Any] = plan["sources"]
        groups: Sequence[Any] = plan["groups"]
        links: Sequence[Any] = plan["siblings"]
        if len(holds) != len(ordered) or len(groups) != len(sources) or len(links) != count:
            return None
        group_literal = tuple(_numbering(g, count) for g in groups)
        siblings = tuple(tuple((_ids([a], count)[0], int(b)) for a, b in pairs)
                         for pairs in links)
        return Prefilter(
            literals=minimal,
            anchors=tuple(str(a) for a in plan["anchors"]),
            sources=tuple(str(src).encode("ascii") for src in sources),
            group_literal=group_literal,
            plain=_ids(plan["plain"], count),
            siblings=siblings,
            finder=linefinder.build(minimal, backend),
            known={lit.encode("ascii"): _ids(ids, count) for lit, ids in zip(ordered, holds)})
    except (KeyError, TypeError, ValueError, UnicodeError):
        return None


def prefilter_for(literals: AbstractSet[str], backend: str = "auto") -> Prefilter:
    """The prefilter for ``literals``: from the shipped plan when it was made for exactly these
    literals, else built now (:meth:`Prefilter.build`)."""
    plan = read_generated(FILE_NAME, FORMAT)
    return from_plan(plan, literals, backend) or Prefilter.build(set(literals), backend)
