"""Real extension, Update Manager, Azure Local and resource bridge texts, and what diagnose says.

Each sample is quoted from the public post named beside it (personal data replaced, the rest as
posted) and asserts the cause the post or its documentation gives. They cover whole families:
the Linux extension handlers' well-known exit codes, the Windows Update Agent's networking codes
that Azure Update Manager reports, the Linux patch extension's package-manager errors, the Azure
Local hardware validators and the resource bridge's documented errors.
"""

from __future__ import annotations

import pytest
from diagtext import assert_explained, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# ---------------------------------------------------------------------------------------------
# Linux extension handlers: exit 51 (unsupported OS) and 52 (missing dependency)
# ---------------------------------------------------------------------------------------------

def test_exit_51_without_words_is_unsupported_os(kb: kbmod.KnowledgeBase) -> None:
    """The Azure Monitor agent's handler exits 51 on Azure Linux 3.0; the line that carries the
    code says nothing else about why.
    https://github.com/Azure/azure-linux-extensions/issues/1908"""
    text = ("(VMExtensionHandlerNonTransientError) The handler for VM extension type "
            "'Microsoft.Azure.Monitor.AzureMonitorLinuxAgent' has reported terminal failure for "
            "VM extension 'AzureMonitorLinuxAgent' with error message: '[ExtensionOperationError] "
            "Non-zero exit code: 51, /var/lib/waagent/Microsoft.Azure.Monitor."
            "AzureMonitorLinuxAgent-1.30.3/./shim.sh -install\n")
    assert_explained(text, kb, "unsupported_environment", "extension_os_unsupported")


def test_handler_status_line_exit_51(kb: kbmod.KnowledgeBase) -> None:
    """The handler's own status line ("Install,failed,51,...") for MIRACLE LINUX 9.
    https://github.com/Azure/azure-linux-extensions/issues/1825"""
    text = ("2023/10/20 02:49:42 [Microsoft.Azure.Monitor.AzureMonitorLinuxAgent-1.28.8] "
            "Install,failed,51,Unsupported operating system: miraclelinux 9.0\n")
    assert_explained(text, kb, "unsupported_environment", "extension_os_unsupported")


def test_exit_52_missing_python_on_arc(kb: kbmod.KnowledgeBase) -> None:
    """Defender for Endpoint (MDE.Linux) on an Arc-enabled RHEL 8 server without Python.
    https://github.com/MicrosoftDocs/azure-docs/issues/102162"""
    text = ("Extension failed to install. Extension must be removed before any further requests "
            "on this extension will be accepted. Extension returned non-zero exit code for "
            "Install: 52. Extension error output: No Python interpreter found, which is an "
            "MDC-MDE extension dependency. Please install either Python 2 or 3.\n")
    assert_explained(text, kb, "extension_failure", "extension_missing_dependency")


def test_other_exit_codes_stay_generic(kb: kbmod.KnowledgeBase) -> None:
    """Exit code 33 is the Log Analytics agent's own, not one of the well-known ones: the
    extension failed and nothing more is claimed.
    https://github.com/microsoft/OMS-Agent-for-Linux/issues/1509"""
    text = ("Extension returned non-zero exit code for Enable: 33.  Extension Message: Enable "
            "failed with exit code 33 Azure Resource ID updated.\n")
    report = diagnose(text, kb)
    assert categories(report) == {"extension_failure"}
    assert cause_ids(report).isdisjoint({"extension_os_unsupported",
                                         "extension_missing_dependency"})


# ---------------------------------------------------------------------------------------------
# Windows Update Agent networking codes (Azure Update Manager assessment / patching)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, category, cause", [
    # WUA search in an isolated network: HTTP 408 from the update source.
    # https://github.com/akunzai/windows-secure-auditor/issues/29
    ("Exception from HRESULT: 0x8024401C\n"
     "At Line:1 Row:1\n"
     "+ $result = $updateSearcher.Search('IsInstalled=0')\n"
     "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
     "    + CategoryInfo          : OperationStopped: (:) [], COMException\n"
     "    + FullyQualifiedErrorId : System.Runtime.InteropServices.COMException\n",
     "firewall_or_proxy_blocking", "https_timeout"),
    # HTTP 403 from the update source after a block was removed from policy.
    # https://github.com/LegacyUpdate/LegacyUpdate/issues/11
    ("0x80244018 (-2145107944): HTTP 403 - server understood the request, but declined to "
     "fulfill it.\n", "firewall_or_proxy_blocking", "proxy_denied"),
])
def test_windows_update_network_codes(text: str, category: str, cause: str,
                                      kb: kbmod.KnowledgeBase) -> None:
    assert_explained(text, kb, category, cause)


def test_windows_update_codes_by_name(kb: kbmod.KnowledgeBase) -> None:
    """The same family by symbolic name, as the WUA networking error table lists it.
    https://learn.microsoft.com/windows/win32/wua_sdk/wua-networking-error-codes-"""
    report = diagnose("Search failed: WU_E_PT_HTTP_STATUS_PROXY_AUTH_REQ\n", kb)
    assert cause_ids(report) == {"proxy_auth_required"}
    report = diagnose("Search failed: WU_E_PT_WINHTTP_NAME_NOT_RESOLVED\n", kb)
    assert categories(report) == {"dns_failure"}


# ---------------------------------------------------------------------------------------------
# Azure Update Manager on Linux (LinuxPatchExtension)
# ---------------------------------------------------------------------------------------------

def test_patch_extension_package_manager_error_on_arc(kb: kbmod.KnowledgeBase) -> None:
    """An Arc-enabled Ubuntu 24.04 VM: assessment fails on apt's return code 100.
    https://github.com/Azure/LinuxPatchExtension/issues/262"""
    text = ("Assessment failed due to this reason: Assessment completed with 1 errors\n"
            "Unexpected return code (100) from package manager on command: LANG=en_US.UTF8 sudo "
            "apt-get -s dist-upgrade -oDir::Etc::Sourcelist=/var/lib/waagent/Microsoft."
            "SoftwareUpdateManagement.LinuxOsUpdateExtension-1.0.50.0/tmp/msft-aumc-security-"
            "patches-00000000-0000-0000-0000-000000000000.list  and output: E: Type 'Suites:' is "
            "not known on line 7 in source list /var/lib/waagent/Microsoft.SoftwareUpdate"
            "Management.LinuxOsUpdateExtension-1.0.50.0/tmp/msft-aumc-secur\n")
    assert_explained(text, kb, "extension_failure", "patch_extension_package_manager_failed")


# ---------------------------------------------------------------------------------------------
# Azure Local hardware validators
# ---------------------------------------------------------------------------------------------

TPM_RECORD = """{
  "Name": "AzStackHci_Hardware_Test_Tpm_Version",
  "Title": "Test TPM Version",
  "DisplayName": "Test TPM Version AzL-Node-01",
  "Severity": "Critical",
  "Status": "%s",
  "Description": "Checking TPM for desired version (2.0)",
  "TargetResourceName": "Machine: AzL-Node-01, Class: Tpm, Manufacturer ID: 1314145024",
  "Remediation": "https://aka.ms/hci-envch",
  "AdditionalData": {
    "Source": "Version",
    "Resource": "1.2",
    "Detail": "Machine: AzL-Node-01, Class: Tpm, Manufacturer ID: 1314145024 Tpm version is \
1.2. Expected 2.0",
    "Status": "%s"
  }
}
"""


def test_tpm_validator_failed(kb: kbmod.KnowledgeBase) -> None:
    """The TPM version validator's record as the TSG quotes it.
    https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-Hardware-Test-Tpm-Version.md"""
    assert_explained(TPM_RECORD % ("FAILURE", "FAILURE"), kb, "unsupported_environment",
                     "env_check_hardware_unsupported")


def test_hardware_validator_passed_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """The same record with a passed status and no failure detail says nothing."""
    passed = TPM_RECORD.replace(" Tpm version is 1.2. Expected 2.0", "") % ("SUCCESS", "SUCCESS")
    assert diagnose(passed, kb).diagnoses == ()


@pytest.mark.parametrize("detail", [
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-Hardware-Test-Secure-Boot.md
    "SecureBoot is 'False' on AzL-Node-01. Expected 'True'. Ensure SecureBoot is supported and "
    "enabled on AzL-Node-01.",
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-Test-SystemDrive-Free-Space.md
    "Checking Hostname AzL-Node-01 for free space on root folder path 'C:' 25 GB. Expected at "
    "least 30 GB.",
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Troubleshooting-Hardware-Test-Tpm-Version.md
    "Machine: AzL-Node-01, Class: Tpm, Manufacturer ID: 1314145024 Tpm version is 1.2. "
    "Expected 2.0",
])
def test_hardware_detail_lines(detail: str, kb: kbmod.KnowledgeBase) -> None:
    """The detail line alone, as `$r.AdditionalData.Detail` prints it."""
    assert_explained(detail + "\n", kb, "unsupported_environment", "hardware_requirement_not_met")


# ---------------------------------------------------------------------------------------------
# Arc resource bridge (troubleshoot-resource-bridge.md)
# ---------------------------------------------------------------------------------------------

RB_DOC = "https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge"


def test_resource_bridge_cidr_overlap(kb: kbmod.KnowledgeBase) -> None:
    """"Invalid overlap with Kubernetes Service or Pod CIDR" (RB_DOC)."""
    text = ('"code": "InvalidOverlapWithServiceCIDR",\n'
            '"message": "Network overlap validation failed: IP: <IP_ADDRESS> overlaps with K8s '
            'Default Service CIDR: 10.96.0.0/12. Please reconfigure the network to resolve this '
            'conflict."\n')
    assert_explained(text, kb, "missing_parameter", "arb_network_settings_invalid")


def test_resource_bridge_ssh_folder_denied(kb: kbmod.KnowledgeBase) -> None:
    """"SSH folder access denied" (RB_DOC)."""
    text = ("Access to the file in the SSH folder was denied. This may occur if the CLI doesn't "
            "have permission to the SSH folder or if another CLI instance is using the file\n")
    assert_explained(text, kb, "not_admin", "arb_ssh_folder_denied")


def test_validate_hardware_summary(kb: kbmod.KnowledgeBase) -> None:
    """The deployment's ValidateHardware step as the portal shows it.
    https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Deployment/23H2-Deployment-Failure-at-Validation-task-of-Azure-Stack-HCI-Hardware.md"""
    text = ("Type 'ValidateHardware' of Role 'EnvironmentValidator' raised an exception: {\n"
            '"ExceptionType": "json", "ErrorMessage": { "Message": "Hardware requirements not '
            'met. \nReview output and remediate.", "Results": [ { "Name": \n'
            '"AzStackHci_Hardware_Test_Processor_Instance_Property_VMMonitorModeExtensions", \n'
            '"DisplayName": "Test Processor Property VMMonitorModeExtensions\n')
    assert_explained(text, kb, "unsupported_environment", "hardware_requirement_not_met")


@pytest.mark.parametrize("text", [
    "Exception: Connecting to remote server <hostname/IP> failed with the following error "
    "message: Access is denied\n",
    "Exception : Type 'ValidateConnectivity' of Role 'EnvironmentValidator' raised an exception: "
    "Unable to create a valid session to <ip>: [<ip>] \nConnecting to remote server <ip> failed "
    "with the following error message : Access is denied. \n",
])
def test_deployment_user_remoting_denied(text: str, kb: kbmod.KnowledgeBase) -> None:
    """Azure Local's deployment (LCM) user refused by PowerShell remoting.
    https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/LCM/access-denied-lcm-user.md"""
    assert_explained(text, kb, "not_admin", "remote_session_access_denied")


def test_sql_extension_arc_resource_deleted(kb: kbmod.KnowledgeBase) -> None:
    """The Azure extension for SQL Server after the machine's Arc resource was deleted.
    https://learn.microsoft.com/sql/sql-server/azure-arc/troubleshoot-deployment"""
    text = ("[7/14/2021 9:36:18 PM UTC] [ERROR]   [UploadServiceProvider]      "
            "[ExtensionHandlerStatusQueryError] ArcSqlInstancesRequest request is null, not "
            "sending data to RP.\n")
    assert_explained(text, kb, "arc_resource_missing", "arc_resource_deleted")


@pytest.mark.parametrize("text", [
    # "vSphere SDK client - 403 Forbidden or 404 not found" (RB_DOC)
    "errorCode_: _CreateConfigKvaCustomerError_, _errorResponse_: _error getting the vsphere sdk "
    "client: POST \\_/sdk\\_: 403 Forbidden\n",
    # "Resolves to multiple networks" (RB_DOC)
    '"ErrorDetails": "Upgrade Operation Failed with error: \\"{\\\\n \\\\\\"code\\\\\\": '
    '\\\\\\"PreflightcheckError\\\\\\", \\\\\\"message\\\\\\": \\\\\\"Cannot retrieve vSphere '
    "Network 'vmware-azure-arc-01': path 'vmware-azure-arc-01' resolves to multiple networks\n",
])
def test_resource_bridge_vcenter_settings(text: str, kb: kbmod.KnowledgeBase) -> None:
    assert_explained(text, kb, "missing_parameter", "arb_vcenter_settings_invalid")
