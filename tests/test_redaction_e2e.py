"""Known fake secrets pushed through every command and every output format must never come out.

The secrets arrive the ways they do in the field: the service-principal secret by flag, by
environment variable and by file; a password inside a proxy URL; and, in agent logs and pasted
error text, client_secret= values, bearer tokens, JWTs, SAS signatures and proxy credentials.
No network is used: ``check`` runs only the privilege probe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import pytest

from arc_preflight import kb
from arc_preflight.config import FORMATS

REAL_KB = kb.load  # run_cli swaps in a small knowledge base; the log tests need the real one

SP_SECRET = "Zq8~fakeSpSecret.Value_42"
PROXY_PASSWORD = "Pr0xyPassw0rd!"
CLIENT_SECRET = "cl1entS3cretFromTheLog"
BEARER = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJlLXZhbHVl"
SAS_SIG = "sv2021fakeSASsignatureAbC%3D"
ALL = (SP_SECRET, PROXY_PASSWORD, CLIENT_SECRET, BEARER, SAS_SIG)

LOG = f"""\
time="2026-11-20T10:00:00Z" level=info msg="Onboarding Machine"
time="2026-11-20T10:00:01Z" level=info msg="Running azcmagent connect --service-principal-id 0000 --service-principal-secret {SP_SECRET}"
time="2026-11-20T10:00:02Z" level=error msg="Failed to acquire authorization token from SPN" Error="Post https://login.windows.net/t/oauth2/token?api-version=1.0: proxyconnect tcp: http://arc:{PROXY_PASSWORD}@proxy.corp:3128 Forbidden client_secret={CLIENT_SECRET}"
ERROR[0003] request failed: Authorization: Bearer {BEARER} AADSTS7000215: Invalid client secret provided.
time="2026-11-20T10:00:04Z" level=error msg="download failed" Error="GET https://x.blob.core.windows.net/c/b?sv=2021&sig={SAS_SIG}: 403"
time="2026-11-20T10:00:05Z" level=fatal msg="AZCM0041: Failed to get access token"
"""


def assert_clean(*texts: str) -> None:
    joined = "\n".join(texts)
    for secret in ALL:
        assert secret not in joined, f"secret leaked: {secret[:6]}..."


@pytest.fixture
def secret_file(tmp_path: Path) -> str:
    path = tmp_path / "sp-secret"
    path.write_text(SP_SECRET + "\n")
    return str(path)


@pytest.fixture
def log_file(tmp_path: Path) -> str:
    path = tmp_path / "azcmagent.log"
    path.write_text(LOG)
    return str(path)


def check_argv(tmp_path: Path, *extra: str) -> List[str]:
    return ["check", "--only", "privilege", "--agent-dir", str(tmp_path / "agent"),
            "--tenant-id", "00000000-0000-0000-0000-000000000000",
            "--service-principal-id", "11111111-1111-1111-1111-111111111111",
            "--proxy", f"http://arc:{PROXY_PASSWORD}@proxy.corp:3128", *extra]


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_every_format_secret_by_flag(run_cli: Any, tmp_path: Path, fmt: str) -> None:
    run = run_cli(*check_argv(tmp_path, "--service-principal-secret", SP_SECRET,
                              "--format", fmt))
    assert run.code in (0, 1), run.err
    assert run.out.strip()
    assert_clean(run.out, run.err)


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_every_format_secret_by_env_and_file(run_cli: Any, tmp_path: Path, fmt: str,
                                                   secret_file: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_cli(*check_argv(tmp_path, "--service-principal-secret-file", secret_file,
                              "--format", fmt, "--output", str(tmp_path / "out")))
    assert run.code in (0, 1), run.err
    written = (tmp_path / "out").read_text()
    assert written.strip()
    assert_clean(run.out, run.err, written)
    monkeypatch.setenv("ARC_PREFLIGHT_SP_SECRET", SP_SECRET)
    run = run_cli(*check_argv(tmp_path, "--format", fmt))
    assert_clean(run.out, run.err)


def test_check_json_marks_the_secret_redacted(run_cli: Any, tmp_path: Path) -> None:
    import json

    run = run_cli(*check_argv(tmp_path, "--service-principal-secret", SP_SECRET,
                              "--format", "json"))
    data = json.loads(run.out)
    assert data["settings"]["service_principal_secret"] == "[REDACTED]"
    assert "[REDACTED]" in data["settings"]["proxy"]


def test_check_state_file_holds_no_secret(run_cli: Any, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    run_cli(*check_argv(tmp_path, "--service-principal-secret", SP_SECRET, "--state",
                        str(state), "--format", "json"))
    assert state.exists()
    assert_clean(state.read_text())


def test_bad_input_errors_hold_no_secret(run_cli: Any, tmp_path: Path) -> None:
    run = run_cli(*check_argv(tmp_path, "--service-principal-secret", SP_SECRET,
                              "--dns-server", "not-an-ip"))
    assert run.code == 3
    assert_clean(run.out, run.err)


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_diagnose_log_excerpts_are_redacted(run_cli: Any, log_file: str, fmt: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kb, "load", REAL_KB)
    run = run_cli("diagnose", "--all", "--format", fmt, log_file)
    assert run.code == 2, run.err
    assert "L3" in run.out or '"lines"' in run.out  # evidence lines are shown...
    assert_clean(run.out, run.err)  # ...but never the secrets in them


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_explain_pasted_text_is_redacted(run_cli: Any, fmt: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kb, "load", REAL_KB)
    lines = LOG.splitlines()
    for line in lines[2:4]:  # known causes: explained, excerpts redacted
        run = run_cli("explain", "--format", fmt, line)
        assert run.code == 0, run.err
        assert_clean(run.out, run.err)
    run = run_cli("explain", "--format", fmt, lines[4])  # unknown: the error echo is redacted
    assert run.code == 3
    assert_clean(run.out, run.err)


def test_unmatched_explain_text_is_redacted_in_the_error(run_cli: Any) -> None:
    run = run_cli("explain", f"nothing at all client_secret={CLIENT_SECRET} Bearer {BEARER}")
    assert run.code == 3
    assert "[REDACTED]" in run.err
    assert_clean(run.out, run.err)
