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
"""

from __future__ import annotations

import collections
import os
import sys
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Set, Tuple

from .prefilter import HitLine

# The lines of a block holding a prefilter literal (Prefilter.hit_lines).
LinesOf = Callable[[bytes, int], List[HitLine]]
# A block's hit lines, each with the number of newlines before it in the block, and the
# block's number of newlines.
Found = Tuple[List[Tuple[int, int, bytes, Set[int], int]], int]
# What is done to one block of whole lines (``block[:end]``): the same wherever it runs.
Work = Callable[[bytes, int], Any]

MAX_WORKERS = 2  # each holds a block or two in memory; the figures were measured with two
PARALLEL_AFTER = 8 << 20  # bytes read before worker processes pay for their start

# The function the worker processes call: set before they are forked, so they inherit it.
_WORKER_WORK: Optional[Work] = None


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


def _block_work_at(fd: int, offset: int, end: int, head: bytes, tail: bytes) -> Any:
    """In a worker: the work on a block it reads from the file itself (the descriptor was
    inherited at fork), instead of receiving a megabyte through a pipe. A block whose ends are
    not what the reader saw (the file was rotated or rewritten meanwhile) is refused, and the
    reader then works on its own copy."""
    block = os.pread(fd, end, offset)
    if len(block) != end or block[:_PROOF] != head or block[-_PROOF:] != tail:
        raise ValueError("the file changed under the reader")
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

    __slots__ = ("by_worker", "data", "end", "offset", "pending", "result")

    def __init__(self, data: bytes, end: int, offset: Optional[Tuple[int, int]] = None) -> None:
        self.data = data
        self.end = end
        self.offset = offset  # (file descriptor, offset of data[0]) where a worker may read it
        self.result: Any = None
        self.pending: Any = None  # a Future while a worker works on it
        self.by_worker = False


def with_results(items: Iterable[Any], work: Work, workers: int,
                 after: int = PARALLEL_AFTER) -> Iterator[Any]:
    """``items`` in order, every :class:`Block` among them with its ``result`` filled in.

    The first ``after`` bytes of blocks are worked on here; past that, with ``workers`` > 0,
    up to two blocks per worker are worked on ahead in worker processes.
    """
    pool: Any = None
    ahead: Deque[Any] = collections.deque()
    seen = 0
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
                        item.pending = _submit(pool, item)
                    except Exception:  # a broken pool: search here from now on
                        _stop(pool)
                        pool, workers = None, 0
                if item.pending is None:
                    item.result = work(item.data, item.end)
            ahead.append(item)
            while ahead and (len(ahead) > 2 * workers or _ready(ahead[0])):
                yield _finish(ahead.popleft(), work)
        while ahead:
            yield _finish(ahead.popleft(), work)
    finally:
        _stop(pool)


def _submit(pool: Any, item: Block) -> Any:
    if item.offset is not None and item.end >= _PROOF:
        fd, offset = item.offset
        data, end = item.data, item.end
        return pool.submit(_block_work_at, fd, offset, end, data[:_PROOF], data[end - _PROOF:end])
    return pool.submit(_block_work, item.data, item.end)


def _ready(item: Any) -> bool:
    return not isinstance(item, Block) or item.pending is None


def _finish(item: Any, work: Work) -> Any:
    if isinstance(item, Block) and item.pending is not None:
        try:
            item.result = item.pending.result()
            item.by_worker = True
        except Exception:  # the worker died or the pool broke: the same work, here
            item.result = work(item.data, item.end)
        item.pending = None
    return item


def _start(work: Work, workers: int) -> Any:
    """A pool of forked workers that inherit ``work``, or None where that is refused."""
    import concurrent.futures
    import multiprocessing

    global _WORKER_WORK
    _WORKER_WORK = work
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
