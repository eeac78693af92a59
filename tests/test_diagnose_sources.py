"""``diagnose`` on every kind of text an Arc admin has (issue 9) and on the agent's real log and
console shapes (issue 15, items 2 and 3).

The lines below are written for these tests in the shapes of public samples (each test names
its sample); the real posted texts live in ``tests/corpus`` and are scored by
``test_corpus_accuracy_floor``.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Set

import pytest
from diagtext import assert_reported, assert_silent, categories, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs.diagnose import diagnose_stream
from arc_preflight.logs.levels import parse_level
from arc_preflight.logs.lines import FAILURE_RES

ROOT = Path(__file__).resolve().parent.parent





# ---------------------------------------------------------------------------------------------
# Issue 15 item 2: connect attempts start at ``Agent Command: connect``
# ---------------------------------------------------------------------------------------------


def _logrus(second: int, level: str, msg: str, extra: str = "") -> str:
    return (f'time="2022-09-30T10:{second // 60:02d}:{second % 60:02d}Z" level={level} '
            f'msg="{msg}"{extra}')


def test_attempts_start_at_agent_command_connect(kb: kbmod.KnowledgeBase) -> None:
    """Real agent logs are logrus text and every azcmagent command starts with
    ``msg="Agent Command: <command>"``: the verbose connect and disconnect logs posted in
    https://github.com/MicrosoftDocs/azure-docs/issues/99004 (quoted in
    tests/corpus/healthy/b-h04.txt) show ``level=debug msg="Agent Command: connect"`` right after
    ``Agent Version``. Two attempts: only the second one's cause is reported by default."""
    lines = [
        _logrus(1, "debug", "Agent Version: 1.21.02043.347"),
        _logrus(1, "debug", "Agent Command: connect"),
        _logrus(2, "error", "DNS failure", ' Error="dial tcp: lookup gbl.his.arc.azure.com on '
                '10.0.0.2:53: no such host"'),
        _logrus(3, "fatal", "AZCM0026: Network Error"),
        _logrus(60, "debug", "Agent Version: 1.21.02043.347"),
        _logrus(60, "debug", "Agent Command: connect"),
        _logrus(61, "debug", "Loading AgentConfig file from: /var/opt/azcmagent/agentconfig.json"),
        _logrus(62, "error", "Failed to AzcmagentConnect ARM resource",
                ' Error="Code: MissingSubscriptionRegistration httpStatusCode:409"'),
    ]
    report = diagnose("\n".join(lines) + "\n", kb)
    assert report.scope == "latest_attempt" and report.attempts == 2
    assert report.start_line == 6
    assert categories(report) == {"resource_provider_not_registered"}
    everything = diagnose("\n".join(lines) + "\n", kb, all_lines=True)
    assert {"dns_failure", "resource_provider_not_registered"} <= categories(everything)


def test_a_later_show_or_check_is_not_a_connect_attempt(kb: kbmod.KnowledgeBase) -> None:
    """``azcmagent show`` and ``check`` log ``Agent Command: show`` / ``check`` in the same file
    (same sample as above): they end the connect attempt instead of starting a new one, so the
    failed connect before them is still "the latest attempt", and their own lines are not
    mixed into it."""
    lines = [
        _logrus(1, "debug", "Agent Command: connect"),
        _logrus(2, "error", "Failed to AzcmagentConnect ARM resource",
                ' Error="The client does not have authorization to perform action '
                "'Microsoft.HybridCompute/machines/write'\""),
        _logrus(30, "debug", "Agent Command: show"),
        _logrus(31, "debug", "Reading agent state"),
        _logrus(40, "debug", "Agent Command: check"),
        _logrus(41, "error", "Request failed", ' Error="Get \\"https://gbl.his.arc.azure.com\\": '
                'dial tcp 203.0.113.7:443: connect: connection refused"'),
    ]
    report = diagnose("\n".join(lines) + "\n", kb)
    assert report.scope == "latest_attempt" and report.attempts == 1
    assert categories(report) == {"missing_role_permission"}


# ---------------------------------------------------------------------------------------------
# Issue 15 item 3: the console format of current agents
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "level"), [
    ("INFO    Connecting machine to Azure... This might take a few minutes.", "info"),
    ("  INFO    Creating resource in Azure... Correlation ID=00000000-0000-0000-0000-000000000000",
     "info"),
    ("INFO    AZCM0026: Network Error", "info"),
    ("FATAL   RequestCorrelationId:00000000 Message: failed", "fatal"),
    ("ERROR   Failed to create resource", "error"),
    ("WARN    Clock offset is large", "warning"),
    ("DEBUG   Checking connectivity", "debug"),
    ("INFO about the machine", None),  # one space and a capitalised word: prose, not a level
    ("Error: something", "error"),
])
def test_current_console_levels(line: str, level: str) -> None:
    """Agents since the 1.3x releases print the level word in capitals padded with spaces, no
    brackets: ``INFO    AZCM0026: Network Error`` as posted in
    https://github.com/Azure/AzureLocal-Supportability/issues/184 (tests/corpus/cases/b-014.txt)
    and ``INFO    Connecting machine to Azure... This might take a few minutes.`` /
    ``  INFO    Creating resource in Azure...`` in the Azure Local registration output on
    Microsoft Learn."""
    assert parse_level(line) == level


def test_console_fatal_line_is_a_failure(kb: kbmod.KnowledgeBase) -> None:
    """A ``FATAL   ...`` console line that no cause explains is still reported (unknown)."""
    text = ("INFO    Connecting machine to Azure... This might take a few minutes.\n"
            "INFO    Testing connectivity to endpoints that are needed to connect to Azure...\n"
            "FATAL   the frobnicator could not be initialised\n")
    report = diagnose(text, kb)
    assert categories(report) == {"unknown"}
    assert report.diagnoses[0].diagnosis.lines == (3,)
    assert report.exit_code != 0


# ---------------------------------------------------------------------------------------------
# Issue 9: the examples of the issue, each in the shape of its public source
# ---------------------------------------------------------------------------------------------

ISSUE_EXAMPLES = [
    # install_windows_azcmagent.ps1 on an Azure VM (shape of tests/corpus/cases/b-008.txt)
    ("C:\\Temp\\install_windows_azcmagent.ps1 : 'Cannot install Azure Connected Machine agent "
     "on an Azure Virtual Machine.\nAzure Connected Machine Agent is designed for use outside "
     "Azure.\n", {"azure_vm_detected"}),
    # Debian package post-install in WSL/containers: systemd is not PID 1
    ("Setting up azcmagent (1.40.02664.1629) ...\n"
     "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
     "Failed to connect to bus: Host is down\n"
     "dpkg: error processing package azcmagent (--configure):\n"
     " installed azcmagent package post-installation script subprocess returned error exit "
     "status 1\nErrors were encountered while processing:\n azcmagent\n",
     {"unsupported_environment", "install_failure"}),
    # ESU / extension log with WinHTTP codes in HRESULT_FROM_WIN32 form
    ("2024-01-10 10:00:00 ESU: license check failed HRESULT_FROM_WIN32(12029)\n",
     {"firewall_or_proxy_blocking"}),
    ("2024-01-10 10:00:00 ESU: license check failed HRESULT_FROM_WIN32(12002)\n",
     {"firewall_or_proxy_blocking"}),
    # an ARM code naming the cause beside a bare AZCM0042
    ('ERROR   Failed to AzcmagentConnect ARM resource Error="Code: ReservedResourceName '
     "Message: The resource name 'login' or a part of the name is a trademarked or reserved "
     'word."\nFATAL   AZCM0042: Failed to Create Resource\n', {"invalid_resource_name"}),
    # the agent cannot work out the machine's FQDN, beside AZCM0104 (b-041's shape)
    ('ERROR[0032] Failed to discover OS information for onboarding  Error="Failed to obtain '
     'FqdnDNS: "\nINFO[0032] Exit Code:  AZCM0104: Failed To Get OS Information\n',
     {"hostname_unresolvable"}),
    # a Private Link Scope is required, beside AZCM0026 (b-014's shape)
    ("No indication of Private Link Scope but found private endpoint "
     "agentserviceapi.guestconfiguration.azure.com: 10.1.2.3\nINFO    AZCM0026: Network Error\n",
     {"private_link_scope_required"}),
    # a connectivity validator's FAILED line for management.azure.com
    ("[FAILED] Connection from 10.0.0.100 (Ethernet) to https://management.azure.com failed "
     "after 10 attempts\n", {"firewall_or_proxy_blocking"}),
    # a resource lock blocking azcmagent disconnect
    ('level=error msg="Failed to delete resource" Error="Code: ScopeLocked Message: The scope '
     "'/subscriptions/0000/resourceGroups/rg01/providers/Microsoft.HybridCompute/machines/host01'"
     ' cannot perform delete operation because following scope(s) are locked"\n',
     {"resource_locked"}),
    # policy denial
    ('ERROR   Failed to AzcmagentConnect ARM resource Error="Code: RequestDisallowedByPolicy '
     "Message: Resource 'host01' was disallowed by policy.\"\nFATAL   AZCM0042: Failed to Create "
     "Resource\n", {"policy_denied"}),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_EXAMPLES)
def test_issue_examples(kb: kbmod.KnowledgeBase, text: str, expected: Set[str]) -> None:
    assert categories(diagnose(text, kb)) == expected


# Whole families: one line per member, in the shape each tool prints.
FAMILY_LINES = [
    # WinHTTP / WinINet, names, HRESULT_FROM_WIN32 and 0x8007xxxx forms
    ("WinHttpSendRequest failed: ERROR_WINHTTP_NAME_NOT_RESOLVED", "dns_failure"),
    ("Exception from HRESULT: 0x80072EE7", "dns_failure"),
    ("request failed with 0x80072EFD", "firewall_or_proxy_blocking"),
    ("WinHTTP error 12030 while posting", "firewall_or_proxy_blocking"),
    ("Failed: HRESULT_FROM_WIN32(12175)", "tls_inspection"),
    ("error 0x80072F8F", "tls_inspection"),
    ("ERROR_WINHTTP_SECURE_CERT_DATE_INVALID", "clock_skew"),
    ("WinHttpGetProxyForUrl: ERROR_WINHTTP_AUTODETECTION_FAILED", "proxy_misconfigured"),
    ("ERROR_WINHTTP_SECURE_CHANNEL_ERROR", "tls_protocol"),
    # SChannel / CryptoAPI
    ("schannel: next InitializeSecurityContext failed: SEC_E_UNTRUSTED_ROOT (0x80090325)",
     "tls_inspection"),
    ("The revocation function was unable to check revocation because the revocation server was "
     "offline. 0x80092013", "firewall_or_proxy_blocking"),
    ("A certificate chain could not be built to a trusted root authority. 0x800B010A",
     "missing_intermediate_ca"),
    ("The TLS protocol defined fatal alert code is 48.", "tls_inspection"),
    # .NET WebException texts (Invoke-WebRequest / Invoke-RestMethod)
    ("Invoke-WebRequest : The remote name could not be resolved: 'aka.ms'", "dns_failure"),
    ("Invoke-RestMethod : Unable to connect to the remote server", "firewall_or_proxy_blocking"),
    ("The underlying connection was closed: Could not establish trust relationship for the "
     "SSL/TLS secure channel.", "tls_inspection"),
    ("The request was aborted: Could not create SSL/TLS secure channel.", "tls_protocol"),
    ("The remote server returned an error: (407) Proxy Authentication Required.",
     "proxy_auth_required"),
    # curl exit codes (install_linux_azcmagent.sh downloads with curl)
    ("curl: (6) Could not resolve host: packages.microsoft.com", "dns_failure"),
    ("curl: (7) Failed to connect to packages.microsoft.com port 443 after 3 ms: Couldn't "
     "connect to server", "firewall_or_proxy_blocking"),
    ("curl: (28) Connection timed out after 30001 milliseconds", "firewall_or_proxy_blocking"),
    ("curl: (60) SSL certificate problem: unable to get local issuer certificate",
     "tls_inspection"),
    ("curl: (5) Could not resolve proxy: proxy.contoso.com", "proxy_misconfigured"),
    # Go net / crypto/tls / x509
    ('Get "https://gbl.his.arc.azure.com": tls: failed to verify certificate: x509: '
     "certificate signed by unknown authority", "tls_inspection"),
    ("dial tcp: lookup gbl.his.arc.azure.com: i/o timeout", "dns_failure"),
    # AADSTS
    ("AADSTS7000222: The provided client secret keys for app '0000' are expired.",
     "invalid_sp_secret"),
    ("AADSTS700024: Client assertion is not within its valid time range.", "clock_skew"),
    ("AADSTS900023: Specified tenant identifier 'x' is neither a valid DNS name, nor a valid "
     "external domain.", "sp_or_tenant_not_found"),
    ("AADSTS53003: Access has been blocked by Conditional Access policies.", "policy_denied"),
    # ARM
    ("Code: LinkedAuthorizationFailed", "missing_role_permission"),
    ("Code: ResourceGroupNotFound Message: Resource group 'rg01' could not be found.",
     "missing_parameter"),
    ("Code: LocationNotAvailableForResourceType", "invalid_region"),
    ("Code: ParentResourceNotFound Message: Can not perform requested operation on nested "
     "resource. Parent resource 'host01' not found.", "arc_resource_missing"),
    # MSI
    ("MSI (s) (A4:1C) [10:00:00:000]: Product: Azure Connected Machine Agent -- Installation "
     "failed.\nAction ended 10:00:00: InstallFinalize. Return value 3.", "install_failure"),
    ("msiexec exited with exit code 1618", "install_failure"),
    ("Installation failed with exit code 1625: This installation is forbidden by system policy.",
     "install_failure"),
    # package managers
    ("E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1234 (apt)",
     "install_failure"),
    ("No package azcmagent available.", "unsupported_environment"),
    ("Temporary failure resolving 'packages.microsoft.com'", "dns_failure"),
    # Group Policy onboarding, PowerShell
    ('Exception calling "UnprotectBase64" with "1" argument(s): "The specified data could not '
     'be decrypted."', "gpo_secret_protect_failed"),
    ("& : The term 'azcmagent' is not recognized as the name of a cmdlet, function, script file, "
     "or operable program.", "agent_not_installed"),
    ("Unable to find type [ErrorDetail].", "client_tool_bug"),
    ("systemctl: himdsd.service: Main process exited, code=exited, status=1/FAILURE",
     "himds_not_running"),
    # Azure CLI (az connectedmachine): urllib3/requests errors, as Python and urllib3 word them
    ("ERROR: HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded "
     "with url: / (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
     "0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))",
     "firewall_or_proxy_blocking"),
    ("ERROR: HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded "
     "with url: / (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
     "0x01>: Failed to establish a new connection: [Errno 11001] getaddrinfo failed'))",
     "dns_failure"),
    ("ERROR: HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded "
     "with url: / (Caused by ProxyError('Cannot connect to proxy.', NewConnectionError('<urllib3"
     ".connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: "
     "[Errno 111] Connection refused')))", "proxy_misconfigured"),
    ("ERROR: HTTPSConnectionPool(host='management.azure.com', port=443): Read timed out. "
     "(read timeout=30)", "firewall_or_proxy_blocking"),
    ("(AuthorizationFailed) The client 'user@contoso.com' with object id '0000' does not have "
     "authorization to perform action 'Microsoft.HybridCompute/machines/write'\n"
     "Code: AuthorizationFailed", "missing_role_permission"),
    # Az PowerShell error records: the ARM code leads FullyQualifiedErrorId
    ("    + FullyQualifiedErrorId : ScopeLocked,Microsoft.Azure.PowerShell.Cmdlets."
     "ConnectedMachine.Cmdlets.RemoveAzConnectedMachine_Delete", "resource_locked"),
    ("Connect-AzConnectedMachine : Cannot validate argument on parameter 'Location'. The "
     "argument is null or empty.", "missing_parameter"),
    ("Invoke-WebRequest: Connection refused (gbl.his.arc.azure.com:443)",
     "firewall_or_proxy_blocking"),
    # ESU: the IMDS check lines of troubleshoot-extended-security-updates (documented cause:
    # missing intermediate CAs), https://learn.microsoft.com/azure/azure-arc/servers/
    # troubleshoot-extended-security-updates
    ("ESU: Trying to Check IMDS Again LastError=HRESULT_FROM_WIN32(12002)",
     "missing_intermediate_ca"),
    ("ESU: Trying to Check IMDS Again LastError=HRESULT_FROM_WIN32(12029)",
     "missing_intermediate_ca"),
    # Extensions: the two errors of troubleshoot-vm-extensions
    # (https://learn.microsoft.com/azure/azure-arc/servers/troubleshoot-vm-extensions)
    ("Extension failed to install. Extension returned non-zero exit code for Install: 64. "
     "Extension error output: Extension path '/var/lib/waagent/x' has the 'noexec' flag set. "
     "Extension exit code: 64", "extension_failure"),
    ("HandlerManifest.json file does not exist for extension", "extension_failure"),
    # ... an extension's terminal failure as ARM reports it (shape of
    # https://github.com/microsoft/azure_arc/issues/1787 and issues/1768)
    ('Error: Code="VMExtensionProvisioningError" Message="VM has reported a failure when '
     "processing extension 'cse'. Error message: \\\"Enable failed: failed to execute command: "
     'command terminated with exit status=2"', "extension_failure"),
    ('"code": "VMExtensionProvisioningTimeout", "message": "Provisioning of VM extension x has '
     'timed out."', "extension_failure"),
    # ... but a reason named beside it wins: the extension failure only adds evidence
    ("Failed to install extension AzureMonitorWindowsAgent: dial tcp 203.0.113.7:443: "
     "i/o timeout", "firewall_or_proxy_blocking"),
    # .NET chain status (https://github.com/ThreeMammals/Ocelot/issues/2135 shape)
    ("---> System.Security.Authentication.AuthenticationException: The remote certificate is "
     "invalid because of errors in the certificate chain: PartialChain",
     "missing_intermediate_ca"),
    # Azure CLI and Az PowerShell shapes (https://github.com/Azure/azure-cli/issues/26915 for
    # the traceback; PowerShell's own parameter-binding messages)
    ("ERROR: 'connectedmachine' is misspelled or not recognized by the system.",
     "client_tool_bug"),
    ("Connect-AzConnectedMachine : A positional parameter cannot be found that accepts argument "
     "'westeurope'.", "missing_parameter"),
    ("az connectedmachine extension create: error: argument --location/-l: expected one "
     "argument", "missing_parameter"),
    # package managers (rpm scriptlet, yum repository, apt as a normal user)
    ("warning: %post(azcmagent-1.40.02664-1.x86_64) scriptlet failed, exit status 1",
     "install_failure"),
    ("E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n"
     "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), are you root?",
     "not_admin"),
    # SSH to Arc: the documented errors of
    # https://learn.microsoft.com/azure/azure-arc/servers/ssh-arc-troubleshoot
    ("Failed to create ssh key file with error: [WinError 2] The system cannot find the file "
     "specified.", "client_tool_bug"),
    ("/bin/bash: line 1: exec: /usr/local/share/powershell/Modules/Az.Ssh.ArcProxy/1.0.0/"
     "sshProxy_linux_amd64_1.3.022941: cannot execute: Permission denied", "not_admin"),
    ("SSH connection is not enabled in the target port 22.", "firewall_or_proxy_blocking"),
    ("Unable to determine the target machine type as Azure VM or Arc Server",
     "missing_role_permission"),
    ("Request for Azure Relay Information Failed: (NoRegisteredProviderFound) Code: "
     "NoRegisteredProviderFound", "resource_provider_not_registered"),
    # Arc resource bridge: the documented errors of
    # https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge
    ("Context timed out during phase 'WaitingForCluster'", "firewall_or_proxy_blocking"),
    ("{ _errorCode_: _PostOperationsError_, _errorResponse_: _{\\n\\_message\\_: \\_Timeout "
     "occurred due to management machine being unable to reach the appliance VM IP, 10.2.196.170.",
     "network_unreachable"),
    ('"message": "Post \\"https://region.dp.kubernetesconfiguration.azure.com/x\\": http2: '
     'server sent GOAWAY and closed the connection; LastStreamID=1', "tls_inspection"),
    ("{ _message_: _Post _https://westeurope.dp.kubernetesconfiguration.azure.com/x_: "
     "authenticationrequired_ }", "proxy_auth_required"),
    ('\\"code\\": \\"ClockSkewError\\", \\"message\\": \\"The time in Appliance VM is too '
     'far behind in the past compared to Management Machine', "clock_skew"),
    ("The refresh token has expired or is invalid due to sign-in frequency checks by conditional "
     "access.", "policy_denied"),
    ('"error_message": /lib64/libc.so.6: version `GLIBC_2.34_ not found (required by x.so)',
     "unsupported_environment"),
    ("TypeError: get_login_credentials() got an unexpected keyword argument 'resource'",
     "client_tool_bug"),
    # Azure Local environment checker: the diagnostic object of a failed endpoint
    ('  "StatusCode": 407,', "proxy_auth_required"),
    ("[11/03/2025 19:38:18] [WARNING] [Invoke-WebrequestEx] FAILURE: HOST01 "
     "https://login.microsoftonline.com (The remote name could not be resolved: "
     "'login.microsoftonline.com')", "dns_failure"),
]


@pytest.mark.parametrize(("line", "category"), FAMILY_LINES)
def test_code_family_members(kb: kbmod.KnowledgeBase, line: str, category: str) -> None:
    got = categories(diagnose(line + "\n", kb))
    assert category in got and len(got) <= 2, got


# ---------------------------------------------------------------------------------------------
# Never silent; healthy stays silent
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", [
    "[FAILED] The thing could not be done",
    "Install-Thing : Exception calling \"Run\" with \"0\" argument(s): \"boom\"",
    "error: the widget is broken",
    "script.sh: command returned exit code: 3",
    "RESPONSE 500: 500 Internal Server Error",
    "The remote server returned an error: (500) Internal Server Error.",
    "RESPONSE 503: 503 Service Unavailable",
    "Action ended 10:00:00: InstallFinalize. Return value 3.",
    "    + FullyQualifiedErrorId : DriveNotFound,Microsoft.PowerShell.Commands.SetLocationCommand",
    '{"operation": "Enable", "status": "error", "code": 1}',
    "[11/03/2025 19:38:18] [ERROR] [Test-Widget] the widget broke",
    "setup.sh: installer exited with code 2",
    "Start-Service : Access is denied",
    # a Python exception whose class ends in -ionError, as python-jsonschema's README shows it
    # (https://github.com/python-jsonschema/jsonschema): once mistaken for the "OnError:" setting
    "    ValidationError: 'Invalid' is not of type 'number'",
])
def test_failure_lines_are_never_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_reported(line, kb)


@pytest.mark.parametrize("line", [
    'time="2022-09-30T10:04:09Z" level=debug msg="Validating HTTP response. getting a non-200 '
    'response (404 Not Found)"',
    'time="2022-09-30T10:04:09Z" level=warning msg="request failed, retrying" attempt=2',
    '"51","gbl.his.arc.azure.com","443","False","Success","(400) Bad Request"',
    "Agent Error Code                        : ",
    "Arc GC service is not running.",
    "Reading state information... Done",
    "NonHTTPFailure: false",
    "Skipping DNS resolution test on node01 because a proxy is configured.",
    # an extension's healthy status (https://github.com/Azure/azure-powershell/issues/19400)
    '"message": "Extension Message: ExtensionOperation:enable. Status:Success"',
    '"provisioningState": "Succeeded",',
    # Field shapes a review found the client-tool failure patterns firing on (values that say
    # there was no error, settings of what to do on one, success statuses, an empty error
    # object, a script's own success line in the Write-Error layout): probes of the patterns'
    # edges, not copies of one post.
    "LastError: 0x0", "lastError: <nil>", "LastError: N/A", "lastError: -",
    "OnError: continue", "maxRetriesOnError: 3", "IgnoreError: true",
    "ActionOnError: Continue", "breakOnError: always", "ignoreError: true",
    "Code: Created", "Code: Accepted", "Code: NoContent", "Code: Completed",
    '   "error": {}',
    r"C:\scripts\onboard.ps1 : Onboarding completed successfully",
])
def test_healthy_lines_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


@pytest.mark.parametrize("fmt", ["logrus", "console"])
def test_generated_healthy_log_has_no_diagnosis(kb: kbmod.KnowledgeBase, tmp_path: Path,
                                                fmt: str) -> None:
    """scripts/gen_log.py with no errors: everything before its final (failing) connect attempt
    is healthy and must produce no diagnosis at all."""
    out = tmp_path / "healthy.log"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_log.py"), "4", "--error-rate",
                    "0", "--format", fmt, "-o", str(out)], check=True, capture_output=True,
                   timeout=120)
    data = out.read_bytes()
    cut = data.rfind(b"Running azcmagent connect")
    healthy = data[:data.rfind(b"\n", 0, cut) + 1]
    assert healthy.count(b"\n") > 10000
    report = diagnose_stream(io.BytesIO(healthy), kb, "healthy.log", all_lines=True)
    assert report.diagnoses == ()


def test_failure_patterns_stay_linear() -> None:
    """The failure patterns run on any line that holds their literal (up to 64 KiB)."""
    for regex in FAILURE_RES:
        for fragment in ("a-", "eyJa-", "fail", "exit code ", "status code ", "e"):
            text = (fragment * (65536 // len(fragment) + 1))[:65536]
            started = time.perf_counter()
            regex.search(text)
            assert time.perf_counter() - started < 1.0, (regex.pattern, fragment)


# ---------------------------------------------------------------------------------------------
# The real-text corpus: accuracy cannot silently regress
# ---------------------------------------------------------------------------------------------

# Measured when these floors were set (see tests/corpus/README.md); raise them as rules improve.
# (Round g, collected after every rule so far, lowered the rules half from 108/130 to 112/142:
# the floor follows the larger corpus, not a regression of the rules. Stop 24 measured rules
# 133/159 and holdout 88/155 with round i.)
# (Rounds m and n, collected after every rule of stop 25, lowered the rules half from 157/191 to
# 160/206; rules written from their rules halves and round o brought it to 175/212.)
ACCURACY_FLOOR = {"rules": 0.82, "holdout": 0.56}
# Healthy texts that get a diagnosis: none (measured; tests/corpus/healthy holds 33 real ones).
HEALTHY_FALSE_POSITIVES_CEILING = 0


def test_corpus_accuracy_floor() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import corpus_score
    finally:
        sys.path.pop(0)
    cases = corpus_score.score(corpus_score.load_corpus(corpus_score.CORPUS), in_process=True)
    result = corpus_score.summary(cases)
    assert result["errors"] == 0, [w for w in result["wrong"] if w["error"]]
    assert result["healthy_false_positives"] <= HEALTHY_FALSE_POSITIVES_CEILING, [
        w for w in result["wrong"] if w["expected"] == "healthy"]
    low: List[str] = []
    for half, floor in ACCURACY_FLOOR.items():
        accuracy = result["halves"][half]["accuracy"]
        if accuracy < floor:
            low.append(f"{half}: {accuracy:.3f} < {floor}")
    assert not low, low
