"""Lines that report an error their own tool expected and handled.

Such a line says nothing about the machine, so the scanner drops it before matching: reporting
it would turn every successful onboarding that prints it into a finding.
"""

from __future__ import annotations

import re

# The Windows install script (install_windows_azcmagent.ps1, Test-IsAzure) asks
# the Azure instance metadata address whether it runs in Azure, with a one-second timeout, and
# on a machine outside Azure catches the error and logs it with Write-Verbose: ``VERBOSE: Error
# The operation has timed out. checking if we are in Azure`` is how every successful
# onboarding outside Azure begins (https://github.com/joetanx/mslab/blob/main/arc.md, corpus
# healthy h-h02).
# The Linux install script (install_linux_azcmagent.sh) first removes an older Microsoft
# repository package, ignoring the result (``sudo apt -y remove packages-microsoft-prod ||
# true``, the same with zypper, yum and dnf), so a first install prints the package manager's
# "not there" answer; and it waits for apt's lock with ``sudo lsof``, going on when lsof is
# missing (verify_apt_not_busy). A shell that reads a non-breaking space as a command name
# (``line 38: \xa0: command not found``, an RPM scriptlet's formatting slip) ran nothing and
# goes on.
# nslookup prints "DNS request timed out." for every query that goes unanswered and retries; the
# first one, before "Server:  UnKnown", is only the reverse lookup of the server's own address,
# and the answer may still follow. Its verdict, when the lookup itself fails, is a line of its
# own ("*** Request to UnKnown timed-out", read by the knowledge base)
# (https://learn.microsoft.com/en-us/answers/questions/187796/client-dns-issue-after-domain-controller-migration).
# robocopy's summary table names its columns, FAILED and Mismatch among them, on every run
# (https://learn.microsoft.com/windows-server/administration/windows-commands/robocopy).
# (Searched only on lines that hold one of these, lower-cased: most lines hold none.)
BENIGN_HINTS = (b"checking if we are in azure", b"packages-microsoft-prod", b"lsof",
                b"\xc2\xa0", b"dns request timed out", b"mismatch")
BENIGN_RE = re.compile(
    r"\bError [^\n]{0,300}? checking if we are in Azure\b"
    r"|\bUnable to locate package packages-microsoft-prod\b"
    r"|\bNo match for argument: packages-microsoft-prod\b"
    r"|\bpackages-microsoft-prod.? (?:not found in package names|is not installed)\b"
    r"|\bsudo: lsof: command not found\b"
    r"|: \xa0: command not found\b"
    r"|^\s{0,40}DNS request timed out\.\s{0,40}$"
    r"|\bTotal\s{1,20}Copied\s{1,20}Skipped\s{1,20}Mismatch\s{1,20}FAILED\s{1,20}Extras\b",
    re.IGNORECASE)
