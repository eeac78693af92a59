"""Finding the prefilter's hits in worker processes, for a long log on a machine with CPUs free.

Looking for the knowledge base's literals (:mod:`.prefilter`) is about four fifths of reading a
log, it holds the interpreter's lock (the regex engine never lets it go), and every block of
text can be searched on its own. So, once an input has proved long, the blocks go to forked
worker processes, a few at a time, and their hits come back in order; the reader cuts out the
lines and matches them as before. The hits are the same wherever they are computed, so the
events are too. Wherever worker processes cannot be used (no ``fork``, one CPU, a sandbox that
refuses, a worker that died), the blocks are searched in this process, as for a short input.
"""

from __future__ import annotations

import collections
import os
import sys
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Tuple

Hits = List[Tuple[int, int]]
HitsOf = Callable[[bytes, int], Hits]
# A block's hits, each with the number of newlines before it in the block, and the block's
# number of newlines: (offset, literal id, line index) and a count.
Found = Tuple[List[Tuple[int, int, int]], int]

MAX_WORKERS = 2  # each holds a block or two in memory; the figures were measured with two
PARALLEL_AFTER = 32 << 20  # bytes read before worker processes pay for their start

# The function the worker processes call: set before they are forked, so they inherit it.
_WORKER_HITS: Optional[HitsOf] = None


def search(hits_of: HitsOf, block: bytes, end: int) -> Found:
    """The hits of one block of whole lines (``block[:end]``), numbered by line."""
    found = hits_of(block.lower(), end)
    out = []
    lines = 0  # newlines in block[:pos]
    pos = 0
    for offset, lit_id in found:
        if offset > pos:
            start = block.rfind(b"\n", pos, offset) + 1
            if start > pos:
                lines += block.count(b"\n", pos, start)
                pos = start
        out.append((offset, lit_id, lines))
    return out, lines + block.count(b"\n", pos, end)


def _block_hits(block: bytes, end: int) -> Found:
    """In a worker: :func:`search` with the prefilter it inherited."""
    assert _WORKER_HITS is not None
    return search(_WORKER_HITS, block, end)


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
    """One block of complete lines (``data[:end]``) and, once known, its hits."""

    __slots__ = ("by_worker", "data", "end", "hits", "lines", "pending")

    def __init__(self, data: bytes, end: int) -> None:
        self.data = data
        self.end = end
        self.hits: List[Tuple[int, int, int]] = []  # see Found
        self.lines = 0  # newlines in data[:end]
        self.pending: Any = None  # a Future while a worker searches it
        self.by_worker = False


def with_hits(items: Iterable[Any], hits_of: HitsOf, workers: int,
              after: int = PARALLEL_AFTER) -> Iterator[Any]:
    """``items`` in order, every :class:`Block` among them with its ``hits`` filled in.

    The first ``after`` bytes of blocks are searched here; past that, with ``workers`` > 0,
    up to two blocks per worker are searched ahead in worker processes.
    """
    pool: Any = None
    ahead: Deque[Any] = collections.deque()
    seen = 0
    try:
        for item in items:
            if isinstance(item, Block):
                seen += item.end
                if pool is None and workers and seen > after:
                    pool = _start(hits_of, workers)
                    if pool is None:
                        workers = 0
                if pool is not None:
                    try:
                        item.pending = pool.submit(_block_hits, item.data, item.end)
                    except Exception:  # a broken pool: search here from now on
                        _stop(pool)
                        pool, workers = None, 0
                if item.pending is None:
                    item.hits, item.lines = search(hits_of, item.data, item.end)
            ahead.append(item)
            while ahead and (len(ahead) > 2 * workers or _ready(ahead[0])):
                yield _finish(ahead.popleft(), hits_of)
        while ahead:
            yield _finish(ahead.popleft(), hits_of)
    finally:
        _stop(pool)


def _ready(item: Any) -> bool:
    return not isinstance(item, Block) or item.pending is None


def _finish(item: Any, hits_of: HitsOf) -> Any:
    if isinstance(item, Block) and item.pending is not None:
        try:
            item.hits, item.lines = item.pending.result()
            item.by_worker = True
        except Exception:  # the worker died or the pool broke: the same search, here
            item.hits, item.lines = search(hits_of, item.data, item.end)
        item.pending = None
    return item


def _start(hits_of: HitsOf, workers: int) -> Any:
    """A pool of forked workers that inherit ``hits_of``, or None where that is refused."""
    import concurrent.futures
    import multiprocessing

    global _WORKER_HITS
    _WORKER_HITS = hits_of
    try:
        context = multiprocessing.get_context("fork")
        return concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                      initializer=_worker_start)
    except (OSError, ValueError, ImportError):
        return None


def _stop(pool: Any) -> None:
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
