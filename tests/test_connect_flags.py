"""The newer ``azcmagent connect`` flags (issue 11 item 4), judged offline as the agent would.

Facts: azcmagent-connect.md (sign-in methods, one at a time; a certificate file must be a PFX or
PEM with the private key, not password-protected), agent release notes for the first version of
each flag (data/connect_flags.toml). The fake ``az`` prints the shape of ``az account show``:
the fields of the profile entry shown in https://github.com/Azure/azure-cli/issues/12750
(``environmentName``, ``id``, ``isDefault``, ``name``, ``state``, ``tenantId``, ``user`` with
``name`` and ``type``) plus ``homeTenantId`` and ``managedByTenants`` as ``az login`` prints them
in https://learn.microsoft.com/cli/azure/authenticate-azure-cli; signed out it writes
``ERROR: Please run 'az login' to setup account.`` to stderr and exits 1, as in
https://github.com/Azure/azure-cli/issues/33414.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import stat
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from arc_preflight import kb
from arc_preflight.config import Settings, build
from arc_preflight.model import ProbeContext, Result, Status
from arc_preflight.probes import azcli, connectflags, params, spcert

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
APP = "9a3e1c55-0b3b-4a8e-8d5c-1f2e3d4c5b6a"


def ctx(**flags: Any) -> ProbeContext:
    return ProbeContext(timeout=5.0, settings=Settings(**flags),
                        deadline_at=time.monotonic() + 30)


# --------------------------------------------------------------------------------------------
# certificate files


def make_cert(days_from: int = -1, days_to: int = 365, key: Any = None,
              name: str = "arc-onboarding") -> Tuple[Any, Any]:
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=days_from))
            .not_valid_after(now + dt.timedelta(days=days_to))
            .sign(key, hashes.SHA256()))
    return cert, key


def pem(cert: Any, key: Any = None, password: Optional[bytes] = None) -> bytes:
    data = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        encryption: Any = (serialization.BestAvailableEncryption(password) if password
                           else serialization.NoEncryption())
        data += key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8, encryption)
    return data


def pfx(cert: Any, key: Any, password: Optional[bytes] = None) -> bytes:
    encryption: Any = (serialization.BestAvailableEncryption(password) if password
                       else serialization.NoEncryption())
    return pkcs12.serialize_key_and_certificates(b"arc", key, cert, None, encryption)


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_pem_with_key_passes(tmp_path: Path) -> None:
    cert, key = make_cert()
    out = spcert.check(write(tmp_path, "sp.pem", pem(cert, key)))
    assert out.status is Status.PASS, out.summary
    der = cert.public_bytes(serialization.Encoding.DER)
    import hashlib

    assert out.facts["thumbprint"] == hashlib.sha1(der).hexdigest().upper()
    assert "arc-onboarding" in out.summary


def test_pem_key_before_certificate_and_a_chain(tmp_path: Path) -> None:
    cert, key = make_cert()
    other, _ = make_cert(name="some-ca")
    data = (key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())
            + other.public_bytes(serialization.Encoding.PEM) + pem(cert))
    out = spcert.check(write(tmp_path, "sp.pem", data))
    assert out.status is Status.PASS, out.summary
    assert "arc-onboarding" in out.facts["subject"]


def test_pfx_without_password_passes(tmp_path: Path) -> None:
    cert, key = make_cert()
    out = spcert.check(write(tmp_path, "sp.pfx", pfx(cert, key)))
    assert out.status is Status.PASS, out.summary


@pytest.mark.parametrize("kind", ["pfx", "pem"])
def test_password_protected(tmp_path: Path, kind: str) -> None:
    cert, key = make_cert()
    data = pfx(cert, key, b"Secr3t!") if kind == "pfx" else pem(cert, key, b"Secr3t!")
    out = spcert.check(write(tmp_path, f"sp.{kind}", data))
    assert (out.status, out.code) == (Status.FAIL, "params.sp_cert_password")
    assert "password" in out.summary
    cause = kb.load().for_failure(out.code)
    assert cause is not None and cause.id == "sp_cert_password_protected"
    assert any("openssl pkcs12" in step for step in cause.remedy)


def test_traditional_encrypted_pem_key(tmp_path: Path) -> None:
    cert, key = make_cert()
    data = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.BestAvailableEncryption(b"pw"))
    out = spcert.check(write(tmp_path, "sp.pem", pem(cert) + data))
    assert out.code == "params.sp_cert_password"


@pytest.mark.parametrize("shape", ["pem-cert-only", "der-cert-only", "other-key", "pfx-no-key"])
def test_without_its_private_key(tmp_path: Path, shape: str) -> None:
    cert, _ = make_cert()
    if shape == "pem-cert-only":
        data = pem(cert)
    elif shape == "der-cert-only":
        data = cert.public_bytes(serialization.Encoding.DER)
    elif shape == "other-key":
        _, stranger = make_cert()
        data = pem(cert, stranger)
    else:
        data = pkcs12.serialize_key_and_certificates(b"arc", None, None, [cert],
                                                      serialization.NoEncryption())
    out = spcert.check(write(tmp_path, "sp.bin", data))
    assert (out.status, out.code) == (Status.FAIL, "params.sp_cert_no_key"), out.summary
    assert kb.load().for_failure(out.code).id == "sp_cert_incomplete"  # type: ignore[union-attr]


BROKEN_PEM = b"-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("data", [b"", b"not a certificate at all\n", BROKEN_PEM])
def test_not_a_certificate(tmp_path: Path, data: bytes) -> None:
    out = spcert.check(write(tmp_path, "sp.pem", data))
    assert (out.status, out.code) == (Status.FAIL, "params.sp_cert_format"), out.summary


def test_missing_directory_and_fifo(tmp_path: Path) -> None:
    for path in (str(tmp_path / "nope.pem"), str(tmp_path)):
        out = spcert.check(path)
        assert out.code == "params.sp_cert_unreadable", out.summary
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    out = spcert.check(str(fifo))
    assert out.code == "params.sp_cert_unreadable" and time.monotonic() - started < 2


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    cert, key = make_cert()
    path = write(tmp_path, "sp.pem", pem(cert, key))
    os.chmod(path, 0)
    out = spcert.check(path)
    assert out.code == "params.sp_cert_unreadable" and "permission denied" in out.summary


@pytest.mark.parametrize(("start", "end", "word"), [(-400, -10, "expired"),
                                                     (5, 400, "not valid before")])
def test_outside_validity(tmp_path: Path, start: int, end: int, word: str) -> None:
    cert, key = make_cert(days_from=start, days_to=end)
    out = spcert.check(write(tmp_path, "sp.pem", pem(cert, key)))
    assert (out.status, out.code) == (Status.FAIL, "params.sp_cert_expired")
    assert word in out.summary
    cause = kb.load().for_failure(out.code)
    assert cause is not None and any("--create-cert" in s for s in cause.remedy)


def test_client_assertion_verifies_with_the_certificate(tmp_path: Path) -> None:
    cert, key = make_cert()
    cred = spcert.load(write(tmp_path, "sp.pem", pem(cert, key)))
    audience = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    token = spcert.client_assertion(cred, APP, audience)
    head, body, sig = token.split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, claims = json.loads(decode(head)), json.loads(decode(body))
    assert header["alg"] == "RS256"
    assert decode(header["x5t"]).hex().upper() == cred.thumbprint
    assert claims["aud"] == audience and claims["iss"] == claims["sub"] == APP
    assert claims["exp"] > time.time() > claims["nbf"] - 5
    cert.public_key().verify(decode(sig), f"{head}.{body}".encode(), padding.PKCS1v15(),
                             hashes.SHA256())
    _, stranger = make_cert()
    from cryptography.exceptions import InvalidSignature

    with pytest.raises(InvalidSignature):
        stranger.public_key().verify(decode(sig), f"{head}.{body}".encode(),
                                     padding.PKCS1v15(), hashes.SHA256())


def test_client_assertion_needs_rsa(tmp_path: Path) -> None:
    cert, key = make_cert(key=ec.generate_private_key(ec.SECP256R1()))
    cred = spcert.load(write(tmp_path, "sp.pem", pem(cert, key)))
    with pytest.raises(spcert.CertProblem):
        spcert.client_assertion(cred, APP, "https://login.microsoftonline.com/t/oauth2/v2.0/token")


# --------------------------------------------------------------------------------------------
# one sign-in method, and what each needs


BASE = dict(tenant_id=TENANT, subscription_id=SUB, resource_group="arc-rg", location="eastus")


@pytest.mark.parametrize(("flags", "given"), [
    (dict(service_principal_id=APP, service_principal_secret="s3cr3t-value",
          service_principal_cert="/x.pem"),
     ["--service-principal-secret", "--service-principal-cert"]),
    (dict(use_azcli=True, service_principal_id=APP),
     ["--use-azcli", "--service-principal-id"]),
    (dict(use_azcli=True, service_principal_id=APP, service_principal_cert="/x.pem"),
     ["--service-principal-cert", "--use-azcli"]),
])
def test_sign_in_methods_conflict(flags: Dict[str, Any], given: list) -> None:
    out = params.probe("required", ctx(**BASE, **flags), {})
    assert (out.status, out.code) == (Status.FAIL, "params.auth_conflict")
    assert out.facts["methods"] == given
    assert "s3cr3t-value" not in out.summary
    assert kb.load().for_failure("params.auth_conflict").id == "sign_in_methods_conflict"  # type: ignore[union-attr]


def test_certificate_sign_in_needs_the_application_id() -> None:
    out = params.probe("required", ctx(**BASE, service_principal_cert="/x.pem"), {})
    assert out.code == "params.missing" and out.facts["missing"] == ["--service-principal-id"]
    ok = params.probe("required", ctx(**BASE, service_principal_id=APP,
                                      service_principal_cert="/x.pem"), {})
    assert ok.status is Status.PASS and "certificate" in ok.summary


def test_azure_cli_needs_no_tenant() -> None:
    flags = {k: v for k, v in BASE.items() if k != "tenant_id"}
    out = params.probe("required", ctx(**flags, use_azcli=True), {})
    assert out.status is Status.PASS and "Azure CLI" in out.summary
    secret_flags = params.probe("required", ctx(**flags, service_principal_id=APP,
                                                service_principal_secret="x"), {})
    assert secret_flags.facts["missing"] == ["--tenant-id"]


def test_user_tenant_id_must_be_a_guid() -> None:
    bad = params.probe("user_tenant_id", ctx(user_tenant_id="contoso.com"), {})
    assert (bad.status, bad.code) == (Status.FAIL, "params.tenant_id")
    assert "--user-tenant-id" in bad.summary
    assert params.probe("user_tenant_id", ctx(user_tenant_id=OTHER_TENANT), {}).status \
        is Status.PASS


def test_rules_planned_for_the_new_flags() -> None:
    rules = params.applicable(Settings(use_azcli=True, user_tenant_id=OTHER_TENANT,
                                       service_principal_cert="/x.pem"))
    for rule in ("azcli", "user_tenant_id", "service_principal_cert", "agent_version",
                 "required"):
        assert rule in rules
    assert "agent_version" not in params.applicable(Settings())


def test_azure_local_cloud_name() -> None:
    out = params.probe("cloud", ctx(cloud="Azure.Local"), {})
    assert out.status is Status.PASS and "Azure.Local" in out.summary
    assert [r.flag for r in connectflags.requested(Settings(cloud="Azure.Local"))] == [
        "--cloud Azure.Local"]
    assert connectflags.requested(Settings(cloud="AzureCloud")) == []


# --------------------------------------------------------------------------------------------
# the installed agent's version against the flags


def agent_result(version: Optional[str], installed: bool = True) -> Result:
    facts: Dict[str, Any] = {"installed": installed}
    if version is not None:
        facts["version"] = version
    return Result("agent", "agent", "/var/opt/azcmagent", Status.PASS, "agent", facts=facts)


@pytest.mark.parametrize(("flags", "version", "status", "needs"), [
    (dict(use_azcli=True), "1.58.03160.1080", Status.FAIL, "--use-azcli needs 1.59"),
    (dict(use_azcli=True), "1.59.03216.1184", Status.PASS, None),
    (dict(enable_automatic_upgrade=True), "1.61.03319.859", Status.FAIL,
     "--enable-automatic-upgrade needs 1.62"),
    (dict(cloud="azure.local"), "1.66.03464.1310", Status.FAIL,
     "--cloud Azure.Local needs 1.67"),
    (dict(service_principal_cert="/x.pem"), "1.40.02664.1629", Status.FAIL,
     "--service-principal-cert needs 1.41"),
    (dict(user_tenant_id=OTHER_TENANT), "1.34.02440.1130", Status.FAIL,
     "--user-tenant-id needs 1.35"),
    (dict(user_tenant_id=OTHER_TENANT, use_azcli=True), "1.64.03414.2961", Status.PASS, None),
])
def test_agent_version_against_flags(flags: Dict[str, Any], version: str, status: Status,
                                     needs: Optional[str]) -> None:
    out = connectflags.probe(ctx(**flags), {"agent": agent_result(version)})
    assert out.status is status, out.summary
    if needs:
        assert out.code == "params.agent_too_old" and needs in out.summary
        assert version in out.summary
        cause = kb.load().for_failure(out.code)
        assert cause is not None and cause.id == "agent_too_old_for_flags"


def test_agent_version_before_install_and_unknown() -> None:
    flags = dict(use_azcli=True, enable_automatic_upgrade=True)
    before = connectflags.probe(ctx(**flags), {"agent": agent_result(None, installed=False)})
    assert before.status is Status.PASS and "1.62 or later" in before.summary
    unknown = connectflags.probe(ctx(**flags), {"agent": agent_result(None)})
    assert unknown.status is Status.SKIP and "unknown" in unknown.summary
    unplanned = connectflags.probe(ctx(**flags), {})
    assert unplanned.status is Status.SKIP


def test_version_parsing() -> None:
    assert connectflags.parse_version("1.59.03216.1184") == (1, 59)
    assert connectflags.parse_version("1.7") == (1, 7)
    assert connectflags.parse_version("unknown") is None
    assert connectflags.parse_version(None) is None


# --------------------------------------------------------------------------------------------
# --use-azcli with a fake az


ACCOUNT = {
    "environmentName": "AzureCloud", "homeTenantId": TENANT, "id": SUB, "isDefault": True,
    "managedByTenants": [], "name": "Contoso Production", "state": "Enabled",
    "tenantId": TENANT, "user": {"name": "admin@contoso.com", "type": "user"},
}


def fake_az(tmp_path: Path, stdout: str = "", stderr: str = "", code: int = 0,
            sleep: float = 0) -> str:
    (tmp_path / "out.txt").write_text(stdout)
    (tmp_path / "err.txt").write_text(stderr)
    script = tmp_path / "az"
    script.write_text("#!/bin/sh\n"
                      '[ "$1 $2" = "account show" ] || exit 9\n'
                      + (f"sleep {sleep}\n" if sleep else "")
                      + f'cat "{tmp_path}/out.txt"; cat "{tmp_path}/err.txt" >&2; exit {code}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_azcli_signed_in(tmp_path: Path) -> None:
    az = fake_az(tmp_path, json.dumps(ACCOUNT, indent=2))
    out = azcli.probe(ctx(use_azcli=True, azcli=az), {})
    assert out.status is Status.PASS, out.summary
    assert out.facts["account"] == "admin@contoso.com" and out.facts["tenant_id"] == TENANT
    assert "admin@contoso.com" in out.summary


def test_azcli_signed_out(tmp_path: Path) -> None:
    az = fake_az(tmp_path, stderr="ERROR: Please run 'az login' to setup account.\n", code=1)
    out = azcli.probe(ctx(use_azcli=True, azcli=az), {})
    assert (out.status, out.code) == (Status.FAIL, "params.azcli_signed_out")
    assert "az login" in out.summary
    cause = kb.load().for_failure(out.code)
    assert cause is not None and any("sudo az login" in s for s in cause.remedy)


def test_azcli_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    out = azcli.probe(ctx(use_azcli=True), {})
    assert (out.status, out.code) == (Status.FAIL, "params.azcli_missing")
    az = fake_az(tmp_path, json.dumps(ACCOUNT))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    found = azcli.probe(ctx(use_azcli=True), {})  # now first on PATH
    assert found.status is Status.PASS and found.facts["az"] == az


def test_azcli_other_cloud_and_tenant(tmp_path: Path) -> None:
    az = fake_az(tmp_path, json.dumps({**ACCOUNT, "environmentName": "AzureUSGovernment"}))
    out = azcli.probe(ctx(use_azcli=True, azcli=az), {})
    assert out.code == "params.azcli_wrong_cloud" and "az cloud set" in out.summary
    az = fake_az(tmp_path, json.dumps(ACCOUNT))
    out = azcli.probe(ctx(use_azcli=True, azcli=az, user_tenant_id=OTHER_TENANT), {})
    assert (out.status, out.code) == (Status.WARN, "params.azcli_tenant")


def test_azcli_garbage_and_other_errors(tmp_path: Path) -> None:
    az = fake_az(tmp_path, "WARNING: something\n")
    assert azcli.probe(ctx(use_azcli=True, azcli=az), {}).code == "params.azcli_error"
    az = fake_az(tmp_path, stderr="ERROR: The command failed with an unexpected error.", code=2)
    out = azcli.probe(ctx(use_azcli=True, azcli=az), {})
    assert (out.status, out.code) == (Status.WARN, "params.azcli_error")


def test_azcli_hang_is_cut_off(tmp_path: Path) -> None:
    az = fake_az(tmp_path, json.dumps(ACCOUNT), sleep=30)
    context = ProbeContext(timeout=1.0, settings=Settings(use_azcli=True, azcli=az),
                           deadline_at=time.monotonic() + 30)
    started = time.monotonic()
    out = azcli.probe(context, {})
    assert out.code == "params.azcli_error" and time.monotonic() - started < 5


# --------------------------------------------------------------------------------------------
# settings and the command line


def test_settings_from_flags_and_config(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('use-azcli = true\nenable-automatic-upgrade = true\n'
                      f'user-tenant-id = "{OTHER_TENANT}"\n')
    settings = build({}, str(config), environ={})
    assert settings.use_azcli and settings.enable_automatic_upgrade
    assert settings.user_tenant_id == OTHER_TENANT
    bad = tmp_path / "bad.toml"
    bad.write_text('use-azcli = "yes"\n')
    from arc_preflight.errors import ConfigError

    with pytest.raises(ConfigError, match="use_azcli must be true or false"):
        build({}, str(bad), environ={})


def test_cli_reports_conflict_and_certificate(run_cli_real_kb: Any, tmp_path: Path) -> None:
    cert, key = make_cert()
    path = write(tmp_path, "sp.pfx", pfx(cert, key, b"pw"))
    result = run_cli_real_kb(
        "check", "--only", "params", "--format", "json", "--agent-dir", str(tmp_path),
        "--tenant-id", TENANT, "--subscription-id", SUB, "--resource-group", "arc-rg",
        "--location", "eastus", "--service-principal-id", APP, "--service-principal-cert",
        path, "--use-azcli", "--enable-automatic-upgrade", "--cloud", "Azure.Local")
    doc = json.loads(result.out)
    rows = {c["id"]: c for c in doc["checks"]}
    assert rows["params:required"]["code"] == "params.auth_conflict"
    assert rows["params:service_principal_cert"]["code"] == "params.sp_cert_password"
    assert rows["params:cloud"]["status"] == "pass"
    assert rows["params:agent_version"]["status"] == "skip"  # --only params: no agent check
    assert "1.67" in rows["params:agent_version"]["summary"]
    causes = {d["cause_id"] for d in doc["diagnoses"]}
    assert {"sign_in_methods_conflict", "sp_cert_password_protected"} <= causes
    assert doc["settings"]["use_azcli"] is True
    assert doc["settings"]["service_principal_cert"] == path
    assert result.code == 2


def test_cli_agent_too_old_for_azcli(run_cli_real_kb: Any, tmp_path: Path) -> None:
    """End to end: the agent check reads ``azcmagent show -j`` (keys as in test_agent_show's
    sample, agent 1.58 disconnected) and the version check waits for it."""
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "agentconfig.json").write_text(json.dumps({"resourcename": "web01"}))
    show = {"agentVersion": "1.58.03160.1080", "status": "Disconnected", "resourceName": "",
            "lastHeartbeat": "", "agentErrorCode": "", "agentErrorDetails": ""}
    binary = tmp_path / "azcmagent"
    binary.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(show)}\nEOF\n")
    binary.chmod(0o755)
    az = fake_az(tmp_path, json.dumps(ACCOUNT))
    config = tmp_path / "c.toml"
    config.write_text(f'azcli = "{az}"\n')
    result = run_cli_real_kb(
        "check", "--only", "params", "--only", "agent", "--format", "json", "--agent-dir",
        str(folder), "--azcmagent", str(binary), "--config", str(config), "--subscription-id",
        SUB, "--resource-group", "arc-rg", "--location", "eastus", "--use-azcli")
    doc = json.loads(result.out)
    rows = {c["id"]: c for c in doc["checks"]}
    assert rows["agent"]["facts"]["version"] == "1.58.03160.1080"
    version = rows["params:agent_version"]
    assert (version["status"], version["code"]) == ("fail", "params.agent_too_old")
    assert "--use-azcli needs 1.59" in version["summary"]
    assert rows["params:azcli"]["status"] == "pass"
    assert rows["params:required"]["status"] == "pass"  # no --tenant-id needed with az
    assert "agent_too_old_for_flags" in {d["cause_id"] for d in doc["diagnoses"]}
    assert result.code == 2


# --------------------------------------------------------------------------------------------
# the sign-in request itself (no network: the request function is replaced)


class _Recorder:
    def __init__(self, status: int, body: Dict[str, Any]) -> None:
        self.status, self.body = status, body
        self.calls: list = []

    def __call__(self, ctx: Any, method: str, url: str, plan: Any, until: Any = None,
                 **kwargs: Any) -> Any:
        self.calls.append((method, url, kwargs.get("data")))
        reply = self

        class Response:
            status_code = reply.status
            text = json.dumps(reply.body)

        return Response()


def _targets(**extra: Any) -> Any:
    from arc_preflight.probes import auth

    return auth.AuthTargets(identity_url="https://login.microsoftonline.com",
                            arm_url="https://management.azure.com", tenant_id=TENANT,
                            subscription_id=SUB, resource_group="arc-rg",
                            resource_name="web01", client_id=APP, **extra)


def test_certificate_sign_in_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from arc_preflight.probes import auth

    cert, key = make_cert()
    path = write(tmp_path, "sp.pem", pem(cert, key))
    service = _Recorder(200, {"access_token": "eyJ.lab.token", "token_type": "Bearer"})
    monkeypatch.setattr(auth, "_request", service)
    out = auth.token_probe(_targets(sign_in_tenant=OTHER_TENANT), None, auth.TokenBox(), None,
                           ctx(), {}, cert=path)
    assert out.status is Status.PASS and "certificate" in out.summary
    method, url, form = service.calls[0]
    assert method == "POST"
    assert url == f"https://login.microsoftonline.com/{OTHER_TENANT}/oauth2/v2.0/token"
    assert "client_secret" not in form
    assert form["client_assertion_type"] == auth.JWT_BEARER
    from arc_preflight.redact import redact

    assert redact(f"x {form['client_assertion']} y") != f"x {form['client_assertion']} y"


def test_unusable_certificate_is_not_sent(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from arc_preflight.probes import auth

    service = _Recorder(200, {"access_token": "t"})
    monkeypatch.setattr(auth, "_request", service)
    out = auth.token_probe(_targets(), None, auth.TokenBox(), None, ctx(), {},
                           cert=str(tmp_path / "missing.pem"))
    assert (out.status, out.code) == (Status.FAIL, "params.sp_cert_unreadable")
    assert service.calls == []


@pytest.mark.parametrize("flag", ["--use-azcli", "--enable-automatic-upgrade",
                                  "--service-principal-cert", "--user-tenant-id"])
def test_old_agent_refusing_a_new_flag_is_recognised(flag: str) -> None:
    """cobra's refusal as an old agent prints it (the same shape the knowledge base already
    reads for any unknown flag); the newer-flag entry comes first."""
    found = kb.load().match_text(f"Error: unknown flag: {flag}")
    assert found and found[0].id == "agent_too_old_for_flags"
    other = kb.load().match_text("Error: unknown flag: --no-such-flag")
    assert other and other[0].id != "agent_too_old_for_flags"


def test_signed_out_azure_cli_message_is_recognised() -> None:
    found = kb.load().match_text("ERROR: Please run 'az login' to setup account.")
    assert found and found[0].id == "azure_cli_signed_out"


def test_scope_in_another_subscription_is_named_offline() -> None:
    scope = (f"/subscriptions/{OTHER_TENANT}/resourceGroups/net-rg/providers/"
             "Microsoft.HybridCompute/privateLinkScopes/arc-pls")
    out = params.probe("private_link_scope", ctx(private_link_scope=scope, subscription_id=SUB),
                       {})
    assert out.status is Status.PASS and out.facts["other_subscription"] is True
    assert f"in subscription {OTHER_TENANT}, not the machine's" in out.summary
    assert "add --auth" in out.summary
    same = params.probe("private_link_scope", ctx(
        private_link_scope=scope.replace(OTHER_TENANT, SUB), subscription_id=SUB, auth=True), {})
    assert same.facts["other_subscription"] is False and "subscription" not in same.summary
