"""Run the check graph concurrently, within per-check timeouts and one run deadline.

Each check runs in its own daemon thread as soon as everything it needs has passed, so a run
where every endpoint is blackholed costs one timeout, not one per endpoint. The runner never
waits on a probe without a limit: a probe still running past its timeout (plus a small grace) is
reported as ``error``/``probe.hung`` and abandoned, and because its thread is a daemon it cannot
hold the process open either. Threads rather than asyncio because the socket, TLS and HTTP calls,
dnspython's blocking API, psutil and subprocess all block.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from .model import Check, Outcome, ProbeContext, Result, Status

if TYPE_CHECKING:
    from .config import Settings

GRACE = 0.5  # seconds a probe may overrun its own timeout before the runner gives up on it
MIN_START = 0.25  # a check is not started with less time than this left before the deadline
ProgressFn = Callable[[Result, int, int], None]
# How often (seconds) a thread holding the GIL is asked to let another run, while the runner is
# in charge. CPython's 5 ms default made every ``Thread.start`` wait up to a switch interval for
# the new thread to check in while other probes were busy (imports, dnspython parsing): the DNS
# checks of a full catalogue were started one by one over ~135 ms, and so were the TCP connects
# behind them, so a blackholed run took its timeout plus that. Probe threads mostly wait on
# sockets, so switching more often costs little.
SWITCH_INTERVAL = 0.0005
# Seconds without a finished probe after which the run counts as waiting on the network: the
# moment to do CPU work that the run will need only if something fails (``on_idle``).
IDLE = 0.1


def _run_one(check: Check, ctx: ProbeContext, deps: Mapping[str, Result],
             out: queue.Queue[Tuple[str, Outcome, float]]) -> None:
    started = time.monotonic()
    try:
        outcome = check.run(ctx, deps)
    except Exception as exc:  # a probe bug must not take the run down; it is reported instead
        outcome = Outcome(Status.ERROR, f"probe crashed: {type(exc).__name__}: {exc}",
                          code="probe.crashed")
    out.put((check.id, outcome, time.monotonic() - started))


def _finish(check: Check, outcome: Outcome, seconds: float,
            started_ms: Optional[int] = None) -> Result:
    """The reported result; ``started_ms`` (since the run began) and the duration make a span,
    so a run's JSON shows where its time went."""
    status = outcome.status
    # Optional endpoints inform; their failures must not fail the run.
    if not check.required and status in (Status.FAIL, Status.ERROR):
        status = Status.WARN
    facts = dict(outcome.facts)
    for key, value in check.meta.items():
        facts.setdefault(key, value)
    if started_ms is not None:
        facts["started_ms"] = started_ms
    return Result(
        id=check.id, probe=check.probe, target=check.target, status=status,
        summary=outcome.summary, code=outcome.code, duration_ms=int(seconds * 1000),
        facts=facts,
    )


def run(
    checks: Sequence[Check],
    timeout: float,
    deadline: float,
    settings: Settings,
    progress: Optional[ProgressFn] = None,
    on_idle: Optional[Callable[[], None]] = None,
) -> List[Result]:
    """Run every check; results come back in plan order whatever order they finished in.

    ``on_idle`` is called once, from this thread, the first time no probe has finished for
    :data:`IDLE` seconds while some are still running (every probe left is waiting on the
    network); a run that never waits never calls it."""
    _switch_often(True)
    try:
        return _run(checks, timeout, deadline, settings, progress, on_idle)
    finally:
        _switch_often(False)


_switch_lock = threading.Lock()
_switch_users = 0
_switch_before = 0.0


def _switch_often(enter: bool) -> None:
    """Lower the interpreter's switch interval while at least one run is going (the setting is
    process-wide, and a library caller may run several checks at once from its own threads);
    the first run in saves the caller's value, the last one out puts it back."""
    global _switch_users, _switch_before
    with _switch_lock:
        if enter:
            if _switch_users == 0:
                _switch_before = sys.getswitchinterval()
                sys.setswitchinterval(min(_switch_before, SWITCH_INTERVAL))
            _switch_users += 1
        else:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_before)


def _run(
    checks: Sequence[Check],
    timeout: float,
    deadline: float,
    settings: Settings,
    progress: Optional[ProgressFn],
    on_idle: Optional[Callable[[], None]] = None,
) -> List[Result]:
    started = time.monotonic()
    deadline_at = started + deadline
    by_id = {check.id: check for check in checks}
    children: Dict[str, List[str]] = {check.id: [] for check in checks}
    for check in checks:
        for need in (*check.needs, *check.after):
            if need not in by_id:
                raise ValueError(f"check {check.id} needs unknown check {need}")
            children[need].append(check.id)
    results: Dict[str, Result] = {}
    # Checks whose probe itself passed (or only warned). A failure demoted to a warning because
    # its endpoint is optional still blocks what depends on it, so this is not read off status.
    usable: Set[str] = set()
    running: Dict[str, float] = {}  # id -> monotonic time when the runner gives up on it
    begun: Dict[str, float] = {}
    cut: Set[str] = set()  # checks that started with less time than their timeout
    done_queue: queue.Queue[Tuple[str, Outcome, float]] = queue.Queue()
    ctx = ProbeContext(timeout=timeout, settings=settings, deadline_at=deadline_at)
    total = len(checks)

    def _offset(when: float) -> int:
        return int((when - started) * 1000)

    def record(result: Result) -> None:
        results[result.id] = result
        if progress is not None:
            progress(result, len(results), total)

    def start(check_id: str) -> None:
        check = by_id[check_id]
        left = deadline_at - time.monotonic()
        if left < MIN_START:
            # Starting now would only produce a "timeout" that says nothing about the network.
            record(_finish(check, Outcome(
                Status.ERROR, "not run: the run's deadline was reached (see --deadline)",
                code="probe.deadline"), 0.0))
            settle(check_id)
            return
        if left < timeout:
            cut.add(check_id)
        deps = {need: results[need] for need in (*check.needs, *check.after)}
        cap = min(time.monotonic() + timeout, deadline_at) + GRACE
        running[check_id] = cap
        begun[check_id] = time.monotonic()
        thread = threading.Thread(target=_run_one, args=(check, ctx, deps, done_queue),
                                  name=f"probe {check_id}", daemon=True)
        thread.start()

    def settle(check_id: str) -> None:
        """Start or skip the dependents of a finished check whose needs are all finished."""
        pending = [check_id]
        while pending:
            current = pending.pop()
            for child_id in children[current]:
                child = by_id[child_id]
                if child_id in results or child_id in running:
                    continue
                if not all(need in results for need in (*child.needs, *child.after)):
                    continue
                blocker = next((results[n] for n in child.needs if n not in usable), None)
                if blocker is None:
                    start(child_id)
                    continue
                root = blocker.blocked_by or blocker.id
                record(Result(
                    id=child_id, probe=child.probe, target=child.target, status=Status.SKIP,
                    summary=f"not run: {root} did not pass", blocked_by=root,
                    facts=dict(child.meta),
                ))
                pending.append(child_id)

    for check in checks:
        if not check.needs and not check.after:
            start(check.id)

    while running:
        now = time.monotonic()
        wait = max(0.0, min(running.values()) - now)
        try:
            check_id, outcome, seconds = done_queue.get(
                timeout=wait if on_idle is None else min(wait, IDLE))
        except queue.Empty:
            if on_idle is not None:
                on_idle()
                on_idle = None
            now = time.monotonic()
            for check_id, cap in list(running.items()):
                if cap <= now:
                    del running[check_id]
                    at_deadline = now >= deadline_at
                    why = "the run's deadline" if at_deadline else f"its {timeout:g}s timeout"
                    record(_finish(by_id[check_id], Outcome(
                        Status.ERROR, f"probe did not finish within {why}; abandoned",
                        code="probe.deadline" if at_deadline else "probe.hung"),
                        now - begun[check_id], _offset(begun[check_id])))
                    settle(check_id)
            continue
        if check_id not in running:
            continue  # already given up on; a late answer changes nothing
        del running[check_id]
        if check_id in cut and (outcome.code or "").endswith(".timeout"):
            # It ran out of the run's time, not its own: no verdict on the network.
            outcome = Outcome(Status.ERROR, f"stopped by the run's deadline after {seconds:.1f} s "
                              f"(less than its {timeout:g}s timeout); not judged",
                              code="probe.deadline", facts=outcome.facts)
        if outcome.status in (Status.PASS, Status.WARN):
            usable.add(check_id)
        record(_finish(by_id[check_id], outcome, seconds, _offset(begun[check_id])))
        settle(check_id)

    # Anything never started (a cycle, or everything it needed was abandoned) is listed too.
    leftover: Set[str] = {c.id for c in checks} - set(results)
    for check_id in sorted(leftover):
        check = by_id[check_id]
        record(Result(id=check_id, probe=check.probe, target=check.target, status=Status.SKIP,
                      summary="not run before the run's deadline", facts=dict(check.meta)))
    return [results[check.id] for check in checks]
