"""``arc-preflight explain``: codes, exit codes, cause ids, pasted text, --list, JSON, errors.

No network; the knowledge base is the packaged one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Run

from arc_preflight import kb as kbmod

KB = kbmod.load()
SECRET = "Zx8Q~sEcReTvAlUe0123456789abcdefgh"


@pytest.fixture
def run(run_cli_real_kb: Any) -> Any:
    return run_cli_real_kb


def ids(result: Run) -> list:
    return [c["cause_id"] for c in json.loads(result.out)["causes"]]


@pytest.mark.parametrize("query", ["AZCM0041", "azcm0041", "41", "0041", "AZCM41"])
def test_azcm_code_forms_agree(run: Any, query: str) -> None:
    result = run("explain", query, "--format", "json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["matched_by"] == "azcm" and doc["code"] == "AZCM0041"
    assert ids(result) == [c.id for c in KB.by_azcm("AZCM0041")]
    assert {"invalid_sp_secret", "sp_or_tenant_not_found"} <= {
        c["category"] for c in doc["causes"]}


def test_azcm_table(run: Any) -> None:
    result = run("explain", "AZCM0042")
    assert result.code == 0
    assert "AZCM0042 (agent exit code 42)" in result.out
    assert "Fix:" in result.out and "[missing_role_permission]" in result.out


def test_success_code(run: Any) -> None:
    result = run("explain", "0")
    assert result.code == 0 and "success" in result.out


def test_cause_id(run: Any) -> None:
    cause = KB.causes[0]
    result = run("explain", cause.id, "-f", "json")
    assert result.code == 0
    doc = json.loads(result.out)
    assert doc["matched_by"] == "cause_id" and ids(result) == [cause.id]
    entry = doc["causes"][0]
    assert entry["remedy"] and entry["title"] == cause.title and entry["docs"]


def test_probe_code(run: Any) -> None:
    result = run("explain", "tcp.timeout", "-f", "json")
    assert result.code == 0
    expected = KB.for_failure("tcp.timeout")
    assert expected is not None and ids(result) == [expected.id]


@pytest.mark.parametrize(("text", "category"), [
    ("Invalid client secret is provided", "invalid_sp_secret"),
    ("The subscription isn't registered to use namespace 'Microsoft.HybridCompute'",
     "resource_provider_not_registered"),
    ("Get https://management.azure.com/subscriptions/x/resourcegroups/rg/providers/"
     "Microsoft.HybridCompute/machines/m?api-version=2019-03-18-preview: Forbidden",
     "firewall_or_proxy_blocking"),
    ("dial tcp 40.126.9.7:443: connect: network is unreachable", "network_unreachable"),
    ("x509: certificate signed by unknown authority", "tls_inspection"),
])
def test_pasted_text_is_classified_like_diagnose(run: Any, text: str, category: str) -> None:
    result = run("explain", text, "-f", "json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["matched_by"] == "text"
    assert doc["causes"][0]["category"] == category
    assert doc["diagnoses"][0]["category"] == category
    table = run("explain", text)
    assert table.code == 0 and f"[{category}]" in table.out and "Evidence:" in table.out


def test_unquoted_words_are_joined(run: Any) -> None:
    result = run("explain", "Invalid", "client", "secret", "is", "provided", "-f", "json")
    assert result.code == 0 and json.loads(result.out)["causes"][0]["category"] == \
        "invalid_sp_secret"


def test_text_from_stdin(run: Any) -> None:
    result = run("explain", "-", "-f", "json",
                 stdin="some noise\nAADSTS7000215: Invalid client secret provided.\n")
    assert result.code == 0 and json.loads(result.out)["causes"][0]["category"] == \
        "invalid_sp_secret"


def test_pasted_secrets_are_redacted(run: Any) -> None:
    text = f"client_secret={SECRET} AADSTS7000215: Invalid client secret provided."
    for args in ([], ["-f", "json"]):
        result = run("explain", text, *args)
        assert result.code == 0
        assert SECRET not in result.out + result.err
    missing = run("explain", f"client_secret={SECRET} nothing known here")
    assert missing.code == 3 and SECRET not in missing.err


@pytest.mark.parametrize("query", ["AZCM0999", "999", "no-such-cause", "completely unknown words"])
def test_nothing_matches(run: Any, query: str) -> None:
    result = run("explain", query)
    assert result.code == 3, result
    assert result.out == "" and "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1 and "no knowledge-base entry matches" in lines[0]


def test_long_text_error_stays_one_short_line(run: Any) -> None:
    result = run("explain", "word " * 500 + "\nsecond line")
    assert result.code == 3
    assert len(result.err.splitlines()) == 1 and len(result.err) < 250


def test_list(run: Any) -> None:
    result = run("explain", "--list")
    assert result.code == 0
    for cause in KB.causes:
        assert cause.id in result.out
    doc = json.loads(run("explain", "--list", "-f", "json").out)
    assert [c["cause_id"] for c in doc["causes"]] == [c.id for c in KB.causes]
    assert doc["schema"] == "arc-preflight/1"


def test_usage_errors(run: Any) -> None:
    for argv in (["explain"], ["explain", "AZCM0041", "--list"],
                 ["explain", "AZCM0041", "-f", "yaml"], ["explain", " "]):
        result = run(*argv)
        assert result.code == 3, argv
        assert len(result.err.splitlines()) == 1 and result.out == ""


@pytest.mark.parametrize("category",
                         ["dns_failure", "TLS_INSPECTION", "firewall_or_proxy_blocking"])
def test_category_lists_its_causes(run: Any, category: str) -> None:
    """What check shows in brackets can be looked up: every cause of the category."""
    result = run("explain", category, "--format", "json")
    assert result.code == 0, result
    doc = json.loads(result.out)
    assert doc["matched_by"] == "category"
    expected = {c.id for c in KB.causes if c.category == category.lower()}
    assert expected and set(ids(result)) == expected
    table = run("explain", category)
    assert table.code == 0 and f"category {category.lower()}" in table.out


def test_a_cause_id_wins_over_a_category_of_the_same_name(run: Any) -> None:
    result = run("explain", "not_admin", "--format", "json")
    doc = json.loads(result.out)
    assert doc["matched_by"] == "cause_id" and ids(result) == ["not_admin"]
