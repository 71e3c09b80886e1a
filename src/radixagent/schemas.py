"""The shared vocabulary of the agent: the tutorial's models, in Pydantic v2 style.

Names and fields follow "LLM Agent Serving with SGLang" so its code runs unchanged; where a
field was a bare dict there, a typed model stands beside it (`ToolCallRecord`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from radixagent.engine.types import Usage

MessageRole = Literal["system", "user", "assistant", "tool", "observation"]
MESSAGE_ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool", "observation")


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


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
    """One decision of the model: a tool call, a direct answer, or a question back.

    `confidence_score` is measured from the token logprobs of the decision (or the choice
    scores), never taken from the model's own claim."""

    decision: ToolCallDecision = Field(description="whether to call a tool")
    tool_name: str | None = Field(default=None, description="the tool to call")
    arguments: dict[str, Any] | None = Field(default=None, description="the tool's arguments")
    reasoning: str = Field(default="", description="why, or the direct answer's text")
    confidence_score: float = Field(default=0.0, ge=0.0, le=1.0, description="decision confidence")
    id: str = Field(default_factory=lambda: "call_" + new_id(), description="call id, as in OpenAI tool calls")


class ToolSchema(BaseModel):
    """What a model needs to know to call a tool."""

    name: str = Field(description="tool name", pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
    description: str = Field(description="what the tool does")
    parameters: dict[str, Any] = Field(description="JSON schema of the arguments")
    return_type: str = Field(default="string", description="what the tool returns")
    examples: list[dict[str, Any]] = Field(default_factory=list, description="example arguments (and result)")


class ToolDefinition(BaseModel):
    """A tool: its schema and, optionally, the function that runs it. A tool without a
    callable is returned to the caller unexecuted (as with OpenAI function calling)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    tool_schema: ToolSchema = Field(alias="schema", description="the tool's schema")
    callable: Callable[..., Any] | None = Field(default=None, description="the function to run")
    timeout_s: float = Field(default=30.0, gt=0, description="seconds a call may take")

    @property
    def schema(self) -> ToolSchema:  # type: ignore[override]
        """The tutorial's name for `tool_schema`."""
        return self.tool_schema

    @property
    def name(self) -> str:
        return self.tool_schema.name


class Message(BaseModel):
    """A conversation message."""

    role: str = Field(description="message role")
    content: str = Field(description="message content")
    metadata: dict[str, Any] = Field(default_factory=dict, description="extra data")
    timestamp: datetime = Field(default_factory=_now, description="creation time (UTC)")
    token_count: int | None = Field(default=None, description="tokens, as the engine counted them")

    @field_validator("role")
    @classmethod
    def validate_role(cls, v: str) -> str:
        if v not in MESSAGE_ROLES:
            raise ValueError(f"role must be one of {list(MESSAGE_ROLES)}, not {v!r}")
        return v


class ToolCallRecord(BaseModel):
    """A tool call as it ran (or was handed to the caller)."""

    id: str
    tool: str
    arguments: dict[str, Any]
    result: str | None = None
    error: str | None = None
    error_type: Literal["unknown_tool", "arguments", "timeout", "execution"] | None = None
    """What kind of failure `error` is: bad arguments are the model's to fix (a repair prompt),
    a timeout or a raised exception are the tool's."""
    duration_ms: float = 0.0
    executed: bool = True


class AgentResponse(BaseModel):
    """The agent's final answer to one run."""

    content: str = Field(description="the answer")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list, description="tools that ran")
    reasoning_steps: list[str] = Field(default_factory=list, description="what happened, step by step")
    total_tokens: int = Field(default=0, description="prompt + completion tokens of every engine call")
    cache_hit_rate: float = Field(default=0.0, description="engine-reported cached / prompt tokens")
    latency_ms: float = Field(default=0.0, description="wall time of the run")
    is_successful: bool = Field(default=True, description="whether the run succeeded")
    error_message: str | None = Field(default=None, description="why it did not")
    output: Any = Field(default=None, description="the typed output, when the agent has an output_type")
    usage: Usage = Field(default_factory=Usage, description="the engine's token counts over the run")
    prefix_efficiency: float = Field(default=0.0, description="engine-reported cached / cacheable prompt tokens")
    session_id: str | None = None
    node_id: str | None = None


class ValidationResult(BaseModel):
    """The outcome of one check."""

    is_valid: bool = Field(description="whether the check passed")
    error_message: str | None = Field(default=None, description="what is wrong")
    validation_details: dict[str, Any] = Field(default_factory=dict, description="details")
    suggested_fix: str | None = Field(default=None, description="how to fix it")


class QualityAssessment(BaseModel):
    """A quality rating of one answer, 0 to 5 on each axis."""

    accuracy_score: float = Field(ge=0.0, le=5.0, description="accuracy")
    coherence_score: float = Field(ge=0.0, le=5.0, description="coherence")
    completeness_score: float = Field(ge=0.0, le=5.0, description="completeness")
    overall_score: float = Field(ge=0.0, le=5.0, description="overall")
    feedback_comment: str = Field(description="comment")
