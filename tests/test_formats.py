"""Monitoring formats (prometheus, nagios, junit, markdown) from hand-built reports, and the
``check`` flags a scheduler relies on (--format, --output, --fail-on, --quiet, --syslog).

Reports are built by hand, so every renderer is tested without probing anything; the CLI runs
only ``--only privilege`` or ``--only agent`` with a stand-in ``azcmagent`` script (no network).
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from factories import diagnosis, report, result

from arc_preflight import render
from arc_preflight.model import Change, Report
from arc_preflight.redact import register_secret

SECRET = "Zq8~fmtSecretValue-7731"
ALL_FORMATS = ("table", "json", "prometheus", "nagios", "junit", "markdown")


MIXED = report(
    checks=(
        result("privilege", "pass", "running as root"),
        result("dns:login.microsoftonline.com", "fail", "NXDOMAIN", code="dns.nxdomain",
               target="login.microsoftonline.com", duration_ms=31),
        result("tcp:login.microsoftonline.com:443", "skip", "not run: dns failed",
               blocked_by="dns:login.microsoftonline.com"),
        result("tls:management.azure.com:443", "warn", "issuer unexpected",
               code="tls.unexpected_issuer"),
        result("himds", "error", "probe crashed: boom", code="probe.crashed"),
    ),
    diagnoses=(diagnosis(checks=("dns:login.microsoftonline.com",)),),
    changes=(Change("dns:login.microsoftonline.com", "new_failure", "pass", "fail",
                    "2026-01-01T00:00:00Z"),),
    profile="health",
)
ALL_PASS = report(checks=(result("privilege", "pass", "running as root"),
                          result("dns:management.azure.com", "pass", "resolves")),
                  profile="health")
WARN_ONLY = report(checks=(result("privilege", "warn", "not root", code="privilege.not_admin"),),
                   diagnoses=(diagnosis("Not running as administrator or root", severity="warn",
                                        category="not_admin",
                                        evidence=("privilege: not root",)),),
                   profile="health")


# --------------------------------------------------------------------------------------------
# prometheus


def families(text: str) -> Dict[str, Any]:
    parser = pytest.importorskip("prometheus_client.parser")
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def test_prometheus_parses_and_has_one_status_sample_per_check() -> None:
    text = render.get("prometheus")(MIXED, now=1767225600.0)
    found = families(text)
    status = found["arc_preflight_check_status"]
    assert status.type == "gauge"
    samples = {s.labels["check"]: s for s in status.samples}
    assert len(status.samples) == len(MIXED.checks) == len(samples)
    for check in MIXED.checks:
        sample = samples[check.id]
        assert sample.labels["probe"] == check.probe
        assert sample.labels["target"] == check.target
        assert sample.labels["status"] == check.status.value
    values = {check_id: s.value for check_id, s in samples.items()}
    assert values == {"privilege": 0, "dns:login.microsoftonline.com": 2,
                      "tcp:login.microsoftonline.com:443": -1,
                      "tls:management.azure.com:443": 1, "himds": 3}


def test_prometheus_durations_run_and_counts() -> None:
    found = families(render.get("prometheus")(MIXED, now=1767225600.0))
    durations = {s.labels["check"]: s.value
                 for s in found["arc_preflight_check_duration_seconds"].samples}
    assert durations["dns:login.microsoftonline.com"] == pytest.approx(0.031)
    assert len(durations) == len(MIXED.checks)
    assert found["arc_preflight_run_status"].samples[0].value == 2
    assert found["arc_preflight_run_duration_seconds"].samples[0].value == pytest.approx(1.234)
    assert found["arc_preflight_run_timestamp_seconds"].samples[0].value == 1767225600
    counts = {s.labels["status"]: s.value for s in found["arc_preflight_checks"].samples}
    assert counts == {"pass": 1, "skip": 1, "warn": 1, "fail": 1, "error": 1}
    changes = {s.labels["kind"]: s.value for s in found["arc_preflight_changes"].samples}
    assert changes["new_failure"] == 1 and changes["recovered"] == 0
    diagnoses = {s.labels["category"]: s.value
                 for s in found["arc_preflight_diagnoses"].samples}
    assert diagnoses == {"dns_failure": 1}


@pytest.mark.parametrize(("subject", "expected"), [(ALL_PASS, 0), (WARN_ONLY, 1)])
def test_prometheus_run_status(subject: Report, expected: int) -> None:
    found = families(render.get("prometheus")(subject))
    assert found["arc_preflight_run_status"].samples[0].value == expected
    stamp = found["arc_preflight_run_timestamp_seconds"].samples[0].value
    assert stamp > 1.7e9  # now defaults to the current time


def test_prometheus_label_escaping() -> None:
    nasty = 'evil "quoted" back\\slash\nnewline:443'
    subject = report(checks=(result("tcp:evil:443", "fail", "x", code="tcp.refused",
                                    target=nasty),), profile="health")
    text = render.get("prometheus")(subject)
    for line in text.splitlines():  # every sample on one line, nothing torn by the newline
        assert line.startswith(("#", "arc_preflight_")), line
    found = families(text)
    for name in ("arc_preflight_check_status", "arc_preflight_check_duration_seconds"):
        assert found[name].samples[0].labels["target"] == nasty


def test_prometheus_empty_report_still_parses() -> None:
    found = families(render.get("prometheus")(report(checks=(), profile="health")))
    assert found["arc_preflight_check_status"].samples == []
    assert found["arc_preflight_run_status"].samples[0].value == 0


# --------------------------------------------------------------------------------------------
# nagios

_PERF = re.compile(r"^(?P<label>'[^']+'|[^'=\s]+)=(?P<value>-?\d+(?:\.\d+)?)(?P<uom>[a-zA-Z%]*)"
                   r"(?P<rest>(?:;[-~:@0-9.]*){0,4})$")


def perfdata(line: str) -> Dict[str, Tuple[float, str, List[str]]]:
    """label -> (value, unit, [warn, crit, min, max]) per the plugin development guidelines."""
    assert line.count(" | ") == 1, line
    parsed = {}
    for item in line.split(" | ", 1)[1].split():
        match = _PERF.match(item)
        assert match, f"bad perfdata item {item!r}"
        fields = match.group("rest").split(";")[1:]
        parsed[match.group("label").strip("'")] = (float(match.group("value")),
                                                   match.group("uom"), fields)
    return parsed


def nagios_alerts(value: float, threshold: str) -> bool:
    """Does ``value`` violate a Nagios range (``10``, ``10:``, ``~:10``, ``10:20``, ``@10:20``)?"""
    if not threshold:
        return False
    inside = threshold.startswith("@")
    spec = threshold.lstrip("@")
    low_text, _, high_text = spec.rpartition(":") if ":" in spec else ("0", "", spec)
    low = -math.inf if low_text == "~" else float(low_text or 0)
    high = math.inf if high_text == "" else float(high_text)
    outside = value < low or value > high
    return not outside if inside else outside


@pytest.mark.parametrize(("subject", "word", "code"), [
    (ALL_PASS, "OK", 0), (WARN_ONLY, "WARNING", 1), (MIXED, "CRITICAL", 2),
    (report(WARN_ONLY.checks, WARN_ONLY.diagnoses, fail_on="fail", profile="health"), "OK", 0)])
def test_nagios_status_line_matches_exit_code(subject: Report, word: str, code: int) -> None:
    text = render.get("nagios")(subject)
    first = text.splitlines()[0]
    assert subject.exit_code == code
    assert re.match(rf"^ARC-PREFLIGHT {word} - \S.* \| \S", first), first
    perf = perfdata(first)
    assert perf["checks"][0] == len(subject.checks)
    assert perf["duration"][1] == "s"
    assert perf["duration"][0] == pytest.approx(subject.duration_s, abs=0.01)
    for _label, (_value, _unit, fields) in perf.items():
        assert len(fields) <= 4


def test_nagios_details_and_counts() -> None:
    lines = render.get("nagios")(MIXED).splitlines()
    perf = perfdata(lines[0])
    assert perf["failed"][0] == 2  # fail + error
    assert perf["warnings"][0] == 1
    assert perf["skipped"][0] == 1
    assert perf["changes"][0] == 1
    assert "An endpoint name does not resolve (dns_failure)" in lines[0]
    assert any(line.startswith("[FAIL] An endpoint name does not resolve") for line in lines)
    assert "  fix: Fix the DNS forwarders." in lines
    assert ("changed: dns:login.microsoftonline.com pass -> fail (new_failure)") in lines


def test_nagios_all_pass_text() -> None:
    first = render.get("nagios")(ALL_PASS).splitlines()[0]
    assert first.startswith("ARC-PREFLIGHT OK - all 2 checks passed | ")


def test_nagios_perfdata_thresholds_agree_with_state() -> None:
    one_fail = report(checks=(result("dns:a", "fail", code="dns.nxdomain"),),
                      diagnoses=(diagnosis(),), profile="health")
    perf = perfdata(render.get("nagios")(one_fail).splitlines()[0])
    value, _, fields = perf["failed"]
    assert nagios_alerts(value, fields[1])
    perf = perfdata(render.get("nagios")(WARN_ONLY).splitlines()[0])
    value, _, fields = perf["warnings"]
    assert nagios_alerts(value, fields[0])


def test_nagios_text_without_diagnosis_does_not_claim_success() -> None:
    subject = report(checks=(result("clock", "warn", "clock is 200 s ahead"),), profile="health")
    first = render.get("nagios")(subject).splitlines()[0]
    assert first.startswith("ARC-PREFLIGHT WARNING - ")
    assert "checks passed" not in first.split(" | ")[0]


def test_nagios_ok_by_range_semantics_for_all_pass() -> None:
    perf = perfdata(render.get("nagios")(ALL_PASS).splitlines()[0])
    for label in ("failed", "warnings"):
        value, _, fields = perf[label]
        assert not any(nagios_alerts(value, t) for t in fields[:2])


# --------------------------------------------------------------------------------------------
# junit


def junit(subject: Report) -> ET.Element:
    text = render.get("junit")(subject)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode("utf-8"))


def test_junit_counts_and_elements() -> None:
    suite = junit(MIXED)
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "-1")) == len(MIXED.checks)
    failures = [c for c in cases if c.find("failure") is not None]
    errors = [c for c in cases if c.find("error") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert len(failures) == int(suite.get("failures", "-1"))
    assert len(errors) == int(suite.get("errors", "-1"))
    assert len(skipped) == int(suite.get("skipped", "-1"))
    by_name = {c.get("name"): c for c in cases}
    assert by_name["privilege"].find("*") is None
    failure = by_name["dns:login.microsoftonline.com"].find("failure")
    assert failure is not None and failure.get("type") == "dns.nxdomain"
    assert "An endpoint name does not resolve" in (failure.text or "")
    assert "Fix the DNS forwarders." in (failure.text or "")
    # A warning is not a JUnit failure (the table does not count it as one either): the
    # testcase passes and says WARN in its output.
    warned = by_name["tls:management.azure.com:443"]
    assert warned.find("failure") is None and warned.find("error") is None
    out = warned.find("system-out")
    assert out is not None and (out.text or "").startswith("WARN [tls.unexpected_issuer]")
    assert suite.get("failures") == "1"
    error = by_name["himds"].find("error")
    assert error is not None and error.get("type") == "probe.crashed"
    assert by_name["tcp:login.microsoftonline.com:443"].find("skipped") is not None
    assert by_name["dns:login.microsoftonline.com"].get("time") == "0.031"
    assert by_name["dns:login.microsoftonline.com"].get("classname") == "arc_preflight.dns"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["status"] == "fail" and props["profile"] == "health"


def test_junit_all_pass() -> None:
    suite = junit(ALL_PASS)
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert all(len(list(c)) == 0 for c in suite.findall("testcase"))


def test_junit_escapes_markup_in_summaries() -> None:
    subject = report(checks=(result("https:a:443", "fail", '<b>"&amp;</b> ]]>',
                                    code="https.error"),), profile="health")
    failure = junit(subject).find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == '<b>"&amp;</b> ]]>'


# --------------------------------------------------------------------------------------------
# markdown


def test_markdown_sections_diagnosis_and_remedy() -> None:
    text = render.get("markdown")(MIXED)
    lines = text.splitlines()
    assert lines[0] == "## arc-preflight: FAIL on web01"
    assert "### What is wrong" in lines
    assert "### Changes since the last run" in lines
    assert "### Checks" in lines
    assert any("**An endpoint name does not resolve** `dns_failure` (AZCM0026)" in line
               for line in lines)
    assert "   - Fix the DNS forwarders." in lines
    assert "   - Flush the resolver cache." in lines
    assert "exit code 2" in text
    assert "| `dns:login.microsoftonline.com` | pass | fail | new_failure |" in lines


def _cells(row: str) -> List[str]:
    """Split a GFM table row on unescaped pipes."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_escapes_pipes_in_cells() -> None:
    subject = report(checks=(result("https:a:443", "fail", "HTTP 403 | body: a|b\nsecond line",
                                    code="https.error"),),
                     diagnoses=(diagnosis(title="Blocked | by proxy",
                                          evidence=("https:a:443: got a|b",)),),
                     profile="health")
    text = render.get("markdown")(subject)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows
    for row in rows:
        assert len(_cells(row)) in (3, 4), row
    check_row = next(r for r in rows if "https:a:443" in r)
    assert "HTTP 403 \\| body: a\\|b second line" in check_row
    assert "**Blocked \\| by proxy**" in text


def test_markdown_no_problem() -> None:
    text = render.get("markdown")(ALL_PASS)
    assert "No problem found." in text
    assert "### What is wrong" not in text
    assert "### Changes since the last run" not in text


# --------------------------------------------------------------------------------------------
# secrets never reach any format


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_registered_secret_in_no_format(fmt: str) -> None:
    register_secret(SECRET)
    subject = report(
        checks=(result("https:login.microsoftonline.com:443", "fail",
                       f"sign-in failed for secret {SECRET} (HTTP 401)",
                       code="auth.invalid_secret"),
                result("proxy", "warn", f"proxy http://user:{SECRET}@proxy:3128 refused",
                       code="proxy.denied")),
        diagnoses=(diagnosis(evidence=(f"https:login.microsoftonline.com:443: secret {SECRET}",
                                       f"azcmagent.log:3: --service-principal-secret {SECRET}")),),
        notices=(f"state file /x/{SECRET} unreadable",),
        profile="health")
    text = render.get(fmt)(subject)
    assert SECRET not in text
    assert "[REDACTED]" in text or fmt == "prometheus"


# --------------------------------------------------------------------------------------------
# through the CLI (no network)


def privilege_argv(tmp_path: Path, *extra: str) -> List[str]:
    return ["check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"), *extra]


def fake_agent(tmp_path: Path, show: Dict[str, Any]) -> List[str]:
    """``--only agent`` arguments with a stand-in azcmagent printing ``show`` (no network)."""
    folder = tmp_path / "agent"
    folder.mkdir(exist_ok=True)
    (folder / "agentconfig.json").write_text(json.dumps({"cloud": "AzureCloud"}))
    (tmp_path / "show.json").write_text(json.dumps(show))
    script = tmp_path / "azcmagent"
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'show.json'}'\n")
    script.chmod(0o755)
    return ["check", "--only", "agent", "--profile", "health", "--azcmagent", str(script),
            "--agent-dir", str(folder)]


@pytest.mark.parametrize("fmt", ["prometheus", "nagios", "junit", "markdown", "json", "table"])
def test_cli_format_to_output_file(run_cli: Any, tmp_path: Path, elevated: Any,
                                   fmt: str) -> None:
    target = tmp_path / f"out.{fmt}"
    run = run_cli(*privilege_argv(tmp_path, "--format", fmt, "--output", str(target)))
    assert run.code == 0, run.err
    assert run.out == ""
    assert run.err == ""
    text = target.read_text()
    assert text
    if fmt == "prometheus":
        found = families(text)
        assert [s.labels["check"] for s in found["arc_preflight_check_status"].samples] == [
            "privilege"]
    elif fmt == "nagios":
        assert text.startswith("ARC-PREFLIGHT OK - ")
        perfdata(text.splitlines()[0])
    elif fmt == "junit":
        assert ET.fromstring(text.encode()).get("tests") == "1"
    elif fmt == "markdown":
        assert text.startswith("## arc-preflight: PASS")
    elif fmt == "json":
        assert json.loads(text)["checks"][0]["id"] == "privilege"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("fmt", ["prometheus", "nagios", "junit", "markdown"])
def test_cli_format_to_stdout_warning(run_cli: Any, tmp_path: Path, elevated: Any,
                                      fmt: str) -> None:
    elevated(False)
    run = run_cli(*privilege_argv(tmp_path, "-f", fmt))
    assert run.code == 1
    assert "privilege" in run.out
    if fmt == "nagios":
        assert run.out.startswith("ARC-PREFLIGHT WARNING - ")


def test_cli_fail_on_fail_with_warning_only(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    elevated(False)
    run = run_cli(*privilege_argv(tmp_path, "-f", "json", "--fail-on", "fail"))
    assert run.code == 0
    doc = json.loads(run.out)
    assert doc["status"] == "warn" and doc["exit_code"] == 0
    nagios = run_cli(*privilege_argv(tmp_path, "-f", "nagios", "--fail-on", "fail"))
    assert nagios.code == 0 and nagios.out.startswith("ARC-PREFLIGHT OK - ")


def test_cli_fail_on_fail_with_failure(run_cli: Any, tmp_path: Path) -> None:
    argv = fake_agent(tmp_path, {"status": "Disconnected", "agentVersion": "1.60",
                                 "resourceId": "/subscriptions/x/machines/web01"})
    run = run_cli(*argv, "-f", "json", "--fail-on", "fail")
    assert run.code == 2, run.err
    doc = json.loads(run.out)
    agent = next(c for c in doc["checks"] if c["id"] == "agent")
    assert agent["status"] == "fail" and agent["code"] == "agent.disconnected"
    assert doc["exit_code"] == 2


def test_cli_fail_on_from_config(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    elevated(False)
    conf = tmp_path / "c.toml"
    conf.write_text('fail_on = "fail"\n')
    assert run_cli(*privilege_argv(tmp_path, "--config", str(conf))).code == 0


@pytest.mark.parametrize("argv", [["--fail-on", "bogus"], ["--profile", "bogus"],
                                  ["--format", "bogus"], ["--syslog"]])
def test_cli_bad_schedule_flags_are_one_line_exit_3(run_cli: Any, tmp_path: Path,
                                                    argv: List[str]) -> None:
    run = run_cli(*privilege_argv(tmp_path, *argv))
    assert run.code == 3
    assert run.out == ""
    assert "Traceback" not in run.err
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("arc-preflight: error:"), lines


def test_cli_syslog_without_state_names_state(run_cli: Any, tmp_path: Path) -> None:
    run = run_cli(*privilege_argv(tmp_path, "--syslog"))
    assert run.code == 3 and "--state" in run.err


def test_cli_quiet_all_pass_prints_nothing(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    for fmt in ("table", "json", "nagios"):
        run = run_cli(*privilege_argv(tmp_path, "--quiet", "-f", fmt))
        assert run.code == 0
        assert run.out == "" and run.err == ""


def test_cli_quiet_with_output_still_writes(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    target = tmp_path / "metrics.prom"
    run = run_cli(*privilege_argv(tmp_path, "-q", "-f", "prometheus", "-o", str(target)))
    assert run.code == 0 and run.out == ""
    assert "arc_preflight_run_status 0" in target.read_text()


def test_cli_quiet_prints_warnings(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    elevated(False)
    run = run_cli(*privilege_argv(tmp_path, "--quiet", "-f", "nagios"))
    assert run.code == 1
    assert run.out.startswith("ARC-PREFLIGHT WARNING - ")


def test_cli_quiet_prints_a_recovery(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    state_file = tmp_path / "state.json"
    elevated(False)
    run_cli(*privilege_argv(tmp_path, "-q", "--state", str(state_file)))
    elevated(True)
    run = run_cli(*privilege_argv(tmp_path, "-q", "-f", "json", "--state", str(state_file)))
    assert run.code == 0
    assert [c["kind"] for c in json.loads(run.out)["changes"]] == ["recovered"]
    quiet_again = run_cli(*privilege_argv(tmp_path, "-q", "-f", "json", "--state",
                                          str(state_file)))
    assert quiet_again.out == ""


def test_cli_profile_in_json(run_cli: Any, tmp_path: Path, elevated: Any) -> None:
    for profile in ("health", "preflight"):
        doc = json.loads(run_cli(*privilege_argv(tmp_path, "-f", "json", "--profile",
                                                 profile)).out)
        assert doc["profile"] == profile
