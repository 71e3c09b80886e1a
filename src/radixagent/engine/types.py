"""The typed vocabulary of the engine layer: what goes into an engine and what comes out.

No raw dicts leave an engine: every engine turns its wire format into these models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypeIs

from radixagent.errors import ConstraintError


class ChatMessage(BaseModel):
    """One chat turn as an engine sees it."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant", "tool"]
    content: str


Prompt = str | Sequence[int] | Sequence[ChatMessage]
"""Raw text, token ids (engines that take them), or chat messages (the engine applies the
model's chat template)."""


def is_chat(prompt: Prompt) -> TypeIs[Sequence[ChatMessage]]:
    """Whether `prompt` is chat messages. A `TypeIs`, so a checker narrows both ways: after
    `isinstance(prompt, str)` and `not is_chat(prompt)`, what is left is token ids. (An empty
    list reads as no chat, which is also a valid, empty, `Sequence[int]`.)"""
    return not isinstance(prompt, str) and len(prompt) > 0 and isinstance(prompt[0], ChatMessage)


# --- constraints -------------------------------------------------------------------------


class JsonSchemaConstraint(BaseModel):
    """The output is one JSON value valid against `json_schema`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["json_schema"] = "json_schema"
    json_schema: dict[str, Any]

    @model_validator(mode="after")
    def _serialisable(self) -> JsonSchemaConstraint:
        try:
            json.dumps(self.json_schema)
        except (TypeError, ValueError) as exc:
            raise ConstraintError(f"The JSON schema is not serialisable as JSON: {exc}") from exc
        return self


class RegexConstraint(BaseModel):
    """The whole output matches `pattern` (no anchors needed)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["regex"] = "regex"
    pattern: str = Field(min_length=1)


class ChoicesConstraint(BaseModel):
    """The output is exactly one of `choices`."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["choices"] = "choices"
    choices: list[str] = Field(min_length=1)


class GrammarConstraint(BaseModel):
    """The output follows a grammar in the engine's own dialect (EBNF for SGLang, GBNF or
    llguidance for llama.cpp). Not portable between engines; prefer the other constraints."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["grammar"] = "grammar"
    grammar: str = Field(min_length=1)


Constraint = Annotated[
    JsonSchemaConstraint | RegexConstraint | ChoicesConstraint | GrammarConstraint,
    Field(discriminator="kind"),
]


# --- sampling ----------------------------------------------------------------------------


class SamplingParams(BaseModel):
    """How to sample. `logprobs` asks for the chosen token's logprob plus that many
    alternatives per position (0 = the chosen token only, None = no logprobs)."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int = Field(default=128, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=1)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    logprobs: int | None = Field(default=None, ge=0, le=20)


# --- results -----------------------------------------------------------------------------


class Usage(BaseModel):
    """Token counts as the engine reported them. `cached_tokens` is the engine's own count of
    prompt tokens it did not recompute (its prefix cache), never a client-side guess."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def prefill_tokens(self) -> int:
        """Prompt tokens the engine had to compute."""
        return self.prompt_tokens - self.cached_tokens

    @property
    def cache_hit_rate(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    def __add__(self, other: Usage) -> Usage:
        # sums of valid counts are valid: no validation (a run adds usages at every request)
        return Usage.model_construct(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
        )


class TopLogprob(BaseModel):
    token: str
    logprob: float
    token_id: int | None = None


class TokenLogprob(BaseModel):
    token: str
    logprob: float
    token_id: int | None = None
    top: list[TopLogprob] = Field(default_factory=list)


class Timings(BaseModel):
    """Where the time went, in milliseconds. `total_ms` is measured by radixagent around the
    call; the others are the engine's own figures when it reports them."""

    total_ms: float = 0.0
    prompt_ms: float | None = None
    decode_ms: float | None = None
    first_token_ms: float | None = None


FinishReason = Literal["stop", "length", "abort"]


class Completion(BaseModel):
    """One finished generation."""

    text: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings = Field(default_factory=Timings)
    token_ids: list[int] | None = None
    logprobs: list[TokenLogprob] | None = None
    reasoning: str | None = None
    """Reasoning the engine separated from the answer (reasoning models); never part of `text`."""
    model: str = ""


class StreamChunk(BaseModel):
    """A piece of a streamed generation. `text` is the new text only (a delta); the last
    chunk carries `completion`, the same object a non-streamed call returns."""

    text: str = ""
    token_ids: list[int] = Field(default_factory=list)
    completion: Completion | None = None


class ChoiceScore(BaseModel):
    choice: str
    mean_logprob: float
    token_logprobs: list[float]


class ScoreResult(BaseModel):
    """`score(prefix, choices)`: SGLang `select` semantics, the choice with the highest mean
    token logprob wins."""

    scores: list[ChoiceScore]
    usage: Usage = Field(default_factory=Usage)

    @property
    def best(self) -> str:
        return max(self.scores, key=lambda s: s.mean_logprob).choice

    def probabilities(self, *, length_normalized: bool = True, prior: dict[str, float] | None = None) -> dict[str, float]:
        """A softmax over the choices: how sure the model is between them. By mean token
        logprob (`select`'s ranking), or, with `length_normalized=False`, by each choice's
        total logprob, the model's probability of the whole continuation (names of several
        tokens are not favoured for their predictable tails). `prior` adds a log-space bonus
        per choice (evidence from outside the model)."""
        import math

        def value(s: ChoiceScore) -> float:
            own = s.mean_logprob if length_normalized or not s.token_logprobs else sum(s.token_logprobs)
            return own + (prior or {}).get(s.choice, 0.0)

        top = max(value(s) for s in self.scores)
        weights = {s.choice: math.exp(value(s) - top) for s in self.scores}
        total = sum(weights.values())
        return {choice: w / total for choice, w in weights.items()}


class EngineHealth(BaseModel):
    ok: bool
    model: str = ""
    detail: str = ""


class ModelInfo(BaseModel):
    """What an engine knows of the model it serves."""

    name: str
    context_size: int | None = None
    path: str | None = None
