"""The shipped schedules (systemd timer, cron line, Windows scheduled task) are valid and their
command lines are accepted by the CLI as they stand.

Each schedule's arguments are run through ``cli.main`` with the paths they name redirected into
``tmp_path`` and ``--only privilege`` added (no network); the syslog step is replaced by a
recorder so the host's journal is never written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest
from conftest import Run

from arc_preflight import schedules, syslog_out

FOLDER = schedules.FOLDER  # package data: a pip or single-file install ships them too
SERVICE = FOLDER / "arc-preflight.service"
TIMER = FOLDER / "arc-preflight.timer"
CRON = FOLDER / "arc-preflight.cron"
TASK = FOLDER / "arc-preflight-task.xml"
REGISTER = FOLDER / "register-task.ps1"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def console_script() -> Optional[str]:
    beside = Path(sys.executable).with_name("arc-preflight")
    if beside.exists():
        return str(beside)
    return shutil.which("arc-preflight")


def unit_entries(path: Path) -> Dict[str, Dict[str, List[str]]]:
    """section -> key -> values (keys may repeat in unit files)."""
    sections: Dict[str, Dict[str, List[str]]] = {}
    current: Optional[Dict[str, List[str]]] = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        assert not line.endswith("\\"), "continuation lines are not expected here"
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, f"entry outside a section: {line}"
        key, sep, value = line.partition("=")
        assert sep, line
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


# --------------------------------------------------------------------------------------------
# running a schedule's arguments through the CLI


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """Replace the system-log writer: the schedules pass --syslog, the host log stays untouched."""
    calls: List[Any] = []

    def emit(changes: Sequence[Any], report: Any, journal_socket: str) -> None:
        calls.append(list(changes))

    monkeypatch.setattr(syslog_out, "emit", emit)
    return calls


def option_value(argv: Sequence[str], name: str) -> Optional[str]:
    for index, item in enumerate(argv):
        if item == name and index + 1 < len(argv):
            return argv[index + 1]
        if item.startswith(name + "="):
            return item.split("=", 1)[1]
    return None


def redirect(argv: Sequence[str], tmp_path: Path) -> List[str]:
    """The schedule's own argv with --state/--output moved into tmp_path."""
    out = list(argv)
    for name in ("--state", "--output"):
        for index, item in enumerate(out):
            if item == name:
                out[index + 1] = str(tmp_path / Path(out[index + 1].replace("\\", "/")).name)
    return out


def assert_cli_accepts(run_cli: Any, argv: Sequence[str], tmp_path: Path,
                       logged: List[Any]) -> Run:
    """Run the schedule's arguments (redirected) twice; both runs must be real results."""
    assert argv and argv[0] == "check", argv
    final = [*redirect(argv, tmp_path), "--only", "privilege", "--agent-dir",
             str(tmp_path / "agent")]
    result = Run(3, "", "")
    for _ in range(2):
        result = run_cli(*final)
        assert result.code in (0, 1, 2), result.err
        assert "error" not in result.err and "Traceback" not in result.err, result.err
    state = option_value(final, "--state")
    if state:
        saved = json.loads(Path(state).read_text())
        assert saved["checks"]["privilege"]["history"] == ["pass", "pass"]
    output = option_value(final, "--output")
    if output:
        assert Path(output).read_text()
        assert result.out == ""
    return result


# --------------------------------------------------------------------------------------------
# systemd


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if in_ci():
            pytest.fail("systemd-analyze missing in CI: install systemd", pytrace=False)
        pytest.skip("systemd-analyze not installed")
    script = console_script()
    assert script, "arc-preflight console script not installed (pip install -e .)"
    # What `arc-preflight schedule arc-preflight.service` prints for this installation.
    service_text = schedules.render(SERVICE.name, script)
    assert f"ExecStart={script} check " in service_text
    (tmp_path / SERVICE.name).write_text(service_text, encoding="utf-8")
    shutil.copy(TIMER, tmp_path / TIMER.name)
    proc = subprocess.run([analyze, "verify", str(tmp_path / SERVICE.name),
                           str(tmp_path / TIMER.name)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [line for line in proc.stderr.splitlines()
                if re.search(r"unknown|invalid|failed|not executable|ignoring|bad",
                             line, re.IGNORECASE)]
    assert proc.returncode == 0, proc.stderr
    assert problems == [], proc.stderr


def test_systemd_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """The verification above would notice a mistake (so its pass means something)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    broken = tmp_path / "arc-preflight.service"
    script = console_script()
    assert script
    broken.write_text(SERVICE.read_text(encoding="utf-8")
                      .replace("/usr/local/bin/arc-preflight ", f"{script} ")
                      .replace("Type=oneshot", "Type=oneshot\nSuccessExitStatusTypo=1"))
    proc = subprocess.run([analyze, "verify", str(broken)], capture_output=True, text=True,
                          timeout=60)
    assert "SuccessExitStatusTypo" in proc.stderr, proc.stderr


def test_service_settings() -> None:
    unit = unit_entries(SERVICE)
    service = unit["Service"]
    assert service["Type"] == ["oneshot"]
    assert set(service["SuccessExitStatus"][0].split()) == {"1", "2"}
    assert "network-online.target" in unit["Unit"]["After"][0]
    (exec_start,) = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == "/usr/local/bin/arc-preflight"
    assert option_value(argv, "--profile") == "health"
    assert "--syslog" in argv and option_value(argv, "--state")
    # ProtectSystem=strict: whatever the run writes must be listed as writable.
    writable = [p.lstrip("-") for p in " ".join(service.get("ReadWritePaths", [])).split()]
    writable += ["/var/lib/" + d for d in " ".join(service.get("StateDirectory", [])).split()]
    for name in ("--state", "--output"):
        path = option_value(argv, name)
        if path:
            assert any(os.path.dirname(path) == w.rstrip("/") for w in writable), (name, path)


def test_service_optional_writable_paths_may_be_missing() -> None:
    service = unit_entries(SERVICE)["Service"]
    state_dirs = {"/var/lib/" + d for d in " ".join(service.get("StateDirectory", [])).split()}
    for path in " ".join(service.get("ReadWritePaths", [])).split():
        assert path.startswith("-") or path in state_dirs, path


def test_timer_settings() -> None:
    assert TIMER.stem == SERVICE.stem  # the timer starts the service of the same name
    timer = unit_entries(TIMER)
    assert timer["Timer"]["OnUnitActiveSec"] == ["15min"]
    assert timer["Timer"]["RandomizedDelaySec"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_service_exec_start_accepted_by_cli(run_cli: Any, tmp_path: Path,
                                            logged: List[Any]) -> None:
    (exec_start,) = unit_entries(SERVICE)["Service"]["ExecStart"]
    argv = shlex.split(exec_start)[1:]
    result = assert_cli_accepts(run_cli, argv, tmp_path, logged)
    assert result.code == 0 and result.out == ""
    metrics = (tmp_path / "arc_preflight.prom").read_text()
    parser = pytest.importorskip("prometheus_client.parser")
    names = {f.name for f in parser.text_string_to_metric_families(metrics)}
    assert "arc_preflight_run_status" in names
    assert logged == [[], []]  # --syslog was asked for; nothing changed between the runs


# --------------------------------------------------------------------------------------------
# cron

_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")


def cron_jobs() -> List[str]:
    jobs = []
    for raw in CRON.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        jobs.append(line)
    return jobs


def test_cron_line_shape() -> None:
    (job,) = cron_jobs()
    fields = job.split(None, 6)
    assert len(fields) == 7, job
    for field in fields[:5]:
        assert _CRON_FIELD.match(field), field
    assert fields[5] == "root"
    assert "%" not in fields[6]  # cron turns % into a newline
    command = shlex.split(fields[6])
    assert command[0] == "arc-preflight"
    assert "--quiet" in command  # cron mails any output
    text = CRON.read_text(encoding="utf-8")
    assert re.search(r"^PATH=.*(/usr/local/bin|/usr/bin)", text, re.MULTILINE)
    assert text.endswith("\n")  # cron ignores a last line without a newline


def test_cron_command_accepted_by_cli(run_cli: Any, tmp_path: Path,
                                      logged: List[Any]) -> None:
    (job,) = cron_jobs()
    argv = shlex.split(job.split(None, 6)[6])[1:]
    result = assert_cli_accepts(run_cli, argv, tmp_path, logged)
    assert result.code == 0
    assert result.out == ""  # --quiet: an all-pass unchanged run says nothing, cron sends no mail


# --------------------------------------------------------------------------------------------
# Windows scheduled task


def task_root() -> ET.Element:
    # Parsed from text: see test_task_xml_file_parses for the file's declared encoding.
    return ET.fromstring(TASK.read_text(encoding="utf-8"))


def test_task_xml_file_parses() -> None:
    ET.parse(TASK)


def test_task_xml_structure() -> None:
    root = task_root()
    assert root.tag == f"{{{TASK_NS['t']}}}Task"
    interval = root.find("t:Triggers/t:TimeTrigger/t:Repetition/t:Interval", TASK_NS)
    assert interval is not None and interval.text == "PT15M"
    user = root.find("t:Principals/t:Principal/t:UserId", TASK_NS)
    assert user is not None and user.text == "S-1-5-18"
    policy = root.find("t:Settings/t:MultipleInstancesPolicy", TASK_NS)
    assert policy is not None and policy.text == "IgnoreNew"
    command = root.find("t:Actions/t:Exec/t:Command", TASK_NS)
    assert command is not None and (command.text or "").endswith("arc-preflight.exe")


def test_task_arguments_accepted_by_cli(run_cli: Any, tmp_path: Path,
                                        logged: List[Any]) -> None:
    arguments = task_root().find("t:Actions/t:Exec/t:Arguments", TASK_NS)
    assert arguments is not None and arguments.text
    text = re.sub(r"%ProgramData%\\arc-preflight\\([^\"\s]+)",
                  lambda m: str(tmp_path / m.group(1)), arguments.text)
    assert "%" not in text, text
    argv = shlex.split(text)
    result = assert_cli_accepts(run_cli, argv, tmp_path, logged)
    assert result.code == 0
    doc = json.loads((tmp_path / "last.json").read_text())
    assert doc["profile"] == "health"
    assert doc["changes"] == []


def test_register_script() -> None:
    text = REGISTER.read_text(encoding="utf-8")
    assert "Register-ScheduledTask" in text
    assert "arc-preflight-task.xml" in text
    # The placeholder it replaces is the task's Command exactly.
    command = task_root().find("t:Actions/t:Exec/t:Command", TASK_NS)
    assert command is not None
    assert f".Replace('{command.text}'" in text


# --------------------------------------------------------------------------------------------
# arc-preflight schedule


def test_schedule_list_names_every_shipped_file(run_cli: Any) -> None:
    result = run_cli("schedule", "--list")
    assert result.code == 0
    shipped = sorted(p.name for p in FOLDER.iterdir())
    assert sorted(line.split()[0] for line in result.out.splitlines()) == shipped


@pytest.mark.parametrize("name", sorted(schedules.SCHEDULES))
def test_schedule_prints_the_shipped_file(run_cli: Any, name: str) -> None:
    result = run_cli("schedule", name, "--command", "/opt/arc/bin/arc-preflight")
    assert result.code == 0, result.err
    shipped = (FOLDER / name).read_text(encoding="utf-8")
    if name in ("arc-preflight.service", "arc-preflight.cron"):
        assert "/opt/arc/bin/arc-preflight check --profile health" in result.out
        assert result.out.replace("/opt/arc/bin/arc-preflight", "") != shipped
    else:
        assert result.out == shipped


def test_schedule_names_the_single_file_build_with_its_python(tmp_path: Path) -> None:
    pyz = tmp_path / "arc-preflight.pyz"
    pyz.write_bytes(b"PK")
    command = schedules.this_command(str(pyz))
    assert shlex.split(command) == [sys.executable, str(pyz)]
    cron = schedules.render("arc-preflight.cron", command)
    assert f" root {command} check --profile health" in cron


def test_schedule_unknown_name_is_one_line_and_exit_3(run_cli: Any) -> None:
    result = run_cli("schedule", "arc-preflight.services")
    assert result.code == 3
    assert result.err.count("\n") == 1 and "unknown schedule" in result.err
