"""Background work: its value or its exception arrives where result() is called, never printed."""

from __future__ import annotations

import threading

import pytest

from arc_preflight.background import Background


def test_value_is_returned_once_the_work_is_done() -> None:
    started = threading.Event()

    def work() -> int:
        started.set()
        return 42

    job = Background(work)
    assert started.wait(5)
    assert job.result() == 42


def test_exception_is_raised_by_result_not_printed(capsys: pytest.CaptureFixture[str]) -> None:
    def work() -> None:
        raise ValueError("broken data file")

    job = Background(work)
    with pytest.raises(ValueError, match="broken data file"):
        job.result()
    assert capsys.readouterr().err == ""
