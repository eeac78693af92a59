#!/usr/bin/env python3
"""Which knowledge-base patterns and failure shapes no sample exercises: a report, not a test.

Every pattern of data/causes.toml (and every failure shape of logs/lines.py) should be shown to
match a real text somewhere: a sample quoted in a test, or a corpus text of the rules half. This
lists the ones that match nothing there, so that a wording added without a sample is seen
(issue 9: 13 of 16 Python-error wordings once had none).

The texts searched are the string constants of tests/*.py (Python joins adjacent literals, so a
sample split over several lines is one string; each is searched whole and line by line) and the
bodies of the corpus's rules half (cases and healthy). Hold-out texts are never read: rules must
not be written from them. Standard library and the package only; no network; a few seconds.

Exit status 0 whatever it finds (it is a report); 2 on bad usage.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import corpus_score  # noqa: E402  (the split into halves lives there)

from arc_preflight import kb as kbmod  # noqa: E402
from arc_preflight.logs import lines as lines_mod  # noqa: E402
from arc_preflight.logs import literals  # noqa: E402


def test_strings(tests: Path) -> Iterator[str]:
    """Every string constant of the test modules (f-strings' literal parts included)."""
    for path in sorted(tests.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield node.value


def rules_half_bodies(corpus: Path) -> Iterator[str]:
    """The bodies of the rules half's texts (the hold-out half is skipped unread)."""
    for folder in ("cases", "healthy"):
        for path in sorted((corpus / folder).glob("*.txt")):
            if corpus_score.half_of(path.stem) != "rules":
                continue
            yield corpus_score.parse_file(path, healthy=folder == "healthy").body


def _texts(tests: Path, corpus: Path) -> List[Tuple[str, str]]:
    """(text, lower-cased text): whole strings and their lines, without repeats."""
    seen: Dict[str, None] = {}
    for text in list(test_strings(tests)) + list(rules_half_bodies(corpus)):
        seen[text] = None
        for line in text.splitlines():
            seen[line] = None
    return [(t, t.lower()) for t in seen if t.strip()]


def uncovered(patterns: Sequence[Tuple[str, str]], texts: Sequence[Tuple[str, str]],
              flags: int) -> List[Tuple[str, str]]:
    """The (owner, pattern) pairs that match none of ``texts``. Only texts holding one of a
    pattern's required literals are searched, as diagnose's prefilter does."""
    import re

    missing = []
    for owner, pattern in patterns:
        regex = re.compile(pattern, flags)
        requirement = literals.analyse(pattern)[0]
        needles: Optional[Tuple[str, ...]] = tuple(requirement) if requirement else None
        hit = any(regex.search(text) for text, lowered in texts
                  if needles is None or any(n in lowered for n in needles))
        if not hit:
            missing.append((owner, pattern))
    return missing


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cause", action="append", metavar="ID",
                        help="only these causes (repeatable)")
    parser.add_argument("--counts", action="store_true", help="print only the totals")
    args = parser.parse_args(argv)

    kb = kbmod.load()
    known = {c.id for c in kb.causes}
    for cause_id in args.cause or ():
        if cause_id not in known:
            print(f"pattern_coverage: no cause {cause_id!r}", file=sys.stderr)
            return 2
    chosen = [c for c in kb.causes if not args.cause or c.id in args.cause]
    kb_patterns = [(c.id, p) for c in chosen for p in c.patterns]
    shapes = [] if args.cause else [("(failure shape)", p) for p in lines_mod.FAILURE_PATTERNS]
    texts = _texts(ROOT / "tests", ROOT / "tests" / "corpus")
    # each compiled with the flags diagnose compiles it with
    missing = (uncovered(kb_patterns, texts, kbmod.PATTERN_FLAGS)
               + uncovered(shapes, texts, lines_mod.FAILURE_FLAGS))
    if not args.counts:
        for owner, pattern in missing:
            print(f"{owner}\t{pattern}")
    total = len(kb_patterns) + len(shapes)
    print(f"{total - len(missing)}/{total} patterns matched by a test sample or "
          f"a rules-half corpus text; {len(missing)} by none", file=sys.stderr)
    return 0


if __name__ == "__main__":
    # quiet when the reader stops early (``| head``), as corpus_score is
    sys.exit(corpus_score.run(main))
