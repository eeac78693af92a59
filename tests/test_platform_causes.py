"""A cause of one operating system is offered only for that system's logs (issue 13 item 10):
the Windows profile-cleanup group policy never beside a DNS failure in a Linux log."""

from __future__ import annotations

import pytest

from arc_preflight import kb
from arc_preflight.logs.diagnose import diagnose_text

LOOKUP = "dial tcp: lookup login.microsoftonline.com: no such host"
LINUX = f'time="2026-03-04T10:00:01Z" level=error msg="x" error="{LOOKUP}" /var/opt/azcmagent'
WINDOWS = f"FATAL[0005] {LOOKUP} C:\\ProgramData\\AzureConnectedMachineAgent"


def causes(text: str, platform: str) -> list:
    report = diagnose_text(text, kb.load(), platform=platform)
    return [d.diagnosis.cause_id for d in report.diagnoses]


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_a_linux_log_never_gets_the_windows_only_cause(platform: str) -> None:
    assert causes(LINUX, platform) == ["dns_name_not_found"]


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_a_windows_log_keeps_it_as_the_second_reading(platform: str) -> None:
    assert causes(WINDOWS, platform) == ["dns_name_not_found", "gpo_profile_cleanup"]


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_without_hints_both_readings_stay_whatever_machine_reads_it(platform: str) -> None:
    """Text pasted from a Windows server onto a Linux admin box has no hints to go by."""
    assert causes(f"ERROR {LOOKUP}", platform) == ["dns_name_not_found", "gpo_profile_cleanup"]


def test_platform_values_are_validated() -> None:
    entry = ('[[cause]]\nid = "x"\ncategory = "unknown"\nseverity = "warn"\ntitle = "t"\n'
             'explanation = "e"\nremedy = ["r"]\ndocs = ["https://learn.microsoft.com/azure/'
             'azure-arc/servers/x"]\nplatform = "macos"\n')
    with pytest.raises(kb.KnowledgeBaseError, match="platform"):
        kb.parse(entry)
