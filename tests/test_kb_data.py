"""The packaged knowledge base (data/causes.toml): coverage, consistency and strict loading.

No network. The seed article's AZCM table is parsed when the seed file is available
(``ARC_PREFLIGHT_SEED`` or the shared workspace path); a copy of its codes is kept here so the
test still means something without it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from arc_preflight import kb as kbmod
from arc_preflight.kb import KnowledgeBaseError, parse
from arc_preflight.model import CATEGORIES, FAILURE_CODES

SEED = Path(os.environ.get("ARC_PREFLIGHT_SEED", "/work/shared/seed/000_4cdc988dc718e505.txt"))


def _codes(text: str) -> list:
    return text.split()


# The 27 codes of the seed's "agent error codes" table (AZCM0000 = success has no cause).
SEED_AZCM = _codes(
    "AZCM0000 AZCM0001 AZCM0011 AZCM0012 AZCM0013 AZCM0014 AZCM0015 AZCM0016 AZCM0017 "
    "AZCM0018 AZCM0041 AZCM0042 AZCM0043 AZCM0044 AZCM0061 AZCM0062 AZCM0063 AZCM0064 "
    "AZCM0065 AZCM0066 AZCM0067 AZCM0068 AZCM0081 AZCM0101 AZCM0102 AZCM0103 AZCM0104"
)

# Codes documented after the seed (facts §4), excluding the bare installer ranges.
LATER_AZCM = _codes(
    "AZCM0002 AZCM0003 AZCM0004 AZCM0005 AZCM0006 AZCM0019 AZCM0020 AZCM0023 AZCM0026 "
    "AZCM0027 AZCM0028 AZCM0045 AZCM0069 AZCM0070 AZCM0072 AZCM0073 AZCM0074 AZCM0075 "
    "AZCM0076 AZCM0082 AZCM0083 AZCM0105 AZCM0107 AZCM0108 AZCM0130 AZCM0131 AZCM0132 "
    "AZCM0133 AZCM0141 AZCM0143 AZCM0145 AZCM0146 AZCM0147 AZCM0148 AZCM0149 AZCM0150 "
    "AZCM0151 AZCM0152 AZCM0153 AZCM0154 AZCM0155 AZCM0156 AZCM0157 AZCM0158 AZCM0159 "
    "AZCM0160 AZCM0171"
)

# Codes whose meaning changed between agent/doc versions: the notes must explain both.
CHANGED_AZCM = _codes(
    "AZCM0065 AZCM0066 AZCM0068 AZCM0070 AZCM0101 AZCM0104 AZCM0105 AZCM0147 AZCM0153 "
    "AZCM0154 AZCM0156 AZCM0157"
)

# Category each code must (at least) lead to, per DESIGN §4.
AZCM_CATEGORY = {
    "AZCM0001": "internal_agent_error",
    "AZCM0002": "internal_agent_error",
    "AZCM0013": "invalid_tags",
    "AZCM0014": "invalid_cloud",
    "AZCM0015": "invalid_correlation_id",
    "AZCM0016": "missing_parameter",
    "AZCM0017": "invalid_resource_name",
    "AZCM0018": "not_admin",
    "AZCM0020": "invalid_region",
    "AZCM0026": "private_link_scope_required",
    "AZCM0041": "invalid_sp_secret",
    "AZCM0042": "missing_role_permission",
    "AZCM0044": "resource_exists",
    "AZCM0061": "himds_not_running",
    "AZCM0064": "himds_not_responding",
    "AZCM0065": "internal_agent_error",
    "AZCM0066": "internal_agent_error",
    "AZCM0067": "agent_already_connected",
    "AZCM0081": "managed_identity_cert_error",
    "AZCM0102": "hostname_unresolvable",
    "AZCM0130": "unsupported_environment",
    "AZCM0131": "unsupported_environment",
    "AZCM0132": "unsupported_environment",
    "AZCM0133": "unsupported_environment",
    "AZCM0141": "azure_vm_detected",
    "AZCM0147": "azure_vm_detected",
    "AZCM0150": "install_failure",
    "AZCM0156": "install_failure",
}

_TENANT = "fb84ce97-b875-4d12-b031-ef5e7edf9c8e"
_DEVICE = (
    "Error occurred while sending request for Device Authorization Code: "
    f"Post https://login.windows.net/{_TENANT}/oauth2/devicecode?api-version=1.0:  "
)
_XID = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"

# The nine rows of the seed's connection-failure table, copied verbatim, with the category the
# row's cause belongs to.
SEED_MESSAGES = [
    (_DEVICE + "dial tcp 40.126.9.7:443: connect: network is unreachable.", "network_unreachable"),
    (
        _DEVICE + "dial tcp 40.126.9.7:443: connect: network is Forbidden",
        "firewall_or_proxy_blocking",
    ),
    (_DEVICE + "dial tcp lookup login.windows.net: no such host", "gpo_profile_cleanup"),
    (
        "Failed to execute the refresh request. Error = 'Post https://login.windows.net/"
        f"{_TENANT}/oauth2/token?api-version=1.0: Forbidden'",
        "firewall_or_proxy_blocking",
    ),
    ("Invalid client secret is provided", "invalid_sp_secret"),
    (
        f"Application with identifier '{_XID}' was not found in the directory '{_XID}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or "
        "consented to by any user in the tenant",
        "sp_or_tenant_not_found",
    ),
    (
        f"The client 'username@domain.com' with object id '{_XID}' does not have authorization to "
        "perform action 'Microsoft.HybridCompute/machines/read' over scope "
        f"'/subscriptions/{_XID}/resourcegroups/myResourceGroup/providers/Microsoft.HybridCompute"
        "/machines/MSJC01' or the scope is invalid. If access was recently granted, please "
        'refresh your credentials."}}" Status Code=403',
        "missing_role_permission",
    ),
    (
        "The subscription is not registered to use namespace 'Microsoft.HybridCompute'",
        "resource_provider_not_registered",
    ),
    (
        f"Get https://management.azure.com/subscriptions/{_XID}/resourcegroups/myResourceGroup/"
        "providers/Microsoft.HybridCompute/machines/MSJC01?api-version=2019-03-18-preview:  "
        "Forbidden",
        "firewall_or_proxy_blocking",
    ),
]
ARM_FORBIDDEN = SEED_MESSAGES[8][0]
LOGIN_FORBIDDEN = SEED_MESSAGES[3][0]
LOGIN_NETWORK_FORBIDDEN = SEED_MESSAGES[1][0]
LOGIN_NO_SUCH_HOST = SEED_MESSAGES[2][0]

# Failure strings of facts §5 and the Go / Entra ID / ARM texts they are built from, with the
# category that must be the top match.
FACT_STRINGS = [
    (
        "Failed to acquire authorization token device flow: " + SEED_MESSAGES[0][0],
        "network_unreachable",
    ),
    (
        f"Application with identifier '{_XID}' wasn't found in the directory '{_XID}'",
        "sp_or_tenant_not_found",
    ),
    (
        "The subscription isn't registered to use namespace 'Microsoft.HybridCompute'",
        "resource_provider_not_registered",
    ),
    (
        "Code: MissingSubscriptionRegistration httpStatusCode:409",
        "resource_provider_not_registered",
    ),
    (
        "x509: certificate signed by unknown authority. Failed to Tls dialing "
        "agentserviceapi.guestconfiguration.azure.com",
        "tls_inspection",
    ),
    (
        'level=fatal msg="required endpoints unavailable: https://gbl.his.arc.azure.com/ (error: '
        'Get \\"https://gbl.his.arc.azure.com/connectivitytest\\": remote error: tls: handshake '
        'failure)"',
        "tls_protocol",
    ),
    (
        "AZCM0026: Network Error: proxy http://proxy:3128 failed: no IP addresses found",
        "internal_agent_error",
    ),
    (
        "No indication of Private Link Scope but found private endpoint "
        "agentserviceapi.guestconfiguration.azure.com: 10.1.2.3",
        "private_link_scope_required",
    ),
    ("Cannot install Connected Machine agent on an Azure virtual machine", "azure_vm_detected"),
    ("You must be root to execute /usr/bin/azcmagent", "not_admin"),
    (
        "E: Clearsigned file isn't valid, got 'NOSPLIT' (does the network require authentication?)",
        "firewall_or_proxy_blocking",
    ),
    (
        "/root/install_linux_azcmagent.sh: error: unsupported platform: aarch64:Linux",
        "unsupported_environment",
    ),
    ("Received a non-proxy request on a proxy port", "proxy_misconfigured"),
    ('level=warning msg="heartbeat failed" StatusCode=429', "agent_already_connected"),
    # Go net errors
    (
        'Get "https://gbl.his.arc.azure.com/connectivitytest": dial tcp 20.42.0.1:443: i/o timeout',
        "firewall_or_proxy_blocking",
    ),
    ("dial tcp 20.42.0.1:443: connect: connection refused", "firewall_or_proxy_blocking"),
    ("dial tcp 20.42.0.1:443: connect: network is unreachable", "network_unreachable"),
    (
        "dial tcp: lookup gbl.his.arc.azure.com on 10.0.0.2:53: no such host",
        "dns_failure",
    ),
    (
        "dial tcp: lookup gbl.his.arc.azure.com on 10.0.0.2:53: read udp "
        "10.0.0.5:51234->10.0.0.2:53: i/o timeout",
        "dns_failure",
    ),
    ("x509: certificate has expired or is not yet valid", "clock_skew"),
    (
        "tls: failed to verify certificate: x509: certificate is valid for *.contoso.com, "
        "contoso.com, not management.azure.com",
        "tls_inspection",
    ),
    ("remote error: tls: handshake failure", "tls_protocol"),
    (
        'Get "https://management.azure.com/": proxyconnect tcp: dial tcp 10.0.0.9:3128: '
        "connect: connection refused",
        "proxy_misconfigured",
    ),
    (
        'Get "https://management.azure.com/": proxyconnect tcp: dial tcp: lookup '
        "proxy.contoso.local: no such host",
        "proxy_misconfigured",
    ),
    ('Get "https://management.azure.com/": Proxy Authentication Required', "proxy_auth_required"),
    ('Get "https://pas.windows.net/": EOF', "firewall_or_proxy_blocking"),
    (
        'Get "https://gbl.his.arc.azure.com/": read tcp 10.0.0.5:50000->20.42.0.1:443: read: '
        "connection reset by peer",
        "firewall_or_proxy_blocking",
    ),
    (
        "read tcp 10.0.0.5:50000->20.42.0.1:443: wsarecv: An existing connection was forcibly "
        "closed by the remote host.",
        "firewall_or_proxy_blocking",
    ),
    ('Get "https://management.azure.com/": Bad Gateway', "firewall_or_proxy_blocking"),
    (
        "proxyconnect tcp: tls: first record does not look like a TLS handshake",
        "proxy_misconfigured",
    ),
    # Entra ID
    ("AADSTS7000215: Invalid client secret provided.", "invalid_sp_secret"),
    ("AADSTS7000222: The provided client secret keys for app are expired.", "invalid_sp_secret"),
    ("AADSTS700016: Application with identifier 'abc' was not found", "sp_or_tenant_not_found"),
    ("AADSTS90002: Tenant 'contoso.onmicrosoft.org' not found.", "sp_or_tenant_not_found"),
    ("AADSTS50034: The user account does not exist in the directory.", "sp_or_tenant_not_found"),
    ("AADSTS700024: Client assertion is not within its valid time range.", "clock_skew"),
    # ARM
    ('{"error":{"code":"AuthorizationFailed","message":"..."}}', "missing_role_permission"),
    ('{"error":{"code":"SubscriptionNotFound"}}', "sp_or_tenant_not_found"),
    ('{"error":{"code":"ResourceGroupNotFound"}}', "missing_parameter"),
    ('{"error":{"code":"InvalidAuthenticationToken"}}', "invalid_sp_secret"),
    ('{"error":{"code":"RequestDisallowedByPolicy"}}', "policy_denied"),
    (
        'level=info msg="https://management.azure.com is available, using cryptographic '
        'protocol: TLS 1.0"',
        "tls_protocol",
    ),
    ('proxy.url set to "http://arcuser:s3cret@proxy.contoso.com:3128"', "proxy_auth_required"),
]

HARMLESS = [
    'level=info msg="Checking connectivity to https://management.azure.com, proxy status: '
    'proxy is not used"',
    'level=info msg="https://management.azure.com is available, using cryptographic protocol: '
    'TLS 1.3"',
    'level=info msg="https://login.microsoftonline.com is available, using cryptographic '
    'protocol: TLS 1.2"',
    'level=info msg="Using HTTPS Proxy: http://proxy.contoso.com:3128"',
    'level=info msg="Connected machine to Azure" resourceName=web01 status=Connected',
    'level=debug msg="GET https://gbl.his.arc.azure.com/metadata returned 200 OK"',
    'level=debug msg="config parser reached EOF"',
    'level=info msg="Agent Status: Connected, Last Heartbeat: 2026-01-01T00:00:00Z"',
    'level=info msg="proxy.bypass set to ARM,Arc"',
    'level=info msg="Dependent Service Status: himds running"',
    'level=info msg="No clock skew detected"',
    'level=debug msg="Tls dialing agentserviceapi.guestconfiguration.azure.com succeeded"',
    'level=info msg="lookup gbl.his.arc.azure.com returned 10.1.2.3"',
    "",
]



def _seed_codes() -> list:
    if not SEED.exists():
        return list(SEED_AZCM)
    text = SEED.read_text(encoding="utf-8")
    codes = re.findall(r"^\|\s*(AZCM\d{4})\s*\|", text, re.MULTILINE)
    assert codes == SEED_AZCM, "seed table changed; update SEED_AZCM"
    return codes


def test_load_succeeds(kb: kbmod.KnowledgeBase) -> None:
    assert len(kb.causes) >= 60
    assert all(c.category in CATEGORIES for c in kb.causes)


def test_every_failure_code_has_a_generic_cause(kb: kbmod.KnowledgeBase) -> None:
    for code in FAILURE_CODES:
        cause = kb.for_failure(code, "")
        assert cause is not None, code
        assert not cause.targets, (code, cause.id)


def test_probe_codes_and_targets_are_known(kb: kbmod.KnowledgeBase) -> None:
    for cause in kb.causes:
        assert set(cause.probe_codes) <= set(FAILURE_CODES), cause.id
        if cause.targets:
            assert cause.probe_codes, f"{cause.id}: targets without probe_codes"


def test_no_ambiguous_ties(kb: kbmod.KnowledgeBase) -> None:
    """Two generic entries for one code at the same priority would make the winner file order."""
    for code in FAILURE_CODES:
        generic = [c.priority for c in kb.causes if code in c.probe_codes and not c.targets]
        assert len(generic) == len(set(generic)), code


@pytest.mark.parametrize(
    ("target", "line"),
    [
        ("management.azure.com:443", ARM_FORBIDDEN),
        ("login.windows.net:443", LOGIN_FORBIDDEN),
        ("login.windows.net:443", LOGIN_NETWORK_FORBIDDEN),
    ],
)
def test_probe_and_log_reach_the_same_cause(
    kb: kbmod.KnowledgeBase, target: str, line: str
) -> None:
    live = kb.for_failure("tcp.timeout", target)
    hits = kb.match_text(line)
    assert live is not None and hits
    assert hits[0].id == live.id
    assert live.category == "firewall_or_proxy_blocking"


@pytest.mark.parametrize(
    "host",
    [
        "login.microsoftonline.com",
        "eastus.login.microsoft.com",
        "pas.windows.net",
        "login.microsoftonline.us",
        "pasff.usgovcloudapi.net",
        "login.chinacloudapi.cn",
        "login.partner.chinacloudapi.cn",
        "pas.chinacloudapi.cn",
    ],
)
@pytest.mark.parametrize(
    "code",
    [
        "tcp.timeout",
        "tcp.reset",
        "proxy.denied",
        "tls.reset",
        "https.timeout",
        "https.reset",
        "https.error",
    ],
)
def test_identity_endpoints_blocked(kb: kbmod.KnowledgeBase, host: str, code: str) -> None:
    cause = kb.for_failure(code, f"{host}:443")
    assert cause is not None and cause.id == kb.for_failure("tcp.timeout", "login.windows.net").id


@pytest.mark.parametrize(
    "host", ["management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn"]
)
def test_arm_endpoints_blocked(kb: kbmod.KnowledgeBase, host: str) -> None:
    expected = kb.match_text(ARM_FORBIDDEN)[0].id
    for code in ("tcp.timeout", "tcp.reset", "proxy.denied", "tls.reset", "https.timeout"):
        cause = kb.for_failure(code, host)
        assert cause is not None and cause.id == expected, (code, host)


def test_target_specific_does_not_leak_to_other_hosts(kb: kbmod.KnowledgeBase) -> None:
    arm = kb.for_failure("tcp.timeout", "management.azure.com:443")
    other = kb.for_failure("tcp.timeout", "example.org:443")
    assert arm is not None and other is not None and arm.id != other.id
    # Root causes that are not about blocking keep their generic entry on ARM too.
    untrusted = kb.for_failure("tls.untrusted", "management.azure.com:443")
    assert untrusted is not None and untrusted.category == "tls_inspection"


def test_every_seed_azcm_code_is_known(kb: kbmod.KnowledgeBase) -> None:
    codes = _seed_codes()
    assert len(codes) == 27
    for code in codes:
        if code == "AZCM0000":  # success, not a failure cause
            continue
        assert kb.by_azcm(code), code


def test_every_later_azcm_code_is_known(kb: kbmod.KnowledgeBase) -> None:
    for code in LATER_AZCM:
        assert kb.by_azcm(code), code


@pytest.mark.parametrize(("code", "category"), sorted(AZCM_CATEGORY.items()))
def test_azcm_categories(kb: kbmod.KnowledgeBase, code: str, category: str) -> None:
    assert category in {c.category for c in kb.by_azcm(code)}


def test_azcm0041_covers_secret_and_identity(kb: kbmod.KnowledgeBase) -> None:
    cats = {c.category for c in kb.by_azcm("AZCM0041")}
    assert {"invalid_sp_secret", "sp_or_tenant_not_found"} <= cats


@pytest.mark.parametrize("code", CHANGED_AZCM)
def test_changed_codes_explain_both_meanings(kb: kbmod.KnowledgeBase, code: str) -> None:
    assert any(code in c.notes for c in kb.by_azcm(code)), code


@pytest.mark.parametrize(("line", "category"), SEED_MESSAGES)
def test_seed_messages(kb: kbmod.KnowledgeBase, line: str, category: str) -> None:
    assert category in {c.category for c in kb.match_text(line)}


def test_no_such_host_row_prefers_dns_then_gpo(kb: kbmod.KnowledgeBase) -> None:
    hits = [c.category for c in kb.match_text(LOGIN_NO_SUCH_HOST)]
    assert hits[0] == "dns_failure"
    assert "gpo_profile_cleanup" in hits
    nx = kb.for_failure("dns.nxdomain", "login.windows.net:443")
    assert nx is not None and nx.category == "dns_failure"
    gpo = kb.get("gpo_profile_cleanup")
    assert (
        gpo is not None
        and gpo.remedy_windows == ()
        and any(
            "Delete user profiles older than a specified number of days" in step
            for step in gpo.remedy
        )
    )
    assert any(
        "azcmagent disconnect" in step and "azcmagent connect" in step for step in gpo.remedy
    )


@pytest.mark.parametrize(("line", "category"), FACT_STRINGS)
def test_fact_strings(kb: kbmod.KnowledgeBase, line: str, category: str) -> None:
    hits = kb.match_text(line)
    assert hits, line
    assert hits[0].category == category, [c.id for c in hits]


def test_required_endpoints_line_mentions_blocking(kb: kbmod.KnowledgeBase) -> None:
    line = (
        'level=fatal msg="required endpoints unavailable: https://gbl.his.arc.azure.com/ (error: '
        'Get \\"https://pas.windows.net/\\": EOF) (error: read tcp 10.0.0.5:50000->1.2.3.4:443: '
        'wsarecv: An existing connection was forcibly closed by the remote host.)"'
    )
    assert "firewall_or_proxy_blocking" in {c.category for c in kb.match_text(line)}


@pytest.mark.parametrize("line", HARMLESS)
def test_harmless_lines_match_nothing(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert kb.match_text(line) == [], [c.id for c in kb.match_text(line)]


def test_bare_eof_needs_context(kb: kbmod.KnowledgeBase) -> None:
    assert kb.match_text("EOF") == []
    assert kb.match_text("reading EOF marker from file") == []
    assert kb.match_text('Get "https://management.azure.com/": EOF')


def test_patterns_use_bounded_quantifiers(kb: kbmod.KnowledgeBase) -> None:
    """Patterns run on every line of multi-GB logs: no '+' or '*', only bounded '{m,n}'.

    An unbounded class after a literal that repeats within a line makes a search quadratic.
    """
    for cause in kb.causes:
        for pattern in cause.patterns:
            unescaped = re.sub(r"\\.", "", pattern)
            assert not re.search(r"[+*]", unescaped), (cause.id, pattern)


def test_patterns_stay_fast_on_hostile_lines(kb: kbmod.KnowledgeBase) -> None:
    lines = [
        "a" * 20000,
        " " * 20000,
        "lookup " + "x" * 20000,
        "https://" + "a" * 20000,
        "proxyconnect tcp: dial tcp " + "1" * 20000,
        "localhost:40342" + "b" * 20000,
        "https://login.windows.net/" + "c" * 20000,
        "https://login.windows.net/" * 2000,
        "lookup x on y: read udp " * 2000,
        "localhost:40342 " * 3000,
    ]
    # Per pattern, not in total: the knowledge base grows by whole code families, and a total
    # budget measures their number (and the machine's load), while a pattern that backtracks
    # quadratically on a 20,000-character line takes seconds on its own.
    slow = []
    for cause in kb.causes:
        for regex in kb.compiled[cause.id]:
            start = time.perf_counter()
            for line in lines:
                regex.search(line)
            spent = time.perf_counter() - start
            if spent > 2.0:
                slow.append((cause.id, regex.pattern, round(spent, 2)))
    assert not slow, slow


def test_docs_point_at_learn(kb: kbmod.KnowledgeBase) -> None:
    """The first link is the Arc article; further ones may be the reference a code family comes
    from (WinHTTP error list, Entra error codes, MSI error codes), all on Microsoft Learn."""
    for cause in kb.causes:
        assert cause.docs, cause.id
        assert cause.docs[0].startswith("https://learn.microsoft.com/azure/azure-arc/"), cause.id
        for url in cause.docs:
            assert url.startswith("https://learn.microsoft.com/"), (cause.id, url)


def test_service_remedies_name_the_units(kb: kbmod.KnowledgeBase) -> None:
    cause = kb.for_failure("service.stopped", "himds")
    assert cause is not None and cause.category == "himds_not_running"
    assert any("systemctl" in s and "himdsd" in s for s in cause.remedy_linux)
    assert any("Start-Service himds" in s for s in cause.remedy_windows)


# --------------------------------------------------------------------------- strict loading

_GOOD = """
schema = 1
[[cause]]
id = "{id}"
category = "dns_failure"
severity = "fail"
title = "t"
explanation = "e"
remedy = ["r"]
"""


def _bad(extra: str = "", **fields: str) -> str:
    values = {"id": "alpha"}
    values.update(fields)
    return _GOOD.format(**values) + extra


def test_parse_accepts_minimal_entry() -> None:
    assert parse(_bad()).causes[0].id == "alpha"


@pytest.mark.parametrize(
    "text",
    [
        _bad('colour = "blue"\n'),
        _bad('patterns = ["(unclosed"]\n'),
        _bad().replace('remedy = ["r"]', "remedy = []"),
        _bad().replace('"dns_failure"', '"no_such_category"'),
        _bad('probe_codes = "tcp.timeout"\n'),
        _bad('azcm = ["AZCM26"]\n'),
        _bad().replace('severity = "fail"', 'severity = "error"'),
    ],
    ids=[
        "unknown-key",
        "bad-regex",
        "empty-remedy",
        "unknown-category",
        "not-a-list",
        "bad-azcm",
        "bad-severity",
    ],
)
def test_parse_rejects_bad_entries_naming_the_id(text: str) -> None:
    with pytest.raises(KnowledgeBaseError, match="alpha"):
        parse(text)


def test_parse_rejects_duplicate_id() -> None:
    with pytest.raises(KnowledgeBaseError, match="alpha"):
        parse(_bad() + _GOOD.replace("schema = 1", "").format(id="alpha"))


def test_parse_rejects_invalid_toml_and_empty_file() -> None:
    with pytest.raises(KnowledgeBaseError):
        parse("[[cause]\n")
    with pytest.raises(KnowledgeBaseError):
        parse("schema = 1\n")


def test_lazy_parse_reports_a_bad_regex_when_first_used_naming_the_id() -> None:
    """The packaged file is parsed lazily (``check`` never needs a message pattern); a pattern
    that does not compile must still stop with the error naming its entry, on first use."""
    lazy = parse(_bad('patterns = ["(unclosed"]\n'), lazy=True)
    assert [c.id for c in lazy.causes] == ["alpha"]
    with pytest.raises(KnowledgeBaseError, match=r"alpha.*does not compile"):
        lazy.compiled["alpha"]


def test_lazy_and_eager_parse_compile_the_same_patterns() -> None:
    text = _bad('patterns = ["AZCM0026", "no such host"]\n')
    eager, lazy = parse(text), parse(text, lazy=True)
    assert ([p.pattern for p in lazy.compiled["alpha"]]
            == [p.pattern for p in eager.compiled["alpha"]])
    assert lazy.compiled["alpha"] is lazy.compiled["alpha"]  # compiled once, then kept
    assert [c.id for c in lazy.match_text("x: no such host")] == ["alpha"]


def test_every_packaged_pattern_compiles() -> None:
    """What the lazy load no longer checks at start-up, checked here for the whole file."""
    packaged = kbmod.parse(kbmod.DATA_FILE.read_text(encoding="utf-8"),
                           kbmod.codefamilies.patterns_by_cause(kbmod.codefamilies.load()))
    assert len(packaged.compiled) == len(packaged.causes)
