"""The terminal report as a person sees it: ``check`` run in a real pseudo-terminal (tmux) at
80, 100 and 160 columns, inside the lab, in four scenarios (healthy, one name NXDOMAIN, port 443
dropped, TLS inspection), and the screen asserted: no line wider than the terminal, one line per
endpoint, a failing row's reason and failure code on its line, problems first, colour only where
it means something and never without the words.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence

import pytest

from .netlab import Lab
from .screen import ANSI, Screen, run_on_screen
from .test_scenarios import IDENTITY, LAB_ISSUER, LOCATION, agent_dir, fake_systemd

pytestmark = pytest.mark.lab

WIDTHS = (80, 100, 160)
STATUS_WORDS = ("PASS", "WARN", "FAIL", "ERROR", "skip")


def check_on_screen(lab: Lab, width: int, *extra: str, timeout: str = "2",
                    env: Optional[Dict[str, Optional[str]]] = None) -> Screen:
    argv = ["check", "--ca-bundle", str(lab.ca_bundle), "--no-proxy", "--timeout", timeout,
            "--location", LOCATION, "--himds-url", lab.himds_url, "--agent-dir", agent_dir(lab),
            "--expected-issuer", LAB_ISSUER, *extra]
    return run_on_screen(lab, argv, width, env={**fake_systemd(lab), **(env or {})})


def endpoint_rows(screen: Screen) -> List[str]:
    """One per endpoint: a problem's second line (its reason going on under the result
    column) is joined to it; a passing endpoint has only one."""
    rows: List[str] = []
    for line in screen.section("Endpoints")[2:]:
        if line.startswith(" "):
            assert rows and row_status(rows[-1], screen.width) in ("FAIL", "WARN", "ERROR"), \
                f"only a problem's reason goes on: {line!r}"
            assert rows[-1].count("\n") == 0, "two lines at most"
            rows[-1] += "\n" + line
        else:
            rows.append(line)
    return [row.replace("\n", " ") for row in rows]


def row_status(row: str, width: int) -> str:
    """The row's status word: the first column, or at 120+ the worst of the layer columns."""
    if width < 120:
        return row.split()[0]
    words = [w for w in row.split() if w in STATUS_WORDS]
    for word in ("FAIL", "ERROR", "WARN", "PASS", "skip"):
        if word in words:
            return word
    return ""


def assert_fits(screen: Screen) -> None:
    for line in screen.lines:
        assert len(line) <= screen.width, f"{len(line)} > {screen.width}: {line!r}"
    assert screen.section("Endpoints")[0].startswith("Endpoints on port 443 (")
    header = screen.section("Endpoints")[1].split()
    expected = (["endpoint", "dns", "tcp", "tls", "https", "result"] if screen.width >= 120
                else ["status", "endpoint", "result"])
    assert header == expected, "headers whole"


def shown_name(row: str, width: int) -> str:
    return row.split()[0 if width >= 120 else 1]


def names_match(shown: str, endpoint: str) -> bool:
    """A name as shown is the endpoint, or both of its ends around an ellipsis."""
    if "…" not in shown:
        return shown == endpoint
    head, tail = shown.split("…")
    return endpoint.startswith(head) and endpoint.endswith(tail) and len(head) >= 8


def assert_one_row_per_endpoint(screen: Screen, hosts: Sequence[str]) -> None:
    rows = endpoint_rows(screen)
    assert len(rows) == len(hosts), "\n".join(rows)
    for host in hosts:
        matching = [row for row in rows
                    if names_match(shown_name(row, screen.width), host)]
        assert len(matching) == 1, (host, rows)


def assert_problems_first(screen: Screen) -> None:
    statuses = [row_status(row, screen.width) for row in endpoint_rows(screen)]
    problems = [s in ("FAIL", "ERROR", "WARN") for s in statuses]
    assert problems == sorted(problems, reverse=True), statuses


def closing(screen: Screen) -> str:
    return screen.lines[-1]


def test_healthy_on_screen(healthy_lab: Lab, lab_hosts: List[str]) -> None:
    for width in WIDTHS:
        screen = check_on_screen(healthy_lab, width)
        assert screen.exit_code == 0, screen.text
        assert_fits(screen)
        assert_one_row_per_endpoint(screen, lab_hosts)
        for row in endpoint_rows(screen):
            assert row_status(row, width) == "PASS" and " ok" in row, row
            assert "TLS_" not in row, "no cipher on a passing row"
        host_rows = screen.section("This host")[2:]
        assert all(row.split()[0] in STATUS_WORDS for row in host_rows), "one line per check"
        assert closing(screen) == "Result: PASS - no problems; exit code 0"


def test_nxdomain_on_screen(healthy_lab: Lab, lab_hosts: List[str]) -> None:
    healthy_lab.dns(nxdomain=list(IDENTITY))
    for width in WIDTHS:
        screen = check_on_screen(healthy_lab, width)
        assert screen.exit_code == 2
        assert_fits(screen)
        assert_one_row_per_endpoint(screen, lab_hosts)
        assert_problems_first(screen)
        rows = endpoint_rows(screen)
        for host, row in zip(IDENTITY, rows[:2]):
            assert host in row, "short names stay whole"
            assert "FAIL" in row and "does not exist" in row, row
            assert row.endswith("[dns.nxdomain]"), row
        assert all(" ok" in row for row in rows[2:])
        assert re.fullmatch(r"Result: FAIL - 2 problems; read diagnosis 1 above; exit code 2",
                            closing(screen)), closing(screen)
        assert "1. FAIL DNS says a required host name does not exist" in screen.text


def test_port_443_dropped_on_screen(healthy_lab: Lab, lab_hosts: List[str]) -> None:
    healthy_lab.drop(port=443)
    for width in WIDTHS:
        screen = check_on_screen(healthy_lab, width, timeout="1")
        assert screen.exit_code == 2
        assert_fits(screen)
        assert_one_row_per_endpoint(screen, lab_hosts)
        for row in endpoint_rows(screen):
            # Install-only endpoints (the package servers) only warn once the agent is in.
            assert row_status(row, width) in ("FAIL", "WARN"), row
            assert "timed out" in row and row.endswith("[tcp.timeout]"), row
        assert_problems_first(screen)
        assert re.fullmatch(r"Result: FAIL - \d+ problems; read diagnoses 1-\d above; exit "
                            r"code 2", closing(screen)), closing(screen)
        # A remedy's command is printed whole, alone on its line, ready to copy.
        assert any(line.strip() == 'azcmagent config set proxy.bypass "AAD"'
                   for line in screen.lines)


def test_tls_inspection_on_screen(lab: Lab, lab_hosts: List[str]) -> None:
    lab.serve_endpoints(lab_hosts, issuer="foreign")
    lab.himds()
    for width in WIDTHS:
        screen = check_on_screen(lab, width)
        assert screen.exit_code == 2
        assert_fits(screen)
        assert_one_row_per_endpoint(screen, lab_hosts)
        for row in endpoint_rows(screen):
            assert row_status(row, width) in ("FAIL", "WARN"), row
            assert "certificate chain not" in row, row
            assert row.endswith("[tls.untrusted]"), row
        if width >= 160:
            assert len(screen.section("Endpoints")) == 2 + len(lab_hosts), "one line each"
        assert all("issued by 'Contoso TLS Inspection CA'" in " ".join(row.split())
                   for row in endpoint_rows(screen)), "the issuer, on the row's second line"
        assert "[tls_inspection]" in screen.text


def sgr_words(ansi: str) -> List[tuple]:
    """(colour codes, text) for every run of text that follows an escape sequence."""
    return [(codes.split(";"), text) for codes, text in
            re.findall(r"\x1b\[([0-9;]*)m([^\x1b]*)", ansi) if text.strip()]


def test_colour_means_something_and_degrades(healthy_lab: Lab) -> None:
    healthy_lab.dns(nxdomain=[IDENTITY[0]])
    screen = check_on_screen(healthy_lab, 80)
    assert "\x1b[" in screen.ansi, "colour on a terminal"
    red = {"31", "91"}
    green = {"32", "92"}
    yellow = {"33", "93"}
    seen = set()
    for codes, text in sgr_words(screen.ansi):
        word = text.strip()
        if red & set(codes):
            assert word in ("FAIL", "ERROR"), (codes, text)
            seen.add("red")
        if green & set(codes):
            assert word == "PASS", (codes, text)
            seen.add("green")
        if yellow & set(codes):
            assert word == "WARN", (codes, text)
    assert seen == {"red", "green"}
    for how in ({"NO_COLOR": "1"}, None):
        extra = ("--no-color",) if how is None else ()
        plain = check_on_screen(healthy_lab, 80, *extra, env=how)
        assert not re.search(r"\x1b\[[0-9;]*[1-9][0-9;]*m", plain.ansi), \
            "no colour (nor bold) with NO_COLOR or --no-color"
        # Nothing lost: the same words, only the timing differs.
        def words(text: str) -> str:
            return re.sub(r"in \d+\.\d+ s", "", ANSI.sub("", text))
        assert words(plain.text) == words(screen.text)


def _fits(line: str, width: int) -> bool:
    """A line fits the width, or is one URL longer than the width alone at the left margin.

    A link is never broken (a broken URL cannot be clicked or copied), so ``render.prose.links``
    gives one that is too long a line of its own starting in column 0: the terminal folds it
    once, and it stays whole."""
    return len(line) <= width or (URL_ALONE.fullmatch(line) is not None)


URL_ALONE = re.compile(r"https://\S+")


@pytest.mark.parametrize("argv", [["explain", "AZCM0041"], ["explain", "tcp.timeout"]])
def test_explain_fits_and_no_color(lab: Lab, argv: List[str]) -> None:
    for width in (80, 100):
        screen = run_on_screen(lab, argv, width)
        assert screen.exit_code == 0
        for line in screen.lines:
            assert _fits(line, width), line
        assert "\x1b[" in screen.ansi
        plain = run_on_screen(lab, [*argv, "--no-color"], width)
        assert not re.search(r"\x1b\[[0-9;]*[1-9][0-9;]*m", plain.ansi)
        assert plain.text == screen.text


def test_diagnose_fits_with_commands_whole(lab: Lab) -> None:
    log = lab.workdir / "azcmagent.log"
    log.write_text("time=\"2026-03-04T10:00:00Z\" level=error msg=\"The subscription isn't "
                   "registered to use namespace 'Microsoft.HybridCompute'\"\n")
    log.chmod(0o644)
    for width in (80, 100):
        screen = run_on_screen(lab, ["diagnose", str(log)], width)
        assert screen.exit_code == 2, screen.text
        for line in screen.lines:
            assert len(line) <= width, line
        assert "[resource_provider_not_registered]" in screen.text
        assert any(line.strip() == "az provider register --namespace Microsoft.HybridCompute"
                   for line in screen.lines), screen.text
        plain = run_on_screen(lab, ["diagnose", str(log), "--no-color"], width)
        assert not re.search(r"\x1b\[[0-9;]*[1-9][0-9;]*m", plain.ansi)
        assert plain.text == screen.text
