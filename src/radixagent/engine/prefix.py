"""Token prefixes: how long two token sequences agree, and a trie of every sequence an engine
has been sent or has generated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token sequences. Compares slices (C speed)
    and bisects, so an 8k-token prompt costs a handful of list comparisons."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    a_list = a if isinstance(a, list) else list(a)
    b_list = b if isinstance(b, list) else list(b)
    if a_list[:n] == b_list[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] holds, a[:hi] == b[:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a_list[lo:mid] == b_list[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


_Trie: TypeAlias = dict[int, "_Trie"]


def computable_once(shared: int, length: int) -> int:
    """Of a prompt of `length` tokens whose first `shared` were seen before, what a prefix cache
    could reuse: an engine always computes the last prompt token, to sample the next one."""
    return min(shared, max(length - 1, 0))


class PrefixLedger:
    """Every token sequence the engine has been sent or has generated, to count how much of
    a new prompt an ideal prefix cache could reuse (its `cacheable` tokens). The engine's
    `cached_tokens` divided by this is the prefix efficiency: 1.0 means nothing was recomputed
    that could have been reused."""

    def __init__(self) -> None:
        self._root: _Trie = {}

    def _seen(self, ids: list[int]) -> tuple[_Trie, int]:
        """The trie node at the end of the longest prefix of `ids` seen before, and its length."""
        node = self._root
        depth = 0
        for token in ids:
            child = node.get(token)
            if child is None:
                break
            node, depth = child, depth + 1
        return node, depth

    def shared(self, ids: list[int]) -> int:
        """The length of the longest prefix of `ids` seen before."""
        return self._seen(ids)[1]

    def cacheable(self, ids: list[int]) -> int:
        """What of a prompt `ids` a prefix cache could reuse: an engine always computes the
        last prompt token, to sample the next one from it."""
        return computable_once(self.shared(ids), len(ids))

    def record(self, ids: list[int]) -> int:
        """`shared(ids)`, then `observe(ids)`, in one walk (for a prompt being sent)."""
        node, depth = self._seen(ids)
        for token in ids[depth:]:
            node = node.setdefault(token, {})
        return depth

    def observe(self, ids: list[int]) -> None:
        node = self._root
        for token in ids:
            node = node.setdefault(token, {})
