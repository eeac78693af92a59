"""Hostile files and a hostile host (issue 13, items 1, 5, 6 and 8): links and files planted by
other users in sticky folders, FIFOs where a file is expected, deep nesting, leftovers of a
killed run, a hanging systemctl, no system log, and a root-only agent folder."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from arc_preflight import datafiles, fileio, state
from arc_preflight.config import ConfigError, load_file, read_secret_file
from arc_preflight.probes import agent, agentconfig, sysmgr

NOBODY = 65534
posix_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="needs root (files owned by another user)")


@pytest.fixture
def sticky(tmp_path: Path) -> Iterator[Path]:
    """A world-writable sticky folder like /tmp, owned by root."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    yield folder


# --- item 5: links and files planted by another user -----------------------------------------


@posix_root
def test_a_link_planted_by_another_user_is_not_followed(sticky: Path, tmp_path: Path) -> None:
    secret = tmp_path / "root-only"
    secret.write_text("precious\n")
    secret.chmod(0o600)
    link = sticky / "report.json"
    link.symlink_to(secret)
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(fileio.UnsafeFile, match="symbolic link owned by another user"):
        fileio.write_text(str(link), "overwritten\n")
    assert secret.read_text() == "precious\n"


@posix_root
def test_a_link_into_a_closed_folder_creates_nothing(sticky: Path, tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    link = sticky / "state.json"
    link.symlink_to(closed / "new-file")
    os.lchown(link, NOBODY, NOBODY)
    with pytest.raises(fileio.UnsafeFile):
        fileio.write_text(str(link), "{}")
    assert list(closed.iterdir()) == []


@posix_root
def test_a_file_planted_by_another_user_is_not_written(sticky: Path) -> None:
    planted = sticky / "out.prom"
    planted.write_text("theirs\n")
    os.chown(planted, NOBODY, NOBODY)
    with pytest.raises(fileio.UnsafeFile, match="belongs to another user"):
        fileio.write_text(str(planted), "ours\n")
    assert planted.read_text() == "theirs\n"


@posix_root
def test_own_links_in_a_sticky_folder_are_still_followed(sticky: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    link = sticky / "mine.json"
    link.symlink_to(target)
    fileio.write_text(str(link), "{}\n")
    assert link.is_symlink() and target.read_text() == "{}\n"


@posix_root
def test_cli_refuses_planted_output_and_state(run_cli: Any, sticky: Path, tmp_path: Path,
                                             elevated: Any) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    for name in ("out.json", "state.json"):
        (sticky / name).symlink_to(victim)
        os.lchown(sticky / name, NOBODY, NOBODY)
    run = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
                  "--format", "json", "--output", str(sticky / "out.json"))
    assert run.code == 3 and "another user" in run.err and "Traceback" not in run.err
    run = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
                  "--format", "json", "--state", str(sticky / "state.json"))
    assert "another user" in run.err and "Traceback" not in run.err
    assert victim.read_text() == "keep\n"


def test_temp_files_of_a_killed_write_are_cleaned_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from arc_preflight import fileio
        real_fsync = os.fsync
        def die(fd):
            os.kill(os.getpid(), 9)
        os.fsync = die
        fileio.write_text({str(path)!r}, "x" * 100000)
    """)
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
        assert proc.returncode == -9
    # Each write already removed what the previous killed one left; one is left over now.
    leftovers = [p for p in tmp_path.iterdir() if p.name != "state.json"]
    assert len(leftovers) == 1, leftovers
    state.save(str(path), {}, "1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_temp_file_of_a_live_writer_is_kept(tmp_path: Path) -> None:
    live = tmp_path / f".state.json.arc-preflight-tmp-{os.getppid()}-abcd"
    live.write_text("in use")
    state.save(str(tmp_path / "state.json"), {}, "1")
    assert live.exists()


# --- item 6: FIFOs, deep nesting --------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("flag", ["--config", "--ca-bundle", "--state",
                                  "--service-principal-secret-file"])
def test_a_fifo_as_input_is_refused_at_once(run_cli: Any, fifo: Path, tmp_path: Path,
                                            flag: str) -> None:
    started = time.monotonic()
    run = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
                  flag, str(fifo))
    assert time.monotonic() - started < 5
    assert run.code == 3
    lines = [line for line in run.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "FIFO" in lines[0] and "regular file" in lines[0], run.err


def test_readers_refuse_a_fifo_without_blocking(fifo: Path) -> None:
    with pytest.raises(ConfigError, match="FIFO"):
        load_file(str(fifo))
    with pytest.raises(ConfigError, match="FIFO"):
        read_secret_file(str(fifo))
    loaded = state.load(str(fifo))
    assert loaded.checks == {} and loaded.warning


def test_a_100000_level_dotted_key_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a" + ".a" * 100_000 + " = 1\n")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="dotted"):
        load_file(str(path))
    assert time.monotonic() - started < 1.0


def test_deeply_nested_inline_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested"):
        load_file(str(path))
    assert datafiles.loads_bounded('location = "a.b.c"\n[check]\ntimeout = 3\n') == {
        "location": "a.b.c", "check": {"timeout": 3}}


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_state_is_damaged_not_fatal(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "state.json"
    path.write_text('{"schema": "arc-preflight-state/1", "checks": {"a": ' + "[" * depth
                    + "]" * depth + "}}")
    loaded = state.load(str(path))
    assert loaded.checks == {} and loaded.warning and "starting afresh" in loaded.warning


def test_cli_with_a_deeply_nested_state_file_carries_on(run_cli: Any, tmp_path: Path,
                                                        elevated: Any) -> None:
    path = tmp_path / "state.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    run = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
                  "--format", "json", "--state", str(path))
    assert run.code in (0, 1) and "starting afresh" in run.err and "Traceback" not in run.err
    assert json.loads(path.read_text())["schema"] == state.SCHEMA


# --- item 1: systemctl that hangs ------------------------------------------------------------


def test_a_hanging_systemctl_gets_only_what_is_left_of_the_deadline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "systemctl"
    fake.write_text("#!/bin/sh\nsleep 30 &\nsleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ.get('PATH', '')}")
    started = time.monotonic()
    with sysmgr.run_deadline(started + 1.0):
        assert sysmgr.systemctl(["show", "x"], timeout=10) is None
        assert sysmgr.systemctl(["show", "y"], timeout=10) is None  # not asked again
        assert sysmgr.unit_properties("chronyd", "LoadState", 10) is None
    assert time.monotonic() - started < 1.6
    assert sysmgr._budget(5.0) == 5.0  # outside a run, no deadline


# --- item 8: no system log, a root-only agent folder -----------------------------------------


def test_syslog_without_journald_or_dev_log_is_reported(tmp_path: Path) -> None:
    from factories import report

    from arc_preflight import syslog_out
    from arc_preflight.model import Change

    changes = [Change("dns:x", "new_failure", "pass", "fail", "t")]
    problem = syslog_out.emit(changes, report([]), str(tmp_path / "no-journal"),
                              syslog_socket=str(tmp_path / "no-dev-log"))
    assert problem and "not logged" in problem


def test_unreadable_agent_files_need_elevation(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "agentconfig.json").write_text("{}")
    (folder / "localconfig.json").write_text("{}")
    real_open = open

    def denied(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).startswith(str(folder)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", denied)
    data, problem = agentconfig.read(str(folder), agentconfig.AGENTCONFIG)
    assert data == {} and agentconfig.needs_elevation(problem)
    outcome = agent.probe(str(folder), str(tmp_path / "no-azcmagent"), "preflight",
                          _ctx(), {})
    assert outcome.code == "privilege.not_admin" and "elevated" in outcome.summary
    assert outcome.facts["installed"] is True


def _ctx() -> Any:
    from arc_preflight.config import Settings
    from arc_preflight.model import ProbeContext

    return ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 5)


def test_fileio_refuses_non_regular_with_the_kind(fifo: Path) -> None:
    with pytest.raises(fileio.NotRegularFile) as caught:
        fileio.read_regular(str(fifo), 10, "config file")
    assert "FIFO" in str(caught.value.strerror)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@posix_root
def test_diagnose_output_refuses_a_planted_link(run_cli: Any, sticky: Path,
                                                tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    log = tmp_path / "agent.log"
    log.write_text("level=error msg=\"AZCM0041: failed\"\n")
    (sticky / "diag.json").symlink_to(victim)
    os.lchown(sticky / "diag.json", NOBODY, NOBODY)
    run = run_cli("diagnose", str(log), "--format", "json", "--output",
                  str(sticky / "diag.json"))
    assert run.code == 3 and "another user" in run.err and "Traceback" not in run.err
    assert victim.read_text() == "keep\n"
