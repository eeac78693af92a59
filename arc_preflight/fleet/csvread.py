"""The CSV's cells of every check of a report, as the reader keeps them for ``--format csv``.

A fleet's CSV is one row per host and check, 600,000 rows for 10,000 hosts. The cells a check
brings (its columns ``check_id`` to ``message``) are encoded here, in the reader's worker
processes, so the one process that writes the file only joins them (:mod:`.csvrow`). Most of
them repeat: a check's columns up to its code are the same on every host, and a message is often
the same for several checks of one host (its address). Each is cleaned, redacted and encoded once
per batch of reports, and the checks of a report are looked up all at once.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Dict, List, Optional, Tuple, cast

from . import csvrow
from .fields import _SUMMARY, _need, _shared, _text

# The memo's entries for the CSV, each a dictionary of its own under a key nothing from a report
# can equal: the encoded columns check_id to code of each kind of check, the encoded message of
# each summary, and the tuples of those columns and of causes that hosts share.
_CSV_HEADS, _CSV_MESSAGES, _CSV_TUPLES = object(), object(), object()


# A check's fields as a report from this tool always holds them: taken by the interpreter itself,
# not key by key in Python (this runs 600,000 times). A report that lacks one is read with the
# defaults instead, one check at a time.
_HEAD_FIELDS = itemgetter("id", "probe", "target", "status", "code")
_SUMMARY_FIELD = itemgetter("summary")
_ENCODED, _KEPT_ID = itemgetter(0), itemgetter(1)


def csv_cells(checks_in: List[Any], cause_of: Dict[str, str], memo: Dict[Any, Any]
              ) -> Tuple[Tuple[str, ...], Tuple[str, ...], Tuple[Optional[str], ...]]:
    """Every check's CSV columns ``check_id`` to ``code`` and ``message``, encoded, and the
    cause each one is evidence of (``()`` when none is), in the report's order.

    A fleet's CSV is 600,000 rows, and this is done for each in the worker processes rather
    than by the one process that writes the file. A check's columns up to its code are the same
    on every host, and a message is often the same for several checks of a host (its address):
    each is cleaned, redacted and encoded once per batch, and looked up for all the checks of a
    report at once. Only strings are remembered (``True`` and ``1`` would share a key), so a
    lookup never finds another type's entry; anything else is read one check at a time.
    """
    heads: Dict[Tuple[Any, ...], Tuple[str, str]] = memo.setdefault(_CSV_HEADS, {})
    messages: Dict[str, str] = memo.setdefault(_CSV_MESSAGES, {})
    try:
        found = list(map(heads.get, map(_HEAD_FIELDS, checks_in)))
        said = list(map(messages.get, map(_SUMMARY_FIELD, checks_in)))
    except (KeyError, TypeError):  # a field missing, or a list where a string belongs
        found, said = [None] * len(checks_in), [None] * len(checks_in)
    if None in found or None in said:
        for index, item in enumerate(checks_in):
            if found[index] is None:
                found[index] = _csv_head(item, index, heads)
            if said[index] is None:
                said[index] = _csv_message(item.get("summary", ""), messages)
    cells = cast(List[Tuple[str, str]], found)
    linked = tuple(map(cause_of.get, map(_KEPT_ID, cells))) if cause_of else ()
    shared = memo.setdefault(_CSV_TUPLES, {})
    return (_shared(shared, tuple(map(_ENCODED, cells))), tuple(cast(List[str], said)),
            _shared(shared, linked) if any(linked) else ())


def _csv_head(item: Dict[str, Any], index: int, heads: Dict[Tuple[Any, ...], Tuple[str, str]]
              ) -> Tuple[str, str]:
    """(the encoded columns check_id to code, the check's id as kept) of a kind of check not
    seen before in this batch."""
    check_id = _need(item, "id", str, f"checks[{index}].")
    key = (check_id, item.get("probe", ""), item.get("target", ""), item["status"],
           item.get("code"))
    _, probe, target, state, code = key
    plain = type(probe) is str and type(target) is str and (code is None or type(code) is str)
    found = heads.get(key) if plain else None  # an earlier check of this report added it
    if found is None:
        kept = _text(check_id, 300)
        found = (csvrow.check_head(kept, _text(probe, 20), _text(target, 300), state,
                                   _text(code, 60) if isinstance(code, str) else None), kept)
        if plain:
            heads[key] = found
    return found


def _csv_message(summary: Any, messages: Dict[str, str]) -> str:
    """The encoded message of a summary not in ``messages`` when this report was looked up
    (several checks of one report often say the same thing: the first one adds it)."""
    plain = type(summary) is str
    message = messages.get(summary) if plain else None
    if message is None:
        message = csvrow.message(_text(summary, _SUMMARY))
        if plain:
            messages[summary] = message
    return message
