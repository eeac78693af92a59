"""``diagnose`` on the shapes of text other tools print around the agent (issue 9, second round):
azcmagent exit codes quoted by another tool, the ESU license check, Azure Local environment
checker records, Azure CLI and Az PowerShell error blocks, extension status texts.

Every sample names the public text whose shape it copies.
"""

from __future__ import annotations

import io
from typing import Set

import pytest

from arc_preflight import kb as kbmod
from arc_preflight.logs.diagnose import diagnose_path
from arc_preflight.logs.lines import exit_code_azcm
from arc_preflight.model import LogReport


@pytest.fixture(scope="module")
def kb() -> kbmod.KnowledgeBase:
    return kbmod.load()


def diagnose(text: str, kb: kbmod.KnowledgeBase) -> LogReport:
    """What ``arc-preflight diagnose -`` reports for ``text`` on stdin."""
    return diagnose_path("-", kb, stdin=io.BytesIO(text.encode("utf-8")))


def categories(report: LogReport) -> Set[str]:
    return {d.diagnosis.category for d in report.diagnoses}


# ---------------------------------------------------------------------------------------------
# azcmagent exit codes printed by another tool
# ---------------------------------------------------------------------------------------------

# The Azure Local known issues list quotes the registration error of Arc bootstrap:
# https://learn.microsoft.com/azure/azure-local/known-issues (issue 33008717)
EXIT_42 = ("AZCMAgent command failed with error: >> exitcode: 42. Additional Info: See "
           "https://aka.ms/arc/azcmerror")


def test_exit_code_of_azcmagent_is_its_azcm_code() -> None:
    """troubleshoot-agent-onboard.md, "Agent exit codes": the exit code equals the AZCM
    number (42 failed to create the Azure resource, 26 network error)."""
    assert exit_code_azcm(EXIT_42) == ("AZCM0042",)
    assert exit_code_azcm("azcmagent.exe exited with code 26") == ("AZCM0026",)
    # another program's exit code, and azcmagent's default error 1, stand for no AZCM code
    assert exit_code_azcm("msiexec exited with code 42") == ()
    assert exit_code_azcm("azcmagent failed, exit code 1") == ()


def test_exit_code_alone_lists_the_codes_causes(kb: kbmod.KnowledgeBase) -> None:
    """With nothing more specific, exit code 42 means what AZCM0042 means (its documented
    causes: permissions, an unregistered provider, a policy), not an unknown error."""
    report = diagnose(EXIT_42 + "\n", kb)
    got = categories(report)
    assert "unknown" not in got
    assert {"missing_role_permission", "resource_provider_not_registered"} <= got
    assert all("AZCM0042" in d.diagnosis.azcm for d in report.diagnoses)


def test_exit_code_beside_a_specific_cause_joins_it(kb: kbmod.KnowledgeBase) -> None:
    """Item 3: an ARM code on the same attempt wins over exit code 42's generic list (the ARM
    lines as Azure CLI prints them, https://github.com/Azure/azure-cli/issues/20232)."""
    text = ("(ScopeLocked) The scope '...' cannot perform delete operation because following "
            "scope(s) are locked: '...'. Please remove the lock and try again.\n"
            "Code: ScopeLocked\n" + EXIT_42 + "\n")
    report = diagnose(text, kb)
    assert categories(report) == {"resource_locked"}
    assert "AZCM0042" in report.diagnoses[0].diagnosis.azcm


# ---------------------------------------------------------------------------------------------
# Extended Security Updates license check
# ---------------------------------------------------------------------------------------------


def test_esu_not_eligible_is_a_stale_license(kb: kbmod.KnowledgeBase) -> None:
    """troubleshoot-extended-security-updates.md, "Error: Not eligible (HRESULT 1633)": the
    fix is deleting the cached license.json and restarting HIMDS
    (https://learn.microsoft.com/azure/azure-arc/servers/troubleshoot-extended-security-updates)."""
    report = diagnose("ESU: not eligible HRESULT_FROM_WIN32(1633)\n", kb)
    assert categories(report) == {"esu_license_stale"}
    assert any("license.json" in step for step in report.diagnoses[0].diagnosis.remedy)
