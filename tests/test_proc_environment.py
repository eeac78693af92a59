"""The running himds process's proxy, read from ``/proc`` without psutil.

The fake tree has the layout proc(5) documents: ``/proc/PID/comm`` is the command name and a
newline, ``/proc/PID/environ`` the process's initial environment as ``NAME=value`` entries each
ended by a NUL byte. Unreadable files are what a non-root caller meets: environ is mode 0400 and
owned by the process's user.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import pytest

from arc_preflight.probes import proxysources

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def proc(root: Path, pid: int, comm: str, environ: Optional[bytes]) -> None:
    folder = root / str(pid)
    folder.mkdir(parents=True)
    (folder / "comm").write_bytes(comm.encode() + b"\n")
    if environ is not None:
        (folder / "environ").write_bytes(environ)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    proc(tmp_path, 1, "systemd", b"HOME=/\0TERM=linux\0")
    proc(tmp_path, 412, "sshd", b"HTTPS_PROXY=http://wrong:1\0")
    (tmp_path / "self").mkdir()  # not a process id: skipped
    (tmp_path / "meminfo").write_text("MemTotal: 1 kB\n")
    return tmp_path


@linux_only
def test_himds_environment_names_its_proxy(tree: Path) -> None:
    proc(tree, 1337, "himds",
         b"LANG=C.UTF-8\0PATH=/usr/bin\0https_proxy=http://proxy.contoso.test:3128\0"
         b"IDENTITY_ENDPOINT=http://localhost:40342/metadata/identity/oauth2/token\0")
    found = proxysources.running_process_environment(str(tree))
    assert found is not None
    assert found.url == "http://proxy.contoso.test:3128"
    assert found.detail == "pid 1337"
    assert found.name == "running himds process"


@linux_only
def test_upper_case_wins_as_the_agent_reads_it(tree: Path) -> None:
    proc(tree, 20, "himds", b"https_proxy=http://lower:1\0HTTPS_PROXY=http://upper:2\0")
    found = proxysources.running_process_environment(str(tree))
    assert found is not None and found.url == "http://upper:2"


@linux_only
def test_no_proxy_in_its_environment(tree: Path) -> None:
    proc(tree, 20, "himds", b"PATH=/usr/bin\0")
    assert proxysources.running_process_environment(str(tree)) is None


@linux_only
def test_no_himds_process(tree: Path) -> None:
    assert proxysources.running_process_environment(str(tree)) is None


@linux_only
def test_environment_unreadable_without_root(tree: Path) -> None:
    proc(tree, 20, "himds", None)
    os.mkdir(tree / "20" / "environ")  # reading it fails as a denied open does
    assert proxysources.running_process_environment(str(tree)) is None


@linux_only
def test_missing_proc_is_no_answer(tmp_path: Path) -> None:
    assert proxysources.running_process_environment(str(tmp_path / "absent")) is None


@linux_only
def test_a_vanished_process_is_skipped(tree: Path) -> None:
    (tree / "30").mkdir()  # listed, then gone: no comm file
    proc(tree, 31, "himds", b"HTTPS_PROXY=http://proxy.contoso.test:3128\0")
    found = proxysources.running_process_environment(str(tree))
    assert found is not None and found.detail == "pid 31"
