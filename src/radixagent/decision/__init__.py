"""How the model decides, under constraints built from the registered tools.

An assistant turn is written in a small protocol the system prompt teaches:

    Action: retrieve_documents
    Arguments: {"query": "AI ethics", "top_k": 3}
    Action: run

    Action: answer
    Answer: ...

    Action: ask
    Question: ...

Two strategies fill it in:

- `score` (default): choose each `Action:` line by likelihood (SGLang `select`; by each
  option's total logprob, or its mean with `length_normalized`), then generate the arguments
  under the chosen tool's own JSON schema. Small models pick far better among named options than they write free JSON,
  and the confidence is the softmax of the options' scores.
- `schema`: one constrained generation of the whole decision as JSON (every tool's name and
  argument schema in one `anyOf`); the confidence comes from the logprobs of the tokens that
  name the action. Fewer requests; for capable models.

The score strategy can also lean on the request's own words (`radixagent.evidence`), each a
setting measured on the tool-call benchmark (docs/toolcalls.md):

- `evidence_weight`: each tool's lexical and typed-value evidence is added to its log-probability
  before the choice (the model alone picks the wrong tool about 30% of the time on SmolLM2-135M);
- `abstain_below`: under `tool_choice=auto`, answer directly when no tool's evidence reaches
  this, or when the request is a question about the world ("Why do rainbows appear?"), instead
  of offering the model an "answer" option (whose score hardly tells a question no tool serves
  from a request one does);
- `extract_arguments`: each argument's schema is narrowed to the values the message holds
  (`evidence.narrow_arguments`), with the tool's own schema as the fallback;
- `split_calls`: the coordinated parts of a request ("... in Oslo and in Helsinki") are each
  served by a call unless an earlier call already took their values, instead of asking the
  model after every call whether to run.

Either way the output is valid by construction: a tool call names a registered tool and its
arguments match that tool's schema. The engines bound what a schema leaves open (array length,
string length) so a constrained generation ends; one cut off by `max_tokens` anyway is not
valid output: it is raised as `DecisionError` for the agent's recovery to handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from radixagent.decision.by_schema import decide_by_schema, decision_schema
from radixagent.decision.by_score import decide_by_score
from radixagent.decision.later_steps import decide_later_step, unserved_parts
from radixagent.decision.protocol import protocol_text
from radixagent.decision.settings import Decision, DecisionSettings, DecisionStrategy
from radixagent.evidence import Evidence
from radixagent.prompting import Transcript
from radixagent.schemas import ToolCallRecord, ToolSchema

__all__ = [
    "Decision",
    "DecisionSettings",
    "DecisionStrategy",
    "decide",
    "decision_schema",
    "protocol_text",
    "unserved_parts",
]


async def decide(
    transcript: Transcript,
    tools: list[ToolSchema],
    settings: DecisionSettings,
    *,
    answer_schema: dict[str, Any] | None = None,
    require_tool: bool = False,
    request: str | None = None,
    done: Sequence[ToolCallRecord] = (),
    today: date | None = None,
) -> Decision:
    """Extend `transcript` (which ends where the assistant's turn begins) with one decision.
    `request` is the user's text this turn answers: the evidence the score strategy's settings
    read (without it the model decides alone). `done` are the calls already made for it: a
    request whose every part they served is answered, and a later call serves a part they
    left, and a tool whose call failed is called again with arguments written under its own
    schema, not narrowed to the request's values again. `today` is the day the conversation
    says it is, where it says one (the clock's otherwise): days the request tells count from it."""
    if settings.strategy is DecisionStrategy.SCHEMA:
        return await decide_by_schema(transcript, tools, settings, answer_schema, require_tool)
    evidence = Evidence.of(request, today=today) if request and request.strip() and settings.uses_evidence else None
    if evidence is not None and done:
        return await decide_later_step(transcript, tools, settings, answer_schema, require_tool, evidence, done)
    return await decide_by_score(transcript, tools, settings, answer_schema, require_tool, evidence)
