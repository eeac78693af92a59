"""The proxy itself and the CONNECT tunnel through it.

The tunnel is opened by hand, not by an HTTP client, so that a refusal by the proxy (403,
407) is told apart from the endpoint's own answer: the proxy's status line is read before any
TLS byte is sent. Where the proxy comes from is :mod:`.proxyplan`'s business.
"""

from __future__ import annotations

import base64
import socket
import ssl
import time
from typing import Any, Dict, Mapping, Optional
from urllib.parse import unquote, urlsplit

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, register_secret
from .netutil import classify_socket_error, connect, recv_until
from .proxyplan import ProxyPlan

__all__ = ["ProxyPlan", "TunnelError", "open_socket", "probe", "tunnel"]

HEADER_LIMIT = 64 * 1024  # a CONNECT answer's header; http.client allows 64 KiB per line too
REASON_LIMIT = 200  # characters of the status line kept


def auth_header(url: str) -> str:
    """The Proxy-Authorization line for a proxy URL with credentials (empty without)."""
    parts = urlsplit(url)
    if parts.username is None:
        return ""
    raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    token = base64.b64encode(raw).decode("ascii")
    register_secret(token)
    return f"Proxy-Authorization: Basic {token}\r\n"


class TunnelError(Exception):
    """Opening the CONNECT tunnel failed; ``code`` is a proxy.* failure code."""

    def __init__(self, code: str, text: str, facts: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        self.facts = facts or {}


def open_socket(plan: ProxyPlan, timeout: float, address: Optional[str] = None) -> socket.socket:
    """A TCP (or TLS, for an https:// proxy) connection to the proxy itself.

    ``address`` is the one the proxy check resolved, so the tunnel does not resolve again
    through a call that has no timeout.
    """
    if address is None:
        infos = socket.getaddrinfo(plan.host, plan.port, type=socket.SOCK_STREAM)
        address = str(infos[0][4][0])
    sock = connect(address, plan.port, timeout)
    if urlsplit(plan.url or "").scheme == "https":
        context = ssl.create_default_context()
        sock = context.wrap_socket(sock, server_hostname=plan.host)
    return sock


def tunnel(
    plan: ProxyPlan, host: str, port: int, timeout: float, address: Optional[str] = None
) -> socket.socket:
    """A socket tunnelled to ``host:port`` through the proxy, or :class:`TunnelError`."""
    started = time.monotonic()
    try:
        sock = open_socket(plan, timeout, address)
    except socket.gaierror as exc:
        raise TunnelError("proxy.dns", f"proxy host {plan.host} does not resolve: {exc}") from None
    except OSError as exc:
        kind, text = classify_socket_error(exc)
        code = "proxy.timeout" if kind == "timeout" else "proxy.unreachable"
        raise TunnelError(code, f"proxy {plan.host}:{plan.port} {text}") from None
    try:
        sock.settimeout(max(0.05, timeout - (time.monotonic() - started)))
        request = (
            f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"{auth_header(plan.url or '')}User-Agent: arc-preflight\r\n\r\n"
        )
        sock.sendall(request.encode("ascii"))
        head = recv_until(sock, b"\r\n\r\n", limit=HEADER_LIMIT, first=b"HTTP/")
    except OSError as exc:
        sock.close()
        kind, text = classify_socket_error(exc)
        code = "proxy.timeout" if kind == "timeout" else "proxy.bad_response"
        raise TunnelError(code, f"proxy did not answer CONNECT: {text}") from None
    if not head:
        sock.close()
        raise TunnelError("proxy.bad_response", "proxy closed the connection without answering")
    if b"\r\n\r\n" not in head and len(head) > HEADER_LIMIT:
        # An answer whose header never ends is no proxy's, even if it began "HTTP/1.1 200".
        sock.close()
        raise TunnelError("proxy.oversized_answer",
                          f"proxy sent more than {HEADER_LIMIT // 1024} KiB of header without "
                          "ending its answer to CONNECT: not a working HTTP proxy",
                          {"header_bytes": len(head)})
    # The reason phrase is the proxy's to choose: cut it before anything processes or shows it.
    status_line = bounded(head.split(b"\r\n", 1)[0][:REASON_LIMIT * 2]
                          .decode("latin-1", "replace").strip(), REASON_LIMIT)
    fields = status_line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        sock.close()
        raise TunnelError("proxy.bad_response",
                          f"not an HTTP proxy (answered {status_line[:60]!r})")
    status = int(fields[1])
    facts = {"proxy_status": status, "proxy_reason": status_line}
    if status == 200:
        sock.settimeout(None)
        return sock
    sock.close()
    if status == 407:
        raise TunnelError("proxy.auth_required",
                          f"proxy requires authentication ({status_line})", facts)
    if status in (502, 503, 504):
        raise TunnelError("proxy.upstream_failed",
                          f"proxy could not reach {host}:{port} ({status_line})", facts)
    raise TunnelError("proxy.denied", f"proxy refused CONNECT to {host}:{port} ({status_line})",
                      facts)


def probe(plan: ProxyPlan, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    """Is the proxy itself there? Resolves its name and opens a TCP connection to it."""
    budget = ctx.budget()
    started = time.monotonic()
    facts: Dict[str, Any] = plan.public()
    host = plan.host
    from .dns import first_address

    address, error = first_address(host, ctx.settings.dns_servers, budget)
    # With the gateway this "proxy" is the agent's own Arc proxy: not there means its service
    # is not listening, a cause of its own rather than an enterprise proxy gone missing.
    arc = plan.gateway
    if error:
        return Outcome(Status.FAIL, f"proxy host {host} does not resolve: {error[1]}",
                       code="gateway.arcproxy_down" if arc else "proxy.dns", facts=facts)
    t0 = time.monotonic()
    try:
        sock = connect(address, plan.port, max(0.05, budget - (time.monotonic() - started)))
    except OSError as exc:
        kind, text = classify_socket_error(exc)
        code = "proxy.timeout" if kind == "timeout" else "proxy.unreachable"
        if arc:
            # One code (the cause is the Arc proxy either way), two wordings: a refusal proves
            # nothing listens; a timeout on a loopback port means a local firewall drops it or
            # arcproxyd hangs, which "does not listen" would misstate.
            facts["failure"] = kind
            if kind == "timeout":
                summary = (f"the Arc proxy at {address}:{plan.port} did not answer within "
                           f"{budget:.1f}s ({text}): a local firewall rule or a hung arcproxyd, "
                           "not a refused connection")
            else:
                summary = f"the Arc proxy does not listen: {address}:{plan.port} {text}"
            return Outcome(Status.FAIL, summary, code="gateway.arcproxy_down", facts=facts)
        return Outcome(Status.FAIL, f"proxy {address}:{plan.port} {text}", code=code, facts=facts)
    sock.close()
    ms = int((time.monotonic() - t0) * 1000)
    facts.update({"address": address, "connect_ms": ms})
    return Outcome(Status.PASS, f"proxy reachable at {address}:{plan.port} ({plan.source})",
                   facts=facts)
