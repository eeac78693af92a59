"""Whole code families (``data/codes.toml``) turned into knowledge-base patterns.

A family is a published list of codes (WinHTTP 12001-12186, AADSTS, ARM error codes, curl and
msiexec exit codes...) with each member mapped to the cause that explains it, plus the forms in
which tools print a member (``HRESULT_FROM_WIN32(12029)``, ``0x80072EFD``,
``ERROR_WINHTTP_CANNOT_CONNECT``, or the member's published message, ``No such host is known.``,
for tools that print the text without the code). Keeping the list whole, instead of one pattern
per message seen, is what lets ``diagnose`` name the cause of a code nobody pasted before.
Loading is strict for the same reason as the knowledge base's: a typo must stop the load, not
drop a member.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from . import datafiles
from .datafiles import DATA_DIR

DATA_FILE = DATA_DIR / "codes.toml"
_PLACEHOLDERS = ("{n}", "{name}", "{hresult}", "{message}")
_FAMILY_KEYS = {"id", "title", "sources", "forms", "members"}
_MEMBER_KEYS = {"n", "names", "hresult", "messages", "cause"}
_HRESULT_RE = re.compile(r"^0x[0-9A-F]{8}$")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,80}$")
# A published message as tools print it: plain ASCII text that starts with a letter (so the
# pattern starts with a literal for the prefilter), long enough to say something on its own,
# without the apostrophe that TOML literal strings and the prefilter's tests avoid.
_MESSAGE_RE = re.compile(r"^[A-Za-z][ -&(-~]{15,200}$")


class CodeFamilyError(ValueError):
    """The families file is malformed; the message names the family and the problem."""


@dataclass(frozen=True)
class Member:
    n: Optional[int]
    names: Tuple[str, ...]
    hresult: str
    cause: str  # a causes.toml id, or "" for a member that says nothing about the machine
    # The member's message as its owner publishes it (the text FormatMessage or the library
    # prints for the code), for the tools that print the message without the code.
    messages: Tuple[str, ...] = ()

    def hresult_form(self) -> str:
        """The member as an HRESULT: its own, or HRESULT_FROM_WIN32 of a Win32 code."""
        if self.hresult:
            return self.hresult
        if self.n is not None and 0 < self.n < 0x10000:
            return f"0x8007{self.n:04X}"
        return ""


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    sources: Tuple[str, ...]
    forms: Tuple[str, ...]
    members: Tuple[Member, ...]


def _fail(where: str, problem: str) -> CodeFamilyError:
    return CodeFamilyError(f"{DATA_FILE.name}: {where}: {problem}")


def _member(raw: Any, where: str) -> Member:
    if not isinstance(raw, dict):
        raise _fail(where, "a member must be a table")
    unknown = set(raw) - _MEMBER_KEYS
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(sorted(unknown))}")
    n = raw.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
        raise _fail(where, "n must be a non-negative integer")
    names = raw.get("names", [])
    if not isinstance(names, list) or not all(isinstance(s, str) and _NAME_RE.match(s)
                                              for s in names):
        raise _fail(where, "names must be a list of identifiers")
    hresult = raw.get("hresult", "")
    if not isinstance(hresult, str) or (hresult and not _HRESULT_RE.match(hresult)):
        raise _fail(where, "hresult must look like 0x8007274C")
    messages = raw.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(s, str) and _MESSAGE_RE.match(s)
                                                 for s in messages):
        raise _fail(where, "messages must be a list of plain ASCII sentences (16-201 "
                           "characters, starting with a letter, no apostrophe)")
    cause = raw.get("cause")
    if not isinstance(cause, str):
        raise _fail(where, "cause must be a string (a causes.toml id, or \"\")")
    if n is None and not names and not messages:
        raise _fail(where, "a member needs a number, a name or a message")
    return Member(n=n, names=tuple(names), hresult=hresult, cause=cause,
                  messages=tuple(messages))


def _family(raw: Any, index: int) -> Family:
    where = f"family #{index + 1} ({raw.get('id', '?') if isinstance(raw, dict) else '?'})"
    if not isinstance(raw, dict):
        raise _fail(where, "a family must be a table")
    keys = set(raw)
    if keys != _FAMILY_KEYS:
        missing, unknown = _FAMILY_KEYS - keys, keys - _FAMILY_KEYS
        raise _fail(where, f"missing {sorted(missing)}, unknown {sorted(unknown)}")
    for key in ("sources", "forms"):
        value = raw[key]
        if not isinstance(value, list) or not value or not all(
                isinstance(v, str) and v for v in value):
            raise _fail(where, f"'{key}' must be a non-empty list of strings")
    if not all(s.startswith("https://") for s in raw["sources"]):
        raise _fail(where, "every source is an https:// URL of the published list")
    for form in raw["forms"]:
        if sum(form.count(p) for p in _PLACEHOLDERS) != 1:
            raise _fail(where, f"form {form!r} must hold exactly one of {_PLACEHOLDERS}")
    if not isinstance(raw["members"], list) or not raw["members"]:
        raise _fail(where, "no members")
    members = tuple(_member(m, f"{where} member #{i + 1}") for i, m in enumerate(raw["members"]))
    seen: Dict[str, int] = {}
    for i, member in enumerate(members):
        for key in ([str(member.n)] if member.n is not None else []) + [
                name.upper() for name in member.names]:
            if key in seen:
                raise _fail(where, f"{key} listed twice (members #{seen[key] + 1}, #{i + 1})")
            seen[key] = i
    return Family(id=str(raw["id"]), title=str(raw["title"]), sources=tuple(raw["sources"]),
                  forms=tuple(raw["forms"]), members=members)


def parse(text: str) -> Tuple[Family, ...]:
    """Validate and build the families from TOML text."""
    families = datafiles.tables(text, DATA_FILE.name, "family", CodeFamilyError)
    out = tuple(_family(raw, i) for i, raw in enumerate(families))
    ids = [f.id for f in out]
    if len(set(ids)) != len(ids):
        raise CodeFamilyError(f"{DATA_FILE.name}: duplicate family id")
    return out


def message_regex(text: str) -> str:
    """A published message as a regex: the text itself, its trailing full stop optional (tools
    quote the message inside their own sentence). Kept whole, so that the prefilter's required
    literal is the whole message, not its rarest word (``ssl/tls`` alone would cost the prefilter
    a pass of its own)."""
    return re.escape(text.rstrip("."))


def _values(members: List[Member], placeholder: str) -> List[str]:
    if placeholder == "{n}":
        values = [str(m.n) for m in members if m.n is not None]
    elif placeholder == "{name}":
        values = [re.escape(name) for m in members for name in m.names]
    elif placeholder == "{message}":
        values = [message_regex(text) for m in members for text in m.messages]
    else:
        values = [m.hresult_form() for m in members if m.hresult_form()]
    # Longest first, so an alternation never stops at a shorter member that prefixes a longer.
    return sorted(dict.fromkeys(values), key=lambda v: (-len(v), v))


def patterns_by_cause(families: Tuple[Family, ...]) -> Dict[str, Tuple[str, ...]]:
    """For each cause, one pattern per family that finds its members in any of the family's
    forms (one alternation: every pattern costs a parse when ``diagnose`` starts)."""
    out: Dict[str, List[str]] = {}
    for family in families:
        by_cause: Dict[str, List[Member]] = {}
        for member in family.members:
            if member.cause:
                by_cause.setdefault(member.cause, []).append(member)
        for cause, members in by_cause.items():
            filled = []
            for form in family.forms:
                placeholder = next(p for p in _PLACEHOLDERS if p in form)
                values = _values(members, placeholder)
                if values:
                    filled.append(form.replace(placeholder, "|".join(values)))
            if filled:
                out.setdefault(cause, []).append(
                    filled[0] if len(filled) == 1 else "(?:" + "|".join(filled) + ")")
    return {cause: tuple(patterns) for cause, patterns in out.items()}


@lru_cache(maxsize=1)
def load() -> Tuple[Family, ...]:
    """The packaged families, parsed once per process."""
    return parse(DATA_FILE.read_text(encoding="utf-8"))
