"""Stand-in servers for the lab: HTTPS endpoints and the HIMDS / IMDS metadata service.

This file runs as its own process inside the lab's network namespace (``ip netns exec NS
python3 standin.py ...``) so that it binds to the namespace's loopback and nothing else. It is
deliberately standard-library only: the lab may run it with any Python, including as a process
the test runner does not own after a crash.

Kinds (``--kind``):

* ``https``  -- TLS server with a given certificate; answers any method on any path with JSON.
  The status is "auto" by default: ARM hosts (``management.*``) answer 401 with an ARM error
  body, identity hosts (``login.*``) answer 400 with an AAD error body on POST, everything else
  answers 200. That is roughly what the real endpoints say to an unauthenticated client, so the
  CLI under test sees realistic bodies. ``--status`` forces one status for every request.
* ``himds``  -- plain HTTP metadata service (HIMDS on 127.0.0.1:40342, or Azure IMDS on
  169.254.169.254:80): ``GET /metadata/instance?api-version=...`` with header ``Metadata: true``
  returns the instance document; without the header it answers 400 like the real service.

Modes (``--mode``), which apply to both kinds:

* ``ok``                 -- answer normally.
* ``hang``               -- accept TCP connections and never send a byte (stuck TLS handshake,
  hanging HIMDS).
* ``close-after-hello``  -- read the first bytes (the TLS ClientHello) then close cleanly (FIN).
* ``reset-after-hello``  -- read the first bytes then close with a TCP reset (SO_LINGER 0).

Every response carries a ``Date`` header (shifted by ``--date-offset`` seconds, for clock-skew
tests). When ``--ready-file`` is given, the file is written once the socket listens, so the lab
can wait for readiness without spawning a probe inside the namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import json
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}

DEFAULT_COMPUTE: Dict[str, Any] = {
    "azEnvironment": "AzurePublicCloud",
    "location": "eastus",
    "name": "web01",
    "osType": "Linux",
    "resourceGroupName": "arc-rg",
    "subscriptionId": "00000000-0000-0000-0000-000000000000",
    "tenantId": "11111111-1111-1111-1111-111111111111",
    "vmId": "22222222-2222-2222-2222-222222222222",
    "resourceId": (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/arc-rg"
        "/providers/Microsoft.HybridCompute/machines/web01"
    ),
}


class Config:
    """Parsed command line, shared by every handler thread (read-only after start)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.kind: str = args.kind
        self.status: Optional[int] = args.status
        self.body: Optional[str] = args.body
        self.date_offset: float = args.date_offset
        compute = dict(DEFAULT_COMPUTE)
        if args.compute:
            compute.update(json.loads(args.compute))
        self.compute = compute


class Handler(BaseHTTPRequestHandler):
    """Answers every request; the interesting decisions are in ``_reply_*``."""

    server_version = "arcpf-standin/1"
    protocol_version = "HTTP/1.1"
    config: Config  # set on the subclass by main()

    def date_time_string(self, timestamp: Optional[float] = None) -> str:
        # Shifted Date header, so the CLI's clock-skew check can be tested against a real server.
        now = (time.time() if timestamp is None else timestamp) + self.config.date_offset
        return email.utils.formatdate(now, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {self.headers.get('Host', '-')} "
                         f"{format % args}\n")
        sys.stderr.flush()

    def _send_json(self, status: int, payload: Any,
                   headers: Optional[Dict[str, str]] = None) -> None:
        data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)

    def _handle(self) -> None:
        self._drain_body()
        if self.config.kind == "himds":
            self._reply_himds()
        else:
            self._reply_https()

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _handle

    def _default_body(self, host: str) -> str:
        return json.dumps({"standin": True, "host": host, "path": self.path})

    def _reply_https(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        if self.config.status is not None:
            body = self.config.body or self._default_body(host)
            self._send_json(self.config.status, body)
            return
        if host.startswith("management."):
            self._send_json(401, {"error": {
                "code": "AuthenticationFailed",
                "message": "Authentication failed. The 'Authorization' header is missing.",
            }}, {"WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/"'})
        elif host.startswith("login.") and self.command == "POST":
            self._send_json(400, {
                "error": "invalid_request",
                "error_description": "AADSTS900144: The request body must contain the following "
                                     "parameter: 'grant_type'.",
                "error_codes": [900144],
            })
        else:
            body = self.config.body or self._default_body(host)
            self._send_json(200, body)

    def _reply_himds(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if self.headers.get("Metadata", "").lower() != "true":
            self._send_json(400, {"error": "invalid_request",
                                  "error_description": "Required metadata header not specified"})
            return
        if "api-version" not in query:
            self._send_json(400, {"error": "Bad request. api-version was not specified in the "
                                           "request."})
            return
        if url.path.rstrip("/") == "/metadata/instance":
            self._send_json(200, {"compute": self.config.compute, "network": {}})
        elif url.path.rstrip("/") == "/metadata/identity/oauth2/token":
            # HIMDS's challenge: the client must read a root-only key file and retry.
            self._send_json(401, {"error": "unauthorized"}, {
                "WWW-Authenticate": "Basic realm=/var/opt/azcmagent/tokens/standin.key"})
        else:
            self._send_json(404, {"error": "not_found", "path": url.path})


class TLSThreadingServer(ThreadingHTTPServer):
    """Threaded HTTP server doing the TLS handshake in the worker thread.

    Wrapping the listening socket would run every handshake in the accept loop, so one stuck
    client would block all others; handshaking per connection keeps the stand-in responsive.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: Tuple[str, int], handler: type, context: Optional[ssl.SSLContext],
                 family: int) -> None:
        self.address_family = family
        self.context = context
        super().__init__(addr, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(30)
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                sys.stderr.write(f"{client_address[0]} TLS handshake failed: {exc}\n")
                return
        super().finish_request(request, client_address)


def raw_server(sock: socket.socket, mode: str) -> None:
    """Accept loop for the misbehaving modes; never returns."""
    held: List[socket.socket] = []  # keep references so 'hang' connections stay open
    while True:
        conn, peer = sock.accept()
        sys.stderr.write(f"{peer[0]} accepted ({mode})\n")
        if mode == "hang":
            held.append(conn)
            continue
        threading.Thread(target=_close_after_hello, args=(conn, mode), daemon=True).start()


def _close_after_hello(conn: socket.socket, mode: str) -> None:
    conn.settimeout(10)
    with contextlib.suppress(OSError):
        conn.recv(16384)
    if mode == "reset-after-hello":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def make_context(args: argparse.Namespace) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.tls_max:
        # Old protocols need security level 0 with OpenSSL 3, otherwise the server itself
        # refuses to speak them and the test would not show what an old server looks like.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = TLS_VERSIONS[args.tls_max]
    return context


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("https", "himds"), default="https")
    parser.add_argument("--bind", default="127.0.1.1")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--mode", default="ok",
                        choices=("ok", "hang", "close-after-hello", "reset-after-hello"))
    parser.add_argument("--tls-max", choices=sorted(TLS_VERSIONS))
    parser.add_argument("--status", type=int)
    parser.add_argument("--body")
    parser.add_argument("--date-offset", type=float, default=0.0)
    parser.add_argument("--compute", help="JSON object merged into the HIMDS compute document")
    parser.add_argument("--ready-file")
    args = parser.parse_args(argv)

    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    if args.mode != "ok":
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.bind, args.port))
        sock.listen(128)
        if args.ready_file:
            Path(args.ready_file).write_text("ready\n")
        raw_server(sock, args.mode)
        return 0

    context = None
    if args.kind == "https":
        if not (args.cert and args.key):
            parser.error("--kind https needs --cert and --key")
        context = make_context(args)
    handler = type("ConfiguredHandler", (Handler,), {"config": Config(args)})
    server = TLSThreadingServer((args.bind, args.port), handler, context, family)
    if args.ready_file:
        Path(args.ready_file).write_text("ready\n")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
