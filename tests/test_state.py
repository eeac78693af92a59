"""The state kept between scheduled runs (``--state``): what changed; it never breaks a run.

``state.compare`` is exercised with hand-built results; ``state.load``/``state.save`` with files
in ``tmp_path``; then the whole path through ``cli.main`` with ``--only privilege`` (no network),
in-process (where the privilege probe's verdict is patched to make it change) and as a real
subprocess.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest
from conftest import run_subprocess

from arc_preflight import kb, state
from arc_preflight.model import Change, Result, Status

T0, T1, T2, T3 = ("2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z",
                  "2026-01-01T00:45:00Z")


def result(check_id: str, status: str, code: Optional[str] = None) -> Result:
    return Result(check_id, check_id.split(":", 1)[0], check_id.split(":", 1)[-1],
                  Status(status), f"{check_id} is {status}", code=code)


def results(**statuses: str) -> List[Result]:
    """``results(dns="pass")`` -> results keyed by id (underscores stand for colons)."""
    return [result(name.replace("__", ":"), value) for name, value in statuses.items()]


def run_sequence(statuses: Sequence[str], check_id: str = "tcp:a:443"
                 ) -> List[List[Change]]:
    """Feed one check through successive runs; the changes reported by each run."""
    previous: Dict[str, Dict[str, Any]] = {}
    seen: List[List[Change]] = []
    for number, status in enumerate(statuses):
        changes, previous = state.compare(previous, [result(check_id, status)], f"t{number}")
        seen.append(changes)
    return seen


def kinds(changes: Sequence[Change]) -> List[str]:
    return [c.kind for c in changes]


# --------------------------------------------------------------------------------------------
# compare


def test_first_run_reports_nothing_even_for_failures() -> None:
    changes, new = state.compare({}, [result("dns:a", "fail"), result("tcp:a:443", "pass")], T0)
    assert changes == []
    assert new["dns:a"]["status"] == "fail"
    assert new["dns:a"]["since"] == T0
    assert new["dns:a"]["history"] == ["fail"]


def test_new_failure() -> None:
    previous = state.compare({}, [result("dns:a", "pass")], T0)[1]
    changes, new = state.compare(previous, [result("dns:a", "fail", "dns.nxdomain")], T1)
    assert changes == [Change("dns:a", "new_failure", "pass", "fail", T1)]
    assert new["dns:a"]["code"] == "dns.nxdomain"
    assert new["dns:a"]["since"] == T1


def test_warning_after_pass_is_a_new_failure() -> None:
    previous = state.compare({}, [result("privilege", "pass")], T0)[1]
    changes, _ = state.compare(previous, [result("privilege", "warn")], T1)
    assert kinds(changes) == ["new_failure"]


def test_recovered() -> None:
    previous = state.compare({}, [result("dns:a", "fail")], T0)[1]
    changes, new = state.compare(previous, [result("dns:a", "pass")], T1)
    assert changes == [Change("dns:a", "recovered", "fail", "pass", T1)]
    assert new["dns:a"]["status"] == "pass"


def test_still_failing_is_no_change_and_keeps_since() -> None:
    previous = state.compare({}, [result("dns:a", "pass")], T0)[1]
    previous = state.compare(previous, [result("dns:a", "fail")], T1)[1]
    changes, new = state.compare(previous, [result("dns:a", "fail")], T2)
    assert changes == []
    assert new["dns:a"]["since"] == T1
    changes, new = state.compare(new, [result("dns:a", "fail")], T3)
    assert changes == []
    assert new["dns:a"]["since"] == T1
    assert new["dns:a"]["history"] == ["pass", "fail", "fail", "fail"]


def test_still_passing_is_no_change_and_keeps_since() -> None:
    previous = state.compare({}, [result("dns:a", "pass")], T0)[1]
    changes, new = state.compare(previous, [result("dns:a", "pass")], T1)
    assert changes == []
    assert new["dns:a"]["since"] == T0


def test_changed_between_bad_statuses() -> None:
    previous = state.compare({}, [result("tls:a:443", "warn")], T0)[1]
    changes, new = state.compare(previous, [result("tls:a:443", "fail")], T1)
    assert changes == [Change("tls:a:443", "changed", "warn", "fail", T1)]
    assert new["tls:a:443"]["since"] == T1
    changes, _ = state.compare(new, [result("tls:a:443", "error")], T2)
    assert kinds(changes) == ["changed"]


def test_flapping() -> None:
    seen = run_sequence(["pass", "fail", "pass", "fail"])
    assert kinds(seen[1]) == ["new_failure"]
    assert kinds(seen[2]) == ["recovered"]
    assert kinds(seen[3]) == ["flapping"]
    assert (seen[3][0].before, seen[3][0].after) == ("pass", "fail")


def test_flapping_detected_from_a_good_state_too() -> None:
    seen = run_sequence(["fail", "pass", "fail", "pass"])
    assert kinds(seen[3]) == ["flapping"]
    assert seen[3][0].after == "pass"


def test_changes_below_the_flap_threshold_are_not_flapping() -> None:
    seen = run_sequence(["pass", "fail", "pass", "pass", "pass", "pass", "pass", "fail"])
    # Only two flips remain inside the remembered window when it fails again.
    assert kinds(seen[-1]) == ["new_failure"]


def test_flapping_is_not_reported_while_status_holds() -> None:
    seen = run_sequence(["pass", "fail", "pass", "fail", "fail"])
    assert kinds(seen[3]) == ["flapping"]
    assert seen[4] == []


def test_skip_does_not_count_as_recovery() -> None:
    seen = run_sequence(["fail", "skip"])
    assert seen[1] == []


def test_new_check_only_when_a_previous_state_exists() -> None:
    previous = state.compare({}, [result("dns:a", "pass")], T0)[1]
    changes, new = state.compare(previous, [result("dns:a", "pass"), result("dns:b", "fail"),
                                            result("dns:c", "pass")], T1)
    assert changes == [Change("dns:b", "new_check", None, "fail", T1)]
    assert set(new) == {"dns:a", "dns:b", "dns:c"}
    # No previous state at all: a first run, nothing is "new".
    assert state.compare({}, [result("dns:b", "fail")], T1)[0] == []


def test_gone() -> None:
    previous = state.compare({}, [result("dns:a", "fail"), result("dns:b", "pass")], T0)[1]
    changes, new = state.compare(previous, [], T1)
    # A failing check that disappeared is reported; a passing one silently.
    assert changes == [Change("dns:a", "gone", "fail", None, None)]
    assert new == {}


def test_history_is_capped() -> None:
    previous: Dict[str, Dict[str, Any]] = {}
    statuses = ["pass", "warn", "fail", "error", "skip", "pass", "warn", "fail", "pass", "pass"]
    for number, status in enumerate(statuses):
        _, previous = state.compare(previous, [result("x", status)], f"t{number}")
        history = previous["x"]["history"]
        assert len(history) <= state.HISTORY
        assert history[-1] == status
    assert previous["x"]["history"] == statuses[-state.HISTORY:]


def test_compare_is_json_serialisable_and_round_trips(tmp_path: Path) -> None:
    _, new = state.compare({}, [result("dns:a", "fail", "dns.nxdomain")], T0)
    path = tmp_path / "state.json"
    state.save(str(path), new, "9.9")
    loaded = state.load(str(path))
    assert loaded.warning is None
    assert loaded.checks == new
    doc = json.loads(path.read_text())
    assert doc["schema"] == state.SCHEMA
    assert doc["tool_version"] == "9.9"


def test_compare_tolerates_malformed_history() -> None:
    for bad in (None, 5, {"a": 1}):
        previous = {"dns:a": {"status": "pass", "since": T0, "history": bad}}
        changes, new = state.compare(previous, [result("dns:a", "pass")], T1)
        assert changes == []
        assert new["dns:a"]["history"][-1] == "pass"


# --------------------------------------------------------------------------------------------
# save / load


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    _, first = state.compare({}, [result("dns:a", "pass")], T0)
    state.save(str(path), first, "1")
    before = path.read_bytes()

    def crash(src: str, dst: str, **_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    _, second = state.compare(first, [result("dns:a", "fail")], T1)
    with pytest.raises(OSError):
        state.save(str(path), second, "1")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_save_interrupted_while_writing_leaves_no_temp(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    state.save(str(path), {}, "1")
    before = path.read_bytes()

    def boom(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        state.save(str(path), {"x": {"status": "fail"}}, "1")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_save_into_missing_folder_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        state.save(str(tmp_path / "nope" / "state.json"), {}, "1")
    assert not (tmp_path / "nope").exists()


def test_load_missing_file_is_silent(tmp_path: Path) -> None:
    assert state.load(str(tmp_path / "absent.json")) == state.Loaded({})


@pytest.mark.parametrize("content", [
    "{not json",
    "[1, 2, 3]",
    json.dumps({"schema": "arc-preflight-state/0", "checks": {}}),
    json.dumps({"schema": "arc-preflight/1", "checks": {}}),
    json.dumps({"schema": state.SCHEMA, "checks": []}),
    "",
], ids=["corrupt", "list", "old-schema", "other-schema", "checks-not-object", "empty"])
def test_load_unusable_file_starts_afresh_with_warning(tmp_path: Path, content: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    loaded = state.load(str(path))
    assert loaded.checks == {}
    assert loaded.warning and str(path) in loaded.warning


def test_load_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    loaded = state.load(str(path))
    assert loaded.checks == {} and loaded.warning


def test_load_directory(tmp_path: Path) -> None:
    loaded = state.load(str(tmp_path))
    assert loaded.checks == {} and loaded.warning


def test_load_drops_entries_that_are_not_objects(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"schema": state.SCHEMA, "checks": {
        "dns:a": {"status": "pass", "history": ["pass"]}, "dns:b": "fail"}}))
    loaded = state.load(str(path))
    assert loaded.warning is None
    assert list(loaded.checks) == ["dns:a"]


# --------------------------------------------------------------------------------------------
# through the CLI (no network: --only privilege)


def check_argv(tmp_path: Path, state_file: Path, *extra: str) -> List[str]:
    return ["check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
            "--state", str(state_file), *extra]


def warnings_of(err: str) -> List[str]:
    return [line for line in err.splitlines() if line.startswith("arc-preflight: warning:")]


def test_cli_second_run_reports_no_change(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    state_file = tmp_path / "state.json"
    first = run_cli(*check_argv(tmp_path, state_file, "--format", "json"))
    assert first.code == 0, first.err
    assert json.loads(first.out)["changes"] == []
    saved = json.loads(state_file.read_text())
    assert saved["schema"] == state.SCHEMA
    assert saved["checks"]["privilege"]["status"] == "pass"
    second = run_cli(*check_argv(tmp_path, state_file, "--format", "json"))
    assert second.code == 0
    assert json.loads(second.out)["changes"] == []
    assert warnings_of(second.err) == []
    assert json.loads(state_file.read_text())["checks"]["privilege"]["history"] == [
        "pass", "pass"]


def test_cli_change_appears_in_json_markdown_and_nagios(run_cli: Any, tmp_path: Path,
                                                        elevated: Any) -> None:
    state_file = tmp_path / "state.json"
    assert run_cli(*check_argv(tmp_path, state_file, "-f", "json")).code == 0

    elevated(False)
    worse = run_cli(*check_argv(tmp_path, state_file, "-f", "json"))
    assert worse.code == 1
    doc = json.loads(worse.out)
    assert doc["changes"] == [{"id": "privilege", "kind": "new_failure", "before": "pass",
                               "after": "warn", "since": doc["started_at"]}]

    # Same status again: nothing new in any format.
    again = run_cli(*check_argv(tmp_path, state_file, "-f", "markdown"))
    assert "Changes since the last run" not in again.out

    elevated(True)
    better = run_cli(*check_argv(tmp_path, state_file, "-f", "markdown"))
    assert better.code == 0
    assert "### Changes since the last run" in better.out
    row = next(line for line in better.out.splitlines() if line.startswith("| `privilege`"))
    assert "warn" in row and "pass" in row and "recovered" in row

    elevated(False)
    nagios = run_cli(*check_argv(tmp_path, state_file, "-f", "nagios"))
    assert nagios.code == 1
    lines = nagios.out.splitlines()
    assert lines[0].startswith("ARC-PREFLIGHT WARNING - ")
    assert "changes=1" in lines[0]
    # pass, warn, warn, pass, warn: the third flip in the window makes it flapping.
    assert "changed: privilege pass -> warn (flapping)" in lines


def test_cli_new_failure_in_nagios(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    state_file = tmp_path / "state.json"
    assert run_cli(*check_argv(tmp_path, state_file, "-f", "nagios")).code == 0
    elevated(False)
    nagios = run_cli(*check_argv(tmp_path, state_file, "-f", "nagios"))
    assert nagios.code == 1
    assert "changed: privilege pass -> warn (new_failure)" in nagios.out.splitlines()


def test_cli_json_with_changes_matches_schema(run_cli: Any, tmp_path: Path,
                                               elevated: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(kb.__file__).parent / "data" / "report.schema.json").read_text())
    state_file = tmp_path / "state.json"
    run_cli(*check_argv(tmp_path, state_file, "-f", "json"))
    elevated(False)
    doc = json.loads(run_cli(*check_argv(tmp_path, state_file, "-f", "json")).out)
    assert doc["changes"]
    jsonschema.validate(doc, schema)


@pytest.mark.parametrize("content", ["{corrupt", "[]", '{"schema": "other/9", "checks": {}}'])
def test_cli_corrupt_state_warns_once_and_starts_afresh(run_cli: Any, tmp_path: Path,
                                                         elevated: Any, content: str) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(content)
    run = run_cli(*check_argv(tmp_path, state_file, "-f", "json"))
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert len(warnings_of(run.err)) == 1, run.err
    assert len(run.err.splitlines()) == 1
    doc = json.loads(run.out)
    assert doc["changes"] == []
    assert len(doc["notices"]) == 1
    # The file was replaced by a good one: the next run is quiet.
    assert json.loads(state_file.read_text())["schema"] == state.SCHEMA
    assert run_cli(*check_argv(tmp_path, state_file, "-f", "json")).err == ""


def test_cli_corrupt_state_keeps_the_real_exit_code(run_cli: Any, tmp_path: Path,
                                                    elevated: Any) -> None:
    elevated(False)
    state_file = tmp_path / "state.json"
    state_file.write_text("\x00\x01")
    run = run_cli(*check_argv(tmp_path, state_file, "-f", "json"))
    assert run.code == 1
    assert len(warnings_of(run.err)) == 1


def test_cli_state_with_malformed_history_is_not_an_internal_error(run_cli: Any, tmp_path: Path,
                                                                   elevated: Any) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"schema": state.SCHEMA, "checks": {
        "privilege": {"status": "pass", "since": T0, "history": None}}}))
    run = run_cli(*check_argv(tmp_path, state_file, "-f", "json"))
    assert run.code == 0, run.err


def test_cli_unwritable_state_path_warns_and_completes(run_cli: Any, tmp_path: Path,
                                                       elevated: Any) -> None:
    state_file = tmp_path / "missing-dir" / "state.json"
    run = run_cli(*check_argv(tmp_path, state_file, "-f", "json"))
    assert run.code == 0
    warnings = warnings_of(run.err)
    assert len(warnings) == 1 and "not written" in warnings[0]
    assert "Traceback" not in run.err
    doc = json.loads(run.out)
    assert doc["changes"] == [] and doc["checks"][0]["status"] == "pass"
    assert not state_file.parent.exists()


def test_cli_state_path_is_a_directory(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    folder = tmp_path / "dir"
    folder.mkdir()
    run = run_cli(*check_argv(tmp_path, folder, "-f", "json"))
    assert run.code == 0
    assert 1 <= len(warnings_of(run.err)) <= 2
    assert "Traceback" not in run.err
    assert folder.is_dir()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".arc-preflight")] == []


# --------------------------------------------------------------------------------------------
# subprocess: the real entry point


def test_subprocess_state_twice(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    first = run_subprocess(*check_argv(tmp_path, state_file, "--format", "json"))
    assert first.code in (0, 1), first.err
    assert json.loads(first.out)["changes"] == []
    second = run_subprocess(*check_argv(tmp_path, state_file, "--format", "json"))
    assert second.code == first.code
    assert json.loads(second.out)["changes"] == []
    assert second.err == ""
    assert len(json.loads(state_file.read_text())["checks"]["privilege"]["history"]) == 2


def test_subprocess_corrupt_state(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text("{{{{")
    run = run_subprocess(*check_argv(tmp_path, state_file, "--format", "json"))
    assert run.code in (0, 1)
    assert "Traceback" not in run.err
    assert len(run.err.splitlines()) == 1 and run.err.startswith("arc-preflight: warning:")
    assert json.loads(run.out)["changes"] == []


def test_subprocess_gone_when_failing_check_disappears(tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"schema": state.SCHEMA, "checks": {
        "dns:example.invalid": {"status": "fail", "since": T0, "history": ["fail"]}}}))
    run = run_subprocess(*check_argv(tmp_path, state_file, "--format", "json"))
    changes = json.loads(run.out)["changes"]
    assert {"id": "dns:example.invalid", "kind": "gone", "before": "fail", "after": None,
            "since": None} in changes


def test_output_to_a_device_or_symlink_keeps_it(tmp_path: Path) -> None:
    """Writing to /dev/null (or a link) must never replace it with a regular file."""
    import stat as stat_mod

    from arc_preflight.fileio import write_text

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    received: List[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_text(str(fifo), "report\n")
    reader.join(5)
    assert stat_mod.S_ISFIFO(os.stat(fifo).st_mode)
    assert received == [b"report\n"]
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text(str(link), "{}\n")
    assert link.is_symlink() and target.read_text() == "{}\n"
    write_text(str(link), "[]\n")
    assert link.is_symlink() and target.read_text() == "[]\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".arc-preflight")] == []


@pytest.mark.parametrize("stamp, seconds", [
    ("2026-01-01T09:58:00.1234567+00:00", 120 - 0.123456),
    ("2026-01-01T09:58:00.5Z", 119.5),
    ("2026-01-01T09:58:00Z", 120.0),
    ("2026-01-01T10:00:00.5+02:00", 7199.5),
    ("2026-01-01T09:58:00", 120.0),
])
def test_heartbeat_age_reads_go_timestamps(stamp: str, seconds: float) -> None:
    """Go's RFC 3339 with nanoseconds and offsets, on every Python we support (3.9 included)."""
    import datetime as dt

    from arc_preflight.probes.agent import heartbeat_age

    now = dt.datetime(2026, 1, 1, 10, 0, 0, tzinfo=dt.timezone.utc)
    age = heartbeat_age(stamp, now)
    assert age is not None and abs(age - seconds) < 0.01
