"""Wordings read from the rules halves of corpus rounds ``j`` and ``k`` and the published
message lists they belong to (issue 9 items 1-2): apt's repository refusals, PowerShellGet's
unavailable Gallery, .NET Framework's closed connection as the TLS version problem it usually
is, and Entra ID's assertion time window behind the codes that only wrap a reason (AADSTS70002,
50012). Round k adds a retired cloud, a certificate key .NET Framework cannot use, and a package
file the repository's index names but does not have. Each sample is a line posted publicly, its
source beside it; the corpus files are quoted from their bodies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from diagtext import assert_silent, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

CASES = Path(__file__).resolve().parent / "corpus" / "cases"

# --- apt: a repository out of sync, a repository that changed --------------------------------

# corpus j-022 (https://github.com/dotnet/core/issues/5373): the packages.microsoft.com feed
# mid-update; apt's progress line for the item, then the reason on its own indented line
_UNEXPECTED_SIZE = (
    "Get:1 https://packages.microsoft.com/ubuntu/18.04/prod bionic InRelease [4003 B]\n"
    "Get:2 https://packages.microsoft.com/ubuntu/18.04/prod bionic/main amd64 Packages [156 kB]\n"
    "Err:2 https://packages.microsoft.com/ubuntu/18.04/prod bionic/main amd64 Packages\n"
    "  File has unexpected size (156011 != 155826). Mirror sync in progress? [IP: 203.0.113.1 "
    "443]\n")

# corpus j-021 (https://github.com/microsoft/linux-package-repositories/issues/98)
_CHANGED_ORIGIN = ("E: Repository 'https://packages.microsoft.com/repos/azurecore bionic "
                   "InRelease' changed its 'Origin' value from 'azurecore bionic' to 'Pulp 3'")


def test_mirror_mid_sync_is_the_repository_not_the_network(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_UNEXPECTED_SIZE, kb)
    assert cause_ids(found) == {"package_repository_out_of_sync"}
    assert found.exit_code == 2


@pytest.mark.parametrize("line", [
    # apt's own reason line, as a mirror caught mid-sync printed it
    # (https://github.com/openmediavault/openmediavault/issues/295)
    "  Hash Sum mismatch",
    # the reason inside apt's summary (https://github.com/emqx/emqx/issues/3908)
    "E: Failed to fetch https://repos.emqx.io/emqx-ce/deb/ubuntu/dists/./xenial/stable/"
    "binary-amd64/Packages.gz  Hash Sum mismatch",
])
def test_hash_sum_mismatch_is_the_repository_out_of_sync(kb: kbmod.KnowledgeBase,
                                                         line: str) -> None:
    assert "package_repository_out_of_sync" in cause_ids(diagnose(line + "\n", kb))


def test_a_changed_release_field_is_aptss_refusal(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_CHANGED_ORIGIN + "\n", kb)
    assert cause_ids(found) == {"package_repository_changed"}
    remedy = " ".join(found.diagnoses[0].diagnosis.remedy)
    assert "--allow-releaseinfo-change" in remedy


@pytest.mark.parametrize("line", [
    # apt's other progress lines, from the same paste (corpus j-022)
    "Get:1 https://packages.microsoft.com/ubuntu/18.04/prod bionic InRelease [4003 B]",
    # ... and an unchanged index and an ignored one, as apt prints them on every update
    # (https://github.com/microsoft/linux-package-repositories/issues/98)
    "Hit:1 http://archive.ubuntu.com/ubuntu bionic InRelease",
    "Ign:3 https://packages.microsoft.com/repos/azurecore bionic InRelease",
])
def test_the_other_progress_lines_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


# --- PowerShellGet's unavailable Gallery ------------------------------------------------------

# corpus j-013 (https://github.com/PowerShell/PowerShellGallery/issues/205): Update-Module in
# Windows PowerShell 5.1, PowerShellGet 1.0.0.1
_GALLERY_UNAVAILABLE = (
    "Get-PSGalleryApiAvailability : PowerShell Gallery is currently unavailable.  Please try "
    "again later.\n"
    "At C:\\Program Files\\WindowsPowerShell\\Modules\\PowerShellGet\\1.0.0.1\\PSModule.psm1:2038 "
    "char:13\n"
    "+             Get-PSGalleryApiAvailability -Repository (Get-SourceName  ...\n"
    "    + CategoryInfo          : InvalidOperation: (:) [Get-PSGalleryApiAvailability], "
    "InvalidOperationException\n"
    "    + FullyQualifiedErrorId : PowerShellGalleryUnavailable,Get-PSGalleryApiAvailability\n")


def test_gallery_unavailable_is_the_gallery_tls_cause(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_GALLERY_UNAVAILABLE, kb)
    assert cause_ids(found) == {"powershell_gallery_tls"}


def test_the_error_id_alone_names_it_too(kb: kbmod.KnowledgeBase) -> None:
    line = ("    + FullyQualifiedErrorId : PowerShellGalleryUnavailable,"
            "Get-PSGalleryApiAvailability")
    assert cause_ids(diagnose(line + "\n", kb)) == {"powershell_gallery_tls"}


# --- .NET Framework's closed connection -------------------------------------------------------

# corpus j-025 (https://github.com/ryan-jan/MSCatalog/issues/8): the module's author enabled
# TLS 1.2 to fix it
_SEND_FAILURE = ("Invoke-WebRequest : The underlying connection was closed: An unexpected error "
                 "occurred on a send.")


def test_send_failure_reads_as_tls_version_and_as_the_network(kb: kbmod.KnowledgeBase) -> None:
    """Both readings stay: the session's TLS version (the usual reason) and a box on the way
    cutting the connection (the same words)."""
    found = diagnose(_SEND_FAILURE + "\n", kb)
    assert categories(found) == {"tls_protocol", "firewall_or_proxy_blocking"}
    assert "dotnet_tls12_not_offered" in cause_ids(found)
    tls = next(d.diagnosis for d in found.diagnoses
               if d.diagnosis.cause_id == "dotnet_tls12_not_offered")
    assert any("Tls12" in step for step in tls.remedy)


# --- Entra ID's assertion window --------------------------------------------------------------

# corpus j-010 (https://github.com/AzureAD/azure-activedirectory-library-for-java/issues/46), its
# second test failure line as the file holds it: the reporter's clock was wrong; ntpdate fixed it
_ASSERTION_WINDOW = (CASES / "j-010.txt").read_text(encoding="utf-8").splitlines()[9]


def test_assertion_outside_its_window_names_the_clock(kb: kbmod.KnowledgeBase) -> None:
    """AADSTS70002 and 50012 only wrap the reason: the sentence after them is about time, so the
    clock is the diagnosis, a failure (the sign-in was refused), not the secret."""
    assert "AADSTS50012: Client assertion is not within its valid time range" in _ASSERTION_WINDOW
    found = diagnose(_ASSERTION_WINDOW + "\n", kb)
    assert cause_ids(found) == {"entra_assertion_time_window"}
    assert categories(found) == {"clock_skew"}
    assert found.exit_code == 2


# The same wrappers around a wrong secret, as ASP.NET Core logged MSAL's exception
# (https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/544)
_WRAPPED_SECRET = ("Microsoft.Identity.Client.MsalServiceException: AADSTS70002: Error "
                   "validating credentials. AADSTS50012: Invalid client secret is provided.")


def test_wrapped_wrong_secret_is_the_secret(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_WRAPPED_SECRET + "\n", kb)
    assert cause_ids(found) == {"invalid_sp_secret"}


def test_wrapper_codes_alone_are_a_refused_credential(kb: kbmod.KnowledgeBase) -> None:
    """With the reason cut off, the wrapper still says the credentials were refused."""
    found = diagnose("AADSTS70002: Error validating credentials.\n", kb)
    assert cause_ids(found) == {"entra_credentials_rejected"}
    assert categories(found) == {"invalid_sp_secret"}
    assert found.exit_code == 2


def test_apts_w_prefix_is_no_warning_level(kb: kbmod.KnowledgeBase) -> None:
    """apt prints the fetch failures of an update under ``W: `` (here the index could not be
    refreshed and the update ended in "Some index files failed to download",
    https://github.com/MathWebSearch/mws/issues/92), so ``W: `` is not read as a warning level:
    the failure stays one."""
    found = diagnose("W: Failed to fetch http://nova.clouds.archive.ubuntu.com/ubuntu/dists/"
                     "trusty-updates/main/i18n/Translation-en  Hash Sum mismatch\n", kb)
    assert cause_ids(found) == {"package_repository_out_of_sync"}
    assert found.exit_code == 2


def test_a_fetch_that_names_the_repositorys_fault_is_not_the_firewall(
        kb: kbmod.KnowledgeBase) -> None:
    """apt's summary line names the host and the reason; the reason (the repository mid-sync)
    wins over the reading that the host is blocked. The December 2019 outage of the Microsoft
    repositories as posted in https://github.com/microsoft/vscode/issues/86858 (server address
    replaced) and https://github.com/microsoft/dotnet/issues/1152."""
    for line in (
            "E: Failed to fetch https://packages.microsoft.com/repos/vscode/dists/stable/main/"
            "binary-amd64/Packages.bz2  File has unexpected size (156056 != 156065). Mirror sync "
            "in progress? [IP: 203.0.113.1 443]",
            "E: Failed to fetch https://packages.microsoft.com/ubuntu/16.04/prod/dists/xenial/"
            "main/binary-amd64/Packages.gz  Hash Sum mismatch"):
        assert cause_ids(diagnose(line + "\n", kb)) == {"package_repository_out_of_sync"}, line


# Debian's point release and its new oldstable, as https://github.com/freedomofpress/securedrop/
# issues/6070 posted apt's answer: the Version change is noted (N:), the Suite change refused (E:)
_SUITE_REFUSED = ("E: Repository 'http://deb.debian.org/debian buster InRelease' changed its "
                  "'Suite' value from 'stable' to 'oldstable'")
_VERSION_NOTED = ("N: Repository 'http://deb.debian.org/debian buster InRelease' changed its "
                  "'Version' value from '10.6' to '10.10'")


def test_a_refused_suite_change_is_the_repository_changed(kb: kbmod.KnowledgeBase) -> None:
    assert cause_ids(diagnose(_SUITE_REFUSED + "\n", kb)) == {"package_repository_changed"}


def test_a_noted_version_change_is_healthy(kb: kbmod.KnowledgeBase) -> None:
    assert_silent(_VERSION_NOTED, kb)


# --- the provider's tag limits ----------------------------------------------------------------


def test_provider_refusing_tags_names_the_tags(kb: kbmod.KnowledgeBase) -> None:
    """The Custom Script extension refused with HCRP400 (corpus i-005,
    https://github.com/Azure/azure-policy/issues/1101, where a Modify policy added the tags):
    the message names the tags. (The bare code's "an argument is invalid" stays beside it: a
    fold by category also hid an error about another flag, found in review.)"""
    body = (CASES / "i-005.txt").read_text(encoding="utf-8").split("\n+++\n", 1)[1]
    assert "Invalid Tag values" in body
    found = diagnose(body, kb)
    assert "tags_refused_by_provider" in cause_ids(found)
    tags = next(d.diagnosis for d in found.diagnoses
                if d.diagnosis.cause_id == "tags_refused_by_provider")
    assert "Modify policies" in " ".join(tags.remedy)



def _body(name: str) -> str:
    return (CASES / name).read_text(encoding="utf-8").split("\n+++\n", 1)[1]


def test_a_package_file_the_repository_lacks(kb: kbmod.KnowledgeBase) -> None:
    """Satellite syncing packages.microsoft.com: the index names an RPM the repository answers
    404 for (corpus k-016, https://github.com/microsoft/linux-package-repositories/issues/283)."""
    body = _body("k-016.txt")
    assert "404, message='Not Found'" in body
    assert cause_ids(diagnose(body, kb)) == {"package_repository_out_of_sync"}


def test_apt_404_for_a_package_is_the_index_not_the_network(kb: kbmod.KnowledgeBase) -> None:
    """apt asking for a .deb its index names during the June 2021 outage of the Microsoft
    repositories, as https://github.com/dotnet/core/issues/6381 posted it (server address
    replaced): the repository's fault, not a blocked host."""
    line = ("E: Failed to fetch https://packages.microsoft.com/ubuntu/20.04/prod/pool/main/d/"
            "dotnet-host/dotnet-host-5.0.7-x64.deb  404  Not Found [IP: 203.0.113.1 443]")
    assert cause_ids(diagnose(line + "\n", kb)) == {"package_repository_out_of_sync"}


def test_the_retired_german_cloud_is_the_cloud(kb: kbmod.KnowledgeBase) -> None:
    """az login against login.microsoftonline.de (corpus k-017,
    https://github.com/Azure/azure-cli/issues/22145): the cloud was closed in 2021, so the tenant
    is not "not found", the client names a cloud that no longer exists."""
    body = _body("k-017.txt")
    assert "login.microsoftonline.de" in body
    found = diagnose(body, kb)
    assert categories(found) == {"invalid_cloud"}
    assert cause_ids(found) == {"cloud_germany_retired"}


def test_a_cng_key_is_the_certificate_credential(kb: kbmod.KnowledgeBase) -> None:
    """Connect-AzAccount with a certificate whose key .NET Framework cannot open (corpus k-018,
    https://github.com/MicrosoftDocs/azure-docs-powershell/issues/1018)."""
    found = diagnose("Connect-AzAccount : Invalid provider type specified.\n", kb)
    assert cause_ids(found) == {"sp_cert_key_provider_unsupported"}
    assert categories(found) == {"invalid_sp_secret"}



# --- what the wrappers and the retired cloud must leave alone (found in review) ---------------


def test_a_clock_warning_does_not_swallow_a_refused_sign_in(kb: kbmod.KnowledgeBase) -> None:
    """The agent's clock warning (the offset warning of agents 1.29+, logrus layout) and, on
    another line, a bare credential refusal: two findings, the sign-in still failed (exit 2).
    The refusal's wording is MSAL.NET's (https://github.com/AzureAD/microsoft-authentication-
    library-for-dotnet/issues/544) cut after the wrapper code."""
    text = ('time="2026-11-30T10:00:00Z" level=warning msg="The local clock offset of 130 '
            'seconds exceeds the recommended threshold"\n'
            'time="2026-11-30T10:00:01Z" level=error msg="AADSTS70002: Error validating '
            'credentials."\n')
    found = diagnose(text, kb)
    assert "entra_credentials_rejected" in cause_ids(found)
    assert found.exit_code == 2


@pytest.mark.parametrize("line", [
    # Get-AzEnvironment's table and az cloud list's entry name the retired cloud's host on every
    # machine (Az.Accounts' built-in environments)
    "AzureGermanCloud  https://management.microsoftazure.de/ https://login.microsoftonline.de/",
    '    "activeDirectory": "https://login.microsoftonline.de",',
])
def test_a_list_of_clouds_is_no_retired_cloud_failure(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


def test_signtool_is_no_sign_in(kb: kbmod.KnowledgeBase) -> None:
    """SignTool's key error has the same words (0x80090014, NTE_BAD_PROV_TYPE) and is no Azure
    sign-in."""
    found = diagnose("SignTool Error: Invalid provider type specified. (0x80090014)\n", kb)
    assert "sp_cert_key_provider_unsupported" not in cause_ids(found)


def test_python_apt_writes_no_space_after_e(kb: kbmod.KnowledgeBase) -> None:
    """Ansible's apt module relays python-apt's error without the space
    (https://github.com/ansible/ansible/issues/48352)."""
    line = ("E:Repository 'https://dl.ubnt.com/unifi/debian stable InRelease' changed its "
            "'Codename' value from 'unifi-5.9' to 'unifi-5.10'")
    assert cause_ids(diagnose(line + "\n", kb)) == {"package_repository_changed"}


def test_a_release_the_repository_does_not_publish_is_still_a_failed_fetch(
        kb: kbmod.KnowledgeBase) -> None:
    """A 404 for the index of a release packages.microsoft.com does not carry is no package file
    its index names: the fetch failure stays (the release path of the Ubuntu 25.10 repository as
    the install script builds it)."""
    line = ("E: Failed to fetch https://packages.microsoft.com/ubuntu/25.10/prod/dists/questing/"
            "InRelease  404  Not Found")
    assert "package_repository_out_of_sync" not in cause_ids(diagnose(line + "\n", kb))
    assert diagnose(line + "\n", kb).exit_code == 2


def test_the_auth_probes_clock_code_is_the_assertion_window(kb: kbmod.KnowledgeBase) -> None:
    """``check --auth`` maps AADSTS700024 to ``auth.clock``; its diagnosis is the failed
    sign-in caused by time, not the agent's clock warning."""
    cause = kb.for_failure("auth.clock")
    assert cause is not None and cause.id == "entra_assertion_time_window"
    assert cause.severity == "fail"


# --- extension handlers' own words (round l's rules half) -------------------------------------


@pytest.mark.parametrize("name", ["l-009.txt", "l-019.txt"])
def test_an_extension_handlers_failure_is_the_extension(kb: kbmod.KnowledgeBase,
                                                         name: str) -> None:
    """systemd unable to start the Guest Configuration extension's binary (corpus l-009,
    https://github.com/Azure/WALinuxAgent/issues/2005) and the Log Analytics handler's "Enable
    failed with exit code 52" (corpus l-019, https://github.com/microsoft/OMS-Agent-for-Linux/
    issues/1106)."""
    assert categories(diagnose(_body(name), kb)) == {"extension_failure"}


def test_the_handlers_status_line_joins_its_reason(kb: kbmod.KnowledgeBase) -> None:
    """The Linux Diagnostic handler's "Install,error,1,..." status line (corpus l-006,
    https://github.com/Azure/azure-linux-extensions/issues/695) names the dpkg lock: the lock is
    the diagnosis, the handler's failure its evidence."""
    body = _body("l-006.txt")
    assert "] Install,error,1," in body
    found = diagnose(body, kb)
    assert cause_ids(found) == {"installer_lock_busy"}
    assert len(found.diagnoses[0].diagnosis.lines) >= 2
