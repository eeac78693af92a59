"""Windows Installer's texts for its exit codes are failures even without a failure word.

msiexec shows (and scripts print) the system message of its exit code, and several of those
say what went wrong without "failed", "error:" or "cannot": the bare 1605 text met silence
("This action is only valid for products that are currently installed.", posted alone as the
error of an uninstall in https://github.com/Particular/ServiceInsight/issues/298 and
https://github.com/wixtoolset/issues/issues/6057). Issue 9 item 4: a text that reports a failure
gets at least ``unknown``. The other lines are the messages of the published table for the codes
an admin running msiexec meets (https://learn.microsoft.com/windows/win32/msi/error-codes;
1602's system message "User cancelled installation." as listed in https://pastebin.com/tD6W6pHr).
"""

from __future__ import annotations

import pytest
from diagtext import assert_only_unknown, assert_reported, assert_silent, categories, diagnose

from arc_preflight import kb as kbmod

MESSAGES = [
    # the two public samples of 1605 (an uninstall from Programs and Features, and with the
    # product's uninstall string), as posted: quoted, without the final period
    "'This action is only valid for products that are currently installed'",
    "`This action is only valid for products that are currently installed`",
    "This action is only valid for products that are currently installed.",   # 1605
    "User cancelled installation.",                                              # 1602
    "The user cancels installation.",                                            # 1602 (table)
    "Installation suspended, incomplete.",                                       # 1604
    "The configuration data for this product is corrupt. Contact your support personnel.",
    "This installation package cannot be installed by the Windows Installer service. You must "
    "install a Windows service pack that contains a newer version of the Windows Installer "
    "service.",                                                                  # 1613
    "The product is uninstalled.",                                               # 1614
    "There was an error starting the Windows Installer service user interface. Contact your "
    "support personnel.",                                                        # 1621
    "This language of this installation package is not supported by your system.",  # 1623
    "There was an error applying transforms. Verify that the specified transform paths are "
    "valid.",                                                                    # 1624
    "The Temp folder is either full or inaccessible. Verify that the Temp folder exists and that "
    "you can write to it.",                                                      # 1632
    "This installation package is not supported on this platform. Contact your application "
    "vendor.",                                                                   # 1633
    "This patch package cannot be processed by the Windows Installer service. You must install a "
    "Windows service pack that contains a newer version of the Windows Installer service.",
    "Invalid command line argument. Consult the Windows Installer SDK for detailed command-line "
    "help.",                                                                     # 1639
    "The current user is not permitted to perform installations from a client session of a "
    "server running the Terminal Server role service.",                          # 1640
    "Windows Installer is not accessible when the computer is in Safe Mode. Exit Safe Mode and "
    "try again or try using System Restore to return your computer to a previous state.",
]


@pytest.mark.parametrize("line", MESSAGES)
def test_an_msi_exit_message_is_never_met_with_silence(kb: kbmod.KnowledgeBase,
                                                       line: str) -> None:
    assert_reported(line, kb)


def test_the_bare_1605_text_is_unknown(kb: kbmod.KnowledgeBase) -> None:
    """No cause says which product a bare 1605 was about: unknown, with the line as evidence."""
    assert_only_unknown(MESSAGES[2], kb)


@pytest.mark.parametrize("line", [
    # the same words as advice or a description, not a tool's report
    "Note: This action is only valid for products that are currently installed.",
    "The installer reports 0 errors; the product is installed.",
])
def test_msi_words_in_advice_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)


def test_the_messages_name_their_cause_where_one_exists(kb: kbmod.KnowledgeBase) -> None:
    """A cause that already reads a message keeps it (1633 is an unsupported platform only when
    a cause says so; here the failure wording must not hide an existing cause)."""
    assert "unknown" not in categories(diagnose(
        "This installation is forbidden by system policy. Contact your system administrator.\n",
        kb))
