"""Never silent (issue 9 item 4) on the failure shapes of more tools' log layouts: the level as a
column after the time stamp, Python logging's stock layouts, Get-WinEvent's table, an HTTP status
in a JSON body, ``sc query``'s exit codes, Windows' service and sign-in error texts, Go's I/O
errors, results said in words, CPython's traceback header and PowerShell 7's concise view of the
built-in cmdlets an admin onboards with. Each failure sample is a line posted publicly (its
source beside it), and each shape's healthy neighbour stays silent.
"""

from __future__ import annotations

import pytest
from diagtext import assert_reported, assert_silent, categories, diagnose

from arc_preflight import kb as kbmod

FAILURES = [
    # the level as a column after the time (the Azure Linux agent's log,
    # https://github.com/Azure/WALinuxAgent/issues/812)
    "2017/07/17 10:18:56.439962 ERROR Event: name=WALinuxAgent, op=Restart, "
    "message=WALinuxAgent-2.2.10 did not terminate cleanly",
    # ... behind another tool's prefix (https://github.com/microsoft/lisa/issues/340)
    "06/19/2019 05:20:10 AM : INFO : Errors: 2019/06/19 05:13:42.806271 ERROR ExtHandler "
    "Event: name=WALinuxAgent, op=AutoUpdate, message=, duration=0",
    # Python logging's cookbook layout and basicConfig's (Doc/howto/logging.rst in
    # python/cpython, https://docs.python.org/3/howto/logging.html)
    "2005-03-19 15:10:26,697 - simple_example - ERROR - error message",
    "ERROR:root:And non-ASCII stuff, too, like Øresund and Malmö",
    # https://github.com/Azure/azure-sdk-for-python/issues/34717
    "ERROR:azure.servicebus.aio._base_handler_async:Unexpected error occurred (ValueError('Value "
    "supplied for int invalid: 1709502629433')). Handler shutting down.",
    # a Get-WinEvent table row at level Error (https://github.com/PowerShell/PowerShell/issues/7664)
    "8/13/2015 3:05:14 PM          7023 Error            \u3000Windows Modules Installer "
    "terminated with the following error: %%16405",
    # an HTTP status in a JSON error body (https://github.com/goferito/node-bing-api/issues/34)
    '{ "statusCode": 403, "message": "Out of call volume quota. Quota will be replenished in '
    '22.14:18:12." }',
    # sc query of a service that stopped with an error (sergueik/powershell_samples,
    # external/csharp/basic-named-pipe/README.md)
    "        WIN32_EXIT_CODE    : 1067  (0x42b)",
    # Windows' service and sign-in error texts (system error codes 1058, 1060, 1314, 1327,
    # 1909): https://github.com/microsoft/winget-cli/issues/3442,
    # https://github.com/LordOfMice/hidusbf/issues/204, https://github.com/dahall/TaskScheduler/
    # issues/454, https://github.com/stascorp/rdpwrap/issues/161,
    # https://github.com/indico/indico/issues/91
    "The service cannot be started, either because it is disabled or because it has no enabled "
    "devices associated with it.",
    "1060 The specified service does not exist as an installed service",
    "A required privilege is not held by the client Exception from HRESULT: 0x80070522",
    "account restrictions are preventing this user from signing in",
    "exception message => Nice authentication problem: System.Security.SecurityException: The "
    "referenced account is currently locked out and may not be logged on to.",
    # Go's I/O errors (https://github.com/hashicorp/terraform-provider-azurerm/issues/10015,
    # https://github.com/Azure/azure-storage-azcopy/issues/1432)
    "azurerm: Failure sending request: StatusCode=0 -- Original Error: context deadline exceeded",
    '\tHead "https://dat831000sta002.blob.core.windows.net/90023333?se=2021-04-29T09%3A02%3A22Z'
    '&sig=-REDACTED-&sp=rl&sr=c&sv=2019-07-07&timeout=901": unexpected EOF',
    # a process that ended by itself (https://github.com/cleitet/wpkg-gp/issues/118)
    '"The "WPKG Control Service" service terminated unexpectedly. It has done this 1 time(s)."',
    # errors met, said in other words: Azure Local's validation (https://github.com/Azure/
    # arc_jumpstart_docs/issues/727, corpus g-024), and the MsiInstaller event text of a numbered
    # error whose message was cut (https://github.com/microsoft/azure_arc/issues/2048, g-030)
    "Machine [AzSHOST1] encountered following errors during validation [Mandatory extension "
    "[LcmController] installed version [30.2505.0.961] is not equal to required version "
    "[30.2504.0.959] for ARC machine [AzSHOST1]. Please create EdgeDevice resource(s)",
    "Azure Connected Machine Agent -- Error 1920",
    # CPython's traceback header in Azure CLI's --debug output
    # (https://github.com/Azure/azure-cli/issues/26618)
    "cli.azure.cli.core.azclierror: Traceback (most recent call last):",
    # PowerShell 7's concise view of built-in cmdlets (https://github.com/PowerShell/PowerShell/
    # issues/14730, https://github.com/PowerShell/PowerShell/issues/19373)
    "New-Item: Access to the path 'C:\\PowerShell-7.0.4-win-x64\\dest' is denied.",
    "Get-Service: Service 'dcsvc (dcsvc)' cannot be queried due to the following error:",
]

HEALTHY = [
    # the same layouts at levels that report nothing, and the neighbours of each shape
    "2017/07/17 10:18:56.439962 INFO Event: name=WALinuxAgent, op=Restart, message=started",
    "2005-03-19 15:10:26,697 - simple_example - INFO - info message",
    "INFO:root:connected",
    "8/13/2015 3:05:14 PM          7036 Information      The Windows Modules Installer service "
    "entered the running state.",
    '{ "statusCode": 200, "message": "OK" }',
    # SERVICE_EXIT_CODE 0 beside the line above, in the same sc query output (sergueik/
    # powershell_samples), and 1077, "no attempts to start the service since the last boot"
    "        SERVICE_EXIT_CODE  : 0  (0x0)",
    "        WIN32_EXIT_CODE    : 1077  (0x435)",
    # the SQL Server Arc article's expected 401 (tests/corpus/healthy/d-h08.txt), and HTTP headers
    # in the concise view's shape
    "Invoke-WebRequest: Response status code does not indicate success: 401 (Unauthorized).",
    "Set-Cookie: x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly",
    "Request-Context: appId=cid-v1:00000000-0000-0000-0000-000000000000",
    # the concise view's shape that is no error: apt's history log (/var/log/apt/history.log,
    # its Start-Date field), searches that found nothing (Get-WinEvent's NoMatchingEventsFound,
    # Get-Package), and a success said in words
    "Start-Date: 2026-05-09  07:28:46",
    "Get-WinEvent: No events were found that match the specified selection criteria.",
    "Get-Package: No package found for 'Azure Connected Machine Agent'.",
    "Install-ArcAgent: Azure Connected Machine Agent installed successfully",
    # the layouts' INFO and WARNING lines, whose words a tool then acts on
    "2024-05-01 10:00:01,123 INFO Extension is not found, installing",
    "2024-05-01 10:00:01,123 - arc - INFO - Extension is not found, installing",
    "INFO:azure.identity._credentials.managed_identity:Configuration file was not found; "
    "using IMDS",
    "[2024-12-01 10:00:01.123] [PID 1234] [TID 5678] [INFO] [DSCEngine] Resource himds was not "
    "found, will be created",
    "[2024-12-01 10:00:01.123] [PID 1234] [TID 5678] [WARNING] [DSCEngine] Failed to read cache, "
    "retrying",
    "Token cache is invalid, refreshing",
    # debconf falling back to a plainer frontend in a non-interactive apt install (apt's
    # term.log, any Docker build's apt-get output; the wording is debconf's own,
    # Debconf/AutoSelect.pm "unable to initialize frontend: %s")
    "debconf: unable to initialize frontend: Dialog",
    # a bare status in a JSON record is data, not an answer to this request
    '    "status": 404,',
]


@pytest.mark.parametrize("line", FAILURES)
def test_failure_shapes_are_never_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_reported(line, kb)


@pytest.mark.parametrize("line", HEALTHY)
def test_their_healthy_neighbours_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


@pytest.mark.parametrize(("line", "expected"), [
    # systemd's record of a service that stopped as asked (systemd.exec(5): a clean exit, or the
    # TERM that systemctl stop sends) is no failure of the agent's services ...
    ("himdsd.service: Main process exited, code=exited, status=0/SUCCESS", set()),
    ("extd.service: Main process exited, code=killed, status=15/TERM", set()),
    # ... an exit with an error or a kill is
    ("himdsd.service: Main process exited, code=exited, status=1/FAILURE", {"himds_not_running"}),
    ("gcad.service: Main process exited, code=killed, status=9/KILL", {"extension_failure"}),
])
def test_agent_service_stops(kb: kbmod.KnowledgeBase, line: str, expected: set) -> None:
    assert categories(diagnose(line + "\n", kb)) == expected


def test_install_script_azure_probe_is_no_failure(kb: kbmod.KnowledgeBase) -> None:
    """The Windows install script's own probe of the instance metadata address times out on
    every machine outside Azure, and the script logs the error it caught with Write-Verbose
    (install_windows_azcmagent.ps1, Test-IsAzure; the run of https://github.com/joetanx/mslab/
    blob/main/arc.md, corpus healthy h-h02): nothing is wrong. The same timeout said by anything
    else is still a finding."""
    assert_silent("VERBOSE: Error The operation has timed out. checking if we are in Azure", kb)
    assert_reported("Invoke-WebRequest : The operation has timed out.", kb)


@pytest.mark.parametrize("line", [
    # install_linux_azcmagent.sh's own steps whose failure it ignores (its source: "sudo apt -y
    # remove packages-microsoft-prod || true", the same with zypper/yum/dnf, and
    # verify_apt_not_busy's "sudo lsof /var/lib/dpkg/lock-frontend"); the answers are apt's,
    # dnf's, zypper's and sudo's own wordings
    "E: Unable to locate package packages-microsoft-prod",
    "No match for argument: packages-microsoft-prod",
    "'packages-microsoft-prod' not found in package names. Trying capabilities.",
    "sudo: lsof: command not found",
    # a non-breaking space read as a command by an RPM scriptlet
    "/var/tmp/rpm-tmp.Xx667O: line 38: \xa0: command not found",
])
def test_linux_install_script_ignored_steps_are_no_failure(kb: kbmod.KnowledgeBase,
                                                            line: str) -> None:
    assert_silent(line, kb)


def test_other_missing_packages_and_commands_still_count(kb: kbmod.KnowledgeBase) -> None:
    for line in ("E: Unable to locate package azcmagent", "sudo: azcmagent: command not found"):
        assert_reported(line, kb)
