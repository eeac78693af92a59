"""The level a log line shows: every layout ``diagnose`` reads, one normalised name.

A cause found on a line below error level is a warning, and a failure line without a cause counts
only at error level or without a level (issue 9 item 4), so reading the level right decides what
the run reports and its exit code. The agent's own layouts are tried first (most lines are its
own); other tools' layouts only when those find nothing.
"""

from __future__ import annotations

import re
from typing import Optional

ERROR_LEVELS = frozenset({"error", "fatal", "panic"})
_LEVEL_NAMES = {
    "trace": "trace", "trac": "trace", "debug": "debug", "debu": "debug", "info": "info",
    "warn": "warning", "warning": "warning", "error": "error", "erro": "error", "fatal": "fatal",
    "fata": "fatal", "panic": "panic", "pani": "panic", "critical": "fatal",
    "retrying": "warning", "d": "debug", "i": "info", "w": "warning", "e": "error",
    "verbose": "debug", "n": "info",
}
# logrus text format: level=error; JSON format: "level":"error"; old console: ERRO[0002] /
# ERROR[0002]; current console (agents 1.3x+): the level word in capitals, padded with spaces, no
# brackets (``INFO    Connecting machine to Azure...``, ``  INFO    Creating resource...``,
# ``FATAL   ...``, ``ERROR   ...``); a leading ``error:``/``fatal:`` prefix.
_LEVEL_RE = re.compile(
    r'\blevel=\\?"?(?P<a>[A-Za-z]{4,7})\b|"level":\s{0,2}"(?P<b>[A-Za-z]{4,7})"'
    r"|^(?:\x1b\[\d{1,2}m)?(?P<c>TRACE?|DEBUG?|INFO|WARN(?:ING)?|ERROR?|FATAL?|PANIC?)"
    r"(?:\x1b\[0m)?\[\d{1,6}\]"
    r"|^\s{0,8}(?:\x1b\[\d{1,2}m)?(?-i:(?P<e>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|PANIC))"
    r"(?:\x1b\[0m)?(?: {2,8}|\t)(?=\S)"
    r"|^\s{0,8}(?P<d>error|fatal|panic):\s",
    re.IGNORECASE,
)
# A time of day and what separates it from a level column after it (``10:00:01,123 ``,
# ``10:00:01Z [``, ``10:00:01 | ``), shared by the level layouts below and the failure shape
# that finds their ERROR lines. The time's colons are written as a class: a literal ``:`` would
# be all the prefilter could take from that failure shape, and nearly every log line holds one.
TIME_THEN_LEVEL = (r"\d[^\w\s]\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d[^\w\s]?\d\d)?\]?\s{1,12}"
                    r"(?:[|-]\s{1,4})?\[?")
# Tried only when the layouts above find no level (most log lines are the agent's own, and an
# unanchored alternative beside them would slow every search).
_OTHER_LEVEL_RE = re.compile(
    # Other tools' layouts (issue 9 item 4 reads their ERROR lines as failures, so their INFO
    # lines must read as INFO): the level in capitals as a column after the time stamp
    # (Python's ``%(asctime)s %(levelname)s``, the Azure Linux agent; installers'
    # ``12:56:51 Info |`` and ``10/01/2024 12:00:00 WARNING:``), Python logging's
    # ``... - name - LEVEL - ...`` and basicConfig's ``LEVEL:name:...``, and a level in brackets
    # (``[INFO]``, the guest configuration agent's log).
    TIME_THEN_LEVEL
    + r"(?-i:(?P<f>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL|Info|Warning|Error))"
    r"(?=[ \t\]|:])"
    r"| - (?-i:(?P<g>DEBUG|INFO|WARNING|ERROR|CRITICAL)) - "
    r"|^(?-i:(?P<h>DEBUG|INFO|WARNING|ERROR|CRITICAL)):[A-Za-z_][\w.]{0,100}:"
    r"|\[(?-i:(?P<i>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL))\]"
    # Telegraf's one-letter level (``W! [inputs.ethtool] ...``)
    r"|(?:^|\s)(?-i:(?P<k>[DIWE]))! \["
    # urllib3's notice that it retries a request whose connection broke, which it logs at
    # warning level (connectionpool.py: "Retrying (%r) after connection broken by '%r': %s")
    # and Azure CLI's --debug output prints behind the logger's name: a retry, not the outcome,
    # so what it names is a warning unless the request then fails for good ("Max retries
    # exceeded", the exception), which is read as usual
    r"|\b(?P<j>Retrying) \(Retry\(total=",
    re.IGNORECASE,
)
# Only these matter for finding lines: error-level lines the knowledge base may not know.
ERROR_LEVEL_TRIGGERS = (
    r'level=\\?"?(?:error|fatal|panic)',
    r'"level":"(?:error|fatal|panic)"',
    r'"level": "(?:error|fatal|panic)"',
    r"(?:erro\[|error\[|fata\[|fatal\[|pani\[|panic\[)\d",
    r"(?:error|fatal|panic)  ",
    r"\x1b\[31m(?:erro|fata|pani)",  # coloured console levels: ESC[31mERRO / ERROR ...
)
# Tried last, only when no layout above finds a level: the prefix a client tool prints before a
# line of one of its output streams. A line that also shows a level of its own further on
# (``VERBOSE: [ERROR] ...``, ``WARNING: 2024-05-01 10:00:01,123 ERROR ...``) keeps that one.
# PowerShell's warning, verbose and debug streams as the console host prints them (Write-Warning,
# Write-Verbose, Write-Debug: ``WARNING: ``, ``VERBOSE: ``, ``DEBUG: ``; its information stream
# has no prefix) and Azure CLI's logger (knack's console format ``LEVEL: message``: ``WARNING: ``,
# ``INFO: ``, ``DEBUG: ``), in capitals only, since prose writes "Warning:" too; and apt's
# notices (``N: ``). Not apt's ``W: ``: apt prints the fetch failures of an update under it (the
# network or proxy reason the install then fails for), so those lines stay failures.
_STREAM_RE = re.compile(r"^\s{0,8}(?:(?P<l>WARNING|VERBOSE|INFO|DEBUG):\s|(?P<m>N): )")


def parse_level(text: str) -> Optional[str]:
    """The normalised log level of a line (``error``, ``info``...), or None if it shows none."""
    m = _LEVEL_RE.search(text) or _OTHER_LEVEL_RE.search(text) or _STREAM_RE.match(text)
    if not m:
        return None
    word = next((w for w in m.groups() if w), "").lower()
    return _LEVEL_NAMES.get(word)
