"""The standard-library HTTP request the HTTPS, HIMDS, IMDS and sign-in probes make (webcall).

Which real exception is which failure kind, and the request over a socket pair (unit tests may
not open network sockets): what is written (request line, Host, CONNECT, Proxy-Authorization for
a proxy URL with credentials), the one deadline for the whole request, and the capped body. The
same code against real servers, TLS and squid included, is in tests/lab/test_http_outcomes.py.
"""

from __future__ import annotations

import base64
import errno
import gzip
import http.client
import socket
import ssl
import threading
import time
from typing import Callable, List, Optional, Tuple

import pytest

from arc_preflight.probes import webcall
from arc_preflight.probes.netutil import Oversized
from arc_preflight.probes.webcall import CallError, call


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    exc.verify_code = code
    exc.verify_message = message
    return exc


@pytest.mark.parametrize(("exc", "kind"), [
    (socket.timeout("timed out"), "timeout"),
    (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), "timeout"),
    (socket.gaierror(-2, "Name or service not known"), "dns"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "refused"),
    (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "reset"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
    (verify_error(20, "unable to get local issuer certificate"), "tls_verify"),
    (verify_error(10, "certificate has expired"), "tls_verify"),
    (verify_error(62, "Hostname mismatch, certificate is not valid for 'x'."), "tls_hostname"),
    (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), "tls"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls"),
    (http.client.RemoteDisconnected("Remote end closed connection without response"), "closed"),
    (http.client.IncompleteRead(b"{", 99), "closed"),
    (http.client.LineTooLong("header line"), "bad_header"),
    (http.client.HTTPException("got more than 100 headers"), "bad_header"),
    (http.client.BadStatusLine("SSH-2.0-OpenSSH_9.6\r\n"), "bad_answer"),
    (OSError(errno.EMFILE, "Too many open files"), "error"),
], ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value))
def test_kind_of_a_real_exception(exc: BaseException, kind: str) -> None:
    assert webcall._kind_of(exc) == kind


# --------------------------------------------------------------------------------------------
# requests over a socket pair: the "server" is a thread on the other end

Server = Callable[[socket.socket], None]


def served(monkeypatch: pytest.MonkeyPatch, server: Server) -> List[Tuple[str, int]]:
    """Every connection ``call`` opens gets a socket pair whose far end ``server`` handles."""
    opened: List[Tuple[str, int]] = []

    def fake_open(host: str, port: int, address: Optional[str], deadline: float
                  ) -> socket.socket:
        opened.append((address or host, port))
        near, far = socket.socketpair()
        near.settimeout(max(0.01, deadline - time.monotonic()))
        threading.Thread(target=_run, args=(server, far), daemon=True).start()
        return near

    monkeypatch.setattr(webcall, "_open", fake_open)
    return opened


def _run(server: Server, sock: socket.socket) -> None:
    try:
        server(sock)
    except OSError:
        pass
    finally:
        sock.close()


def read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


CONTEXT = ssl.create_default_context()


def soon(seconds: float = 2.0) -> float:
    return time.monotonic() + seconds


def test_a_direct_request_is_written_and_its_answer_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[bytes] = []

    def server(sock: socket.socket) -> None:
        seen.append(read_head(sock))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\nDate: Mon, 30 Nov 2026 10:00:00 "
                     b"GMT\r\n\r\n{\"compute\": {}}\n")

    opened = served(monkeypatch, server)
    with call("GET", "http://localhost:40342/metadata/instance?api-version=2020-06-01",
              context=CONTEXT, deadline=soon(), headers={"Metadata": "true"},
              address="127.0.0.1") as answer:
        assert answer.status == 200
        assert answer.headers["date"] == "Mon, 30 Nov 2026 10:00:00 GMT"
        assert answer.body(1024) == b'{"compute": {}}\n'
    assert opened == [("127.0.0.1", 40342)]
    head = seen[0].decode()
    assert head.startswith("GET /metadata/instance?api-version=2020-06-01 HTTP/1.1\r\n")
    assert "\r\nHost: localhost:40342\r\n" in head
    assert "\r\nMetadata: true\r\n" in head
    assert "\r\nAccept-Encoding: identity\r\n" in head


def test_a_form_is_posted_with_its_length(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[bytes] = []

    def server(sock: socket.socket) -> None:
        data = read_head(sock)
        while not data.endswith(b"client_credentials"):
            data += sock.recv(4096)
        seen.append(data)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")

    served(monkeypatch, server)
    with call("POST", "http://login.example/t/oauth2/v2.0/token", context=CONTEXT,
              deadline=soon(), body=b"grant_type=client_credentials",
              headers={"Content-Type": "application/x-www-form-urlencoded"}) as answer:
        assert answer.status == 400
    assert b"\r\nContent-Length: 29\r\n" in seen[0]
    assert seen[0].endswith(b"\r\n\r\ngrant_type=client_credentials")


def test_plain_http_through_a_proxy_sends_the_absolute_url_and_the_credentials(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: List[bytes] = []

    def server(sock: socket.socket) -> None:
        seen.append(read_head(sock))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    opened = served(monkeypatch, server)
    with call("GET", "http://crl.microsoft.com/pki/crl/products/x.crl", context=CONTEXT,
              deadline=soon(), proxy="http://labuser:p%40ss@proxy.corp.example:3128") as answer:
        assert answer.status == 200
    assert opened == [("proxy.corp.example", 3128)]
    head = seen[0].decode()
    assert head.startswith("GET http://crl.microsoft.com/pki/crl/products/x.crl HTTP/1.1\r\n")
    token = base64.b64encode(b"labuser:p@ss").decode()
    assert f"\r\nProxy-Authorization: Basic {token}\r\n" in head


@pytest.mark.parametrize(("status_line", "status"), [
    (b"HTTP/1.1 407 Proxy Authentication Required", 407),
    (b"HTTP/1.1 403 Forbidden", 403),
    (b"HTTP/1.0 503 Service Unavailable", 503),
])
def test_a_refused_connect_names_the_proxys_status(monkeypatch: pytest.MonkeyPatch,
                                                   status_line: bytes, status: int) -> None:
    seen: List[bytes] = []

    def server(sock: socket.socket) -> None:
        seen.append(read_head(sock))
        sock.sendall(status_line + b"\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n")

    served(monkeypatch, server)
    with pytest.raises(CallError) as caught:
        call("GET", "https://management.azure.com/", context=CONTEXT, deadline=soon(),
             proxy="http://proxy.corp.example:3128")
    assert (caught.value.kind, caught.value.stage, caught.value.status) == (
        "proxy_status", "tunnel", status)
    assert seen[0].startswith(b"CONNECT management.azure.com:443 HTTP/1.1\r\n"
                              b"Host: management.azure.com:443\r\n")
    assert b"Proxy-Authorization" not in seen[0]


@pytest.mark.parametrize(("answer", "kind"), [
    (b"", "closed"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "bad_answer"),
    # Latin-1 superscript two: str.isdigit() says yes, int() says no (found in review)
    (b"HTTP/1.1 \xb200 OK\r\n\r\n", "bad_answer"),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "bad_header"),
])
def test_a_proxy_that_does_not_answer_connect_properly(
        monkeypatch: pytest.MonkeyPatch, answer: bytes, kind: str) -> None:
    def server(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(answer)

    served(monkeypatch, server)
    with pytest.raises(CallError) as caught:
        call("GET", "https://management.azure.com/", context=CONTEXT, deadline=soon(),
             proxy="http://proxy.corp.example:3128")
    assert (caught.value.kind, caught.value.stage) == (kind, "tunnel")


@pytest.mark.parametrize(("answer", "kind"), [
    (b"", "closed"),
    (b"FOO BAR BAZ\r\n\r\n", "bad_answer"),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "bad_header"),
    (b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", "bad_header"),
])
def test_an_answer_that_is_not_http(monkeypatch: pytest.MonkeyPatch, answer: bytes,
                                    kind: str) -> None:
    def server(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(answer)

    served(monkeypatch, server)
    with pytest.raises(CallError) as caught:
        call("GET", "http://localhost:40342/", context=CONTEXT, deadline=soon())
    assert (caught.value.kind, caught.value.stage) == (kind, "answer")


def test_one_deadline_for_the_whole_request_even_when_bytes_keep_coming(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A server sending one header byte every 50 ms never lets a per-receive timeout expire;
    the request still ends at its deadline."""
    def server(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            sock.sendall(b"X")
            time.sleep(0.05)

    served(monkeypatch, server)
    started = time.monotonic()
    with pytest.raises(CallError) as caught:
        call("GET", "http://localhost:40342/", context=CONTEXT, deadline=soon(0.6))
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 1.2


def test_a_silent_server_times_out_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def server(sock: socket.socket) -> None:
        read_head(sock)
        time.sleep(3)

    served(monkeypatch, server)
    started = time.monotonic()
    with pytest.raises(CallError) as caught:
        call("GET", "http://localhost:40342/", context=CONTEXT, deadline=soon(0.4))
    assert (caught.value.kind, caught.value.stage) == ("timeout", "answer")
    assert 0.3 < time.monotonic() - started < 1.0


@pytest.mark.parametrize(("answer", "raised"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"a" * 5000, Oversized),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", Oversized),
    (b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}", ValueError),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", CallError),
], ids=["over-the-cap", "gzip-bomb", "unknown-encoding", "cut-short"])
def test_the_body_is_capped_and_checked(monkeypatch: pytest.MonkeyPatch, answer: bytes,
                                        raised: type) -> None:
    if b"gzip" in answer:
        bomb = gzip.compress(b"\0" * 100_000)
        answer = (answer % len(bomb)) + bomb

    def server(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(answer)

    served(monkeypatch, server)
    with call("GET", "http://localhost:40342/", context=CONTEXT, deadline=soon()) as response, \
            pytest.raises(raised):
        response.body(4096)


def test_a_gzip_body_within_the_cap_is_decompressed(monkeypatch: pytest.MonkeyPatch) -> None:
    packed = gzip.compress(b'{"compute": {"name": "web01"}}')

    def server(sock: socket.socket) -> None:
        read_head(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
                     + str(len(packed)).encode() + b"\r\n\r\n" + packed)

    served(monkeypatch, server)
    with call("GET", "http://localhost:40342/", context=CONTEXT, deadline=soon()) as response:
        assert response.body(4096) == b'{"compute": {"name": "web01"}}'


@pytest.mark.parametrize("url", ["http://localhost:40342/a\r\nX-Injected: 1",
                                 "http://localhost:40342/a b"])
def test_a_request_that_cannot_be_written_is_a_value_error(
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    served(monkeypatch, lambda sock: None)
    with pytest.raises(ValueError):
        call("GET", url, context=CONTEXT, deadline=soon())


def test_a_name_lookup_that_hangs_ends_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """getaddrinfo has no timeout of its own (a resolver that never answers holds it for the
    resolver's own retries): the lookup for an unpinned host or a proxy keeps the one deadline."""
    release = threading.Event()

    def stuck(*args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        release.wait(10)
        raise socket.gaierror(-3, "Temporary failure in name resolution")

    monkeypatch.setattr(webcall.socket, "getaddrinfo", stuck)
    started = time.monotonic()
    try:
        with pytest.raises(CallError) as caught:
            call("GET", "https://login.microsoftonline.com/", context=CONTEXT,
                 deadline=soon(0.3))
    finally:
        release.set()
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2.0


def test_a_lookup_error_is_still_a_dns_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(webcall.socket, "getaddrinfo", missing)
    with pytest.raises(CallError) as caught:
        call("GET", "https://login.microsoftonline.com/", context=CONTEXT, deadline=soon())
    assert caught.value.kind == "dns"


def test_tls_inside_a_proxy_reads_an_unclosed_tls_end_as_the_end_of_the_body() -> None:
    """The endpoint closed its connection without a TLS close_notify: the direct path's ssl
    socket (suppress_ragged_eofs) reads that as the end; the memory-BIO session inside an
    https:// proxy raises SSLEOFError, which must mean the same (found in review, reproduced
    with a TLS proxy and an origin answering without Content-Length)."""

    class Inner:
        def read(self, size: int, buffer: object) -> int:
            raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")

    session = object.__new__(webcall._TLSInTLS)
    session.inner = Inner()  # type: ignore[assignment]
    session.outgoing = ssl.MemoryBIO()
    assert session.recv_into(memoryview(bytearray(16))) == 0
