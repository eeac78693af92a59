"""Renderers as pure functions of hand-built reports: JSON against the schema, table, endpoints."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from factories import report, result

from arc_preflight import catalog, render
from arc_preflight.config import Settings
from arc_preflight.model import Diagnosis, HostInfo, Report, Status
from arc_preflight.redact import register_secret
from arc_preflight.render import endpoints as render_endpoints
from arc_preflight.render import json_fmt, table

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_FILE = Path(render.__file__).resolve().parent.parent / "data" / "report.schema.json"
SECRET = "Rend3r-SP-Secret~Value-4417"
PROXY_PASSWORD = "Rend3rProxyPw-5521"
SRV01 = HostInfo(hostname="srv01", os="Linux 6.1", python="3.11.7", elevated=False)


@pytest.fixture(scope="module")
def validator() -> Any:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def settings_shown() -> Dict[str, Any]:
    shown = Settings(location="eastus", service_principal_secret=SECRET,
                     proxy=f"http://arc:{PROXY_PASSWORD}@proxy.corp:3128").public()
    shown["proxy_effective"] = {"url": f"http://arc:{PROXY_PASSWORD}@proxy.corp:3128",
                                "source": "--proxy", "bypass": [], "no_proxy": []}
    shown["agent_installed"] = False
    shown["dns_servers"] = "system"
    return shown


DNS_DIAG = Diagnosis(
    cause_id="dns_name_not_found", category="dns_failure", severity="fail",
    title="An endpoint name does not resolve",
    explanation="DNS answered NXDOMAIN for a name the agent needs.",
    remedy=("Fix the DNS forwarders.", "Flush the resolver cache."),
    docs=("https://learn.microsoft.com/azure/azure-arc/servers/network-requirements",),
    azcm=("AZCM0026",),
    evidence=("dns:gbl.his.arc.azure.com: NXDOMAIN",),
)
WARN_DIAG = Diagnosis(
    cause_id="not_elevated", category="not_admin", severity="warn",
    title="Not running as root", explanation="azcmagent connect must run elevated.",
    remedy=("Run with sudo.",), docs=(), azcm=("AZCM0018",),
    evidence=("privilege: running as uid 1000",),
)


def all_pass() -> Report:
    return report([
        result("privilege", Status.PASS, "running as root", target="this process"),
        result("dns:management.azure.com", Status.PASS, "resolved to 20.37.1.1",
               facts={"addresses": ["20.37.1.1"], "route": "direct"}),
        result("tcp:management.azure.com:443", Status.PASS, "connected to 20.37.1.1 in 12 ms"),
        result("tls:management.azure.com:443", Status.PASS, "TLS 1.3, chain verified"),
        result("https:management.azure.com:443", Status.PASS, "HTTP 200"),
    ], host=SRV01, settings=settings_shown())


def warn_only() -> Report:
    return report([
        result("privilege", Status.WARN, "running as uid 1000, not root",
               code="privilege.not_admin", target="this process"),
        result("dns:dls.microsoft.com", Status.WARN, "NXDOMAIN", code="dns.nxdomain"),
        result("dns:management.azure.com", Status.PASS, "resolved"),
        result("tcp:dls.microsoft.com:443", Status.SKIP,
               "not run: dns:dls.microsoft.com did not pass",
               blocked_by="dns:dls.microsoft.com"),
    ], [WARN_DIAG], host=SRV01, settings=settings_shown())


def with_failures() -> Report:
    return report([
        result("privilege", Status.WARN, "running as uid 1000", code="privilege.not_admin",
               target="this process"),
        result("service:himdsd", Status.PASS, "active"),
        result("dns:gbl.his.arc.azure.com", Status.FAIL, f"NXDOMAIN (asked with {SECRET})",
               code="dns.nxdomain", facts={"detail": f"client_secret={SECRET}"}),
        result("tcp:gbl.his.arc.azure.com:443", Status.SKIP,
               "not run: dns:gbl.his.arc.azure.com did not pass",
               blocked_by="dns:gbl.his.arc.azure.com"),
        result("himds", Status.ERROR, "probe did not finish within its 5s timeout; abandoned",
               code="probe.hung", target="this process"),
    ], [DNS_DIAG, WARN_DIAG], host=SRV01, settings=settings_shown())


def diag_only_fail() -> Report:
    """All checks passed but a diagnosis (from a log, say) is a failure: the run fails."""
    return report([result("privilege", Status.PASS, "running as root", target="this process")],
                  [DNS_DIAG], host=SRV01, settings=settings_shown())


REPORTS = {
    "pass": (all_pass, Status.PASS, 0),
    "warn": (warn_only, Status.WARN, 1),
    "fail": (with_failures, Status.FAIL, 2),
    "diagnosis-fail": (diag_only_fail, Status.FAIL, 2),
    "empty": (lambda: report([], host=SRV01, settings=settings_shown()), Status.PASS, 0),
}


@pytest.fixture(autouse=True)
def _secrets() -> None:
    register_secret(SECRET)


@pytest.mark.parametrize("name", list(REPORTS))
def test_report_status_and_exit_code(name: str) -> None:
    factory, status, code = REPORTS[name]
    report = factory()
    assert report.status == status
    assert report.exit_code == code


@pytest.mark.parametrize("name", list(REPORTS))
def test_json_validates_against_schema(name: str, validator: Any) -> None:
    factory, status, code = REPORTS[name]
    text = json_fmt.render(factory())
    doc = json.loads(text)
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors]
    assert doc["schema"] == "arc-preflight/1"
    assert doc["status"] == status.value
    assert doc["exit_code"] == code
    assert {"pass": 0, "warn": 1, "fail": 2}[doc["status"]] == doc["exit_code"]
    assert text.endswith("\n")


def test_json_checks_and_diagnoses_content() -> None:
    doc = json.loads(json_fmt.render(with_failures()))
    ids = [c["id"] for c in doc["checks"]]
    assert ids == [r.id for r in with_failures().checks], "plan order is kept"
    skipped = doc["checks"][3]
    assert skipped["status"] == "skip"
    assert skipped["blocked_by"] == "dns:gbl.his.arc.azure.com"
    assert skipped["code"] is None
    assert doc["checks"][4]["code"] == "probe.hung"
    assert [d["cause_id"] for d in doc["diagnoses"]] == ["dns_name_not_found", "not_elevated"]
    assert doc["diagnoses"][0]["remedy"] == list(DNS_DIAG.remedy)
    assert doc["diagnoses"][0]["azcm"] == ["AZCM0026"]
    assert "source" not in doc["diagnoses"][0]


def test_json_never_contains_secrets() -> None:
    text = json_fmt.render(with_failures())
    assert SECRET not in text
    assert PROXY_PASSWORD not in text
    doc = json.loads(text)
    assert doc["settings"]["service_principal_secret"] == "[REDACTED]"
    assert "[REDACTED]" in doc["checks"][2]["summary"]
    assert doc["checks"][2]["facts"]["detail"] == "client_secret=[REDACTED]"


def test_json_log_diagnosis_has_source_and_lines(validator: Any) -> None:
    diag = Diagnosis(
        cause_id="invalid_sp_secret", category="invalid_sp_secret", severity="fail",
        title="The service principal secret is wrong", explanation="AADSTS7000215.",
        remedy=("Create a new secret.",), docs=(), azcm=("AZCM0041",),
        evidence=("azcmagent.log:812: AADSTS7000215: Invalid client secret provided",),
        source="/var/opt/azcmagent/log/azcmagent.log", lines=(812,),
    )
    doc = json.loads(json_fmt.render(report([], [diag], host=SRV01, settings=settings_shown())))
    assert not list(validator.iter_errors(doc))
    assert doc["diagnoses"][0]["source"] == "/var/opt/azcmagent/log/azcmagent.log"
    assert doc["diagnoses"][0]["lines"] == [812]


def test_schema_rejects_a_broken_report(validator: Any) -> None:
    """The schema is not vacuous: wrong values are caught."""
    doc = json.loads(json_fmt.render(with_failures()))
    doc["status"] = "ok"
    doc["checks"][0]["status"] = "great"
    doc["diagnoses"][0]["docs"] = ["http://insecure.example"]
    del doc["settings"]["cloud"]
    problems = list(validator.iter_errors(doc))
    assert len(problems) >= 4


@pytest.mark.parametrize("name", list(REPORTS))
def test_table_result_line(name: str) -> None:
    factory, status, code = REPORTS[name]
    report = factory()
    text = table.render(report)
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last.startswith("Result: ")
    label = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}[status.value]
    assert label in last
    assert f"exit code {code}" in last


def test_table_shows_diagnosis_title_remedy_and_evidence() -> None:
    text = table.render(with_failures())
    assert "An endpoint name does not resolve" in text
    assert "Fix the DNS forwarders." in text
    assert "Flush the resolver cache." in text
    assert "dns:gbl.his.arc.azure.com: NXDOMAIN" in text
    assert "AZCM0026" in text
    assert "Not running as root" in text
    assert "Run with sudo." in text
    assert "2 failed, 1 warning(s), 1 passed, 1 skipped" in text
    assert "Endpoints on port 443 (1; 1 problem, shown first)" in text
    assert "gbl.his.arc.azure.com  " in text
    assert "[dns.nxdomain]" in text
    assert "srv01" in text


def test_table_never_contains_registered_secrets() -> None:
    for factory in (all_pass, warn_only, with_failures):
        text = table.render(factory())
        assert SECRET not in text


def test_table_header_redacts_proxy_password() -> None:
    text = table.render(all_pass(), width=120)
    assert PROXY_PASSWORD not in text
    assert "proxy http://arc:[REDACTED]@proxy.corp:3128 (--proxy)" in text


def test_table_is_plain_text_without_color() -> None:
    text = table.render(with_failures(), color=False)
    assert "\x1b[" not in text
    colored = table.render(with_failures(), color=True)
    assert "\x1b[" in colored


def test_renderer_registry() -> None:
    assert render.get("json") is json_fmt.render
    assert render.get("table") is table.render
    with pytest.raises(ValueError, match="unknown format"):
        render.get("xml")


# --------------------------------------------------------------------------------------------
# endpoints renderer


@pytest.fixture(scope="module")
def eastus() -> Tuple[catalog.Cloud, List[catalog.Endpoint]]:
    cloud = catalog.find_cloud("AzureCloud")
    return cloud, catalog.endpoints(cloud, "eastus", ["sql"])


def test_endpoints_json(eastus: Tuple[catalog.Cloud, List[catalog.Endpoint]]) -> None:
    cloud, items = eastus
    rows = json.loads(render_endpoints.render(items, "json", cloud, "eastus", False))
    assert isinstance(rows, list)
    assert len(rows) == len(items)
    assert [r["host"] for r in rows] == [e.host for e in items]
    first = rows[0]
    assert set(first) >= {"host", "port", "scheme", "url", "purpose", "when", "feature",
                          "private_link", "probe", "reason", "proxy_bypass"}
    assert "must_resolve" not in first
    wildcard = next(r for r in rows if r["host"] == "*.his.arc.azure.com")
    assert wildcard["probe"] is False and wildcard["url"] is None and wildcard["reason"]


def test_endpoints_json_private_link(
        eastus: Tuple[catalog.Cloud, List[catalog.Endpoint]]) -> None:
    cloud, items = eastus
    rows = json.loads(render_endpoints.render(items, "json", cloud, "eastus", True))
    by_host = {r["host"]: r for r in rows}
    assert by_host["gbl.his.arc.azure.com"]["must_resolve"] == "private"
    assert by_host["login.microsoftonline.com"]["must_resolve"] == "public"


@pytest.mark.parametrize("private_link", [False, True])
def test_endpoints_csv(eastus: Tuple[catalog.Cloud, List[catalog.Endpoint]],
                       private_link: bool) -> None:
    cloud, items = eastus
    text = render_endpoints.render(items, "csv", cloud, "eastus", private_link)
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = list(render_endpoints.COLUMNS) + (["must_resolve"] if private_link else [])
    assert text.splitlines()[0].split(",") == expected
    assert len(rows) == len(items)
    mgmt = next(r for r in rows if r["host"] == "management.azure.com")
    assert mgmt["port"] == "443"
    assert mgmt["probe"] == "yes"
    assert mgmt["private_link"] == "no"
    assert mgmt["proxy_bypass"] == "ARM,AMA"
    assert mgmt["feature"] == ""
    his = next(r for r in rows if r["host"] == "gbl.his.arc.azure.com")
    assert "heartbeat, managed identity" in his["purpose"], "commas survive CSV quoting"
    if private_link:
        assert his["must_resolve"] == "private"


def test_endpoints_table(eastus: Tuple[catalog.Cloud, List[catalog.Endpoint]]) -> None:
    cloud, items = eastus
    text = render_endpoints.render(items, "table", cloud, "eastus", False)
    assert "Azure public cloud (AzureCloud), region eastus" in text
    assert "eastus.login.microsoft.com" in text
    assert "management.azure.com" in text
    assert "optional (sql)" in text
    assert "no: wildcard" in text
    assert "All traffic is outbound TCP" in text
    assert "\x1b[" not in text


def test_endpoints_table_without_location() -> None:
    cloud = catalog.find_cloud("china")
    text = render_endpoints.render(catalog.endpoints(cloud), "table", cloud, None, True)
    assert "region not given" in text
    assert "private" in text
    assert "login.chinacloudapi.cn" in text


def test_endpoints_table_keeps_host_names_whole(
        eastus: Tuple[catalog.Cloud, List[catalog.Endpoint]]) -> None:
    cloud, items = eastus
    text = render_endpoints.render(items, "table", cloud, "eastus", False)
    for item in items:
        assert item.host in text, item.host
