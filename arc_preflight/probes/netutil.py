"""Socket-level helpers shared by the TCP, TLS, proxy, HTTP and HIMDS probes."""

from __future__ import annotations

import errno
import socket
import sys
from typing import Any, Optional, Tuple

# Windows reports Winsock codes; Python maps the common ones onto the builtin exception classes,
# but "network unreachable" and "host unreachable" arrive as plain OSError with these numbers.
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN,
                10050, 10051, 10064, 10065}
_REFUSED = {errno.ECONNREFUSED, 10061}
_RESET = {errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ENETRESET, 10052, 10053,
          10054}
_TIMEOUT = {errno.ETIMEDOUT, 10060}
# A packet filter on this machine rejecting the connection (Linux OUTPUT rules give EPERM;
# Windows reports WSAEACCES 10013).
_LOCAL_BLOCK = {errno.EPERM, errno.EACCES, 10013}


def classify_socket_error(exc: BaseException) -> Tuple[str, str]:
    """Map a socket exception to (kind, text): refused, reset, timeout, unreachable or error.

    This is the one table for socket failures: every probe that opens a connection uses it, so
    "refused" means the same thing in a TCP, proxy or HIMDS result.
    """
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", "timed out (no answer: packets silently dropped?)"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", "connection refused"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return "reset", "connection reset"
    loaded_ssl = sys.modules.get("ssl")  # an SSLError exists only once ssl is imported
    if loaded_ssl is not None and isinstance(exc, loaded_ssl.SSLError):
        # Its errno is OpenSSL's (1 = SSL_ERROR_SSL), not the socket's: never EPERM.
        return "error", str(getattr(exc, "reason", None) or exc or type(exc).__name__)
    if isinstance(exc, OSError):
        code = exc.errno if exc.errno is not None else getattr(exc, "winerror", None)
        if code in _UNREACHABLE:
            what = "network" if code in (errno.ENETUNREACH, errno.ENETDOWN, 10050,
                                         10051) else "host"
            return "unreachable", f"{what} unreachable (no route)"
        if code in _LOCAL_BLOCK:
            return "unreachable", "blocked by a firewall rule on this machine (not permitted)"
        if code in _REFUSED:
            return "refused", "connection refused"
        if code in _RESET:
            return "reset", "connection reset"
        if code in _TIMEOUT:
            return "timeout", "timed out"
        return "error", (exc.strerror or str(exc) or type(exc).__name__)
    return "error", str(exc) or type(exc).__name__


def connect(address: str, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection to one literal address, bounded by ``timeout``."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


def is_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def recv_until(
    sock: socket.socket, marker: bytes, limit: int = 65536, first: bytes = b""
) -> Optional[bytes]:
    """Read until ``marker`` (for proxy response headers); None when the peer closes first.

    With ``first``, stop as soon as the data cannot start with it: a server that sends some
    other banner and then waits (SSH, SMTP) is recognised at once instead of at the timeout.
    """
    data = b""
    while marker not in data:
        if first and len(data) >= len(first) and not data.startswith(first):
            break
        if first and data and not first.startswith(data[: len(first)]):
            break
        chunk = sock.recv(4096)
        if not chunk:
            return data if data else None
        data += chunk
        if len(data) > limit:
            break
    return data


class Oversized(ValueError):
    """An answer larger than the caller's cap (after decompression)."""


def json_depth(value: Any, limit: int) -> bool:
    """True when ``value`` (parsed JSON) nests no deeper than ``limit`` (checked without
    recursion, so the check itself cannot overflow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return True
