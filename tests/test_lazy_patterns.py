"""The streaming matcher compiles a knowledge-base pattern the first time a line needs it, not
when it is built: on a log only a few dozen of the ~900 patterns ever run, so compiling them all
cost start-up time and memory held before the worker processes fork. Compiled late or early, a
line gets the same causes, and a pattern that does not compile still stops with the error naming
its entry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from arc_preflight import codefamilies
from arc_preflight import kb as kbmod
from arc_preflight.logs.scanner import build_matcher

ROOT = Path(__file__).resolve().parents[1]


def _fresh_kb() -> kbmod.KnowledgeBase:
    """The packaged knowledge base parsed anew (``kb.load`` is cached per process and other
    tests may already have compiled its patterns)."""
    families = codefamilies.patterns_by_cause(codefamilies.load())
    return kbmod.parse(kbmod.DATA_FILE.read_text(encoding="utf-8"), families, lazy=True)


def _lines(tmp_path: Path) -> List[str]:
    """Lines of a generated agent log (scripts/gen_log.py, the benchmark's generator: logrus
    lines of the shapes in the agent's public logs) with errors at a high rate: its errors and
    warnings and one in twenty of the rest (matching every line against every pattern, as
    ``match_text`` does, is slow)."""
    path = tmp_path / "azcmagent.log"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_log.py"), "1", "-o", str(path),
                    "--error-rate", "0.05"], check=True, timeout=120)
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for number, line in enumerate(lines)
            if ("level=info" not in line and "level=debug" not in line) or number % 20 == 0]


@pytest.mark.parametrize("backend", ["pure", "auto"])
def test_patterns_are_compiled_when_a_line_needs_them(tmp_path: Path, backend: str) -> None:
    kb = _fresh_kb()
    matcher = build_matcher(kb, backend)
    compiled = [pid for pid, regex in enumerate(matcher.regexes) if regex is not None]
    assert compiled == []  # none yet: only the patterns run on every line are compiled now
    assert len(matcher.regexes) == len(matcher.patterns) > 500
    eager = kbmod.parse(kbmod.DATA_FILE.read_text(encoding="utf-8"),
                        codefamilies.patterns_by_cause(codefamilies.load()), lazy=False)
    matched = 0
    for line in _lines(tmp_path):
        found = [cause.id for cause, _, _ in matcher.match(line)]
        assert found == [cause.id for cause in eager.match_text(line)], line
        matched += bool(found)
    assert matched > 100  # the log does hold lines with causes
    used = [regex for regex in matcher.regexes if regex is not None]
    assert 0 < len(used) < len(matcher.regexes) // 4
    for pid, regex in enumerate(matcher.regexes):
        if regex is not None:  # each the pattern it stands for, compiled as the KB compiles it
            cause_pos, index, _ = matcher.patterns[pid]
            cause = kb.causes[cause_pos]
            assert regex.pattern == cause.patterns[index]
            assert regex.flags & kbmod.PATTERN_FLAGS == kbmod.PATTERN_FLAGS


def _kb_with(pattern: str) -> kbmod.KnowledgeBase:
    text = ('schema = 1\n[[cause]]\nid = "alpha"\ncategory = "dns_failure"\nseverity = "fail"\n'
            'title = "t"\nexplanation = "e"\nremedy = ["r"]\n'
            f'patterns = [{pattern!r}]\n')
    return kbmod.parse(text, lazy=True)


def test_a_pattern_python_cannot_parse_stops_the_build() -> None:
    with pytest.raises(kbmod.KnowledgeBaseError, match=r"alpha.*does not compile"):
        build_matcher(_kb_with("proxy refused (unclosed"), "pure")


def test_a_pattern_that_parses_but_does_not_compile_stops_at_its_first_line() -> None:
    """A look-behind of variable width parses, so the build can analyse it; compiling it fails,
    and the error names the entry the first time a line holds its literal."""
    matcher = build_matcher(_kb_with("(?<=a+)proxy refused"), "pure")
    assert matcher.match("nothing to see here") == []
    with pytest.raises(kbmod.KnowledgeBaseError, match=r"alpha.*does not compile"):
        matcher.match("the proxy refused the tunnel")
