"""What ``arc-preflight diagnose -`` makes of a text, for the tests that feed it real samples.

One copy of the call and of the verdicts the sample tests share ("only unknown": a failure
line no cause explains; "reported": a failure line met with some diagnosis; "silent": nothing to
report), so the files of samples (agent, client
tools, shapes, sources) hold samples, not their own copies of these lines. The knowledge base
itself comes from the ``kb`` fixture in conftest.py.
"""

from __future__ import annotations

import io
from typing import Set

from arc_preflight import kb as kbmod
from arc_preflight.logs.diagnose import diagnose_path
from arc_preflight.model import LogReport


def diagnose(text: str, kb: kbmod.KnowledgeBase, all_lines: bool = False) -> LogReport:
    """What ``arc-preflight diagnose -`` reports for ``text`` on stdin."""
    return diagnose_path("-", kb, stdin=io.BytesIO(text.encode("utf-8")), all_lines=all_lines)


def categories(report: LogReport) -> Set[str]:
    return {d.diagnosis.category for d in report.diagnoses}


def cause_ids(report: LogReport) -> Set[str]:
    return {d.diagnosis.cause_id for d in report.diagnoses}


def assert_only_unknown(line: str, kb: kbmod.KnowledgeBase) -> None:
    """A failure line that no cause explains: ``unknown`` and nothing else, and an exit code
    that says a failure was seen (issue 9 item 4: never silent)."""
    report = diagnose(line + "\n", kb)
    assert categories(report) == {"unknown"}, line
    assert report.exit_code != 0


def assert_explained(text: str, kb: kbmod.KnowledgeBase, category: str, cause: str) -> None:
    """A failure a cause explains: that category alone, the cause among the findings, and an
    exit code that says a failure was seen."""
    report = diagnose(text, kb)
    assert categories(report) == {category}, (categories(report), text)
    assert cause in cause_ids(report), (cause_ids(report), text)
    assert report.exit_code != 0


def assert_reported(line: str, kb: kbmod.KnowledgeBase) -> None:
    """A failure line, explained or not: some diagnosis, and an exit code that says a failure
    was seen (issue 9 item 4: never silent)."""
    report = diagnose(line + "\n", kb)
    assert report.diagnoses, line
    assert report.exit_code != 0, line


def assert_silent(line: str, kb: kbmod.KnowledgeBase) -> None:
    """A healthy line: no diagnosis at all."""
    assert diagnose(line + "\n", kb).diagnoses == (), line
