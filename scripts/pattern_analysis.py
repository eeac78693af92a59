#!/usr/bin/env python3
"""Write (or check) arc_preflight/data/pattern_analysis.json: the literal analysis of every
shipped pattern, which the matcher would otherwise redo at the start of every run (see
arc_preflight/logs/analysed.py). Run it after changing a pattern of the knowledge base, a code
family or a failure shape; the test suite fails until it is run.

    python scripts/pattern_analysis.py           # rewrite the file
    python scripts/pattern_analysis.py --check   # exit 1 if the file is not up to date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generated_file  # this script's own folder, first on sys.path

from arc_preflight import kb as kbmod
from arc_preflight.datafiles import DATA_DIR
from arc_preflight.logs import analysed


def rendered() -> str:
    doc = analysed.document(analysed.shipped_patterns(kbmod.load()))
    return json.dumps(doc, indent=0, sort_keys=True, ensure_ascii=True) + "\n"


def main() -> int:
    return generated_file.main(__doc__.splitlines()[0], DATA_DIR / analysed.FILE_NAME, rendered,
                               "scripts/pattern_analysis.py")


if __name__ == "__main__":
    sys.exit(main())
