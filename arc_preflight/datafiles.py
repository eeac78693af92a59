"""The packaged data files (catalogue, knowledge base, issuers, naming rules) and the TOML
reader for them and for ``--config``: tomllib from Python 3.11, the tomli backport before."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

DATA_DIR = Path(__file__).resolve().parent / "data"
TOMLDecodeError = tomllib.TOMLDecodeError
loads = tomllib.loads


def read_toml(name: str) -> Dict[str, Any]:
    """A data file of the package, parsed."""
    return dict(tomllib.loads((DATA_DIR / name).read_text(encoding="utf-8")))
