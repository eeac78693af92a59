"""The proxy plan: which route the agent would take to each endpoint, and why.

The agent's own precedence is followed (facts 3.5): its ``proxy.url`` setting wins over the
``HTTPS_PROXY`` environment variable of its services, then this shell's; when the agent is
installed and has no ``proxy.url``, the proxy (or gateway) ``azcmagent show`` reports comes
before the files; Windows' system proxy is ignored. ``--proxy`` and ``--no-proxy`` override
everything, for "what if" runs. With the Arc gateway (``connection.type gateway``) everything
goes through the agent's local Arc proxy. Which names a ``proxy.bypass`` category sends direct
is read from the catalogue's ``bypass`` column.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import unquote, urlsplit

from ..catalog import bypass_table
from ..errors import ProxyConfigError
from ..redact import redact_url, register_secret, userinfo_password
from .agentconfig import read_localconfig
from .proxysources import SHOWN, agent_environment_sources, agent_view

if TYPE_CHECKING:
    from ..config import Settings


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
        table = bypass_table()
        for category in self.bypass_categories:
            for pattern in table.get(category, ()):
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


def resolve_proxy(settings: Settings, environ: Optional[Mapping[str, str]] = None) -> ProxyPlan:
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
    # The agent's own answer, when it is installed: "azcmagent show" reports the proxy it uses
    # (manage-agent-proxy-settings.md: "Use azcmagent show to view the effective proxy").
    view = agent_view(settings)
    if str(local.get("connection.type", "")).lower() == "gateway" or (view and view.gateway):
        # Agents 1.51+ send everything through their local Arc proxy, which forwards to the Arc
        # gateway (through proxy.url, the "upstream proxy", when one is set).
        why = ("connection.type gateway" if str(local.get("connection.type", "")).lower()
               == "gateway" else "azcmagent show reports a gateway URL")
        return ProxyPlan(settings.arc_proxy_url, f"Arc gateway ({why}) via the local Arc proxy",
                         bypass, (), gateway=True)
    candidates: List[Tuple[str, str, Tuple[str, ...]]] = []
    agent_url = local.get("proxy.url")
    if isinstance(agent_url, str) and agent_url.strip():
        candidates.append((agent_url.strip(), "agent proxy.url", ()))
    elif view is not None and view.https_proxy:
        candidates.append((view.https_proxy, SHOWN, ()))
    else:
        service = service_proxy(settings.system_root)
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


def upstream_plan(settings: Settings, plan: ProxyPlan) -> ProxyPlan:
    """The route the Arc proxy itself takes out of the machine: to the gateway's own URL and to
    what stays outside the gateway (arc-gateway.md: agents > Arc proxy > enterprise proxy >
    gateway). That is the agent's ``proxy.url``, which becomes the "Upstream Proxy" of
    ``azcmagent show``, else that upstream proxy as shown, else direct. Without the gateway
    plan (before connecting with --gateway-id) it is the route everything else takes."""
    if not plan.gateway:
        return plan
    local = read_localconfig(settings.agent_dir)
    url = local.get("proxy.url")
    source = "agent proxy.url, the Arc proxy's upstream"
    if not (isinstance(url, str) and url.strip()):
        view = agent_view(settings)
        url = view.upstream_proxy if view is not None else None
        source = "the upstream proxy azcmagent show reports"
    if not url:
        return ProxyPlan(None, "no upstream proxy: the Arc proxy connects direct")
    try:
        return _plan(str(url).strip(), source, (), ())
    except ProxyConfigError as exc:
        return ProxyPlan(None, f"{source} (unusable)", notes=(str(exc),))


def service_proxy(root: str = "/") -> Optional[Tuple[str, str]]:
    """(source, url) of a proxy the agent's services get from their environment, if any."""
    for found in agent_environment_sources(timeout=2.0, root=root):
        if found.url:
            return found.name, found.url
    return None


def _plan(url: str, source: str, bypass: Tuple[str, ...], no_proxy: Tuple[str, ...]) -> ProxyPlan:
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
