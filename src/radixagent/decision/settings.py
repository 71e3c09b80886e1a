"""What the decision layer is told (`DecisionSettings`) and what it decides (`Decision`)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from radixagent.schemas import Action, ToolCall


class DecisionStrategy(StrEnum):
    SCORE = "score"
    SCHEMA = "schema"


class Decision(BaseModel):
    """What the model decided in one assistant turn."""

    action: Action
    calls: list[ToolCall] = Field(default_factory=list)
    text: str = ""
    """The answer or the question, when the model did not call a tool."""
    confidence: float = 0.0
    cut_off: bool = False
    """A later call ran out of `argument_tokens` before its JSON closed: `calls` are the ones
    written whole before it, and the request's rest is left for a later step."""


class DecisionSettings(BaseModel):
    strategy: DecisionStrategy = DecisionStrategy.SCORE
    max_calls: int = Field(
        default=1,
        ge=1,
        description="tool calls one turn may make; small models tend to repeat a call, so one unless the tools are independent",
    )
    argument_tokens: int = Field(default=160, ge=8, description="max tokens of one call's arguments")
    answer_tokens: int = Field(default=256, ge=8, description="max tokens of an answer or question")
    allow_ask: bool = True
    length_normalized: bool = Field(
        default=False,
        description="rank actions by mean token logprob (SGLang select) instead of total logprob",
    )
    evidence_weight: float = Field(
        default=3.0,
        ge=0.0,
        description="score strategy: weight of the request's own evidence for each tool (BM25 + typed values), added to the model's log-probability; 0 = the model alone",
    )
    abstain_below: float | None = Field(
        default=1.0,
        ge=0.0,
        description="score strategy: answer directly when no tool's evidence reaches this (tool_choice auto); None = the model scores an 'answer' option",
    )
    extract_arguments: bool = Field(default=True, description="score strategy: narrow each argument to the values the request holds")
    channel_weight: float = Field(
        default=0.0,
        ge=0.0,
        description="score strategy: weight of each tool's noisy-channel score, the model's log-probability of the request "
        "after the tool's name and description (one scoring request per tool); it works when a description is terse or in "
        "another language than the request; 0 = off",
    )
    calibration_weight: float = Field(
        default=1.0,
        ge=0.0,
        description="score strategy: weight of each tool's log-probability after a request that asks for nothing, subtracted "
        "from its score when the model chooses among tools (contextual calibration: the model's lean toward a tool whatever "
        "is asked; one scoring request); 0 = off",
    )
    question_margin: float | None = Field(
        default=5.0,
        description="score strategy, tool_choice auto: answer directly when the request is likelier, by more than this "
        "(nats), as a question to a chat assistant than as a request to the likeliest tool (one scoring request per tool); "
        "None = off. Not smaller: a tool described in another language than the request fits it less well",
    )
    tool_margin: float | None = Field(
        default=10.0,
        description="score strategy, tool_choice auto: call a tool although the request shares no word with any tool when "
        "the likeliest tool explains the request better than a question to an assistant by more than this (nats); None = off",
    )
    channel_lead: float | None = Field(
        default=4.0,
        description="score strategy, after a tool ran: a later part of the request that names no value and no tool's "
        "words ('... and tell me whether its tone is positive') is served by the tool whose noisy-channel score leads every "
        "other tool's by this (nats) and the question's; None = such a part asks for no tool",
    )
    bind_arguments: bool = Field(
        default=True,
        description="score strategy: where several parameters each allow a short list of values (the request's, an enum), "
        "score the whole assignments and keep the likeliest, no value the request holds once given twice",
    )
    split_calls: bool = Field(
        default=True,
        description="score strategy, max_calls > 1: one call per coordinated part of the request, instead of the model choosing 'run'",
    )

    def model_only(self) -> DecisionSettings:
        """These settings with every use of the request's own words off: the model decides alone."""
        return self.model_copy(
            update={"evidence_weight": 0.0, "abstain_below": None, "extract_arguments": False, "split_calls": False, "channel_weight": 0.0, "calibration_weight": 0.0, "bind_arguments": False, "question_margin": None, "tool_margin": None, "channel_lead": None}
        )

    @property
    def uses_evidence(self) -> bool:
        return self.evidence_weight > 0 or self.abstain_below is not None or self.extract_arguments or self.split_calls or self.channel_weight > 0
