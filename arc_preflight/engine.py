"""Library entry point: settings in, report out; used by the CLI, the tests and the benchmark."""

from __future__ import annotations

import datetime as _dt
import platform
import socket
import sys
import time
from typing import Optional

from . import __version__, kb, plan, runner
from .config import Settings
from .diagnose import from_results
from .model import HostInfo, Report
from .probes import clock
from .probes.privilege import is_elevated
from .redact import redact_obj, register_secret


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
    knowledge = kb.load()  # load before probing: a broken data file should fail fast
    started_wall = _dt.datetime.now(_dt.timezone.utc)
    started = time.monotonic()
    the_plan = plan.build(settings)
    results = runner.run(the_plan.checks, settings.timeout, settings.deadline, settings, progress)
    clock_row = clock.result(results, settings, settings.timeout)
    if clock_row is not None:
        results.append(clock_row)
        if progress is not None:
            progress(clock_row, len(results), len(results))
    diagnoses = from_results(results, knowledge)
    shown = settings.public()
    shown["proxy_effective"] = the_plan.proxy.public()
    shown["agent_installed"] = the_plan.agent_installed
    shown["dns_servers"] = list(settings.dns_servers) or "system"
    return Report(
        tool_version=__version__,
        host=host_info(),
        started_at=started_wall.strftime("%Y-%m-%dT%H:%M:%SZ"),
        duration_s=round(time.monotonic() - started, 3),
        settings=redact_obj(shown),
        checks=tuple(results),
        diagnoses=tuple(diagnoses),
    )


def python_ok() -> bool:
    return sys.version_info >= (3, 9)
