"""Making text fit a terminal: cut at the end or in the middle, and wrap without breaking what
must stay whole (commands, URLs).

Widths are in terminal cells (rich's ``cell_len``), so a wide character counts twice. Nothing
here styles text; the callers do, on the pieces this module returns.
"""

from __future__ import annotations

import re
from typing import List

ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")


def cells(text: str) -> int:
    """Terminal cells ``text`` takes."""
    from rich.cells import cell_len

    return int(cell_len(text))


def _take(text: str, width: int, from_end: bool = False) -> str:
    """The longest start (or end) of ``text`` that fits ``width`` cells."""
    if cells(text) <= width:
        return text
    chars = list(reversed(text)) if from_end else list(text)
    out: List[str] = []
    used = 0
    for char in chars:
        size = cells(char)
        if used + size > width:
            break
        out.append(char)
        used += size
    return "".join(reversed(out)) if from_end else "".join(out)


_ASIDE = re.compile(r"\s*\([^()]*\)")


def without_asides(text: str) -> str:
    """``text`` without its parenthetical asides ("timed out (no answer...)": "timed out")."""
    return _SPACE.sub(" ", _ASIDE.sub("", text)).strip() or text


def cut_end(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells: without its parenthetical asides if that is enough
    ("timed out (no answer: ...)" is "timed out"), else cut with an ellipsis at the end."""
    text = _SPACE.sub(" ", text).strip()
    if cells(text) <= width:
        return text
    plain = without_asides(text)
    if plain and cells(plain) <= width:
        return plain
    if width <= 1:
        return ELLIPSIS[:width]
    return _take(text, width - 1).rstrip() + ELLIPSIS


def cut_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by an ellipsis if needed: both
    ends of a host name (its first label and its domain and port) tell endpoints apart."""
    if cells(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    head = (width - 1 + 1) // 2
    tail = width - 1 - head
    return _take(text, head) + ELLIPSIS + (_take(text, tail, from_end=True) if tail else "")


def cut_keeping_tail(text: str, tail: str, width: int) -> str:
    """``text`` then ``tail`` in ``width`` cells: ``text`` is shortened first, so a failure
    code at the end (``[tcp.timeout]``) always stays whole."""
    joined = f"{text} {tail}" if text and tail else text or tail
    if cells(joined) <= width:
        return joined
    room = width - cells(tail) - 1
    if room < 4:
        return cut_end(joined, width)
    return f"{cut_end(text, room)} {tail}"


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` cells."""
    return text + " " * max(0, width - cells(text))
