"""The runner, driven by fake probes: ordering, blocking, concurrency, hangs, deadline, crashes."""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterator, List, Mapping, Optional, Sequence, Tuple

import pytest
from factories import report

from arc_preflight import runner
from arc_preflight.model import Check, Outcome, ProbeContext, Result, Status

ProbeFn = Callable[[ProbeContext, Mapping[str, Result]], Outcome]


def passing(summary: str = "ok") -> ProbeFn:
    def run(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        return Outcome(Status.PASS, summary)

    return run


def failing(code: str = "dns.nxdomain", status: Status = Status.FAIL) -> ProbeFn:
    def run(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        return Outcome(status, f"failed with {code}", code=code)

    return run


def sleeping(seconds: float) -> ProbeFn:
    def run(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        time.sleep(seconds)
        return Outcome(Status.PASS, f"slept {seconds}")

    return run


class Recorder:
    """Wraps probes to record when each ran and what dependency results it was handed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: List[str] = []
        self.finished: List[str] = []
        self.deps_seen: dict = {}

    def wrap(self, check_id: str, inner: ProbeFn) -> ProbeFn:
        def run(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
            with self.lock:
                self.started.append(check_id)
                self.deps_seen[check_id] = dict(deps)
            try:
                return inner(ctx, deps)
            finally:
                with self.lock:
                    self.finished.append(check_id)

        return run


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An Event hung probes wait on; set at teardown so no thread outlives its test."""
    event = threading.Event()
    yield event
    event.set()


def hanging(event: threading.Event) -> ProbeFn:
    def run(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        event.wait()  # never set during the test: a library call stuck forever
        return Outcome(Status.PASS, "late answer")

    return run


def chain(first: ProbeFn, host: str = "management.azure.com", required: bool = True,
          recorder: Optional[Recorder] = None) -> List[Check]:
    """dns -> tcp -> tls -> https for one host, the way plan.build wires an endpoint."""
    ids = [f"dns:{host}", f"tcp:{host}:443", f"tls:{host}:443", f"https:{host}:443"]
    kinds = ["dns", "tcp", "tls", "https"]
    checks = []
    for index, (check_id, kind) in enumerate(zip(ids, kinds)):
        fn = first if index == 0 else passing(f"{kind} ok")
        if recorder is not None:
            fn = recorder.wrap(check_id, fn)
        needs: Tuple[str, ...] = (ids[index - 1],) if index else ()
        target = host if kind == "dns" else f"{host}:443"
        checks.append(Check(check_id, kind, target, fn, needs=needs, required=required))
    return checks


def run(checks: Sequence[Check], timeout: float = 2.0, deadline: float = 10.0,
        progress: Optional[runner.ProgressFn] = None) -> List[Result]:
    return runner.run(checks, timeout=timeout, deadline=deadline, settings=None,
                      progress=progress)


def by_id(results: Sequence[Result]) -> dict:
    return {r.id: r for r in results}


# --------------------------------------------------------------------------------------------
# dependencies


def test_dependents_run_after_their_needs_pass_and_see_their_results() -> None:
    rec = Recorder()
    checks = chain(passing("resolved"), recorder=rec)
    results = run(checks)
    assert [r.status for r in results] == [Status.PASS] * 4
    assert rec.started == [c.id for c in checks], "each layer must start after the one below"
    # every dependent was handed exactly the finished result of its need
    for check in checks[1:]:
        (need,) = check.needs
        seen = rec.deps_seen[check.id]
        assert set(seen) == {need}
        assert seen[need].status == Status.PASS
    assert rec.deps_seen["tcp:management.azure.com:443"][
        "dns:management.azure.com"].summary == "resolved"
    assert all(r.blocked_by is None for r in results)


def test_dependent_waits_for_all_of_several_needs() -> None:
    order: List[str] = []
    lock = threading.Lock()

    def note(name: str, delay: float) -> ProbeFn:
        def fn(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
            time.sleep(delay)
            with lock:
                order.append(name)
            return Outcome(Status.PASS, name)

        return fn

    checks = [
        Check("a", "dns", "a", note("a", 0.05)),
        Check("b", "dns", "b", note("b", 0.25)),
        Check("c", "tcp", "c", note("c", 0.0), needs=("a", "b")),
    ]
    results = run(checks)
    assert order == ["a", "b", "c"]
    assert by_id(results)["c"].status == Status.PASS


def test_failed_root_blocks_whole_chain_with_root_id() -> None:
    rec = Recorder()
    checks = chain(failing("dns.nxdomain"), recorder=rec)
    results = by_id(run(checks))
    dns_id = "dns:management.azure.com"
    assert results[dns_id].status == Status.FAIL
    assert results[dns_id].code == "dns.nxdomain"
    assert results[dns_id].blocked_by is None
    for check_id in ("tcp:management.azure.com:443", "tls:management.azure.com:443",
                     "https:management.azure.com:443"):
        assert results[check_id].status == Status.SKIP
        assert results[check_id].blocked_by == dns_id, check_id
        assert dns_id in results[check_id].summary
        assert results[check_id].code is None
    assert rec.started == [dns_id], "no dependent of a failed check may run"


def test_middle_failure_blocks_only_layers_above() -> None:
    host = "gbl.his.arc.azure.com"
    checks = chain(passing(), host=host)
    # make tcp fail
    tcp = checks[1]
    checks[1] = Check(tcp.id, tcp.probe, tcp.target, failing("tcp.timeout"), needs=tcp.needs)
    results = by_id(run(checks))
    assert results[f"dns:{host}"].status == Status.PASS
    assert results[f"tcp:{host}:443"].status == Status.FAIL
    assert results[f"tls:{host}:443"].blocked_by == f"tcp:{host}:443"
    assert results[f"https:{host}:443"].blocked_by == f"tcp:{host}:443"


def test_error_status_also_blocks_dependents() -> None:
    checks = chain(failing("dns.error", status=Status.ERROR))
    results = run(checks)
    assert results[0].status == Status.ERROR
    assert [r.status for r in results[1:]] == [Status.SKIP] * 3


def test_genuine_warning_does_not_block_dependents() -> None:
    """A need that passed with a warning (e.g. not elevated) still lets its dependents run."""
    checks = [
        Check("privilege", "privilege", "this process",
              failing("privilege.not_admin", status=Status.WARN)),
        Check("himds", "himds", "http://localhost", passing(), needs=("privilege",)),
    ]
    results = by_id(run(checks))
    assert results["privilege"].status == Status.WARN
    assert results["himds"].status == Status.PASS


def test_blocked_skip_keeps_check_meta_as_facts() -> None:
    checks = [
        Check("dns:x", "dns", "x", failing()),
        Check("tcp:x:443", "tcp", "x:443", passing(), needs=("dns:x",),
              meta={"purpose": "testing", "route": "direct"}),
    ]
    skipped = by_id(run(checks))["tcp:x:443"]
    assert skipped.status == Status.SKIP
    assert skipped.facts["purpose"] == "testing"
    assert skipped.facts["route"] == "direct"


def test_unknown_need_raises_value_error() -> None:
    checks = [Check("tcp:x:443", "tcp", "x:443", passing(), needs=("dns:nowhere",))]
    with pytest.raises(ValueError, match="dns:nowhere"):
        run(checks)


def test_cycle_is_reported_as_skipped_not_hung() -> None:
    checks = [
        Check("a", "dns", "a", passing(), needs=("b",)),
        Check("b", "dns", "b", passing(), needs=("a",)),
        Check("c", "dns", "c", passing()),
    ]
    started = time.monotonic()
    results = by_id(run(checks))
    assert time.monotonic() - started < 2
    assert results["c"].status == Status.PASS
    assert results["a"].status == Status.SKIP
    assert results["b"].status == Status.SKIP


# --------------------------------------------------------------------------------------------
# concurrency, hangs, deadline, crashes


def test_independent_checks_run_concurrently() -> None:
    checks = [Check(f"dns:h{i}", "dns", f"h{i}", sleeping(0.3)) for i in range(20)]
    started = time.monotonic()
    results = run(checks, timeout=5, deadline=30)
    elapsed = time.monotonic() - started
    assert all(r.status == Status.PASS for r in results)
    assert elapsed < 2.0, f"20 x 0.3 s took {elapsed:.2f} s: checks did not run concurrently"
    # each check's own duration is its own sleep, not the accumulated wall time
    assert all(250 <= r.duration_ms < 2000 for r in results)


def test_hung_probe_is_abandoned_after_timeout_plus_grace(release: threading.Event) -> None:
    timeout = 0.3
    checks = [
        Check("himds", "himds", "http://localhost:40342", hanging(release)),
        Check("privilege", "privilege", "this process", passing("root")),
    ]
    started = time.monotonic()
    results = by_id(run(checks, timeout=timeout, deadline=30))
    elapsed = time.monotonic() - started
    hung = results["himds"]
    assert hung.status == Status.ERROR
    assert hung.code == "probe.hung"
    assert "timeout" in hung.summary
    assert timeout + runner.GRACE - 0.05 <= elapsed < timeout + runner.GRACE + 1.5
    assert results["privilege"].status == Status.PASS


def test_hung_probe_blocks_its_dependents(release: threading.Event) -> None:
    checks = chain(hanging(release))
    results = run(checks, timeout=0.2, deadline=30)
    assert results[0].code == "probe.hung"
    assert [r.status for r in results[1:]] == [Status.SKIP] * 3
    assert all(r.blocked_by == results[0].id for r in results[1:])


def test_deadline_caps_every_probe(release: threading.Event) -> None:
    deadline = 0.4
    checks = [Check(f"tcp:h{i}:443", "tcp", f"h{i}:443", hanging(release)) for i in range(5)]
    started = time.monotonic()
    results = run(checks, timeout=60, deadline=deadline)
    elapsed = time.monotonic() - started
    assert elapsed < deadline + runner.GRACE + 1.5, "the run deadline must win over the timeout"
    for result in results:
        assert result.status == Status.ERROR
        assert result.code == "probe.deadline"  # the run's limit, not the probe's: not judged
        assert "deadline" in result.summary


def test_probe_budget_is_capped_by_deadline() -> None:
    seen: List[float] = []

    def fn(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        seen.append(ctx.budget())
        return Outcome(Status.PASS, "ok")

    run([Check("a", "dns", "a", fn)], timeout=60, deadline=1.0)
    assert len(seen) == 1
    assert 0 < seen[0] <= 1.0


def test_crashing_probe_is_reported_not_raised() -> None:
    def boom(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        raise KeyError("addresses")

    checks = [Check("tcp:x:443", "tcp", "x:443", boom),
              Check("tls:x:443", "tls", "x:443", passing(), needs=("tcp:x:443",))]
    results = by_id(run(checks))
    crashed = results["tcp:x:443"]
    assert crashed.status == Status.ERROR
    assert crashed.code == "probe.crashed"
    assert "KeyError" in crashed.summary
    assert results["tls:x:443"].blocked_by == "tcp:x:443"


# --------------------------------------------------------------------------------------------
# required / optional, order, progress


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR])
def test_optional_check_failure_becomes_warn(status: Status) -> None:
    checks = [Check("dns:dls.microsoft.com", "dns", "dls.microsoft.com",
                    failing("dns.nxdomain", status=status), required=False)]
    (result,) = run(checks)
    assert result.status == Status.WARN
    assert result.code == "dns.nxdomain", "the failure code survives the demotion"


def test_required_failure_stays_fail_and_optional_pass_stays_pass() -> None:
    checks = [
        Check("a", "dns", "a", failing(), required=True),
        Check("b", "dns", "b", passing(), required=False),
    ]
    results = by_id(run(checks))
    assert results["a"].status == Status.FAIL
    assert results["b"].status == Status.PASS


def test_demoted_optional_failure_still_blocks_dependents() -> None:
    """An optional check's FAIL is shown as WARN, but what needs it must still be skipped."""
    rec = Recorder()
    checks = chain(failing("dns.nxdomain"), host="dls.microsoft.com", required=False,
                   recorder=rec)
    results = run(checks)
    assert results[0].status == Status.WARN
    assert rec.started == ["dns:dls.microsoft.com"]
    assert [r.status for r in results[1:]] == [Status.SKIP] * 3
    assert all(r.blocked_by == "dns:dls.microsoft.com" for r in results[1:])


def test_results_come_back_in_plan_order() -> None:
    # later checks finish first
    checks = [Check(f"c{i}", "dns", f"h{i}", sleeping(0.05 * (5 - i))) for i in range(5)]
    checks.append(Check("dep", "tcp", "h0:443", passing(), needs=("c0",)))
    checks.insert(0, Check("first-dep", "tcp", "h4:443", passing(), needs=("c4",)))
    results = run(checks)
    assert [r.id for r in results] == [c.id for c in checks]


def test_meta_is_merged_into_facts_without_overriding_probe_facts() -> None:
    def fn(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        return Outcome(Status.PASS, "ok", facts={"address": "10.0.0.1", "route": "probe-said"})

    (result,) = run([Check("tcp:x:443", "tcp", "x:443", fn,
                           meta={"route": "direct", "purpose": "p"})])
    assert result.facts["address"] == "10.0.0.1"
    assert result.facts["route"] == "probe-said"
    assert result.facts["purpose"] == "p"


def test_progress_called_once_per_check_with_increasing_counts(
        release: threading.Event) -> None:
    calls: List[Tuple[str, int, int]] = []
    checks = chain(failing())  # 1 fail + 3 skips
    checks += [Check(f"p{i}", "privilege", "x", sleeping(0.02 * i)) for i in range(4)]
    checks.append(Check("stuck", "himds", "x", hanging(release)))
    results = run(checks, timeout=0.2, progress=lambda r, done, total: calls.append(
        (r.id, done, total)))
    assert sorted(c[0] for c in calls) == sorted(c.id for c in checks)
    assert [c[1] for c in calls] == list(range(1, len(checks) + 1))
    assert {c[2] for c in calls} == {len(checks)}
    assert len(results) == len(checks)


def test_late_answer_from_abandoned_probe_changes_nothing() -> None:
    """A probe that answers after the runner gave up must not be recorded a second time."""
    calls: List[str] = []
    # "slow" is abandoned at 0.3 + GRACE = 0.8 s and answers PASS at 1.1 s, while a chain of
    # short probes keeps the runner busy until about 1.5 s, so the late answer reaches it.
    checks = [Check("slow", "himds", "x", sleeping(1.1))]
    previous: Tuple[str, ...] = ()
    for i in range(6):
        checks.append(Check(f"link{i}", "dns", f"h{i}", sleeping(0.25), needs=previous))
        previous = (f"link{i}",)
    results = by_id(run(checks, timeout=0.3, deadline=30,
                        progress=lambda r, d, t: calls.append(r.id)))
    assert results["slow"].status == Status.ERROR
    assert results["slow"].code == "probe.hung"
    assert calls.count("slow") == 1
    assert len(calls) == len(checks)
    assert all(results[f"link{i}"].status == Status.PASS for i in range(6))


def test_empty_plan_returns_empty_list() -> None:
    assert run([]) == []


def test_timeout_caused_by_the_deadline_is_not_a_network_verdict() -> None:
    """A check that starts with less time than its timeout and then times out was cut off by
    the run's deadline; reporting it as a firewall drop would blame the network."""

    def slow(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        time.sleep(0.5)
        return Outcome(Status.PASS, "ok")

    def times_out(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        time.sleep(ctx.budget())
        return Outcome(Status.FAIL, "timed out", code="tls.timeout")

    checks = [Check("tcp:a:443", "tcp", "a:443", slow),
              Check("tls:a:443", "tls", "a:443", times_out, needs=("tcp:a:443",))]
    results = run(checks, timeout=2.0, deadline=1.0)
    assert results[0].status == Status.PASS
    assert results[1].status == Status.ERROR
    assert results[1].code == "probe.deadline"


def test_no_check_starts_at_the_deadline() -> None:
    def slow(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        time.sleep(0.5)
        return Outcome(Status.PASS, "ok")

    started: List[str] = []

    def record(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        started.append("yes")
        return Outcome(Status.PASS, "ok")

    checks = [Check("a", "dns", "a", slow), Check("b", "tcp", "b", record, needs=("a",)),
              Check("c", "tls", "c", record, needs=("b",))]
    results = run(checks, timeout=2.0, deadline=0.6)
    assert started == []
    assert results[1].code == "probe.deadline"
    assert results[2].status == Status.SKIP and results[2].blocked_by == "b"


def test_a_run_whose_only_trouble_is_the_tool_cannot_judge() -> None:
    """Exit 3 (could not judge) when nothing failed except the tool's own probes."""
    ok = Result("a", "dns", "a", Status.PASS, "ok")
    hung = Result("b", "tcp", "b", Status.ERROR, "hung", code="probe.hung")
    failed = Result("c", "tcp", "c", Status.FAIL, "x", code="tcp.timeout")
    assert report([ok, hung]).exit_code == 3 and report([ok, hung]).status == Status.UNKNOWN
    assert report([ok, hung, failed]).exit_code == 2
    assert report([ok]).exit_code == 0


def test_each_finished_check_records_when_it_started_so_a_run_shows_its_spans() -> None:
    checks = chain(sleeping(0.2))
    results = {r.id: r for r in run(checks)}
    dns_row, tcp_row = results["dns:management.azure.com"], results["tcp:management.azure.com:443"]
    assert 0 <= dns_row.facts["started_ms"] < 100
    # The TCP check starts only once DNS has finished: its span begins after DNS's ends.
    assert tcp_row.facts["started_ms"] >= dns_row.facts["started_ms"] + dns_row.duration_ms
    assert tcp_row.facts["started_ms"] >= 190


def test_a_check_waits_for_its_after_checks_and_runs_whatever_they_found() -> None:
    seen: List[Tuple[str, ...]] = []

    def summary(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        seen.append(tuple(sorted(f"{k}={v.status.value}" for k, v in deps.items())))
        return Outcome(Status.PASS, "looked at both")

    checks = [
        Check("tls:a", "tls", "a", sleeping(0.2)),
        Check("tls:b", "tls", "b", failing("tls.untrusted")),
        Check("revocation", "revocation", "crl", summary, after=("tls:a", "tls:b")),
    ]
    results = {r.id: r for r in run(checks)}
    assert results["revocation"].status == Status.PASS  # a failed 'after' does not skip it
    assert results["revocation"].blocked_by is None
    assert seen == [("tls:a=pass", "tls:b=fail")]
    assert results["revocation"].facts["started_ms"] >= 190  # it waited for the slow one


def test_threads_switch_often_while_probes_run_and_the_old_interval_comes_back() -> None:
    """Thread starts must not wait 5 ms each behind busy probes (see runner.SWITCH_INTERVAL),
    and the process's own setting is restored afterwards."""
    import sys

    seen: List[float] = []

    def look(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        seen.append(sys.getswitchinterval())
        return Outcome(Status.PASS, "ok")

    before = sys.getswitchinterval()
    run([Check("a", "dns", "a", look)])
    assert seen == [pytest.approx(runner.SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == pytest.approx(before)


def test_switch_interval_restored_when_the_run_itself_raises(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    def broken(*args: object) -> List[Result]:
        raise RuntimeError("runner bug")

    before = sys.getswitchinterval()
    monkeypatch.setattr(runner, "_run", broken)
    with pytest.raises(RuntimeError):
        run([Check("a", "dns", "a", passing())])
    assert sys.getswitchinterval() == pytest.approx(before)


def test_overlapping_runs_keep_the_low_interval_until_the_last_one_ends() -> None:
    """Two runs from two threads: the first to end must not restore the caller's value while
    the other still runs, and the caller's value comes back at the very end."""
    import sys

    before = sys.getswitchinterval()
    first_done = threading.Event()
    seen_after_first: List[float] = []

    def long(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
        assert first_done.wait(5)
        seen_after_first.append(sys.getswitchinterval())
        return Outcome(Status.PASS, "ok")

    other = threading.Thread(target=run, args=([Check("b", "dns", "b", long)],))
    other.start()
    run([Check("a", "dns", "a", sleeping(0.05))])
    first_done.set()
    other.join(5)
    assert seen_after_first == [pytest.approx(runner.SWITCH_INTERVAL)]
    assert sys.getswitchinterval() == pytest.approx(before)
