"""Connect flags that only newer agents know, against the agent installed here.

An agent older than a flag rejects it before signing in, so ``check`` compares the version
``azcmagent show`` reported (the ``agent`` check, which this one waits for) with the first
version that accepts each flag given (``data/connect_flags.toml``). Before installation there is
nothing to compare: the check names the version to install instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..datafiles import read_toml
from ..model import Outcome, ProbeContext, Result, Status
from .agentstate import parse_version  # the agent's own version form, read in one place


@dataclass(frozen=True)
class Requirement:
    flag: str
    setting: str
    value: Optional[str]
    min_version: Tuple[int, int]
    source: str

    @property
    def version_text(self) -> str:
        return f"{self.min_version[0]}.{self.min_version[1]}"


@lru_cache(maxsize=1)
def requirements() -> Tuple[Requirement, ...]:
    found = []
    for raw in read_toml("connect_flags.toml")["flag"]:
        version = parse_version(raw["min_version"])
        if version is None:
            raise ValueError(f"connect_flags.toml: bad min_version {raw['min_version']!r}")
        found.append(Requirement(str(raw["flag"]), str(raw["setting"]), raw.get("value"),
                                 version, str(raw["source"])))
    return tuple(found)


def requested(settings: Any) -> List[Requirement]:
    """The requirements the given flags bring, in the data file's order."""
    chosen = []
    for req in requirements():
        value = getattr(settings, req.setting, None)
        if req.value is not None:
            if isinstance(value, str) and value.strip().lower() == req.value:
                chosen.append(req)
        elif value:
            chosen.append(req)
    return chosen


def probe(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    needs = requested(ctx.settings)
    highest = max(needs, key=lambda r: r.min_version)
    listed = ", ".join(f"{r.flag} ({r.version_text})" for r in needs)
    facts: Dict[str, Any] = {"needs": [{"flag": r.flag, "min_version": r.version_text}
                                       for r in needs]}
    agent = deps.get("agent")
    if agent is None:
        return Outcome(Status.SKIP, f"agent version not read (agent check not run); {listed} "
                       f"need agent {highest.version_text} or later", facts=facts)
    if agent.facts.get("installed") is False:
        return Outcome(Status.PASS, f"agent not installed yet: install version "
                       f"{highest.version_text} or later for {listed}", facts=facts)
    version = parse_version(agent.facts.get("version"))
    if version is None:
        return Outcome(Status.SKIP, f"agent version unknown (see the agent check); {listed} "
                       f"need agent {highest.version_text} or later", facts=facts)
    facts["version"] = str(agent.facts.get("version"))
    too_new = [r for r in needs if version < r.min_version]
    if too_new:
        names = ", ".join(f"{r.flag} needs {r.version_text}" for r in too_new)
        facts["too_old_for"] = [r.flag for r in too_new]
        return Outcome(Status.FAIL, f"agent {facts['version']} is too old for the flags given: "
                       f"{names}", code="params.agent_too_old", facts=facts)
    return Outcome(Status.PASS, f"agent {facts['version']} accepts {listed}", facts=facts)
