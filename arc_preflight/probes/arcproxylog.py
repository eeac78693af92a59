"""``arcproxy.log``: which route the Arc proxy really gave each endpoint, where the log exists.

Microsoft documents the file (``/var/opt/azcmagent/log/arcproxy.log``,
``%ProgramData%\\AzureConnectedMachineAgent\\Log\\arcproxy.log``; arc-gateway.md, "Monitor Azure
Arc gateway traffic") and says it shows "which endpoints are redirected to the Arc gateway and
which ones continue using your firewall or proxy" (Azure Local's gateway deployment articles),
but publishes its lines only as screenshots, and no text sample could be found in public issues,
pages or code. So this reader assumes no line format. It is deliberately conservative:

* a line counts only for host names this run already knows (the endpoints it probes);
* a line names a route only by plain words: the gateway's own name or "gateway" means through
  the gateway, unless the line also says "bypass", "upstream", "enterprise proxy" or "direct",
  which mean outside it; a line with neither says nothing about routes;
* a line that mentions the gateway and reads as an error ("level=error", "error", "failed") is
  kept as evidence of gateway trouble.

Only the end of the file is read (the newest lines), each line cut to a fixed length, so a huge
or hostile file costs a bounded amount of time and memory.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, redact

if TYPE_CHECKING:
    from collections.abc import Mapping

TAIL_BYTES = 1 << 20  # the newest MiB of the log
LINE_LIMIT = 4096
OUTSIDE_WORDS = ("bypass", "upstream", "enterprise proxy", "direct")
ERROR_RE = re.compile(r"level=(?:error|fatal)|\berror\b|\bfailed\b|\bfailure\b", re.IGNORECASE)


def default_path(agent_dir: str, platform: str = sys.platform) -> str:
    """Where the agent writes arcproxy.log, beside its configuration folder."""
    if platform.startswith("win"):  # agent_dir is ...\AzureConnectedMachineAgent\Config
        import ntpath

        return ntpath.join(ntpath.dirname(agent_dir.rstrip("\\/")), "Log", "arcproxy.log")
    return os.path.join(agent_dir, "log", "arcproxy.log")


@dataclass
class LogRoutes:
    """What the tail of the log says: a route per known host, and gateway errors."""

    routes: Dict[str, Tuple[str, int]] = field(default_factory=dict)  # host -> (route, line)
    errors: List[Tuple[int, str]] = field(default_factory=list)
    lines: int = 0


def _mentions(line: str, host: str) -> bool:
    """``host`` appears as a whole name (not inside a longer one) in a lower-cased line."""
    start = line.find(host)
    while start >= 0:
        before = line[start - 1] if start else " "
        end = start + len(host)
        after = line[end] if end < len(line) else " "
        if not (before.isalnum() or before in "-.") and not (after.isalnum() or after == "-"):
            return True
        start = line.find(host, start + 1)
    return False


def read_routes(text: str, hosts: Sequence[str], gateway_host: Optional[str]) -> LogRoutes:
    """Routes per host from log text (the newest line about a host wins)."""
    found = LogRoutes()
    wanted = [h.lower() for h in hosts if h and h.lower() != (gateway_host or "").lower()]
    gateway = (gateway_host or "").lower()
    for number, raw in enumerate(text.splitlines(), 1):
        found.lines = number
        line = raw[:LINE_LIMIT].lower()
        says_gateway = (bool(gateway) and gateway in line) or "gateway" in line
        says_outside = any(word in line for word in OUTSIDE_WORDS)
        if says_gateway and ERROR_RE.search(line):
            found.errors.append((number, raw[:LINE_LIMIT]))
        if not (says_gateway or says_outside):
            continue
        route = "outside the gateway" if says_outside else "gateway"
        for host in wanted:
            if host in line and _mentions(line, host):
                found.routes[host] = (route, number)
    return found


def _tail(path: str) -> Tuple[Optional[str], Optional[str]]:
    """(text of the newest part of the file, None) or (None, why it could not be read)."""
    try:
        with open(path, "rb") as handle:
            if not os.path.isfile(path):
                return None, f"{path} is not a regular file"
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read(TAIL_BYTES)
    except FileNotFoundError:
        return None, None
    except PermissionError:
        return None, f"{path} is not readable by this user (run as root to read it)"
    except OSError as exc:
        return None, f"{path} cannot be read: {exc.strerror}"
    text = data.decode("utf-8", "replace")
    if size > TAIL_BYTES:
        text = text.split("\n", 1)[-1]  # the first line is cut: drop it
    return text, None


def probe(path: str, hosts: Tuple[str, ...], gateway_host: Optional[str], ctx: ProbeContext,
          deps: Mapping[str, Result]) -> Outcome:
    facts: Dict[str, Any] = {"path": path, "format": "unpublished: read conservatively"}
    text, problem = _tail(path)
    if text is None:
        why = problem or f"no {path}: the Arc proxy has not logged anything here yet"
        return Outcome(Status.SKIP, why, facts=facts)
    found = read_routes(text, hosts, gateway_host)
    facts["lines_read"] = found.lines
    facts["routes"] = {host: {"route": route, "line": line}
                       for host, (route, line) in sorted(found.routes.items())}
    if found.errors:
        shown = [f"arcproxy.log:{n}: {bounded(redact(line), 300)}" for n, line in
                 found.errors[-3:]]
        facts["errors"] = shown
        return Outcome(Status.WARN, f"arcproxy.log reports {len(found.errors)} gateway "
                       f"error line(s), the newest: {shown[-1]}", code="gateway.log_errors",
                       facts=facts)
    through = sorted(h for h, (r, _) in found.routes.items() if r == "gateway")
    outside = sorted(h for h, (r, _) in found.routes.items() if r != "gateway")
    if not found.routes:
        return Outcome(Status.PASS, f"arcproxy.log ({found.lines} lines read) names no endpoint "
                       "with a route; its format is not published, so read it by hand",
                       facts=facts)
    parts = []
    if through:
        parts.append(f"through the gateway: {', '.join(through)}")
    if outside:
        parts.append(f"outside it: {', '.join(outside)}")
    return Outcome(Status.PASS, "arcproxy.log routes " + "; ".join(parts), facts=facts)
