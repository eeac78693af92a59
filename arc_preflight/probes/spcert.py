"""The ``--service-principal-cert`` file, judged the way ``azcmagent connect`` needs it.

The agent reads a PKCS #12 (.pfx) file or a PEM file holding both the certificate and its
private key; it cannot open a password-protected PFX or an encrypted PEM key, and Entra ID
refuses a certificate outside its validity period (azcmagent-connect.md, "Service principal with
certificate"). Each of those is told apart here, offline, so the admin gets the one fix that
applies before connect fails halfway. With ``--auth`` the same key signs the client assertion
the token request carries (:func:`client_assertion`), which is how a certificate signs in.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from ..model import Outcome, ProbeContext, Result, Status

MAX_CERT_FILE = 1024 * 1024  # a certificate with its key and chain is a few KiB
_KEY_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]{0,40}PRIVATE KEY)-----[A-Za-z0-9+/=:,\s-]{1,65536}?"
                        rb"-----END \1-----")


class CertProblem(Exception):
    """Why the file cannot be used; ``code`` is the failure code the knowledge base maps."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Credential:
    certificate: Any  # cryptography x509.Certificate
    key: Any  # its private key
    thumbprint: str  # SHA-1 of the DER certificate, upper-case hex, as Entra ID shows it

    def not_after(self) -> dt.datetime:
        return _not_after(self.certificate)


def _not_after(cert: Any) -> dt.datetime:
    try:
        return cert.not_valid_after_utc  # type: ignore[no-any-return]
    except AttributeError:  # pragma: no cover - cryptography < 42
        return cert.not_valid_after.replace(tzinfo=dt.timezone.utc)  # type: ignore[no-any-return]


def _not_before(cert: Any) -> dt.datetime:
    try:
        return cert.not_valid_before_utc  # type: ignore[no-any-return]
    except AttributeError:  # pragma: no cover - cryptography < 42
        return cert.not_valid_before.replace(tzinfo=dt.timezone.utc)  # type: ignore[no-any-return]


def _read(path: str) -> bytes:
    from ..fileio import NotRegularFile, read_regular

    try:
        data = read_regular(path, MAX_CERT_FILE, "--service-principal-cert")
    except NotRegularFile as exc:
        raise CertProblem("params.sp_cert_unreadable", str(exc.strerror)) from None
    except FileNotFoundError:
        raise CertProblem("params.sp_cert_unreadable", f"{path} does not exist") from None
    except PermissionError:
        raise CertProblem("params.sp_cert_unreadable",
                          f"{path} is not readable by this user (permission denied)") from None
    except OSError as exc:
        raise CertProblem("params.sp_cert_unreadable",
                          f"{path} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_CERT_FILE:
        raise CertProblem("params.sp_cert_format", f"{path} is far too large for a certificate")
    if not data.strip():
        raise CertProblem("params.sp_cert_format", f"{path} is empty")
    return data


def _same_key(cert: Any, key: Any) -> bool:
    from cryptography.hazmat.primitives import serialization

    def raw(public: Any) -> bytes:
        return bytes(public.public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))

    return raw(cert.public_key()) == raw(key.public_key())


def _from_pem(path: str, data: bytes) -> Credential:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if b"ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data:
        raise CertProblem("params.sp_cert_password",
                          f"{path}: the private key is encrypted with a password, which the "
                          "agent cannot use")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise CertProblem("params.sp_cert_format", f"{path} holds no PEM certificate")
    block = _KEY_BLOCK.search(data)
    if block is None:
        raise CertProblem("params.sp_cert_no_key",
                          f"{path} holds the certificate but not its private key")
    try:
        key = serialization.load_pem_private_key(block.group(0), password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        raise CertProblem("params.sp_cert_password",
                          f"{path}: the private key is encrypted with a password, which the "
                          "agent cannot use") from None
    except Exception as exc:  # cryptography raises several kinds for a damaged key
        raise CertProblem("params.sp_cert_format",
                          f"{path}: the private key cannot be read ({type(exc).__name__})"
                          ) from None
    return _pair(path, certs, key)


def _from_pfx(path: str, data: bytes) -> Credential:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, None)
    except ValueError:
        try:
            x509.load_der_x509_certificate(data)
        except ValueError:
            pass
        else:
            raise CertProblem("params.sp_cert_no_key",
                              f"{path} is a certificate alone (DER), without its private "
                              "key") from None
        if data[:1] == b"\x30":  # an ASN.1 sequence: a PKCS #12 file that wants a password
            raise CertProblem("params.sp_cert_password",
                              f"{path} is a PKCS #12 file that cannot be opened without a "
                              "password; the agent does not support password-protected PFX "
                              "files") from None
        raise CertProblem("params.sp_cert_format",
                          f"{path} is neither a PEM file nor a PKCS #12 (.pfx) file") from None
    certs = [c for c in (cert, *(extra or ())) if c is not None]
    if not certs:
        raise CertProblem("params.sp_cert_format", f"{path} holds no certificate")
    if key is None:
        raise CertProblem("params.sp_cert_no_key",
                          f"{path} holds the certificate but not its private key")
    return _pair(path, certs, key)


def _pair(path: str, certs: Any, key: Any) -> Credential:
    from cryptography.hazmat.primitives import serialization

    match = next((c for c in certs if _same_key(c, key)), None)
    if match is None:
        raise CertProblem("params.sp_cert_no_key",
                          f"{path}: the private key does not belong to the certificate")
    der = match.public_bytes(serialization.Encoding.DER)
    return Credential(match, key, hashlib.sha1(der).hexdigest().upper())


def load(path: str) -> Credential:
    """The certificate and key of ``path``; raises :class:`CertProblem` saying what is wrong."""
    data = _read(path)
    if b"-----BEGIN" in data:
        return _from_pem(path, data)
    return _from_pfx(path, data)


def check(path: str, now: Optional[dt.datetime] = None) -> Outcome:
    """The file as the agent will read it, and the certificate's validity today."""
    try:
        cred = load(path)
    except CertProblem as exc:
        return Outcome(Status.FAIL, f"--service-principal-cert: {exc}", code=exc.code,
                       facts={"path": path})
    now = now or dt.datetime.now(dt.timezone.utc)
    not_after, not_before = cred.not_after(), _not_before(cred.certificate)
    subject = cred.certificate.subject.rfc4514_string()[:200]
    facts: Dict[str, Any] = {"path": path, "thumbprint": cred.thumbprint, "subject": subject,
                             "not_after": not_after.isoformat(),
                             "not_before": not_before.isoformat(),
                             "key_type": type(cred.key).__name__.lstrip("_")}
    if not_after < now:
        return Outcome(Status.FAIL, f"--service-principal-cert: the certificate {subject} "
                       f"expired on {not_after:%Y-%m-%d}", code="params.sp_cert_expired",
                       facts=facts)
    if not_before > now:
        return Outcome(Status.FAIL, f"--service-principal-cert: the certificate {subject} is "
                       f"not valid before {not_before:%Y-%m-%d %H:%M} UTC (check the clock)",
                       code="params.sp_cert_expired", facts=facts)
    days = (not_after - now).days
    return Outcome(Status.PASS, f"certificate {subject} with its private key, valid for "
                   f"{days} more days (thumbprint {cred.thumbprint})", facts=facts)


def probe(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    return check(str(ctx.settings.service_principal_cert))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def client_assertion(cred: Credential, client_id: str, audience: str) -> str:
    """A signed JWT that proves possession of the certificate's key to the token endpoint.

    Entra ID finds the registered certificate by the ``x5t`` header (the SHA-1 thumbprint) and
    checks the signature with its public key; ``aud`` is the token endpoint itself.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if not isinstance(cred.key, rsa.RSAPrivateKey):
        raise CertProblem("params.sp_cert_format", "the certificate's key is not an RSA key, "
                          "which a client assertion (RS256) needs")
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "x5t": _b64(bytes.fromhex(cred.thumbprint))}
    claims = {"aud": audience, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
              "nbf": now, "iat": now, "exp": now + 600}
    signing_input = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    signature = cred.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(),
                              hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"
