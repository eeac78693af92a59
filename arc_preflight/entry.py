"""The console script's entry: ``--version`` and the top-level help answered before typer is
imported.

Importing typer and click is most of the command line's start-up (about 60 ms of 75 ms, ``python
-X importtime``), and building the command tree from the functions' signatures another 25 ms.
A version query is what scripts and fleet inventories run most often, and the top-level help is
what a new user runs first (DESIGN section 6: both under 150 ms). The help is typer's own text,
rendered once by ``scripts/root_help.py`` into ``data/root_help.txt`` (a test fails when it no
longer matches what typer prints); it is only used where typer would print the same bytes, on a
terminal at least :data:`HELP_WIDTH` columns wide. Everything else, a subcommand's help included,
goes to :func:`.cli.main`, so the one place that parses flags stays typer's.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import List, Optional, Tuple

HELP_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "root_help.txt")
# click wraps help to min(terminal columns, 80) - 2: any terminal this wide gets the same text
HELP_WIDTH = 80
# a bare command is a request for help too
HELP_ARGS: Tuple[List[str], ...] = ([], ["--help"], ["-h"])


def main(argv: Optional[List[str]] = None) -> None:
    """Run the command line; ``--version`` alone and the top-level help are printed here, the
    same bytes as typer's."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__
        from .buildinfo import describe

        _answer(describe(__version__) + "\n")
    if args in HELP_ARGS and terminal_columns() >= HELP_WIDTH:
        text = stored_help()
        if text:
            _answer(text)
    from .cli import main as cli_main

    cli_main(argv)


def terminal_columns() -> int:
    """The width click will wrap to, read as :func:`shutil.get_terminal_size` reads it
    (``COLUMNS`` first, then standard output's terminal, else 80) without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80


def stored_help() -> str:
    """The rendered top-level help, or "" when the file is missing or unreadable (typer then
    renders it: a damaged install is slower, never wrong)."""
    try:
        with open(HELP_FILE, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _answer(text: str) -> None:
    """Print ``text`` and exit 0. A closed pipe exits 1 without a traceback; any other write
    error (a full disk, an I/O error) is one line and exit 3, as the command line reports it."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (``arc-preflight --version | true``): no traceback, and no
        # second complaint when Python flushes stdout at exit
        _silence_stdout()
        raise SystemExit(1) from None
    except OSError as exc:
        _silence_stdout()
        with contextlib.suppress(OSError):
            sys.stderr.write(f"arc-preflight: internal error: {type(exc).__name__}: {exc} "
                             "(set ARC_PREFLIGHT_DEBUG=1 for details)\n")
        raise SystemExit(3) from None
    raise SystemExit(0)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the flush at exit has nothing left to
    fail on."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
