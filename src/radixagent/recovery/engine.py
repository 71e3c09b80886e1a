"""`RecoveringEngine`: an Engine wrapping another with retries, a circuit breaker and a fallback
Engine, as pydantic-ai's fallback model is just another model."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from radixagent.engine.base import Engine, EngineWrapper, Prompt
from radixagent.engine.types import (
    ChatMessage,
    Completion,
    Constraint,
    EngineHealth,
    ModelInfo,
    SamplingParams,
    ScoreResult,
    StreamChunk,
)
from radixagent.errors import EngineError, InputError
from radixagent.recovery.breaker import CircuitBreaker, CircuitSnapshot, CircuitState
from radixagent.recovery.retries import RetryPolicy, Sleep, with_retries

logger = logging.getLogger(__name__)

T = TypeVar("T")

_KEPT_TEXTS = 512
_KEPT_TEXT_CHARS = 200
"""How many short texts' tokens an engine keeps, and how long a kept text may be."""


class RecoveryStats(BaseModel):
    """What a RecoveringEngine did: calls made, retries, and calls the fallback answered."""

    calls: int = 0
    retries: int = 0
    failures: int = 0
    fallback_calls: int = 0
    fallback_successes: int = 0
    circuit: CircuitSnapshot


class RecoveringEngine(EngineWrapper):
    """Another engine with retries, a circuit breaker and an optional fallback engine (which
    is just another Engine, like pydantic-ai's FallbackModel).

    Token ids are model-specific, so `tokenize` and token-id prompts stay on the primary; a
    fallback that cannot take a prompt leaves the primary's error standing. A stream is
    retried or handed to the fallback only before its first chunk."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        fallback: Engine | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(engine)
        self.fallback = fallback
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(engine.name)
        self._sleep = sleep
        self._rng = rng
        self._stats = {"calls": 0, "retries": 0, "failures": 0, "fallback_calls": 0, "fallback_successes": 0}
        self._tokens: dict[str, tuple[int, ...]] = {}

    @property
    def engine(self) -> Engine:
        """The primary engine."""
        return self.inner

    def stats(self) -> RecoveryStats:
        return RecoveryStats(**self._stats, circuit=self.breaker.snapshot())

    # --- the recovery core ---------------------------------------------------------------

    def _count_retry(self, retry: int, exc: BaseException, wait: float) -> None:
        self._stats["retries"] += 1

    async def _on_primary(self, op: Callable[[Engine], Awaitable[T]]) -> T:
        async def attempt() -> T:
            return await self.breaker.call(lambda: op(self.inner))

        return await with_retries(attempt, self.policy, sleep=self._sleep, rng=self._rng, on_retry=self._count_retry)

    async def _run(self, op: Callable[[Engine], Awaitable[T]], *, fallback: bool = True) -> T:
        self._stats["calls"] += 1
        try:
            return await self._on_primary(op)
        except EngineError as primary_error:
            self._stats["failures"] += 1
            if not fallback or self.fallback is None:
                raise
            logger.warning("the %s engine failed (%s); asking the fallback %s engine", self.name, primary_error, self.fallback.name)
            self._stats["fallback_calls"] += 1
            fallback_engine = self.fallback
            try:
                result = await with_retries(
                    lambda: op(fallback_engine), self.policy, sleep=self._sleep, rng=self._rng, on_retry=self._count_retry
                )
            except InputError:
                raise primary_error from None
            self._stats["fallback_successes"] += 1
            return result

    # --- the Engine interface, by delegation ---------------------------------------------

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        return await self._run(lambda e: e.generate(prompt, constraint=constraint, sampling=sampling))

    async def _stream(
        self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        async def opened(engine: Engine) -> tuple[StreamChunk | None, AsyncIterator[StreamChunk]]:
            # Through _run, the primary's breaker judges this: the first chunk is a success.
            stream = engine.stream(prompt, constraint=constraint, sampling=sampling)
            try:
                return await stream.__anext__(), stream
            except StopAsyncIteration:
                return None, stream

        first, stream = await self._run(opened)
        try:
            if first is None:
                return
            yield first
            async for chunk in stream:
                yield chunk
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        fallback = isinstance(prefix, str)
        return await self._run(lambda e: e.score(prefix, choices), fallback=fallback)

    async def tokenize(self, text: str) -> list[int]:
        """The primary's tokens of `text` (never the fallback's: token ids are the primary
        model's). Short texts are kept: every step appends the same protocol lines."""
        kept = self._tokens.get(text)
        if kept is not None:
            return list(kept)
        ids = await self._run(lambda e: e.tokenize(text), fallback=False)
        if len(text) <= _KEPT_TEXT_CHARS:
            if len(self._tokens) >= _KEPT_TEXTS:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[text] = tuple(ids)
        return ids

    async def health(self) -> EngineHealth:
        """The primary's health; while the circuit is open, the breaker's word, without a call."""
        snapshot = self.breaker.snapshot()
        if snapshot.state is CircuitState.OPEN:
            return EngineHealth(
                ok=False,
                model="",
                detail=f"circuit open after {snapshot.consecutive_failures} failures; next try in {snapshot.retry_in_s:.1f} s",
            )
        return await self.inner.health()

    async def model_info(self) -> ModelInfo:
        return await self._run(lambda e: e.model_info(), fallback=False)

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        return await self._run(lambda e: e.render_chat(messages), fallback=False)

    async def aclose(self) -> None:
        await self.inner.aclose()
        if self.fallback is not None:
            await self.fallback.aclose()
