"""TLS: handshake with SNI as the agent does, verify the chain, and explain a chain that fails.

When verification fails the handshake is repeated without verification, only to read the
certificate and name who issued it: "signed by Contoso Inspection CA" is what tells an admin that a
proxy is intercepting TLS. A server that only speaks TLS 1.0/1.1 is recognised by a second attempt
that allows them, so it is reported as a protocol problem rather than a vague handshake failure.
"""

from __future__ import annotations

import fnmatch
import socket
import ssl
import time
from functools import lru_cache
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from ..datafiles import read_toml
from ..model import Outcome, ProbeContext, Result, Status
from .netutil import classify_socket_error, connect
from .proxy import TunnelError, tunnel
from .proxyplan import ProxyPlan
from .trust import examining_context, legacy_context, verified_context

# Verification error numbers -> failure code (the one table for verification failures):
# OpenSSL's X509_V_ERR_* where Python's ssl verifies, and the Windows CERT_E_*/CRYPT_E_* values
# that truststore reports where Windows verifies (as unsigned DWORDs).
_VERIFY_CODES = {
    9: "tls.expired",  # not yet valid
    10: "tls.expired",
    62: "tls.hostname_mismatch",
    64: "tls.hostname_mismatch",  # IP address mismatch
    2: "tls.untrusted",
    18: "tls.untrusted",
    19: "tls.untrusted",
    20: "tls.untrusted",
    21: "tls.untrusted",
    0x800B0101: "tls.expired",  # CERT_E_EXPIRED
    0x800B010F: "tls.hostname_mismatch",  # CERT_E_CN_NO_MATCH
    0x800B0109: "tls.untrusted",  # CERT_E_UNTRUSTEDROOT
    0x800B010A: "tls.untrusted",  # CERT_E_CHAINING
}
_NOT_YET_VALID = 9
_OLD = {"TLSv1", "TLSv1.1", "SSLv3"}


def _rdn_value(name: Any, *keys: str) -> Optional[str]:
    for key in keys:
        for rdn in name or ():
            for attr, value in rdn:
                if attr == key:
                    return str(value)
    return None


def describe_verified(cert: Mapping[str, Any]) -> Dict[str, Any]:
    """Issuer, subject and expiry from the dict ssl gives for a verified peer.

    Reading the verified certificate this way keeps cryptography (about 14 MB) out of a healthy
    run; it is loaded only to examine chains that failed verification.
    """
    if not cert:
        return {}
    facts: Dict[str, Any] = {
        "issuer": _rdn_value(cert.get("issuer"), "commonName", "organizationName") or "?",
        "subject": _rdn_value(cert.get("subject"), "commonName", "organizationName") or "?",
    }
    not_after = cert.get("notAfter")
    if not_after:

        try:
            when = time.gmtime(ssl.cert_time_to_seconds(str(not_after)))
            facts["not_after"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", when)
        except ValueError:
            facts["not_after"] = str(not_after)
    serial = str(cert.get("serialNumber", ""))
    facts["negative_serial"] = serial.startswith("-")
    facts.update(revocation_urls([cert]))
    return facts


def revocation_urls(certs: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """The CRL distribution points and OCSP responders the certificates name (ssl's dicts).

    Read from the certificates, not from a list: they are what Windows and some agents fetch
    over HTTP port 80 to check revocation, so they are what a firewall must allow.
    """
    crl: Dict[str, None] = {}
    ocsp: Dict[str, None] = {}
    for cert in certs:
        for url in cert.get("crlDistributionPoints") or ():
            crl[str(url)] = None
        for url in cert.get("OCSP") or ():
            ocsp[str(url)] = None
    return {"crl": list(crl), "ocsp": list(ocsp)} if crl or ocsp else {}


def describe_certificate(der: Optional[bytes]) -> Dict[str, Any]:
    """Issuer, subject, validity and serial of a DER certificate, as far as they can be read."""
    if not der:
        return {}
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
    except ImportError:  # pragma: no cover
        return {}
    try:
        cert = x509.load_der_x509_certificate(der)
    except Exception as exc:  # cryptography rejects some malformed certificates outright
        return {"certificate_error": str(exc)[:200]}

    def name(value: Any) -> str:
        for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
            attrs = value.get_attributes_for_oid(oid)
            if attrs:
                return str(attrs[0].value)
        return str(value.rfc4514_string())

    facts: Dict[str, Any] = {
        "issuer": name(cert.issuer),
        "issuer_dn": cert.issuer.rfc4514_string(),
        "subject": name(cert.subject),
    }
    try:
        not_after = cert.not_valid_after_utc
    except AttributeError:  # pragma: no cover - cryptography < 42
        not_after = cert.not_valid_after
    facts["not_after"] = not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    facts["negative_serial"] = cert.serial_number < 0
    return facts


def _open(
    host: str, port: int, route: str, plan: Optional[ProxyPlan], via: str,
    deps: Mapping[str, Result], timeout: float,
) -> socket.socket:
    if route != "direct" and plan is not None:
        return tunnel(plan, host, port, timeout, deps[via].facts.get("address"))
    return connect(str(deps[via].facts["address"]), port, timeout)


def _handshake(
    context: ssl.SSLContext, raw: socket.socket, host: str, timeout: float
) -> ssl.SSLSocket:
    raw.settimeout(timeout)
    return context.wrap_socket(raw, server_hostname=host)


def _failure_from_ssl(exc: BaseException) -> Tuple[str, str]:
    """Map a handshake exception (other than verification) to a failure code."""
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "tls.timeout", "handshake timed out (the server or a middlebox stopped answering)"
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return "tls.reset", "connection closed during the handshake (after ClientHello)"
    if isinstance(exc, ssl.SSLError):
        said = getattr(exc, "reason", None) or str(exc)
        reason = said.lower()
        if "wrong_version_number" in reason or "record layer failure" in reason:
            # The first bytes back were not a TLS record: plain HTTP, or a proxy in the way.
            return "tls.handshake_failure", ("the other end does not speak TLS on this port "
                                             f"(a plain-HTTP service or a proxy?) ({said})")
        if "unsupported_protocol" in reason or "unsupported protocol" in reason or \
                "wrong_version" in reason or "no_protocols" in reason or "version" in reason:
            return "tls.handshake_failure", f"no common TLS version ({said})"
        if "handshake_failure" in reason or "alert" in reason or "cipher" in reason:
            return "tls.handshake_failure", f"handshake refused by the server ({said})"
        return "tls.error", f"TLS error: {said}"
    if isinstance(exc, OSError):
        kind, text = classify_socket_error(exc)
        if kind == "reset":
            return "tls.reset", "connection reset during the handshake (after ClientHello)"
        if kind == "timeout":
            return "tls.timeout", "handshake timed out"
        return "tls.error", text
    return "tls.error", str(exc)


def probe(
    host: str, port: int, route: str, plan: Optional[ProxyPlan], via: str,
    ctx: ProbeContext, deps: Mapping[str, Result], strict_issuer: bool = False,
) -> Outcome:
    """``strict_issuer``: an issuer Microsoft does not use is a failure, not a warning (the
    Arc gateway's own name, which an inspecting proxy breaks even with a CA this machine
    trusts)."""
    budget = ctx.budget()
    started = time.monotonic()
    facts: Dict[str, Any] = {"sni": host, "route": route}
    if route == "direct":
        facts["address"] = deps[via].facts.get("address")

    def left() -> float:
        return max(0.05, budget - (time.monotonic() - started))

    context = verified_context(ctx.settings.ca_bundle)
    try:
        raw = _open(host, port, route, plan, via, deps, left())
    except TunnelError as exc:
        facts.update(exc.facts)
        return Outcome(Status.FAIL, exc.text, code=exc.code, facts=facts)
    except OSError as exc:
        kind, text = classify_socket_error(exc)
        return Outcome(Status.FAIL, f"could not reconnect for the handshake: {text}",
                       code={"timeout": "tls.timeout", "reset": "tls.reset"}.get(kind,
                                                                                  "tls.error"),
                       facts=facts)
    try:
        tls = _handshake(context, raw, host, left())
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        number = exc.verify_code & 0xFFFFFFFF if exc.verify_code < 0 else exc.verify_code
        code = _VERIFY_CODES.get(number, "tls.untrusted")
        facts.update({"verify_code": exc.verify_code, "verify_message": exc.verify_message})
        facts.update(_examine(host, port, route, plan, via, deps, left()))
        issuer = facts.get("issuer", "an unknown issuer")
        expired = (f"certificate not yet valid (issuer {issuer}): is this machine's clock "
                   "behind?" if number == _NOT_YET_VALID else
                   f"certificate expired or not yet valid (issuer {issuer})")
        text = {
            "tls.expired": expired,
            "tls.hostname_mismatch": f"certificate does not name {host} (issued to "
                                     f"{facts.get('subject', '?')} by {issuer})",
        }.get(code, f"certificate chain not trusted: issued by {issuer!r} "
                    f"({exc.verify_message})")
        return Outcome(Status.FAIL, text, code=code, facts=facts)
    except (OSError, ssl.SSLError) as exc:
        raw.close()
        code, text = _failure_from_ssl(exc)
        if code == "tls.handshake_failure" and "does not speak TLS" not in text:
            old = _legacy_version(host, port, route, plan, via, deps, left())
            if old:
                facts["server_max_version"] = old
                return Outcome(Status.FAIL, f"server only offers {old}; TLS 1.2 or newer is "
                               "required", code="tls.protocol_old", facts=facts)
        return Outcome(Status.FAIL, text, code=code, facts=facts)
    with tls:
        version = tls.version() or "?"
        cipher = tls.cipher()
        facts.update({"version": version, "cipher": cipher[0] if cipher else None})
        facts.update(describe_verified(tls.getpeercert() or {}))
        chain = getattr(tls, "get_verified_chain", None)  # Python 3.13+: intermediates too
        if chain is not None:
            try:
                infos = [c.get_info() for c in chain() or ()]
            except (ValueError, AttributeError):  # pragma: no cover - defensive
                infos = []
            more = revocation_urls(infos)
            if more:
                facts["crl"] = list(dict.fromkeys([*facts.get("crl", []), *more.get("crl", [])]))
                facts["ocsp"] = list(dict.fromkeys([*facts.get("ocsp", []),
                                                    *more.get("ocsp", [])]))
    issuer = str(facts.get("issuer", "?"))
    summary = f"{version}, {facts.get('cipher')}, issuer {issuer}"
    if version in _OLD:
        return Outcome(Status.WARN, f"negotiated {version}; TLS 1.2 or newer is expected",
                       code="tls.protocol_old", facts=facts)
    if not issuer_expected(issuer, ctx.settings.expected_issuers):
        facts["expected_issuer"] = False
        return Outcome(Status.FAIL if strict_issuer else Status.WARN,
                       f"{summary}: not an issuer Microsoft uses (TLS inspection by a CA this "
                       "machine trusts?)", code="tls.unexpected_issuer", facts=facts)
    if facts.get("negative_serial"):
        return Outcome(Status.WARN, f"{summary}; certificate has a negative serial number",
                       code="tls.negative_serial", facts=facts)
    return Outcome(Status.PASS, summary, facts=facts)


@lru_cache(maxsize=1)
def _expected_issuers() -> Tuple[str, ...]:
    return tuple(read_toml("issuers.toml")["expected"])


def issuer_expected(issuer: str, extra: Sequence[str] = ()) -> bool:
    """Is ``issuer`` one that Microsoft's endpoints use (or one the admin said to expect)?"""
    return any(fnmatch.fnmatchcase(issuer, pattern) for pattern in (*_expected_issuers(), *extra))


def _examine(
    host: str, port: int, route: str, plan: Optional[ProxyPlan], via: str,
    deps: Mapping[str, Result], timeout: float,
) -> Dict[str, Any]:
    """Read the certificate that failed verification; never used to trust anything."""
    try:
        raw = _open(host, port, route, plan, via, deps, timeout)
        with _handshake(examining_context(), raw, host, timeout) as tls:
            facts = describe_certificate(tls.getpeercert(binary_form=True))
            chain = getattr(tls, "get_unverified_chain", None)
            if chain is not None:  # Python 3.13+
                facts["chain_length"] = len(chain() or ())
            return facts
    except (OSError, TunnelError, ValueError):
        return {}


def _legacy_version(
    host: str, port: int, route: str, plan: Optional[ProxyPlan], via: str,
    deps: Mapping[str, Result], timeout: float,
) -> Optional[str]:
    try:
        raw = _open(host, port, route, plan, via, deps, timeout)
        with _handshake(legacy_context(), raw, host, timeout) as tls:
            version = tls.version()
            return version if version in _OLD else None
    except (OSError, TunnelError, ValueError):
        return None
