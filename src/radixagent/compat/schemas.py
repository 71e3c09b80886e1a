"""The tutorial's shapes: its `ToolCall` (a decision and a call in one), and an
`AgentResponse` whose `tool_calls` read as dicts with keys `tool`, `arguments` and `result`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from radixagent import schemas
from radixagent.schemas import new_id


class ToolCallDecision(StrEnum):
    """What the model decided to do at a step."""

    CALL_TOOL = "call_tool"
    RESPOND_DIRECTLY = "respond_directly"
    NEED_MORE_INFO = "need_more_info"


class ToolArgument(BaseModel):
    """One argument of a tool call."""

    name: str = Field(description="argument name")
    value: Any = Field(description="argument value")
    type_hint: str = Field(description="expected type")


class ToolCall(BaseModel):
    """One decision of the model, as the tutorial writes it: a tool call, a direct answer
    (its text in `reasoning`), or a question back."""

    decision: ToolCallDecision = Field(description="whether to call a tool")
    tool_name: str | None = Field(default=None, description="the tool to call")
    arguments: dict[str, Any] | None = Field(default=None, description="the tool's arguments")
    reasoning: str = Field(default="", description="why, or the direct answer's text")
    confidence_score: float = Field(default=0.0, ge=0.0, le=1.0, description="decision confidence")
    id: str = Field(default_factory=lambda: "call_" + new_id(), description="call id, as in OpenAI tool calls")

    @classmethod
    def of(cls, call: schemas.ToolCall) -> ToolCall:
        return cls(
            decision=ToolCallDecision.CALL_TOOL,
            tool_name=call.tool_name,
            arguments=call.arguments,
            confidence_score=call.confidence,
            id=call.id,
        )

    def to_call(self) -> schemas.ToolCall:
        """The core's call; raises ValueError for a decision that calls nothing."""
        if self.decision is not ToolCallDecision.CALL_TOOL or not self.tool_name:
            raise ValueError(f"This decision is {self.decision.value!r}, not a tool call: only call_tool decisions with a tool_name run.")
        return schemas.ToolCall(id=self.id, tool_name=self.tool_name, arguments=self.arguments or {}, confidence=self.confidence_score)


class AgentResponse(schemas.AgentResponse):
    """The core's response, with the tool calls as the tutorial's dicts."""

    tool_calls: list[dict[str, Any]] = Field(default_factory=list, description="tools that ran: tool, arguments, result")  # type: ignore[assignment]  # the tutorial reads these as dicts

    @classmethod
    def of(cls, response: schemas.AgentResponse) -> AgentResponse:
        fields = {name: getattr(response, name) for name in schemas.AgentResponse.model_fields if name != "tool_calls"}
        calls = [{"tool": r.tool, "arguments": r.arguments, "result": r.result if r.error is None else f"Error: {r.error}"} for r in response.tool_calls]
        return cls(**fields, tool_calls=calls)
