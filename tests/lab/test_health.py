"""The scheduled health check (``--profile health``, ``--state``) against the lab's real network.

A stand-in ``azcmagent show -j`` reports a connected agent with a chosen heartbeat; the lab
serves every endpoint. The health profile then judges the agent as a running one (Connected is
healthy, a stale heartbeat is not) and treats connect-only endpoints as informational. A state
file carried across runs reports a DNS break as a new failure and its repair as a recovery, and
``--syslog`` delivers each change to a fake journald socket in the lab's work folder.
"""

from __future__ import annotations

import datetime as _dt
import json
import socket
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from .netlab import CliResult, Lab
from .test_scenarios import IDENTITY, LAB_ISSUER, LOCATION, agent_dir, checks, fake_systemd, run

pytestmark = pytest.mark.lab

ARM = "management.azure.com"
ARM_IP = "127.0.1.9"


def iso_ago(**delta: float) -> str:
    when = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(**delta)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def show(status: str = "Connected", **heartbeat_age: float) -> Dict[str, Any]:
    return {"status": status, "lastHeartbeat": iso_ago(**(heartbeat_age or {"minutes": 2})),
            "agentVersion": "1.60",
            # the resource the lab's HIMDS stand-in serves: agent:himds-match compares them
            "resourceId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
                          "arc-rg/providers/Microsoft.HybridCompute/machines/web01"}


@pytest.fixture
def healthy_lab(healthy_lab: Lab) -> Lab:
    """The agent of these scenarios is connected as web01: its HIMDS serves that resource."""
    healthy_lab.himds(connected=True)
    return healthy_lab


def health(lab: Lab, *extra: str, agent: Dict[str, Any], **kwargs: Any) -> CliResult:
    return run(lab, "--profile", "health", *extra, show=agent, **kwargs)


def changes_of(result: CliResult) -> Dict[str, str]:
    return {c["id"]: c["kind"] for c in result.data["changes"]}


# --------------------------------------------------------------------------------------------
# the agent as judged by the health profile


def test_health_connected_and_fresh_heartbeat_passes(healthy_lab: Lab) -> None:
    result = health(healthy_lab, agent=show(minutes=2))
    agent = checks(result)["agent"]
    assert agent["status"] == "pass", agent
    assert agent["code"] is None  # not agent.connected: connected is the goal here
    assert agent["facts"]["status"] == "Connected"
    assert 60 <= agent["facts"]["heartbeat_age_s"] <= 300
    assert result.data["profile"] == "health"
    assert result.returncode == 0, result.data["diagnoses"]
    assert result.data["status"] == "pass"


def test_preflight_flags_the_connected_agent(healthy_lab: Lab) -> None:
    result = run(healthy_lab, show=show(minutes=2))
    agent = checks(result)["agent"]
    assert agent["code"] == "agent.connected"
    assert result.returncode == 1


def test_health_heartbeat_20_minutes_old_warns(healthy_lab: Lab) -> None:
    result = health(healthy_lab, agent=show(minutes=20))
    agent = checks(result)["agent"]
    assert (agent["status"], agent["code"]) == ("warn", "agent.heartbeat_old")
    assert "20 minutes" in agent["summary"]
    assert result.returncode == 1


def test_health_heartbeat_2_hours_old_fails(healthy_lab: Lab) -> None:
    result = health(healthy_lab, agent=show(hours=2))
    agent = checks(result)["agent"]
    assert (agent["status"], agent["code"]) == ("fail", "agent.heartbeat_old")
    assert result.returncode == 2


def test_health_disconnected_fails(healthy_lab: Lab) -> None:
    result = health(healthy_lab, agent=show("Disconnected", minutes=50))
    agent = checks(result)["agent"]
    assert (agent["status"], agent["code"]) == ("fail", "agent.disconnected")
    assert result.returncode == 2
    assert result.data["diagnoses"]


def test_health_fail_on_fail_ignores_the_old_heartbeat_warning(healthy_lab: Lab) -> None:
    result = health(healthy_lab, "--fail-on", "fail", agent=show(minutes=20))
    assert result.data["status"] == "warn"
    assert result.returncode == 0


# --------------------------------------------------------------------------------------------
# connect-only endpoints: needed to connect, not to stay connected


@pytest.fixture
def arm_blocked(healthy_lab: Lab) -> Lab:
    healthy_lab.dns({ARM: ARM_IP})
    healthy_lab.serve([ARM], ip=ARM_IP)
    healthy_lab.drop(ip=ARM_IP, port=443)
    return healthy_lab


def test_connect_endpoint_blocked_is_a_warning_in_health(arm_blocked: Lab) -> None:
    result = health(arm_blocked, agent=show(minutes=2), timeout=1.5)
    by_id = checks(result)
    assert by_id[f"dns:{ARM}"]["status"] == "pass"
    tcp = by_id[f"tcp:{ARM}:443"]
    assert (tcp["status"], tcp["code"]) == ("warn", "tcp.timeout")
    assert by_id[f"https:{IDENTITY[0]}:443"]["status"] == "pass"
    assert result.returncode == 1, [(c["id"], c["status"]) for c in result.data["checks"]
                                    if c["status"] not in ("pass", "skip")]
    assert all(d["severity"] == "warn" for d in result.data["diagnoses"])


def test_connect_endpoint_blocked_fails_in_preflight(arm_blocked: Lab) -> None:
    result = run(arm_blocked, timeout=1.5)
    tcp = checks(result)[f"tcp:{ARM}:443"]
    assert (tcp["status"], tcp["code"]) == ("fail", "tcp.timeout")
    assert result.returncode == 2
    assert any(d["severity"] == "fail" for d in result.data["diagnoses"])


# --------------------------------------------------------------------------------------------
# state across runs, syslog, prometheus


class Journal:
    """A fake journald: a datagram socket in the lab's work folder (AF_UNIX is not namespaced
    by the network namespace, so the CLI inside can reach it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        path.chmod(0o777)

    def entries(self, timeout: float = 1.0) -> List[Dict[str, str]]:
        found = []
        self.sock.settimeout(timeout)
        while True:
            try:
                data = self.sock.recv(65536).decode("utf-8")
            except (socket.timeout, BlockingIOError):
                return found
            found.append(dict(line.split("=", 1) for line in data.splitlines()))
            self.sock.settimeout(0.2)


@pytest.fixture
def journal(healthy_lab: Lab) -> Iterator[Journal]:
    fake = Journal(Path(healthy_lab.workdir) / "journal.sock")
    try:
        yield fake
    finally:
        fake.sock.close()


def test_state_tracks_a_dns_break_and_its_repair(healthy_lab: Lab, journal: Journal) -> None:
    workdir = Path(healthy_lab.workdir)
    state_file = workdir / "state.json"
    conf = workdir / "schedule.toml"
    conf.write_text(f"journal_socket = {json.dumps(str(journal.path))}\n")
    extra = ("--state", str(state_file), "--syslog", "--config", str(conf))
    agent = show(minutes=2)

    first = health(healthy_lab, *extra, agent=agent)
    assert first.returncode == 0, first.data["diagnoses"]
    assert first.data["changes"] == []
    assert json.loads(state_file.read_text())["checks"][f"dns:{IDENTITY[0]}"]["status"] == "pass"
    assert journal.entries(timeout=0.3) == []

    unchanged = health(healthy_lab, *extra, agent=agent)
    assert unchanged.data["changes"] == []

    healthy_lab.dns(nxdomain=list(IDENTITY))
    broken = health(healthy_lab, *extra, agent=agent)
    assert broken.returncode == 2
    kinds = changes_of(broken)
    for host in IDENTITY:
        assert kinds[f"dns:{host}"] == "new_failure"
    # Only the root changed: the skipped layers above it are not reported.
    assert set(kinds) == {f"dns:{host}" for host in IDENTITY}, kinds
    entries = journal.entries()
    assert sorted(e["ARC_PREFLIGHT_CHECK"] for e in entries) == sorted(
        f"dns:{host}" for host in IDENTITY)
    assert {e["PRIORITY"] for e in entries} == {"3"}
    assert all(e["SYSLOG_IDENTIFIER"] == "arc-preflight" for e in entries)

    still = health(healthy_lab, *extra, agent=agent)
    assert still.returncode == 2
    assert still.data["changes"] == []
    since = json.loads(state_file.read_text())["checks"][f"dns:{IDENTITY[0]}"]["since"]
    assert since == broken.data["started_at"]

    healthy_lab.dns(dict.fromkeys(IDENTITY, "127.0.1.1"))
    fixed = health(healthy_lab, *extra, agent=agent)
    assert fixed.returncode == 0, fixed.data["diagnoses"]
    kinds = changes_of(fixed)
    assert kinds == {f"dns:{host}": "recovered" for host in IDENTITY}
    assert {e["PRIORITY"] for e in journal.entries()} == {"6"}


def test_prometheus_from_a_lab_run(healthy_lab: Lab, tmp_path: Path) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    healthy_lab.dns(nxdomain=[IDENTITY[0]])
    workdir = Path(healthy_lab.workdir)
    target = workdir / "arc_preflight.prom"
    argv = [*healthy_lab.check_argv("--location", LOCATION, "--himds-url", healthy_lab.himds_url,
                                    "--agent-dir", agent_dir(healthy_lab), "--expected-issuer",
                                    LAB_ISSUER, "--profile", "health", "--quiet", "--state",
                                    str(workdir / "prom-state.json")),
            "--format", "prometheus", "--output", str(target)]
    env = fake_systemd(healthy_lab, show(minutes=2))
    proc = healthy_lab.cli(*argv, env=env, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    found = {f.name: f for f in parser.text_string_to_metric_families(target.read_text())}
    status = {s.labels["check"]: s for s in found["arc_preflight_check_status"].samples}
    assert status[f"dns:{IDENTITY[0]}"].value == 2
    assert status[f"dns:{IDENTITY[0]}"].labels["code"] == "dns.nxdomain"
    assert status[f"tcp:{IDENTITY[0]}:443"].value == -1
    assert status[f"https:{IDENTITY[1]}:443"].value == 0
    assert status["agent"].value == 0
    assert found["arc_preflight_run_status"].samples[0].value == 2
    counts = {s.labels["status"]: s.value for s in found["arc_preflight_checks"].samples}
    assert counts["fail"] >= 1 and counts["pass"] > 10
    assert sum(counts.values()) == len(status)
    info = found["arc_preflight_info"].samples[0].labels
    assert info["profile"] == "health"
