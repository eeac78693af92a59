"""Nagios/Icinga plugin output: one status line with performance data, then details.

The exit code already follows the plugin convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), so
the tool can be a check command as it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, List

from ..model import Report, Status
from ..redact import redact

LABEL = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def render(report: Report, **_: Any) -> str:
    counts = Counter(r.status for r in report.checks)
    failed = counts[Status.FAIL] + counts[Status.ERROR]
    state = LABEL[report.exit_code]
    if report.diagnoses:
        first = report.diagnoses[0]
        text = f"{first.title} ({first.category})"
        if len(report.diagnoses) > 1:
            text += f" and {len(report.diagnoses) - 1} more cause(s)"
    elif failed or counts[Status.WARN]:
        text = (f"{failed} failed, {counts[Status.WARN]} warning(s), {counts[Status.PASS]} "
                "passed")
    else:
        text = f"all {counts[Status.PASS]} checks passed"
    # Plugin ranges: a bare "0" alerts on any value above zero.
    warn_range = "" if report.fail_on == "fail" else "0"
    perf = (f"checks={len(report.checks)} failed={failed};;0 "
            f"warnings={counts[Status.WARN]};{warn_range} "
            f"skipped={counts[Status.SKIP]} duration={report.duration_s:.2f}s;;;0 "
            f"changes={len(report.changes)}")
    lines: List[str] = [f"ARC-PREFLIGHT {state} - {redact(text)} | {perf}"]
    for diag in report.diagnoses:
        lines.append(f"[{diag.severity.upper()}] {diag.title} [{diag.category}]"
                     + (f" {', '.join(diag.azcm)}" if diag.azcm else ""))
        for item in diag.evidence[:5]:
            lines.append(f"  {redact(item)}")
        if diag.remedy:
            lines.append(f"  fix: {redact(diag.remedy[0])}")
    for change in report.changes:
        lines.append(f"changed: {change.id} {change.before or '-'} -> {change.after or '-'} "
                     f"({change.kind})")
    return "\n".join(lines) + "\n"
