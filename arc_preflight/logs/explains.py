"""Which finding says why another failed: the symptom and its reason.

A client reports *that* a connection or a lookup failed in words of its own (a timeout, a reset,
"Unable to connect to the remote server", NameResolutionError); a cause beside it often says
*why* (the name does not resolve, the proxy wants credentials, the socket was refused). The
diagnosis folds the first into the second (logs.diagnose), on one line and across a scope. This
module holds only the rules of that relation, so that they read in one place.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, Tuple

from ..model import Cause

UMBRELLA = 40  # causes below this priority are umbrella entries (see data/causes.toml header)
# A generic transport failure: a firewall_or_proxy_blocking cause below this priority (the
# causes.toml priority guide: 50-69 generic transport failures, 70-79 endpoint-specific
# blocking). It says *that* a connection failed (timed out, refused, reset, "unable to connect");
# a cause of one of the SPECIFIC_CONNECTIVITY categories in the same scope says *why*.
# Causes that explain the generic symptoms beside them: a name that does not resolve, no route,
# a proxy that is wrong or wants credentials, a certificate the machine rejects (an inspecting
# proxy, a missing intermediate, a clock off), a private endpoint without a scope. Not
# tls_protocol: a bare TLS handshake-failure alert is also what a middlebox that resets or cuts
# connections sends, so beside resets both readings stay.
SPECIFIC_CONNECTIVITY = frozenset({
    "dns_failure", "network_unreachable", "proxy_misconfigured", "proxy_auth_required",
    "tls_inspection", "missing_intermediate_ca", "clock_skew", "private_link_scope_required",
})
# category -> (causes of it below this priority are generic, the categories that explain them).
# Besides the generic transport failures above: the bare "could not tunnel through the proxy"
# (proxyconnect, "Cannot connect to proxy.", priority 40) beside the proxy's own 407.
GENERIC_BESIDE: Dict[str, Tuple[int, FrozenSet[str]]] = {
    "firewall_or_proxy_blocking": (70, SPECIFIC_CONNECTIVITY),
    "proxy_misconfigured": (41, frozenset({"proxy_auth_required"})),
    # A handshake that failed because the other end is no TLS server at all: curl's "wrong
    # version number" when the proxy's address is given as https:// (proxy_not_http).
    "tls_protocol": (71, frozenset({"proxy_misconfigured"})),
}
# A TCP connection that was refused or never answered: nothing said in the TLS handshake or
# after it (a certificate, the clock, the proxy's answer to CONNECT) can have caused it, so it
# stays a finding of its own beside those.
CONNECT_LEVEL = frozenset({"tcp_refused", "tcp_timeout", "endpoint_unreachable"})
AFTER_CONNECT = frozenset({"tls_inspection", "missing_intermediate_ca", "clock_skew",
                           "proxy_auth_required"})
# Host names and addresses on an evidence line, to tell whether a generic failure and a specific
# one are about the same endpoint (a name ending in a usual top-level domain, or an IPv4
# address: .NET type names such as System.Net.WebException must not count as hosts).
_HOST_RE = re.compile(
    r"(?<![\w.-])(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,10}"
    r"(?:com|net|org|io|us|cn|de|uk|local|internal|corp|lan|gov|edu|info|biz)"
    r"|\d{1,3}(?:\.\d{1,3}){3})(?![\w-])", re.IGNORECASE)


def explains(specific: Cause, generic: Cause) -> bool:
    """Whether ``specific`` can say why ``generic`` failed: a cause of a category that explains
    the generic failures of another (:data:`GENERIC_BESIDE`), or a cause of the generic one's own
    category (``generic = true`` in the knowledge base: .NET's "Unable to connect to the remote
    server" beside the refused connect it wraps, urllib3's NameResolutionError beside the
    resolver's own answer). A generic cause explains nothing: urllib3's "Cannot connect to
    proxy." does not explain the proxy's 403 inside it."""
    if specific.id == generic.id:
        return False
    below, explaining = GENERIC_BESIDE.get(generic.category, (0, frozenset()))
    if generic.priority < below and specific.category in explaining and not specific.generic:
        return True
    return (generic.generic and specific.category == generic.category and not specific.generic
            and specific.priority >= UMBRELLA)


def after_the_connect(generic: Cause, specific: Cause) -> bool:
    """Whether ``specific`` is said only after a TCP connect that ``generic`` reports never
    completed (refused, unanswered): then it cannot be the reason."""
    return generic.id in CONNECT_LEVEL and specific.category in AFTER_CONNECT


def hosts_in(texts: Iterable[str]) -> FrozenSet[str]:
    """The host names and addresses the lines name, lower-cased."""
    return frozenset(m.group(0).lower() for text in texts for m in _HOST_RE.finditer(text))
