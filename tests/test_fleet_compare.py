"""``arc-preflight compare``: what differs between a server that works and one that does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
from fleet_helpers import sample, with_host, write
from test_fleet_report import SCHEMA

from arc_preflight.errors import UserError
from arc_preflight.fleet.compare import compare, read_report
from arc_preflight.render import compare_fmt


def _pair(a: str, b: str) -> Any:
    return compare(with_host(sample(a), "good"), with_host(sample(b), "bad"), "good.json",
                   "bad.json")


def _by(result: Any, section: str) -> Dict[str, Any]:
    return {d.item: (d.a, d.b) for d in result.section(section)}


def test_the_same_report_twice_has_no_difference() -> None:
    result = compare(sample("drop-443"), sample("drop-443"))
    assert result.differences == () and result.exit_code == 0
    assert dict(result.compared)["checks"] == len(sample("drop-443")["checks"])


def test_dns_answers_differ() -> None:
    result = _pair("healthy", "nxdomain-login")
    dns = _by(result, "dns")
    assert dns["dns:login.microsoftonline.com"] == ("127.0.1.1", "FAIL dns.nxdomain")
    assert "dns:management.azure.com" not in dns  # same answer on both: not a difference


def test_route_and_proxy_differ() -> None:
    result = _pair("healthy", "proxy-auth")
    route = _by(result, "route")
    assert route["management.azure.com"] == ("direct (--no-proxy)", "proxy (--proxy)")
    settings = _by(result, "settings")
    assert settings["proxy in use"][1].startswith("http://127.0.0.1:3128")


def test_tls_version_and_issuer_differ() -> None:
    tls = _by(_pair("healthy", "foreign-ca"), "tls")
    good, bad = tls["management.azure.com"]
    assert good == "TLSv1.3, issuer arc-preflight lab CA"
    assert bad.startswith("FAIL tls.untrusted") and "Contoso TLS Inspection CA" in bad


def test_clock_agent_checks_and_diagnoses() -> None:
    a, b = with_host(sample("healthy"), "good"), with_host(sample("drop-443"), "bad")
    clock = next(c for c in b["checks"] if c["id"] == "clock")
    clock.update(status="fail", code="clock.skew_large", facts={"skew_s": 612.4})
    agent = next(c for c in b["checks"] if c["id"] == "agent")
    agent["facts"].update(installed=True, version="1.45.02", status="Disconnected")
    result = compare(a, b)
    clock_diff = _by(result, "clock")["offset from Azure"]
    assert clock_diff[1] == "+612.4 s (FAIL clock.skew_large)"
    agent_diff = _by(result, "agent")
    assert agent_diff["agent version"] == ("-", "1.45.02")
    assert agent_diff["agent state"] == ("-", "Disconnected")
    checks = _by(result, "checks")
    assert checks["tcp:management.azure.com:443"] == ("PASS", "FAIL tcp.timeout")
    diagnoses = _by(result, "diagnoses")
    assert diagnoses["arm_blocked"][0] == "-"
    assert diagnoses["arm_blocked"][1].startswith("FAIL A proxy or firewall blocks")


def test_small_clock_jitter_is_not_a_difference() -> None:
    a, b = sample("healthy"), sample("healthy")
    next(c for c in b["checks"] if c["id"] == "clock")["facts"]["skew_s"] = 1.1
    assert compare(a, b).section("clock") == ()


def test_formats(tmp_path: Path) -> None:
    import jsonschema

    result = _pair("healthy", "drop-443")
    doc = json.loads(compare_fmt.render_json(result))
    jsonschema.validate(doc, {**SCHEMA["$defs"]["comparison"], "$defs": SCHEMA["$defs"]})
    assert doc["differs"] is True and doc["exit_code"] == 1
    table = compare_fmt.render_table(result, width=100)
    assert "Checks whose status differs" in table and "tcp.timeout" in table
    assert max(len(line) for line in table.splitlines()) <= 100
    markdown = compare_fmt.render_markdown(result)
    assert "| tcp:management.azure.com:443 | PASS | FAIL tcp.timeout |" in markdown
    assert "### Clock" in markdown or "### Clock: same" in markdown


def test_hostile_values_are_escaped_in_markdown() -> None:
    a, b = sample("healthy"), sample("healthy")
    b["checks"][0]["status"] = "fail"
    b["checks"][0]["code"] = "x|y`z"
    markdown = compare_fmt.render_markdown(compare(a, b))
    assert "x\\|y\\`z" in markdown


def test_cli_compare(run_cli: Any, tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", with_host(sample("healthy"), "good"))
    bad = write(tmp_path, "bad.json", with_host(sample("proxy-auth"), "bad"))
    run = run_cli("compare", str(good), str(bad))
    assert run.code == 1 and "Route and proxy" in run.out
    run = run_cli("compare", str(good), str(good), "--format", "json")
    assert run.code == 0 and json.loads(run.out)["differs"] is False
    run = run_cli("compare", str(good), "-", "-f", "markdown",
                  stdin=json.dumps(with_host(sample("healthy"), "other")))
    assert run.code == 0, run.err


@pytest.mark.parametrize(("content", "message"), [
    (b"not json", "not JSON"),
    (b"[" * 50_000, "nested too deeply"),
    (b'{"schema": "arc-preflight/9"}', "schema arc-preflight/9"),
    (b"{}", "schema none"),
])
def test_cli_bad_report_is_one_line_exit_3(run_cli: Any, tmp_path: Path, content: bytes,
                                           message: str) -> None:
    good = write(tmp_path, "good.json", sample("healthy"))
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    run = run_cli("compare", str(good), str(bad))
    assert run.code == 3
    assert message in run.err and len(run.err.strip().splitlines()) == 1


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot open"):
        read_report(str(tmp_path / "nope.json"))
    with pytest.raises(UserError, match="not a regular file"):
        read_report(str(tmp_path))
