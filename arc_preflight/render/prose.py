"""Paragraphs, remedy steps and links for the terminal formats, wrapped to a width.

Shared by ``check``'s report (``table``) and ``diagnose``/``explain`` (``diag_table``). Prose
breaks at spaces; commands in a remedy are printed whole (on their own lines where the step
introduces them, see ``commands``) and links are never broken, so both can be copied.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple, Union

from .commands import fold_command, split_step
from .fit import cells

Part = Union[str, Tuple[str, str]]  # text, or (text, rich style)
_Word = Tuple[str, str, bool]  # (text, style, whole)


def _line(indent: int, words: Sequence[Tuple[str, str]]) -> Any:
    from rich.text import Text

    out = Text(" " * indent)
    for number, (word, style) in enumerate(words):
        if number:
            out.append(" ")
        out.append(word, style=style or None)
    return out


def _words(parts: Sequence[Part], whole: bool = False) -> List[_Word]:
    words: List[_Word] = []
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        if whole:
            words.append((text.strip(), style, True))
        else:
            words.extend((word, style, False) for word in text.split())
    return words


def _split_long(words: Sequence[_Word], room: int) -> List[_Word]:
    """Prose words longer than a whole line (a resource id, a long path) cut into pieces that
    fit; commands and links (whole words) are left alone."""
    out: List[_Word] = []
    for word, style, whole in words:
        if whole or cells(word) <= room or room < 10:
            out.append((word, style, whole))
            continue
        while cells(word) > room:
            out.append((word[:room], style, False))
            word = word[room:]
        out.append((word, style, False))
    return out


def _pack(words: Sequence[_Word], width: int, indent: int, hanging: int) -> List[Any]:
    lines: List[Any] = []
    current: List[Tuple[str, str]] = []
    used = 0
    for word, style, _ in words:
        room = width - (indent if not lines else hanging)
        size = cells(word)
        if current and used + 1 + size > room:
            lines.append(_line(indent if not lines else hanging, current))
            current, used = [], 0
        current.append((word, style))
        used += size + (1 if len(current) > 1 else 0)
    if current or not lines:
        lines.append(_line(indent if not lines else hanging, current))
    return lines


def paragraph(parts: Sequence[Part], width: int, indent: int = 0,
              hanging: int = -1) -> List[Any]:
    """Lines of ``parts`` wrapped at spaces: the first at ``indent``, the others at ``hanging``
    (default: ``indent``). A word longer than the room gets a line of its own, whole."""
    hanging = indent if hanging < 0 else hanging
    return _pack(_split_long(_words(parts), width - max(indent, hanging)), width, indent,
                 hanging)


def _glue(flow: List[_Word], word: _Word) -> None:
    """Add a word; punctuation after a command, or an opening parenthesis before one, sticks to
    it ("azcmagent connect." not "azcmagent connect .") and the pair is never split."""
    text, style, whole = word
    if len(flow) > 1:  # never onto the step's number
        last, last_style, last_whole = flow[-1]
        after_command = last_whole and not whole and text[:1] in ".,;:)"
        before_command = whole and last.endswith("(")
        if after_command or before_command:
            flow[-1] = (last + text, last_style or style, True)
            return
    flow.append(word)


def remedy_step(number: int, step: str, width: int, indent: int) -> List[Any]:
    """``N. step``: prose wrapped under the number; commands whole, on their own lines where
    the step introduces them with a colon, and folded with a line continuation if longer than
    the width."""
    label = f"{number}."
    text_at = indent + len(label) + 1
    command_at = text_at + 2
    lines: List[Any] = []
    flow: List[_Word] = [(label, "", True)]

    for segment in split_step(step):
        if segment.kind == "prose":
            for word in _words([segment.text]):
                _glue(flow, word)
            continue
        if segment.kind == "inline" and cells(segment.text) <= width - text_at:
            _glue(flow, (segment.text, "bold", True))
            continue
        # A command on its own line: introduced as such, or too long to stay in the sentence.
        if not lines and len(flow) == 1:  # the step opens with the command
            folded = fold_command(segment.text, max(20, width - text_at))
            lines.append(_line(indent, [(label, ""), (folded[0], "bold")]))
            lines.extend(_line(text_at, [(part, "bold")]) for part in folded[1:])
            flow.clear()
            command_at = text_at  # the step's other commands line up under it
            continue
        if flow:
            lines.extend(_pack(flow, width, indent if not lines else text_at, text_at))
            flow.clear()
        # Under the step's text, indented; two cells to the left if that is all it takes to
        # stay whole on one line; else folded at the indent.
        at = text_at if cells(segment.text) <= width - text_at < cells(segment.text) + 2 \
            else command_at
        lines.extend(_line(at, [(part, "bold")])
                     for part in fold_command(segment.text, max(20, width - at)))
    if flow:
        lines.extend(_pack(flow, width, indent if not lines else text_at, text_at))
    return lines


def links(urls: Sequence[str], width: int, indent: int) -> List[Any]:
    """``See URL`` lines; a URL that does not fit after ``See`` gets a line of its own, whole,
    as far right as it fits (a link is only useful unbroken)."""
    lines = []
    for url in urls:
        if indent + 4 + cells(url) <= width:
            lines.append(_line(indent, [("See", "dim"), (url, "dim")]))
        else:
            lines.append(_line(indent, [("See:", "dim")]))
            lines.append(_line(max(0, min(indent + 2, width - cells(url))), [(url, "dim")]))
    return lines
