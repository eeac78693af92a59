"""The console script's entry: ``--version`` answered before typer is imported.

Importing typer and click is most of the command line's start-up (about 60 ms of 75 ms, ``python
-X importtime``), and a version query is what scripts and fleet inventories run most often
(DESIGN section 6: under 150 ms). Everything else, ``--help`` included, goes to :func:`.cli.main`,
so the one place that parses flags stays typer's.
"""

from __future__ import annotations

import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> None:
    """Run the command line; ``--version`` alone is printed here, the same line as typer's."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from . import __version__
        from .buildinfo import describe

        sys.stdout.write(describe(__version__) + "\n")
        sys.stdout.flush()
        raise SystemExit(0)
    from .cli import main as cli_main

    cli_main(argv)
