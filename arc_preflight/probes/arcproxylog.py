"""``arcproxy.log``: a best-effort reading of the Arc proxy's log, where it exists.

Microsoft documents the file (``/var/opt/azcmagent/log/arcproxy.log``,
``%ProgramData%\\AzureConnectedMachineAgent\\Log\\arcproxy.log``; arc-gateway.md, "Monitor Azure
Arc gateway traffic") and says it shows "which endpoints are redirected to the Arc gateway and
which ones continue using your firewall or proxy" (Azure Local's gateway deployment articles),
but publishes its lines only as screenshots. No text sample exists in public issues, pages or
code (searched again in November 2026: the only hits are the docs' paths and screenshots). So
this reader guesses, and says so: it reports a route only where a line is unambiguous, and
reports SKIP ("log format not recognised") when it could judge nothing, never PASS.

* a line counts only for host names this run already knows (the endpoints it probes), matched
  as whole names;
* a line is about the gateway when it names the gateway's own host (or, when that is unknown,
  the whole word "gateway"); "redirected" is not "direct" and "upstream" on a gateway line is
  the route *to* the gateway, so whole-word rules decide: a gateway line that also says
  "bypass"/"direct" is ambiguous and ignored, a line without the gateway that says "bypass",
  "direct", "upstream" or "enterprise proxy" means outside it;
* a gateway line that reads as an error ("level=error", "error", "failed") is kept as evidence
  of gateway trouble, but an empty error field (``error=<nil>``, Go's way of logging "no
  error") is not an error, and only recent lines count (written within 24 hours; a line without
  a time counts only while the file itself changed within 24 hours), so a fixed problem stops
  warning.

Only the end of the file is read (the newest lines, through :func:`.agenthost.read_tail`, which
refuses a FIFO or device instead of blocking on it), each line cut to a fixed length, so a huge
or hostile file costs a bounded amount of time and memory.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, redact
from .agenthost import RECENT, line_time, read_tail

if TYPE_CHECKING:
    from collections.abc import Mapping

TAIL_BYTES = 1 << 20  # the newest MiB of the log
LINE_LIMIT = 4096
BYPASS_RE = re.compile(r"\b(?:bypass(?:ed|es|ing)?|direct(?:ly)?)\b")
UPSTREAM_RE = re.compile(r"\b(?:upstream|enterprise proxy)\b")
GATEWAY_WORD_RE = re.compile(r"\bgateway\b")
ERROR_RE = re.compile(r"level=(?:error|fatal)|\berror\b|\bfailed\b|\bfailure\b", re.IGNORECASE)
# Go logs "no error" as error=<nil>; an empty field is not an error.
EMPTY_ERROR_RE = re.compile(
    r"""\b(?:error|err)\s*[=:]\s*(?:<nil>|nil|null|none|""|'')(?=[\s,;}]|$)""", re.IGNORECASE)


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
    errors: List[Tuple[int, str]] = field(default_factory=list)  # recent error lines
    old_errors: int = 0  # error lines too old to count
    newest_error: Optional[_dt.datetime] = None
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


def _route(line: str, gateway: str) -> Optional[str]:
    """The route a lower-cased line names, or None when it names none or is ambiguous."""
    about_gateway = _mentions(line, gateway) if gateway else bool(GATEWAY_WORD_RE.search(line))
    bypass = bool(BYPASS_RE.search(line))
    if about_gateway:
        return None if bypass else "gateway"
    if bypass or UPSTREAM_RE.search(line):
        return "outside the gateway"
    return None


def is_error(line: str) -> bool:
    """Does a line read as an error once empty error fields (``error=<nil>``) are removed?"""
    return bool(ERROR_RE.search(EMPTY_ERROR_RE.sub(" ", line)))


def read_routes(text: str, hosts: Sequence[str], gateway_host: Optional[str],
                now: Optional[_dt.datetime] = None, undated_recent: bool = True) -> LogRoutes:
    """Routes per host from log text (the newest line about a host wins), and recent errors.

    ``undated_recent`` says whether a line without a time may count as recent (the caller
    knows whether the file changed lately)."""
    found = LogRoutes()
    gateway = (gateway_host or "").lower()
    wanted = [h.lower() for h in hosts if h and h.lower() != gateway]
    now = now or _dt.datetime.now(_dt.timezone.utc)
    for number, raw in enumerate(text.splitlines(), 1):
        found.lines = number
        cut = raw[:LINE_LIMIT]
        line = cut.lower()
        about_gateway = _mentions(line, gateway) if gateway else False
        if (about_gateway or GATEWAY_WORD_RE.search(line)) and is_error(line):
            when = line_time(cut)
            if (when is None and undated_recent) or (when is not None and now - when <= RECENT):
                found.errors.append((number, cut))
                if when is not None and (found.newest_error is None or when > found.newest_error):
                    found.newest_error = when
            else:
                found.old_errors += 1
        route = _route(line, gateway)
        if route is None:
            continue
        for host in wanted:
            if host in line and _mentions(line, host):
                found.routes[host] = (route, number)
    return found


def _tail(path: str) -> Tuple[Optional[str], Optional[str], bool]:
    """(text of the newest part, None, changed lately) or (None, why it could not be read, _).

    :func:`.agenthost.read_tail` opens without following links and without blocking, and
    refuses anything but a regular file, so a FIFO planted at the log's path cannot hang the
    run."""
    try:
        text = read_tail(path, TAIL_BYTES)
        info = os.stat(path)
    except FileNotFoundError:
        return None, None, False
    except PermissionError:
        return None, f"{path} is not readable by this user (run as root to read it)", False
    except OSError as exc:
        return None, f"{path} cannot be read: {exc.strerror or exc}", False
    if info.st_size > TAIL_BYTES:
        text = text.split("\n", 1)[-1]  # the first line is cut: drop it
    import time

    return text, None, time.time() - info.st_mtime <= RECENT.total_seconds()


def probe(path: str, hosts: Tuple[str, ...], gateway_host: Optional[str], ctx: ProbeContext,
          deps: Mapping[str, Result], now: Optional[_dt.datetime] = None) -> Outcome:
    facts: Dict[str, Any] = {"path": path,
                             "format": "unpublished (no public sample): best-effort reading"}
    text, problem, fresh = _tail(path)
    if text is None:
        why = problem or f"no {path}: the Arc proxy has not logged anything here yet"
        return Outcome(Status.SKIP, why, facts=facts)
    found = read_routes(text, hosts, gateway_host, now, undated_recent=fresh)
    facts["lines_read"] = found.lines
    facts["routes"] = {host: {"route": route, "line": line}
                       for host, (route, line) in sorted(found.routes.items())}
    if found.old_errors:
        facts["older_error_lines"] = found.old_errors
    if found.errors:
        shown = [f"arcproxy.log:{n}: {bounded(redact(line), 300)}" for n, line in
                 found.errors[-3:]]
        facts["errors"] = shown
        if found.newest_error is not None:
            facts["newest_error_time"] = found.newest_error.isoformat()
        return Outcome(Status.WARN, f"arcproxy.log reports {len(found.errors)} recent gateway "
                       f"error line(s), the newest: {shown[-1]}", code="gateway.log_errors",
                       facts=facts)
    through = sorted(h for h, (r, _) in found.routes.items() if r == "gateway")
    outside = sorted(h for h, (r, _) in found.routes.items() if r != "gateway")
    if not found.routes:
        return Outcome(Status.SKIP, f"log format not recognised: arcproxy.log ({found.lines} "
                       "lines read) names no endpoint with a route this reader can tell; "
                       "its format is not published, so read it by hand", facts=facts)
    parts = []
    if through:
        parts.append(f"through the gateway: {', '.join(through)}")
    if outside:
        parts.append(f"outside it: {', '.join(outside)}")
    return Outcome(Status.PASS, "arcproxy.log (best-effort reading) routes " + "; ".join(parts),
                   facts=facts)
