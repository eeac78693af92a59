"""``explain``: look one query up in the knowledge base.

A query is an AZCM code or the agent's exit code, a cause id, a category (listing its causes), a
probe failure code, or error text pasted as the agent printed it; text is classified exactly as
``diagnose`` would.
"""

from __future__ import annotations

import re
import sys

from .kb import KnowledgeBase
from .logs.diagnose import diagnose_text
from .model import CATEGORIES, FAILURE_CODES, Explanation

_CODE_QUERY = re.compile(r"^\s*(?:azcm)?(\d{1,4})\s*$", re.IGNORECASE)


def explain(query: str, kb: KnowledgeBase, platform: str = sys.platform) -> Explanation:
    """The knowledge-base entries for a query; ``causes`` is empty when nothing matches."""
    text = query.strip()
    m = _CODE_QUERY.match(text)
    if m and (text[:4].upper() == "AZCM" or len(m.group(1)) <= 3 or text.isdigit()):
        code = f"AZCM{int(m.group(1)):04d}"
        if code == "AZCM0000":
            return Explanation(query, "success", (), code)
        entries = tuple(kb.by_azcm(code))
        if entries:
            return Explanation(query, "azcm", entries, code)
    cause = kb.get(text.lower())
    if cause is not None:
        return Explanation(query, "cause_id", (cause,))
    if text.lower() in CATEGORIES:
        # What `check` shows in brackets: every cause of that category, most decisive first.
        members = sorted((c for c in kb.causes if c.category == text.lower()),
                         key=lambda c: -c.priority)
        return Explanation(query, "category", tuple(members))
    if text.lower() in FAILURE_CODES:
        found = kb.for_failure(text.lower())
        return Explanation(query, "probe_code", (found,) if found else ())
    report = diagnose_text(text, kb, platform=platform)
    by_id = {c.id: c for c in kb.causes}
    causes = tuple(by_id[d.diagnosis.cause_id] for d in report.diagnoses
                   if d.diagnosis.cause_id in by_id)
    return Explanation(query, "text", causes, None, report)
