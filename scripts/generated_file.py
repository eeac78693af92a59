"""The command line shared by the scripts that write a file the package ships and a test checks
(scripts/pattern_analysis.py, scripts/root_help.py): rewrite it, or with ``--check`` exit 1 when
it no longer matches what the script renders. One copy, so both say staleness the same way."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple


def main(description: str, files: Sequence[Tuple[Path, Callable[[], str]]], script: str,
         argv: Optional[List[str]] = None) -> int:
    """Exit status for ``script``: 0 written or up to date, 1 out of date under ``--check``
    (any of ``files``: each a path and what it must hold)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true",
                        help="only check that the files are up to date")
    args = parser.parse_args(argv)
    status = 0
    for path, render in files:
        text = render()
        if args.check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                print(f"{path} is out of date: run {script}", file=sys.stderr)
                status = 1
            continue
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text):,} bytes)")
    return status
