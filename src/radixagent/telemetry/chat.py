"""The span of one chat completion: a `chat` span whose children are the turn's engine calls."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from radixagent.engine.types import Usage
from radixagent.telemetry.spans import (
    CHAT,
    CONFIDENCE,
    ERROR_TYPE,
    FINISH_REASONS,
    OPERATION,
    PROVIDER,
    REQUEST_MODEL,
    REQUEST_STREAM,
    RESPONSE_MODEL,
    TOOL_CALLS,
    set_usage,
    tracer,
)

__all__ = ["ChatSpan", "chat_span"]


class ChatSpan:
    """The open span of a chat completion; `finish` records what the turn produced."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def finish(self, *, model: str, usage: Usage, finish_reason: str, tool_calls: Sequence[str], confidence: float | None) -> None:
        """`usage` sums the turn's engine calls; `tool_calls` are the called functions' names."""
        if model:
            self.span.set_attribute(RESPONSE_MODEL, model)
        self.span.set_attribute(FINISH_REASONS, [finish_reason])
        set_usage(self.span, usage)
        if tool_calls:
            self.span.set_attribute(TOOL_CALLS, list(tool_calls))
        if confidence is not None:
            self.span.set_attribute(CONFIDENCE, confidence)


@contextmanager
def chat_span(provider: str, request_model: str, *, stream: bool) -> Iterator[ChatSpan | None]:
    """A `chat` span, current for the block (None while nothing is traced). `request_model`
    is the model the client named; an error leaving the block sets the span's status."""
    found = tracer()
    if found is None:
        yield None
        return
    attributes: dict[str, AttributeValue] = {OPERATION: CHAT, PROVIDER: provider, REQUEST_STREAM: stream}
    if request_model:
        attributes[REQUEST_MODEL] = request_model
    with found.start_as_current_span(f"{CHAT} {request_model or provider}", kind=SpanKind.INTERNAL, attributes=attributes) as span:
        try:
            yield ChatSpan(span)
        except Exception as exc:  # the span records it and sets its status as it leaves
            span.set_attribute(ERROR_TYPE, type(exc).__name__)
            raise
