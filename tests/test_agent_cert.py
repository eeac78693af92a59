"""The managed-identity certificate read the way the agent writes it (issue 15, item 1).

The agent's file is ``myCert`` (no extension) in ``/var/opt/azcmagent/certs`` and ``myCert.cer``
in ``C:\\ProgramData\\AzureConnectedMachineAgent\\Certs``; public readers of the real file
base64-decode it and open it as a PKCS#12 bundle without a password: NetSPI/MicroBurst
``Az/Get-AzArcCertificates.ps1`` (``cat /var/opt/azcmagent/certs/myCert``,
``[Convert]::FromBase64String`` to a ``.pfx``, ``Get-PfxCertificate``) and BishopFox/cloudfox
``internal/azure/arc_helpers.go`` (``base64 -d > X.pfx``; ``openssl pkcs12 -passin pass:``).
The 90-day validity and renewal at 45 days left: Microsoft's
``articles/azure-arc/servers/security-identity-authorization.md`` (azure-management-docs),
line 19. The fixtures below build a file of that shape with cryptography.

The Windows folder cannot be exercised on this Linux machine: the test points the probe at a
fake ``ProgramData`` tree with ``sys.platform`` patched, which runs the same code path.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from pathlib import Path
from typing import Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from arc_preflight.config import Settings
from arc_preflight.model import ProbeContext, Status
from arc_preflight.probes import agent

NOW = dt.datetime.now(dt.timezone.utc)


def ctx() -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)


def make_cert(days_left: float) -> tuple:
    key = ec.generate_private_key(ec.SECP256R1())
    # The real subject is the managed identity's application id; any GUID-like CN will do.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "3f1c9c2e-0000-4000-8000-000000000001")])
    not_after = NOW + dt.timedelta(days=days_left)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_after - dt.timedelta(days=90)).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    return key, cert


def my_cert(days_left: float, password: Optional[bytes] = None, wrap: bool = False) -> bytes:
    """What the agent writes: base64 of a PKCS#12 bundle (key and certificate), no password."""
    key, cert = make_cert(days_left)
    protection = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    blob = pkcs12.serialize_key_and_certificates(None, key, cert, None, protection)
    text = base64.b64encode(blob)
    if wrap:  # base64 tools that wrap at 76 columns
        text = b"\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + b"\n"
    return text


def linux_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "azcmagent"
    (folder / "certs").mkdir(parents=True)
    return folder


def test_real_shaped_mycert_is_read(tmp_path: Path) -> None:
    folder = linux_dir(tmp_path)
    (folder / "certs" / "myCert").write_bytes(my_cert(80))
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert out.status is Status.PASS, out
    assert out.code is None
    assert out.facts["certificates"][0]["format"] == "pkcs12-base64"
    assert out.facts["certificates"][0]["file"] == "myCert"
    assert 79 <= out.facts["days_left"] <= 80
    assert out.facts["renewal_due"] is False
    renews = dt.datetime.strptime(out.facts["renews_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs((renews.replace(tzinfo=dt.timezone.utc) - NOW).days - 35) <= 1
    assert "renewal from" in out.summary


def test_base64_wrapped_in_lines_is_read(tmp_path: Path) -> None:
    folder = linux_dir(tmp_path)
    (folder / "certs" / "myCert").write_bytes(my_cert(60, wrap=True))
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert out.status is Status.PASS and out.facts["certificates"][0]["format"] == "pkcs12-base64"


@pytest.mark.parametrize(("days", "status", "code", "due"), [
    (40, Status.PASS, None, True),           # inside the 45-day renewal window
    (10, Status.WARN, "agent.cert_expiring", True),
    (-3, Status.FAIL, "agent.cert_expired", True),
])
def test_expiry_and_the_45_day_renewal(tmp_path: Path, days: float, status: Status,
                                       code: Optional[str], due: bool) -> None:
    folder = linux_dir(tmp_path)
    (folder / "certs" / "myCert").write_bytes(my_cert(days))
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert (out.status, out.code) == (status, code), out
    assert out.facts["renewal_due"] is due
    if status is Status.PASS:
        assert "renewal is due" in out.summary and "45" in out.summary


def test_password_protected_bundle_is_named_not_misread(tmp_path: Path) -> None:
    folder = linux_dir(tmp_path)
    (folder / "certs" / "myCert").write_bytes(my_cert(80, password=b"secret"))
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert out.status is Status.SKIP
    assert "password" in out.summary
    assert out.facts["unreadable"]


def test_garbage_file_is_reported_unreadable(tmp_path: Path) -> None:
    folder = linux_dir(tmp_path)
    (folder / "certs" / "myCert").write_bytes(b"not a certificate at all\x00\x01")
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert out.status is Status.SKIP and "myCert" in out.summary


@pytest.mark.parametrize("encoding", ["pem", "der"])
def test_older_pem_and_der_files_still_read(tmp_path: Path, encoding: str) -> None:
    folder = linux_dir(tmp_path)
    _key, cert = make_cert(100)
    data = cert.public_bytes(serialization.Encoding.PEM if encoding == "pem"
                             else serialization.Encoding.DER)
    (folder / "certs" / "himds.crt").write_bytes(data)
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert out.status is Status.PASS
    assert out.facts["certificates"][0]["format"] == encoding


def test_agent_file_wins_over_left_overs(tmp_path: Path) -> None:
    """An expired copy beside myCert is not the identity: only the agent's file is judged."""
    folder = linux_dir(tmp_path)
    (folder / "certs" / "myCert").write_bytes(my_cert(70))
    _key, old = make_cert(-200)
    (folder / "certs" / "old.pem").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    out = agent.certificate_probe(str(folder), ctx(), {})
    assert out.status is Status.PASS and out.facts["files"] == 1


def test_no_certificate_before_connect(tmp_path: Path) -> None:
    out = agent.certificate_probe(str(linux_dir(tmp_path)), ctx(), {})
    assert out.status is Status.SKIP and "not connected yet" in out.summary


def test_windows_mycert_cer_beside_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows keeps Certs\\myCert.cer beside Config (the --agent-dir); faked on Linux."""
    monkeypatch.setattr(agent.sys, "platform", "win32")
    base = tmp_path / "ProgramData" / "AzureConnectedMachineAgent"
    (base / "Config").mkdir(parents=True)
    (base / "Certs").mkdir()
    (base / "Certs" / "myCert.cer").write_bytes(my_cert(50))
    out = agent.certificate_probe(str(base / "Config"), ctx(), {})
    assert out.status is Status.PASS, out
    assert out.facts["certificates"][0] == {
        "file": "myCert.cer", "format": "pkcs12-base64",
        "not_after": out.facts["not_after"]}


def test_load_identity_certificate_formats() -> None:
    key, cert = make_cert(30)
    raw = pkcs12.serialize_key_and_certificates(b"x", key, cert, None,
                                                serialization.NoEncryption())
    assert agent.load_identity_certificate(raw)[1] == "pkcs12"
    assert agent.load_identity_certificate(base64.b64encode(raw))[1] == "pkcs12-base64"
    der = cert.public_bytes(serialization.Encoding.DER)
    assert agent.load_identity_certificate(base64.b64encode(der))[1] == "der-base64"
    with pytest.raises(ValueError):
        agent.load_identity_certificate(b"")
