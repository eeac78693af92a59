"""Host state that breaks an installed agent: an unwritable agentconfig.json, HTTP 429 from the
identity service in himds.log (a cloned identity), and Windows' in-box Azure Arc Setup feature.

The himds.log lines copy the agent's logrus shape from a real line (``time="..." level=error
msg="Regional Service Discovery" Error="Get \\"https://gbl.his.arc.azure.com/...\\": ..."``,
tests/corpus/cases/a-020.txt, from
https://github.com/JanneMattila/azure-arc-demos/blob/main/servers/networking.md) with the 429
answer agent-overview.md "Cloning guidelines" and release notes 1.57 ("HTTP 429 (Too Many
Requests) responses from HIS") describe. The DISM feature output copies a real
``DISM /Online /Get-FeatureInfo`` transcript (see FEATURE_ENABLED); the feature and capability
names are those of onboard-windows-server.md. The Windows parts have never run on Windows:
they are exercised here with these stand-ins.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Sequence

import pytest
from factories import result

from arc_preflight import kb
from arc_preflight.config import Settings
from arc_preflight.diagnose import from_results
from arc_preflight.model import ProbeContext, Result, Status
from arc_preflight.probes import agenthost

THROTTLED = ('time="2026-11-02T08:15:04Z" level=error msg="Failed to send heartbeat" '
             'Error="PUT \\"https://westeurope.his.arc.azure.com/subscriptions/0000/'
             'heartbeat?api-version=2.1\\": 429 Too Many Requests"')
OTHER_429 = ('time="2026-11-02T08:16:00Z" level=error msg="Request failed" Error="GET '
             '\\"https://management.azure.com/subscriptions\\": 429 Too Many Requests"')
NORMAL = ('time="2026-11-02T08:10:04Z" level=info msg="Heartbeat sent" '
          'Host="westeurope.his.arc.azure.com"')


# the moment the unit tests' log lines are read at: a few hours after the newest of them
NOW = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.timezone.utc)


def ctx(**flags: Any) -> ProbeContext:
    return ProbeContext(timeout=2.0, settings=Settings(**flags), deadline_at=time.monotonic() + 30)


def installed(state: str = "connected", **facts: Any) -> Dict[str, Result]:
    return {"agent": result("agent", "pass", facts={"installed": True, "state": state, **facts})}


def agent_folder(tmp_path: Path, log: str | None = None) -> Path:
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "agentconfig.json").write_text('{"resourcename": "web01"}')
    if log is not None:
        (folder / "log").mkdir()
        (folder / "log" / "himds.log").write_text(log)
    return folder


# --------------------------------------------------------------------------------------------
# agentconfig.json


def test_writable_agentconfig_passes(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path)
    out = agenthost.config_file_probe(str(folder), ctx(), {}, "linux", flags=lambda p: 0)
    assert (out.status, out.code) == (Status.PASS, None)


def test_immutable_agentconfig_fails_with_chattr(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path)
    out = agenthost.config_file_probe(str(folder), ctx(), {}, "linux",
                                      flags=lambda p: agenthost.FS_IMMUTABLE_FL)
    assert (out.status, out.code) == (Status.FAIL, "agent.config_readonly")
    path = str(folder / "agentconfig.json")
    assert out.facts["next_command"] == [f"sudo chattr -i {path}"]
    diag = next(d for d in from_results([result("agent:config-file", out.status, out.summary,
                                                code=out.code, facts=out.facts)], kb.load())
                if d.cause_id == "agentconfig_read_only")
    assert diag.remedy[0] == f"On this machine, run: sudo chattr -i {path}"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the file to another user")
def test_agentconfig_its_service_account_cannot_write(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path)
    path = folder / "agentconfig.json"
    os.chown(path, 65534, 65534)
    path.chmod(0o444)
    out = agenthost.config_file_probe(str(folder), ctx(), {}, "linux", flags=lambda p: 0)
    assert out.code == "agent.config_readonly"
    assert out.facts["next_command"] == [f"sudo chmod u+w {path}"]
    os.chown(path, 0, 0)  # root writes whatever the mode says: not a problem then
    out = agenthost.config_file_probe(str(folder), ctx(), {}, "linux", flags=lambda p: 0)
    assert out.status is Status.PASS


def test_windows_read_only_attribute_gives_attrib(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = agent_folder(tmp_path)
    real = os.lstat(folder / "agentconfig.json")
    fake = SimpleNamespace(st_mode=real.st_mode, st_uid=0, st_file_attributes=0x1)
    monkeypatch.setattr(agenthost.os, "lstat", lambda p: fake)
    out = agenthost.config_file_probe(str(folder), ctx(), {}, "win32")
    assert out.code == "agent.config_readonly"
    assert out.facts["next_command"] == [f'attrib -r "{folder / "agentconfig.json"}"']


def test_absent_or_odd_agentconfig_is_skipped(tmp_path: Path) -> None:
    assert agenthost.config_file_probe(str(tmp_path), ctx(), {}, "linux").status is Status.SKIP
    os.mkfifo(tmp_path / "agentconfig.json")
    out = agenthost.config_file_probe(str(tmp_path), ctx(), {}, "linux")
    assert out.status is Status.SKIP and "not a regular file" in out.summary


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"),
                    reason="needs root and chattr to set an inode flag")
def test_inode_flags_reads_what_chattr_set(tmp_path: Path) -> None:
    """The ioctl reads the flags the kernel keeps: an append-only bit chattr set is seen (and
    the config check names it), and gone again once chattr clears it (real file system)."""
    path = tmp_path / "agentconfig.json"
    path.write_text("{}")
    before = agenthost.inode_flags(str(path))
    if before is None:
        pytest.skip("this file system keeps no inode flags")
    assert not before & agenthost.FS_APPEND_FL
    subprocess.run(["chattr", "+a", str(path)], check=True, timeout=10)
    try:
        flags = agenthost.inode_flags(str(path))
        out = agenthost.config_file_probe(str(tmp_path), ctx(), {}, "linux")
    finally:
        subprocess.run(["chattr", "-a", str(path)], check=True, timeout=10)
    assert flags is not None and flags & agenthost.FS_APPEND_FL
    assert out.code == "agent.config_readonly"
    assert out.facts["next_command"] == [f"sudo chattr -a {path}"]
    assert not (agenthost.inode_flags(str(path)) or 0) & agenthost.FS_APPEND_FL


# --------------------------------------------------------------------------------------------
# a cloned identity


def test_identity_429_lines_in_himds_log_mean_a_clone(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path, "\n".join([NORMAL, THROTTLED, NORMAL, THROTTLED]) + "\n")
    out = agenthost.clone_probe(str(folder), ctx(location="westeurope"),
                                installed(resource_name="web01"), "linux", now=NOW)
    assert (out.status, out.code) == (Status.WARN, "agent.cloned_identity")
    assert out.facts["lines_429"] == 2 and len(out.facts["evidence"]) == 2
    disconnect, connect = out.facts["next_command"]
    assert disconnect == "azcmagent disconnect --force-local-only"
    assert connect.endswith("--resource-name <unique-name>") and "--location westeurope" in connect
    diag = next(d for d in from_results([result("agent:clone", out.status, out.summary,
                                                code=out.code, facts=out.facts)], kb.load())
                if d.cause_id == "cloned_machine_identity")
    assert diag.remedy[0] == f"On this machine, run: {disconnect}"


def test_old_429_lines_do_not_warn_and_the_newest_is_recorded(tmp_path: Path) -> None:
    """A clone fixed last week leaves its 429s in himds.log until it rotates: only lines from
    the last 24 hours count (the logrus ``time="..."`` of each line)."""
    old = THROTTLED.replace("2026-11-02T08:15:04Z", "2026-10-30T08:15:04Z")
    folder = agent_folder(tmp_path, "\n".join([old, old, NORMAL]) + "\n")
    out = agenthost.clone_probe(str(folder), ctx(), installed(), "linux", now=NOW)
    assert (out.status, out.code) == (Status.PASS, None)
    assert out.facts["lines_429_older"] == 2 and "lines_429" not in out.facts
    later = THROTTLED.replace("08:15:04Z", "09:00:00+01:00")  # 08:00 UTC, before 08:15
    (folder / "log" / "himds.log").write_text("\n".join([old, THROTTLED, later]) + "\n")
    out = agenthost.clone_probe(str(folder), ctx(), installed(), "linux", now=NOW)
    assert out.code == "agent.cloned_identity"
    assert (out.facts["lines_429"], out.facts["lines_429_older"]) == (2, 1)
    assert out.facts["newest_429"] == "2026-11-02T08:15:04Z"
    # a day later the same log no longer warns
    out = agenthost.clone_probe(str(folder), ctx(), installed(), "linux",
                                now=NOW + dt.timedelta(days=1))
    assert out.status is Status.PASS


def test_line_time_reads_logrus_stamps() -> None:
    assert agenthost.line_time(THROTTLED) == dt.datetime(2026, 11, 2, 8, 15, 4,
                                                         tzinfo=dt.timezone.utc)
    assert agenthost.line_time('time="2026-11-02T09:15:04.123+01:00" level=info') == \
        dt.datetime(2026, 11, 2, 8, 15, 4, 123000, tzinfo=dt.timezone.utc)
    assert agenthost.line_time("429 Too Many Requests gbl.his.arc.azure.com") is None
    assert agenthost.line_time('time="yesterday" level=info') is None


def test_the_shared_name_given_again_is_replaced_by_a_placeholder(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path, THROTTLED + "\n")
    out = agenthost.clone_probe(str(folder), ctx(resource_name="WEB01"),
                                installed(connected_name="web01"), "linux", now=NOW)
    connect = out.facts["next_command"][1]
    assert connect.endswith("--resource-name <unique-name>")
    assert "WEB01" not in connect and connect.count("--resource-name") == 1


def test_given_resource_name_is_kept_for_the_clone(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path, THROTTLED + "\n")
    out = agenthost.clone_probe(str(folder), ctx(resource_name="web07"),
                                installed(resource_group="arc-rg"), "linux", now=NOW)
    connect = out.facts["next_command"][1]
    assert connect.endswith("--resource-name web07")
    assert "--resource-group arc-rg" in connect  # the agent's own values where none was given


def test_429_from_other_services_and_normal_lines_pass(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path, "\n".join([NORMAL, OTHER_429]) + "\n")
    out = agenthost.clone_probe(str(folder), ctx(), installed(), "linux", now=NOW)
    assert (out.status, out.code) == (Status.PASS, None)


def test_clone_check_skips_without_agent_or_log(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path)
    assert agenthost.clone_probe(str(folder), ctx(), {}, "linux", now=NOW).status is Status.SKIP
    out = agenthost.clone_probe(str(folder), ctx(), installed(), "linux", now=NOW)
    assert out.status is Status.SKIP and "no agent log" in out.summary


def test_a_fifo_as_log_is_refused_without_blocking(tmp_path: Path) -> None:
    folder = agent_folder(tmp_path)
    (folder / "log").mkdir()
    os.mkfifo(folder / "log" / "himds.log")
    started = time.monotonic()
    out = agenthost.clone_probe(str(folder), ctx(), installed(), "linux", now=NOW)
    assert out.status is Status.SKIP and time.monotonic() - started < 2


def test_only_the_tail_of_a_large_log_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    with open(path, "w") as handle:
        handle.write(THROTTLED + "\n")
        handle.write("x" * 2000 + "\n")
    text = agenthost.read_tail(str(path), limit=1000)
    assert len(text) == 1000 and not agenthost.throttled_lines(text)


def test_hostile_log_line_is_matched_fast() -> None:
    line = "429 " * 200_000 + ".his.arc.azure." * 10_000
    started = time.monotonic()
    agenthost.throttled_lines(line)
    assert time.monotonic() - started < 1


def test_windows_logs_sit_beside_config() -> None:
    folder = agenthost.log_folder(r"C:\ProgramData\AzureConnectedMachineAgent\Config", "win32")
    assert folder.replace("\\", "/").endswith("AzureConnectedMachineAgent/Log")


# --------------------------------------------------------------------------------------------
# Windows: Azure Arc Setup


def dism(outputs: Dict[str, str], calls: List[Sequence[str]] | None = None) -> Any:
    def run(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        if calls is not None:
            calls.append(argv)
        key = "feature" if "/Get-FeatureInfo" in argv else "capability"
        return subprocess.CompletedProcess(list(argv), 0, outputs.get(key, ""), "")
    return run


# The shape of a real ``DISM /Online /Get-FeatureInfo /FeatureName:Recall`` transcript from
# Windows 11 24H2 (DISM 10.0.26100.1150), published in the blog post "Turn On and Turn Off Recall
# in Windows 11" (public GitHub Markdown found with the code search; the index did not name its
# repository): the tool banner, "Feature Information:", then "Name : value" lines ending with
# "State : Enabled", "Custom Properties:" and the success line. Only the feature's name, display
# name and description are Azure Arc Setup's and the build is Windows Server 2022's with the
# update of 10 October 2023 (OS build 20348.2031, KB5031364, named by onboard-windows-server.md).
FEATURE_ENABLED = """
Deployment Image Servicing and Management tool
Version: 10.0.20348.2031

Image Version: 10.0.20348.2031

Feature Information:

Feature Name : AzureArcSetup
Display Name : Azure Arc Setup
Description : Azure Arc Setup.
Restart Required : Possible
State : Enabled

Custom Properties:

(No custom properties found)

The operation completed successfully.
"""
# No public /Get-CapabilityInfo transcript was found: this keeps the same "Name : value" layout,
# with the capability name onboard-windows-server.md gives for Windows Server 2025.
CAPABILITY_INSTALLED = """
Capability Identity : AzureArcSetup~~~~
Name : AzureArcSetup
State : Installed
"""


def test_arc_setup_installed_agent_not_connected_warns_with_both_commands() -> None:
    calls: List[Sequence[str]] = []
    out = agenthost.arc_setup_probe(ctx(location="eastus"), installed("not_connected"),
                                    run=dism({"feature": FEATURE_ENABLED}, calls))
    assert (out.status, out.code) == (Status.WARN, "agent.arc_setup_installed")
    connect, remove = out.facts["next_command"]
    assert connect.startswith("azcmagent connect") and "--location eastus" in connect
    assert remove == "Disable-WindowsOptionalFeature -Online -FeatureName AzureArcSetup"
    assert [c[3] for c in calls] == ["/Get-FeatureInfo"]
    diag = next(d for d in from_results([result("agent:arc-setup", out.status, out.summary,
                                                code=out.code, facts=out.facts)], kb.load())
                if d.cause_id == "arc_setup_installed_not_connected")
    assert diag.remedy[1] == f"Then run: {remove}"


def test_arc_setup_capability_on_2025() -> None:
    out = agenthost.arc_setup_probe(ctx(), installed("not_connected"), run=dism({
        "feature": "Error: 0x800f080c\n\nFeature name AzureArcSetup is unknown.\n",
        "capability": CAPABILITY_INSTALLED}))
    assert out.code == "agent.arc_setup_installed"
    assert out.facts["next_command"][1] == \
        "DISM /online /Remove-Capability /CapabilityName:AzureArcSetup~~~~"


def test_arc_setup_with_a_connected_agent_is_fine() -> None:
    out = agenthost.arc_setup_probe(ctx(), installed("connected"),
                                    run=dism({"feature": FEATURE_ENABLED}))
    assert (out.status, out.code) == (Status.PASS, None)


def test_arc_setup_absent_and_dism_not_elevated() -> None:
    absent = agenthost.arc_setup_probe(ctx(), installed("not_connected"), run=dism({
        "feature": "Feature Name : AzureArcSetup\nState : Disabled\n",
        "capability": "Name : AzureArcSetup\nState : Not Present\n"}))
    assert absent.status is Status.PASS and absent.facts["capability"] == "Not Present"
    denied = agenthost.arc_setup_probe(ctx(), installed("not_connected"), run=dism({
        "feature": "Error: 740\n\nElevated permissions are required to run DISM.\n"}))
    assert denied.status is Status.SKIP and "elevated" in denied.summary


def test_arc_setup_when_dism_is_missing_or_hangs() -> None:
    def missing(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError("dism.exe")

    def hangs(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(list(argv), timeout)

    for run in (missing, hangs):
        assert agenthost.arc_setup_probe(ctx(), installed("not_connected"), run=run).status \
            is Status.SKIP


def test_dism_state_reads_only_the_state_line() -> None:
    assert agenthost.dism_state(FEATURE_ENABLED) == "Enabled"
    assert agenthost.dism_state("State : Enable Pending\r\n") == "Enable Pending"
    assert agenthost.dism_state("nothing here") is None
