"""Prompts that only ever grow: the chat template as pieces, and the ledger of what the
engine has already seen.

A prefix cache (SGLang's radix tree, llama.cpp's slots) reuses a prompt's longest prefix
that matches earlier tokens exactly. So radixagent never re-renders a conversation: it
learns the model's chat template as the text between turns, and builds each prompt as the
previous prompt + the generated text + the new turn. Where the engine takes token ids, the
ids are extended the same way, so even a tokenizer that would merge text differently on a
re-render cannot break the match.
"""

from __future__ import annotations

from pydantic import BaseModel

from radixagent.engine import ChatMessage, Engine

_S, _U, _A, _U2 = "\x01S\x01", "\x01U\x01", "\x01A\x01", "\x01V\x01"


class ChatFormat(BaseModel):
    """A chat template reduced to the text around the turns, for templates that only append
    (ChatML, Llama 3, Mistral, ...)."""

    system_open: str
    """Everything before the system prompt's text."""
    system_to_user: str
    """From the end of the system prompt to the start of the first user turn's text."""
    user_to_assistant: str
    """From the end of a user turn to where the assistant's text starts (the generation prompt)."""
    assistant_to_user: str
    """From the end of the assistant's text to the start of the next user turn's text."""

    @classmethod
    async def learn(cls, engine: Engine) -> ChatFormat | None:
        """Render sentinel conversations through the engine's template and cut the pieces out;
        None when the engine renders no template or the template is not append-only."""
        full = await engine.render_chat(
            [
                ChatMessage(role="system", content=_S),
                ChatMessage(role="user", content=_U),
                ChatMessage(role="assistant", content=_A),
                ChatMessage(role="user", content=_U2),
            ]
        )
        short = await engine.render_chat([ChatMessage(role="system", content=_S), ChatMessage(role="user", content=_U)])
        if not full or not short or any(s not in full for s in (_S, _U, _A, _U2)):
            return None
        head, rest = full.split(_S, 1)
        to_user, rest = rest.split(_U, 1)
        to_assistant, rest = rest.split(_A, 1)
        back_to_user, tail = rest.split(_U2, 1)
        fmt = cls(system_open=head, system_to_user=to_user, user_to_assistant=to_assistant, assistant_to_user=back_to_user)
        # Append-only: the two-turn render is a prefix of the four-turn one, and every user
        # turn ends the same way.
        if tail != to_assistant or short != head + _S + to_user + _U + to_assistant:
            return None
        return fmt

    def system(self, content: str) -> str:
        return self.system_open + content

    def user_turn(self, content: str, *, after_assistant: bool) -> str:
        """A user turn and the generation prompt that follows it."""
        opening = self.assistant_to_user if after_assistant else self.system_to_user
        return opening + content + self.user_to_assistant


class PrefixLedger:
    """Every token sequence the engine has been sent or has generated, to count how much of
    a new prompt an ideal prefix cache could reuse (its `cacheable` tokens). The engine's
    `cached_tokens` divided by this is the prefix efficiency: 1.0 means nothing was recomputed
    that could have been reused."""

    def __init__(self) -> None:
        self._root: dict[int, dict] = {}  # type: ignore[type-arg]

    def cacheable(self, ids: list[int]) -> int:
        node = self._root
        depth = 0
        for token in ids:
            child = node.get(token)
            if child is None:
                break
            node, depth = child, depth + 1
        # an engine always computes the last prompt token to sample the next one
        return min(depth, max(len(ids) - 1, 0))

    def observe(self, ids: list[int]) -> None:
        node = self._root
        for token in ids:
            node = node.setdefault(token, {})
