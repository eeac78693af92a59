"""The level a client tool prints in front of a line: PowerShell's output streams and Azure CLI's
logger (issue 9 item 4 and the closing note of stop 24).

PowerShell writes its warning, verbose and debug streams to the console as ``WARNING: ``,
``VERBOSE: `` and ``DEBUG: `` before the message (Write-Warning, Write-Verbose, Write-Debug; the
information stream has no prefix); Azure CLI's logger (knack's console format, ``LEVEL: message``)
does the same for ``WARNING``, ``INFO`` and ``DEBUG``. A cause found on such a line was logged
below error level by its own tool, so it is a warning, not a failure, unless a failure follows
shortly that it explains. Only the capitals count: prose writes "Warning:" too, and a level the
line shows further on wins. Each sample is a line posted publicly, its source beside it.
"""

from __future__ import annotations

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs.levels import parse_level

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


def test_a_level_further_on_wins_over_the_prefix() -> None:
    """The prefix is read only when the line shows no level of its own: a tool that logs through
    PowerShell's verbose stream keeps its ``[ERROR]`` (the bracketed level of Azure Local's
    environment checker lines, ``[11/03/2025 19:38:18] [ERROR] [Test-Widget] ...`` in
    test_diagnose_sources)."""
    assert parse_level("VERBOSE: [ERROR] the widget broke") == "error"
    assert parse_level("VERBOSE: the widget broke") == "debug"


# PowerShellGet bootstrapping the NuGet provider without TLS 1.2, as
# https://github.com/Azure/azure-quickstart-templates/pull/7472 posted it: two warnings, then the
# error record they explain
_NUGET_BOOTSTRAP = (
    "PS C:\\> Install-PackageProvider -Name NuGet -MinimumVersion 2.8.5.201 -Force\n"
    "WARNING: Unable to download from URI 'https://go.microsoft.com/fwlink/?LinkID=627338&clcid="
    "0x409' to ''.\n"
    "WARNING: Unable to download the list of available providers. Check your internet "
    "connection.\n"
    "Install-PackageProvider : No match was found for the specified search criteria for the "
    "provider 'NuGet'. The package provider requires 'PackageManagement' and 'Provider' tags. "
    "Please check if the specified package has the tags.\n"
    "At line:1 char:1\n"
    "+ Install-PackageProvider -Name NuGet -MinimumVersion 2.8.5.201 -Force\n"
    "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"
    "    + CategoryInfo          : InvalidArgument: (Microsoft.Power...PackageProvider:"
    "InstallPackageProvider) [Install-PackageProvider], Exception\n"
    "    + FullyQualifiedErrorId : NoMatchFoundForProvider,Microsoft.PowerShell.PackageManagement."
    "Cmdlets.InstallPackageProvider\n")


def test_warned_reason_takes_the_error_record_after_it(kb: kbmod.KnowledgeBase) -> None:
    """The error record no cause explains is the warnings' consequence: one finding, the
    Gallery's TLS cause, failing (exit 2), with the record among its evidence."""
    found = diagnose(_NUGET_BOOTSTRAP, kb)
    assert cause_ids(found) == {"powershell_gallery_tls"}
    diagnosis = found.diagnoses[0].diagnosis
    assert diagnosis.severity == "fail"
    assert max(diagnosis.lines) >= 4
    assert found.exit_code == 2


def test_a_warning_long_before_a_failure_is_not_its_reason(kb: kbmod.KnowledgeBase) -> None:
    """Forty unrelated lines apart, the warning and the failure are two findings: the failure
    keeps its own level (the traceback header of https://github.com/microsoft/azure_arc/issues/
    2923 after the Gallery warning of PowerShellGallery issue 333)."""
    text = ("WARNING: Unable to resolve package source "
            "'https://www.powershellgallery.com/api/v2'.\n"
            + "Installing dependencies...\n" * 40
            + "The command failed with an unexpected error. Here is the traceback:\n")
    found = diagnose(text, kb)
    severity = {d.diagnosis.cause_id: d.diagnosis.severity for d in found.diagnoses}
    assert severity == {"powershell_gallery_tls": "warn", "azure_cli_unhandled_exception": "fail"}
    assert found.exit_code == 2



def test_an_unrelated_later_error_is_not_the_warnings(kb: kbmod.KnowledgeBase) -> None:
    """A retried lookup the agent logged as a warning, the connection and onboarding that then
    succeeded, and ten minutes later an error no cause explains: not the warning's consequence,
    so both are reported (the warning, and the unrecognised error beside it). The agent's logrus
    layout; the error's words are a stand-in, since no cause may explain it."""
    text = ('time="2026-11-30T10:00:00Z" level=warning msg="Retrying: dial tcp: lookup '
            'gbl.his.arc.azure.com on 127.0.0.53:53: no such host"\n'
            'time="2026-11-30T10:00:05Z" level=info msg="Connected to gbl.his.arc.azure.com"\n'
            'time="2026-11-30T10:00:06Z" level=info msg="Onboarding succeeded"\n'
            'time="2026-11-30T10:10:00Z" level=error msg="failed to write '
            '/var/opt/azcmagent/widget.cfg: frobnication exceeded quota"\n')
    found = diagnose(text, kb)
    severity = {d.diagnosis.cause_id: d.diagnosis.severity for d in found.diagnoses}
    assert severity == {"dns_name_not_found": "warn", "unrecognised_errors": "warn"}
