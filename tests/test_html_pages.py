"""The HTML pages: one host's report (``check --format html``), a log's diagnosis (``diagnose
--format html``) and the fleet's, in one design; and all three opened in a real browser.

The browser test runs headless Chromium on the pages (no network: the page's CSP forbids any
fetch, and as root the browser runs in a network namespace of its own), saves screenshots under
``tests/artifacts/`` (ignored by git) and checks that the page's script ran. Where Chromium is
not installed it skips with the reason, except in CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, List

import factories
import pytest
from fleet_helpers import SCENARIOS, report_from_json, sample, with_host, write
from test_fleet_report import HOSTILE, check_page

from arc_preflight.fleet import load, rollup
from arc_preflight.model import Change, Status
from arc_preflight.render import fleet_html, get, html

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def test_check_format_html_is_registered() -> None:
    assert get("html") is html.render


def test_host_page_has_verdict_diagnoses_endpoints_and_facts() -> None:
    page = html.render(report_from_json(sample("drop-443")))
    parser = check_page(page)
    text = " ".join(parser.text)
    assert "web02: something blocks the agent" in text
    assert "What is wrong, and how to fix it" in text
    assert "A proxy or firewall blocks Azure Resource Manager" in text
    assert "tcp:management.azure.com:443: 127.0.1.1:443 timed out" in text  # evidence
    assert "Allow outbound TCP 443 to management.azure.com" in text  # the fix
    assert "Endpoints" in text and "management.azure.com" in text
    assert "route_reason" in text and "nameservers" in text  # every fact of every layer
    assert "Host and run" in text and "Linux 6.18" in text
    healthy = check_page(html.render(report_from_json(sample("healthy"))))
    assert "ready for azcmagent connect" in " ".join(healthy.text)


def test_host_page_escapes_hostile_text() -> None:
    report = factories.report(
        [factories.result("tcp:evil.example:443", "fail", HOSTILE, code="tcp.timeout",
                          facts={"route": HOSTILE, HOSTILE: [HOSTILE]}),
         factories.result("privilege", "warn", HOSTILE)],
        [factories.diagnosis(HOSTILE, explanation=HOSTILE, remedy=[HOSTILE],
                             evidence=[HOSTILE], docs=["javascript:alert(1)"])],
        host=factories.HostInfo(HOSTILE, HOSTILE, "3.11", False),
        changes=[Change("tcp:evil.example:443", "new_failure", "pass", "fail")],
        notices=[HOSTILE])
    page = html.render(report)
    check_page(page)
    assert "<script>alert" not in page
    assert 'href="javascript' not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 8


def test_host_page_redacts_secrets() -> None:
    report = factories.report([factories.result(
        "proxy:config", "warn", "proxy http://user:hunter2@proxy:3128 set",
        facts={"url": "http://user:hunter2@proxy:3128"})])
    assert "hunter2" not in html.render(report)


def test_diagnose_format_html(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "azcmagent.log"
    log.write_text("time=\"2026-01-01T00:00:00Z\" level=error msg=\"lookup "
                   "login.microsoftonline.com: no such host <script>x</script>\"\n",
                   encoding="utf-8")
    run = run_cli("diagnose", str(log), "--format", "html")
    assert run.code in (0, 1, 2, 3), run.err
    parser = check_page(run.out)
    assert "<script>x" not in run.out
    assert "azcmagent.log" in " ".join(parser.text)
    assert run_cli("explain", "AZCM0041", "--format", "html").code == 3  # not for explain


def _pages(folder: Path) -> List[Path]:
    reports = folder / "reports"
    for name, host in SCENARIOS.items():
        write(reports, f"{host}.json", with_host(sample(name), host))
    (reports / "truncated.json").write_text('{"schema": "arc-preflight/1", "host": {',
                                            encoding="utf-8")
    fleet = rollup.build(load.load([str(reports)]), "0.1.0")
    out = []
    for name, text in (("fleet", fleet_html.render(fleet)),
                       ("host-drop-443", html.render(report_from_json(sample("drop-443")))),
                       ("host-healthy", html.render(report_from_json(sample("healthy"))))):
        path = folder / f"{name}.html"
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is needed in CI (apt-get install -y chromium)")
    pytest.skip("Chromium not installed (apt-get install -y chromium) - HTML pages not "
                "opened in a browser")


def _browser(binary: str, profile: Path, *args: str,
             size: str = "1400,1000") -> subprocess.CompletedProcess[str]:
    isolate = ["unshare", "-n"] if hasattr(os, "geteuid") and os.geteuid() == 0 and \
        shutil.which("unshare") else []
    argv = [*isolate, binary, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            f"--window-size={size}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(profile)})


def test_pages_render_in_headless_chromium(tmp_path: Path) -> None:
    binary = _chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    for page in _pages(tmp_path):
        shot = ARTIFACTS / f"{page.stem}.png"
        shot.unlink(missing_ok=True)
        run = _browser(binary, tmp_path / "profile", f"--screenshot={shot}",
                       f"file://{page}")
        assert shot.exists() and shot.stat().st_size > 20_000, run.stderr[-2000:]
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A link to a host opens its card (the script opens the <details> the address names).
    from arc_preflight.render.html_page import anchor

    shot = ARTIFACTS / "fleet-host-web02.png"
    shot.unlink(missing_ok=True)
    # (A window as tall as the page: headless Chromium captures a scrolled page blank.)
    _browser(binary, tmp_path / "profile", f"--screenshot={shot}",
             f"file://{tmp_path / 'fleet.html'}#{anchor('host', 'web02')}", size="1400,3600")
    assert shot.exists() and shot.stat().st_size > 20_000
    # The page's script ran under its Content-Security-Policy: it filled in the count.
    dom = _browser(binary, tmp_path / "profile", "--dump-dom",
                   f"file://{tmp_path / 'fleet.html'}")
    assert "5 of 5 hosts shown" in dom.stdout, dom.stderr[-2000:]
    assert "Refused to" not in dom.stderr  # no CSP violation reported
    assert Status.FAIL.label in dom.stdout
