"""The agent's local metadata endpoint (HIMDS, ``localhost:40342``).

``azcmagent`` talks to HIMDS for nearly everything; when it is down the CLI reports AZCM0061 or
AZCM0064. A server that accepts the connection but never answers is a different problem (the
service is wedged) from one that refuses it (the service is not running), so they get different
codes. Proxies are never used: HIMDS is local.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Mapping

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded
from .netutil import Oversized, json_depth
from .webcall import CallError, call

MAX_ANSWER = 1 << 20  # HIMDS answers a few KB; anything past 1 MiB is not HIMDS
MAX_DEPTH = 32  # its JSON nests four levels
MAX_VALUE = 512  # characters kept of any value it gives


def probe(url: str, installed: bool, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    from .trust import verified_context

    deadline = time.monotonic() + ctx.budget()
    facts: Dict[str, Any] = {"url": url}
    try:
        with call("GET", url, context=verified_context(ctx.settings.ca_bundle), deadline=deadline,
                  headers={"Metadata": "true"}) as response:
            facts["status_code"] = response.status
            if response.status != 200:
                return Outcome(Status.FAIL, f"HIMDS answered HTTP {response.status}",
                               code="himds.bad_response", facts=facts)
            body = response.body(MAX_ANSWER)
    except Oversized as exc:
        return Outcome(Status.FAIL, f"port 40342 answered with {exc}: not the agent's HIMDS",
                       code="himds.oversized", facts=facts)
    except CallError as exc:
        return _failed(exc, installed, facts)
    except ValueError as exc:
        return Outcome(Status.FAIL, f"HIMDS request failed: {type(exc).__name__}",
                       code="himds.bad_response", facts=facts)
    try:
        doc = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return Outcome(Status.FAIL, "HIMDS answered with something that is not JSON",
                       code="himds.bad_response", facts=facts)
    if not json_depth(doc, MAX_DEPTH):
        return Outcome(Status.FAIL, f"HIMDS answered with JSON nested more than {MAX_DEPTH} "
                       "levels deep: not the agent's answer", code="himds.bad_response",
                       facts=facts)
    compute = doc.get("compute", {}) if isinstance(doc, dict) else {}
    if not isinstance(compute, dict):
        compute = {}
    for key in ("name", "location", "resourceId", "azEnvironment"):
        value = compute.get(key)
        if value and isinstance(value, (str, int, float)):
            facts[key] = bounded(str(value), MAX_VALUE)  # the server's text: cut before use
    where = facts.get("resourceId") or "not connected yet"
    return Outcome(Status.PASS, f"HIMDS answered ({where})", facts=facts)


def _failed(exc: CallError, installed: bool, facts: Dict[str, Any]) -> Outcome:
    """The one table from a failed request to HIMDS to its result."""
    if exc.kind == "timeout":
        return Outcome(Status.FAIL, "HIMDS accepted the connection but did not answer in time",
                       code="himds.timeout", facts=facts)
    if exc.kind == "bad_header":
        # http.client's header limits: something answered, with what no HIMDS sends.
        return Outcome(Status.FAIL, "port 40342 answered with a header line over 64 KiB "
                       "(or too many headers): not the agent's HIMDS",
                       code="himds.oversized", facts=facts)
    refused = exc.kind == "refused"
    if not installed:
        what = "nothing listening" if refused else "no usable answer"
        return Outcome(Status.SKIP, f"{what} (agent not installed yet)", facts=facts)
    if refused:
        return Outcome(Status.FAIL, "connection refused: HIMDS is not listening",
                       code="himds.refused", facts=facts)
    return Outcome(Status.FAIL, "HIMDS connection failed before a complete answer",
                   code="himds.bad_response", facts=facts)
