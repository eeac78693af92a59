"""The knowledge base: documented causes kept as data in ``data/causes.toml``.

Loading is strict on purpose. A typo in a data file that silently drops a remedy would make the
tool confidently wrong, so every unknown key, duplicate id, bad category, empty remedy or regex that
does not compile stops the load with an error naming the entry.

The packaged file's regexes are compiled when first asked for, not at load: ``check`` needs the
causes of its probe codes but never a message pattern, and compiling the several hundred of them
was the largest piece of CPU in a healthy run (about 95 ms on the benchmark machine, taken from
the probe threads while they waited on the GIL). A pattern that does not compile still fails with
the same error naming its entry, when the first text is matched (and the tests compile them all).
"""

from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterator, List, Mapping, Optional, Pattern, Sequence, Tuple

from . import codefamilies, datafiles
from .datafiles import DATA_DIR
from .model import CATEGORIES, FAILURE_CODES, Cause

DATA_FILE = DATA_DIR / "causes.toml"

_REQUIRED = {"id", "category", "severity", "title", "explanation", "remedy"}
_OPTIONAL = {
    "remedy_linux",
    "remedy_windows",
    "docs",
    "azcm",
    "probe_codes",
    "targets",
    "patterns",
    "priority",
    "notes",
    "platform",
    "record",
    "generic",
}
_LIST_KEYS = {
    "remedy",
    "remedy_linux",
    "remedy_windows",
    "docs",
    "azcm",
    "probe_codes",
    "targets",
    "patterns",
}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_AZCM_RE = re.compile(r"^AZCM\d{4}$")


class KnowledgeBaseError(ValueError):
    """The causes file is malformed; the message names the entry and the problem."""


class _Patterns(Mapping[str, Tuple[Pattern[str], ...]]):
    """Cause id -> its compiled patterns, each cause's compiled on first access."""

    def __init__(self, sources: Mapping[str, Tuple[str, Tuple[str, ...]]]) -> None:
        self._sources = sources  # cause id -> (where, for errors; pattern sources)
        self._done: Dict[str, Tuple[Pattern[str], ...]] = {}

    def __getitem__(self, cause_id: str) -> Tuple[Pattern[str], ...]:
        found = self._done.get(cause_id)
        if found is None:
            where, sources = self._sources[cause_id]
            found = self._done[cause_id] = _compile(where, sources)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


# How every message pattern is compiled. ASCII case folding only: the prefilter that picks the
# lines a pattern runs on lower-cases bytes the ASCII way, while Python's Unicode IGNORECASE also
# lets the long s (U+017F) match "s", the Kelvin sign (U+212A) "k" and the dotted and dotless
# I (U+0130, U+0131) "i". With it a line's causes depended on which path read it and on which
# other literals the line held (tests/test_case_folding.py). The patterns are ASCII (a test
# holds them to it), so re.ASCII changes nothing else for them but \w, \d, \s and \b, which
# then mean their ASCII classes, as the patterns' literals already do.
PATTERN_FLAGS = re.IGNORECASE | re.ASCII


def _compile(where: str, sources: Sequence[str]) -> Tuple[Pattern[str], ...]:
    compiled = []
    for pattern in sources:
        try:
            compiled.append(re.compile(pattern, PATTERN_FLAGS))
        except re.error as exc:
            raise _fail(where, f"pattern {pattern!r} does not compile: {exc}") from None
    return tuple(compiled)


@dataclass(frozen=True)
class KnowledgeBase:
    causes: Tuple[Cause, ...]
    compiled: Mapping[str, Tuple[Pattern[str], ...]]

    def get(self, cause_id: str) -> Optional[Cause]:
        for cause in self.causes:
            if cause.id == cause_id:
                return cause
        return None

    def by_azcm(self, code: str) -> List[Cause]:
        code = code.upper()
        return [c for c in self.causes if code in c.azcm]

    def for_failure(self, code: str, target: str = "") -> Optional[Cause]:
        """The cause for a probe failure code on a target.

        An entry that names the target (``management.azure.com``) is more precise than a
        generic one for the same code, so it wins; among equals, the higher priority wins.
        """
        host = _host_of(target).lower()
        full = target.lower()
        best: Optional[Tuple[int, int, Cause]] = None
        for cause in self.causes:
            if code not in cause.probe_codes:
                continue
            if cause.targets:
                # A pattern with a port ("crl.microsoft.com:80") matches that port only: the
                # same name on another port can be a different route (the Arc gateway carries
                # crl.microsoft.com on 443, while port 80 stays outside it).
                if not any(fnmatch.fnmatchcase(full if ":" in pat else host, pat)
                           for pat in cause.targets):
                    continue
                specificity = 1
            else:
                specificity = 0
            key = (specificity, cause.priority, cause)
            if best is None or key[:2] > best[:2]:
                best = key
        return best[2] if best else None

    def match_text(self, text: str) -> List[Cause]:
        """Every cause whose message pattern occurs in ``text``, most decisive first."""
        hits = [c for c in self.causes if any(p.search(text) for p in self.compiled[c.id])]
        return sorted(hits, key=lambda c: -c.priority)


def _host_of(target: str) -> str:
    """'host:443' -> 'host'; '[::1]:40342' -> '::1'; a bare host or address stays as it is."""
    if target.startswith("["):
        return target[1:].split("]", 1)[0]
    if target.count(":") == 1:
        return target.rsplit(":", 1)[0]
    return target


def _fail(where: str, problem: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"{DATA_FILE.name}: {where}: {problem}")


def _entry(raw: Mapping[str, Any], index: int) -> Tuple[Cause, str]:
    """The cause, and where it is in the file (named by a pattern error found later)."""
    where = f"cause #{index + 1} ({raw.get('id', '?')})"
    keys = set(raw)
    unknown = keys - _REQUIRED - _OPTIONAL
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    missing = _REQUIRED - keys
    if missing:
        raise _fail(where, f"missing key(s) {', '.join(sorted(missing))}")
    for key in _LIST_KEYS & keys:
        value = raw[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _fail(where, f"'{key}' must be a list of non-empty strings")
    for key in ("id", "category", "severity", "title", "explanation"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise _fail(where, f"'{key}' must be a non-empty string")
    if not _ID_RE.match(raw["id"]):
        raise _fail(where, "id must be lower-case letters, digits and underscores")
    if raw["category"] not in CATEGORIES:
        raise _fail(where, f"unknown category {raw['category']!r}")
    if raw["severity"] not in ("fail", "warn"):
        raise _fail(where, "severity must be 'fail' or 'warn'")
    if not raw["remedy"]:
        raise _fail(where, "remedy is empty")
    for code in raw.get("azcm", []):
        if not _AZCM_RE.match(code):
            raise _fail(where, f"bad AZCM code {code!r}")
    for code in raw.get("probe_codes", []):
        if code not in FAILURE_CODES:
            raise _fail(where, f"unknown probe code {code!r}")
    if raw.get("targets") and not raw.get("probe_codes"):
        raise _fail(where, "'targets' only makes sense with 'probe_codes'")
    priority = raw.get("priority", 50)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _fail(where, "priority must be an integer")
    record = raw.get("record", False)
    if not isinstance(record, bool):
        raise _fail(where, "record must be true or false")
    generic = raw.get("generic", False)
    if not isinstance(generic, bool):
        raise _fail(where, "generic must be true or false")
    platform = raw.get("platform", "")
    if platform not in ("", "linux", "windows"):
        raise _fail(where, "platform must be linux or windows")
    cause = Cause(
        id=raw["id"],
        category=raw["category"],
        severity=raw["severity"],
        title=raw["title"].strip(),
        explanation=" ".join(raw["explanation"].split()),
        remedy=tuple(raw["remedy"]),
        remedy_linux=tuple(raw.get("remedy_linux", ())),
        remedy_windows=tuple(raw.get("remedy_windows", ())),
        docs=tuple(raw.get("docs", ())),
        azcm=tuple(raw.get("azcm", ())),
        probe_codes=tuple(raw.get("probe_codes", ())),
        targets=tuple(t.lower() for t in raw.get("targets", ())),
        patterns=tuple(raw.get("patterns", ())),
        priority=priority,
        notes=" ".join(str(raw.get("notes", "")).split()),
        platform=platform,
        record=record,
        generic=generic,
    )
    return cause, where


def parse(text: str, family_patterns: Optional[Mapping[str, Sequence[str]]] = None,
          *, lazy: bool = False) -> KnowledgeBase:
    """Validate and build a knowledge base from TOML text.

    ``family_patterns`` adds patterns to causes by id (the code families of ``data/codes.toml``,
    see :mod:`.codefamilies`); a family member naming a cause that does not exist stops the load.
    ``lazy`` leaves each cause's regexes to be compiled when first used (see the module's
    docstring); otherwise every one is compiled, and checked, here.
    """
    entries = datafiles.tables(text, DATA_FILE.name, "cause", KnowledgeBaseError)
    causes: List[Cause] = []
    sources: Dict[str, Tuple[str, Tuple[str, ...]]] = {}
    generic: Dict[Tuple[str, int], str] = {}
    added: Dict[str, Sequence[str]] = dict(family_patterns or {})
    for index, raw in enumerate(entries):
        if isinstance(raw, dict) and raw.get("id") in added:
            raw = {**raw, "patterns": [*raw.get("patterns", []), *added.pop(raw["id"])]}
        cause, where = _entry(raw, index)
        if cause.id in sources:
            raise _fail(f"cause #{index + 1}", f"duplicate id {cause.id!r}")
        if not cause.targets:
            # Two generic entries for one probe code at one priority: which wins would depend on
            # file order, so the data must say which one is meant.
            for code in cause.probe_codes:
                other = generic.setdefault((code, cause.priority), cause.id)
                if other != cause.id:
                    raise _fail(f"cause #{index + 1} ({cause.id})",
                                f"same probe code {code!r} and priority as {other!r}")
        causes.append(cause)
        sources[cause.id] = (where, cause.patterns)
    if added:
        raise KnowledgeBaseError(f"{codefamilies.DATA_FILE.name}: family members name unknown "
                                 f"cause(s) {', '.join(sorted(added))}")
    compiled = _Patterns(sources)
    if not lazy:
        for cause_id in sources:
            compiled[cause_id]
    return KnowledgeBase(tuple(causes), compiled)


@lru_cache(maxsize=1)
def load() -> KnowledgeBase:
    """The packaged knowledge base with the code families' patterns, parsed once per process."""
    families = codefamilies.patterns_by_cause(codefamilies.load())
    return parse(DATA_FILE.read_text(encoding="utf-8"), families, lazy=True)


def remedy_for(cause: Cause, platform: str = sys.platform) -> Tuple[str, ...]:
    """Common remedy steps followed by the ones for this operating system."""
    extra = cause.remedy_windows if platform.startswith("win") else cause.remedy_linux
    return cause.remedy + extra
