"""The proxy's translation tables: the CONNECT answer (status line) and socket errors -> proxy.*
codes, in ``proxy.tunnel`` and in the proxy reachability probe.

``open_socket`` (and ``connect``) are replaced by a fake socket whose ``recv`` returns a canned
proxy answer, so no connection is made.
"""

from __future__ import annotations

import base64
import errno
import inspect
import re
import socket
import ssl
import time
from typing import Any, List, Optional, Sequence, Tuple

import pytest

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, ProbeContext, Status
from arc_preflight.probes import dns as dns_probe
from arc_preflight.probes import proxy as proxy_probe
from arc_preflight.probes.proxy import TunnelError, tunnel

try:
    from arc_preflight.probes.proxyplan import ProxyPlan
except ImportError:
    from arc_preflight.probes.proxy import ProxyPlan

PLAN = ProxyPlan("http://proxy.corp.example:3128", "--proxy")
HOST = "management.azure.com"


class FakeSocket:
    """Answers CONNECT with canned chunks (b"" = the proxy closed); may fail instead."""

    def __init__(self, chunks: Sequence[bytes] = (), recv_error: Optional[BaseException] = None,
                 send_error: Optional[BaseException] = None) -> None:
        self.chunks = list(chunks)
        self.recv_error = recv_error
        self.send_error = send_error
        self.sent = b""
        self.timeouts: List[Optional[float]] = []
        self.closed = False

    def settimeout(self, value: Optional[float]) -> None:
        self.timeouts.append(value)

    def sendall(self, data: bytes) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent += data

    def recv(self, size: int) -> bytes:
        if self.recv_error is not None:
            raise self.recv_error
        return self.chunks.pop(0) if self.chunks else b""

    def close(self) -> None:
        self.closed = True


def serve(monkeypatch: pytest.MonkeyPatch, fake: Any) -> List[Tuple[Any, ...]]:
    """Make ``open_socket`` return ``fake`` (or raise it); returns the calls made."""
    calls: List[Tuple[Any, ...]] = []

    def open_socket(plan: Any, timeout: float, address: Optional[str] = None) -> Any:
        calls.append((plan.url, address))
        if isinstance(fake, BaseException):
            raise fake
        return fake

    monkeypatch.setattr(proxy_probe, "open_socket", open_socket)
    return calls


def refused_by(monkeypatch: pytest.MonkeyPatch, fake: Any,
               plan: ProxyPlan = PLAN) -> TunnelError:
    serve(monkeypatch, fake)
    with pytest.raises(TunnelError) as info:
        tunnel(plan, HOST, 443, 2.0, "192.0.2.40")
    assert info.value.code in FAILURE_CODES
    assert info.value.text.strip()
    assert str(info.value) == info.value.text
    return info.value


# --------------------------------------------------------------------------------------------
# the status line of the proxy's answer

@pytest.mark.parametrize("answer", [
    [b"HTTP/1.1 200 Connection established\r\n\r\n"],
    [b"HTTP/1.0 200 OK\r\nProxy-Agent: squid\r\n\r\n"],
    [b"HTTP/1.1 2", b"00 Connection established\r", b"\n\r\n"],
], ids=["http11", "http10-with-header", "split-over-three-reads"])
def test_tunnel_established(monkeypatch: pytest.MonkeyPatch, answer: List[bytes]) -> None:
    fake = FakeSocket(answer)
    serve(monkeypatch, fake)
    opened: Any = tunnel(PLAN, HOST, 443, 2.0, "192.0.2.40")
    assert opened is fake
    assert not fake.closed
    assert fake.timeouts[-1] is None, "the caller sets its own timeout on the tunnel"
    assert fake.sent.startswith(b"CONNECT management.azure.com:443 HTTP/1.1\r\n")
    assert b"Host: management.azure.com:443\r\n" in fake.sent
    assert b"Proxy-Authorization" not in fake.sent


# (id, status line, code, a fact the text must mention)
STATUS_CASES: List[Tuple[str, str, str, str]] = [
    ("407", "HTTP/1.1 407 Proxy Authentication Required", "proxy.auth_required",
     "requires authentication"),
    ("407-http10", "HTTP/1.0 407 Proxy Authentication Required", "proxy.auth_required",
     "407"),
    ("403", "HTTP/1.1 403 Forbidden", "proxy.denied", "refused CONNECT"),
    ("502", "HTTP/1.1 502 Bad Gateway", "proxy.upstream_failed", "could not reach"),
    ("503", "HTTP/1.1 503 Service Unavailable", "proxy.upstream_failed", "could not reach"),
    ("504", "HTTP/1.1 504 Gateway Timeout", "proxy.upstream_failed", "could not reach"),
    # fallthrough: every other status is a refusal
    ("400", "HTTP/1.1 400 Bad Request", "proxy.denied", "refused CONNECT"),
    ("404", "HTTP/1.1 404 Not Found", "proxy.denied", "refused CONNECT"),
    ("405", "HTTP/1.1 405 Method Not Allowed", "proxy.denied", "refused CONNECT"),
    ("301", "HTTP/1.1 301 Moved Permanently", "proxy.denied", "refused CONNECT"),
    ("500", "HTTP/1.1 500 Internal Server Error", "proxy.denied", "refused CONNECT"),
    ("no-reason-phrase", "HTTP/1.1 403", "proxy.denied", "refused CONNECT"),
]


@pytest.mark.parametrize(("status_line", "code", "fact"), [c[1:] for c in STATUS_CASES],
                         ids=[c[0] for c in STATUS_CASES])
def test_tunnel_refused(monkeypatch: pytest.MonkeyPatch, status_line: str, code: str,
                        fact: str) -> None:
    fake = FakeSocket([status_line.encode("latin-1") + b"\r\nContent-Length: 0\r\n\r\n"])
    error = refused_by(monkeypatch, fake)
    assert error.code == code
    assert fact in error.text
    assert status_line in error.text
    assert error.facts == {"proxy_status": int(status_line.split()[1]),
                           "proxy_reason": status_line}
    assert fake.closed


# (id, what the "proxy" sent, a fact the text must mention)
NOT_HTTP: List[Tuple[str, List[bytes], str]] = [
    ("ssh-banner", [b"SSH-2.0-OpenSSH_9.6\r\n"], "not an HTTP proxy"),
    ("smtp-banner", [b"220 mail.corp.example ESMTP Postfix\r\n"], "not an HTTP proxy"),
    ("tls-alert", [b"\x15\x03\x01\x00\x02\x02\x46"], "not an HTTP proxy"),
    ("status-not-a-number", [b"HTTP/1.1 OK\r\n\r\n"], "not an HTTP proxy"),
    ("status-line-alone", [b"HTTP/1.1\r\n\r\n"], "not an HTTP proxy"),
    ("closed-at-once", [b""], "without answering"),
]


@pytest.mark.parametrize(("answer", "fact"), [c[1:] for c in NOT_HTTP],
                         ids=[c[0] for c in NOT_HTTP])
def test_tunnel_bad_response(monkeypatch: pytest.MonkeyPatch, answer: List[bytes],
                             fact: str) -> None:
    fake = FakeSocket(answer)
    error = refused_by(monkeypatch, fake)
    assert error.code == "proxy.bad_response"
    assert fact in error.text
    assert fake.closed


# --------------------------------------------------------------------------------------------
# socket errors: reaching the proxy, then talking to it

# (id, exception from open_socket, code, a fact the text must mention)
OPEN_CASES: List[Tuple[str, BaseException, str, str]] = [
    ("gaierror", socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "proxy.dns",
     "does not resolve"),
    ("timeout-error", TimeoutError(), "proxy.timeout", "timed out"),
    ("socket-timeout", socket.timeout("timed out"), "proxy.timeout", "timed out"),
    ("errno-etimedout", OSError(errno.ETIMEDOUT, "Connection timed out"), "proxy.timeout",
     "timed out"),
    ("wsa-10060", OSError(10060, "did not properly respond"), "proxy.timeout", "timed out"),
    ("refused", ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     "proxy.unreachable", "refused"),
    ("wsa-10061", OSError(10061, "actively refused it"), "proxy.unreachable", "refused"),
    ("reset", ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
     "proxy.unreachable", "reset"),
    ("network-unreachable", OSError(errno.ENETUNREACH, "Network is unreachable"),
     "proxy.unreachable", "unreachable"),
    ("wsa-10065", OSError(10065, "unreachable host"), "proxy.unreachable", "unreachable"),
    ("other-oserror", OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"),
     "proxy.unreachable", "Cannot assign requested address"),
    # an https:// proxy whose own certificate fails verification is "unreachable" today
    ("https-proxy-untrusted", ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
     "proxy.unreachable", "certificate verify failed"),
]


@pytest.mark.parametrize(("exc", "code", "fact"), [c[1:] for c in OPEN_CASES],
                         ids=[c[0] for c in OPEN_CASES])
def test_tunnel_cannot_reach_the_proxy(monkeypatch: pytest.MonkeyPatch, exc: BaseException,
                                       code: str, fact: str) -> None:
    error = refused_by(monkeypatch, exc)
    assert error.code == code
    assert fact.lower() in error.text.lower()
    assert "proxy.corp.example" in error.text
    assert error.facts == {}


# (id, fake socket that fails mid-conversation, code, a fact the text must mention)
TALK_CASES: List[Tuple[str, FakeSocket, str, str]] = [
    ("recv-timeout", FakeSocket(recv_error=socket.timeout("timed out")), "proxy.timeout",
     "timed out"),
    ("recv-etimedout", FakeSocket(recv_error=OSError(errno.ETIMEDOUT, "timed out")),
     "proxy.timeout", "timed out"),
    ("recv-reset", FakeSocket(recv_error=ConnectionResetError(errno.ECONNRESET, "reset")),
     "proxy.bad_response", "reset"),
    ("send-broken-pipe", FakeSocket(send_error=BrokenPipeError(errno.EPIPE, "Broken pipe")),
     "proxy.bad_response", "reset"),
    ("recv-other", FakeSocket(recv_error=OSError(errno.EBADF, "Bad file descriptor")),
     "proxy.bad_response", "Bad file descriptor"),
]


@pytest.mark.parametrize(("fake", "code", "fact"), [c[1:] for c in TALK_CASES],
                         ids=[c[0] for c in TALK_CASES])
def test_tunnel_proxy_fails_to_answer(monkeypatch: pytest.MonkeyPatch, fake: FakeSocket,
                                      code: str, fact: str) -> None:
    error = refused_by(monkeypatch, fake)
    assert error.code == code
    assert "did not answer CONNECT" in error.text
    assert fact.lower() in error.text.lower()
    assert fake.closed


def test_tunnel_sends_the_proxy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = ProxyPlan("http://arc%40corp:pa%3Ass@proxy.corp.example:3128", "--proxy")
    fake = FakeSocket([b"HTTP/1.1 200 Connection established\r\n\r\n"])
    calls = serve(monkeypatch, fake)
    tunnel(plan, HOST, 443, 2.0, "192.0.2.40")
    token = base64.b64encode(b"arc@corp:pa:ss").decode("ascii")
    assert f"Proxy-Authorization: Basic {token}\r\n".encode() in fake.sent
    assert calls == [(plan.url, "192.0.2.40")]


# --------------------------------------------------------------------------------------------
# the proxy reachability probe

def ctx() -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)


class Closable:
    def close(self) -> None:
        return None


@pytest.mark.parametrize(("exc", "code"), [
    (TimeoutError(), "proxy.timeout"),
    (OSError(10060, "did not properly respond"), "proxy.timeout"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "proxy.unreachable"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "proxy.unreachable"),
    (OSError(errno.EACCES, "Permission denied"), "proxy.unreachable"),
    (None, None),
], ids=["timeout", "wsa-timeout", "refused", "unreachable", "other", "connected"])
def test_probe_connects_to_the_proxy(monkeypatch: pytest.MonkeyPatch,
                                     exc: Optional[BaseException], code: Optional[str]) -> None:
    def connect(address: str, port: int, timeout: float) -> Any:
        assert (address, port) == ("192.0.2.40", 3128)
        if exc is not None:
            raise exc
        return Closable()

    monkeypatch.setattr(proxy_probe, "connect", connect)
    outcome = proxy_probe.probe(ProxyPlan("http://192.0.2.40:3128", "--proxy"), ctx(), {})
    assert outcome.code == code
    assert outcome.status == (Status.PASS if exc is None else Status.FAIL)
    assert "192.0.2.40:3128" in outcome.summary


def test_probe_proxy_name_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dns_probe, "hosts_lookup", lambda name, path=None: [])
    monkeypatch.setattr(dns_probe, "resolve", lambda name, servers, budget: (
        [], [], ("dns.nxdomain", "name does not exist (NXDOMAIN)"), {}))
    monkeypatch.setattr(proxy_probe, "connect", lambda *a: pytest.fail("must not connect"))
    outcome = proxy_probe.probe(PLAN, ctx(), {})
    assert outcome.status == Status.FAIL
    assert outcome.code == "proxy.dns"
    assert "proxy.corp.example" in outcome.summary and "NXDOMAIN" in outcome.summary


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["'](proxy\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = ({c[2] for c in STATUS_CASES} | {"proxy.bad_response", "proxy.oversized_answer"}
                | {c[2] for c in OPEN_CASES} | {c[2] for c in TALK_CASES})
    assert returned <= set(FAILURE_CODES)
    source = inspect.getsource(tunnel) + inspect.getsource(proxy_probe.probe)
    in_source = set(_CODE_LITERAL.findall(source))
    assert in_source, "the scan found the tunnel's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned, f"codes without a case here: {in_source - returned}"
