"""zypper's and libzypp's own failure messages (SUSE), as admins paste them.

libzypp words its media errors in zypp/media/MediaException.cc (a 403 is "Permission to access
'%s' denied.", a 404 "File '%s' not found on medium '%s'", a timeout "Timeout exceeded when
accessing '%s'.", a 503 "Location '%s' is temporarily unaccessible.") and zypper its refresh
verdicts ("Repository '%s' is invalid.", "Valid metadata not found at specified URL"). None of
them has an error level, an ``error:`` prefix or the word "failed", so before these shapes a
zypper refresh that could not reach the agent's repository said nothing at all. Every sample
is verbatim from the thread named beside it.
"""

from __future__ import annotations

from diagtext import assert_silent, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# https://github.com/microsoft/linux-package-repositories/issues/136: the agent's repository on
# SLES 12 answers 403 to zypper's refresh
FORBIDDEN = """\
Repository 'SLES12-SP5-Pool' is up to date.
Repository 'SLES12-SP5-Updates' is up to date.
Permission to access 'https://packages.microsoft.com/sles/12/prod/media.1/media' denied.
Abort, retry, ignore? [a/r/i/...? shows all options] (a): a
"""
# https://github.com/dotnet/arcade/issues/11651: the Microsoft SLES repository's metadata
# unusable (fixed on the server the next day)
INVALID_MICROSOFT = """\
zypper --no-gpg-checks refresh
Repository 'packages-microsoft-com-prod' is invalid.
[packages-microsoft-com-prod|https://packages.microsoft.com/sles/12/prod] Valid metadata not found at specified URL
Please check if the URIs defined for this repository are pointing to a valid repository.
Skipping repository 'packages-microsoft-com-prod' because of the above error.
Some of the repositories have not been refreshed because of an error.
"""
# https://github.com/microsoft/linux-package-repositories/issues/280: the index names a package
# file the repository does not have
MISSING_PACKAGE = """\
Retrieving: mssql-zulu-jre-8-8.50.0.52_1-1.x86_64 (packages-microsoft-com-prod)                                               (17/21),  41.3 MiB
Retrieving: mssql-zulu-jre-8-8.50.0.52_1-1.x86_64.rpm ...................................................................................[not found]
File './Packages/m/mssql-zulu-jre-8-8.50.0.52_1-1.x86_64.rpm' not found on medium 'https://packages.microsoft.com/sles/15/prod/'
"""
# https://github.com/openSUSE/MirrorCache/issues/403: another repository's missing metadata file
MIRROR = """\
$> zypper ref
Retrieving repository 'Update repository of openSUSE Leap 15.4 Backports' metadata ...........................[error]
Repository 'Update repository of openSUSE Leap 15.4 Backports' is invalid.
[openSUSE_Leap_15.4_repo-backports-update|http://download.opensuse.org/update/leap/15.4/backports/] Valid metadata not found at specified URL
History:
 - File './repodata/e1d0b4e3dfe282b244839c74d433c23f91396e33530e6ea9a6a0b0dd0003f199-deltainfo.xml.gz' not found on medium 'http://download.opensuse.org/update/leap/15.4/backports/'
"""


def test_forbidden_microsoft_repository(kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(FORBIDDEN, kb)
    assert cause_ids(report) == {"package_repo_blocked"}
    assert report.exit_code == 2


def test_invalid_microsoft_repository_is_reported_not_guessed(kb: kbmod.KnowledgeBase) -> None:
    """Unusable metadata has more than one reason (a server-side fault here; a proxy's page or
    a release the repository does not serve elsewhere): reported as unknown, never silent."""
    report = diagnose(INVALID_MICROSOFT, kb)
    assert categories(report) == {"unknown"}
    assert report.exit_code != 0


def test_package_file_missing_from_microsoft_repository(kb: kbmod.KnowledgeBase) -> None:
    report = diagnose(MISSING_PACKAGE, kb)
    assert cause_ids(report) == {"package_repository_out_of_sync"}


def test_another_repositorys_metadata(kb: kbmod.KnowledgeBase) -> None:
    """A distribution mirror's missing metadata file is no Microsoft repository fault and no
    blocked download: unknown, with the lines as evidence."""
    report = diagnose(MIRROR, kb)
    assert categories(report) == {"unknown"}
    lines = {line for d in report.diagnoses for line in d.diagnosis.lines}
    assert 3 in lines


def test_up_to_date_repositories_are_silent(kb: kbmod.KnowledgeBase) -> None:
    # the refresh lines of the same SLES 12 machine before the failing one (issue 136 above)
    assert_silent("Repository 'SLES12-SP5-Pool' is up to date.\n"
                  "Repository 'SLES12-SP5-Updates' is up to date.", kb)
