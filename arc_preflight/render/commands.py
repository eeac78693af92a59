"""Commands inside remedy steps, laid out so they can be printed whole and copied.

Finding the commands in a step is plain text work and lives in ``steptext`` (the diagnosis uses it
too); what is left here is layout: folding a long command over lines that still paste and run.
"""

from __future__ import annotations

from typing import List

from ..steptext import CMDLET, Segment, split_step, tokens

__all__ = ["Segment", "fold_command", "split_step"]


def fold_command(command: str, width: int) -> List[str]:
    """A command as lines of at most ``width`` cells where it can be: broken only before an
    option (``-x``, ``--name``) or a ``&&``/``|``, with the shell's line continuation (`` \\``;
    a backtick for PowerShell), so the lines still paste and run as one command. A command
    with no such place to break stays one line."""
    if len(command) <= width:
        return [command]
    spans = tokens(command)
    mark = " `" if CMDLET.match(command.split(" ", 1)[0]) else " \\"
    chunks: List[str] = []  # an option with its values, or the program with its words
    for lo, hi in spans:
        word = command[lo:hi]
        if chunks and not (word.startswith("-") or word in ("&&", "|", "||")):
            chunks[-1] += " " + word
        else:
            chunks.append(word)
    indent = "    "
    lines: List[str] = []
    current = ""
    for chunk in chunks:
        candidate = f"{current} {chunk}" if current else chunk
        limit = width - len(mark) - (len(indent) if lines else 0)
        if current and len(candidate) > limit:
            lines.append(current + mark)
            current = chunk
        else:
            current = candidate
    lines.append(current)
    return [lines[0], *(indent + line for line in lines[1:])]
