"""Whole code families (``data/codes.toml``, issue 9 item 2): every member of every published list
is found in the forms tools print it in, and leads to its cause; the file is loaded strictly.

Sample lines follow public shapes: ``ESU: Trying to Check IMDS Again
LastError=HRESULT_FROM_WIN32(12002)`` and ``ESU: not eligible HRESULT_FROM_WIN32(1633)`` as quoted
in https://learn.microsoft.com/azure/azure-arc/servers/troubleshoot-extended-security-updates
(a WinHTTP code inside ``HRESULT_FROM_WIN32(...)``); ``0x80072EE7``-style HRESULTs and
``ERROR_WINHTTP_*`` names as WinHTTP's error list prints them
(https://learn.microsoft.com/windows/win32/winhttp/error-messages); ``AADSTS7000215: Invalid
client secret provided`` as in the agent's troubleshooting article
(https://learn.microsoft.com/azure/azure-arc/servers/troubleshoot-agent-onboard); ARM codes as
``Code: <code> Message: ...`` in the agent's log (same article) and ``(<code>) ...`` in Azure CLI
output (https://learn.microsoft.com/azure/azure-arc/servers/ssh-arc-troubleshoot); ``curl: (N)
...`` as curl prints its exit codes (https://curl.se/docs/manpage.html#EXIT); msiexec exit codes
as ``MainEngineThread is returning N`` in a verbose MSI log
(https://learn.microsoft.com/windows/win32/msi/windows-installer-logging). No network.
"""

from __future__ import annotations

import io
import time
from typing import Dict, List, Set, Tuple

import pytest

from arc_preflight import codefamilies
from arc_preflight import kb as kbmod
from arc_preflight.logs.diagnose import diagnose_path

KB = kbmod.load()
FAMILIES = codefamilies.load()
CATEGORY = {c.id: c.category for c in KB.causes}

# How each family's members are shown in a sample line: (template, placeholder).
SAMPLES: Dict[str, List[Tuple[str, str]]] = {
    "winhttp": [
        ("ESU: license download failed LastError=HRESULT_FROM_WIN32({n})", "{n}"),
        ("WinHttpSendRequest failed with error code: {n}", "{n}"),
        ("Invoke-WebRequest failed: Exception from HRESULT: {hresult}", "{hresult}"),
        ("request failed: ERROR_WINHTTP_{name}", "{name}"),
    ],
    "winsock": [
        ("connect failed: {name}", "{name}"),
        ("Failed to establish a new connection: [WinError {n}] see inner error", "{n}"),
        ("connect failed: Exception from HRESULT: {hresult}", "{hresult}"),
    ],
    # Resolve-DnsName's error record (https://github.com/Quad9DNS/documentation/pull/6)
    "win32_dns": [
        ("    + FullyQualifiedErrorId : {name},Microsoft.DnsClient.Commands.ResolveDnsName",
         "{name}"),
        ("DnsQuery failed: HRESULT_FROM_WIN32({n})", "{n}"),
        ("DnsQuery failed: Exception from HRESULT: {hresult}", "{hresult}"),
    ],
    "schannel": [
        ("schannel: next InitializeSecurityContext failed: {name} ({hresult})", "{name}"),
        ("The request failed: {hresult}", "{hresult}"),
    ],
    "tls_alert": [
        ("A fatal alert was received from the remote endpoint. The TLS protocol defined fatal "
         "alert code is {n}.", "{n}"),
    ],
    "aadsts": [("Failed to acquire token: AADSTS{n}: see the error reference", "{n}")],
    "arm": [
        ('level=error msg="Failed to AzcmagentConnect ARM resource" Error="Code: {name} '
         'Message: denied"', "{name}"),
        ("ERROR: ({name}) The request failed.", "{name}"),
    ],
    "curl": [("curl: ({n}) transfer failed", "{n}")],
    # https://learn.microsoft.com/azure/azure-local/manage/troubleshoot-arc-enabled-vms quotes
    # "RESPONSE ERROR (ErrorCode=NoAuthenticationInformation)"
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/SolutionExtension/
    # Firewall-blocks-update-discovery.md quotes "A WebException occurred while sending a
    # RestRequest. WebException.Status: ConnectFailure on ..."
    "webexception_status": [
        ("A WebException occurred while sending a RestRequest. WebException.Status: {name} on x",
         "{name}"),
    ],
    # openssl s_client prints "verify error:num=20:unable to get local issuer certificate"; Node
    # and curl name the code (https://docs.openssl.org/master/man3/X509_STORE_CTX_get_error/)
    "openssl_verify": [
        ("Error: {name} while connecting", "{name}"),
        ("verify error:num={n}:see the verification error", "{n}"),
    ],
    "storage": [("===== RESPONSE ERROR (ErrorCode={name}) =====", "{name}")],
    # an msiexec /l*v log's numbered message (https://github.com/elastic/windows-installers/issues/157)
    "msi_messages": [("MSI (s) (A0:B4) [21:19:21:676]: Product: Elasticsearch 6.1.1 -- Error {n}. "
                      "Service 'Elasticsearch' (Elasticsearch) failed to start.", "{n}")],
    "msi": [("MSI (s) (A4:1C) [10:00:00:000]: MainEngineThread is returning {n}", "{n}"),
            ("Installation failed: msiexec.exe returned {n}", "{n}"),
            ("Installation success or error status: {n}.", "{n}")],
    # Boost.System inside an extension log: "... remove_all: The request is not supported
    # [system:50]" (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Observability/
    # Upgrading-the-TelemetryAndDiagnostics-extension.md shape)
    "win32_system": [
        ("Start-Service : failed with {name}", "{name}"),
        ("Exception from HRESULT: {hresult}", "{hresult}"),
        ("Setup failed LastError=HRESULT_FROM_WIN32({n})", "{n}"),
        ("Delete of extension failed with error: boost::filesystem::remove_all: x [system:{n}]",
         "{n}"),
    ],
    # an error record's last line, as in the Get-Item sample of
    # https://learn.microsoft.com/powershell/scripting/developer/cmdlet/cmdlet-dynamic-parameters
    "powershell_binding": [
        ("    + FullyQualifiedErrorId : {name},Microsoft.Azure.PowerShell.Cmdlets.x", "{name}"),
    ],
    # the last line of a script's error record, the script's name after the id (the shape of
    # https://github.com/CrowdStrike/CRT/issues/7 and
    # https://github.com/seagull/disable-scheduledWaking/issues/8)
    "powershell_engine": [
        ("    + FullyQualifiedErrorId : {name},Get-CRTReport.ps1", "{name}"),
    ],
    # a traceback's last line (https://docs.python.org/3/tutorial/errors.html shape)
    "python_exceptions": [("{name}: 'properties'", "{name}")],
    "dotnet_exceptions": [
        ("Exception      : System.{name}: see the message", "{name}"),
        ("   at x ---> {name}: see the message", "{name}"),
    ],
    # the Windows Update Agent's codes as a COM call from PowerShell reports them
    # (https://github.com/akunzai/windows-secure-auditor/issues/29: "Exception from HRESULT:
    # 0x8024401C") and by name as the WUA networking error table lists them
    "wua_network": [
        ("Exception from HRESULT: {hresult}", "{hresult}"),
        ("Search failed: {name}", "{name}"),
    ],
    # the extension manager's and the Azure VM agent's wordings
    # (https://github.com/MicrosoftDocs/azure-docs/issues/102162,
    # https://github.com/Azure/azure-linux-extensions/issues/1908)
    "linux_extension_exit": [
        ("Extension failed to install. Extension returned non-zero exit code for Install: {n}. "
         "Extension error output: see the log", "{n}"),
        ("[ExtensionOperationError] Non-zero exit code: {n}, /var/lib/waagent/x/shim.sh -install",
         "{n}"),
    ],
    "x509_chain_status": [
        ("System.Security.Authentication.AuthenticationException: The remote certificate is "
         "invalid because of errors in the certificate chain: {name}", "{name}"),
    ],
    # the shapes of tests/test_transport_families.py's published samples, one per form
    "dotnet_socket_error": [
        ("System.Net.Sockets.SocketException: connect failed, SocketErrorCode : {name}", "{name}"),
    ],
    "linux_errno": [
        ("System.Net.Http.HttpRequestException: x ---> System.Net.Sockets.SocketException ({n}): "
         "see the message", "{n}"),
        ("OSError: [Errno {n}] see the message", "{n}"),
        ("Error: connect {name} 10.0.0.1:443", "{name}"),
    ],
    "getaddrinfo": [("socket.gaierror: {name}", "{name}"),
                    ("Invoke-RestMethod : {message} (management.azure.com:443)", "{message}")],
    "http_request_error": [("System.Net.Http.HttpRequestException: HttpRequestError : {name}",
                            "{name}"),
                           ("System.Net.Http.HttpRequestException: {message}.", "{message}")],
    "ssl_policy_errors": [
        ("The remote certificate is invalid according to the validation procedure: {name}",
         "{name}"),
    ],
    "openssl_ssl_reason": [
        ("ERROR: HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded "
         "(Caused by SSLError(SSLError(1, '[SSL: {name}] see the reason (_ssl.c:1006)')))",
         "{name}"),
        ("SSL_connect failed: error:0A000000:SSL routines::{message}", "{message}"),
    ],
    "python_http": [
        ("ERROR: HTTPSConnectionPool(host='management.azure.com', port=443): Max retries "
         "exceeded with url: /x (Caused by {name}(see the inner error))", "{name}"),
        ("requests.exceptions.{name}: see the message", "{name}"),
        ("ERROR: {message}", "{message}"),
    ],
}
# Forms with {message} in the families that had only codes before: every member's published
# text as a tool prints it alone.
MESSAGE_SAMPLES: Dict[str, str] = {
    "winsock": "Invoke-WebRequest : {message}",
    "webexception_status": "Invoke-WebRequest : The underlying connection was closed: {message}.",
    "msi": "Installation failed: {message}",
    # PowerShell's MethodInvocationException shape (https://github.com/MHimken/toolbox/issues/2:
    # 'Exception calling "Receive" with "1" argument(s): "A non-blocking socket operation ..."')
    "dotnet_exceptions": 'Exception calling "AcquireToken" with "1" argument(s): "{message}"',
}


def _categories(text: str) -> Set[str]:
    report = diagnose_path("-", KB, stdin=io.BytesIO((text + "\n").encode()), all_lines=True)
    return {d.diagnosis.category for d in report.diagnoses}


def _cases() -> List[Tuple[str, str, str]]:
    cases = []
    for family in FAMILIES:
        templates = list(SAMPLES[family.id])
        if family.id in MESSAGE_SAMPLES:
            templates.append((MESSAGE_SAMPLES[family.id], "{message}"))
        for template, placeholder in templates:
            for member in family.members:
                values = {"{n}": [str(member.n)] if member.n is not None else [],
                          "{name}": list(member.names),
                          "{message}": list(member.messages),
                          "{hresult}": [member.hresult_form()] if member.hresult_form() else []}
                for value in values[placeholder]:
                    line = template.replace(placeholder, value)
                    if "{hresult}" in line:
                        line = line.replace("{hresult}", member.hresult_form())
                    if "{" in line:
                        continue
                    expected = CATEGORY[member.cause] if member.cause else "unknown"
                    cases.append((f"{family.id}:{value}", line, expected))
    return cases


CASES = _cases()


def test_every_family_has_samples() -> None:
    assert {f.id for f in FAMILIES} == set(SAMPLES)
    assert len(CASES) > 300


def test_every_message_form_is_sampled() -> None:
    """A family that prints its members' messages has a sample template for them, so every
    message of the list is walked by test_every_member_leads_to_its_cause."""
    for family in FAMILIES:
        if any("{message}" in form for form in family.forms):
            sampled = [t for t, p in SAMPLES[family.id] if p == "{message}"]
            assert sampled or family.id in MESSAGE_SAMPLES, family.id


@pytest.mark.parametrize(("member", "line", "category"), CASES, ids=[c[0] for c in CASES])
def test_every_member_leads_to_its_cause(member: str, line: str, category: str) -> None:
    """A member with a cause gives that cause's category (and at most one other, from the
    words around it); a member without one (a calling tool's own programming error) is still a
    failure line, so it gives unknown, never silence."""
    got = _categories(line)
    if category == "unknown":
        assert got == {"unknown"}, (member, got)
    else:
        assert category in got and len(got) <= 2, (member, got)


def test_whole_winhttp_range_is_listed() -> None:
    """Every code WinHTTP documents between 12001 and 12186 is a member."""
    winhttp = next(f for f in FAMILIES if f.id == "winhttp")
    codes = {m.n for m in winhttp.members}
    documented = {12001, 12002, 12004, 12005, 12006, 12007, 12009, 12011, 12012, 12015, 12017,
                  12018, 12019, 12029, 12030, 12031, 12032, 12037, 12038, 12044, 12045, 12057,
                  12100, 12101, 12102, 12103, 12150, 12152, 12153, 12154, 12155, 12156, 12157,
                  12166, 12167, 12169, 12170, 12172, 12175, 12176, 12177, 12178, 12179, 12180,
                  12181, 12182, 12183, 12184, 12185, 12186}
    assert documented <= codes


def test_members_name_existing_causes_and_sources_are_cited() -> None:
    for family in FAMILIES:
        assert family.sources and all(s.startswith("https://") for s in family.sources)
        for member in family.members:
            assert not member.cause or member.cause in CATEGORY, (family.id, member)


def test_generated_patterns_stay_linear() -> None:
    patterns = codefamilies.patterns_by_cause(FAMILIES)
    compiled = [KB.compiled[cause] for cause in patterns]
    for group in compiled:
        for regex in group:
            for fragment in ("0x8007", "error code: ", "AADSTS1", "curl: (", "a"):
                text = (fragment * (65536 // len(fragment) + 1))[:65536]
                started = time.perf_counter()
                regex.search(text)
                assert time.perf_counter() - started < 1.0, regex.pattern


GOOD = """
schema = 1
[[family]]
id = "f"
title = "t"
sources = ["https://example.org/list"]
forms = ['code {n}\\b']
members = [{ n = 1, cause = "tcp_timeout" }]
"""


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace('id = "f"', 'id = "f"\nextra = 1'), "unknown ['extra']"),
    (GOOD.replace("https://example.org/list", "http://example.org/list"), "https://"),
    (GOOD.replace("code {n}", "code"), "exactly one"),
    (GOOD.replace("{ n = 1, cause", "{ n = 1, colour = 2, cause"), "unknown key(s) colour"),
    (GOOD.replace('[{ n = 1, cause = "tcp_timeout" }]',
                  '[{ n = 1, cause = "tcp_timeout" }, { n = 1, cause = "tcp_reset" }]'),
     "1 listed twice"),
    (GOOD.replace("n = 1,", ""), "a number, a name or a message"),
    (GOOD.replace("n = 1,", 'n = 1, messages = ["short"],'), "plain ASCII sentences"),
    (GOOD.replace("n = 1,", 'n = 1, messages = ["Apostrophes aren\x27t allowed here"],'),
     "plain ASCII sentences"),
    (GOOD.replace("[[family]]", "[[familly]]"), "unknown top-level"),
    ("schema = [", "not valid TOML"),
])
def test_malformed_families_are_refused(text: str, message: str) -> None:
    with pytest.raises(codefamilies.CodeFamilyError) as err:
        codefamilies.parse(text)
    assert message in str(err.value)


def test_a_member_naming_an_unknown_cause_stops_the_knowledge_base() -> None:
    families = codefamilies.parse(GOOD.replace("tcp_timeout", "no_such_cause"))
    text = kbmod.DATA_FILE.read_text(encoding="utf-8")
    with pytest.raises(kbmod.KnowledgeBaseError) as err:
        kbmod.parse(text, codefamilies.patterns_by_cause(families))
    assert "no_such_cause" in str(err.value)


def test_a_message_matches_without_its_full_stop() -> None:
    text = GOOD.replace("forms = ['code {n}\\b']", "forms = ['{message}']").replace(
        "n = 1,", 'n = 1, messages = ["No such host is known."],')
    families = codefamilies.parse(text)
    kb = kbmod.parse(kbmod.DATA_FILE.read_text(encoding="utf-8"),
                     codefamilies.patterns_by_cause(families))
    assert "tcp_timeout" in [c.id for c in kb.match_text("error: No such host is known (x:443)")]


def test_family_patterns_join_their_cause() -> None:
    families = codefamilies.parse(GOOD)
    text = kbmod.DATA_FILE.read_text(encoding="utf-8")
    kb = kbmod.parse(text, codefamilies.patterns_by_cause(families))
    cause = kb.get("tcp_timeout")
    assert cause is not None and r"code 1\b" in cause.patterns
    assert [c.id for c in kb.match_text("failed with code 1")] == ["tcp_timeout"]
