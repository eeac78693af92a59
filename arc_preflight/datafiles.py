"""The packaged data files (catalogue, knowledge base, issuers, naming rules) and the TOML
reader for them and for ``--config``: tomllib from Python 3.11, the tomli backport before.

Parsing TOML is pure Python: the knowledge base and the code families alone took about 0.2 s at
the start of every ``diagnose``. ``scripts/pattern_analysis.py`` therefore also writes
``data/parsed_toml.json``, each data file as JSON (which C parses thirty times faster) beside the
length and CRC-32 of the text it came from. A file is read from it only when its text is that
very text; any other text (a file edited by hand, a test's own TOML) is parsed as TOML, so the
cache can make a start sooner but not change what is read. ``tests/test_parsed_toml.py``
holds it to the TOML files.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

DATA_DIR = Path(__file__).resolve().parent / "data"
PARSED_FILE = "parsed_toml.json"
PARSED_FORMAT = 1
TOMLDecodeError = tomllib.TOMLDecodeError
loads = tomllib.loads

_parsed: Optional[Dict[str, Any]] = None


def read_generated(file_name: str, fmt: int) -> Dict[str, Any]:
    """A JSON file ``scripts/pattern_analysis.py`` generates into the data folder, or ``{}`` when
    it is missing, unreadable, not an object or of another format: such a file only ever saves
    work, so a damaged one means the work is done as if there were none."""
    try:
        raw = json.loads((DATA_DIR / file_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) and raw.get("format") == fmt else {}


def text_key(text: str) -> str:
    """What identifies the text a cached file was parsed from: its length and CRC-32 (zlib is
    built in; hashlib would cost 20 ms of OpenSSL import at every start). Any edit by hand
    changes it; a forgery made to collide would not, but whoever can write the package's data
    files can change its code as well."""
    data = text.encode("utf-8", "surrogatepass")
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _cached(name: str) -> Dict[str, Any]:
    """The cache's entry for data file ``name`` (empty when it has none)."""
    global _parsed
    if _parsed is None:
        files = read_generated(PARSED_FILE, PARSED_FORMAT).get("files")
        _parsed = files if isinstance(files, dict) else {}
    entry = _parsed.get(name)
    return entry if isinstance(entry, dict) else {}


def parse_packaged(text: str, name: str) -> Dict[str, Any]:
    """The TOML ``text`` of the packaged data file ``name``, parsed: from the JSON cache when it
    was written from this very text, else by the TOML parser. The same value either way, keys
    in the file's order; each call returns a new object. A cache entry serves its file once per
    process (its readers keep what they built) and is let go then; a call with other text under
    the same name (a test's own TOML) leaves it for the file."""
    entry = _cached(name)
    doc = entry.get("json")
    if isinstance(doc, str) and entry.get("key") == text_key(text):
        if _parsed is not None:
            _parsed.pop(name, None)
        try:
            parsed = json.loads(doc)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return dict(tomllib.loads(text))


def read_toml(name: str) -> Dict[str, Any]:
    """A data file of the package, parsed."""
    return parse_packaged((DATA_DIR / name).read_text(encoding="utf-8"), name)


def tables(text: str, file_name: str, table: str, error: Callable[[str], Exception]
           ) -> List[Any]:
    """The ``[[table]]`` entries of a packaged data file that holds only them (and ``schema``).

    One strict reading for the knowledge base and the code families: a typo in a top-level key,
    invalid TOML or an empty list stops the load with ``error`` rather than dropping entries."""
    try:
        doc = parse_packaged(text, file_name)
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
