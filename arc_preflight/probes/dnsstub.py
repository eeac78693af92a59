"""A small DNS stub for the A and AAAA lookups of the DNS probe: the cheapest correct way to ask.

Every endpoint check waits on DNS first, and importing dnspython's resolver costs more CPU than
the whole rest of the DNS layer (about 120 ms, spent before the first query can leave). For the
common case, a host configured by ``/etc/resolv.conf`` or a run given ``--dns-server``, this
module asks itself: one RFC 1035 query per record type over UDP (TCP when the answer is
truncated), each server in turn within the budget, and reads the answer code and the addresses.
dnspython stays the resolver where the configuration is not a resolv.conf (Windows keeps it in
the registry) and is the reference this module is tested against in the lab.

Outcomes are reported in the probe's own vocabulary (``dns.nxdomain``, ``dns.servfail``...),
so the DNS probe's verdicts do not depend on which of the two asked.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

RESOLV_CONF = "/etc/resolv.conf"
TYPES = {"A": 1, "AAAA": 28}
_CNAME = 5
_NOERROR, _SERVFAIL, _NXDOMAIN, _REFUSED = 0, 2, 3, 5
_PER_SERVER = 2.0  # seconds one server gets before the next is asked (as dnspython's default)
_MAX_TCP = 65535


class StubUnusable(Exception):
    """The stub cannot serve this lookup (no resolv.conf, a name it cannot encode): use
    dnspython instead."""


def system_nameservers(path: str = RESOLV_CONF) -> List[str]:
    """The ``nameserver`` addresses of a resolv.conf, in order (glibc uses the first three).

    Raises :class:`StubUnusable` when the file cannot be read, so the caller falls back to the
    platform's own configuration reader.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(65536)
    except OSError as exc:
        raise StubUnusable(f"{path}: {exc}") from None
    servers: List[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            address = fields[1].split("%", 1)[0]  # fe80::1%eth0: the zone is the interface
            try:
                ipaddress.ip_address(address)
            except ValueError:
                continue
            servers.append(fields[1])
    return servers[:3]


def encode_name(name: str) -> bytes:
    """The wire form of an ASCII host name; StubUnusable for what needs IDNA or is malformed."""
    labels = name.rstrip(".").split(".")
    out = bytearray()
    for label in labels:
        raw = label.encode("ascii", "strict") if label.isascii() else b""
        if not raw or len(raw) > 63:
            raise StubUnusable(f"cannot encode {name!r} as a DNS name")
        out.append(len(raw))
        out += raw
    if len(out) + 1 > 255:
        raise StubUnusable(f"{name!r} is longer than a DNS name may be")
    return bytes(out) + b"\x00"


def build_query(name: str, rdtype: int, query_id: int) -> bytes:
    """A standard recursive query (RD set) for one name and type, class IN."""
    header = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", rdtype, 1)


def _read_name(data: bytes, offset: int) -> Tuple[str, int]:
    """A possibly compressed name at ``offset``: (text, offset after it in the record)."""
    labels: List[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(data):
            raise ValueError("name runs past the end of the message")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data):
                raise ValueError("truncated compression pointer")
            if end < 0:
                end = offset + 2
            jumps += 1
            if jumps > 32:
                raise ValueError("compression pointer loop")
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length & 0xC0:
            raise ValueError("unknown label type")
        offset += 1
        if length == 0:
            break
        labels.append(data[offset:offset + length].decode("ascii", "replace"))
        offset += length
    return ".".join(labels), (end if end >= 0 else offset)


@dataclass
class Reply:
    """What one server said: its answer code, the addresses of the asked type, the name they
    belong to after CNAMEs, and whether the answer was cut (TC)."""

    rcode: int
    addresses: List[str] = field(default_factory=list)
    canonical: str = ""
    truncated: bool = False


def parse_reply(data: bytes, query_id: int, rdtype: int) -> Optional[Reply]:
    """The reply to our query, or None when ``data`` is not one (wrong id, not a response)."""
    if len(data) < 12:
        return None
    answer_id, flags, qdcount, ancount, _, _ = struct.unpack("!HHHHHH", data[:12])
    if answer_id != query_id or not flags & 0x8000:
        return None
    reply = Reply(rcode=flags & 0x000F, truncated=bool(flags & 0x0200))
    try:
        offset = 12
        for _ in range(qdcount):
            _, offset = _read_name(data, offset)
            offset += 4
        for _ in range(ancount):
            owner, offset = _read_name(data, offset)
            if offset + 10 > len(data):
                raise ValueError("truncated record")
            rtype, _, _, length = struct.unpack("!HHIH", data[offset:offset + 10])
            offset += 10
            rdata = data[offset:offset + length]
            if len(rdata) != length:
                raise ValueError("truncated record data")
            if rtype == rdtype == 1 and length == 4:
                reply.addresses.append(socket.inet_ntop(socket.AF_INET, rdata))
                reply.canonical = reply.canonical or owner
            elif rtype == rdtype == 28 and length == 16:
                reply.addresses.append(socket.inet_ntop(socket.AF_INET6, rdata))
                reply.canonical = reply.canonical or owner
            elif rtype == _CNAME:
                reply.canonical = _read_name(data, offset)[0]
            offset += length
    except ValueError:
        reply.truncated = reply.truncated or not reply.addresses
    return reply


def _family(server: str) -> int:
    return socket.AF_INET6 if ":" in server else socket.AF_INET


def _udp(server: str, packet: bytes, query_id: int, rdtype: int, timeout: float) -> Reply:
    deadline = time.monotonic() + timeout
    with socket.socket(_family(server), socket.SOCK_DGRAM) as sock:
        sock.connect((server, 53))
        sock.settimeout(max(0.01, timeout))
        sock.send(packet)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            sock.settimeout(left)
            reply = parse_reply(sock.recv(4096), query_id, rdtype)
            if reply is not None:  # anything else is a stray datagram: keep waiting
                return reply


def _tcp(server: str, packet: bytes, query_id: int, rdtype: int, timeout: float) -> Reply:
    deadline = time.monotonic() + timeout
    with socket.create_connection((server, 53), timeout=max(0.01, timeout)) as sock:
        sock.sendall(struct.pack("!H", len(packet)) + packet)
        wanted = 2
        data = b""
        while len(data) < wanted:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            sock.settimeout(left)
            chunk = sock.recv(min(_MAX_TCP, wanted - len(data)))
            if not chunk:
                raise ConnectionResetError("closed before the whole answer")
            data += chunk
            if wanted == 2 and len(data) >= 2:
                wanted = 2 + struct.unpack("!H", data[:2])[0]
    reply = parse_reply(data[2:], query_id, rdtype)
    if reply is None:
        raise ConnectionResetError("answer does not match the query")
    return reply


@dataclass(frozen=True)
class Lookup:
    """The outcome of one name and type: addresses, or an error (code, text) as the DNS probe
    reports it."""

    addresses: Tuple[str, ...] = ()
    canonical: str = ""
    error: Optional[Tuple[str, str]] = None


def lookup(name: str, rdtype: str, servers: Sequence[str], budget: float) -> Lookup:
    """Ask ``servers`` in turn for ``name``'s records of ``rdtype`` within ``budget`` seconds.

    As a stub resolver does: NXDOMAIN or an answer (even an empty one) from any server is
    final; SERVFAIL, REFUSED, silence or an unreachable server moves on to the next one.
    """
    if not servers:
        return Lookup(error=("dns.no_nameservers", "no DNS server is configured on this host"))
    kind = TYPES[rdtype]
    started = time.monotonic()
    # unpredictable, as RFC 5452 asks; os.urandom is what secrets itself draws from, without
    # the ~10 ms of hashlib/hmac/random its import costs before the first probe can start
    query_id = int.from_bytes(os.urandom(2), "big")
    packet = build_query(name, kind, query_id)
    failures: List[str] = []
    rotation = list(servers)
    index = 0
    while rotation:
        left = budget - (time.monotonic() - started)
        if left <= 0.01:
            break
        server = rotation[index % len(rotation)]
        index += 1
        try:
            reply = _udp(server, packet, query_id, kind, min(left, _PER_SERVER))
            if reply.truncated:
                left = budget - (time.monotonic() - started)
                reply = _tcp(server, packet, query_id, kind, max(0.01, left))
        except (socket.timeout, TimeoutError):
            failures.append("timeout")
            continue
        except OSError as exc:
            # No route to the server at all is a network problem, not a failing server.
            no_route = getattr(exc, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH)
            failures.append("no_route" if no_route else "unreachable")
            rotation.remove(server)  # no route or refused port: asking again changes nothing
            index -= 1
            continue
        if reply.rcode == _NXDOMAIN:
            return Lookup(error=("dns.nxdomain", "name does not exist (NXDOMAIN)"))
        if reply.rcode == _NOERROR:
            if reply.addresses:
                return Lookup(tuple(reply.addresses), reply.canonical)
            return Lookup(error=("dns.no_answer", "name exists but has no address record"))
        # SERVFAIL, REFUSED and the rest: this server will not do better; try the others.
        failures.append("refused" if reply.rcode == _REFUSED else "servfail")
        rotation.remove(server)
        index -= 1
    return Lookup(error=_verdict(failures))


def _verdict(failures: Sequence[str]) -> Tuple[str, str]:
    """The probe's failure code when no server gave an answer, from what each one did."""
    if failures and all(f == "no_route" for f in failures):
        return ("dns.server_unreachable",
                "no route to the DNS server: network unreachable")
    if "refused" in failures:
        return "dns.refused", "the DNS server refused the query"
    if "servfail" in failures or (failures and "timeout" not in failures):
        # Every server failed or could not be reached (the dnspython path says the same).
        return "dns.servfail", "the DNS server failed to answer (SERVFAIL)"
    return "dns.timeout", "no DNS server answered in time"


def usable_here() -> bool:
    """Whether this host's resolver configuration is a resolv.conf the stub can read."""
    return os.name == "posix" and os.path.exists(RESOLV_CONF)
