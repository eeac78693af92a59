"""The packaged data files (catalogue, knowledge base, issuers, naming rules) and the TOML
reader for them and for ``--config``: tomllib from Python 3.11, the tomli backport before."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

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


def tables(text: str, file_name: str, table: str, error: Callable[[str], Exception]
           ) -> List[Any]:
    """The ``[[table]]`` entries of a packaged data file that holds only them (and ``schema``).

    One strict reading for the knowledge base and the code families: a typo in a top-level key,
    invalid TOML or an empty list stops the load with ``error`` rather than dropping entries."""
    try:
        doc = loads(text)
    except TOMLDecodeError as exc:
        raise error(f"{file_name}: not valid TOML: {exc}") from None
    extra = set(doc) - {"schema", table}
    if extra:
        raise error(f"{file_name}: unknown top-level key(s) {sorted(extra)}")
    entries = doc.get(table)
    if not isinstance(entries, list) or not entries:
        raise error(f"{file_name}: no [[{table}]] entries")
    return entries


MAX_KEY_PARTS = 32  # dotted-key parts or table-header parts on one line
MAX_NESTING = 32  # brackets and braces opened on one line (inline arrays and tables)


def loads_bounded(text: str) -> Dict[str, Any]:
    """Parse TOML from an untrusted file, refusing shapes the parser handles badly before it
    sees them: tomllib takes minutes on a 100,000-part dotted key, and deep inline nesting can
    exhaust the stack. The check is one linear pass (values in strings are counted too, which
    only ever refuses more; no real setting comes near the limits)."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.count(".") > MAX_KEY_PARTS and _key_part(line).count(".") > MAX_KEY_PARTS:
            raise TOMLDecodeError(f"line {number}: a key of more than {MAX_KEY_PARTS} dotted "
                                  "parts")
        if line.count("[") + line.count("{") > MAX_NESTING:
            raise TOMLDecodeError(f"line {number}: more than {MAX_NESTING} nested arrays or "
                                  "tables")
    try:
        return dict(tomllib.loads(text))
    except RecursionError:
        raise TOMLDecodeError("nested too deeply") from None


def _key_part(line: str) -> str:
    """The key (or table header) of a TOML line: what comes before its first '='."""
    stripped = line.lstrip()
    if stripped.startswith("["):
        return stripped
    return stripped.split("=", 1)[0]
