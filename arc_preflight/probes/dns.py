"""DNS: resolve an endpoint the way the agent will, and tell the failure modes apart.

The agent (Go) reads the hosts file before DNS, so a name pinned there (common for private link on
single servers) counts as resolved. Without ``--dns-server`` the system's resolver configuration is
used; with it, only the given servers are asked, which is also how the lab points us at its DNS.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from . import dnsstub
from .netutil import is_ip


def hosts_file_path() -> str:
    if sys.platform.startswith("win"):
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return os.path.join(root, "System32", "drivers", "etc", "hosts")
    return "/etc/hosts"


def hosts_lookup(name: str, path: Optional[str] = None) -> List[str]:
    """Addresses the hosts file gives for ``name`` (empty when none or unreadable)."""
    wanted = name.lower().rstrip(".")
    found: List[str] = []
    try:
        with open(path or hosts_file_path(), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and wanted in (f.lower() for f in fields[1:]):
                    found.append(fields[0])
    except OSError:
        return []
    return found


def make_resolver(servers: Sequence[str], lifetime: float) -> Any:
    """A dnspython resolver for the given servers, or the system configuration when empty."""
    import dns.resolver

    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(servers)
    else:
        resolver = dns.resolver.Resolver()
    resolver.lifetime = lifetime
    # Per-server attempts shorter than the lifetime so a dead first server does not eat it all.
    resolver.timeout = max(0.2, min(lifetime, 2.0))
    return resolver


def _unreachable(error: Any) -> bool:
    """A NoNameservers error entry (server, tcp, port, error, response) that never reached its
    server because this machine has no route to it."""
    from .netutil import classify_socket_error

    if not isinstance(error, tuple) or len(error) < 4 or error[-1] is not None:
        return False
    cause = error[3]
    if isinstance(cause, OSError):
        return classify_socket_error(cause)[0] == "unreachable"
    text = str(cause).lower()
    return "network is unreachable" in text or "no route to host" in text


def _classify(exc: BaseException) -> Tuple[str, str]:
    """The one table from dnspython exceptions to failure codes."""
    import dns.exception
    import dns.rcode
    import dns.resolver

    if isinstance(exc, dns.resolver.NXDOMAIN):
        return "dns.nxdomain", "name does not exist (NXDOMAIN)"
    if isinstance(exc, dns.resolver.NoAnswer):
        return "dns.no_answer", "name exists but has no address record"
    if isinstance(exc, dns.resolver.NoResolverConfiguration):
        return "dns.no_nameservers", "no DNS server is configured on this host"
    if isinstance(exc, dns.resolver.NoNameservers):
        errors = exc.kwargs.get("errors") or []
        if errors and all(_unreachable(error) for error in errors):
            servers = ", ".join(dict.fromkeys(str(error[0]) for error in errors if error))
            return ("dns.server_unreachable",
                    f"no route to the DNS server ({servers}): network unreachable")
        for error in errors:
            response = error[-1] if error else None
            if response is not None and getattr(response, "rcode", None) and \
                    response.rcode() == dns.rcode.REFUSED:
                return "dns.refused", "the DNS server refused the query"
        return "dns.servfail", "the DNS server failed to answer (SERVFAIL)"
    if isinstance(exc, dns.exception.Timeout):
        return "dns.timeout", "no DNS server answered in time"
    return "dns.error", f"DNS lookup failed: {exc}"


def resolve(
    name: str, servers: Sequence[str], budget: float
) -> Tuple[List[str], List[str], Optional[Tuple[str, str]], Dict[str, Any]]:
    """Look up A then AAAA within ``budget`` seconds.

    Returns (ipv4, ipv6, error, facts); error is (code, text) when no address was found.
    The stub resolver asks where the configuration is a resolv.conf or ``--dns-server``
    (cheapest: no dnspython import before the first query); dnspython everywhere else.
    """
    if servers or dnsstub.usable_here():
        try:
            return _resolve_stub(name, servers, budget)
        except dnsstub.StubUnusable:
            pass
    import dns.exception
    import dns.resolver

    started = time.monotonic()
    facts: Dict[str, Any] = {}
    try:
        resolver = make_resolver(servers, budget)
    except dns.exception.DNSException as exc:  # no resolv.conf, or no nameserver in it
        return [], [], _classify(exc), facts
    facts["nameservers"] = [str(ns) for ns in resolver.nameservers]
    ipv4: List[str] = []
    ipv6: List[str] = []
    first_error: Optional[Tuple[str, str]] = None
    for rdtype, bucket in (("A", ipv4), ("AAAA", ipv6)):
        remaining = budget - (time.monotonic() - started)
        if remaining <= 0.05:
            break
        resolver.lifetime = remaining
        try:
            answer = resolver.resolve(name, rdtype, search=False)
        except dns.exception.DNSException as exc:
            if first_error is None:
                first_error = _classify(exc)
            if first_error[0] in ("dns.nxdomain", "dns.timeout", "dns.no_nameservers",
                                  "dns.server_unreachable"):
                break  # asking for AAAA would only repeat the same answer or wait again
            continue
        bucket.extend(sorted({rdata.address for rdata in answer}))
        canonical = str(answer.canonical_name).rstrip(".")
        if canonical.lower() != name.lower():
            facts["canonical_name"] = canonical
    if ipv4 or ipv6:
        return ipv4, ipv6, None, facts
    return ipv4, ipv6, first_error or ("dns.error", "no addresses found"), facts


def _resolve_stub(
    name: str, servers: Sequence[str], budget: float
) -> Tuple[List[str], List[str], Optional[Tuple[str, str]], Dict[str, Any]]:
    """:func:`resolve` through :mod:`.dnsstub`, with the same results and facts."""
    started = time.monotonic()
    nameservers = list(servers) or dnsstub.system_nameservers()
    facts: Dict[str, Any] = {"nameservers": nameservers}
    found: Dict[str, List[str]] = {"A": [], "AAAA": []}
    first_error: Optional[Tuple[str, str]] = None
    for rdtype in ("A", "AAAA"):
        remaining = budget - (time.monotonic() - started)
        if remaining <= 0.05:
            break
        result = dnsstub.lookup(name, rdtype, nameservers, remaining)
        if result.error is not None:
            first_error = first_error or result.error
            if first_error[0] in ("dns.nxdomain", "dns.timeout", "dns.no_nameservers",
                                  "dns.server_unreachable"):
                break  # asking for AAAA would only repeat the same answer or wait again
            continue
        found[rdtype] = sorted(set(result.addresses))
        canonical = result.canonical.rstrip(".")
        if canonical and canonical.lower() != name.lower().rstrip("."):
            facts["canonical_name"] = canonical
    if found["A"] or found["AAAA"]:
        return found["A"], found["AAAA"], None, facts
    return found["A"], found["AAAA"], first_error or ("dns.error", "no addresses found"), facts


def first_address(host: str, servers: Sequence[str], budget: float,
                  use_hosts: bool = True) -> Tuple[str, Optional[Tuple[str, str]]]:
    """One address to connect to for a host that has no DNS check of its own (the proxy, a
    revocation server): the literal itself, else the hosts file (when ``use_hosts``), else DNS.

    Returns (address, None), or ("", (code, text)) when the name does not resolve.
    """
    if is_ip(host):
        return host, None
    pinned = hosts_lookup(host) if use_hosts else []
    if pinned:
        return pinned[0], None
    ipv4, ipv6, error, _ = resolve(host, servers, budget)
    if error:
        return "", error
    return (ipv4 + ipv6)[0], None


def private_addresses(addresses: Sequence[str], ranges: Sequence[str]) -> List[str]:
    """The addresses that fall in ``ranges`` (the private ranges of this run)."""
    import ipaddress

    networks = [ipaddress.ip_network(r, strict=False) for r in ranges]
    found = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if any(ip.version == net.version and ip in net for net in networks):
            found.append(address)
    return found


def private_link_verdict(
    host: str, addresses: Sequence[str], private_link: bool, settings: Any
) -> Optional[Tuple[Status, str, str]]:
    """Judge the answer against Private Link: (status, code, text), or None when it is fine.

    Only the HIS and guest-configuration names move to private endpoints; identity and ARM
    names always stay public. Which applies is what the endpoint catalogue says.
    """
    private = private_addresses(addresses, settings.private_ranges)
    if private_link and settings.private_link_scope:
        if len(private) < len(addresses):
            public = [a for a in addresses if a not in private]
            return (Status.FAIL, "dns.expected_private",
                    f"resolves to public {', '.join(public[:3])}; with --private-link-scope it "
                    "must resolve to the private endpoint")
        return None
    if private_link and private:
        return (Status.FAIL, "dns.unexpected_private",
                f"resolves to private {', '.join(private[:3])} (a private endpoint) but no "
                "--private-link-scope was given")
    if not private_link and private:
        return (Status.WARN, "dns.private_for_public",
                f"resolves to private {', '.join(private[:3])}; {host} is only reachable "
                "publicly (Private Link does not cover it)")
    return None


def probe(host: str, private_link: bool, ctx: ProbeContext,
          deps: Mapping[str, Result]) -> Outcome:
    settings = ctx.settings
    budget = ctx.budget()
    servers = tuple(settings.dns_servers)
    pinned = [] if servers else hosts_lookup(host)
    if pinned:
        ipv4 = [a for a in pinned if ":" not in a]
        ipv6 = [a for a in pinned if ":" in a]
        facts: Dict[str, Any] = {"source": "hosts file"}
        suffix = " (from the hosts file)"
    else:
        ipv4, ipv6, error, facts = resolve(host, servers, budget)
        facts["source"] = "dns"
        suffix = ""
        if error:
            facts.update({"ipv4": ipv4, "ipv6": ipv6, "addresses": []})
            code, text = error
            return Outcome(Status.FAIL, text, code=code, facts=facts)
    addresses = ipv4 + ipv6
    facts.update({"ipv4": ipv4, "ipv6": ipv6, "addresses": addresses,
                  "private": private_addresses(addresses, settings.private_ranges)})
    verdict = private_link_verdict(host, addresses, private_link, settings)
    if verdict is not None:
        status, code, text = verdict
        return Outcome(status, text + suffix, code=code, facts=facts)
    shown = ", ".join(addresses[:4])
    more = len(addresses) - 4
    return Outcome(Status.PASS, shown + (f" (+{more} more)" if more > 0 else "") + suffix,
                   facts=facts)
