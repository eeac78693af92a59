"""``diagnose`` on the texts printed on the agent's side of onboarding (issue 9): the install
scripts, msiexec, the package managers, systemd, the extension manager.

Every sample is a real public text (its URL beside it) or, for the install scripts, the script's
own message with its placeholders filled in (the script's source is the published catalogue of
what it can print).
"""

from __future__ import annotations

from typing import List, Tuple

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# ---------------------------------------------------------------------------------------------
# install_linux_azcmagent.sh: every exit_failure message of the script served at
# https://aka.ms/azcmagent (exit codes 127-157, reported as AZCM0127-0157 with --output; public
# copies: https://github.com/Molx32/AzureUpdateManagement/blob/main/install_linux_azcmagent.sh and
# the later one that adds ARM64, Debian and the desired-version checks). The older wording with
# "error: " is the one quoted in https://github.com/MicrosoftDocs/azure-docs/issues/56545.
# ---------------------------------------------------------------------------------------------

SCRIPT = "/tmp/install_linux_azcmagent.sh"
SUPPORTED = (". For supported OSs, see https://learn.microsoft.com/en-us/azure/azure-arc/servers/"
             "prerequisites#supported-operating-systems")

LINUX_SCRIPT: List[Tuple[str, str]] = [
    (f"{SCRIPT}: unsupported platform: armv7l:Linux{SUPPORTED}", "unsupported_platform"),
    (f"{SCRIPT}: unknown linux distro{SUPPORTED}", "unsupported_platform"),
    (f"{SCRIPT}: unsupported Linux distribution: Fedora Linux:39.0{SUPPORTED}",
     "unsupported_platform"),
    (f"{SCRIPT}: ARM64 for RHEL 7 is currently not supported{SUPPORTED}", "unsupported_platform"),
    (f"{SCRIPT}: Azure Connected Machine Agent requires systemd, and that the command "
     "'systemctl' be found in your PATH", "unsupported_platform"),
    (f"{SCRIPT}: file /var/lib/dpkg/lock-frontend or /var/lib/apt/lists/lock is still busy after "
     "5 minutes. Please make sure no other apt/dpkg updates is still running, and retry again.",
     "installer_lock_busy"),
    (f"{SCRIPT}: download of https://packages.microsoft.com/config/ubuntu/22.04/"
     "packages-microsoft-prod.deb errored", "install_download_failed_unstated"),
    (f"{SCRIPT}: curl permission error", "linux_curl_permission_denied"),
    (f"{SCRIPT}: desired_version not found: 1.99", "linux_desired_version_not_found"),
    ("No matching version found for prefix 1.99", "linux_desired_version_not_found"),
    (f"{SCRIPT}: invalid --altdownload link: https://contoso.com/azcmagent.deb",
     "install_download_failed_unstated"),
    (f"{SCRIPT}: temp directory '/tmp/azcmagent.x' is not writable",
     "install_tempdir_unwritable"),
    (f"{SCRIPT}: unrecognized argument: '--foo'. Type '{SCRIPT} --help' for help.",
     "invalid_parameter_value"),
    (f"{SCRIPT}: error: altdownload file should not have .rpm suffix", "invalid_parameter_value"),
    (f"{SCRIPT}: error installing azcmagent (exit code: 100). See 'apt' command logs for more "
     "information.", "linux_package_manager_failed"),
]

# install_windows_azcmagent.ps1 (https://aka.ms/azcmagent-windows): its Invoke-Failure messages,
# printed after "Installation failed: " (AZCM0148, 0149, 0151, 0153, 0154)
WINDOWS_SCRIPT: List[Tuple[str, str]] = [
    ("Installation failed: Azure Connected Machine Agent requires .NET Framework version 4.5 or "
     "later", "windows_dotnet_missing"),
    ("Installation failed: Azure Connected Machine Agent requires PowerShell version 4.0 or later",
     "unsupported_platform"),
    ("Installation failed: [1633]: This installation package is not supported by this processor "
     "type. Contact your product vendor. Unsupported: Azure Connected Machine Agent is only "
     "compatible with X64 operating systems: See C:\\Windows\\Temp\\installationlog.txt for "
     "additional details.", "unsupported_platform"),
    ("Installation failed: [1618]: Another installation is already in progress. Complete that "
     "installation before proceeding with this install. : See C:\\Windows\\Temp\\"
     "installationlog.txt for additional details.", "installer_lock_busy"),
    ("Installation failed: [1605]: This action is only valid for products that are currently "
     "installed. : See C:\\Windows\\Temp\\installationlog.txt for additional details.",
     "agent_not_installed"),
]


@pytest.mark.parametrize(("text", "cause"), LINUX_SCRIPT + WINDOWS_SCRIPT)
def test_install_script_messages(kb: kbmod.KnowledgeBase, text: str, cause: str) -> None:
    """Each message of the install scripts yields the cause the troubleshooting article gives
    for its exit code, and nothing else."""
    report = diagnose(text + "\n", kb)
    assert cause_ids(report) == {cause}, cause_ids(report)


def test_download_failure_gives_way_to_its_reason(kb: kbmod.KnowledgeBase) -> None:
    """The script's "Download failed" is an umbrella: the reason Invoke-WebRequest gave on the
    same line (WebException's text, https://learn.microsoft.com/dotnet/api/system.net.webexception)
    is the diagnosis."""
    text = "Installation failed: Download failed: The remote name could not be resolved: 'aka.ms'\n"
    assert categories(diagnose(text, kb)) == {"dns_failure"}
    alone = "Installation failed: Download failed: \n"
    assert cause_ids(diagnose(alone, kb)) == {"install_download_failed_unstated"}


def test_curl_line_before_the_script_message_names_the_reason(kb: kbmod.KnowledgeBase) -> None:
    """curl prints its own error before the script's "download ... errored" line (curl's
    exit-code text, https://curl.se/libcurl/c/libcurl-errors.html): the reason wins."""
    text = ("curl: (6) Could not resolve host: packages.microsoft.com\n"
            f"{SCRIPT}: download of https://packages.microsoft.com/config/rhel/9.0/"
            "packages-microsoft-prod.rpm errored\n")
    assert categories(diagnose(text, kb)) == {"dns_failure"}


# ---------------------------------------------------------------------------------------------
# Package managers: what apt, yum/dnf, zypper and wget print when the repository is out of reach
# ---------------------------------------------------------------------------------------------

PACKAGE_MANAGERS: List[Tuple[str, str]] = [
    # apt with the clock behind (https://github.com/jareware/chilipie-kiosk/issues/190)
    ("E: Release file for http://raspbian.raspberrypi.org/raspbian/dists/bullseye/InRelease is "
     "not valid yet (invalid for another 318d 15h 7min 1s). Updates for this repository will "
     "not be applied.", "clock_skew"),
    # yum quoting libcurl's code as curl#N (https://github.com/rocksclusters/base/issues/38)
    ('http://172.20.51.202/install/rocks-dist/x86_64/repodata/repomd.xml: [Errno 14] curl#7 - '
     '"Failed connect to 172.20.51.202:80; Connection refused"', "firewall_or_proxy_blocking"),
    # (https://github.com/KnoAll/cacti-template/issues/41)
    ('https://mirror.oxilion.nl/remi/enterprise/7/safe/x86_64/repodata/repomd.xml: [Errno 14] '
     'curl#5 - "Could not resolve proxy: proxy; Unknown error"', "proxy_misconfigured"),
    # zypper naming curl's code only (https://github.com/openSUSE/zypper/issues/502)
    ("Download (curl) error for 'https://download.opensuse.org/repositories/KDE:/Unstable:/"
     "Frameworks/openSUSE_Factory/x86_64/x.rpm':\nError code: Curl error 55\nError message: ",
     "firewall_or_proxy_blocking"),
    # wget's connect timeout (https://github.com/Botspot/Pi-Power-Tools/issues/6)
    ("Connecting to downloads.raspberrypi.org (downloads.raspberrypi.org)|2a00:1098:82:47::1:1|"
     ":443... failed: Connection timed out.", "firewall_or_proxy_blocking"),
    # apt with an expired repository key (https://github.com/lldpd/lldpd/issues/407)
    ("Err:9 http://download.opensuse.org/repositories/home:/vbernat/xUbuntu_18.04  InRelease\n"
     "  The following signatures were invalid: EXPKEYSIG 431C37A97C3E114B home:vbernat OBS "
     "Project <home:vbernat@build.opensuse.org>", "install_failure"),
    # apt refusing held packages (apt-private/private-install.cc's message)
    ("E: Unable to correct problems, you have held broken packages.", "install_failure"),
    # systemctl in a container without an init system
    # (https://github.com/CentOS/CentOS-Dockerfiles/issues/207)
    ("[root@3924d7bb5e59 /]# systemctl status httpd\nFailed to get D-Bus connection: Operation "
     "not permitted", "unsupported_environment"),
]


@pytest.mark.parametrize(("text", "category"), PACKAGE_MANAGERS)
def test_package_manager_texts(kb: kbmod.KnowledgeBase, text: str, category: str) -> None:
    got = categories(diagnose(text + "\n", kb))
    assert category in got and len(got) <= 2, got


def test_repository_summary_line_gives_way_to_its_reason(kb: kbmod.KnowledgeBase) -> None:
    """zypper's "Problem retrieving files" is a summary (libzypp's message catalogue): the curl
    reason under it wins; alone it still says the download failed (never silence)."""
    alone = "Problem retrieving files from 'packages-microsoft-com-prod'.\n"
    assert cause_ids(diagnose(alone, kb)) == {"package_download_failed"}
    text = (alone + "Download (curl) error for 'https://packages.microsoft.com/sles/15/prod/"
            "repodata/repomd.xml':\nError code: Connection failed\n"
            "Error message: Could not resolve host: packages.microsoft.com\n")
    assert "dns_failure" in categories(diagnose(text, kb))
    assert "package_download_failed" not in cause_ids(diagnose(text, kb))


# ---------------------------------------------------------------------------------------------
# The agent's own services and programs: not installed, crashed, extension services stopped
# ---------------------------------------------------------------------------------------------

AGENT_STATE: List[Tuple[str, str]] = [
    # sc.exe for a service that does not exist (shape of
    # https://github.com/henriquelucas/Reset-Licen-a-Anydesk/issues/3), here for himds
    ("C:\\> sc.exe query himds\n[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\nThe "
     "specified service does not exist as an installed service.", "agent_not_installed"),
    # rpm -q and dpkg-query for a package that is not installed (rpm's and dpkg's own wording)
    ("$ rpm -q azcmagent\npackage azcmagent is not installed", "agent_not_installed"),
    ("dpkg-query: package 'azcmagent' is not installed and no information is available",
     "agent_not_installed"),
    # a Go panic and its goroutine dump
    # (https://github.com/buildkite/buildkite-cloudwatch-metrics-publisher/issues/19)
    ("panic: assignment to entry in nil map\n\ngoroutine 1 [running]:\npanic(0x78f820, "
     "0xc82036c580)", "agent_crashed"),
    # Windows Error Reporting, event 1000 (https://github.com/microsoft/EventLogExpert/issues/425),
    # for the agent's himds.exe
    ("Faulting application name: himds.exe, version: 1.40.2405.1234, time stamp: 0x67fe0000\n"
     "Faulting module name: ntdll.dll, version: 10.0.17763.1, time stamp: 0xa252a1e7\n"
     "Exception code: 0xc0000005", "agent_crashed"),
    # systemd for the extension service (the wording the himds entries match, e.g. the corpus's
    # a-014), and the Service Control Manager's event 7034 for its Windows twin
    ("extd.service: Main process exited, code=exited, status=1/FAILURE",
     "extension_service_not_running"),
    ("The Machine configuration Extension Service service terminated unexpectedly.  It has done "
     "this 1 time(s).", "extension_service_not_running"),
    # the extension handler's status file (HandlerUtil.do_status_report,
    # https://github.com/Azure/azure-linux-extensions/blob/master/Utils/HandlerUtil.py)
    ('[{"version": 1.0, "timestampUTC": "2024-05-02T10:00:00Z", "status": {"name": '
     '"Microsoft.Azure.Extensions.CustomScript", "operation": "Enable", "status": "error", '
     '"code": 1, "formattedMessage": {"lang": "en-US", "message": "Enable failed"}}}]',
     "extension_operation_failed"),
    # the environment checker's Detail line of the DNS client readiness test
    # (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Networking/Troubleshoot-Network-Test-InfraIP-DNS-Client-Readiness.md)
    ("[FAILED] Cannot find correctly DNS client server address on host SERVER01.",
     "dns_client_not_configured"),
    # (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Networking/Troubleshoot-Network-Test-HostNetworkConfigurationReadiness.md)
    ("ERROR: DNS Client configuration is missing for the following adapter(s): ethernet",
     "dns_client_not_configured"),
    # the pre-update check's Detail line
    # (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Update/UpdatePrerequisites-Failure-Remove-Incompatible-Extensions.md)
    ("Detail:      Known incompatible Azure CLI extensions detected: <extension-name>.",
     "cli_extensions_incompatible"),
]


@pytest.mark.parametrize(("text", "cause"), AGENT_STATE)
def test_agent_state_texts(kb: kbmod.KnowledgeBase, text: str, cause: str) -> None:
    assert cause_ids(diagnose(text + "\n", kb)) == {cause}


def test_a_named_reason_beside_the_extension_status_wins(kb: kbmod.KnowledgeBase) -> None:
    """The status file says only that the operation failed; the handler's message, when it names
    a reason (Go's net error text, https://pkg.go.dev/net), is the diagnosis."""
    text = ('"operation": "Install", "status": "error", "code": 1, "formattedMessage": '
            '{"lang": "en-US", "message": "dial tcp: lookup packages.microsoft.com: no such '
            'host"}\n')
    assert "dns_failure" in categories(diagnose(text, kb))
    assert "extension_failure" not in categories(diagnose(text, kb))


# ---------------------------------------------------------------------------------------------
# msiexec /l*v logs: the numbered Windows Installer messages
# ---------------------------------------------------------------------------------------------

MSI_LOG: List[Tuple[str, str]] = [
    # (https://github.com/elastic/windows-installers/issues/157), for the agent's himds service
    ("MSI (s) (A0:B4) [21:19:21:676]: Product: Azure Connected Machine Agent -- Error 1920. "
     "Service 'Hybrid Instance Metadata Service' (himds) failed to start.  Verify that you have "
     "sufficient privileges to start system services.", "windows_msi_install_failed"),
    # the message table's privilege and source-file errors
    # (https://learn.microsoft.com/windows/win32/msi/windows-installer-error-messages)
    ("Error 1303. The installer has insufficient privileges to access this directory: "
     "C:\\Program Files\\AzureConnectedMachineAgent.  The installation cannot continue.",
     "not_admin"),
    ("Error 1316. A network error occurred while attempting to read from the file "
     "C:\\Temp\\AzureConnectedMachineAgent.msi", "installer_package_missing"),
]


@pytest.mark.parametrize(("text", "cause"), MSI_LOG)
def test_msi_log_messages(kb: kbmod.KnowledgeBase, text: str, cause: str) -> None:
    assert cause in cause_ids(diagnose(text + "\n", kb))


def test_msi_internal_notes_of_a_healthy_log_stay_silent(kb: kbmod.KnowledgeBase) -> None:
    """A verbose msiexec log notes internal lookups (2205: a table the package does not have) in
    every run, successful or not (https://github.com/jamf/MakeMeAnAdmin/issues/19 shows one in
    a log): they are not failures."""
    text = ("MSI (s) (5C:54) [10:47:36:573]: Note: 1: 2205 2:  3: Error \n"
            "MSI (s) (5C:54) [10:47:37:001]: Product: Azure Connected Machine Agent -- "
            "Installation completed successfully.\n")
    assert diagnose(text, kb).diagnoses == ()


# ---------------------------------------------------------------------------------------------
# Arc-enabled SCVMM's resource bridge: the error messages of the published TSG list
# https://github.com/microsoft/AzureArcSCVMMTSG (one file per error)
# ---------------------------------------------------------------------------------------------

SCVMM: List[Tuple[str, str]] = [
    # KVAAlreadyDeployedCustomerError.md
    ("An appliance already exists with this configuration (deployment phase: MachineRunning) - "
     "please call Delete before reattempting deployment.", "scvmm_appliance_exists"),
    # PostOperationTimeout.md
    ("Timeout occurred due to management machine being unable to reach the appliance VM IP, "
     "10.0.0.50. Please ensure that the requirements are met: https://aka.ms/arb-machine-reqs: "
     "dial tcp 10.0.0.50:22: connectex: A connection attempt failed because the connected party "
     "did not properly respond after a period of time, or established connection failed because "
     "connected host has failed to respond.", "scvmm_appliance_ip_unreachable"),
    # ValidateInsufficientLibSharePermission.md
    ("VMM Server doesn't have write permission into the specified library share : "
     "\\\\LibraryServer\\LibraryShare. Please check if Import-SCLibraryPhysicalResource command "
     "and Get-SCLibraryShare command works from VMM Server.", "scvmm_library_share_unwritable"),
    # ValidateInsufficientPrivilege.md
    ("Insufficient privileges. The specified username for appliance VM creation is not a member "
     "of SCVMM Administrator profile. Please check if the user is added as a member of "
     "Administrator User Role profile on VMM Server.", "scvmm_user_not_vmm_admin"),
    # Upgrade_PreflightCheckErrorOnPrem.md and ValidateVlanIDNotAvailableOnVMNetwork.md
    ("Upgrade Operation Failed with error: The specified network settings are incorrect: Gateway "
     "IP is invalid: Gateway IP is overlapping with the IP address pool",
     "arb_network_settings_invalid"),
    ("The specified VLAN Id 200 is not available on VM Network vmnet01",
     "arb_network_settings_invalid"),
    # PSSessionMIResultFailed.md and PSSessionGet-SCVMMServer.md
    ("failed to get new provider:  SCVMM PSSession creation failed. Please check if the specified "
     "username and password are correct.\n  New-PSSession: [vmm01] Connecting to remote server "
     "vmm01 failed with the following error message : MI_RESULT_FAILED For more information, see "
     "the about_Remote_Troubleshooting Help topic.", "scvmm_server_unreachable"),
    ("Get-SCVMMServer: Unable to connect to the VMM management server localhost. The Virtual "
     "Machine Manager service on that server did not respond. (Error ID: 1602)",
     "scvmm_server_unreachable"),
    # PostOperationsErrorKubeadmControlPlane.md
    ("waiting for kubeadmcontrolplane to be provisioned: default/arb01: timed out waiting for the "
     "condition.", "arb_control_plane_not_provisioned"),
]


@pytest.mark.parametrize(("text", "cause"), SCVMM)
def test_scvmm_resource_bridge_errors(kb: kbmod.KnowledgeBase, text: str, cause: str) -> None:
    """Each documented error yields its own cause (a transport error quoted inside it, such as
    the connect timeout, may stand beside it)."""
    got = cause_ids(diagnose(text + "\n", kb))
    assert cause in got and len(categories(diagnose(text + "\n", kb))) <= 2, got


# The Azure Local deployment's cluster validation, whose three wordings Microsoft documents as a
# node's missing DNS A record (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/EnvironmentValidator/Known-Issue-Test-Cluster-Access-Denied-WMI-Error.md),
# and guest management refused for a missing managed identity (Azure Local's
# troubleshoot-arc-enabled-vms article, https://learn.microsoft.com/azure/azure-local/manage/troubleshoot-arc-enabled-vms)
DEPLOYMENT: List[Tuple[str, str]] = [
    ("Failed to execute Test-Cluster: Unable to connect to NODE1.contoso.com via WMI",
     "cluster_node_dns_record_missing"),
    ("Failed to execute Test-Cluster: You do not have administrative privileges on the server "
     "NODE1",
     "cluster_node_dns_record_missing"),
    ("Deployment failed. Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd. VM Spec validation "
     "failed for guest agent provisioning: Invalid managed identity. A system-assigned managed "
     "identity must be enabled in parent resource: Invalid Configuration",
     "parent_identity_not_enabled"),
]


@pytest.mark.parametrize(("text", "cause"), DEPLOYMENT)
def test_deployment_texts(kb: kbmod.KnowledgeBase, text: str, cause: str) -> None:
    assert cause_ids(diagnose(text + "\n", kb)) == {cause}
