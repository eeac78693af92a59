"""One HTTP/1.1 request over the standard library, for the HTTPS, HIMDS, IMDS and sign-in probes.

Why not requests: importing it (with urllib3, idna, charset_normalizer, certifi) was about a
quarter of a second of every ``check``, for one request per endpoint that needs none of its
pooling, retries, redirects or cookies. What they do need is here, over the same sockets and TLS
contexts the TCP, TLS and proxy probes use:

* one deadline for the whole request: every connect, handshake, send and receive gets the time
  left, so a server that answers one byte a second cannot stretch it;
* direct requests pinned to an address while SNI, certificate check and ``Host`` keep the name;
* an ``http://`` or ``https://`` proxy: ``CONNECT`` for https (TLS inside the proxy's TLS for an
  https proxy), the absolute URL for plain http, ``Proxy-Authorization`` from the proxy URL;
* no redirects (the probes judge the first answer), no environment proxies, no decompression
  except the capped one in :meth:`Answer.body`.

A failure is a :class:`CallError` naming *what* went wrong (``kind``) and *where* (``stage``);
each probe turns that pair into its own failure code in one table.
"""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Union
from urllib.parse import urlsplit

from .netutil import Oversized, classify_socket_error

if TYPE_CHECKING:
    from http.client import HTTPMessage, HTTPResponse

MAX_LINE = 65536  # http.client's own limits, applied to a proxy's CONNECT answer too
MAX_HEADERS = 100
HOSTNAME_MISMATCH = 62  # OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH


class CallError(Exception):
    """A request that got no HTTP answer.

    ``stage``: ``proxy`` (reaching the proxy, TLS to an https proxy included), ``tunnel`` (its
    answer to CONNECT), ``connect`` (TCP to the endpoint itself), ``tls`` (the endpoint's
    handshake), ``answer`` (sending the request and reading the status and headers), ``body``.
    ``kind``: ``timeout``, ``dns``, ``refused``, ``reset``, ``unreachable``, ``closed`` (the
    peer closed before answering), ``bad_header`` (a header line over 64 KiB or over 100
    headers), ``bad_answer`` (not HTTP), ``tls_verify``, ``tls_hostname``, ``tls``,
    ``proxy_status`` (``status`` holds the proxy's refusal) or ``error``.
    """

    def __init__(self, kind: str, stage: str, detail: str, status: int = 0) -> None:
        super().__init__(detail)
        self.kind = kind
        self.stage = stage
        self.detail = detail
        self.status = status


def _kind_of(exc: BaseException) -> str:
    """The kind of an exception raised while talking to a server (see :class:`CallError`)."""
    import http.client

    if isinstance(exc, CallError):
        return exc.kind
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_hostname" if exc.verify_code == HOSTNAME_MISMATCH else "tls_verify"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "closed"
    if isinstance(exc, http.client.IncompleteRead):
        return "closed"
    if isinstance(exc, http.client.LineTooLong) or (
            isinstance(exc, http.client.HTTPException) and "got more than" in str(exc)):
        return "bad_header"
    if isinstance(exc, http.client.HTTPException):
        return "bad_answer"
    if isinstance(exc, OSError):
        kind = classify_socket_error(exc)[0]
        return "unreachable" if kind == "unreachable" else kind
    return "error"


def _detail(exc: BaseException) -> str:
    """A short account of ``exc`` for messages (the sign-in checks show it)."""
    import http.client

    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"[:200]
    if isinstance(exc, ssl.SSLError):
        return str(getattr(exc, "reason", None) or exc)[:200]
    if isinstance(exc, OSError):
        return classify_socket_error(exc)[1]
    return (str(exc) or type(exc).__name__)[:200]


class _Wire:
    """A connection under one deadline: each send and receive is given the time left."""

    def __init__(self, sock: Union[socket.socket, _TLSInTLS], deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        return left

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.left())
        self.sock.sendall(data)

    def recv_into(self, buffer: memoryview) -> int:
        self.sock.settimeout(self.left())
        return self.sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        """What :class:`http.client.HTTPResponse` reads from."""
        return io.BufferedReader(_Reader(self))

    def close(self) -> None:
        self.sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, wire: _Wire) -> None:
        self.wire = wire

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Union[bytearray, memoryview]) -> int:  # type: ignore[override]
        return self.wire.recv_into(memoryview(buffer))


class _TLSInTLS:
    """TLS to the endpoint inside the TLS connection to an https:// proxy (``ssl`` cannot wrap
    an SSL socket, so the inner session runs over memory buffers pumped through the outer)."""

    def __init__(self, outer: ssl.SSLSocket, context: ssl.SSLContext, hostname: str,
                 deadline: float) -> None:
        self.outer = outer
        self.deadline = deadline
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.inner = context.wrap_bio(self.incoming, self.outgoing, server_hostname=hostname)

    def _pump(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.outer.sendall(pending)

    def _until_done(self, step: object, *args: object) -> object:
        while True:
            try:
                result = step(*args)  # type: ignore[operator]
            except ssl.SSLWantReadError:
                self._pump()
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout("timed out") from None
                self.outer.settimeout(left)
                data = self.outer.recv(65536)
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()
                continue
            self._pump()
            return result

    def handshake(self) -> None:
        self._until_done(self.inner.do_handshake)

    def settimeout(self, value: Optional[float]) -> None:
        self.outer.settimeout(value)

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = int(self._until_done(self.inner.write, view))  # type: ignore[call-overload]
            view = view[written:]

    def recv_into(self, buffer: memoryview) -> int:
        try:
            return int(self._until_done(self.inner.read, len(buffer), buffer))  # type: ignore
        except ssl.SSLZeroReturnError:
            return 0
        except ssl.SSLEOFError:
            # The endpoint closed without a TLS close: the direct path (``suppress_ragged_eofs``)
            # reads that as the end of the body, so this one does too; a body short of its
            # Content-Length is still caught by Answer.body.
            return 0

    def close(self) -> None:
        self.outer.close()


@dataclass
class Answer:
    """The status and headers of an answer; the body is read only when asked (:meth:`body`)."""

    status: int
    headers: HTTPMessage
    elapsed: float  # seconds from the start of the call to the end of the headers
    response: HTTPResponse
    wire: _Wire
    closed: bool = field(default=False)

    def body(self, cap: int) -> bytes:
        """The body, at most ``cap`` bytes, decompressed with the same cap (gzip/deflate), before
        the call's deadline. :class:`~.netutil.Oversized` says it was larger; ``ValueError`` an
        encoding that does not decode; :class:`CallError` (stage ``body``) a broken transfer."""
        import zlib

        chunks: List[bytes] = []
        total = 0
        try:
            while True:
                chunk = self.response.read(16384)
                if not chunk:
                    break
                total += len(chunk)
                if total > cap:
                    raise Oversized(f"an answer of more than {cap // 1024} KiB")
                chunks.append(chunk)
        except Oversized:
            raise
        except Exception as exc:  # a socket, TLS or http.client error while reading it
            raise CallError(_kind_of(exc), "body", _detail(exc)) from None
        if self.response.length:  # http.client returns what came when the peer closes early
            raise CallError("closed", "body", f"the answer ended {self.response.length} bytes "
                            "short of its Content-Length")
        data = b"".join(chunks)
        encoding = str(self.headers.get("Content-Encoding", "")).strip().lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told by the header
            try:
                data = decoder.decompress(data, cap + 1)
            except zlib.error as exc:
                raise ValueError(f"a {encoding} body that does not decompress: {exc}") from None
            if len(data) > cap or decoder.unconsumed_tail:
                raise Oversized(f"an answer that decompresses to more than {cap // 1024} KiB")
        elif encoding not in ("", "identity"):
            raise ValueError(f"an answer in an unknown encoding ({encoding[:40]!r})")
        return data

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.response.close()
            self.wire.close()

    def __enter__(self) -> Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(host: str, port: int, address: Optional[str], deadline: float) -> socket.socket:
    """A TCP connection to ``address`` (or each address ``host`` resolves to, in turn)."""
    from .netutil import connect

    if address is not None:
        return connect(address, port, max(0.01, deadline - time.monotonic()))
    error: Optional[BaseException] = None
    for info in _lookup(host, port, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        try:
            return connect(str(info[4][0]), port, left)
        except OSError as exc:
            error = exc
    raise error or OSError(f"{host} resolves to no address")


def _lookup(host: str, port: int, deadline: float) -> List[Any]:
    """``getaddrinfo`` bounded by the deadline: the C call has no timeout of its own, so it runs
    in a daemon thread that is left behind (and ends by itself) when the deadline passes."""
    import threading

    found: Dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    worker = threading.Thread(target=lookup, name="webcall-lookup", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise socket.timeout(f"looking up {host} timed out")
    if "error" in found:
        raise found["error"]
    return list(found["infos"])


def _clean(text: str, what: str, lowest: int = 0x20) -> str:
    """``text`` unchanged, or ValueError when it could split the request (CR, LF, other control
    characters; in the method and target a space as well, as http.client refuses)."""
    if any(ord(ch) < lowest or ord(ch) == 0x7F or ord(ch) > 0xFF for ch in text):
        raise ValueError(f"a control character or space in the request's {what}")
    return text


def _head(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"{_clean(method, 'method', 0x21)} {_clean(target, 'target', 0x21)} HTTP/1.1"]
    lines += [f"{_clean(k, 'header')}: {_clean(v, 'header')}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _connect_answer(wire: _Wire) -> Tuple[int, str]:
    """The proxy's answer to CONNECT: (status, status line), its header lines read and dropped.

    Read one byte at a time: what follows the blank line is the endpoint's TLS, not ours.
    """
    def line() -> bytes:
        data = bytearray()
        one = bytearray(1)
        while not data.endswith(b"\n"):
            if wire.recv_into(memoryview(one)) == 0:
                break
            data += one
            if len(data) > MAX_LINE:
                raise CallError("bad_header", "tunnel", "a CONNECT answer line over 64 KiB")
        return bytes(data)

    first = line()
    if not first:
        raise CallError("closed", "tunnel", "the proxy closed the connection without answering")
    status_line = first.decode("latin-1").strip()
    fields = status_line.split(" ", 2)
    status_ok = len(fields) >= 2 and fields[1].isascii() and fields[1].isdigit()
    if not status_ok or not fields[0].startswith("HTTP/"):
        raise CallError("bad_answer", "tunnel", f"not an HTTP answer: {status_line[:60]!r}")
    for _ in range(MAX_HEADERS + 1):
        if line() in (b"\r\n", b"\n", b""):
            return int(fields[1]), status_line
    raise CallError("bad_header", "tunnel", f"a CONNECT answer with over {MAX_HEADERS} headers")


def call(method: str, url: str, *, context: ssl.SSLContext, deadline: float,
         headers: Optional[Mapping[str, str]] = None, body: Optional[bytes] = None,
         proxy: Optional[str] = None, address: Optional[str] = None) -> Answer:
    """Send one request and read its status and headers, all before ``deadline`` (a
    ``time.monotonic()`` value). ``address`` pins a direct request to that literal address;
    ``proxy`` is an ``http://`` or ``https://`` proxy URL (credentials in it are sent as Basic
    ``Proxy-Authorization``). Raises :class:`CallError`, or ``ValueError`` for a request that
    cannot be written (a control character in it)."""
    import http.client

    started = time.monotonic()
    parts = urlsplit(url)
    scheme = parts.scheme
    host = parts.hostname or ""
    default = 443 if scheme == "https" else 80
    port = parts.port or default
    literal = f"[{host}]" if ":" in host else host
    netloc = literal if port == default else f"{literal}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    sent: Dict[str, str] = {"Host": netloc, "User-Agent": "arc-preflight", "Accept": "*/*",
                            "Accept-Encoding": "identity", "Connection": "close"}
    for key, value in (headers or {}).items():
        for known in list(sent):
            if known.lower() == key.lower():
                del sent[known]
        sent[key] = value
    if body is not None:
        sent["Content-Length"] = str(len(body))
    target = path
    wire: Optional[_Wire] = None
    stage = "proxy" if proxy else "connect"
    try:
        if proxy:
            from .proxy import auth_header

            proxy_parts = urlsplit(proxy)
            proxy_host = proxy_parts.hostname or ""
            proxy_port = proxy_parts.port or (443 if proxy_parts.scheme == "https" else 80)
            raw = _open(proxy_host, proxy_port, None, deadline)
            sock: Union[socket.socket, _TLSInTLS] = raw
            if proxy_parts.scheme == "https":
                # The proxy's own certificate is checked against the system store, as the
                # proxy check does; --ca-bundle speaks for the endpoints.
                raw.settimeout(max(0.01, deadline - time.monotonic()))
                sock = ssl.create_default_context().wrap_socket(raw, server_hostname=proxy_host)
            wire = _Wire(sock, deadline)
            authorization = auth_header(proxy)
            if scheme == "https":
                stage = "tunnel"
                wire.sendall(f"CONNECT {literal}:{port} HTTP/1.1\r\nHost: {literal}:{port}\r\n"
                             f"{authorization}User-Agent: arc-preflight\r\n\r\n".encode("latin-1"))
                status, status_line = _connect_answer(wire)
                if status != 200:
                    raise CallError("proxy_status", "tunnel", status_line, status)
                stage = "tls"
                if isinstance(sock, ssl.SSLSocket):
                    inner = _TLSInTLS(sock, context, host, deadline)
                    sock.settimeout(wire.left())
                    inner.handshake()
                    wire = _Wire(inner, deadline)
                else:
                    raw.settimeout(wire.left())
                    wire = _Wire(context.wrap_socket(raw, server_hostname=host), deadline)
            else:
                target = f"{scheme}://{netloc}{path}"
                if authorization:
                    name, _, value = authorization.partition(": ")
                    sent[name] = value.strip()
        else:
            raw = _open(host, port, address, deadline)
            wire = _Wire(raw, deadline)
            if scheme == "https":
                stage = "tls"
                raw.settimeout(wire.left())
                wire = _Wire(context.wrap_socket(raw, server_hostname=host), deadline)
        stage = "answer"
        # The server may have answered already and closed: then read what it said.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            wire.sendall(_head(method, target, sent) + (body or b""))
        response = http.client.HTTPResponse(wire, method=method)  # type: ignore[arg-type]
        response.begin()
    except ValueError as exc:
        if wire is not None:
            wire.close()
        if isinstance(exc, ssl.SSLError):  # SSLCertVerificationError is a ValueError too
            raise CallError(_kind_of(exc), stage, _detail(exc)) from None
        raise
    except CallError:
        if wire is not None:
            wire.close()
        raise
    except Exception as exc:
        if wire is not None:
            wire.close()
        raise CallError(_kind_of(exc), stage, _detail(exc)) from None
    return Answer(response.status, response.msg, time.monotonic() - started, response, wire)
