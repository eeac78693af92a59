"""Hostile servers for the lab (issue 13): a raw TCP (optionally TLS) server that reads one
request head and answers the way an attacker or a broken device would. Runs only inside the
lab's namespace, bound to a loopback or lab address (the caller checks the address).

Modes:
  chunked-endless   200, Transfer-Encoding: chunked, 16 KiB chunks for ever
  huge-body         200, Content-Length 1 GiB, sent for ever
  gzip-bomb         200, Content-Encoding: gzip, 1 GiB of zeros in ~1 MiB
  long-header       200 with one 100 KB header line
  endless-header    the status line, then header lines for ever (never the blank line)
  deep-json         200, JSON nested 100,000 levels
  json              200 with the JSON given by --body or --body-file (escapes, 'a-a-a'...)
  status            the status line given by --status-line, then an empty header (proxies)
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import ssl
import sys
import threading
import zlib
from pathlib import Path
from typing import Optional

_GZIP: Optional[bytes] = None


def gzip_bomb() -> bytes:
    global _GZIP
    if _GZIP is None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = b"\0" * (1 << 20)
        parts = [packer.compress(zeros) for _ in range(1024)]
        parts.append(packer.flush())
        _GZIP = b"".join(parts)
    return _GZIP


def read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def serve(conn: socket.socket, args: argparse.Namespace) -> None:
    try:
        read_head(conn)
        mode = args.mode
        if mode == "chunked-endless":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
            while True:
                conn.sendall(chunk)
        elif mode == "huge-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1073741824\r\n\r\n")
            block = b"[" * 65536
            while True:
                conn.sendall(block)
        elif mode == "gzip-bomb":
            body = gzip_bomb()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Encoding: gzip\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        elif mode == "long-header":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 100_000
                         + b"\r\nContent-Length: 2\r\n\r\n{}")
        elif mode == "endless-header":
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n")
            line = b"X-Pad: " + b"a" * 1000 + b"\r\n"
            while True:
                conn.sendall(line)
        elif mode == "deep-json":
            body = b'{"compute": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        elif mode == "json":
            body = args.body.encode("utf-8")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        elif mode == "status":
            conn.sendall(args.status_line.encode("latin-1") + b"\r\nContent-Length: 0\r\n\r\n")
            conn.recv(1)  # hold the connection until the client closes
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--body", default="{}")
    parser.add_argument("--body-file", help="the body for mode json (long ones: argv is limited)")
    parser.add_argument("--status-line", default="HTTP/1.1 403 Forbidden")
    args = parser.parse_args()
    if args.body_file:
        args.body = Path(args.body_file).read_text(encoding="utf-8")
    if args.mode == "gzip-bomb":
        gzip_bomb()
    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.bind, args.port))
    sock.listen(64)
    Path(args.ready_file).write_text("ready")
    while True:
        conn, _ = sock.accept()
        if context is not None:
            try:
                conn.settimeout(10)
                conn = context.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
            except (OSError, ssl.SSLError):
                conn.close()
                continue
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
