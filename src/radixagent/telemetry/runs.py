"""The spans of one agent run: `invoke_agent` for the run, a span per step, `execute_tool` per call.

    trace = RunTrace(found_tracer, agent_name="radixagent", session_id=..., provider="embedded")
    trace.step(1)                 # the step's span becomes the current span: engine calls nest in it
    trace.tool_call(call)         # starts the call's span
    trace.tool_result(record)     # ends it (an error status when the tool failed)
    trace.finish(response)        # the run's usage and outcome
    trace.close(None)             # ends whatever is still open, and the run

Spans become current through OpenTelemetry's context (a contextvar), so every call here must
come from the task that runs the agent's loop, as the run's events do.
"""

from __future__ import annotations

import time
from contextvars import Token

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from radixagent.schemas import AgentResponse, ToolCall, ToolCallRecord
from radixagent.telemetry.spans import (
    AGENT_NAME,
    CONVERSATION_ID,
    ERROR_TYPE,
    EXECUTE_TOOL,
    FAILURE_EVENT,
    INVOKE_AGENT,
    OPERATION,
    PROVIDER,
    STEP,
    TOOL_CALL_ID,
    TOOL_EXECUTED,
    TOOL_NAME,
    TOOL_TYPE,
    set_error,
    set_usage,
)

__all__ = ["RunTrace"]


class RunTrace:
    """One run's open spans: the run (current from creation), its current step, its tool calls."""

    def __init__(self, found: Tracer, *, agent_name: str, session_id: str | None, provider: str) -> None:
        self._tracer = found
        self._common: dict[str, AttributeValue] = {AGENT_NAME: agent_name}
        if session_id:
            self._common[CONVERSATION_ID] = session_id
        self.span = found.start_span(
            f"{INVOKE_AGENT} {agent_name}",
            kind=SpanKind.INTERNAL,
            attributes={OPERATION: INVOKE_AGENT, PROVIDER: provider, **self._common},
        )
        self._token = context.attach(trace.set_span_in_context(self.span))
        self._step: Span | None = None
        self._step_token: Token[Context] | None = None
        self._tools: dict[str, tuple[Span, int]] = {}
        self._failure: str | None = None

    def step(self, number: int) -> None:
        """Step `number` begins: the step before it ends."""
        self._end_step()
        self._step = self._tracer.start_span(f"step {number}", attributes={STEP: number, **self._common})
        self._step_token = context.attach(trace.set_span_in_context(self._step))

    def tool_call(self, call: ToolCall) -> None:
        name = call.tool_name or ""
        span = self._tracer.start_span(
            f"{EXECUTE_TOOL} {name}",
            kind=SpanKind.INTERNAL,
            attributes={OPERATION: EXECUTE_TOOL, TOOL_NAME: name, TOOL_CALL_ID: call.id, TOOL_TYPE: "function", **self._common},
        )
        self._tools[call.id] = (span, time.time_ns())

    def tool_result(self, record: ToolCallRecord) -> None:
        """The call's span ends when the tool did: its start plus the tool's own duration."""
        opened = self._tools.pop(record.id, None)
        if opened is None:
            return
        span, started = opened
        span.set_attribute(TOOL_EXECUTED, record.executed)
        if record.error is not None:
            set_error(span, record.error_type or "execution", record.error)
        span.end(end_time=min(time.time_ns(), started + int(record.duration_ms * 1e6)))

    def failure(self, operation: str, error_type: str, message: str) -> None:
        """Something failed and the run recovers or gives up: an event on the current step (or
        the run); an unusable reply fails its step."""
        self._failure = error_type
        span = self._step or self.span
        span.add_event(FAILURE_EVENT, {"radixagent.operation": operation, ERROR_TYPE: error_type, "message": message})
        if operation == "decision":
            set_error(span, error_type, message)

    def finish(self, response: AgentResponse) -> None:
        set_usage(self.span, response.usage)
        if not response.is_successful:
            set_error(self.span, self._failure or "run_failed", response.error_message or "the run failed")

    def close(self, error: BaseException | None) -> None:
        """End every open span (a tool still open never returned); `error` escaped the run."""
        for span, _ in self._tools.values():
            set_error(span, "unfinished", "the run ended before the tool returned")
            span.end()
        self._tools.clear()
        self._end_step()
        context.detach(self._token)
        if error is not None:
            self.span.record_exception(error)
            set_error(self.span, type(error).__name__, f"{type(error).__name__}: {error}")
        self.span.end()

    def _end_step(self) -> None:
        if self._step is not None and self._step_token is not None:
            context.detach(self._step_token)
            self._step.end()
            self._step, self._step_token = None, None
