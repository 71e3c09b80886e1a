"""An agent run as spans: `@traced_run` opens the run's `invoke_agent` span and hands the run's
events to it (a step's span, a tool call's span), so no part of the loop knows of tracing.

With no tracer provider configured the run goes through untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from radixagent.agent.events import (
    AgentEvent,
    EventHandler,
    FailureEvent,
    RunEndEvent,
    StepEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from radixagent.schemas import AgentResponse
from radixagent.telemetry import RunTrace, tracer

if TYPE_CHECKING:
    from radixagent.agent.agent import Agent

RunMethod = TypeVar("RunMethod", bound=Callable[..., Awaitable[AgentResponse]])


def traced_run(run: RunMethod) -> RunMethod:
    """Wrap `Agent._run` or `Agent._resume` (called with their run's `on_event` as the last
    positional argument): while a tracer provider is configured, the run is a span whose
    children are its steps, and theirs the step's engine calls and tool calls."""

    @functools.wraps(run)
    async def traced(agent: Agent, *arguments: Any) -> AgentResponse:
        *head, on_event = arguments
        found = tracer()
        if found is None:
            return await run(agent, *arguments)
        spans = RunTrace(found, agent_name=agent.name, session_id=agent.memory.session_id, provider=agent.base_engine.name)
        try:
            response = await run(agent, *head, _observing(spans, on_event))
        except BaseException as exc:
            spans.close(exc)
            raise
        spans.close(None)
        return response

    return cast(RunMethod, traced)


def _observing(spans: RunTrace, on_event: EventHandler | None) -> EventHandler:
    """The run's own `on_event`, preceded by the spans' bookkeeping. It runs in the run's task,
    so the step span it makes current is current for the step's engine and tool calls."""

    def handle(event: AgentEvent) -> Awaitable[None] | None:
        if isinstance(event, StepEvent):
            spans.step(event.step)
        elif isinstance(event, ToolCallEvent):
            spans.tool_call(event.call)
        elif isinstance(event, ToolResultEvent):
            spans.tool_result(event.result)
        elif isinstance(event, FailureEvent):
            spans.failure(event.operation, event.error_type, event.message)
        elif isinstance(event, RunEndEvent):
            spans.finish(event.response)
        return on_event(event) if on_event is not None else None

    return handle
