"""Turn failed checks into diagnoses: each cause once, found only at the root of a failure.

Skipped checks never produce a diagnosis (their root already did), and several failures with the
same cause (every identity endpoint timing out) become one diagnosis with all of them as evidence.
"""

from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from .kb import KnowledgeBase, remedy_for
from .model import Cause, Diagnosis, Result, Status
from .redact import redact

_GENERIC = Cause(
    id="unexplained_failure", category="unknown", severity="fail",
    title="A check failed for a reason the knowledge base does not cover",
    explanation="The check's own summary is the best evidence available.",
    remedy=("Read the evidence, then rerun with --format json and report it to the maintainers.",),
)


def _agent_reported(result: Result, kb: KnowledgeBase) -> Cause | None:
    """When the agent itself reports an AZCM code, its documented cause is the diagnosis."""
    code = str(result.facts.get("error_code") or "").upper()
    if result.probe != "agent" or not code:
        return None
    if code.isdigit():
        code = f"AZCM{int(code):04d}"
    found = kb.by_azcm(code)
    return max(found, key=lambda c: c.priority) if found else None


def host_steps(evidence: Sequence[Result]) -> Tuple[str, ...]:
    """The exact commands a check worked out for this machine (``facts.next_command``), as
    remedy steps before the knowledge base's general ones: the cause says what to do, the
    check says it with this machine's names and flags."""
    steps: List[str] = []
    for result in evidence:
        commands = result.facts.get("next_command")
        if not isinstance(commands, (list, tuple)):
            continue
        caution = result.facts.get("next_caution")
        if isinstance(caution, str) and caution:
            # A destructive command is never the first thing read: its warning leads.
            step = redact(f"Before you run anything: {caution}.")
            if step not in steps:
                steps.append(step)
        for number, command in enumerate(commands):
            word = "On this machine, run" if number == 0 else "Then run"
            step = redact(f"{word}: {command}")
            if step not in steps:
                steps.append(step)
    return tuple(steps)


def _matches(wanted: Sequence[str], words: Sequence[str]) -> bool:
    return len(wanted) == len(words) and all(
        w == h or (w.startswith("<") and w.endswith(">")) for w, h in zip(wanted, words))


def _covered(kb_command: str, host_commands: Sequence[str]) -> bool:
    """The general command is one the host's steps already give in full: its words lead one
    of them, ``<placeholder>`` words standing for one word each and ``...`` for any words in
    between. Words after a ``...`` must be there too (``connect ... --resource-name <name>``
    is not covered by a connect without ``--resource-name``)."""
    parts = [part.split() for part in kb_command.split(" ... ")]
    if kb_command.rstrip().endswith(" ..."):
        parts[-1] = parts[-1][:-1]
    for command in host_commands:
        words = command.split()
        if not _matches(parts[0], words[:len(parts[0])]):
            continue
        position = len(parts[0])
        for part in parts[1:]:
            found = next((at for at in range(position, len(words) - len(part) + 1)
                          if _matches(part, words[at:at + len(part)])), None)
            if found is None:
                break
            position = found + len(part)
        else:
            return True
    return False


def general_steps(steps: Sequence[str], host: Sequence[str]) -> Tuple[str, ...]:
    """The knowledge base's steps without those that only repeat, with placeholders, the
    commands worked out for this machine; a step with anything more is kept whole."""
    if not host:
        return tuple(steps)
    from .steptext import split_step

    commands = [step.split(": ", 1)[1] for step in host
                if step.startswith(("On this machine, run: ", "Then run: "))]
    kept = []
    for step in steps:
        found = [seg.text for seg in split_step(step) if seg.kind != "prose"]
        if not found or not all(_covered(c, commands) for c in found):
            kept.append(step)
    return tuple(kept)


def from_results(results: Sequence[Result], kb: KnowledgeBase) -> List[Diagnosis]:
    grouped: Dict[str, Tuple[Cause, List[Result]]] = {}
    for result in results:
        if not result.explainable:
            continue
        codes = [result.code, *result.facts.get("extra_codes", ())]
        for code in codes:
            cause = _agent_reported(result, kb) or kb.for_failure(str(code), result.target) \
                or _GENERIC
            evidence = grouped.setdefault(cause.id, (cause, []))[1]
            if result not in evidence:
                evidence.append(result)
    diagnoses = []
    for cause, evidence in grouped.values():
        # A cause seen only on optional endpoints (demoted to warn) is itself only a warning.
        severity = cause.severity
        if all(r.status == Status.WARN for r in evidence):
            severity = "warn"
        steps = host_steps(evidence)
        diagnoses.append(Diagnosis(
            cause_id=cause.id, category=cause.category, severity=severity, title=cause.title,
            explanation=cause.explanation, remedy=steps + general_steps(remedy_for(cause), steps),
            docs=cause.docs, azcm=cause.azcm,
            evidence=tuple(redact(f"{r.id}: {r.summary}") for r in evidence),
            checks=tuple(r.id for r in evidence),
        ))
    priority = {c.id: c.priority for c in kb.causes}
    diagnoses.sort(key=lambda d: (d.severity != "fail", -priority.get(d.cause_id, 0)))
    return diagnoses
