"""A trie of every token sequence an engine has been sent or has generated."""

from __future__ import annotations


class PrefixLedger:
    """Every token sequence the engine has been sent or has generated, to count how much of
    a new prompt an ideal prefix cache could reuse (its `cacheable` tokens). The engine's
    `cached_tokens` divided by this is the prefix efficiency: 1.0 means nothing was recomputed
    that could have been reused."""

    def __init__(self) -> None:
        self._root: dict[int, dict] = {}  # type: ignore[type-arg]

    def shared(self, ids: list[int]) -> int:
        """The length of the longest prefix of `ids` seen before."""
        node = self._root
        depth = 0
        for token in ids:
            child = node.get(token)
            if child is None:
                break
            node, depth = child, depth + 1
        return depth

    def cacheable(self, ids: list[int]) -> int:
        """What of a prompt `ids` a prefix cache could reuse: an engine always computes the
        last prompt token, to sample the next one from it."""
        return min(self.shared(ids), max(len(ids) - 1, 0))

    def observe(self, ids: list[int]) -> None:
        node = self._root
        for token in ids:
            node = node.setdefault(token, {})
