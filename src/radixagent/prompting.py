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

from typing import Literal

from pydantic import BaseModel

from radixagent.engine import ChatMessage, Completion, Constraint, Engine, SamplingParams, ScoreResult, Usage
from radixagent.engine.prefix import PrefixLedger, computable_once

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


Speaker = Literal["system", "user", "assistant"]
"""Who the text so far ends with."""


class TurnWriter:
    """The one renderer of turns: user-like turns (the user's, tool results, observations)
    open a user turn, or share the open one; an assistant turn opens where its text goes.

        writer = TurnWriter(fmt, last="system")
        writer.user("Hi")
        text = writer.assistant() + "Hello!"     # the assistant's text as it was generated
        text += writer.take()                     # any user-like turns after it
    """

    def __init__(self, fmt: ChatFormat, last: Speaker = "system") -> None:
        self.fmt = fmt
        self.last: Speaker = last
        self._pending = ""

    def user(self, body: str) -> None:
        if self.last == "user":
            self._pending += "\n\n" + body
        else:
            self._pending += (self.fmt.assistant_to_user if self.last == "assistant" else self.fmt.system_to_user) + body
        self.last = "user"

    def assistant(self) -> str:
        """The pending text up to where an assistant turn's text starts."""
        text = self._pending + (self.fmt.user_to_assistant if self.last == "user" else "\n")
        self._pending, self.last = "", "assistant"
        return text

    def take(self) -> str:
        """The pending text (user-like turns not yet followed by an assistant turn)."""
        text, self._pending = self._pending, ""
        return text


CHATML = ChatFormat(
    system_open="<|im_start|>system\n",
    system_to_user="<|im_end|>\n<|im_start|>user\n",
    user_to_assistant="<|im_end|>\n<|im_start|>assistant\n",
    assistant_to_user="<|im_end|>\n<|im_start|>user\n",
)
"""The fallback when the engine cannot render its template (Qwen, SmolLM and many others use it)."""


Mark = tuple[int, int | None]
"""Where a transcript ended: its text length and its token count (`Transcript.mark`)."""


class Transcript:
    """The exact text, and token ids where the engine takes them, of one branch of a
    conversation as the engine has seen it. It only grows: text is appended, generations are
    appended as generated, and every request is sent as the whole transcript so far.

    It also keeps the honest counts of its requests: the engine's usage (with `cached_tokens`)
    and how many prompt tokens were cacheable according to the ledger."""

    def __init__(self, engine: Engine, ledger: PrefixLedger, *, text: str = "", ids: list[int] | None = None) -> None:
        self.engine = engine
        self.ledger = ledger
        self.text = text
        self.ids = ids if ids is not None else ([] if engine.takes_token_ids else None)
        self.usage = Usage()
        self.cacheable_tokens = 0
        self.requests = 0
        self._scored: list[str] = []

    def fork(self) -> Transcript:
        """A copy that shares everything so far and grows on its own."""
        return Transcript(self.engine, self.ledger, text=self.text, ids=None if self.ids is None else list(self.ids))

    def mark(self) -> Mark:
        """Where the transcript ends now, for `rewind`."""
        return len(self.text), None if self.ids is None else len(self.ids)

    def rewind(self, mark: Mark) -> None:
        """Drop what came after `mark` (a generation to redo). The engine's cache still holds
        the prefix, so the retry costs no prefill."""
        self.text = self.text[: mark[0]]
        if self.ids is not None and mark[1] is not None:
            del self.ids[mark[1] :]
        self._scored = []

    async def append(self, text: str) -> None:
        if not text:
            return
        self.text += text
        if self.ids is not None:
            self.ids += await self.engine.tokenize(text)
            if text in self._scored:  # the engine computed it while scoring
                self.ledger.observe(self.ids)
        self._scored = []

    def _prompt(self) -> str | list[int]:
        return list(self.ids) if self.ids is not None else self.text

    async def _token_view(self) -> list[int]:
        return list(self.ids) if self.ids is not None else await self.engine.tokenize(self.text)

    async def generate(self, *, constraint: Constraint | None = None, sampling: SamplingParams | None = None) -> Completion:
        """Generate from the transcript and append what was generated."""
        view = await self._token_view()
        cacheable = self.ledger.cacheable(view)
        completion = await self.engine.generate(self._prompt(), constraint=constraint, sampling=sampling)
        self.text += completion.text
        output_ids = completion.token_ids
        if self.ids is not None:
            self.ids += output_ids if output_ids is not None else await self.engine.tokenize(completion.text)
        self.ledger.observe(view + (output_ids or []))
        self._count(completion.usage, cacheable)
        return completion

    async def score(self, choices: list[str]) -> ScoreResult:
        """Score continuations of the transcript (nothing is appended)."""
        view = await self._token_view()
        first = self.ledger.record(view)  # each request is the prefix plus a choice
        result = await self.engine.score(self._prompt(), choices)
        self._scored = list(choices)
        # every choice after the first can reuse the whole prefix
        self._count(result.usage, first + (len(choices) - 1) * len(view))
        return result

    async def score_beside(self, prefix: str, choices: list[str]) -> ScoreResult:
        """Score `choices` after a prompt of their own, not the transcript's (the request given
        a tool's description); its usage counts with the transcript's."""
        tokens = await self.engine.tokenize(prefix)
        cacheable = computable_once(self.ledger.record(tokens), len(tokens))
        result = await self.engine.score(prefix, choices)
        self._count(result.usage, cacheable)
        return result

    def _count(self, usage: Usage, cacheable: int) -> None:
        self.usage = self.usage + usage
        self.cacheable_tokens += cacheable
        self.requests += 1
