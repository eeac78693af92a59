"""HTTPS: one real request with requests, through the same route the agent would take.

Any HTTP answer from the endpoint, even 401 or 404, proves the path works: the agent's own calls
would reach the service. Direct requests are pinned to the address the TCP check connected to
(while SNI and Host keep the real name), so ``--dns-server`` governs every layer, not only DNS.
The environment is ignored (``trust_env`` off): the route is the one the plan chose, not whatever
proxy variables this shell happens to have.
"""

from __future__ import annotations

import re
import ssl
import time
from typing import Any, Dict, Mapping, Optional

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, redact
from .proxyplan import ProxyPlan
from .trust import verified_context


def _session(context: ssl.SSLContext, server_hostname: Optional[str]) -> Any:
    import requests
    from requests.adapters import HTTPAdapter

    class Adapter(HTTPAdapter):
        """Uses our TLS context (OS store or --ca-bundle) instead of requests' certifi bundle."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = context
            if server_hostname:
                kwargs["server_hostname"] = server_hostname
                kwargs["assert_hostname"] = server_hostname
            super().init_poolmanager(*args, **kwargs)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            kwargs["ssl_context"] = context
            return super().proxy_manager_for(proxy, **kwargs)

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            return None  # verification is configured by the context above

    session = requests.Session()
    session.trust_env = False
    adapter = Adapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_TUNNEL_STATUS = re.compile(r"Tunnel connection failed: (\d{3})\b")


def _classify(exc: BaseException) -> tuple[str, str]:
    """The one table from requests exceptions to failure codes."""
    import requests

    text = str(exc)
    if isinstance(exc, requests.exceptions.ProxyError):
        # Only the proxy's own status line counts: object addresses and ports in the rest of
        # the text (0x7f...503..., :5030) must not read as a status.
        answered = _TUNNEL_STATUS.search(text)
        status = int(answered.group(1)) if answered else 0
        if status == 407:
            return "proxy.auth_required", "proxy requires authentication (407)"
        if status in (502, 503, 504):
            return "proxy.upstream_failed", f"proxy could not reach the endpoint ({status})"
        if status:
            return "proxy.denied", f"proxy refused the tunnel ({status})"
        if "timed out" in text.lower() or "timeout" in text.lower():
            return "proxy.timeout", "proxy did not answer in time"
        if "resolve" in text.lower() or "name or service" in text.lower():
            return "proxy.dns", "proxy host name does not resolve"
        return "proxy.unreachable", "proxy error"
    if isinstance(exc, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "tls.untrusted", "certificate verification failed"
        return "tls.error", "TLS error"
    if isinstance(exc, requests.exceptions.Timeout):
        return "https.timeout", "no HTTP answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = text.lower()
        # http.client's limits (LineTooLong: a header line over 64 KiB; over 100 headers): an
        # answer came, and no real endpoint sends it; urllib3 words it "Connection aborted".
        if "linetoolong" in lowered or "got more than" in lowered:
            return "https.bad_answer", ("the endpoint answered with a malformed HTTP header (a "
                                        "line over 64 KiB or too many headers)")
        if "reset" in lowered or "aborted" in lowered or "remotedisconnected" in lowered:
            return "https.reset", "connection reset before an HTTP answer"
        return "https.error", "connection failed"
    return "https.error", type(exc).__name__


def probe(
    host: str, port: int, scheme: str, path: str, route: str, plan: Optional[ProxyPlan],
    ctx: ProbeContext, deps: Mapping[str, Result],
) -> Outcome:
    import requests

    budget = ctx.budget()
    default_port = 443 if scheme == "https" else 80
    netloc = host if port == default_port else f"{host}:{port}"
    facts: Dict[str, Any] = {"route": route}
    headers = {"User-Agent": "arc-preflight", "Host": netloc}
    proxies: Dict[str, str] = {}
    pinned: Optional[str] = None
    if route != "direct" and plan is not None and plan.url:
        proxies = {"https": plan.url, "http": plan.url}
        url = f"{scheme}://{netloc}{path}"
    else:
        # The connected address travels up the chain (tcp -> tls -> https) in the facts.
        found = [d.facts.get("address") for d in deps.values() if d.facts.get("address")]
        address = str(found[0]) if found else host
        literal = f"[{address}]" if ":" in address else address
        url = f"{scheme}://{literal}:{port}{path}"
        pinned = host if scheme == "https" else None
    facts["url"] = f"{scheme}://{netloc}{path}"
    from urllib3.util.timeout import Timeout

    session = _session(verified_context(ctx.settings.ca_bundle), pinned)
    try:
        # One budget for connect, tunnel, handshake and the answer together, so the probe ends
        # within its timeout (a separate connect and read timeout could add up to twice it).
        response = session.get(url, headers=headers, proxies=proxies,
                               timeout=Timeout(total=budget, connect=budget, read=budget),
                               allow_redirects=False, stream=True, verify=True)
    except requests.exceptions.RequestException as exc:
        code, text = _classify(exc)
        return Outcome(Status.FAIL, text, code=code, facts=facts)
    except (OSError, ValueError) as exc:
        return Outcome(Status.FAIL, f"request failed: {exc}", code="https.error", facts=facts)
    finally:
        session.close()
    local_epoch = time.time()  # when the answer (and its Date header) arrived, for the clock
    with response:
        facts.update({
            "local_epoch": round(local_epoch, 3),
            "status_code": response.status_code,
            # Header values are the server's to choose: cut before anything processes them.
            "date": bounded(response.headers["Date"], 64) if "Date" in response.headers
            else None,
            "server": bounded(response.headers["Server"], 200) if "Server" in response.headers
            else None,
            "elapsed_ms": int(response.elapsed.total_seconds() * 1000),
        })
        proxy_error = bounded(redact(response.headers.get("X-Squid-Error", "")), 120)
    if route != "direct" and response.status_code == 407:
        # Only a proxy answers 407; for plain HTTP there is no tunnel to tell it apart earlier.
        return Outcome(Status.FAIL, "proxy requires authentication (407)",
                       code="proxy.auth_required", facts=facts)
    if route != "direct" and response.status_code >= 400 and proxy_error:
        # For plain HTTP the proxy answers in the endpoint's place. squid marks its own error
        # pages with X-Squid-Error (e.g. "ERR_ACCESS_DENIED 0" on a 403), so such an answer is
        # the proxy refusing or failing, not the endpoint: without this a CRL name blocked on
        # port 80 read as "HTTP 403 from the endpoint" and passed.
        facts["proxy_error"] = proxy_error
        code = "proxy.denied" if proxy_error.upper().startswith("ERR_ACCESS_DENIED") \
            else "proxy.upstream_failed"
        return Outcome(Status.FAIL, f"the proxy answered HTTP {response.status_code} itself "
                       f"({proxy_error}), not the endpoint", code=code, facts=facts)
    return Outcome(Status.PASS, f"HTTP {response.status_code} from the endpoint", facts=facts)
