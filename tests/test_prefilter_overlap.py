"""The prefilter finds every occurrence of every literal, also where occurrences overlap.

Found while adding the code families: ``subscription `` (from ``Subscription '...' not found``)
hid ``readonlydisabledsubscription`` (an ARM code) on ``Code: ReadOnlyDisabledSubscription
Message: ...``, because both were anchored on the same ``b`` and the trie reports one literal per
position; and ``errors in the certificate chain: partialchain`` was hidden inside the longer
``the remote certificate is invalid because of errors in the certificate chain`` because a match
consumed the text it overlapped. Both made a knowledge-base pattern silently never match.
"""

from __future__ import annotations

import pytest

from arc_preflight import kb as kbmod
from arc_preflight.logs.prefilter import Prefilter
from arc_preflight.logs.scanner import matcher_for


@pytest.mark.parametrize(("literals", "text"), [
    ({"readonlydisabledsubscription", "subscription "},
     b"code: readonlydisabledsubscription message: x"),
    ({"the remote certificate is invalid because of errors in the certificate chain",
      "errors in the certificate chain: partialchain"},
     b"the remote certificate is invalid because of errors in the certificate chain: partialchain"),
    ({"abcxdef", "xdefgh", "cxd"}, b"..abcxdefgh.."),
])
def test_overlapping_occurrences_are_all_found(literals: set, text: bytes) -> None:
    prefilter = Prefilter.build(literals)
    found = {prefilter.literals[i].decode() for _, i in prefilter.hits(text, len(text))}
    expected = {lit for lit in literals if lit.encode() in text}
    # a literal that holds another is represented by the shorter one
    assert found == {lit for lit in expected if lit in {x.decode() for x in prefilter.literals}}


def test_every_literal_of_the_knowledge_base_is_found_in_a_line_of_all_of_them() -> None:
    """Every prefilter literal, written into one line next to and inside the others, is
    found where it occurs."""
    matcher = matcher_for(kbmod.load())
    literals = matcher.prefilter.literals
    line = b" ".join(literals)
    found = {i for _, i in matcher.prefilter.hits(line, len(line))}
    assert found == set(range(len(literals)))


def test_arm_code_beside_a_word_that_overlaps_it() -> None:
    kb = kbmod.load()
    text = 'Error="Code: ReadOnlyDisabledSubscription Message: The subscription is disabled"'
    assert [c.category for c, _, _ in matcher_for(kb).match(text)][:1] == [
        "sp_or_tenant_not_found"]
