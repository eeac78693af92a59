"""The shipped literal analysis (data/pattern_analysis.json) is the analysis the matcher would
do itself: complete, current, and harmless when missing or damaged.

If this fails after a pattern changed, run ``python scripts/pattern_analysis.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from arc_preflight import datafiles
from arc_preflight import kb as kbmod
from arc_preflight.datafiles import DATA_DIR
from arc_preflight.logs import analysed, literals


@pytest.fixture()
def fresh_cache() -> Iterator[None]:
    """Each test reads the file anew (the module keeps what it read)."""
    analysed._entries = None
    yield
    analysed._entries = None


def test_the_file_holds_every_shipped_pattern_analysed_as_now(kb: kbmod.KnowledgeBase) -> None:
    shipped = json.loads((DATA_DIR / analysed.FILE_NAME).read_text(encoding="utf-8"))
    expected = json.loads(json.dumps(analysed.document(analysed.shipped_patterns(kb))))
    assert shipped["format"] == analysed.FORMAT
    missing = set(expected["patterns"]) - set(shipped["patterns"])
    extra = set(shipped["patterns"]) - set(expected["patterns"])
    assert not missing and not extra, "run scripts/pattern_analysis.py"
    stale = [p for p, entry in expected["patterns"].items() if shipped["patterns"][p] != entry]
    assert not stale, f"{len(stale)} stale entries: run scripts/pattern_analysis.py"


def test_read_back_it_equals_the_live_analysis(kb: kbmod.KnowledgeBase,
                                               fresh_cache: None) -> None:
    for pattern in analysed.shipped_patterns(kb):
        assert analysed.analyse(pattern) == literals.analyse(pattern), pattern


def test_a_pattern_the_file_lacks_is_analysed_live(fresh_cache: None) -> None:
    pattern = r"zzqx never shipped \d{1,3} pattern"
    assert analysed.analyse(pattern) == literals.analyse(pattern)
    assert analysed.analyse(pattern)[0] == ("zzqx never shipped ",)


@pytest.mark.parametrize("content", ["", "{not json", '{"format": 99, "patterns": {}}',
                                     '{"format": 1, "patterns": {"a(b": [7, {"x": 1}]}}',
                                     '{"format": 1, "patterns": []}'])
def test_a_damaged_file_changes_nothing(content: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        fresh_cache: None) -> None:
    (tmp_path / analysed.FILE_NAME).write_text(content, encoding="utf-8")
    monkeypatch.setattr(datafiles, "DATA_DIR", tmp_path)
    for pattern in ("a(b", r"unable to resolve host \S{1,40}", "exit code"):
        assert analysed.analyse(pattern) == literals.analyse(pattern)
