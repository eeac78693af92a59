"""The top-level help answered by the entry point without typer (arc_preflight/entry.py).

The stored text must be byte for byte what typer prints, so that the shortcut changes only how
fast the help appears, never what it says; a narrower terminal, a damaged install or any other
argument goes to typer as before.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from conftest import run_subprocess

from arc_preflight import entry

ROOT = Path(__file__).resolve().parents[1]


def typer_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               columns: int) -> str:
    from arc_preflight import cli

    monkeypatch.setenv("COLUMNS", str(columns))
    with pytest.raises(SystemExit) as stop:
        cli.main(["--help"])
    assert stop.value.code == 0
    return capsys.readouterr().out


def entry_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               args: List[str], columns: int) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    with pytest.raises(SystemExit) as stop:
        entry.main(args)
    assert stop.value.code == 0
    return capsys.readouterr().out


def test_stored_help_is_what_typer_prints(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Fails after a command, its one-line help or a top-level option changes until
    ``scripts/root_help.py`` is run (the file is what ships)."""
    stored = Path(entry.HELP_FILE).read_text(encoding="utf-8")
    assert stored == typer_help(monkeypatch, capsys, entry.HELP_WIDTH), \
        "arc_preflight/data/root_help.txt is out of date: run scripts/root_help.py"
    for command in ("check", "endpoints", "schedule", "diagnose", "explain", "report",
                    "compare"):
        assert f"\n  {command} " in stored, command


def test_the_check_script_agrees() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "root_help.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args", [["--help"], ["-h"], []])
@pytest.mark.parametrize("columns", [80, 200])
def test_wide_terminals_get_the_stored_text(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str],
                                            args: List[str], columns: int) -> None:
    """Every way of asking for the top-level help, on any terminal of 80 columns or more,
    prints typer's bytes without building the command line."""
    monkeypatch.setattr("arc_preflight.cli.main", _must_not_run)
    out = entry_help(monkeypatch, capsys, args, columns)
    assert out == Path(entry.HELP_FILE).read_text(encoding="utf-8")


def test_narrow_terminal_goes_to_typer(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """click wraps to the terminal below 80 columns: the stored text would be too wide."""
    narrow = typer_help(monkeypatch, capsys, 60)
    assert narrow != Path(entry.HELP_FILE).read_text(encoding="utf-8")
    assert entry_help(monkeypatch, capsys, ["--help"], 60) == narrow


def test_missing_file_falls_back_to_typer(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    monkeypatch.setattr(entry, "HELP_FILE", str(tmp_path / "absent.txt"))
    assert entry_help(monkeypatch, capsys, ["--help"], 80) == \
        typer_help(monkeypatch, capsys, 80)


@pytest.mark.parametrize("value, expected", [("120", 120), ("79", 79), ("", 80), ("abc", 80),
                                             ("-5", 80)])
def test_columns_read_as_shutil_reads_them(monkeypatch: pytest.MonkeyPatch, value: str,
                                           expected: int) -> None:
    """``COLUMNS`` wins when it is a positive number; otherwise the terminal (none under pytest's
    captured output), else 80: the same answer :func:`shutil.get_terminal_size` gives."""
    import shutil

    monkeypatch.setenv("COLUMNS", value)
    monkeypatch.setattr(sys, "__stdout__", None)  # no terminal: both fall back
    assert entry.terminal_columns() == expected == shutil.get_terminal_size().columns


def test_subcommand_help_still_typers() -> None:
    """Only the top-level help is stored: ``check --help`` is built by typer."""
    result = run_subprocess("check", "--help")
    assert result.code == 0
    assert "--service-principal-secret" in result.out


def test_help_needs_no_typer() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "arc_preflight", "--help"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={"COLUMNS": "100", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout == Path(entry.HELP_FILE).read_text(encoding="utf-8")
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "arc_preflight.entry" in imported
    assert not {"typer", "click"} & imported


def _must_not_run(argv: object = None) -> None:
    raise AssertionError("the stored help should have answered")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_a_failing_stdout_is_one_line_and_exit_3(flag: str) -> None:
    """A full disk behind standard output (``/dev/full`` answers every write with ENOSPC): the
    same one line and exit 3 as the command line's other paths, never a traceback."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "arc_preflight", flag], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60,
                              env={"COLUMNS": "100", "PYTHONPATH": str(ROOT),
                                   "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("arc-preflight: internal error: OSError: ")
    assert len(proc.stderr.strip().splitlines()) == 1
