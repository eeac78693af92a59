"""Which required literals a hit line holds (logs/needs.py): exactly those it holds.

The index answers by looking up short windows around the prefilter literal; a literal missed
here would silently stop its pattern from ever matching, so it is held to the plain answer
(``need in line`` for every need) on generated lines, overlapping and repeated occurrences
included, and on the knowledge base's own literals.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arc_preflight import kb as kbmod
from arc_preflight.logs.needs import NeedIndex
from arc_preflight.logs.scanner import matcher_for

KEY = b"fail"
# Needs around the key at every offset, of every length, sharing windows and prefixes.
NEEDS = [b"fail", b"failed", b"failed to ", b"failed to fetch ", b"dns resolution failed",
         b"getaddrinfo failed", b"[errno 11001] getaddrinfo failed", b"failure", b"ailfail",
         b"failfail", b"x fail y", b"failed to download metadata for repo "]
PIECES = st.sampled_from([b"fail", b"ed", b" to ", b"fetch ", b"dns resolution ", b"ure",
                          b"getaddrinfo ", b"[errno 11001] ", b"x ", b" y", b"a", b"il",
                          b"download metadata for repo ", b"\xff", b" "])


@settings(max_examples=400, deadline=None)
@given(st.lists(PIECES, max_size=14))
def test_every_need_the_line_holds_is_found_and_no_other(pieces: list) -> None:
    line = b"".join(pieces)
    index = NeedIndex(KEY, NEEDS)
    assert index.present(line) == {need for need in NEEDS if need in line}


def test_a_need_without_its_key_is_refused() -> None:
    try:
        NeedIndex(b"fail", [b"timeout"])
    except ValueError as exc:
        assert "does not contain" in str(exc)
    else:  # pragma: no cover - the assertion below reports it
        raise AssertionError("a need without the key was accepted")


def test_every_knowledge_base_literal_is_found_through_each_prefilter_literal_it_holds() -> None:
    """Each required literal of the knowledge base, alone on a line and with text around it, is
    reported by the index of every prefilter literal it contains."""
    matcher = matcher_for(kbmod.load())
    prefilter = matcher.prefilter
    for need in sorted(matcher.need_patterns):
        for line in (need, b"xx " + need + b" yy", need + need):
            for lit_id in prefilter.line_literals(need):
                assert need in matcher.needs[lit_id].present(line), (need, line)
