"""The corpus scorer's own rules: what is scored, what counts as silent, the product split."""

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
certainty = "{certainty}"
note = "test"
{extra}+++
body line
"""


def case(tmp_path: Path, name: str, extra: str = "", certainty: str = "stated"
         ) -> corpus_score.Case:
    path = tmp_path / f"{name}.txt"
    path.write_text(HEADER.format(extra=extra, certainty=certainty), encoding="utf-8")
    return corpus_score.parse_file(path, healthy=False)


def test_product_defaults_to_arc_servers_and_every_product_is_scored(tmp_path: Path) -> None:
    agent = case(tmp_path, "x-001")
    bridge = case(tmp_path, "x-002", 'product = "resource_bridge"\n')
    assert agent.product == "arc_servers" and bridge.product == "resource_bridge"
    assert agent.scorable and bridge.scorable


def test_silent_and_per_product_summary(tmp_path: Path) -> None:
    bridge = case(tmp_path, "x-003", 'product = "resource_bridge"\n')
    unresolved = case(tmp_path, "x-004", certainty="unresolved")
    assert bridge.silent and unresolved.silent  # nothing diagnosed yet
    assert not unresolved.scorable
    bridge.got = ["dns_failure"]
    assert not bridge.silent and bridge.correct
    summary = corpus_score.summary([bridge, unresolved])
    counted = {product: acc["scorable"]
               for half in summary["halves"].values()
               for product, acc in half["per_product"].items()}
    assert counted.get("resource_bridge") == 1
    assert sum(half["silent"] for half in summary["halves"].values()) == 1


def test_a_misspelt_product_is_refused(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="product 'resource-bridge'"):
        case(tmp_path, "x-005", 'product = "resource-bridge"\n')


def test_unseen_keeps_only_texts_whose_source_no_citing_file_names(
        tmp_path: Path) -> None:
    """The strict hold-out figure: a text whose source page a rule or test cites (however the
    URL is written: scheme, trailing slash, fragment, case) is left out of it."""
    import pytest

    mp = pytest.MonkeyPatch()
    citing = tmp_path / "causes.toml"
    citing.write_text("docs = ['HTTPS://Example.invalid/Post/#section']\n", encoding="utf-8")
    mp.setattr(corpus_score, "CITING", (citing,))
    try:
        seen = case(tmp_path, "x-006")  # source https://example.invalid/post
        other = case(tmp_path, "x-007")
        other.header["source"] = "https://example.invalid/another-post"
        assert corpus_score.unseen([seen, other]) == [other]
    finally:
        mp.undo()


def test_per_round_counts_each_collection_round_apart(tmp_path: Path) -> None:
    """A file's round is its name's prefix, so a late round (collected after the rules were
    written) can be read apart from the early ones it is mixed with in each half."""
    early, late, late_wrong = (case(tmp_path, n) for n in ("a-010", "e-001", "e-002"))
    for c in (early, late, late_wrong):
        c.half = "holdout"
    early.got = late.got = ["dns_failure"]
    late_wrong.got = ["unknown"]
    assert (early.round, late.round) == ("a", "e")
    rounds = corpus_score.summary([early, late, late_wrong])["halves"]["holdout"]["per_round"]
    assert rounds["a"]["correct"] == 1 and rounds["a"]["scorable"] == 1
    assert rounds["e"]["correct"] == 1 and rounds["e"]["scorable"] == 2


def test_per_certainty_counts_how_sure_each_label_is_apart(tmp_path: Path) -> None:
    stated = case(tmp_path, "a-001")
    inferred = case(tmp_path, "a-002", certainty="inferred")
    for c, got in ((stated, ["dns_failure"]), (inferred, ["unknown"])):
        c.half, c.got = "holdout", got
    sure = corpus_score.summary([stated, inferred])["halves"]["holdout"]["per_certainty"]
    assert sure["stated"] == {"correct": 1, "scorable": 1, "accuracy": 1.0}
    assert sure["inferred"] == {"correct": 0, "scorable": 1, "accuracy": 0.0}


def test_markdown_tables_print_the_measured_cells(tmp_path: Path) -> None:
    """The README quotes these tables; each cell is right/scored per half, '-' for none."""
    right, wrong = case(tmp_path, "f-001"), case(tmp_path, "f-002")
    right.half, wrong.half = "rules", "holdout"
    right.got, wrong.got = ["dns_failure"], ["unknown"]
    lines = corpus_score.markdown_tables([right, wrong])
    assert "| rules half | 1 | 1 (100%) |" in lines
    assert "| hold-out half | 1 | 0 (0%) |" in lines
    assert "| `dns_failure` | 1/1 | 0/1 |" in lines
    assert any(line.startswith("| `f` (") and line.endswith("| 1/1 | 0/1 |") for line in lines)
    assert any(line.startswith("| `stated`: ") and line.endswith("| 1/1 | 0/1 |")
               for line in lines)


def _tiny_corpus(tmp_path: Path) -> Path:
    (tmp_path / "cases").mkdir()
    (tmp_path / "healthy").mkdir()
    for n in range(3):
        (tmp_path / "cases" / f"x-00{n}.txt").write_text(
            HEADER.format(extra="", certainty="stated"), encoding="utf-8")
    return tmp_path


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    """``corpus_score.py ... | head`` in every mode: the reader has gone before the report is
    written, so every write meets a closed pipe. The run must end without a traceback (and
    without Python's "Exception ignored" note from the flush at exit)."""
    import os
    import subprocess

    corpus = _tiny_corpus(tmp_path)
    script = Path(corpus_score.__file__)
    for mode in ([], ["--json"], ["--markdown"], ["--show-wrong"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader closed before anything was written
        try:
            done = subprocess.run(
                [sys.executable, str(script), "--in-process", "--corpus", str(corpus), *mode],
                stdout=write_end, stderr=subprocess.PIPE, timeout=120, check=False)
        finally:
            os.close(write_end)
        assert done.stderr.decode() == "", (mode, done.stderr.decode())
        assert done.returncode == 1, mode


def test_the_whole_report_still_reaches_a_reader_that_stays(tmp_path: Path) -> None:
    import subprocess

    corpus = _tiny_corpus(tmp_path)
    done = subprocess.run(
        [sys.executable, str(Path(corpus_score.__file__)), "--in-process", "--corpus",
         str(corpus)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("corpus: 3 failure texts, 0 healthy texts")


def test_silent_texts_are_told_apart_by_whether_a_line_names_a_failure(tmp_path: Path) -> None:
    plain, worded, spoken = (case(tmp_path, n) for n in ("y-001", "y-002", "y-003"))
    worded.body = "Install-Module : Access to the path is denied.\n"
    spoken.body = "Setting up the agent\nUnable to read the settings\n"
    for c in (plain, worded, spoken):
        c.half = "holdout"
    assert [corpus_score.has_failure_word(c) for c in (plain, worded, spoken)] == \
        [False, True, True]
    halves = corpus_score.summary([plain, worded, spoken])["halves"]["holdout"]
    assert halves["silent"] == 3 and halves["silent_with_failure_word"] == 2
    worded.got = ["not_admin"]
    assert corpus_score.summary([plain, worded])["halves"]["holdout"][
        "silent_with_failure_word"] == 0
