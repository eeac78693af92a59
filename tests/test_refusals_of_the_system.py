"""Installers that refuse the machine, and the wording they refuse it in (corpus rounds m and n).

Each rule came from a rules-half text of rounds m and n (collected 2026-12-01 from pages nothing
cited before) and the message list behind it; every sample below is a line posted publicly,
copied verbatim (GUIDs, hosts and addresses as the corpus files have them), with its address:

* apt's "The repository 'URI SUITE Release' does not have a Release file." names the repository
  with its suite after a space (apt-pkg/acquire-item.cc), which the packages.microsoft.com
  pattern used to miss; apt's ``E: The ...`` lines now also count as failure lines.
* apt-key is missing from newer Debian and Ubuntu releases; installers that still call it stop.
* Windows Installer's LaunchConditions action ends with return value 3 when the package refuses
  the machine; the line before holds the package's own message.
* A script that opens an .msi through the WindowsInstaller COM object and cannot.
* A product's version refused in a sentence ("Vcenter version 7.0.3 is not supported").
* PowerShell's execution-policy refusal wrapped inside "running scripts is / disabled".
"""

from __future__ import annotations

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# microsoft/linux-package-repositories#271 (corpus n-009): Ubuntu 25.10 is not served yet
N009 = """\
1.128 Ign:5 https://packages.microsoft.com/repos/azure-cli questing InRelease
1.309 Err:6 https://packages.microsoft.com/repos/azure-cli questing Release
1.309   404  Not Found [IP: 203.0.113.10 443]

1.825 E: The repository 'https://packages.microsoft.com/repos/azure-cli questing Release' does not have a Release file.
"""
# MicrosoftDocs/azure-docs-cli#1379 (corpus n-008): a Linux Mint codename in the source list
N008 = """\
E: The repository 'https://packages.microsoft.com/repos/azure-cli tessa Release' does not have a Release file.
N: Updating from such a repository can't be done securely, and is therefore disabled by default.
N: See apt-secure(8) manpage for repository creation and user configuration details.
"""
# https://github.com/rwos/gti/issues/41: another repository's missing Release file beside a
# packages.microsoft.com repository that answered (Hit)
GTI41 = """\
Hit:6 http://packages.microsoft.com/repos/vscode stable InRelease
Ign:7 http://ppa.launchpad.net/mamantoha/gti/ubuntu cosmic InRelease
Err:8 http://ppa.launchpad.net/mamantoha/gti/ubuntu cosmic Release
  404  Not Found [IP: 91.189.95.83 80]
Reading package lists... Done
E: The repository 'http://ppa.launchpad.net/mamantoha/gti/ubuntu cosmic Release' does not have a Release file.
"""


@pytest.mark.parametrize("text", [N009, N008], ids=["ubuntu-25.10", "mint-codename"])
def test_microsoft_repository_without_the_release(kb: kbmod.KnowledgeBase, text: str) -> None:
    report = diagnose(text, kb)
    assert cause_ids(report) == {"unsupported_platform"}
    assert report.exit_code == 2


def test_another_repositorys_missing_release_is_no_microsoft_refusal(
        kb: kbmod.KnowledgeBase) -> None:
    """The failing repository is a PPA; the Microsoft one answered. Still a failure line
    (apt's ``E: The repository ...``), so ``unknown``, never silent."""
    report = diagnose(GTI41, kb)
    assert "unsupported_platform" not in cause_ids(report)
    assert "unknown" in categories(report)
    assert report.exit_code != 0


def test_apt_key_gone(kb: kbmod.KnowledgeBase) -> None:
    # microsoft/mdatp-xplat#213 (corpus m-001): mde_installer.sh on Ubuntu 25.04
    report = diagnose("DEBUG [>] Running command: curl -s https://packages.microsoft.com/keys/"
                      "microsoft.asc | apt-key add -\nDEBUG [>] Command output: src/"
                      "mde_installer.latest.sh: line 209: apt-key: command not found\n", kb)
    assert cause_ids(report) == {"apt_key_removed"}
    assert categories(report) == {"unsupported_environment"}


def test_apt_keys_deprecation_warning_is_not_its_absence(kb: kbmod.KnowledgeBase) -> None:
    # apt-key still there, warning (https://github.com/MicrosoftDocs/windowsserverdocs/issues/5229)
    report = diagnose("Warning: apt-key is deprecated. Manage keyring files in trusted.gpg.d "
                      "instead (see apt-key(8)).\nOK\n", kb)
    assert "apt_key_removed" not in cause_ids(report)


def test_msi_launch_condition(kb: kbmod.KnowledgeBase) -> None:
    # microsoft/mdefordownlevelserver#42 (corpus m-005): md4ws.msi on Windows Server 2012
    report = diagnose("  Product: Microsoft Defender for Endpoint -- Please install \n"
                      "  'Update for customer experience and diagnostic telemetry' (KB3080149)\n"
                      "  Action ended: LaunchConditions. Return value 3.\n", kb)
    assert cause_ids(report) == {"msi_launch_condition_refused"}
    assert report.exit_code == 2


def test_launch_conditions_met_then_another_failure(kb: kbmod.KnowledgeBase) -> None:
    """Conditions met (return value 1), the install failing later: the MSI failure, not a
    refusal of the machine. A ScreenConnect client's verbose log as a public troubleshooting
    guide for its installs quotes it (found through the search tool's code corpus)."""
    text = ("Action start 16:37:07: LaunchConditions.\n"
            "Action ended 16:37:07: LaunchConditions. Return value 1.\n"
            "Action start 16:37:07: ValidateProductID.\n"
            "Action ended 16:37:07: ValidateProductID. Return value 1.\n"
            "Error 1714. The older version of ScreenConnect Client (919d3745b4e34229) cannot be "
            "removed. Contact your technical support group. System Error 1612.\n"
            "Action ended 16:37:07: RemoveExistingProducts. Return value 3.\n"
            "Action ended 16:37:07: INSTALL. Return value 3.\n")
    report = diagnose(text, kb)
    assert "msi_launch_condition_refused" not in cause_ids(report)
    assert "install_failure" in categories(report)


def test_msi_package_unreadable(kb: kbmod.KnowledgeBase) -> None:
    # microsoft/mdefordownlevelserver#33 (corpus m-006): md4ws.msi missing from the folder
    report = diagnose('Invoke-Member : Exception calling "InvokeMember" with "5" argument(s): '
                      '"OpenDatabase,DatabasePath,OpenMode"\n', kb)
    assert cause_ids(report) == {"msi_package_unreadable"}
    assert categories(report) == {"install_failure"}


def test_a_products_version_refused(kb: kbmod.KnowledgeBase) -> None:
    # MicrosoftDocs/azure-docs#86248 (corpus n-001): the vSphere onboarding script
    report = diagnose("retrieving config\n2022-01-11T18:26:36+01:00       INFO    vsphereProvider: "
                      "createConfigHelper\nError: Vcenter version 7.0.3 is not supported\n", kb)
    assert categories(report) == {"unsupported_environment"}


def test_only_a_platforms_version(kb: kbmod.KnowledgeBase) -> None:
    """An API version refused is no refusal of the machine: the Azure API Center portal's
    message as https://github.com/Azure/api-center/issues/45 quotes it, with and without its
    backticks. The other lines are the ones the review of stop 26 used to show that an earlier
    wording (any "<word> version N is not supported") took a TLS, schema or extension version
    for an unsupported machine."""
    pattern = next(p for p in kb.compiled["unsupported_platform"]
                   if p.pattern.startswith(r"\b(?:vCenter|vSphere"))
    for line in ("API version `2024-03-15-preview` is not supported",
                 "API version 2024-03-15-preview is not supported",
                 "Error: TLS version 1.0 is not supported by this server",
                 "error: Schema version 3 is not supported by this build of the tool",
                 "ERROR: extension version 1.10.0 is not supported in region westus"):
        assert not pattern.search(line), line
    assert pattern.search("Error: Vcenter version 7.0.3 is not supported")


def test_execution_policy_refusal_wrapped(kb: kbmod.KnowledgeBase) -> None:
    # https://stackoverflow.com/questions/27753917 (corpus n-004): wrapped after "is"
    report = diagnose("PS C:\\> .\\test.ps1\n.\\test.ps1 : File C:\\test.ps1 cannot be loaded "
                      "because running scripts is\ndisabled on this system. ...\n", kb)
    assert cause_ids(report) == {"local_policy_blocks_program"}


# https://github.com/microsoft/OMS-Agent-for-Linux/issues/451 (corpus p-003, rules half): the
# script reports success around the program it could not run
OMSADMIN = """\
info	Onboarding success
/opt/microsoft/omsagent/bin/omsadmin.sh: line 798: netstat: command not found
Configuring rsyslog for OMS logging
"""


def test_a_script_needs_a_missing_program(kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(OMSADMIN, kb)
    assert cause_ids(report) == {"script_program_missing"}
    assert report.exit_code == 2


def test_the_more_specific_missing_programs_keep_their_causes(kb: kbmod.KnowledgeBase) -> None:
    """apt-key (m-001 above) keeps its own cause and only it; the generic entry is for
    programs nothing more specific names."""
    report = diagnose("DEBUG [>] Command output: src/mde_installer.latest.sh: line 209: apt-key: "
                      "command not found\n", kb)
    assert cause_ids(report) == {"apt_key_removed"}


def test_curl_exit_code_without_the_word_code(kb: kbmod.KnowledgeBase) -> None:
    # https://github.com/MicrosoftDocs/azure-docs/issues/71533 (corpus p-001, rules half): the
    # Log Analytics agent's omsadmin.sh on a server with an old OpenSSL; 35 is SSL_CONNECT_ERROR
    report = diagnose("Error during the onboarding request: curl returned 35. \n", kb)
    assert cause_ids(report) == {"tls_handshake_failure"}
