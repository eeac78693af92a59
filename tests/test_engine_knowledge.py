"""The knowledge base is parsed only when a run needs it, and then while the probes wait.

Parsing ``causes.toml`` is about 0.1 s of CPU; started with the probes, it competed with their
TLS handshakes and DNS parsing and made a healthy full check about a third slower (bench: 0.8 s
against 0.5 s). These tests drive the real runner with probe functions (no network) and record
when the engine asks for the knowledge base.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any, Callable, List, Mapping

import pytest

from arc_preflight import engine, kb, runner
from arc_preflight.config import Settings
from arc_preflight.model import Check, Outcome, ProbeContext, Result, Status

Probe = Callable[[ProbeContext, Mapping[str, Result]], Outcome]
REAL_LOAD = kb.load  # the tests replace kb.load with a counter that calls this


def _pass(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    return Outcome(Status.PASS, "resolved")


def _nxdomain(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    return Outcome(Status.FAIL, "login.windows.net: no such name", code="dns.nxdomain")


def _slow(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    time.sleep(runner.IDLE * 4)  # the only probe left is waiting: the run is idle
    return Outcome(Status.PASS, "answered late")


class Loads:
    """Counts the engine's calls of :func:`kb.load` and signals the first."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.called = threading.Event()
        self.fail = fail

    def __call__(self) -> kb.KnowledgeBase:
        self.calls += 1
        self.called.set()
        if self.fail:
            raise kb.KnowledgeBaseError("causes.toml: not valid TOML: damaged in this test")
        return REAL_LOAD()


def run_with(monkeypatch: pytest.MonkeyPatch, probes: List[Probe], loads: Loads) -> Any:
    checks = [Check(f"dns:host{i}.example", "dns", f"host{i}.example", probe)
              for i, probe in enumerate(probes)]
    proxy = SimpleNamespace(public=lambda: {"source": "none"})
    monkeypatch.setattr(engine.plan, "build",
                        lambda settings: SimpleNamespace(checks=checks, proxy=proxy,
                                                         agent_installed=False))
    monkeypatch.setattr(kb, "load", loads)
    return engine.run_check(Settings(timeout=2.0, deadline=10.0, skip=("clock",)))


def test_a_healthy_run_that_never_waits_never_parses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads()
    report = run_with(monkeypatch, [_pass, _pass, _pass], loads)
    assert [r.status for r in report.checks] == [Status.PASS] * 3
    assert report.diagnoses == ()
    assert loads.calls == 0


def test_a_failure_gets_its_diagnosis(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = Loads()
    report = run_with(monkeypatch, [_pass, _nxdomain], loads)
    assert loads.calls == 1
    assert [d.cause_id for d in report.diagnoses] == ["dns_name_not_found"]
    assert report.diagnoses[0].checks == ("dns:host1.example",)


def test_it_is_parsed_while_the_probes_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe still waiting on the network after IDLE seconds lets the parse start then, not
    after the run, although nothing has failed yet."""
    loads = Loads()
    started = time.monotonic()
    report = run_with(monkeypatch, [_pass, _slow], loads)
    assert report.diagnoses == ()
    assert loads.called.wait(5)
    assert loads.calls == 1
    assert time.monotonic() - started < runner.IDLE * 4 + 2


def test_a_damaged_knowledge_base_still_fails_a_run_that_needs_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(kb.KnowledgeBaseError, match="damaged in this test"):
        run_with(monkeypatch, [_nxdomain], Loads(fail=True))


def test_a_damaged_knowledge_base_does_not_fail_a_healthy_run_that_waited(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The idle moment starts the parse; a run with nothing to explain never asks for its
    result, so a healthy run passes whether a probe was slow or not (review of stop 26)."""
    loads = Loads(fail=True)
    report = run_with(monkeypatch, [_pass, _slow], loads)
    assert loads.called.wait(5)
    assert [r.status for r in report.checks] == [Status.PASS, Status.PASS]
    assert report.diagnoses == ()


def test_runner_calls_on_idle_once_from_its_own_thread() -> None:
    calls: List[str] = []
    checks = [Check("dns:a.example", "dns", "a.example", _slow),
              Check("dns:b.example", "dns", "b.example", _slow)]
    results = runner.run(checks, timeout=2.0, deadline=10.0, settings=None,  # type: ignore[arg-type]
                         on_idle=lambda: calls.append(threading.current_thread().name))
    assert [r.status for r in results] == [Status.PASS, Status.PASS]
    assert calls == [threading.current_thread().name]


def test_runner_does_not_call_on_idle_when_nothing_waits() -> None:
    calls: List[int] = []
    checks = [Check(f"dns:{n}.example", "dns", f"{n}.example", _pass) for n in "abc"]
    runner.run(checks, timeout=2.0, deadline=10.0, settings=None,  # type: ignore[arg-type]
               on_idle=lambda: calls.append(1))
    assert calls == []
