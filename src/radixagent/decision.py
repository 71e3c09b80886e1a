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

import json
import math
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from radixagent.engine import Completion, JsonSchemaConstraint, SamplingParams
from radixagent.engine.constraints import fit_schema
from radixagent.engine.schema_guard import safe_validator
from radixagent.errors import DecisionError
from radixagent.evidence import Evidence, narrow_arguments, rank_tools, shared_terms, terms
from radixagent.prompting import Transcript
from radixagent.schemas import Action, ToolCall, ToolCallRecord, ToolSchema

ANSWER, ASK, RUN = "answer", "ask", "run"


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
    split_calls: bool = Field(
        default=True,
        description="score strategy, max_calls > 1: one call per coordinated part of the request, instead of the model choosing 'run'",
    )

    def model_only(self) -> DecisionSettings:
        """These settings with every use of the request's own words off: the model decides alone."""
        return self.model_copy(
            update={"evidence_weight": 0.0, "abstain_below": None, "extract_arguments": False, "split_calls": False, "channel_weight": 0.0}
        )

    @property
    def uses_evidence(self) -> bool:
        return self.evidence_weight > 0 or self.abstain_below is not None or self.extract_arguments or self.split_calls or self.channel_weight > 0


def protocol_text(tools: list[ToolSchema], *, allow_ask: bool = True) -> str:
    """The part of the system prompt that teaches the protocol, with each tool's examples as
    few-shot. Byte-stable for a given tool set: nothing volatile goes in here."""
    lines = [
        "You can call tools. Write one line 'Action: <tool name>' and one line 'Arguments: <JSON>' per call,",
        "then 'Action: run' to run them; their results come back as observations.",
        "Call a tool once for each thing you need. When the observations answer the request,",
        "write 'Action: answer' and then 'Answer: <your answer>'.",
    ]
    if allow_ask:
        lines.append("If the request is unclear, write 'Action: ask' and then 'Question: <your question>'.")
    lines.append("")
    lines.append("Tools:")
    for tool in tools:
        lines.append(f"- {tool.name}: {tool.description}")
        lines.append(f"  parameters: {json.dumps(tool.parameters, ensure_ascii=False, sort_keys=True)}")
        for example in tool.examples:
            arguments = {k: v for k, v in example.items() if k in tool.parameters.get("properties", {})}
            lines.append(f"  example: Action: {tool.name} / Arguments: {json.dumps(arguments, ensure_ascii=False)}")
    return "\n".join(lines)


async def decide(
    transcript: Transcript,
    tools: list[ToolSchema],
    settings: DecisionSettings,
    *,
    answer_schema: dict[str, Any] | None = None,
    require_tool: bool = False,
    request: str | None = None,
    done: Sequence[ToolCallRecord] = (),
) -> Decision:
    """Extend `transcript` (which ends where the assistant's turn begins) with one decision.
    `request` is the user's text this turn answers: the evidence the score strategy's settings
    read (without it the model decides alone). `done` are the calls already made for it: a
    request whose every part they served is answered, and a later call serves a part they
    left."""
    if settings.strategy is DecisionStrategy.SCHEMA:
        return await _decide_by_schema(transcript, tools, settings, answer_schema, require_tool)
    evidence = Evidence.of(request) if request and request.strip() and settings.uses_evidence else None
    if evidence is not None and done:
        pending = unserved_parts(evidence, tools, done)
        if not pending:  # the observations hold what was asked: answer from them
            return await _decide_by_score(transcript, [], settings.model_copy(update={"allow_ask": False}), answer_schema, False, None)
        evidence = Evidence.of(" ".join(p.text for p in pending))
    return await _decide_by_score(transcript, tools, settings, answer_schema, require_tool, evidence)


def unserved_parts(evidence: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord]) -> list[Evidence]:
    """The parts of a request that the successful calls in `done` have not served. A part is
    served when the calls hold every value it names, and, when it names no value ("then
    summarise them"), when the tool its words point to has run (or none does)."""
    ok = [r for r in done if r.error is None]
    if not ok:
        return list(evidence.parts)
    ran = {r.tool for r in ok}
    pending = []
    for part in evidence.parts:
        if not part.served_by([r.arguments for r in ok], tools):
            pending.append(part)
        elif not part.values(tools):
            support = _support(part, tools)
            best = max(support, key=support.__getitem__) if support else None
            if best is not None and support[best] > 0 and best not in ran:
                pending.append(part)
    return pending


# --- score: likelihood first, then arguments under the tool's schema ---------------------------


async def _decide_by_score(
    transcript: Transcript,
    tools: list[ToolSchema],
    settings: DecisionSettings,
    answer_schema: dict[str, Any] | None,
    require_tool: bool,
    evidence: Evidence | None,
) -> Decision:
    by_name = {t.name: t for t in tools}
    support = _support(evidence, tools) if evidence is not None else {}
    prior = {name: settings.evidence_weight * value for name, value in support.items()}
    if evidence is not None and settings.channel_weight > 0 and len(tools) > 1:
        channel = await _noisy_channel(transcript, evidence.text, tools)
        prior = {name: prior.get(name, 0.0) + settings.channel_weight * channel[name] for name in by_name}
    options = list(by_name)
    if not require_tool or not options:
        if options and evidence is not None and settings.abstain_below is not None:
            if evidence.asks_about_the_world() or _grounds(evidence, tools) < settings.abstain_below:
                options = [ANSWER]
        else:
            options += [ANSWER] + ([ASK] if settings.allow_ask else [])
    # each coordinated part of the request is a call: the first one serves the first part
    splitting = evidence is not None and settings.split_calls and settings.max_calls > 1 and len(evidence.parts) > 1
    if splitting and evidence is not None:
        first_part = _support(evidence.parts[0], tools)
        prior = {name: value + settings.evidence_weight * first_part[name] for name, value in prior.items()}
    action, confidence = await _choose(transcript, "Action:", options, settings.length_normalized, prior)
    if action == ANSWER:
        return Decision(action="answer", text=await _free_text(transcript, "Answer:", settings, answer_schema), confidence=confidence)
    if action == ASK:
        return Decision(action="ask", text=await _free_text(transcript, "Question:", settings, None), confidence=confidence)

    extract = evidence if settings.extract_arguments else None
    first = extract.parts[0] if extract is not None and splitting else extract  # the whole request is its fallback
    calls = [await _call(transcript, by_name[action], settings, first, confidence, context=extract)]
    if evidence is not None and settings.split_calls:
        await _split_calls(transcript, by_name, settings, evidence, extract, calls)
        ran = False
    else:
        ran = await _calls_until_run(transcript, by_name, settings, extract, prior, calls)
    if not ran:
        await transcript.append("\nAction: run")
    return Decision(action="call", calls=calls, confidence=min(c.confidence for c in calls))


async def _calls_until_run(
    transcript: Transcript,
    by_name: dict[str, ToolSchema],
    settings: DecisionSettings,
    extract: Evidence | None,
    prior: dict[str, float],
    calls: list[ToolCall],
) -> bool:
    """More calls while the model prefers another tool to `run`; True when it chose `run`."""
    while len(calls) < settings.max_calls:
        action, confidence = await _choose(transcript, "\nAction:", [*by_name, RUN], settings.length_normalized, prior)
        if action == RUN:
            return True
        calls.append(await _call(transcript, by_name[action], settings, extract, confidence, calls))
    return False


async def _noisy_channel(transcript: Transcript, request: str, tools: list[ToolSchema]) -> dict[str, float]:
    """Each tool's log-probability of the request given the tool ("noisy channel"), relative
    to the best tool's: the request is scored after the tool's name and description, so a
    terse description, or one in another language than the request, still tells the tools
    apart. Each tool's prompt is its own, and cached across requests."""
    totals = {}
    for tool in tools:
        prefix = f"Tool {tool.name}: {tool.description}\nA request a user sends to the tool {tool.name}:"
        result = await transcript.score_beside(prefix, [f" {request.strip()}"])
        totals[tool.name] = sum(result.scores[0].token_logprobs)
    best = max(totals.values())
    return {name: total - best for name, total in totals.items()}


def _support(evidence: Evidence, tools: list[ToolSchema]) -> dict[str, float]:
    """Each tool's evidence in the request, to rank the tools: BM25 over its words, plus half a
    point for each of its typed parameters (a date pattern, an e-mail format ...) the request
    has a value for."""
    lexical = rank_tools(evidence.text, tools)
    return {t.name: lexical.get(t.name, 0.0) + 0.5 * evidence.typed_matches(t) for t in tools}


def _grounds(evidence: Evidence, tools: list[ToolSchema]) -> float:
    """Whether the request is meant for any tool at all: the most terms it shares with one tool
    (not BM25, whose weights are relative to the tool set), plus that tool's typed matches."""
    shared = shared_terms(evidence.text, tools)
    return max(shared[t.name] + evidence.typed_matches(t) for t in tools)


async def _split_calls(
    transcript: Transcript,
    by_name: dict[str, ToolSchema],
    settings: DecisionSettings,
    evidence: Evidence,
    extract: Evidence | None,
    calls: list[ToolCall],
) -> None:
    """One more call for each coordinated part of the request whose values no call has taken yet."""
    tools = list(by_name.values())
    for part in evidence.parts[1:]:
        if len(calls) >= settings.max_calls:
            return
        if part.served_by([c.arguments or {} for c in calls], tools):
            continue  # an item of an earlier call's list, a detail of it ("for 14 days")
        support = _support(part, tools)
        best = max(support, key=support.__getitem__)
        last = calls[-1].tool_name or ""
        if support[best] > 0:
            # the part names its tool: the model chooses among the tools it names (after a call it
            # favours repeating it by more than any prior)
            named = [name for name in by_name if support[name] > 0]
            prior = {name: settings.evidence_weight * support[name] for name in named}
            action, confidence = await _choose(transcript, "\nAction:", named, settings.length_normalized, prior)
        else:  # "... and in Helsinki": the part continues the previous request
            action, confidence = await _choose(transcript, "\nAction:", [last], settings.length_normalized, {})
        calls.append(await _call(transcript, by_name[action], settings, part if extract is not None else None, confidence, calls, context=extract))


async def _call(
    transcript: Transcript,
    tool: ToolSchema,
    settings: DecisionSettings,
    evidence: Evidence | None,
    confidence: float,
    earlier: list[ToolCall] | None = None,
    *,
    context: Evidence | None = None,
) -> ToolCall:
    used: dict[str, set[Any]] = {}
    for call in earlier or []:
        if call.tool_name == tool.name:
            for key, value in (call.arguments or {}).items():
                if isinstance(value, str | int | float):
                    used.setdefault(key, set()).add(value)
    schema = _object_schema(tool.parameters)
    if evidence is not None:
        schema = narrow_arguments(schema, evidence, context=context, used=used, tool_words=terms(tool.name))
    arguments = await _arguments(transcript, tool, schema, settings)
    return ToolCall(tool_name=tool.name, arguments=arguments, confidence=confidence)


async def _choose(
    transcript: Transcript, label: str, options: list[str], length_normalized: bool, prior: dict[str, float]
) -> tuple[str, float]:
    """Score `label <option>` for each option (plus its prior, in log space), append the
    winner, return it with its probability."""
    await transcript.append(label)
    if len(options) == 1:
        choice, confidence = options[0], 1.0
    else:
        result = await transcript.score([f" {o}" for o in options])
        probabilities = result.probabilities(length_normalized=length_normalized, prior={f" {k}": v for k, v in prior.items()})
        best = max(probabilities, key=probabilities.__getitem__)
        choice, confidence = best[1:], probabilities[best]
    await transcript.append(f" {choice}")
    return choice, confidence


async def _arguments(transcript: Transcript, tool: ToolSchema, schema: dict[str, Any], settings: DecisionSettings) -> dict[str, Any]:
    await transcript.append("\nArguments: ")
    if not schema.get("properties") and schema.get("additionalProperties") is False:
        await transcript.append("{}")  # nothing to choose: a small model may pad an empty object with whitespace forever
        return {}
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
    value = _parse_json(completion, f"the arguments of {tool.name}")
    if not isinstance(value, dict):
        raise DecisionError(f"The arguments of {tool.name} are not a JSON object: {completion.text!r}")
    return value


async def _free_text(transcript: Transcript, label: str, settings: DecisionSettings, schema: dict[str, Any] | None) -> str:
    await transcript.append(f"\n{label} ")
    constraint = JsonSchemaConstraint(json_schema=schema) if schema else None
    completion = await transcript.generate(constraint=constraint, sampling=SamplingParams(max_tokens=settings.answer_tokens))
    if constraint is not None and completion.finish_reason == "length":
        raise DecisionError(f"The answer was cut off at {settings.answer_tokens} tokens before its JSON closed.")
    return completion.text.strip()


# --- schema: one constrained generation ---------------------------------------------------------


def decision_schema(tools: list[ToolSchema], *, allow_ask: bool, answer_schema: dict[str, Any] | None, require_tool: bool, max_calls: int) -> dict[str, Any]:
    """One JSON schema for the whole decision: calls of registered tools with their own
    argument schemas, or an answer, or a question."""

    call_variants = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": _object_schema(t.parameters)},
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


async def _decide_by_schema(
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
    value = _parse_json(completion, "the decision")
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


def _object_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    schema = dict(parameters) if parameters else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def _parse_json(completion: Completion, what: str) -> Any:
    if completion.finish_reason == "length":
        raise DecisionError(f"The model's {what} was cut off by max_tokens before the JSON closed: {completion.text[:200]!r}")
    try:
        return json.loads(completion.text)
    except ValueError as exc:
        raise DecisionError(f"The model's {what} is not valid JSON ({exc}): {completion.text[:200]!r}") from exc
