"""Failures said in plain words (logs/statements.py) are never met with silence (issue 9 item 4).

Validators, installers, PowerShell, curl and portal blades often state a failure in one sentence,
with no level, no "failed" and no exception name: a bare error code, a bare HTTP reason phrase,
"Expected X but found Y", "does not exist", "Hash Sum mismatch", "Segmentation fault". Each shape
of ``STATEMENT_PATTERNS`` gets at least one line someone posted publicly (its source beside it),
checked to match that very shape and to be reported (some diagnosis, a failing exit code); where
no cause explains the line, the diagnosis is exactly ``unknown``. Healthy neighbours that use the
same words stay silent; the ones that do not are kept as strict expected failures, so the day a
shape or the level reader learns them the test says so. Last, the three knowledge-base wordings of
the same commit, with the rules-half corpus texts they were written from as their samples.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Pattern, Tuple

import pytest
from diagtext import (
    assert_only_unknown,
    assert_reported,
    assert_silent,
    categories,
    cause_ids,
    diagnose,
)

from arc_preflight import kb as kbmod
from arc_preflight.logs.lines import FAILURE_FLAGS, reports_failure
from arc_preflight.logs.statements import STATEMENT_PATTERNS

CASES = Path(__file__).resolve().parent / "corpus" / "cases"

# (index in STATEMENT_PATTERNS, line as posted, whether no cause explains it: exactly unknown)
SAMPLES: List[Tuple[int, str, bool]] = [
    # 0: a line that is only an error code. The poster's own words for the portal's deployment
    # error (https://github.com/MicrosoftDocs/azure-docs/issues/51929), and the Azure Monitor
    # Agent's exit reason on NixOS (corpus h-019, https://github.com/jasonrbenson/nixos-flake-arc/
    # blob/main/docs/gaps-and-findings.md), which the knowledge base explains (test below)
    (0, "InvalidTemplateDeployment", True),
    (0, "UnsupportedOperatingSystem", False),
    # 1: only an HTTP reason phrase. IIS's page for a stopped application pool
    # (https://github.com/textadventures/quest/issues/784), and curl of the WireServer's goal
    # state on an Azure VM (https://github.com/Azure/WALinuxAgent/issues/458)
    (1, "Service Unavailable", True),
    (1, "Bad Request", True),
    # 2: a status with its reason phrase. azqr on ARM throttling
    # (https://github.com/Azure/azqr/issues/34; once read as a cloned machine, which only the
    # agent's own 429s from the Arc service mean), and curl -v against Docker's API
    # (https://github.com/docker-archive/docker-ce/pull/307)
    (2, "RESPONSE 429: 429 Too Many Requests", True),
    (2, "< HTTP/1.1 409 Conflict", True),
    # 3: a validator's assertion. Azure Local's update (corpus e-010, https://github.com/Azure/
    # AzureLocal-Supportability/blob/main/TSG/Update/UpdateOsBuildNumberInEce-MismatchedBuilds.md)
    # and Pester's Should -BeTrue (https://github.com/pester/Pester/blob/
    # 251ce9ec42ded3fd2d11446c9ba86bae9401b4c5/tst/functions/assertions/BeTrueOrFalse.Tests.ps1)
    (3, "Expected NODE02 to be on OS Build Number 10.0.25398.1128 but found 10.0.25398.1085.",
     True),
    (3, "Expected $true, but got $false.", True),
    # 4: what is missing. PowerShell's ItemNotFoundException in Cloud Shell
    # (https://github.com/MicrosoftDocs/azure-docs/issues/20323) and in PowerShell 7's concise
    # view (https://github.com/Azure/azure-sdk-tools/issues/3497)
    (4, "Cannot find path 'Azure:/quickstart' because it does not exist", True),
    (4, "     | Cannot find path 'C:\\Modules' because it does not exist.", True),
    # 5: apt's answer to a mirror caught mid-sync
    # (https://github.com/openmediavault/openmediavault/issues/295,
    # https://github.com/docker-library/official-images/issues/3703); the knowledge base now
    # explains it (package_repository_out_of_sync)
    (5, "  Hash Sum mismatch", False),
    # 6: the Wazuh installation assistant refusing a small machine
    # (https://github.com/wazuh/wazuh/issues/20519)
    (6, "29/11/2023 15:28:22 ERROR: Your system does not meet the recommended minimum hardware "
        "requirements of 4Gb of RAM and 2 CPU cores. If you want to proceed with the "
        "installation use the -i option to ignore these requirements.", True),
    # 7: Azure Local's network validator, inside the exception it raised
    # (https://github.com/microsoft/azure_arc/issues/2714)
    (7, '"Message": "Network requirements not met. Review output and remediate.",', True),
    # 8: .NET's WebException in Windows PowerShell 5.1
    # (https://github.com/asjimene/CMPackager/issues/100); the knowledge base reads it as TLS
    (8, "Invoke-WebRequest : The request was aborted: Could not create SSL/TLS secure channel.",
     False),
    # 9: WinRM's refusal as Enter-PSSession printed it, the console having wrapped the line
    # (https://github.com/rzander/sccmclictr/issues/65)
    (9, "cannot complete the operation. Verify that the specified computer name is valid, that "
        "the computer is", True),
    # 10: Entra ID through Farmer's az CLI call (https://github.com/CompositionalIT/farmer/
    # issues/1070); the knowledge base explains AADSTS700082
    (10, "Farmer.FarmerException: 'ERROR: AADSTS700082: The refresh token has expired due to "
         "inactivity.", False),
    # 11: the shell's report of a killed process (https://github.com/zzh8829/yolov3-tf2/issues/189)
    (11, "Illegal instruction (core dumped)", True),
    # 12: the same for a segfault, quote marker removed (https://github.com/wazuh/wazuh/issues/29245)
    (12, "Segmentation fault", True),
    # 13: the kernel's OOM killer on an Azure VM (https://github.com/Azure/WALinuxAgent/issues/2805)
    (13, "[Mon Apr 17 04:16:45 2023] Memory cgroup out of memory: Killed process 179638 (python3) "
         "total-vm:81128kB, anon-rss:13824kB, file-rss:9284kB, shmem-rss:0kB, UID:0 "
         "pgtables:196kB oom_score_adj:0", True),
    # 14: ARM's throttling body (https://github.com/Azure/migAz/issues/57)
    (14, '{"error":{"code":"TooManyRequests","message":"The request is being throttled."}}', True),
    # 15: Windows Admin Center after installation
    # (https://github.com/MicrosoftDocs/windowsserverdocs/issues/2913)
    (15, "Hmm... Something went wrong - try again", True),
    # 16: Azure CLI's unhandled exception, in Jumpstart's logon script
    # (https://github.com/microsoft/azure_arc/issues/2923); explained as a client tool bug
    (16, "The command failed with an unexpected error. Here is the traceback:", False),
    # 17: aiohttp's ClientResponseError without its class name, as Satellite printed a failed
    # repository sync (corpus k-016, https://github.com/microsoft/linux-package-repositories/
    # issues/283); the knowledge base explains it (package_repository_out_of_sync)
    (17, "404, message='Not Found', url='https://packages.microsoft.com/rhel/8/prod/Packages/a/"
         "azapi2azurerm-0.0.0-1.x86_64.rpm'", False),
]


def _shape(index: int) -> Pattern[str]:
    return re.compile(STATEMENT_PATTERNS[index], FAILURE_FLAGS)


def test_every_statement_shape_has_a_real_sample() -> None:
    assert {index for index, _, _ in SAMPLES} == set(range(len(STATEMENT_PATTERNS)))


@pytest.mark.parametrize(("index", "line", "only_unknown"), SAMPLES)
def test_statement_is_never_silent(kb: kbmod.KnowledgeBase, index: int, line: str,
                                   only_unknown: bool) -> None:
    # the sample is this shape's, not caught by chance by another one
    assert reports_failure(_shape(index), line), (index, line)
    assert_reported(line, kb)
    if only_unknown:
        assert_only_unknown(line, kb)


HEALTHY = [
    # the Wazuh installation assistant's healthy run (https://github.com/wazuh/
    # wazuh-installation-assistant/pull/802): the check that passed, and a warning it goes on from
    "15/05/2026 08:26:26 INFO: Verifying that your system meets the recommended minimum hardware "
    "requirements.",
    "15/05/2026 08:26:26 WARNING: The current system does not match with the list of supported "
    "systems. The installation may not work properly.",
    # ADAL for Python refreshing a cached token, as it logs it (adal/cache_driver.py, quoted in
    # https://github.com/AzureAD/azure-activedirectory-library-for-python/pull/87): "is expired"
    # is not the shape's "has expired"
    "Cached token is expired.  Refreshing:",
    # robocopy's summary row of a run with nothing mismatched or failed
    # (https://pastebin.com/mmXWQ2FY)
    "Dirs : 20166 20166 20163 0 0 0",
]


@pytest.mark.parametrize("line", HEALTHY)
def test_healthy_neighbours_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


# Real healthy lines the first version of the shapes reported (the helper that wrote these tests
# found them; each was then fixed where it was misread, and is kept here so it stays fixed).
ONCE_MISREAD_HEALTHY = [
    # the header as robocopy prints it in every run, here one with all zeros
    # (https://pastebin.com/mmXWQ2FY; spacing as in
    # https://github.com/MicrosoftDocs/windowsserverdocs/issues/5729): a benign line now
    pytest.param("                   Total    Copied   Skipped  Mismatch    FAILED    Extras",
                 id="robocopy-header"),
    # ... behind a wrapper's "time  Info  |" prefix (windowsserverdocs issue 5729); that layout's
    # Info column is now read as a level too
    pytest.param("12:56:51   Info     |                    Total    Copied   Skipped  Mismatch    "
                 "FAILED    Extras", id="robocopy-header-info"),
    # robocopy's exit code 0 as its documentation words it
    # (https://github.com/MicrosoftDocs/windowsserverdocs/issues/1221): "were mismatched" is no
    # longer the shape
    pytest.param("No files were copied. No failure was encountered.  No files were mismatched. "
                 "The files already exist in the destination directory; therefore, the copy "
                 "operation was skipped.", id="robocopy-exit-0"),
    # the Wazuh installation assistant's warning on an 8 GB VM; the installation then completed
    # (https://github.com/wazuh/wazuh-installation-assistant/issues/924): the level of
    # "DD/MM/YYYY HH:MM:SS WARNING:" is now read
    pytest.param("07/07/2026 08:23:06 WARNING: Your system does not meet the recommended minimum "
                 "hardware requirements of 16Gb of RAM and 8 CPU cores. The installation will "
                 "continue, but it may not work properly.", id="wazuh-warning"),
]


@pytest.mark.parametrize("line", ONCE_MISREAD_HEALTHY)
def test_healthy_lines_once_misread_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


# The knowledge-base wordings of the same commit, from rules-half corpus texts (quoted from their
# bodies; the source each file's header names beside it).

# corpus h-003 (https://github.com/jasonrbenson/nixos-flake-arc/blob/main/docs/
# gaps-and-findings.md): the ChangeTracking-Linux handler on NixOS
_NIXOS_DISTRO = "unsupported Linux distro 'nixos'"
# corpus h-019 (the same write-up): the Azure Monitor Agent's installer, exit code 51
_AMA_OS = "UnsupportedOperatingSystem"
# corpus h-016 (https://github.com/microsoft/azure_arc/issues/3311): the resource provider's
# one-extension-operation-at-a-time refusal, as the portal's deployment blade shows it
_HCRP409 = ("An extension of type MicrosoftDefenderForSQL is still processing. Only one instance "
            "of an extension may be in progress at a time for the same resource. Please make a "
            "request to remove the extension and try the operation again.\n"
            "\n"
            " (Code: HCRP409)")
# corpus e-010 (https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Update/
# UpdateOsBuildNumberInEce-MismatchedBuilds.md)
_BUILD_MISMATCH = ("Expected NODE02 to be on OS Build Number 10.0.25398.1128 but found "
                   "10.0.25398.1085.")


@pytest.mark.parametrize(("name", "quoted"), [
    ("h-003", _NIXOS_DISTRO), ("h-019", _AMA_OS), ("h-016", _HCRP409),
    ("e-010", _BUILD_MISMATCH)])
def test_quotes_are_the_corpus_texts(name: str, quoted: str) -> None:
    """The samples below are quoted, not paraphrased: each is in its rules-half corpus file."""
    body = (CASES / f"{name}.txt").read_text(encoding="utf-8").split("+++", 2)[2]
    assert quoted in body


@pytest.mark.parametrize("text", [_NIXOS_DISTRO, _AMA_OS])
def test_unsupported_distribution_is_the_environment(kb: kbmod.KnowledgeBase, text: str) -> None:
    report = diagnose(text + "\n", kb)
    assert categories(report) == {"unsupported_environment"}
    assert report.exit_code != 0


def test_one_extension_operation_at_a_time_is_an_extension_failure(
        kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(_HCRP409 + "\n", kb)
    assert categories(report) == {"extension_failure"}
    assert report.exit_code != 0
    # the refusal's words alone, without the code the portal appends
    assert categories(diagnose(_HCRP409.split("\n")[0] + "\n", kb)) == {"extension_failure"}


def test_build_number_assertion_is_reported(kb: kbmod.KnowledgeBase) -> None:
    assert_reported(_BUILD_MISMATCH, kb)


# The agent's own 429 is a cloned identity; Resource Manager's is throttling, and says nothing
# about a clone. The lines are tests/test_agent_host.py's: the agent's logrus shape of a real line
# (https://github.com/JanneMattila/azure-arc-demos/blob/main/servers/networking.md) with the
# 429 that agent-overview.md's cloning guidelines and release notes 1.57 describe.
_HIS_429 = ('time="2026-11-02T08:15:04Z" level=error msg="Failed to send heartbeat" '
            'Error="PUT \\"https://westeurope.his.arc.azure.com/subscriptions/0000/'
            'heartbeat?api-version=2.1\\": 429 Too Many Requests"')
_ARM_429 = ('time="2026-11-02T08:16:00Z" level=error msg="Request failed" Error="GET '
            '\\"https://management.azure.com/subscriptions\\": 429 Too Many Requests"')


def test_only_the_arc_services_429_reads_as_a_clone(kb: kbmod.KnowledgeBase) -> None:
    assert cause_ids(diagnose(_HIS_429 + "\n", kb)) == {"cloned_machine_duplicate"}
    assert "cloned_machine_duplicate" not in cause_ids(diagnose(_ARM_429 + "\n", kb))
    assert_only_unknown(_ARM_429, kb)
