"""Two client-side causes that onboarding scripts and Azure CLI meet before any Arc call (issue 9
item 2): PowerShellGet unable to reach the PowerShell Gallery because the session offers no TLS
1.2 (the Gallery troubleshooting page's TLS section), and MSAL's authority discovery failing for a
tenant Entra ID does not know. Each sample is a line posted publicly, its source beside it.
"""

from __future__ import annotations

import pytest
from diagtext import assert_reported, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

GALLERY = [
    # Install-Module on Windows PowerShell 5.1 (https://github.com/PowerShell/PowerShellGallery/
    # issues/333)
    "WARNING: Unable to resolve package source 'https://www.powershellgallery.com/api/v2'.",
    # the same with the trailing slash, as https://github.com/MicrosoftDocs/PowerShell-Docs/
    # issues/5978 posted it
    "WARNING: Unable to resolve package source 'https://www.powershellgallery.com/api/v2/'.",
    # the NuGet provider's bootstrap (the troubleshooting page's TLS 1.2 section)
    "WARNING: Unable to download from URI 'https://go.microsoft.com/fwlink/?LinkID=627338&clcid="
    "0x409' to ''.",
    "WARNING: Unable to download the list of available providers. Check your internet connection.",
]


@pytest.mark.parametrize("line", GALLERY)
def test_gallery_unreachable_is_the_tls_cause(kb: kbmod.KnowledgeBase, line: str) -> None:
    report = diagnose(line + "\n", kb)
    assert cause_ids(report) == {"powershell_gallery_tls"}, line
    assert categories(report) == {"tls_protocol"}


def test_gallery_cause_beats_the_empty_search_it_causes(kb: kbmod.KnowledgeBase) -> None:
    """The whole record as PowerShellGallery issue 333 posted it: the empty search that follows
    the unreachable source is a consequence, and the TLS cause is what the report names. Logged
    as a warning, the cause is still the failure's reason: it takes the search's line and its
    level, and the run exits 2 (tests/test_stream_levels.py reads the prefix)."""
    text = (
        "PS>Install-Module -Name powershell-yaml -Scope CurrentUser\n"
        "WARNING: Unable to resolve package source 'https://www.powershellgallery.com/api/v2'.\n"
        "PackageManagement\\Install-Package : No match was found for the specified search criteria"
        " and module name 'powershell-yaml'. Try Get-PSRepository to\n"
        "see all available registered module repositories.\n")
    report = diagnose(text, kb)
    assert cause_ids(report) == {"powershell_gallery_tls"}
    assert categories(report) == {"tls_protocol"}
    diagnosis = report.diagnoses[0].diagnosis
    assert diagnosis.severity == "fail"
    assert diagnosis.lines == (2, 3)
    assert report.exit_code == 2


def test_empty_module_search_alone_is_its_own_finding(kb: kbmod.KnowledgeBase) -> None:
    """Without the unreachable source, the empty search is all there is to report."""
    line = ("PackageManagement\\Install-Package : No match was found for the specified search "
            "criteria and module name 'Az.ConnectedMachine'. Try Get-PSRepository to")
    assert cause_ids(diagnose(line + "\n", kb)) == {"module_search_empty"}


def test_other_package_sources_are_not_the_gallery(kb: kbmod.KnowledgeBase) -> None:
    line = "WARNING: Unable to resolve package source 'https://nuget.contoso.com/api/v2'."
    assert "powershell_gallery_tls" not in cause_ids(diagnose(line + "\n", kb))


@pytest.mark.parametrize("line", [
    # az login for a tenant that does not exist (https://github.com/Azure/azure-cli/issues/24376,
    # corpus g-020, tenant GUID replaced)
    "Unable to get authority configuration for https://login.microsoftonline.com/00000000-0000-"
    "0000-0000-000000000001. Authority would typically be in a format of "
    "https://login.microsoftonline.com/your_tenant Also please double check your tenant name or G",
    # the older MSAL wording (msal/authority.py before the "double check" sentence)
    "ValueError: Unable to get authority configuration for https://login.microsoftonline.com/"
    "contoso.onmicrosoft.com. Authority would typically be in a format of "
    "https://login.microsoftonline.com/your_tenant_name",
])
def test_msal_authority_discovery_names_the_tenant(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert "sp_or_tenant_not_found" in categories(diagnose(line + "\n", kb))


@pytest.mark.parametrize("tenant", ["organizations", "common", "consumers"])
def test_msal_authority_everyone_has_is_not_an_unknown_tenant(kb: kbmod.KnowledgeBase,
                                                              tenant: str) -> None:
    """/organizations exists for every account: failing there is the network or the proxy
    (https://github.com/Azure/azure-cli/issues/20624)."""
    line = (f"Unable to get authority configuration for https://login.microsoftonline.com/{tenant}"
            ". Authority would typically be in a format of https://login.microsoftonline.com/"
            "your_tenant_name")
    assert "sp_or_tenant_not_found" not in categories(diagnose(line + "\n", kb))


def test_convertfrom_json_failure_is_not_silent(kb: kbmod.KnowledgeBase) -> None:
    """The Group Policy onboarding script's ConvertFrom-Json on Windows Server 2012 R2
    (https://github.com/Azure/ArcEnabledServersGroupPolicy/issues/39, corpus g-004): the Normal
    view's ``Cmdlet : message`` line of a built-in cmdlet."""
    assert_reported("ConvertFrom-Json : Invalid object passed in, ':' or '}' expected. (1): {",
                    kb)


HEADER = "The command failed with an unexpected error. Here is the traceback:"


def test_traceback_header_alone_is_the_cli_breaking(kb: kbmod.KnowledgeBase) -> None:
    """Azure CLI's header for an exception it did not handle (https://github.com/Azure/azure-cli/
    issues/22341), with nothing recognisable after it: the CLI broke, and that is the finding."""
    assert cause_ids(diagnose(HEADER + "\n", kb)) == {"azure_cli_unhandled_exception"}


def test_traceback_header_yields_to_the_exception_it_introduces(
        kb: kbmod.KnowledgeBase) -> None:
    """The same header above MSAL's unknown-tenant message (https://github.com/Azure/azure-cli/
    issues/24376, corpus g-020, tenant GUID replaced): the exception says why, the header only
    that the command broke, so the tenant is reported alone (issue 9 item 3)."""
    text = (HEADER + "\n"
            "Unable to get authority configuration for https://login.microsoftonline.com/00000000-"
            "0000-0000-0000-000000000001. Authority would typically be in a format of "
            "https://login.microsoftonline.com/your_tenant Also please double check your tenant "
            "name or G\n"
            "Traceback (most recent call last):\n")
    report = diagnose(text, kb)
    assert categories(report) == {"sp_or_tenant_not_found"}


@pytest.mark.parametrize("line", [
    # a Python traceback's last line when the exception has no message
    # (https://docs.python.org/3/library/exceptions.html: AssertionError, NotImplementedError),
    # and ZeroDivisionError's own text
    "AssertionError",
    "NotImplementedError",
    "ZeroDivisionError: division by zero",
    # the default messages of .NET's ArgumentNullException (with the parameter .NET Core adds),
    # NotImplementedException and DivideByZeroException (dotnet/runtime, System.Private.CoreLib
    # Strings.resx), as Exception.Message prints them
    "Value cannot be null. (Parameter 'source')",
    "The method or operation is not implemented.",
    "Attempted to divide by zero.",
])
def test_programming_errors_are_tool_defects(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert categories(diagnose(line + "\n", kb)) == {"client_tool_bug"}
