"""One line of log text: its level, its time, its message and error fields, its AZCM codes.

Every source of text ``diagnose`` reads (logrus logs, console output, JSON logs) is parsed here,
with one time parser shared by log timestamps and ``--since``. Every pattern is bounded, so a
line of any length costs time in proportion to its length.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, List, Optional, Pattern, Sequence, Tuple, Union, overload

from ..errors import UserError
from .levels import ERROR_LEVELS, TIME_THEN_LEVEL
from .statements import STATEMENT_PATTERNS

_TIME_RE = re.compile(
    r'(?:\btime="?|^\s{0,4}\[?)(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})'
    r"(?:[.,](\d{1,9}))?\s?(Z|[+-]\d{2}:?\d{2}|UTC)?",
    re.IGNORECASE,
)
MSG_RE = re.compile(r'\bmsg=(?:"((?:[^"\\]|\\.){0,65536})"|(\S{1,4096}))')
ERR_RE = re.compile(r'\b(?:error|err)=(?:"((?:[^"\\]|\\.){0,65536})"|(\S{1,4096}))',
                     re.IGNORECASE)
CONSOLE_MSG_RE = re.compile(r"^\s{0,8}(?:\x1b\[\d{1,2}m)?[A-Z]{4,7}(?:\x1b\[0m)?"
                            r"(?:\[\d{1,6}\]\s?| {2,8}|\t)")
AZCM_RE = re.compile(r"\bAZCM\d{4}\b", re.IGNORECASE)
AZCM_TRIGGER = r"azcm[0-9]"
# Another tool that ran azcmagent (an Azure Local bootstrap, an extension, an install script)
# often prints only its exit code: ``AZCMAgent command failed with error: >> exitcode: 42``. The
# agent's exit code equals its AZCM number (troubleshoot-agent-onboard.md, "Agent exit codes":
# 42 failed to create the Azure resource, as AZCM0042), so such a line counts as that code. The
# line must name azcmagent: an exit code alone may be any program's.
AZCM_EXIT_RE = re.compile(
    r"\bazcmagent\b[^\r\n]{0,300}?\bexit(?:ed with)?[ _]?(?:code|status)\W{1,4}(\d{1,3})\b",
    re.IGNORECASE)


def exit_code_azcm(text: str) -> Tuple[str, ...]:
    """The AZCM code an azcmagent exit code on this line stands for (exit codes 2 and up; 1 is
    the agent's "default error" and says nothing)."""
    found = AZCM_EXIT_RE.search(text)
    if found is None or int(found.group(1)) < 2:
        return ()
    return (f"AZCM{int(found.group(1)):04d}",)

# A connect attempt starts where the agent logs ``msg="Agent Command: connect"``: every azcmagent
# command begins its log with ``Agent Command: <command>`` (public himds.log/azcmagent.log
# samples, e.g. MicrosoftDocs/azure-docs issue 99004 and the verbose connect log quoted in
# tests/corpus/healthy/b-h04.txt). A later ``Agent Command: show``/``check``/``logs`` line ends the
# connect attempt: it is another command, not a new attempt. Console text has no such line, so a
# line quoting the command itself (``azcmagent connect ...`` in a shell trace or a PowerShell
# transcript) and the first message older agents printed (``Onboarding Machine``, seen in public
# console pastes of 2020-2021 agents) also start an attempt. Lines at warning level or above, or
# that carry an AZCM code or a known error, never start an attempt (an error that says "run
# azcmagent connect again" is not a new attempt).
BOUNDARY_PATTERNS: Tuple[str, ...] = (
    r"\bazcmagent(?:\.exe)? connect\b",
    r"\bonboarding machine\b",
    r"\bAgent Command: ",
)
BOUNDARY_RE = re.compile(
    r"\bazcmagent(?:\.exe)? connect\b|\bonboarding machine\b"
    r"|\bAgent Command: (?P<command>[\w-]{1,40})",
    re.IGNORECASE,
)

# PowerShell cmdlet errors in the Concise view of PowerShell 7 (``Verb-Noun: message``) and the
# Normal view (``Verb-Noun : message``) at the start of a line, for the Az cmdlets (the Az
# modules name their nouns Az...; the generated ones add their variant, ``_CreateExpanded``):
# their message is the service's answer, often without a failure word ("The requested resource
# was not found."). Built-in cmdlets are not listed: their line can be an expected answer (the
# SQL Server Arc article's ``Invoke-WebRequest: ... 401 (Unauthorized).`` proves an endpoint
# reachable, tests/corpus/healthy/d-h08.txt), and a script's failing line is found by its
# ``Line |`` block instead.
# An interactive run of a built-in cmdlet prints no ``Line |`` block, though, only the concise
# line (``Get-Service: Cannot find any service with service name 'himds'.``), so the cmdlets an
# admin onboards and tests with are listed by verb, each line counted unless it is that 401, a
# search that found nothing (Get-WinEvent's NoMatchingEventsFound, ``No events were found that
# match the specified selection criteria.``; Get-Package's ``No package found``), a success
# said in words, or a field and its date (apt's history log: ``Start-Date: 2026-05-09``). (Not
# Set- or Request-: ``Set-Cookie:`` and ``Request-Context:`` are HTTP headers that a
# ``--debug`` dump prints in the same shape.) The name may be module-qualified, as a module's own
# code calls it (PowerShellGet: ``PackageManagement\Install-PackageProvider : No match ...``).
CMDLET_ERROR_PATTERNS: Tuple[str, ...] = (
    r"^\s{0,4}(?:[\w.]{1,60}\\)?(?-i:[A-Z][a-z]{1,14})-Az(?-i:[A-Z])[\w.]{1,100} ?: \S",
    r"^\s{0,4}(?:[\w.]{1,60}\\)?(?-i:Invoke|Start|Stop|Restart|New|Get|Remove|Install|Uninstall"
    r"|Import|Test|Register|Connect|Enable|Add|Copy|Expand|Update|ConvertFrom|ConvertTo|Export|Out)"
    r"-(?-i:[A-Z])[\w.]{1,100} ?: "
    r"(?!\d)(?!No (?:events were|package) found\b)"
    r"(?![^\n]{0,120}\b(?:success|successfully|succeeded|completed)\b)"
    r"(?![^\n]{0,400}\b401\b)\S",
)

# Lines that report a failure in words, whatever tool wrote them: FAILED/failure, exceptions,
# ``error:``/``E:`` prefixes, non-zero exit codes and return values, HTTP 4xx/5xx statuses. A
# line matching one (and not logged below error level) that no cause explains is reported as
# ``unknown``, so a failure is never met with silence. Windows Installer's 3010 and 1641
# (0xBC2, 0x669) are successes that ask for a restart (MSI error codes, "ERROR_SUCCESS_REBOOT_
# REQUIRED", https://learn.microsoft.com/windows/win32/msi/error-codes), so no exit-code shape
# takes them. A match that is counted as none or negated (``0 failed``, ``Failed: 0``, ``No
# errors occurred``) is not a failure either: see :func:`reports_failure`.
_NOT_REBOOT = r"(?!(?:3010|1641)\b)"  # before a decimal exit code: not those two successes
FAILURE_PATTERNS: Tuple[str, ...] = (
    r"(?<![a-z])fail(?:ed|ure|s)?\b",
    r"exception",
    r"(?<!\S)(?:error|fatal):\s",
    r"^E: (?:unable|failed|could|sub-process|package|repository|some |you "
    r"|the (?:repository|method|package)\b)",
    # zypper and libzypp (zypp/media/MediaException.cc, zypper's repository refresh): a refused,
    # missing, unanswered or unavailable file, and a repository whose metadata is unusable
    r"\bPermission to access '[^'\n]{1,500}' denied\b",
    r"' not found on medium '",
    r"\bTimeout exceeded when accessing '",
    r"' is temporarily unaccessible\b",
    r"^Repository '[^'\n]{1,300}' is invalid\b",
    r"\bValid metadata not found at specified URL\b",
    r"\bexit ?code(?:: ?| |=)" + _NOT_REBOOT + r"[1-9]",
    r"\bexit_code\W{1,3}[1-9]",
    r"\bexited with (?:exit )?code:? [1-9]",
    r"\bexit status:? [1-9]",
    r"HRESULT_FROM_WIN32\([1-9]",
    r"\[(?:error|fatal|critical)\]",
    r"\baccess (?:is )?denied\b",
    r"MainEngineThread is returning " + _NOT_REBOOT + r"[1-9]",
    r"\breturn value [23]\b",
    r"\b(?:status ?code|httpStatusCode)(?:=|: ?|:\")[45]\d\d\b",
    r"\bRESPONSE:? [45]\d\d\b",
    r"returned an error: \([45]\d\d\)",
    # A PowerShell error record (about_Error_Handling, ErrorRecord.FullyQualifiedErrorId): the
    # block every cmdlet error ends with, ``+ FullyQualifiedErrorId : <id>,<command>``.
    r"\bFullyQualifiedErrorId\s{0,4}:\s{0,4}\w",
    # An extension handler's status (the VM extension handler protocol's status file, which
    # the extension manager copies into its log): ``"status": "error"``.
    r"\"status\": ?\"error\"",
    # Failures said in words by tools that print no level (PowerShell, installers, Azure CLI):
    # an action that could not be done, a wait that ran out, a command the shell does not know,
    # .NET's "An error occurred while ...".
    # (Not debconf's notice that it falls back to a plainer frontend, which every
    # non-interactive apt install prints: ``debconf: unable to initialize frontend: Dialog``.)
    r"(?<!debconf: )\b(?:unable to|could not|couldn't) [a-z]",
    r"\b(?:cannot|can't) (?:connect|reach|resolve|find|load|open|create|register|install"
    r"|download|acquire|get|retrieve|validate|verify|establish|start|bind|determine|access"
    r"|contact|read|write|process)\b",
    r"\btimed out\b",
    r"\bis not recognized as\b",
    r"\ban error occurred\b",
    # a line that opens with the error and the step it happened in, as tools without levels
    # write it ("Error during prepare defenderForEndpointOnboardingScript Onboarding blob
    # signature is not valid", the Defender for Endpoint extension handler, corpus m-010,
    # rules half; "Error while ...", "Error occurred ...")
    r"^\s{0,8}Error (?:during|while|when|occurred|executing|processing)\b",
    # --- the published error shapes of the client tools admins onboard with (issue 9 item 4) ---
    # azure-core's HttpResponseError, as Azure CLI and the Python SDKs print it: a ``(Code)
    # Message`` line (led by ``ERROR: `` or the error class, found by the patterns above), then
    # ODataV4Format's ``Code: <code>`` line, which is what a paste without the first line keeps
    # (sdk/core/azure-core/azure/core/exceptions.py in Azure/azure-sdk-for-python).
    # (not a status that says all went well: ``Code: Created``, ``Code: NoContent``...)
    # The portal and Az PowerShell put it in parentheses: ``(Code: HCRP409)``.
    r"^\s{0,8}\(?Code: (?!(?:None|Success|Succeeded|OK|Created|Accepted|NoContent|Completed"
    r"|Complete|Running|InProgress|Pending)\)?\s{0,4}$)(?-i:[A-Z][A-Za-z0-9]{2,80})\)?\s{0,4}$",
    # ... and the ``(Code) Message`` line itself when it stands alone (a paste that kept only the
    # first line, or a script that printed the exception's message): ``(AnotherOperation
    # InProgress) Another operation on this or dependent resource is in progress.`` A bare
    # parenthesis is no literal the prefilter can afford, so the line counts only when the code
    # says a failure in ARM's naming: it ends in a failure word (NotFound, Failed, Conflict,
    # InProgress, Denied...), starts with Invalid or Unsupported, or is BadRequest; the
    # word before ``) `` is then the literal. Codes no family knows give ``unknown``.
    r"^\s{0,8}\((?-i:[A-Z][A-Za-z]{0,60})?(?-i:NotFound|Failed|Failure|Invalid|Error|Conflict"
    r"|InProgress|Denied|Forbidden|Exceeded|Unauthorized|NotAllowed|NotSupported|NotRegistered"
    r"|Disallowed|Locked|Expired|Mismatch|Unavailable|Rejected)\) \S",
    r"^\s{0,8}\((?:Invalid|Unsupported)(?-i:[A-Z][A-Za-z]{1,60})\) \S",
    r"^\s{0,8}\(BadRequest\) \S",
    # msrest's and azure-core's text when the service answered an unexpected status without an
    # error body: ``Operation returned an invalid status 'Bad Request'``, ``... status code ...``.
    r"\bOperation returned an invalid status\b",
    # Azure Resource Manager's error body (OData v4: ``{"error": {"code": ..., "message": ...}}``),
    # raw or escaped inside another JSON string; a healthy answer has no ``error`` object.
    r'\\{0,3}"error\\{0,3}"\s{0,4}:\s{0,4}\{(?!\s{0,4}\})',
    # ... and a pretty-printed error object's code line on its own, whose value by ARM's naming
    # says what failed (``"code": "ValidationFailed",``; an extension status code such as
    # ``ProvisioningState/succeeded`` is none of these)
    r'^\s{0,40}"code"\s{0,2}:\s{0,2}"(?-i:\w{0,60}(?:Failed|Failure|Error|NotFound|Denied'
    r'|Conflict|AlreadyExists|Locked|Forbidden|Unauthorized|Exceeded|TimedOut|NotSupported'
    r'|Unavailable|Disallowed|NotAllowed)|(?:Invalid|Missing)[A-Z]\w{0,60})",?\s{0,4}$',
    # Python exception lines of every class whose name ends in Error (``KeyError: 'x'``,
    # ``ValidationError: (HCRP400) ...``, ``HTTPError: ...``): the class name joins the word, so
    # the ``error:`` pattern above, which needs a space before it, misses them. A field that
    # says there was none (``LastError: 0``, ``0x0``, ``<nil>``, ``N/A``, ``-``) is no failure,
    # nor is a setting of what to do on one (``OnError: continue``, ``ActionOnError:``,
    # ``ignoreError:``): "On" and "Ignore" as a capitalised word part or a whole word, since the
    # classes ending in -ionError end in a lower-case "on" (``ValidationError``,
    # ``ConnectionError``, ``PermissionError``).
    r"(?-i:[a-z0-9]|[A-Z]{2})(?<!(?-i:On))(?<!\bon)(?<!(?-i:Ignore))(?<!\bignore)(?-i:Error): "
    r"(?!(?:0|0x0{1,16}|\d{1,12}|none"
    r"|null|nil|<nil>|false|true|n/a|-|\"\")(?:\s|$|[,;]))\S",
    # PowerShell error records. The Normal view's ``+ CategoryInfo : <category>: ...`` line
    # (before its FullyQualifiedErrorId line, found above); the Concise view of PowerShell 7
    # (about_Preference_Variables, $ErrorView): ``Verb-Noun: message`` for a cmdlet (Az's
    # generated cmdlets add their variant: ``New-AzConnectedMachineExtension_CreateExpanded:``),
    # and the ``Line |`` block that shows where a script failed (a header line ``Line |`` of its
    # own); the Normal view of a script's own Write-Error: ``C:\\path\\script.ps1 : message``.
    r"^\s{0,8}\+?\s{0,4}CategoryInfo\s{0,12}:\s{0,4}\w",
    r"^\s{0,4}Line \|\s{0,4}$",
    # (a script's own success line in the same shape is none: ``... .ps1 : Onboarding completed
    # successfully``)
    r"\.psm?1 ?: (?!\d)(?![^\n]{0,120}\b(?:success|successfully|succeeded|completed)\b)\S",
    *CMDLET_ERROR_PATTERNS,
    # Microsoft Entra's sign-in errors: every AADSTS code is a refused sign-in, including the
    # codes no family lists (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
    r"\bAADSTS\d{4,7}\b",
    # OAuth 2.0's token error response (RFC 6749 section 5.2), which MSAL returns as a dict
    # (``{'error': 'invalid_client', 'error_description': ...}``) when it prints no AADSTS code.
    r"""["']error["']\s{0,2}:\s{0,2}["'](?:invalid_(?:client|grant|request|scope)"""
    r"""|unauthorized_client|unsupported_grant_type|interaction_required|access_denied)\b""",
    # ... and its ``error_description`` field on its own, as MSAL and azure-identity print the
    # answer when the ``error`` field was cut off or comes first on another line (RFC 6749
    # section 5.2 names both fields).
    r"""\berror_description["']?\s{0,2}[:=]""",
    # --- more tools' own failure shapes (issue 9 item 4, third round) ---
    # PowerShell's Format-List of a web answer or a process (``Invoke-WebRequest``'s
    # ``Response``, ``Start-Process -PassThru``): the property name, padding, `` : `` and the
    # value (``StatusCode : 400``, https://github.com/Azure/Microsoft-Defender-for-Cloud/issues/
    # 267; System.Diagnostics.Process.ExitCode, ``ExitCode : 1603``). The patterns above need
    # the colon right after the name, which Format-List never writes.
    r"\bStatusCode \s{0,23}:\s{0,4}[45]\d\d\b",
    r"\bExitCode \s{0,23}:\s{0,4}" + _NOT_REBOOT + r"-?[1-9]",
    # an exit code written negative or in hex, as .NET and Windows tools print an HRESULT
    # (``exit code -2147024891``, ``exit code: 0x80070643``); ``0x0`` is success
    r"\bexit ?code(?:[:=] ?| )(?:-[1-9]|0x(?!0{0,5}(?:bc2|669)\b)0{0,7}[1-9a-f])",
    # CPython's subprocess.CalledProcessError (``Command '...' returned non-zero exit status
    # 1.``, Lib/subprocess.py), which Azure CLI extensions raise when a tool they run fails, and
    # the same words in other tools
    r"\bnon-?zero (?:exit|return) (?:code|status)\b",
    # .NET's HttpResponseMessage.EnsureSuccessStatusCode (dotnet/runtime, SR
    # net_http_message_not_success_statuscode), which PowerShell 7's web cmdlets and the Az
    # modules print. 401 is left out: an endpoint that asks for credentials is reachable, which
    # is what Microsoft's own reachability test of the SQL Server Arc article expects
    # (tests/corpus/healthy/d-h08.txt).
    r"Response status code does not indicate success: (?!401\b)[45]\d\d\b",
    # Go's runtime on an unrecovered panic (src/runtime/panic.go, printpanics: ``panic: `` and
    # the value at the start of a line), the agent and arcproxy being Go programs
    r"^\s{0,4}panic: ",
    # Windows event records exported as text: Event Viewer's "Copy details as text" and
    # ``wevtutil qe /f:text`` (``Level: Error``), Get-WinEvent through
    # Format-List (``LevelDisplayName : Error``), and the event XML
    # (``<Level>2</Level>``: 1 Critical, 2 Error; the Windows event schema's SystemPropertiesType,
    # https://learn.microsoft.com/windows/win32/wes/eventschema-systempropertiestype-complextype).
    r"^\s{0,8}Level:\s{1,24}(?:Error|Critical)\s{0,4}$",
    r"\bLevelDisplayName\s{0,24}:\s{0,8}(?:Error|Critical)\b",
    r"<Level>[12]</Level>",
    # ... and Event Viewer's "Save All Events As" text: one tab-separated row per event, the
    # level first (``Error\t7/28/2025 10:03:10 PM\tApplication Error\t1000\t(100)``,
    # https://github.com/ptfpinho23/WinLet/issues/5)
    r"^(?:Error|Critical)\t\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4} ",
    # The systemd journal's priority (systemd.journal-fields(7): PRIORITY=, syslog's 0 emerg ...
    # 3 err) as ``journalctl -o verbose``/``export`` and ``-o json`` print it. (The ``<3>``
    # prefix of sd-daemon(3) is left out: a literal without letters costs the prefilter a whole
    # pass over every log of its own.)
    # (upper case only: the journal's field name; a logfmt ``priority=1`` is another tool's)
    r"\b(?-i:PRIORITY)=[0-3]\b",
    r'"(?-i:PRIORITY)"\s{0,2}:\s{0,2}"[0-3]"',
    # The C library's and Go's wording of the errno values that say an operation failed
    # (strerror: EACCES, EPERM, ENOENT, EROFS; Go's syscall.Errno strings are the same words in
    # lower case), whatever tool prints them: ``bash: ./install.sh: Permission denied``.
    r"\bpermission denied\b",
    r"\boperation not permitted\b",
    r"\bno such file or directory\b",
    r"\bread-only file system\b",
    # ... and Windows' FormatMessage texts of the same kind (system error codes 2, 3, 53, 87,
    # 1053, 1722, https://learn.microsoft.com/windows/win32/debug/system-error-codes--0-499-)
    r"\bThe system cannot find the (?:file|path) specified\b",
    r"\bThe network path was not found\b",
    r"\bThe parameter is incorrect\b",
    r"\bThe service did not respond to the start or control request\b",
    r"\bThe RPC server is unavailable\b",
    # a shell that does not know a command: bash's ``az: command not found`` and dash's
    # ``sh: 1: az: not found``. The script and command are paths, whose names may hold any
    # letter (``./größe.sh``), and ``re.ASCII`` makes ``\w`` ASCII-only, so a name is also
    # any character outside ASCII (a class, not a letter: nothing for case folding to
    # disagree on, tests/test_case_folding.py; why this spelling: tests/test_nonascii_names.py).
    r"\bcommand not found\b",
    r"^(?:[\w./-]|[^\x00-\x7f]){1,100}: \d{1,6}: (?:[\w./-]|[^\x00-\x7f]){1,100}: not found",
    # failures said in other words than "failed": "not able to", "unsuccessful", "was not
    # successful", "did not succeed", "An error has occurred", "errors were encountered", a
    # process or an installation "aborted"
    r"\bnot able to [a-z]",
    r"\bunsuccessful\b",
    r"\b(?:was|were) not successful\b",
    r"\bdid not succeed\b",
    r"\berrors? (?:has |have |had )?(?:occurred|occured|were encountered|was encountered)\b",
    r"\babort(?:ed|ing)\b",
    # the reason phrase of a refused HTTP answer (RFC 9110 section 15) printed with its code by
    # curl, Go and .NET (``403 Forbidden``); 400 and 401 left out, as above: a reachability test
    # expects them
    r"\b(?:403 Forbidden|404 Not Found|50[0234] (?:Internal Server Error|Bad Gateway"
    r"|Service Unavailable|Gateway Time-?out))\b",
    # Windows Installer's own texts for its exit codes (the system message msiexec shows or a
    # script prints for 1602-1654, https://learn.microsoft.com/windows/win32/msi/error-codes)
    # that hold no failure word of the shapes above. Only those an admin running msiexec on a
    # package meets; the ones about a caller's misuse of the MSI API (an unknown table, a bad
    # query, a field that does not exist) are left to the failure words beside them.
    # 1605 (uninstalling or repairing what is not installed), 1614:
    r"\bThis action is only valid for products that are currently installed\b",
    r"\bThe product is uninstalled\.",
    # 1602, as the system message ("User cancelled installation.") and the table words it:
    r"\buser cancel(?:led|ed|s) (?:the )?installation\b",
    # 1604, 1610:
    r"\bInstallation suspended, incomplete\b",
    r"\bconfiguration data for this product is corrupt\b",
    # 1613 and 1637 (a Windows Installer too old for the package), 1623 and 1633:
    r"\b(?:installation|patch) package cannot be (?:installed|processed) by the Windows Installer"
    r" service\b",
    r"\binstallation package is not supported (?:on this platform|by your system)\b",
    # 1621 and 1624 ("There was an error starting ... / applying transforms"; 1622's opening of
    # the log has a cause of its own):
    r"\bThere was an error (?:starting|opening|applying|reading|writing|creating)\b",
    # 1632, 1639, 1640, 1652:
    r"\bThe Temp folder is either full or inaccessible\b",
    r"\bInvalid command line argument\. Consult the Windows Installer SDK\b",
    r"\bis not permitted to perform installations\b",
    r"\bWindows Installer is not accessible when the computer is in Safe Mode\b",
    # German Windows' "access denied", in its system and .NET wordings ("Zugriff verweigert",
    # "Dem Benutzer wurde der Zugriff verweigert." in
    # https://learn.microsoft.com/de-de/windows/win32/termserv/imstscaxevents-onlogonerror,
    # "Der Zugriff auf den Pfad ... wurde verweigert." for UnauthorizedAccessException)
    r"\bZugriff\b[^\n]{0,300}?\bverweigert\b",
    # --- level columns and status fields that other tools' log formats put elsewhere ---
    # The level as a column after the time stamp, in capitals (Python's logging with
    # ``%(asctime)s %(levelname)s``, the Azure Linux agent's log): ``2024-05-01 10:00:01,123
    # ERROR ...``, ``... 10:00:01Z [ERROR] ...``;
    # and Python logging's other stock layouts, ``... - name - ERROR - message`` (the logging
    # cookbook's formatter) and basicConfig's ``ERROR:name:message`` (BASIC_FORMAT,
    # Lib/logging/__init__.py), whose colon has no space after it for the ``error:`` shape.
    TIME_THEN_LEVEL + r"(?-i:ERROR|FATAL|CRITICAL)[ \t\]]",
    r" - (?-i:ERROR|CRITICAL) - ",
    r"^(?-i:ERROR|CRITICAL):(?-i:[A-Za-z_][\w.]{0,100}):",
    # Get-WinEvent's default table view (``TimeCreated Id LevelDisplayName Message``, the
    # examples of about Get-WinEvent): a row whose level column says Error or Critical
    # (``10/10/2025 6:46:46 PM   1 Error   Azure Stack HCI Update Service: ...``,
    # tests/corpus/cases/e-028.txt).
    r"\d[^\w\s]\d\d[^\w\s]\d\d(?: [AP]M)?\s{1,40}\d{1,6} {1,12}(?-i:Error|Critical) ",
    # An HTTP status in a JSON body (``"statusCode": 403``), which the ``statusCode:`` shape
    # above misses for the quote between name and colon; 401 left out, as above. (Not a bare
    # ``"status": 404``: that is as often data, a record of what some request answered.)
    r'"(?:status ?code|httpStatusCode)"\s{0,2}:\s{0,2}"?(?!401\b)[45]\d\d\b',
    # sc.exe's query of a service that stopped with an error (``WIN32_EXIT_CODE : 1067
    # (0x42b)``; 1077 "no attempts to start the service" and 0 are not failures).
    r"\b(?:WIN32|SERVICE)_EXIT_CODE\s{0,8}:\s{0,4}(?!1077\b)[1-9]",
    # Windows' texts of service and sign-in errors that hold none of the words above (system
    # error codes 1058, 1060, 1062, 1314, 1326, 1327, 1909).
    r"\bThe service cannot be started, either because it is disabled\b",
    r"\bThe specified service does not exist as an installed service\b",
    r"\bThe service has not been started\b",
    r"\bA required privilege is not held by the client\b",
    r"\bThe user name or password is incorrect\b",
    r"\bAccount restrictions are preventing this user from signing in\b",
    r"\bThe referenced account is currently locked out\b",
    # Go's network and I/O errors that name no failure in words (net.Error timeouts,
    # context.DeadlineExceeded, io.ErrUnexpectedEOF)
    r"\bi/o timeout\b",
    r"\bcontext deadline exceeded\b",
    r"\bunexpected EOF\b",
    # a result said in words: a request refused, a process that ended by itself. (Not "was
    # not found" or "is invalid": tools log those words as a step they then take care of,
    # "Extension ... is not found, installing", "Token cache is invalid, refreshing".)
    r"\b(?:is|was|been) denied\b",
    r"\b(?:terminated|exited|stopped) unexpectedly\b",
    # a tool that says it met errors without the words above ("Machine [host01] encountered
    # following errors during validation [...]", Azure Local's validation; "encountered an
    # error"), and Windows Installer's event text for a numbered error when the message after it
    # was cut ("Product: Azure Connected Machine Agent -- Error 1920", the MsiInstaller event
    # layout "Product: <name> -- Error <number>. <message>")
    r"\bencountered (?:the )?following errors?\b",
    r"\bencountered an? (?:unexpected |internal |unknown )?error\b",
    r" -- Error \d{4}\b",
    # CPython's traceback header (Lib/traceback.py), which Azure CLI and its extensions print
    # before an error they did not expect (behind a logger's name in ``--debug`` output); the
    # exception line at its end may have been cut off.
    r"\bTraceback \(most recent call last\):",
    *STATEMENT_PATTERNS,
)
# The flags every failure shape is compiled with (scripts/pattern_coverage.py uses them too).
FAILURE_FLAGS = re.IGNORECASE | re.MULTILINE | re.ASCII


class LazyPatterns(Sequence[Pattern[str]]):
    """Patterns compiled one by one, each the first time it is used: a pasted paragraph needs a
    handful of the failure shapes, and compiling all of them took a tenth of ``diagnose``'s
    start."""

    def __init__(self, sources: Sequence[str], flags: int) -> None:
        self._sources = tuple(sources)
        self._flags = flags
        self._compiled: List[Optional[Pattern[str]]] = [None] * len(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    @overload
    def __getitem__(self, index: int) -> Pattern[str]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Pattern[str]]: ...

    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        regex = self._compiled[index]
        if regex is None:
            regex = self._compiled[index] = re.compile(self._sources[index], self._flags)
        return regex


# Compiled one by one: the scanner runs only those whose literal the line holds (one big
# case-insensitive alternation is ten times slower per character than a pattern that starts
# with a literal). Each is linear: no nested repeats, every repeat bounded.
FAILURE_RES: Sequence[Pattern[str]] = LazyPatterns(FAILURE_PATTERNS, FAILURE_FLAGS)
FAILURE_LEVELS = frozenset({"error", "fatal", "panic", None})
# The word right before a failure word that says there was none: "No errors occurred", "0
# failed", "was not unsuccessful", "zero errors were encountered".
_NONE_BEFORE = re.compile(r"(?<![\w.,-])(?:no|not|never|zero|0)\s{1,3}$", re.IGNORECASE)
# ... and a count of none right after it: "Failed: 0", "failed=0", "Aborted : 0,".
_NONE_AFTER = re.compile(r"\s{0,3}[:=]\s{0,3}0(?![\d.x])", re.IGNORECASE)


# Advice, not a refusal (issue 9). Documentation, usage texts and scripts state what a command
# needs ("Note: This script must be run as Administrator", "To perform this procedure, you must
# be a member of the Administrators group", "Make sure ..."), and tools log the same words as a
# hint below error level (PowerShell's ``VERBOSE:``, Azure CLI's ``INFO:``). Such a line states a
# requirement; it is not a tool refusing to run. A line opening with one of these markers, or
# logged below warning level, is advice. (A refusal that opens with another word stays one:
# "Please Note: This script must be run as root!" is a script's refusal before ``exit 1``.)
_ADVICE_RE = re.compile(
    r"^[\s#*>/;:-]{0,12}(?:REM\s{1,4})?"
    r"(?:(?:note|notes|tip|hint|important|caution|remarks?|prerequisites?)\s{0,2}:"
    r"|(?:VERBOSE|INFO|DEBUG)\s{0,2}:\s"
    r"|(?:make sure|ensure|be sure|verify that|remember to)\b"
    # a numbered step of a how-to ("1. Open a PowerShell console as an administrator.")
    r"|\d{1,2}[.)]\s{1,4}(?-i:[A-Z])"
    # a purpose or a condition, then what to do ("To upgrade the agent, you must have root
    # access", "For Windows Servers that ..., run the following commands as an administrator")
    r"|(?:to|for|if|when) [^,\n]{1,160}, (?:you|the|run|use|open|start|make sure|ensure)\b)",
    re.IGNORECASE)
_ADVICE_LEVELS = frozenset({"trace", "debug", "info"})
# The words of a requirement (what must, should or needs to be done), as opposed to a tool's
# report that something was refused ("Access to the path ... is denied", "[Errno 13]
# Permission denied", "is not allowed to run sudo on"): only a requirement can be advice.
_REQUIREMENT_RE = re.compile(
    r"\b(?:must|should|needs?|requires?|required|only root)\b"
    # an imperative ("run ... as administrator", "open a console as an administrator"); not a
    # refusal's own words ("Could not open lock file", "Cannot open ... service", Go's
    # "open /var/opt/azcmagent/...: permission denied", "is not allowed to run sudo")
    r"|(?<!not )(?<!cannot )\b(?:(?:re-?)?run|open|start|launch) (?![/\\]|sudo\b)",
    re.IGNORECASE)


def reads_as_advice(text: str, level: Optional[str], msg: Optional[str] = None) -> bool:
    """Whether a line gives advice rather than reporting what happened: it opens with an advice
    marker (on the line or in its message field), or it was logged below warning level. A line
    logged at error or fatal level is the tool's verdict whatever words open it
    ("FATAL To connect this machine, the command must be run as an administrator")."""
    if level in ERROR_LEVELS:
        return False
    return level in _ADVICE_LEVELS or opens_as_advice(text, msg)


def opens_as_advice(text: str, msg: Optional[str] = None) -> bool:
    """Whether a line (or its message field) opens with an advice marker: a how-to's words
    ("To run those commands, ... otherwise the commands will fail") report no failure."""
    return bool(_ADVICE_RE.match(text) or (msg is not None and _ADVICE_RE.match(msg)))


def states_requirement(text: str) -> bool:
    """Whether matched text states a requirement (must, should, needs, run as ...)."""
    return bool(_REQUIREMENT_RE.search(text))


def reports_failure(regex: Pattern[str], text: str) -> bool:
    """Whether ``regex`` (one of FAILURE_RES) finds a failure in ``text`` that is not a count of
    none or a negation: summaries and test reports print the failure words with a zero
    (``Tests: 12 passed, 0 failed``, ``Completed: 0 errors have occurred``), and calling those
    failures made a healthy paste exit non-zero."""
    for found in regex.finditer(text):
        start, end = found.span()
        if _NONE_BEFORE.search(text, max(0, start - 16), start):
            continue
        if _NONE_AFTER.match(text, end):
            continue
        return True
    return False


def parse_time(text: str) -> Optional[dt.datetime]:
    """The timestamp of a line (``time="..."`` or a leading ISO date), timezone-aware.

    A timestamp without an offset is taken as local time, as the agent writes it.
    """
    m = _TIME_RE.search(text[:256])
    if not m:
        return None
    try:
        return _stamp(m.groups(), leap_ok=True)
    except (ValueError, OverflowError):
        return None


def _stamp(fields: Sequence[Optional[str]], leap_ok: bool = False) -> dt.datetime:
    """The one time builder behind log timestamps and ``--since``: (year, month, day, hour,
    minute, second, fraction, zone) as matched, a zone of ``Z``/``UTC``/``+hh[:]mm`` or none
    (local time). Raises ValueError for impossible fields."""
    year, month, day, hour, minute, second, frac, zone = fields
    secs = int(second or 0)
    stamp = dt.datetime(int(year or 0), int(month or 0), int(day or 0), int(hour or 0),
                        int(minute or 0), min(secs, 59) if leap_ok else secs,
                        int((frac or "0")[:6].ljust(6, "0")))
    if not zone:
        return stamp.astimezone()
    if zone.upper() in ("Z", "UTC"):
        return stamp.replace(tzinfo=dt.timezone.utc)
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"the UTC offset {zone} is out of range")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return stamp.replace(tzinfo=dt.timezone(offset if zone[0] == "+" else -offset))


def field_value(regex: Pattern[str], text: str) -> Optional[str]:
    m = regex.search(text)
    if not m:
        return None
    value = m.group(1) if m.group(1) is not None else m.group(2)
    return value.replace('\\"', '"') if value is not None else None


# ``--since``: a span back from now, or a date and time as the logs write them.
_RELATIVE = re.compile(r"^\s*(\d{1,7})\s*(s|sec|m|min|h|hr|d|day|days|w|wk)?\s*(?:ago)?\s*$",
                       re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400,
          "day": 86400, "days": 86400, "w": 604800, "wk": 604800}
_ABSOLUTE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$", re.IGNORECASE)


def parse_since(value: str, now: Optional[dt.datetime] = None) -> dt.datetime:
    """``2h``, ``30m``, ``1d``, ``2026-03-04``, ``2026-03-04 10:00[:00]`` or RFC 3339.

    A time without an offset is local time. Raises :class:`UserError` with a readable message.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    m = _RELATIVE.match(value)
    if m and m.group(2):
        try:
            return now - dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()])
        except (OverflowError, ValueError):
            raise UserError(f"--since {value!r} reaches back before year 1") from None
    m = _ABSOLUTE.match(value)
    if not m:
        raise UserError(f"--since {value!r}: expected e.g. 2h, 30m, 1d, 2026-03-04, "
                        "'2026-03-04 10:00' or 2026-03-04T10:00:00Z")
    try:
        return _stamp(m.groups())
    except (ValueError, OverflowError) as exc:
        raise UserError(f"--since {value!r}: {exc}") from None
