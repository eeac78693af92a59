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
from backends import BACKENDS

from arc_preflight import kb as kbmod
from arc_preflight.logs.prefilter import Prefilter
from arc_preflight.logs.scanner import matcher_for


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("literals", "text"), [
    ({"readonlydisabledsubscription", "subscription "},
     b"code: readonlydisabledsubscription message: x"),
    ({"the remote certificate is invalid because of errors in the certificate chain",
      "errors in the certificate chain: partialchain"},
     b"the remote certificate is invalid because of errors in the certificate chain: partialchain"),
    ({"abcxdef", "xdefgh", "cxd"}, b"..abcxdefgh.."),
])
def test_overlapping_occurrences_are_all_found(literals: set, text: bytes, backend: str
                                               ) -> None:
    prefilter = Prefilter.build(literals, backend)
    found = {prefilter.literals[i].decode() for _, i in prefilter.hits(text, len(text))}
    expected = {lit for lit in literals if lit.encode() in text}
    # a literal that holds another is represented by the shorter one
    assert found == {lit for lit in expected if lit in {x.decode() for x in prefilter.literals}}


@pytest.mark.parametrize("backend", BACKENDS)
def test_literals_without_letters_share_a_pass_per_first_byte_and_all_are_found(backend: str
                                                                                 ) -> None:
    """MSI exit codes and HTTP statuses are found by one pass per first byte (not one scan of
    the text each), with every occurrence, overlapping ones included, at its own offset."""
    literals = {"404", "407", "429", "1601", "1603", "1618", "@"}
    prefilter = Prefilter.build(literals, backend)
    passes_without_letters = len(prefilter.passes) - len(prefilter.anchors)
    assert passes_without_letters == 2  # "4..." and "16..."; "@" is a memchr search
    text = b"x40407 16016031618 @ 429 1602"
    hits = prefilter.hits(text, len(text))
    found = sorted((at, prefilter.literals[i].decode()) for at, i in hits)
    expected = sorted((at, lit) for lit in literals for at in range(len(text))
                      if text.startswith(lit.encode(), at))
    assert found == expected
    assert (3, "407") in found and (7, "1601") in found and (10, "1603") in found


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_literal_of_the_knowledge_base_is_found_in_a_line_of_all_of_them(backend: str
                                                                               ) -> None:
    """Every prefilter literal, written into one line next to and inside the others, is
    found where it occurs."""
    matcher = matcher_for(kbmod.load(), backend)
    literals = matcher.prefilter.literals
    line = b" ".join(literals)
    found = {i for _, i in matcher.prefilter.hits(line, len(line))}
    assert found == set(range(len(literals)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_arm_code_beside_a_word_that_overlaps_it(backend: str) -> None:
    kb = kbmod.load()
    text = 'Error="Code: ReadOnlyDisabledSubscription Message: The subscription is disabled"'
    assert [c.category for c, _, _ in matcher_for(kb, backend).match(text)][:1] == [
        "sp_or_tenant_not_found"]


def test_a_word_on_every_line_of_healthy_logs_is_not_the_literal() -> None:
    """``extension ... failed`` is prefiltered on the failure word, not on ``extension``: the
    extension manager names the extension on nearly every line, and stopping at each of them
    cost diagnose more than half its time on the benchmark log."""
    from arc_preflight.logs.prefilter import required_literals

    chosen = required_literals(r"\bextension\b[^\n]{0,150}?\b(?:failed|failure)\b")
    assert chosen is not None and "extension" not in chosen
    assert set(chosen) == {"failed", "failure"}
    # a long literal that only contains the word keeps its own score
    assert required_literals(r"extension handler crashed\b.*\berror\b") == (
        "extension handler crashed",)
