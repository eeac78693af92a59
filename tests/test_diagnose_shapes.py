"""``diagnose`` on the shapes of text other tools print around the agent (issue 9, second round):
azcmagent exit codes quoted by another tool, the ESU license check, Azure Local environment
checker records, Azure CLI and Az PowerShell error blocks, extension status texts.

Every sample names the public text whose shape it copies.
"""

from __future__ import annotations

import pytest
from diagtext import assert_only_unknown, assert_silent, categories, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs.lines import exit_code_azcm

# ---------------------------------------------------------------------------------------------
# azcmagent exit codes printed by another tool
# ---------------------------------------------------------------------------------------------

# The Azure Local known issues list quotes the registration error of Arc bootstrap:
# https://learn.microsoft.com/azure/azure-local/known-issues (issue 33008717)
EXIT_42 = ("AZCMAgent command failed with error: >> exitcode: 42. Additional Info: See "
           "https://aka.ms/arc/azcmerror")


def test_exit_code_of_azcmagent_is_its_azcm_code() -> None:
    """troubleshoot-agent-onboard.md, "Agent exit codes": the exit code equals the AZCM
    number (42 failed to create the Azure resource, 26 network error)."""
    assert exit_code_azcm(EXIT_42) == ("AZCM0042",)
    assert exit_code_azcm("azcmagent.exe exited with code 26") == ("AZCM0026",)
    # another program's exit code, and azcmagent's default error 1, stand for no AZCM code
    assert exit_code_azcm("msiexec exited with code 42") == ()
    assert exit_code_azcm("azcmagent failed, exit code 1") == ()


def test_exit_code_alone_lists_the_codes_causes(kb: kbmod.KnowledgeBase) -> None:
    """With nothing more specific, exit code 42 means what AZCM0042 means (its documented
    causes: permissions, an unregistered provider, a policy), not an unknown error."""
    report = diagnose(EXIT_42 + "\n", kb)
    got = categories(report)
    assert "unknown" not in got
    assert {"missing_role_permission", "resource_provider_not_registered"} <= got
    assert all("AZCM0042" in d.diagnosis.azcm for d in report.diagnoses)


def test_exit_code_beside_a_specific_cause_joins_it(kb: kbmod.KnowledgeBase) -> None:
    """Item 3: an ARM code on the same attempt wins over exit code 42's generic list (the ARM
    lines as Azure CLI prints them, https://github.com/Azure/azure-cli/issues/20232)."""
    text = ("(ScopeLocked) The scope '...' cannot perform delete operation because following "
            "scope(s) are locked: '...'. Please remove the lock and try again.\n"
            "Code: ScopeLocked\n" + EXIT_42 + "\n")
    report = diagnose(text, kb)
    assert categories(report) == {"resource_locked"}
    assert "AZCM0042" in report.diagnoses[0].diagnosis.azcm


# ---------------------------------------------------------------------------------------------
# Extended Security Updates license check
# ---------------------------------------------------------------------------------------------


def test_esu_not_eligible_is_a_stale_license(kb: kbmod.KnowledgeBase) -> None:
    """troubleshoot-extended-security-updates.md, "Error: Not eligible (HRESULT 1633)": the
    fix is deleting the cached license.json and restarting HIMDS
    (https://learn.microsoft.com/azure/azure-arc/servers/troubleshoot-extended-security-updates)."""
    report = diagnose("ESU: not eligible HRESULT_FROM_WIN32(1633)\n", kb)
    assert categories(report) == {"esu_license_stale"}
    assert any("license.json" in step for step in report.diagnoses[0].diagnosis.remedy)


# ---------------------------------------------------------------------------------------------
# Azure Local environment checker: a result record is read as one unit
# ---------------------------------------------------------------------------------------------

# The Format-List shape of a failed result, from the environment checker's troubleshooting guide
# (the long Description line is split with a backslash; the text is as posted)
# https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-Test-PowerShell-Module-Version.md
MODULE_RECORD = """\
Name               : AzStackHci_ValidatedRecipe_PowerShellModule_Version
DisplayName        : Test PowerShell Module Version
Tags               : {{}}
Title              : Test PowerShell Module Version
Status             : {status}
Severity           : CRITICAL
Description        : Validating that the PS modules installed on the host are the same versions\
 defined in the
                     validated recipe.
Remediation        : https://learn.microsoft.com/en-us/azure/azure-local/update/update-troubleshooting-23h2
TargetResourceID   : NODE01
TargetResourceName : NODE01
TargetResourceType : ValidatedRecipe
Timestamp          : 5/27/2025 2:59:37 PM
AdditionalData     : {{}}
HealthCheckSource  : Manual\\Standard\\Medium\\ValidatedRecipe\\6f49f155
"""

# The JSON shape of a failed outbound-connection result, from
# https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Networking/Troubleshoot-Network-Test-InfraIP-Azure-Endpoint-Connection.md
ARM_RECORD = """\
{{
  "Name": "AzureLocal_NetworkInfraConnection_Test_Infra_IP_Connection_AzureResourceManager",
  "DisplayName": "Test outbound connection for IP in infra IP pool to Azure Resource Manager",
  "Title": "Test outbound connection for IP in infra IP pool",
  "Status": 1,
  "Severity": 2,
  "Description": "Test outbound connection for IP in infra IP pool to Azure Resource Manager",
  "TargetResourceID": "AzureResourceManager_Connectivity",
  "TargetResourceName": "AzureResourceManager_Connectivity",
  "AdditionalData": {{
    "Source": "SERVER01",
    "Resource": "10.0.0.100-Ethernet",
    "Status": "{status}",
    "TimeStamp": "<timestamp>"
  }}
}}
"""


def test_failed_record_yields_what_it_tested(kb: kbmod.KnowledgeBase) -> None:
    """The Status line alone says only that something failed; the record's Name says what."""
    assert categories(diagnose(MODULE_RECORD.format(status="FAILURE"), kb)) == {
        "client_tool_bug"}
    report = diagnose(ARM_RECORD.format(status="FAILURE"), kb)
    assert categories(report) == {"firewall_or_proxy_blocking"}
    assert "AzureResourceManager" in report.diagnoses[0].diagnosis.evidence[0]


def test_passed_record_stays_silent(kb: kbmod.KnowledgeBase) -> None:
    """A passed check names the same test: it must not yield its cause."""
    assert diagnose(MODULE_RECORD.format(status="SUCCESS"), kb).diagnoses == ()
    assert diagnose(ARM_RECORD.format(status="SUCCESS"), kb).diagnoses == ()


def test_passed_record_is_not_confirmed_by_the_next_failure(kb: kbmod.KnowledgeBase) -> None:
    """Records follow one another (Get-SolutionUpdateEnvironment lists every result): a failure
    in the next record belongs to that record, never to the passed one before it."""
    text = ARM_RECORD.format(status="SUCCESS") + MODULE_RECORD.format(status="FAILURE")
    assert categories(diagnose(text, kb)) == {"client_tool_bug"}
    text = MODULE_RECORD.format(status="SUCCESS") + ARM_RECORD.format(status="FAILURE")
    assert categories(diagnose(text, kb)) == {"firewall_or_proxy_blocking"}


def test_a_passed_record_of_a_known_test_before_an_unknown_failed_one(
        kb: kbmod.KnowledgeBase) -> None:
    """Found in review: a passed connectivity record (its SUCCESS line is no event) was
    confirmed by the Status line of the next record, a test the knowledge base does not know,
    and the firewall cause came out for a check that had passed."""
    passed = MODULE_RECORD.format(status="SUCCESS").replace(
        "AzStackHci_ValidatedRecipe_PowerShellModule_Version",
        "AzStackHci_Connectivity_Test_ArcIntegration").replace(
        "TargetResourceType : ValidatedRecipe", "TargetResourceType : External Endpoint")
    # (a validator of the TSGs that the knowledge base has no cause for: the solution builder
    # extension's checks, https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-SBEHealth-Test-Endpoint-Matches-ModelSKU.md;
    # the hardware, software and security validators used here before now have causes)
    failed = MODULE_RECORD.format(status="FAILURE").replace(
        "AzStackHci_ValidatedRecipe_PowerShellModule_Version",
        "AzStackHci_SBEHealth_Test-Endpoint-Matches-ModelSKU")
    report = diagnose(passed + "\n" + failed, kb)
    assert categories(report) == {"unknown"}
    assert any("AzStackHci_SBEHealth_Test-Endpoint-Matches-ModelSKU" in line
               for line in report.diagnoses[0].diagnosis.evidence)


def test_a_passed_record_is_not_confirmed_by_another_tools_error(
        kb: kbmod.KnowledgeBase) -> None:
    """Only the record's own failed Status line confirms it, not any error line after it."""
    passed = MODULE_RECORD.format(status="SUCCESS").replace(
        "AzStackHci_ValidatedRecipe_PowerShellModule_Version",
        "AzStackHci_Connectivity_Test_ArcIntegration")
    text = passed + "2026-11-30 10:00:01 ERROR Failed to read hardware inventory: timeout\n"
    assert "firewall_or_proxy_blocking" not in categories(diagnose(text, kb))


def test_failed_record_of_an_unknown_test_is_never_silent(kb: kbmod.KnowledgeBase) -> None:
    """Item 4: a failed result whose test the knowledge base does not know is still reported."""
    text = MODULE_RECORD.format(status="FAILURE").replace(
        "AzStackHci_ValidatedRecipe_PowerShellModule_Version",
        "AzStackHci_SBEHealth_Test-Endpoint-Matches-ModelSKU")
    assert categories(diagnose(text, kb)) == {"unknown"}


# ---------------------------------------------------------------------------------------------
# Messages whose wording is the published text of a system or library error
# ---------------------------------------------------------------------------------------------

MESSAGES = [
    # .NET UnauthorizedAccessException, as a service controller
    # (https://github.com/PSAppDeployToolkit/PSAppDeployToolkit/issues/197) and a file write
    # (https://github.com/EvotecIT/PSWriteHTML/issues/81) print it
    # (on this computer PowerShell names it '.', as in
    # https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-service)
    ("Message        : Service 'Hybrid Instance Metadata Service (himds)' cannot be stopped due "
     "to the following error: Cannot open himds service on computer '.'.", "not_admin"),
    ("Set-Content : Access to the path 'C:\\ProgramData\\AzureConnectedMachineAgent\\Config\\"
     "agentconfig.json' is denied.", "not_admin"),
    # Python's EACCES (https://docs.python.org/3/library/exceptions.html#PermissionError)
    ("PermissionError: [Errno 13] Permission denied: '/var/opt/azcmagent/log/azcmagent.log'",
     "not_admin"),
    # PowerShell's empty-string binding error
    # (https://github.com/Azure/azure-powershell/issues/14885)
    ("Get-AzMigrateServerReplication: Cannot bind argument to parameter 'ResourceName' because "
     "it is an empty string.", "missing_parameter"),
    # rpm refusing a package whose files another package owns
    # (https://github.com/rpm-software-management/dnf5/issues/376)
    ("Error: Transaction test error:\n  file /opt/azcmagent/bin/azcmagent from install of "
     "azcmagent-1.41.02664-1.x86_64 conflicts with file from package "
     "azcmagent-1.40.02664-1.x86_64", "install_failure"),
    # an Az module built against another Az.Accounts (MissingMethodException's text,
    # https://learn.microsoft.com/dotnet/api/system.missingmethodexception)
    ("Method not found: 'Void Microsoft.Azure.Commands.Common.Authentication.AzureSession."
     "set_TokenCache(Microsoft.Azure.Commands.Common.Authentication.IAzureTokenCache)'.",
     "client_tool_bug"),
    # Azure CLI without the extension that holds the command group
    # (https://github.com/Azure/azure-cli-extensions/issues/8151)
    ("az: 'connectedmachine' is not in the 'az' command group. See 'az --help'.",
     "client_tool_bug"),
    # any module missing from the module path (Azure Local's CloudCommon, TSG
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Deployment/Azure-Local-deployment-failed-with-missing-CloudCommon-folder.md)
    ("The specified module 'CloudCommon' was not loaded because no valid module file was found "
     "in any module directory.", "client_tool_bug"),
    # an install script refusing the architecture
    # (https://github.com/OutlineFoundation/outline-server/pull/1053)
    ("Unsupported machine type: arm64. Please run this script on a x86_64 machine",
     "unsupported_environment"),
    # cmd.exe when the program is not on the PATH (https://github.com/Azure/azure-dev/issues/1879)
    ("'azcmagent' is not recognized as an internal or external command,\noperable program or "
     "batch file.", "agent_not_installed"),
    # azcmagent exit code 81 as troubleshoot-agent-onboard.md words it
    ("Failed to get MSI certificate from HIS.", "managed_identity_cert_error"),
    # WSAENETUNREACH's text (https://learn.microsoft.com/windows/win32/winsock/windows-sockets-error-codes-2)
    ("A socket operation was attempted to an unreachable network. 203.0.113.5:443",
     "network_unreachable"),
    # a token from the future: the machine's clock is behind
    # (https://github.com/DuendeArchive/IdentityServer4/issues/5058)
    ("Failure message: IDX10222: Lifetime validation failed. The token is not yet valid. "
     "ValidFrom: 'System.DateTime', Current time: 'System.DateTime'.", "clock_skew"),
    # HttpClient's outer message, read as a blocked endpoint by the solution-extension guide
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/SolutionExtension/Firewall-blocks-SBE-validation.md
    ('Exception calling "ValidateSbePackagePreDeployment" with "5" argument(s): "An error '
     'occurred while sending the request."', "firewall_or_proxy_blocking"),
]


def test_sending_the_request_joins_the_named_reason(kb: kbmod.KnowledgeBase) -> None:
    """HttpClient's outer message is an umbrella: when the inner exception names the reason
    (WebException.Status, https://learn.microsoft.com/dotnet/api/system.net.webexceptionstatus),
    that reason is the diagnosis and the outer line is its evidence."""
    text = ("An error occurred while sending the request.\n"
            "  ---> System.Net.WebException: The remote name could not be resolved: "
            "'aka.ms'\n")
    assert categories(diagnose(text, kb)) == {"dns_failure"}


# Az.StackHCI's user-visible error strings (the module that registers Azure Local machines with
# Arc), as published in its source:
# https://github.com/Azure/azure-powershell/blob/main/src/StackHCI/StackHCI.Autorest/custom/stackhci.ps1
STACKHCI = [
    ("Failed to register. Couldn't generate self-signed certificate on node(s) NODE1. Couldn't "
     "set and verify registration certificate on node(s) NODE1. Make sure every clustered node "
     "is up and has Internet connectivity (at least outbound to Azure).", "network_unreachable"),
    ("Arc machine(s) with names: NODE1 already exists in the Resource Group rg01. Use a "
     "different Resource group for registration or specify a different Arc for Servers "
     "Resource Group.", "resource_exists"),
    ("Below mentioned cluster node(s) are already Arc enabled with a different ARM Resource Id:",
     "agent_already_connected"),
    ("Can't find PowerShell module(s): Az.Resources. Please install the missing module(s) using "
     "'Install-Module -Name <Module_Name>' and try again.", "client_tool_bug"),
    ("Failed to assign required roles for Azure Arc integration. Your Azure AD account must be "
     "an Owner or User Access Administrator in the subscription to enable Azure Arc "
     "integration.", "missing_role_permission"),
    ("Resource Provider Object Id is Null. Failed to assign roles to HCI RP for ARC Onboarding",
     "resource_provider_not_registered"),
    ("Azure Stack HCI is not yet available in region westeurop. Please choose one of these "
     "regions: westeurope.", "invalid_region"),
]

# More published messages: cobra's argument count and pflag's bad value (the Go command-line
# libraries whose wording azcmagent's flag errors share, "required flag(s) ... not set":
# https://github.com/spf13/cobra/blob/main/args.go,
# https://github.com/spf13/pflag/blob/master/flag.go); apt's dependency refusal
# (https://github.com/grpc/grpc/issues/4099); dnf run without root
# (https://github.com/zephyrproject-rtos/zephyr/pull/44243); Get-Service without elevation
# (https://github.com/PowerShell/Win32-OpenSSH/issues/1662); ARM's region refusal
# (https://github.com/Azure/pcs-cli/issues/522); an Arc article's own
# troubleshooting line (https://learn.microsoft.com/azure/azure-arc/servers/onboard-service-principal);
# Azure CLI failing to install an extension
# (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Deployment/Type-DeployPreRequisites-of-Role-MocArb-raised-an-exception-ERROR-An-error-occurred-Pip-failed-with-status-code11.md);
# Go's request deadline (https://pkg.go.dev/context#pkg-variables)
MORE = [
    ("Error: accepts 0 arg(s), received 1", "missing_parameter"),
    ('Error: invalid argument "a=b=c" for "--tags" flag: bad format', "missing_parameter"),
    ("The following packages have unmet dependencies:\n azcmagent : Depends: libc6",
     "install_failure"),
    ("Error: This command has to be run with superuser privileges (under the root user on most "
     "systems).", "not_admin"),
    ("Get-Service : Cannot open Service Control Manager on computer '.'. This operation might "
     "require other privileges.", "not_admin"),
    ("The provided location 'westus3' is not available for resource type "
     "'Microsoft.HybridCompute/machines'. List of available regions for the resource type is "
     "'westus2'.", "invalid_region"),
    ("ServiceManagementReference field is required for Create, but is missing in the request.",
     "missing_role_permission"),
    ("ERROR: An error occurred. Pip failed with status code 1. Use --debug for more information.",
     "client_tool_bug"),
    ('Post "https://gbl.his.arc.azure.com/agent/x": context deadline exceeded',
     "firewall_or_proxy_blocking"),
    ("Installation failed: msiexec.exe returned 1603", "install_failure"),
]


def test_pip_failure_joins_the_certificate_reason(kb: kbmod.KnowledgeBase) -> None:
    """pip's failure is an umbrella: the certificate line before it names the reason (the
    urllib3 shape of the TSG cited above)."""
    text = ("Could not fetch URL https://pypi.org/simple/x/: There was a problem confirming the "
            "ssl certificate: (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
            "CERTIFICATE_VERIFY_FAILED] certificate verify failed: self signed certificate in "
            "certificate chain (_ssl.c:1000)'))) - skipping\n"
            "ERROR: An error occurred. Pip failed with status code 1. Use --debug for more "
            "information.\n")
    assert categories(diagnose(text, kb)) == {"tls_inspection"}


# Connect-AzConnectedMachine's own messages, from Az.ConnectedMachine's source
# https://github.com/Azure/azure-powershell/blob/main/src/ConnectedMachine/ConnectedMachine.Autorest/custom/Connect-AzConnectedMachine.ps1
def test_connect_azconnectedmachine_messages(kb: kbmod.KnowledgeBase) -> None:
    signed_out = ("Connect-AzConnectedMachine : Error retrieving access token. Are you logged in? "
                  "(Run Connect-AzAccount)\n")
    assert categories(diagnose(signed_out, kb)) == {"azure_cli_sign_in"}
    mac = "Registration doesn't work on macOS. Only Linux and Windows are supported.\n"
    assert categories(diagnose(mac, kb)) == {"unsupported_environment"}
    # its wrapper of azcmagent's exit code: 26 is the agent's network error
    exited = "Exception: azcmagent exited with a non-zero exit code: 26\n"
    report = diagnose(exited, kb)
    assert categories(report) == {"firewall_or_proxy_blocking"}
    assert "AZCM0026" in report.diagnoses[0].diagnosis.azcm


# OpenSSL's verification texts (X509_verify_cert_error_string, listed in
# https://docs.openssl.org/master/man3/X509_STORE_CTX_get_error/), CPython's hostname text
# (https://github.com/python/cpython/blob/main/Modules/_ssl.c) and the request validation
# messages of msrest (https://github.com/Azure/msrest-for-python/blob/master/msrest/exceptions.py,
# ValidationError._messages), which Azure CLI's older SDKs print before sending anything
LIBRARY_TEXTS = [
    ("Error: unable to verify the first certificate", "missing_intermediate_ca"),
    ("SSL routines: certificate verify failed: certificate is not yet valid", "clock_skew"),
    ("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
     "failed: Hostname mismatch, certificate is not valid for 'management.azure.com'.",
     "tls_inspection"),
    ("ERROR: Parameter 'resource_group_name' can not be None.", "missing_parameter"),
    ("ERROR: Parameter 'machine_name' must conform to the following pattern: "
     "'^[a-zA-Z0-9-_\\.]{1,54}$'.", "missing_parameter"),
]


@pytest.mark.parametrize(("text", "category"), MESSAGES + STACKHCI + MORE + LIBRARY_TEXTS)
def test_published_messages(kb: kbmod.KnowledgeBase, text: str, category: str) -> None:
    """Each published message yields its category, with at most one other beside it."""
    got = categories(diagnose(text + "\n", kb))
    assert category in got and len(got) <= 2, got


# Item 4: failures said in words, by tools that print no log level, are never met with silence
NEVER_SILENT = [
    # Az.StackHCI's published string (stackhci.ps1, cited above)
    "Couldn't disable Azure Arc integration on Node NODE1. Try running "
    "Disable-AzureStackHCIArcIntegration Cmdlet on the node.",
    # cmd.exe for a program that is not on the PATH (https://github.com/Azure/azure-dev/issues/1879)
    "'azd' is not recognized as an internal or external command,",
    # Python's socket timeout (https://docs.python.org/3/library/socket.html#socket.timeout)
    "TimeoutError: timed out",
    # the resource bridge article's host-configuration failure, worded without a level
    # (https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    "An error occurred during host configuration",
    # the Defender for Endpoint extension handler's own failure, with no level and no colon
    # (https://github.com/microsoft/mdefordownlevelserver/issues/40, corpus m-010, rules half)
    "Error during prepare defenderForEndpointOnboardingScript Onboarding blob signature is not "
    "valid",
    # (WinRM's refusal to delegate credentials, once here, now names its cause:
    # winrm_client_config_refuses, tests/test_transport_families.py)
]


@pytest.mark.parametrize("line", NEVER_SILENT)
def test_failures_in_words_are_never_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_only_unknown(line, kb)


@pytest.mark.parametrize("line", [
    # the same words below error level, as the agent logs a retried attempt, stay silent
    'time="2024-01-01T00:00:00Z" level=info msg="Unable to reach the proxy, retrying"',
    'time="2024-01-01T00:00:00Z" level=debug msg="request timed out, retrying"',
])
def test_failure_words_below_error_level_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    """Agent log lines at info or debug level are the agent's own retries (logrus shape of
    the verbose logs quoted in https://github.com/MicrosoftDocs/azure-docs/issues/99004)."""
    assert_silent(line, kb)


# Found in review: rules that named a cause for texts that do not show it. The log-line shape is
# the agent's logrus line with the URL quoted inside msg="..." (as in the corpus's
# tests/corpus/cases/b-043.txt, from a public Arc agent issue).
NOT_THE_CAUSE = [
    # the local agent service timing out is the agent service, never a proxy holding TLS
    ('time="2026-11-02T08:15:04Z" level=error msg="Get \\"http://localhost:40342/metadata/'
     'instance?api-version=2020-06-01\\": context deadline exceeded"',
     "firewall_or_proxy_blocking"),
    # the instance metadata service times out by design on a machine that is no Azure VM
    ('Get "http://169.254.169.254/metadata/instance?api-version=2021-02-01": context deadline '
     'exceeded', "firewall_or_proxy_blocking"),
    # a file in use (https://learn.microsoft.com/windows/win32/debug/system-error-codes--0-499-)
    ("PermissionError: [WinError 32] The process cannot access the file because it is being used "
     "by another process: 'C:\\\\temp\\\\azcmagent.log'", "not_admin"),
    # a service or the Service Control Manager on another computer: a remote call that failed,
    # not this session's rights (https://github.com/ansible-collections/ansible.windows/issues/692
    # shows the local form, on computer '.')
    ("Cannot open himds service on computer 'server01'.", "not_admin"),
    ("Get-Service : Cannot open Service Control Manager on computer 'srv01'. This operation "
     "might require other privileges.", "not_admin"),
    # what `az extension show` prints before a script adds the extension: not a tool defect
    ("ERROR: The extension connectedmachine is not installed.", "client_tool_bug"),
]


@pytest.mark.parametrize(("text", "wrong"), NOT_THE_CAUSE)
def test_a_text_that_does_not_show_the_cause_does_not_yield_it(
        kb: kbmod.KnowledgeBase, text: str, wrong: str) -> None:
    assert wrong not in categories(diagnose(text + "\n", kb))


def test_the_local_agent_service_timing_out_inside_a_logrus_message(
        kb: kbmod.KnowledgeBase) -> None:
    """The escaped quote after the URL (Go's quoting inside msg="...") no longer hides it."""
    text = ('time="2026-11-02T08:15:04Z" level=error msg="Get \\"http://localhost:40342/metadata/'
            'instance?api-version=2020-06-01\\": context deadline exceeded"\n')
    assert "himds_not_responding" in categories(diagnose(text, kb))


def test_windows_access_denied_as_a_python_error_is_still_not_admin(
        kb: kbmod.KnowledgeBase) -> None:
    text = "PermissionError: [WinError 5] Access is denied: 'C:\\\\Program Files\\\\x'\n"
    assert categories(diagnose(text, kb)) == {"not_admin"}
