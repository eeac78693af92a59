"""JUnit XML: a testcase per check, so a pipeline shows a failing endpoint like a failing test.

Statuses map as in every other format: FAIL is a failure, ERROR an error, skip skipped; a WARN
passes (JUnit has no warning) and says so in its ``system-out``, as the table shows it apart
from failures. The run's exit code still counts warnings, unless ``--fail-on fail``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict
from xml.etree import ElementTree as ET

from ..model import Diagnosis, Report, Status
from ..redact import redact


def render(report: Report, **_: Any) -> str:
    counts = Counter(r.status for r in report.checks)
    suite = ET.Element("testsuite", {
        "name": "arc-preflight",
        "tests": str(len(report.checks)),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(counts[Status.SKIP]),
        "time": f"{report.duration_s:.3f}",
        "timestamp": report.started_at,
        "hostname": report.host.hostname,
    })
    properties = ET.SubElement(suite, "properties")
    for name, value in (("tool_version", report.tool_version), ("status", report.status.value),
                        ("profile", report.profile)):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    causes: Dict[str, Diagnosis] = {}
    for diag in report.diagnoses:
        for check_id in diag.checks:
            causes.setdefault(check_id, diag)
    for result in report.checks:
        case = ET.SubElement(suite, "testcase", {
            "classname": f"arc_preflight.{result.probe}", "name": result.id,
            "time": f"{result.duration_ms / 1000:.3f}"})
        message = redact(result.summary)
        found = causes.get(result.id)
        detail = message
        if found is not None:
            detail += f"\n\n{found.title} [{found.category}]\n" + "\n".join(
                f"- {step}" for step in found.remedy)
        if result.status == Status.FAIL:
            node = ET.SubElement(case, "failure", {
                "message": message, "type": result.code or result.status.value})
            node.text = redact(detail)
        elif result.status == Status.WARN:
            out = ET.SubElement(case, "system-out")
            out.text = redact(f"{result.status.label} [{result.code or 'warn'}] {detail}")
        elif result.status == Status.ERROR:
            node = ET.SubElement(case, "error", {"message": message,
                                                 "type": result.code or "error"})
            node.text = redact(detail)
        elif result.status == Status.SKIP:
            ET.SubElement(case, "skipped", {"message": message})
    ET.indent(suite)
    body = ET.tostring(suite, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
