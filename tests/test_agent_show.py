"""What ``azcmagent show -j`` already says, used and compared with the connect flags (issue 15,
item 6).

Shape of the output: JSON keys ``status``, ``lastHeartbeat``, ``agentVersion``,
``resourceName``, ``resourceGroup``, ``subscriptionId``, ``tenantId``, ``location``,
``httpsProxy``, ``services`` (objects with ``displayName``, ``serviceName``, ``status``) are read
by public scripts (Microsoft's azcmagent-show.md documents ``status`` and ``lastHeartbeat``;
MicrosoftDocs/PowerShell-Docs-Modules Crescendo research-tool.md prints ``services``;
Azure/ArcEnabledServersGroupPolicy EnableAzureArc.ps1 reads ``httpsProxy`` and the ``*Error*``
fields; Azure/arc_jumpstart_drops ArcEndpointCheck.ps1 reads ``location``, ``gatewayUrl``). The
display names ("Cloud", "Identity Key Store", "Agent Error Timestamp", "Resource Group Name")
come from the ``azcmagent show`` sample of agent 1.64 in MicrosoftDocs/azure-stack-docs
azure-local/manage/disconnected-operations-post-restore-reconnect-arc.md; their JSON keys are not
published, so both forms are exercised.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any, Dict

import pytest

from arc_preflight.config import Settings
from arc_preflight.model import ProbeContext, Status
from arc_preflight.probes import agent

SUB = "00000000-0000-0000-0000-000000000000"
OTHER_SUB = "11111111-2222-3333-4444-555555555555"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def iso(minutes_ago: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def connected(**extra: Any) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "resourceName": "web01", "resourceGroup": "rg-arc", "subscriptionId": SUB,
        "tenantId": TENANT, "location": "westeurope", "cloud": "AzureCloud",
        "resourceId": f"/subscriptions/{SUB}/resourceGroups/rg-arc/providers/"
                      "Microsoft.HybridCompute/machines/web01",
        "agentVersion": "1.64.03414.2961", "status": "Connected", "lastHeartbeat": iso(2),
        "agentErrorCode": "", "agentErrorDetails": "", "agentErrorTimestamp": "",
        "identityKeyStore": "Default", "httpsProxy": "",
        "services": [
            {"displayName": "GC Service", "serviceName": "gcarcservice", "status": "running"},
            {"displayName": "Extension Service", "serviceName": "extensionservice",
             "status": "running"},
            {"displayName": "Agent Service", "serviceName": "himds", "status": "running"},
        ],
    }
    data.update(extra)
    return data


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Dict[str, Any],
        profile: str = "preflight", **flags: Any):
    folder = tmp_path / "agent"
    folder.mkdir(exist_ok=True)
    (folder / "agentconfig.json").write_text(json.dumps({"resourcename": "web01"}))
    binary = tmp_path / "azcmagent"
    binary.write_text("#!/bin/sh\n")
    monkeypatch.setattr(agent, "show_once", lambda b, t: dict(data))
    settings = Settings(agent_dir=str(folder), azcmagent=str(binary), profile=profile, **flags)
    ctx = ProbeContext(timeout=2.0, settings=settings, deadline_at=time.monotonic() + 30)
    return agent.probe(str(folder), str(binary), profile, ctx, {})


def test_connected_where_check_points_is_the_plain_warning(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(tmp_path, monkeypatch, connected(), subscription_id=SUB, location="West Europe",
              resource_group="RG-ARC", tenant_id=TENANT)
    assert (out.status, out.code) == (Status.WARN, "agent.connected")
    assert out.facts["subscription_id"] == SUB and out.facts["location"] == "westeurope"
    assert out.facts["identity_key_store"] == "Default"
    assert [s["name"] for s in out.facts["services"]] == ["gcarcservice", "extensionservice",
                                                           "himds"]
    assert "differs_from_flags" not in out.facts


def test_connected_to_another_subscription_and_region(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(tmp_path, monkeypatch, connected(), subscription_id=OTHER_SUB, location="eastus")
    assert (out.status, out.code) == (Status.WARN, "agent.connected_elsewhere")
    flags = {m["flag"] for m in out.facts["differs_from_flags"]}
    assert flags == {"--subscription-id", "--location"}
    assert SUB in out.summary and "westeurope" in out.summary and "AZCM0067" in out.summary


def test_subscription_given_by_name_is_not_compared(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(tmp_path, monkeypatch, connected(), subscription_id="Production")
    assert out.code == "agent.connected"


def test_display_name_keys_and_the_resource_id(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Display-name keys, and the subscription and group taken from the resource id."""
    data = {"Agent Status": "Connected", "Agent Version": "1.64.03414.2961",
            "Resource Id": f"/subscriptions/{SUB}/resourceGroups/rg-arc/providers/"
                           "Microsoft.HybridCompute/machines/web01",
            "Location": "westeurope", "Cloud": "AzureUSGovernment",
            "Identity Key Store": "TPM", "Agent Last Heartbeat": iso(1)}
    out = run(tmp_path, monkeypatch, data, resource_group="other-rg",
              cloud="AzureUSGovernment")
    assert out.code == "agent.connected_elsewhere"
    assert out.facts["resource_group"] == "rg-arc" and out.facts["identity_key_store"] == "TPM"
    assert [m["flag"] for m in out.facts["differs_from_flags"]] == ["--resource-group"]


def test_error_with_its_timestamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = connected(status="Disconnected", agentErrorCode="AZCM0081",
                     agentErrorDetails="failed to renew the certificate",
                     agentErrorTimestamp=iso(30), lastHeartbeat=iso(90))
    out = run(tmp_path, monkeypatch, data)
    assert (out.status, out.code) == (Status.WARN, "agent.error")
    assert out.facts["error_timestamp"] == data["agentErrorTimestamp"]
    assert data["agentErrorTimestamp"] in out.summary


def test_error_older_than_the_last_heartbeat_is_history(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    data = connected(agentErrorCode="AZCM0026", agentErrorTimestamp=iso(600))
    out = run(tmp_path, monkeypatch, data, profile="health")
    assert out.status is Status.PASS, out
    assert out.facts["earlier_error"] == "AZCM0026"


def test_health_profile_flags_a_machine_connected_elsewhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(tmp_path, monkeypatch, connected(), profile="health", location="eastus")
    assert (out.status, out.code) == (Status.WARN, "agent.connected_elsewhere")


def test_services_not_running_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = connected(services=[
        {"displayName": "Agent Service", "serviceName": "himds", "status": "running"},
        {"displayName": "Extension Service", "serviceName": "extensionservice",
         "status": "stopped"}])
    out = run(tmp_path, monkeypatch, data)
    assert out.facts["services_not_running"] == ["extensionservice (stopped)"]
    assert "services not running: extensionservice (stopped)" in out.summary


def test_disconnected_once_connected_elsewhere(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = run(tmp_path, monkeypatch, connected(status="Disconnected", lastHeartbeat=iso(300)),
              location="eastus")
    assert out.code == "agent.disconnected" and "it was connected with location" in out.summary
