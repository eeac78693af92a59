"""The roll-up's output is pinned: every format, read serially and by worker processes, equals
what the straightforward reader produced before the fast path existed.

The sample is varied on purpose: the five captured lab reports under several host names, start
times and addresses, a stale report, a host reported twice (later wins) and twice at the same
second (the one read last wins), a report cut short, another schema version, JSON that is not an
object, a check with an unknown status, an older report whose diagnoses name no checks, JSON
lines, and hostile text (control characters, a password, an overlong summary). The expected
outputs in ``tests/fixtures/fleet_golden.json`` were written by the reader as it was before the
speed work (``python tests/test_fleet_golden.py --write`` rewrites them, which only a change of
the intended output may do).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from fleet_helpers import sample, with_host, write

from arc_preflight.fleet import load, rollup
from arc_preflight.render import fleet_csv, fleet_html, fleet_json, fleet_markdown, fleet_table

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "fleet_golden.json"
FORMATS = {"json": fleet_json, "csv": fleet_csv, "markdown": fleet_markdown,
           "table": fleet_table, "html": fleet_html}
# Outputs pinned in full (the JSON, to show a difference) or by their SHA-256 (the rest).
IN_FULL = ("json",)


def make_fleet(folder: Path) -> Path:
    """Write the varied sample below ``folder`` and return it."""
    scenarios = ["healthy", "drop-443", "foreign-ca", "nxdomain-login", "proxy-auth"]
    for index in range(25):
        name = scenarios[index % 5] if index % 3 else "healthy"
        doc = with_host(sample(name), f"srv-{index:03d}.contoso.example",
                        f"2026-11-30T10:{index % 60:02d}:00Z")
        text = json.dumps(doc).replace("127.0.1.1", f"10.0.{index}.{index + 1}")
        sub = folder / f"site-{index % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"srv-{index:03d}.json").write_text(text, encoding="utf-8")
    # Stale: three days older than the rest.
    write(folder, "old/srv-100.json",
          with_host(sample("drop-443"), "srv-100.contoso.example", "2026-11-27T09:00:00Z"))
    # The same host twice (case differs): the later report wins; then a tie, read last wins.
    write(folder, "dup/a.json", with_host(sample("healthy"), "SRV-001.contoso.example",
                                          "2026-11-30T09:00:00Z"))
    write(folder, "dup/b.json", with_host(sample("foreign-ca"), "srv-002.contoso.example",
                                          "2026-11-30T10:02:00Z"))
    write(folder, "dup/c.json", with_host(sample("proxy-auth"), "srv-002.contoso.example",
                                          "2026-11-30T10:02:00Z"))
    # Unusable in several ways.
    cut = json.dumps(with_host(sample("nxdomain-login"), "srv-200"))
    (folder / "bad").mkdir()
    (folder / "bad" / "cut.json").write_text(cut[: len(cut) // 3], encoding="utf-8")
    future = with_host(sample("healthy"), "srv-201")
    future["schema"] = "arc-preflight/2"
    write(folder, "bad/future.json", future)
    (folder / "bad" / "list.json").write_text("[1, 2]", encoding="utf-8")
    odd = with_host(sample("healthy"), "srv-202")
    odd["checks"][3]["status"] = "sideways"
    write(folder, "bad/odd-status.json", odd)
    # An older report: diagnoses without "checks" (the evidence names them).
    older = with_host(sample("drop-443"), "srv-300", "2026-11-30T10:30:00Z")
    for diag in older["diagnoses"]:
        diag.pop("checks", None)
    write(folder, "older/srv-300.json", older)
    # Hostile text.
    evil = with_host(sample("foreign-ca"), "evil\x1b[31m-host", "2026-11-30T10:31:00Z")
    evil["checks"][-1]["summary"] = "y" * 5000
    evil["checks"][-1]["status"] = "fail"
    evil["diagnoses"][0]["evidence"] = ["password=hunter2 \x07bell"] * 60
    write(folder, "evil/evil.json", evil)
    # JSON lines: two reports and a broken line.
    lines = [json.dumps(with_host(sample(n), f"line-{n}", "2026-11-30T10:32:00Z"))
             for n in ("healthy", "proxy-auth")]
    (folder / "lines.jsonl").write_text("\n".join([lines[0], "{oops", lines[1]]) + "\n",
                                        encoding="utf-8")
    return folder


def outputs(parallel_min: int) -> Dict[str, str]:
    """Every format's output for the sample in ``fleet`` below the working folder (a relative
    path, so the outputs do not depend on where the sample was written)."""
    found: Dict[str, str] = {}
    for fmt, module in FORMATS.items():
        loaded = load.load(["fleet"], keep_checks=fmt == "csv", parallel_min=parallel_min)
        fleet = rollup.build(loaded, "0.0.0-golden")
        text = module.render(fleet, color=False, width=120)
        found[fmt] = text if fmt in IN_FULL else hashlib.sha256(text.encode()).hexdigest()
    return found


@pytest.mark.parametrize("parallel_min", [10**9, 1], ids=["one-process", "worker-processes"])
def test_every_format_equals_the_output_before_the_fast_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_min: int) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    make_fleet(tmp_path / "fleet")
    monkeypatch.chdir(tmp_path)
    found = outputs(parallel_min)
    assert sorted(found) == sorted(expected)
    for fmt in FORMATS:
        assert found[fmt] == expected[fmt], fmt


def test_the_sample_holds_every_kind_of_input(tmp_path: Path) -> None:
    """The sample is only worth pinning if it exercises every rule."""
    loaded = load.load([str(make_fleet(tmp_path / "fleet"))])
    fleet = rollup.build(loaded, "t")
    kinds: List[Tuple[str, str]] = sorted({(p.kind, p.reason.split(":")[0])
                                           for p in fleet.problems})
    assert {k for k, _ in kinds} == {"unreadable", "schema", "duplicate", "stale"}
    assert any("not JSON" in reason for kind, reason in kinds if kind == "unreadable")
    assert len(fleet.causes) >= 3 and len(fleet.endpoints) >= 3
    assert any(h.hostname == "srv-300" and h.diagnoses for h in fleet.hosts)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        make_fleet(Path(scratch) / "fleet")
        os.chdir(scratch)
        result = outputs(10**9)
    GOLDEN.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
