"""``arc-preflight report``: the roll-up's rules and every output format, from real lab reports."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List

import pytest
from fleet_helpers import SCENARIOS, sample, with_host, write

from arc_preflight.fleet import load, rollup
from arc_preflight.fleet.model import Fleet
from arc_preflight.model import Status
from arc_preflight.render import fleet_csv, fleet_html, fleet_json, fleet_markdown, fleet_table

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "arc_preflight" / "data" /
                     "fleet.schema.json").read_text(encoding="utf-8"))
HOSTILE = "<script>alert(1)</script>\"'&=cmd|' /C calc'!A0"


def _folder(tmp_path: Path, names: Any = SCENARIOS) -> Path:
    folder = tmp_path / "reports"
    for index, name in enumerate(names):
        host = SCENARIOS.get(name, name) if isinstance(names, dict) else f"{name}-{index}"
        write(folder, f"{host}.json", with_host(sample(name), host))
    return folder


def _build(*args: str, keep: bool = False, stale: float = rollup.DEFAULT_STALE_S) -> Fleet:
    return rollup.build(load.load(list(args), keep_checks=keep), "9.9.9", stale)


def validate(doc: Dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(doc, SCHEMA)


def test_hosts_by_status_causes_by_hosts_and_endpoint_failures(tmp_path: Path) -> None:
    fleet = _build(str(_folder(tmp_path)))
    assert fleet.status == Status.FAIL and fleet.exit_code == 2
    assert [(s, [h.hostname for h in hosts]) for s, hosts in fleet.by_status()] == [
        (Status.FAIL, ["app01", "app02", "sql01", "web02"]), (Status.PASS, ["web01"])]
    causes = {c.cause.cause_id: c.hosts for c in fleet.causes}
    assert causes["proxy_auth_required"] == ("app02",)
    assert causes["dns_name_not_found"] == ("app01",)
    login = next(e for e in fleet.endpoints if e.endpoint == "login.microsoftonline.com")
    assert {c.hostname: c.code for c in login.cells} == {
        "app01": "dns.nxdomain", "app02": "proxy.auth_required", "sql01": "tls.untrusted",
        "web02": "tcp.timeout"}


def test_causes_are_ranked_by_hosts_hit(tmp_path: Path) -> None:
    names = ["drop-443", "drop-443", "drop-443", "proxy-auth", "healthy"]
    fleet = _build(str(_folder(tmp_path, names)))
    top = fleet.causes[0]
    assert len(top.hosts) == 3
    assert fleet.causes[-1].cause.cause_id == "proxy_auth_required"
    ranked = [len(c.hosts) for c in fleet.causes]
    assert ranked == sorted(ranked, reverse=True)


def test_duplicate_hosts_latest_wins_and_the_other_is_listed(tmp_path: Path) -> None:
    write(tmp_path, "old.json", with_host(sample("drop-443"), "WEB01", "2026-11-30T08:00:00Z"))
    write(tmp_path, "new.json", with_host(sample("healthy"), "web01", "2026-11-30T09:00:00Z"))
    fleet = _build(str(tmp_path))
    [host] = fleet.hosts
    assert (host.hostname, host.status) == ("web01", Status.PASS)
    [problem] = fleet.problems
    assert (problem.kind, problem.source) == ("duplicate", str(tmp_path / "old.json"))
    assert "new.json" in problem.reason
    assert fleet.exit_code == 0  # a superseded report hides nothing


def test_stale_reports_are_flagged_listed_and_not_trusted(tmp_path: Path) -> None:
    write(tmp_path, "a.json", with_host(sample("healthy"), "a", "2026-11-30T10:00:00Z"))
    write(tmp_path, "b.json", with_host(sample("healthy"), "b", "2026-11-27T10:00:00Z"))
    fleet = _build(str(tmp_path))
    stale = {h.hostname: h.stale for h in fleet.hosts}
    assert stale == {"a": False, "b": True}
    [problem] = fleet.problems
    assert problem.kind == "stale" and "3.0 days" in problem.reason
    assert fleet.status == Status.UNKNOWN and fleet.exit_code == 3
    assert _build(str(tmp_path), stale=0).exit_code == 0
    assert _build(str(tmp_path), stale=4 * 86400).exit_code == 0


def test_exit_code_is_the_worst_hosts(tmp_path: Path) -> None:
    assert _build(str(_folder(tmp_path, ["healthy"]))).exit_code == 0
    warn = with_host(sample("nxdomain-login"), "w")
    warn["status"], warn["exit_code"] = "warn", 1
    write(tmp_path / "w", "w.json", warn)
    assert _build(str(tmp_path / "reports"), str(tmp_path / "w")).exit_code == 1
    (tmp_path / "w" / "junk.json").write_text("nope", encoding="utf-8")
    # An unreadable report is "could not judge" (3): worse than a warning...
    assert _build(str(tmp_path / "reports"), str(tmp_path / "w")).exit_code == 3
    # ...but a failure elsewhere outranks it.
    write(tmp_path / "w", "f.json", with_host(sample("drop-443"), "f"))
    assert _build(str(tmp_path / "reports"), str(tmp_path / "w")).exit_code == 2


def test_json_validates_against_the_schema(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "junk.json").write_text("{", encoding="utf-8")
    write(folder, "dup.json", with_host(sample("healthy"), "web01", "2020-01-01T00:00:00Z"))
    doc = json.loads(fleet_json.render(_build(str(folder))))
    validate(doc)
    assert doc["schema"] == "arc-preflight-fleet/1"
    assert doc["host_counts"] == {"fail": 4, "pass": 1}
    assert {i["kind"] for i in doc["inputs"]} == {"unreadable", "duplicate"}
    assert doc["causes"][0]["hosts"]


def test_csv_has_a_row_per_host_and_check_and_parses_back(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "junk.json").write_text("garbage", encoding="utf-8")
    fleet = _build(str(folder), keep=True)
    text = fleet_csv.render(fleet)
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(fleet_csv.COLUMNS)
    total = sum(len(sample(name)["checks"]) for name in SCENARIOS)
    assert len(rows) == total + 1  # every check of every host, and the unreadable report
    arm = next(r for r in rows if r["host"] == "web02"
               and r["check_id"] == "tcp:management.azure.com:443")
    assert (arm["status"], arm["code"], arm["cause_id"]) == ("fail", "tcp.timeout",
                                                            "arm_blocked")
    assert arm["doc_link"].startswith("https://")
    junk = next(r for r in rows if r["check_id"] == "report")
    assert (junk["status"], junk["code"]) == ("unknown", "report.unreadable")
    assert junk["message"].startswith(str(folder / "junk.json") + ": not JSON")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_csv_cells_never_start_a_formula(tmp_path: Path, start: str) -> None:
    doc = with_host(sample("drop-443"), f"{start}HYPERLINK(\"http://x\")")
    doc["checks"][0]["summary"] = f"{start}1+1"
    write(tmp_path, "evil.json", doc)
    text = fleet_csv.render(_build(str(tmp_path), keep=True))
    for row in csv.reader(io.StringIO(text, newline="")):
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert "'" + f"{start}HYPERLINK" in text or start == "\t"


def test_table_and_markdown_name_causes_and_hosts(tmp_path: Path) -> None:
    fleet = _build(str(_folder(tmp_path)))
    table = fleet_table.render(fleet, width=120)
    assert "Causes, by hosts hit" in table and "proxy_auth_required" in table
    assert "exit code 2" in table
    assert max(len(line) for line in table.splitlines()) <= 120
    markdown = fleet_markdown.render(fleet)
    assert "| **FAIL** | 4 | app01, app02, sql01, web02 |" in markdown
    assert "### Endpoint failures by host" in markdown
    assert "dns.nxdomain" in markdown


class _Collector(HTMLParser):
    """Checks that the page is well formed: every opened element closed, in order."""

    VOID = frozenset({"meta", "br", "input", "link", "img", "hr", "wbr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: List[str] = []
        self.errors: List[str] = []
        self.scripts = 0
        self.text: List[str] = []
        self.csp = ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "script":
            self.scripts += 1
        if tag == "meta" and ("http-equiv", "Content-Security-Policy") in attrs:
            self.csp = dict(attrs)["content"] or ""
        for name, _value in attrs:
            if name.startswith("on"):
                self.errors.append(f"inline handler {name}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_page(page: str) -> _Collector:
    """Well formed, one script (ours), a strict CSP, nothing fetched from anywhere."""
    parser = _Collector()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    assert parser.scripts == 1
    assert "default-src 'none'" in parser.csp and "unsafe-inline" not in parser.csp
    for attr in ("src=", "<link", "@import", "url("):
        assert attr not in page
    return parser


def test_html_page_is_self_contained_well_formed_and_filterable(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "junk.json").write_text("{", encoding="utf-8")
    page = fleet_html.render(_build(str(folder)))
    parser = check_page(page)
    text = " ".join(parser.text)
    assert 'id="f-status"' in page and 'id="f-cause"' in page
    assert 'data-causes="dns_name_not_found tls_inspection_trusted_issuer"' in page
    assert "table class=\"sortable\"" in page
    assert "Reports not rolled up as they are" in text
    assert "proxy requires authentication" in text  # a host's drill-down shows its checks


def test_html_escapes_hostile_text_everywhere(tmp_path: Path) -> None:
    doc = with_host(sample("drop-443"), HOSTILE)
    doc["checks"][4]["summary"] = HOSTILE
    doc["diagnoses"][0]["title"] = HOSTILE
    doc["diagnoses"][0]["evidence"] = [HOSTILE]
    doc["diagnoses"][0]["docs"] = ["javascript:alert(1)", "https://x\" onmouseover=\"alert(1)"]
    write(tmp_path, "evil.json", doc)
    schema = with_host(sample("healthy"), HOSTILE)
    schema["schema"] = HOSTILE
    write(tmp_path, "schema.json", schema)
    page = fleet_html.render(_build(str(tmp_path)))
    check_page(page)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page.replace("javascript:alert(1)", "")
    assert 'href="javascript' not in page


def test_cli_report_every_format_and_exit_code(run_cli: Any, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    for fmt in ("table", "markdown", "json", "csv", "html"):
        run = run_cli("report", str(folder), "--format", fmt)
        assert run.code == 2, (fmt, run.err)
        assert run.err == ""
    run = run_cli("report", str(folder), "--no-color")
    assert run.code == 2 and "\x1b[" not in run.out
    out = tmp_path / "fleet.html"
    run = run_cli("report", str(folder / "web01.json"), "-f", "html", "-o", str(out))
    assert run.code == 0 and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    lines = "\n".join(json.dumps(with_host(sample("healthy"), f"h{i}")) for i in range(2))
    run = run_cli("report", "-", "--format", "json", stdin=lines)
    assert run.code == 0 and json.loads(run.out)["host_counts"] == {"pass": 2}


@pytest.mark.parametrize(("argv", "message"), [
    ((), "give report files"),
    (("--format", "xml", "x"), "--format 'xml' unknown"),
    (("--stale", "soon", "x"), "--stale 'soon'"),
])
def test_cli_bad_usage_is_one_line_exit_3(run_cli: Any, argv: Any, message: str) -> None:
    run = run_cli("report", *argv)
    assert run.code == 3
    assert message in run.err and len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err


def test_cli_nothing_but_garbage_is_listed_exit_3(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_bytes(b"\xff\xfe\x00garbage")
    run = run_cli("report", str(tmp_path), "--format", "json")
    assert run.code == 3 and "Traceback" not in run.err
    assert json.loads(run.out)["inputs"][0]["kind"] == "unreadable"
    run = run_cli("report", "-", stdin="\n")
    assert run.code == 3 and run.err.startswith("arc-preflight: error: no arc-preflight reports")


def test_cli_stale_option(run_cli: Any, tmp_path: Path) -> None:
    write(tmp_path, "a.json", with_host(sample("healthy"), "a", "2026-11-30T10:00:00Z"))
    write(tmp_path, "b.json", with_host(sample("healthy"), "b", "2026-11-30T08:00:00Z"))
    assert run_cli("report", str(tmp_path)).code == 0
    assert run_cli("report", str(tmp_path), "--stale", "90m").code == 3
    assert run_cli("report", str(tmp_path), "--stale", "0").code == 0
