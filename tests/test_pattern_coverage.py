"""scripts/pattern_coverage.py: the report of patterns no sample exercises."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import corpus_score
import pattern_coverage


def test_a_pattern_is_uncovered_only_when_no_text_matches() -> None:
    texts = [(t, t.lower()) for t in ("curl: (6) Could not resolve host: example.com",
                                      "nothing to see")]
    patterns = [("a", r"Could not resolve host: \S{1,50}"), ("b", r"no route to host")]
    assert pattern_coverage.uncovered(patterns, texts, re.IGNORECASE) == [
        ("b", "no route to host")]


def test_only_the_rules_half_is_read(tmp_path: Path) -> None:
    """The hold-out half is never read: its files here are not even valid corpus files."""
    header = ('+++\nsource = "https://example.invalid/x"\nsource_kind = "docs"\n'
              'text_kind = "other"\nlabel = "dns_failure"\ncertainty = "stated"\nnote = "t"\n'
              '+++\n')
    (tmp_path / "cases").mkdir()
    (tmp_path / "healthy").mkdir()
    names = [f"z-{n:03d}" for n in range(40)]
    rules = [n for n in names if corpus_score.half_of(n) == "rules"]
    holdout = [n for n in names if corpus_score.half_of(n) == "holdout"]
    assert rules and holdout
    for name in rules:
        (tmp_path / "cases" / f"{name}.txt").write_text(header + f"body of {name}\n",
                                                        encoding="utf-8")
    for name in holdout:
        (tmp_path / "cases" / f"{name}.txt").write_text("not a corpus file", encoding="utf-8")
    bodies = list(pattern_coverage.rules_half_bodies(tmp_path))
    assert sorted(b.strip() for b in bodies) == sorted(f"body of {n}" for n in rules)


def test_the_report_runs_on_the_repository(capsys: object) -> None:
    assert pattern_coverage.main(["--cause", "dns_name_not_found"]) == 0
    assert pattern_coverage.main(["--cause", "no_such_cause"]) == 2
