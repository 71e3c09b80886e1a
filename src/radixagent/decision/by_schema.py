"""The schema strategy: one constrained generation of the whole decision as JSON."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from radixagent.decision.protocol import ANSWER, ASK, object_schema, parse_json
from radixagent.decision.settings import Decision, DecisionSettings
from radixagent.engine import Completion, JsonSchemaConstraint, SamplingParams
from radixagent.prompting import Transcript
from radixagent.schemas import ToolCall, ToolSchema


def decision_schema(tools: list[ToolSchema], *, allow_ask: bool, answer_schema: dict[str, Any] | None, require_tool: bool, max_calls: int) -> dict[str, Any]:
    """One JSON schema for the whole decision: calls of registered tools with their own
    argument schemas, or an answer, or a question."""

    call_variants = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": object_schema(t.parameters)},
            "required": ["tool", "arguments"],
            "additionalProperties": False,
        }
        for t in tools
    ]
    variants: list[dict[str, Any]] = []
    if call_variants:
        variants.append(
            {
                "type": "object",
                "properties": {
                    "action": {"const": "call_tool"},
                    "calls": {"type": "array", "items": {"anyOf": call_variants}, "minItems": 1, "maxItems": max_calls},
                },
                "required": ["action", "calls"],
                "additionalProperties": False,
            }
        )
    if not require_tool or not call_variants:
        variants.append(
            {
                "type": "object",
                "properties": {"action": {"const": ANSWER}, "answer": answer_schema or {"type": "string"}},
                "required": ["action", "answer"],
                "additionalProperties": False,
            }
        )
        if allow_ask:
            variants.append(
                {
                    "type": "object",
                    "properties": {"action": {"const": ASK}, "question": {"type": "string"}},
                    "required": ["action", "question"],
                    "additionalProperties": False,
                }
            )
    return variants[0] if len(variants) == 1 else {"anyOf": variants}


async def decide_by_schema(
    transcript: Transcript,
    tools: list[ToolSchema],
    settings: DecisionSettings,
    answer_schema: dict[str, Any] | None,
    require_tool: bool,
) -> Decision:
    schema = decision_schema(tools, allow_ask=settings.allow_ask, answer_schema=answer_schema, require_tool=require_tool, max_calls=settings.max_calls)
    await transcript.append("Decision: ")
    completion = await transcript.generate(
        constraint=JsonSchemaConstraint(json_schema=schema),
        sampling=SamplingParams(max_tokens=settings.argument_tokens * settings.max_calls + settings.answer_tokens, logprobs=0),
    )
    value = parse_json(completion, "the decision")
    confidence = _naming_confidence(completion)
    action = value.get("action")
    if action == "call_tool":
        calls = [
            ToolCall(tool_name=c["tool"], arguments=c["arguments"], confidence=confidence)
            for c in value["calls"]
        ]
        return Decision(action="call", calls=calls, confidence=confidence)
    if action == ASK:
        return Decision(action="ask", text=str(value["question"]), confidence=confidence)
    answer = value["answer"]
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
    return Decision(action="answer", text=text, confidence=confidence)


def _naming_confidence(completion: Completion) -> float:
    """The model's probability of the tokens that name what it does: everything up to the
    first tool name, or up to the action when it answers or asks."""
    if not completion.logprobs:
        return 0.0
    text, logprobs = "", []
    for token in completion.logprobs:
        text += token.token
        logprobs.append(token.logprob)
        if _NAMED.search(text):
            break
    return math.exp(sum(logprobs) / len(logprobs))


_NAMED = re.compile(r'"tool"\s*:\s*"[^"]*"|"action"\s*:\s*"(?!call_tool")[^"]*"')
