#!/usr/bin/env python3
"""Write (or check) arc_preflight/data/root_help.txt: typer's top-level ``--help``, which the
entry point prints without importing typer (see arc_preflight/entry.py). Run it after changing a
command, its one-line help or a top-level option; the test suite fails until it is run.

    python scripts/root_help.py           # rewrite the file
    python scripts/root_help.py --check   # exit 1 if the file is not up to date
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generated_file  # this script's own folder, first on sys.path

from arc_preflight import entry


def rendered() -> str:
    """What typer prints for ``arc-preflight --help`` on a terminal of ``HELP_WIDTH`` columns."""
    from arc_preflight import cli

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(entry.HELP_WIDTH)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            cli.main(["--help"])
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return out.getvalue()


def main() -> int:
    return generated_file.main(__doc__.splitlines()[0], [(Path(entry.HELP_FILE), rendered)],
                               "scripts/root_help.py")


if __name__ == "__main__":
    sys.exit(main())
