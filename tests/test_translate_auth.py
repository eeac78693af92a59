"""The --auth translation tables: AADSTS codes from the identity service, ARM error codes and
HTTP statuses -> auth.* codes.

``auth._request`` is replaced by a fake answering with made-up identity-service and ARM replies
(shaped like the real ones), so nothing is sent.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, Outcome, ProbeContext, Status
from arc_preflight.probes import auth as auth_probe

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "00000000-1111-2222-3333-444444444444"
APP = "9a3e1c55-0b3b-4a8e-8d5c-1f2e3d4c5b6a"
SECRET = "Tr4nslate~fake-secret-Value_991"
TARGETS = auth_probe.AuthTargets(
    identity_url="https://login.microsoftonline.com", arm_url="https://management.azure.com",
    tenant_id=TENANT, subscription_id=SUB, resource_group="arc-rg", resource_name="web01",
    client_id=APP)


class FakeResponse:
    def __init__(self, status_code: int, payload: Any = None, raw: Optional[str] = None) -> None:
        self.status_code = status_code
        self.text = raw if raw is not None else json.dumps(payload)


class FakeService:
    """Answers every request with the next scripted reply (or raises AuthNetworkError)."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.urls: List[str] = []

    def __call__(self, ctx: ProbeContext, method: str, url: str, plan: Any,
                 until: Optional[float] = None, **kwargs: Any) -> FakeResponse:
        self.urls.append(url)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, BaseException):
            raise reply
        assert isinstance(reply, FakeResponse)
        return reply


def ctx() -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)


def signed_in() -> auth_probe.TokenBox:
    box = auth_probe.TokenBox()
    box.token = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJhcm0ifQ.c2ln"
    return box


def aad_error(*codes: Any, error: str = "invalid_client", status: int = 401) -> FakeResponse:
    first = codes[0] if codes else "0"
    return FakeResponse(status, {
        "error": error,
        "error_description": f"AADSTS{first}: made-up description.\r\nTrace ID: 1\r\n"
                             "Correlation ID: 2\r\nTimestamp: 2026-11-30 10:00:00Z",
        "error_codes": list(codes),
        "timestamp": "2026-11-30 10:00:00Z",
        "trace_id": "1", "correlation_id": "2",
    })


def sign_in(monkeypatch: pytest.MonkeyPatch, *replies: Any) -> Outcome:
    monkeypatch.setattr(auth_probe, "_request", FakeService(*replies))
    return auth_probe.token_probe(TARGETS, SECRET, auth_probe.TokenBox(), None, ctx(), {})


# --------------------------------------------------------------------------------------------
# AADSTS: every row of the table, through the token check

@pytest.mark.parametrize("number", sorted(auth_probe.AADSTS), ids=str)
def test_every_aadsts_row(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    code, text = auth_probe.AADSTS[number]
    outcome = sign_in(monkeypatch, aad_error(number))
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert outcome.summary == text
    assert f"AADSTS{number}" in outcome.summary
    assert outcome.facts["error_codes"] == [number]


# (id, AADSTS number, code, a fact the text must mention) - what each number must mean
AADSTS_CASES: List[Tuple[str, int, str, str]] = [
    ("wrong-secret", 7000215, "auth.invalid_secret", "secret is wrong"),
    ("expired-secret", 7000222, "auth.expired_secret", "expired"),
    ("app-not-in-tenant", 700016, "auth.app_not_found", "no application"),
    ("tenant-not-found", 90002, "auth.tenant_not_found", "tenant does not exist"),
    ("tenant-id-invalid", 900023, "auth.tenant_not_found", "not valid"),
    ("identity-not-in-tenant", 90072, "auth.tenant_not_found", "not in this tenant"),
    ("clock", 700024, "auth.clock", "clock"),
    ("app-disabled", 7000112, "auth.app_disabled", "disabled"),
    ("account-not-in-tenant", 50034, "auth.app_not_found", "does not exist"),
    ("certificate-not-registered", 700027, "auth.invalid_certificate", "certificate"),
]


@pytest.mark.parametrize(("number", "code", "fact"), [c[1:] for c in AADSTS_CASES],
                         ids=[c[0] for c in AADSTS_CASES])
def test_aadsts_meaning(number: int, code: str, fact: str) -> None:
    got, text = auth_probe.AADSTS[number]
    assert got == code
    assert fact in text


def test_every_aadsts_row_has_a_meaning_case() -> None:
    assert set(auth_probe.AADSTS) == {c[1] for c in AADSTS_CASES}


@pytest.mark.parametrize(("reply", "code", "fact"), [
    (aad_error("7000215", status=401), "auth.invalid_secret", "AADSTS7000215"),
    (aad_error(50126, 7000222), "auth.expired_secret", "AADSTS7000222"),
    (aad_error(7000215, 7000222), "auth.invalid_secret", "AADSTS7000215"),
    (aad_error(53003, error="access_denied", status=400), "auth.failed", "AADSTS53003"),
    (aad_error(7000229, error="invalid_client", status=400), "auth.failed", "AADSTS7000229"),
    (FakeResponse(400, {"error": "invalid_request"}), "auth.failed", "invalid_request"),
    (FakeResponse(400, {"error_codes": "7000215"}), "auth.failed", "no detail"),
    (FakeResponse(503, raw="<html>Service Unavailable</html>"), "auth.failed", "HTTP 503"),
    (FakeResponse(200, {"token_type": "Bearer"}), "auth.failed", "HTTP 200"),
    (auth_probe.AuthNetworkError("ConnectTimeout: timed out"), "auth.network",
     "identity service unreachable"),
], ids=["codes-as-strings", "first-known-code-wins", "first-of-two-known", "unknown-code",
        "unknown-code-7000229", "no-codes", "codes-not-a-list", "not-json", "200-without-token",
        "network"])
def test_token_fallthrough_and_shapes(monkeypatch: pytest.MonkeyPatch, reply: Any, code: str,
                                      fact: str) -> None:
    outcome = sign_in(monkeypatch, reply)
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert fact in outcome.summary
    assert SECRET not in outcome.summary


def test_token_success(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = sign_in(monkeypatch, FakeResponse(200, {"token_type": "Bearer",
                                                      "access_token": "eyJhbGciOi.x.y"}))
    assert outcome.status == Status.PASS and outcome.code is None


# --------------------------------------------------------------------------------------------
# ARM: the error-code table (_arm_error), every row and the fallthrough

# (id, HTTP status, ARM error code or None for no error object, code)
ARM_CASES: List[Tuple[str, int, Optional[str], str]] = [
    ("authorization-failed", 403, "AuthorizationFailed", "auth.forbidden"),
    ("subscription-not-found", 404, "SubscriptionNotFound", "auth.subscription_not_found"),
    ("invalid-subscription-id", 400, "InvalidSubscriptionId", "auth.subscription_not_found"),
    ("resource-group-not-found", 404, "ResourceGroupNotFound",
     "auth.resource_group_not_found"),
    ("invalid-token", 401, "InvalidAuthenticationToken", "auth.failed"),
    ("token-wrong-tenant", 401, "InvalidAuthenticationTokenTenant", "auth.tenant_not_found"),
    ("expired-token", 401, "ExpiredAuthenticationToken", "auth.failed"),
    # fallthrough: unknown codes, and answers without an error object, whatever the status
    ("unknown-code", 409, "Conflict", "auth.arm_error"),
    ("missing-subscription-registration", 409, "MissingSubscriptionRegistration",
     "auth.provider_not_registered"),
    ("linked-authorization-failed", 403, "LinkedAuthorizationFailed", "auth.forbidden"),
    ("disallowed-by-policy", 403, "RequestDisallowedByPolicy", "auth.arm_error"),
    ("401-without-body", 401, None, "auth.failed"),
    ("403-without-body", 403, None, "auth.forbidden"),
    ("500-without-body", 500, None, "auth.arm_error"),
]


def arm_body(error_code: Optional[str]) -> Dict[str, Any]:
    if error_code is None:
        return {}
    return {"error": {"code": error_code, "message": f"made-up {error_code} message"}}


@pytest.mark.parametrize(("status", "error_code", "code"), [c[1:] for c in ARM_CASES],
                         ids=[c[0] for c in ARM_CASES])
def test_arm_error(status: int, error_code: Optional[str], code: str) -> None:
    outcome = auth_probe._arm_error(status, arm_body(error_code), "reading something")
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert outcome.summary.startswith(f"reading something: HTTP {status}")
    if error_code:
        assert error_code in outcome.summary
        assert f"made-up {error_code} message" in outcome.summary
    assert outcome.facts == {"status_code": status, "arm_code": error_code or ""}


def test_arm_error_with_a_malformed_error_object() -> None:
    outcome = auth_probe._arm_error(400, {"error": "just a string"}, "reading")
    assert outcome.code == "auth.arm_error"
    assert outcome.facts == {"status_code": 400, "arm_code": ""}


# --------------------------------------------------------------------------------------------
# ARM: the statuses each probe reads itself

def providers(state: str = "Registered") -> FakeResponse:
    return FakeResponse(200, {"namespace": "x", "registrationState": state})


@pytest.mark.parametrize(("replies", "status", "code", "fact"), [
    ([providers()], Status.PASS, None, "registered"),
    ([providers(), providers("NotRegistered")], Status.FAIL, "auth.provider_not_registered",
     "NotRegistered"),
    ([providers("Registering")], Status.FAIL, "auth.provider_not_registered", "Registering"),
    ([FakeResponse(403, arm_body("AuthorizationFailed"))], Status.WARN,
     "auth.providers_unreadable", "may not read provider"),
    ([FakeResponse(404, arm_body("SubscriptionNotFound"))], Status.FAIL,
     "auth.subscription_not_found", "SubscriptionNotFound"),
    ([FakeResponse(401, arm_body("ExpiredAuthenticationToken"))], Status.FAIL, "auth.failed",
     "HTTP 401"),
    ([auth_probe.AuthNetworkError("ConnectionError: reset")], Status.FAIL, "auth.network",
     "unreachable"),
], ids=["registered", "not-registered", "registering", "403-unreadable", "subscription-404",
        "expired-token", "network"])
def test_providers(monkeypatch: pytest.MonkeyPatch, replies: List[Any], status: Status,
                   code: Optional[str], fact: str) -> None:
    monkeypatch.setattr(auth_probe, "_request", FakeService(*replies))
    outcome = auth_probe.providers_probe(TARGETS, signed_in(), None, ctx(), {})
    assert (outcome.status, outcome.code) == (status, code)
    assert fact in outcome.summary


ONBOARDING = {"actions": ["Microsoft.HybridCompute/machines/read",
                          "Microsoft.HybridCompute/machines/write"], "notActions": []}
READER = {"actions": ["*/read"], "notActions": []}


@pytest.mark.parametrize(("reply", "status", "code", "fact"), [
    (FakeResponse(200, {"value": [ONBOARDING]}), Status.PASS, None, "arc-rg"),
    (FakeResponse(200, {"value": [READER]}), Status.FAIL, "auth.missing_permission",
     "machines/write"),
    (FakeResponse(200, {"value": []}), Status.FAIL, "auth.missing_permission",
     "machines/read"),
    (FakeResponse(404, arm_body("ResourceGroupNotFound")), Status.FAIL,
     "auth.resource_group_not_found", "ResourceGroupNotFound"),
    (FakeResponse(403, arm_body("AuthorizationFailed")), Status.FAIL, "auth.forbidden",
     "AuthorizationFailed"),
    (auth_probe.AuthNetworkError("ReadTimeout: timed out"), Status.FAIL, "auth.network",
     "unreachable"),
], ids=["allowed", "reader-only", "no-permissions", "no-resource-group", "forbidden",
        "network"])
def test_permissions(monkeypatch: pytest.MonkeyPatch, reply: Any, status: Status,
                     code: Optional[str], fact: str) -> None:
    monkeypatch.setattr(auth_probe, "_request", FakeService(reply))
    outcome = auth_probe.permissions_probe(TARGETS, signed_in(), None, ctx(), {})
    assert (outcome.status, outcome.code) == (status, code)
    assert fact in outcome.summary


@pytest.mark.parametrize(("reply", "status", "code", "fact"), [
    (FakeResponse(404, arm_body("ResourceNotFound")), Status.PASS, None, "no machine"),
    (FakeResponse(404, arm_body("NotFound")), Status.PASS, None, "no machine"),
    (FakeResponse(404, {}), Status.PASS, None, "no machine"),
    (FakeResponse(404, arm_body("ResourceGroupNotFound")), Status.FAIL,
     "auth.resource_group_not_found", "ResourceGroupNotFound"),
    (FakeResponse(200, {"id": "/subscriptions/x/machines/web01",
                        "properties": {"status": "Connected"}}), Status.FAIL,
     "auth.resource_exists", "already exists"),
    (FakeResponse(403, arm_body("AuthorizationFailed")), Status.FAIL, "auth.forbidden",
     "AuthorizationFailed"),
    (FakeResponse(500, {}), Status.FAIL, "auth.arm_error", "HTTP 500"),
    (auth_probe.AuthNetworkError("ProxyError: 407"), Status.FAIL, "auth.network",
     "unreachable"),
], ids=["resource-not-found", "not-found", "404-no-body", "no-resource-group", "exists",
        "forbidden", "server-error", "network"])
def test_exists(monkeypatch: pytest.MonkeyPatch, reply: Any, status: Status,
                code: Optional[str], fact: str) -> None:
    monkeypatch.setattr(auth_probe, "_request", FakeService(reply))
    outcome = auth_probe.exists_probe(TARGETS, signed_in(), None, ctx(), {})
    assert (outcome.status, outcome.code) == (status, code)
    assert fact in outcome.summary


def by_name(name: str) -> auth_probe.AuthTargets:
    return auth_probe.AuthTargets(
        identity_url=TARGETS.identity_url, arm_url=TARGETS.arm_url, tenant_id=TENANT,
        subscription_id=name, resource_group="arc-rg", resource_name="web01", client_id=APP)


@pytest.mark.parametrize(("reply", "code", "fact"), [
    (FakeResponse(200, {"value": []}), "auth.subscription_not_found", "no subscription"),
    (FakeResponse(200, {"value": [{"subscriptionId": SUB, "displayName": "Prod"},
                                  {"subscriptionId": TENANT, "displayName": "prod"}]}),
     "auth.subscription_not_found", "2 subscriptions"),
    (FakeResponse(401, arm_body("InvalidAuthenticationToken")), "auth.failed",
     "listing subscriptions"),
], ids=["none", "two", "listing-refused"])
def test_subscription_by_name(monkeypatch: pytest.MonkeyPatch, reply: FakeResponse, code: str,
                              fact: str) -> None:
    monkeypatch.setattr(auth_probe, "_request", FakeService(reply))
    outcome = auth_probe.providers_probe(by_name("Prod"), signed_in(), None, ctx(), {})
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert fact in outcome.summary


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["'](auth\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = ({code for code, _ in auth_probe.AADSTS.values()} | {c[3] for c in ARM_CASES}
                | {"auth.failed", "auth.network", "auth.providers_unreadable",
                   "auth.provider_not_registered", "auth.missing_permission",
                   "auth.resource_exists", "auth.subscription_not_found"})
    assert returned <= set(FAILURE_CODES)
    in_source = set(_CODE_LITERAL.findall(inspect.getsource(auth_probe)))
    assert in_source, "the scan found the module's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned, f"codes without a case here: {in_source - returned}"


def test_unregistered_provider_seen_twice_is_one_diagnosis() -> None:
    """The providers check and a 409 MissingSubscriptionRegistration from the machine lookup
    are one finding: one diagnosis (the provider is not registered) with both checks."""
    from arc_preflight import kb
    from arc_preflight.diagnose import from_results
    from arc_preflight.model import Result

    providers = Result("auth:providers", "auth", "subscription", Status.FAIL,
                       "not registered on the subscription: Microsoft.HybridCompute",
                       code="auth.provider_not_registered")
    lookup = auth_probe._arm_error(409, arm_body("MissingSubscriptionRegistration"),
                                   "looking up the machine")
    exists = Result("auth:exists", "auth", "machine", lookup.status, lookup.summary,
                    code=lookup.code)
    diagnoses = from_results([providers, exists], kb.load())
    assert [d.category for d in diagnoses] == ["resource_provider_not_registered"]
    assert diagnoses[0].checks == ("auth:providers", "auth:exists")
