"""The socket-error table (``netutil.classify_socket_error``) and the TCP probe's ``_CODES``.

Exceptions are made up, Linux errno and Windows (WSA) numbers alike, so the Windows rows are
covered on any host. The TCP probe runs with ``connect`` replaced: no socket is opened.
"""

from __future__ import annotations

import errno
import inspect
import re
import socket
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
from factories import result

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, ProbeContext, Status
from arc_preflight.probes import netutil
from arc_preflight.probes import tcp as tcp_probe


def winsock(code: int, text: str) -> OSError:
    """An OSError as Windows raises it for a Winsock failure: errno and winerror both WSA."""
    exc = OSError(code, text)
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


def winerror_only(code: int) -> OSError:
    """An OSError that carries only ``winerror`` (errno None), as some wrappers leave it."""
    exc = OSError(f"[WinError {code}]")
    exc.winerror = code  # type: ignore[attr-defined]
    assert exc.errno is None
    return exc


# (id, exception, kind, a fact the text must mention)
SOCKET_CASES: List[Tuple[str, BaseException, str, str]] = [
    ("socket-timeout", socket.timeout("timed out"), "timeout", "timed out"),
    ("timeout-error", TimeoutError(), "timeout", "timed out"),
    ("connection-refused-error", ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
     "refused", "refused"),
    ("connection-reset-error", ConnectionResetError(errno.ECONNRESET, "reset"), "reset", "reset"),
    ("connection-aborted-error", ConnectionAbortedError(errno.ECONNABORTED, "aborted"),
     "reset", "reset"),
    ("broken-pipe-error", BrokenPipeError(errno.EPIPE, "broken pipe"), "reset", "reset"),
    ("errno-enetunreach", OSError(errno.ENETUNREACH, "Network is unreachable"),
     "unreachable", "network unreachable"),
    ("errno-ehostunreach", OSError(errno.EHOSTUNREACH, "No route to host"),
     "unreachable", "host unreachable"),
    ("errno-econnrefused", OSError(errno.ECONNREFUSED, "Connection refused"),
     "refused", "refused"),
    ("errno-econnreset", OSError(errno.ECONNRESET, "Connection reset by peer"),
     "reset", "reset"),
    ("errno-econnaborted", OSError(errno.ECONNABORTED, "Software caused connection abort"),
     "reset", "reset"),
    ("errno-epipe", OSError(errno.EPIPE, "Broken pipe"), "reset", "reset"),
    ("errno-etimedout", OSError(errno.ETIMEDOUT, "Connection timed out"),
     "timeout", "timed out"),
    ("wsa-10051-enetunreach", winsock(10051, "A socket operation was attempted to an "
                                             "unreachable network"),
     "unreachable", "network unreachable"),
    ("wsa-10065-ehostunreach", winsock(10065, "A socket operation was attempted to an "
                                              "unreachable host"),
     "unreachable", "host unreachable"),
    ("wsa-10061-econnrefused", winsock(10061, "No connection could be made because the target "
                                              "machine actively refused it"),
     "refused", "refused"),
    ("wsa-10053-econnaborted", winsock(10053, "An established connection was aborted"),
     "reset", "reset"),
    ("wsa-10054-econnreset", winsock(10054, "An existing connection was forcibly closed"),
     "reset", "reset"),
    ("wsa-10060-etimedout", winsock(10060, "A connection attempt failed because the connected "
                                           "party did not properly respond"),
     "timeout", "timed out"),
    ("winerror-only-10051", winerror_only(10051), "unreachable", "network unreachable"),
    ("winerror-only-10065", winerror_only(10065), "unreachable", "host unreachable"),
    ("winerror-only-10061", winerror_only(10061), "refused", "refused"),
    ("winerror-only-10054", winerror_only(10054), "reset", "reset"),
    ("winerror-only-10060", winerror_only(10060), "timeout", "timed out"),
    # fallthrough: an OSError of no known kind keeps its own words
    ("fallthrough-eaddrnotavail", OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"),
     "error", "Cannot assign requested address"),
    # A packet filter on this machine (EPERM on Linux, WSAEACCES on Windows)
    ("local-block-eacces", OSError(errno.EACCES, "Permission denied"), "unreachable",
     "firewall rule on this machine"),
    ("local-block-eperm", OSError(errno.EPERM, "Operation not permitted"), "unreachable",
     "firewall rule on this machine"),
    ("local-block-wsaeacces", winsock(10013, "An attempt was made to access a socket in a way "
                                      "forbidden by its access permissions"), "unreachable",
     "firewall rule on this machine"),
    ("errno-enetdown", OSError(errno.ENETDOWN, "Network is down"), "unreachable",
     "network unreachable"),
    ("errno-ehostdown", OSError(errno.EHOSTDOWN, "Host is down"), "unreachable",
     "host unreachable"),
    ("errno-enetreset", OSError(errno.ENETRESET, "Network dropped connection on reset"),
     "reset", "connection reset"),
    ("fallthrough-no-errno", OSError("odd socket state"), "error", "odd socket state"),
    ("fallthrough-bare-oserror", OSError(), "error", "OSError"),
    ("fallthrough-gaierror", socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
     "error", "Name or service not known"),
    ("fallthrough-not-oserror", RuntimeError("boom"), "error", "boom"),
    ("fallthrough-not-oserror-no-text", ValueError(), "error", "ValueError"),
]


@pytest.mark.parametrize(("exc", "kind", "fact"), [c[1:] for c in SOCKET_CASES],
                         ids=[c[0] for c in SOCKET_CASES])
def test_classify_socket_error(exc: BaseException, kind: str, fact: str) -> None:
    got, text = netutil.classify_socket_error(exc)
    assert got == kind
    assert text.strip()
    assert fact.lower() in text.lower()


def test_every_kind_has_a_tcp_code() -> None:
    kinds = {case[2] for case in SOCKET_CASES}
    assert kinds == set(tcp_probe._CODES), "the TCP table names exactly the kinds there are"
    assert {kind: code.split(".", 1)[1] for kind, code in tcp_probe._CODES.items()} == {
        kind: kind for kind in kinds}


# --------------------------------------------------------------------------------------------
# the TCP probe: the first address's failure, through _CODES

DNS_ID = "dns:management.azure.com"


def ctx() -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)


def deps(*addresses: str) -> Dict[str, Any]:
    return {DNS_ID: result(DNS_ID, Status.PASS, facts={"addresses": list(addresses)})}


class FakeSocket:
    closed = False

    def close(self) -> None:
        self.closed = True


def scripted_connect(monkeypatch: pytest.MonkeyPatch,
                     answers: Dict[str, Optional[BaseException]]) -> List[str]:
    """Replace ``tcp.connect``: each address raises its exception or connects (None)."""
    tried: List[str] = []

    def connect(address: str, port: int, timeout: float) -> Any:
        tried.append(address)
        failure = answers[address]
        if failure is not None:
            raise failure
        return FakeSocket()

    monkeypatch.setattr(tcp_probe, "connect", connect)
    return tried


TCP_CASES = [(case[0], case[1], f"tcp.{case[2]}") for case in SOCKET_CASES
             if isinstance(case[1], OSError)]


@pytest.mark.parametrize(("exc", "code"), [c[1:] for c in TCP_CASES],
                         ids=[c[0] for c in TCP_CASES])
def test_probe_maps_a_connect_failure(monkeypatch: pytest.MonkeyPatch, exc: OSError,
                                      code: str) -> None:
    scripted_connect(monkeypatch, {"192.0.2.10": exc})
    outcome = tcp_probe.probe("management.azure.com", 443, DNS_ID, ctx(), deps("192.0.2.10"))
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert outcome.summary.startswith("192.0.2.10:443 ")
    assert outcome.facts["attempts"][0]["result"] == code.split(".", 1)[1]


def test_probe_reports_the_first_address_when_all_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    tried = scripted_connect(monkeypatch, {
        "192.0.2.10": ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        "2001:db8::10": OSError(errno.ENETUNREACH, "Network is unreachable"),
    })
    outcome = tcp_probe.probe("management.azure.com", 443, DNS_ID, ctx(),
                              deps("192.0.2.10", "2001:db8::10"))
    assert tried == ["192.0.2.10", "2001:db8::10"]
    assert outcome.code == "tcp.refused"
    assert "connection refused" in outcome.summary
    assert "1 more address(es) failed" in outcome.summary


def test_probe_passes_on_a_later_address(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_connect(monkeypatch, {"192.0.2.10": TimeoutError(), "192.0.2.11": None})
    outcome = tcp_probe.probe("management.azure.com", 443, DNS_ID, ctx(),
                              deps("192.0.2.10", "192.0.2.11"))
    assert outcome.status == Status.PASS and outcome.code is None
    assert [a["result"] for a in outcome.facts["attempts"]] == ["timeout", "connected"]


def test_probe_without_an_address_is_tcp_error(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted_connect(monkeypatch, {})
    outcome = tcp_probe.probe("management.azure.com", 443, DNS_ID, ctx(), deps())
    assert outcome.status == Status.ERROR
    assert outcome.code == "tcp.error"
    assert "no address" in outcome.summary


def test_probe_out_of_time_before_any_address_is_tcp_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    tried = scripted_connect(monkeypatch, {"192.0.2.10": None})
    spent = ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() - 1)
    outcome = tcp_probe.probe("management.azure.com", 443, DNS_ID, spent, deps("192.0.2.10"))
    assert tried == []
    assert outcome.code == "tcp.timeout"
    assert "before any address" in outcome.summary


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["'](tcp\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = set(tcp_probe._CODES.values())
    assert returned <= set(FAILURE_CODES)
    in_source = set(_CODE_LITERAL.findall(inspect.getsource(tcp_probe)))
    assert in_source, "the scan found the module's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned


def test_an_ssl_error_is_not_read_as_a_local_firewall() -> None:
    """OpenSSL's errno 1 (SSL_ERROR_SSL) is not EPERM: a TLS failure on the way to a proxy keeps
    its own words."""
    import ssl

    exc = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                          "failed: unable to get local issuer certificate")
    kind, text = netutil.classify_socket_error(exc)
    assert kind == "error" and "certificate verify failed" in text
