"""Reading many hosts' reports: folders, globs, JSON lines, and every kind of bad input listed
with its reason, never a traceback and never silently dropped."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fleet_helpers import sample, with_host, write

from arc_preflight.errors import UserError
from arc_preflight.fleet import load, rollup
from arc_preflight.fleet.model import HostCheck
from arc_preflight.model import Status


def _fleet(tmp_path: Path) -> Path:
    folder = tmp_path / "fleet"
    for name, host in (("healthy", "web01"), ("drop-443", "web02"), ("foreign-ca", "sql01")):
        write(folder, f"{host}.json", with_host(sample(name), host))
    return folder


def test_a_folder_is_read_with_every_report_in_it(tmp_path: Path) -> None:
    loaded = load.load([str(_fleet(tmp_path))])
    assert loaded.inputs == 3
    assert sorted(h.hostname for h in loaded.hosts) == ["sql01", "web01", "web02"]
    assert loaded.problems == []
    web02 = next(h for h in loaded.hosts if h.hostname == "web02")
    assert web02.status == Status.FAIL
    assert {c.code for c in web02.problems} == {"tcp.timeout"}
    assert web02.count(Status.FAIL) == 12
    assert {d.cause_id for d in web02.diagnoses} >= {"arm_blocked", "entra_id_blocked"}
    # Each failing check knows which diagnosis it is the evidence of.
    arm = next(c for c in web02.problems if c.id == "tcp:management.azure.com:443")
    assert arm.cause_id == "arm_blocked"
    assert "arm_blocked" in loaded.causes


def test_nested_folders_globs_and_single_files(tmp_path: Path) -> None:
    folder = _fleet(tmp_path)
    write(folder / "site-b" / "deep", "app01.json", with_host(sample("nxdomain-login"), "app01"))
    assert load.load([str(folder)]).inputs == 4
    assert load.load([str(folder / "**" / "*.json")]).inputs == 4
    assert load.load([str(folder / "web0*.json"), str(folder / "sql01.json")]).inputs == 3


def test_json_lines_on_stdin_and_in_a_jsonl_file(tmp_path: Path) -> None:
    import io

    lines = "\n".join(json.dumps(with_host(sample("healthy"), f"h{i}")) for i in range(3))
    stream = io.BytesIO((lines + "\n\nnot json\n").encode())
    loaded = load.load(["-"], stdin=stream)
    assert [h.hostname for h in loaded.hosts] == ["h0", "h1", "h2"]
    assert [(p.source, p.kind) for p in loaded.problems] == [("stdin:5", "unreadable")]
    path = tmp_path / "all.jsonl"
    path.write_text(lines, encoding="utf-8")
    assert len(load.load([str(path)]).hosts) == 3


@pytest.mark.parametrize(("content", "reason"), [
    (b"\x00\x01garbage", "not JSON"),
    (b"", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"schema": "arc-preflight/1"}', "host is missing"),
    (b'{"schema": "arc-preflight/1", "host": {"hostname": ""}}', "host.hostname is missing"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (json.dumps({"schema": "arc-preflight/1", "host": {"hostname": "x"}, "status": "pass",
                 "started_at": "2026-01-01T00:00:00Z", "checks": [{"id": "a"}],
                 "diagnoses": []}).encode(), "checks[0] is not a check"),
    (json.dumps({"schema": "arc-preflight/1", "host": {"hostname": "x"}, "status": "pass",
                 "started_at": "2026-01-01T00:00:00Z", "checks": [{"status": ["x"]}],
                 "diagnoses": []}).encode(), "checks[0] is not a check"),
    (json.dumps({"schema": "arc-preflight/1", "host": {"hostname": "x"}, "status": "pass",
                 "started_at": "2026-01-01T00:00:00Z", "checks": [{"status": "bogus"}],
                 "diagnoses": []}).encode(), "status 'bogus' is unknown"),
    ("\udcff".encode("utf-8", "surrogatepass"), "not JSON"),
])
def test_bad_files_are_listed_as_unreadable_with_the_reason(
        tmp_path: Path, content: bytes, reason: str) -> None:
    folder = _fleet(tmp_path)
    (folder / "bad.json").write_bytes(content)
    loaded = load.load([str(folder)])
    assert len(loaded.hosts) == 3
    [problem] = loaded.problems
    assert problem.kind == "unreadable"
    assert problem.source.endswith("bad.json")
    assert reason in problem.reason


def test_another_schema_version_is_listed_with_its_host(tmp_path: Path) -> None:
    folder = _fleet(tmp_path)
    future = with_host(sample("healthy"), "web09")
    future["schema"] = "arc-preflight/2"
    write(folder, "web09.json", future)
    [problem] = load.load([str(folder)]).problems
    assert (problem.kind, problem.hostname) == ("schema", "web09")
    assert "arc-preflight/2" in problem.reason


def test_a_file_over_the_size_cap_is_not_read(tmp_path: Path, monkeypatch: Any) -> None:
    folder = _fleet(tmp_path)
    big = folder / "huge.json"
    with open(big, "wb") as handle:  # sparse: 2 GiB on paper, nothing on disk
        handle.truncate(2 << 30)
    [problem] = load.load([str(folder)]).problems
    assert "larger than 20 MiB" in problem.reason
    monkeypatch.setattr(load, "MAX_REPORT_BYTES", 1000)
    line = json.dumps(with_host(sample("healthy"), "x"))
    import io

    loaded = load.load(["-"], stdin=io.BytesIO((line + "\n" + '{"a": 1}\n').encode()))
    assert loaded.problems[0].reason.startswith("line longer than")
    assert loaded.problems[1].source == "stdin:2"


def test_devices_fifos_and_unreadable_files(tmp_path: Path) -> None:
    folder = _fleet(tmp_path)
    fifo = folder / "pipe.json"
    os.mkfifo(fifo)
    loaded = load.load([str(folder), "/dev/zero"])
    reasons = sorted(p.reason for p in loaded.problems)
    assert reasons == ["not a regular file", "not a regular file"]


def test_an_unreadable_file_is_listed(tmp_path: Path) -> None:
    from conftest import run_subprocess, without_dac_prefix

    folder = tmp_path / "fleet"
    write(folder, "web01.json", with_host(sample("healthy"), "web01"))
    secret = folder / "locked.json"
    secret.write_text("{}", encoding="utf-8")
    secret.chmod(0)
    prefix = without_dac_prefix()
    run = run_subprocess("report", str(folder), "--format", "json", prefix=prefix)
    assert run.code == 3, run.err  # a healthy host and one that could not be judged
    doc = json.loads(run.out)
    assert doc["status"] == "unknown"
    [problem] = doc["inputs"]
    assert problem["reason"].startswith("cannot open")


def test_nothing_to_read_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        load.load([])
    with pytest.raises(UserError, match="no arc-preflight reports"):
        load.load(["-"], stdin=__import__("io").BytesIO(b"\n\n"))
    empty = tmp_path / "empty"
    empty.mkdir()
    # An empty folder among others is listed; alone it is still one listed problem.
    loaded = load.load([str(empty)])
    assert [p.reason for p in loaded.problems] == ["no reports (*.json) in this folder"]
    loaded = load.load([str(tmp_path / "missing.json"), str(tmp_path / "nope*.json")])
    assert sorted(p.reason for p in loaded.problems) == ["no such file or folder",
                                                         "the pattern matched no file"]


def test_hostile_text_is_made_printable_and_bounded(tmp_path: Path) -> None:
    doc = with_host(sample("drop-443"), "evil\x1b[31mhost")
    doc["checks"][-1]["summary"] = "x" * 100_000
    doc["checks"][-1]["status"] = "fail"
    doc["diagnoses"][0]["evidence"] = ["password=hunter2 \x07bell"] * 1000
    write(tmp_path, "evil.json", doc)
    [host] = load.load([str(tmp_path)]).hosts
    assert "\x1b" not in host.hostname
    assert max(len(c.summary) for c in host.problems) <= 400
    assert len(host.diagnoses[0].evidence) == 50
    assert "hunter2" not in host.diagnoses[0].evidence[0]
    assert "\x07" not in host.diagnoses[0].evidence[0]


def test_worker_processes_read_the_same_as_one(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    for i in range(60):
        name = ("healthy", "drop-443", "proxy-auth")[i % 3]
        write(folder, f"h{i:03d}.json", with_host(sample(name), f"h{i % 50:03d}",
                                                   "2026-11-30T10:00:00Z"))
    (folder / "h999.json").write_text("{", encoding="utf-8")
    one = load.load([str(folder)], parallel_min=10**9)
    many = load.load([str(folder)], parallel_min=1)
    assert one.hosts == many.hosts
    assert one.problems == many.problems
    assert one.causes == many.causes
    assert one.inputs == many.inputs == 61
    # Duplicates are resolved the same way: on a tie the report read last wins.
    assert rollup.build(one, "t").hosts == rollup.build(many, "t").hosts


def test_host_checks_survive_pickling() -> None:
    import pickle

    check = HostCheck("a", "tcp", "t:443", Status.FAIL, "tcp.timeout", "s", None)
    assert pickle.loads(pickle.dumps(check)) == check


def test_a_folder_that_cannot_be_listed_is_listed(tmp_path: Path) -> None:
    from conftest import run_subprocess, without_dac_prefix

    folder = tmp_path / "fleet"
    write(folder, "web01.json", with_host(sample("healthy"), "web01"))
    locked = folder / "site-b"
    write(locked, "web02.json", with_host(sample("healthy"), "web02"))
    locked.chmod(0)
    try:
        run = run_subprocess("report", str(folder), "--format", "json",
                             prefix=without_dac_prefix())
    finally:
        locked.chmod(0o755)
    assert run.code == 3, run.err
    [problem] = json.loads(run.out)["inputs"]
    assert problem["source"].endswith("site-b")
    assert problem["reason"].startswith("cannot list this folder")
