"""Prometheus text format for node_exporter's textfile collector.

One gauge per check (labelled by check id, probe and target, value 0 pass, 1 warn, 2 fail,
3 error, -1 skipped), its duration, the run's end time, duration, status and counts, so an alert
can be written on any of them. Label values are escaped as the exposition format requires.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Dict, List

from ..model import Report, Status
from ..redact import redact

VALUE = {Status.PASS: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 3, Status.SKIP: -1}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in pairs.items()) + "}"


def render(report: Report, now: float = 0.0, **_: Any) -> str:
    lines: List[str] = []

    def family(name: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")

    family("arc_preflight_check_status",
           "Check outcome: 0 pass, 1 warn, 2 fail, 3 error, -1 skipped.")
    for result in report.checks:
        labels = {"check": result.id, "probe": result.probe, "target": redact(result.target),
                  "status": result.status.value, "code": result.code or ""}
        lines.append(f"arc_preflight_check_status{_labels(labels)} {VALUE[result.status]}")
    family("arc_preflight_check_duration_seconds", "How long each check took.")
    for result in report.checks:
        labels = {"check": result.id, "probe": result.probe, "target": redact(result.target)}
        lines.append(f"arc_preflight_check_duration_seconds{_labels(labels)} "
                     f"{result.duration_ms / 1000:.3f}")
    family("arc_preflight_checks", "Number of checks per status in the last run.")
    counts = Counter(r.status for r in report.checks)
    for status in (Status.PASS, Status.WARN, Status.FAIL, Status.ERROR, Status.SKIP):
        lines.append(f'arc_preflight_checks{{status="{status.value}"}} {counts[status]}')
    family("arc_preflight_diagnoses", "Number of diagnoses per category in the last run.")
    categories = Counter(d.category for d in report.diagnoses)
    for category, count in sorted(categories.items()):
        lines.append(f'arc_preflight_diagnoses{{category="{_label(category)}"}} {count}')
    family("arc_preflight_changes", "Checks that changed since the previous run, per kind.")
    kinds = Counter(c.kind for c in report.changes)
    for kind in ("new_failure", "recovered", "flapping", "changed", "new_check", "gone"):
        lines.append(f'arc_preflight_changes{{kind="{kind}"}} {kinds[kind]}')
    family("arc_preflight_run_status", "Overall result: 0 pass, 1 warn, 2 fail, 3 unknown.")
    lines.append(f"arc_preflight_run_status {report.status.exit_code}")
    family("arc_preflight_run_duration_seconds", "Wall time of the last run.")
    lines.append(f"arc_preflight_run_duration_seconds {report.duration_s:.3f}")
    family("arc_preflight_run_timestamp_seconds", "When the last run finished (Unix time).")
    lines.append(f"arc_preflight_run_timestamp_seconds {now or time.time():.0f}")
    family("arc_preflight_info", "Tool version and host, as labels.")
    lines.append("arc_preflight_info" + _labels({"version": report.tool_version,
                                                 "host": report.host.hostname,
                                                 "profile": report.profile}) + " 1")
    return "\n".join(lines) + "\n"
