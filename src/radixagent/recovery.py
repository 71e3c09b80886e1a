"""When things fail: retry what is transient, stop calling what is down, fall back to another
engine, ask the model again with the error in hand, and keep a record of it all.

    RetryPolicy / with_retries     exponential backoff with full jitter, transient errors only
    CircuitBreaker                 closed -> open after N faults in a row -> half-open trial
    RecoveringEngine               an Engine wrapping another with both, plus a fallback Engine
    RetryBudget / repair_prompt    how often the model may be asked to fix a tool call or an output
    FailureLog / AdaptiveRecovery  the tutorial's recovery API, with statistics from real records
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from radixagent.engine.base import Engine, Prompt
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
from radixagent.errors import (
    CircuitOpenError,
    ConfigurationError,
    EngineError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InputError,
    OutputValidationError,
    ToolArgumentsError,
    ToolError,
    ToolTimeoutError,
)

__all__ = [
    "CircuitBreaker",
    "CircuitSnapshot",
    "CircuitState",
    "FailurePattern",
    "FailureLog",
    "FailureRecord",
    "RecoveringEngine",
    "RecoveryStats",
    "RetryBudget",
    "RetryPolicy",
    "classify_error",
    "with_retries",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# --- retries -------------------------------------------------------------------------------------


def is_transient(exc: BaseException) -> bool:
    """Errors worth sending again unchanged: nothing answered, too slow, or a 408/429/5xx."""
    if isinstance(exc, EngineUnavailableError | EngineTimeoutError):
        return True
    if isinstance(exc, EngineHTTPError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return False


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter (AWS's "Exponential Backoff And Jitter"): the n-th
    retry waits a uniform random time in [0, min(max_delay_s, base_delay_s * factor**n)], or
    what the server asked for in Retry-After (capped at max_delay_s)."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=3, ge=1, description="attempts in all, the first included")
    base_delay_s: float = Field(default=0.5, ge=0.0)
    factor: float = Field(default=2.0, ge=1.0)
    max_delay_s: float = Field(default=30.0, ge=0.0)
    jitter: bool = True

    def is_retryable(self, exc: BaseException) -> bool:
        return is_transient(exc)

    def backoff_cap(self, retry: int) -> float:
        """The longest wait before retry number `retry` (0 = the first retry)."""
        return min(self.max_delay_s, self.base_delay_s * self.factor**retry)

    def delay(self, retry: int, exc: BaseException | None = None, rng: random.Random | None = None) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            return min(float(retry_after), self.max_delay_s)
        cap = self.backoff_cap(retry)
        return (rng or random).uniform(0.0, cap) if self.jitter else cap


async def with_retries(
    factory: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Await `factory()` until it succeeds, a non-transient error comes, or attempts run out
    (then the last error is raised). `factory` must make a fresh awaitable each time."""
    policy = policy or RetryPolicy()
    retry = 0
    while True:
        try:
            return await factory()
        except Exception as exc:
            if not policy.is_retryable(exc) or retry + 1 >= policy.max_attempts:
                raise
            wait = policy.delay(retry, exc, rng)
            logger.info("retrying after %s (attempt %d of %d, waiting %.2f s)", exc, retry + 2, policy.max_attempts, wait)
            if on_retry is not None:
                on_retry(retry, exc, wait)
            await sleep(wait)
            retry += 1


# --- circuit breaker -----------------------------------------------------------------------------


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitSnapshot(BaseModel):
    name: str
    state: CircuitState
    consecutive_failures: int
    total_failures: int
    total_successes: int
    times_opened: int
    retry_in_s: float = 0.0


def is_engine_fault(exc: BaseException) -> bool:
    """Whether `exc` says the engine is unwell (counts towards opening the circuit). A refused
    prompt or a missing endpoint says nothing about the engine's health."""
    return is_transient(exc) or isinstance(exc, EngineResponseError)


class CircuitBreaker:
    """Stop calling an engine that keeps failing, and try it again after a pause.

    closed: calls pass; `failure_threshold` engine faults in a row open the circuit.
    open: calls fail at once with CircuitOpenError until `reset_timeout_s` has passed.
    half-open: one trial call passes; its success closes the circuit, its failure re-opens it.
    """

    def __init__(
        self,
        name: str = "engine",
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ConfigurationError(f"failure_threshold must be at least 1, not {failure_threshold}.")
        if reset_timeout_s < 0:
            raise ConfigurationError(f"reset_timeout_s must not be negative, not {reset_timeout_s}.")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._trial_running = False
        self.consecutive_failures = 0
        self.total_failures = 0
        self.total_successes = 0
        self.times_opened = 0

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state()

    def _state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def retry_in_s(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(self.reset_timeout_s - (self._clock() - self._opened_at), 0.0)

    def before_call(self) -> None:
        """Raise CircuitOpenError if a call may not go through now."""
        with self._lock:
            state = self._state()
            if state is CircuitState.CLOSED:
                return
            if state is CircuitState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            assert self._opened_at is not None
            wait = max(self.reset_timeout_s - (self._clock() - self._opened_at), 0.0)
        raise CircuitOpenError(self.name, self.consecutive_failures, wait)

    def record_success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                logger.info("the %s engine answered again; circuit closed", self.name)
            self._opened_at = None
            self._trial_running = False
            self.consecutive_failures = 0
            self.total_successes += 1

    def record_failure(self, exc: BaseException | None = None) -> None:
        """Count an outcome that failed. Errors that are not engine faults (see
        `is_engine_fault`) only end a half-open trial without judging the engine."""
        with self._lock:
            trial = self._trial_running
            self._trial_running = False
            if exc is not None and not is_engine_fault(exc):
                return
            self.consecutive_failures += 1
            self.total_failures += 1
            if trial or (self._opened_at is None and self.consecutive_failures >= self.failure_threshold):
                self._opened_at = self._clock()
                self.times_opened += 1
                logger.warning(
                    "the %s engine failed %d times in a row; circuit open for %.1f s",
                    self.name,
                    self.consecutive_failures,
                    self.reset_timeout_s,
                )

    async def call(self, factory: Callable[[], Awaitable[T]]) -> T:
        """Run `factory()` through the breaker."""
        self.before_call()
        try:
            result = await factory()
        except BaseException as exc:
            self.record_failure(exc)
            raise
        self.record_success()
        return result

    def reset(self) -> None:
        with self._lock:
            self._opened_at = None
            self._trial_running = False
            self.consecutive_failures = 0

    def snapshot(self) -> CircuitSnapshot:
        with self._lock:
            state = self._state()
            wait = 0.0 if self._opened_at is None else max(self.reset_timeout_s - (self._clock() - self._opened_at), 0.0)
            return CircuitSnapshot(
                name=self.name,
                state=state,
                consecutive_failures=self.consecutive_failures,
                total_failures=self.total_failures,
                total_successes=self.total_successes,
                times_opened=self.times_opened,
                retry_in_s=wait,
            )


# --- an engine that recovers ---------------------------------------------------------------------


class RecoveryStats(BaseModel):
    """What a RecoveringEngine did: calls made, retries, and calls the fallback answered."""

    calls: int = 0
    retries: int = 0
    failures: int = 0
    fallback_calls: int = 0
    fallback_successes: int = 0
    circuit: CircuitSnapshot


class RecoveringEngine(Engine):
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
        self.engine = engine
        self.fallback = fallback
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(engine.name)
        self.name = engine.name
        self._sleep = sleep
        self._rng = rng
        self._stats = {"calls": 0, "retries": 0, "failures": 0, "fallback_calls": 0, "fallback_successes": 0}

    @property
    def takes_token_ids(self) -> bool:
        return self.engine.takes_token_ids

    def stats(self) -> RecoveryStats:
        return RecoveryStats(**self._stats, circuit=self.breaker.snapshot())

    # --- the recovery core ---------------------------------------------------------------

    def _count_retry(self, retry: int, exc: BaseException, wait: float) -> None:
        self._stats["retries"] += 1

    async def _on_primary(self, op: Callable[[Engine], Awaitable[T]]) -> T:
        async def attempt() -> T:
            return await self.breaker.call(lambda: op(self.engine))

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
        return await self._run(lambda e: e.tokenize(text), fallback=False)

    async def health(self) -> EngineHealth:
        """The primary's health; while the circuit is open, the breaker's word, without a call."""
        snapshot = self.breaker.snapshot()
        if snapshot.state is CircuitState.OPEN:
            return EngineHealth(
                ok=False,
                model="",
                detail=f"circuit open after {snapshot.consecutive_failures} failures; next try in {snapshot.retry_in_s:.1f} s",
            )
        return await self.engine.health()

    async def model_info(self) -> ModelInfo:
        return await self._run(lambda e: e.model_info(), fallback=False)

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        return await self._run(lambda e: e.render_chat(messages), fallback=False)

    async def aclose(self) -> None:
        await self.engine.aclose()
        if self.fallback is not None:
            await self.fallback.aclose()


# --- retry budgets ------------------------------------------------------------


class RetryBudget:
    """How many times one run may ask the model to repair a tool call (per tool) or its final
    output. A tool that succeeds gets its budget back, as its failures were then not stuck."""

    def __init__(self, tool_retries: int = 2, output_retries: int = 2, per_tool: Mapping[str, int] | None = None) -> None:
        if tool_retries < 0 or output_retries < 0 or any(v < 0 for v in (per_tool or {}).values()):
            raise ConfigurationError("Retry budgets must be zero or more.")
        self.tool_retries = tool_retries
        self.output_retries = output_retries
        self.per_tool = dict(per_tool or {})
        self._tool_used: Counter[str] = Counter()
        self._output_used = 0

    def tool_limit(self, tool: str) -> int:
        return self.per_tool.get(tool, self.tool_retries)

    def tool_retries_left(self, tool: str) -> int:
        return max(self.tool_limit(tool) - self._tool_used[tool], 0)

    @property
    def output_retries_left(self) -> int:
        return max(self.output_retries - self._output_used, 0)

    def allow_tool_retry(self, tool: str) -> bool:
        """Spend one repair of `tool` if any is left."""
        if self.tool_retries_left(tool) == 0:
            return False
        self._tool_used[tool] += 1
        return True

    def allow_output_retry(self) -> bool:
        """Spend one repair of the final output if any is left."""
        if self.output_retries_left == 0:
            return False
        self._output_used += 1
        return True

    def tool_succeeded(self, tool: str) -> None:
        self._tool_used.pop(tool, None)

    def reset(self) -> None:
        self._tool_used.clear()
        self._output_used = 0


# --- the failure log and the tutorial's AdaptiveRecovery -----------------------------------------


class FailureRecord(BaseModel):
    timestamp: datetime
    operation_id: str
    error_type: str
    error_message: str
    context: dict[str, Any] = Field(default_factory=dict)


class FailurePattern(BaseModel):
    """Failures that look alike: the same error type and message once numbers and quoted
    values are blanked out."""

    error_type: str
    pattern: str
    count: int


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_HEX = re.compile(r"\b[0-9a-f]{8,}\b")


def failure_pattern(message: str) -> str:
    """A message with its variable parts blanked, so failures with one cause group together."""
    text = _HEX.sub("<id>", message.strip().splitlines()[0] if message.strip() else "")
    text = _QUOTED.sub("<value>", text)
    return _NUMBER.sub("<n>", text)[:120]


def classify_error(exc: BaseException) -> str:
    """The tutorial's error types, from an exception."""
    if isinstance(exc, EngineTimeoutError | ToolTimeoutError | TimeoutError):
        return "timeout_error"
    if isinstance(exc, ToolArgumentsError | OutputValidationError | PydanticValidationError):
        return "validation_error"
    if isinstance(exc, ToolError):
        return "tool_execution_error"
    if isinstance(exc, EngineResponseError | ValueError):
        return "parsing_error"
    if isinstance(exc, EngineError):
        return "generation_error"
    return "unknown_error"


class FailureLog:
    """A bounded, thread-safe record of failures, with the counts the statistics need."""

    def __init__(self, max_records: int = 10_000, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._records: deque[FailureRecord] = deque(maxlen=max_records)
        self._now = now
        self._lock = threading.Lock()
        self.total = 0
        """Every failure ever logged (the records keep only the last `max_records`)."""

    def add(
        self, operation_id: str, error_type: str, error_message: str, context: Mapping[str, Any] | None = None
    ) -> FailureRecord:
        record = FailureRecord(
            timestamp=self._now(),
            operation_id=operation_id,
            error_type=error_type,
            error_message=error_message,
            context=dict(context or {}),
        )
        with self._lock:
            self._records.append(record)
            self.total += 1
        return record

    def add_exception(self, operation_id: str, exc: BaseException, context: Mapping[str, Any] | None = None) -> FailureRecord:
        return self.add(operation_id, classify_error(exc), f"{type(exc).__name__}: {exc}", context)

    @property
    def records(self) -> list[FailureRecord]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def by_type(self) -> dict[str, int]:
        return dict(Counter(r.error_type for r in self.records).most_common())

    def by_operation(self) -> dict[str, int]:
        return dict(Counter(r.operation_id for r in self.records).most_common())

    def patterns(self, top: int = 5) -> list[FailurePattern]:
        counts = Counter((r.error_type, failure_pattern(r.error_message)) for r in self.records)
        return [FailurePattern(error_type=t, pattern=p, count=n) for (t, p), n in counts.most_common(top)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
