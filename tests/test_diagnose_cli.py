"""``arc-preflight diagnose``: what it finds, how it says it, exit codes, bad input, secrets.

No network. Logs are written to tmp_path by the tests; the knowledge base is the packaged one.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import Run, run_subprocess, without_dac_prefix

from arc_preflight import kb as kbmod
from arc_preflight.logs import diagnose as logs_diagnose
from arc_preflight.logs import inputs as logs_inputs
from arc_preflight.logs import lines as logs_lines

DATA = Path(kbmod.__file__).resolve().parent / "data"
SECRET = "Zx8Q~sEcReTvAlUe0123456789abcdefgh"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJlLXBhcnQ"
SAS = "sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2B%2F%3D"
PROXY_PASSWORD = "pr0xyPassw0rd"


@pytest.fixture
def run(run_cli_real_kb: Any) -> Any:
    return run_cli_real_kb


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    report = json.loads((DATA / "report.schema.json").read_text(encoding="utf-8"))
    schema = json.loads((DATA / "diagnose.schema.json").read_text(encoding="utf-8"))
    registry = referencing.Registry().with_resources([
        (report["$id"], referencing.Resource.from_contents(report)),
        (schema["$id"], referencing.Resource.from_contents(schema)),
    ])
    return jsonschema.Draft202012Validator(schema, registry=registry)


def stamp(second: int, hour: int = 10) -> str:
    return f'time="2026-03-04T{hour:02d}:{second // 60:02d}:{second % 60:02d}Z"'


def info(second: int, text: str = "Heartbeat sent", hour: int = 10) -> str:
    return f'{stamp(second, hour)} level=info msg="{text}" statusCode=200'


CONNECT = 'level=info msg="Running azcmagent connect --resource-group rg --location eastus"'
ONBOARD = 'level=info msg="Onboarding Machine. It usually takes a few minutes to complete."'
ARM_FORBIDDEN = ('level=error msg="Failed to create resource" Error="Get https://management.'
                 "azure.com/subscriptions/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/resourcegroups/rg/"
                 "providers/Microsoft.HybridCompute/machines/web01?api-version=2022-12-27: "
                 'Forbidden"')
AZCM42 = 'level=fatal msg="AZCM0042: Failed to Create Resource" exitcode=42'
NO_SUCH_HOST = ('level=error msg="DNS" Error="dial tcp: lookup gbl.his.arc.azure.com on '
                '10.0.0.2:53: no such host"')
X509 = ('level=error msg="TLS failure" Error="Get \\"https://gbl.his.arc.azure.com/\\": x509: '
        'certificate signed by unknown authority"')
SECRET_LINE = (f'level=error msg="token request failed" body="client_id=abc&client_secret={SECRET}'
               f'&grant_type=client_credentials" auth="Bearer {JWT}" url="https://acct.blob.core.'
               f'windows.net/c?sv=2020&{SAS}" proxy="http://arcuser:{PROXY_PASSWORD}@proxy:3128" '
               'Error="AADSTS7000215: Invalid client secret provided."')
UNKNOWN = 'level=error msg="Extension manager queue stalled" code=E42'


def write_log(path: Path, lines: List[str], dated: bool = True) -> Path:
    text = "\n".join((f"{stamp(i)} {line}" if dated and not line.startswith("time=") else line)
                     for i, line in enumerate(lines)) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def two_attempts(tmp_path: Path) -> Path:
    lines = [info(i) for i in range(5)]
    lines += [CONNECT, ONBOARD, NO_SUCH_HOST, X509, info(9)]  # attempt 1: DNS and TLS
    lines += [info(i) for i in range(10, 20)]
    lines += [CONNECT, ONBOARD, info(22), ARM_FORBIDDEN, AZCM42]  # attempt 2: ARM blocked
    return write_log(tmp_path / "azcmagent.log", lines)


def diag_ids(doc: Dict[str, Any]) -> List[str]:
    return [d["cause_id"] for d in doc["diagnoses"]]


# ------------------------------------------------------------------------------- what it finds


def test_latest_attempt_by_default(run: Any, two_attempts: Path, validator: Any) -> None:
    result = run("diagnose", str(two_attempts), "--format", "json")
    assert result.code == 2, result
    doc = json.loads(result.out)
    validator.validate(doc)
    assert doc["source"] == "azcmagent.log" and doc["lines_read"] == 25
    assert doc["scope"]["kind"] == "latest_attempt"
    assert doc["scope"]["attempts"] == 2 and doc["scope"]["start_line"] == 21
    first = doc["diagnoses"][0]
    assert first["category"] == "firewall_or_proxy_blocking"
    assert "AZCM0042" in first["azcm"]
    assert first["lines"] == [24, 25]  # the Forbidden line and the AZCM0042 line it explains
    assert first["evidence"][0].startswith("azcmagent.log:24: ")
    assert first["source"] == "azcmagent.log"
    # the code line did not also produce guesses (role, provider registration)
    assert {d["category"] for d in doc["diagnoses"]} == {"firewall_or_proxy_blocking"}


def test_all_reads_every_attempt(run: Any, two_attempts: Path, validator: Any) -> None:
    result = run("diagnose", str(two_attempts), "--all", "-f", "json")
    doc = json.loads(result.out)
    validator.validate(doc)
    assert doc["scope"]["kind"] == "all"
    categories = [d["category"] for d in doc["diagnoses"]]
    assert {"dns_failure", "tls_inspection", "firewall_or_proxy_blocking"} <= set(categories)
    assert len(categories) == len(set(diag_ids(doc)))  # each cause once
    lines = {d["category"]: d["lines"] for d in doc["diagnoses"]}
    assert lines["dns_failure"] == [8] and lines["tls_inspection"] == [9]


def test_since(run: Any, two_attempts: Path, validator: Any) -> None:
    result = run("diagnose", str(two_attempts), "--since", "2026-03-04T10:00:08Z", "-f", "json")
    doc = json.loads(result.out)
    validator.validate(doc)
    assert doc["scope"]["kind"] == "since"
    cats = {d["category"] for d in doc["diagnoses"]}
    assert "tls_inspection" in cats and "dns_failure" not in cats  # line 8 is at 10:00:07
    late = run("diagnose", str(two_attempts), "--since", "2026-03-05", "-f", "json")
    assert late.code == 0 and json.loads(late.out)["diagnoses"] == []


@pytest.mark.parametrize("value", ["2h", "30m", "1d", "2026-03-04", "2026-03-04 10:00",
                                   "2026-03-04 10:00:05", "2026-03-04T10:00:00+02:00"])
def test_since_forms(value: str) -> None:
    assert logs_lines.parse_since(value).tzinfo is not None


def test_since_rejects_nonsense(run: Any, two_attempts: Path) -> None:
    result = run("diagnose", str(two_attempts), "--since", "yesterday-ish")
    assert result.code == 3 and result.out == ""
    assert result.err.startswith("arc-preflight: error: --since") and \
        len(result.err.splitlines()) == 1


def test_no_attempt_marker_means_whole_input(run: Any, tmp_path: Path) -> None:
    path = write_log(tmp_path / "himds.log", [info(0), X509, info(2)])
    doc = json.loads(run("diagnose", str(path), "-f", "json").out)
    assert doc["scope"]["kind"] == "whole_input"
    assert [d["category"] for d in doc["diagnoses"]] == ["tls_inspection"]


def test_table_output(run: Any, two_attempts: Path) -> None:
    result = run("diagnose", str(two_attempts))
    assert result.code == 2
    out = result.out
    assert "azcmagent.log" in out and "25 lines read" in out
    assert "the last of 2 connect attempts" in out
    assert "1. FAIL" in out and "[firewall_or_proxy_blocking]" in out and "AZCM0042" in out
    assert "L24: " in out and "L25: " in out
    assert "Fix:" in out and "https://learn.microsoft.com/" in out
    assert "exit code 2" in out


def test_each_cause_once_with_bounded_evidence(run: Any, tmp_path: Path) -> None:
    path = write_log(tmp_path / "a.log", [X509] * 40)
    doc = json.loads(run("diagnose", str(path), "-f", "json").out)
    assert len(doc["diagnoses"]) == 1
    only = doc["diagnoses"][0]
    assert only["occurrences"] == 40 and len(only["evidence"]) == logs_diagnose.MAX_EVIDENCE
    assert only["lines"] == [1, 2, 3, 4, 5] and only["last_line"] == 40
    assert "and 35 more line(s)" in run("diagnose", str(path)).out


def test_most_decisive_first(run: Any, tmp_path: Path) -> None:
    lines = [
        "level=error msg=x Error=\"read tcp 10.0.0.5:5000->1.2.3.4:443: read: connection reset "
        'by peer"',
        NO_SUCH_HOST,
        "level=error msg=x Error=\"AADSTS7000215: Invalid client secret provided.\"",
    ]
    doc = json.loads(run("diagnose", str(write_log(tmp_path / "b.log", lines)), "-f",
                         "json").out)
    kb = kbmod.load()
    priorities = [kb.get(d["cause_id"]).priority for d in doc["diagnoses"]]  # type: ignore
    assert priorities == sorted(priorities, reverse=True)
    assert doc["diagnoses"][0]["category"] == "invalid_sp_secret"


def test_azcm_code_alone(run: Any, tmp_path: Path) -> None:
    path = write_log(tmp_path / "c.log", ['level=fatal msg="AZCM0041: Failed to get token"'])
    doc = json.loads(run("diagnose", str(path), "-f", "json").out)
    cats = {d["category"] for d in doc["diagnoses"]}
    assert {"invalid_sp_secret", "sp_or_tenant_not_found"} <= cats
    assert all("AZCM0041" in d["azcm"] for d in doc["diagnoses"])


def test_azcm_code_joins_the_message_it_explains(run: Any, tmp_path: Path) -> None:
    lines = ['level=error msg="x" Error="AADSTS7000215: Invalid client secret provided."',
             'level=fatal msg="AZCM0041: Failed to get token"']
    doc = json.loads(run("diagnose", str(write_log(tmp_path / "d.log", lines)), "-f",
                         "json").out)
    assert [d["category"] for d in doc["diagnoses"]] == ["invalid_sp_secret"]
    assert doc["diagnoses"][0]["lines"] == [1, 2]


def test_unknown_errors_are_a_warning(run: Any, tmp_path: Path, validator: Any) -> None:
    path = write_log(tmp_path / "e.log", [info(0), UNKNOWN, 'level=error msg="AZCM0999: odd"'])
    result = run("diagnose", str(path), "-f", "json")
    assert result.code == 1
    doc = json.loads(result.out)
    validator.validate(doc)
    assert [d["category"] for d in doc["diagnoses"]] == ["unknown"]
    assert doc["diagnoses"][0]["severity"] == "warn"
    assert doc["diagnoses"][0]["lines"] == [2, 3]
    assert "AZCM0999" in doc["diagnoses"][0]["azcm"]


def test_causes_only_seen_below_error_level_are_warnings(run: Any, tmp_path: Path) -> None:
    retry = 'level=debug msg="retrying" Error="dial tcp 1.2.3.4:443: connect: connection refused"'
    result = run("diagnose", str(write_log(tmp_path / "f.log", [retry])), "-f", "json")
    assert result.code == 1
    assert json.loads(result.out)["diagnoses"][0]["severity"] == "warn"


def test_console_output_on_stdin(run: Any, validator: Any) -> None:
    console = (
        "INFO[0000] Onboarding Machine. It usually takes a few minutes to complete.\n"
        "INFO[0001] Check network connectivity\n"
        'ERROR[0031] Failed to AzcmagentConnect Error="Post https://login.windows.net/t/oauth2/'
        'token: dial tcp 40.126.9.7:443: connect: network is unreachable"\n'
        "FATAL[0031] AZCM0026: Network Error\n"
    )
    result = run("diagnose", "-", "-f", "json", stdin=console.encode())
    assert result.code == 2, result
    doc = json.loads(result.out)
    validator.validate(doc)
    assert doc["source"] == "stdin" and doc["lines_read"] == 4
    first = doc["diagnoses"][0]
    assert first["category"] == "network_unreachable"
    assert "AZCM0026" in first["azcm"] and first["lines"] == [3, 4]
    assert first["evidence"][0].startswith("stdin:3: ERROR[0031] Failed to AzcmagentConnect")


def test_stdin_in_a_real_pipe() -> None:
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(DATA.parent.parent))
    proc = subprocess.run([sys.executable, "-m", "arc_preflight", "diagnose", "-"],
                          input=(X509 + "\n").encode(), capture_output=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert b"[tls_inspection]" in proc.stdout and b"standard input" in proc.stdout


def test_gzip_and_rotated_names(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "azcmagent.log.3"  # compressed, whatever the name
    path.write_bytes(gzip.compress(("\n".join([info(0), X509]) + "\n").encode()))
    result = run("diagnose", str(path))
    assert result.code == 2 and "(gzip)" in result.out and "[tls_inspection]" in result.out


# --------------------------------------------------------------------------------- secrets


def test_secrets_never_appear(run: Any, tmp_path: Path) -> None:
    path = write_log(tmp_path / "s.log", [SECRET_LINE, SECRET_LINE.replace("level=error",
                                                                            "level=fatal")])
    outputs = [run("diagnose", str(path), *args) for args in
               ([], ["-f", "json"], ["--all"], ["--all", "-f", "json"])]
    for result in outputs:
        assert result.code == 2
        text = result.out + result.err
        for secret in (SECRET, JWT, JWT.split(".")[1], "AbCdEfGhIjKlMnOp", PROXY_PASSWORD):
            assert secret not in text, secret
        assert "[REDACTED]" in text


# ------------------------------------------------------------------------------- bad input


def assert_one_line_error(result: Run, needle: str) -> None:
    assert result.code == 3, result
    assert result.out == "" and "Traceback" not in result.err
    assert len(result.err.splitlines()) == 1 and needle in result.err, result.err


def test_directory(run: Any, tmp_path: Path) -> None:
    assert_one_line_error(run("diagnose", str(tmp_path)), "is a directory")


def test_missing_file(run: Any, tmp_path: Path) -> None:
    assert_one_line_error(run("diagnose", str(tmp_path / "nope.log")), "no such file")


def test_missing_default_log(run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs_inputs, "default_log_path", lambda: str(tmp_path / "azcmagent.log"))
    assert_one_line_error(run("diagnose"), "no agent log at")


def test_unreadable_file(run: Any, tmp_path: Path) -> None:
    path = write_log(tmp_path / "locked.log", [X509])
    path.chmod(0)
    prefix = without_dac_prefix()
    if not prefix:
        assert_one_line_error(run("diagnose", str(path)), "permission denied")
        return
    result = run_subprocess("diagnose", str(path), prefix=prefix)
    assert result.code == 3
    assert result.err.count("\n") == 1 and "permission denied" in result.err


def test_bad_format(run: Any, two_attempts: Path) -> None:
    assert_one_line_error(run("diagnose", str(two_attempts), "-f", "xml"), "--format")


def test_empty_file(run: Any, tmp_path: Path, validator: Any) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    result = run("diagnose", str(path))
    assert result.code == 0
    assert "No known error found in 0 lines" in result.out and "empty" in result.out
    doc = json.loads(run("diagnose", str(path), "-f", "json").out)
    validator.validate(doc)
    assert doc["lines_read"] == 0 and doc["diagnoses"] == [] and doc["status"] == "pass"


def test_binary_garbage(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 400 + b"\x00" * 5000)
    result = run("diagnose", str(path))
    assert result.code == 0, result
    assert "No known error found" in result.out and "does not look like text" in result.out
    assert "\x00" not in result.out


def test_invalid_utf8(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.log"
    path.write_bytes(b"level=error msg=\"\xe9chec \xff\xfe\" Error=\"x509: certificate signed by "
                     b"unknown authority\"\n")
    result = run("diagnose", str(path), "-f", "json")
    assert result.code == 2
    assert json.loads(result.out)["diagnoses"][0]["category"] == "tls_inspection"


def test_truncated_gzip_is_diagnosed_with_a_warning(run: Any, tmp_path: Path) -> None:
    lines = [f"{X509} id={i * 7919 % 100003:06d}{i * 104729 % 99991:06x}" for i in range(30000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    result = run("diagnose", str(path))
    assert result.code == 2 and "damaged compressed data" in result.out


def test_gzip_that_is_not(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "fake.gz"
    path.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    assert_one_line_error(run("diagnose", str(path)), "damaged compressed data")


def test_single_enormous_line(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "one-line.log"
    with path.open("wb") as handle:
        handle.write(X509.encode() + b" ")
        block = b"q" * (1 << 20)
        for _ in range(24):
            handle.write(block)
    result = run("diagnose", str(path), "-f", "json")
    assert result.code == 2
    doc = json.loads(result.out)
    assert doc["lines_read"] == 1 and doc["diagnoses"][0]["lines"] == [1]
    assert any("64 KiB" in note for note in doc["notes"])
    assert len(doc["diagnoses"][0]["evidence"][0]) < 400


def test_output_file(run: Any, two_attempts: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    result = run("diagnose", str(two_attempts), "-f", "json", "-o", str(target))
    assert result.code == 2 and result.out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["diagnoses"]


def test_help_mentions_exit_codes(run: Any) -> None:
    result = run("diagnose", "--help")
    assert result.code == 0 and "Exit codes" in result.out and "--since" in result.out


@pytest.mark.parametrize("fmt", ["logrus", "console"])
def test_generated_benchmark_log(run: Any, tmp_path: Path, fmt: str) -> None:
    """scripts/gen_log.py is deterministic and its last attempt fails behind a blocking proxy."""
    script = DATA.parent.parent / "scripts" / "gen_log.py"
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    for target in (first, second):
        subprocess.run([sys.executable, str(script), "1", "--format", fmt, "-o", str(target),
                        "--attempt-mb", "0.25"], check=True, capture_output=True, timeout=120)
    assert first.read_bytes() == second.read_bytes()
    assert 1_000_000 < first.stat().st_size < 1_200_000
    doc = json.loads(run("diagnose", str(first), "-f", "json").out)
    assert doc["scope"]["kind"] == "latest_attempt" and doc["scope"]["attempts"] >= 4
    assert [d["cause_id"] for d in doc["diagnoses"]] == ["arm_blocked"]
    assert doc["diagnoses"][0]["azcm"] == ["AZCM0042"]
    everything = json.loads(run("diagnose", str(first), "--all", "-f", "json").out)
    assert len(everything["diagnoses"]) > 3
    assert "Zx8Q~sEcReTvAlUe" not in json.dumps(everything)


def test_default_log_and_rotated_siblings(run: Any, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    current = write_log(tmp_path / "azcmagent.log", [info(0), X509])
    (tmp_path / "azcmagent.log.1").write_text(X509 + "\n", encoding="utf-8")
    (tmp_path / "azcmagent.log.2.gz").write_bytes(gzip.compress(b"old\n"))
    monkeypatch.setattr(logs_inputs, "default_log_path", lambda: str(current))
    result = run("diagnose")
    assert result.code == 2
    assert "older rotated logs were not read (azcmagent.log.1, azcmagent.log.2.gz)" in result.out
    assert "L2: " in result.out


def test_console_without_the_characters_of_the_log() -> None:
    """A Windows console redirected to a cp1252 file must not crash on a Chinese log line."""
    env = dict(os.environ, NO_COLOR="1", PYTHONIOENCODING="cp1252",
               PYTHONPATH=str(DATA.parent.parent))
    line = 'level=error msg="失败 x509: certificate signed by unknown authority"\n'
    proc = subprocess.run([sys.executable, "-m", "arc_preflight", "diagnose", "-"],
                          input=line.encode(), capture_output=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert b"?? x509" in proc.stdout


def test_permission_denied_even_as_root(run: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_log(tmp_path / "azcmagent.log", [X509])

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(logs_inputs, "open", refuse, raising=False)
    assert_one_line_error(run("diagnose", str(path)), "permission denied")


def test_read_error_in_the_middle(run: Any, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An I/O error after some lines (a failing disk): what was read is diagnosed, with a
    warning."""
    path = write_log(tmp_path / "azcmagent.log", [X509] * 10)
    real_open = open

    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = real_open(path, "rb")
            self.calls = 0

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError(5, "Input/output error")
            return self.inner.read(300)

        def close(self) -> None:
            self.inner.close()

    monkeypatch.setattr(logs_inputs, "open", lambda *_a, **_k: Failing(), raising=False)
    result = run("diagnose", str(path))
    assert result.code == 2, result
    assert "Input/output error" in result.out and "[tls_inspection]" in result.out


def test_read_error_before_anything_found_is_unknown(run: Any, tmp_path: Path,
                                                     validator: Any) -> None:
    lines = [f"{info(i)} id={i * 7919 % 100003:06d}{i * 104729 % 99991:06x}" for i in range(30000)]
    data = gzip.compress(("\n".join([*lines, X509]) + "\n").encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    result = run("diagnose", str(path), "-f", "json")
    assert result.code == 3
    doc = json.loads(result.out)
    validator.validate(doc)
    assert doc["status"] == "unknown" and doc["warnings"] and doc["lines_read"] > 0
    table = run("diagnose", str(path))
    assert table.code == 3 and "part that could be read" in table.out


def test_device_is_refused_not_read_for_ever(run: Any) -> None:
    import os as os_mod

    if not os_mod.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this platform")
    assert_one_line_error(run("diagnose", "/dev/zero"), "is a device")
