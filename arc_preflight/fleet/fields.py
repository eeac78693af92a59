"""One field of an untrusted report, read: the reasons a report is unusable, the fields it
must have, and every text kept made printable, redacted and cut to a bound (memoised, as most
texts repeat across a fleet). Shared by the reader (:mod:`.load`) and its CSV cells
(:mod:`.csvread`).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional, Tuple

from ..redact import clean, redact

SCHEMA = "arc-preflight/1"
# Bounds on what one report may contribute to the page: a report is a few hundred checks and a
# handful of diagnoses, so anything larger is cut (and says so with "...").
_SUMMARY, _TITLE, _LONG, _EVIDENCE, _MAX_ITEMS = 400, 300, 2000, 300, 50


class _Unusable(Exception):
    """This input is not a report we can roll up; ``kind`` is a PROBLEM_KINDS value."""

    def __init__(self, kind: str, reason: str, hostname: Optional[str] = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.hostname = hostname


_CACHE: Dict[Tuple[str, int], str] = {}
_CACHE_MAX = 200_000


def _text(value: Any, limit: int) -> str:
    """A printable, redacted string of at most ``limit`` characters.

    Memoised: across a fleet the same check ids, targets, codes and most messages repeat on
    every host, and redaction is the costliest step of reading a report.
    """
    raw = value if isinstance(value, str) else str(value)
    key = (raw, limit)
    found = _CACHE.get(key)
    if found is not None:
        return found
    text = redact(clean(raw[:limit * 4]))  # cut first (a secret cut here is still masked
    text = text if len(text) <= limit else text[:limit - 3] + "..."  # by shape), then again
    if len(raw) > 1000:  # never keep a huge string alive as a key
        return text
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = text = sys.intern(text) if len(text) < 100 else text
    return text


def _need(doc: Dict[str, Any], key: str, kind: Any, where: str = "") -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _Unusable("unreadable", f"not an {SCHEMA} report: {where}{key} is missing or "
                        "of the wrong type")
    return value


def _strings(value: Any, limit: int) -> Tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(_text(item, limit) for item in value[:_MAX_ITEMS] if isinstance(item, str))


def _shared(memo: Dict[Any, Any], value: Any) -> Any:
    """The object equal to ``value`` that this batch already holds, else ``value``: hosts that
    failed alike share one copy, so a worker sends it once."""
    return memo.setdefault(value, value)
