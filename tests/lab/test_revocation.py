"""Certificate revocation endpoints, for real: certificates that name a CRL and an OCSP
responder, an HTTP stand-in answering for them, then port 80 dropped while 443 still works.

Microsoft's certificates name revocation endpoints that are not Arc names; a firewall opened for
the agent's list alone blocks them, and Windows stalls on its revocation checks. The check must
read the names from the certificates and warn with them when they do not answer.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from .netlab import Lab

pytestmark = pytest.mark.lab

CRL_HOST = "crl.arc-lab.test"
CRL_IP = "127.0.3.1"
LAB_ISSUER = "arc-preflight lab CA"


def run(lab: Lab) -> Dict[str, Any]:
    result = lab.cli_check("--only", "tls", "--only", "revocation", "--expected-issuer",
                           LAB_ISSUER, "--skip", "https")
    assert isinstance(result.data, dict), result.proc.stderr
    report: Dict[str, Any] = result.data
    return report


def check(report: Dict[str, Any], check_id: str) -> Dict[str, Any]:
    found: List[Dict[str, Any]] = [c for c in report["checks"] if c["id"] == check_id]
    assert found, [c["id"] for c in report["checks"]]
    return found[0]


def test_revocation_endpoints_named_by_the_certificates_answer(lab: Lab,
                                                                lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, revocation=CRL_HOST)
    lab.himds(bind=CRL_IP, port=80)  # any plain-HTTP answer stands for the CRL/OCSP server
    lab.dns({CRL_HOST: CRL_IP})
    report = run(lab)
    tls = check(report, "tls:management.azure.com:443")
    assert tls["status"] == "pass"
    assert tls["facts"]["crl"] == [f"http://{CRL_HOST}/lab.crl"]
    assert tls["facts"]["ocsp"] == [f"http://{CRL_HOST}/ocsp"]
    row = check(report, "revocation")
    assert row["status"] == "pass", row
    assert CRL_HOST in row["summary"]
    assert [e["host"] for e in row["facts"]["endpoints"]] == [CRL_HOST]
    assert report["status"] == "pass"


def test_port_80_dropped_while_443_works_is_a_warning_naming_the_hosts(
        lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, revocation=CRL_HOST)
    lab.himds(bind=CRL_IP, port=80)
    lab.dns({CRL_HOST: CRL_IP})
    lab.drop(port=80)
    report = run(lab)
    assert check(report, "tls:management.azure.com:443")["status"] == "pass"  # 443 still works
    row = check(report, "revocation")
    assert row["status"] == "warn" and row["code"] == "revocation.unreachable"
    assert CRL_HOST in row["summary"] and "port 80" in row["summary"]
    assert row["facts"]["endpoints"][0]["reachable"] is False
    causes = {d["cause_id"]: d for d in report["diagnoses"]}
    found = causes["revocation_endpoints_blocked"]
    assert found["category"] == "firewall_or_proxy_blocking" and found["severity"] == "warn"
    assert found["checks"] == ["revocation"]
    assert report["exit_code"] == 1


def test_no_revocation_names_in_the_certificates_is_a_quiet_pass(lab: Lab,
                                                                   lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts)  # trustme's certificates name none
    report = run(lab)
    row = check(report, "revocation")
    assert row["status"] == "pass" and row["facts"]["endpoints"] == []
