"""Installer and onboarding-script texts as whole families, and what diagnose says.

The Group Policy onboarding script's own messages are quoted from its source,
https://github.com/Azure/ArcEnabledServersGroupPolicy/blob/main/EnableAzureArc.ps1, in the shape
its Write-Log function gives them (``[yyyy-MM-dd][HH:mm:ss] <TYPE> <message>``). Windows
Installer's exit codes reach a log as their system message (the script logs ``Installation
failed: $(net helpmsg $exitCode)``); those texts are the ones of
https://learn.microsoft.com/windows/win32/debug/system-error-codes--1300-1699-.
"""

from __future__ import annotations

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

GPO_SOURCE = "https://github.com/Azure/ArcEnabledServersGroupPolicy/blob/main/EnableAzureArc.ps1"


def _gpo(*lines: str) -> str:
    return "".join(f"[2024-05-02][10:15:0{i}] {line}\n" for i, line in enumerate(lines))


def test_gpo_no_agent_alone_is_agent_not_installed(kb: kbmod.KnowledgeBase) -> None:
    """Test-ArcService's message, with nothing after it (GPO_SOURCE)."""
    report = diagnose(_gpo("ERROR No Hybrid Instance Metadate Service installed"), kb)
    assert categories(report) == {"agent_not_installed"}
    assert report.exit_code != 0


def test_gpo_no_agent_gives_way_to_the_installation_failure(kb: kbmod.KnowledgeBase) -> None:
    """On a first run the script logs the missing service, installs, and logs why the MSI
    failed (1618's system message): that reason is the diagnosis (GPO_SOURCE)."""
    report = diagnose(_gpo(
        "ERROR No Hybrid Instance Metadate Service installed",
        "INFO Installing Azure Connected Machine Agent",
        "ERROR Installation failed: Another installation is already in progress. Complete that "
        "installation before proceeding with this install.. See Azcmagentinstallationlog.txt for "
        "additional details"), kb)
    assert categories(report) == {"install_failure"}
    assert cause_ids(report) == {"installer_lock_busy"}


@pytest.mark.parametrize("check, category, cause", [
    ("ERROR Framework version 4.5.2 is unsupported", "install_failure", "windows_dotnet_missing"),
    ("ERROR Framework version is 3.5 or less and it's unsupported", "install_failure",
     "windows_dotnet_missing"),
    ("ERROR Machine has Powershell version 3, minimum version required is PowerShell v4.",
     "unsupported_environment", "unsupported_platform"),
])
def test_gpo_requirement_checks(check: str, category: str, cause: str,
                                kb: kbmod.KnowledgeBase) -> None:
    """The script's requirement checks, each followed by its summary line (GPO_SOURCE): the
    failed check is the diagnosis, the summary only adds evidence."""
    report = diagnose(_gpo(
        "ERROR No Hybrid Instance Metadate Service installed", check,
        "ERROR Machine doesn't meet the minimum requirements for Azure Arc: Windows PowerShell 4 "
        "and NET Framework 4.6, or it is an Azure VM."), kb)
    assert categories(report) == {category}
    assert cause_ids(report) == {cause}


def test_gpo_summary_alone_is_unsupported_environment(kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(_gpo(
        "ERROR Machine doesn't meet the minimum requirements for Azure Arc: Windows PowerShell 4 "
        "and NET Framework 4.6, or it is an Azure VM."), kb)
    assert cause_ids(report) == {"gpo_requirements_not_met"}


def test_gpo_azure_vm(kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(_gpo("ERROR No Hybrid Instance Metadate Service installed",
                           "ERROR Machine is an Azure VM, it won't be onboarded in Azure Arc",
                           "INFO Exiting Onboarding Process"), kb)
    assert categories(report) == {"azure_vm_detected"}


def test_gpo_msi_missing_from_share(kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(_gpo("ERROR AzureConnectedMachineAgent.msi file not found in the network "
                           "folder. Exiting... "), kb)
    assert cause_ids(report) == {"installer_package_missing"}


@pytest.mark.parametrize("message, cause", [
    # 1601
    ("The Windows Installer Service could not be accessed. This can occur if the Windows "
     "Installer is not correctly installed. Contact your support personnel for assistance.",
     "windows_msi_install_failed"),
    # 1612
    ("The installation source for this product is not available. Verify that the source exists "
     "and that you can access it.", "installer_package_missing"),
    # 1622
    ("Error opening installation log file. Verify that the specified log file location exists "
     "and that you can write to it.", "msi_log_unwritable"),
    # 1632
    ("The Temp folder is on a drive that is full or is inaccessible. Free up space on the drive "
     "or verify that you have write permission on the Temp folder.",
     "windows_msi_install_failed"),
    # 1643, 1644, 1645
    ("The patch package is not permitted by software restriction policy.",
     "msi_blocked_by_policy"),
    ("One or more customizations are not permitted by system policy.", "msi_blocked_by_policy"),
    ("Windows Installer does not permit installation from a Remote Desktop Connection.",
     "msi_blocked_by_policy"),
])
def test_msiexec_exit_code_messages(message: str, cause: str, kb: kbmod.KnowledgeBase) -> None:
    """msiexec's exit codes as their system message, in the script's failure line."""
    report = diagnose(_gpo(f"ERROR Installation failed: {message}. See "
                           "Azcmagentinstallationlog.txt for additional details"), kb)
    assert categories(report) == {"install_failure"}
    assert cause_ids(report) == {cause}


@pytest.mark.parametrize("line", [
    # PowerShell 7's CommandNotFoundException ("a name", where Windows PowerShell says "the
    # name"): DiscoveryExceptions.resx in https://github.com/PowerShell/PowerShell
    "azcmagent: The term 'azcmagent' is not recognized as a name of a cmdlet, function, script "
    "file, or executable program.",
    # zsh's and fish's command-not-found lines (zsh Src/exec.c, fish's "Unknown command")
    "zsh: command not found: azcmagent",
    "fish: Unknown command: azcmagent",
])
def test_agent_missing_in_other_shells(line: str, kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(line + "\n", kb)
    assert categories(report) == {"agent_not_installed"}
    assert report.exit_code != 0
