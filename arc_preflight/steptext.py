"""Commands inside remedy steps, told apart from the prose around them.

Plain text work with no layout in it, so that both the diagnosis (which drops general steps the
host's own commands already cover) and the renderers (which print commands whole) can use it.

The knowledge base writes remedies as sentences with the commands in them ("bypass the proxy
for them with: azcmagent config set proxy.bypass "AAD""). This module splits a step into prose
and commands: a command starts with a known program (``azcmagent``, ``sudo``, ``systemctl``, a
PowerShell ``Verb-Noun`` cmdlet...) followed by an argument, and runs until prose starts again (a
word such as "or"/"then", a parenthesis, or the end of a clause). A command introduced by a colon
(and every command after it in the step), or one that opens the step, goes on a line of its own;
one mentioned inside a sentence stays in it, but is never split across lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Tuple

_ANY: FrozenSet[str] = frozenset()
# Programs that begin a command, with the words that may follow them (empty: any argument).
_HEADS: Dict[str, FrozenSet[str]] = {
    "azcmagent": frozenset({"connect", "disconnect", "show", "check", "config", "logs",
                            "version", "extension", "license", "genkey", "help", "upgrade",
                            "<command>"}),
    "ip": frozenset({"route", "addr", "address", "link", "neigh", "-4", "-6"}),
    "route": frozenset({"print", "add", "delete", "-n"}),
    "az": frozenset({"account", "login", "provider", "role", "group", "resource",
                     "connectedmachine"}),
    **{name: _ANY for name in (
        "sudo", "systemctl", "nslookup", "dig", "getent", "curl", "wget", "timedatectl", "netsh",
        "iptables", "nft", "export", "uname", "cat", "chronyc", "apt-get", "dnf", "yum",
        "zypper", "journalctl", "ss", "update-ca-certificates", "openssl", "certutil",
        "/opt/azcmagent/bin/azcmagent_proxy", "azcmagent_proxy", "trust", "msiexec",
        "resolvectl", "gpupdate", "chattr", "chmod", "DISM", "dism.exe")},
}
CMDLET = re.compile(r"^(Get|Set|Clear|Start|Restart|Stop|Resolve|Find|Test|Remove|New|Enable|"
                     r"Disable|Invoke|Add|Import|Export|Register)-[A-Z][A-Za-z]+$")
# Words that end a command: prose has started again.
_PROSE = frozenset({
    "or", "and", "then", "on", "if", "before", "after", "without", "to", "in", "for", "with",
    "from", "until", "followed", "is", "are", "must", "should", "when", "the", "a", "an",
    "that", "which", "rather", "instead", "as", "return", "returns", "shows", "/", "e.g.",
    "again", "also", "reports", "once", "first",
})
_TRAILING = ".,;:"


@dataclass(frozen=True)
class Segment:
    """Part of a remedy step: ``prose``, a command kept ``inline`` (never split), or a command
    on a ``line`` of its own."""

    kind: str
    text: str


def tokens(text: str) -> List[Tuple[int, int]]:
    """(start, end) of each word; a quoted string or a ``<placeholder>`` with spaces in it
    stays one word."""
    spans: List[Tuple[int, int]] = []
    start: Optional[int] = None
    quote = ""
    angle = 0
    for index, char in enumerate(text):
        if start is None:
            if char.isspace():
                continue
            start = index
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "\"'" and (index == start or text[index - 1] in "=:(" or angle):
            quote = char
        elif char == "<":
            angle += 1
        elif char == ">" and angle:
            angle -= 1
        elif char.isspace() and not angle:
            spans.append((start, index))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _is_head(word: str, following: Optional[str]) -> bool:
    word = word.lstrip("(")
    if CMDLET.match(word.rstrip(_TRAILING + ")")):
        return True
    if word not in _HEADS or following is None:
        return False
    allowed = _HEADS[word]
    nxt = following.rstrip(_TRAILING + ")")
    if allowed:
        return nxt in allowed
    return bool(nxt) and nxt.lower() not in _PROSE and not following.startswith("(")


def _command_end(text: str, spans: List[Tuple[int, int]], first: int) -> Tuple[int, int]:
    """(index of the next word after the command, end offset of the command text)."""
    depth = 0
    index = first
    end = spans[first][1]
    while index < len(spans):
        lo, hi = spans[index]
        word = text[lo:hi]
        if index > first and (word.lower().rstrip(_TRAILING) in _PROSE or word.startswith("(")):
            return index, end
        if index == first:
            word = word.lstrip("(")
        depth += word.count("(") - word.count(")")
        stripped = word if word.endswith("...") else word.rstrip(_TRAILING)
        stop = stripped != word
        if depth < 0 and stripped.endswith(")"):
            stripped = stripped[:-1].rstrip(_TRAILING)
            stop = True
        end = hi - (len(word) - len(stripped))
        if stop:
            return index + 1, end
        index += 1
    return index, end


def split_step(step: str) -> List[Segment]:
    """A remedy step as prose and commands (see the module docstring)."""
    spans = tokens(step)
    found: List[Tuple[int, int, bool]] = []  # (start, end, own line)
    index = 0
    while index < len(spans):
        lo, hi = spans[index]
        following = step[spans[index + 1][0]:spans[index + 1][1]] if index + 1 < len(spans) \
            else None
        if not _is_head(step[lo:hi], following):
            index += 1
            continue
        start = lo + (len(step[lo:hi]) - len(step[lo:hi].lstrip("(")))
        before = step[:start].rstrip()
        joint = step[found[-1][1]:start].split() if found else []
        # After a colon each command takes a line, as long as only a short joint ("or",
        # "(Debian/Ubuntu) or") separates it from the previous one; a command in a sentence
        # that goes on stays in it.
        own_line = not before or before.endswith(":") or (
            bool(found) and found[-1][2] and len(joint) <= 3)
        after, end = _command_end(step, spans, index)
        found.append((start, end, own_line))
        index = max(after, index + 1)
    segments: List[Segment] = []
    position = 0
    for start, end, line in found:
        if start > position:
            segments.append(Segment("prose", step[position:start]))
        segments.append(Segment("line" if line else "inline", step[start:end]))
        position = end
    if position < len(step):
        segments.append(Segment("prose", step[position:]))
    return _tidy(segments)


def _tidy(segments: List[Segment]) -> List[Segment]:
    """Joints between commands on their own lines lose the punctuation that only made sense
    inline ("; ", " / ", an unmatched parenthesis); a joint of punctuation alone goes."""
    out: List[Segment] = []
    for number, segment in enumerate(segments):
        if segment.kind != "prose":
            out.append(segment)
            continue
        text = segment.text.strip()
        near_line = (number > 0 and segments[number - 1].kind == "line") or (
            number + 1 < len(segments) and segments[number + 1].kind == "line")
        if near_line:
            text = text.strip(" ,;")
            if text.startswith("(") and text.count("(") > text.count(")"):
                text = text[1:].strip()
            if text.endswith(")") and text.count(")") > text.count("("):
                text = text.rstrip(").").strip()
            if text == "/":
                text = "or"
            if not text.strip(".,;:)( "):
                continue
        out.append(Segment("prose", text))
    return out
