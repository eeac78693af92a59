"""Dated rules: the clock pinned on either side of each date the package ships."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from factories import result

from arc_preflight import dated, kb
from arc_preflight.diagnose import from_results
from arc_preflight.model import FAILURE_CODES, Status

RULES = dated.rules()


def test_every_rule_names_known_codes_and_cites_a_microsoft_page() -> None:
    assert RULES
    for rule in RULES:
        assert set(rule.codes) <= set(FAILURE_CODES), rule.id
        assert rule.source.startswith("https://learn.microsoft.com/"), rule.id
        assert "{days}" in rule.before and "{date}" in rule.after


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_a_warning_before_the_date_with_the_days_left(rule: dated.Rule) -> None:
    code = rule.codes[0]
    row = result("tls:login.microsoftonline.com:443", "warn", "issuer Contoso", code=code)
    day_before = rule.effective - dt.timedelta(days=1)
    (out,) = dated.apply([row], day_before, [rule])
    assert out.status == Status.WARN
    assert "(1 day left)" in out.summary and rule.effective.isoformat() in out.summary
    assert out.facts["dated"] == {"rule": rule.id, "effective": rule.effective.isoformat(),
                                  "days_left": 1, "source": rule.source}
    month_before = rule.effective - dt.timedelta(days=30)
    (early,) = dated.apply([row], month_before, [rule])
    assert "(30 days left)" in early.summary


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_a_failure_from_the_date_on(rule: dated.Rule) -> None:
    code = rule.codes[0]
    row = result("tls:login.microsoftonline.com:443", "warn", "issuer Contoso", code=code)
    for day in (rule.effective, rule.effective + dt.timedelta(days=400)):
        (out,) = dated.apply([row], day, [rule])
        assert out.status == Status.FAIL, day
        assert out.facts["dated"]["days_left"] == 0


def test_an_optional_endpoint_stays_a_warning_after_the_date() -> None:
    rule = RULES[0]
    row = result("tls:dc.services.visualstudio.com:443", "warn", "x", code=rule.codes[0])
    row = dataclasses.replace(row, facts={"when": "optional"})
    (out,) = dated.apply([row], rule.effective + dt.timedelta(days=1), [rule])
    assert out.status == Status.WARN


def test_passing_and_unrelated_checks_are_left_alone() -> None:
    rule = RULES[0]
    rows = [result("tls:a:443", "pass", "fine"), result("tcp:a:443", "fail", "x",
                                                      code="tcp.timeout")]
    assert dated.apply(rows, rule.effective, [rule]) == rows


def test_the_diagnosis_follows_the_date() -> None:
    """Before the date the negative-serial diagnosis is a warning, from the date a failure."""
    rule = next(r for r in RULES if "tls.negative_serial" in r.codes)
    row = result("tls:login.microsoftonline.com:443", "warn", "issuer Contoso",
                 code="tls.negative_serial")
    knowledge = kb.load()
    before = from_results(dated.apply([row], rule.effective - dt.timedelta(days=10)), knowledge)
    after = from_results(dated.apply([row], rule.effective), knowledge)
    assert [d.severity for d in before] == ["warn"]
    assert [d.severity for d in after] == ["fail"]
