"""Changes with a date: a finding that is harmless today and breaks the agent from a known day.

Microsoft announces some changes in advance (certificates with negative serial numbers refused
from February 2027, for example). A check whose failure code a rule in ``data/dated.toml`` names
is a warning before the date, with the days left, and a failure from it on, so a scheduled
health check turns red on the day the agent would start failing, not after.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Sequence, Tuple

from .datafiles import read_toml
from .model import Result, Status


@dataclass(frozen=True)
class Rule:
    id: str
    codes: Tuple[str, ...]
    effective: dt.date
    before: str
    after: str
    source: str


@lru_cache(maxsize=1)
def rules() -> Tuple[Rule, ...]:
    """The packaged rules, validated once."""
    loaded = []
    for raw in read_toml("dated.toml").get("rule", []):
        effective = raw["effective"]
        if not isinstance(effective, dt.date) or isinstance(effective, dt.datetime):
            raise ValueError(f"dated.toml: {raw.get('id')}: effective must be a TOML date")
        loaded.append(Rule(id=str(raw["id"]), codes=tuple(raw["codes"]), effective=effective,
                           before=str(raw["before"]), after=str(raw["after"]),
                           source=str(raw["source"])))
    return tuple(loaded)


def apply(results: Sequence[Result], today: dt.date,
          active: Sequence[Rule] = ()) -> List[Result]:
    """``results`` with every dated rule applied as of ``today`` (the rules of the package when
    ``active`` is empty)."""
    table = {code: rule for rule in (active or rules()) for code in rule.codes}
    out: List[Result] = []
    for result in results:
        rule = table.get(result.code or "")
        if rule is None or result.status not in (Status.WARN, Status.FAIL):
            out.append(result)
            continue
        days = (rule.effective - today).days
        date = rule.effective.isoformat()
        optional = result.facts.get("when") == "optional"
        if days > 0:
            left = f"{days} day" + ("" if days == 1 else "s")
            status, text = Status.WARN, rule.before.format(date=date, days=left)
        else:
            status = Status.WARN if optional else Status.FAIL
            text = rule.after.format(date=date)
        facts = {**result.facts, "dated": {"rule": rule.id, "effective": date,
                                           "days_left": max(days, 0), "source": rule.source}}
        out.append(dataclasses.replace(result, status=status, facts=facts,
                                       summary=f"{result.summary}; {text}"))
    return out
