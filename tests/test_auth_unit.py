"""The --auth probes against scripted identity-service and ARM answers (no network).

``arc_preflight.probes.auth._request`` is replaced by a fake that records every call and answers
with objects carrying ``status_code`` and ``text``, shaped like the real services' replies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest

from arc_preflight import config, kb, plan
from arc_preflight.model import Outcome, ProbeContext, Status
from arc_preflight.probes import auth
from arc_preflight.redact import redact

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "00000000-1111-2222-3333-444444444444"
APP = "9a3e1c55-0b3b-4a8e-8d5c-1f2e3d4c5b6a"
SECRET = "Zq8~fake-secret-Value_123"
TOKEN = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."
         "eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0."
         "c2lnbmF0dXJlLW9mLXRoZS1mYWtlLXRva2VuLXUxdDNr")
TARGETS = auth.AuthTargets(
    identity_url="https://login.microsoftonline.com", arm_url="https://management.azure.com",
    tenant_id=TENANT, subscription_id=SUB, resource_group="arc-rg", resource_name="web01",
    client_id=APP)

CONTRIBUTOR = {"actions": ["*"], "notActions": [
    "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Blueprint/blueprintAssignments/write",
    "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action",
]}
READER = {"actions": ["*/read"], "notActions": []}
ONBOARDING = {"actions": [
    "Microsoft.HybridCompute/machines/read", "Microsoft.HybridCompute/machines/write",
    "Microsoft.HybridCompute/privateLinkScopes/read",
    "Microsoft.GuestConfiguration/guestConfigurationAssignments/read",
], "notActions": []}


@dataclass
class FakeResponse:
    status_code: int
    payload: Any = None
    raw: Optional[str] = None

    @property
    def text(self) -> str:
        return self.raw if self.raw is not None else json.dumps(self.payload)


@dataclass
class FakeAzure:
    """Routes (method, path) to canned answers; records calls without their secrets."""

    token: FakeResponse = field(default_factory=lambda: FakeResponse(200, {
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
        "access_token": TOKEN}))
    arm: Dict[str, FakeResponse] = field(default_factory=dict)
    calls: List[Tuple[str, str, Dict[str, Any]]] = field(default_factory=list)
    network_error: Optional[str] = None

    def __call__(self, ctx: ProbeContext, method: str, url: str, plan_: Any,
                 until: Optional[float] = None, **kwargs: Any) -> FakeResponse:
        self.calls.append((method, url, kwargs))
        if self.network_error:
            raise auth.AuthNetworkError(self.network_error)
        if method == "POST":
            return self.token
        path = url.split("management.azure.com", 1)[1].split("?", 1)[0]
        for suffix, response in self.arm.items():
            if path.endswith(suffix):
                return response
        return FakeResponse(404, {"error": {"code": "ResourceNotFound", "message": path}})


def provider(ns: str, state: str = "Registered") -> FakeResponse:
    return FakeResponse(200, {"id": f"/subscriptions/{SUB}/providers/{ns}", "namespace": ns,
                              "registrationState": state, "resourceTypes": []})


def healthy_arm() -> Dict[str, FakeResponse]:
    arm = {f"/providers/{ns}": provider(ns) for ns in auth.PROVIDERS}
    arm["/providers/Microsoft.Authorization/permissions"] = FakeResponse(
        200, {"value": [ONBOARDING]})
    arm["/machines/web01"] = FakeResponse(404, {"error": {
        "code": "ResourceNotFound",
        "message": "The Resource 'Microsoft.HybridCompute/machines/web01' under resource group "
                   "'arc-rg' was not found. For more details please go to "
                   "https://aka.ms/ARMResourceNotFoundFix"}})
    return arm


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAzure:
    instance = FakeAzure(arm=healthy_arm())
    monkeypatch.setattr(auth, "_request", instance)
    return instance


@pytest.fixture
def ctx() -> ProbeContext:
    settings = config.build({}, environ={})
    return ProbeContext(timeout=1, settings=settings, deadline_at=time.monotonic() + 10)


def signed_in() -> auth.TokenBox:
    box = auth.TokenBox()
    box.token = TOKEN
    return box


def assert_no_secrets(outcome: Outcome) -> None:
    shown = outcome.summary + json.dumps(dict(outcome.facts), default=str)
    for value in (SECRET, TOKEN, TOKEN.split(".")[2]):
        assert value not in shown, value


def aad_error(status: int, error: str, number: int, description: str) -> FakeResponse:
    return FakeResponse(status, {
        "error": error,
        "error_description": f"AADSTS{number}: {description} Trace ID: "
                             "0f2c7a51-1f0e-4b1e-9f43-8d2b4c0a1d00 Correlation ID: "
                             "5a0b2f7e-3b1c-4f77-9b7a-1234567890ab Timestamp: 2024-05-01 "
                             "10:00:00Z",
        "error_codes": [number], "timestamp": "2024-05-01 10:00:00Z",
        "trace_id": "0f2c7a51-1f0e-4b1e-9f43-8d2b4c0a1d00",
        "correlation_id": "5a0b2f7e-3b1c-4f77-9b7a-1234567890ab",
        "error_uri": f"https://login.microsoftonline.com/error?code={number}"})


# --------------------------------------------------------------------------------------------
# allowed(): ARM's actions / notActions rule


@pytest.mark.parametrize(("permissions", "action", "expected"), [
    ([CONTRIBUTOR], "Microsoft.HybridCompute/machines/write", True),
    ([READER], "Microsoft.HybridCompute/machines/read", True),
    ([READER], "Microsoft.HybridCompute/machines/write", False),
    ([ONBOARDING], "Microsoft.HybridCompute/machines/write", True),
    ([ONBOARDING], "Microsoft.HybridCompute/machines/delete", False),
    ([{"actions": ["Microsoft.HybridCompute/*"]}], "Microsoft.HybridCompute/machines/write",
     True),
    ([{"actions": ["Microsoft.HybridCompute/machines/*"]}],
     "Microsoft.HybridCompute/machines/extensions/write", True),
    ([{"actions": ["Microsoft.Compute/*"]}], "Microsoft.HybridCompute/machines/write", False),
    ([{"actions": ["*"], "notActions": ["Microsoft.HybridCompute/*"]}],
     "Microsoft.HybridCompute/machines/write", False),
    ([{"actions": ["*"], "notActions": ["Microsoft.HybridCompute/machines/write"]}],
     "Microsoft.HybridCompute/machines/read", True),
    # notActions subtract only within their own role: another role may still grant it
    ([{"actions": ["*"], "notActions": ["Microsoft.HybridCompute/*"]}, ONBOARDING],
     "Microsoft.HybridCompute/machines/write", True),
    # case-insensitive both ways
    ([{"actions": ["microsoft.hybridcompute/MACHINES/Write"]}],
     "Microsoft.HybridCompute/machines/write", True),
    ([{"actions": ["*"], "notActions": ["MICROSOFT.HYBRIDCOMPUTE/*/WRITE"]}],
     "Microsoft.HybridCompute/machines/write", False),
    ([], "Microsoft.HybridCompute/machines/read", False),
    ([{"notActions": []}], "Microsoft.HybridCompute/machines/read", False),
])
def test_allowed(permissions: List[Mapping[str, Any]], action: str, expected: bool) -> None:
    assert auth.allowed(action, permissions) is expected


# --------------------------------------------------------------------------------------------
# sign-in


def test_sign_in_success(fake: FakeAzure, ctx: ProbeContext) -> None:
    box = auth.TokenBox()
    outcome = auth.token_probe(TARGETS, SECRET, box, None, ctx, {})
    assert outcome.status == Status.PASS
    assert box.token == TOKEN
    assert_no_secrets(outcome)
    method, url, kwargs = fake.calls[0]
    assert method == "POST"
    assert url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    assert kwargs["data"] == {"grant_type": "client_credentials", "client_id": APP,
                              "client_secret": SECRET,
                              "scope": "https://management.azure.com/.default"}
    # Both are now known secrets: any text that echoes them is masked.
    assert SECRET not in redact(f"x {SECRET} y") and TOKEN not in redact(f"t {TOKEN}")


def test_sign_in_without_secret_is_skipped(fake: FakeAzure, ctx: ProbeContext) -> None:
    outcome = auth.token_probe(TARGETS, None, auth.TokenBox(), None, ctx, {})
    assert outcome.status == Status.SKIP
    assert fake.calls == []


@pytest.mark.parametrize(("response", "code", "category"), [
    (aad_error(401, "invalid_client", 7000215,
               "Invalid client secret provided. Ensure the secret being sent in the request is "
               f"the client secret value, not the client secret ID, for a secret added to app "
               f"'{APP}'."), "auth.invalid_secret", "invalid_sp_secret"),
    (aad_error(401, "invalid_client", 7000222,
               f"The provided client secret keys for app '{APP}' are expired. Visit the Azure "
               "portal to create new keys for your app: https://aka.ms/NewClientSecret"),
     "auth.expired_secret", "invalid_sp_secret"),
    (aad_error(400, "unauthorized_client", 700016,
               f"Application with identifier '{APP}' was not found in the directory "
               "'Contoso'. This can happen if the application has not been installed by the "
               "administrator of the tenant."), "auth.app_not_found", "sp_or_tenant_not_found"),
    (aad_error(400, "invalid_request", 90002,
               f"Tenant '{TENANT}' not found. Check to make sure you have the correct tenant "
               "ID and are signing into the correct cloud."),
     "auth.tenant_not_found", "sp_or_tenant_not_found"),
    (aad_error(400, "invalid_request", 700024,
               "Client assertion is not within its valid time range."),
     "auth.clock", "clock_skew"),
])
def test_sign_in_refused(fake: FakeAzure, ctx: ProbeContext, response: FakeResponse,
                         code: str, category: str) -> None:
    fake.token = response
    box = auth.TokenBox()
    outcome = auth.token_probe(TARGETS, SECRET, box, None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert box.token is None
    assert outcome.facts["status_code"] == response.status_code
    assert outcome.facts["error_codes"] == response.payload["error_codes"]
    assert f"AADSTS{response.payload['error_codes'][0]}" in outcome.summary
    assert kb.load().for_failure(code, "login.microsoftonline.com").category == category
    assert_no_secrets(outcome)


def test_unmapped_aadsts_is_reported_with_a_redacted_description(
        fake: FakeAzure, ctx: ProbeContext) -> None:
    # An error this tool has no entry for, whose description (unusually) echoes the secret.
    fake.token = aad_error(400, "invalid_request", 50059,
                           f"No tenant-identifying information found; client_secret={SECRET} "
                           "was sent.\nSecond line with details")
    outcome = auth.token_probe(TARGETS, SECRET, auth.TokenBox(), None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "auth.failed"
    assert "HTTP 400" in outcome.summary
    assert "AADSTS50059" in outcome.summary
    assert "Second line" not in outcome.summary
    assert_no_secrets(outcome)
    assert outcome.facts["error_codes"] == [50059]


def test_unmapped_sign_in_refusal_is_not_blamed_on_an_access_token() -> None:
    cause = kb.load().for_failure("auth.failed", "login.microsoftonline.com")
    assert cause is not None
    text = " ".join((cause.title, cause.explanation, *cause.remedy))
    assert "--access-token" not in text
    assert "access token given to azcmagent" not in cause.title


def test_sign_in_error_without_json(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.token = FakeResponse(502, raw="<html>Bad Gateway</html>")
    outcome = auth.token_probe(TARGETS, SECRET, auth.TokenBox(), None, ctx, {})
    assert outcome.status == Status.FAIL and outcome.code == "auth.failed"
    assert "HTTP 502" in outcome.summary


def test_200_without_token_is_not_a_sign_in(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.token = FakeResponse(200, {"token_type": "Bearer"})
    box = auth.TokenBox()
    outcome = auth.token_probe(TARGETS, SECRET, box, None, ctx, {})
    assert outcome.status == Status.FAIL and box.token is None


def test_identity_service_unreachable(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.network_error = "ConnectTimeout: timed out"
    outcome = auth.token_probe(TARGETS, SECRET, auth.TokenBox(), None, ctx, {})
    assert outcome.status == Status.FAIL and outcome.code == "auth.network"
    assert "timed out" in outcome.summary


# --------------------------------------------------------------------------------------------
# providers


def test_providers_registered(fake: FakeAzure, ctx: ProbeContext) -> None:
    outcome = auth.providers_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.PASS
    assert outcome.facts["providers"] == dict.fromkeys(auth.PROVIDERS, "Registered")
    urls = [url for _, url, _ in fake.calls]
    assert urls == [f"https://management.azure.com/subscriptions/{SUB}/providers/{ns}"
                    f"?api-version={auth.API_PROVIDERS}" for ns in auth.PROVIDERS]
    for _, _, kwargs in fake.calls:
        assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert_no_secrets(outcome)


def test_provider_not_registered(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.HybridConnectivity"] = provider(
        "Microsoft.HybridConnectivity", "NotRegistered")
    outcome = auth.providers_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "auth.provider_not_registered"
    assert outcome.facts["missing"] == ["Microsoft.HybridConnectivity"]
    assert "Microsoft.HybridConnectivity (NotRegistered)" in outcome.summary


def test_subscription_not_found(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.HybridCompute"] = FakeResponse(404, {"error": {
        "code": "SubscriptionNotFound",
        "message": f"The subscription '{SUB}' could not be found."}})
    outcome = auth.providers_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "auth.subscription_not_found"
    assert "SubscriptionNotFound" in outcome.summary
    assert outcome.facts == {"status_code": 404, "arm_code": "SubscriptionNotFound"}
    assert len(fake.calls) == 1  # stops at the first refusal


def test_arm_rejects_the_token(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.HybridCompute"] = FakeResponse(401, {"error": {
        "code": "InvalidAuthenticationToken",
        "message": "The access token is invalid."}})
    outcome = auth.providers_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.code == "auth.failed"
    assert_no_secrets(outcome)


def test_unknown_arm_error(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.HybridCompute"] = FakeResponse(
        429, {"error": {"code": "TooManyRequests", "message": "Slow down."}})
    outcome = auth.providers_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.FAIL and outcome.code == "auth.arm_error"
    assert "HTTP 429 TooManyRequests" in outcome.summary


def test_arm_without_a_token_is_not_contacted(fake: FakeAzure, ctx: ProbeContext) -> None:
    outcome = auth.providers_probe(TARGETS, auth.TokenBox(), None, ctx, {})
    assert outcome.status == Status.FAIL and outcome.code == "auth.network"
    assert fake.calls == []


def test_arm_unreachable(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.network_error = "ConnectionError: connection refused"
    for probe in (auth.providers_probe, auth.permissions_probe, auth.exists_probe):
        outcome = probe(TARGETS, signed_in(), None, ctx, {})
        assert outcome.status == Status.FAIL and outcome.code == "auth.network"


# --------------------------------------------------------------------------------------------
# permissions


@pytest.mark.parametrize("role", [CONTRIBUTOR, ONBOARDING,
                                  {"actions": ["Microsoft.HybridCompute/*"], "notActions": []}])
def test_permissions_sufficient(fake: FakeAzure, ctx: ProbeContext,
                                role: Dict[str, Any]) -> None:
    fake.arm["/providers/Microsoft.Authorization/permissions"] = FakeResponse(
        200, {"value": [READER, role]})
    outcome = auth.permissions_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.PASS, outcome.summary
    (_, url, _), = fake.calls
    assert url == (f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/arc-rg/"
                   "providers/Microsoft.Authorization/permissions"
                   f"?api-version={auth.API_PERMISSIONS}")


def test_reader_only(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.Authorization/permissions"] = FakeResponse(
        200, {"value": [READER]})
    outcome = auth.permissions_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "auth.missing_permission"
    assert outcome.facts["missing"] == ["Microsoft.HybridCompute/machines/write"]
    cause = kb.load().for_failure(outcome.code, "management.azure.com")
    assert cause.category == "missing_role_permission"
    assert any("Azure Connected Machine Onboarding" in step for step in cause.remedy)


def test_no_role_at_all(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.Authorization/permissions"] = FakeResponse(200, {"value": []})
    outcome = auth.permissions_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.code == "auth.missing_permission"
    assert outcome.facts["missing"] == list(auth.NEEDED_ACTIONS)


def test_permissions_resource_group_not_found(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.Authorization/permissions"] = FakeResponse(404, {"error": {
        "code": "ResourceGroupNotFound", "message": "Resource group 'arc-rg' could not be found."}})
    outcome = auth.permissions_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.code == "auth.resource_group_not_found"
    assert "arc-rg" in outcome.summary


def test_permissions_forbidden(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/providers/Microsoft.Authorization/permissions"] = FakeResponse(403, {"error": {
        "code": "AuthorizationFailed",
        "message": f"The client '{APP}' does not have authorization to perform action "
                   "'Microsoft.Authorization/permissions/read'."}})
    outcome = auth.permissions_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.code == "auth.forbidden"


# --------------------------------------------------------------------------------------------
# machine name


def test_machine_name_free(fake: FakeAzure, ctx: ProbeContext) -> None:
    outcome = auth.exists_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.PASS
    (_, url, _), = fake.calls
    assert url == (f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/arc-rg/"
                   "providers/Microsoft.HybridCompute/machines/web01"
                   f"?api-version={auth.API_MACHINES}")


def test_machine_name_taken(fake: FakeAzure, ctx: ProbeContext) -> None:
    resource_id = (f"/subscriptions/{SUB}/resourceGroups/arc-rg/providers/"
                   "Microsoft.HybridCompute/machines/web01")
    fake.arm["/machines/web01"] = FakeResponse(200, {
        "id": resource_id, "name": "web01", "type": "Microsoft.HybridCompute/machines",
        "location": "eastus", "properties": {"status": "Connected"}})
    outcome = auth.exists_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "auth.resource_exists"
    assert outcome.facts == {"status": "Connected", "id": resource_id}
    assert "Connected" in outcome.summary
    cause = kb.load().for_failure(outcome.code, "management.azure.com")
    assert cause.category == "resource_exists" and "AZCM0044" in cause.azcm


def test_machine_lookup_in_missing_group(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/machines/web01"] = FakeResponse(404, {"error": {
        "code": "ResourceGroupNotFound", "message": "Resource group 'arc-rg' could not be found."}})
    outcome = auth.exists_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "auth.resource_group_not_found"


def test_machine_lookup_in_missing_subscription(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/machines/web01"] = FakeResponse(404, {"error": {
        "code": "SubscriptionNotFound",
        "message": f"The subscription '{SUB}' could not be found."}})
    outcome = auth.exists_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.status != Status.PASS
    assert outcome.code == "auth.subscription_not_found"


def test_machine_lookup_other_error(fake: FakeAzure, ctx: ProbeContext) -> None:
    fake.arm["/machines/web01"] = FakeResponse(403, {"error": {
        "code": "AuthorizationFailed", "message": "no read"}})
    outcome = auth.exists_probe(TARGETS, signed_in(), None, ctx, {})
    assert outcome.code == "auth.forbidden"


# --------------------------------------------------------------------------------------------
# the plan: which auth checks exist, and what they need


def build_plan(monkeypatch: pytest.MonkeyPatch, **flags: Any) -> Dict[str, Any]:
    monkeypatch.setattr(plan.socket, "gethostname", lambda: "web01.contoso.com")
    settings = config.build(flags, environ={})
    return {c.id: c for c in plan.build(settings).checks}


SP = {"tenant_id": TENANT, "subscription_id": SUB, "resource_group": "arc-rg",
      "service_principal_id": APP, "service_principal_secret": SECRET, "location": "eastus"}


def test_plan_without_auth_but_with_a_service_principal(monkeypatch: pytest.MonkeyPatch,
                                                        ctx: ProbeContext) -> None:
    checks = build_plan(monkeypatch, **SP)
    assert not [c for c in checks if c.startswith("auth:")]
    outcome = checks["auth"].run(ctx, {})
    assert outcome.status == Status.SKIP and "--auth" in outcome.summary


def test_plan_without_auth_and_without_service_principal(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = build_plan(monkeypatch, location="eastus")
    assert not [c for c in checks if c == "auth" or c.startswith("auth:")]


def test_plan_auth_without_service_principal(monkeypatch: pytest.MonkeyPatch,
                                             ctx: ProbeContext) -> None:
    checks = build_plan(monkeypatch, auth=True, tenant_id=TENANT, subscription_id=SUB,
                        location="eastus")
    outcome = checks["auth"].run(ctx, {})
    assert outcome.status == Status.SKIP
    for needed in ("--service-principal-id", "a secret", "--resource-group"):
        assert needed in outcome.summary
    for scope in ("sign in", "registered", "write Arc machines", "machine name"):
        assert scope in outcome.summary


def test_plan_auth_with_unknown_cloud(monkeypatch: pytest.MonkeyPatch, ctx: ProbeContext) -> None:
    checks = build_plan(monkeypatch, auth=True, cloud="mars", **SP)
    outcome = checks["auth"].run(ctx, {})
    assert outcome.status == Status.SKIP and "--cloud" in outcome.summary


def test_plan_auth_checks_need_the_endpoint_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = build_plan(monkeypatch, auth=True, **SP)
    sign_in = checks["auth:sign-in"]
    assert sign_in.needs == ("https:login.microsoftonline.com:443",)
    for name in ("providers", "permissions", "machine-name"):
        assert checks[f"auth:{name}"].needs == ("auth:sign-in",
                                                "https:management.azure.com:443")
    assert sign_in.target == "login.microsoftonline.com"
    assert checks["auth:providers"].target == "management.azure.com"


def test_plan_auth_only(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = build_plan(monkeypatch, auth=True, only=("auth",), **SP)
    assert set(checks) == {"auth:sign-in", "auth:providers", "auth:permissions",
                           "auth:machine-name", "auth:machine-elsewhere"}
    assert checks["auth:machine-elsewhere"].required is False  # a duplicate never fails a run
    assert checks["auth:sign-in"].needs == ()
    assert checks["auth:providers"].needs == ("auth:sign-in",)


def test_plan_identity_and_arm_urls_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    checks = build_plan(monkeypatch, auth=True, only=("auth",),
                        identity_url="https://login.example.test",
                        arm_url="https://arm.example.test", **SP)
    assert checks["auth:sign-in"].target == "login.example.test"
    assert checks["auth:machine-name"].target == "arm.example.test"


def test_plan_uses_the_host_name_when_no_resource_name(monkeypatch: pytest.MonkeyPatch,
                                                       ctx: ProbeContext) -> None:
    fake = FakeAzure(arm=healthy_arm())
    monkeypatch.setattr(auth, "_request", fake)
    checks = build_plan(monkeypatch, auth=True, only=("auth",), **SP)
    assert checks["auth:machine-name"].run(ctx, {}).status == Status.FAIL  # no token yet
    checks["auth:sign-in"].run(ctx, {})
    assert checks["auth:machine-name"].run(ctx, {}).status == Status.PASS
    assert fake.calls[-1][1].split("?")[0].endswith("/machines/web01")


def test_token_flows_between_checks_of_one_run(monkeypatch: pytest.MonkeyPatch,
                                               ctx: ProbeContext) -> None:
    fake = FakeAzure(arm=healthy_arm())
    monkeypatch.setattr(auth, "_request", fake)
    checks = build_plan(monkeypatch, auth=True, only=("auth",), resource_name="web01", **SP)
    results: List[Outcome] = [checks[i].run(ctx, {}) for i in (
        "auth:sign-in", "auth:providers", "auth:permissions", "auth:machine-name")]
    assert [r.status for r in results] == [Status.PASS] * 4
    for outcome in results:
        assert_no_secrets(outcome)
    # A second plan gets its own box: no token leaks from one run into another.
    again = build_plan(monkeypatch, auth=True, only=("auth",), **SP)
    assert again["auth:providers"].run(ctx, {}).code == "auth.network"


def test_calls_of_one_probe_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several ARM calls in one check must end within that check's timeout together."""
    seen: List[Optional[float]] = []

    def fake(ctx: ProbeContext, method: str, url: str, plan_: Any,
             until: Optional[float] = None, **kwargs: Any) -> Any:
        seen.append(until)
        body = {"value": [{"subscriptionId": "00000000-0000-0000-0000-000000000001",
                           "displayName": "Production"}]} if url.split("?")[0].endswith(
            "/subscriptions") else {"error": {"code": "ResourceNotFound"}}
        return type("R", (), {"status_code": 200 if "value" in body else 404,
                              "text": json.dumps(body)})()

    monkeypatch.setattr(auth, "_request", fake)
    targets = auth.AuthTargets("https://login", "https://arm", "t", "Production", "rg", "web01",
                               "app")
    box = auth.TokenBox(token="x")
    ctx = ProbeContext(timeout=5, settings=None, deadline_at=time.monotonic() + 60)
    outcome = auth.exists_probe(targets, box, None, ctx, {})
    assert outcome.status == Status.PASS
    assert len(seen) == 2 and seen[0] is not None and seen[0] == seen[1]
    assert seen[0] - time.monotonic() <= 5


@pytest.mark.parametrize("charset", ["no-such-charset", "idna", "undefined"])
def test_a_reply_in_a_charset_that_is_no_text_encoding_is_read_as_utf8(charset: str) -> None:
    """A Content-Type's charset is the server's word: ``idna`` and ``undefined`` are codecs that
    raise UnicodeError even with ``replace`` (found in review); the body is then UTF-8."""
    from arc_preflight.probes.auth import decode_reply

    assert decode_reply('{"error": "é"}'.encode(), charset) == '{"error": "é"}'
