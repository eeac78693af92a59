"""The proxy as the agent would use it, and the CONNECT tunnel through it.

The agent's own precedence is followed (facts 3.5): its ``proxy.url`` setting wins over the
``HTTPS_PROXY`` environment variable, and Windows' system proxy is ignored. ``--proxy`` and
``--no-proxy`` override everything, for "what if" runs. The tunnel is opened by hand rather than
through requests so that a refusal by the proxy (403, 407) is told apart from the endpoint's own
answer: the proxy's status line is read before any TLS byte is sent.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote, urlsplit

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import redact_url, register_secret
from .netutil import classify_socket_error, connect, is_ip, recv_until

# Host names each proxy.bypass category of the agent sends direct (facts 3.5).
BYPASS_CATEGORIES: Dict[str, Tuple[str, ...]] = {
    "AAD": ("login.windows.net", "login.microsoftonline.com", "pas.windows.net",
            "*.login.microsoft.com", "login.microsoftonline.us", "*.login.microsoftonline.us",
            "pasff.usgovcloudapi.net",
            "login.chinacloudapi.cn", "login.partner.chinacloudapi.cn", "pas.chinacloudapi.cn"),
    "ARM": ("management.azure.com", "management.usgovcloudapi.net",
            "management.chinacloudapi.cn"),
    "Arc": ("*.his.arc.azure.com", "*.guestconfiguration.azure.com", "*.his.arc.azure.us",
            "*.guestconfiguration.azure.us", "*.his.arc.azure.cn",
            "*.guestconfiguration.azure.cn"),
    "ArcData": ("*.arcdataservices.com", "*.arcdataservices.azure.us"),
}


class ProxyConfigError(ValueError):
    """The agent's local configuration holds a proxy setting that cannot be used."""


@dataclass(frozen=True)
class ProxyPlan:
    """The effective proxy for this run and where that choice came from."""

    url: Optional[str]
    source: str
    bypass_categories: Tuple[str, ...] = ()
    no_proxy: Tuple[str, ...] = ()
    notes: Tuple[str, ...] = field(default_factory=tuple)
    gateway: bool = False  # the agent's local Arc proxy, forwarding to an Arc gateway

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "" if self.url else ""

    @property
    def port(self) -> int:
        if not self.url:
            return 0
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def check_id(self) -> str:
        return f"proxy:{self.host}:{self.port}"

    def route(self, host: str) -> Tuple[str, str]:
        """('direct'|'proxy'|'gateway', why) for one endpoint host."""
        if not self.url:
            return "direct", self.source
        if self.gateway:
            return "gateway", self.source  # the gateway honours no bypass list
        lowered = host.lower()
        for category in self.bypass_categories:
            for pattern in BYPASS_CATEGORIES.get(category, ()):
                if fnmatch.fnmatchcase(lowered, pattern):
                    return "direct", f"agent proxy.bypass {category}"
        for entry in self.no_proxy:
            entry = entry.strip().lower().lstrip("*").lstrip(".")
            if entry and (lowered == entry or lowered.endswith("." + entry)):
                return "direct", "NO_PROXY"
        return "proxy", self.source

    def public(self) -> Dict[str, Any]:
        return {
            "url": redact_url(self.url) if self.url else None,
            "source": self.source,
            "gateway": self.gateway,
            "bypass": list(self.bypass_categories),
            "no_proxy": list(self.no_proxy),
        }


def load_localconfig(agent_dir: str) -> Tuple[Dict[str, Any], Optional[str]]:
    """The agent's local settings (``azcmagent config``) and, if it could not be used, why.

    A missing file is the normal state before installation. An unreadable or damaged one is a
    finding for the report (the agent itself would trip over it), never a reason to stop: the
    run carries on as if the file said nothing.
    """
    path = os.path.join(agent_dir, "localconfig.json")
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}, None
    except PermissionError:
        return {}, f"{path} is not readable by this user (run as root to see the agent's proxy)"
    except (OSError, ValueError) as exc:
        return {}, f"{path} is not valid JSON: {str(exc)[:120]}"
    if not isinstance(data, dict):
        return {}, f"{path} does not hold a JSON object"
    problems = []
    if "proxy.url" in data and not isinstance(data["proxy.url"], str):
        problems.append("proxy.url is not a string")
        data = {k: v for k, v in data.items() if k != "proxy.url"}
    bypass = data.get("proxy.bypass")
    if bypass is not None and not isinstance(bypass, (str, list)):
        problems.append("proxy.bypass is neither a list nor a string")
        data = {k: v for k, v in data.items() if k != "proxy.bypass"}
    return data, (f"{path}: {'; '.join(problems)}" if problems else None)


def read_localconfig(agent_dir: str) -> Dict[str, Any]:
    """The usable part of the agent's local settings (see :func:`load_localconfig`)."""
    return load_localconfig(agent_dir)[0]


def resolve_proxy(settings: Any, environ: Optional[Mapping[str, str]] = None) -> ProxyPlan:
    """Decide the proxy the agent would use, following its documented precedence."""
    env = os.environ if environ is None else environ
    no_proxy = tuple(p for p in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(",") if p)
    if settings.no_proxy:
        return ProxyPlan(None, "--no-proxy")
    local = read_localconfig(settings.agent_dir)
    bypass = local.get("proxy.bypass") or ()
    if isinstance(bypass, str):
        bypass = tuple(b.strip() for b in bypass.split(",") if b.strip())
    bypass = tuple(str(b) for b in bypass)
    if settings.proxy:
        return _plan(settings.proxy, "--proxy", bypass, no_proxy)
    if str(local.get("connection.type", "")).lower() == "gateway":
        # Agents 1.51+ send everything through their local Arc proxy, which forwards to the Arc
        # gateway (through proxy.url, the "upstream proxy", when one is set).
        return ProxyPlan(settings.arc_proxy_url, "Arc gateway (connection.type gateway) via the "
                         "local Arc proxy", bypass, (), gateway=True)
    candidates: List[Tuple[str, str, Tuple[str, ...]]] = []
    agent_url = local.get("proxy.url")
    if isinstance(agent_url, str) and agent_url.strip():
        candidates.append((agent_url.strip(), "agent proxy.url", ()))
    else:
        service = service_proxy()
        if service is not None:
            # Next in the agent's order: HTTPS_PROXY in its services' environment.
            candidates.append((service[1], service[0], ()))
    for name in ("HTTPS_PROXY", "https_proxy"):
        if env.get(name):
            candidates.append((env[name], f"environment {name}", no_proxy))
            break
    if not candidates:
        return ProxyPlan(None, "no proxy configured")
    url, source, exceptions = candidates[0]
    try:
        return _plan(url, source, bypass, exceptions)
    except ProxyConfigError as exc:
        # The agent would fail on this setting too: report it and probe direct meanwhile.
        return ProxyPlan(None, f"{source} (unusable)", bypass, notes=(str(exc),))


def service_proxy() -> Optional[Tuple[str, str]]:
    """(source, url) of a proxy the agent's services get from their environment, if any."""
    from . import proxysources

    for found in proxysources.agent_environment_sources(timeout=2.0):
        if found.url:
            return found.name, found.url
    return None


def _plan(url: str, source: str, bypass: Tuple[str, ...], no_proxy: Tuple[str, ...]) -> ProxyPlan:
    from ..redact import userinfo_password

    if "://" not in url:
        url = "http://" + url  # the agent accepts host:port and assumes HTTP
    typed = userinfo_password(url)
    if typed:
        register_secret(typed)
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ProxyConfigError(f"{source}: proxy {redact_url(url)} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProxyConfigError(f"{source}: proxy {redact_url(url)} is not an http(s) URL")
    if parts.password:
        register_secret(parts.password)
        register_secret(unquote(parts.password))
    return ProxyPlan(url, source, bypass, no_proxy)


def _auth_header(url: str) -> str:
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
            f"{_auth_header(plan.url or '')}User-Agent: arc-preflight\r\n\r\n"
        )
        sock.sendall(request.encode("ascii"))
        head = recv_until(sock, b"\r\n\r\n", first=b"HTTP/")
    except OSError as exc:
        sock.close()
        kind, text = classify_socket_error(exc)
        code = "proxy.timeout" if kind == "timeout" else "proxy.bad_response"
        raise TunnelError(code, f"proxy did not answer CONNECT: {text}") from None
    if not head:
        sock.close()
        raise TunnelError("proxy.bad_response", "proxy closed the connection without answering")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace").strip()
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
    if not is_ip(host):
        from .dns import hosts_lookup, resolve

        addresses: List[str] = hosts_lookup(host)
        if not addresses:
            ipv4, ipv6, error, _ = resolve(host, ctx.settings.dns_servers, budget)
            if error:
                return Outcome(Status.FAIL, f"proxy host {host} does not resolve: {error[1]}",
                               code="proxy.dns", facts=facts)
            addresses = ipv4 + ipv6
        address = addresses[0]
    else:
        address = host
    t0 = time.monotonic()
    try:
        sock = connect(address, plan.port, max(0.05, budget - (time.monotonic() - started)))
    except OSError as exc:
        kind, text = classify_socket_error(exc)
        code = "proxy.timeout" if kind == "timeout" else "proxy.unreachable"
        return Outcome(Status.FAIL, f"proxy {address}:{plan.port} {text}", code=code, facts=facts)
    sock.close()
    ms = int((time.monotonic() - t0) * 1000)
    facts.update({"address": address, "connect_ms": ms})
    return Outcome(Status.PASS, f"proxy reachable at {address}:{plan.port} ({plan.source})",
                   facts=facts)
