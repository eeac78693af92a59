"""What a person sees: a command run in a real pseudo-terminal (tmux) of a given size, inside a
lab namespace, and the screen captured as text.

Each capture starts its own tmux server on a private socket (``tmux -L arcpf-...``, no user
configuration) and ends it, so nothing else running tmux on the machine is touched. The command
runs inside the lab's namespace (``ip netns exec``), so it can send no packet outside.

Used by ``test_screen.py`` and by ``scripts/capture-80`` (the README's screenshots).
"""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from .netlab import Lab

DONE = "__ARC_SCREEN_DONE__"
ANSI = re.compile(r"\x1b\[[0-9;:]*[A-Za-z]")


@dataclass(frozen=True)
class Screen:
    """A finished command's screen: ``text`` with wrapped lines joined back (a line longer
    than the terminal shows as such), ``ansi`` the same with colour escapes."""

    width: int
    text: str
    ansi: str
    exit_code: int

    @property
    def lines(self) -> List[str]:
        return self.text.splitlines()

    def section(self, title: str) -> List[str]:
        """The lines from the one starting with ``title`` to the next blank line."""
        lines = self.lines
        start = next(i for i, line in enumerate(lines) if line.startswith(title))
        end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
        return lines[start:end]


def cli_path() -> str:
    """The installed console script beside the interpreter running the tests."""
    script = Path(sys.executable).with_name("arc-preflight")
    return str(script) if script.exists() else f"{sys.executable} -m arc_preflight"


def _tmux(socket: str, *args: str, env: Optional[Mapping[str, str]] = None,
          check: bool = True) -> str:
    proc = subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", *args],
                          capture_output=True, text=True, env=dict(env) if env else None,
                          timeout=30, check=check)
    return proc.stdout


def _capture(socket: str, escapes: bool) -> str:
    args = ["capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "screen"]
    return _tmux(socket, *args, *(["-e"] if escapes else []))


def run_on_screen(lab: Lab, argv: Sequence[str], width: int, *, height: int = 50,
                  env: Optional[Mapping[str, Optional[str]]] = None, user: Optional[str] = None,
                  timeout: float = 90) -> Screen:
    """Run ``arc-preflight ARGV`` in a ``width`` x ``height`` tmux pane inside ``lab`` and
    return the screen once the command has finished (its scrollback included)."""
    socket = f"arcpf-screen-{secrets.token_hex(4)}"
    command = shlex.join([*lab.command_prefix(user), *shlex.split(cli_path()), *argv])
    # The marker and exit code come after the output; the pane then stays until captured.
    shell = f"{command}; printf '\\n{DONE} %s\\n' \"$?\"; sleep 600"
    environment = lab.env({"TMUX": None, "TMUX_PANE": None, **(env or {})}, user)
    _tmux(socket, "new-session", "-d", "-s", "screen", "-x", str(width), "-y", str(height),
          shell, env=environment)
    try:
        deadline = time.monotonic() + timeout
        while True:
            text = _capture(socket, escapes=False)
            found = re.search(rf"^{DONE} (\d+)$", text, re.MULTILINE)
            if found:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no end of output within {timeout} s:\n{text}")
            time.sleep(0.2)
        ansi = _capture(socket, escapes=True)
    finally:
        _tmux(socket, "kill-server", check=False)
    return Screen(width=width, text=_trim(text), ansi=_trim(ansi), exit_code=int(found.group(1)))


def _trim(text: str) -> str:
    """The screen without the marker line, trailing spaces and the blank rows below."""
    lines = [line.rstrip() for line in text.splitlines()]
    cut = next((i for i, line in enumerate(lines) if ANSI.sub("", line).startswith(DONE)),
               len(lines))
    lines = lines[:cut]
    while lines and not ANSI.sub("", lines[-1]).strip():
        lines.pop()
    return "\n".join(lines) + "\n"
