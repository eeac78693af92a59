"""The console script's entry: ``--version`` answered before typer is imported.

Importing typer and click is most of the command line's start-up (about 60 ms of 75 ms, ``python
-X importtime``), and a version query is what scripts and fleet inventories run most often
(DESIGN section 6: under 150 ms). Everything else, ``--help`` included, goes to :func:`.cli.main`,
so the one place that parses flags stays typer's.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    """Run the command line; ``--version`` alone is printed here, the same line as typer's."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__
        from .buildinfo import describe

        try:
            sys.stdout.write(describe(__version__) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader went away (``arc-preflight --version | true``): no traceback, and no
            # second complaint when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(1) from None
        raise SystemExit(0)
    from .cli import main as cli_main

    cli_main(argv)
