"""JSON for ``diagnose``, ``explain`` and ``explain --list`` (``data/diagnose.schema.json``).

Pure functions of the models, like every renderer; a diagnosis is written by the same
:func:`json_fmt.diagnosis_dict` as in ``check``'s report, with where in the log it was seen.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict

from ..kb import KnowledgeBase, remedy_for
from ..model import Cause, Explanation, LogDiagnosis, LogReport
from ..redact import excerpt, redact
from .json_fmt import SCHEMA, diagnosis_dict


def dumps(data: object) -> str:
    """Indented JSON, ASCII only: safe on any console code page."""
    return json.dumps(data, indent=2) + "\n"


def diagnosis_json(item: LogDiagnosis) -> Dict[str, Any]:
    data = diagnosis_dict(item.diagnosis)
    data["occurrences"] = item.occurrences
    data["first_line"] = item.first_line
    data["last_line"] = item.last_line
    return data


def report_json(report: LogReport, tool_version: str) -> Dict[str, Any]:
    """The ``diagnose --format json`` document."""
    return {
        "schema": SCHEMA,
        "tool_version": tool_version,
        "source": report.source,
        "path": redact(report.path),
        "lines_read": report.lines_read,
        "scope": {
            "kind": report.scope,
            "description": report.scope_text,
            "start_line": report.start_line,
            "end_line": report.end_line,
            "attempts": report.attempts,
            "since": report.since.isoformat() if report.since else None,
        },
        "status": report.status.value,
        "exit_code": report.exit_code,
        "warnings": [redact(w) for w in report.warnings],
        "notes": [redact(n) for n in report.notes],
        "diagnoses": [diagnosis_json(d) for d in report.diagnoses],
    }


def cause_json(cause: Cause, platform: str = sys.platform) -> Dict[str, Any]:
    return {
        "cause_id": cause.id,
        "category": cause.category,
        "severity": cause.severity,
        "title": cause.title,
        "explanation": cause.explanation,
        "remedy": list(remedy_for(cause, platform)),
        "remedy_linux": list(cause.remedy_linux),
        "remedy_windows": list(cause.remedy_windows),
        "docs": list(cause.docs),
        "azcm": list(cause.azcm),
        "probe_codes": list(cause.probe_codes),
        "priority": cause.priority,
        "notes": cause.notes,
    }


def explain_json(result: Explanation, tool_version: str,
                 platform: str = sys.platform) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "schema": SCHEMA,
        "tool_version": tool_version,
        "query": excerpt(result.query, width=300),
        "matched_by": result.matched_by,
        "code": result.code,
        "causes": [cause_json(c, platform) for c in result.causes],
    }
    if result.text_report is not None:
        data["diagnoses"] = [diagnosis_json(d) for d in result.text_report.diagnoses
                             if d.diagnosis.category != "unknown"]
    return data


def list_json(kb: KnowledgeBase, tool_version: str,
              platform: str = sys.platform) -> Dict[str, Any]:
    return {"schema": SCHEMA, "tool_version": tool_version,
            "causes": [cause_json(c, platform) for c in kb.causes]}
