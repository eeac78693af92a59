"""The command line: exit codes, one-line errors, endpoints output, and a probe-free check run.

Nothing here runs a network probe: ``check`` is only run with ``--only privilege`` (no network)
or with arguments that fail validation before anything is probed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, List

import pytest
from conftest import Run, run_subprocess

from arc_preflight import kb

SCHEMA_FILE = Path(kb.__file__).resolve().parent / "data" / "report.schema.json"
HAVE_CAUSES = kb.DATA_FILE.exists()
PASSWORD = "S3cretPassw0rd"


@pytest.fixture(scope="module")
def validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def assert_one_line_error(result: Run) -> None:
    assert result.code == 3, result
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("arc-preflight: error:"), lines[0]
    assert result.out == ""


@pytest.fixture
def garbage_pem(tmp_path: Path) -> str:
    path = tmp_path / "garbage.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n")
    return str(path)


@pytest.fixture
def malformed_toml(tmp_path: Path) -> str:
    path = tmp_path / "bad.toml"
    path.write_text('location = "eastus\ntimeout = \n')
    return str(path)


# --------------------------------------------------------------------------------------------
# subprocess: the real entry point


def test_subprocess_version() -> None:
    result = run_subprocess("--version")
    assert result.code == 0
    assert result.out.strip().startswith("arc-preflight ")
    from arc_preflight import __version__

    assert __version__ in result.out


def test_version_needs_no_typer() -> None:
    """The entry point answers ``--version`` before the command line is built: typer and click,
    most of the start-up, are not imported (``python -X importtime`` lists what was)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "arc_preflight",
                           "--version"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-500:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "arc_preflight.entry" in imported
    assert not {"typer", "click"} & imported


def test_version_line_is_typers(run_cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The shortcut prints the very line the typer option prints."""
    from arc_preflight.entry import main as entry_main

    with pytest.raises(SystemExit) as stop:
        entry_main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == run_cli("--version").out


def test_entry_hands_everything_else_to_typer(capsys: pytest.CaptureFixture[str]) -> None:
    """Anything but ``--version`` alone goes through the command line as before: an unknown
    flag is one line and exit 3."""
    from arc_preflight.entry import main as entry_main

    with pytest.raises(SystemExit) as stop:
        entry_main(["--version", "--bogus"])
    assert stop.value.code == 3


def test_subprocess_help_lists_commands() -> None:
    result = run_subprocess("--help")
    assert result.code == 0
    assert "check" in result.out
    assert "endpoints" in result.out
    assert "Exit codes" in result.out
    assert result.err == ""


def test_subprocess_check_help_lists_azcmagent_flags() -> None:
    result = run_subprocess("check", "--help")
    assert result.code == 0
    for flag in ("--cloud", "--location", "--service-principal-secret", "--dns-server",
                 "--proxy", "--no-proxy", "--ca-bundle", "--config", "--only", "--format"):
        assert flag in result.out, flag


@pytest.mark.parametrize("argv", [["--bogus"], ["check", "--bogus"], ["check", "--timeout", "abc"]])
def test_subprocess_usage_error_is_exit_3_without_traceback(argv: List[str]) -> None:
    result = run_subprocess(*argv)
    assert result.code == 3
    assert "Traceback" not in result.err
    assert result.err.startswith("arc-preflight: ")
    assert result.out == ""


@pytest.mark.parametrize("argv", [["--bogus"], ["check", "--bogus"], ["check", "--timeout", "abc"]])
def test_subprocess_usage_error_is_one_error_line(argv: List[str]) -> None:
    assert_one_line_error(run_subprocess(*argv))


@pytest.mark.parametrize("argv", [
    ["check", "--dns-server", "nonsense"],
    ["check", "--config", "/nonexistent/arc-preflight.toml"],
    ["check", "--proxy", "ftp://x"],
    ["endpoints", "--cloud", "mars"],
    ["endpoints", "--location", "atlantis"],
])
def test_subprocess_bad_values_exit_3(argv: List[str]) -> None:
    assert_one_line_error(run_subprocess(*argv))


def test_subprocess_bad_files_exit_3(garbage_pem: str, malformed_toml: str) -> None:
    assert_one_line_error(run_subprocess("check", "--ca-bundle", garbage_pem))
    result = run_subprocess("check", "--config", malformed_toml)
    assert_one_line_error(result)
    assert "not valid TOML" in result.err


def test_subprocess_proxy_password_not_echoed() -> None:
    result = run_subprocess("check", "--proxy", f"http://user:{PASSWORD}@proxy:3128",
                            "--dns-server", "bogus")
    assert_one_line_error(result)
    assert PASSWORD not in result.err
    assert "--dns-server" in result.err


def test_subprocess_endpoints_json() -> None:
    result = run_subprocess("endpoints", "--format", "json")
    assert result.code == 0
    rows = json.loads(result.out)
    assert isinstance(rows, list) and rows
    assert "management.azure.com" in {r["host"] for r in rows}


def test_subprocess_endpoints_csv() -> None:
    result = run_subprocess("endpoints", "--format", "csv", "--location", "eastus")
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(result.out)))
    hosts = {r["host"] for r in rows}
    assert {"eus.his.arc.azure.com", "eastus-gas.guestconfiguration.azure.com"} <= hosts


@pytest.mark.skipif(not HAVE_CAUSES, reason="data/causes.toml not written yet")
def test_subprocess_check_only_privilege_json(tmp_path: Path, validator: Any) -> None:
    result = run_subprocess("check", "--only", "privilege", "--format", "json",
                            "--agent-dir", str(tmp_path))
    doc = json.loads(result.out)
    assert not list(validator.iter_errors(doc))
    assert result.code == doc["exit_code"]
    assert [c["id"] for c in doc["checks"]] == ["privilege"]


# --------------------------------------------------------------------------------------------
# in-process


def test_version_in_process(run_cli: Any) -> None:
    result = run_cli("--version")
    assert result.code == 0
    assert result.out.startswith("arc-preflight ")


def test_help_in_process(run_cli: Any) -> None:
    result = run_cli("--help")
    assert result.code == 0
    assert "endpoints" in result.out and "check" in result.out


def test_no_arguments_is_not_an_internal_error(run_cli: Any) -> None:
    result = run_cli()
    assert "internal error" not in result.err
    assert "check" in result.out + result.err


@pytest.mark.parametrize("argv, needle", [
    (["check", "--timeout", "0"], "--timeout"),
    (["check", "--deadline", "99999"], "--deadline"),
    (["check", "--dns-server", "nonsense"], "--dns-server 'nonsense'"),
    (["check", "--dns-server", "8.8.8.8", "--dns-server", "bad"], "'bad'"),
    (["check", "--proxy", "ftp://x"], "--proxy"),
    (["check", "--proxy", "proxy.corp:3128"], "--proxy"),
    (["check", "--proxy", "http://p:3128", "--no-proxy"], "--no-proxy"),
    (["check", "--only", "ping"], "unknown probe kind 'ping'"),
    (["check", "--skip", "ping"], "unknown probe kind 'ping'"),
    (["check", "--extensions", "sqll"], "--extensions 'sqll'"),
    (["check", "--format", "xml"], "--format 'xml'"),
    (["check", "--config", "/nonexistent/x.toml"], "does not exist"),
    (["check", "--ca-bundle", "/nonexistent/ca.pem"], "--ca-bundle"),
    (["endpoints", "--cloud", "mars"], "unknown cloud 'mars'"),
    (["endpoints", "--location", "atlantis"], "'atlantis' is not a known region"),
    (["endpoints", "--cloud", "usgov", "--location", "eastus"], "AzureUSGovernment"),
    (["endpoints", "--extensions", "nope"], "--extensions 'nope'"),
    (["endpoints", "--format", "xml"], "--format 'xml'"),
])
def test_argument_errors_in_process(run_cli: Any, argv: List[str], needle: str) -> None:
    result = run_cli(*argv)
    assert_one_line_error(result)
    assert needle in result.err


def test_file_errors_in_process(run_cli: Any, tmp_path: Path, garbage_pem: str,
                                malformed_toml: str) -> None:
    assert "not a valid PEM bundle" in run_cli("check", "--ca-bundle", garbage_pem).err
    assert run_cli("check", "--ca-bundle", str(tmp_path)).code == 3
    assert "not valid TOML" in run_cli("check", "--config", malformed_toml).err
    assert "is a directory" in run_cli("check", "--config", str(tmp_path)).err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[check]\nlocaton = "eastus"\n')
    result = run_cli("check", "--config", str(unknown))
    assert_one_line_error(result)
    assert "locaton" in result.err
    empty = tmp_path / "secret.txt"
    empty.write_text("\n")
    result = run_cli("check", "--service-principal-secret-file", str(empty))
    assert_one_line_error(result)
    assert "is empty" in result.err


def test_bad_proxy_with_password_is_redacted(run_cli: Any) -> None:
    for argv in (["check", "--proxy", f"http://user:{PASSWORD}@proxy:3128", "--dns-server",
                  "bogus"],
                 ["check", "--proxy", f"http://user:{PASSWORD}@proxy:99999"],
                 ["check", "--proxy", f"ftp://user:{PASSWORD}@proxy:21"]):
        result = run_cli(*argv)
        assert_one_line_error(result)
        assert PASSWORD not in result.err


def test_secret_flag_never_echoed_on_error(run_cli: Any) -> None:
    secret = "Cli-SP-Secret~0932.value"
    result = run_cli("check", "--service-principal-secret", secret, "--timeout", "-1")
    assert_one_line_error(result)
    assert secret not in result.err


def test_endpoints_json_in_process(run_cli: Any) -> None:
    result = run_cli("endpoints", "--format", "json", "--cloud", "china", "--location",
                     "China East 2")
    assert result.code == 0
    rows = json.loads(result.out)
    hosts = {r["host"] for r in rows}
    assert "chinaeast2-gas.guestconfiguration.azure.cn" in hosts
    assert all(r["host"].endswith((".cn", ".com")) for r in rows)


def test_endpoints_private_link_and_extensions(run_cli: Any) -> None:
    result = run_cli("endpoints", "-f", "csv", "-l", "eastus", "-e", "sql",
                     "--private-link-scope", "/subscriptions/x/resourceGroups/y/providers/"
                     "Microsoft.HybridCompute/privateLinkScopes/z")
    assert result.code == 0
    rows = list(csv.DictReader(io.StringIO(result.out)))
    by_host = {r["host"]: r for r in rows}
    assert by_host["gbl.his.arc.azure.com"]["must_resolve"] == "private"
    assert by_host["management.azure.com"]["must_resolve"] == "public"
    assert "telemetry.eastus.arcdataservices.com" in by_host


def test_endpoints_extensions_all_lists_optional(run_cli: Any) -> None:
    rows = json.loads(run_cli("endpoints", "-f", "json", "-e", "all").out)
    assert {"sql", "esu", "license", "telemetry", "wac"} <= {r["feature"] for r in rows}


def test_endpoints_table_in_process(run_cli: Any) -> None:
    result = run_cli("endpoints")
    assert result.code == 0
    assert "Azure public cloud (AzureCloud), region not given" in result.out


def test_endpoints_output_file(run_cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "endpoints.json"
    result = run_cli("endpoints", "-f", "json", "-o", str(target))
    assert result.code == 0
    assert result.out == ""
    assert isinstance(json.loads(target.read_text()), list)
    assert [p.name for p in tmp_path.iterdir()] == ["endpoints.json"], "no temp file left"


def test_endpoints_output_unwritable(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("endpoints", "-o", str(tmp_path / "missing" / "x.txt"))
    assert_one_line_error(result)
    assert "--output" in result.err


# check --only privilege: runs no network probe


def test_check_only_privilege_json(run_cli: Any, tmp_path: Path, validator: Any) -> None:
    result = run_cli("check", "--only", "privilege", "--format", "json", "--agent-dir",
                     str(tmp_path))
    doc = json.loads(result.out)
    errors = [e.message for e in validator.iter_errors(doc)]
    assert not errors
    assert result.code == doc["exit_code"]
    assert result.code in (0, 1)
    assert [c["id"] for c in doc["checks"]] == ["privilege"]
    elevated = doc["host"]["elevated"]
    assert doc["checks"][0]["status"] == ("pass" if elevated else "warn")
    if not elevated:
        assert doc["diagnoses"][0]["cause_id"] == "not_elevated"
    assert doc["settings"]["agent_installed"] is False
    assert doc["settings"]["proxy_effective"]["url"] is None


def test_check_secret_and_proxy_password_stay_out_of_report(run_cli: Any,
                                                            tmp_path: Path) -> None:
    secret = "Report-SP-Secret~7781.value"
    result = run_cli("check", "--only", "privilege", "-f", "json", "--agent-dir", str(tmp_path),
                     "--service-principal-secret", secret,
                     "--proxy", f"http://arc:{PASSWORD}@proxy.corp:3128")
    assert secret not in result.out + result.err
    assert PASSWORD not in result.out + result.err
    doc = json.loads(result.out)
    assert doc["settings"]["service_principal_secret"] == "[REDACTED]"
    assert doc["settings"]["proxy_effective"]["source"] == "--proxy"


def test_check_secret_from_file_and_env(run_cli: Any, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret"
    path.write_text("File-SP-Secret~1.x\n")
    result = run_cli("check", "--only", "privilege", "-f", "json", "--agent-dir", str(tmp_path),
                     "--service-principal-secret-file", str(path))
    assert json.loads(result.out)["settings"]["service_principal_secret"] == "[REDACTED]"
    assert "File-SP-Secret~1.x" not in result.out
    monkeypatch.setenv("ARC_PREFLIGHT_SP_SECRET", "Env-SP-Secret~2.x")
    result = run_cli("check", "--only", "privilege", "-f", "json", "--agent-dir", str(tmp_path))
    assert json.loads(result.out)["settings"]["service_principal_secret"] == "[REDACTED]"
    assert "Env-SP-Secret~2.x" not in result.out


def test_check_only_privilege_table(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path))
    assert result.code in (0, 1)
    assert "This host" in result.out
    assert f"exit code {result.code}" in result.out
    assert "\x1b[" not in result.out, "no colour when stdout is not a terminal"


def test_check_output_file(run_cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run_cli("check", "--only", "privilege", "-f", "json", "-o", str(target),
                     "--agent-dir", str(tmp_path))
    assert result.out == ""
    assert json.loads(target.read_text())["exit_code"] == result.code


def test_check_config_file_settings(run_cli: Any, tmp_path: Path) -> None:
    conf = tmp_path / "arc.toml"
    conf.write_text(f'[check]\nonly = ["privilege"]\nformat = "json"\nlocation = "westeurope"\n'
                    f'agent-dir = {json.dumps(str(tmp_path))}\n')
    result = run_cli("check", "--config", str(conf), "--location", "eastus")
    doc = json.loads(result.out)
    assert doc["settings"]["location"] == "eastus", "a flag beats the file"
    assert doc["settings"]["only"] == ["privilege"]


def test_check_malformed_agent_localconfig_is_a_finding(run_cli: Any, tmp_path: Path) -> None:
    """A damaged agent file is something to report, not a reason to stop the run."""
    (tmp_path / "localconfig.json").write_text("{not json")
    result = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path))
    assert result.code in (0, 1) and result.err == ""
    result = run_cli("check", "--only", "proxy", "--agent-dir", str(tmp_path), "--format",
                     "json")
    data = json.loads(result.out)
    config = next(c for c in data["checks"] if c["id"] == "proxy:config")
    assert config["status"] == "fail" and config["code"] == "proxy.config_invalid"
    assert "localconfig.json" in config["summary"]
    assert result.code == 2


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this platform")
@pytest.mark.parametrize("flag, needle", [("--config", "regular file"),
                                          ("--service-principal-secret-file", "regular file")])
def test_endless_input_files_are_refused_not_read_for_ever(run_cli: Any, flag: str,
                                                           needle: str) -> None:
    result = run_cli("check", "--only", "privilege", flag, "/dev/zero")
    assert_one_line_error(result)
    assert needle in result.err


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero on this platform")
def test_endless_state_file_is_a_warning(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("check", "--only", "privilege", "--agent-dir", str(tmp_path),
                     "--state", "/dev/zero", "--format", "json")
    # A device as --state is refused up front (issue 13): only a regular file holds state.
    assert result.code == 3
    assert "regular file" in result.err and "Traceback" not in result.err
