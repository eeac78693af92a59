"""Reading the blocks of a long log in worker processes, for a machine with CPUs free.

Everything done to a block of whole lines depends on that block alone: looking for the knowledge
base's literals (:mod:`.prefilter`), cutting out the lines they hit and matching those against
the patterns. All of it holds the interpreter's lock (the regex engine never lets it go), so once
an input has proved long, whole blocks go to forked worker processes, a few at a time (a block of
a regular file as its offset: the worker reads it itself), and what they found comes back in
order: only the lines worth an event, few and small. The reader is left
with reading and numbering, so two workers keep two CPUs busy. The work is the same function
wherever it runs, so the events are too. Wherever worker processes cannot be used (no ``fork``,
one CPU, a sandbox that refuses, a worker that died), the blocks are worked on in this process,
as for a short input.

The reader keeps its copy of a block of a regular file only until a worker has read the same
bytes itself (a byte in a page shared with the workers says so): blocks waiting for a worker
were most of the reader's memory (about 6 MB of the 58 MB all processes held on the benchmark's
1 GB log). A worker that refuses a block (the file changed) leaves the copy in place; one that
dies after reading it leaves the reader to read the block again.
"""

from __future__ import annotations

import collections
import mmap
import os
import sys
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Set, Tuple

from ..errors import LogReadError
from .prefilter import HitLine

# The lines of a block holding a prefilter literal (Prefilter.hit_lines).
LinesOf = Callable[[bytes, int], List[HitLine]]
# A block's hit lines, each with the number of newlines before it in the block, and the
# block's number of newlines.
Found = Tuple[List[Tuple[int, int, bytes, Set[int], int]], int]
# What is done to one block of whole lines (``block[:end]``): the same wherever it runs.
Work = Callable[[bytes, int], Any]

MAX_WORKERS = 2  # each holds a block or two in memory; the figures were measured with two
_AHEAD = 4  # blocks in flight per worker (see with_results)
PARALLEL_AFTER = 8 << 20  # bytes read before worker processes pay for their start

# The function the worker processes call: set before they are forked, so they inherit it.
_WORKER_WORK: Optional[Work] = None
# A page shared with the workers (mapped before they are forked): byte ``slot`` is set once a
# worker has read the block submitted with that slot and found it as the reader saw it.
_CLAIMS: Optional[mmap.mmap] = None
_SLOTS = mmap.PAGESIZE  # more than the blocks ever in flight (two per worker)


def search(lines_of: LinesOf, block: bytes, end: int) -> Found:
    """The hit lines of one block of whole lines (``block[:end]``), numbered."""
    out = []
    lines = 0  # newlines in block[:pos]
    pos = 0
    for start, stop, lowered, ids in lines_of(block, end):
        lines += block.count(b"\n", pos, start)
        pos = start
        out.append((start, stop, lowered, ids, lines))
    return out, lines + block.count(b"\n", pos, end)


def _block_work(block: bytes, end: int) -> Any:
    """In a worker: the work it inherited, on one block."""
    assert _WORKER_WORK is not None
    return _WORKER_WORK(block, end)


# Bytes at each end of a block a worker compares with what the reader saw (see _block_work_at).
_PROOF = 64


def _block_work_at(fd: int, offset: int, end: int, head: bytes, tail: bytes,
                   slot: int = -1) -> Any:
    """In a worker: the work on a block it reads from the file itself (the descriptor was
    inherited at fork), instead of receiving a megabyte through a pipe. A block whose ends are
    not what the reader saw (the file was rotated or rewritten meanwhile) is refused, and the
    reader then works on its own copy; one that is as the reader saw it is claimed (``slot``),
    so the reader can let its copy go."""
    block = os.pread(fd, end, offset)
    if len(block) != end or block[:_PROOF] != head or block[-_PROOF:] != tail:
        raise ValueError("the file changed under the reader")
    if slot >= 0 and _CLAIMS is not None:
        _CLAIMS[slot] = 1
    return _block_work(block, end)


def _worker_start() -> None:
    """Ctrl-C is the reader's to handle (it stops the pool): a worker ignores it rather than
    print a traceback of its own."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def workers_available() -> int:
    """How many worker processes would help here: 0 where none can be forked or one CPU."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return min(cpus, MAX_WORKERS) if cpus > 1 else 0


class Block:
    """One block of complete lines (``data[:end]``) and, once known, the work's result."""

    __slots__ = ("by_worker", "data", "end", "offset", "pending", "proof", "released",
                 "result", "slot")

    def __init__(self, data: bytes, end: int, offset: Optional[Tuple[int, int]] = None) -> None:
        self.data = data
        self.end = end
        self.offset = offset  # (file descriptor, offset of data[0]) where a worker may read it
        self.result: Any = None
        self.pending: Any = None  # a Future while a worker works on it
        self.by_worker = False
        self.slot = -1  # the claim slot of a block a worker reads itself (see _CLAIMS)
        self.proof: Tuple[bytes, bytes] = (b"", b"")  # its first and last _PROOF bytes
        self.released = False  # its data was let go once a worker claimed it

    def contents(self) -> bytes:
        """The block's bytes: the reader's copy, or read again where the copy was let go (a
        worker that claimed the block died); bytes that are no longer what the reader saw
        are refused rather than read as something else."""
        if not self.released:
            return self.data
        assert self.offset is not None
        fd, offset = self.offset
        data = os.pread(fd, self.end, offset)
        if (len(data) != self.end or data[:_PROOF] != self.proof[0]
                or data[-_PROOF:] != self.proof[1]):
            raise LogReadError("the log file changed while it was being read (rotated or "
                               "rewritten?); read a copy of it instead")
        return data


def with_results(items: Iterable[Any], work: Work, workers: int,
                 after: int = PARALLEL_AFTER) -> Iterator[Any]:
    """``items`` in order, every :class:`Block` among them with its ``result`` filled in.

    The first ``after`` bytes of blocks are worked on here; past that, with ``workers`` > 0,
    up to :data:`_AHEAD` blocks per worker are worked on ahead in worker processes.
    """
    pool: Any = None
    ahead: Deque[Any] = collections.deque()
    seen = 0
    submitted = 0
    try:
        for item in items:
            if isinstance(item, Block):
                seen += item.end
                if pool is None and workers and seen > after:
                    pool = _start(work, workers)
                    if pool is None:
                        workers = 0
                if pool is not None:
                    try:
                        item.pending = _submit(pool, item, submitted % _SLOTS)
                        submitted += 1
                    except Exception:  # a broken pool: search here from now on
                        _stop(pool)
                        pool, workers = None, 0
                if item.pending is None:
                    item.result = work(item.data, item.end)
            ahead.append(item)
            _release(ahead)
            # In flight, once the reader waits for the oldest block: four half-megabyte blocks
            # per worker and one more. Every block waiting for a worker is a copy the reader
            # holds (see _release), but a shallower queue left the workers idle whenever one
            # block took longer than its neighbours: one per worker and one more read the
            # benchmark's 1 GB log at 120 MB/s where this reads it at 139 (1 MiB blocks).
            while ahead and (len(ahead) > _AHEAD * workers or _ready(ahead[0])):
                yield _finish(ahead.popleft(), work)
        while ahead:
            yield _finish(ahead.popleft(), work)
    finally:
        _stop(pool)


def _submit(pool: Any, item: Block, slot: int) -> Any:
    if item.offset is not None and item.end >= _PROOF:
        fd, offset = item.offset
        data, end = item.data, item.end
        item.proof = (data[:_PROOF], data[end - _PROOF:end])
        if _CLAIMS is not None:
            _CLAIMS[slot] = 0
            item.slot = slot
        return pool.submit(_block_work_at, fd, offset, end, *item.proof, item.slot)
    return pool.submit(_block_work, item.data, item.end)


def _release(ahead: Deque[Any]) -> None:
    """Let go of the reader's copy of every block a worker has claimed (read as it is)."""
    if _CLAIMS is None:
        return
    for item in ahead:
        if (isinstance(item, Block) and item.slot >= 0 and not item.released
                and item.pending is not None and _CLAIMS[item.slot]):
            item.data = b""
            item.released = True


def _ready(item: Any) -> bool:
    return not isinstance(item, Block) or item.pending is None


def _finish(item: Any, work: Work) -> Any:
    if isinstance(item, Block) and item.pending is not None:
        try:
            item.result = item.pending.result()
            item.by_worker = True
        except Exception:  # the worker died or the pool broke: the same work, here
            item.result = work(item.contents(), item.end)
        item.pending = None
    return item


def _start(work: Work, workers: int) -> Any:
    """A pool of forked workers that inherit ``work``, or None where that is refused."""
    import concurrent.futures
    import multiprocessing

    global _WORKER_WORK, _CLAIMS
    _WORKER_WORK = work
    if _CLAIMS is None:
        try:
            _CLAIMS = mmap.mmap(-1, _SLOTS)  # anonymous and shared: the workers inherit it
        except (OSError, ValueError):
            _CLAIMS = None  # the copies are then kept until each block is done
    # What exists now (the knowledge base, the matcher) is shared with the workers page by
    # page until someone writes to it; a collection in a worker writes to every object it
    # walks, copying the pages, so those objects are left out of collections from here on.
    import gc

    gc.collect()
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        return concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                      initializer=_worker_start)
    except (OSError, ValueError, ImportError):
        return None


def _stop(pool: Any) -> None:
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
