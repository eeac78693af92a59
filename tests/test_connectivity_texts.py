"""``diagnose`` on connectivity failures: the specific cause wins over the generic symptom.

Issue 9 item 3 (the ``rulesconn`` round). A failed connection is usually reported twice: once
generically (a timeout, a reset, "Failed to connect to ... port 443", a validator's "Not able
to connect to") and once with the reason (the name does not resolve, there is no route, the
proxy wants credentials, the certificate is not trusted or not yet valid). The reason is the
diagnosis; the generic firewall reading is folded into it instead of being listed beside it.
A bare TLS handshake-failure alert is not such a reason: a middlebox that resets connections
sends it too, so beside resets both readings stay.

Every text is a real public sample and names its source.
"""

from __future__ import annotations

from typing import FrozenSet, List, Tuple

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

GENERIC = "firewall_or_proxy_blocking"

# (text, the categories diagnose must return): each text also holds generic evidence that,
# alone, reads as a blocking firewall or proxy.
PAIRS: List[Tuple[str, FrozenSet[str]]] = [
    # network unreachable vs a connect timeout: the resource bridge guide, "management machine
    # being unable to reach the appliance VM IP" around a Winsock connect timeout
    # (https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    ("{ _errorCode_: _PostOperationsError_, _errorResponse_: _{\\n\\_message\\_: \\_Timeout "
     "occurred due to management machine being unable to reach the appliance VM IP, "
     "10.2.196.170.  Ensure that the requirements are met: https://aka.ms/arb-machine-reqs: "
     "dial tcp 10.2.196.170:22: connectex: A connection attempt failed because the connected "
     "party did not properly respond after a period of time, or established connection failed "
     "because connected host has failed to respond.\\_\\n}_, _errorMetadata_: "
     "{ _errorCategory_: __ }", frozenset({"network_unreachable"})),
    # network unreachable vs curl's exit 7 (could not connect)
    # (https://github.com/netdata/netdata/issues/1738)
    (" curl: (7) Failed to connect to raw.githubusercontent.com port 443: No route to host",
     frozenset({"network_unreachable"})),
    # proxy authentication vs curl's exit 56 (receive failure)
    # (https://github.com/yeongzhiwei/issues-tracker/issues/2)
    ("    curl https://start.spring.io\n"
     "    curl: (56) Received HTTP code 407 from proxy after CONNECT",
     frozenset({"proxy_auth_required"})),
    # a proxy that cannot be used vs the resets it causes: pip through a proxy
    # (https://github.com/pypa/pip/issues/9190)
    ("WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) "
     "after connection broken by 'ProxyError('Cannot connect to proxy.', ConnectionResetError("
     "10054, 'An existing connection was forcibly closed by the remote host', None, 10054, "
     "None))': /simple/pip/\n"
     "Starting new HTTPS connection (5): pypi.org:443\n"
     "Incremented Retry for (url='/simple/setuptools/'): Retry(total=3, connect=None, "
     "read=None, redirect=None, status=None)",
     frozenset({"proxy_misconfigured"})),
    # DNS vs the resource bridge validator's "Not able to connect to": "Action failed - no such
    # host", whose lookup line reads "lookup NAME: on 127.0.0.53:53: no such host"
    # (https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    ("{ _errorCode_: _PostOperationsError_, _errorResponse_: _{\\n\\_message\\_: \\_{\\\\n  "
     "\\\\\\_code\\\\\\_: \\\\\\_GuestInternetConnectivityError\\\\\\_,\\\\n  \\\\\\_message"
     "\\\\\\_: \\\\\\_Not able to connect to http://aszhcitest01.company.org:55000. Error "
     "returned: action failed after 5 attempts: Get \\\\\\\\\\\\\\_http://aszhcitest01.company."
     "org:55000\\\\\\\\\\\\\\_: dial tcp: lookup aszhcitest01.company.org: on 127.0.0.53:53: no "
     "such host. Arc Resource Bridge network and internet connectivity validation failed: "
     "cloud-agent-connectivity-test. 1.  check your networking setup and ensure the URLs "
     "mentioned in : https://aka.ms/AAla73m are reachable from the Appliance VM.   2. Check "
     "firewall/proxy settings", frozenset({"dns_failure"})),
    # clock skew vs the same validator line: "Time difference causing x509 certificate has
    # expired", Go's x509 expiry error quoted with "isn't"
    # (https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    ("Error: { _errorCode_: _PostOperationsError_, _errorResponse_: _{\\n\\_message\\_: \\_{"
     "\\\\n  \\\\\\_code\\\\\\_: \\\\\\_GuestInternetConnectivityError\\\\\\_,\\\\n  \\\\\\_"
     "message\\\\\\_: \\\\\\_Not able to connect to https://msk8s.api.cdp.microsoft.com. Error "
     "returned: action failed after 3 attempts: Get \\\\\\\\\\\\\\_https://msk8s.api.cdp."
     "microsoft.com\\\\\\\\\\\\\\_: x509: certificate has expired or isn't yet valid: current "
     "time 2022-01-18T11:35:56Z is before 2023-09-07T19:13:21Z. Arc Resource Bridge network "
     "and internet connectivity validation failed: http-connectivity-test-arc. 1.  check your "
     "networking setup and ensure the URLs mentioned in : https://aka.ms/AAla73m are reachable "
     "from the Appliance VM.   2. Check firewall/proxy settings", frozenset({"clock_skew"})),
]


@pytest.mark.parametrize("text,expected", PAIRS)
def test_specific_connectivity_cause_wins(text: str, expected: FrozenSet[str],
                                          kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(text + "\n", kb)
    assert categories(report) == expected
    assert report.exit_code != 0


def test_generic_lines_stay_as_evidence_of_the_specific_cause(kb: kbmod.KnowledgeBase) -> None:
    """The folded generic lines are not lost: they join the specific diagnosis's evidence."""
    text = PAIRS[3][0]  # pip: every Retrying line also reports the reset
    (only,) = diagnose(text + "\n", kb).diagnoses
    assert only.diagnosis.category == "proxy_misconfigured"
    assert only.diagnosis.lines == (1,)
    assert only.occurrences == 1  # one line, counted once although two causes matched it


def test_generic_lines_of_their_own_join_the_specific_cause(kb: kbmod.KnowledgeBase) -> None:
    """A generic line with no reason on it (a .NET "Unable to connect to the remote server",
    https://github.com/rubrikinc/rubrik-sdk-for-powershell/issues/835) becomes evidence of the
    reason stated on another line (WSAENETUNREACH, https://github.com/WalletWasabi/WalletWasabi/
    issues/853), not a second diagnosis."""
    text = ("2018-11-15 21:30:53 ERROR IndexDownloader: System.Net.Internals."
            "SocketExceptionFactory+ExtendedSocketException (10051): A socket operation was "
            "attempted to an unreachable network 0.0.0.1:9050\n"
            "Invoke-WebRequest : Unable to connect to the remote server\n")
    (only,) = diagnose(text, kb).diagnoses
    assert only.diagnosis.category == "network_unreachable"
    assert only.diagnosis.lines == (1, 2)
    assert only.occurrences == 2


def test_generic_alone_is_still_a_firewall_or_proxy(kb: kbmod.KnowledgeBase) -> None:
    """Without a specific reason the generic reading stays: curl's refused connection
    (https://github.com/pivpn/pivpn/issues/60)."""
    report = diagnose("curl: (7) Failed to connect to install.pivpn.io port 443: Connection "
                      "refused\n", kb)
    assert categories(report) == {GENERIC}


def test_handshake_failure_beside_resets_keeps_both_readings(kb: kbmod.KnowledgeBase) -> None:
    """``azcmagent connect``'s pre-check with TLS handshake failures, an EOF and a reset on
    several endpoints (https://github.com/Azure/Azure-Sentinel/issues/13955): the alert is also
    what a middlebox that cuts connections sends, so the firewall reading stays beside it."""
    text = (
        'time="2026-03-31T11:42:29+01:00" level=fatal msg="required endpoints unavailable: '
        'https://gbl.his.arc.azure.com/ (error: Get \\"https://gbl.his.arc.azure.com/'
        'connectivitytest\\": remote error: tls: handshake failure), https://pas.windows.net/ '
        '(error: Get \\"https://pas.windows.net\\": EOF), https://management.azure.com/ (error: '
        'Get \\"https://management.azure.com\\": read tcp 172.21.112.60:49577->4.150.241.10:443: '
        'wsarecv: An existing connection was forcibly closed by the remote host.)"\n')
    assert categories(diagnose(text, kb)) == {"tls_protocol", GENERIC}


def test_endpoint_specific_blocking_is_not_folded(kb: kbmod.KnowledgeBase) -> None:
    """A proxy's 403 for ARM is specific evidence too (the troubleshooting guide's bare
    ``Forbidden`` after the URL, https://learn.microsoft.com/azure/azure-arc/servers/
    troubleshoot-agent-onboard): beside a DNS failure of another endpoint both stay."""
    text = (
        "Get https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000000/"
        "resourcegroups/rg01/providers/Microsoft.HybridCompute/machines/host01?api-version="
        "2019-03-18-preview: Forbidden\n"
        "Failed to acquire authorization token device flow: Error occurred while sending request "
        "for Device Authorization Code: Post https://login.windows.net/00000000-0000-0000-0000-"
        "000000000000/oauth2/devicecode?api-version=1.0: dial tcp: lookup login.windows.net: no "
        "such host\n")
    report = diagnose(text, kb)
    assert "arm_blocked" in cause_ids(report)
    assert categories(report) >= {GENERIC, "dns_failure"}


def _logrus(second: int, level: str, msg: str, extra: str = "") -> str:
    """The agent's logrus line (the verbose connect log of
    https://github.com/MicrosoftDocs/azure-docs/issues/99004)."""
    return (f'time="2022-09-30T10:{second // 60:02d}:{second % 60:02d}Z" level={level} '
            f'msg="{msg}"{extra}')


def test_attempts_of_a_whole_log_are_not_folded_into_each_other(kb: kbmod.KnowledgeBase
                                                                  ) -> None:
    """One attempt failed on DNS, a later one timed out: with ``--all`` both stay, since each
    attempt may have failed for its own reason; the latest attempt alone is the timeout. The
    failure texts are the troubleshooting guide's (https://learn.microsoft.com/azure/azure-arc/
    servers/troubleshoot-agent-onboard) and the timeout Go prints for a dropped connection."""
    lines = [
        _logrus(1, "debug", "Agent Command: connect"),
        _logrus(2, "error", "Failed to acquire authorization token device flow",
                ' Error="Post https://login.windows.net/00000000-0000-0000-0000-000000000000/'
                'oauth2/devicecode?api-version=1.0: dial tcp: lookup login.windows.net: no such '
                'host"'),
        _logrus(60, "debug", "Agent Command: connect"),
        _logrus(62, "error", "Failed to acquire authorization token device flow",
                ' Error="Post https://login.windows.net/00000000-0000-0000-0000-000000000000/'
                'oauth2/devicecode?api-version=1.0: dial tcp 40.126.9.7:443: i/o timeout"'),
    ]
    text = "\n".join(lines) + "\n"
    assert categories(diagnose(text, kb)) == {GENERIC}
    # (the guide's "no such host" row has a second reading, the profile-cleanup policy)
    assert {GENERIC, "dns_failure"} <= categories(diagnose(text, kb, all_lines=True))


# ---------------------------------------------------------------------------------------------
# Whole families of specific connectivity evidence
# ---------------------------------------------------------------------------------------------

# .NET's WinHttpHandler wraps WinHTTP's own message text: the shape of
# https://github.com/sendgrid/sendgrid-csharp/issues/941
_WINHTTP = ("System.Net.Http.HttpRequestException: An error occurred while sending the request. "
            "---> System.Net.Http.WinHttpException: {}")

# WinHTTP's message table (winhttp.dll, https://github.com/libyal/winevt-kb/blob/main/docs/
# sources/message-files/MessageFile-winhttp.dll.md): each connectivity message, its category
WINHTTP_MESSAGES = [
    ("The server name or address could not be resolved", "dns_failure"),  # 12007
    ("The operation timed out", GENERIC),  # 12002
    ("A connection with the server could not be established", GENERIC),  # 12029
    ("The connection with the server was terminated abnormally", GENERIC),  # 12030
    ("The date in the certificate is invalid or has expired", "clock_skew"),  # 12037
    ("The host name in the certificate is invalid or does not match", "tls_inspection"),  # 12038
    ("The certificate authority is invalid or incorrect", "tls_inspection"),  # 12045
    ("Revocation information for the security certificate for this site is not available",
     GENERIC),  # 12057: the CRL/OCSP endpoints are blocked
    ("The server returned an invalid or unrecognized response", GENERIC),  # 12152
    ("An error occurred in the secure channel support", "tls_protocol"),  # 12157
    ("An error occurred processing the proxy auto-configuration script",
     "proxy_misconfigured"),  # 12166
    ("The proxy auto-configuration script could not be downloaded", "proxy_misconfigured"),
    ("The Proxy Auto-configuration URL was not found.", "proxy_misconfigured"),  # 12180
    ("The Content-Type of the downloaded proxy script is not supported by WinHTTP",
     "proxy_misconfigured"),
    ("An error occurred while executing the proxy script against the target URL",
     "proxy_misconfigured"),
    ("An error occurred in the WinHTTP Web Proxy Auto-Discovery Service",
     "proxy_misconfigured"),
    ("A security error occurred", "tls_inspection"),  # 12175
]


@pytest.mark.parametrize("message,category", WINHTTP_MESSAGES)
def test_winhttp_messages(message: str, category: str, kb: kbmod.KnowledgeBase) -> None:
    assert categories(diagnose(_WINHTTP.format(message) + "\n", kb)) == {category}


def test_winhttp_generic_words_need_winhttp_beside_them(kb: kbmod.KnowledgeBase) -> None:
    """"A security error occurred" and "The operation timed out" are common words: alone (an
    application's own message) they name no cause, at most an unknown failure."""
    for words in ("A security error occurred", "The operation timed out"):
        assert categories(diagnose(f"Note: {words} earlier today.\n", kb)) <= {"unknown"}


FAMILIES = [
    # WinHTTP 12007 as a WinHttpSendRequest caller prints it
    # (https://github.com/altstoreio/AltStore/issues/1048)
    ("WinHttpSendRequest: 12007: The server name or address could not be resolved",
     "dns_failure"),
    # ... and as .NET 5+ words it (https://github.com/dotnet/runtime/issues/45939)
    ("System.Net.Http.HttpRequestException : An error occurred while sending the request.\n"
     "---- System.Net.Http.WinHttpException : Error 12007 calling "
     "WINHTTP_CALLBACK_STATUS_REQUEST_ERROR, 'The server name or address could not be resolved'.",
     "dns_failure"),
    # libcurl's resolver timeout, exit 28 (https://github.com/abraunegg/onedrive/issues/784): the
    # DNS reason, not the generic timeout curl's exit code alone would mean
    ("On Centos 8 i get curl: (28) Resolving timed out after 5000 milliseconds when running curl "
     "-fsS https://dlang.org/install.sh | bash -s dmd", "dns_failure"),
    # .NET Framework's ProxyNameResolutionFailure (the RestSharp test's expected message,
    # https://github.com/restsharp/RestSharp/blob/dev/test/RestSharp.IntegrationTests/ProxyTests.cs)
    ("The proxy name could not be resolved: 'non_existent_proxy'", "proxy_misconfigured"),
    # Python's ssl module on a server that only speaks an old protocol
    # (https://github.com/knownsec/pocsuite3/issues/283)
    ("HTTPSConnectionPool(host='68.171.60.137', port=443): Max retries exceeded with url: / "
     "(Caused by SSLError(SSLError(1, '[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol "
     "(_ssl.c:997)')))", "tls_protocol"),
    # Azure CLI on pyOpenSSL: the maintainer's answer is a proxy that intercepts HTTPS
    # (https://github.com/Azure/azure-cli/issues/10272)
    ("Please ensure you have network connection. Error detail: HTTPSConnectionPool(host='login."
     "microsoftonline.com', port=443): Max retries exceeded with url: /common/oauth2/token "
     "(Caused by SSLError(SSLError(\"bad handshake: Error([('SSL routines', "
     "'tls_process_server_certificate', 'certificate verify failed')],)\",),))",
     "tls_inspection"),
    # the resource bridge's HTTP/2 call reset by a TLS-inspecting device: the guide's "Http2
    # server sent GOAWAY" section gives this reset as the other form of that cause
    # (https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    ("Post \\_https://canadacentral.dp.kubernetesconfiguration.azure.com/azure-arc-appliance-"
     "k8sagents/GetLatestHelmPackagePath?api-version=2019-11-01-preview\\u0026releaseTrain="
     "stable\\_: read tcp 10.128.131.173:52425-\\u003e52.228.84.81:443: wsarecv: An existing "
     "connection was forcibly closed by the remote host.", "tls_inspection"),
    # Kerberos's clock check in MIT's words, the first row of the Arc Kerberos reference's error
    # table (https://learn.microsoft.com/azure/azure-arc/agents-tools-foundry-local/
    # connect-file-share-kerberos-reference), as kinit prints it
    ("kinit: Clock skew too great while getting initial credentials", "clock_skew"),
    # .NET's SslStream answered by something that does not speak TLS
    # (https://github.com/dotnet/corefx/issues/41673)
    ("One or more errors occurred. (The SSL connection could not be established, see inner "
     "exception.): The handshake failed due to an unexpected packet format", "proxy_misconfigured"),
    # ... and cut during the handshake (https://github.com/dotnet/runtime/issues/33509)
    ("      ---- System.IO.IOException :  Received an unexpected EOF or 0 bytes from the transport "
     "stream.", GENERIC),
    # pyOpenSSL cut during the handshake through a proxy (https://github.com/psf/requests/issues/4272)
    ("requests 2.18.4 with proxies throw SSLError: (\"bad handshake: SysCallError(-1, "
     "'Unexpected EOF')\",)", GENERIC),
    # Python's handshake timeout (https://github.com/encode/httpx/issues/1433)
    ("> httpx.ProxyError: _ssl.c:1091: The handshake operation timed out", GENERIC),
    # the resolvers' own words: dig's SERVFAIL header (https://github.com/mail-in-a-box/
    # mailinabox/issues/1607), systemd-resolved with no server answering (https://github.com/
    # systemd/systemd/issues/8666), dig's timeout to its server (https://github.com/
    # TechnitiumSoftware/DnsServer/issues/1618)
    (";; ->>HEADER<<- opcode: QUERY, status: SERVFAIL, id: 43117", "dns_failure"),
    ("status: resolve call failed: All attempts to contact name servers or networks failed",
     "dns_failure"),
    (";; communications error to 127.0.0.53#53: timed out", "dns_failure"),
    # curl's exit 77, a CA bundle it cannot read (https://github.com/OpenELEC/OpenELEC.tv/pull/198):
    # the trust store, not an inspecting proxy (cause ca_store_unreadable)
    (">  curl: (77) error setting certificate verify locations:\n>  CAfile: /etc/ssl/cacert.pem\n"
     ">  CApath: none", "missing_intermediate_ca"),
    # a proxy that wants credentials, through Python's requests: the bare "Cannot connect to
    # proxy." is the symptom of the 407 (requests' wording as in https://github.com/mozilla/
    # bugbot/issues/2002, with the 407 of https://github.com/cubewise-code/tm1py/issues/531)
    ("(Caused by ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 407 "
     "Proxy Authentication Required')))", "proxy_auth_required"),
    # the agent asking for a Private Link Scope, beside its bare AZCM0026
    # (https://github.com/MicrosoftDocs/azure-docs/issues/109136)
    ('time="2023-05-05T10:25:32+01:00" level=info msg="Exit Code:  AZCM0026: Network Error"\n'
     'time="2023-05-05T10:25:32+01:00" level=info msg="For troubleshooting, see https://aka.ms/'
     'arc/azcmerror"\n'
     'time="2023-05-05T10:25:32+01:00" level=fatal msg="Private Link Scope resource ID must be '
     'provided as endpoint gbl.his.arc.azure.com is configured private"',
     "private_link_scope_required"),
]


@pytest.mark.parametrize("text,category", FAMILIES)
def test_specific_families(text: str, category: str, kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(text + "\n", kb)
    assert categories(report) == {category}
    assert report.exit_code != 0


# ---------------------------------------------------------------------------------------------
# Azure Local environment checker records that state their reason
# ---------------------------------------------------------------------------------------------

# The JSON shape of a failed outbound-connection result (https://github.com/Azure/
# AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Networking/
# Troubleshoot-Network-Test-InfraIP-Azure-Endpoint-Connection.md), its Detail carrying the
# exception the external connectivity guide classifies by (https://github.com/Azure/
# AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/
# Troubleshooting-External-Connectivity-Failures-in-Environment-Checker.md, "Classify the
# failure": a name that cannot be resolved is the DNS lane, a 407 the proxy lane)
ARC_RECORD = """\
{{
  "Name": "AzureLocal_NetworkInfraConnection_Test_Infra_IP_Connection_AzureArc",
  "DisplayName": "Test outbound connection for IP in infra IP pool to Azure Arc service",
  "Title": "Test outbound connection for IP in infra IP pool",
  "Status": 1,
  "Severity": 2,
  "TargetResourceID": "AzureArc_Connectivity",
  "AdditionalData": {{
    "Source": "SERVER01",
    "Resource": "10.0.0.100-Ethernet",
    "Detail": "{detail}",
    "Status": "FAILURE",
    "TimeStamp": "<timestamp>"
  }}
}}
"""


@pytest.mark.parametrize("detail,category", [
    ("The remote name could not be resolved: 'gbl.his.arc.azure.com'", "dns_failure"),
    ("The remote server returned an error: (407) Proxy Authentication Required.",
     "proxy_auth_required"),
    ("The underlying connection was closed: Could not establish trust relationship for the "
     "SSL/TLS secure channel.", "tls_inspection"),
])
def test_environment_checker_record_shows_the_reason_it_states(
        detail: str, category: str, kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(ARC_RECORD.format(detail=detail), kb)
    assert categories(report) == {category}
    # the record's own line stays as evidence of the reason
    assert any("Infra_IP_Connection_AzureArc" in line
               for line in report.diagnoses[0].diagnosis.evidence)


def test_environment_checker_record_without_a_reason_is_the_firewall(
        kb: kbmod.KnowledgeBase) -> None:
    detail = ("[FAILED] Connection from 10.0.0.100 (Ethernet) to https://management.azure.com "
              "failed after 10 attempts")  # the guide's own Detail
    assert categories(diagnose(ARC_RECORD.format(detail=detail), kb)) == {GENERIC}


# crypto/x509's chain failures (https://github.com/golang/go/blob/master/src/crypto/x509/
# verify.go), in the agent's shape ("Get \"https://...\": tls: failed to verify certificate: x509:
# ...", https://github.com/Azure/azure-dev/issues/3882 shows the same Go client wording)
@pytest.mark.parametrize("reason", [
    "certificate is not authorized to sign other certificates",
    "a root or intermediate certificate is not authorized to sign for this name: DNS name "
    "\"gbl.his.arc.azure.com\" is not permitted by any constraint",
    "certificate specifies an incompatible key usage",
    "too many intermediates for path length constraint",
    "issuer name does not match subject from issuing certificate",
])
def test_go_x509_chain_failures_are_tls_inspection(reason: str,
                                                   kb: kbmod.KnowledgeBase) -> None:
    text = ('time="2024-05-09T10:00:00Z" level=error msg="Get \\"https://gbl.his.arc.azure.com/'
            f'connectivitytest\\": tls: failed to verify certificate: x509: {reason}"\n')
    assert categories(diagnose(text, kb)) == {"tls_inspection"}


def test_no_root_store_is_the_trust_store_not_inspection(kb: kbmod.KnowledgeBase) -> None:
    """crypto/x509's SystemRootsError (verify.go) in the agent's shape: no CA could be loaded at
    all, which is the machine's trust store (cause ca_store_unreadable), not a re-signing proxy."""
    text = ('time="2024-05-09T10:00:00Z" level=error msg="Get \\"https://gbl.his.arc.azure.com/'
            'connectivitytest\\": tls: failed to verify certificate: x509: failed to load system '
            'roots and no roots provided"\n')
    assert cause_ids(diagnose(text, kb)) == {"ca_store_unreadable"}


# ---------------------------------------------------------------------------------------------
# The Arc connectivity check drop (ArcEndpointCheck.ps1): its documented output
# ---------------------------------------------------------------------------------------------

# The results table and summary as documented in https://github.com/Azure/arc_jumpstart_drops/
# blob/main/script_automation/arc_endpoint_check/_index.md ("Output Format")
_DROP_HEADER = (
    "  Group | Endpoint                                           | IP               | Type | "
    "Result    | Latency\n"
    "  ------+----------------------------------------------------+------------------+------+"
    "-----------+--------\n"
    "  Core  | login.windows.net                                  | 20.190.173.132   | PUB  | "
    "Reachable | 24ms\n")


def test_connectivity_check_drop_healthy_table_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """(Its summary line, "STATUS: PASS | OK:74 Fail:0 ...", is still read as a failure line by
    the generic "fail" shape of logs/lines.py: reported to that file's owner.)"""
    assert diagnose(_DROP_HEADER, kb).diagnoses == ()


@pytest.mark.parametrize("result,category", [
    ("FAIL(DNS) ", "dns_failure"),  # DNS resolution failed
    ("FAIL(DNS,TCP)", "dns_failure"),  # both: the name is the reason
    ("FAIL(TCP) ", GENERIC),  # TCP/443 connection timed out
    ("FAIL(HTTP)", GENERIC),  # the HTTP probe failed (proxy/firewall blocking)
])
def test_connectivity_check_drop_results(result: str, category: str,
                                         kb: kbmod.KnowledgeBase) -> None:
    row = (f"  Core  | management.azure.com                               | 4.150.241.10     | "
           f"PUB  | {result}| 21003ms\n")
    assert categories(diagnose(_DROP_HEADER + row, kb)) == {category}


def test_connectivity_check_drop_pki_bypass_issue(kb: kbmod.KnowledgeBase) -> None:
    """The drop's CRITICAL PKI Bypass issue is the WinHTTP proxy taking SCHANNEL's OCSP/CRL
    requests (the "non-proxy request on a proxy port" case it documents)."""
    text = ("  #   | Severity | Category     | Message\n"
            "  ----+----------+--------------+---------------------------------------------------\n"
            "  1   | CRITICAL | PKI Bypass   | 2 PKI endpoint(s) not in proxy bypass\n"
            "      |          |              | Fix: Add to GPO NO_PROXY: crl4.digicert.com\n")
    assert categories(diagnose(text, kb)) == {"proxy_misconfigured"}


def test_the_specific_and_generic_tables_name_real_categories() -> None:
    """A misspelt category in diagnose's tables would silently fold nothing."""
    from arc_preflight.logs.explains import GENERIC_BESIDE, SPECIFIC_CONNECTIVITY
    from arc_preflight.model import CATEGORIES

    named = set(SPECIFIC_CONNECTIVITY) | set(GENERIC_BESIDE)
    for _below, explaining in GENERIC_BESIDE.values():
        named |= explaining
    assert named <= set(CATEGORIES)
    # the generic category is never among the reasons it yields to
    assert GENERIC not in SPECIFIC_CONNECTIVITY
    assert all(category not in explaining
               for category, (_below, explaining) in GENERIC_BESIDE.items())


# SChannel's client-side System events (the Schannel event message table,
# https://github.com/scheatkode/brain/blob/main/knowledgebase/systems/windows/event-logs/
# Schannel.md), as Get-WinEvent or Event Viewer shows their message
_TLS_FAILED = (" The TLS connection request has failed. The attached data contains the server "
               "certificate.")


@pytest.mark.parametrize("message,category", [
    ("The certificate received from the remote server has either expired or is not yet valid."
     + _TLS_FAILED, "clock_skew"),  # 36881
    ("The certificate received from the remote server was issued by an untrusted certificate "
     "authority. Because of this, none of the data contained in the certificate can be "
     "validated." + _TLS_FAILED, "tls_inspection"),  # 36882
    ("The certificate received from the remote server has been revoked. This means that the "
     "certificate authority that issued the certificate has invalidated it." + _TLS_FAILED,
     "tls_inspection"),  # 36883
    ("The certificate received from the remote server does not contain the expected name. It is "
     "therefore not possible to determine whether we are connecting to the correct server. The "
     "server name we were expecting is management.azure.com." + _TLS_FAILED,
     "tls_inspection"),  # 36884
    # 36876 says only that validation failed; its error code says why: the revocation check
    ("The certificate received from the remote server has not validated correctly. The error "
     "code is 0x80092013." + _TLS_FAILED, GENERIC),
    ("The certificate received from the remote server has not validated correctly. The error "
     "code is 0x80004005." + _TLS_FAILED, "tls_inspection"),
    ("A fatal error occurred while creating a TLS client credential. The internal error state is "
     "10013.", "tls_protocol"),  # 36871
    ("No supported cipher suites were found when initiating a TLS connection. This indicates a "
     "configuration problem with the client application and/or the installed cryptographic "
     "modules. The TLS connection request has failed.", "tls_protocol"),  # 36873
])
def test_schannel_client_events(message: str, category: str, kb: kbmod.KnowledgeBase) -> None:
    text = f"Id           : 36876\nMessage      : {message}\n"
    assert categories(diagnose(text, kb)) == {category}


def test_a_healthy_dig_answer_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """dig's header of a successful query (https://github.com/d2iq-archive/mesos-dns/issues/198)."""
    text = (";; Got answer:\n"
            ";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 9949\n"
            ";; flags: qr rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 13, ADDITIONAL: 10\n")
    assert diagnose(text, kb).diagnoses == ()


def test_failures_about_different_endpoints_are_not_folded(kb: kbmod.KnowledgeBase) -> None:
    """One attempt, two failures: a name that does not resolve, and a timeout to the address
    of another endpoint. The DNS failure does not explain the timeout, so both are diagnosed
    (review of this round). Lines in the agent's logrus shape (see :func:`_logrus`); the Go
    texts as the troubleshooting guide and Go's net package print them."""
    text = "\n".join([
        _logrus(1, "debug", "Agent Command: connect"),
        _logrus(12, "error", "Failed to reach endpoint",
                ' Error="Get \\"https://westus3-gas.guestconfiguration.azure.com/\\": dial tcp:'
                ' lookup westus3-gas.guestconfiguration.azure.com: no such host"'),
        _logrus(42, "error", "Failed to download extension",
                ' Error="Get \\"https://contoso.blob.core.windows.net/ext.zip\\": dial tcp'
                ' 203.0.113.7:443: i/o timeout"'),
    ])
    assert categories(diagnose(text, kb)) == {"dns_failure", GENERIC}


def test_a_failed_tcp_connect_is_not_explained_by_a_clock_or_certificate(
        kb: kbmod.KnowledgeBase) -> None:
    """Test-NetConnection's failed TCP test (the shape of the network requirements article's
    Test-NetConnection samples: ``TcpTestSucceeded : False``) beside Kerberos's clock error
    (MIT's "Clock skew too great", as klist prints it): nothing after the connect explains a
    connect that failed, so the blocked port stays reported."""
    text = "\n".join([
        "PS C:\\> Test-NetConnection gbl.his.arc.azure.com -Port 443",
        "WARNING: TCP connect to (203.0.113.9 : 443) failed",
        "ComputerName     : gbl.his.arc.azure.com",
        "RemoteAddress    : 203.0.113.9",
        "RemotePort       : 443",
        "TcpTestSucceeded : False",
        "",
        "PS C:\\> klist get host/fs01.contoso.local",
        "klist failed with 0xc0000133/-1073741517: Clock skew too great",
    ])
    assert categories(diagnose(text, kb)) == {GENERIC, "clock_skew"}
