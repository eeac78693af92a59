"""RE2's line finder, stage one's fast path: the same hits as the pure prefilter on any text,
linear time kept by its DFA (no fall-back to the slow NFA) with the knowledge base's literals and
twice as many, and a documented switch back to the pure prefilter.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import List, Set

import pytest
from backends import BACKENDS, NO_RE2
from hypothesis import given, settings
from hypothesis import strategies as st

from arc_preflight import kb as kbmod
from arc_preflight.logs import linefinder
from arc_preflight.logs.prefilter import Prefilter
from arc_preflight.logs.scanner import matcher_for

needs_re2 = pytest.mark.skipif(not linefinder.available(), reason=NO_RE2)

KB_LITERALS: Set[str] = set(matcher_for(kbmod.load(), "pure").literals)
PURE = matcher_for(kbmod.load(), "pure").prefilter
# What RE2 prints (through its own logging, on standard error) when its DFA runs out of memory
# and the search falls back to the NFA, which is far slower on thousands of literals.
DFA_FAILED = "DFA out of memory"


def synthetic_family(count: int, seed: int = 7) -> Set[str]:
    """``count`` made-up code names in the shape of the families the knowledge base holds
    (ARM codes such as ``resourcegroupnotfound``, lower-cased, 8-24 letters): stands in for
    the knowledge base growing to twice its literals."""
    rnd = random.Random(seed)
    out: Set[str] = set()
    while len(out) < count:
        out.add("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz")
                        for _ in range(rnd.randint(8, 24))))
    return out


def prefix_soup(literals: List[bytes], size: int, seed: int = 1) -> bytes:
    """Text made of prefixes of the literals glued together: many partial matches are alive
    at every byte, which makes a DFA build as many states as text can make it build."""
    rnd = random.Random(seed)
    parts = [lit[:rnd.randint(1, len(lit) - 1)] if len(lit) > 1 else b"#" for lit in literals]
    out: List[bytes] = []
    total = 0
    while total < size:
        part = rnd.choice(parts)
        out.append(part)
        total += len(part)
    return b"".join(out)


def _mixed_case(literal: bytes, seed: int) -> bytes:
    rnd = random.Random(seed)
    return bytes(c ^ 0x20 if chr(c).isalpha() and rnd.random() < 0.5 else c for c in literal)


TEXTS = st.lists(
    st.one_of(st.sampled_from(PURE.literals),
              st.sampled_from(PURE.literals).map(lambda b: b[:len(b) // 2 + 1]),
              st.builds(_mixed_case, st.sampled_from(PURE.literals), st.integers()),
              st.binary(max_size=30), st.just(b"\n"), st.just(b"\r\n")),
    max_size=60).map(b"".join)


@needs_re2
@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(min_value=0, max_value=5))
def test_re2_finds_exactly_the_pure_hits(text: bytes, cut: int) -> None:
    """Whatever the text (literals in any case, halves of them, raw bytes, newlines, glued
    together), RE2 finds the pure prefilter's hit lines, with the same lower-cased text and
    literal ids, and the same hits, offsets and ids alike."""
    fast = matcher_for(kbmod.load(), "re2").prefilter
    assert fast.finder is not None
    end = max(0, len(text) - cut)
    assert fast.hit_lines(text, end) == PURE.hit_lines(text, end)
    lowered = text.lower()
    assert fast.hits(lowered, end) == PURE.hits(lowered, end)
    assert fast.line_literals(lowered) == PURE.line_literals(lowered)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hit_lines_are_the_lines_of_the_hits(backend: str) -> None:
    """Each line holding a literal, once, lower-cased, with every literal it holds, whatever
    their case in the text."""
    text = b"x\nabab FORBIDDEN\n\nB\nnothing\nforbidden Ab"
    prefilter = Prefilter.build({"forbidden", "ab", "x"}, backend)
    got = [(text[a:b], lowered, sorted(prefilter.literals[i] for i in ids))
           for a, b, lowered, ids in prefilter.hit_lines(text, len(text))]
    assert got == [(b"x", b"x", [b"x"]),
                   (b"abab FORBIDDEN", b"abab forbidden", [b"ab", b"forbidden"]),
                   (b"forbidden Ab", b"forbidden ab", [b"ab", b"forbidden"])]


@needs_re2
def test_every_line_holding_a_literal_is_found() -> None:
    finder = linefinder.build([b"forbidden", b"ab", b"b"])
    assert finder is not None
    text = b"x\nabab forbidden\n\nb\nnothing\nforbidden"
    assert [text[a:b] for a, b in finder.lines(text, len(text))] == [
        b"abab forbidden", b"b", b"forbidden"]
    # the end bounds the search like the end of the text
    assert [text[a:b] for a, b in finder.lines(text, 12)] == [b"abab forbi"]


@needs_re2
@pytest.mark.parametrize("extra", [0, 1], ids=["kb", "kb-and-as-many-again"])
def test_the_dfa_keeps_to_its_budget(extra: int, capfd: pytest.CaptureFixture[str]) -> None:
    """With the knowledge base's literals, and with as many made-up ones again, RE2 searches
    text built to make its DFA as large as possible without running out of memory (which
    would make it fall back to the NFA, linear still but a hundred times slower)."""
    literals = KB_LITERALS | synthetic_family(len(KB_LITERALS) * extra)
    prefilter = Prefilter.build(literals, "re2")
    assert prefilter.finder is not None
    soup = prefix_soup(list(prefilter.literals), 1 << 20)
    capfd.readouterr()
    found = list(prefilter.finder.lines(soup, len(soup)))
    assert DFA_FAILED not in capfd.readouterr().err
    assert found  # the soup does complete some literals


@needs_re2
def test_too_small_a_budget_is_seen(capfd: pytest.CaptureFixture[str]) -> None:
    """The check above can fail: with an eighth of the budget RE2 says its DFA gave up."""
    literals = list(PURE.literals)
    finder = linefinder.build(literals, "re2", max_mem=linefinder.MAX_MEM // 8)
    assert finder is not None
    soup = prefix_soup(literals, 1 << 16)
    capfd.readouterr()
    list(finder.lines(soup, len(soup)))
    assert DFA_FAILED in capfd.readouterr().err


def test_the_switch_forces_the_pure_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(linefinder.PURE_ENV, "1")
    assert linefinder.chosen_backend() == "pure"
    assert Prefilter.build({"forbidden"}).finder is None
    monkeypatch.setenv(linefinder.PURE_ENV, "0")
    assert linefinder.chosen_backend() == ("re2" if linefinder.available() else "pure")
    assert Prefilter.build({"forbidden"}, "pure").finder is None


def test_without_re2_the_pure_prefilter_does_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where google-re2 is not installed (no wheel for this machine, the single file), auto
    means pure and the hits are the same; asking for RE2 by name is a clear error."""
    monkeypatch.setattr(linefinder, "_re2", lambda: None)
    assert linefinder.chosen_backend("auto") == "pure"
    prefilter = Prefilter.build({"forbidden", "404"})
    assert prefilter.finder is None
    text = b"a 404\nforbidden\n"
    assert [prefilter.literals[i] for _, i in prefilter.hits(text, len(text))] == [
        b"404", b"forbidden"]
    with pytest.raises(ValueError, match="google-re2"):
        linefinder.chosen_backend("re2")
    with pytest.raises(ValueError, match="unknown prefilter backend"):
        linefinder.chosen_backend("hyperscan")


# --------------------------------------------------------------------------------------------
# A re2 that cannot serve: the pure path, silently (reviewer findings of 2026-11-30)

def _install_fake_re2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str) -> None:
    import sys

    folder = tmp_path / "fake"
    folder.mkdir()
    (folder / "re2.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "re2", raising=False)


@pytest.mark.parametrize("source", [
    # another package of the same name, without RE2's Options/Set API (pyre2's shape)
    "def compile(pattern, *args):\n    raise NotImplementedError\n",
    # google-re2 whose shared library cannot load: OSError, not ImportError
    "raise OSError('libre2.so.10: cannot open shared object file')\n",
], ids=["other-package", "library-missing"])
def test_an_unusable_re2_means_the_pure_path(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path, source: str) -> None:
    _install_fake_re2(monkeypatch, tmp_path, source)
    assert linefinder._re2() is None
    assert linefinder.chosen_backend("auto") == "pure"
    prefilter = Prefilter.build({"forbidden", "404"})
    assert prefilter.finder is None
    text = b"a 404\nForbidden\n"
    assert [(s, e, ids) for s, e, _, ids in prefilter.hit_lines(text, len(text))] == [
        (0, 5, {prefilter.literals.index(b"404")}),
        (6, 15, {prefilter.literals.index(b"forbidden")})]


@needs_re2
def test_a_refused_compile_falls_back_unless_re2_was_asked_for() -> None:
    literals = list(PURE.literals)
    assert linefinder.build(literals, "auto", max_mem=1 << 12) is None
    with pytest.raises(Exception, match="failed to compile"):
        linefinder.build(literals, "re2", max_mem=1 << 12)


@needs_re2
def test_an_empty_set_answer_on_a_found_line_is_checked_by_the_pure_passes() -> None:
    """RE2's set matcher says "none" when it runs out of memory; a line the search found
    always holds a literal, so such an answer must not drop the line's ids."""
    prefilter = matcher_for(kbmod.load(), "re2").prefilter
    assert prefilter.finder is not None

    class Silent:
        def Match(self, text: bytes) -> List[int]:
            return []

    real = prefilter.finder.set
    prefilter.finder.set = Silent()
    try:
        text = b"ok line\nx509: certificate signed by unknown authority\n"
        lines = prefilter.hit_lines(text, len(text))
        assert lines and all(ids for _, _, _, ids in lines)
        assert [ids for _, _, _, ids in lines] == [
            PURE.literals_in(low) for _, _, low, _ in PURE.hit_lines(text, len(text))]
        line = lines[0][2]
        assert prefilter.line_literals(line) == PURE.literals_in(line)
    finally:
        prefilter.finder.set = real


@pytest.mark.parametrize("backend", BACKENDS)
def test_text_where_nearly_every_line_holds_a_literal(backend: str) -> None:
    """Past a few hundred such lines the RE2 path hands the rest of the block to the pure
    passes (one RE2 call per line costs more); the lines and ids stay exactly the pure ones,
    across the switch too."""
    rnd = random.Random(3)
    lines = []
    for n in range(3000):
        roll = rnd.random()
        if roll < 0.8:
            lines.append(b"user%d@host%d ok" % (n, n))
        elif roll < 0.9:
            lines.append(b"time=x level=info msg=heartbeat sent")
        else:
            lines.append(b"x509: Certificate signed by unknown authority (%d)" % n)
    text = b"\n".join(lines) + b"\n"
    prefilter = matcher_for(kbmod.load(), backend).prefilter
    got = [(s, e, ids) for s, e, _, ids in prefilter.hit_lines(text, len(text))]
    want = [(s, e, ids) for s, e, _, ids in PURE.hit_lines(text, len(text))]
    assert got == want
    assert len(got) > 2500
