"""Agent states with the next command, as real host state inside the lab (issue 11, item 3).

The CLI runs unchanged in a loopback-only namespace. Host state is made for real: a HIMDS
stand-in on 127.0.0.1:40342 answering for another resource than the agent records, an
``agentconfig.json`` with the immutable attribute (``chattr +i``, which stops even root), a
``himds.log`` holding HTTP 429 answers from the identity service, and an ``azcmagent`` stand-in
printing ``show -j`` for an expired, a never-connected and an old agent.

Shapes: ``azcmagent show -j`` as in tests/test_agent_show.py (keys read by public scripts;
Microsoft's azcmagent-show.md; the 1.64 sample in MicrosoftDocs/azure-stack-docs
azure-local/manage/disconnected-operations-post-restore-reconnect-arc.md); the HIMDS compute
document as tests/lab/standin.py serves it; the himds.log lines in the agent's logrus shape
(``time="..." level=error msg="..." Error="..."``, the real line in
tests/corpus/cases/a-020.txt from
https://github.com/JanneMattila/azure-arc-demos/blob/main/servers/networking.md) with the 429 of
agent-overview.md "Cloning guidelines".
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List

import jsonschema
import pytest

from .netlab import CliResult, Lab
from .test_scenarios import LOCATION, SCHEMA, checks, fake_systemd

pytestmark = pytest.mark.lab

SUB = "00000000-0000-0000-0000-000000000000"
RID = f"/subscriptions/{SUB}/resourceGroups/arc-rg/providers/Microsoft.HybridCompute/machines/"
ONLY = ("--only", "agent", "--only", "himds")
THROTTLED = ('time="{when}" level=error msg="Failed to send heartbeat" '
             'Error="PUT \\"https://eastus.his.arc.azure.com/subscriptions/0000/heartbeat'
             '?api-version=2.1\\": 429 Too Many Requests"\n')


def logged(hours_ago: float) -> str:
    """A logrus time stamp ``hours_ago`` before now."""
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(status: str, name: str = "web01", **extra: Any) -> Dict[str, Any]:
    data: Dict[str, Any] = {"status": status, "agentVersion": "1.66.03500.1234",
                            "lastHeartbeat": "2026-11-30T08:00:00Z", "resourceName": name,
                            "resourceGroup": "arc-rg", "subscriptionId": SUB,
                            "location": "eastus", "resourceId": RID + name}
    data.update(extra)
    return data


def diagnosis(result: CliResult, cause_id: str) -> Dict[str, Any]:
    for diag in result.data["diagnoses"]:
        if diag["cause_id"] == cause_id:
            return dict(diag)
    raise AssertionError(f"{cause_id} not in {[d['cause_id'] for d in result.data['diagnoses']]}")


def agent_dir(lab: Lab) -> Path:
    """The stand-in agent folder, made once (a test may make its file immutable)."""
    folder = Path(lab.workdir) / "agentstate"
    if not folder.exists():
        folder.mkdir()
        (folder / "agentconfig.json").write_text(json.dumps({"cloud": "AzureCloud"}))
        folder.chmod(0o755)
    return folder


def state_run(lab: Lab, *extra: str, show: Dict[str, Any] | None = None) -> CliResult:
    """check --only agent --only himds inside the namespace, azcmagent and systemctl stood in."""
    argv = lab.check_argv("--location", LOCATION, "--himds-url", lab.himds_url, "--agent-dir",
                          str(agent_dir(lab)), *ONLY, *extra)
    proc = lab.cli(*argv, env=fake_systemd(lab, show), timeout=60)
    result = CliResult(proc, json.loads(proc.stdout))
    assert "Traceback" not in result.stderr
    jsonschema.validate(result.data, SCHEMA)
    assert result.data["exit_code"] == result.returncode
    return result


def test_expired_agent_gets_delete_disconnect_connect(lab: Lab) -> None:
    lab.himds(connected=True)
    result = state_run(lab, "--tenant-id", "11111111-1111-1111-1111-111111111111",
                       show=shown("Expired"))
    agent = checks(result)["agent"]
    assert (agent["status"], agent["code"], agent["facts"]["state"]) == (
        "fail", "agent.expired", "expired")
    remedy = diagnosis(result, "agent_expired")["remedy"]
    assert remedy[:3] == [
        f"On this machine, run: az connectedmachine delete --resource-group arc-rg --name web01 "
        f"--subscription {SUB}",
        "Then run: azcmagent disconnect --force-local-only",
        "Then run: azcmagent connect --resource-group arc-rg --tenant-id "
        f"11111111-1111-1111-1111-111111111111 --location eastus --subscription-id {SUB}"]
    assert result.returncode == 2


def test_never_connected_agent_is_told_its_connect_command(lab: Lab) -> None:
    lab.himds()  # a never-connected agent's HIMDS: no resource
    result = state_run(lab, "--resource-group", "arc-rg")  # the stand-in's default: Disconnected
    agent = checks(result)["agent"]
    assert (agent["status"], agent["facts"]["state"]) == ("pass", "not_connected")
    assert agent["facts"]["next_command"] == [
        "azcmagent connect --resource-group arc-rg --tenant-id <tenant-id> --location eastus "
        "--subscription-id <subscription-id>"]
    assert "next: azcmagent connect --resource-group arc-rg" in agent["summary"]
    health = state_run(lab, "--profile", "health")
    agent = checks(health)["agent"]
    assert (agent["status"], agent["code"]) == ("fail", "agent.not_connected")
    assert diagnosis(health, "agent_not_connected")["remedy"][0].startswith(
        "On this machine, run: azcmagent connect ")


def test_himds_serving_another_resource_is_reported(lab: Lab) -> None:
    lab.himds(connected=True)  # the stand-in serves .../machines/web01
    result = state_run(lab, show=shown("Connected", name="web02"))
    match = checks(result)["agent:himds-match"]
    assert (match["status"], match["code"]) == ("warn", "agent.himds_mismatch")
    assert match["facts"]["himds_resource_id"].endswith("/machines/web01")
    assert match["facts"]["agent_resource_id"].endswith("/machines/web02")
    assert diagnosis(result, "agent_himds_mismatch")["remedy"][0] == \
        "On this machine, run: sudo systemctl restart himdsd"
    agreeing = state_run(lab, show=shown("Connected"))
    assert checks(agreeing)["agent:himds-match"]["status"] == "pass"


def test_himds_serving_a_resource_the_agent_no_longer_records(lab: Lab) -> None:
    """A disconnect that stopped half-way (or --force-local-only with the service still
    running): azcmagent show is Disconnected with no resource, HIMDS still serves web01."""
    lab.himds(connected=True)
    result = state_run(lab)  # the azcmagent stand-in's default: Disconnected, no resource
    match = checks(result)["agent:himds-match"]
    assert (match["status"], match["code"]) == ("warn", "agent.himds_mismatch")
    assert match["facts"]["himds_resource_id"].endswith("/machines/web01")
    assert match["facts"]["agent_resource_id"] is None
    assert diagnosis(result, "agent_himds_mismatch")["remedy"][0] == \
        "On this machine, run: sudo systemctl restart himdsd"
    lab.himds()  # the service restarted: it serves no resource either
    assert checks(state_run(lab))["agent:himds-match"]["status"] == "pass"


@pytest.fixture
def immutable_config(lab: Lab) -> Iterator[Path]:
    if shutil.which("chattr") is None:
        pytest.skip("chattr (e2fsprogs) not installed")
    path = agent_dir(lab) / "agentconfig.json"
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        pytest.skip(f"this file system has no immutable attribute: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_immutable_agentconfig_is_found_with_its_fix(lab: Lab, immutable_config: Path) -> None:
    lab.himds(connected=True)
    result = state_run(lab, show=shown("Disconnected"))
    config = checks(result)["agent:config-file"]
    assert (config["status"], config["code"]) == ("fail", "agent.config_readonly")
    assert config["facts"]["next_command"] == [f"sudo chattr -i {immutable_config}"]
    assert diagnosis(result, "agentconfig_read_only")["remedy"][0] == \
        f"On this machine, run: sudo chattr -i {immutable_config}"
    assert result.returncode == 2


def test_identity_429_in_himds_log_points_at_a_clone(lab: Lab) -> None:
    lab.himds(connected=True)
    folder = agent_dir(lab)
    (folder / "log").mkdir(exist_ok=True)
    log = folder / "log" / "himds.log"
    # a week-old 429 (a clone fixed since) and three from the last hours
    recent = [logged(h) for h in (2, 1.5, 1)]
    log.write_text(THROTTLED.format(when=logged(170))
                   + f'time="{logged(3)}" level=info msg="Heartbeat sent"\n'
                   + "".join(THROTTLED.format(when=when) for when in recent))
    result = state_run(lab, show=shown("Connected"))
    clone = checks(result)["agent:clone"]
    assert (clone["status"], clone["code"]) == ("warn", "agent.cloned_identity")
    assert clone["facts"]["lines_429"] == 3 and clone["facts"]["lines_429_older"] == 1
    assert clone["facts"]["newest_429"] == recent[-1]
    remedy: List[str] = diagnosis(result, "cloned_machine_identity")["remedy"]
    assert remedy[0] == "On this machine, run: azcmagent disconnect --force-local-only"
    assert remedy[1].endswith("--resource-name <unique-name>")


def test_only_old_identity_429_lines_do_not_warn(lab: Lab) -> None:
    lab.himds(connected=True)
    folder = agent_dir(lab)
    (folder / "log").mkdir(exist_ok=True)
    (folder / "log" / "himds.log").write_text(
        "".join(THROTTLED.format(when=logged(h)) for h in (72, 48, 30)))
    clone = checks(state_run(lab, show=shown("Connected")))["agent:clone"]
    assert (clone["status"], clone["code"]) == ("pass", None)
    assert clone["facts"]["lines_429_older"] == 3


def test_agent_older_than_a_year_is_out_of_support(lab: Lab) -> None:
    lab.himds(connected=True)
    result = state_run(lab, show=shown("Connected", agentVersion="1.40.02669.1635"))
    version = checks(result)["agent:version"]
    assert (version["status"], version["code"]) == ("warn", "agent.outdated")
    assert version["facts"]["released"] == "2024-04"
    assert diagnosis(result, "agent_out_of_support")["severity"] == "warn"
    current = state_run(lab, show=shown("Connected"))
    assert checks(current)["agent:version"]["status"] == "pass"
