"""Clock: compare this machine's UTC time with the ``Date`` headers endpoints already sent.

No extra traffic: the HTTPS checks record the server's ``Date`` and the local time the answer
arrived, so the skew is measured against several Microsoft front ends at once and the median is
used (one misconfigured edge cannot cause a false alarm). The agent warns above 120 seconds, and
TLS and token validation start failing at a few minutes, hence the two thresholds.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..model import Outcome, Result, Status
from .sysmgr import unit_properties, windows_service

SYNC_UNITS = ("chronyd", "chrony", "systemd-timesyncd", "ntpd", "ntp", "ntpsec")


def samples(results: Sequence[Result]) -> List[Tuple[str, float]]:
    """(target, local minus server seconds) for every HTTP answer that carried a Date header."""
    found: List[Tuple[str, float]] = []
    if not any(result.facts.get("date") for result in results):
        return found
    import email.utils  # only runs that got an answer parse one (not the blackholed path)

    for result in results:
        date = result.facts.get("date")
        local = result.facts.get("local_epoch")
        if not date or local is None:
            continue
        try:
            server = email.utils.parsedate_to_datetime(str(date)).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        # A Date header is truncated to the second: on average it lags by half a second.
        found.append((result.target, float(local) - (server + 0.5)))
    return found


def sync_state(timeout: float) -> Dict[str, str]:
    """Which time-sync service is active, as far as the service manager says."""
    if sys.platform.startswith("win"):  # pragma: no cover - Windows only
        service = windows_service("w32time")
        return {"w32time": str(service.get("status"))} if service else {}
    states: Dict[str, str] = {}
    for unit in SYNC_UNITS:
        fields = unit_properties(unit, "LoadState,ActiveState", timeout)
        if fields is None:
            return states  # no systemd to ask
        if fields.get("LoadState") == "loaded":
            states[unit] = fields.get("ActiveState", "unknown")
    return states


def assess(results: Sequence[Result], settings: Any, sync: Dict[str, str]) -> Outcome:
    """``sync`` is :func:`sync_state`'s answer, asked while the probes ran (see the engine)."""
    found = samples(results)
    active = [unit for unit, state in sync.items() if state in ("active", "running")]
    facts: Dict[str, Any] = {"samples": len(found), "time_sync": sync}
    if not found:
        return Outcome(Status.SKIP, "no endpoint answered with a Date header to compare with",
                       facts=facts)
    skew = _median([value for _, value in found])
    facts["skew_s"] = round(skew, 1)
    direction = "ahead of" if skew > 0 else "behind"
    sync_text = f"time sync: {', '.join(active)} active" if active else (
        "no time-sync service found active" if sync else "time-sync state unknown")
    if abs(skew) > settings.clock_fail_s:
        return Outcome(Status.FAIL, f"clock is {abs(skew):.0f} s {direction} Azure ({sync_text})",
                       code="clock.skew_large", facts=facts)
    if abs(skew) > settings.clock_warn_s:
        return Outcome(Status.WARN, f"clock is {abs(skew):.0f} s {direction} Azure ({sync_text})",
                       code="clock.skew", facts=facts)
    return Outcome(Status.PASS, f"within {abs(skew):.0f} s of Azure ({len(found)} endpoints; "
                   f"{sync_text})", facts=facts)


def result(results: Sequence[Result], settings: Any, sync: Dict[str, str],
           duration_ms: int = 0) -> Optional[Result]:
    """The clock check as a report row, or None when clocks are not to be checked."""
    if not settings.kind_enabled("clock"):
        return None
    outcome = assess(results, settings, sync)
    return Result(id="clock", probe="clock", target="local clock vs endpoint Date headers",
                  status=outcome.status, summary=outcome.summary, code=outcome.code,
                  duration_ms=duration_ms, facts=dict(outcome.facts))


def _median(values: List[float]) -> float:
    """statistics.median without importing statistics (fractions and decimal with it, ~5 ms on
    every run's start)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
