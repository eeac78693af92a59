"""Reading a log with its blocks searched and matched in worker processes gives exactly the
events, line numbers and counts of reading it in one process, whatever the block edges, overlong
lines and last lines; and a worker that dies, or a pool that cannot start, costs speed, not
results."""

from __future__ import annotations

import codecs
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from backends import BACKENDS

from arc_preflight import kb as kbmod
from arc_preflight.logs import parallel
from arc_preflight.logs.inputs import ScanStats, open_log
from arc_preflight.logs.scanner import Event, Matcher, matcher_for, scan_stream

ROOT = Path(__file__).resolve().parents[1]
MATCHER = matcher_for(kbmod.load())
CAP = 4096
needs_workers = pytest.mark.skipif(parallel.workers_available() == 0,
                                   reason="worker processes need Linux and two CPUs")


def _log(tmp_path: Path) -> bytes:
    """A generated agent log (scripts/gen_log.py, the benchmark's generator: logrus lines of
    the shapes in the agent's public logs, errors at a high rate), with the awkward cases
    added: overlong lines (an error in their head), CRLF lines, an empty line, an AZCM code
    and a last line without a newline."""
    path = tmp_path / "azcmagent.log"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_log.py"), "2", "-o", str(path),
                    "--error-rate", "0.02"], check=True, timeout=120)
    data = path.read_bytes()
    overlong = (b'time="2026-03-04T21:22:00Z" level=error msg="x509: certificate signed by '
                b'unknown authority" ' + b"y" * (3 * CAP) + b"\n")
    crlf = b'time="2026-03-04T21:22:01Z" level=error msg="AZCM0041: proxy refused"\r\n'
    middle = len(data) // 2
    cut = data.index(b"\n", middle) + 1
    return (data[:cut] + overlong + crlf + b"\n" + data[cut:] + overlong + crlf
            + b'time="2026-03-04T21:22:02Z" level=fatal msg="connection refused"')


def _scan(data: bytes, chunk: int, workers: int, matcher: Matcher = MATCHER
          ) -> Tuple[List[Event], Tuple[int, ...], int]:
    stats = ScanStats()
    events = list(scan_stream(io.BytesIO(data), matcher, stats, chunk, CAP, workers=workers,
                              parallel_after=0))
    return events, (stats.lines, stats.truncated_lines, stats.bytes_read), stats.worker_blocks


@needs_workers
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("chunk", [5000, 65536, 1 << 20])
def test_worker_processes_find_the_same_events(tmp_path: Path, chunk: int, backend: str
                                               ) -> None:
    """... with either prefilter backend; and the backends find the same events."""
    data = _log(tmp_path)
    matcher = matcher_for(kbmod.load(), backend)
    alone, alone_stats, none = _scan(data, chunk, 0, matcher)
    shared, shared_stats, blocks = _scan(data, chunk, 2, matcher)
    pure, pure_stats, _ = _scan(data, chunk, 0, matcher_for(kbmod.load(), "pure"))
    assert (pure, pure_stats) == (alone, alone_stats)
    assert none == 0 and blocks > 0  # the workers did search
    assert len(alone) > 100 and any(e.truncated for e in alone)
    assert shared == alone
    assert shared_stats == alone_stats


@needs_workers
def test_a_dead_worker_costs_speed_not_results(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    data = _log(tmp_path)
    alone, alone_stats, _ = _scan(data, 65536, 0)

    def dies(block: bytes, end: int) -> Any:
        os._exit(1)  # the worker process ends without an answer

    monkeypatch.setattr(parallel, "_block_work", dies)
    shared, shared_stats, blocks = _scan(data, 65536, 2)
    assert blocks == 0
    assert (shared, shared_stats) == (alone, alone_stats)


def test_no_pool_means_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _log(tmp_path)
    alone = _scan(data, 65536, 0)
    monkeypatch.setattr(parallel, "_start", lambda work, workers: None)
    assert _scan(data, 65536, 2) == alone


def test_the_search_numbers_lines_like_the_text() -> None:
    block = b"a\nforbidden x\n\nb forbidden\nc\n"
    found, lines = parallel.search(MATCHER.prefilter.hit_lines, block, len(block))
    assert lines == 5
    numbers = [line for _, _, _, _, line in found]
    assert numbers == [1, 3]  # newlines before the lines "forbidden x" and "b forbidden"
    assert [block[start:stop] for start, stop, _, _, _ in found] == [b"forbidden x",
                                                                      b"b forbidden"]


def _scan_file(path: Path, workers: int) -> Tuple[List[Event], Tuple[int, ...], int]:
    """A log file read as diagnose reads it (open_log), in chunks of 64 KiB."""
    stats = ScanStats()
    opened = open_log(str(path), stats)
    try:
        events = list(scan_stream(opened.stream, MATCHER, stats, 65536, CAP, workers=workers,
                                  parallel_after=0))
    finally:
        opened.close()
    return events, (stats.lines, stats.truncated_lines, stats.bytes_read), stats.worker_blocks


@needs_workers
@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8])
def test_workers_read_a_regular_file_themselves(tmp_path: Path, bom: bytes) -> None:
    """A block of a regular file goes to a worker as its offset (the worker reads it), with the
    same events as reading in one process; a byte-order mark shifts every offset by three."""
    path = tmp_path / "azcmagent.log"
    path.write_bytes(bom + _log(tmp_path))
    alone, alone_stats, _ = _scan_file(path, 0)
    shared, shared_stats, blocks = _scan_file(path, 2)
    assert blocks > 0
    assert (shared, shared_stats) == (alone, alone_stats)


@needs_workers
def test_a_file_rewritten_under_the_reader_is_read_from_its_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If what a worker reads at a block's offset is not what the reader read there (the log
    was rotated or rewritten meanwhile), the worker refuses it and the reader works on its
    own copy: the events are those of the bytes the reader saw."""
    path = tmp_path / "azcmagent.log"
    path.write_bytes(_log(tmp_path))
    alone = _scan_file(path, 0)

    def rewritten(fd: int, size: int, offset: int) -> bytes:
        return b"x" * size  # what the file holds now

    monkeypatch.setattr(parallel.os, "pread", rewritten)
    events, stats, blocks = _scan_file(path, 2)
    assert blocks == 0
    assert (events, stats) == alone[:2]


def _blocks_of(path: Path, size: int) -> List[parallel.Block]:
    """``path`` cut into blocks of whole lines as the scanner cuts a regular file: each with
    where it lies in the file, so a worker reads it itself."""
    data = path.read_bytes()
    fd = os.open(str(path), os.O_RDONLY)
    blocks, at = [], 0
    while at < len(data):
        end = data.rfind(b"\n", at, at + size) + 1 - at
        if end <= 0:
            break
        blocks.append(parallel.Block(data[at:at + end], end, (fd, at)))
        at += end
    return blocks


def _lines_slowly(block: bytes, end: int) -> Tuple[int, bytes]:
    """A block's work that takes long enough for the reader to see which blocks the workers
    have already read (its result says which bytes it worked on)."""
    import time

    time.sleep(0.02)
    return block.count(b"\n", 0, end), block[:end][-40:]


@needs_workers
def test_the_reader_lets_go_of_a_block_once_a_worker_has_read_it(tmp_path: Path) -> None:
    """The reader's copy of a block of a regular file is dropped once a worker has claimed the
    block (read it and found it as the reader saw it), and the results are those of working on
    every block here."""
    path = tmp_path / "azcmagent.log"
    path.write_bytes(_log(tmp_path))
    here = _blocks_of(path, 65536)
    os.close((here[0].offset or (-1, 0))[0])
    alone = [_lines_slowly(b.data, b.end) for b in here]
    blocks = _blocks_of(path, 65536)
    try:
        out = list(parallel.with_results(blocks, _lines_slowly, 2, after=0))
    finally:
        os.close((blocks[0].offset or (-1, 0))[0])
    assert [b.result for b in out] == alone
    assert all(b.by_worker for b in out)
    released = [b for b in out if b.released]
    assert released and all(b.data == b"" for b in released)


def test_a_block_let_go_is_read_again_as_it_was(tmp_path: Path) -> None:
    """Where a worker died after claiming a block, the reader reads the block again from the
    file, and refuses (one clear error) bytes that are no longer what it read there."""
    from arc_preflight.errors import LogReadError

    path = tmp_path / "azcmagent.log"
    path.write_bytes(_log(tmp_path))
    block = _blocks_of(path, 65536)[3]
    want = block.data
    block.proof = (want[:parallel._PROOF], want[-parallel._PROOF:])
    block.data, block.released = b"", True
    assert block.contents() == want
    fd, offset = block.offset or (-1, 0)
    try:
        with open(path, "r+b") as handle:  # the log's last bytes of that block rewritten
            handle.seek(offset + block.end - 10)
            handle.write(b"rewritten")
        with pytest.raises(LogReadError, match="changed while it was being read"):
            block.contents()
    finally:
        os.close(fd)


@needs_workers
def test_the_blocks_in_flight_are_bounded(tmp_path: Path) -> None:
    """Blocks in flight (handed out, results not yet consumed) are at most four per worker and
    one more: every block waiting for a worker is a copy the reader holds, so the queue costs
    memory; one per worker and one more left the workers idle (README's Performance)."""
    path = tmp_path / "azcmagent.log"
    path.write_bytes(_log(tmp_path))
    blocks = _blocks_of(path, 65536)
    pulled = consumed = most = 0

    def source() -> Any:
        nonlocal pulled, most
        for block in blocks:
            pulled += 1
            most = max(most, pulled - consumed)
            yield block

    try:
        for block in parallel.with_results(source(), _lines_slowly, 2, after=0):
            assert block.result is not None
            consumed += 1
    finally:
        os.close((blocks[0].offset or (-1, 0))[0])
    assert consumed == len(blocks) > 10
    assert most == parallel._AHEAD * 2 + 1
