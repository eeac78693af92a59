"""The colours of the terminal formats, one per status; the words come from ``Status.label``.

Colour only repeats what the word says (red FAIL, yellow WARN, green PASS), so nothing is lost
with ``NO_COLOR`` or in a file.
"""

from __future__ import annotations

from typing import Dict, Tuple

from ..model import Status

STYLE: Dict[Status, str] = {
    Status.PASS: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.ERROR: "bold red",
    Status.SKIP: "dim",
    Status.UNKNOWN: "bold magenta",
}


def labelled(status: Status) -> Tuple[str, str]:
    """(word, rich style) for a status."""
    return status.label, STYLE[status]
