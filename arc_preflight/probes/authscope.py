"""Two ``--auth`` questions that reach beyond the target resource group.

* The Private Link Scope given with ``--private-link-scope`` may live in another resource group
  or subscription than the machine. Connect must read it (the onboarding role includes
  ``Microsoft.HybridCompute/privateLinkScopes/read``), so the check reads it by its full
  resource id, as the agent does, and says where it is and whether it exists and is readable.
* A machine of the same name may already be onboarded elsewhere in the tenant. The check lists
  ``Microsoft.HybridCompute/machines`` in each subscription the identity can list and reports
  the ones with that name outside the target group; what the identity cannot list it says it did
  not search, rather than claiming the name is free.

Responses follow the REST reference: Private Link Scopes - Get
(https://learn.microsoft.com/rest/api/hybridcompute/private-link-scopes/get) and Machines - List
By Subscription (https://learn.microsoft.com/rest/api/hybridcompute/machines/list-by-subscription).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Mapping, Optional

from ..model import Outcome, ProbeContext, Result, Status
from .auth import (
    API_MACHINES,
    AuthNetworkError,
    AuthTargets,
    SubscriptionLookupError,
    TokenBox,
    _arm,
    _arm_error,
    _arm_unreachable,
    subscription_id,
)

API_SCOPES = "2022-12-27"
MAX_SUBSCRIPTIONS = 50  # a tenant-wide search must still fit one probe's time
MAX_PAGES = 10


def scope_probe(targets: AuthTargets, scope_id: str, box: TokenBox, plan: Any,
                ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    from .params import PLS_ID

    match = PLS_ID.match(scope_id)
    if match is None:
        return Outcome(Status.SKIP, "the scope id is malformed (see the parameter checks); "
                       "not looked up")
    until = time.monotonic() + ctx.budget()
    scope_sub, scope_rg, name = match.group("sub"), match.group("rg"), match.group("name")
    try:
        machine_sub = subscription_id(ctx, box, targets, plan, until)
        status, body = _arm(ctx, box, targets, plan, scope_id.rstrip("/"), API_SCOPES, until)
    except SubscriptionLookupError as exc:
        return exc.outcome
    except AuthNetworkError as exc:
        return _arm_unreachable(exc)
    elsewhere = scope_sub.lower() != machine_sub.lower()
    where = (f"subscription {scope_sub}, resource group {scope_rg}" if elsewhere
             else f"resource group {scope_rg}")
    facts: Dict[str, Any] = {"scope": name, "subscription_id": scope_sub,
                             "resource_group": scope_rg, "other_subscription": elsewhere,
                             "status_code": status}
    if status == 200:
        raw = body.get("properties")
        props: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        facts.update({"location": body.get("location"),
                      "public_network_access": props.get("publicNetworkAccess"),
                      "provisioning_state": props.get("provisioningState")})
        other = " (another subscription than the machine's)" if elsewhere else ""
        return Outcome(Status.PASS, f"private link scope {name} found in {where}{other}; "
                       f"public network access {props.get('publicNetworkAccess', '?')}",
                       facts=facts)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code", "")) if error else ""
    if status == 404 and code in ("ResourceNotFound", "NotFound", "ResourceGroupNotFound",
                                  "SubscriptionNotFound", ""):
        return Outcome(Status.FAIL, f"no private link scope {name} in {where} ({code or 404})",
                       code="auth.pls_not_found", facts={**facts, "arm_code": code})
    if status == 403 or code in ("AuthorizationFailed", "InvalidAuthenticationTokenTenant"):
        return Outcome(Status.FAIL, f"this identity may not read private link scope {name} in "
                       f"{where} ({code or status}): connect needs "
                       "Microsoft.HybridCompute/privateLinkScopes/read on it",
                       code="auth.pls_forbidden", facts={**facts, "arm_code": code})
    return _arm_error(status, body, f"reading private link scope {name}")


def _subscriptions(ctx: ProbeContext, box: TokenBox, targets: AuthTargets, plan: Any,
                   until: float) -> Optional[List[str]]:
    status, body = _arm(ctx, box, targets, plan, "/subscriptions", "2020-01-01", until)
    if status != 200:
        return None
    found = [str(s.get("subscriptionId")) for s in body.get("value", [])
             if isinstance(s, dict) and s.get("subscriptionId")]
    return found[:MAX_SUBSCRIPTIONS]


def _machines(ctx: ProbeContext, box: TokenBox, targets: AuthTargets, plan: Any, sub: str,
              until: float) -> Optional[List[Mapping[str, Any]]]:
    """Every machine of one subscription, or None when the identity may not list them."""
    found: List[Mapping[str, Any]] = []
    path: Optional[str] = f"/subscriptions/{sub}/providers/Microsoft.HybridCompute/machines"
    for _ in range(MAX_PAGES):
        if path is None:
            break
        status, body = _arm(ctx, box, targets, plan, path, API_MACHINES, until)
        if status != 200:
            return None
        found.extend(m for m in body.get("value", []) if isinstance(m, dict))
        link = body.get("nextLink")
        path = str(link) if isinstance(link, str) and link.startswith("https://") else None
    return found


def _group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered and \
        lowered.index("resourcegroups") + 1 < len(parts) else ""


def elsewhere_probe(targets: AuthTargets, box: TokenBox, plan: Any, ctx: ProbeContext,
                    deps: Mapping[str, Result]) -> Outcome:
    from .params import check_resource_name

    name = targets.resource_name
    if check_resource_name(name):
        return Outcome(Status.SKIP, f"{name!r} is not a valid resource name; not searched")
    until = time.monotonic() + ctx.budget()
    try:
        target_sub = subscription_id(ctx, box, targets, plan, until).lower()
        subs = _subscriptions(ctx, box, targets, plan, until)
        if subs is None:
            return Outcome(Status.SKIP, "this identity may not list subscriptions; machines "
                           "of the same name elsewhere were not searched")
        searched: List[str] = []
        unreadable: List[str] = []
        hits: List[Dict[str, Any]] = []
        for index, sub in enumerate(subs):
            if time.monotonic() >= until - 0.1:
                unreadable.extend(subs[index:])  # out of time: say so, do not guess
                break
            try:
                machines = _machines(ctx, box, targets, plan, sub, until)
            except AuthNetworkError:
                if not searched and not unreadable:
                    raise  # not one answer: Resource Manager is unreachable
                machines = None
            if machines is None:
                unreadable.append(sub)
                continue
            searched.append(sub)
            for machine in machines:
                if str(machine.get("name", "")).lower() != name.lower():
                    continue
                resource_id = str(machine.get("id", ""))
                group = _group_of(resource_id)
                if sub.lower() == target_sub and group.lower() == targets.resource_group.lower():
                    continue  # the target group itself: the machine-name check's business
                raw = machine.get("properties")
                props: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
                hits.append({"id": resource_id, "subscription_id": sub, "resource_group": group,
                             "status": props.get("status")})
    except SubscriptionLookupError as exc:
        return exc.outcome
    except AuthNetworkError as exc:
        return _arm_unreachable(exc)
    facts: Dict[str, Any] = {"searched": searched, "not_searched": unreadable}
    if hits:
        where = "; ".join(f"{h['resource_group']} in {h['subscription_id']} "
                          f"({h['status'] or '?'})" for h in hits[:5])
        return Outcome(Status.WARN, f"a machine named {name} is already onboarded elsewhere in "
                       f"the tenant: {where}", code="auth.machine_elsewhere",
                       facts={**facts, "found": hits})
    tail = (f"; {len(unreadable)} more could not be listed" if unreadable else "")
    return Outcome(Status.PASS, f"no machine named {name} in another resource group of the "
                   f"{len(searched)} subscription(s) searched{tail}", facts=facts)
