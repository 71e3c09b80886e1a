"""The score strategy: choose each `Action:` line by likelihood, with the request's own evidence
as a prior; answer directly when the request is meant for no tool; one call for each part of
the request that needs its own (the arguments: `decision.arguments`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from radixagent.decision.arguments import write_call
from radixagent.decision.channel import leaning, noisy_channel
from radixagent.decision.protocol import ANSWER, ASK, RUN, without_protocol
from radixagent.decision.settings import Decision, DecisionSettings
from radixagent.engine import JsonSchemaConstraint, SamplingParams
from radixagent.errors import CutOffError
from radixagent.evidence import Evidence, asked_text
from radixagent.evidence.parts import extent, named_tools, part_for, span
from radixagent.evidence.support import (
    STRONG_GROUNDS,
    beyond_the_tools,
    grounds,
    hands_over_a_passage,
    names_a_tool,
    support,
    unheld_inputs,
)
from radixagent.prompting import Mark, Transcript
from radixagent.schemas import ToolCall, ToolSchema


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
    points = support(evidence, tools) if evidence is not None else {}
    prior = {name: settings.evidence_weight * value for name, value in points.items()}
    margin: float | None = None
    if evidence is not None and settings.channel_weight > 0 and len(tools) > 1:
        channel, question = await noisy_channel(transcript, asked_text(evidence.text), tools)
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
            shared = grounds(evidence, tools)
            # a request sharing only a verb any request uses with a tool ("get" of `get_forecast`)
            # shares nothing with it
            lexical = grounds(evidence, tools, request_verbs=False) < settings.abstain_below
            # a question about the world in its form that names a tool asks it after all ("What is
            # the application version?" of `get_version`); one asking why does not: no tool returns a reason
            world = (evidence.asks_about_the_world() and (evidence.asks_why() or not names_a_tool(evidence, tools))) or beyond_the_tools(evidence, tools)
            # a request sharing two terms with one tool is meant for it, however likely it reads as a
            # question to an assistant ("Summarize this text: ..." for a tool described in Korean)
            asking = settings.question_margin is not None and shared < STRONG_GROUNDS
            if margin is None and not world and (asking or (lexical and settings.tool_margin is not None)):
                channel, question = await noisy_channel(transcript, asked_text(evidence.text), tools)
                margin = max(channel.values()) - question
            if world or (_abstains(lexical, margin, settings, shared) and not hands_over_a_passage(evidence, tools)):
                options = [ANSWER]
        else:
            options += [ANSWER] + ([ASK] if settings.allow_ask else [])
    # each coordinated part of the request is a call: the first one serves the first part
    splitting = evidence is not None and settings.split_calls and settings.max_calls > 1 and len(evidence.parts) > 1
    if evidence is not None and settings.split_calls and len(evidence.parts) > 1:
        # the parts are served in order: the first one first, even one call a step at a time
        first_part = support(evidence.parts[0], tools)
        prior = {name: value + settings.evidence_weight * first_part[name] for name, value in prior.items()}
    instead = None
    if not require_tool and context is None and evidence is not None and settings.abstain_below is not None:
        # a tool whose required input the request does not hold would be called with a value made
        # up ("I need a haircut" as the city): ask for it, or answer
        def instead(choice: str) -> str | None:
            return (ASK if settings.allow_ask else ANSWER) if choice in by_name and unheld_inputs(evidence, by_name[choice]) else None

    lean = await _lean(transcript, evidence, [o for o in options if o in by_name], settings) if evidence is not None else {}
    action, confidence = await _choose(transcript, "Action:", options, settings.length_normalized, prior, instead, lean)
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
    served = extent(by_name[action], evidence, tools, anchor) if evidence is not None and splitting else 0
    first = span(extract, anchor, served) if extract is not None and splitting else part_for(by_name[action], extract, tools) if extract is not None else None
    whole = context if context is not None and extract is not None else extract  # a later step's part: the request around it
    calls = [await write_call(transcript, by_name[action], settings, first, confidence, context=whole, part_first=not splitting, refused=failed.get(action))]
    if evidence is not None and settings.split_calls:
        cut_off = await _split_calls(transcript, by_name, settings, evidence, extract, calls, served + 1)
    else:
        cut_off = await _calls_until_run(transcript, by_name, settings, extract, prior, calls)
    return Decision(action="call", calls=calls, confidence=min(c.confidence for c in calls), cut_off=cut_off)


async def _calls_until_run(
    transcript: Transcript,
    by_name: dict[str, ToolSchema],
    settings: DecisionSettings,
    extract: Evidence | None,
    prior: dict[str, float],
    calls: list[ToolCall],
) -> bool:
    """More calls while the model prefers another tool to `run`, then `run`; True when a call
    ran out of room (`_taken_back`)."""
    cut_off = False
    while len(calls) < settings.max_calls and not cut_off:
        mark = transcript.mark()
        action, confidence = await _choose(transcript, "\nAction:", [*by_name, RUN], settings.length_normalized, prior)
        if action == RUN:
            return False
        cut_off = await _taken_back(transcript, mark, write_call(transcript, by_name[action], settings, extract, confidence, calls), calls)
    await transcript.append("\nAction: run")
    return cut_off


async def _taken_back(transcript: Transcript, mark: Mark, call: Awaitable[ToolCall], calls: list[ToolCall]) -> bool:
    """Add `call` to `calls`; or, when it runs out of `argument_tokens` before its JSON closes,
    take it off the transcript (back to `mark`, before its `Action:` line) and say so: the
    calls written whole stand, and the part it served is left for a later step."""
    try:
        calls.append(await call)
    except CutOffError:
        transcript.rewind(mark)
        return True
    return False


QUESTION_MARKS = ("?", "？", "؟")
"""What a question back to the user ends with, in the scripts that mark one."""


def _abstains(lexical: bool, margin: float | None, settings: DecisionSettings, shared: float = 0.0) -> bool:
    """Whether to answer a request that is no question about the world directly
    (`tool_choice=auto`): it shares nothing with any tool (`lexical`) unless the likeliest tool explains it far better than a question to an
    assistant does; or a question to an assistant explains it better than any tool (`margin`:
    the best tool's log-probability of the request minus the question's), unless it shares
    `STRONG_GROUNDS` terms with one tool (`shared`)."""
    if margin is None:
        return lexical
    if settings.question_margin is not None and shared < STRONG_GROUNDS and margin < -settings.question_margin:
        return True
    return lexical and (settings.tool_margin is None or margin < settings.tool_margin)


async def _split_calls(
    transcript: Transcript,
    by_name: dict[str, ToolSchema],
    settings: DecisionSettings,
    evidence: Evidence,
    extract: Evidence | None,
    calls: list[ToolCall],
    start: int,
) -> bool:
    """One more call for each coordinated part of the request, from part `start` on, whose
    values no call has taken yet; each takes the parts after it that continue it. Then `run`;
    True when a call ran out of room (`_taken_back`)."""
    tools = list(by_name.values())
    index = start
    cut_off = False
    while index < len(evidence.parts) and len(calls) < settings.max_calls and not cut_off:
        part = evidence.parts[index]
        index += 1
        if part.served_by([c.arguments or {} for c in calls], tools):
            continue  # an item of an earlier call's list, a detail of it ("for 14 days")
        mark = transcript.mark()
        points = support(part, tools)
        best = max(points, key=points.__getitem__)
        last = calls[-1].tool_name or ""
        if points[best] > 0:
            # the part names its tool: the model chooses among the tools it names (after a call it
            # favours repeating it by more than any prior)
            named = [name for name in by_name if points[name] > 0]
            prior = {name: settings.evidence_weight * points[name] for name in named}
            action, confidence = await _choose(transcript, "\nAction:", named, settings.length_normalized, prior)
        else:  # "... and in Helsinki": the part continues the previous request
            action, confidence = await _choose(transcript, "\nAction:", [last], settings.length_normalized, {})
        end = extent(by_name[action], evidence, tools, index - 1)
        taken = span(evidence, index - 1, end) if extract is not None else None
        index = end + 1
        cut_off = await _taken_back(transcript, mark, write_call(transcript, by_name[action], settings, taken, confidence, calls, context=extract), calls)
    await transcript.append("\nAction: run")
    return cut_off


async def _lean(transcript: Transcript, evidence: Evidence, tools: list[str], settings: DecisionSettings) -> dict[str, float]:
    """What to add to each tool's score so that the model's lean toward it whatever is asked
    (`leaning`) does not decide: the lean below the most favoured tool's, weighted."""
    if settings.calibration_weight <= 0 or len(tools) < 2:
        return {}
    lean = await leaning(transcript, evidence.text, "Action:", tools)
    if not lean:
        return {}
    top = max(lean.values())
    return {name: settings.calibration_weight * (top - value) for name, value in lean.items()}


async def _choose(
    transcript: Transcript,
    label: str,
    options: list[str],
    length_normalized: bool,
    prior: dict[str, float],
    instead: Callable[[str], str | None] | None = None,
    lean: Mapping[str, float] | None = None,
) -> tuple[str, float]:
    """Score `label <option>` for each option (plus its prior and `lean`, in log space),
    append the winner (or what `instead` puts in its place), return it with its probability."""
    await transcript.append(label)
    ranked: list[tuple[str, float]] = [(options[0], 1.0)]
    if len(options) > 1:
        result = await transcript.score([f" {o}" for o in options])
        bonus = {f" {k}": prior.get(k, 0.0) + (lean or {}).get(k, 0.0) for k in options}
        probabilities = result.probabilities(length_normalized=length_normalized, prior=bonus)
        ranked = sorted(((o[1:], p) for o, p in probabilities.items()), key=lambda item: -item[1])
    choice, confidence = ranked[0]
    if instead is not None and (other := instead(choice)) is not None:
        # the likeliest tool lacks an input the request does not hold: the next likeliest that
        # holds all of its own and has evidence for it ("Convert 3 tablespoons to teaspoons" with
        # a recipe tool the model likes better; "the exchange rate from pounds to yen", where
        # the model likes converting an amount the request does not give), else `other`
        held = next((o for o, _ in ranked[1:] if prior.get(o, 0.0) > 0 and instead(o) is None), None)
        choice, confidence = (held, dict(ranked)[held]) if held is not None else (other, confidence)
    await transcript.append(f" {choice}")
    return choice, confidence


async def _free_text(transcript: Transcript, label: str, settings: DecisionSettings, schema: dict[str, Any] | None) -> str:
    await transcript.append(f"\n{label} ")
    constraint = JsonSchemaConstraint(json_schema=schema) if schema else None
    completion = await transcript.generate(constraint=constraint, sampling=SamplingParams(max_tokens=settings.answer_tokens))
    if constraint is not None and completion.finish_reason == "length":
        raise CutOffError(f"The answer was cut off at {settings.answer_tokens} tokens before its JSON closed.")
    # an answer or a question in words does not repeat the protocol the system prompt teaches
    return completion.text.strip() if constraint is not None else without_protocol(completion.text)
