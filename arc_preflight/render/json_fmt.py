"""JSON output, schema ``arc-preflight/1`` (see ``data/report.schema.json``).

Fields may be added within the schema version, never renamed or removed, so machines that read
this today keep working.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from ..model import Diagnosis, Report, Result
from ..redact import redact, redact_obj

SCHEMA = "arc-preflight/1"


def check_dict(result: Result) -> Dict[str, Any]:
    return {
        "id": result.id,
        "probe": result.probe,
        "target": redact(result.target),
        "status": result.status.value,
        "summary": redact(result.summary),
        "code": result.code,
        "duration_ms": result.duration_ms,
        "blocked_by": result.blocked_by,
        "facts": redact_obj(dict(result.facts)),
    }


def diagnosis_dict(diag: Diagnosis) -> Dict[str, Any]:
    item: Dict[str, Any] = {
        "cause_id": diag.cause_id,
        "category": diag.category,
        "severity": diag.severity,
        "title": diag.title,
        "explanation": diag.explanation,
        "remedy": list(diag.remedy),
        "docs": list(diag.docs),
        "azcm": list(diag.azcm),
        "evidence": [redact(e) for e in diag.evidence],
    }
    if diag.source is not None:
        item["source"] = diag.source
        item["lines"] = list(diag.lines)
    else:
        item["checks"] = list(diag.checks)
    return item


def report_dict(report: Report) -> Dict[str, Any]:
    checks: List[Dict[str, Any]] = [check_dict(r) for r in report.checks]
    return {
        "schema": SCHEMA,
        "tool_version": report.tool_version,
        "host": {
            "hostname": report.host.hostname,
            "os": report.host.os,
            "python": report.host.python,
            "elevated": report.host.elevated,
        },
        "started_at": report.started_at,
        "duration_s": report.duration_s,
        "status": report.status.value,
        "exit_code": report.exit_code,
        "settings": redact_obj(dict(report.settings)),
        "checks": checks,
        "diagnoses": [diagnosis_dict(d) for d in report.diagnoses],
        "profile": report.profile,
        "notices": [redact(n) for n in report.notices],
        "changes": [{"id": c.id, "kind": c.kind, "before": c.before, "after": c.after,
                     "since": c.since} for c in report.changes],
    }


def render(report: Report, **_: Any) -> str:
    return json.dumps(report_dict(report), indent=2, sort_keys=False) + "\n"
