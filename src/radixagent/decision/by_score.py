"""The score strategy: choose each `Action:` line by likelihood (with the request's own
evidence as a prior), then write each call's arguments under its tool's narrowed schema."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from radixagent.decision.binding import bind
from radixagent.decision.protocol import ANSWER, ASK, RUN, object_schema, parse_json
from radixagent.decision.settings import Decision, DecisionSettings
from radixagent.engine import JsonSchemaConstraint, SamplingParams
from radixagent.engine.constraints import fit_schema
from radixagent.engine.schema_guard import safe_validator
from radixagent.errors import DecisionError
from radixagent.evidence import (
    Evidence,
    narrow_arguments,
    offered_codes,
    rank_tools,
    shared_terms,
    speaks_of,
    terms,
    untelling_terms,
    value_kind,
)
from radixagent.evidence.values import GENERIC_NAME_WORDS, example_shape, leaves
from radixagent.evidence.words import stem
from radixagent.prompting import Transcript
from radixagent.schemas import ToolCall, ToolCallRecord, ToolSchema


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



def follow_up(evidence: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord]) -> tuple[ToolSchema, Evidence] | None:
    """A tool the request points to that has not run, whose every required parameter the last
    result offers a value for: a date for a date, the value after the parameter's own name
    ("tracking number DHL-7731" for `tracking_number`). The result is its input: "When will
    order A-1042 arrive?" looks the order up, then tracks the package the order names."""
    results = [r for r in done if r.error is None and r.result]
    if not results:
        return None
    ran = {r.tool for r in done}
    observed = Evidence.of(results[-1].result or "")
    known = " ".join([evidence.text, *(json.dumps(r.arguments, ensure_ascii=False) for r in done)]).casefold()
    support = rank_tools(evidence.text, tools)  # the request's words point to it (its values went to the first call)
    for tool in sorted(tools, key=lambda t: -support[t.name]):
        if tool.name not in ran and support[tool.name] > 0 and _offers(observed, tool, known):
            return tool, observed
    return None


def _offers(found: Evidence, tool: ToolSchema, known: str) -> bool:
    """Whether `found` holds a new value (one `known` does not) for every required parameter."""
    properties = tool.parameters.get("properties") or {}
    required = [n for n in tool.parameters.get("required") or [] if isinstance(properties.get(n), dict)]
    if not required:
        return False
    for name in required:
        node = properties[name]
        kind = value_kind(name, node)
        values = found.strings_for(node, kind) if kind in ("date", "time", "email") else found.after_name(name) if node.get("type") == "string" else []
        if not [v for v in values if v.casefold() not in known]:
            return False
    return True


def later_part(part: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord]) -> Evidence:
    """A part of the request left for a later step, as evidence. One that quotes nothing and
    names no value of its own ("summarise what you find"), or points back by a pronoun ("tell
    me its sentiment"), refers to the last result: the input its call takes."""
    found = Evidence.of(part.text)
    found.opens = part.opens
    results = [r for r in done if r.error is None and r.result]
    if not results or part.quoted:
        return found
    words = [t.casefold() for t in part.tokens]
    named = {words[i + 1] for i in range(len(words) - 1) if words[i] == "the"}  # "translate the summary"
    if not part.values(tools) or set(words) & _BACK_REFERENCES or {stem(w) for w in named} & set(terms(results[-1].tool)):
        text = " ".join((results[-1].result or "").split())
        # room for it in the arguments' budget, cut at a word
        found.referent = text if len(text) <= REFERENT_CHARS else text[:REFERENT_CHARS].rsplit(" ", 1)[0]
    return found


_BACK_REFERENCES = frozenset({"it", "its", "them", "their", "they", "this", "that", "these", "those"})
REFERENT_CHARS = 300
"""The most of an earlier result a later call takes as its input (a few sentences, about 100 tokens)."""


def named_tools(evidence: Evidence, tools: list[ToolSchema]) -> list[ToolSchema]:
    """The tools a part of the request has evidence for; those its first word (the verb of an
    instruction) names, when it names any: "translate the summary" names the summary's tool
    too, but asks for a translation."""
    support = _support(evidence, tools)
    named = [t for t in tools if support[t.name] > 0]
    verb = rank_tools(evidence.tokens[0], named) if evidence.tokens and len(named) > 1 else {}
    named = [t for t in named if verb.get(t.name, 0.0) > 0] or named
    # one far ahead of the rest is the one: after a call the model favours repeating it by more
    # than any prior ("when am I free for 30 minutes that day?" after listing that day's events)
    best = max((support[t.name] for t in named), default=0.0)
    return [t for t in named if support[t.name] > best - CLEAR_LEAD]


CLEAR_LEAD = 1.0
"""How far (in evidence points, each worth `evidence_weight` nats) a later part's best tool must
lead the others to be offered alone."""


def continued(evidence: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord]) -> ToolSchema | None:
    """The tool of the last successful call, when the request's parts left name no tool of
    their own: "Compare the weather in Berlin and Seoul" asks for Seoul's weather too."""
    results = [r for r in done if r.error is None]
    if not results or any(value > 0 for value in _support(evidence, tools).values()):
        return None
    return next((t for t in tools if t.name == results[-1].tool), None)


async def decide_by_score(
    transcript: Transcript,
    tools: list[ToolSchema],
    settings: DecisionSettings,
    answer_schema: dict[str, Any] | None,
    require_tool: bool,
    evidence: Evidence | None,
    failed: Mapping[str, str] | None = None,
    context: Evidence | None = None,
) -> Decision:
    by_name = {t.name: t for t in tools}
    support = _support(evidence, tools) if evidence is not None else {}
    prior = {name: settings.evidence_weight * value for name, value in support.items()}
    margin: float | None = None
    if evidence is not None and settings.channel_weight > 0 and len(tools) > 1:
        channel, question = await _noisy_channel(transcript, evidence.text, tools)
        best = max(channel.values())
        margin = best - question
        prior = {name: prior.get(name, 0.0) + settings.channel_weight * (channel[name] - best) for name in by_name}
    options = list(by_name)
    if evidence is not None and settings.split_calls and settings.max_calls == 1 and len(evidence.parts) > 1:
        # one call a step, the parts in order: the first step chooses among the tools the first part names
        opening = {t.name for t in named_tools(evidence.parts[0], tools)}
        options = [name for name in options if name in opening] or options
    if not require_tool or not options:
        if options and evidence is not None and settings.abstain_below is not None:
            grounds = _grounds(evidence, tools)
            lexical = grounds < settings.abstain_below
            world = evidence.asks_about_the_world()
            # a request sharing two terms with one tool is meant for it, however likely it reads as a
            # question to an assistant ("Summarize this text: ..." for a tool described in Korean)
            asking = settings.question_margin is not None and grounds < STRONG_GROUNDS
            if margin is None and not world and (asking or (lexical and settings.tool_margin is not None)):
                channel, question = await _noisy_channel(transcript, evidence.text, tools)
                margin = max(channel.values()) - question
            if world or _abstains(lexical, margin, settings, grounds):
                options = [ANSWER]
        else:
            options += [ANSWER] + ([ASK] if settings.allow_ask else [])
    # each coordinated part of the request is a call: the first one serves the first part
    splitting = evidence is not None and settings.split_calls and settings.max_calls > 1 and len(evidence.parts) > 1
    if evidence is not None and settings.split_calls and len(evidence.parts) > 1:
        # the parts are served in order: the first one first, even one call a step at a time
        first_part = _support(evidence.parts[0], tools)
        prior = {name: value + settings.evidence_weight * first_part[name] for name, value in prior.items()}
    action, confidence = await _choose(transcript, "Action:", options, settings.length_normalized, prior)
    if action == ANSWER:
        return Decision(action="answer", text=await _free_text(transcript, "Answer:", settings, answer_schema), confidence=confidence)
    if action == ASK:
        asked = await _free_text(transcript, "Question:", settings, None)
        if answer_schema is None and not any(mark in asked for mark in QUESTION_MARKS):
            # no question back: a small model often writes its answer after "Question:"
            return Decision(action="answer", text=asked, confidence=confidence)
        return Decision(action="ask", text=asked, confidence=confidence)

    # a call of this tool failed on the request's values: its error message (in the transcript)
    # says what it takes instead, so the model writes the arguments under the tool's own schema,
    # its codes those the message lists
    failed = failed or {}
    extract = evidence if settings.extract_arguments else None
    # a call takes its values from the part of the request it serves; the whole is its fallback
    # the first call serves the first part that holds a value ("Hey, I'm bored and ... find me a
    # film by X" is one call), with the parts that continue it
    anchor = next((i for i, part in enumerate(evidence.parts) if part.values(tools)), 0) if evidence is not None and splitting else 0
    served = _extent(by_name[action], evidence, tools, anchor) if evidence is not None and splitting else 0
    first = _span(extract, anchor, served) if extract is not None and splitting else _part_for(by_name[action], extract, tools) if extract is not None else None
    whole = context if context is not None and extract is not None else extract  # a later step's part: the request around it
    calls = [await _call(transcript, by_name[action], settings, first, confidence, context=whole, part_first=not splitting, refused=failed.get(action))]
    if evidence is not None and settings.split_calls:
        await _split_calls(transcript, by_name, settings, evidence, extract, calls, served + 1)
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


STRONG_GROUNDS = 2
"""Terms (and typed values) a request shares with one tool past which the noisy channel no
longer turns it away as a question to an assistant."""
QUESTION_PROMPT = "A question a user asks a chat assistant:"
QUESTION_MARKS = ("?", "？", "؟")
"""What a question back to the user ends with, in the scripts that mark one."""


async def _noisy_channel(transcript: Transcript, request: str, tools: list[ToolSchema]) -> tuple[dict[str, float], float]:
    """Each tool's log-probability of the request given the tool ("noisy channel"), and the
    request's log-probability as a question to a chat assistant. The request is scored after
    each tool's name and description, so a terse description, or one in another language than
    the request, still tells the tools apart. Each prompt is its own, and cached across requests."""
    totals = {}
    for tool in tools:
        prefix = f"Tool {tool.name}: {tool.description}\nA request a user sends to the tool {tool.name}:"
        result = await transcript.score_beside(prefix, [f" {request.strip()}"])
        totals[tool.name] = sum(result.scores[0].token_logprobs)
    question = await transcript.score_beside(QUESTION_PROMPT, [f" {request.strip()}"])
    return totals, sum(question.scores[0].token_logprobs)


def _abstains(lexical: bool, margin: float | None, settings: DecisionSettings, grounds: float = 0.0) -> bool:
    """Whether to answer a request that is no question about the world directly
    (`tool_choice=auto`): it shares nothing with any tool (`lexical`) unless the likeliest tool explains it far better than a question to an
    assistant does; or a question to an assistant explains it better than any tool (`margin`:
    the best tool's log-probability of the request minus the question's), unless it shares
    `STRONG_GROUNDS` terms with one tool (`grounds`)."""
    if margin is None:
        return lexical
    if settings.question_margin is not None and grounds < STRONG_GROUNDS and margin < -settings.question_margin:
        return True
    return lexical and (settings.tool_margin is None or margin < settings.tool_margin)


def _part_for(tool: ToolSchema, evidence: Evidence, tools: list[ToolSchema]) -> Evidence:
    """The coordinated part of the request with the most evidence for `tool` ("Search the
    documents for X" of "Search the documents for X and summarise what you find"), with the
    parts after it that continue the same call, or the whole request when no part has any."""
    if len(evidence.parts) < 2:
        return evidence
    support = [_support(part, tools)[tool.name] for part in evidence.parts]
    best = max(range(len(support)), key=support.__getitem__)
    if support[best] <= 0:
        return evidence
    return _span(evidence, best, _extent(tool, evidence, tools, best))


def _extent(tool: ToolSchema, evidence: Evidence, tools: list[ToolSchema], first: int) -> int:
    """The last part of the request that the call of `tool` serving part `first` takes its
    values from. A part after it that names no other tool continues the call while the call
    has required parameters left for its values ("Add 2 and 40"), or when it speaks of a
    parameter the call's text has not ("starring Lawrence Bender and directed by Quentin
    Tarantino") or gives a date, time or number no value of the call's text has ("..., assuming
    today is April 4th"); a part that only repeats what the call has ("weather in Paris and
    London") is a call of its own."""
    parts = evidence.parts
    properties = tool.parameters.get("properties") or {}
    room = sum(1 for node in _required(tool) if node.get("type") not in ("boolean", "object") and "enum" not in node)
    untelling = set(terms(tool.name)) | untelling_terms(properties)
    others = [t for t in tools if t is not tool]
    end = first
    while end + 1 < len(parts):
        span, following = _span(evidence, first, end), parts[end + 1]
        kinds = {kind for n, node in properties.items() if isinstance(node, dict) and (kind := value_kind(n, node)) in _TYPED}
        fills = any(following.count(kind) and not span.count(kind) for kind in kinds)
        support = _support(following, tools)
        if max(support.values(), default=0.0) > max(0.0, support[tool.name]):
            # another tool's words or typed values: a part that only fills the call's empty
            # typed parameters still continues it, unless it names the other tool in two words
            if not fills or max(shared_terms(following.text, others).values(), default=0) >= STRONG_GROUNDS:
                break
        new = [n for n, node in properties.items() if isinstance(node, dict) and speaks_of(n, node, following, untelling) and not speaks_of(n, node, span, untelling)]
        if len(span.values([tool])) >= room and not new and not fills:
            break
        end += 1
    return end


_TYPED = ("date", "time", "email", "number")


def _span(evidence: Evidence, first: int, last: int) -> Evidence:
    """The request's text from its part `first` through its part `last`, as evidence."""
    if first == last:
        return evidence.parts[first]
    text, start = evidence.text, 0
    bounds = []
    for part in evidence.parts[: last + 1]:
        at = text.find(part.text.strip(), start)
        bounds.append((at, at + len(part.text.strip())))
        start = bounds[-1][1]
    return Evidence.of(text[bounds[first][0] : bounds[last][1]])


def _required(tool: ToolSchema) -> list[dict[str, Any]]:
    properties = tool.parameters.get("properties") or {}
    return [node for name in tool.parameters.get("required") or [] if isinstance(node := properties.get(name), dict)]


def _support(evidence: Evidence, tools: list[ToolSchema]) -> dict[str, float]:
    """Each tool's evidence in the request, to rank the tools: BM25 over its words, plus half a
    point for each of its typed parameters (a date pattern, an e-mail format ...) the request
    has a value for. Remembered for the same evidence and tool objects: a step asks it of the
    request and of each part several times, and every step of a run asks again."""
    key = (id(evidence), evidence.opens, evidence.referent, *map(id, tools))
    known = _SUPPORTED.get(key)
    if known is None:
        # the entry holds the objects themselves, so their ids are not reused while it lives
        known = _SUPPORTED[key] = (evidence, tuple(tools), _supported(evidence, tools))
        if len(_SUPPORTED) > _SUPPORTED_MAX:
            del _SUPPORTED[next(iter(_SUPPORTED))]
    return dict(known[2])


_SUPPORTED: dict[tuple[object, ...], tuple[Evidence, tuple[ToolSchema, ...], dict[str, float]]] = {}
_SUPPORTED_MAX = 256


def _supported(evidence: Evidence, tools: list[ToolSchema]) -> dict[str, float]:
    lexical = rank_tools(evidence.text, tools)
    codes = _codes(tools)
    support = {t.name: lexical.get(t.name, 0.0) + 0.5 * (evidence.typed_matches(t, codes) + _kinds_found(evidence, t)) for t in tools}
    # a tool the words point to that lacks an input the request does not hold ("When will order
    # A-1042 arrive?" names no tracking number): the tools that say they give it come first
    for tool in tools:
        if lexical.get(tool.name, 0.0) <= 0:
            continue
        for name in _missing(evidence, tool):
            wanted = {w for w in terms(name.replace("_", " ")) if w not in GENERIC_NAME_WORDS}
            for other in tools:
                if other is not tool and wanted and wanted <= set(terms(other.description)):
                    support[other.name] += lexical[tool.name]
    return support


def _kinds_found(evidence: Evidence, tool: ToolSchema) -> int:
    """The tool's parameters that hold a date, a time or an address by their name or
    description only (no format or pattern: `typed_matches` counts those) and find one here."""
    count = 0
    for name, node in (tool.parameters.get("properties") or {}).items():
        if isinstance(node, dict) and not (node.get("pattern") or node.get("format")):
            kind = value_kind(name, node)
            if kind in ("date", "time", "email") and evidence.strings_for(node, kind):
                count += 1
    return count


def _missing(evidence: Evidence, tool: ToolSchema) -> list[str]:
    """The required parameters of `tool` with a shape (a date, an id like its example) or a
    number that the request has no value for."""
    properties = tool.parameters.get("properties") or {}
    out = []
    for name in tool.parameters.get("required") or []:
        node = properties.get(name)
        if not isinstance(node, dict) or "enum" in node:
            continue
        if node.get("type") in ("integer", "number"):
            if not evidence.numbers_for(node):
                out.append(name)
            continue
        kind = value_kind(name, node)
        if (kind or node.get("pattern") or example_shape(node)) and not evidence.strings_for(node, kind) and not evidence.after_name(name):
            out.append(name)
    return out


def _grounds(evidence: Evidence, tools: list[ToolSchema]) -> float:
    """Whether the request is meant for any tool at all: the most terms it shares with one tool
    (not BM25, whose weights are relative to the tool set), plus that tool's typed matches."""
    shared = shared_terms(evidence.text, tools)
    codes = _codes(tools)
    return max(shared[t.name] + max(0, evidence.typed_matches(t, codes)) for t in tools)


def _codes(tools: list[ToolSchema]) -> list[str]:
    """Every tool's short enum values: codes a request may write in full, each naming one tool."""
    return [v for t in tools for node in leaves(t.parameters) for v in node.get("enum", []) if isinstance(v, str) and len(v) <= 4]


async def _split_calls(
    transcript: Transcript,
    by_name: dict[str, ToolSchema],
    settings: DecisionSettings,
    evidence: Evidence,
    extract: Evidence | None,
    calls: list[ToolCall],
    start: int,
) -> None:
    """One more call for each coordinated part of the request, from part `start` on, whose
    values no call has taken yet; each takes the parts after it that continue it."""
    tools = list(by_name.values())
    index = start
    while index < len(evidence.parts) and len(calls) < settings.max_calls:
        part = evidence.parts[index]
        index += 1
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
        end = _extent(by_name[action], evidence, tools, index - 1)
        taken = _span(evidence, index - 1, end) if extract is not None else None
        index = end + 1
        calls.append(await _call(transcript, by_name[action], settings, taken, confidence, calls, context=extract))


async def _call(
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
        schema = narrowed if refused is None else reopened(narrowed, schema, refused)
    arguments = await _arguments(transcript, tool, schema, settings, evidence)
    return ToolCall(tool_name=tool.name, arguments=arguments, confidence=confidence)


def reopened(narrowed: dict[str, Any], schema: dict[str, Any], message: str) -> dict[str, Any]:
    """`narrowed` with each parameter whose values include one the failed call's error quotes
    given back its own schema (`schema`'s), or, for a code, the codes the error lists."""
    refused = set(Evidence.of(message).quoted)
    offered = offered_codes(schema, message)["properties"]
    properties = dict(narrowed.get("properties") or {})
    for name, node in properties.items():
        values = node.get("enum") if isinstance(node, dict) else None
        if values is None or refused & {str(v) for v in values}:
            properties[name] = offered.get(name, node)
    return {**narrowed, "properties": properties}


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


async def _arguments(
    transcript: Transcript, tool: ToolSchema, schema: dict[str, Any], settings: DecisionSettings, evidence: Evidence | None
) -> dict[str, Any]:
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
            return await bind(transcript, start, arguments, schema, evidence, tool.parameters) if settings.bind_arguments else arguments
        if room != settings.argument_tokens // 2:
            transcript.rewind(start)
    value = parse_json(completion, f"the arguments of {tool.name}")
    if not isinstance(value, dict):
        raise DecisionError(f"The arguments of {tool.name} are not a JSON object: {completion.text!r}")
    return await bind(transcript, start, value, schema, evidence, tool.parameters) if settings.bind_arguments else value


async def _free_text(transcript: Transcript, label: str, settings: DecisionSettings, schema: dict[str, Any] | None) -> str:
    await transcript.append(f"\n{label} ")
    constraint = JsonSchemaConstraint(json_schema=schema) if schema else None
    completion = await transcript.generate(constraint=constraint, sampling=SamplingParams(max_tokens=settings.answer_tokens))
    if constraint is not None and completion.finish_reason == "length":
        raise DecisionError(f"The answer was cut off at {settings.answer_tokens} tokens before its JSON closed.")
    return completion.text.strip()


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
