"""The corpus scorer's own rules: what is scored, what only counts for "never silent"."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import corpus_score

HEADER = """+++
source = "https://example.invalid/post"
source_kind = "docs"
text_kind = "other"
label = "dns_failure"
certainty = "stated"
note = "test"
{extra}+++
body line
"""


def case(tmp_path: Path, extra: str = "") -> corpus_score.Case:
    path = tmp_path / "x-001.txt"
    path.write_text(HEADER.format(extra=extra), encoding="utf-8")
    return corpus_score.parse_file(path, healthy=False)


def test_in_scope_by_default_and_scored(tmp_path: Path) -> None:
    c = case(tmp_path)
    assert c.in_scope and c.scorable


def test_out_of_scope_text_is_not_scored_but_still_counts_when_silent(tmp_path: Path) -> None:
    c = case(tmp_path, 'scope = "out"\nscope_note = "Arc resource bridge appliance"\n')
    assert not c.in_scope and not c.scorable
    assert c.silent  # nothing diagnosed yet
    c.got = ["unknown"]
    assert not c.silent
    summary = corpus_score.summary([c])
    half = summary["halves"][c.half]
    assert half["out_of_scope"] == 1 and half["scorable"] == 0 and half["silent"] == 0
