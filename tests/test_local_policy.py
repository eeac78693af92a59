"""A policy on the machine that refuses to run the onboarding script or a program (issue 9):
PowerShell's execution policy and software restriction policies, the constrained language mode
that AppLocker and App Control impose, Windows' own refusals (Win32 1260 and 4551 by number,
name, HRESULT and message) and a Defender attack surface reduction block. Each sample is a
published text, cited beside it; the refusal is the cause, whatever error record surrounds it.
"""

from __future__ import annotations

import pytest
from diagtext import assert_silent, categories, diagnose

from arc_preflight import kb as kbmod

CAUSE = "local_policy_blocks_program"

# https://github.com/MicrosoftDocs/azure-docs-powershell/issues/844 (the message wraps at the
# console's width, as posted)
EXECUTION_POLICY = """\
Import-Module : File C:\\Program Files\\WindowsPowerShell\\Modules\\Azure\\5.3.0\\Azure.psm1 cannot be loaded because
running scripts is disabled on this system. For more information, see about_Execution_Policies at
https:/go.microsoft.com/fwlink/?LinkID=135170.
At line:1 char:1
+ Import-Module Azure
+ ~~~~~~~~~~~~~~~~~~~
    + CategoryInfo          : SecurityError: (:) [Import-Module], PSSecurityException
    + FullyQualifiedErrorId : UnauthorizedAccess,Microsoft.PowerShell.Commands.ImportModuleCommand
"""

# https://pastebin.com/tsiWMxt2: a script run from the prompt, the error id without a command
SCRIPT_POLICY = """\
.\\install_cert_and_exceptions.ps1 : File C:\\Users\\aburm\\Documents\\install_cert_and_exceptions.ps1 cannot be loaded
because running scripts is disabled on this system. For more information, see about_Execution_Policies at
http://go.microsoft.com/fwlink/?LinkID=135170.
At line:1 char:1
+ .\\install_cert_and_exceptions.ps1
+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
    + CategoryInfo          : SecurityError: (:) [], PSSecurityException
    + FullyQualifiedErrorId : UnauthorizedAccess
"""

MESSAGES = [
    # https://gist.github.com/0xm0/388a06ad485c33e0917f7c92bc7c7fbf (RemoteSigned and a
    # downloaded script)
    "ps1 cannot be loaded is not digitally signed. You cannot run this script on the current "
    "system.",
    # Azure Automation's troubleshooting article quotes the constrained language refusal:
    # https://learn.microsoft.com/azure/automation/troubleshoot/runbooks
    "Exception was thrown - Cannot invoke method. Method invocation is supported only on core "
    "types in this language mode.",
    # Win32 1260's message (https://learn.microsoft.com/windows/win32/debug/system-error-codes--1000-1299-)
    "This program is blocked by group policy. For more information, contact your system "
    "administrator.",
    # https://learn.microsoft.com/troubleshoot/windows-client/shell-experience/command-prompt-powershell-not-start
    "Your organization used Device Guard to block this app",
    # Win32 4551's message (https://learn.microsoft.com/windows/win32/debug/system-error-codes--4000-5999-)
    "An Application Control policy has blocked this file.",
    # the same codes as .NET and Python print them (the exception's HRESULT; WinError n)
    "(Exception from HRESULT: 0x800711C7)",
    "OSError: [WinError 4551] HRESULT_FROM_WIN32(4551)",
    "Start-Process : ERROR_ACCESS_DISABLED_BY_POLICY",
    # a constrained language record's error id, as PowerShell prints it (the record shape of
    # issue 844 above; the id is the engine's for this refusal)
    "    + FullyQualifiedErrorId : MethodInvocationNotSupportedInConstrainedLanguage",
]


@pytest.mark.parametrize("text", [EXECUTION_POLICY, SCRIPT_POLICY],
                         ids=["import-module", "script"])
def test_execution_policy_record(kb: kbmod.KnowledgeBase, text: str) -> None:
    report = diagnose(text, kb)
    assert categories(report) == {"unsupported_environment"}
    assert report.diagnoses[0].diagnosis.cause_id == CAUSE
    assert any("ExecutionPolicy Bypass" in step for step in report.diagnoses[0].diagnosis.remedy)


@pytest.mark.parametrize("line", MESSAGES)
def test_policy_refusals(kb: kbmod.KnowledgeBase, line: str) -> None:
    report = diagnose(line + "\n", kb)
    assert [d.diagnosis.cause_id for d in report.diagnoses] == [CAUSE], line


def test_defender_attack_surface_reduction_block(kb: kbmod.KnowledgeBase) -> None:
    """Defender's event 1121 as an Azure Local guide quotes it, below the failed Cluster-Aware
    Updating run it stopped:
    https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Update/Solution-Update-CAU-Run-fails-due-to-Windows-Defender-blocking-WMI-commands.md"""
    text = (
        "Date Time  Microsoft-Windows-Windows Defender  Warning      1121  host01.contoso.com  "
        "(pid:4284 - tid:15748)  \n"
        "Microsoft Defender Exploit Guard has blocked an operation that is not allowed by your "
        "IT administrator.  \n"
        "For more information please contact your IT administrator.  \n"
        "  ID: D1E49AAC-8F56-4280-B9BA-993A6D77406C  \n")
    assert CAUSE in {d.diagnosis.cause_id for d in diagnose(text, kb).diagnoses}


@pytest.mark.parametrize("line", [
    # the Configuration Manager article's own step: advice, not a refusal
    # (https://learn.microsoft.com/azure/azure-arc/servers/onboard-configuration-manager-custom-task)
    "1. Set **PowerShell execution policy** to **Bypass** (if not already set by default).",
    # Get-ExecutionPolicy -List, as its reference page shows it
    # (https://learn.microsoft.com/powershell/module/microsoft.powershell.security/get-executionpolicy)
    "MachinePolicy       Undefined",
])
def test_policy_words_alone_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)
