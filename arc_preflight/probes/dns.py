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
    """
    import dns.exception
    import dns.resolver

    started = time.monotonic()
    facts: Dict[str, Any] = {}
    resolver = make_resolver(servers, budget)
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
            if first_error[0] in ("dns.nxdomain", "dns.timeout", "dns.no_nameservers"):
                break  # asking for AAAA would only repeat the same answer or wait again
            continue
        bucket.extend(sorted({rdata.address for rdata in answer}))
        canonical = str(answer.canonical_name).rstrip(".")
        if canonical.lower() != name.lower():
            facts["canonical_name"] = canonical
    if ipv4 or ipv6:
        return ipv4, ipv6, None, facts
    return ipv4, ipv6, first_error or ("dns.error", "no addresses found"), facts


def probe(host: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    settings = ctx.settings
    budget = ctx.budget()
    servers = tuple(settings.dns_servers)
    if not servers:
        pinned = hosts_lookup(host)
        if pinned:
            return Outcome(
                Status.PASS,
                f"{', '.join(pinned)} (from the hosts file)",
                facts={"addresses": pinned, "ipv4": [a for a in pinned if ":" not in a],
                       "ipv6": [a for a in pinned if ":" in a], "source": "hosts file"},
            )
    ipv4, ipv6, error, facts = resolve(host, servers, budget)
    facts.update({"ipv4": ipv4, "ipv6": ipv6, "addresses": ipv4 + ipv6, "source": "dns"})
    if error:
        code, text = error
        return Outcome(Status.FAIL, text, code=code, facts=facts)
    shown = ", ".join((ipv4 + ipv6)[:4])
    more = len(ipv4) + len(ipv6) - 4
    return Outcome(Status.PASS, shown + (f" (+{more} more)" if more > 0 else ""), facts=facts)
