"""The fleet roll-up as JSON, schema ``arc-preflight-fleet/1`` (``data/fleet.schema.json``).

Like ``arc-preflight/1``, fields may be added within the version and none is renamed or
removed. Hosts carry only their checks with a problem (the full checks are in each host's own
report, and in ``--format csv``).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from ..fleet.model import FLEET_SCHEMA, Fleet, HostCheck, HostReport, status_counts

# ``status._value_`` rather than ``.value``: the same string, read as a plain attribute (the
# enum's ``value`` property is a Python-level descriptor, called here hundreds of thousands of
# times for a large fleet).


def _check(check: HostCheck) -> Dict[str, Any]:
    return {"id": check.id, "probe": check.probe, "target": check.target,
            "status": check.status._value_, "code": check.code, "summary": check.summary,
            "cause_id": check.cause_id}


def _host(host: HostReport) -> Dict[str, Any]:
    return {
        "hostname": host.hostname,
        "status": host.verdict._value_,
        "report_status": host.status._value_,
        "exit_code": host.exit_code,
        "stale": host.stale,
        "source": host.source,
        "started_at": host.started_at,
        "tool_version": host.tool_version,
        "os": host.os,
        "elevated": host.elevated,
        "cloud": host.cloud,
        "location": host.location,
        "proxy": host.proxy or None,
        "counts": {status._value_: count for status, count in host.counts},
        "diagnoses": [{"cause_id": d.cause_id, "severity": d.severity,
                       "evidence": list(d.evidence), "checks": list(d.checks)}
                      for d in host.diagnoses],
        "problems": [_check(c) for c in host.problems],
    }


def fleet_dict(fleet: Fleet) -> Dict[str, Any]:
    causes: List[Dict[str, Any]] = []
    for rolled in fleet.causes:
        cause = rolled.cause
        causes.append({"cause_id": cause.cause_id, "category": cause.category,
                       "severity": rolled.severity, "title": cause.title,
                       "explanation": cause.explanation, "remedy": list(cause.remedy),
                       "docs": list(cause.docs), "azcm": list(cause.azcm),
                       "host_count": len(rolled.hosts), "hosts": list(rolled.hosts)})
    return {
        "schema": FLEET_SCHEMA,
        "tool_version": fleet.tool_version,
        "status": fleet.status.value,
        "exit_code": fleet.exit_code,
        "reports_read": fleet.inputs,
        "newest_report": fleet.newest,
        "stale_after_s": fleet.stale_after_s,
        "host_counts": {status.value: n for status, n in status_counts(fleet.hosts)},
        "causes": causes,
        "endpoints": [{"endpoint": e.endpoint, "host_count": len(e.cells),
                       "codes": dict(e.codes()),
                       "hosts": [{"hostname": c.hostname, "check": c.check_id,
                                  "status": c.status._value_, "code": c.code,
                                  "summary": c.summary} for c in e.cells]}
                      for e in fleet.endpoints],
        "hosts": [_host(h) for h in fleet.hosts],
        "inputs": [{"kind": p.kind, "source": p.source, "hostname": p.hostname,
                    "reason": p.reason} for p in fleet.problems],
    }


def render(fleet: Fleet, **_: Any) -> str:
    # Not indented: the standard library encodes indented JSON in Python, a hundred times
    # slower and holding every fragment of a 10,000-host document at once.
    return json.dumps(fleet_dict(fleet)) + "\n"
