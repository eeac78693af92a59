"""HTTPS: one real request (:mod:`.webcall`), through the same route the agent would take.

Any HTTP answer from the endpoint, even 401 or 404, proves the path works: the agent's own calls
would reach the service. Direct requests are pinned to the address the TCP check connected to
(while SNI and Host keep the real name), so ``--dns-server`` governs every layer, not only DNS.
The environment is ignored: the route is the one the plan chose, not whatever proxy variables
this shell happens to have.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Mapping, Optional, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, redact
from .proxyplan import ProxyPlan
from .trust import verified_context
from .webcall import CallError, call

# (stage, kind) -> (code, text); ``*`` matches any stage or kind. The first match wins, so
# the specific rows come first. The verdicts are those the probe gave when it was built on
# requests/urllib3 (tests/lab/test_http_outcomes.py holds both to the same real failures).
_TABLE: Tuple[Tuple[str, str, str, str], ...] = (
    ("*", "bad_header", "https.bad_answer", "the endpoint answered with a malformed HTTP header "
                                            "(a line over 64 KiB or too many headers)"),
    ("proxy", "timeout", "proxy.timeout", "proxy did not answer in time"),
    ("proxy", "dns", "proxy.dns", "proxy host name does not resolve"),
    ("proxy", "*", "proxy.unreachable", "proxy error"),
    ("*", "timeout", "https.timeout", "no HTTP answer in time"),
    ("tls", "tls_verify", "tls.untrusted", "certificate verification failed"),
    ("tls", "tls", "tls.error", "TLS error"),
    ("connect", "reset", "https.reset", "connection reset before an HTTP answer"),
    ("connect", "*", "https.error", "connection failed"),
    ("answer", "tls", "tls.error", "TLS error"),
    ("*", "*", "https.reset", "connection reset before an HTTP answer"),
)


def _classify(exc: CallError, proxied: bool) -> Tuple[str, str]:
    """The one table from failed requests to failure codes."""
    kind = exc.kind
    if kind == "proxy_status":
        status = exc.status
        if status == 407:
            return "proxy.auth_required", "proxy requires authentication (407)"
        if status in (502, 503, 504):
            return "proxy.upstream_failed", f"proxy could not reach the endpoint ({status})"
        return "proxy.denied", f"proxy refused the tunnel ({status})"
    if kind == "tls_hostname":
        # A pinned direct request checked the name apart from the chain and called a wrong
        # name a TLS error; through a proxy the chain check names it. (The TLS check before
        # this one tells the admin which it is: tls.hostname_mismatch.)
        kind = "tls_verify" if proxied else "tls"
    if proxied and exc.stage == "answer" and kind in ("closed", "reset"):
        # The connection through the proxy ended before an answer: the proxy's doing or the
        # endpoint's, it cannot be told from here.
        return "proxy.unreachable", "proxy error"
    for stage, wanted, code, text in _TABLE:
        if stage in ("*", exc.stage) and wanted in ("*", kind):
            return code, text
    return "https.error", "connection failed"  # pragma: no cover - the table ends with * *


def probe(
    host: str, port: int, scheme: str, path: str, route: str, plan: Optional[ProxyPlan],
    ctx: ProbeContext, deps: Mapping[str, Result],
) -> Outcome:
    budget = ctx.budget()
    deadline = time.monotonic() + budget
    default_port = 443 if scheme == "https" else 80
    netloc = host if port == default_port else f"{host}:{port}"
    facts: Dict[str, Any] = {"route": route}
    headers = {"User-Agent": "arc-preflight", "Host": netloc}
    proxy: Optional[str] = None
    pinned: Optional[str] = None
    url = f"{scheme}://{netloc}{path}"
    if route != "direct" and plan is not None and plan.url:
        proxy = plan.url
    else:
        # The connected address travels up the chain (tcp -> tls -> https) in the facts.
        found = [d.facts.get("address") for d in deps.values() if d.facts.get("address")]
        pinned = str(found[0]) if found else None
        literal = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{literal}:{port}{path}"
    facts["url"] = f"{scheme}://{netloc}{path}"
    try:
        # One deadline for connect, tunnel, handshake and the answer together, so the probe
        # ends within its timeout.
        response = call("GET", url, context=verified_context(ctx.settings.ca_bundle),
                        deadline=deadline, headers=headers, proxy=proxy, address=pinned)
    except CallError as exc:
        code, text = _classify(exc, proxy is not None)
        return Outcome(Status.FAIL, text, code=code, facts=facts)
    except (OSError, ValueError) as exc:
        return Outcome(Status.FAIL, f"request failed: {exc}", code="https.error", facts=facts)
    local_epoch = time.time()  # when the answer (and its Date header) arrived, for the clock
    with response:
        facts.update({
            "local_epoch": round(local_epoch, 3),
            "status_code": response.status,
            # Header values are the server's to choose: cut before anything processes them.
            "date": bounded(response.headers["Date"], 64) if "Date" in response.headers
            else None,
            "server": bounded(response.headers["Server"], 200) if "Server" in response.headers
            else None,
            "elapsed_ms": int(response.elapsed * 1000),
        })
        proxy_error = bounded(redact(response.headers.get("X-Squid-Error", "")), 120)
    if route != "direct" and response.status == 407:
        # Only a proxy answers 407; for plain HTTP there is no tunnel to tell it apart earlier.
        return Outcome(Status.FAIL, "proxy requires authentication (407)",
                       code="proxy.auth_required", facts=facts)
    if route != "direct" and response.status >= 400 and proxy_error:
        # For plain HTTP the proxy answers in the endpoint's place. squid marks its own error
        # pages with X-Squid-Error (e.g. "ERR_ACCESS_DENIED 0" on a 403), so such an answer is
        # the proxy refusing or failing, not the endpoint: without this a CRL name blocked on
        # port 80 read as "HTTP 403 from the endpoint" and passed.
        facts["proxy_error"] = proxy_error
        code = "proxy.denied" if proxy_error.upper().startswith("ERR_ACCESS_DENIED") \
            else "proxy.upstream_failed"
        return Outcome(Status.FAIL, f"the proxy answered HTTP {response.status} itself "
                       f"({proxy_error}), not the endpoint", code=code, facts=facts)
    return Outcome(Status.PASS, f"HTTP {response.status} from the endpoint", facts=facts)
