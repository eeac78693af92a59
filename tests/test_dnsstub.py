"""The DNS stub's wire format and its choice of verdict, without a network.

Replies are built with dnspython (the reference implementation), so the parser is checked
against messages shaped as a real server shapes them: compressed names, CNAME chains, answers
for other types. The lab tests run the stub against a real dnsmasq.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from arc_preflight.model import FAILURE_CODES
from arc_preflight.probes import dns as dns_probe
from arc_preflight.probes import dnsstub

NAME = "management.azure.com"


def wire_reply(query_id: int, rdtype: str, rcode: int = 0, answers: Sequence[str] = (),
               cname: Optional[str] = None, truncated: bool = False) -> bytes:
    query = dns.message.make_query(NAME, rdtype)
    query.id = query_id
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    owner = NAME + "."
    if cname:
        reply.answer.append(dns.rrset.from_text(owner, 60, "IN", "CNAME", cname + "."))
        owner = cname + "."
    if answers:
        reply.answer.append(dns.rrset.from_text(owner, 60, "IN", rdtype, *answers))
    if truncated:
        reply.flags |= dns.flags.TC
    return bytes(reply.to_wire())


def test_query_is_a_standard_recursive_question_dnspython_reads() -> None:
    packet = dnsstub.build_query(NAME, dnsstub.TYPES["AAAA"], 4242)
    parsed = dns.message.from_wire(packet)
    assert parsed.id == 4242
    assert parsed.flags & dns.flags.RD
    assert str(parsed.question[0].name) == NAME + "."
    assert parsed.question[0].rdtype == 28


@pytest.mark.parametrize("rdtype,answers", [("A", ["127.0.1.1", "127.0.1.2"]),
                                            ("AAAA", ["::1", "2001:db8::5"])])
def test_addresses_are_read_from_a_reply(rdtype: str, answers: List[str]) -> None:
    reply = dnsstub.parse_reply(wire_reply(7, rdtype, answers=answers), 7,
                                dnsstub.TYPES[rdtype])
    assert reply is not None and reply.rcode == 0
    assert sorted(reply.addresses) == sorted(answers)


def test_cname_chain_gives_the_canonical_name() -> None:
    data = wire_reply(9, "A", answers=["20.37.1.1"], cname="arm-frontdoor.trafficmanager.net")
    reply = dnsstub.parse_reply(data, 9, 1)
    assert reply is not None
    assert reply.addresses == ["20.37.1.1"]
    assert reply.canonical == "arm-frontdoor.trafficmanager.net"


def test_a_reply_to_another_query_is_ignored() -> None:
    assert dnsstub.parse_reply(wire_reply(1, "A", answers=["127.0.0.1"]), 2, 1) is None
    assert dnsstub.parse_reply(b"\x00\x01", 1, 1) is None


@pytest.mark.parametrize("garbage", [b"\x00\x07\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\xc0",
                                     b"\x00\x07\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x0c"])
def test_a_damaged_reply_is_marked_truncated_not_a_crash(garbage: bytes) -> None:
    reply = dnsstub.parse_reply(garbage, 7, 1)
    assert reply is not None and reply.truncated and not reply.addresses


def test_compression_loop_does_not_hang() -> None:
    # An answer whose owner name points at itself.
    loop = (b"\x00\x07\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00" + b"\xc0\x0c"
            + b"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01")
    reply = dnsstub.parse_reply(loop, 7, 1)
    assert reply is not None and reply.truncated


def test_resolv_conf_nameservers_in_order_at_most_three(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# generated\nsearch contoso.com\nnameserver 10.0.0.53\n"
                    "nameserver fe80::1%eth0 ; link-local\nnameserver not-an-ip\n"
                    "options timeout:1\nnameserver 10.0.0.54\nnameserver 10.0.0.55\n")
    assert dnsstub.system_nameservers(str(conf)) == ["10.0.0.53", "fe80::1%eth0", "10.0.0.54"]


def test_missing_resolv_conf_hands_over_to_dnspython(tmp_path: Path) -> None:
    with pytest.raises(dnsstub.StubUnusable):
        dnsstub.system_nameservers(str(tmp_path / "absent"))


@pytest.mark.parametrize("name", ["bücher.example", "a" * 64 + ".example", "a..example"])
def test_names_the_stub_cannot_encode_hand_over(name: str) -> None:
    with pytest.raises(dnsstub.StubUnusable):
        dnsstub.build_query(name, 1, 1)


class Servers:
    """Stand-in for the UDP exchange: what each server does, and who was asked."""

    def __init__(self, behaviour: Dict[str, Any]) -> None:
        self.behaviour = behaviour
        self.asked: List[str] = []

    def udp(self, server: str, packet: bytes, query_id: int, rdtype: int,
            timeout: float) -> dnsstub.Reply:
        self.asked.append(server)
        action = self.behaviour[server]
        if isinstance(action, BaseException):
            raise action
        return dnsstub.Reply(rcode=action[0], addresses=list(action[1]))


def run_lookup(monkeypatch: pytest.MonkeyPatch, behaviour: Dict[str, Any],
               budget: float = 1.0) -> Any:
    fake = Servers(behaviour)
    monkeypatch.setattr(dnsstub, "_udp", fake.udp)
    result = dnsstub.lookup(NAME, "A", list(behaviour), budget)
    return result, fake.asked


@pytest.mark.parametrize("behaviour,code", [
    ({"10.0.0.1": (3, [])}, "dns.nxdomain"),
    ({"10.0.0.1": (0, [])}, "dns.no_answer"),
    ({"10.0.0.1": (2, []), "10.0.0.2": (2, [])}, "dns.servfail"),
    ({"10.0.0.1": (5, []), "10.0.0.2": (2, [])}, "dns.refused"),
    # No route to the server (issue 13): a network problem, as the dnspython path says too.
    ({"10.0.0.1": OSError(101, "Network is unreachable")}, "dns.server_unreachable"),
    ({"10.0.0.1": OSError(111, "Connection refused")}, "dns.servfail"),
    ({"10.0.0.1": TimeoutError("timed out")}, "dns.timeout"),
])
def test_verdicts_match_the_dnspython_path(monkeypatch: pytest.MonkeyPatch,
                                           behaviour: Dict[str, Any], code: str) -> None:
    result, _ = run_lookup(monkeypatch, behaviour, budget=0.2)
    assert result.error is not None and result.error[0] == code
    assert result.error[0] in FAILURE_CODES


def test_a_failing_server_is_passed_over_for_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    result, asked = run_lookup(monkeypatch, {"10.0.0.1": (2, []),
                                             "10.0.0.2": (0, ["127.0.1.1"])})
    assert result.error is None and result.addresses == ("127.0.1.1",)
    assert asked == ["10.0.0.1", "10.0.0.2"]


def test_nxdomain_from_the_first_server_is_final(monkeypatch: pytest.MonkeyPatch) -> None:
    result, asked = run_lookup(monkeypatch, {"10.0.0.1": (3, []),
                                             "10.0.0.2": (0, ["127.0.1.1"])})
    assert result.error is not None and result.error[0] == "dns.nxdomain"
    assert asked == ["10.0.0.1"]


def test_unreachable_servers_end_the_lookup_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    result, asked = run_lookup(monkeypatch, {"10.0.0.1": OSError(101, "unreachable"),
                                             "10.0.0.2": OSError(101, "unreachable")},
                               budget=30.0)
    assert result.error is not None
    assert asked == ["10.0.0.1", "10.0.0.2"]


def test_no_nameserver_is_its_own_verdict() -> None:
    result = dnsstub.lookup(NAME, "A", [], 1.0)
    assert result.error is not None and result.error[0] == "dns.no_nameservers"


def test_probe_resolve_uses_the_stub_and_stops_at_nxdomain(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[str] = []

    def lookup(name: str, rdtype: str, servers: Sequence[str],
               budget: float) -> dnsstub.Lookup:
        calls.append(rdtype)
        return dnsstub.Lookup(error=("dns.nxdomain", "name does not exist (NXDOMAIN)"))

    monkeypatch.setattr(dnsstub, "lookup", lookup)
    ipv4, ipv6, error, facts = dns_probe.resolve(NAME, ("10.0.0.53",), 1.0)
    assert (ipv4, ipv6, calls) == ([], [], ["A"])
    assert error is not None and error[0] == "dns.nxdomain"
    assert facts["nameservers"] == ["10.0.0.53"]
