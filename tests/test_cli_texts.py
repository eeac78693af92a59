"""``diagnose`` on the texts of the client tools admins onboard with: Azure CLI, Az PowerShell,
PowerShell itself, MSAL and Azure Resource Manager (issue 9, the ``rulescli`` round).

Two kinds of test. The error *shapes* each tool prints (azure-core's ``Code:`` line, the ARM
error body, PowerShell 7's Concise view, Python exception lines...) must never be met with
silence, even when no cause is known (item 4). The published *families* of messages (argparse,
cobra and pflag, PowerShell's parameter binder, sudo, the TLS hints) yield their cause. Every
sample is a real public text, or a line in the shape of one, and names its source.
"""

from __future__ import annotations

import pytest
from diagtext import assert_only_unknown, assert_silent, categories, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs.lines import CMDLET_ERROR_PATTERNS, FAILURE_RES
from arc_preflight.logs.prefilter import required_literals

# ---------------------------------------------------------------------------------------------
# Item 4: every published error shape of these tools is a failure line
# ---------------------------------------------------------------------------------------------

# Each text holds no cause the knowledge base knows, only the tool's way of saying it failed.
SHAPES = [
    # azure-core's HttpResponseError without its first line: ODataV4Format's "Code:" and
    # "Message:" lines (Azure/azure-sdk-for-python, sdk/core/azure-core/azure/core/
    # exceptions.py); the code is the one ansible-collections/azure issue 188 shows
    "Code: InvalidResourceNamespace\nMessage: The resource namespace 'Microsoft.Foo' is "
    "invalid.",
    # msrest/azure-core when the answer has no error body
    # (https://github.com/MicrosoftDocs/azure-docs/issues/103141)
    "Operation returned an invalid status 'OK'",
    # https://github.com/ansible-collections/azure/issues/724
    "Operation returned an invalid status code 'Bad Request'",
    # an ARM error body (OData v4, as in tests/corpus/cases/c-048.txt) with a code no family lists
    '{"error": {"code": "InvalidResourceNamespace", "message": "The resource namespace '
    "'Microsoft.Foo' is invalid.\"}}",
    # a pretty-printed ARM error object without its "error" wrapper, its code line alone
    # (https://github.com/microsoft/azure_arc/issues/3323, corpus d-035)
    '{\n  "code": "ValidationFailed",\n  "target": "/subscriptions/00000000-0000-0000-0000-'
    '000000000001/resourceGroups/rg01/providers/Microsoft.HybridCompute/machines/AzLHOST2",',
    # the same body escaped inside another tool's JSON (the resource bridge's errorResponse
    # strings, https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    '"errorResponse": "{\\"error\\": {\\"code\\": \\"InvalidResourceNamespace\\"}}"',
    # PowerShell 7's Concise view of an Az cmdlet error
    # (https://github.com/MicrosoftDocs/azure-docs/issues/81413)
    "New-AzConnectedMachineExtension_CreateExpanded: The requested resource was not found.",
    # ... and of a script's failing line, the "Line |" block
    # (https://github.com/Azure/azure-powershell/issues/24301), without its message line
    "Get-Command: C:\\Users\\user01\\Documents\\PowerShell\\Modules\\Az.ConnectedMachine\\0.6.0\\"
    "ConnectedMachine.Autorest\\exports\\ProxyCmdletDefinitions.ps1:698\nLine |\n"
    " 698 |          $cmdInfo = Get-Command -Name $mapping[$parameterSet]\n"
    "     |          ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
    # the Normal view's CategoryInfo line, cut before its FullyQualifiedErrorId line
    # (https://github.com/microsoft/CSS-Exchange/pull/2487)
    "    + CategoryInfo          : NotSpecified: (:) [Write-Error], WriteErrorException",
    # an error about a script in the Normal view: "<script> : <message>"
    # (https://pastebin.com/tsiWMxt2, its first line)
    ".\\install_cert_and_exceptions.ps1 : File C:\\Users\\user01\\Documents\\"
    "install_cert_and_exceptions.ps1 cannot be loaded",
    # a Python exception line whose class name joins "Error"
    # (https://github.com/Azure/azure-cli/issues/28238 ends its traceback this way)
    "ValueError: Expect <class 'str'>, got -1 (<class 'int'>)",
    # a sign-in refused with an AADSTS code no family lists (the Entra reference, AADSTS50000:
    # https://learn.microsoft.com/entra/identity-platform/reference-error-codes)
    "AADSTS50000: There was an error issuing a token or an issue with our sign-in service.",
    # MSAL's OAuth error dict (RFC 6749 section 5.2) without an AADSTS code, in the shape of
    # https://github.com/Azure/azure-libraries-for-net/issues/974
    '{"error":"invalid_grant","error_description":"The provided grant is invalid"}',
]


@pytest.mark.parametrize("text", SHAPES)
def test_client_tool_error_shapes_are_never_silent(kb: kbmod.KnowledgeBase, text: str) -> None:
    assert_only_unknown(text, kb)


# The same tools' healthy output: nothing to report.
HEALTHY = [
    # an Azure CLI JSON answer with its empty error field (azure-cli issue 2792's output)
    '  "error": null,',
    # a field that says there was no error
    "LastError: 0",
    # a PowerShell prompt line running a cmdlet, and a transcript's cmdlet name in a table
    # (tests/corpus/healthy/c-h10.txt)
    "PS C:\\> Get-Service LcmController",
    "Running  LcmController      LcmController",
    # HTTP headers that start with a verb, as Az PowerShell's -Debug output prints them
    # (https://github.com/Azure/azure-powershell/pull/12578)
    "Set-Cookie: x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly",
    "Request-Id: 00000000-0000-0000-0000-000000000000",
    # a position line of a PowerShell error is not an error by itself
    "At C:\\ArcDeployment\\DeployGPO.ps1:53 char:5",
    # a prompt running a script (the shape of the prompt lines in tests/corpus/healthy/c-h10.txt)
    "PS C:\\> .\\OnboardingScript.ps1",
    "Code: None",
    # a healthy instance view's status code (the statuses block of
    # https://learn.microsoft.com/azure/virtual-machines/states-billing)
    '      "code": "ProvisioningState/succeeded",',
    # a built-in cmdlet's answer that proves an endpoint reachable (the SQL Server Arc article's
    # expected 401, tests/corpus/healthy/d-h08.txt,
    # https://learn.microsoft.com/sql/sql-server/azure-arc/troubleshoot-telemetry-endpoint)
    "Invoke-WebRequest: Response status code does not indicate success: 401 (Unauthorized).",
]


@pytest.mark.parametrize("line", HEALTHY)
def test_client_tool_healthy_lines_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


def test_cmdlet_error_patterns_keep_rare_literals() -> None:
    """The cmdlet-error pattern is found by the prefilter through a literal of its own
    (``-az``), never through a bare hyphen every log is full of."""
    for pattern in CMDLET_ERROR_PATTERNS:
        literals = required_literals(pattern)
        assert literals and all(len(lit) >= 3 and "-" in lit for lit in literals), pattern
    assert all(FAILURE_RES)


@pytest.mark.parametrize("line", [
    # a built-in cmdlet's error in the Concise view: the header line of
    # https://github.com/StackExchange/signalfx-powershell/issues/12 and its Line block
    "Write-Error: C:\\source\\github\\signalfx-powershell\\src\\classes.organization.ps1\n"
    "Line |\n  73 |               Write-Error $x",
])
def test_builtin_cmdlet_errors_are_never_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert diagnose(line + "\n", kb).diagnoses, line


# ---------------------------------------------------------------------------------------------
# Published message families yield their cause
# ---------------------------------------------------------------------------------------------

FAMILIES = [
    # argparse (CPython Lib/argparse.py), as Azure CLI prints it: "az <cmd>: error: <message>"
    ("az connectedmachine: error: unrecognized arguments: westeurope", "missing_parameter"),
    ("az connectedmachine show: error: one of the arguments --ids --name is required",
     "missing_parameter"),
    ("az connectedmachine extension create: error: argument --settings: expected at least one "
     "argument", "missing_parameter"),
    ("az: error: ambiguous option: --loc could match --location, --location-data",
     "missing_parameter"),
    # Azure CLI's parser for a value outside the choices (azure-cli-core parser.py)
    ("ERROR: az connectedmachine extension create: 'westus9' is not a valid value for "
     "'--location'.", "missing_parameter"),
    # ... and for an extension that must be added or updated first
    ("ERROR: The command requires the latest version of extension connectedmachine. To install, "
     "run 'az extension add --upgrade -n connectedmachine'.", "client_tool_bug"),
    # cobra and pflag (azcmagent is a cobra program): spf13/cobra command.go, flag_groups.go,
    # args.go and spf13/pflag flag.go
    ('Error: unknown command "conect" for "azcmagent"', "missing_parameter"),
    ("Error: if any flags in the group [service-principal-id service-principal-secret] are set "
     "they must all be set; missing [service-principal-secret]", "missing_parameter"),
    ('Error: invalid argument "yes" for "-j, --json" flag: strconv.ParseBool: parsing "yes": '
     "invalid syntax", "missing_parameter"),
    ("Error: requires at least 1 arg(s), only received 0", "missing_parameter"),
    # PowerShell's binder (ParameterBinderStrings.resx, PowerShell/PowerShell)
    ("Connect-AzConnectedMachine : Parameter cannot be processed because the parameter name 'R' "
     "is ambiguous. Possible matches include: -ResourceGroupName -ResourceId.",
     "missing_parameter"),
    ("Connect-AzConnectedMachine: Cannot convert 'eastus westus' to the type 'System.String' "
     "required by parameter 'Location'. Specified method is not supported.",
     "missing_parameter"),
    ("Connect-AzConnectedMachine : Cannot bind parameter because parameter 'Location' is "
     "specified more than once.", "missing_parameter"),
    ("    + CategoryInfo          : InvalidData: (:) [Connect-AzConnectedMachine], "
     "ParameterBindingValidationException", "missing_parameter"),
    # the Concise view's Line block whose message is a binder error
    # (https://github.com/StackExchange/signalfx-powershell/issues/12)
    ("Write-Error: C:\\source\\github\\signalfx-powershell\\src\\classes.organization.ps1\n"
     "Line |\n  73 |               Write-Error \"StatusCode: {0}\" $x\n"
     "     |               ^ A positional parameter cannot be found that accepts argument "
     "'System.Object[]'.", "missing_parameter"),
    # Microsoft.HybridCompute's HCRP400 as the connectedmachine extension printed it
    # (https://github.com/Azure/azure-cli-extensions/issues/2513)
    ("ValidationError: (HCRP400) ExtensionInsufficientBody.", "missing_parameter"),
    # ARM's refusal of the client's API version: the client needs an update
    # (https://github.com/ansible-collections/azure/issues/1739)
    ("(InvalidApiVersionParameter) The api-version '2021-03-01' is invalid. The supported "
     "versions are '2022-09-01'.", "client_tool_bug"),
    # Az.ConnectedMachine's generated proxy cmdlet without its private implementation
    # (https://github.com/Azure/azure-powershell/issues/24301; fixed by updating the module)
    ("     | The term 'Az.ConnectedMachine.private\\Get-AzConnectedMachine_List' is not "
     "recognized as a name of a cmdlet, function, script file, or executable program.",
     "client_tool_bug"),
    # sudo could not raise the install script or azcmagent (sudo-project/sudo's messages)
    ("user01 is not in the sudoers file.  This incident will be reported.", "not_admin"),
    ("sudo: a terminal is required to read the password; either use the -S option to read from "
     "standard input or configure an askpass helper", "not_admin"),
    ("sudo: no tty present and no askpass program specified", "not_admin"),
    # a normal user writing the agent's folders: coreutils and Go's os.PathError
    ("mkdir: cannot create directory '/var/opt/azcmagent/log': Permission denied", "not_admin"),
    ("open /opt/azcmagent/bin/azcmagent.lock: permission denied", "not_admin"),
    # .NET's registry refusal (SecurityException, UnauthorizedAccessException)
    ("Requested registry access is not allowed.", "not_admin"),
    ("Access to the registry key 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Azure Connected "
     "Machine Agent' is denied.", "not_admin"),
    # Azure CLI's own advice after a certificate failure (SSLERROR_TEMPLATE, azure-cli-core
    # util.py): a proxy intercepting TLS
    ("Certificate verification failed. This typically happens when using Azure CLI behind a "
     "proxy that intercepts traffic with a self-signed certificate. Please add this certificate "
     "to the trusted CA bundle. More info: https://docs.microsoft.com/cli/azure/"
     "use-cli-effectively#work-behind-a-proxy.", "tls_inspection"),
    # .NET's SslStream in PowerShell 7's web cmdlets (its resource strings net_auth_tls_alert,
    # net_auth_eof, net_http_ssl_connection_failed, in dotnet/runtime): the server's alert, the
    # connection closed mid-handshake, and the bare wrapper that names no reason
    ("Invoke-WebRequest: The SSL connection could not be established, see inner exception. "
     "Authentication failed because the remote party sent a TLS alert: 'HandshakeFailure'.",
     "tls_protocol"),
    ("Authentication failed because the remote party has closed the transport stream.",
     "firewall_or_proxy_blocking"),
    ("Invoke-WebRequest: The SSL connection could not be established, see inner exception.",
     "tls_protocol"),
    ("The remote certificate was rejected by the provided RemoteCertificateValidationCallback.",
     "tls_inspection"),
    # Connect-AzConnectedMachine -PSSession to Linux (Az.ConnectedMachine's custom script,
    # https://github.com/Azure/azure-powershell/blob/main/src/ConnectedMachine/
    # ConnectedMachine.Autorest/custom/Connect-AzConnectedMachine.ps1)
    ("Write-Error: Linux PSSessions are not supported because PowerShell doesn't support sudo "
     "password prompts over PSSessions. (PowerShell issue #1527)", "unsupported_environment"),
    # Azure CLI's extension index: a pinned extension version that was withdrawn
    # (https://github.com/microsoft/azure_arc/issues/2102, corpus d-002) and the resolver's own
    # wording of the same (azure-cli-core extension/_resolve.py)
    ("ERROR: Version '0.2.29' not found for extension 'arcappliance'", "client_tool_bug"),
    ("ERROR: No suitable extensions found.", "client_tool_bug"),
    # the shell cannot find az where a script runs it (https://github.com/microsoft/azure_arc/
    # issues/2116, corpus d-003), and bash's wording of the same
    ("The term 'az' is not recognized as the name of a cmdlet, function, script file, or "
     "operable program.", "client_tool_bug"),
    ("bash: az: command not found", "client_tool_bug"),
    # ARM's authorization failure inside a template deployment
    # (https://github.com/Azure/azure-policy/issues/733, corpus d-004)
    ("The template deployment failed with error: 'Authorization failed for template resource "
     "'host01' of type 'Microsoft.HybridCompute/machines'. The client 'x' with object id 'x' does "
     "not have permission to perform action 'Microsoft.HybridCompute/machines/write'",
     "missing_role_permission"),
    # .NET's HTTP/2 stream cut by a TLS-inspecting middlebox (the resource bridge article,
    # https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    ("The response ended prematurely while waiting for the next frame from the server",
     "tls_inspection"),
    # OpenSSL 3 refusing a middlebox without secure renegotiation
    # (https://github.com/Azure/azure-cli/issues/26125)
    ("<urlopen error [SSL: UNSAFE_LEGACY_RENEGOTIATION_DISABLED] unsafe legacy renegotiation "
     "disabled (_ssl.c:997)>", "tls_inspection"),
    # a TLS client talking to a plain HTTP proxy given as https:// (https://github.com/psf/
    # requests/issues/5843, solved by writing the proxy URL with http://)
    ("requests.exceptions.SSLError: HTTPSConnectionPool(host='management.azure.com', port=443): "
     "Max retries exceeded with url: / (Caused by SSLError(SSLError(1, '[SSL: "
     "WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1129)')))", "proxy_misconfigured"),
    # Az.Accounts when the account is not signed in to the subscription's tenant
    # (https://github.com/Azure/azure-powershell/issues/9550)
    ("Set-AzureRmContext : Please provide a valid tenant or a valid subscription.",
     "sp_or_tenant_not_found"),
    # AADSTS codes of the Entra reference (https://learn.microsoft.com/entra/identity-platform/
    # reference-error-codes): a tenant of another cloud, tenant restrictions
    ("AADSTS90038: NationalCloudTenantRedirection - The specified tenant 'x' belongs to the "
     "National Cloud 'USGov'. Current cloud instance 'Prod' does not federate with USGov.",
     "invalid_cloud"),
    ("AADSTS500021: Access to 'contoso.com' tenant is denied.", "policy_denied"),
    # Azure Policy's activity-log entry when its identity may not read the policy's target
    # (https://github.com/MicrosoftDocs/azure-docs/issues/91557, corpus d-038)
    ("The user did not have permissions to GET the AuditIfNotExists policy's target type "
     "'Microsoft.Security/assessments'.", "missing_role_permission"),
    ("AADSTS700030: Invalid certificate - subject name in certificate isn't authorized.",
     "invalid_sp_secret"),
    # Resolve-DnsName's error records, read by their Win32 DNS error ids whatever the language
    # of the message (https://github.com/Quad9DNS/documentation/pull/6 in English,
    # https://github.com/microsoft/terminal/issues/14447 in Spanish)
    ("Resolve-DnsName : proto.on.quad9.net. : DNS name does not exist\n"
     "    + CategoryInfo          : ResourceUnavailable: (proto.on.quad9.net.:String) "
     "[Resolve-DnsName], Win32Exception\n"
     "    + FullyQualifiedErrorId : DNS_ERROR_RCODE_NAME_ERROR,Microsoft.DnsClient.Commands."
     "ResolveDnsName", "dns_failure"),
    ("Resolve-DnsName : wmail-blog.com : Error de servidor DNS\n"
     "    + FullyQualifiedErrorId : RCODE_SERVER_FAILURE,Microsoft.DnsClient.Commands."
     "ResolveDnsName", "dns_failure"),
]


@pytest.mark.parametrize(("text", "category"), FAMILIES)
def test_published_families(kb: kbmod.KnowledgeBase, text: str, category: str) -> None:
    got = categories(diagnose(text + "\n", kb))
    assert got == {category}, got


def test_the_named_cause_replaces_the_generic_shape(kb: kbmod.KnowledgeBase) -> None:
    """Item 3: the Concise-view line and the CategoryInfo line are failure lines, but beside a
    line that names the cause only the cause is shown (shape of
    https://github.com/StackExchange/signalfx-powershell/issues/12)."""
    text = ("Connect-AzConnectedMachine: Cannot bind argument to parameter 'Location' because "
            "it is an empty string.\n"
            "    + CategoryInfo          : InvalidData: (:) [Connect-AzConnectedMachine], "
            "ParameterBindingValidationException\n")
    report = diagnose(text, kb)
    assert categories(report) == {"missing_parameter"}
    assert "unrecognised_errors" not in {d.diagnosis.cause_id for d in report.diagnoses}
