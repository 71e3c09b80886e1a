"""The shared vocabulary: tools, calls, the typed parts of a conversation, and a run's result.

A conversation node holds one `Message`: its `role`, the exact text the model saw for it
(`content`, which the prompt of the branch's next turn extends byte for byte), and what that
text means as typed `parts`, in the spirit of pydantic-ai's `messages.py`:

    system       SystemPromptPart | SummaryPart
    user         UserTextPart
    assistant    DecisionPart, then ToolCallPart... (a call) or AnswerPart (an answer or a question),
                 then ApprovalRequestPart... (calls that wait for a person's approval)
    tool         ToolResultPart..., then ObservationPart (the repair instruction, when a call failed)
    observation  ObservationPart (what the loop tells the model: a retry, "answer now")

The tutorial's own shapes (its `ToolCall` with a `decision` field, its dicts) live in
`radixagent.compat`, built on these.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radixagent.engine.types import Usage

MessageRole = Literal["system", "user", "assistant", "tool", "observation"]
Action = Literal["call", "answer", "ask"]
"""What an assistant turn does: call tools, answer, or ask the user a question."""


def _now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex[:16]


# --- tools -------------------------------------------------------------------------------


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
    requires_approval: bool = Field(default=False, description="whether each call waits for a person's approval")

    @property
    def schema(self) -> ToolSchema:  # type: ignore[override]  # BaseModel.schema is pydantic v1's deprecated classmethod
        """The tutorial's name for `tool_schema`."""
        return self.tool_schema

    @property
    def name(self) -> str:
        return self.tool_schema.name


class ToolCall(BaseModel):
    """A call the model decided on. `confidence` is measured from the decision's token
    logprobs (or the choice scores), never taken from the model's own claim."""

    id: str = Field(default_factory=lambda: "call_" + new_id(), description="call id, as in OpenAI tool calls")
    tool_name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)


ToolErrorKind = Literal["unknown_tool", "arguments", "timeout", "execution", "denied"]


class ToolCallRecord(BaseModel):
    """A tool call as it ran (or was handed to the caller)."""

    id: str
    tool: str
    arguments: dict[str, Any]
    result: str | None = None
    error: str | None = None
    error_type: ToolErrorKind | None = None
    """What kind of failure `error` is: bad arguments are the model's to fix (a repair prompt),
    a timeout or a raised exception are the tool's; `denied`: a person refused the call, so it
    never ran."""
    duration_ms: float = 0.0
    executed: bool = True


# --- the parts of a conversation ---------------------------------------------------------


class SystemPromptPart(BaseModel):
    kind: Literal["system-prompt"] = "system-prompt"
    content: str


class SummaryPart(BaseModel):
    """Older turns compacted into a summary to fit the context."""

    kind: Literal["summary"] = "summary"
    content: str
    replaces: list[str] = Field(default_factory=list, description="the ids of the nodes it stands for")


class UserTextPart(BaseModel):
    kind: Literal["user-text"] = "user-text"
    content: str


class DecisionPart(BaseModel):
    """What an assistant turn decided, and how sure the model was (from its logprobs).
    `action` is None when the reply could not be read (it is fed back as an observation)."""

    kind: Literal["decision"] = "decision"
    action: Action | None = None
    confidence: float | None = None


class ToolCallPart(BaseModel):
    kind: Literal["tool-call"] = "tool-call"
    call: ToolCall


class AnswerPart(BaseModel):
    """The text of an answer (or of a question back, after an `ask` decision)."""

    kind: Literal["answer"] = "answer"
    content: str


class ToolResultPart(BaseModel):
    kind: Literal["tool-result"] = "tool-result"
    record: ToolCallRecord


class ObservationPart(BaseModel):
    """What the loop tells the model: a repair instruction, a note that a call repeats."""

    kind: Literal["observation"] = "observation"
    content: str


class ApprovalRequestPart(BaseModel):
    """The call `call_id` of this turn waits for a person's approval: the run paused here and
    resumes when every such call of the turn is approved or denied."""

    kind: Literal["approval-request"] = "approval-request"
    call_id: str


MessagePart = Annotated[
    SystemPromptPart
    | SummaryPart
    | UserTextPart
    | DecisionPart
    | ToolCallPart
    | AnswerPart
    | ToolResultPart
    | ObservationPart
    | ApprovalRequestPart,
    Field(discriminator="kind"),
]


P = TypeVar("P", bound=BaseModel)


class Message(BaseModel):
    """One turn of a conversation: the exact text the model saw, and what it means."""

    role: MessageRole
    content: str = Field(description="the text as the model saw it (assistant turns: as it generated it)")
    parts: list[MessagePart] = Field(default_factory=list, description="what the text means, typed")
    timestamp: datetime = Field(default_factory=_now, description="creation time (UTC)")
    token_count: int | None = Field(default=None, description="tokens, as the engine counted them")

    @model_validator(mode="after")
    def _default_parts(self) -> Message:
        if not self.parts:
            self.parts = default_parts(self.role, self.content)
        return self

    def parts_of(self, kind: type[P]) -> list[P]:
        """The parts of one kind, in order: `message.parts_of(ToolResultPart)`."""
        return [p for p in self.parts if isinstance(p, kind)]

    @property
    def tool_results(self) -> list[ToolCallRecord]:
        return [p.record for p in self.parts_of(ToolResultPart)]

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [p.call for p in self.parts_of(ToolCallPart)]


def default_parts(role: MessageRole, content: str) -> list[MessagePart]:
    """The parts of a message given only as text (the user's, the system prompt, a note)."""
    if role == "system":
        return [SystemPromptPart(content=content)]
    if role == "user":
        return [UserTextPart(content=content)]
    if role == "assistant":
        return [DecisionPart()]
    return [ObservationPart(content=content)]


# --- approvals ---------------------------------------------------------------------------

ApprovalDecisionKind = Literal["approve", "deny"]


class Approve(BaseModel):
    """Run the call as the model decided it."""

    decision: Literal["approve"] = "approve"


class Deny(BaseModel):
    """Do not run the call; the model reads "the user denied this call: `reason`"."""

    decision: Literal["deny"] = "deny"
    reason: str = Field(default="", max_length=2000)


ApprovalDecision = Annotated[Approve | Deny, Field(discriminator="decision")]


class PendingApproval(BaseModel):
    """A tool call that waits for a person's approval before it runs."""

    call_id: str
    tool: str
    arguments: dict[str, Any]
    node_id: str = Field(description="the assistant turn that decided the call (the run paused there)")
    decision: ApprovalDecisionKind | None = Field(default=None, description="what was decided so far (None: nothing yet)")
    reason: str = Field(default="", description="why it was denied")


# --- a run's result ----------------------------------------------------------------------


class AgentResponse(BaseModel):
    """The agent's final answer to one run."""

    content: str = Field(description="the answer")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list, description="tools that ran")
    reasoning_steps: list[str] = Field(default_factory=list, description="what happened, step by step")
    total_tokens: int = Field(default=0, description="prompt + completion tokens of every engine call")
    cache_hit_rate: float = Field(default=0.0, description="engine-reported cached / prompt tokens")
    latency_ms: float = Field(default=0.0, description="wall time of the run")
    is_successful: bool = Field(
        default=True, description="whether the run succeeded (true for a run paused for approval: nothing failed; see pending_approvals)"
    )
    error_message: str | None = Field(default=None, description="why it did not")
    output: Any = Field(default=None, description="the typed output, when the agent has an output_type")
    usage: Usage = Field(default_factory=Usage, description="the engine's token counts over the run")
    prefix_efficiency: float = Field(default=0.0, description="engine-reported cached / cacheable prompt tokens")
    pending_approvals: list[PendingApproval] = Field(
        default_factory=list,
        description="calls waiting for a person's approval: the run paused (is_successful, content empty) and resumes once each is decided",
    )
    session_id: str | None = None
    node_id: str | None = None

    @property
    def awaiting_approval(self) -> bool:
        """Whether the run paused for approvals instead of answering."""
        return bool(self.pending_approvals)


class ValidationResult(BaseModel):
    """The outcome of one check, with how to fix what failed."""

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
