"""A tool call's arguments: narrowed to the values the request holds, written by the model under
that schema (its JSON closed when the model ran out of room after the last value; written again
when it gave a value the request says once to two parameters), then bound jointly by likelihood
(`binding`)."""

from __future__ import annotations

import json
from typing import Any

from radixagent.decision.binding import bind, once_each
from radixagent.decision.protocol import object_schema, parse_json
from radixagent.decision.settings import DecisionSettings
from radixagent.engine import JsonSchemaConstraint, SamplingParams
from radixagent.engine.constraints import fit_schema, without_repeats
from radixagent.engine.schema_guard import safe_validator
from radixagent.errors import DecisionError
from radixagent.evidence import Evidence, narrow_arguments, offered_codes, terms
from radixagent.prompting import Transcript
from radixagent.schemas import ToolCall, ToolSchema


async def write_call(
    transcript: Transcript,
    tool: ToolSchema,
    settings: DecisionSettings,
    evidence: Evidence | None,
    confidence: float,
    earlier: list[ToolCall] | None = None,
    *,
    context: Evidence | None = None,
    part_first: bool = False,
    refused: str | None = None,
) -> ToolCall:
    """One call of `tool`, its arguments narrowed to `evidence` (the part of the request it
    serves; `context`, the whole). After a failed call, `refused` is its error message: the
    parameters holding a value it quotes ("unknown currency 'BRI'") are written again under the
    tool's own schema, code parameters among the codes it lists."""
    used: dict[str, set[Any]] = {}
    for call in earlier or []:
        if call.tool_name == tool.name:
            for key, value in (call.arguments or {}).items():
                if isinstance(value, str | int | float):
                    used.setdefault(key, set()).add(value)
    schema = object_schema(tool.parameters)
    if evidence is not None:
        narrowed = narrow_arguments(schema, evidence, context=context, used=used, tool_words=terms(tool.name), part_first=part_first and evidence is not context)
        schema = narrowed if refused is None else _reopened(narrowed, schema, refused)
    arguments = without_repeats(await _arguments(transcript, tool, schema, settings, evidence, context), tool.parameters)
    return ToolCall(tool_name=tool.name, arguments=arguments, confidence=confidence)


def _reopened(narrowed: dict[str, Any], schema: dict[str, Any], message: str) -> dict[str, Any]:
    """`narrowed` with each parameter whose values include one the failed call's error quotes
    given back its own schema (`schema`'s), or, for a code, the codes the error lists; a code
    parameter none of whose values the error lists takes those too ("BRI", spelled from "British
    pounds", once the error says the codes are USD, GBP, ...)."""
    refused = set(Evidence.of(message).quoted)
    offered = offered_codes(schema, message)["properties"]
    properties = dict(narrowed.get("properties") or {})
    for name, node in properties.items():
        values = {str(v) for v in node.get("enum") or []} if isinstance(node, dict) and "enum" in node else None
        listed = offered.get(name, {}).get("enum")
        if values is None or refused & values or (listed and not values & {str(v) for v in listed}):
            properties[name] = offered.get(name, node)
    return {**narrowed, "properties": properties}


async def _arguments(
    transcript: Transcript, tool: ToolSchema, schema: dict[str, Any], settings: DecisionSettings, evidence: Evidence | None, context: Evidence | None = None
) -> dict[str, Any]:
    await transcript.append("\nArguments: ")
    if not schema.get("properties") and schema.get("additionalProperties") is False:
        await transcript.append("{}")  # nothing to choose: a small model may pad an empty object with whitespace forever
        return {}
    start = transcript.mark()
    arguments = await _written(transcript, tool, schema, settings)
    if evidence is not None and (narrower := once_each(arguments, schema, evidence)) is not None:
        # a value the request says once, written for two parameters ("chicken dish" as the dish
        # and as the change to it): written again, the later parameters without it; what was
        # written stands if the model runs out of room the second time
        first = transcript.text[start[0] :]
        transcript.rewind(start)
        try:
            arguments, schema = await _written(transcript, tool, narrower, settings), narrower
        except DecisionError:
            transcript.rewind(start)
            await transcript.append(first)
    return await bind(transcript, start, arguments, schema, evidence, tool.parameters, context) if settings.bind_arguments else arguments


async def _written(transcript: Transcript, tool: ToolSchema, schema: dict[str, Any], settings: DecisionSettings) -> dict[str, Any]:
    """The arguments the model writes under `schema`, appended to the transcript."""
    # room for every value within the token budget, so the JSON closes even when a small
    # model rambles inside a string; cut off anyway, once more with half the room
    start = transcript.mark()
    for room in (settings.argument_tokens, settings.argument_tokens // 2):
        fitted = fit_schema(schema, room)
        completion = await transcript.generate(
            constraint=JsonSchemaConstraint(json_schema=fitted),
            sampling=SamplingParams(max_tokens=settings.argument_tokens),
        )
        if completion.finish_reason != "length":
            break
        if (closed := _closed(completion.text, fitted)) is not None:
            # every value was written and only whitespace followed: the brackets are all that is missing
            await transcript.append(closed[len(completion.text) :])
            arguments: dict[str, Any] = json.loads(closed)
            return arguments
        if room != settings.argument_tokens // 2:
            transcript.rewind(start)
    value = parse_json(completion, f"the arguments of {tool.name}")
    if not isinstance(value, dict):
        raise DecisionError(f"The arguments of {tool.name} are not a JSON object: {completion.text!r}")
    return value


def _closed(text: str, schema: dict[str, Any]) -> str | None:
    """`text` with its open brackets closed, when it stops after a complete value (the model
    cut off while padding with whitespace) and the result is valid for `schema`; else None."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    body = text.rstrip()
    if in_string or not stack or not body or body[-1] in ",:[{":
        return None
    closed = text + "".join(reversed(stack))
    try:
        value = json.loads(closed)
    except ValueError:
        return None
    return closed if not next(iter(safe_validator(schema).iter_errors(value)), None) else None
