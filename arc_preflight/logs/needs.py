"""Which knowledge-base patterns are worth running on a line the prefilter hit.

Every pattern has required literals (:func:`.prefilter.required_literals`): a line it matches
holds at least one of them. The prefilter reports the shorter literals it searched for (``fail``
stands for hundreds of longer ones such as ``failed to download metadata for repo ``), so the
question left for a hit line is which of those longer literals it holds. Asking the line about
each of them in turn costs a Python loop per literal, and testing them all in one alternation
costs the regex engine a walk of every alternative at every byte: on an error line that held
``fail`` the two together took about 0.9 ms, more than all the other work on the line.

So each longer literal is filed under a short *window* of itself around the prefilter literal it
contains: up to :data:`_SIDE` bytes before and after it. For a hit line, every occurrence of the
prefilter literal is looked up once per window shape in use (a dict look-up each), and only the
few literals filed under the window the line shows are compared with the line. A literal whose
window matches is compared whole, so the answer is exact: the set of required literals the line
holds, whatever the text.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Sequence, Set, Tuple

_SIDE = 6  # bytes of context on each side of the prefilter literal in a window

# (bytes before, bytes after) -> window -> [(literal, offset of the prefilter literal in it)]
Buckets = Dict[Tuple[int, int], Dict[bytes, List[Tuple[bytes, int]]]]


class NeedIndex:
    """For one prefilter literal: the longer required literals that contain it, filed by window.
    """

    __slots__ = ("buckets", "key")

    def __init__(self, key: bytes, needs: Sequence[bytes]) -> None:
        self.key = key
        self.buckets: Buckets = {}
        for need in sorted(set(needs)):
            at = need.find(key)
            if at < 0:  # a need that does not hold the key is never found through it
                raise ValueError(f"{need!r} does not contain {key!r}")
            before = min(_SIDE, at)
            after = min(_SIDE, len(need) - at - len(key))
            window = need[at - before:at + len(key) + after]
            self.buckets.setdefault((before, after), {}).setdefault(window, []).append(
                (need, at))

    def present(self, lowered: bytes) -> Set[bytes]:
        """The literals filed here that ``lowered`` holds."""
        found: Set[bytes] = set()
        key, size = self.key, len(self.key)
        pos = lowered.find(key)
        while pos >= 0:
            for (before, after), windows in self.buckets.items():
                start = pos - before
                if start < 0 or pos + size + after > len(lowered):
                    continue
                filed = windows.get(lowered[start:pos + size + after])
                if filed:
                    for need, at in filed:
                        if need not in found and lowered.startswith(need, pos - at):
                            found.add(need)
            pos = lowered.find(key, pos + 1)
        return found


def build_indexes(keys: Sequence[bytes], needs_of: Sequence[Sequence[bytes]]
                  ) -> Tuple[NeedIndex, ...]:
    """One :class:`NeedIndex` per prefilter literal ``keys[i]`` over ``needs_of[i]``."""
    return tuple(NeedIndex(key, needs) for key, needs in zip(keys, needs_of))


def pattern_sets(patterns_needs: Sequence[Sequence[bytes]]) -> Dict[bytes, FrozenSet[int]]:
    """Required literal -> ids of the patterns that require it (one of their alternatives)."""
    out: Dict[bytes, Set[int]] = {}
    for pid, needs in enumerate(patterns_needs):
        for need in needs:
            out.setdefault(need, set()).add(pid)
    return {need: frozenset(pids) for need, pids in out.items()}
