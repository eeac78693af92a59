"""Extension failures on Arc machines as the extensions' own troubleshooting articles list them.

Each sample is a line the article (or a public thread) prints, fed to ``diagnose`` to assert the
cause the article gives; each has a near-miss line beside it, real as well, that must stay
silent. The rules come from the published lists, not from corpus texts.
"""

from __future__ import annotations

from diagtext import assert_explained, assert_silent

from arc_preflight import kb as kbmod

# ---------------------------------------------------------------------------------------------
# Azure Monitor agent on a Linux Arc machine: its collector's account is not in the himds group
# ---------------------------------------------------------------------------------------------

def test_ama_token_refused_on_arc(kb: kbmod.KnowledgeBase) -> None:
    """The error the Azure Monitor agent troubleshooting article quotes from mdsd.err, and
    explains on Arc machines by the syslog user missing from the himds group.
    https://learn.microsoft.com/azure/azure-monitor/agents/azure-monitor-agent-troubleshoot-linux-vm
    (section "Troubleshooting issues on Arc-enabled server")"""
    assert_explained("Failed to get MSI token from IMDS endpoint\n", kb, "not_admin",
                     "extension_identity_group_missing")


def test_ama_token_failures_that_are_not_the_group(kb: kbmod.KnowledgeBase) -> None:
    """The same words where the group cannot be the reason: the Azure VM's metadata address
    (with or without its scheme: an Azure VM, not an Arc machine) and a request that never
    reached the agent (refused: the agent's service is down). These lines were written by the
    review of stop 26 to probe the pattern's edges, in mdsd's wording above plus curl's own
    error text; they are no posted samples."""
    pattern = next(p for p in kb.compiled["extension_identity_group_missing"]
                   if p.pattern.startswith("Failed to get MSI token"))
    for line in ("Failed to get MSI token from IMDS endpoint: HTTP://169.254.169.254/metadata/"
                 "identity/oauth2/token",
                 "Failed to get MSI token from IMDS endpoint 169.254.169.254: connection timed "
                 "out",
                 "2026-12-01T10:00:00.000Z ERROR Failed to get MSI token from IMDS endpoint: "
                 "http://127.0.0.1:40342/metadata/identity/oauth2/token?api-version=2018-02-01&"
                 "resource=https://monitor.azure.com/, curl error: Couldn't connect to server "
                 "(Connection refused)"):
        assert not pattern.search(line), line
    assert pattern.search("Failed to get MSI token from IMDS endpoint")


def test_agent_services_running_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """The healthy azcmagent show lines the Windows Arc troubleshooting article prints.
    https://learn.microsoft.com/azure/azure-monitor/agents/azure-monitor-agent-troubleshoot-windows-arc"""
    for line in ("  Agent Service (himds)                 : running",
                 "  Extension Service (extensionservice)  : running"):
        assert_silent(line, kb)


# ---------------------------------------------------------------------------------------------
# Extension-based Hybrid Runbook Worker on a machine without the Connected Machine agent
# ---------------------------------------------------------------------------------------------

def test_hybrid_worker_without_arc_agent(kb: kbmod.KnowledgeBase) -> None:
    """The deployment error the Automation troubleshooting article quotes: the machine outside
    Azure has no Connected Machine agent to give the worker an identity.
    https://learn.microsoft.com/azure/automation/troubleshoot/extension-based-hybrid-runbook-worker"""
    assert_explained(
        "Unable to retrieve IMDS identity endpoint for non-Azure VM. Ensure that the Azure "
        "connected machine agent is installed and System-assigned identity is enabled.\n",
        kb, "agent_not_installed", "agent_not_installed")


# ---------------------------------------------------------------------------------------------
# Azure Update Manager: the Windows Update codes its troubleshooting table lists as network
# ---------------------------------------------------------------------------------------------

def test_update_source_unreachable_0x8024402f(kb: kbmod.KnowledgeBase) -> None:
    """0x8024402F is listed by https://learn.microsoft.com/azure/update-manager/troubleshoot
    with 0x8024402C and 0x8024401C as network connectivity problems. The line is a Windows
    Update DSC resource's error record: https://github.com/dsccommunity/xWindowsUpdate/issues/51"""
    assert_explained(
        '"Message":  "PowerShell DSC resource MSFT_xWindowsUpdateAgent  failed to execute '
        'Test-TargetResource functionality with error message: Exception from HRESULT: '
        '0x8024402F ",\n', kb, "firewall_or_proxy_blocking", "endpoint_unreachable")


def test_windows_update_log_without_error_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """A WindowsUpdate.log line of a search that found nothing to install.
    https://github.com/LegacyUpdate/LegacyUpdate/issues/8"""
    assert_silent("2022-11-07\t15:07:37:712\t1048\tbc0\tAU\tNo featured updates available.", kb)


# ---------------------------------------------------------------------------------------------
# Extension settings the extension cannot read (Key Vault VM extension)
# ---------------------------------------------------------------------------------------------

def test_key_vault_settings_not_an_object(kb: kbmod.KnowledgeBase) -> None:
    """akvvm_service's error for settings built with escaped quotes, as the Arc extension
    article warns. https://learn.microsoft.com/azure/azure-arc/servers/manage-vm-extensions-powershell
    (the same warning: https://learn.microsoft.com/azure/virtual-machines/extensions/key-vault-windows)"""
    assert_explained(
        "[CertificateManagementConfiguration] Failed to parse the configuration settings "
        "with:not an object.\n", kb, "extension_failure", "extension_settings_malformed")


def test_key_vault_settings_line_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """A line of the well-formed settings file the Key Vault article publishes.
    https://learn.microsoft.com/azure/virtual-machines/extensions/key-vault-windows"""
    assert_silent('          "certificateStoreLocation": "LocalMachine",', kb)


# ---------------------------------------------------------------------------------------------
# Script extensions run as Local System: PowerShell not on the machine's PATH
# ---------------------------------------------------------------------------------------------

def test_run_command_powershell_not_on_path(kb: kbmod.KnowledgeBase) -> None:
    """The Run Command output the extension troubleshooting article quotes as a known issue.
    https://learn.microsoft.com/azure/virtual-machines/extensions/troubleshoot"""
    assert_explained(
        "RunCommandExtension failed with \"'powershell' isn't recognized as an internal or "
        "external command,\"\n", kb, "extension_failure", "extension_command_not_on_path")


def test_extension_substatus_succeeded_is_silent(kb: kbmod.KnowledgeBase) -> None:
    """The same article's sample of a script extension's successful sub-status.
    https://learn.microsoft.com/azure/virtual-machines/extensions/troubleshoot"""
    for line in ('      "Code": "ComponentStatus/StdErr/succeeded",',
                 '      "DisplayStatus": "Provisioning succeeded",'):
        assert_silent(line, kb)
