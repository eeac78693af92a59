"""The TLS probe's translation tables: OpenSSL verify codes (``_VERIFY_CODES``), handshake
exceptions (``_failure_from_ssl``) and the answers of a handshake that worked.

No handshake happens: ``_open``, ``_handshake``, ``_examine`` and ``_legacy_version`` are replaced
by stand-ins that raise made-up ``ssl`` exceptions or return a fake TLS socket.
"""

from __future__ import annotations

import errno
import inspect
import re
import socket
import ssl
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest
from factories import result

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, Outcome, ProbeContext, Status
from arc_preflight.probes import tls as tls_probe
from arc_preflight.probes.proxy import TunnelError

HOST = "management.azure.com"
VIA = "tcp:management.azure.com:443"
ADDRESS = "192.0.2.20"
INSPECTOR = "Contoso Inspection CA"
MICROSOFT = "Microsoft Azure RSA TLS Issuing CA 03"


def ssl_error(reason: Optional[str], message: str = "") -> ssl.SSLError:
    """An ssl.SSLError as the _ssl module raises it: ``reason`` and ``library`` set."""
    text = message or f"[SSL: {reason}] {(reason or '').lower().replace('_', ' ')}"
    exc = ssl.SSLError(1, text)
    exc.reason = reason  # type: ignore[assignment]
    exc.library = "SSL"
    return exc


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    exc.verify_code = code
    exc.verify_message = message
    exc.reason = "CERTIFICATE_VERIFY_FAILED"
    exc.library = "SSL"
    return exc


# --------------------------------------------------------------------------------------------
# _failure_from_ssl: handshake exceptions other than verification

# (id, exception, code, a fact the text must mention)
HANDSHAKE_CASES: List[Tuple[str, BaseException, str, str]] = [
    ("socket-timeout", socket.timeout("The read operation timed out"), "tls.timeout",
     "timed out"),
    ("timeout-error", TimeoutError(), "tls.timeout", "timed out"),
    ("eof-after-client-hello", ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
     "tls.reset", "after ClientHello"),
    ("zero-return", ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed (EOF)"),
     "tls.reset", "closed during the handshake"),
    ("unsupported-protocol", ssl_error("UNSUPPORTED_PROTOCOL"), "tls.handshake_failure",
     "no common TLS version"),
    # The answer was not a TLS record at all: not a version problem, so no retry with old TLS.
    ("wrong-version-number", ssl_error("WRONG_VERSION_NUMBER"), "tls.handshake_failure",
     "does not speak TLS"),
    ("no-protocols-available", ssl_error("NO_PROTOCOLS_AVAILABLE"), "tls.handshake_failure",
     "no common TLS version"),
    ("alert-protocol-version", ssl_error("TLSV1_ALERT_PROTOCOL_VERSION"),
     "tls.handshake_failure", "no common TLS version"),
    ("reason-none-text-unsupported-protocol",
     ssl_error(None, "[SSL] unsupported protocol (_ssl.c:1000)"), "tls.handshake_failure",
     "no common TLS version"),
    ("alert-handshake-failure", ssl_error("SSLV3_ALERT_HANDSHAKE_FAILURE"),
     "tls.handshake_failure", "refused by the server"),
    ("alert-internal-error", ssl_error("TLSV1_ALERT_INTERNAL_ERROR"), "tls.handshake_failure",
     "refused by the server"),
    ("no-shared-cipher", ssl_error("NO_SHARED_CIPHER"), "tls.handshake_failure",
     "refused by the server"),
    ("reason-none-text-handshake-failure",
     ssl_error(None, "[SSL] sslv3 alert handshake_failure"), "tls.handshake_failure",
     "refused by the server"),
    ("ssl-other-reason", ssl_error("DECRYPTION_FAILED_OR_BAD_RECORD_MAC"), "tls.error",
     "DECRYPTION_FAILED_OR_BAD_RECORD_MAC"),
    ("ssl-unexpected-message", ssl_error("UNEXPECTED_MESSAGE"), "tls.error",
     "UNEXPECTED_MESSAGE"),
    ("reset-by-peer", ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
     "tls.reset", "after ClientHello"),
    ("aborted-by-peer", ConnectionAbortedError(errno.ECONNABORTED, "aborted"), "tls.reset",
     "reset"),
    ("errno-econnreset", OSError(errno.ECONNRESET, "Connection reset by peer"), "tls.reset",
     "reset"),
    ("wsa-10054", OSError(10054, "An existing connection was forcibly closed"), "tls.reset",
     "reset"),
    ("errno-etimedout", OSError(errno.ETIMEDOUT, "Connection timed out"), "tls.timeout",
     "timed out"),
    ("wsa-10060", OSError(10060, "did not properly respond"), "tls.timeout", "timed out"),
    ("oserror-refused", ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     "tls.error", "refused"),
    ("oserror-unreachable", OSError(errno.EHOSTUNREACH, "No route to host"), "tls.error",
     "unreachable"),
    ("fallthrough-not-oserror", ValueError("server_hostname cannot be an empty string"),
     "tls.error", "server_hostname"),
]


@pytest.mark.parametrize(("exc", "code", "fact"), [c[1:] for c in HANDSHAKE_CASES],
                         ids=[c[0] for c in HANDSHAKE_CASES])
def test_failure_from_ssl(exc: BaseException, code: str, fact: str) -> None:
    got, text = tls_probe._failure_from_ssl(exc)
    assert got == code
    assert text.strip()
    assert fact.lower() in text.lower()


# --------------------------------------------------------------------------------------------
# the probe with its network steps replaced


class FakeRaw:
    closed = False

    def close(self) -> None:
        self.closed = True


class FakeTLS:
    """What ``_handshake`` returns after a handshake that worked."""

    def __init__(self, version: str = "TLSv1.3", issuer: str = MICROSOFT,
                 serial: str = "330000A1B2C3") -> None:
        self._version = version
        self._cert = {
            "issuer": ((("countryName", "US"),), (("commonName", issuer),)),
            "subject": ((("commonName", HOST),),),
            "notAfter": "Jun  1 12:00:00 2027 GMT",
            "serialNumber": serial,
        }

    def __enter__(self) -> FakeTLS:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def version(self) -> str:
        return self._version

    def cipher(self) -> Tuple[str, str, int]:
        return ("TLS_AES_256_GCM_SHA384", self._version, 256)

    def getpeercert(self) -> Dict[str, Any]:
        return self._cert


class Stage:
    """Scripted network steps for one probe run; records what was called."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, opened: Any = None,
                 handshake: Any = None, examined: Optional[Dict[str, Any]] = None,
                 legacy: Optional[str] = None) -> None:
        self.calls: List[str] = []
        self.raw = FakeRaw()

        def _open(*args: Any) -> Any:
            self.calls.append("open")
            if isinstance(opened, BaseException):
                raise opened
            return self.raw

        def _handshake(context: Any, raw: Any, host: str, timeout: float) -> Any:
            self.calls.append("handshake")
            if isinstance(handshake, BaseException):
                raise handshake
            return handshake if handshake is not None else FakeTLS()

        def _examine(*args: Any) -> Dict[str, Any]:
            self.calls.append("examine")
            return dict(examined or {})

        def _legacy_version(*args: Any) -> Optional[str]:
            self.calls.append("legacy")
            return legacy

        monkeypatch.setattr(tls_probe, "_open", _open)
        monkeypatch.setattr(tls_probe, "_handshake", _handshake)
        monkeypatch.setattr(tls_probe, "_examine", _examine)
        monkeypatch.setattr(tls_probe, "_legacy_version", _legacy_version)
        monkeypatch.setattr(tls_probe, "verified_context", lambda ca_bundle: object())

    def run(self) -> Outcome:
        ctx = ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)
        deps: Mapping[str, Any] = {VIA: result(VIA, Status.PASS, facts={"address": ADDRESS})}
        return tls_probe.probe(HOST, 443, "direct", None, VIA, ctx, deps)


EXAMINED = {"issuer": INSPECTOR, "subject": "*.contoso.example", "not_after": "2020-01-01"}

# (id, OpenSSL X509_V_ERR number, its message, code, a fact the summary must mention)
VERIFY_CASES: List[Tuple[str, int, str, str, str]] = [
    ("2-unable-to-get-issuer-cert", 2, "unable to get issuer certificate", "tls.untrusted",
     INSPECTOR),
    ("9-cert-not-yet-valid", 9, "certificate is not yet valid", "tls.expired",
     "not yet valid"),
    ("10-cert-has-expired", 10, "certificate has expired", "tls.expired", "expired"),
    ("18-depth-zero-self-signed", 18, "self-signed certificate", "tls.untrusted", INSPECTOR),
    ("19-self-signed-in-chain", 19, "self-signed certificate in certificate chain",
     "tls.untrusted", INSPECTOR),
    ("20-unable-to-get-issuer-locally", 20, "unable to get local issuer certificate",
     "tls.untrusted", "unable to get local issuer certificate"),
    ("21-unable-to-verify-leaf", 21, "unable to verify the first certificate",
     "tls.untrusted", INSPECTOR),
    ("62-hostname-mismatch", 62, "Hostname mismatch, certificate is not valid for "
                                 "'management.azure.com'.",
     "tls.hostname_mismatch", f"does not name {HOST}"),
    # fallthrough: any other number reads as an untrusted chain
    ("23-cert-revoked", 23, "certificate revoked", "tls.untrusted", "certificate revoked"),
    ("26-invalid-purpose", 26, "unsuitable certificate purpose", "tls.untrusted", INSPECTOR),
    # truststore on Windows puts a CERT_E_* HRESULT here, not an OpenSSL number
    ("win-cert-e-untrustedroot", 0x800B0109, "A certificate chain processed, but terminated "
                                             "in a root certificate which is not trusted",
     "tls.untrusted", INSPECTOR),
    ("win-cert-e-expired", 0x800B0101, "A required certificate is not within its validity "
                                       "period", "tls.expired", "expired"),
    ("win-cert-e-chaining", 0x800B010A, "A certificate chain could not be built to a trusted "
                                        "root authority", "tls.untrusted", INSPECTOR),
    ("win-cert-e-cn-no-match", 0x800B010F, "The certificate's CN name does not match the "
                                           "passed value", "tls.hostname_mismatch",
     f"does not name {HOST}"),
    ("64-ip-address-mismatch", 64, "IP address mismatch", "tls.hostname_mismatch",
     f"does not name {HOST}"),
]


@pytest.mark.parametrize(("verify_code", "message", "code", "fact"),
                         [c[1:] for c in VERIFY_CASES], ids=[c[0] for c in VERIFY_CASES])
def test_probe_maps_a_verify_code(monkeypatch: pytest.MonkeyPatch, verify_code: int,
                                  message: str, code: str, fact: str) -> None:
    stage = Stage(monkeypatch, handshake=verify_error(verify_code, message), examined=EXAMINED)
    outcome = stage.run()
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert tls_probe._VERIFY_CODES.get(verify_code, "tls.untrusted") == code
    assert fact in outcome.summary
    assert outcome.facts["verify_code"] == verify_code
    assert outcome.facts["verify_message"] == message
    assert outcome.facts["issuer"] == INSPECTOR, "the failed chain was examined"
    assert stage.calls == ["open", "handshake", "examine"]
    assert stage.raw.closed


def test_every_verify_code_row_has_a_case() -> None:
    assert set(tls_probe._VERIFY_CODES) <= {case[1] for case in VERIFY_CASES}


@pytest.mark.parametrize(("reason", "legacy", "code", "fact"), [
    ("UNSUPPORTED_PROTOCOL", "TLSv1.1", "tls.protocol_old", "only offers TLSv1.1"),
    ("TLSV1_ALERT_PROTOCOL_VERSION", "TLSv1", "tls.protocol_old", "only offers TLSv1"),
    ("SSLV3_ALERT_HANDSHAKE_FAILURE", "TLSv1", "tls.protocol_old", "only offers TLSv1"),
    ("UNSUPPORTED_PROTOCOL", None, "tls.handshake_failure", "no common TLS version"),
    ("SSLV3_ALERT_HANDSHAKE_FAILURE", None, "tls.handshake_failure", "refused by the server"),
], ids=["old-tls11", "alert-version-tls10", "alert-handshake-tls10", "no-version-no-legacy",
        "refused-no-legacy"])
def test_probe_handshake_failure_tries_old_tls(monkeypatch: pytest.MonkeyPatch, reason: str,
                                               legacy: Optional[str], code: str,
                                               fact: str) -> None:
    stage = Stage(monkeypatch, handshake=ssl_error(reason), legacy=legacy)
    outcome = stage.run()
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert fact in outcome.summary
    assert stage.calls == ["open", "handshake", "legacy"]
    if legacy:
        assert outcome.facts["server_max_version"] == legacy


@pytest.mark.parametrize(("exc", "code"), [
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), "tls.reset"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "tls.reset"),
    (socket.timeout("The read operation timed out"), "tls.timeout"),
    (ssl_error("DECRYPTION_FAILED_OR_BAD_RECORD_MAC"), "tls.error"),
], ids=["eof", "reset", "timeout", "other-ssl-error"])
def test_probe_other_handshake_failures_do_not_try_old_tls(
        monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: str) -> None:
    stage = Stage(monkeypatch, handshake=exc)
    outcome = stage.run()
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert outcome.summary.strip()
    assert stage.calls == ["open", "handshake"]
    assert stage.raw.closed


@pytest.mark.parametrize(("exc", "code", "fact"), [
    (TimeoutError(), "tls.timeout", "timed out"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "tls.reset", "reset"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "tls.error", "refused"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "tls.error", "unreachable"),
    (TunnelError("proxy.auth_required", "proxy requires authentication (HTTP/1.1 407 x)",
                 {"proxy_status": 407}), "proxy.auth_required", "407"),
    (TunnelError("proxy.denied", "proxy refused CONNECT"), "proxy.denied", "refused CONNECT"),
], ids=["timeout", "reset", "refused", "unreachable", "tunnel-407", "tunnel-denied"])
def test_probe_cannot_open_the_connection(monkeypatch: pytest.MonkeyPatch, exc: BaseException,
                                          code: str, fact: str) -> None:
    stage = Stage(monkeypatch, opened=exc)
    outcome = stage.run()
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert fact in outcome.summary
    assert stage.calls == ["open"]
    if isinstance(exc, TunnelError):
        assert dict(exc.facts).items() <= dict(outcome.facts).items()


@pytest.mark.parametrize(("tls", "status", "code", "fact"), [
    (FakeTLS("TLSv1.3"), Status.PASS, None, MICROSOFT),
    (FakeTLS("TLSv1.2"), Status.PASS, None, "TLSv1.2"),
    (FakeTLS("TLSv1.1"), Status.WARN, "tls.protocol_old", "negotiated TLSv1.1"),
    (FakeTLS("TLSv1"), Status.WARN, "tls.protocol_old", "negotiated TLSv1"),
    (FakeTLS("SSLv3"), Status.WARN, "tls.protocol_old", "negotiated SSLv3"),
    (FakeTLS("TLSv1.3", issuer=INSPECTOR), Status.WARN, "tls.unexpected_issuer", INSPECTOR),
    (FakeTLS("TLSv1.3", serial="-0F3A"), Status.WARN, "tls.negative_serial", "negative serial"),
], ids=["tls13", "tls12", "tls11", "tls10", "ssl3", "unexpected-issuer", "negative-serial"])
def test_probe_judges_a_handshake_that_worked(monkeypatch: pytest.MonkeyPatch, tls: FakeTLS,
                                              status: Status, code: Optional[str],
                                              fact: str) -> None:
    outcome = Stage(monkeypatch, handshake=tls).run()
    assert outcome.status == status
    assert outcome.code == code
    assert fact in outcome.summary


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["'](tls\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = ({c[2] for c in HANDSHAKE_CASES} | {c[3] for c in VERIFY_CASES}
                | set(tls_probe._VERIFY_CODES.values())
                | {"tls.protocol_old", "tls.unexpected_issuer", "tls.negative_serial"})
    assert returned <= set(FAILURE_CODES)
    in_source = set(_CODE_LITERAL.findall(inspect.getsource(tls_probe)))
    assert in_source, "the scan found the module's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned, f"codes without a case here: {in_source - returned}"


def test_a_port_that_does_not_speak_tls_is_not_retried_as_old_tls(
        monkeypatch: pytest.MonkeyPatch) -> None:
    stage = Stage(monkeypatch, handshake=ssl_error("WRONG_VERSION_NUMBER"), legacy="TLSv1")
    outcome = stage.run()
    assert outcome.code == "tls.handshake_failure"
    assert "does not speak TLS" in outcome.summary
    assert stage.calls == ["open", "handshake"]


def test_not_yet_valid_points_at_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    stage = Stage(monkeypatch, handshake=verify_error(9, "certificate is not yet valid"),
                  examined=EXAMINED)
    outcome = stage.run()
    assert outcome.code == "tls.expired" and "clock" in outcome.summary
