"""The CSV roll-up is streamed, and streaming changed no byte of it.

``report --format csv`` used to build the whole text (one row per host and check: 104 MB for
10,000 hosts) before writing it. It now joins rows whose check cells the reader encoded once, and
writes them in pieces. The pinned output ``tests/fixtures/fleet_csv_before_streaming.csv.gz`` was
written by the whole-string renderer as it was before the change (commit d4ffb36; ``python
tests/test_fleet_csv_stream.py --write`` rewrites it, which only a change of the intended output
may do), on a sample that holds every kind of row: healthy and failing hosts, a stale report, a
duplicate host, unreadable and foreign-schema reports, and cells that need quoting (commas,
double quotes, a line break, a would-be formula, non-ASCII text).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from fleet_helpers import sample, with_host, write
from test_fleet_golden import make_fleet

from arc_preflight import fileio
from arc_preflight.fleet import load, rollup
from arc_preflight.render import fleet_csv

PINNED = Path(__file__).resolve().parent / "fixtures" / "fleet_csv_before_streaming.csv.gz"
LINE_END = "\r\n"


def _hostile(doc: Dict[str, Any]) -> Dict[str, Any]:
    """Cells that the CSV must quote, or defuse, or both."""
    checks: List[Dict[str, Any]] = doc["checks"]
    checks[0]["summary"] = 'refused, then "accepted", then refused'
    checks[1]["summary"] = "=HYPERLINK(\"http://x\")"
    checks[2]["summary"] = "line one\nline two\r\nline three"
    checks[3]["target"] = "a,b"
    checks[4]["code"] = "@sum"
    checks[5]["summary"] = "-1 ms, Zürich ✓"
    checks[6]["probe"] = 5  # not a string: shown as text
    checks[7].pop("summary")
    checks[8]["code"] = 41  # not a string: no code
    checks[9]["id"] = 'odd "id", with a comma'
    checks.append(dict(checks[10]))  # the same check twice
    checks[11]["summary"] = ["a", "list"]  # not a string, nor hashable
    checks[12]["target"] = True  # hashes as 1 does
    checks[13]["target"] = 1
    for diag in doc["diagnoses"]:
        diag["title"] = f'{diag["title"]}, "quoted"'
    return doc


def make_sample(folder: Path) -> Path:
    """The golden sample, hostile cells, a host without checks, and enough failing hosts that the
    output spans many pieces."""
    make_fleet(folder)
    write(folder, "hostile/a.json", _hostile(with_host(
        sample("proxy-auth"), 'web,"07"', "2026-11-30T10:33:00Z")))
    write(folder, "hostile/b.json", _hostile(with_host(
        sample("drop-443"), "+zürich-01", "2026-11-30T10:34:00Z")))
    empty = with_host(sample("healthy"), "bare-host", "2026-11-30T10:35:00Z")
    empty["checks"], empty["diagnoses"] = [], []
    write(folder, "hostile/bare.json", empty)
    # A check that passed without an id: unusable for the CSV (every check is a row), listed.
    no_id = with_host(sample("healthy"), "no-id-host", "2026-11-30T10:36:00Z")
    no_id["checks"][3].pop("id")
    write(folder, "hostile/no-id.json", no_id)
    number_id = with_host(sample("healthy"), "number-id-host", "2026-11-30T10:36:00Z")
    number_id["checks"][5]["id"] = 7
    write(folder, "hostile/number-id.json", number_id)
    scenarios = ["drop-443", "foreign-ca", "nxdomain-login", "proxy-auth", "healthy"]
    for index in range(60):
        doc = with_host(sample(scenarios[index % 5]), f"bulk-{index:03d}.contoso.example",
                        f"2026-11-30T10:{index % 50:02d}:30Z")
        text = json.dumps(doc).replace("127.0.1.1", f"10.1.{index}.{index % 7 + 1}")
        (folder / "bulk").mkdir(exist_ok=True)
        (folder / "bulk" / f"bulk-{index:03d}.json").write_text(text, encoding="utf-8")
    return folder


def pinned() -> bytes:
    return gzip.decompress(PINNED.read_bytes())




@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample(tmp_path_factory.mktemp("csv") / "fleet")


def _rolled(fleet_dir: Path, monkeypatch: pytest.MonkeyPatch, parallel_min: int) -> Any:
    monkeypatch.chdir(fleet_dir.parent)  # the paths in the rows are relative, as pinned
    return rollup.build(load.load(["fleet"], keep_checks=True, parallel_min=parallel_min),
                        "0.0.0-golden")


@pytest.mark.parametrize("parallel_min", [10**9, 1], ids=["one-process", "worker-processes"])
def test_streamed_csv_equals_the_whole_string_csv_before_streaming(
        fleet_dir: Path, monkeypatch: pytest.MonkeyPatch, parallel_min: int) -> None:
    fleet = _rolled(fleet_dir, monkeypatch, parallel_min)
    expected = pinned().decode("utf-8")
    pieces = list(fleet_csv.chunks(fleet, size=16_000))
    joined = "".join(pieces)
    if joined != expected:  # show the first row that differs, not two megabytes
        diff = next((i, a, b) for i, (a, b) in enumerate(zip(
            joined.split(LINE_END), expected.split(LINE_END))) if a != b)
        pytest.fail(f"row {diff[0]} differs:\n  now    {diff[1]!r}\n  before {diff[2]!r}")
    assert fleet_csv.render(fleet) == expected
    # Streamed, in whole rows: many pieces, each ending a row, none much over the size asked
    # (a piece closes after the host that reached it; one host is a few kilobytes).
    assert len(pieces) > 20
    assert all(piece.endswith(LINE_END) for piece in pieces)
    assert max(len(piece) for piece in pieces) < 16_000 + 20_000
    # The sample holds what the rows must quote and defuse.
    for needle in ("checks[3].id is missing", "checks[5].id is missing", "['a', 'list']",
                   '"web,""07"""', "\"line one\nline two?\nline three\"", "'=HYPERLINK",
                   "'+zürich-01,", '"odd ""id"", with a comma"', ",report,,,unknown,",
                   "report.stale", "report.schema", "report.duplicate"):
        assert needle in expected, needle


def _cli(*argv: str, **popen: Any) -> subprocess.Popen[bytes]:
    """``python -m arc_preflight`` as a user runs it, bytes in and out (the CSV's CRLF)."""
    env = {k: v for k, v in os.environ.items() if k != "ARC_PREFLIGHT_DEBUG"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get(
        "PYTHONPATH", "")
    isolate = ["unshare", "-n"] if hasattr(os, "geteuid") and os.geteuid() == 0 and \
        shutil.which("unshare") else []
    return subprocess.Popen([*isolate, sys.executable, "-m", "arc_preflight", *argv], env=env,
                            stdout=popen.pop("stdout", subprocess.PIPE),
                            stderr=subprocess.PIPE, **popen)


def _finish(proc: subprocess.Popen[bytes]) -> Tuple[int, bytes, bytes]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out or b"", err


def test_the_command_writes_the_same_bytes_to_stdout_and_to_a_file(fleet_dir: Path) -> None:
    code, out, err = _finish(_cli("report", "fleet", "--format", "csv", cwd=fleet_dir.parent))
    assert (code, err) == (2, b"")
    assert out == pinned()
    target = fleet_dir.parent / "out" / "fleet.csv"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"an older roll-up\r\n")
    code, out, err = _finish(_cli("report", "fleet", "--format", "csv", "--output",
                                  str(target), cwd=fleet_dir.parent))
    assert (code, out, err) == (2, b"", b"")
    assert target.read_bytes() == pinned()
    assert os.listdir(target.parent) == ["fleet.csv"]  # no temporary file left


@pytest.mark.skipif(sys.platform != "linux", reason="needs RLIMIT_FSIZE and Linux's EFBIG")
@pytest.mark.parametrize("existing", [b"an older roll-up\r\n", None], ids=["replaced", "new"])
def test_output_leaves_no_partial_file_when_writing_fails(
        fleet_dir: Path, tmp_path: Path, existing: Any) -> None:
    """A real failure in the middle of the file: the kernel refuses to let the file grow past
    64 KiB (RLIMIT_FSIZE; Python ignores SIGXFSZ, so the write fails with EFBIG) when the CSV
    is a megabyte. The old file stays as it was, no temporary file is left, one line says why."""
    import resource

    target = tmp_path / "fleet.csv"
    if existing is not None:
        target.write_bytes(existing)

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    code, out, err = _finish(_cli("report", "fleet", "--format", "csv", "--output", str(target),
                                  cwd=fleet_dir.parent, preexec_fn=small_files))
    assert (code, out) == (3, b"")
    assert err.decode().splitlines() == [
        f"arc-preflight: error: cannot write --output {target}: File too large"]
    assert os.listdir(tmp_path) == ([] if existing is None else ["fleet.csv"])
    if existing is not None:
        assert target.read_bytes() == existing


def test_a_failing_piece_leaves_no_partial_file(tmp_path: Path) -> None:
    """The pieces are made while the file is written: if making one fails (here, interrupted
    after two pieces), the temporary file goes and the old file stays."""
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")

    def pieces() -> Any:
        yield "a" * 70_000
        yield "b" * 70_000
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fileio.write_chunks(str(target), pieces())
    assert os.listdir(tmp_path) == ["out.csv"]
    assert target.read_text(encoding="utf-8") == "old\n"
    fileio.write_chunks(str(target), iter(["x,y\r\n", "1,2\r\n"]))
    assert target.read_bytes() == b"x,y\r\n1,2\r\n"


def test_a_closed_pipe_ends_quietly_with_the_fleet_exit_code(fleet_dir: Path,
                                                              tmp_path: Path) -> None:
    """``report --format csv | head``: several megabytes, the reader gone after the first
    line. The command stops writing, prints nothing, and still exits with the fleet's code."""
    big = tmp_path / "big"
    big.mkdir()
    text = json.dumps(sample("drop-443"))
    for index in range(300):  # 3 MB of rows: three pieces, the last two written to no one
        (big / f"{index}.json").write_text(text.replace('"hostname": "web02"',
                                                        f'"hostname": "host-{index}"'))
    proc = _cli("report", str(big), "--format", "csv")
    assert proc.stdout is not None
    first = proc.stdout.read(200)
    proc.stdout.close()
    assert first.startswith(b"host,check_id,")
    err = proc.stderr.read() if proc.stderr else b""
    assert proc.wait(timeout=120) == 2
    assert err == b""


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    from arc_preflight.fleet import load, rollup
    from arc_preflight.render import fleet_csv

    with tempfile.TemporaryDirectory() as scratch:
        make_sample(Path(scratch) / "fleet")
        os.chdir(scratch)
        fleet = rollup.build(load.load(["fleet"], keep_checks=True, parallel_min=10**9),
                             "0.0.0-golden")
        text = fleet_csv.render(fleet)
    PINNED.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    print(f"wrote {PINNED} ({len(text)} characters)")
