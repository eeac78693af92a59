"""Every documented network cause, produced for real in the lab, with the diagnosis asserted.

Each test breaks one thing in an otherwise healthy lab (every catalogue host served by a stand-in
with the lab CA, HIMDS answering), runs the CLI unchanged inside the namespace, validates its JSON
against the shipped schema, and checks both the failing check (status, failure code) and the
diagnosis (category, cause) that the admin would read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List

import jsonschema
import pytest

from .netlab import UNROUTABLE_IP, CliResult, Lab

pytestmark = pytest.mark.lab

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "arc_preflight" / "data" / "report.schema.json")
    .read_text(encoding="utf-8")
)
LOCATION = "eastus"
IDENTITY = ("login.microsoftonline.com", "login.windows.net")
LAB_ISSUER = "arc-preflight lab CA"  # the lab CA stands in for Microsoft's issuers


def agent_dir(lab: Lab) -> str:
    """A stand-in agent folder, so the CLI believes the agent is installed (HIMDS must answer)."""
    folder = Path(lab.workdir) / "agent"
    folder.mkdir(exist_ok=True)
    (folder / "agentconfig.json").write_text(json.dumps({"cloud": "AzureCloud"}))
    folder.chmod(0o755)
    return str(folder)


FAKE_SYSTEMCTL = r"""#!/bin/sh
# Stand-in for systemctl (the lab has no systemd, and must not touch the host's). It prints what
# real systemd prints for 'systemctl show UNIT.service -p LoadState,ActiveState,SubState,...':
#   active    ActiveState=active   SubState=running
#   inactive  ActiveState=inactive SubState=dead     (stopped)
#   disabled  ActiveState=inactive SubState=dead     UnitFileState=disabled (arcproxyd off)
#   failed    ActiveState=failed   SubState=failed   Result=exit-code
#   not-found LoadState=not-found  ActiveState=inactive SubState=dead UnitFileState=
# The state comes from $ARC_LAB_UNITS_DIR/UNIT ('active' when there is no file). A unit's
# Environment= property comes from $ARC_LAB_UNITS_DIR/UNIT.environment and 'show-environment'
# prints $ARC_LAB_UNITS_DIR/manager.environment: a system.conf.d DefaultEnvironment= is not a
# unit property, so 'show -p Environment' never shows it.
dir=$ARC_LAB_UNITS_DIR
if [ "$1" = show-environment ]; then
  if [ -f "$dir/manager.environment" ]; then cat "$dir/manager.environment"
  else printf 'LANG=C.UTF-8\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\n'; fi
  exit 0
fi
unit=$(printf '%s\n' "$@" | grep '\.service$' | head -n 1)
name=${unit%.service}
case " $* " in
  *" Environment "*|*" -pEnvironment "*|*"--property=Environment "*)
    value=
    [ -f "$dir/$name.environment" ] && value=$(cat "$dir/$name.environment")
    printf 'Environment=%s\n' "$value"; exit 0;;
esac
state=active
[ -f "$dir/$name" ] && state=$(cat "$dir/$name")
show() { printf 'LoadState=%s\nActiveState=%s\nSubState=%s\nUnitFileState=%s\n' "$@"; }
case "$state" in
  not-found) show not-found inactive dead '';;
  active) show loaded active running enabled;;
  inactive) show loaded inactive dead enabled;;
  disabled) show loaded inactive dead disabled;;
  failed) show loaded failed failed enabled; printf 'Result=exit-code\n';;
  *) show loaded "$state" "$state" enabled;;
esac
"""


FAKE_AZCMAGENT = """#!/bin/sh
# Stand-in for azcmagent: 'azcmagent show -j' prints $ARC_LAB_UNITS_DIR/show.json, or an agent
# that is installed and not yet connected.
if [ -f "$ARC_LAB_UNITS_DIR/show.json" ]; then cat "$ARC_LAB_UNITS_DIR/show.json"; exit 0; fi
echo '{"status": "Disconnected", "agentVersion": "1.60.02925.1722"}'
"""


def fake_systemd(lab: Lab, show: Dict[str, Any] | None = None, **states: str) -> Dict[str, str]:
    """Environment putting stand-in systemctl and azcmagent first on PATH.

    ``states`` gives unit states for systemctl; ``show`` what ``azcmagent show -j`` prints.
    """
    root = Path(lab.workdir)
    bindir, units = root / "fakebin", root / "units"
    bindir.mkdir(exist_ok=True)
    units.mkdir(exist_ok=True)
    for name, text in (("systemctl", FAKE_SYSTEMCTL), ("azcmagent", FAKE_AZCMAGENT)):
        script = bindir / name
        script.write_text(text)
        script.chmod(0o755)
    if show is not None:
        (units / "show.json").write_text(json.dumps(show))
    for unit, state in states.items():
        (units / unit).write_text(state)
    for path in (root, bindir, units):
        path.chmod(0o755)
    import os

    return {"PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "ARC_LAB_UNITS_DIR": str(units)}


def run(lab: Lab, *extra: str, user: str | None = None, timeout: float = 2.0,
        units: Dict[str, str] | None = None, show: Dict[str, Any] | None = None,
        env: Dict[str, str] | None = None, proxy: str | None = None) -> CliResult:
    argv = lab.check_argv("--location", LOCATION, "--himds-url", lab.himds_url,
                          "--agent-dir", agent_dir(lab), "--expected-issuer", LAB_ISSUER,
                          *extra, timeout=timeout, proxy=proxy)
    environment = {**fake_systemd(lab, show, **(units or {})), **(env or {})}
    proc = lab.cli(*argv, user=user, env=environment, timeout=60)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    result = CliResult(proc, data)
    assert result.data is not None, f"no JSON: rc={result.returncode} {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr
    jsonschema.validate(result.data, SCHEMA)
    assert result.data["exit_code"] == result.returncode
    return result


def checks(result: CliResult) -> Dict[str, Dict[str, Any]]:
    return {item["id"]: item for item in result.data["checks"]}


def categories(result: CliResult) -> List[str]:
    return [item["category"] for item in result.data["diagnoses"]]


def diagnosis(result: CliResult, category: str) -> Dict[str, Any]:
    found = [d for d in result.data["diagnoses"] if d["category"] == category]
    assert found, f"no {category} diagnosis in {categories(result)}"
    return found[0]


def endpoint_checks(result: CliResult, probe: str) -> List[Dict[str, Any]]:
    return [c for c in result.data["checks"] if c["probe"] == probe]


def test_healthy(healthy_lab: Lab) -> None:
    result = run(healthy_lab)
    by_id = checks(result)
    assert result.returncode == 0, result.data["diagnoses"]
    assert result.data["status"] == "pass"
    assert result.data["diagnoses"] == []
    for host in (*IDENTITY, "management.azure.com", "gbl.his.arc.azure.com",
                 "eus.his.arc.azure.com", "eastus-gas.guestconfiguration.azure.com",
                 "eastus.login.microsoft.com"):
        assert by_id[f"dns:{host}"]["status"] == "pass"
        assert by_id[f"tcp:{host}:443"]["status"] == "pass"
        tls = by_id[f"tls:{host}:443"]
        assert tls["status"] == "pass"
        assert tls["facts"]["version"] in ("TLSv1.2", "TLSv1.3")
        https = by_id[f"https:{host}:443"]
        assert https["status"] == "pass"
        assert isinstance(https["facts"]["status_code"], int)
        assert https["facts"]["date"]
    assert by_id["himds"]["status"] == "pass"
    # the default agent has never connected: its HIMDS serves no resource, as it records none
    assert not by_id["himds"]["facts"].get("resourceId")
    assert by_id["agent:himds-match"]["status"] == "pass"


def test_nxdomain_for_login_names(healthy_lab: Lab) -> None:
    healthy_lab.dns(nxdomain=list(IDENTITY))
    result = run(healthy_lab)
    by_id = checks(result)
    assert result.returncode == 2
    for host in IDENTITY:
        assert by_id[f"dns:{host}"]["code"] == "dns.nxdomain"
        for layer in ("tcp", "tls", "https"):
            dependent = by_id[f"{layer}:{host}:443"]
            assert dependent["status"] == "skip"
            assert dependent["blocked_by"] == f"dns:{host}"
    assert by_id["https:management.azure.com:443"]["status"] == "pass"
    diag = diagnosis(result, "dns_failure")
    assert diag["severity"] == "fail"
    evidence = " ".join(diag["evidence"])
    assert all(host in evidence for host in IDENTITY)
    assert "management.azure.com" not in evidence
    # One cause, reported once, at the root: no TCP/TLS diagnosis for the same hosts.
    assert categories(result).count("dns_failure") == 1


def test_no_dns_server_answering(healthy_lab: Lab) -> None:
    healthy_lab.dns_drop()
    started = time.monotonic()
    result = run(healthy_lab, timeout=2.0)
    elapsed = time.monotonic() - started
    dns = endpoint_checks(result, "dns")
    assert dns and all(c["code"] == "dns.timeout" for c in dns)
    tcp = endpoint_checks(result, "tcp")
    assert all(c["status"] == "skip" for c in tcp), [(c["id"], c["status"]) for c in tcp
                                                     if c["status"] != "skip"]
    diag = diagnosis(result, "dns_failure")
    assert "answer" in diag["title"].lower() or "time" in diag["title"].lower()
    assert result.returncode == 2
    # Every name times out at once, not one after the other (generous bound for slow CI).
    assert elapsed < 2.0 * 3 + 5


def test_port_443_dropped(healthy_lab: Lab) -> None:
    healthy_lab.drop(port=443)
    result = run(healthy_lab, timeout=1.5)
    tcp = endpoint_checks(result, "tcp")
    assert tcp and all(c["code"] == "tcp.timeout" for c in tcp if c["target"].endswith(":443"))
    assert all(c["status"] == "skip" for c in endpoint_checks(result, "tls"))
    assert "firewall_or_proxy_blocking" in categories(result)
    arm = [d for d in result.data["diagnoses"]
           if any("management.azure.com" in e for e in d["evidence"])]
    assert arm and arm[0]["category"] == "firewall_or_proxy_blocking"
    assert result.returncode == 2


def test_port_443_reset(healthy_lab: Lab) -> None:
    healthy_lab.reject(port=443, reject_with="tcp-reset")
    result = run(healthy_lab)
    tcp = [c for c in endpoint_checks(result, "tcp") if c["target"].endswith(":443")]
    assert tcp and all(c["code"] == "tcp.refused" for c in tcp)
    assert set(categories(result)) & {"firewall_or_proxy_blocking", "network_unreachable"}
    assert result.returncode == 2


def test_name_resolving_to_unroutable_address(healthy_lab: Lab) -> None:
    healthy_lab.unroutable(["management.azure.com"])
    result = run(healthy_lab)
    by_id = checks(result)
    tcp = by_id["tcp:management.azure.com:443"]
    assert tcp["code"] == "tcp.unreachable"
    assert UNROUTABLE_IP in tcp["summary"]
    assert tcp["duration_ms"] < 1000  # no route fails at once; it is not a timeout
    diag = diagnosis(result, "network_unreachable")
    assert any("management.azure.com" in e for e in diag["evidence"])
    assert by_id["tcp:login.microsoftonline.com:443"]["status"] == "pass"


def test_certificate_from_untrusted_issuer(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, issuer="foreign")
    lab.himds()
    result = run(lab)
    tls = endpoint_checks(result, "tls")
    assert tls and all(c["code"] == "tls.untrusted" for c in tls)
    # The chain was examined anyway, and its issuer named.
    issuers = {c["facts"].get("issuer") for c in tls}
    assert len(issuers) == 1 and None not in issuers
    assert next(iter(issuers)) in tls[0]["summary"]
    assert all(c["status"] == "skip" for c in endpoint_checks(result, "https"))
    diag = diagnosis(result, "tls_inspection")
    assert diag["severity"] == "fail"
    assert result.returncode == 2


def test_himds_absent(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts)
    lab.himds("absent")
    result = run(lab)
    himds = checks(result)["himds"]
    assert himds["status"] == "fail" and himds["code"] == "himds.refused"
    diag = diagnosis(result, "himds_not_running")
    assert "AZCM0061" in diag["azcm"] or "AZCM0064" in diag["azcm"]
    assert any("systemctl" in step or "Start-Service" in step for step in diag["remedy"])


def test_himds_hanging_does_not_hang_the_run(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts)
    lab.himds("hang")
    started = time.monotonic()
    result = run(lab, timeout=1.5)
    elapsed = time.monotonic() - started
    himds = checks(result)["himds"]
    assert himds["code"] == "himds.timeout"
    assert 1000 <= himds["duration_ms"] < 4000
    assert diagnosis(result, "himds_not_responding")["severity"] == "fail"
    assert elapsed < 15


def test_tls_handshake_never_answered(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, mode="hang")
    lab.himds()
    started = time.monotonic()
    result = run(lab, timeout=1.5, )
    elapsed = time.monotonic() - started
    tls = endpoint_checks(result, "tls")
    assert tls and all(c["code"] == "tls.timeout" for c in tls)
    assert elapsed < 15
    assert result.returncode == 2


def test_run_as_non_root_user(healthy_lab: Lab) -> None:
    result = run(healthy_lab, user="nobody")
    by_id = checks(result)
    assert result.data["host"]["elevated"] is False
    assert by_id["privilege"]["status"] == "warn"
    assert by_id["privilege"]["code"] == "privilege.not_admin"
    assert diagnosis(result, "not_admin")["severity"] == "warn"
    # The probes themselves still work unprivileged.
    assert by_id["https:management.azure.com:443"]["status"] == "pass"
    assert result.returncode == 1
    assert result.data["status"] == "warn"


def test_table_output_in_lab(healthy_lab: Lab) -> None:
    healthy_lab.dns(nxdomain=list(IDENTITY))
    proc = healthy_lab.cli("check", "--ca-bundle", str(healthy_lab.ca_bundle), "--no-proxy",
                           "--timeout", "2", "--location", LOCATION, "--himds-url",
                           healthy_lab.himds_url, "--agent-dir", agent_dir(healthy_lab),
                           env=fake_systemd(healthy_lab))
    assert proc.returncode == 2
    assert "login.microsoftonline.com:443" in proc.stdout
    assert "dns.nxdomain" in proc.stdout
    assert "Fix:" in proc.stdout
    assert "Result: FAIL" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_agent_service_stopped(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts)
    lab.himds("absent")  # a stopped service does not listen either
    result = run(lab, units={"himdsd": "inactive", "gcad": "failed"})
    by_id = checks(result)
    assert by_id["service:himdsd"]["code"] == "service.stopped"
    assert by_id["service:himdsd"]["status"] == "fail"
    assert by_id["service:gcad"]["code"] == "service.failed"
    assert by_id["service:gcad"]["status"] == "warn"  # only HIMDS is needed to connect
    assert by_id["service:extd"]["status"] == "pass"
    diag = diagnosis(result, "himds_not_running")
    evidence = " ".join(diag["evidence"])
    # Service state and the refused HIMDS port are one cause, reported once with both.
    assert "service:himdsd" in evidence and "himds:" in evidence
    assert categories(result).count("himds_not_running") == 1
    assert result.returncode == 2


def test_agent_not_installed_is_not_a_failure(lab: Lab, lab_hosts: List[str]) -> None:
    """Before installation, absent services and HIMDS are expected: skipped, not failed."""
    lab.serve_endpoints(lab_hosts)
    argv = lab.check_argv("--location", LOCATION, "--himds-url", lab.himds_url,
                          "--agent-dir", str(Path(lab.workdir) / "no-agent-here"))
    env = fake_systemd(lab, himdsd="not-found", gcad="not-found", extd="not-found",
                       arcproxyd="not-found")
    (Path(lab.workdir) / "fakebin" / "azcmagent").unlink()  # not installed: no azcmagent either
    proc = lab.cli(*argv, "--expected-issuer", LAB_ISSUER, env=env)
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    by_id = {c["id"]: c for c in data["checks"]}
    assert by_id["service:himdsd"]["status"] == "skip"
    assert by_id["himds"]["status"] == "skip"
    assert data["status"] == "pass" and proc.returncode == 0


def test_arc_proxy_disabled_without_gateway_is_normal(healthy_lab: Lab) -> None:
    """arcproxyd stays off unless the Arc gateway is used (agent-overview.md, "Azure Arc
    Proxy"): with the stand-in systemctl printing what systemd prints for a disabled, stopped
    unit (ActiveState=inactive, SubState=dead, UnitFileState=disabled), nothing is flagged; the
    stopped and failed units print dead/failed, never 'running'."""
    result = run(healthy_lab, units={"arcproxyd": "disabled", "gcad": "inactive",
                                     "extd": "failed"})
    by_id = checks(result)
    proxy = by_id["service:arcproxyd"]
    assert proxy["status"] == "pass" and proxy["code"] is None, proxy
    assert proxy["facts"]["SubState"] == "dead" and proxy["facts"]["needed"] is False
    assert "gateway" in proxy["summary"]
    gcad, extd = by_id["service:gcad"], by_id["service:extd"]
    assert (gcad["code"], gcad["facts"]["SubState"]) == ("service.stopped", "dead")
    assert (extd["code"], extd["facts"]["SubState"]) == ("service.failed", "failed")
    assert "arc_proxy" not in " ".join(d["cause_id"] for d in result.data["diagnoses"])


def test_arc_proxy_stopped_with_gateway_fails(healthy_lab: Lab) -> None:
    folder = Path(agent_dir(healthy_lab))
    (folder / "localconfig.json").write_text(json.dumps({"connection.type": "gateway"}))
    try:
        result = run(healthy_lab, "--only", "service", units={"arcproxyd": "inactive"})
    finally:
        (folder / "localconfig.json").unlink()
    proxy = checks(result)["service:arcproxyd"]
    assert (proxy["status"], proxy["code"]) == ("fail", "service.stopped"), proxy
    assert any("AZCM0004" in d["azcm"] for d in result.data["diagnoses"])
    assert result.returncode == 2
