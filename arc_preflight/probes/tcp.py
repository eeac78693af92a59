"""TCP: can this host open a connection to the endpoint's addresses?

Each address DNS returned is tried in turn (IPv4 first, as most firewalls are written for it),
sharing the probe's time budget, and the first that connects wins. When none does, the failure of
the first address is reported, since that is the one the agent tries first too.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping

from ..model import Outcome, ProbeContext, Result, Status
from .netutil import classify_socket_error, connect

_CODES = {
    "refused": "tcp.refused",
    "reset": "tcp.reset",
    "timeout": "tcp.timeout",
    "unreachable": "tcp.unreachable",
    "error": "tcp.error",
}
MAX_ADDRESSES = 4


def probe(host: str, port: int, dns_id: str, ctx: ProbeContext,
          deps: Mapping[str, Result]) -> Outcome:
    addresses: List[str] = list(deps[dns_id].facts.get("addresses", []))[:MAX_ADDRESSES]
    if not addresses:
        return Outcome(Status.ERROR, "no address to connect to", code="tcp.error")
    budget = ctx.budget()
    started = time.monotonic()
    attempts: List[Dict[str, Any]] = []
    for index, address in enumerate(addresses):
        left = budget - (time.monotonic() - started)
        if left <= 0.05:
            break
        share = left if index == len(addresses) - 1 else max(left / (len(addresses) - index), 1.0)
        t0 = time.monotonic()
        try:
            sock = connect(address, port, min(share, left))
        except OSError as exc:
            kind, text = classify_socket_error(exc)
            attempts.append({"address": address, "result": kind, "detail": text,
                             "ms": int((time.monotonic() - t0) * 1000)})
            continue
        ms = int((time.monotonic() - t0) * 1000)
        sock.close()
        attempts.append({"address": address, "result": "connected", "ms": ms})
        return Outcome(Status.PASS, f"connected to {address} in {ms} ms",
                       facts={"address": address, "connect_ms": ms, "attempts": attempts})
    if not attempts:
        return Outcome(Status.FAIL, "timed out before any address was tried", code="tcp.timeout")
    first = attempts[0]
    text = f"{first['address']}:{port} {first['detail']}"
    if len(attempts) > 1:
        text += f" (and {len(attempts) - 1} more address(es) failed)"
    return Outcome(Status.FAIL, text, code=_CODES[first["result"]], facts={"attempts": attempts})
