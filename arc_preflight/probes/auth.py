"""Opt-in credential checks (``--auth``): sign in as the service principal and ask ARM.

This is the only part of the tool that talks to Microsoft Entra ID and Azure Resource Manager as
an identity, so it runs only when asked. The client-credentials request is made directly
(:mod:`.webcall`) rather than with msal: msal would first run instance discovery against the
public cloud, which is one more host to allow and to stand in for, and the identity service's
error codes (AADSTS...) are what the diagnosis needs anyway. The token lives in a
:class:`TokenBox` shared by the checks of one run and never enters a result, a fact or a message.
"""

from __future__ import annotations

import fnmatch
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import redact, register_secret

PROVIDERS = ("Microsoft.HybridCompute", "Microsoft.GuestConfiguration",
             "Microsoft.HybridConnectivity")
NEEDED_ACTIONS = ("Microsoft.HybridCompute/machines/read", "Microsoft.HybridCompute/machines/write")
API_PROVIDERS = "2021-04-01"
API_PERMISSIONS = "2022-04-01"
API_MACHINES = "2022-12-27"

# AADSTS code -> (failure code, what it means). The one table for identity-service errors.
AADSTS: Dict[int, Tuple[str, str]] = {
    7000215: ("auth.invalid_secret", "the client secret is wrong (AADSTS7000215)"),
    7000222: ("auth.expired_secret", "the client secret has expired (AADSTS7000222)"),
    700016: ("auth.app_not_found", "no application with this id in the tenant (AADSTS700016)"),
    90002: ("auth.tenant_not_found", "the tenant does not exist (AADSTS90002)"),
    900023: ("auth.tenant_not_found", "the tenant id is not valid (AADSTS900023)"),
    90072: ("auth.tenant_not_found", "the identity is not in this tenant (AADSTS90072)"),
    700024: ("auth.clock", "the request is outside its valid time range: check the clock "
                           "(AADSTS700024)"),
    7000112: ("auth.app_disabled", "the application is disabled (AADSTS7000112)"),
    50034: ("auth.app_not_found", "the account does not exist in this tenant (AADSTS50034)"),
    700027: ("auth.invalid_certificate", "the application does not accept this certificate: its "
                                         "thumbprint is not registered or the signature does "
                                         "not verify (AADSTS700027)"),
}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class TokenBox:
    """Carries the ARM token (and the resolved subscription id) between the checks of one run."""

    token: Optional[str] = None
    subscription_id: Optional[str] = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class AuthTargets:
    identity_url: str  # https://login.microsoftonline.com
    arm_url: str  # https://management.azure.com
    tenant_id: str
    subscription_id: str
    resource_group: str
    resource_name: str
    client_id: str
    # --user-tenant-id: the tenant the identity signs in to, when not the resource's (Lighthouse).
    sign_in_tenant: str = ""


@dataclass(frozen=True)
class Reply:
    """What the checks read of an answer: its status and its text (JSON, when all is well)."""

    status_code: int
    text: str


MAX_REPLY = 8 << 20  # an ARM page or a token answer is a few KB; 20 pages of permissions too
_STAGES = {"proxy": "reaching the proxy", "tunnel": "the proxy's answer to CONNECT",
           "connect": "connecting", "tls": "TLS handshake", "answer": "waiting for the answer",
           "body": "reading the answer"}


def _request(ctx: ProbeContext, method: str, url: str, plan: Any,
             until: Optional[float] = None, *, data: Optional[Mapping[str, str]] = None,
             headers: Optional[Mapping[str, str]] = None) -> Reply:
    """One HTTPS request with the run's trust store and the agent's proxy for that host."""
    from urllib.parse import urlencode, urlsplit

    from .netutil import Oversized
    from .trust import verified_context
    from .webcall import CallError, call

    proxy: Optional[str] = None
    if plan is not None and plan.url and urlsplit(url).scheme == "https":
        route, _ = plan.route(urlsplit(url).hostname or "")
        if route != "direct":
            proxy = plan.url
    # A probe that makes several requests shares one budget between them (``until``).
    budget = ctx.budget() if until is None else max(0.05, until - time.monotonic())
    sent = dict(headers or {})
    body = None
    if data is not None:
        body = urlencode(data).encode("ascii")
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        with call(method, url, context=verified_context(ctx.settings.ca_bundle),
                  deadline=time.monotonic() + budget, headers=sent, body=body,
                  proxy=proxy) as response:
            raw = response.body(MAX_REPLY)
            charset = response.headers.get_content_charset() or "utf-8"
    except CallError as exc:
        where = _STAGES.get(exc.stage, exc.stage)
        raise AuthNetworkError(redact(f"{where}: {exc.detail}")) from None
    except (ValueError, LookupError) as exc:  # Oversized, an encoding that does not decode
        what = str(exc) if isinstance(exc, Oversized) else type(exc).__name__
        raise AuthNetworkError(redact(f"reading the answer: {what}")) from None
    return Reply(response.status, decode_reply(raw, charset))


def decode_reply(raw: bytes, charset: str) -> str:
    """The answer's text in its declared charset; UTF-8 when Python does not know that charset
    or it is no text encoding at all (``idna`` and ``undefined`` raise UnicodeError, a
    ValueError, even with ``replace``): a garbled header must not crash the sign-in check."""
    try:
        return raw.decode(charset, "replace")
    except (LookupError, ValueError):
        return raw.decode("utf-8", "replace")


class AuthNetworkError(Exception):
    """The identity service or ARM could not be reached at all."""


def _arm_unreachable(exc: AuthNetworkError) -> Outcome:
    return Outcome(Status.FAIL, f"Azure Resource Manager unreachable: {exc}", code="auth.network")


def _json(response: Reply) -> Dict[str, Any]:
    try:
        body = json.loads(response.text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def token_probe(targets: AuthTargets, secret: Optional[str], box: TokenBox, plan: Any,
                ctx: ProbeContext, deps: Mapping[str, Result], *,
                cert: Optional[str] = None) -> Outcome:
    tenant = targets.sign_in_tenant or targets.tenant_id
    url = f"{targets.identity_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": targets.client_id,
            "scope": f"{targets.arm_url.rstrip('/')}/.default"}
    facts: Dict[str, Any] = {"url": url}
    if cert:
        # A certificate signs in with a client assertion signed by its private key.
        from .spcert import CertProblem, client_assertion, load

        try:
            credential = load(cert)
            assertion = client_assertion(credential, targets.client_id, url)
        except CertProblem as exc:
            return Outcome(Status.FAIL, f"--service-principal-cert: {exc}", code=exc.code,
                           facts=facts)
        register_secret(assertion)
        form.update(client_assertion_type=JWT_BEARER, client_assertion=assertion)
        facts["credential"] = f"certificate {credential.thumbprint}"
    elif secret:
        register_secret(secret)
        form["client_secret"] = secret
        facts["credential"] = "secret"
    else:
        return Outcome(Status.SKIP, "no service-principal secret or certificate to sign in with")
    try:
        response = _request(ctx, "POST", url, plan, data=form)
    except AuthNetworkError as exc:
        return Outcome(Status.FAIL, f"identity service unreachable: {exc}",
                       code="auth.network", facts=facts)
    body = _json(response)
    facts["status_code"] = response.status_code
    if response.status_code == 200 and body.get("access_token"):
        token = str(body["access_token"])
        register_secret(token)
        with box.lock:
            box.token = token
        how = "with its certificate" if cert else "with its secret"
        return Outcome(Status.PASS, f"signed in as the service principal {how}", facts=facts)
    raw_codes = body.get("error_codes")
    codes = [int(c) for c in raw_codes if str(c).isdigit()] if isinstance(raw_codes, list) else []
    facts["error"] = body.get("error")
    facts["error_codes"] = codes
    description = redact(str(body.get("error_description", "")).split("\n")[0])[:300]
    for number in codes:
        if number in AADSTS:
            code, text = AADSTS[number]
            return Outcome(Status.FAIL, text, code=code, facts=facts)
    return Outcome(Status.FAIL, f"sign-in refused (HTTP {response.status_code}): "
                   f"{description or body.get('error') or 'no detail'}",
                   code="auth.failed", facts=facts)


def _arm(ctx: ProbeContext, box: TokenBox, targets: AuthTargets, plan: Any,
         path: str, api: str, until: Optional[float] = None) -> Tuple[int, Dict[str, Any]]:
    with box.lock:
        token = box.token
    if not token:
        raise AuthNetworkError("no token")
    if path.startswith("http"):
        url = path  # a nextLink ARM gave us, api-version included
    else:
        url = f"{targets.arm_url.rstrip('/')}{path}?api-version={api}"
    response = _request(ctx, "GET", url, plan, until,
                        headers={"Authorization": f"Bearer {token}"})
    return response.status_code, _json(response)


class SubscriptionLookupError(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.summary)
        self.outcome = outcome


def subscription_id(ctx: ProbeContext, box: TokenBox, targets: AuthTargets, plan: Any,
                    until: Optional[float] = None) -> str:
    """The subscription's GUID: as given, or looked up by display name as the agent does."""
    from .params import GUID

    if GUID.match(targets.subscription_id):
        return targets.subscription_id
    with box.lock:
        if box.subscription_id:
            return box.subscription_id
    status, body = _arm(ctx, box, targets, plan, "/subscriptions", "2020-01-01", until)
    if status != 200:
        raise SubscriptionLookupError(_arm_error(status, body, "listing subscriptions"))
    wanted = targets.subscription_id.lower()
    matches = [str(s.get("subscriptionId")) for s in body.get("value", [])
               if isinstance(s, dict) and str(s.get("displayName", "")).lower() == wanted]
    if len(matches) != 1:
        what = "no subscription" if not matches else f"{len(matches)} subscriptions"
        raise SubscriptionLookupError(Outcome(
            Status.FAIL, f"{what} named {targets.subscription_id!r} visible to this identity "
            "(the agent fails with AZCM0068): pass the subscription id",
            code="auth.subscription_not_found"))
    with box.lock:
        box.subscription_id = matches[0]
    return matches[0]


def _arm_error(status: int, body: Mapping[str, Any], what: str) -> Outcome:
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str(error.get("code", "")) if error else ""
    message = redact(str(error.get("message", "")))[:300] if error else ""
    table = {
        "AuthorizationFailed": ("auth.forbidden", Status.FAIL),
        "SubscriptionNotFound": ("auth.subscription_not_found", Status.FAIL),
        "InvalidSubscriptionId": ("auth.subscription_not_found", Status.FAIL),
        "ResourceGroupNotFound": ("auth.resource_group_not_found", Status.FAIL),
        "InvalidAuthenticationToken": ("auth.failed", Status.FAIL),
        "InvalidAuthenticationTokenTenant": ("auth.tenant_not_found", Status.FAIL),
        "ExpiredAuthenticationToken": ("auth.failed", Status.FAIL),
        # 409 on any Microsoft.HybridCompute call while the provider is unregistered: the same
        # finding as the providers check, so one diagnosis, not an extra "unknown ARM error".
        "MissingSubscriptionRegistration": ("auth.provider_not_registered", Status.FAIL),
        "LinkedAuthorizationFailed": ("auth.forbidden", Status.FAIL),
        # A policy, not a missing role: its message names the policy, shown as it is.
        "RequestDisallowedByPolicy": ("auth.arm_error", Status.FAIL),
    }
    # Without a known code the HTTP status still says what kind of refusal it was.
    by_status = {401: "auth.failed", 403: "auth.forbidden"}
    failure, status_ = table.get(code, (by_status.get(status, "auth.arm_error"), Status.FAIL))
    return Outcome(status_, f"{what}: HTTP {status} {code} {message}".strip(), code=failure,
                   facts={"status_code": status, "arm_code": code})


def providers_probe(targets: AuthTargets, box: TokenBox, plan: Any, ctx: ProbeContext,
                    deps: Mapping[str, Result]) -> Outcome:
    states: Dict[str, str] = {}
    until = time.monotonic() + ctx.budget()
    try:
        sub_id = subscription_id(ctx, box, targets, plan, until)
    except SubscriptionLookupError as exc:
        return exc.outcome
    except AuthNetworkError as exc:
        return _arm_unreachable(exc)
    for namespace in PROVIDERS:
        try:
            status, body = _arm(ctx, box, targets, plan,
                                f"/subscriptions/{sub_id}/providers/{namespace}", API_PROVIDERS,
                                until)
        except AuthNetworkError as exc:
            return _arm_unreachable(exc)
        if status == 403:
            # The onboarding role is scoped to machines; it may not read subscription providers.
            return Outcome(Status.WARN, f"this identity may not read provider {namespace}; "
                           "registration not verified", code="auth.providers_unreadable")
        if status != 200:
            return _arm_error(status, body, f"reading provider {namespace}")
        states[namespace] = str(body.get("registrationState", "Unknown"))
    missing = [ns for ns, state in states.items() if state != "Registered"]
    facts = {"providers": states}
    if missing:
        listed = ", ".join(f"{ns} ({states[ns]})" for ns in missing)
        return Outcome(Status.FAIL, f"not registered on the subscription: {listed}",
                       code="auth.provider_not_registered", facts={**facts, "missing": missing})
    return Outcome(Status.PASS, "Microsoft.HybridCompute, GuestConfiguration and "
                   "HybridConnectivity are registered", facts=facts)


def allowed(action: str, permissions: Sequence[Mapping[str, Any]]) -> bool:
    """ARM's rule: some permission's actions match and none of its notActions do."""
    lowered = action.lower()
    for permission in permissions:
        actions = [str(a).lower() for a in permission.get("actions", [])]
        excluded = [str(a).lower() for a in permission.get("notActions", [])]
        if any(fnmatch.fnmatchcase(lowered, a) for a in actions) and not any(
                fnmatch.fnmatchcase(lowered, a) for a in excluded):
            return True
    return False


def permissions_probe(targets: AuthTargets, box: TokenBox, plan: Any, ctx: ProbeContext,
                      deps: Mapping[str, Result]) -> Outcome:
    permissions: List[Mapping[str, Any]] = []
    until = time.monotonic() + ctx.budget()
    try:
        sub_id = subscription_id(ctx, box, targets, plan, until)
        path: Optional[str] = (f"/subscriptions/{sub_id}/resourceGroups/"
                               f"{targets.resource_group}/providers/Microsoft.Authorization/"
                               "permissions")
        pages = 0
        while path and pages < 20:  # ARM pages long answers through nextLink
            status, body = _arm(ctx, box, targets, plan, path, API_PERMISSIONS, until)
            if status != 200:
                return _arm_error(status, body,
                                  f"reading permissions on {targets.resource_group}")
            permissions.extend(p for p in body.get("value", []) if isinstance(p, dict))
            link = body.get("nextLink")
            path = str(link) if isinstance(link, str) and link.startswith("https://") else None
            pages += 1
    except SubscriptionLookupError as exc:
        return exc.outcome
    except AuthNetworkError as exc:
        return _arm_unreachable(exc)
    missing = [a for a in NEEDED_ACTIONS if not allowed(a, permissions)]
    if missing:
        return Outcome(Status.FAIL, f"the identity lacks {', '.join(missing)} on resource group "
                       f"{targets.resource_group}", code="auth.missing_permission",
                       facts={"missing": missing})
    return Outcome(Status.PASS, f"may read and write Arc machines in {targets.resource_group}")


def exists_probe(targets: AuthTargets, box: TokenBox, plan: Any, ctx: ProbeContext,
                 deps: Mapping[str, Result]) -> Outcome:
    from .params import check_resource_name

    if check_resource_name(targets.resource_name):
        return Outcome(Status.SKIP, f"{targets.resource_name!r} is not a valid resource name "
                       "(see the parameter checks); not looked up")
    until = time.monotonic() + ctx.budget()
    try:
        sub_id = subscription_id(ctx, box, targets, plan, until)
        path = (f"/subscriptions/{sub_id}/resourceGroups/{targets.resource_group}"
                f"/providers/Microsoft.HybridCompute/machines/{targets.resource_name}")
        status, body = _arm(ctx, box, targets, plan, path, API_MACHINES, until)
    except SubscriptionLookupError as exc:
        return exc.outcome
    except AuthNetworkError as exc:
        return _arm_unreachable(exc)
    if status == 404:
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        if not error or error.get("code") in ("ResourceNotFound", "NotFound"):
            return Outcome(Status.PASS, f"no machine named {targets.resource_name} yet")
        return _arm_error(status, body, "looking up the machine")
    if status == 200:
        properties = body.get("properties", {}) if isinstance(body.get("properties"), dict) else {}
        return Outcome(Status.FAIL, f"a machine named {targets.resource_name} already exists in "
                       f"{targets.resource_group} (status {properties.get('status', '?')})",
                       code="auth.resource_exists",
                       facts={"status": properties.get("status"), "id": body.get("id")})
    return _arm_error(status, body, "looking up the machine")
