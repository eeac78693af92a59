"""The last result, kept between scheduled runs, and what changed since.

The state file is small JSON keyed by check id with each check's recent statuses. It is written
atomically (temporary file in the same folder, then rename), so a run killed half-way never
leaves a torn file for the next one. A file that cannot be read, is corrupt, or comes from
another schema version is set aside with a warning: the run starts afresh, it never fails.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .model import Change, Result, Status

SCHEMA = "arc-preflight-state/1"
HISTORY = 6  # runs remembered per check
MAX_STATE = 16 << 20
MAX_DEPTH = 16  # the file nests four levels; a deeper one is damaged or hostile
FLAP_CHANGES = 3  # status changes within HISTORY runs that count as flapping
_BAD = {Status.FAIL.value, Status.ERROR.value, Status.WARN.value}


@dataclass(frozen=True)
class Loaded:
    checks: Dict[str, Dict[str, Any]]
    warning: Optional[str] = None


def load(path: str) -> Loaded:
    """The previous state; an empty one (with the reason) when there is none usable."""
    from .fileio import planted, read_regular

    problem = planted(path)
    if problem:
        return Loaded({}, f"state file {problem}: not trusted; starting afresh")
    try:
        data = read_regular(path, MAX_STATE, "state file")  # bounded, and never a FIFO
        if len(data) > MAX_STATE:
            return Loaded({}, f"state file {path} is larger than {MAX_STATE >> 20} MiB; "
                          "starting afresh")
        doc = json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        return Loaded({})
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        return Loaded({}, f"state file {path} unreadable ({type(exc).__name__}); starting afresh")
    from .probes.netutil import json_depth

    if not json_depth(doc, MAX_DEPTH):
        return Loaded({}, f"state file {path} is nested more than {MAX_DEPTH} levels deep "
                      "(damaged); starting afresh")
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or not isinstance(
            doc.get("checks"), dict):
        return Loaded({}, f"state file {path} is not {SCHEMA}; starting afresh")
    checks = {str(k): v for k, v in doc["checks"].items() if isinstance(v, dict)}
    return Loaded(checks)


def _flips(history: Sequence[str]) -> int:
    return sum(1 for a, b in zip(history, history[1:]) if (a in _BAD) != (b in _BAD))


def compare(previous: Dict[str, Dict[str, Any]], results: Sequence[Result],
            now: str) -> Tuple[List[Change], Dict[str, Dict[str, Any]]]:
    """Changes since ``previous`` and the new state to store."""
    changes: List[Change] = []
    new_state: Dict[str, Dict[str, Any]] = {}
    seen = set()
    for result in results:
        seen.add(result.id)
        status = result.status.value
        old = previous.get(result.id)
        raw_history = (old or {}).get("history")
        # A hand-edited or damaged history is dropped rather than trusted.
        history = [str(s) for s in raw_history][-(HISTORY - 1):] \
            if isinstance(raw_history, list) else []
        history.append(status)
        before = str(old["status"]) if old and "status" in old else None
        since = str(old.get("since")) if old and before == status and old.get("since") else now
        new_state[result.id] = {"status": status, "code": result.code, "since": since,
                                "history": history}
        if before is None:
            if previous and status in _BAD:
                changes.append(Change(result.id, "new_check", None, status, since))
            continue
        if before != status and _flips(history) >= FLAP_CHANGES:
            changes.append(Change(result.id, "flapping", before, status, since))
        elif before not in _BAD and status in _BAD:
            changes.append(Change(result.id, "new_failure", before, status, since))
        elif before in _BAD and status not in _BAD and status != Status.SKIP.value:
            changes.append(Change(result.id, "recovered", before, status, since))
        elif before != status and before in _BAD and status in _BAD:
            changes.append(Change(result.id, "changed", before, status, since))
    for check_id, old in previous.items():
        if check_id not in seen and str(old.get("status")) in _BAD:
            changes.append(Change(check_id, "gone", str(old.get("status")), None, None))
    return changes, new_state


def save(path: str, checks: Dict[str, Dict[str, Any]], tool_version: str) -> None:
    """Write atomically; raises OSError for the caller to report."""
    doc = {"schema": SCHEMA, "tool_version": tool_version,
           "written_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "checks": checks}
    from .fileio import write_text

    write_text(path, json.dumps(doc, indent=1, sort_keys=True))
