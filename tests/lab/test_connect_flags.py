"""``check --auth`` with the newer connect inputs, against the lab's Entra ID and ARM stand-in.

* ``--service-principal-cert``: the CLI signs a client assertion with the file's private key; the
  stand-in finds the registered certificate by the assertion's ``x5t`` and verifies the RS256
  signature with that certificate, so an unregistered certificate or a wrong key is refused with
  AADSTS700027 as Entra ID refuses it.
* ``--private-link-scope`` in another subscription: the scope is read by its full resource id
  (Private Link Scopes - Get), found, missing, or forbidden to the identity.
* A machine of the same name elsewhere in the tenant: machines listed per subscription (Machines -
  List By Subscription) in every subscription the identity can list.
* ``--user-tenant-id``: the sign-in goes to the account's own tenant.

The stand-in (``azure_standin.py``) documents the response shapes and where they come from.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Dict, Tuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from . import test_auth
from .azure_standin import Azure
from .netlab import CliResult, Lab
from .test_auth import (
    APP,
    ARM_HOST,
    AUTH_IDS,
    ONBOARDING,
    SUB,
    TENANT,
    AzureStandin,
    arm_requests,
    auth_rows,
    causes,
    healthy_scenario,
    run_auth,
    token_requests,
)
from .test_scenarios import checks, diagnosis

pytestmark = pytest.mark.lab
azure = test_auth.azure  # the identity/ARM stand-in fixture, shared with the --auth tests

OTHER_SUB = "5c4b3a29-1d0e-4f8a-9b7c-444455556666"
USER_TENANT = "3e1f9d2c-7b6a-4c5d-8e9f-0a1b2c3d4e5f"
SCOPE_ID = (f"/subscriptions/{OTHER_SUB}/resourceGroups/net-rg/providers/"
            "Microsoft.HybridCompute/privateLinkScopes/arc-pls")


def make_cert(days_from: int = -1, days_to: int = 365) -> Tuple[Any, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arc-onboarding-lab")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=days_from))
            .not_valid_after(now + dt.timedelta(days=days_to)).sign(key, hashes.SHA256()))
    return cert, key


def cert_pem(cert: Any) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def write_credential(lab: Lab, cert: Any, key: Any) -> str:
    path = Path(lab.workdir) / "arc-sp.pem"
    path.write_text(cert_pem(cert) + key_pem(key))
    path.chmod(0o600)
    return str(path)


def key_body(key: Any) -> str:
    """A line from the middle of the private key's PEM: it must never be printed."""
    return key_pem(key).splitlines()[5]


def cert_scenario(*registered: Any) -> Dict[str, Any]:
    scenario = healthy_scenario()
    app = scenario["tenants"][TENANT]["apps"][APP]
    app.pop("secret")
    app["certificates"] = [cert_pem(c) for c in registered]
    return scenario


def run_cert(lab: Lab, path: str, *extra: str, only: Tuple[str, ...] = (
        "dns", "tcp", "tls", "https", "auth")) -> CliResult:
    return run_auth(lab, "--service-principal-cert", path, *extra, secret=None, only=only)


# --------------------------------------------------------------------------------------------
# certificate sign-in


def test_certificate_sign_in(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    cert, key = make_cert()
    standin = azure(cert_scenario(cert))
    result = run_cert(lab, write_credential(lab, cert, key))
    rows = auth_rows(result)
    for check_id in (*AUTH_IDS, "auth:machine-elsewhere"):
        assert rows[check_id]["status"] == "pass", rows[check_id]
    sign_in = rows["auth:sign-in"]
    thumbprint = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    assert "certificate" in sign_in["summary"]
    assert sign_in["facts"]["credential"] == f"certificate {thumbprint}"
    assert result.returncode == 0, result.data["diagnoses"]
    assert token_requests(standin) and all(r[3] == 200 for r in token_requests(standin))
    assert arm_requests(standin)
    assert key_body(key) not in result.stdout + result.stderr


def test_certificate_not_registered(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    registered, _ = make_cert()
    cert, key = make_cert()
    standin = azure(cert_scenario(registered))
    result = run_cert(lab, write_credential(lab, cert, key))
    rows = auth_rows(result)
    sign_in = rows["auth:sign-in"]
    assert (sign_in["status"], sign_in["code"]) == ("fail", "auth.invalid_certificate")
    assert "AADSTS700027" in sign_in["summary"]
    assert sign_in["facts"]["error_codes"] == [700027]
    for check_id in AUTH_IDS[1:]:
        assert rows[check_id]["blocked_by"] == "auth:sign-in"
    diag = diagnosis(result, "invalid_sp_secret")
    assert diag["cause_id"] == "sp_cert_not_registered"
    assert any("az ad app credential reset" in step for step in diag["remedy"])
    assert causes(result) == ["sp_cert_not_registered"]
    assert arm_requests(standin) == []
    assert result.returncode == 2


def test_expired_certificate_is_not_sent(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    cert, key = make_cert(days_from=-400, days_to=-2)
    standin = azure(cert_scenario(cert))
    result = run_cert(lab, write_credential(lab, cert, key),
                      only=("dns", "tcp", "tls", "https", "auth", "params"))
    by_id = checks(result)
    file_row = by_id["params:service_principal_cert"]
    assert (file_row["status"], file_row["code"]) == ("fail", "params.sp_cert_expired")
    rows = auth_rows(result)
    assert rows["auth:sign-in"]["status"] == "skip"
    assert rows["auth:sign-in"]["blocked_by"] == "params:service_principal_cert"
    assert "sp_cert_expired" in causes(result)
    assert token_requests(standin) == []
    assert result.returncode == 2


def test_standin_verifies_the_signature_with_the_registered_certificate() -> None:
    """The stand-in itself: the right key passes; a forged assertion that names the registered
    certificate (its x5t) but is signed with another key is refused, so the lab tests above
    prove a real signature."""
    cert, key = make_cert()
    _, stranger = make_cert()
    azure_ = Azure(cert_scenario(cert))
    url = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"

    def assertion(signer: Any) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).decode().rstrip("=")

        der = cert.public_bytes(serialization.Encoding.DER)
        head = b64(json.dumps({"alg": "RS256", "typ": "JWT",
                               "x5t": b64(hashlib.sha1(der).digest())}).encode())
        now = int(time.time())
        body = b64(json.dumps({"aud": url, "iss": APP, "sub": APP, "jti": "x", "nbf": now,
                               "exp": now + 600}).encode())
        sig = signer.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64(sig)}"

    def form(signer: Any) -> Dict[str, str]:
        return {"grant_type": "client_credentials", "client_id": APP,
                "scope": f"https://{ARM_HOST}/.default", "client_assertion": assertion(signer),
                "client_assertion_type":
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}

    path = f"/{TENANT}/oauth2/v2.0/token"
    status, body = azure_.sign_in("POST", path, form(key))
    assert status == 200 and body["access_token"]
    status, body = azure_.sign_in("POST", path, form(stranger))
    assert status == 401 and body["error_codes"] == [700027]
    assert "did not match the expected signature" in body["error_description"]


# --------------------------------------------------------------------------------------------
# --user-tenant-id


def test_sign_in_goes_to_the_user_tenant(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    """A Lighthouse-style setup: the service principal lives in the managing tenant, whose
    tokens the (delegated) subscription accepts."""
    scenario = healthy_scenario()
    scenario["tenants"][USER_TENANT] = scenario["tenants"].pop(TENANT)
    scenario["subscriptions"][SUB]["tenant"] = USER_TENANT
    standin = azure(scenario)
    result = run_auth(lab, "--user-tenant-id", USER_TENANT)
    assert auth_rows(result)["auth:sign-in"]["status"] == "pass"
    assert {r[2] for r in token_requests(standin)} == {f"/{USER_TENANT}/oauth2/v2.0/token"}
    assert auth_rows(result)["auth:machine-name"]["status"] == "pass"


# --------------------------------------------------------------------------------------------
# Private Link Scope in another subscription


def scope_scenario(permissions: Any = None, exists: bool = True) -> Dict[str, Any]:
    scenario = healthy_scenario()
    scenario["subscriptions"][OTHER_SUB] = {
        "tenant": TENANT, "displayName": "Contoso Network", "providers": {},
        "resourceGroups": {"net-rg": {
            "permissions": [ONBOARDING] if permissions is None else permissions,
            "machines": {},
            "privateLinkScopes": {"arc-pls": {"publicNetworkAccess": "Disabled",
                                              "location": "eastus"}} if exists else {}}}}
    return scenario


def run_scope(lab: Lab) -> CliResult:
    # Only the credential checks: with a scope the endpoint names must resolve privately, which
    # the lab's loopback answers are not (that is the DNS tests' subject, not this one's).
    return run_auth(lab, "--private-link-scope", SCOPE_ID, only=("auth",))


def test_scope_in_another_subscription_is_read(lab: Lab,
                                               azure: Callable[..., AzureStandin]) -> None:
    standin = azure(scope_scenario())
    result = run_scope(lab)
    row = auth_rows(result)["auth:private-link-scope"]
    assert row["status"] == "pass", row
    assert row["facts"]["other_subscription"] is True
    assert row["facts"]["public_network_access"] == "Disabled"
    assert "another subscription" in row["summary"] and OTHER_SUB in row["summary"]
    assert SCOPE_ID in {r[2] for r in arm_requests(standin)}
    assert result.returncode == 0, result.data["diagnoses"]


def test_scope_not_readable_by_the_identity(lab: Lab,
                                            azure: Callable[..., AzureStandin]) -> None:
    azure(scope_scenario(permissions=[]))
    result = run_scope(lab)
    row = auth_rows(result)["auth:private-link-scope"]
    assert (row["status"], row["code"]) == ("fail", "auth.pls_forbidden")
    assert row["facts"]["arm_code"] == "AuthorizationFailed"
    diag = diagnosis(result, "missing_role_permission")
    assert diag["cause_id"] == "private_link_scope_forbidden"
    assert any("--scope <private link scope id>" in step for step in diag["remedy"])
    assert result.returncode == 2


def test_scope_does_not_exist(lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    azure(scope_scenario(exists=False))
    result = run_scope(lab)
    row = auth_rows(result)["auth:private-link-scope"]
    assert (row["status"], row["code"]) == ("fail", "auth.pls_not_found")
    assert diagnosis(result, "private_link_scope_required")["cause_id"] == \
        "private_link_scope_not_found"
    assert result.returncode == 2


# --------------------------------------------------------------------------------------------
# the machine name elsewhere in the tenant


@pytest.mark.parametrize("where", ["other-subscription", "other-group"])
def test_machine_onboarded_elsewhere(lab: Lab, azure: Callable[..., AzureStandin],
                                     where: str) -> None:
    scenario = scope_scenario()
    sub = OTHER_SUB if where == "other-subscription" else SUB
    groups = scenario["subscriptions"][sub]["resourceGroups"]
    groups["old-rg"] = {"permissions": [ONBOARDING], "machines": {"WEB01": {
        "status": "Disconnected"}}}
    azure(scenario)
    result = run_auth(lab)
    row = auth_rows(result)["auth:machine-elsewhere"]
    assert (row["status"], row["code"]) == ("warn", "auth.machine_elsewhere")
    found = row["facts"]["found"]
    assert [(f["subscription_id"], f["resource_group"], f["status"]) for f in found] == [
        (sub, "old-rg", "Disconnected")]
    assert auth_rows(result)["auth:machine-name"]["status"] == "pass"  # free in arc-rg itself
    diag = diagnosis(result, "resource_exists")
    assert diag["cause_id"] == "machine_onboarded_elsewhere" and diag["severity"] == "warn"
    assert result.returncode == 1


def test_machine_search_says_what_it_could_not_list(
        lab: Lab, azure: Callable[..., AzureStandin]) -> None:
    scenario = scope_scenario()
    scenario["subscriptions"][OTHER_SUB]["list_forbidden"] = True
    scenario["subscriptions"][OTHER_SUB]["resourceGroups"]["net-rg"]["machines"] = {
        "web01": {"status": "Connected"}}
    azure(scenario)
    result = run_auth(lab)
    row = auth_rows(result)["auth:machine-elsewhere"]
    assert row["status"] == "pass"
    assert row["facts"]["not_searched"] == [OTHER_SUB]
    assert row["facts"]["searched"] == [SUB]
    assert "could not be listed" in row["summary"]
