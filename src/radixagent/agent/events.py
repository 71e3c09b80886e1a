"""What a run tells its observers as it goes: each step, tool call and result, a pause for
approval, failure, and the end."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, Field

from radixagent.schemas import (
    AgentResponse,
    PendingApproval,
    ToolCall,
    ToolCallRecord,
)


class StepEvent(BaseModel):
    """A decision step begins (1 for the first)."""

    type: Literal["step"] = "step"
    step: int


class ToolCallEvent(BaseModel):
    """The model decided to call a tool; it runs next."""

    type: Literal["tool_call"] = "tool_call"
    step: int
    call: ToolCall


class ToolResultEvent(BaseModel):
    """A tool call finished (or failed, or was handed to the caller unexecuted, or was denied
    by a person: `error_type` "denied")."""

    type: Literal["tool_result"] = "tool_result"
    step: int
    result: ToolCallRecord


class ApprovalRequestEvent(BaseModel):
    """The model decided calls that wait for a person's approval: the run pauses after this
    step (its `run_end` response lists them) and resumes when each is approved or denied."""

    type: Literal["approval_required"] = "approval_required"
    step: int
    node_id: str = Field(description="the assistant turn that decided the calls")
    approvals: list[PendingApproval]


class FailureEvent(BaseModel):
    """Something failed and the run recovers (or gives up): a reply, a tool call, the engine."""

    type: Literal["failure"] = "failure"
    operation: str
    error_type: str
    message: str


class RunEndEvent(BaseModel):
    """The run is over; `response` is what it returns."""

    type: Literal["run_end"] = "run_end"
    response: AgentResponse


AgentEvent = StepEvent | ToolCallEvent | ToolResultEvent | ApprovalRequestEvent | FailureEvent | RunEndEvent
EventHandler = Callable[[AgentEvent], Awaitable[None] | None]
"""Called with each event of a run, in order; may be a coroutine function."""


