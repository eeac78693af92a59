"""The time-sync question is asked while the probes wait on the network, not after them.

On a host with systemd the clock check asks ``systemctl show`` for up to six time-sync units;
asked after the runner, that came on top of every run's wall time (a blackholed run waited for
its timeouts and then for systemctl). These tests replace the planner, the runner and the
service-manager question with recorders, so they need no network and no systemd.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

from arc_preflight import engine
from arc_preflight.config import Settings
from arc_preflight.model import Result, Status


class _Recorder:
    def __init__(self) -> None:
        self.events: List[str] = []
        self.sync_started = threading.Event()
        self.lock = threading.Lock()

    def note(self, what: str) -> None:
        with self.lock:
            self.events.append(what)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    rec = _Recorder()
    proxy = SimpleNamespace(public=lambda: {"source": "none"})

    def fake_plan(settings: Settings) -> Any:
        rec.note("plan built")
        return SimpleNamespace(checks=[], proxy=proxy, agent_installed=False)

    def fake_run(checks: Any, timeout: float, left: float, settings: Settings,
                 progress: Any, **hooks: Any) -> List[Result]:
        rec.note("probes start")
        # The probes "wait on the network"; the sync question must arrive meanwhile.
        assert rec.sync_started.wait(5), "time sync was not asked while the probes ran"
        rec.note("probes end")
        return []

    def fake_sync(timeout: float) -> Dict[str, str]:
        rec.note("sync asked")
        rec.sync_started.set()
        time.sleep(0.05)
        return {"chronyd": "active"}

    monkeypatch.setattr(engine.plan, "build", fake_plan)
    monkeypatch.setattr(engine.runner, "run", fake_run)
    monkeypatch.setattr(engine.clock, "sync_state", fake_sync)
    return rec


def test_sync_state_is_asked_during_the_probes(recorder: _Recorder) -> None:
    report = engine.run_check(Settings(timeout=1.0, deadline=5.0))
    assert recorder.events.index("sync asked") < recorder.events.index("probes end")
    # Not before the plan: a hung systemctl stops the run's later calls, and the plan's (the
    # agent's proxy setting) must not lose to the time-sync question.
    assert recorder.events.index("plan built") < recorder.events.index("sync asked")
    clock_rows = [r for r in report.checks if r.id == "clock"]
    assert len(clock_rows) == 1
    # No endpoint answered (no Date header), so the check skips, but the answer is kept.
    assert clock_rows[0].status is Status.SKIP
    assert clock_rows[0].facts["time_sync"] == {"chronyd": "active"}


def test_no_sync_question_when_clock_is_skipped(recorder: _Recorder,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(*args: Any, **hooks: Any) -> List[Result]:
        return []

    monkeypatch.setattr(engine.runner, "run", fake_run)
    report = engine.run_check(Settings(timeout=1.0, deadline=5.0, skip=("clock",)))
    assert "sync asked" not in recorder.events
    assert not [r for r in report.checks if r.id == "clock"]
