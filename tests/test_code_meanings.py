"""Issue 15 item 8: AZCM codes and agent exit codes read the way the current article reads them.

Each code's first knowledge-base entry must carry the current troubleshoot-agent-onboard meaning
(its key term) and remedy before any older meaning; remedy steps the article does not give are
marked as such. When the local mirror of the Microsoft docs is present, the key terms are also
checked against the article's own table rows, so a doc change that moves a meaning shows up here.
No network.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from arc_preflight import kb as kbmod

KB = kbmod.load()
MIRROR = Path("/work/.mirror/MicrosoftDocs+azure-management-docs/repo")
ARTICLE = "articles/azure-arc/servers/troubleshoot-agent-onboard.md"

# code -> (key term of the current meaning, key term of the current remedy), lower case.
CURRENT: Dict[str, tuple] = {
    "AZCM0004": ("arc proxy service", "himds"),
    "AZCM0006": ("initialization", "prerequisites"),
    "AZCM0105": ("signed message", "connectivity"),
    "AZCM0107": ("retrieve the certificate", "certificate store"),
    "AZCM0150": ("generic", "support ticket"),
    "AZCM0157": ("curl", "executable"),
    "AZCM0160": ("log file", "writable"),
}

# Codes whose number meant something else in older revisions: (current term, older term).
CHANGED = {
    "AZCM0105": ("signed message", "managed identity certificate"),
    "AZCM0157": ("curl", "repository metadata"),
}


def first(code: str) -> kbmod.Cause:
    found = KB.by_azcm(code)
    assert found, code
    return found[0]


def _article() -> Optional[str]:
    try:
        return subprocess.run(["git", "-C", str(MIRROR), "show", f"HEAD:{ARTICLE}"],
                              check=True, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def _row(article: str, code: str) -> str:
    m = re.search(rf"^\| {code} \|(.*)$", article, re.MULTILINE)
    assert m, code
    return m.group(1)


@pytest.mark.parametrize("code", sorted(CURRENT))
def test_first_entry_carries_the_current_meaning_and_remedy(code: str) -> None:
    meaning, remedy = CURRENT[code]
    cause = first(code)
    assert meaning in (cause.title + " " + cause.explanation).lower(), cause.id
    assert meaning in cause.title.lower() or meaning in cause.explanation.lower()[:200], cause.id
    assert remedy in cause.remedy[0].lower(), (cause.id, cause.remedy[0])
    assert code in cause.title or code in cause.explanation, cause.id


@pytest.mark.parametrize("code", sorted(CURRENT))
def test_key_terms_are_the_articles(code: str) -> None:
    article = _article()
    if article is None:
        pytest.skip("docs mirror not available")
    row = _row(article, code).lower().replace("`", "")
    meaning, remedy = CURRENT[code]
    assert meaning.split()[-1] in row and remedy.split()[-1] in row, (code, row)


@pytest.mark.parametrize("code", sorted(CHANGED))
def test_older_meaning_follows_the_current_one(code: str) -> None:
    now, before = CHANGED[code]
    cause = first(code)
    text = cause.explanation.lower()
    assert now in text and before in text, cause.id
    assert text.index(now) < text.index(before), cause.id
    assert "message" in text  # how to tell them apart
    assert code in cause.notes and "2026-07-07" in cause.notes, cause.id


@pytest.mark.parametrize("code", ["AZCM0045", "AZCM0083"])
def test_reconnect_codes_lead_with_the_documented_remedy(code: str) -> None:
    cause = first(code)
    assert "connectivity" in cause.remedy[0].lower()
    assert any("log" in step.lower() for step in cause.remedy[:2])
    for step in cause.remedy:
        if "disconnect" in step.lower():
            assert step.startswith("Not in the article"), step


def test_azcm0082_names_himds() -> None:
    cause = first("AZCM0082")
    assert "HIMDS" in cause.explanation
    assert any("AZCM0082" in step and "himds" in step for step in cause.remedy)


def test_azcm0154_names_the_powershell_version() -> None:
    cause = first("AZCM0154")
    assert "PowerShell 3.0" in cause.explanation
    assert any("3.0" in step for step in cause.remedy_windows)
    assert "4.0" in cause.notes


def test_azcm0004_marks_the_arcproxy_step_as_added() -> None:
    cause = first("AZCM0004")
    assert "arcproxy" not in cause.remedy[0].lower()
    assert "not in the article" in cause.remedy[1].lower()


def test_exit_code_106_has_an_entry() -> None:
    cause = first("AZCM0106")
    assert "parameters file" in cause.title and "106" in cause.title
    assert "disk space" in cause.remedy[0] and "permissions" in cause.remedy[0]
    assert "exit code" in cause.notes.lower()


def test_gateway_bypass_cites_both_sources() -> None:
    cause = KB.get("proxy_bypass_with_gateway")
    assert cause is not None
    assert "arc-gateway.md" in cause.notes and "agent-release-notes.md" in cause.notes
    assert "1.64" in cause.notes and "1.64" in cause.explanation
    assert "not supported" in cause.explanation


@pytest.fixture
def run(run_cli_real_kb: Any) -> Any:
    return run_cli_real_kb


def test_explain_106(run: Any) -> None:
    result = run("explain", "106")
    assert result.code == 0, result
    assert "AZCM0106 (agent exit code 106)" in result.out
    assert "parameters file" in result.out


def test_explain_azcm0160(run: Any) -> None:
    result = run("explain", "AZCM0160", "--format", "json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["matched_by"] == "azcm" and doc["code"] == "AZCM0160"
    assert doc["causes"][0]["cause_id"] == "msi_log_unwritable"
    assert "writable" in doc["causes"][0]["remedy"][0]
