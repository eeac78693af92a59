"""``--syslog``: one journald entry per changed check, through a fake journald socket.

The fake journald is an ``AF_UNIX`` datagram socket bound in a temporary folder (allowed by the
unit-test network block); ``journal_socket`` points the tool at it. The host's own journal and
``/dev/log`` are never written: the syslog fallback is tested with a stand-in ``syslog`` module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Tuple

import pytest
from factories import report

from arc_preflight import syslog_out
from arc_preflight.model import Change, Result, Status
from arc_preflight.probes import privilege
from arc_preflight.redact import register_secret

SECRET = "Journal-Secret-0x5eed-4411"

DNS_FAIL = Result("dns:login.microsoftonline.com", "dns", "login.microsoftonline.com",
                  Status.FAIL, "NXDOMAIN from 127.0.0.53", code="dns.nxdomain")
TCP_PASS = Result("tcp:management.azure.com:443", "tcp", "management.azure.com:443",
                  Status.PASS, "connected in 3 ms")
REPORT = report([DNS_FAIL, TCP_PASS])
CHANGES = (
    Change(DNS_FAIL.id, "new_failure", "pass", "fail", "2026-01-01T00:00:00Z"),
    Change(TCP_PASS.id, "recovered", "fail", "pass", "2026-01-01T00:00:00Z"),
)


class Journal(NamedTuple):
    path: str
    sock: socket.socket

    def entries(self, timeout: float = 2.0) -> List[Dict[str, str]]:
        """Every datagram waiting (the first one may take up to ``timeout``)."""
        found: List[Dict[str, str]] = []
        self.sock.settimeout(timeout)
        while True:
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return found
            found.append(parse(data))
            self.sock.settimeout(0.2)


def parse(data: bytes) -> Dict[str, str]:
    """journald's native protocol, text form: ``KEY=value`` lines."""
    text = data.decode("utf-8")
    assert text.endswith("\n")
    fields: Dict[str, str] = {}
    for line in text[:-1].split("\n"):
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=value: {line!r}"
        assert re.fullmatch(r"[A-Z0-9_]+", key) and not key.startswith("_"), key
        assert key not in fields
        fields[key] = value
    return fields


def short_dir(tmp_path: Path) -> Tuple[Path, bool]:
    """``tmp_path``, or a shorter temporary folder when a socket path would be too long."""
    if len(str(tmp_path / "journal.sock")) < 100:
        return tmp_path, False
    return Path(tempfile.mkdtemp(prefix="arcpf-j-")), True


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    folder, made = short_dir(tmp_path)
    path = str(folder / "journal.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        yield Journal(path, sock)
    finally:
        sock.close()
        if made:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def no_host_syslog(monkeypatch: pytest.MonkeyPatch) -> List[Tuple[Any, ...]]:
    """A stand-in ``syslog`` module, so no test writes to this machine's /dev/log."""
    calls: List[Tuple[Any, ...]] = []

    class FakeSyslog:
        LOG_DAEMON = 3 << 3

        @staticmethod
        def openlog(*args: Any) -> None:
            calls.append(("openlog", *args))

        @staticmethod
        def syslog(*args: Any) -> None:
            calls.append(("syslog", *args))

        @staticmethod
        def closelog() -> None:
            calls.append(("closelog",))

    monkeypatch.setitem(sys.modules, "syslog", FakeSyslog)
    return calls


# --------------------------------------------------------------------------------------------
# message ids


def test_message_id_is_stable_32_hex() -> None:
    first = syslog_out.message_id(DNS_FAIL.id)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert syslog_out.message_id(DNS_FAIL.id) == first
    assert syslog_out.message_id(TCP_PASS.id) != first
    # A fixed namespace, no per-process salt: another process computes the same id.
    code = "from arc_preflight import syslog_out; print(syslog_out.message_id('privilege'))"
    root = str(Path(syslog_out.__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONHASHSEED": "12345",
                                           "PYTHONPATH": root})
    assert proc.stdout.strip() == syslog_out.message_id("privilege")


# --------------------------------------------------------------------------------------------
# emit to journald


def test_emit_one_datagram_per_change(journal: Journal, no_host_syslog: List[Any]) -> None:
    assert syslog_out.emit(CHANGES, REPORT, journal.path) is None
    entries = journal.entries()
    assert len(entries) == 2
    failure, recovery = entries
    assert failure["PRIORITY"] == "3"
    assert recovery["PRIORITY"] == "6"
    for entry, change in zip(entries, CHANGES):
        assert entry["SYSLOG_IDENTIFIER"] == "arc-preflight"
        assert entry["MESSAGE_ID"] == syslog_out.message_id(change.id)
        assert entry["ARC_PREFLIGHT_CHECK"] == change.id
        assert entry["ARC_PREFLIGHT_CHANGE"] == change.kind
        assert change.id in entry["MESSAGE"]
        assert change.kind in entry["MESSAGE"]
    assert "NXDOMAIN" in failure["MESSAGE"]
    assert failure["ARC_PREFLIGHT_CODE"] == "dns.nxdomain"
    assert failure["ARC_PREFLIGHT_STATUS"] == "fail"
    assert no_host_syslog == []


@pytest.mark.parametrize(("kind", "priority"), [("new_failure", "3"), ("flapping", "4"),
                                                ("changed", "4"), ("new_check", "4"),
                                                ("gone", "6"), ("recovered", "6")])
def test_priority_per_kind(journal: Journal, kind: str, priority: str) -> None:
    change = Change(DNS_FAIL.id, kind, "warn", "fail" if kind != "gone" else None)
    assert syslog_out.emit([change], REPORT, journal.path) is None
    (entry,) = journal.entries()
    assert entry["PRIORITY"] == priority
    if kind == "gone":
        assert entry["ARC_PREFLIGHT_STATUS"] == "absent"


def test_no_changes_sends_nothing(journal: Journal, no_host_syslog: List[Any]) -> None:
    assert syslog_out.emit((), REPORT, journal.path) is None
    assert journal.entries(timeout=0.2) == []
    assert no_host_syslog == []


def test_secret_and_newlines_stay_out_of_message(journal: Journal) -> None:
    register_secret(SECRET)
    leaky = Result("https:login.microsoftonline.com:443", "https", "login.microsoftonline.com:443",
                   Status.FAIL, f"HTTP 401 for client_secret={SECRET}\nsecond line {SECRET}",
                   code="https.error")
    change = Change(leaky.id, "new_failure", "pass", "fail")
    assert syslog_out.emit([change], report([leaky]), journal.path) is None
    data_entries = journal.entries()
    assert len(data_entries) == 1
    assert all(SECRET not in value for value in data_entries[0].values())
    assert "[REDACTED]" in data_entries[0]["MESSAGE"]
    assert "second line" in data_entries[0]["MESSAGE"]


def test_peer_gone_returns_warning(tmp_path: Path, no_host_syslog: List[Any]) -> None:
    folder, made = short_dir(tmp_path)
    try:
        path = str(folder / "dead.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.close()  # the file stays, nobody reads it: ECONNREFUSED
        assert os.path.exists(path)
        problem = syslog_out.emit(CHANGES, REPORT, path)
        assert isinstance(problem, str) and "journald" in problem
        assert no_host_syslog == []
    finally:
        if made:
            shutil.rmtree(folder, ignore_errors=True)


def test_socket_path_is_a_regular_file(tmp_path: Path, no_host_syslog: List[Any]) -> None:
    path = tmp_path / "not-a-socket"
    path.write_text("")
    problem = syslog_out.emit(CHANGES, REPORT, str(path))
    assert isinstance(problem, str)


def test_fallback_to_syslog_without_journald(tmp_path: Path,
                                            no_host_syslog: List[Any]) -> None:
    # /dev/log stand-in: any existing path (the fake syslog module never opens it)
    assert syslog_out.emit(CHANGES, REPORT, str(tmp_path / "absent.sock"),
                           syslog_socket=str(tmp_path)) is None
    logged = [call for call in no_host_syslog if call[0] == "syslog"]
    assert len(logged) == 2
    assert logged[0][1] == 3 and logged[1][1] == 6
    assert f"msgid={syslog_out.message_id(DNS_FAIL.id)}" in logged[0][2]
    assert no_host_syslog[0][:2] == ("openlog", "arc-preflight")


def test_fallback_syslog_failure_is_a_warning(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        LOG_DAEMON = 24

        @staticmethod
        def openlog(*args: Any) -> None:
            raise OSError("no /dev/log")

    monkeypatch.setitem(sys.modules, "syslog", Broken)
    problem = syslog_out.emit(CHANGES, REPORT, str(tmp_path / "absent.sock"))
    assert isinstance(problem, str) and "syslog" in problem


# --------------------------------------------------------------------------------------------
# end to end through the CLI (no network: --only privilege)


def test_cli_syslog_sends_one_entry_per_change(run_cli: Any, journal: Journal, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               no_host_syslog: List[Any]) -> None:
    conf = tmp_path / "cfg.toml"
    conf.write_text(f"journal_socket = {json.dumps(journal.path)}\n")
    argv = ["check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"), "--state",
            str(tmp_path / "state.json"), "--syslog", "--config", str(conf), "-f", "json"]
    monkeypatch.setattr(privilege, "is_elevated", lambda: True)
    first = run_cli(*argv)
    assert first.code == 0 and first.err == ""
    assert journal.entries(timeout=0.3) == []  # first run: nothing changed

    monkeypatch.setattr(privilege, "is_elevated", lambda: False)
    second = run_cli(*argv)
    assert second.code == 1
    assert second.err == ""
    (entry,) = journal.entries()
    assert entry["ARC_PREFLIGHT_CHECK"] == "privilege"
    assert entry["PRIORITY"] == "3"
    assert entry["MESSAGE_ID"] == syslog_out.message_id("privilege")
    assert entry["ARC_PREFLIGHT_CHANGE"] == "new_failure"
    assert "pass -> warn" in entry["MESSAGE"]

    third = run_cli(*argv)  # still warning: nothing logged
    assert third.code == 1
    assert journal.entries(timeout=0.3) == []
    assert no_host_syslog == []


def test_cli_syslog_dead_socket_is_a_warning(run_cli: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             no_host_syslog: List[Any]) -> None:
    folder, made = short_dir(tmp_path)
    try:
        path = str(folder / "dead.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.close()
        conf = tmp_path / "cfg.toml"
        conf.write_text(f"[check]\njournal_socket = {json.dumps(path)}\n")
        argv = ["check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
                "--state", str(tmp_path / "state.json"), "--syslog", "--config", str(conf),
                "-f", "json"]
        monkeypatch.setattr(privilege, "is_elevated", lambda: True)
        assert run_cli(*argv).code == 0
        monkeypatch.setattr(privilege, "is_elevated", lambda: False)
        run = run_cli(*argv)
        assert run.code == 1  # logging trouble never changes the verdict
        assert "Traceback" not in run.err
        warnings = [line for line in run.err.splitlines()
                    if line.startswith("arc-preflight: warning:")]
        assert len(warnings) == 1 and "journald" in warnings[0]
        assert any("journald" in n for n in json.loads(run.out)["notices"])
    finally:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
