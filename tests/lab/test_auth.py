"""``check --auth`` against a stand-in Microsoft Entra ID and Azure Resource Manager in the lab.

Every other catalogue endpoint is served by the lab's generic stand-in on 127.0.1.1; the lab DNS
sends ``login.microsoftonline.com`` to 127.0.3.1 and ``management.azure.com`` to 127.0.3.2, where
``azure_standin.py`` answers like the real services (see its docstring for the scenario file).
The CLI runs unchanged inside the namespace with the endpoint checks (dns, tcp, tls, https) and
the auth checks, so a network failure on the way is seen at its root. Every test also renders
the same run as a table and asserts that neither the secret nor the access token appears in
stdout or stderr of either run.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from .netlab import CliResult, Lab, LabError
from .test_scenarios import LAB_ISSUER, LOCATION, agent_dir, checks, diagnosis, fake_systemd, run

pytestmark = pytest.mark.lab

STANDIN = Path(__file__).resolve().with_name("azure_standin.py")
IDENTITY_HOST = "login.microsoftonline.com"
ARM_HOST = "management.azure.com"
IDENTITY_IP = "127.0.3.1"
ARM_IP = "127.0.3.2"

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
APP = "9a3e1c55-0b3b-4a8e-8d5c-1f2e3d4c5b6a"
SECRET = "Zq8~fake-secret-Value_123"


def _b64(data: Dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


TOKEN = ".".join((
    _b64({"typ": "JWT", "alg": "RS256", "kid": "lab"}),
    _b64({"aud": "https://management.azure.com", "tid": TENANT, "appid": APP,
          "iss": f"https://sts.windows.net/{TENANT}/", "lab": "arc-preflight"}),
    "TGFiU2lnbmF0dXJlLW5vdC1yZWFsLUs3cVo5dA",
))
# The parts of the token that would give it away if printed (the header is generic).
TOKEN_PARTS = (TOKEN, TOKEN.split(".")[1], TOKEN.split(".")[2])

CONTRIBUTOR = {"actions": ["*"], "notActions": [
    "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Blueprint/blueprintAssignments/write",
    "Microsoft.Blueprint/blueprintAssignments/delete",
    "Microsoft.Compute/galleries/share/action",
], "dataActions": [], "notDataActions": []}
READER = {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}
ONBOARDING = {"actions": [
    "Microsoft.HybridCompute/machines/read", "Microsoft.HybridCompute/machines/write",
    "Microsoft.HybridCompute/privateLinkScopes/read",
    "Microsoft.GuestConfiguration/guestConfigurationAssignments/read",
], "notActions": [], "dataActions": [], "notDataActions": []}

AUTH_IDS = ("auth:sign-in", "auth:providers", "auth:permissions", "auth:machine-name")
ARM_IDS = AUTH_IDS[1:]


def healthy_scenario() -> Dict[str, Any]:
    return {
        "access_token": TOKEN,
        "arm_resource": f"https://{ARM_HOST}",
        "tenants": {TENANT: {"name": "Contoso", "apps": {APP: {"secret": SECRET}}}},
        "subscriptions": {SUB: {
            "tenant": TENANT, "displayName": "Contoso Production", "providers": {},
            "resourceGroups": {"arc-rg": {"permissions": [ONBOARDING], "machines": {}}},
        }},
    }


@dataclass
class AzureStandin:
    popen: subprocess.Popen  # type: ignore[type-arg]
    log: Path

    def requests(self) -> List[Tuple[str, str, str, int]]:
        """(method, host, path, status) of every request answered so far."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3].isdigit() and parts[0].isupper():
                found.append((parts[0], parts[1], parts[2], int(parts[3])))
        return found

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@pytest.fixture
def azure(lab: Lab, lab_hosts: List[str]) -> Iterator[Callable[..., AzureStandin]]:
    """Serve every catalogue host; ``azure(scenario)`` starts the identity/ARM stand-in."""
    lab.serve_endpoints(lab_hosts)
    started: List[AzureStandin] = []

    def start(scenario: Optional[Dict[str, Any]] = None) -> AzureStandin:
        for address in (IDENTITY_IP, ARM_IP):
            lab.add_address(address)
        chain, key = lab.issue_cert([IDENTITY_HOST, ARM_HOST], tag="azure")
        path = Path(lab.workdir) / "azure-scenario.json"
        path.write_text(json.dumps(scenario or healthy_scenario()))
        ready = Path(lab.workdir) / "azure.ready"
        ready.unlink(missing_ok=True)
        log = Path(lab.workdir) / "azure-standin.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                [*lab.command_prefix(None), sys.executable, str(STANDIN), "--scenario",
                 str(path), "--bind", IDENTITY_IP, "--bind", ARM_IP, "--cert", str(chain),
                 "--key", str(key), "--ready-file", str(ready)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        standin = AzureStandin(popen, log)
        started.append(standin)
        deadline = time.monotonic() + 15
        while not ready.exists():
            if popen.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"azure stand-in did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.02)
        for address in (IDENTITY_IP, ARM_IP):
            assert lab.connect(address, 443) == "connected"
        lab.dns({IDENTITY_HOST: IDENTITY_IP, ARM_HOST: ARM_IP})
        return standin

    yield start
    for standin in started:
        standin.stop()


# --------------------------------------------------------------------------------------------
# running the CLI


def connect_flags(*, sp: bool = True, subscription: str = SUB,
                  tenant: str = TENANT) -> List[str]:
    flags = ["--tenant-id", tenant, "--subscription-id", subscription,
             "--resource-group", "arc-rg", "--resource-name", "web01"]
    if sp:
        flags += ["--service-principal-id", APP]
    return flags


ONLY = ("dns", "tcp", "tls", "https", "auth")


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, "the client secret was printed"
        for part in TOKEN_PARTS:
            assert part not in text, "the access token was printed"


def run_auth(lab: Lab, *extra: str, auth: bool = True, sp: bool = True,
             secret: Optional[str] = SECRET, secret_via: str = "env",
             only: Tuple[str, ...] = ONLY, subscription: str = SUB, tenant: str = TENANT,
             timeout: float = 2.0, proxy: Optional[str] = None) -> CliResult:
    """Run ``check`` with the connect flags as JSON and as a table; both must be secret-free."""
    args: List[str] = [*connect_flags(sp=sp, subscription=subscription, tenant=tenant), *extra]
    if auth:
        args.append("--auth")
    for kind in only:
        args += ["--only", kind]
    env: Dict[str, str] = {}
    if secret is not None:
        if secret_via == "env":
            env["ARC_PREFLIGHT_SP_SECRET"] = secret
        elif secret_via == "file":
            path = Path(lab.workdir) / "sp-secret.txt"
            path.write_text(secret + "\n")
            args += ["--service-principal-secret-file", str(path)]
        else:
            args += ["--service-principal-secret", secret]
    result = run(lab, *args, env=env, timeout=timeout, proxy=proxy)
    assert_no_secrets(result.stdout, result.stderr)
    assert_no_secrets(json.dumps(result.data))

    table = lab.cli(*lab.check_argv("--location", LOCATION, "--himds-url", lab.himds_url,
                                    "--agent-dir", agent_dir(lab), "--expected-issuer",
                                    LAB_ISSUER, *args, "--format", "table", timeout=timeout,
                                    proxy=proxy),
                    env={**fake_systemd(lab), **env}, timeout=60)
    assert "Traceback" not in table.stderr
    assert table.returncode == result.returncode, table.stdout[-3000:]
    assert not table.stdout.lstrip().startswith("{") and "Result:" in table.stdout
    assert_no_secrets(table.stdout, table.stderr)
    return result


def auth_rows(result: CliResult) -> Dict[str, Dict[str, Any]]:
    return {k: v for k, v in checks(result).items() if k == "auth" or k.startswith("auth:")}


def causes(result: CliResult) -> List[str]:
    return [d["cause_id"] for d in result.data["diagnoses"]]


def arm_requests(standin: AzureStandin) -> List[Tuple[str, str, str, int]]:
    return [r for r in standin.requests() if r[1] == ARM_HOST and r[2] != "/"]


def token_requests(standin: AzureStandin) -> List[Tuple[str, str, str, int]]:
    return [r for r in standin.requests() if r[0] == "POST" and r[1] == IDENTITY_HOST]


# --------------------------------------------------------------------------------------------
# healthy


@pytest.mark.parametrize("secret_via", ["env", "file", "flag"])
def test_credentials_all_good(lab: Lab, azure: Callable[..., AzureStandin],
                              secret_via: str) -> None:
    standin = azure()
    result = run_auth(lab, secret_via=secret_via)
    rows = auth_rows(result)
    assert set(rows) == {*AUTH_IDS, "auth:machine-elsewhere"}
    for check_id in AUTH_IDS:
        assert rows[check_id]["status"] == "pass", rows[check_id]
        assert rows[check_id]["blocked_by"] is None
    assert rows["auth:sign-in"]["target"] == IDENTITY_HOST
    assert rows["auth:providers"]["facts"]["providers"] == {
        "Microsoft.HybridCompute": "Registered", "Microsoft.GuestConfiguration": "Registered",
        "Microsoft.HybridConnectivity": "Registered"}
    assert "web01" in rows["auth:machine-name"]["summary"]
    assert result.data["diagnoses"] == []
    assert result.returncode == 0
    assert result.data["settings"]["service_principal_secret"] == "[REDACTED]"
    # The CLI really talked to the stand-in, with the right requests (two runs: json, table).
    posts = token_requests(standin)
    assert posts and all(r[2] == f"/{TENANT}/oauth2/v2.0/token" and r[3] == 200
                         for r in posts)
    paths = {r[2] for r in arm_requests(standin)}
    assert paths == {
        f"/subscriptions/{SUB}/providers/Microsoft.HybridCompute",
        f"/subscriptions/{SUB}/providers/Microsoft.GuestConfiguration",
        f"/subscriptions/{SUB}/providers/Microsoft.HybridConnectivity",
        f"/subscriptions/{SUB}/resourceGroups/arc-rg/providers/Microsoft.Authorization/"
        "permissions",
        f"/subscriptions/{SUB}/resourceGroups/arc-rg/providers/Microsoft.HybridCompute/"
        "machines/web01",
        # the search for the same name elsewhere in the tenant
        "/subscriptions", f"/subscriptions/{SUB}/providers/Microsoft.HybridCompute/machines",
    }
    assert all(r[3] in (200, 404) for r in arm_requests(standin))


def test_contributor_is_enough(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["subscriptions"][SUB]["resourceGroups"]["arc-rg"]["permissions"] = [
        READER, CONTRIBUTOR]
    azure(scenario)
    result = run_auth(lab)
    assert auth_rows(result)["auth:permissions"]["status"] == "pass"
    assert result.returncode == 0


# --------------------------------------------------------------------------------------------
# sign-in refused


def assert_sign_in_failed(result: CliResult, code: str) -> Dict[str, Dict[str, Any]]:
    rows = auth_rows(result)
    sign_in = rows["auth:sign-in"]
    assert sign_in["status"] == "fail"
    assert sign_in["code"] == code
    for check_id in ARM_IDS:
        assert rows[check_id]["status"] == "skip", rows[check_id]
        assert rows[check_id]["blocked_by"] == "auth:sign-in"
    assert result.returncode == 2
    return rows


def test_wrong_secret(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["tenants"][TENANT]["apps"][APP]["secret"] = "the-real-secret-is-different"
    standin = azure(scenario)
    result = run_auth(lab)
    rows = assert_sign_in_failed(result, "auth.invalid_secret")
    assert "AADSTS7000215" in rows["auth:sign-in"]["summary"]
    assert rows["auth:sign-in"]["facts"]["error_codes"] == [7000215]
    assert rows["auth:sign-in"]["facts"]["status_code"] == 401
    diag = diagnosis(result, "invalid_sp_secret")
    assert diag["cause_id"] == "invalid_sp_secret"
    assert "AZCM0041" in diag["azcm"]
    assert any("auth:sign-in" in e for e in diag["evidence"])
    assert causes(result) == ["invalid_sp_secret"]
    # After a refused sign-in nothing is asked of Resource Manager.
    assert token_requests(standin) and all(r[3] == 401 for r in token_requests(standin))
    assert arm_requests(standin) == []


def test_wrong_secret_given_on_the_command_line(lab: Lab,
                                                azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["tenants"][TENANT]["apps"][APP]["secret"] = "the-real-secret-is-different"
    azure(scenario)
    result = run_auth(lab, secret_via="flag")
    assert_sign_in_failed(result, "auth.invalid_secret")


def test_expired_secret(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["tenants"][TENANT]["apps"][APP]["expired"] = True
    azure(scenario)
    result = run_auth(lab)
    rows = assert_sign_in_failed(result, "auth.expired_secret")
    assert "AADSTS7000222" in rows["auth:sign-in"]["summary"]
    assert "expired" in rows["auth:sign-in"]["summary"]
    assert diagnosis(result, "invalid_sp_secret")["cause_id"] == "invalid_sp_secret"


@pytest.mark.parametrize(("who", "code", "aadsts"), [
    ("app", "auth.app_not_found", 700016),
    ("tenant", "auth.tenant_not_found", 90002),
])
def test_unknown_application_or_tenant(lab: Lab, azure: Callable[..., AzureStandin], who: str,
                                       code: str, aadsts: int) -> None:
    scenario = healthy_scenario()
    if who == "app":
        scenario["tenants"][TENANT]["apps"] = {"11111111-2222-3333-4444-555555555555": {
            "secret": SECRET}}
    else:
        scenario["tenants"] = {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee": copy.deepcopy(
            scenario["tenants"][TENANT])}
    standin = azure(scenario)
    result = run_auth(lab)
    rows = assert_sign_in_failed(result, code)
    assert f"AADSTS{aadsts}" in rows["auth:sign-in"]["summary"]
    assert rows["auth:sign-in"]["facts"]["status_code"] == 400
    diag = diagnosis(result, "sp_or_tenant_not_found")
    assert diag["cause_id"] == "sp_or_tenant_not_found"
    assert causes(result) == ["sp_or_tenant_not_found"]
    assert arm_requests(standin) == []


def test_unmapped_sign_in_error(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    """An AADSTS code the tool has no entry for still fails, with the service's own words."""
    scenario = healthy_scenario()
    scenario["token_reply"] = {"status": 400, "body": {
        "error": "invalid_grant",
        "error_description": "AADSTS53003: Access has been blocked by Conditional Access "
                             "policies. The access policy does not allow token issuance. "
                             "Trace ID: 1 Correlation ID: 2 Timestamp: 2024-05-01 10:00:00Z",
        "error_codes": [53003]}}
    azure(scenario)
    result = run_auth(lab)
    rows = assert_sign_in_failed(result, "auth.failed")
    assert "AADSTS53003" in rows["auth:sign-in"]["summary"]
    assert "Conditional Access" in rows["auth:sign-in"]["summary"]
    assert "HTTP 400" in rows["auth:sign-in"]["summary"]


# --------------------------------------------------------------------------------------------
# Resource Manager findings


def test_provider_not_registered(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["subscriptions"][SUB]["providers"] = {
        "Microsoft.HybridCompute": "NotRegistered", "Microsoft.HybridConnectivity": "Registering"}
    azure(scenario)
    result = run_auth(lab)
    rows = auth_rows(result)
    providers = rows["auth:providers"]
    assert providers["status"] == "fail"
    assert providers["code"] == "auth.provider_not_registered"
    assert providers["facts"]["missing"] == ["Microsoft.HybridCompute",
                                             "Microsoft.HybridConnectivity"]
    assert "Microsoft.HybridCompute (NotRegistered)" in providers["summary"]
    assert "Microsoft.HybridConnectivity (Registering)" in providers["summary"]
    for other in ("auth:sign-in", "auth:permissions", "auth:machine-name"):
        assert rows[other]["status"] == "pass"
    diag = diagnosis(result, "resource_provider_not_registered")
    evidence = " ".join(diag["evidence"])
    assert "Microsoft.HybridCompute" in evidence and "Microsoft.HybridConnectivity" in evidence
    assert causes(result) == ["resource_provider_not_registered"]
    assert result.returncode == 2


def test_reader_only(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["subscriptions"][SUB]["resourceGroups"]["arc-rg"]["permissions"] = [READER]
    azure(scenario)
    result = run_auth(lab)
    rows = auth_rows(result)
    permissions = rows["auth:permissions"]
    assert permissions["status"] == "fail"
    assert permissions["code"] == "auth.missing_permission"
    assert permissions["facts"]["missing"] == ["Microsoft.HybridCompute/machines/write"]
    assert "arc-rg" in permissions["summary"]
    assert rows["auth:machine-name"]["status"] == "pass"  # Reader may still read
    diag = diagnosis(result, "missing_role_permission")
    assert any("Azure Connected Machine Onboarding" in step for step in diag["remedy"])
    assert "AZCM0042" in diag["azcm"]
    assert result.returncode == 2


def test_machine_name_taken(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["subscriptions"][SUB]["resourceGroups"]["arc-rg"]["machines"] = {
        "web01": {"status": "Disconnected"}}
    azure(scenario)
    result = run_auth(lab)
    exists = auth_rows(result)["auth:machine-name"]
    assert exists["status"] == "fail"
    assert exists["code"] == "auth.resource_exists"
    assert exists["facts"]["status"] == "Disconnected"
    assert exists["facts"]["id"].endswith("/resourceGroups/arc-rg/providers/"
                                          "Microsoft.HybridCompute/machines/web01")
    diag = diagnosis(result, "resource_exists")
    assert "AZCM0044" in diag["azcm"]
    assert causes(result) == ["resource_exists"]
    assert result.returncode == 2


def test_subscription_not_found(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    other = "99999999-8888-7777-6666-555555555555"
    standin = azure()
    result = run_auth(lab, subscription=other)
    rows = auth_rows(result)
    assert rows["auth:sign-in"]["status"] == "pass"
    for check_id in ("auth:providers", "auth:permissions"):
        assert rows[check_id]["status"] == "fail"
        assert rows[check_id]["code"] == "auth.subscription_not_found"
        assert "SubscriptionNotFound" in rows[check_id]["summary"]
    diag = diagnosis(result, "sp_or_tenant_not_found")
    assert diag["cause_id"] == "subscription_not_found"
    assert "subscription_not_found" in causes(result)
    searched = ("/subscriptions", f"/subscriptions/{SUB}/providers/Microsoft.HybridCompute/"
                "machines")  # the tenant-wide search for the name lists what it can see
    assert all(other in r[2] for r in arm_requests(standin) if r[2] not in searched)
    assert result.returncode == 2


def test_resource_group_not_found(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    scenario["subscriptions"][SUB]["resourceGroups"] = {"other-rg": {"permissions": [
        ONBOARDING]}}
    azure(scenario)
    result = run_auth(lab)
    rows = auth_rows(result)
    assert rows["auth:providers"]["status"] == "pass"
    for check_id in ("auth:permissions", "auth:machine-name"):
        assert rows[check_id]["status"] == "fail", rows[check_id]
        assert rows[check_id]["code"] == "auth.resource_group_not_found"
    diag = diagnosis(result, "missing_parameter")
    assert diag["cause_id"] == "resource_group_not_found"
    evidence = " ".join(diag["evidence"])
    assert "auth:permissions" in evidence and "auth:machine-name" in evidence
    assert causes(result) == ["resource_group_not_found"]  # one cause, both checks as evidence
    assert result.returncode == 2


def test_subscription_given_by_name(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    azure()
    result = run_auth(lab, subscription="Contoso Production")
    rows = auth_rows(result)
    for check_id in AUTH_IDS:
        assert rows[check_id]["status"] == "pass", rows[check_id]


def test_subscription_in_another_tenant(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = healthy_scenario()
    other_tenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    scenario["tenants"][other_tenant] = {"name": "Fabrikam", "apps": {}}
    scenario["subscriptions"][SUB]["tenant"] = other_tenant
    azure(scenario)
    result = run_auth(lab)
    rows = auth_rows(result)
    assert rows["auth:sign-in"]["status"] == "pass"
    providers = rows["auth:providers"]
    assert providers["status"] == "fail"
    assert providers["facts"]["arm_code"] == "InvalidAuthenticationTokenTenant"
    assert providers["code"] != "auth.arm_error"
    assert diagnosis(result, "sp_or_tenant_not_found")


def test_arm_answers_wrong_tenant_token_as_the_real_service(
        lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    """What the CLI does today with a token from the wrong tenant: a failure, never a pass."""
    scenario = healthy_scenario()
    other_tenant = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    scenario["subscriptions"][SUB]["tenant"] = other_tenant
    azure(scenario)
    result = run_auth(lab)
    rows = auth_rows(result)
    for check_id in ARM_IDS:
        assert rows[check_id]["status"] == "fail", rows[check_id]
        assert rows[check_id]["facts"]["status_code"] == 401
    assert "InvalidAuthenticationTokenTenant" in rows["auth:providers"]["summary"]
    assert result.returncode == 2


# --------------------------------------------------------------------------------------------
# the network fails first


def test_identity_endpoint_blackholed(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    standin = azure()
    lab.drop(ip=IDENTITY_IP, port=443)
    result = run_auth(lab, timeout=1.5)
    by_id = checks(result)
    tcp_id = f"tcp:{IDENTITY_HOST}:443"
    assert by_id[tcp_id]["status"] == "fail" and by_id[tcp_id]["code"] == "tcp.timeout"
    for layer in ("tls", "https"):
        row = by_id[f"{layer}:{IDENTITY_HOST}:443"]
        assert row["status"] == "skip" and row["blocked_by"] == tcp_id
    assert by_id[f"https:{ARM_HOST}:443"]["status"] == "pass"
    rows = auth_rows(result)
    for check_id in AUTH_IDS:
        assert rows[check_id]["status"] == "skip", rows[check_id]
        assert rows[check_id]["blocked_by"] == tcp_id
    # Reported once, at the root: the blocked identity endpoint, not a credential problem.
    diag = diagnosis(result, "firewall_or_proxy_blocking")
    assert diag["cause_id"] == "entra_id_blocked"
    assert causes(result) == ["entra_id_blocked"]
    assert not any("auth:" in e for d in result.data["diagnoses"] for e in d["evidence"])
    assert token_requests(standin) == []
    assert result.returncode == 2


def test_identity_endpoint_blackholed_without_https_checks(
        lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    """With the tls/https kinds skipped the sign-in itself meets the blackhole: its failure is
    evidence for the same cause as the TCP timeout, not a second diagnosis."""
    azure()
    lab.drop(ip=IDENTITY_IP, port=443)
    result = run_auth(lab, only=("dns", "tcp", "auth"), timeout=1.5)
    rows = auth_rows(result)
    assert rows["auth:sign-in"]["status"] == "fail"
    assert rows["auth:sign-in"]["code"] == "auth.network"
    for check_id in ARM_IDS:
        assert rows[check_id]["status"] == "skip"
        assert rows[check_id]["blocked_by"] == "auth:sign-in"
    assert causes(result) == ["entra_id_blocked"]
    evidence = " ".join(result.data["diagnoses"][0]["evidence"])
    assert f"tcp:{IDENTITY_HOST}:443" in evidence and "auth:sign-in" in evidence
    assert result.returncode == 2


def test_credentials_checked_through_the_proxy(lab: Lab,
                                               azure: Callable[..., AzureStandin]) -> None:
    """The sign-in and the ARM requests take the route the agent would: the proxy."""
    standin = azure()
    proxy = lab.proxy()
    result = run_auth(lab, proxy=proxy.url, only=("proxy", "tls", "https", "auth"))
    rows = auth_rows(result)
    for check_id in AUTH_IDS:
        assert rows[check_id]["status"] == "pass", rows[check_id]
    log = proxy.access_log()
    assert f"CONNECT {IDENTITY_HOST}:443" in log
    assert f"CONNECT {ARM_HOST}:443" in log
    assert token_requests(standin) and arm_requests(standin)
    assert_no_secrets(log)
    assert result.returncode == 0


def test_proxy_denies_the_identity_service(lab: Lab,
                                           azure: Callable[..., AzureStandin]) -> None:
    standin = azure()
    proxy = lab.proxy(deny=[IDENTITY_HOST])
    result = run_auth(lab, proxy=proxy.url, only=("proxy", "tls", "https", "auth"))
    by_id = checks(result)
    tls_id = f"tls:{IDENTITY_HOST}:443"
    assert by_id[tls_id]["status"] == "fail"
    assert by_id[tls_id]["code"] == "proxy.denied"
    rows = auth_rows(result)
    for check_id in AUTH_IDS:
        assert rows[check_id]["status"] == "skip", rows[check_id]
        assert rows[check_id]["blocked_by"] == tls_id
    assert "entra_id_blocked" in causes(result)
    assert not any("auth:" in e for d in result.data["diagnoses"] for e in d["evidence"])
    assert token_requests(standin) == []
    assert result.returncode == 2


# --------------------------------------------------------------------------------------------
# when the credential checks do not run


def test_service_principal_without_auth_flag(lab: Lab,
                                             azure: Callable[..., AzureStandin]) -> None:
    standin = azure()
    result = run_auth(lab, auth=False)
    rows = auth_rows(result)
    assert list(rows) == ["auth"]
    assert rows["auth"]["status"] == "skip"
    assert "--auth" in rows["auth"]["summary"]
    assert result.returncode == 0
    assert token_requests(standin) == [] and arm_requests(standin) == []


def test_table_shows_the_auth_rows(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    azure()
    argv = lab.check_argv("--location", LOCATION, "--himds-url", lab.himds_url, "--agent-dir",
                          agent_dir(lab), "--expected-issuer", LAB_ISSUER, *connect_flags(),
                          *[x for kind in ONLY for x in ("--only", kind)], "--format", "table")
    env = {**fake_systemd(lab), "ARC_PREFLIGHT_SP_SECRET": SECRET}
    without = lab.cli(*argv, env=env, timeout=60)
    assert_no_secrets(without.stdout, without.stderr)
    assert "add --auth" in without.stdout
    with_auth = lab.cli(*argv, "--auth", env=env, timeout=60)
    assert_no_secrets(with_auth.stdout, with_auth.stderr)
    for check_id in AUTH_IDS:
        assert check_id in with_auth.stdout


def test_auth_flag_without_service_principal(lab: Lab,
                                             azure: Callable[..., AzureStandin]) -> None:
    standin = azure()
    result = run_auth(lab, sp=False, secret=None)
    rows = auth_rows(result)
    assert list(rows) == ["auth"]
    assert rows["auth"]["status"] == "skip"
    summary = rows["auth"]["summary"]
    assert "--service-principal-id" in summary and "a secret" in summary
    assert "sign in" in summary and "machine name" in summary
    assert result.returncode == 0
    assert token_requests(standin) == [] and arm_requests(standin) == []


def test_auth_flag_with_secret_but_no_application_id(lab: Lab,
                                                     azure: Callable[..., AzureStandin]) -> None:
    standin = azure()
    result = run_auth(lab, sp=False, only=(*ONLY, "params"))
    rows = auth_rows(result)
    assert list(rows) == ["auth"] and rows["auth"]["status"] == "skip"
    assert "--service-principal-id" in rows["auth"]["summary"]
    required = checks(result)["params:required"]
    assert required["code"] == "params.missing"
    assert required["facts"]["missing"] == ["--service-principal-id"]
    assert diagnosis(result, "missing_parameter")["cause_id"] == "missing_mandatory_parameter"
    assert token_requests(standin) == []


# --------------------------------------------------------------------------------------------
# offline parameter findings next to --auth


def test_unknown_cloud(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    standin = azure()
    result = run_auth(lab, "--cloud", "mars", only=(*ONLY, "params"))
    by_id = checks(result)
    assert by_id["params:cloud"]["status"] == "fail"
    assert by_id["params:cloud"]["code"] == "params.cloud"
    assert by_id["params:location"]["status"] == "skip"
    diag = diagnosis(result, "invalid_cloud")
    assert "AZCM0014" in diag["azcm"]
    rows = auth_rows(result)
    assert list(rows) == ["auth"] and "--cloud" in rows["auth"]["summary"]
    assert not [c for c in by_id if c.startswith(("dns:", "tcp:"))]  # nothing to probe
    assert result.returncode == 2
    assert token_requests(standin) == []


def test_unknown_region(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    azure()
    result = run_auth(lab, "--location", "atlantis", only=(*ONLY, "params"))
    by_id = checks(result)
    assert by_id["params:location"]["status"] == "fail"
    assert by_id["params:location"]["code"] == "params.region"
    diag = diagnosis(result, "invalid_region")
    assert "AZCM0020" in diag["azcm"]
    # The run still completes: global endpoints and the credential checks are judged.
    assert by_id[f"https:{ARM_HOST}:443"]["status"] == "pass"
    for check_id in AUTH_IDS:
        assert by_id[check_id]["status"] == "pass", by_id[check_id]
    assert result.returncode == 2
