"""`TracingEngine`: an engine wrapper that makes one client span per model call.

    engine = RecoveringEngine(traced(engine))     # a span per attempt, retries and fallbacks included

Generations and streams are `chat` spans (a chat-message prompt) or `text_completion` spans
(text or token ids); a choice score is a `text_completion` span with `radixagent.engine.method`
"score". Each carries the request's sampling, the finish reason and the engine's own token
counts, cached tokens included. Tokenizing and model information are not model calls and pass
through untraced. With no tracer provider the wrapper calls straight through.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from radixagent.engine.base import Engine, EngineWrapper
from radixagent.engine.types import (
    Completion,
    Constraint,
    ModelInfo,
    Prompt,
    SamplingParams,
    ScoreResult,
    StreamChunk,
    is_chat,
)
from radixagent.telemetry.spans import (
    CHAT,
    CONSTRAINT,
    ENGINE_METHOD,
    ERROR_TYPE,
    FINISH_REASONS,
    OPERATION,
    OUTPUT_TYPE,
    PROVIDER,
    REQUEST_MAX_TOKENS,
    REQUEST_MODEL,
    REQUEST_SEED,
    REQUEST_STOP,
    REQUEST_STREAM,
    REQUEST_TEMPERATURE,
    REQUEST_TOP_K,
    REQUEST_TOP_P,
    RESPONSE_MODEL,
    SCORE_CHOICES,
    TEXT_COMPLETION,
    TIME_TO_FIRST_CHUNK,
    set_usage,
    tracer,
)

__all__ = ["TracingEngine", "traced"]


def traced(engine: Engine) -> TracingEngine:
    """`engine` with a span per model call (an engine already traced is returned as it is)."""
    return engine if isinstance(engine, TracingEngine) else TracingEngine(engine)


class TracingEngine(EngineWrapper):
    """Forwards every call to `inner`; while a tracer provider is configured, each generation,
    stream and score is a span, a child of the current span (the agent's step, the chat request)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._model: str | None = None

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        found = tracer()
        if found is None:
            return await self.inner._generate(prompt, constraint, sampling)
        operation = CHAT if is_chat(prompt) else TEXT_COMPLETION
        with self._span(found, operation, "generate", await self._model_name()) as span:
            _set_request(span, constraint, sampling)
            completion = await self.inner._generate(prompt, constraint, sampling)
            self._set_completion(span, completion)
            return completion

    def _stream(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> AsyncIterator[StreamChunk]:
        found = tracer()
        if found is None:
            return self.inner._stream(prompt, constraint, sampling)
        return self._traced_stream(found, prompt, constraint, sampling)

    async def _traced_stream(
        self, found: Tracer, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams
    ) -> AsyncIterator[StreamChunk]:
        # Not made the current span: the consumer runs between chunks, and its spans are not
        # the stream's children.
        operation = CHAT if is_chat(prompt) else TEXT_COMPLETION
        model = await self._model_name()
        span = found.start_span(f"{operation} {model or self.name}", kind=SpanKind.CLIENT, attributes=self._attributes(operation, "stream", model))
        _set_request(span, constraint, sampling)
        span.set_attribute(REQUEST_STREAM, True)
        started, first = time.perf_counter(), True
        try:
            async for chunk in self.inner._stream(prompt, constraint, sampling):
                if first:
                    span.set_attribute(TIME_TO_FIRST_CHUNK, time.perf_counter() - started)
                    first = False
                if chunk.completion is not None:
                    self._set_completion(span, chunk.completion)
                yield chunk
        except Exception as exc:
            span.set_attribute(ERROR_TYPE, type(exc).__name__)
            span.record_exception(exc)
            span.set_status(_error(exc))
            raise
        finally:
            span.end()

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        found = tracer()
        if found is None:
            return await self.inner._score(prefix, choices)
        with self._span(found, TEXT_COMPLETION, "score", await self._model_name()) as span:
            span.set_attribute(SCORE_CHOICES, len(choices))
            result = await self.inner._score(prefix, choices)
            set_usage(span, result.usage)
            return result

    async def model_info(self) -> ModelInfo:
        info = await self.inner.model_info()
        self._model = info.name or self._model
        return info

    # --- spans ---------------------------------------------------------------------------

    async def _model_name(self) -> str | None:
        """The served model, asked once (agents and the completer have usually asked already,
        through `model_info`); None while the engine cannot say."""
        if self._model is None:
            try:
                self._model = (await self.inner.model_info()).name or None
            except Exception:  # the call itself will fail or succeed on its own terms
                return None
        return self._model

    def _attributes(self, operation: str, method: str, model: str | None) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {OPERATION: operation, PROVIDER: self.name, ENGINE_METHOD: method}
        if model:
            attributes[REQUEST_MODEL] = model
        return attributes

    @contextmanager
    def _span(self, found: Tracer, operation: str, method: str, model: str | None) -> Iterator[Span]:
        with found.start_as_current_span(
            f"{operation} {model or self.name}", kind=SpanKind.CLIENT, attributes=self._attributes(operation, method, model)
        ) as span:
            try:
                yield span
            except Exception as exc:  # the span records it and sets its status as it leaves
                span.set_attribute(ERROR_TYPE, type(exc).__name__)
                raise

    def _set_completion(self, span: Span, completion: Completion) -> None:
        model = completion.model or self._model
        if model:
            span.set_attribute(RESPONSE_MODEL, model)
        span.set_attribute(FINISH_REASONS, [completion.finish_reason])
        set_usage(span, completion.usage)


def _set_request(span: Span, constraint: Constraint | None, sampling: SamplingParams) -> None:
    span.set_attribute(REQUEST_MAX_TOKENS, sampling.max_tokens)
    span.set_attribute(REQUEST_TEMPERATURE, sampling.temperature)
    span.set_attribute(REQUEST_TOP_P, sampling.top_p)
    if sampling.top_k is not None:
        span.set_attribute(REQUEST_TOP_K, sampling.top_k)
    if sampling.seed is not None:
        span.set_attribute(REQUEST_SEED, sampling.seed)
    if sampling.stop:
        span.set_attribute(REQUEST_STOP, sampling.stop)
    span.set_attribute(OUTPUT_TYPE, "json" if constraint is not None and constraint.kind == "json_schema" else "text")
    if constraint is not None:
        span.set_attribute(CONSTRAINT, constraint.kind)


def _error(exc: Exception) -> Status:
    return Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
