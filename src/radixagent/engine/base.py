"""The one interface every layer above the engines uses.

An engine is written async once (`_generate`, `_stream`, ...). The public methods check the
request first (an empty prompt never reaches an engine), and each has a `*_sync` twin that
runs the same coroutine on a background loop, so scripts and notebooks need no asyncio.
`EngineWrapper` forwards every call to another engine: the base of the engines that add
something around one (tracing, the engine tap, recovery), each overriding only what it adds.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import cast

from radixagent.engine._portal import iterate_sync, run_sync
from radixagent.engine.types import (
    ChatMessage,
    Completion,
    Constraint,
    EngineHealth,
    ModelInfo,
    Prompt,
    SamplingParams,
    ScoreResult,
    StreamChunk,
)
from radixagent.errors import EmptyPromptError, InputError

__all__ = ["Engine", "EngineWrapper", "Prompt"]


class Engine(abc.ABC):
    """Generate, stream, score choices and tokenize, against one model."""

    #: Short name shown in reports ("embedded", "sglang", ...).
    name: str = "engine"

    # --- what an engine implements -----------------------------------------------------

    @abc.abstractmethod
    async def _generate(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> Completion: ...

    @abc.abstractmethod
    def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]: ...

    @abc.abstractmethod
    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult: ...

    @abc.abstractmethod
    async def tokenize(self, text: str) -> list[int]:
        """The model's token ids for `text` (no special tokens added)."""

    @abc.abstractmethod
    async def health(self) -> EngineHealth: ...

    @abc.abstractmethod
    async def model_info(self) -> ModelInfo: ...

    async def aclose(self) -> None:
        """Release connections and, for in-process engines, the model."""

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        """The model's chat template applied to `messages`, ending with the assistant's
        generation prompt; None when the engine cannot render it client-visibly (then chat
        prompts go to the engine as messages)."""
        return None

    @property
    def takes_token_ids(self) -> bool:
        """Whether a prompt may be a list of token ids."""
        return False

    # --- the public face ---------------------------------------------------------------

    async def generate(
        self,
        prompt: Prompt,
        *,
        constraint: Constraint | None = None,
        sampling: SamplingParams | None = None,
    ) -> Completion:
        """Generate one completion, under `constraint` when given."""
        return await self._generate(self._check_prompt(prompt), constraint, sampling or SamplingParams())

    async def stream(
        self,
        prompt: Prompt,
        *,
        constraint: Constraint | None = None,
        sampling: SamplingParams | None = None,
    ) -> AsyncIterator[StreamChunk]:
        """Stream text deltas; the last chunk carries the whole `Completion`."""
        async for chunk in self._stream(self._check_prompt(prompt), constraint, sampling or SamplingParams()):
            yield chunk

    async def score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        """Score each choice as a continuation of `prefix` (SGLang `select`: mean token
        logprob at temperature 0). The winner is `result.best`."""
        if not choices:
            raise InputError("score() needs at least one choice.")
        if len(set(choices)) != len(choices):
            raise InputError(f"score() got the same choice twice: {list(choices)}")
        if any(not c for c in choices):
            raise InputError("score() got an empty choice; every choice needs some text.")
        return await self._score(prefix, list(choices))

    # --- sync twins --------------------------------------------------------------------

    def generate_sync(
        self,
        prompt: Prompt,
        *,
        constraint: Constraint | None = None,
        sampling: SamplingParams | None = None,
    ) -> Completion:
        return run_sync(self.generate(prompt, constraint=constraint, sampling=sampling))

    def stream_sync(
        self,
        prompt: Prompt,
        *,
        constraint: Constraint | None = None,
        sampling: SamplingParams | None = None,
    ) -> Iterator[StreamChunk]:
        return iterate_sync(self.stream(prompt, constraint=constraint, sampling=sampling))

    def score_sync(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        return run_sync(self.score(prefix, choices))

    def tokenize_sync(self, text: str) -> list[int]:
        return run_sync(self.tokenize(text))

    def health_sync(self) -> EngineHealth:
        return run_sync(self.health())

    def model_info_sync(self) -> ModelInfo:
        return run_sync(self.model_info())

    def close(self) -> None:
        run_sync(self.aclose())

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- shared checks -----------------------------------------------------------------

    def _check_prompt(self, prompt: Prompt) -> Prompt:
        if isinstance(prompt, str):
            if not prompt.strip():
                raise EmptyPromptError()
            return prompt
        items: list[object] = list(prompt)
        if not items:
            raise EmptyPromptError()
        if set(map(type, items)) == {int}:  # one pass in C: prompts run to thousands of ids
            if not self.takes_token_ids:
                raise InputError(f"The {self.name} engine does not take token ids; send text or chat messages.")
            return cast(list[int], items)
        messages = [m for m in items if isinstance(m, ChatMessage)]
        if len(messages) == len(items):
            if not any(m.content.strip() for m in messages):
                raise EmptyPromptError()
            return messages
        raise InputError("A prompt is a string, a list of token ids, or a list of ChatMessage.")


class EngineWrapper(Engine):
    """Forwards every call to `inner`, under its name.

    The hooks call the inner engine's hooks directly: the wrapper's public methods already
    checked the request, so a long token-id prompt is not checked twice."""

    def __init__(self, engine: Engine) -> None:
        self.inner = engine
        self.name = engine.name

    @property
    def takes_token_ids(self) -> bool:
        return self.inner.takes_token_ids

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        return await self.inner._generate(prompt, constraint, sampling)

    def _stream(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> AsyncIterator[StreamChunk]:
        return self.inner._stream(prompt, constraint, sampling)

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        return await self.inner._score(prefix, choices)

    async def tokenize(self, text: str) -> list[int]:
        return await self.inner.tokenize(text)

    async def health(self) -> EngineHealth:
        return await self.inner.health()

    async def model_info(self) -> ModelInfo:
        return await self.inner.model_info()

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        return await self.inner.render_chat(messages)

    async def aclose(self) -> None:
        await self.inner.aclose()
