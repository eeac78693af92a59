"""Certificate revocation: the CRL and OCSP endpoints the endpoints' certificates name.

Windows checks revocation for every TLS connection the agent makes, over plain HTTP on port 80
(through the WinHTTP proxy, not the agent's), and stalls or fails when those names are blocked;
firewall rules written from the agent's endpoint list alone routinely miss them because they are
not Arc names (``crl.microsoft.com``, ``ocsp.digicert.com``...). This check reads them from the
certificates the TLS checks saw, asks each once over HTTP on the route the agent would take, and
warns with the host names a firewall must allow.

It runs after every TLS check (whatever they found) and looks only at endpoints whose TLS check
passed: a chain that failed says nothing about Microsoft's revocation endpoints.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..model import Outcome, ProbeContext, Result, Status
from .netutil import classify_socket_error, connect, recv_until
from .proxy import auth_header
from .proxyplan import ProxyPlan

MAX_ENDPOINTS = 16  # certificates name a handful; a hostile one must not fan out without end


def endpoints(deps: Mapping[str, Result]) -> Dict[Tuple[str, int], str]:
    """(host, port) -> one URL to ask, from the TLS checks that passed (or only warned)."""
    found: Dict[Tuple[str, int], str] = {}
    for result in deps.values():
        if result.probe != "tls" or result.status not in (Status.PASS, Status.WARN):
            continue
        for url in (*result.facts.get("crl", ()), *result.facts.get("ocsp", ())):
            parts = urlsplit(str(url))
            if parts.scheme != "http" or not parts.hostname:
                continue  # ldap:// and the like: not what a firewall opens for HTTP
            try:
                port = parts.port or 80
            except ValueError:
                continue
            found.setdefault((parts.hostname.lower(), port), str(url))
            if len(found) >= MAX_ENDPOINTS:
                return found
    return found


def _ask(url: str, route: str, plan: Optional[ProxyPlan], servers: Tuple[str, ...],
         budget: float) -> Tuple[bool, str]:
    """(answered, what happened) for one HTTP GET of ``url`` on ``route``, within ``budget``."""
    from .dns import first_address

    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 80
    path = parts.path or "/"
    if route == "proxy" and plan is not None and plan.url:
        target, target_port = plan.host, plan.port
        request_line = f"GET http://{parts.netloc}{path} HTTP/1.1"
        extra = auth_header(plan.url)
    else:
        target, target_port = host, port
        request_line = f"GET {path} HTTP/1.1"
        extra = ""
    # As the DNS checks do: the hosts file counts unless --dns-server says which server to ask.
    address, error = first_address(target, servers, budget, use_hosts=not servers)
    if error:
        return False, f"{target} does not resolve ({error[1]})"
    try:
        sock = connect(address, target_port, max(0.05, budget - (time.monotonic() - started)))
    except OSError as exc:
        return False, f"port {target_port} {classify_socket_error(exc)[1]}"
    try:
        sock.settimeout(max(0.05, budget - (time.monotonic() - started)))
        sock.sendall(f"{request_line}\r\nHost: {parts.netloc}\r\n{extra}User-Agent: arc-preflight"
                     "\r\nConnection: close\r\n\r\n".encode("ascii", "replace"))
        head = recv_until(sock, b"\r\n", limit=1024)
    except OSError as exc:
        return False, f"no HTTP answer ({classify_socket_error(exc)[1]})"
    finally:
        sock.close()
    line = (head or b"").split(b"\r\n", 1)[0].decode("latin-1", "replace")[:80]
    fields = line.split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        return False, "no HTTP answer (the connection closed or spoke something else)"
    status = int(fields[1])
    if route == "proxy" and status == 407:
        return False, "the proxy wants credentials (407)"
    if route == "proxy" and status in (403, 502, 503, 504):
        return False, f"the proxy refused or could not reach it (HTTP {status})"
    return True, f"HTTP {status}"


def probe(plan: ProxyPlan, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    wanted = endpoints(deps)
    if not wanted:
        return Outcome(Status.PASS, "the certificates checked name no CRL or OCSP endpoint",
                       facts={"endpoints": []})
    budget = ctx.budget()
    servers = tuple(ctx.settings.dns_servers)
    rows: List[Dict[str, Any]] = []
    lock = threading.Lock()

    def one(host: str, url: str) -> None:
        route, _ = plan.route(host)
        if route == "gateway":
            route = "direct"  # revocation is not carried by the Arc gateway
        try:
            answered, detail = _ask(url, route, plan, servers, budget)
        except Exception as exc:  # one odd answer must not lose the others' results
            answered, detail = False, f"{type(exc).__name__}: {exc}"
        with lock:
            rows.append({"url": url, "host": host, "route": route, "reachable": answered,
                         "detail": detail})

    threads = [threading.Thread(target=one, args=(host, url), daemon=True)
               for (host, _), url in wanted.items()]
    for thread in threads:
        thread.start()
    until = time.monotonic() + budget + 0.2
    for thread in threads:
        thread.join(max(0.0, until - time.monotonic()))
    with lock:
        done = list(rows)
    asked = {row["url"] for row in done}
    for (host, _), url in wanted.items():
        if url not in asked:
            done.append({"url": url, "host": host, "route": plan.route(host)[0],
                         "reachable": False, "detail": "no answer in time"})
    done.sort(key=lambda row: str(row["host"]))
    facts = {"endpoints": done}
    blocked = [row for row in done if not row["reachable"]]
    if not blocked:
        hosts = ", ".join(str(row["host"]) for row in done)
        return Outcome(Status.PASS, f"revocation endpoints answer over HTTP: {hosts}",
                       facts=facts)
    listed = "; ".join(f"{row['host']} ({row['detail']})" for row in blocked[:6])
    return Outcome(Status.WARN, f"certificate revocation endpoints not reachable over HTTP: "
                   f"{listed}; allow them in the firewall (port 80)",
                   code="revocation.unreachable", facts=facts)
