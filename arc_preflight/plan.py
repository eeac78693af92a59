"""From settings and the catalogue to the check graph.

Direct route: ``dns`` -> ``tcp`` -> ``tls`` -> ``https`` per endpoint, so one DNS failure is
reported once and everything above it is skipped with ``blocked_by``. Through a proxy the agent
never resolves or connects to the endpoint itself, so the chain is ``proxy`` -> ``tls`` (through
the CONNECT tunnel) -> ``https``. Host-level checks (privilege, services, HIMDS) need nothing.
"""

from __future__ import annotations

import functools
import re
import socket
import sys
from dataclasses import dataclass, replace
from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple
from urllib.parse import urlsplit

from . import catalog
from .config import Settings
from .errors import CatalogError
from .model import Check, Outcome, Status
from .probes import (
    agent,
    agentconfig,
    agenthost,
    agentstate,
    arcproxylog,
    auth,
    authscope,
    dns,
    gateway,
    himds,
    https,
    imds,
    params,
    privilege,
    proxy,
    proxyplan,
    proxysources,
    revocation,
    service,
    tcp,
    tls,
)


@dataclass(frozen=True)
class Plan:
    checks: Tuple[Check, ...]
    endpoints: Tuple[catalog.Endpoint, ...]
    proxy: proxyplan.ProxyPlan
    agent_installed: bool


def agent_installed(settings: Settings) -> bool:
    """The agent counts as installed when its configuration exists (the only portable sign),
    also behind a folder this user may not search (a root-only agent folder)."""
    return agentconfig.present(settings.agent_dir, agentconfig.AGENTCONFIG)


def build(settings: Settings) -> Plan:
    features = catalog.FEATURES if "all" in settings.extensions else settings.extensions
    try:
        cloud: Optional[catalog.Cloud] = catalog.find_cloud(settings.cloud)
    except CatalogError:
        cloud = None  # reported by the params:cloud check (AZCM0014); nothing else to probe
    endpoints: Tuple[catalog.Endpoint, ...] = ()
    if cloud is not None:
        # An unknown region is reported by params:location; its names would only be NXDOMAIN.
        location = settings.location
        if location and catalog.check_region(cloud, location):
            location = None
        # Names the agent does not use under a private link scope are not probed with one.
        endpoints = tuple(catalog.endpoints(cloud, location, features,
                                            private_link_scope=bool(settings.private_link_scope)))
    proxy_plan = proxyplan.resolve_proxy(settings)
    installed = agent_installed(settings)
    gateway_setup = gateway.setup(settings, proxy_plan)
    checks: List[Check] = []
    enabled = settings.kind_enabled

    if enabled("privilege"):
        checks.append(Check("privilege", "privilege", "this process", privilege.probe))
    if enabled("service"):
        for name in settings.services:
            checks.append(Check(f"service:{name}", "service", name,
                                functools.partial(service.probe, name, installed),
                                required=service.is_required(name, settings)))
    if enabled("himds"):
        # The target names the service, so a refused port and a stopped himdsd unit are
        # recognised as one cause; the URL itself is in the check's facts.
        checks.append(Check("himds", "himds", "himds",
                            functools.partial(himds.probe, settings.himds_url, installed)))
    if enabled("agent"):
        checks.append(Check("agent", "agent", settings.agent_dir,
                            functools.partial(agentstate.agent_probe, settings.agent_dir,
                                              settings.azcmagent, settings.profile)))
        checks.append(Check("agent:certificate", "agent", settings.agent_dir,
                            functools.partial(agent.certificate_probe, settings.agent_dir)))
        checks.extend(_agent_state_checks(settings, enabled("himds")))
    if enabled("imds"):
        checks.append(Check("imds", "imds", settings.imds_url,
                            functools.partial(imds.probe, settings.imds_url)))
    if enabled("proxy"):
        checks.append(Check("proxy:config", "proxy", "proxy settings",
                            functools.partial(proxysources.probe, proxy_plan, installed)))

    if enabled("params"):
        for rule in params.applicable(settings):
            # The agent's version is read by the agent check: wait for it, whatever it found.
            after = ("agent",) if rule == "agent_version" and enabled("agent") else ()
            checks.append(Check(f"params:{rule}", "params", rule.replace("_", "-"),
                                functools.partial(params.probe, rule), after=after))

    proxy_id: Optional[str] = None
    if proxy_plan.url and enabled("proxy"):
        proxy_id = proxy_plan.check_id
        checks.append(Check(proxy_id, "proxy", f"{proxy_plan.host}:{proxy_plan.port}",
                            functools.partial(proxy.probe, proxy_plan),
                            meta={"source": proxy_plan.source}))

    dns_ids: Dict[str, str] = {}
    # A layer needs the layers below it: --only https still resolves and connects first, so a
    # selection can never drop the endpoint checks silently and report a clean pass.
    want_tcp = any(enabled(kind) for kind in ("tcp", "tls", "https"))
    want_dns = enabled("dns") or want_tcp

    def direct_chain(host: str, port: int, endpoint: catalog.Endpoint, required: bool,
                     meta: Mapping[str, object]) -> Optional[str]:
        """DNS then TCP straight to the endpoint; returns the TCP check id (None if disabled)."""
        dns_id = dns_ids.get(host)
        if dns_id is None and want_dns:
            dns_id = dns_ids[host] = f"dns:{host}"
            checks.append(Check(dns_id, "dns", host,
                                functools.partial(dns.probe, host, endpoint.private_link),
                                required=required, meta=meta))
        if not dns_id or not want_tcp:
            return None
        tcp_id = f"tcp:{host}:{port}"
        checks.append(Check(tcp_id, "tcp", f"{host}:{port}",
                            functools.partial(tcp.probe, host, port, dns_id),
                            needs=(dns_id,), required=required, meta=meta))
        return tcp_id

    def add_endpoint(endpoint: catalog.Endpoint, route_plan: proxyplan.ProxyPlan,
                     proxy_check: Optional[str], required: bool,
                     extra: Mapping[str, object], with_https: bool = True,
                     strict_issuer: bool = False) -> None:
        """One endpoint's chain on ``route_plan``: DNS, TCP (direct) or the proxy, then TLS
        and HTTPS."""
        meta = {"purpose": endpoint.purpose, "when": endpoint.when, "url": endpoint.url,
                **extra}
        host, port = endpoint.host, endpoint.port
        route, why = route_plan.route(host)
        meta = {**meta, "route": route, "route_reason": meta.get("route_reason") or why}
        via: Optional[str]
        if route == "direct":
            via = direct_chain(host, port, endpoint, required, meta)
            if via is None:
                return  # later layers need the addresses and connection of the earlier ones
        else:
            via = proxy_check
            if settings.compare_direct:
                # Informational: does the direct path work where the proxied one may not?
                direct_chain(host, port, endpoint, False,
                             {**meta, "route": "direct", "route_reason": "--compare-direct"})
        if endpoint.scheme == "https":
            tls_id = f"tls:{host}:{port}"
            if enabled("tls") and via is not None:
                checks.append(Check(tls_id, "tls", f"{host}:{port}",
                                    functools.partial(tls.probe, host, port, route, route_plan,
                                                      via, strict_issuer=strict_issuer),
                                    needs=(via,), required=required, meta=meta))
                https_needs: Tuple[str, ...] = (tls_id,)
            else:
                https_needs = (via,) if via else ()
        else:
            https_needs = (via,) if via else ()
        if enabled("https") and with_https:
            kind_id = "https" if endpoint.scheme == "https" else "http"
            checks.append(Check(f"{kind_id}:{host}:{port}", "https", f"{host}:{port}",
                                functools.partial(https.probe, host, port, endpoint.scheme,
                                                  endpoint.path, route, route_plan),
                                needs=https_needs, required=required, meta=meta))

    for endpoint in endpoints:
        if not endpoint.probe:
            continue
        required = endpoint.when == "always" or (
            endpoint.when == "connect" and settings.profile != "health") or (
            endpoint.when == "install" and not installed and settings.profile != "health")
        add_endpoint(endpoint, proxy_plan, proxy_id, required, {})
    revocation_plan = proxy_plan
    if gateway_setup.active:
        revocation_plan = gateway_setup.upstream  # revocation is not carried by the gateway
        _add_gateway(settings, gateway_setup, proxy_plan, installed, cloud, endpoints, checks,
                     add_endpoint)
    tls_ids = tuple(c.id for c in checks if c.probe == "tls")
    if enabled("revocation") and tls_ids:
        # After every TLS check, whatever it found: the passing ones name the CRL and OCSP
        # endpoints; one failing endpoint must not hide the others' revocation trouble.
        checks.append(Check("revocation", "revocation", "CRL and OCSP endpoints",
                            functools.partial(revocation.probe, revocation_plan),
                            after=tls_ids,
                            required=False))
    if enabled("auth"):
        checks.extend(_auth_checks(settings, cloud, proxy_plan, {c.id for c in checks}))
    return Plan(tuple(checks), endpoints, proxy_plan, installed)


def _agent_state_checks(settings: Settings, with_himds: bool) -> List[Check]:
    """What the agent's own status line does not say: HIMDS serving another resource, a cloned
    identity, an unwritable agentconfig.json, an agent out of support, and on Windows the
    in-box Azure Arc Setup feature. Each reads the agent check's result, whatever it was."""
    found = [Check("agent:config-file", "agent", settings.agent_dir,
                   functools.partial(agenthost.config_file_probe, settings.agent_dir),
                   after=("agent",)),
             Check("agent:clone", "agent", settings.agent_dir,
                   functools.partial(agenthost.clone_probe, settings.agent_dir),
                   after=("agent",)),
             Check("agent:version", "agent", settings.agent_dir, agentstate.version_probe,
                   after=("agent",), required=False)]
    if with_himds:
        found.insert(0, Check("agent:himds-match", "agent", "himds", agentstate.himds_match_probe,
                              after=("agent", "himds")))
    if sys.platform.startswith("win"):  # pragma: no cover - Windows only
        found.append(Check("agent:arc-setup", "agent", "AzureArcSetup",
                           agenthost.arc_setup_probe, after=("agent",)))
    return found


def _add_gateway(settings: Settings, setup: gateway.GatewaySetup,
                 proxy_plan: proxyplan.ProxyPlan, installed: bool,
                 cloud: Optional[catalog.Cloud], endpoints: Tuple[catalog.Endpoint, ...],
                 checks: List[Check], add_endpoint: Callable[..., None]) -> None:
    """The gateway suite: the agent's gateway settings, the Arc proxy, the gateway's own name
    and the names that stay outside the gateway (both on the Arc proxy's upstream route), and
    arcproxy.log."""
    enabled = settings.kind_enabled
    if not enabled("gateway"):
        return
    checks.append(Check("gateway:config", "gateway", "Arc gateway settings",
                        functools.partial(gateway.config_probe, setup, installed)))
    if not proxy_plan.gateway:
        # Otherwise the run already goes through the Arc proxy (its proxy check).
        checks.append(Check("gateway:arcproxy", "gateway", settings.arc_proxy_url,
                            functools.partial(gateway.arcproxy_probe, installed),
                            required=installed))
    upstream = setup.upstream
    upstream_id: Optional[str] = None
    if upstream.url and enabled("proxy"):
        upstream_id = upstream.check_id
        if upstream_id not in {c.id for c in checks}:
            checks.append(Check(upstream_id, "proxy", f"{upstream.host}:{upstream.port}",
                                functools.partial(proxy.probe, upstream),
                                meta={"source": upstream.source}))
    outside_why = "outside the Arc gateway: " + (upstream.source if not upstream.url else
                                                  f"the Arc proxy's upstream ({upstream.source})")
    planned = {(e.host, e.port) for e in endpoints if e.probe}
    if setup.host:
        own = catalog.Endpoint(
            host=setup.host, port=443, scheme="https", path="/",
            purpose="Your Arc gateway (skip TLS inspection for it)", when="always",
            feature="", private_link=False, probe=True, reason="", bypass="", legacy="",
            source="arc-gateway.md")
        add_endpoint(own, upstream, upstream_id, True,
                     {"gateway": "own", "route_reason": f"the gateway itself, {outside_why}"},
                     with_https=False, strict_issuer=True)
    if cloud is not None and cloud.gateway_carries:
        for item in catalog.gateway_endpoints(cloud, settings.location):
            if (item.gateway != "outside" or (item.host, item.port) in planned
                    or not _CONCRETE.match(item.host)):
                continue
            planned.add((item.host, item.port))
            add_endpoint(replace(item, probe=True, scheme="http" if item.port == 80 else
                                 item.scheme), upstream, upstream_id, False,
                         {"gateway": "outside", "route_reason": outside_why})
    path = settings.arcproxy_log or arcproxylog.default_path(settings.agent_dir)
    hosts = tuple(dict.fromkeys(c.target.rsplit(":", 1)[0] for c in checks
                                if c.probe in ("dns", "tls", "https")))
    checks.append(Check("gateway:log", "gateway", path,
                        functools.partial(arcproxylog.probe, path, hosts, setup.host),
                        required=False))


_CONCRETE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")  # a name to probe, not a pattern


AUTH_SCOPE = ("sign in to Microsoft Entra ID as the service principal, then ask Resource Manager "
              "whether the resource providers are registered, whether the identity may write "
              "Arc machines in the resource group, whether the machine name is taken there or "
              "elsewhere in the tenant, and whether a Private Link Scope given can be read")


def _auth_checks(settings: Settings, cloud: Optional[catalog.Cloud],
                 proxy_plan: proxyplan.ProxyPlan, existing: Set[str]) -> List[Check]:
    """The opt-in credential checks; a single explanatory row when they cannot or need not run."""
    credential = settings.service_principal_secret or settings.service_principal_cert
    has_sp = bool(settings.service_principal_id and credential)
    if not settings.auth:
        if not has_sp:
            return []
        return [Check("auth", "auth", "credentials", functools.partial(
            _skip, f"not requested: add --auth to {AUTH_SCOPE}"))]
    needed = [name for name, value in (
        ("--service-principal-id", settings.service_principal_id),
        ("a secret or --service-principal-cert", credential),
        ("--tenant-id", settings.tenant_id),
        ("--subscription-id", settings.subscription_id),
        ("--resource-group", settings.resource_group)) if not value]
    if needed or cloud is None:
        why = f"needs {', '.join(needed)}" if needed else "needs a valid --cloud"
        return [Check("auth", "auth", "credentials", functools.partial(
            _skip, f"--auth {why}; with them it would {AUTH_SCOPE}"))]
    identity_url = settings.identity_url or f"https://{cloud.identity_host}"
    arm_url = settings.arm_url or f"https://{cloud.arm_host}"
    targets = auth.AuthTargets(
        identity_url=identity_url, arm_url=arm_url, tenant_id=str(settings.tenant_id),
        subscription_id=str(settings.subscription_id),
        resource_group=str(settings.resource_group),
        resource_name=settings.resource_name or socket.gethostname().split(".")[0],
        client_id=str(settings.service_principal_id),
        sign_in_tenant=settings.user_tenant_id or "")
    box = auth.TokenBox()
    identity_host = urlsplit(identity_url).hostname or ""
    arm_host = urlsplit(arm_url).hostname or ""
    # A network failure on the way is reported once, by the endpoint check, not again here.
    # So is an unusable certificate file, by the parameter check that reads it.
    token_needs = tuple(i for i in (f"https:{identity_host}:443",
                                    "params:service_principal_cert") if i in existing)
    arm_needs = tuple(i for i in (f"https:{arm_host}:443",) if i in existing)
    cert = None if settings.service_principal_secret else settings.service_principal_cert
    token = Check("auth:sign-in", "auth", identity_host,
                  functools.partial(auth.token_probe, targets, settings.service_principal_secret,
                                    box, proxy_plan, cert=cert), needs=token_needs)
    follow = (token.id, *arm_needs)
    extra: List[Check] = []
    if settings.private_link_scope:
        extra.append(Check("auth:private-link-scope", "auth", arm_host, functools.partial(
            authscope.scope_probe, targets, settings.private_link_scope, box, proxy_plan),
            needs=follow))
    # Informational: a duplicate elsewhere does not stop connect, so it never fails the run.
    extra.append(Check("auth:machine-elsewhere", "auth", arm_host, functools.partial(
        authscope.elsewhere_probe, targets, box, proxy_plan), needs=follow, required=False))
    return [
        token,
        Check("auth:providers", "auth", arm_host,
              functools.partial(auth.providers_probe, targets, box, proxy_plan), needs=follow),
        Check("auth:permissions", "auth", arm_host,
              functools.partial(auth.permissions_probe, targets, box, proxy_plan), needs=follow),
        Check("auth:machine-name", "auth", arm_host,
              functools.partial(auth.exists_probe, targets, box, proxy_plan), needs=follow),
        *extra,
    ]


def _skip(text: str, ctx: object, deps: object) -> Outcome:
    return Outcome(Status.SKIP, text)
