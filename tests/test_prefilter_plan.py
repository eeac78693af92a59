"""The shipped prefilter plan (data/prefilter_plan.json) is the prefilter a fresh build makes,
and a plan made for other literals, or damaged, is never used.

If the first test fails after a pattern changed, run ``python scripts/pattern_analysis.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, FrozenSet

import pytest
from backends import BACKENDS

from arc_preflight import datafiles
from arc_preflight import kb as kbmod
from arc_preflight.datafiles import DATA_DIR
from arc_preflight.logs import prefilter_plan, scanner
from arc_preflight.logs.prefilter import Prefilter

CASES = Path(__file__).parent / "corpus" / "cases"


@pytest.fixture(scope="module")
def literals(kb: kbmod.KnowledgeBase) -> FrozenSet[str]:
    """Every literal the shipped patterns and the tool's triggers require."""
    return scanner.build_matcher(kb, "pure").literals


@pytest.fixture(scope="module")
def fresh(literals: FrozenSet[str]) -> Prefilter:
    return Prefilter.build(set(literals), "pure")


def _shipped() -> Dict[str, Any]:
    doc = json.loads((DATA_DIR / prefilter_plan.FILE_NAME).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def test_the_shipped_plan_is_a_fresh_build(literals: FrozenSet[str], fresh: Prefilter) -> None:
    expected = json.loads(json.dumps(prefilter_plan.document(literals, fresh)))
    assert _shipped() == expected, "run scripts/pattern_analysis.py"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_planned_prefilter_equals_the_built_one(literals: FrozenSet[str], fresh: Prefilter,
                                                    backend: str) -> None:
    planned = prefilter_plan.from_plan(_shipped(), literals, backend)
    assert planned is not None
    assert planned == fresh  # literals, anchors, pass sources, numbering, plain, siblings
    assert (planned.finder is None) == (backend == "pure")
    for literal in sorted(literals)[::7]:
        raw = literal.encode("ascii")
        assert planned.ids_in(raw) == fresh.literals_in(raw), literal


@pytest.mark.parametrize("backend", BACKENDS)
def test_planned_and_built_prefilters_find_the_same_lines(literals: FrozenSet[str],
                                                          fresh: Prefilter,
                                                          backend: str) -> None:
    planned = prefilter_plan.from_plan(_shipped(), literals, backend)
    assert planned is not None
    built = Prefilter.build(set(literals), backend)
    text = b"\n".join(p.read_bytes() for p in sorted(CASES.glob("*.txt"))[::3])
    assert planned.hit_lines(text, len(text)) == built.hit_lines(text, len(text))
    assert len(planned.hit_lines(text, len(text))) > 100


def test_with_re2_a_log_is_read_without_compiling_the_pure_passes(
        literals: FrozenSet[str]) -> None:
    planned = prefilter_plan.from_plan(_shipped(), literals, "re2")
    if planned is None or planned.finder is None:
        pytest.skip("google-re2 is not installed for this Python")
    log = (b'time="2024-05-01T10:00:00Z" level=info msg="Heartbeat sent"\n'
           b'time="2024-05-01T10:00:01Z" level=error msg="dial tcp: lookup '
           b'management.azure.com: no such host"\n') * 50
    assert planned.hit_lines(log, len(log))
    assert "passes" not in vars(planned)
    assert planned.passes and "passes" in vars(planned)  # compiled on first use


def _damaged(plan: Dict[str, Any], how: str) -> Dict[str, Any]:
    bad: Dict[str, Any] = json.loads(json.dumps(plan))
    if how == "other literals":
        bad["literals"] = bad["literals"][1:]
    elif how == "holds short":
        bad["holds"] = bad["holds"][:-1]
    elif how == "id out of range":
        bad["holds"][0] = [len(bad["minimal"]) + 5]
    elif how == "minimal not a list of text":
        bad["minimal"] = 7
    elif how == "sources and groups differ":
        bad["groups"] = bad["groups"][:-1]
    elif how == "missing key":
        del bad["siblings"]
    elif how == "non-ASCII source":
        bad["sources"][0] = "\u00e9"
    elif how == "group id out of range":
        bad["groups"][0] = [-1, len(bad["minimal"])]
    elif how == "numbering without group 0":
        bad["groups"][0] = bad["groups"][0][1:]
    elif how == "plain id negative":
        bad["plain"] = [-3]
    elif how == "sibling out of range":
        bad["siblings"][0] = [[len(bad["minimal"]), 1]]
    return bad


@pytest.mark.parametrize("how", ["other literals", "holds short", "id out of range",
                                 "minimal not a list of text", "sources and groups differ",
                                 "missing key", "non-ASCII source", "group id out of range",
                                 "numbering without group 0", "plain id negative",
                                 "sibling out of range"])
def test_a_plan_for_other_literals_or_damaged_is_not_used(literals: FrozenSet[str], how: str
                                                          ) -> None:
    assert prefilter_plan.from_plan(_damaged(_shipped(), how), literals, "pure") is None


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"format": 99}',
                                     '{"format": 1, "literals": "x"}'])
def test_a_damaged_file_means_a_build(content: str, tmp_path: Path, literals: FrozenSet[str],
                                      fresh: Prefilter, monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    (tmp_path / prefilter_plan.FILE_NAME).write_text(content, encoding="utf-8")
    monkeypatch.setattr(datafiles, "DATA_DIR", tmp_path)
    built = prefilter_plan.prefilter_for(literals, "pure")
    assert built == fresh and not built.known


def test_a_literal_the_plan_lacks_gets_a_build(literals: FrozenSet[str]) -> None:
    more = set(literals) | {"zzqx never shipped literal"}
    built = prefilter_plan.prefilter_for(more, "pure")
    assert not built.known
    assert built.literals_in(b"a zzqx never shipped literal here")
