"""One answer for a line, whichever path reads it: ASCII case folding everywhere (issue 9,
correctness clean-ups).

The byte prefilter (RE2's or the pure passes) lower-cases the ASCII way, while Python's
``re.IGNORECASE`` on str also folds four other letters into ASCII ones: the long s (U+017F)
matches ``s``, the Kelvin sign (U+212A) ``k``, and the dotted capital I (U+0130) and dotless
i (U+0131) ``i``. Before the knowledge base's patterns were compiled with ``re.ASCII``, a line
holding one of them got a cause from :meth:`KnowledgeBase.match_text` (and from the streaming
matcher, when another literal of the line let the pattern run) that the prefilter never let
through on its own: the result depended on the path, and on the rest of the line.

The lines are real messages already quoted (with their sources) by the sample tests, with one
letter swapped for its look-alike, as a paste from a PDF or a web page can carry:
sudo's refusals (sudo-project/sudo's messages, tests/test_cli_texts.py), coreutils' refusal on
the agent's folder (tests/test_cli_texts.py), and Go's DNS error as the agent logs it
(``dial tcp: lookup <host>: no such host``, tests/test_connectivity_texts.py).
"""

from __future__ import annotations

import io
from typing import Iterator, List

import pytest

from arc_preflight import kb as kbmod
from arc_preflight.logs import linefinder
from arc_preflight.logs.diagnose import diagnose_path
from arc_preflight.logs.lines import FAILURE_RES, reports_failure
from arc_preflight.logs.scanner import build_matcher, matcher_for

LOOKALIKES = [
    "user01 is not in the sudoers file.  This incident will be reported.".replace("s", "\u017f"),
    "sudo: a terminal is required to read the pa\u017f\u017fword; either use the -S option to "
    "read from standard input or configure an askpass helper",
    "mkdir: cannot create directory '/var/opt/azcmagent/log': Permi\u017f\u017fion denied",
    "Requested regi\u017ftry acce\u017fs is not allowed.",
    # another literal of the line ("dial tcp: lookup") lets the patterns run; the look-alike
    # is in the words only some of them need
    "dial tcp: lookup management.azure.com: no \u017fuch host",
    "time=\"2024-03-01T10:00:00Z\" level=error msg=\"Failed: \u212aey Vault acce\u017fs denied\"",
    "AADSTS7000215: Inval\u0131d client secret provided.",
    "The \u0130nstallation was not successful",
]

BACKENDS = ["pure"] + (["re2"] if linefinder.available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("line", LOOKALIKES)
def test_streaming_matcher_and_match_text_agree(kb: kbmod.KnowledgeBase, backend: str,
                                                line: str) -> None:
    matcher = build_matcher(kb, backend)
    streamed = [cause.id for cause, _, _ in matcher.match(line)]
    assert streamed == [cause.id for cause in kb.match_text(line)], line


def test_a_look_alike_letter_is_not_its_ascii_letter(kb: kbmod.KnowledgeBase) -> None:
    """The reference itself: the knowledge base folds ASCII case only (the plain lines are
    not_admin and dns_name_not_found, their look-alike copies are not)."""
    assert "not_admin" not in {c.category for c in kb.match_text(LOOKALIKES[0])}
    assert "not_admin" in {c.category for c in kb.match_text(LOOKALIKES[0].replace("\u017f",
                                                                                   "s"))}
    ids = {c.id for c in kb.match_text(LOOKALIKES[4])}
    assert "dns_name_not_found" not in ids
    assert "dns_name_not_found" in {c.id for c in kb.match_text(LOOKALIKES[4].replace(
        "\u017f", "s"))}
    # the failure shapes too: "failed" only in ASCII letters
    assert not any(reports_failure(r, "Fa\u0131led to connect") for r in FAILURE_RES)
    assert any(reports_failure(r, "Failed to connect") for r in FAILURE_RES)


def test_every_pattern_is_ascii(kb: kbmod.KnowledgeBase) -> None:
    """re.ASCII leaves an ASCII pattern's literals as they were; a non-ASCII letter in a
    pattern would mean something the prefilter cannot find."""
    for cause in kb.causes:
        for pattern in cause.patterns:
            assert pattern.isascii(), (cause.id, pattern)


def _categories(text: str, kb: kbmod.KnowledgeBase) -> List[List[str]]:
    report = diagnose_path("-", kb, stdin=io.BytesIO(text.encode("utf-8")), all_lines=True)
    return [[d.diagnosis.cause_id, d.diagnosis.category] for d in report.diagnoses]


@pytest.fixture
def pure_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv(linefinder.PURE_ENV, raising=False)
    yield monkeypatch


def test_both_prefilter_paths_give_the_same_diagnoses(kb: kbmod.KnowledgeBase,
                                                      pure_env: pytest.MonkeyPatch) -> None:
    text = "\n".join(LOOKALIKES) + "\n"
    default = _categories(text, kb)
    pure_env.setenv(linefinder.PURE_ENV, "1")
    assert _categories(text, kb) == default


def test_matcher_cache_follows_the_pure_prefilter_setting(
        kb: kbmod.KnowledgeBase, pure_env: pytest.MonkeyPatch) -> None:
    if not linefinder.available():
        pytest.skip("google-re2 is not installed: every path is the pure one")
    assert matcher_for(kb).prefilter.finder is not None  # RE2 finds the lines
    pure_env.setenv(linefinder.PURE_ENV, "1")
    assert matcher_for(kb).prefilter.finder is None  # the pure passes do
    pure_env.delenv(linefinder.PURE_ENV)
    assert matcher_for(kb).prefilter.finder is not None
