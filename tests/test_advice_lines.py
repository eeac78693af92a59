"""A requirement stated as advice is not a refusal (issue 9, correctness clean-ups).

Documentation, how-tos and tools' hints say the same words as a tool that refuses to run
("must be run as administrator", "run ... as an administrator", "requires elevated rights").
Pasted into ``diagnose`` (a how-to copied with a log, a usage text a script prints), such a line
gave ``not_admin``, and a how-to's "otherwise the commands will fail" gave ``unknown``. A line
that opens as advice (a note, a numbered step, "To <do this>, ...", "For <these machines>, run
...") or that a tool logged below warning level states a requirement; the same words printed
as a script's refusal, at error level or with no level, still are evidence. Every sample is a
public text and names its source.
"""

from __future__ import annotations

import pytest
from diagtext import categories, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs.lines import reads_as_advice, states_requirement

ADVICE = [
    # the Arc agent's own documentation: a note block, a numbered step, a purpose clause
    # (MicrosoftDocs/azure-management-docs, articles/azure-arc/servers/manage-agent.md and
    # onboard-powershell.md; https://learn.microsoft.com/azure/azure-arc/servers/manage-agent)
    "> To upgrade the agent, you must have *root* access permissions or an account that has "
    "elevated rights using sudo.",
    "1. Open a PowerShell console as an administrator.",
    "For Windows Servers that belong to a workgroup and connect to the Internet to check for "
    "updates, run the following commands in PowerShell as an administrator to enable Microsoft "
    "Update:",
    # Windows Server 2003's cluster documentation, "Change the account under which the Cluster
    # service runs" (http://technet.microsoft.com/en-us/library/cc784325(WS.10).aspx)
    "To perform this procedure, you must be a member of the Administrators group on the local "
    "computer",
    # a course's setup instructions: a requirement and the failure it avoids, in one sentence
    # (https://github.com/lewagon/data-setup/issues/112)
    "To run those commands, the console needs to be open with `Run as administrator` otherwise "
    "the commands will fail with the `require elevated rights` error message",
    # a PowerShell hint (Write-Verbose prints "VERBOSE: " and the message, about_Preference_
    # Variables) with a script's own words ("Please run this script as Administrator.",
    # https://github.com/tejdeeptn7/hh8-minor-project-1-/blob/HEAD/src/WindowsSecurityAudit.ps1)
    "VERBOSE: Please run this script as Administrator.",
    # the agent's logrus shape at info level (time, level, msg; tests/corpus/healthy/b-h04.txt)
    # with the troubleshooting article's remedy for AZCM0155 ("Run the installation script
    # again as an administrator.", https://learn.microsoft.com/azure/azure-arc/servers/
    # troubleshoot-agent-onboard)
    'time="2024-03-01T10:00:00Z" level=info msg="Run the installation script again as an '
    'administrator."',
]


@pytest.mark.parametrize("text", ADVICE)
def test_a_requirement_stated_as_advice_is_no_finding(kb: kbmod.KnowledgeBase,
                                                      text: str) -> None:
    report = diagnose(text + "\n", kb)
    assert report.diagnoses == (), (text, categories(report))
    assert report.exit_code == 0


REFUSALS = [
    # a batch file's refusal, printed with no level before "exit /b 1"
    # (https://github.com/kintaro00/InstallWindowsWithoutUSB/issues/16)
    "This script must be Run as Administrator.",
    # https://github.com/promagen/one/blob/HEAD/.apitee/install.bat
    "This setup needs admin permissions. Please run this file as admin.",
    # https://github.com/juliohmb/dotfiles (a PowerShell script's Write-Output before exit)
    "This script must be run with administrator privileges",
    # Write-Warning's refusal ("WARNING: " and the message), then exit
    # (https://github.com/The-Amateur-Dev/.dotfiles/blob/HEAD/admincheck.ps1)
    "WARNING: Insufficient permissions to run this script. Open the PowerShell console as an "
    "administrator and run this script again.",
    # a refusal that opens with other words than a note's: the script exits 1 after it
    # ("Please Note: This script must be run as root!", a VPN script's rootcheck; the same
    # words at error level, in the agent's console shape)
    "ERROR   This script must be run as root!",
    # a refusal at error or fatal level keeps its verdict even when its words open like a how-to
    # (the agent's console record shape "FATAL   <message>" and the logrus record shape of its
    # himds log, as in the Arc docs' troubleshoot-agent-onboard samples; review finding)
    "FATAL   To connect this machine, the command must be run as an administrator",
    'time="2024-03-01T10:00:00Z" level=error msg="To perform this operation, you must be a '
    'member of the Administrators group"',
    "ERROR   Note: this command must be run as root",
    # PowerShell's own refusal of a #Requires -RunAsAdministrator script
    # (https://github.com/ColinNebula/nebula-shield-anti-virus/blob/HEAD/installer/FIX_ADMIN_ERROR.md)
    ".\\install-nebula-shield.ps1 : The script 'install-nebula-shield.ps1' cannot be run "
    "because it contains a \"#requires\" statement for running as Administrator.",
]


@pytest.mark.parametrize("text", REFUSALS)
def test_a_refusal_is_still_not_admin(kb: kbmod.KnowledgeBase, text: str) -> None:
    assert categories(diagnose(text + "\n", kb)) == {"not_admin"}, text


def test_a_refusal_below_warning_level_is_still_evidence(kb: kbmod.KnowledgeBase) -> None:
    """A report that something was refused is no requirement, whatever its level: the agent's
    folder refused to a normal user (Go's os.PathError, "open <path>: permission denied", as
    in the not_admin patterns) logged at info level stays a (demoted) not_admin finding."""
    line = ('time="2024-03-01T10:00:00Z" level=info msg="open /var/opt/azcmagent/agentconfig.json:'
            ' permission denied"')
    report = diagnose(line + "\n", kb)
    assert categories(report) == {"not_admin"}
    assert [d.diagnosis.severity for d in report.diagnoses] == ["warn"]


def test_the_advice_and_requirement_readings() -> None:
    assert reads_as_advice("Note: This script must be run as Administrator", None)
    assert reads_as_advice("anything", "info") and not reads_as_advice("anything", "warning")
    assert not reads_as_advice("Please Note: This script must be run as root!", None)
    assert not reads_as_advice("Note: this command must be run as root", "error")
    assert not reads_as_advice("To connect, run it as an administrator", "fatal")
    assert states_requirement("must be run as root")
    assert states_requirement("Open a PowerShell console as an administrator")
    for refusal in ("Cannot open himds service on computer '.'",
                    "open /var/opt/azcmagent/x: permission denied",
                    "is not allowed to run sudo on", "Access to the path 'C:\\x' is denied"):
        assert not states_requirement(refusal), refusal


@pytest.mark.parametrize("line", [
    # "and not as root" asks for fewer rights, never for more: a Dockerfile comment and a pod
    # template how-to, as public code search finds them ("so that the app will run as node user
    # and not as root user"; "make the pod run as a user and not as root"), and the review's
    # "Please run as normal user and not as root"
    "# change the user to node user so that the app will run as node user and not as root user",
    "For example, you can use a pod template to make the pod run as a user and not as root.",
    "Please run as normal user and not as root",
])
def test_asking_for_fewer_rights_is_not_not_admin(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert "not_admin" not in categories(diagnose(line + "\n", kb)), line
