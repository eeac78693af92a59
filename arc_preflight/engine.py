"""Library entry point: settings in, report out; used by the CLI, the tests and the benchmark."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import platform
import socket
import time
from typing import TYPE_CHECKING, List, Optional, Sequence

from . import __version__, dated, plan, runner, state
from .background import Background
from .config import Settings
from .model import Change, HostInfo, Report, Result
from .probes import clock, sysmgr
from .probes.privilege import is_elevated
from .redact import redact_obj, register_secret

if TYPE_CHECKING:
    from .kb import KnowledgeBase


def host_info() -> HostInfo:
    return HostInfo(
        hostname=socket.gethostname(),
        os=f"{platform.system()} {platform.release()}".strip(),
        python=platform.python_version(),
        elevated=is_elevated(),
    )


def run_check(settings: Settings, progress: Optional[runner.ProgressFn] = None) -> Report:
    """Plan, probe and diagnose; never raises for network trouble, only for bad settings."""
    if settings.service_principal_secret:
        register_secret(settings.service_principal_secret)
    # The knowledge base only explains problems. Parsing it is about 0.1 s of CPU, which at the
    # start of a run competes with the probes' own work (TLS handshakes, DNS parsing) and made a
    # healthy run a third slower; it is parsed in the background once a problem is seen or the
    # probes left are all waiting on the network, and a run that never waits or fails skips it.
    knowledge: List[Background[KnowledgeBase]] = []

    def load_knowledge() -> None:
        if not knowledge:
            from . import kb  # imported here too: a healthy run needs neither it nor its parse

            knowledge.append(Background(kb.load, "knowledge base"))

    def seen(result: Result, done: int, total: int) -> None:
        if result.explainable:
            load_knowledge()
        if progress is not None:
            progress(result, done, total)

    started_wall = _dt.datetime.now(_dt.timezone.utc)
    started = time.monotonic()
    # The main thread asks systemctl too (proxy sources before the runner) and so does the
    # time-sync question: those calls get what is left of the deadline, never more. The
    # time-sync service is asked while the probes wait on the network, not after them: on a host
    # with systemd that is up to six ``systemctl show`` calls that would otherwise be added to
    # every run's wall time. It starts only once the plan is built: a systemctl call that hangs
    # stops the run's later ones, and the plan's (the agent's proxy setting) must not lose to it.
    with sysmgr.run_deadline(started + settings.deadline):
        the_plan = plan.build(settings)
        sync = (Background(lambda: clock.sync_state(min(settings.timeout, 2.0)), "time sync")
                if settings.kind_enabled("clock") else None)
        left = settings.deadline - (time.monotonic() - started)
        results = runner.run(the_plan.checks, settings.timeout, max(left, 0.001), settings,
                             seen, on_idle=load_knowledge)
        clock_row = (clock.result(results, settings, sync.result())
                     if sync is not None else None)
    if clock_row is not None:
        results.append(clock_row)
        if progress is not None:
            progress(clock_row, len(results), len(results))
    results = dated.apply(results, started_wall.date())  # announced changes turn on their date
    # A broken knowledge base fails every run that needs it (and every diagnose and explain),
    # and only those: a healthy run that was idle for a moment (and so started the parse) does
    # not ask for its result, so it passes or fails the same whatever the network's timing.
    diagnoses = []
    if any(r.explainable for r in results):
        load_knowledge()
        from .diagnose import from_results

        diagnoses = from_results(results, knowledge[0].result())
    shown = settings.public()
    shown["proxy_effective"] = the_plan.proxy.public()
    shown["agent_installed"] = the_plan.agent_installed
    shown["dns_servers"] = list(settings.dns_servers) or "system"
    started_at = started_wall.strftime("%Y-%m-%dT%H:%M:%SZ")
    notices: List[str] = []
    changes: List[Change] = []
    if settings.state:
        changes = _track_state(settings.state, results, started_at, notices)
    report = Report(
        tool_version=__version__,
        host=host_info(),
        started_at=started_at,
        duration_s=round(time.monotonic() - started, 3),
        settings=redact_obj(shown),
        checks=tuple(results),
        diagnoses=tuple(diagnoses),
        changes=tuple(changes),
        profile=settings.profile,
        fail_on=settings.fail_on,
        notices=tuple(notices),
    )
    if settings.syslog:
        from . import syslog_out

        problem = syslog_out.emit(report.changes, report, settings.journal_socket)
        if problem:
            report = dataclasses.replace(report, notices=(*report.notices, problem))
    return report


def _track_state(path: str, results: Sequence[Result], now: str, notices: List[str]
                 ) -> List[Change]:
    """Compare with the previous run and store this one; problems become notices, not errors."""
    loaded = state.load(path)
    if loaded.warning:
        notices.append(loaded.warning)
    changes, new_state = state.compare(loaded.checks, results, now)
    try:
        state.save(path, new_state, __version__)
    except OSError as exc:
        notices.append(f"state file {path} not written: {exc.strerror or exc}")
    return changes
