"""Token prefixes: how long two token sequences agree, and a trie of every sequence an engine
has been sent or has generated."""

from __future__ import annotations

from collections.abc import Sequence


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


def computable_once(shared: int, length: int) -> int:
    """Of a prompt of `length` tokens whose first `shared` were seen before, what a prefix cache
    could reuse: an engine always computes the last prompt token, to sample the next one."""
    return min(shared, max(length - 1, 0))


class _Node:
    """A node of the ledger's radix tree: its edges by first token, each a run of tokens
    (`label`) ending in a node."""

    __slots__ = ("edges",)

    def __init__(self) -> None:
        self.edges: dict[int, tuple[list[int], _Node]] = {}


class PrefixLedger:
    """Every token sequence the engine has been sent or has generated, to count how much of
    a new prompt an ideal prefix cache could reuse (its `cacheable` tokens). The engine's
    `cached_tokens` divided by this is the prefix efficiency: 1.0 means nothing was recomputed
    that could have been reused.

    A radix tree, like the engine's own: each edge holds a run of tokens, compared as one list
    slice, so a prompt of a few thousand tokens that extends an earlier one is walked in a few
    comparisons rather than a dictionary lookup per token (every step of a run asks again)."""

    def __init__(self) -> None:
        self._root = _Node()

    def _walk(self, ids: list[int], grow: bool) -> int:
        """The length of the longest prefix of `ids` seen before; with `grow`, `ids` is then
        recorded as seen."""
        node, depth, n = self._root, 0, len(ids)
        while depth < n:
            edge = node.edges.get(ids[depth])
            if edge is None:
                if grow:
                    node.edges[ids[depth]] = (ids[depth:], _Node())
                return depth
            label, child = edge
            size = len(label)
            if ids[depth : depth + size] == label:
                node, depth = child, depth + size
                continue
            matched = common_prefix_length(label, ids[depth : depth + size])
            if grow:  # the edge splits where `ids` leaves it
                middle = _Node()
                middle.edges[label[matched]] = (label[matched:], child)
                node.edges[ids[depth]] = (label[:matched], middle)
                if depth + matched < n:
                    middle.edges[ids[depth + matched]] = (ids[depth + matched :], _Node())
            return depth + matched
        return depth

    def shared(self, ids: list[int]) -> int:
        """The length of the longest prefix of `ids` seen before."""
        return self._walk(ids, grow=False)

    def cacheable(self, ids: list[int]) -> int:
        """What of a prompt `ids` a prefix cache could reuse: an engine always computes the
        last prompt token, to sample the next one from it."""
        return computable_once(self.shared(ids), len(ids))

    def record(self, ids: list[int]) -> int:
        """`shared(ids)`, then `observe(ids)`, in one walk (for a prompt being sent)."""
        return self._walk(ids, grow=True)

    def observe(self, ids: list[int]) -> None:
        self._walk(ids, grow=True)
