"""The engine tap: an engine wrapper that streams and counts without touching the layers above.

An `EngineTap` forwards every call to the engine it wraps and reports to the `tap_scope` of the
current task (a request, an agent run): engine time, usage, the last finish reason. Inside a
scope that asks for text, an answer being written is streamed from the engine as it comes while
the caller still gets one `Completion`, so a loop written against `generate` can serve a stream.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

from radixagent.engine.base import Engine, EngineWrapper
from radixagent.engine.types import (
    Completion,
    Constraint,
    FinishReason,
    Prompt,
    SamplingParams,
    ScoreResult,
    StreamChunk,
    Usage,
    is_chat,
)
from radixagent.errors import EngineResponseError

__all__ = ["EngineTap", "TapState", "tap_scope"]


@dataclass
class TapState:
    """What an `EngineTap` saw in one scope (a request, an agent run): engine time, usage,
    the last finish reason; and where unconstrained text goes as it is generated."""

    on_text: Callable[[str], None] | None = None
    engine_ms: float = 0.0
    calls: int = 0
    usage: Usage = field(default_factory=Usage)
    last_finish: FinishReason | None = None


_TAP: ContextVar[TapState | None] = ContextVar("radixagent_engine_tap", default=None)


@contextlib.contextmanager
def tap_scope(on_text: Callable[[str], None] | None = None) -> Iterator[TapState]:
    """Count what every `EngineTap` does in this task (and tasks it starts), and stream the
    text of unconstrained generations to `on_text`."""
    state = TapState(on_text=on_text)
    token = _TAP.set(state)
    try:
        yield state
    finally:
        _TAP.reset(token)


class EngineTap(EngineWrapper):
    """An engine that forwards to another and reports to the current `tap_scope`.

    Inside a scope with `on_text`, an unconstrained generation from a text or token-id prompt
    (an answer being written) is streamed from the engine and its text handed over as it
    comes; callers still get one `Completion`. Constrained generations (tool arguments, JSON
    answers) and chat-message prompts (internal summaries) are not streamed. Outside a scope
    it is a plain pass-through."""

    def __init__(self, engine: Engine, *, token_ids: bool = True) -> None:
        super().__init__(engine)
        self._token_ids = token_ids

    @property
    def takes_token_ids(self) -> bool:
        """As the engine, unless switched off: prompts then go as text (for a conversation whose
        stored token ids came from another model)."""
        return self._token_ids and self.inner.takes_token_ids

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        state = _TAP.get()
        if state is None:
            return await self.inner.generate(prompt, constraint=constraint, sampling=sampling)
        started = time.perf_counter()
        try:
            if state.on_text is not None and constraint is None and not is_chat(prompt):
                completion: Completion | None = None
                async for chunk in self.inner.stream(prompt, constraint=constraint, sampling=sampling):
                    if chunk.completion is not None:
                        completion = chunk.completion
                    elif chunk.text:
                        state.on_text(chunk.text)
                if completion is None:
                    raise EngineResponseError("The engine's stream ended without its final completion.")
            else:
                completion = await self.inner.generate(prompt, constraint=constraint, sampling=sampling)
        finally:
            state.engine_ms += (time.perf_counter() - started) * 1000
            state.calls += 1
        state.usage = state.usage + completion.usage
        state.last_finish = completion.finish_reason
        return completion

    async def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        state = _TAP.get()
        started = time.perf_counter()
        try:
            async for chunk in self.inner.stream(prompt, constraint=constraint, sampling=sampling):
                if state is not None and chunk.completion is not None:
                    state.usage = state.usage + chunk.completion.usage
                    state.last_finish = chunk.completion.finish_reason
                yield chunk
        finally:
            if state is not None:
                state.engine_ms += (time.perf_counter() - started) * 1000
                state.calls += 1

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        state = _TAP.get()
        started = time.perf_counter()
        try:
            result = await self.inner.score(prefix, choices)
        finally:
            if state is not None:
                state.engine_ms += (time.perf_counter() - started) * 1000
                state.calls += 1
        if state is not None:
            state.usage = state.usage + result.usage
        return result

    async def tokenize(self, text: str) -> list[int]:
        state = _TAP.get()
        started = time.perf_counter()
        try:
            return await self.inner.tokenize(text)
        finally:
            if state is not None:
                state.engine_ms += (time.perf_counter() - started) * 1000
