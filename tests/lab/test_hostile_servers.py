"""Hostile servers in the lab (issue 13, items 1, 2, 3 and 4): HIMDS, Azure IMDS, a proxy and an
endpoint that answer as an attacker or a broken device would, a DNS server with no route to it
and a systemctl that hangs. Each run of ``check`` must end within ``--deadline`` + 0.5 s, stay
under 100 MB, and name what happened with its own code.

Everything runs inside the lab's loopback-only namespace; the servers bind loopback or lab
addresses only, and the unreachable DNS server is a documentation address with no route."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from .netlab import AZURE_IMDS_IP, HIMDS_PORT, PROXY_FROM_ENVIRONMENT, Lab, _check_bind_address
from .test_scenarios import agent_dir

pytestmark = pytest.mark.lab

HOSTILE = Path(__file__).resolve().with_name("hostile_standin.py")
DEADLINE = 4.0
TIMEOUT = 3.0
MAX_RSS_KB = 100 * 1024
SLACK = 0.5
ARM = "management.azure.com"
ENDPOINT_IP = "127.0.1.9"
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[32mOK\x1b[0m"
QUADRATIC = "a-" * 30000

MEASURE = r"""
import json, resource, subprocess, sys, time
started = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
wall = time.monotonic() - started
print(json.dumps({"rc": proc.returncode, "wall": wall, "out": proc.stdout, "err": proc.stderr,
                  "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

MEASURED: List[str] = []


def hostile(lab: Lab, name: str, mode: str, bind: str, port: int, **options: str) -> None:
    _check_bind_address(bind)
    lab.add_address(bind)
    ready = Path(lab.workdir) / f"{name}.ready"
    argv = [sys.executable, str(HOSTILE), "--mode", mode, "--bind", bind, "--port", str(port),
            "--ready-file", str(ready)]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", value]
    lab._spawn(name, argv, ready_file=ready, ip=bind, port=port, timeout=30)


def measure(lab: Lab, *args: str, env: Optional[Dict[str, Optional[str]]] = None,
            proxy: Optional[str] = None, label: str = "") -> Dict[str, Any]:
    script = Path(sys.executable).with_name("arc-preflight")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "arc_preflight"]
    argv = lab.check_argv("--deadline", f"{DEADLINE:g}", *args, timeout=TIMEOUT, proxy=proxy)
    proc = lab.python(MEASURE, *cli, *argv, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    run["data"] = json.loads(run["out"]) if run["out"].strip().startswith("{") else None
    MEASURED.append(f"{label}: {run['wall']:.2f} s, {run['rss_kb'] / 1024:.1f} MB")
    print(MEASURED[-1])
    assert run["wall"] <= DEADLINE + SLACK, (label, run["wall"], run["err"][-2000:])
    assert run["rss_kb"] < MAX_RSS_KB, (label, run["rss_kb"])
    assert "Traceback" not in run["err"], run["err"][-3000:]
    assert run["data"] is not None, run["err"][-2000:]
    return run


def check(run: Dict[str, Any], check_id: str) -> Dict[str, Any]:
    found = [c for c in run["data"]["checks"] if c["id"] == check_id]
    assert found, [c["id"] for c in run["data"]["checks"]]
    return found[0]


def himds_run(lab: Lab, mode: str, label: str, **options: str) -> Dict[str, Any]:
    hostile(lab, "himds", mode, "127.0.0.1", HIMDS_PORT, **options)
    return measure(lab, "--only", "himds", "--himds-url", lab.himds_url,
                   "--agent-dir", agent_dir(lab), label=f"himds {label}")


@pytest.mark.parametrize("mode, code", [
    ("chunked-endless", "himds.oversized"),
    ("huge-body", "himds.oversized"),
    ("gzip-bomb", "himds.oversized"),
    ("long-header", "himds.oversized"),
    ("deep-json", "himds.bad_response"),
])
def test_hostile_himds_is_a_bad_answer_within_the_deadline(lab: Lab, mode: str,
                                                           code: str) -> None:
    run = himds_run(lab, mode, mode)
    row = check(run, "himds")
    assert row["status"] == "fail" and row["code"] == code, row
    assert "RecursionError" not in row["summary"] and "nothing listening" not in row["summary"]
    if code == "himds.oversized":
        assert any(d["cause_id"] == "himds_port_squatted" for d in run["data"]["diagnoses"])


def test_himds_long_header_before_installation_is_not_nothing_listening(lab: Lab) -> None:
    hostile(lab, "himds", "long-header", "127.0.0.1", HIMDS_PORT)
    empty = Path(lab.workdir) / "no-agent"
    empty.mkdir()
    empty.chmod(0o755)
    run = measure(lab, "--only", "himds", "--himds-url", lab.himds_url, "--agent-dir",
                  str(empty), label="himds long-header, agent not installed")
    row = check(run, "himds")
    assert row["code"] == "himds.oversized" and "nothing listening" not in row["summary"]


def test_himds_values_with_escapes_and_quadratic_text(lab: Lab) -> None:
    body = json.dumps({"compute": {"name": ESCAPES, "resourceId": QUADRATIC + ESCAPES,
                                   "location": "a://" * 20000}})
    body_file = Path(lab.workdir) / "himds-body.json"
    body_file.write_text(body)
    body_file.chmod(0o644)
    run = himds_run(lab, "json", "escapes and a-a-a resourceId", body_file=str(body_file))
    row = check(run, "himds")
    assert row["status"] == "pass"
    shown = json.dumps(run["data"], ensure_ascii=False)
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\\\x1b" in shown  # made visible: a backslash, then x1b
    assert len(row["summary"]) < 2000  # bounded before it is processed or shown
    table = lab.cli("check", "--only", "himds", "--himds-url", lab.himds_url, "--agent-dir",
                    agent_dir(lab), "--format", "table", "--timeout", "3", "--no-proxy",
                    timeout=60)
    assert "\x1b]0;" not in table.stdout and "\x1b[2J" not in table.stdout


@pytest.mark.parametrize("mode", ["gzip-bomb", "chunked-endless"])
def test_hostile_azure_imds_costs_no_memory(lab: Lab, mode: str) -> None:
    hostile(lab, "imds", mode, AZURE_IMDS_IP, 80)
    run = measure(lab, "--only", "imds", "--imds-url",
                  f"http://{AZURE_IMDS_IP}/metadata/instance?api-version=2021-02-01",
                  label=f"imds {mode}")
    row = check(run, "imds")
    assert row["status"] == "pass" and "not an Azure VM" in row["summary"]


def proxy_run(lab: Lab, label: str, mode: str, **options: str) -> Dict[str, Any]:
    hostile(lab, "proxy", mode, "127.0.0.1", 3128, **options)
    return measure(lab, "--only", "proxy", "--only", "tls", "--location", "eastus",
                   proxy="http://127.0.0.1:3128", label=f"proxy {label}")


def tls_rows(run: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [c for c in run["data"]["checks"] if c["probe"] == "tls"]


def test_proxy_reason_phrase_of_a_a_a_does_not_blow_the_deadline(lab: Lab) -> None:
    run = proxy_run(lab, "403 + 30,000 'a-' pairs", "status",
                    status_line="HTTP/1.1 403 " + QUADRATIC)
    rows = tls_rows(run)
    assert rows and all(r["code"] == "proxy.denied" for r in rows), rows[:2]
    assert all(len(r["summary"]) < 1000 for r in rows)


def test_proxy_reason_phrase_escapes_are_visible(lab: Lab) -> None:
    run = proxy_run(lab, "403 with escapes", "status",
                    status_line="HTTP/1.1 403 " + ESCAPES)
    shown = json.dumps(run["data"], ensure_ascii=False)
    assert "\x1b" not in shown and "\\\\x1b" in shown
    import xml.etree.ElementTree as ET

    argv = lab.check_argv("--only", "proxy", "--only", "tls", "--location", "eastus",
                          timeout=TIMEOUT, proxy="http://127.0.0.1:3128")
    argv[argv.index("--format") + 1] = "junit"
    out = lab.cli(*argv, timeout=60).stdout
    ET.fromstring(out.split("\n", 1)[1])  # well-formed


def test_proxy_sending_endless_header_bytes_is_no_tunnel(lab: Lab) -> None:
    run = proxy_run(lab, "endless header", "endless-header")
    rows = tls_rows(run)
    assert rows and all(r["code"] == "proxy.oversized_answer" for r in rows), rows[:2]
    assert any(d["cause_id"] == "proxy_oversized_answer" for d in run["data"]["diagnoses"])


def test_endpoint_with_a_100_kb_header_line_is_a_malformed_answer(lab: Lab) -> None:
    chain, key = lab.issue_cert([ARM, ENDPOINT_IP], tag="hostile-arm")
    hostile(lab, "arm", "long-header", ENDPOINT_IP, 443, cert=str(chain), key=str(key))
    lab.dns({ARM: ENDPOINT_IP})
    run = measure(lab, "--only", "https", "--location", "eastus",
                  label="endpoint 100 KB header line")
    row = check(run, f"https:{ARM}:443")
    assert row["code"] == "https.bad_answer", row
    assert "reset" not in row["summary"]


def test_no_route_to_the_dns_server_is_a_network_problem(lab: Lab) -> None:
    run = measure(lab, "--only", "dns", "--location", "eastus", "--dns-server", "192.0.2.53",
                  label="DNS server unreachable")
    rows = [c for c in run["data"]["checks"] if c["probe"] == "dns"]
    assert rows and all(r["code"] == "dns.server_unreachable" for r in rows), [
        (r["code"], r["summary"]) for r in rows[:2]]
    causes = {d["cause_id"]: d for d in run["data"]["diagnoses"]}
    assert "dns_server_unreachable" in causes and "dns_server_failure" not in causes
    assert causes["dns_server_unreachable"]["category"] == "network_unreachable"


def test_a_hanging_systemctl_cannot_stretch_the_deadline(lab: Lab) -> None:
    bindir = Path(lab.workdir) / "hangbin"
    bindir.mkdir()
    fake = bindir / "systemctl"
    fake.write_text("#!/bin/sh\nsleep 60 &\nexec sleep 60\n")
    fake.chmod(0o755)
    bindir.chmod(0o755)
    env: Dict[str, Optional[str]] = {"PATH": f"{bindir}:/usr/bin:/bin"}
    run = measure(lab, "--only", "proxy", "--only", "clock", "--only", "service",
                  "--agent-dir", agent_dir(lab), env=env, proxy=PROXY_FROM_ENVIRONMENT,
                  label="systemctl hangs")
    assert run["data"]["status"] in ("unknown", "warn", "fail", "pass")
