"""An installer's own words for a failed installation, and a refusal of the system in a sentence.

Commit 3ee478e added ``install_failed_stated``, an umbrella in ``install_failure`` for an
installation or upgrade that an installer, script or package manager says failed without a
reason this tool knows ("Installation failed", "Failed to install X", "Installing X failed"),
and two sentence shapes to ``unsupported_platform`` (the
system named before the refusal: "This version of Windows is not supported"; after it: "not
supported on this operating system"). Real lines show that each wording is read, that a
specific reason on the same text still wins (the umbrella only adds evidence), that an
extension's failed installation stays an extension failure, and that success lines of the
same installers stay silent.

Every sample is a line someone posted or committed publicly, copied verbatim (shortened only at
word boundaries; GUIDs replaced), with its address. Each sample is also checked against the one
pattern it is here for, so a test keeps meaning what it says when the other patterns change.
The helper that wrote these tests marked the gaps it found ``xfail(strict=True)``; each was then
fixed (the msi code family reads a bootstrapper's "Windows Installer returned error N", "failed to
install." ends a sentence, the system named before a refusal may be a list or a version with a
colon, "does not apply to this operating system", Telegraf's one-letter level), and the tests now
hold the fixes.
"""

from __future__ import annotations

from typing import Pattern

import pytest
from diagtext import assert_silent, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# The first characters of each pattern this file is about, as data/causes.toml writes them.
_STATED_PREFIX = {
    "sentence": "(?<!extension )",
    "failed_to": r"\b(?:failed|unable) to (?:install|upgrade)\b",
    "installing": r"\bInstalling [",
}
_SYSTEM_THEN_REFUSAL = r"\b(?:operating system|OS|platform|distribution|distro|architecture|"
_REFUSAL_THEN_SYSTEM = r"\bnot supported (?:on|in|for|with|by) (?:this|the|your) "


def _pattern(kb: kbmod.KnowledgeBase, cause_id: str, prefix: str) -> Pattern[str]:
    found = [p for p in kb.compiled[cause_id] if p.pattern.startswith(prefix)]
    assert len(found) == 1, (cause_id, prefix, [p.pattern for p in found])
    return found[0]


# --- install_failed_stated: one or more real lines per pattern --------------------------------

# "(installation|install|setup|upgrade) [of X] [has|had] failed"
_SENTENCE = [
    # Windows setup's own verdict after a rolled-back feature update, as the reporter pasted it
    # (https://github.com/ChrisTitusTech/winutil/issues/3615)
    pytest.param("0x800f081e - 0x20003 The installation failed in SAFE_OS phase with an error "
                 "during INSTALL_UPDATES operation", id="windows-setup-safe-os"),
    # Visual Studio's installer on its WebView2 prerequisite
    # (https://github.com/MicrosoftEdge/WebView2Feedback/issues/2914)
    pytest.param("Error -2147219198 Installation of WebView2 failed", id="installation-of-x"),
    # a PowerShell DSC resource relaying the .NET Framework installer's message, joined where the
    # post wraps (https://github.com/guitarrapc/GraniResource/issues/86); the installer names a
    # pending reboot, a reason no cause of the knowledge base reads, so only the umbrella answers
    pytest.param("Error:- PowerShell provider Grani_DotNetFramework  failed to execute "
                 "Set-TargetResource functionality with error message: Installation failed. "
                 "Installation prevented as previous installation is not completed until reboot. "
                 "Please redo after reboot. ExitCode : 16389", id="dsc-dotnet-installer"),
]

# "(failed|unable) to (install|upgrade) X", X not an extension
_FAILED_TO = [
    # WiX Burn's log when its MSI package fails, as pasted in
    # https://github.com/o3de/o3de/issues/13753 (the same line in aws/amazon-ssm-agent#446)
    pytest.param("[3BAC:8374][2022-12-16T17:58:22]e000: Error 0x80070643: Failed to install MSI "
                 "package.", id="burn-msi-package"),
]

# "Installing X failed"
_INSTALLING = [
    # openHABian's setup log on Raspbian (https://github.com/openhab/openhabian/issues/51)
    pytest.param("[openHABian] Installing additional needed packages... FAILED",
                 id="setup-script-packages"),
]


@pytest.mark.parametrize(("line", "pattern"), (
    [pytest.param(p.values[0], "sentence", id=p.id) for p in _SENTENCE]
    + [pytest.param(p.values[0], "failed_to", id=p.id) for p in _FAILED_TO]
    + [pytest.param(p.values[0], "installing", id=p.id) for p in _INSTALLING]))
def test_an_installers_words_alone_are_an_install_failure(
        line: str, pattern: str, kb: kbmod.KnowledgeBase) -> None:
    assert _pattern(kb, "install_failed_stated", _STATED_PREFIX[pattern]).search(line)
    found = diagnose(line + "\n", kb)
    assert categories(found) == {"install_failure"}, line
    assert cause_ids(found) == {"install_failed_stated"}, line
    assert found.exit_code == 2


def test_the_bootstrappers_windows_installer_returned_error_wording(
        kb: kbmod.KnowledgeBase) -> None:
    """A setup bootstrapper's report of msiexec's code, quoted in the Terrarium client FAQ
    (https://github.com/terrariumapp/terrarium, Server/Website/documentation/client_faq.aspx,
    where it wraps over two lines), read by the msi code family (1638: another version of the
    product is already installed)."""
    line = "An error occurred installing the package. Windows Installer returned error 1638."
    assert "install_failure" in categories(diagnose(line + "\n", kb))


def test_a_package_that_failed_to_install_at_the_end_of_the_sentence(
        kb: kbmod.KnowledgeBase) -> None:
    # the Visual Studio installer's log, quoted in https://github.com/microsoft/PTVS/issues/7261
    line = ("Package 'Microsoft.WebView2,version=105.0.1343.27,productarch=neutral,"
            "machinearch=x64' failed to install.")
    assert "install_failure" in categories(diagnose(line + "\n", kb))


# --- a specific reason on the same text wins; the umbrella only adds evidence -----------------

def test_msiexecs_own_summary_wins_over_the_umbrella(kb: kbmod.KnowledgeBase) -> None:
    """The tail of a verbose MSI log (https://github.com/prometheus-community/windows_exporter/
    issues/1018): 'Installation failed.' is the umbrella's sentence, the 1603 status is read by
    windows_msi_install_failed, the same category; one finding, the specific one."""
    text = ("Action ended 10:57:19: INSTALL. Return value 3.\n"
            "MSI (c) (0C:4C) [10:57:19:143]: Product: windows_exporter -- Installation failed.\n"
            "MSI (c) (0C:4C) [10:57:19:143]: Windows Installer installed the product. Product "
            "Name: windows_exporter. Product Version: 0.18.1. Product Language: 1033. "
            "Manufacturer: prometheus-community. Installation success or error status: 1603.\n")
    assert _pattern(kb, "install_failed_stated", _STATED_PREFIX["sentence"]).search(text)
    found = diagnose(text, kb)
    assert cause_ids(found) == {"windows_msi_install_failed"}


def test_winget_validation_of_the_azure_monitor_agent(kb: kbmod.KnowledgeBase) -> None:
    """winget's validation of the Azure Monitor Agent MSI
    (https://github.com/microsoft/winget-pkgs/pull/256342): 'Install Failed.' and the MSI's 1603
    are one Windows Installer failure."""
    text = ("12:12:28 PM: Install Failed.\n"
            "12:12:28 PM: 2025-05-14 12:12:27.623 [CLI ] ShellExecute installer failed: 1603\n"
            "12:12:29 PM: MSI (s) (E0:D8) [12:12:27:418]: Product: Azure Monitor Agent -- Error "
            "1723. There is a problem with this Windows Installer package. A DLL required for "
            "this install to complete could not be run.\n")
    found = diagnose(text, kb)
    assert categories(found) == {"install_failure"}
    assert cause_ids(found) == {"windows_msi_install_failed"}


def test_an_unsupported_processor_named_beside_installation_failed_is_the_finding(
        kb: kbmod.KnowledgeBase) -> None:
    """msiexec's 1633 after 'Installation failed.' (winget's validation,
    https://github.com/microsoft/winget-pkgs/pull/269116): the reason is the unsupported
    processor, so nothing of install_failure is reported beside it."""
    line = ("MSI (s) (EC:84) [04:22:56:282]: Product: Universal x86 Tuning Utility -- "
            "Installation failed. This installation package is not supported by this processor "
            "type. Contact your product vendor.")
    assert _pattern(kb, "install_failed_stated", _STATED_PREFIX["sentence"]).search(line)
    found = diagnose(line + "\n", kb)
    assert categories(found) == {"unsupported_environment"}
    assert cause_ids(found) == {"unsupported_platform"}


# --- unsupported_platform: the refusal in a sentence ------------------------------------------

# the system named before the refusal
_SYSTEM_FIRST = [
    # a setup.exe on Windows Server 2012 R2 (https://github.com/grayfallstown/Chia-Plot-Status/
    # issues/56); the older 'operating system (is )?not supported' reads it too
    pytest.param("Your operating system is not supported.", id="setup-exe"),
    # Azure's note on HBv2 VMs (https://learn.microsoft.com/azure/virtual-machines/
    # hbv2-series-overview); only the new sentence pattern reads it
    pytest.param("Windows Server 2012 R2 is not supported on HBv2 and other VMs with more than 64 "
                 "(virtual or physical) cores.", id="azure-docs-hbv2"),
]

# the refusal, then the system
_SYSTEM_AFTER = [
    # the Windows Admin Center MSI on Windows Server 2012 R2
    # (https://github.com/MicrosoftDocs/windowsserverdocs/issues/630 and #673)
    pytest.param("This software is not supported on this operating system",
                 id="windows-admin-center-msi"),
    # msiexec's 1633 (ERROR_INSTALL_PLATFORM_UNSUPPORTED) in its own words
    # (https://learn.microsoft.com/windows/win32/msi/error-codes); the Arc agent's Windows
    # install script maps this exit code to AZCM0153
    pytest.param("This installation package is not supported on this platform. Contact your "
                 "application vendor.", id="msiexec-1633-doc"),
    # the same refusal as a user on Windows XP reported it
    # (https://github.com/ojdkbuild/ojdkbuild/issues/9)
    pytest.param("This installer packet is not supported on this Platform.", id="msi-on-xp"),
    # msiexec's x64 package on x86 (https://github.com/cloudbase/windows-imaging-tools/issues/12)
    pytest.param("This installation package is not supported by this processor type. Contact "
                 "your product vendor.", id="msi-processor-type"),
]


@pytest.mark.parametrize("line", _SYSTEM_FIRST)
def test_the_system_named_before_the_refusal(line: str, kb: kbmod.KnowledgeBase) -> None:
    assert _pattern(kb, "unsupported_platform", _SYSTEM_THEN_REFUSAL).search(line)
    assert "unsupported_environment" in categories(diagnose(line + "\n", kb)), line


@pytest.mark.parametrize("line", _SYSTEM_AFTER)
def test_the_system_named_after_the_refusal(line: str, kb: kbmod.KnowledgeBase) -> None:
    assert _pattern(kb, "unsupported_platform", _REFUSAL_THEN_SYSTEM).search(line)
    assert "unsupported_environment" in categories(diagnose(line + "\n", kb)), line


# Installers' refusals the first sentence patterns missed (each was silent), read since.
_ONCE_MISSED_REFUSALS = [
    # a list in parentheses between 'Windows versions' and the refusal: the words between them
    # may not hold commas (https://github.com/LanternOps/breeze/issues/5435)
    pytest.param("Breeze Agent requires Windows 10 or Windows Server 2016 or later. Legacy Windows "
                 "versions (7, 8, 8.1, Server 2008 R2 through 2012 R2) are not supported.",
                 id="comma-list"),
    # 'kernel version:' with a colon before the version (Ansible's assert message,
    # https://github.com/CrowdStrike/ansible_collection_falcon/issues/296)
    pytest.param('    "msg": "The kernel version: 5.15.0-60-generic is not supported by the Falcon '
                 'Sensor!"', id="kernel-version-colon"),
    # the .NET Framework 4.8 setup on Windows 7, no 'supported' at all
    # (https://github.com/Microsoft/dotnet-framework-early-access/issues/27)
    pytest.param("Setup cannot continue as the package does not apply to this operating system.",
                 id="dotnet-does-not-apply"),
]


@pytest.mark.parametrize("line", _ONCE_MISSED_REFUSALS)
def test_refusals_once_missed_are_read(line: str, kb: kbmod.KnowledgeBase) -> None:
    assert "unsupported_environment" in categories(diagnose(line + "\n", kb)), line


# --- healthy neighbours and extensions --------------------------------------------------------

@pytest.mark.parametrize("line", [
    # msiexec's summary lines of a successful install, from the log in
    # https://github.com/microsoft/winget-cli/issues/433
    "MSI (s) (D0:64) [10:33:33:423]: Product: PowerShell 7-x64 -- Installation completed "
    "successfully.",
    "MSI (s) (D0:64) [10:33:33:423]: Windows Installer installed the product. Product Name: "
    "PowerShell 7-x64. Product Version: 7.0.2.0. Product Language: 1033. Manufacturer: Microsoft "
    "Corporation. Installation success or error status: 0.",
])
def test_msiexecs_success_lines_are_silent(line: str, kb: kbmod.KnowledgeBase) -> None:
    assert_silent(line, kb)


def test_the_arc_agents_successful_install_and_extension_installs_are_silent(
        kb: kbmod.KnowledgeBase) -> None:
    """The Arc registration of an Azure Local machine, from the sample output of a successful
    registration in https://github.com/MicrosoftDocs/azure-stack-docs (azure-stack/hci/deploy/
    deployment-arc-register-server-permissions.md): the agent's install script, then the
    extensions the registration triggers."""
    text = ("Installing Azure Connected Machine Agent\n"
            "Downloading agent package from https://aka.ms/AzureConnectedMachineAgent to "
            "C:\\Users\\AzureConnectedMachineAgent.msi\n"
            "Installing agent package\n"
            "Installation of azcmagent completed successfully\n"
            "Connecting to Azure using ARM Access Token\n"
            "Connected to Azure successfully\n"
            "Installing  TelemetryAndDiagnostics Extension\n"
            "Successfully triggered  TelemetryAndDiagnostics Extension installation\n"
            "Please verify that the extensions are successfully installed before continuing...\n")
    assert diagnose(text, kb).diagnoses == ()


@pytest.mark.parametrize("line", [
    # an extension handler's 'Install Failed.' relayed by ARM: the umbrella's sentence pattern
    # matches 'Install Failed' too, but it is the extension's installation
    # (https://github.com/Azure/azure-linux-extensions/issues/203)
    pytest.param("ErrorMessage: VM has reported a failure when processing extension "
                 "'DSCForLinux'. Error message: \"Install Failed.\".", id="handler-install-failed"),
    # the Log Analytics agent's handler during its install step
    # (https://github.com/Azure/azure-linux-extensions/issues/710)
    pytest.param("Deployment failed. Correlation ID: 00000000-0000-0000-0000-000000000000. Handler "
                 "'Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux' has reported failure for "
                 "VM Extension 'OmsAgentForLinux' with terminal error code '1007' and error "
                 "message: '[ExtensionError] Non-zero exit code: 22, omsagent.py -install",
                 id="handler-install-exit-code"),
])
def test_an_extensions_failed_installation_is_an_extension_failure(
        line: str, kb: kbmod.KnowledgeBase) -> None:
    assert categories(diagnose(line + "\n", kb)) == {"extension_failure"}, line


def test_a_plugins_platform_warning_is_demoted(kb: kbmod.KnowledgeBase) -> None:
    """Telegraf on a non-Linux system warns about Linux-only plugins it was not even asked to
    run (https://github.com/influxdata/telegraf/issues/6800: 'Expected behavior: Startup without
    warnings'). Both the older 'platform (is )?not supported' and the new sentence pattern read
    it; a line logged below error level should only be a warning."""
    found = diagnose("W! [inputs.ethtool] Current platform is not supported\n", kb)
    assert found.diagnoses
    assert {d.diagnosis.severity for d in found.diagnoses} == {"warn"}
