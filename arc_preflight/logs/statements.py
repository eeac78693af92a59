"""Failures said in plain words, by tools that print no level.

Validators, installers, PowerShell scripts and portal messages often state a failure in a
sentence and nothing else: no ``ERROR`` level, no "failed", no exception name. A paste made of
such lines must still be met with at least ``unknown`` (issue 9 item 4: never silent), so these
shapes join :data:`.lines.FAILURE_PATTERNS`. Each is a statement that something went wrong, not
a hint or a how-to: like every failure shape they count only on lines without a level or at
error level, and a match counted as none (``0 crashed``) is no failure
(:func:`.lines.reports_failure`). Each starts with or holds a literal the prefilter can use.
"""

from __future__ import annotations

from typing import Tuple

STATEMENT_PATTERNS: Tuple[str, ...] = (
    # A line that is only an error code in words run together, as a status or exit reason
    # (``UnsupportedOperatingSystem``, ``AuthorizationFailed``, ``ResourceNotFound``).
    r"^\s{0,8}(?-i:(?:Unsupported|Invalid)[A-Z][A-Za-z]{2,60}|[A-Z][A-Za-z]{1,60}(?:NotSupported"
    r"|Unsupported|Failed|Failure|Denied|NotFound|Invalid|Conflict|TimedOut))\.?\s{0,4}$",
    # ... or only an HTTP reason phrase. (Not a state such as "Disconnected": ``azcmagent
    # show`` lists components that are off on a healthy machine. Not 401 Unauthorized: the
    # agent's identity endpoint answers every first token request with it, as its challenge.)
    r"^\s{0,8}(?:Bad ?Request|Forbidden|Not ?Found|Conflict|Too ?Many ?Requests"
    r"|Internal ?Server ?Error|Bad ?Gateway|Service ?Unavailable|Gateway ?Time-?out)\.?\s{0,4}$",
    # an HTTP status with its reason phrase
    r"\b(?:400 Bad Request|403 Forbidden|404 Not Found|409 Conflict"
    r"|429 Too Many Requests|502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out)\b",
    # a validator's assertion: "Expected NODE02 to be on OS Build Number X but found Y"
    r"\bExpected\b[^\n]{1,300}?\bbut (?:found|got|was|is|received)\b",
    # what is missing, wrong or refused, said as a fact
    r"\b(?:does not|doesn't|did not|didn't) exist\b",
    # (not robocopy's "No files were mismatched": a count of none said in words)
    r"(?<!were )\bmismatch(?:ed)?\b",
    r"\b(?:does not|doesn't|did not|didn't) meet the\b",
    r"\brequirements? (?:is |are |was |were )?not (?:met|satisfied)\b",
    r"\b(?:was|were) (?:refused|rejected|denied|aborted|canceled|cancelled)\b",
    r"\bcannot complete the (?:operation|request)\b",
    r"\b(?:has|have) expired\b",
    r"\b(?:crashed|core dumped)\b",
    r"\bSegmentation fault\b",
    r"\bout of memory\b",
    r"\b(?:was|were|is being) throttled\b",
    r"\b(?:something|it) went wrong\b",
    r"\bunexpected error\b",
    # aiohttp's ClientResponseError ("%s, message=%r, url=%r": the status first), as Python tools
    # that fetch with it print a failed request (Pulp and Satellite syncing a repository)
    r"\b[45]\d\d, message=.",
)
