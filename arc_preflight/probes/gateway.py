"""The Azure Arc gateway suite: is this machine set up to reach Azure through its gateway?

With the gateway, traffic goes agent > local Arc proxy (``localhost:40343``) > enterprise proxy
> gateway (``<prefix>.gw.arc.azure.com``) > Azure (arc-gateway.md). Each hop fails in its own
way, so each has its own check: the Arc proxy listening, the agent's settings for the gateway
(the ``connection.type`` step older agents need, the public-cloud limit), the gateway's own name
on the Arc proxy's upstream route (planned as an endpoint, so DNS, TCP and TLS are told apart),
the names that stay outside the gateway on that same route, and what ``arcproxy.log`` says about
the routes really taken (:mod:`.arcproxylog`).

The suite runs when the gateway is in use (``connection.type gateway`` or a gateway URL in
``azcmagent show``) or asked for (``--gateway-id``, ``--gateway-url``), so it also runs before
``azcmagent connect --gateway-id``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from ..model import Outcome, ProbeContext, Result, Status
from .agentconfig import read_localconfig
from .netutil import classify_socket_error, connect
from .proxyplan import ProxyPlan, upstream_plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..config import Settings

# arc-gateway.md: "With the Connected Machine agent version 1.50 or earlier, you must also run
# azcmagent config set connection.type gateway"; 1.51 and later do it themselves.
AUTOMATIC_CONNECTION_TYPE_SINCE = (1, 51)


@dataclass(frozen=True)
class GatewaySetup:
    """What this run knows about the gateway, gathered once while planning."""

    active: bool
    reasons: Tuple[str, ...] = ()
    host: Optional[str] = None  # the gateway's own name, when known
    host_source: str = ""
    upstream: ProxyPlan = field(default_factory=lambda: ProxyPlan(None, "direct"))
    connection_type: str = ""
    agent_version: str = ""
    shown_url: str = ""  # the gateway URL azcmagent show reports

    def public(self) -> Dict[str, Any]:
        return {"reasons": list(self.reasons), "gateway_host": self.host,
                "gateway_host_source": self.host_source or None,
                "upstream": self.upstream.public(),
                "connection_type": self.connection_type or None,
                "agent_version": self.agent_version or None,
                "shown_gateway_url": self.shown_url or None}


def setup(settings: Settings, plan: ProxyPlan) -> GatewaySetup:
    """Whether the gateway is in use or asked for, its name and the Arc proxy's upstream."""
    from ..config import gateway_host
    from .proxysources import agent_view

    local = read_localconfig(settings.agent_dir)
    connection_type = str(local.get("connection.type", "") or "").strip().lower()
    view = agent_view(settings) if not settings.no_proxy else None
    shown_url = view.gateway_url if view is not None else ""
    reasons = []
    if settings.gateway_id:
        reasons.append("--gateway-id")
    if settings.gateway_url:
        reasons.append("--gateway-url")
    if connection_type == "gateway":
        reasons.append("connection.type gateway")
    if shown_url:
        reasons.append("azcmagent show reports a gateway URL")
    if not reasons:
        return GatewaySetup(False)
    host, source = None, ""
    for value, where in ((settings.gateway_url, "--gateway-url"),
                         (shown_url, "azcmagent show")):
        if value and gateway_host(value):
            host, source = gateway_host(value), where
            break
    return GatewaySetup(
        True, tuple(reasons), host, source, upstream_plan(settings, plan), connection_type,
        view.agent_version if view is not None else "", shown_url)


def config_probe(gateway: GatewaySetup, installed: bool, ctx: ProbeContext,
                 deps: Mapping[str, Result]) -> Outcome:
    """The agent's side of the gateway: public cloud, the connection.type step, its URL."""
    from .agentstate import parse_version

    settings = ctx.settings
    facts: Dict[str, Any] = gateway.public()
    from ..catalog import find_cloud
    from ..errors import CatalogError

    # arc-gateway.md, limitations: the public cloud only. The catalogue says which cloud that
    # is: only a cloud with a gateway endpoint list (gateway_carries) has the gateway.
    try:
        has_gateway = bool(find_cloud(settings.cloud).gateway_carries)
    except CatalogError:
        has_gateway = False
    if not has_gateway:
        return Outcome(Status.FAIL, f"the Arc gateway works in the Azure public cloud only, "
                       f"not in {settings.cloud}", code="gateway.cloud_unsupported", facts=facts)
    version = parse_version(gateway.agent_version)
    facts["version_known"] = version is not None
    if installed and version is not None and version < AUTOMATIC_CONNECTION_TYPE_SINCE \
            and gateway.connection_type != "gateway":
        return Outcome(Status.FAIL, f"agent {gateway.agent_version} does not switch to the "
                       "gateway by itself (1.50 and earlier): connection.type is "
                       f"{gateway.connection_type or 'not set'}; run azcmagent config set "
                       "connection.type gateway", code="gateway.connection_type_manual",
                       facts=facts)
    why = ", ".join(gateway.reasons)
    if gateway.host is None:
        return Outcome(Status.PASS, f"Arc gateway in use ({why}); its URL is not known, so its "
                       "own route is not checked: give --gateway-url (az arcgateway list)",
                       facts=facts)
    return Outcome(Status.PASS, f"Arc gateway {gateway.host} ({gateway.host_source}; {why}), "
                   f"reached {_route_words(gateway.upstream)}", facts=facts)


def _route_words(plan: ProxyPlan) -> str:
    if plan.url:
        from ..redact import redact_url

        return f"through {redact_url(plan.url)} ({plan.source})"
    return f"direct ({plan.source})"


def arcproxy_probe(installed: bool, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    """The local Arc proxy listening, when the run does not already go through it (before
    connecting with --gateway-id, or with --no-proxy): a TCP connection, nothing sent."""
    url = ctx.settings.arc_proxy_url
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 80
    facts: Dict[str, Any] = {"url": url}
    if not installed:
        return Outcome(Status.SKIP, "the agent is not installed yet: the Arc proxy comes with it "
                       "(agent 1.51 and later start it by default)", facts=facts)
    from .dns import first_address

    started = time.monotonic()
    address, error = first_address(host, (), ctx.budget())
    if error:
        return Outcome(Status.FAIL, f"the Arc proxy's address {host} does not resolve: "
                       f"{error[1]}", code="gateway.arcproxy_down", facts=facts)
    try:
        sock = connect(address, port, max(0.05, ctx.budget() - (time.monotonic() - started)))
    except OSError as exc:
        return Outcome(Status.FAIL, f"nothing answers on {host}:{port} "
                       f"({classify_socket_error(exc)[1]}): the Arc proxy is not listening",
                       code="gateway.arcproxy_down", facts=facts)
    sock.close()
    facts["address"] = address
    return Outcome(Status.PASS, f"the Arc proxy listens on {host}:{port}", facts=facts)
