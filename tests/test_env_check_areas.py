"""The Azure Local environment checker's validators read by their published areas (issue 9).

A failed result record names its test as ``AzStackHci_<Area>_...`` or ``AzureLocal_<Area>_...``;
the area says what kind of requirement failed (the machine's software, security settings,
validated versions, storage, host networking), so one entry per area names a cause for tests no
rule was written from. The reachability tests and the outbound port test are read apart. Every
record below is the sample of the test's published troubleshooting guide, as posted (cited).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from diagtext import categories, diagnose

from arc_preflight import kb as kbmod

SAMPLES = Path(__file__).parent / "fixtures" / "env_check"  # sources: its README.md


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


DOMAIN = _sample("domain.json")

STORAGE_ADAPTER = _sample("storageadapter.json")

# (the driver record's top-level Status is 0 although the test failed: only the AdditionalData
# status is read)
DRIVERS = _sample("driver.json")

STORAGE_CONNECTIONS = _sample("storageconn.json")

MOC_PORT = _sample("mocport.txt")

# the physical disk record's Detail is a table of the node's disks, so its failed status comes
# 30 lines after its Name
PHYSICAL_DISK = _sample("disk.json")

MGMT_IP = _sample("mgmtip.json")


@pytest.mark.parametrize("text, category", [
    (DOMAIN, "unsupported_environment"),
    (STORAGE_ADAPTER, "unsupported_environment"),
    (DRIVERS, "unsupported_environment"),
    (PHYSICAL_DISK, "unsupported_environment"),
    (STORAGE_CONNECTIONS, "network_unreachable"),
    (MOC_PORT, "firewall_or_proxy_blocking"),
], ids=["software", "network-config", "drivers", "hardware-long-detail", "storage-reach",
        "moc-port"])
def test_failed_record_yields_its_areas_cause(kb: kbmod.KnowledgeBase, text: str,
                                               category: str) -> None:
    report = diagnose(text, kb)
    assert categories(report) == {category}
    # the evidence is the record's Name line: it says which test failed
    assert any("AzStackHci_" in line or "AzureLocal_" in line
               for line in report.diagnoses[0].diagnosis.evidence)


@pytest.mark.parametrize("text", [DOMAIN, STORAGE_ADAPTER, PHYSICAL_DISK, MGMT_IP],
                         ids=["software", "network-config", "hardware-long-detail", "mgmt-ip"])
def test_passed_record_stays_silent(kb: kbmod.KnowledgeBase, text: str) -> None:
    """The same records with a passed status say nothing (their Detail lines carry no failure
    word in these samples)."""
    assert diagnose(text.replace('"FAILURE"', '"SUCCESS"'), kb).diagnoses == ()


def test_a_test_with_two_published_failures_stays_unknown(kb: kbmod.KnowledgeBase) -> None:
    """The management IP test fails when the address cannot be reached and when another node
    answers it (its guide gives both), so no one cause is named: the record is reported as an
    unknown failure with its Name line."""
    report = diagnose(MGMT_IP, kb)
    assert categories(report) == {"unknown"}
    assert report.exit_code != 0
    assert any("NodeManagementIPConnection" in line
               for line in report.diagnoses[0].diagnosis.evidence)


def test_module_versions_stay_a_client_tool_cause(kb: kbmod.KnowledgeBase) -> None:
    """The validated recipe's PowerShell module test has its own cause (the installed modules
    differ); the area entry must not add a second category beside it."""
    text = STORAGE_ADAPTER.replace("AzStackHci_Network_Test_StorageAdapterReadiness",
                                   "AzStackHci_ValidatedRecipe_PowerShellModule_Version")
    assert categories(diagnose(text, kb)) == {"client_tool_bug"}


def test_json_record_status_beyond_the_format_list_span(kb: kbmod.KnowledgeBase) -> None:
    """The physical disk record's failed status is 30 lines after its Name: more than the
    Format-List layout's span, within the JSON layout's. Cut one line short of the status, the
    record is not confirmed (and nothing else in it reports a failure)."""
    lines = PHYSICAL_DISK.splitlines()
    status = next(i for i, line in enumerate(lines) if '"FAILURE"' in line)
    assert status > 15
    assert diagnose("\n".join(lines[:status]) + "\n", kb).diagnoses == ()


def test_the_next_record_ends_the_wait(kb: kbmod.KnowledgeBase) -> None:
    """A passed record followed by a failed one: only the failed one's area is named."""
    text = DOMAIN.replace('"FAILURE"', '"SUCCESS"') + STORAGE_CONNECTIONS
    assert categories(diagnose(text, kb)) == {"network_unreachable"}
    text = STORAGE_CONNECTIONS.replace('"FAILURE"', '"SUCCESS"').replace("= FAIL", "= PASS") \
        + DOMAIN
    assert categories(diagnose(text, kb)) == {"unsupported_environment"}
