"""Shared pieces of the fleet tests: real lab reports, and reports written to files.

``tests/fleet_samples/`` holds five ``check --format json`` outputs captured in the network lab
(healthy, port 443 dropped, a foreign CA, NXDOMAIN for the login names, a proxy demanding
authentication), with host names set to web01, web02, sql01, app01 and app02.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, Mapping

from arc_preflight.model import Change, Diagnosis, HostInfo, Report, Result, Status

SAMPLES = Path(__file__).resolve().parent / "fleet_samples"
SCENARIOS = {"healthy": "web01", "drop-443": "web02", "foreign-ca": "sql01",
             "nxdomain-login": "app01", "proxy-auth": "app02"}


def sample(name: str) -> Dict[str, Any]:
    """A fresh copy of one captured report (``healthy``, ``drop-443``...)."""
    doc: Dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(doc)


def write(folder: Path, name: str, doc: Mapping[str, Any]) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def with_host(doc: Dict[str, Any], hostname: str, started_at: str = "") -> Dict[str, Any]:
    out = copy.deepcopy(doc)
    out["host"]["hostname"] = hostname
    if started_at:
        out["started_at"] = started_at
    return out


def report_from_json(doc: Mapping[str, Any]) -> Report:
    """The model behind a captured report, so the HTML page can be rendered from real data."""
    host = doc["host"]
    checks = tuple(Result(id=c["id"], probe=c["probe"], target=c["target"],
                          status=Status(c["status"]), summary=c["summary"], code=c["code"],
                          duration_ms=c["duration_ms"], blocked_by=c["blocked_by"],
                          facts=c["facts"]) for c in doc["checks"])
    diagnoses = tuple(Diagnosis(cause_id=d["cause_id"], category=d["category"],
                                severity=d["severity"], title=d["title"],
                                explanation=d["explanation"], remedy=tuple(d["remedy"]),
                                docs=tuple(d["docs"]), azcm=tuple(d["azcm"]),
                                evidence=tuple(d["evidence"]),
                                checks=tuple(d.get("checks", ())))
                      for d in doc["diagnoses"])
    changes = tuple(Change(**c) for c in doc.get("changes", ()))
    return Report(tool_version=doc["tool_version"],
                  host=HostInfo(host["hostname"], host["os"], host["python"], host["elevated"]),
                  started_at=doc["started_at"], duration_s=doc["duration_s"],
                  settings=doc["settings"], checks=checks, diagnoses=diagnoses, changes=changes,
                  profile=doc.get("profile", "preflight"), notices=tuple(doc.get("notices", ())))
