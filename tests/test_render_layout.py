"""The terminal report laid out at 80, 100 and 160 columns and as a list, from hand-built reports.

What a person sees: no line wider than the terminal, one line per check, a problem's reason and
failure code always on its line, problems first, headers whole, long host names shortened in the
middle; into a file or a narrow terminal, a list that cuts nothing; commands in a remedy whole.
"""

from __future__ import annotations

import re
from typing import List, Optional

import pytest
from factories import diagnosis, report, result

from arc_preflight import cli_common
from arc_preflight.model import Report, Result, Status
from arc_preflight.render import table
from arc_preflight.render.commands import fold_command, split_step
from arc_preflight.render.fit import cut_keeping_tail, cut_middle
from arc_preflight.render.prose import remedy_step

LONG = "agentserviceapi.guestconfiguration.azure.com"
HOSTS = ["login.microsoftonline.com", "login.windows.net", "management.azure.com",
         "gbl.his.arc.azure.com", LONG, "eastus-gas.guestconfiguration.azure.com",
         "guestnotificationservice.azure.com", "packages.microsoft.com"]
TIMEOUT = "203.0.113.7:443 timed out (no answer: packets silently dropped?)"
UNTRUSTED = ("certificate chain not trusted: issued by 'Contoso TLS Inspection CA' "
             "(unable to get local issuer certificate)")
CIPHER = "TLS_AES_256_GCM_SHA384"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def endpoint(host: str, fail: Optional[str] = None) -> List[Result]:
    """dns, tcp, tls, https results for host:443; ``fail`` is the layer that fails."""
    target = f"{host}:443"
    layers = []
    blocked = None
    for kind in ("dns", "tcp", "tls", "https"):
        check_id = f"{kind}:{host}" if kind == "dns" else f"{kind}:{target}"
        tgt = host if kind == "dns" else target
        if blocked:
            layers.append(result(check_id, Status.SKIP, f"not run: {blocked} did not pass",
                                 target=tgt, blocked_by=blocked))
        elif kind == fail:
            summary, code = {"dns": ("name does not exist (NXDOMAIN)", "dns.nxdomain"),
                             "tcp": (TIMEOUT, "tcp.timeout"),
                             "tls": (UNTRUSTED, "tls.untrusted")}[kind]
            layers.append(result(check_id, Status.FAIL, summary, code=code, target=tgt))
            blocked = check_id
        else:
            facts = {"version": "TLSv1.3", "cipher": CIPHER,
                     "issuer": "Microsoft Azure RSA TLS Issuing CA 03"} if kind == "tls" else {}
            summary = {"dns": "resolved to 20.37.1.1", "tcp": "connected in 12 ms",
                       "tls": f"TLSv1.3, {CIPHER}, issuer Microsoft Azure RSA TLS Issuing CA 03",
                       "https": "HTTP 401 in 40 ms"}[kind]
            layers.append(result(check_id, Status.PASS, summary, target=tgt, facts=facts))
    return layers


def host_checks(warn: bool = False) -> List[Result]:
    return [
        result("privilege", Status.WARN if warn else Status.PASS,
               "running as uid 1000, not root" if warn else "running as root",
               code="privilege.not_admin" if warn else None, target="this process"),
        result("himds", Status.PASS, "HIMDS answered (/subscriptions/00000000-0000-0000-0000-"
               "000000000000/resourceGroups/arc-rg/providers/Microsoft.HybridCompute/machines/"
               "web01)", target="himds"),
        result("service:himdsd", Status.SKIP, "himdsd is not installed (agent not installed "
               "yet)", target="himdsd"),
    ]


PROXY_STEP = ("If traffic goes through a proxy, add these host names to the proxy allow-list, "
              'or bypass the proxy for them with: azcmagent config set proxy.bypass "AAD"')


def healthy() -> Report:
    checks = host_checks()
    for host in HOSTS:
        checks += endpoint(host)
    return report(checks)


def failing() -> Report:
    """The second endpoint's TCP is dropped, the fifth fails TLS, the privilege check warns."""
    checks = host_checks(warn=True)
    for number, host in enumerate(HOSTS):
        checks += endpoint(host, {1: "tcp", 4: "tls"}.get(number))
    diags = [diagnosis("A proxy or firewall blocks the identity endpoints",
                       cause_id="firewall_identity", category="firewall_or_proxy_blocking",
                       remedy=("Allow outbound TCP 443 to login.windows.net.", PROXY_STEP),
                       evidence=(f"tcp:login.windows.net:443: {TIMEOUT}",)),
             diagnosis("TLS inspection", cause_id="tls_inspection", category="tls_inspection",
                       evidence=(f"tls:{LONG}:443: {UNTRUSTED}",)),
             diagnosis("Not running as root", cause_id="not_elevated", category="not_admin",
                       severity="warn", evidence=("privilege: running as uid 1000",))]
    return report(checks, diags)


def section(text: str, title: str) -> List[str]:
    """The lines of a section, from its title to the blank line after it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


@pytest.mark.parametrize("width", [80, 100, 160])
@pytest.mark.parametrize("build", [healthy, failing])
def test_no_line_wider_than_the_terminal(width: int, build: object) -> None:
    text = table.render(build(), width=width)  # type: ignore[operator]
    for line in text.splitlines():
        assert len(line) <= width, line


@pytest.mark.parametrize("width", [80, 100, 160])
def test_one_line_per_endpoint_and_per_host_check(width: int) -> None:
    text = table.render(failing(), width=width)
    rows = section(text, "Endpoints")
    starts = [line for line in rows[2:] if not line.startswith(" ")]
    assert len(starts) == len(HOSTS), rows  # one row per endpoint
    # Only the TLS row's long reason may go on, under the result column, on one more line.
    assert len(rows) == 2 + len(HOSTS) + (1 if width < 120 else 0), rows
    assert section(table.render(healthy(), width=width), "Endpoints")[2:] == \
        [line for line in section(table.render(healthy(), width=width), "Endpoints")[2:]
         if not line.startswith(" ")], "passing rows: one line each"
    host = section(text, "This host")
    assert len(host) == 2 + 3, host


@pytest.mark.parametrize("width", [80, 100, 160])
def test_failing_rows_first_with_reason_and_code(width: int) -> None:
    rows = section(table.render(failing(), width=width), "Endpoints")[2:]
    assert "login.windows.net " in rows[0] and "[tcp.timeout]" in rows[0]
    assert "timed out" in rows[0]
    tls = rows[1] if width >= 120 else rows[1] + rows[2]
    assert "[tls.untrusted]" in tls and "certificate chain not" in tls
    assert "issued by 'Contoso TLS Inspection CA'" in " ".join(tls.split())
    assert "agentservice" in rows[1]
    starts = [row for row in rows if not row.startswith(" ")]
    assert all("FAIL" in row for row in starts[:2])
    assert not any("FAIL" in row for row in starts[2:])
    host = section(table.render(failing(), width=width), "This host")[2:]
    assert host[0].startswith("WARN") and "[privilege.not_admin]" in host[0]


@pytest.mark.parametrize("width", [80, 100, 160])
def test_headers_whole(width: int) -> None:
    text = table.render(failing(), width=width)
    header = section(text, "Endpoints")[1].split()
    if width >= 120:
        assert header == ["endpoint", "dns", "tcp", "tls", "https", "result"]
    else:
        assert header == ["status", "endpoint", "result"]
    assert section(text, "This host")[1].split() == ["status", "check", "result"]
    assert "Endpoints on port 443 (8; 2 problems, shown first)" in text


def test_passing_rows_say_little() -> None:
    narrow = section(table.render(healthy(), width=80), "Endpoints")[2:]
    for row in narrow:
        assert row.startswith("PASS")
        assert " ok" in row
        assert CIPHER not in row, "the cipher is for --verbose and JSON"
    assert "ok, TLS 1.3, Microsoft Azure" in narrow[0]
    wide = section(table.render(healthy(), width=160), "Endpoints")[2:]
    assert all(row.count("PASS") == 4 for row in wide)


def test_long_host_names_shortened_in_the_middle() -> None:
    rows = section(table.render(failing(), width=80), "Endpoints")[2:]
    long_row = next(row for row in rows if "agentservice" in row)
    assert LONG not in long_row
    assert "…" in long_row and "agentservice" in long_row and "azure.com " in long_row
    wide = table.render(failing(), width=160)
    assert f"{LONG} " in wide, "whole where there is room"
    assert "Endpoints on port 443 (8;" in wide, "the port all endpoints share, said once"


def test_closing_line_counts_problems_and_names_the_diagnoses() -> None:
    lines = table.render(failing(), width=80).rstrip().splitlines()
    assert lines[-1] == "Result: FAIL - 3 problems; read diagnoses 1-3 above; exit code 2"
    assert lines[-2].startswith(f"{len(failing().checks)} checks: 2 failed, 1 warning(s)")
    healthy_last = table.render(healthy(), width=80).rstrip().splitlines()[-1]
    assert healthy_last == "Result: PASS - no problems; exit code 0"


@pytest.mark.parametrize("width", [80, 100, 160])
def test_remedy_command_whole_on_its_own_line(width: int) -> None:
    lines = table.render(failing(), width=width).splitlines()
    command = 'azcmagent config set proxy.bypass "AAD"'
    assert any(line.strip() == command for line in lines), "the command alone on its line"


def test_list_layout_for_files_and_pipes() -> None:
    text = table.render(failing(), width=80, terminal=False)
    assert "status  endpoint" not in text, "no columns"
    for line in text.splitlines():
        assert len(line) <= 80, line
    flat = " ".join(text.split())
    # Nothing cut: the full reasons, which the table shortens, are all there.
    assert f"FAIL login.windows.net:443 {TIMEOUT} [tcp.timeout]" in flat
    assert f"FAIL {LONG}:443 {UNTRUSTED} [tls.untrusted]" in flat
    assert "PASS login.microsoftonline.com:443 ok, TLS 1.3, Microsoft Azure" in flat
    assert "…" not in text


@pytest.mark.parametrize("width", [40, 60, 79])
def test_narrow_terminal_degrades_to_a_list(width: int) -> None:
    text = table.render(failing(), width=width)
    assert "status  endpoint" not in text
    lines = text.splitlines()
    row = lines.index("FAIL  login.windows.net:443")
    assert "timed out" in lines[row + 1], "the reason on the next lines, never an empty column"
    for line in lines:
        # Only a word longer than the whole line may overflow (never at 60 columns and up).
        assert len(line) <= width or " " not in line.strip() or width < 60, line


def test_verbose_lists_every_layer() -> None:
    text = table.render(healthy(), width=100, verbose=True)
    assert CIPHER in text
    assert text.count("dns PASS: resolved to 20.37.1.1") == len(HOSTS)
    assert text.count("https PASS: HTTP 401 in 40 ms") == len(HOSTS)
    assert "/resourceGroups/arc-rg/" in " ".join(text.split()), "host checks in full"
    for line in text.splitlines():
        assert len(line) <= 100, line


def test_colour_only_on_status_words_and_nothing_lost_without_it() -> None:
    plain = table.render(failing(), width=80, color=False)
    coloured = table.render(failing(), width=80, color=True)
    assert "\x1b[" not in plain
    assert ANSI.sub("", coloured) == plain, "colour adds nothing a reader without it misses"
    coloured_words = re.findall(r"\x1b\[([0-9;]*)m([^\x1b]*)", coloured)
    colours = {"31": {"FAIL", "ERROR"}, "33": {"WARN"}, "32": {"PASS"}}
    seen = set()
    for codes, text in coloured_words:
        for code, words in colours.items():
            if code in codes.split(";"):
                assert text.strip() in words, (codes, text)
                seen.add(code)
    assert seen == {"31", "33", "32"}


def test_no_color_and_terminal_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert cli_common.use_color("table", None)
    assert not cli_common.use_color("table", None, no_color=True)
    assert not cli_common.use_color("json", None)
    assert not cli_common.use_color("table", "out.txt")
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli_common.use_color("table", None)
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not count
    assert cli_common.use_color("table", None)
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    monkeypatch.delenv("COLUMNS", raising=False)
    assert not cli_common.to_terminal(None)
    assert cli_common.terminal_width(None) == 80
    monkeypatch.setenv("COLUMNS", "132")
    assert cli_common.terminal_width(None) == 132


# ---------------------------------------------------------------------------------------------
# Pieces: cutting, commands in remedies


def test_cutting_keeps_the_code_and_both_ends_of_a_name() -> None:
    assert cut_middle(f"{LONG}:443", 28) == "agentserviceap…azure.com:443"
    shortened = cut_keeping_tail(TIMEOUT, "[tcp.timeout]", 40)
    assert shortened == "203.0.113.7:443 timed out [tcp.timeout]", "asides go first"
    cut = cut_keeping_tail(UNTRUSTED, "[tls.untrusted]", 42)
    assert cut.endswith("… [tls.untrusted]") and len(cut) == 42


@pytest.mark.parametrize("step, commands", [
    (PROXY_STEP, [("line", 'azcmagent config set proxy.bypass "AAD"')]),
    ("Check local rules: sudo iptables -S / sudo nft list ruleset.",
     [("line", "sudo iptables -S"), ("line", "sudo nft list ruleset")]),
    ("sudo systemctl start himdsd && systemctl status himdsd",
     [("line", "sudo systemctl start himdsd && systemctl status himdsd")]),
    ("Query each configured resolver directly (nslookup <host> <dns-server-ip>) to find it.",
     [("inline", "nslookup <host> <dns-server-ip>")]),
    ('Fix it with azcmagent config set proxy.url "http://<proxy FQDN or IP>:<port>", or clear '
     "it with azcmagent config clear proxy.url if no proxy is needed.",
     [("inline", 'azcmagent config set proxy.url "http://<proxy FQDN or IP>:<port>"'),
      ("inline", "azcmagent config clear proxy.url")]),
    ("Run azcmagent elevated (sudo on Linux, 'Run as administrator' on Windows) and retry.", []),
])
def test_commands_found_in_remedy_steps(step: str, commands: list) -> None:
    found = [(s.kind, s.text) for s in split_step(step) if s.kind != "prose"]
    assert found == commands
    assert all(text in step for _, text in found), "a command is the step's own text"


@pytest.mark.parametrize("width", [40, 60, 80])
def test_remedy_step_never_splits_a_command(width: int) -> None:
    step = ('Fix it with azcmagent config set proxy.url "http://<proxy FQDN or IP>:<port>", or '
            "clear it with azcmagent config clear proxy.url if no proxy is needed.")
    lines = [line.plain for line in remedy_step(2, step, width, 5)]
    text = "\n".join(lines)
    assert 'azcmagent config set proxy.url "http://<proxy FQDN or IP>:<port>"' in text
    assert "azcmagent config clear proxy.url" in text
    assert lines[0].startswith("     2. Fix it with")


def test_long_command_folded_with_a_line_continuation() -> None:
    command = ('az role assignment create --assignee <appId or UPN> --role "Azure Connected '
               'Machine Onboarding" --scope /subscriptions/<sub>/resourceGroups/<rg>')
    lines = fold_command(command, 70)
    assert len(lines) == 3 and all(len(line) <= 70 for line in lines)
    assert lines[0].endswith(" \\") and lines[1].startswith("    --role ")
    assert " ".join(line.rstrip(" \\").strip() for line in lines) == command
    ps = fold_command("Get-NetTCPConnection -LocalPort 40342 -State Listen | Select Owner", 40)
    assert ps[0].endswith(" `"), "PowerShell continues a line with a backtick"


def test_a_new_probe_kind_still_shows() -> None:
    extra = result("revocation:login.windows.net:443", Status.WARN, "OCSP responder timed out",
                   code="revocation.timeout")
    text = table.render(report([*host_checks(), extra]), width=80)
    assert "WARN    revocation:" in text and "[revocation.timeout]" in text


def test_a_command_too_long_for_its_sentence_gets_its_own_lines() -> None:
    step = ("Wait until az provider show --namespace Microsoft.HybridCompute --query "
            "registrationState reports Registered, then retry.")
    lines = [line.plain for line in remedy_step(2, step, 80, 5)]
    assert all(len(line) <= 80 for line in lines), lines
    assert lines == ["     2. Wait until",
                     "          az provider show --namespace Microsoft.HybridCompute \\",
                     "              --query registrationState",
                     "        reports Registered, then retry."]


@pytest.mark.parametrize("width", [80, 100])
def test_every_remedy_of_the_knowledge_base_fits(width: int) -> None:
    """Each step of every cause, both platforms: within the width, except a single word (a
    link) longer than the whole line, and every command found is printed whole."""
    from arc_preflight import kb

    for cause in kb.load().causes:
        for step in (*cause.remedy, *cause.remedy_linux, *cause.remedy_windows):
            lines = [line.plain for line in remedy_step(1, step, width, 5)]
            for line in lines:
                assert len(line) <= width or len(line.split()) == 1, (cause.id, line)
            text = "\n".join(lines)
            for segment in split_step(step):
                if segment.kind != "prose" and len(segment.text) < width - 10:
                    assert segment.text in text, (cause.id, segment.text)


def test_a_diagnosis_names_the_cause_id_that_explain_looks_up() -> None:
    from factories import diagnosis, report, result

    from arc_preflight.render import table

    shown = table.render(report(checks=(result("dns:login.microsoftonline.com", "fail",
                                               "NXDOMAIN", code="dns.nxdomain"),),
                                diagnoses=(diagnosis(),)), width=80)
    assert "[dns_failure] dns_name_not_found" in shown
