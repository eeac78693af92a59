#!/usr/bin/env python3
"""Write (or check) the three files that spare every run work the shipped data decides.

They are arc_preflight/data/pattern_analysis.json, prefilter_plan.json and parsed_toml.json: the
literal analysis of every shipped pattern, the prefilter planned from their literals and the
data files parsed (see arc_preflight/logs/analysed.py, prefilter_plan.py and
arc_preflight/datafiles.py). Run it after changing a data file, a code family or a failure
shape; the test suite fails until it is run.

    python scripts/pattern_analysis.py           # rewrite the files
    python scripts/pattern_analysis.py --check   # exit 1 if any file is not up to date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import generated_file  # this script's own folder, first on sys.path

from arc_preflight import datafiles
from arc_preflight import kb as kbmod
from arc_preflight.datafiles import DATA_DIR
from arc_preflight.logs import analysed, prefilter_plan, scanner
from arc_preflight.logs.prefilter import Prefilter


def _dump(doc: object) -> str:
    return json.dumps(doc, indent=0, sort_keys=True, ensure_ascii=True) + "\n"


def rendered() -> str:
    return _dump(analysed.document(analysed.shipped_patterns(kbmod.load())))


def plan_rendered() -> str:
    """The plan from a prefilter built now (never from the shipped plan it is checked against)."""
    literals = scanner.build_matcher(kbmod.load(), "pure").literals
    return _dump(prefilter_plan.document(literals, Prefilter.build(set(literals), "pure")))


def toml_rendered() -> str:
    """Every packaged TOML file that JSON can hold exactly (not one with dates), parsed now,
    its keys in the file's order (a catalogue lists its clouds in that order)."""
    files = {}
    for path in sorted(DATA_DIR.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        doc = datafiles.loads(text)
        try:
            encoded = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
        except TypeError:
            continue
        if json.loads(encoded) == doc:
            files[path.name] = {"key": datafiles.text_key(text), "json": encoded}
    return _dump({"format": datafiles.PARSED_FORMAT, "files": files})


def main() -> int:
    return generated_file.main(__doc__.splitlines()[0],
                               [(DATA_DIR / analysed.FILE_NAME, rendered),
                                (DATA_DIR / prefilter_plan.FILE_NAME, plan_rendered),
                                (DATA_DIR / datafiles.PARSED_FILE, toml_rendered)],
                               "scripts/pattern_analysis.py")


if __name__ == "__main__":
    sys.exit(main())
