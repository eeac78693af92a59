"""Terminal escapes and control characters in what servers, logs and file names say (issue 13,
item 3): every format shows them made visible, and JUnit stays well-formed XML."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from factories import diagnosis, report, result

from arc_preflight import render
from arc_preflight.model import Change

# A title change, a screen clear, a fake green OK, NUL, BEL, a bare CR, a right-to-left override,
# a C1 control and a lone surrogate (what surrogateescape makes of invalid UTF-8).
HOSTILE = ("\x1b]0;pwned\x07\x1b[2J\x1b[32mOK\x1b[0m nul\x00 bel\x07 cr\rback rtl\u202eevil "
           "c1\x9b2J sur\udcff end")
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def hostile_report() -> Any:
    checks = [
        result("himds", "fail", f"HIMDS answered ({HOSTILE})", code="himds.bad_response",
               facts={"resourceId": HOSTILE, HOSTILE: "key too"}),
        result("proxy:10.0.0.1:3128", "warn", f"proxy refused CONNECT ({HOSTILE})",
               code="proxy.denied", target=f"10.0.0.1:3128 {HOSTILE}"),
        result("dns:x.example", "error", HOSTILE, code="probe.crashed"),
        result("tcp:x.example:443", "skip", HOSTILE),
        result("privilege", "pass", HOSTILE),
    ]
    diag = diagnosis(evidence=(f"himds: {HOSTILE}",), checks=("himds",))
    return report(checks, [diag], notices=[f"state file {HOSTILE} unreadable"],
                  changes=[Change("himds", "new_failure", "pass", "fail", "t")])


@pytest.mark.parametrize("fmt", sorted(render.FORMATS))
def test_every_format_makes_control_characters_visible(fmt: str) -> None:
    text = render.get(fmt)(hostile_report())
    if fmt == "json":
        text = json.dumps(json.loads(text), ensure_ascii=False)  # decode \u escapes first
    found = FORBIDDEN.findall(text)
    assert not found, f"{fmt}: raw control characters {sorted(set(found))!r}"
    if fmt not in ("prometheus", "html"):  # labels: the target only; html cleans its own way
        assert "\\x1b" in text, f"{fmt}: the escape is not shown at all"


def test_junit_is_well_formed_for_any_input() -> None:
    text = render.get("junit")(hostile_report())
    root = ET.fromstring(text.split("\n", 1)[1])
    assert root.tag == "testsuite"
    assert "\\x1b" in ET.tostring(root, encoding="unicode")


def test_table_on_a_terminal_cannot_be_driven(monkeypatch: pytest.MonkeyPatch) -> None:
    text = render.get("table")(hostile_report())
    assert "\x1b]0;" not in text and "\x1b[2J" not in text and "\x07" not in text


# --- item 7: diagnose and explain never print a pasted secret --------------------------------

PASTED = [
    'time="2024-05-01T10:00:00Z" level=error msg="token request failed: '
    '{\\"client_secret\\": \\"Zq7+W/S3cr3tOne\\", \\"error\\": \\"invalid_client\\"}" '
    'AADSTS7000215: Invalid client secret provided',
    "level=error msg=\"connect failed\" config: client_secret = 'Zq7 S3cr3tTwo' AZCM0041",
    "POST https://login.microsoftonline.com/t/oauth2/v2.0/token body: grant_type=x&"
    "client_secret%3DZq7S3cr3tThree%26scope%3Dy AADSTS7000215",
    "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zq7S3cr3tFour==;EndpointSuffix=x "
    "dial tcp 10.0.0.1:443: i/o timeout",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;"
    "SharedAccessKey=Zq7S3cr3tFive= dial tcp 10.0.0.1:443: i/o timeout",
]


@pytest.mark.parametrize("line", PASTED)
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_diagnose_and_explain_hide_pasted_secrets(run_cli_real_kb: Any, line: str,
                                                  fmt: str) -> None:
    diagnosed = run_cli_real_kb("diagnose", "-", "--all", "--format", fmt, stdin=line + "\n")
    explained = run_cli_real_kb("explain", line, "--format", fmt)
    for run in (diagnosed, explained):
        assert "S3cr3t" not in run.out + run.err, run.out[-1500:]
