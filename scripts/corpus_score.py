#!/usr/bin/env python3
"""Score ``arc-preflight diagnose`` against the corpus of real, publicly posted Arc texts.

Reads every ``tests/corpus/cases/*.txt`` (failure texts) and ``tests/corpus/healthy/*.txt``
(texts with nothing wrong), parses the ``+++`` TOML header of each, and runs
``python -m arc_preflight diagnose --format json -`` with the body on stdin. A file belongs
to the "rules" half or the "holdout" half by a hash of its file stem, so the split never
changes when files are added: tune rules on the "rules" half only and measure on "holdout".

Scoring
  failure text   scorable when certainty != "unresolved"; correct when its label is among
                 the returned categories and at most one other category is returned. Texts
                 labelled "unknown" are correct only when the result is exactly {"unknown"}.
  healthy text   correct when no diagnosis is returned at all (else: a false positive).

Standard library only, no network. Python 3.9+.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

try:
    import tomllib
except ImportError:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
TIMEOUT_S = 60
WORKERS = 4
HALVES = ("rules", "holdout")
PRODUCTS = ("arc_servers", "resource_bridge", "azure_local", "scvmm")


@dataclass
class Case:
    path: Path
    header: Dict[str, Any]
    body: str
    healthy: bool
    half: str = ""
    got: List[str] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def label(self) -> str:
        return str(self.header.get("label", ""))

    @property
    def text_kind(self) -> str:
        return str(self.header.get("text_kind", ""))

    @property
    def certainty(self) -> str:
        return str(self.header.get("certainty", ""))

    @property
    def product(self) -> str:
        """What failed: ``arc_servers`` (the Connected Machine agent, its onboarding and
        extensions; the default) or a product beside it that admins also paste texts from
        (``resource_bridge``, ``azure_local``, ``scvmm``, ``vmware``). Scored all the same;
        shown per product so the figure for the agent's own texts can be read apart."""
        return str(self.header.get("product", "arc_servers"))

    @property
    def round(self) -> str:
        """The collection round, the file name's prefix (``a`` ... ``f``). Rounds were
        collected at different times: a text from a round gathered after the rules were
        written measures understanding more fairly than one the rules' authors had seen
        beside it, so the score per round shows whether later rounds fare worse."""
        return self.path.stem.split("-", 1)[0]

    @property
    def scorable(self) -> bool:
        return self.healthy or self.certainty != "unresolved"

    @property
    def silent(self) -> bool:
        """A failure text that got no diagnosis at all (issue 9 item 4 wants at least
        ``unknown`` for every text with a failure line)."""
        return not self.healthy and self.error is None and not self.got

    @property
    def correct(self) -> bool:
        if self.error is not None:
            return False
        got = set(self.got)
        if self.healthy:
            return not self.got
        if self.label == "unknown":
            return got == {"unknown"}
        return self.label in got and len(got - {self.label}) <= 1


# A deliberately broad test, independent of the tool's own failure shapes, of whether a text
# holds any line a reader could take for a failure (issue 9 wants at least ``unknown`` only for
# texts with a failure line): a silent text without one has a label that comes from its thread.
FAILURE_WORD = re.compile(
    r"\b(?:errors?|fail(?:ed|ure|s)?|exception|denied|refused|cannot|can't|unable|timed out"
    r"|timeout|not found|invalid)\b", re.IGNORECASE)


def has_failure_word(case: Case) -> bool:
    return any(FAILURE_WORD.search(line) for line in case.body.splitlines())


def half_of(stem: str) -> str:
    """The deterministic half of a corpus file, from its stem."""
    return "rules" if int(hashlib.sha256(stem.encode("utf-8")).hexdigest(), 16) % 2 == 0 \
        else "holdout"


def parse_file(path: Path, healthy: bool) -> Case:
    """Split a corpus file into its TOML header and its body."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("+++\n"):
        raise ValueError(f"{path}: does not start with a +++ header")
    end = text.find("\n+++\n", 3)
    if end < 0:
        raise ValueError(f"{path}: header is not closed by +++")
    header = tomllib.loads(text[4:end + 1])
    if str(header.get("product", "arc_servers")) not in PRODUCTS:
        raise ValueError(f"{path}: product {header['product']!r} is not one of "
                         f"{', '.join(PRODUCTS)}")
    body = text[end + 5:]
    return Case(path=path, header=header, body=body, healthy=healthy, half=half_of(path.stem))


def load_corpus(corpus: Path) -> List[Case]:
    cases: List[Case] = []
    for sub, healthy in (("cases", False), ("healthy", True)):
        for path in sorted((corpus / sub).glob("*.txt")):
            cases.append(parse_file(path, healthy))
    return cases


def run_one(case: Case) -> Case:
    """Run the diagnose command on one body and record the categories it returned."""
    cmd = [sys.executable, "-m", "arc_preflight", "diagnose", "--format", "json", "-"]
    try:
        proc = subprocess.run(cmd, input=case.body, capture_output=True, text=True,
                              encoding="utf-8", timeout=TIMEOUT_S, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        case.error = f"timeout after {TIMEOUT_S} s"
        return case
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        case.error = f"exit {proc.returncode}: {tail[:200]}"
        return case
    diagnoses = doc.get("diagnoses") if isinstance(doc, dict) else None
    if not isinstance(diagnoses, list):
        case.error = "JSON has no diagnoses list"
        return case
    case.got = sorted({str(d.get("category", "")) for d in diagnoses if isinstance(d, dict)})
    return case


def run_in_process(case: Case) -> Case:
    """The same as :func:`run_one`, by calling the library (what the CLI calls for ``-``)."""
    import io

    from arc_preflight import kb as kb_mod
    from arc_preflight.logs.diagnose import diagnose_path

    stdin = io.BytesIO(case.body.encode("utf-8"))
    try:
        report = diagnose_path("-", kb_mod.load(), stdin=stdin)
    except Exception as exc:  # any failure is scored as wrong, with its reason
        case.error = f"{type(exc).__name__}: {exc}"[:200]
        return case
    case.got = sorted({d.diagnosis.category for d in report.diagnoses})
    return case


def score(cases: Sequence[Case], in_process: bool = False) -> List[Case]:
    """Diagnose every case (in this process, or one subprocess per case, 4 at a time)."""
    if in_process:
        return [run_in_process(c) for c in cases]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run_one, cases))


def ratio(good: int, total: int) -> str:
    return f"{good}/{total} ({100.0 * good / total:.0f}%)" if total else "-"


def tally(cases: Sequence[Case]) -> Tuple[int, int]:
    scored = [c for c in cases if c.scorable]
    return sum(1 for c in scored if c.correct), len(scored)


# Where the rules and their tests cite their sources: a hold-out text whose own source page is
# cited there was, strictly read, seen by whoever wrote that rule (a documented message quoted by
# the very page a corpus text was taken from), even though no corpus file was read.
CITING = (*sorted((ROOT / "arc_preflight" / "data").glob("*.toml")),
          *sorted((ROOT / "tests").glob("*.py")), ROOT / "arc_preflight" / "logs" / "lines.py")


def _url_key(url: str) -> str:
    """A source URL without scheme, fragment, query or trailing slash, lower case."""
    url = url.split("#", 1)[0].split("?", 1)[0].strip().rstrip("/").lower()
    return url.split("://", 1)[-1]


def cited_sources() -> str:
    """Every citing file's text run together (lower case, line breaks inside URLs kept)."""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").lower()
                     for path in CITING if path.is_file())


def unseen(cases: Sequence[Case]) -> List[Case]:
    """The cases whose source page no rule or test cites (see :data:`CITING`)."""
    text = cited_sources()
    return [c for c in cases
            if not c.healthy and _url_key(str(c.header.get("source", ""))) not in text]


def group_table(title: str, cases: Sequence[Case], key: str) -> List[str]:
    """Accuracy per value of ``key`` (label, text_kind, product or round), one column per half."""
    values = sorted({getattr(c, key) for c in cases})
    width = max([len(title)] + [len(v) for v in values])
    lines = [f"{title:<{width}}  {'rules':>14}  {'holdout':>14}  {'all':>14}"]
    for value in values:
        row = [c for c in cases if getattr(c, key) == value]
        cells = [ratio(*tally([c for c in row if c.half == h])) for h in HALVES]
        cells.append(ratio(*tally(row)))
        lines.append(f"{value:<{width}}  " + "  ".join(f"{cell:>14}" for cell in cells))
    return lines


def summary(cases: Sequence[Case], reveal: bool = False) -> Dict[str, Any]:
    failures = [c for c in cases if not c.healthy]
    healthy = [c for c in cases if c.healthy]

    def acc(group: Sequence[Case]) -> Dict[str, Any]:
        good, total = tally(group)
        return {"correct": good, "scorable": total,
                "accuracy": round(good / total, 4) if total else None}

    out: Dict[str, Any] = {"files": len(cases), "failure_texts": len(failures),
                           "healthy_texts": len(healthy), "halves": {}}
    def per(part: Sequence[Case], key: str) -> Dict[str, Any]:
        return {value: acc([c for c in part if getattr(c, key) == value])
                for value in sorted({getattr(c, key) for c in part})}

    for half in HALVES:
        part = [c for c in failures if c.half == half]
        hpart = [c for c in healthy if c.half == half]
        out["halves"][half] = {
            **acc(part),
            "unscorable": sum(1 for c in part if not c.scorable),
            "per_product": per(part, "product"),
            "silent": sum(1 for c in part if c.silent),
            "silent_with_failure_word": sum(1 for c in part if c.silent and has_failure_word(c)),
            "healthy": len(hpart),
            "false_positives": sum(1 for c in hpart if not c.correct),
            "per_label": per(part, "label"),
            "per_text_kind": per(part, "text_kind"),
            "per_round": per(part, "round"),
            "per_certainty": per(part, "certainty"),
        }
    out["holdout_source_not_cited"] = acc(unseen([c for c in failures if c.half == "holdout"]))
    out["overall"] = acc(failures)
    out["healthy_false_positives"] = sum(1 for c in healthy if not c.correct)
    out["errors"] = sum(1 for c in cases if c.error is not None)
    wrong = [c for c in cases if c.scorable and not c.correct]
    out["wrong"] = [
        {"file": shown(c.path), "half": c.half, "expected": c.label,
         "got": c.got, "error": c.error}
        for c in wrong if reveal or c.half == "rules" or c.healthy or c.error is not None
    ]
    out["holdout_wrong_hidden"] = sum(
        1 for c in wrong
        if not (reveal or c.half == "rules" or c.healthy or c.error is not None))
    return out


def print_report(cases: Sequence[Case], show_wrong: bool, reveal: bool = False) -> None:
    failures = [c for c in cases if not c.healthy]
    healthy = [c for c in cases if c.healthy]
    print(f"corpus: {len(failures)} failure texts, {len(healthy)} healthy texts")
    print()
    print("accuracy on failure texts (scorable: certainty != unresolved)")
    for half in HALVES:
        part = [c for c in failures if c.half == half]
        skipped = sum(1 for c in part if not c.scorable)
        print(f"  {half:<8} {ratio(*tally(part)):>16}   ({skipped} unresolved, not scored)")
    print(f"  {'all':<8} {ratio(*tally(failures)):>16}")
    fresh = unseen([c for c in failures if c.half == "holdout"])
    print(f"  holdout, only texts whose source page no rule or test cites: "
          f"{ratio(*tally(fresh))}")
    print()
    print("never silent: failure texts (all, scored or not) that got no diagnosis at all")
    for half in HALVES:
        part = [c for c in failures if c.half == half]
        silent = [c for c in part if c.silent]
        worded = sum(1 for c in silent if has_failure_word(c))
        print(f"  {half:<8} {len(silent)}/{len(part)}   ({worded} of them hold a line with a "
              "failure word)")
    print()
    print("\n".join(group_table("label", failures, "label")))
    print()
    print("\n".join(group_table("text_kind", failures, "text_kind")))
    print()
    print("\n".join(group_table("product", failures, "product")))
    print()
    print("\n".join(group_table("round", failures, "round")))
    print()
    print("\n".join(group_table("certainty", failures, "certainty")))
    print()
    print("false positives on healthy texts (any diagnosis returned)")
    for half in HALVES:
        part = [c for c in healthy if c.half == half]
        bad = sum(1 for c in part if not c.correct)
        print(f"  {half:<8} {bad}/{len(part)}")
    errors = [c for c in cases if c.error is not None]
    if errors:
        print()
        print(f"{len(errors)} file(s) could not be diagnosed (counted as wrong); first error:")
        print(f"  {errors[0].path.name}: {errors[0].error}")
    if show_wrong:
        hidden = 0
        print()
        print("wrong:")
        for c in cases:
            if c.scorable and not c.correct:
                expected = "no diagnosis" if c.healthy else c.label
                got = c.error if c.error is not None else (", ".join(c.got) or "nothing")
                if reveal or c.half == "rules" or c.healthy or c.error is not None:
                    print(f"  [{c.half}] {shown(c.path)}: expected {expected}; "
                          f"got {got}")
                else:
                    hidden += 1
        if hidden:
            print(f"  ({hidden} wrong hold-out texts not listed: --reveal-holdout lists them, "
                  "for a final audit only; rules are never written from them)")


PRODUCT_TITLES = {
    "arc_servers": "the Connected Machine agent, its onboarding and extensions (`arc_servers`)",
    "azure_local": "Azure Local's own update, deployment and validation (`azure_local`)",
    "resource_bridge": "the Arc resource bridge appliance (`resource_bridge`)",
    "scvmm": "Arc-enabled SCVMM (`scvmm`)",
}
CERTAINTY_TITLES = {
    "stated": "`stated`: the text itself states the cause",
    "confirmed": "`confirmed`: the poster or a maintainer confirmed it",
    "inferred": "`inferred`: the collector inferred it from the thread",
    "unresolved": "`unresolved` (not scored)",
}
ROUND_TITLES = {
    "a": "`a` (first round)",
    "b": "`b`",
    "c": "`c` (scarce kinds: extension logs, Az PowerShell, Azure CLI, Azure Local)",
    "d": "`d` (scarce kinds, collected after the rules were written)",
    "e": "`e` (from pages nothing cited when collected; mostly Azure Local)",
    "f": "`f` (from pages nothing cited when collected; tools on Arc machines)",
    "g": "`g` (from pages nothing cited when collected; agent and onboarding tools)",
    "h": "`h` (from pages nothing cited when collected; the agent's own texts)",
    "i": "`i` (from pages nothing cited when collected; round of 2026-12-01)",
    "j": "`j` (from pages nothing cited when collected; second round of 2026-12-01)",
    "k": "`k` (from pages nothing cited when collected; third round of 2026-12-01)",
    "l": "`l` (from pages nothing cited when collected; fourth round of 2026-12-01)",
    "m": "`m` (from pages nothing cited when collected; fifth round of 2026-12-01)",
    "n": "`n` (from pages nothing cited when collected; sixth round of 2026-12-01)",
    "o": (
        "`o` (from pages nothing cited when collected; sign-in tools, sought in other languages;"
        " seventh round of 2026-12-01)"
    ),
    "p": (
        "`p` (from pages nothing cited when collected; committed logs and Q&A;"
        " eighth round of 2026-12-01)"
    ),
}


def shown(path: Path) -> str:
    """A case's file as the report names it: relative to the repository, or as given when the
    corpus lies elsewhere (``--corpus``), where ``relative_to`` would raise."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def markdown_tables(cases: Sequence[Case]) -> List[str]:
    """The README's corpus tables, printed from a run so that the manual quotes a measurement
    rather than numbers copied by hand (they were edited by hand before, and drifted)."""
    failures = [c for c in cases if not c.healthy]
    healthy = [c for c in cases if c.healthy]

    def cell(group: Sequence[Case]) -> str:
        good, total = tally(group)
        return f"{good}/{total}" if total else "-"

    def count(group: Sequence[Case]) -> str:
        good, total = tally(group)
        return f"{total} | {good} ({round(100 * good / total)}%)" if total else "0 | -"

    holdout = [c for c in failures if c.half == "holdout"]
    bad = sum(1 for c in healthy if not c.correct)
    out = ["| half | texts scored | right cause (and at most one other beside it) |",
           "| --- | --- | --- |",
           f"| rules half | {count([c for c in failures if c.half == 'rules'])} |",
           f"| hold-out half | {count(holdout)} |",
           "| hold-out texts whose source page no rule or test cites (the strict reading) | "
           f"{count(unseen(holdout))} |",
           f"| healthy texts (no diagnosis expected) | {len(healthy)} | "
           f"{len(healthy) - bad} ({bad} false positives) |"]
    for title, key, names in (("category", "label", {}),
                              ("kind of text", "text_kind", {}),
                              ("what failed (`product`, judged from the source only)",
                               "product", PRODUCT_TITLES),
                              ("collection round (file-name prefix)", "round", ROUND_TITLES),
                              ("how sure the label is (`certainty`)", "certainty",
                               CERTAINTY_TITLES)):
        out += ["", f"| {title} | rules half | hold-out half |", "| --- | ---: | ---: |"]
        for value in sorted({getattr(c, key) for c in failures}):
            row = [c for c in failures if getattr(c, key) == value]
            name = names.get(value, f"`{value}`")
            out.append(f"| {name} | " + " | ".join(
                cell([c for c in row if c.half == h]) for h in HALVES) + " |")
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--markdown", action="store_true",
                        help="print the README's corpus tables (Markdown)")
    parser.add_argument("--half", choices=HALVES, help="score only this half")
    parser.add_argument("--show-wrong", action="store_true",
                        help="list wrong files with expected vs got")
    parser.add_argument("--reveal-holdout", action="store_true",
                        help="also list the wrong hold-out texts (a final audit only: rules are "
                        "never written from them)")
    parser.add_argument("--min-holdout", type=float, metavar="X",
                        help="exit 1 if holdout accuracy (0..1) is below X")
    parser.add_argument("--in-process", action="store_true",
                        help="call the library in this process instead of one CLI run per "
                        "file (faster; same result)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    cases = load_corpus(args.corpus)
    if args.half:
        cases = [c for c in cases if c.half == args.half]
    if not cases:
        print("no corpus files found", file=sys.stderr)
        return 2
    cases = score(cases, args.in_process)

    if args.markdown:
        print("\n".join(markdown_tables(cases)))
    elif args.json:
        print(json.dumps(summary(cases, args.reveal_holdout), indent=2))
    else:
        print_report(cases, args.show_wrong, args.reveal_holdout)

    if args.min_holdout is not None:
        good, total = tally([c for c in cases if not c.healthy and c.half == "holdout"])
        accuracy = good / total if total else 0.0
        if accuracy < args.min_holdout:
            print(f"holdout accuracy {accuracy:.3f} is below {args.min_holdout}",
                  file=sys.stderr)
            return 1
    return 0


def run(entry: Callable[[], int] = main) -> int:
    """``entry`` (this script's ``main``, or another report script's) as a command: a reader
    that stops early (``corpus_score.py | head``) closes the pipe, and Python would then print a
    BrokenPipeError traceback for every mode. The output was wanted only up to there, so the run
    ends quietly; stdout is pointed at the null device first so that the interpreter's own flush
    at exit cannot fail again. Exit status 1, as Python's documentation of SIGPIPE handling
    advises (the output was cut short)."""
    try:
        code = entry()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


if __name__ == "__main__":
    sys.exit(run())
