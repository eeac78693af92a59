"""The level a client tool prints in front of a line: PowerShell's output streams and Azure CLI's
logger (issue 9 item 4 and the closing note of stop 24).

PowerShell writes its warning, verbose, debug and information streams to the console as
``WARNING: ``, ``VERBOSE: ``, ``DEBUG: `` and ``INFO: `` before the message (about_Output_Streams,
Write-Warning, Write-Verbose); Azure CLI's logger (knack's console format, ``LEVEL: message``) does
the same for ``WARNING``, ``INFO`` and ``DEBUG``. A cause found on such a line was logged below
error level by its own tool, so it is a warning, not a failure. Only the capitals count: prose
writes "Warning:" too. Each sample is a line posted publicly, its source beside it.
"""

from __future__ import annotations

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs.lines import parse_level

LEVELLED = [
    # an installer relaying Azure CLI's state (https://github.com/Azure/AKSFlexNode/issues/206)
    pytest.param("WARNING: Azure CLI is not authenticated for user: root", "warning",
                 id="cli-warning"),
    # Az's hint that a cmdlet's module is missing
    # (https://github.com/MicrosoftDocs/azure-docs/issues/112219)
    pytest.param('WARNING: The command New-AzConnectedMachineExtension is part of Azure '
                 'PowerShell module "Az.ConnectedMachine" and it is not installed. Run '
                 '"Install-Module Az.ConnectedMachine" to install it.', "warning",
                 id="az-module-missing"),
    # Enable-AzureStackHCIArcIntegration's verbose stream
    # (https://github.com/Azure/azure-powershell/issues/16477)
    pytest.param("VERBOSE: Exception occurred in registering nodes to Arc For Servers. "
                 "ErrorMessage : Unable to find type [ErrorDetail].", "debug",
                 id="powershell-verbose"),
    # az --verbose's timing line (a deployment script's output committed to a repository)
    pytest.param("INFO: Command ran in 2.262 seconds (init: 0.487, invoke: 1.775)", "info",
                 id="cli-info"),
]


@pytest.mark.parametrize(("line", "level"), LEVELLED)
def test_the_stream_prefix_is_the_level(line: str, level: str) -> None:
    assert parse_level(line) == level


def test_prose_warning_is_no_level() -> None:
    """curl's notice before a retry, in mixed case (curl's tool_operate.c: "Warning: Problem :
    timeout. Will retry in 1 seconds. 3 retries left.") is no stream prefix."""
    assert parse_level("Warning: Problem : timeout. Will retry in 1 seconds. 3 retries left.") \
        is None


def test_a_cause_on_a_warning_line_is_a_warning(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose("WARNING: Azure CLI is not authenticated for user: root\n", kb)
    assert cause_ids(found) == {"azure_cli_signed_out"}
    assert found.diagnoses[0].diagnosis.severity == "warn"
    assert found.exit_code == 1


def test_the_same_words_at_error_level_are_a_failure(kb: kbmod.KnowledgeBase) -> None:
    """The counterpart: Azure CLI's ``ERROR: `` prefix keeps the cause failing."""
    found = diagnose("ERROR: Azure CLI is not authenticated for user: root\n", kb)
    assert cause_ids(found) == {"azure_cli_signed_out"}
    assert found.exit_code == 2


def test_a_warned_reason_takes_the_failure_it_explains(kb: kbmod.KnowledgeBase) -> None:
    """PowerShellGet warns that the Gallery cannot be reached, then the install fails with an
    empty search (https://github.com/PowerShell/PowerShellGallery/issues/333): the warning is
    the reason; it takes the umbrella's lines and its level, and the run still exits 2."""
    text = ("WARNING: Unable to resolve package source "
            "'https://www.powershellgallery.com/api/v2'.\n"
            "PackageManagement\\Install-Package : No match was found for the specified search "
            "criteria and module name 'powershell-yaml'. Try Get-PSRepository to\n")
    found = diagnose(text, kb)
    assert cause_ids(found) == {"powershell_gallery_tls"}
    diagnosis = found.diagnoses[0].diagnosis
    assert diagnosis.severity == "fail"
    assert diagnosis.lines == (1, 2)
    assert found.exit_code == 2


def test_a_warning_only_cause_does_not_take_a_failure(kb: kbmod.KnowledgeBase) -> None:
    """A cause that is never more than a warning (sudo not resolving the machine's own name,
    https://github.com/arakasi72/rtinst/issues/589) says nothing about why an installation
    failed (a DSC resource relaying the .NET installer,
    https://github.com/guitarrapc/GraniResource/issues/86): both stay, each at its level."""
    text = ("sudo: unable to resolve host host01: Name or service not known\n"
            "Error:- PowerShell provider Grani_DotNetFramework  failed to execute "
            "Set-TargetResource functionality with error message: Installation failed. "
            "Installation prevented as previous installation is not completed until reboot. "
            "Please redo after reboot. ExitCode : 16389\n")
    found = diagnose(text, kb)
    assert categories(found) == {"hostname_unresolvable", "install_failure"}
    severity = {d.diagnosis.cause_id: d.diagnosis.severity for d in found.diagnoses}
    assert severity["sudo_own_name_unresolvable"] == "warn"
    assert severity["install_failed_stated"] == "fail"
    assert found.exit_code == 2
