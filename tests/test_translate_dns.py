"""The DNS probe's translation tables: dnspython exceptions -> dns.* codes, and resolved
addresses -> the Private Link verdicts.

Every exception is made up here (no resolver is ever asked): ``dns_probe._classify`` is called
directly, and ``resolve`` runs against a stand-in resolver.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Dict, List, Optional, Tuple

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.resolver
import pytest

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, Status
from arc_preflight.probes import dns as dns_probe

QNAME = "gbl.his.arc.azure.com."


def answered(rcode: dns.rcode.Rcode) -> dns.message.Message:
    """A server's response with ``rcode`` to an A query for QNAME."""
    response = dns.message.make_response(dns.message.make_query(QNAME, "A"))
    response.set_rcode(rcode)
    return response


def no_nameservers(*errors: Tuple[Any, ...]) -> dns.resolver.NoNameservers:
    """NoNameservers as dnspython raises it: ``errors`` are (server, tcp, port, error, response)."""
    return dns.resolver.NoNameservers(request=dns.message.make_query(QNAME, "A"),
                                      errors=list(errors))


def servfail(server: str = "10.0.0.53") -> Tuple[Any, ...]:
    return (server, False, 53, "SERVFAIL", answered(dns.rcode.SERVFAIL))


def refused(server: str = "10.0.0.54") -> Tuple[Any, ...]:
    return (server, False, 53, "REFUSED", answered(dns.rcode.REFUSED))


def io_error(server: str = "10.0.0.55") -> Tuple[Any, ...]:
    return (server, False, 53, ConnectionRefusedError(111, "Connection refused"), None)


# (id, exception, code, a fact the text must mention)
CASES: List[Tuple[str, BaseException, str, str]] = [
    ("nxdomain", dns.resolver.NXDOMAIN(), "dns.nxdomain", "NXDOMAIN"),
    ("nxdomain-with-qnames",
     dns.resolver.NXDOMAIN(qnames=[dns.name.from_text(QNAME)], responses={}),
     "dns.nxdomain", "does not exist"),
    ("no-answer", dns.resolver.NoAnswer(), "dns.no_answer", "no address record"),
    ("no-resolver-configuration", dns.resolver.NoResolverConfiguration(),
     "dns.no_nameservers", "no DNS server"),
    ("no-nameservers-refused", no_nameservers(refused()), "dns.refused", "refused"),
    ("no-nameservers-servfail", no_nameservers(servfail()), "dns.servfail", "SERVFAIL"),
    ("no-nameservers-servfail-then-refused", no_nameservers(servfail(), refused()),
     "dns.refused", "refused"),
    ("no-nameservers-refused-then-servfail", no_nameservers(refused(), servfail()),
     "dns.refused", "refused"),
    ("no-nameservers-without-errors", dns.resolver.NoNameservers(), "dns.servfail", "SERVFAIL"),
    # No server answered at all (every attempt was an I/O error): today this also reads SERVFAIL.
    ("no-nameservers-io-errors-only", no_nameservers(io_error()), "dns.servfail", "SERVFAIL"),
    # No route to any server at all (issue 13): a network problem, not a failing server.
    ("no-nameservers-network-unreachable", no_nameservers(
        ("10.0.0.56", False, 53, OSError(101, "Network is unreachable"), None)),
     "dns.server_unreachable", "no route"),
    ("no-nameservers-io-error-then-refused", no_nameservers(io_error(), refused()),
     "dns.refused", "refused"),
    ("lifetime-timeout", dns.resolver.LifetimeTimeout(timeout=2.0, errors=[]),
     "dns.timeout", "in time"),
    ("timeout", dns.exception.Timeout(), "dns.timeout", "in time"),
    ("fallthrough-yxdomain", dns.resolver.YXDOMAIN(), "dns.error", "DNS lookup failed"),
    ("fallthrough-no-metaqueries", dns.resolver.NoMetaqueries(), "dns.error",
     "DNS lookup failed"),
    ("fallthrough-form-error", dns.exception.FormError("malformed reply"), "dns.error",
     "malformed reply"),
    ("fallthrough-plain-dns-exception", dns.exception.DNSException("odd resolver state"),
     "dns.error", "odd resolver state"),
    ("fallthrough-not-dns-at-all", ValueError("bad label"), "dns.error", "bad label"),
]


@pytest.mark.parametrize(("exc", "code", "fact"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_classify(exc: BaseException, code: str, fact: str) -> None:
    got, text = dns_probe._classify(exc)
    assert got == code
    assert text.strip()
    assert fact.lower() in text.lower()


# --------------------------------------------------------------------------------------------
# resolve(): the table as the probe meets it, A then AAAA, with a stand-in resolver


class FakeAnswer:
    def __init__(self, addresses: List[str], canonical: str = QNAME) -> None:
        self._rdatas = [type("Rdata", (), {"address": a})() for a in addresses]
        self.canonical_name = canonical

    def __iter__(self) -> Any:
        return iter(self._rdatas)


class FakeResolver:
    """Answers (or raises) per record type, and records what was asked."""

    def __init__(self, by_type: Dict[str, Any]) -> None:
        self.by_type = by_type
        self.nameservers = ["10.0.0.53"]
        self.lifetime = 0.0
        self.asked: List[str] = []

    def resolve(self, name: str, rdtype: str, search: bool = True) -> Any:
        self.asked.append(rdtype)
        found = self.by_type[rdtype]
        if isinstance(found, BaseException):
            raise found
        return found


def run_resolve(monkeypatch: pytest.MonkeyPatch, by_type: Dict[str, Any]) -> Tuple[Any, ...]:
    fake = FakeResolver(by_type)
    monkeypatch.setattr(dns_probe, "make_resolver", lambda servers, lifetime: fake)
    monkeypatch.setattr(dns_probe.dnsstub, "usable_here", lambda: False)  # dnspython's path
    ipv4, ipv6, error, _facts = dns_probe.resolve(QNAME.rstrip("."), (), 5.0)
    return ipv4, ipv6, error, fake.asked


def test_resolve_without_configuration_is_no_nameservers(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(servers: Any, lifetime: float) -> Any:
        raise dns.resolver.NoResolverConfiguration()

    monkeypatch.setattr(dns_probe, "make_resolver", broken)
    monkeypatch.setattr(dns_probe.dnsstub, "usable_here", lambda: False)  # dnspython's path
    ipv4, ipv6, error, _ = dns_probe.resolve("example.invalid", (), 1.0)
    assert (ipv4, ipv6) == ([], [])
    assert error is not None and error[0] == "dns.no_nameservers"


@pytest.mark.parametrize(("exc", "code"), [
    (dns.resolver.NXDOMAIN(), "dns.nxdomain"),
    (dns.resolver.LifetimeTimeout(timeout=1.0, errors=[]), "dns.timeout"),
    (dns.resolver.NoResolverConfiguration(), "dns.no_nameservers"),
], ids=["nxdomain", "timeout", "no-nameservers"])
def test_resolve_stops_after_a_final_answer(monkeypatch: pytest.MonkeyPatch,
                                            exc: BaseException, code: str) -> None:
    """NXDOMAIN, a timeout or no server: asking for AAAA too would only repeat it or wait again."""
    ipv4, ipv6, error, asked = run_resolve(monkeypatch, {"A": exc, "AAAA": exc})
    assert (ipv4, ipv6) == ([], [])
    assert error is not None and error[0] == code
    assert asked == ["A"]


@pytest.mark.parametrize(("exc", "code"), [
    (dns.resolver.NoAnswer(), "dns.no_answer"),
    (no_nameservers(servfail()), "dns.servfail"),
    (no_nameservers(refused()), "dns.refused"),
], ids=["no-answer", "servfail", "refused"])
def test_resolve_asks_aaaa_after_a_partial_failure(monkeypatch: pytest.MonkeyPatch,
                                                   exc: BaseException, code: str) -> None:
    ipv4, ipv6, error, asked = run_resolve(monkeypatch, {"A": exc, "AAAA": exc})
    assert (ipv4, ipv6) == ([], [])
    assert error is not None and error[0] == code, "the first error is the one reported"
    assert asked == ["A", "AAAA"]
    ipv4, ipv6, error, asked = run_resolve(
        monkeypatch, {"A": exc, "AAAA": FakeAnswer(["2603:1030::1"])})
    assert error is None
    assert (ipv4, ipv6) == ([], ["2603:1030::1"])


# --------------------------------------------------------------------------------------------
# private_link_verdict(): the addresses DNS gave -> dns.*_private codes

PUBLIC = "20.37.1.1"
PRIVATE = "10.1.2.3"
SCOPE = "/subscriptions/x/resourceGroups/rg/providers/Microsoft.HybridCompute/privateLinkScopes/p"


@pytest.mark.parametrize(("addresses", "private_link", "scope", "expected", "fact"), [
    ([PRIVATE], True, SCOPE, None, ""),
    ([PUBLIC], True, SCOPE, (Status.FAIL, "dns.expected_private"), PUBLIC),
    ([PRIVATE, PUBLIC], True, SCOPE, (Status.FAIL, "dns.expected_private"), PUBLIC),
    ([PRIVATE], True, None, (Status.FAIL, "dns.unexpected_private"), PRIVATE),
    ([PUBLIC], True, None, None, ""),
    ([PRIVATE], False, SCOPE, (Status.WARN, "dns.private_for_public"), PRIVATE),
    ([PRIVATE], False, None, (Status.WARN, "dns.private_for_public"), PRIVATE),
    ([PUBLIC], False, SCOPE, None, ""),
    ([PUBLIC], False, None, None, ""),
], ids=["pl-scope-private", "pl-scope-public", "pl-scope-mixed", "pl-no-scope-private",
        "pl-no-scope-public", "public-name-private-with-scope", "public-name-private",
        "public-name-public-with-scope", "public-name-public"])
def test_private_link_verdict(addresses: List[str], private_link: bool, scope: Optional[str],
                              expected: Optional[Tuple[Status, str]], fact: str) -> None:
    settings = Settings(private_link_scope=scope)
    verdict = dns_probe.private_link_verdict("gbl.his.arc.azure.com", addresses, private_link,
                                             settings)
    if expected is None:
        assert verdict is None
        return
    assert verdict is not None
    status, code, text = verdict
    assert (status, code) == expected
    assert fact in text


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["'](dns\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = {case[2] for case in CASES} | {
        "dns.expected_private", "dns.unexpected_private", "dns.private_for_public"}
    assert returned <= set(FAILURE_CODES)
    in_source = set(_CODE_LITERAL.findall(inspect.getsource(dns_probe)))
    assert in_source, "the scan found the module's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned, f"codes without a case here: {in_source - returned}"
