"""The agent's state named, with the next command for this machine (issue 11, item 3).

``azcmagent show -j`` stand-ins copy the shape of ``tests/test_agent_show.py`` (keys read by
public scripts; sources in that file's docstring: Microsoft's azcmagent-show.md documents
``status`` and ``lastHeartbeat``, MicrosoftDocs/azure-stack-docs
azure-local/manage/disconnected-operations-post-restore-reconnect-arc.md shows the 1.64 fields).
HIMDS answers copy the lab stand-in's compute document (tests/lab/standin.py), itself from the
Azure Arc Jumpstart managed-identity scenario and microsoft/MicroHack challenge-3 solution.md.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from factories import result

from arc_preflight import kb
from arc_preflight.config import Settings
from arc_preflight.diagnose import from_results
from arc_preflight.model import ProbeContext, Result, Status
from arc_preflight.probes import agent, agentstate

SUB = "00000000-0000-0000-0000-000000000000"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
RID = (f"/subscriptions/{SUB}/resourceGroups/rg-arc/providers/Microsoft.HybridCompute/"
       "machines/web01")
SECRET = "s3cr3t-value-never-shown"


def show(status: str, **extra: Any) -> Dict[str, Any]:
    data: Dict[str, Any] = {"agentVersion": "1.64.03414.2961", "status": status,
                            "lastHeartbeat": "", "agentErrorCode": "", "agentErrorDetails": "",
                            "services": [{"displayName": "Agent Service",
                                          "serviceName": "himds", "status": "running"}]}
    data.update(extra)
    return data


def connected_show(status: str = "Connected", **extra: Any) -> Dict[str, Any]:
    return show(status, resourceName="web01", resourceGroup="rg-arc", subscriptionId=SUB,
                tenantId=TENANT, location="westeurope", resourceId=RID,
                vmId="22222222-2222-2222-2222-222222222222", **extra)


def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Dict[str, Any],
          profile: str = "preflight", agentconfig: Dict[str, Any] | None = None,
          **flags: Any) -> Result:
    folder = tmp_path / "agent"
    folder.mkdir(exist_ok=True)
    (folder / "agentconfig.json").write_text(json.dumps(agentconfig or {}))
    binary = tmp_path / "azcmagent"
    binary.write_text("#!/bin/sh\n")
    monkeypatch.setattr(agent, "show_once", lambda b, t: dict(data))
    settings = Settings(agent_dir=str(folder), azcmagent=str(binary), profile=profile, **flags)
    ctx = ProbeContext(timeout=2.0, settings=settings, deadline_at=time.monotonic() + 30)
    out = agentstate.agent_probe(str(folder), str(binary), profile, ctx, {})
    return result("agent", out.status, out.summary, code=out.code, target=str(folder),
                  facts=out.facts)


def remedy_of(results: List[Result], cause_id: str) -> List[str]:
    for diag in from_results(results, kb.load()):
        if diag.cause_id == cause_id:
            return list(diag.remedy)
    found = [d.cause_id for d in from_results(results, kb.load())]
    raise AssertionError(f"no {cause_id} in {found}")


# --------------------------------------------------------------------------------------------
# states and their commands


def test_installed_never_connected_is_ready_and_says_the_connect_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, show("Disconnected"), location="westeurope",
                resource_group="rg-arc", subscription_id=SUB, tenant_id=TENANT,
                service_principal_id="11111111-2222-3333-4444-555555555555",
                service_principal_secret=SECRET)
    assert (out.status, out.code) == (Status.PASS, None)
    assert out.facts["state"] == "not_connected"
    command = out.facts["next_command"][0]
    assert command == (f"azcmagent connect --resource-group rg-arc --tenant-id {TENANT} "
                       f"--location westeurope --subscription-id {SUB} --service-principal-id "
                       "11111111-2222-3333-4444-555555555555 --service-principal-secret <secret>")
    assert f"next: {command}" in out.summary
    assert SECRET not in json.dumps(out.facts) + out.summary


def test_connect_command_uses_placeholders_for_flags_not_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, show("Disconnected"))
    assert out.facts["next_command"] == [
        "azcmagent connect --resource-group <resource-group> --tenant-id <tenant-id> "
        "--location <region> --subscription-id <subscription-id>"]


def test_never_connected_fails_the_health_profile_with_its_own_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, show("Disconnected"), profile="health",
                location="eastus")
    assert (out.status, out.code) == (Status.FAIL, "agent.not_connected")
    remedy = remedy_of([out], "agent_not_connected")
    assert remedy[0].startswith("On this machine, run: azcmagent connect ")
    assert "--location eastus" in remedy[0]


def test_connected_needs_disconnect_before_connect(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show(lastHeartbeat="2026-01-01T00:00:00Z"))
    assert (out.code, out.facts["state"]) == ("agent.connected", "connected")
    assert out.facts["vm_id"] == "22222222-2222-2222-2222-222222222222"  # for the fleet
    assert out.facts["next_command"][0] == "azcmagent disconnect"
    # the agent's own values fill what check was not given
    assert "--resource-group rg-arc" in out.facts["next_command"][1]
    remedy = remedy_of([out], "agent_already_connected")
    # the warning that disconnect deletes the resource leads, before any command
    assert remedy[0].startswith("Before you run anything: azcmagent disconnect deletes")
    assert remedy[1:3] == ["On this machine, run: azcmagent disconnect",
                           "Then run: " + out.facts["next_command"][1]]


def test_connected_with_exactly_the_flags_given_needs_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show(lastHeartbeat="2026-01-01T00:00:00Z"),
                resource_group="rg-arc", location="westeurope", subscription_id=SUB,
                tenant_id=TENANT, resource_name="web01")
    assert (out.status, out.code, out.facts["state"]) == (Status.PASS, None, "connected")
    assert "next_command" not in out.facts and "next_caution" not in out.facts
    assert "nothing to connect" in out.summary
    # a region alone names no resource; a flag the agent does not report cannot be "exact"
    for flags in ({"location": "westeurope"},
                  {"resource_group": "rg-arc", "private_link_scope": None,
                   "tenant_id": TENANT}):
        again = tmp_path / str(len(str(flags)))
        again.mkdir()
        data = connected_show(lastHeartbeat="2026-01-01T00:00:00Z")
        if "tenant_id" in flags:
            data.pop("tenantId")
        out = probe(again, monkeypatch, data, **flags)
        assert out.code == "agent.connected" and out.facts["next_command"][0] == \
            "azcmagent disconnect"


def test_connected_elsewhere_leads_with_the_disconnect_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show(lastHeartbeat="2026-01-01T00:00:00Z"),
                resource_group="rg-other", location="westeurope")
    assert out.code == "agent.connected_elsewhere"
    assert out.facts["next_command"][0] == "azcmagent disconnect"
    remedy = remedy_of([out], "agent_connected_elsewhere")
    assert remedy[0].startswith("Before you run anything: azcmagent disconnect deletes this "
                                "machine's Azure resource with its extensions")
    assert "move the resource in Azure" in remedy[0]
    assert remedy[1] == "On this machine, run: azcmagent disconnect"
    assert "--resource-group rg-other" in remedy[2]


def test_connect_command_carries_the_gateway_id(tmp_path: Path) -> None:
    gateway = (f"/subscriptions/{SUB}/resourceGroups/rg-arc/providers/"
               "Microsoft.HybridCompute/gateways/gw1")
    given = agentstate.connect_command(Settings(gateway_id=gateway, location="eastus"), {},
                                       "linux")
    assert given.endswith(f"--gateway-id {gateway}")
    # no gateway anywhere: no flag
    assert "--gateway-id" not in agentstate.connect_command(Settings(agent_dir=str(tmp_path)),
                                                            {}, "linux")
    # the agent set to the gateway (azcmagent config set connection.type gateway) but no id
    # known: a placeholder, since connect needs it
    (tmp_path / "localconfig.json").write_text('{"connection.type": "gateway"}')
    asked = agentstate.connect_command(Settings(agent_dir=str(tmp_path)), {}, "linux")
    assert asked.endswith("--gateway-id <gateway-resource-id>")
    by_url = agentstate.connect_command(Settings(gateway_url="https://ab.gw.arc.azure.com"),
                                        {}, "linux")
    assert "--gateway-id <gateway-resource-id>" in by_url


def test_reconnect_and_expired_commands_carry_the_gateway_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = (f"/subscriptions/{SUB}/resourceGroups/rg-arc/providers/"
               "Microsoft.HybridCompute/gateways/gw1")
    out = probe(tmp_path, monkeypatch, connected_show("Expired"), gateway_id=gateway)
    assert out.facts["next_command"][-1].endswith(f"--gateway-id {gateway}")
    other = tmp_path / "other"
    other.mkdir()
    out = probe(other, monkeypatch, connected_show(), gateway_id=gateway,
                resource_group="rg-new")
    assert out.facts["next_command"][1].endswith(f"--gateway-id {gateway}")


def test_connected_and_healthy_needs_nothing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = probe(tmp_path, monkeypatch, connected_show(lastHeartbeat=now), profile="health")
    assert out.status is Status.PASS and out.facts["state"] == "connected"
    assert "next_command" not in out.facts


def test_disconnected_after_a_connection_restarts_and_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show("Disconnected"), agentconfig={
        "resourcename": "web01"})
    assert (out.code, out.facts["state"]) == ("agent.disconnected", "disconnected")
    assert out.facts["next_command"] == ["sudo systemctl restart himdsd",
                                         "azcmagent check --location westeurope"]


def test_expired_deletes_the_resource_then_reconnects(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show("Expired"), location="westeurope",
                tenant_id=TENANT)
    assert (out.status, out.code, out.facts["state"]) == (Status.FAIL, "agent.expired",
                                                          "expired")
    delete, disconnect, connect = out.facts["next_command"]
    assert delete == (f"az connectedmachine delete --resource-group rg-arc --name web01 "
                      f"--subscription {SUB}")
    assert disconnect == "azcmagent disconnect --force-local-only"
    assert connect.startswith("azcmagent connect --resource-group rg-arc")
    remedy = remedy_of([out], "agent_expired")
    assert remedy[0] == f"On this machine, run: {delete}"
    assert remedy[1] == f"Then run: {disconnect}"


def test_windows_commands_use_the_windows_service_and_quoting() -> None:
    facts = {"location": "west europe"}
    assert agentstate.next_commands("disconnected", facts, None, "preflight", "win32") == [
        "Restart-Service himds", 'azcmagent check --location "west europe"']
    linux = agentstate.connect_command(Settings(tags="env=prod,team=a b"), {}, "linux")
    assert linux.endswith("--tags 'env=prod,team=a b'")


def test_state_names_cover_the_agent_check_outcomes() -> None:
    from arc_preflight.model import Outcome

    def state(code: Any, **facts: Any) -> str:
        return agentstate.state_of(Outcome(Status.WARN, "", code=code, facts=facts))

    assert state(None) == "not_installed"
    assert state("agent.error", installed=True, status="Connected") == "error"
    assert state(None, installed=True, status="Disconnected") == "not_connected"
    assert state(None, installed=True, status="Disconnected", resource_name="x") == \
        "disconnected"
    assert state(None, installed=True, status="Weird") == "unknown"


# --------------------------------------------------------------------------------------------
# the agent's view against HIMDS


def himds(resource_id: str = RID) -> Result:
    return result("himds", "pass", facts={"url": "http://localhost:40342", "resourceId":
                                          resource_id, "name": "web01"})


def agent_result(status: str = "Connected", resource_id: str = RID) -> Result:
    return result("agent", "warn", code="agent.connected", facts={
        "installed": True, "status": status, "resource_id": resource_id})


def ctx() -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)


def test_himds_serving_another_resource_is_a_mismatch() -> None:
    other = RID.replace("machines/web01", "machines/web02")
    out = agentstate.himds_match_probe(ctx(), {"agent": agent_result(), "himds": himds(other)})
    assert (out.status, out.code) == (Status.WARN, "agent.himds_mismatch")
    assert out.facts["himds_resource_id"] == other
    assert out.facts["next_command"][0] == "sudo systemctl restart himdsd"


def test_connected_agent_but_himds_serves_nothing_is_a_mismatch() -> None:
    out = agentstate.himds_match_probe(ctx(), {"agent": agent_result(), "himds": himds("")})
    assert out.code == "agent.himds_mismatch"


def test_himds_agreeing_passes_whatever_the_case() -> None:
    out = agentstate.himds_match_probe(ctx(), {"agent": agent_result(),
                                               "himds": himds(RID.upper())})
    assert (out.status, out.code) == (Status.PASS, None)


def test_himds_serving_a_resource_the_agent_does_not_record_is_a_mismatch() -> None:
    """A half-finished disconnect (or --force-local-only with the service still running):
    azcmagent show names no resource, HIMDS still serves one."""
    never = result("agent", "pass", facts={"installed": True, "status": "Disconnected"})
    out = agentstate.himds_match_probe(ctx(), {"agent": never, "himds": himds()})
    assert (out.status, out.code) == (Status.WARN, "agent.himds_mismatch")
    assert out.facts["himds_resource_id"] == RID and out.facts["agent_resource_id"] is None
    assert out.facts["next_command"][0] == "sudo systemctl restart himdsd"
    # both empty: nothing served, nothing recorded, nothing to compare
    quiet = agentstate.himds_match_probe(ctx(), {"agent": never, "himds": himds("")})
    assert (quiet.status, quiet.code) == (Status.PASS, None)


def test_recorded_name_against_himds_name_when_no_resource_id_is_shown() -> None:
    recorded = result("agent", "warn", code="agent.disconnected", facts={
        "installed": True, "status": "Disconnected", "resource_name": "web07"})
    out = agentstate.himds_match_probe(ctx(), {"agent": recorded, "himds": himds("")})
    assert (out.status, out.code) == (Status.WARN, "agent.himds_mismatch")
    assert (out.facts["agent_resource_name"], out.facts["himds_name"]) == ("web07", "web01")
    same = result("agent", "warn", code="agent.disconnected", facts={
        "installed": True, "status": "Disconnected", "resource_name": "WEB01"})
    assert agentstate.himds_match_probe(ctx(), {"agent": same, "himds": himds("")}).status \
        is Status.PASS


def test_plan_has_the_arc_setup_check_only_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    from arc_preflight import plan

    def ids() -> List[str]:
        return [c.id for c in plan._agent_state_checks(Settings(), True)]

    assert ids() == ["agent:himds-match", "agent:config-file", "agent:clone", "agent:version"]
    monkeypatch.setattr(plan.sys, "platform", "win32")
    assert ids()[-1] == "agent:arc-setup"


def test_himds_comparison_skips_without_an_answer() -> None:
    down = result("himds", "fail", code="himds.refused")
    assert agentstate.himds_match_probe(ctx(), {"agent": agent_result(), "himds": down}
                                        ).status is Status.SKIP
    not_installed = result("agent", "pass", facts={"installed": False})
    assert agentstate.himds_match_probe(ctx(), {"agent": not_installed, "himds": himds()}
                                        ).status is Status.SKIP


# --------------------------------------------------------------------------------------------
# the agent's age


def versioned(version: str) -> Dict[str, Result]:
    return {"agent": result("agent", "pass", facts={"installed": True, "version": version})}


def test_release_list_is_complete_and_ordered() -> None:
    table = agentstate.releases()
    versions = [v for v, _ in table]
    assert versions[0] == (1, 0) and len(versions) == len(set(versions)) == 68
    assert [m for _, m in table] == sorted(m for _, m in table)
    assert dict(table)[(1, 57)] == dt.date(2025, 10, 1)


def test_agent_more_than_a_year_old_is_out_of_support() -> None:
    out = agentstate.version_probe(ctx(), versioned("1.40.02669.1635"))
    assert (out.status, out.code) == (Status.WARN, "agent.outdated")
    assert out.facts["released"] == "2024-04" and out.facts["months_older"] > 12
    assert "April 2024" in out.summary and out.facts["next_command"]


TABLE = (((1, 54), dt.date(2025, 7, 1)), ((1, 55), dt.date(2025, 8, 1)),
         ((1, 67), dt.date(2026, 8, 1)))


def test_support_window_is_a_year_back_from_the_current_release() -> None:
    # 1.55 (August 2025) is exactly a year older than 1.67 (August 2026): still supported.
    inside = agentstate.version_probe(ctx(), versioned("1.55"), table=TABLE)
    outside = agentstate.version_probe(ctx(), versioned("1.54"), table=TABLE)
    assert (inside.status, outside.status) == (Status.PASS, Status.WARN)
    assert (inside.facts["months_older"], outside.facts["months_older"]) == (12, 13)
    assert outside.facts["releases_behind"] == 2


def test_recent_newer_and_unknown_versions() -> None:
    assert agentstate.version_probe(ctx(), versioned("1.67.1"), table=TABLE).status \
        is Status.PASS
    newer = agentstate.version_probe(ctx(), versioned("1.99.0"), table=TABLE)
    assert newer.status is Status.PASS and "newer than the release list" in newer.summary
    assert agentstate.version_probe(ctx(), versioned("1.50"), table=TABLE).status \
        is Status.SKIP
    assert agentstate.version_probe(ctx(), versioned("banana")).status is Status.SKIP
    assert agentstate.version_probe(ctx(), {}).status is Status.SKIP


def test_upgrade_commands_follow_the_machine() -> None:
    assert agentstate.upgrade_commands((1, 62), (1, 67)) == ["azcmagent upgrade"]
    apt = agentstate.upgrade_commands((1, 40), (1, 67), "linux",
                                      which=lambda tool: tool == "apt" or None)
    assert apt == ["sudo apt update", "sudo apt upgrade azcmagent"]
    yum = agentstate.upgrade_commands((1, 40), (1, 67), "linux",
                                      which=lambda tool: tool == "yum" or None)
    assert yum[-1] == "sudo yum update azcmagent"
    windows = agentstate.upgrade_commands((1, 40), (1, 67), "win32")
    assert "https://gbl.his.arc.azure.com/azcmagent/1.67/AzureConnectedMachineAgent.msi" \
        in windows[0]
    assert windows[1].startswith("msiexec /i AzureConnectedMachineAgent.msi /qn")


def test_parse_version() -> None:
    assert agentstate.parse_version("1.64.03414.2961") == (1, 64)
    assert agentstate.parse_version("1.9") == (1, 9)
    assert agentstate.parse_version("") is None
    assert agentstate.parse_version("v1.64") is None


# --------------------------------------------------------------------------------------------
# the host's commands first, the knowledge base's general steps only where they add something


def test_general_steps_repeating_the_host_commands_are_left_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show("Expired"))
    remedy = remedy_of([out], "agent_expired")
    assert len(remedy) == 3 and all(" <" not in step.split("--name")[0] for step in remedy)


def test_general_steps_with_more_than_the_host_commands_stay(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = probe(tmp_path, monkeypatch, connected_show(lastHeartbeat="2026-01-01T00:00:00Z"))
    remedy = remedy_of([out], "agent_already_connected")
    # "azcmagent disconnect --force-local-only if the Azure resource is gone" is more than the
    # plain disconnect the check proposes: the general step is kept.
    assert any("--force-local-only" in step for step in remedy[2:])


def test_covered_commands() -> None:
    from arc_preflight.diagnose import _covered, general_steps

    host = ["az connectedmachine delete --resource-group arc-rg --name web01",
            "azcmagent connect --resource-group arc-rg --location eastus"]
    assert _covered("az connectedmachine delete --resource-group <rg> --name <name>", host)
    assert _covered("azcmagent connect ...", host)
    assert _covered("azcmagent connect --resource-group <rg> ... --location <region>", host)
    # flags after "..." count: a step asking for more than the host's command stays
    assert not _covered("azcmagent connect ... --resource-name <unique-name>", host)
    assert _covered("azcmagent connect ... --resource-name <unique-name>",
                    [host[1] + " --resource-name web01-b"])
    assert not _covered("azcmagent connect ... --location <region> --resource-name <n>",
                        [host[1] + " --tags a=b --resource-name web01-b"])
    assert not _covered("azcmagent connect --cloud AzureUSGovernment", host)
    assert not _covered("az connectedmachine delete --resource-group other", host)
    steps = ["Delete it: az connectedmachine delete --resource-group <rg> --name <name>",
             "Read the docs.", "Run azcmagent show and azcmagent connect again."]
    kept = general_steps(steps, ["On this machine, run: " + host[0], "Then run: " + host[1]])
    assert kept == ("Read the docs.", "Run azcmagent show and azcmagent connect again.")
    assert general_steps(steps, []) == tuple(steps)
