"""Offline validation of the ``azcmagent connect`` flags, as the agent would reject them.

Each problem becomes a failed check with the failure code the knowledge base maps to the agent's
own error (AZCM0013 tags, 0014 cloud, 0015 correlation id, 0016 missing parameter, 0017 resource
name, 0020 region), so the admin learns what ``connect`` would refuse before running it. Nothing
here touches the network except the host-name lookup, which asks the operating system as the
agent does.
"""

from __future__ import annotations

import re
import socket
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..datafiles import read_toml
from ..model import Outcome, ProbeContext, Result, Status

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PLS_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.HybridCompute/privateLinkScopes/(?P<name>[^/]+)/?$", re.IGNORECASE)


@lru_cache(maxsize=1)
def rules() -> Dict[str, Any]:
    return read_toml("naming.toml")


def parse_tags(text: str) -> Tuple[List[Tuple[str, str]], Optional[str]]:
    """Split ``Name='Value with spaces',Other=x`` as the agent does; (pairs, error or None).

    Commas separate tags, ``=`` separates name and value, and single quotes protect a name or
    value that holds spaces or commas. An unbalanced quote or a pair without ``=`` is the
    AZCM0013 mistake the seed article describes.
    """
    pairs: List[Tuple[str, str]] = []
    items: List[str] = []
    current: List[str] = []
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
            current.append(char)
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        return pairs, "a single quote is not closed"
    items.append("".join(current))
    for item in items:
        if not item.strip():
            return pairs, "an empty tag between commas"
        name, sep, value = item.partition("=")
        if not sep:
            return pairs, f"tag {item.strip()!r} has no '=' (write Name=Value)"
        name, value = name.strip(), value.strip()
        for part in (name, value):
            if " " in part.strip("'") and not (part.startswith("'") and part.endswith("'")):
                return pairs, f"{part!r} holds spaces: quote it with single quotes"
        pairs.append((name.strip("'"), value.strip("'")))
    return pairs, None


def check_tags(text: str) -> Optional[str]:
    limits = rules()["tags"]
    pairs, error = parse_tags(text)
    if error:
        return error
    if len(pairs) > limits["max_tags"]:
        return f"{len(pairs)} tags; Azure allows {limits['max_tags']}"
    for name, value in pairs:
        if not name:
            return "a tag has an empty name"
        if len(name) > limits["max_name"] or len(value) > limits["max_value"]:
            return f"tag {name[:40]!r} is too long (names 512, values 256 characters)"
        bad = set(name) & set(limits["forbidden_name_chars"])
        if bad:
            return f"tag name {name!r} contains {''.join(sorted(bad))!r}"
    return None


def check_resource_name(name: str) -> Optional[str]:
    spec = rules()["resource_name"]
    if not name:
        return "the name is empty"
    if len(name) > spec["max_length"]:
        return f"{len(name)} characters; at most {spec['max_length']}"
    if not re.match(spec["pattern"], name):
        bad = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "-_"))})
        return f"contains {''.join(bad)!r}; use letters, digits, hyphens and underscores"
    if name[-1] in "-_":
        return "ends in a hyphen or underscore"
    if name.upper() in spec["reserved"]:
        return f"{name!r} is a reserved word in Azure"
    return None


def _outcome(error: Optional[str], code: str, ok: str, what: str) -> Outcome:
    if error is None:
        return Outcome(Status.PASS, ok)
    return Outcome(Status.FAIL, f"{what}: {error}", code=code)


def probe(rule: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    """One validation rule; the plan creates a check per rule that applies to the given flags."""
    s = ctx.settings  # a rule is planned only for a flag that was given ("" never reaches one)
    if rule == "tags":
        return _outcome(check_tags(s.tags or ""), "params.tags", "tags are well formed", "--tags")
    if rule == "cloud":
        from ..catalog import find_cloud
        from ..errors import CatalogError

        try:
            cloud = find_cloud(s.cloud)
        except CatalogError as exc:
            return Outcome(Status.FAIL, f"--cloud: {exc}", code="params.cloud")
        if s.cloud.strip().lower() != cloud.name.lower():
            return Outcome(Status.PASS, f"cloud {s.cloud} ({cloud.name}'s endpoints)")
        return Outcome(Status.PASS, f"cloud {cloud.name}")
    if rule == "location":
        return _location(s)
    if rule == "correlation_id":
        ok = bool(GUID.match(s.correlation_id or ""))
        return _outcome(None if ok else "not a GUID", "params.correlation_id",
                        "correlation id is a GUID", "--correlation-id")
    if rule == "tenant_id":
        ok = bool(GUID.match(s.tenant_id or ""))
        return _outcome(None if ok else "not a GUID", "params.tenant_id", "tenant id is a GUID",
                        "--tenant-id")
    if rule == "user_tenant_id":
        ok = bool(GUID.match(s.user_tenant_id or ""))
        return _outcome(None if ok else "not a GUID", "params.tenant_id",
                        "user tenant id is a GUID", "--user-tenant-id")
    if rule in NEWER_RULES:
        outcome: Outcome = _newer_rules()[rule](ctx, deps)
        return outcome
    if rule == "subscription_id":
        if GUID.match(s.subscription_id or ""):
            return Outcome(Status.PASS, "subscription id is a GUID")
        return Outcome(Status.WARN, f"--subscription-id {s.subscription_id!r} is not a GUID: "
                       "the agent will look it up by name (AZCM0068 if that fails)",
                       code="params.subscription_name")
    if rule == "private_link_scope":
        match = PLS_ID.match(s.private_link_scope or "")
        if match and GUID.match(match.group("sub")):
            scope_sub = match.group("sub")
            other = bool(GUID.match(s.subscription_id or "")) and \
                scope_sub.lower() != str(s.subscription_id).lower()
            # A scope in another subscription is allowed; whether the identity may read it
            # there is what --auth checks (auth:private-link-scope).
            where = (f" in subscription {scope_sub}, not the machine's"
                     + ("" if s.auth else " (add --auth to check it can be read)")
                     if other else "")
            return Outcome(Status.PASS, f"private link scope {match.group('name')}{where}",
                           facts={"other_subscription": other})
        return Outcome(Status.FAIL, "--private-link-scope must be the scope's resource id: "
                       "/subscriptions/<id>/resourceGroups/<group>/providers/"
                       "Microsoft.HybridCompute/privateLinkScopes/<name>",
                       code="params.private_link_scope")
    if rule == "required":
        return _required(s)
    if rule == "resource_name":
        return _resource_name(s)
    if rule == "fqdn":
        return _fqdn(ctx)
    raise ValueError(f"unknown parameter rule {rule}")


def _location(s: Any) -> Outcome:
    from ..catalog import check_region, find_cloud
    from ..errors import CatalogError

    try:
        cloud = find_cloud(s.cloud)
    except CatalogError:
        return Outcome(Status.SKIP, "cloud unknown; region not judged")
    problem = check_region(cloud, s.location)
    if problem:
        return Outcome(Status.FAIL, f"--location: {problem}", code="params.region")
    return Outcome(Status.PASS, f"{s.location} is a region of {cloud.name}")


def _auth_methods(s: Any) -> List[str]:
    """The sign-in methods the flags ask for; azcmagent connect takes exactly one."""
    return [flag for flag, value in (
        ("--service-principal-secret", s.service_principal_secret),
        ("--service-principal-cert", s.service_principal_cert),
        ("--use-azcli", s.use_azcli)) if value]


def _required(s: Any) -> Outcome:
    """What connect needs for the chosen sign-in (AZCM0016), and one sign-in method only."""
    methods = _auth_methods(s)
    if len(methods) > 1 or (s.use_azcli and s.service_principal_id):
        given = methods + (["--service-principal-id"] if s.use_azcli and
                           s.service_principal_id and len(methods) == 1 else [])
        return Outcome(Status.FAIL, "azcmagent connect takes one sign-in method; these flags "
                       f"ask for several: {', '.join(given)}", code="params.auth_conflict",
                       facts={"methods": given})
    # --tenant-id is required for a service principal; the Azure CLI brings its own tenant.
    tenant_needed = not s.use_azcli
    missing = [flag for flag, value in (
        ("--resource-group", s.resource_group), ("--tenant-id", s.tenant_id or not tenant_needed),
        ("--subscription-id", s.subscription_id), ("--location", s.location)) if not value]
    if s.service_principal_cert and not s.service_principal_id:
        missing.append("--service-principal-id")
    if s.service_principal_id and not (s.service_principal_secret or s.service_principal_cert):
        # Worded so the flag is never followed by a word: the redaction of a secret given on
        # a command line (--service-principal-secret VALUE) must not eat this sentence.
        missing.append("the service principal's secret (--service-principal-secret, "
                       "ARC_PREFLIGHT_SP_SECRET or --service-principal-secret-file)")
    if s.service_principal_secret and not s.service_principal_id:
        missing.append("--service-principal-id")
    if missing:
        return Outcome(Status.FAIL, "azcmagent connect needs " + ", ".join(missing),
                       code="params.missing", facts={"missing": missing})
    how = ("service principal and certificate" if s.service_principal_cert else
           "service principal" if s.service_principal_id else
           "Azure CLI sign-in" if s.use_azcli else "interactive or device sign-in")
    return Outcome(Status.PASS, f"all required parameters given ({how})")


def _resource_name(s: Any) -> Outcome:
    if s.resource_name:
        return _outcome(check_resource_name(s.resource_name), "params.resource_name",
                        f"resource name {s.resource_name!r} is valid", "--resource-name")
    host = socket.gethostname().split(".")[0]
    if not host:
        return Outcome(Status.FAIL, "the host name is empty, so the agent cannot derive a "
                       "resource name: pass --resource-name", code="params.hostname")
    problem = check_resource_name(host)
    if problem:
        return Outcome(Status.FAIL, f"the resource name would be the host name {host!r}, which "
                       f"is not valid ({problem}): pass --resource-name", code="params.hostname",
                       facts={"hostname": host})
    return Outcome(Status.PASS, f"resource name will be the host name {host!r}",
                   facts={"hostname": host})


def _fqdn(ctx: ProbeContext) -> Outcome:
    """The machine must resolve its own name (hosts file or DNS), as the agent asks the OS."""
    host = socket.gethostname()
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP,
                                   flags=socket.AI_CANONNAME)
    except (socket.gaierror, UnicodeError) as exc:
        return Outcome(Status.FAIL, f"this machine's name {host!r} does not resolve: {exc}",
                       code="params.fqdn", facts={"hostname": host})
    canonical = next((info[3] for info in infos if info[3]), host)
    addresses = sorted({str(info[4][0]) for info in infos})
    return Outcome(Status.PASS, f"{host} resolves ({canonical}: {', '.join(addresses[:3])})",
                   facts={"hostname": host, "fqdn": canonical, "addresses": addresses})


def applicable(settings: Any) -> List[str]:
    """The rules that apply to the flags given; none when no connect flag was given at all."""
    found: List[str] = ["cloud", "fqdn", "resource_name"]
    for rule, value in (("tags", settings.tags), ("location", settings.location),
                        ("correlation_id", settings.correlation_id),
                        ("tenant_id", settings.tenant_id),
                        ("subscription_id", settings.subscription_id),
                        ("private_link_scope", settings.private_link_scope),
                        ("user_tenant_id", settings.user_tenant_id),
                        ("service_principal_cert", settings.service_principal_cert),
                        ("azcli", settings.use_azcli)):
        if value:
            found.append(rule)
    from .connectflags import requested

    if requested(settings):
        found.append("agent_version")
    if any((settings.tenant_id, settings.subscription_id, settings.resource_group,
            settings.service_principal_id, settings.service_principal_secret,
            settings.service_principal_cert, settings.use_azcli)):
        found.append("required")
    return found


NEWER_RULES = ("service_principal_cert", "azcli", "agent_version")


def _newer_rules() -> Dict[str, Any]:
    """The checks of the newer connect flags, each in its own module."""
    from . import azcli, connectflags, spcert

    return {"service_principal_cert": spcert.probe, "azcli": azcli.probe,
            "agent_version": connectflags.probe}
