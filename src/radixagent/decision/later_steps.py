"""The steps after a tool has run: which parts of the request are still unserved, which tool
serves the next one (the one its words name, the same tool again for "... and Seoul", or a tool
the last result holds the input of), and when the observations answer the request."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from radixagent.decision.by_score import decide_by_score
from radixagent.decision.channel import noisy_channel
from radixagent.decision.settings import Decision, DecisionSettings
from radixagent.evidence import Evidence, rank_tools, terms, value_kind
from radixagent.evidence.parts import named_tools
from radixagent.evidence.support import support
from radixagent.evidence.words import stem
from radixagent.prompting import Transcript
from radixagent.schemas import ToolCallRecord, ToolSchema


async def decide_later_step(
    transcript: Transcript,
    tools: list[ToolSchema],
    settings: DecisionSettings,
    answer_schema: dict[str, Any] | None,
    require_tool: bool,
    evidence: Evidence,
    done: Sequence[ToolCallRecord],
) -> Decision:
    """One decision after the calls in `done`: an answer once they served every part of the
    request, else a call serving the first part left, its tools narrowed to those the part names."""
    failed: dict[str, str] = {}
    for record in done:
        if record.error is not None:  # every error of a tool: each value any of them refused is written again
            failed[record.tool] = f"{failed[record.tool]}\n{record.error}" if record.tool in failed else record.error
    pending = unserved_parts(evidence, tools, done)
    if not pending:
        # the observations hold what was asked, unless the last one is the input of a tool
        # the request points to (an order's tracking number, to track the package)
        chained = follow_up(evidence, tools, done)
        if chained is not None:
            return await decide_by_score(transcript, [chained[0]], settings, answer_schema, True, chained[1], failed)
        told = await _told_by_the_model(transcript, evidence, tools, done, settings)
        if told is not None:
            return await decide_by_score(transcript, [told[0]], settings, answer_schema, True, told[1], failed, evidence)
        return await decide_by_score(transcript, [], settings.model_copy(update={"allow_ask": False}), answer_schema, False, None)
    whole, part = evidence, later_part(pending[0], tools, done)  # the parts left, in order
    tool = continued(part, tools, done)
    if tool is not None:  # "... and Seoul": the same tool again
        return await decide_by_score(transcript, [tool], settings, answer_schema, True, part, failed, whole)
    named = fed_by_the_result(part, named_tools(part, tools), whole, done)
    if named:  # the part names its tools: one of them serves it (left alone, the model repeats its last call)
        return await decide_by_score(transcript, named, settings, answer_schema, True, part, failed, whole)
    return await decide_by_score(transcript, tools, settings, answer_schema, require_tool, part, failed, whole)


def unserved_parts(evidence: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord]) -> list[Evidence]:
    """The parts of a request that the successful calls in `done` have not served. A part is
    served when the calls hold every value it names, or when a call was made for it: a call
    that holds no value of the parts left serves the first of them, as it was decided to
    ("... and to British pounds" by the call that wrote GBP, "250 Swiss francs" by one that
    wrote CHF), unless that part names other tools. A part that names no value ("then
    summarise them") is served when the tool its words point to has run (or none does)."""
    ok = [r for r in done if r.error is None]
    if not ok:
        return list(evidence.parts)
    parts = evidence.parts
    held: list[dict[str, Any]] = []
    made_for: set[int] = set()
    for record in ok:
        left = [i for i, part in enumerate(parts) if i not in made_for and not part.served_by(held, tools)]
        held.append(record.arguments)
        if left and not any(parts[i].served_by(held, tools) for i in left):
            named = {t.name for t in named_tools(parts[left[0]], tools)}
            if not named or record.tool in named:
                made_for.add(left[0])
    ran = {r.tool for r in ok}
    pending = []
    for i, part in enumerate(parts):
        if i not in made_for and not part.served_by(held, tools):
            pending.append(part)
        elif not part.values(tools):
            points = support(part, tools)
            best = max(points, key=points.__getitem__) if points else None
            if best is not None and points[best] > 0 and best not in ran:
                pending.append(part)
    return pending


async def _told_by_the_model(
    transcript: Transcript, evidence: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord], settings: DecisionSettings
) -> tuple[ToolSchema, Evidence] | None:
    """A tool for a later part of the request that names no value and no tool's words ("...
    and tell me whether its tone is positive or negative" for a tool described in Korean): the
    tool the model finds the part far likelier for than for any other tool (by
    `settings.channel_lead`), and likelier than as a question to an assistant, unless it has
    run already. The part takes the last result as its input."""
    if settings.channel_lead is None or len(tools) < 2:
        return None
    ran = {r.tool for r in done if r.error is None}
    for part in evidence.parts[1:]:
        if part.values(tools) or max(support(part, tools).values()) > 0:
            continue
        channel, question = await noisy_channel(transcript, part.text, tools)
        best, second = sorted(channel, key=channel.__getitem__, reverse=True)[:2]
        if best not in ran and channel[best] > question and channel[best] - channel[second] >= settings.channel_lead:
            return next(t for t in tools if t.name == best), later_part(part, tools, done)
    return None


def fed_by_the_result(part: Evidence, named: list[ToolSchema], evidence: Evidence, done: Sequence[ToolCallRecord]) -> list[ToolSchema]:
    """Of the tools a part that points back to the last result names, those the result offers a
    new value for every required parameter of ("... and what else is on my calendar that day?"
    after an event's lookup: the events of its date, not another lookup), when there are such."""
    if part.referent is None or len(named) < 2:
        return named
    known = _known(evidence, done)
    found = Evidence.of(part.referent)
    return [t for t in named if _offers(found, t, known)] or named


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
    known = _known(evidence, done)
    lexical = rank_tools(evidence.text, tools)  # the request's words point to it (its values went to the first call)
    for tool in sorted(tools, key=lambda t: -lexical[t.name]):
        if tool.name not in ran and lexical[tool.name] > 0 and _offers(observed, tool, known):
            return tool, observed
    return None


def _known(evidence: Evidence, done: Sequence[ToolCallRecord]) -> str:
    """The request and the arguments of the calls made for it: a value in them is no new one."""
    return " ".join([evidence.text, *(json.dumps(r.arguments, ensure_ascii=False) for r in done)]).casefold()


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


def continued(evidence: Evidence, tools: list[ToolSchema], done: Sequence[ToolCallRecord]) -> ToolSchema | None:
    """The tool of the last successful call, when the request's parts left name no tool of
    their own: "Compare the weather in Berlin and Seoul" asks for Seoul's weather too."""
    results = [r for r in done if r.error is None]
    if not results or any(value > 0 for value in support(evidence, tools).values()):
        return None
    return next((t for t in tools if t.name == results[-1].tool), None)
