"""Which parts of a request one call serves: "Add 2 and 40" is one call over two parts,
"the weather in Paris and London" two calls of one part each."""

from __future__ import annotations

from collections import Counter
from typing import Any

from radixagent.evidence.narrowing import (
    code_shape,
    names_for,
    speaks_of,
    takes_an_identifier,
    untelling_terms,
    value_kind,
)
from radixagent.evidence.support import STRONG_GROUNDS, support
from radixagent.evidence.values import Evidence, named_leaves
from radixagent.evidence.words import rank_tools, shared_terms, terms
from radixagent.schemas import ToolSchema


def part_for(tool: ToolSchema, evidence: Evidence, tools: list[ToolSchema]) -> Evidence:
    """The coordinated part of the request a call of `tool` serves, with the parts after it
    that continue the call: the first part holding a value, unless another tool has more
    evidence in it ("When is my call with Mia, and what else is on my calendar that day?" looks
    up Mia's call, not "day": the parts are served in order); else the part with the most
    evidence for `tool` ("Search the documents for X" of "Search the documents for X and
    summarise what you find"); else the whole request."""
    if len(evidence.parts) < 2:
        return evidence
    anchor = next((i for i, part in enumerate(evidence.parts) if part.values(tools)), None)
    if anchor is not None:
        held = support(evidence.parts[anchor], tools)
        if held[tool.name] >= max(held.values()):
            return span(evidence, anchor, extent(tool, evidence, tools, anchor))
    points = [support(part, tools)[tool.name] for part in evidence.parts]
    best = max(range(len(points)), key=points.__getitem__)
    if points[best] <= 0:
        return evidence
    return span(evidence, best, extent(tool, evidence, tools, best))


def extent(tool: ToolSchema, evidence: Evidence, tools: list[ToolSchema], first: int) -> int:
    """The last part of the request that the call of `tool` serving part `first` takes its
    values from. A part after it that names no other tool continues the call while the call
    has required parameters left for its values ("Add 2 and 40"), or when it speaks of a
    parameter the call's text has not ("starring Lawrence Bender and directed by Quentin
    Tarantino", "directed by David Leitch and acted by Lori Tuisano") or gives a date, time or number no value of the call's text has ("..., assuming
    today is April 4th"); a part that only repeats what the call has ("weather in Paris and
    London") is a call of its own."""
    parts = evidence.parts
    properties = tool.parameters.get("properties") or {}
    room = _room(tool.parameters)
    untelling = set(terms(tool.name)) | untelling_terms(properties)
    others = [t for t in tools if t is not tool]
    items = _item_fields(properties)
    held = _held_once(tool)
    # the typed values the call takes, inside its objects too; and an id, where a required one
    # takes it ("...; raise it for staff E-1007" gives the ticket its reporter)
    kinds = {kind for n, node in named_leaves(tool.parameters) if (kind := value_kind(n, node)) in _TYPED}
    kinds |= {"id" for n, node in named_leaves(tool.parameters, required_only=True) if takes_an_identifier(n, node)}
    end = first
    while end + 1 < len(parts):
        served, following = span(evidence, first, end), parts[end + 1]
        fills = any(following.count(kind) and not served.count(kind) for kind in kinds)
        points = support(following, tools)
        if max(points.values(), default=0.0) <= 0 and not following.values(tools):
            end += 1  # "black and white": words of the call, no value or tool of their own
            continue
        if max(points.values(), default=0.0) > max(0.0, points[tool.name]):
            # another tool's words or typed values: a part that only fills the call's empty
            # typed parameters still continues it, unless it names the other tool in two words
            if not fills or max(shared_terms(following.text, others).values(), default=0) >= STRONG_GROUNDS:
                break
        if any(served.count(kind) >= count and _listed_after(following, served, kind) for kind, count in held.items()):
            break  # "Mark deals D-501 and D-502 as lost": a second deal, a second call
        new = [
            n for n, node in properties.items()
            if isinstance(node, dict) and (speaks_of(n, node, following, untelling) or names_for(n, node, following)) and not speaks_of(n, node, served, untelling)
            and not names_for(n, node, served)
        ]
        # "... and 12 of B-220", "... and a CRP": another line of the order
        listed = any(following.count(kind) for n, f in items.items() if (kind := value_kind(n, f)) in _TYPED) or any(
            speaks_of(n, f, following, untelling) for n, f in items.items()
        )
        if len(served.values([tool])) >= room and not new and not fills and not listed:
            break
        end += 1
    return end


_TYPED = ("date", "time", "email", "phone", "number")


def _held_once(tool: ToolSchema) -> Counter[str]:
    """How many ids and numbers the tool's required parameters take, one each (no list): a
    part listing one more, where the call's text has them all, is another call's."""
    properties = tool.parameters.get("properties") or {}
    held: Counter[str] = Counter()
    for name in tool.parameters.get("required") or []:
        node = properties.get(name)
        if not isinstance(node, dict) or "enum" in node or node.get("type") in ("array", "object", "boolean"):
            continue
        if takes_an_identifier(name, node):
            held["id"] += 1
        elif value_kind(name, node) == "number":
            held["number"] += 1
    return held


def _listed_after(following: Evidence, served: Evidence, kind: str) -> bool:
    """Whether a part opens with a number, or an id of the shape of one the text before it holds:
    "103" after "Close tickets 101, 102", "D-502" after "Mark deals D-501"."""
    first = following.tokens[0] if following.tokens else ""
    if kind == "number":
        return first.isdigit()
    return first in following.identifiers and any(code_shape(v) == code_shape(first) for v in served.identifiers)


def _item_fields(properties: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields of the items of the lists a tool takes (a list of values of an enum is its
    own field): a part holding a value of one (a typed value of `_TYPED`, a value of its enum
    ...) is another item of the list, not another call ("a thyroid panel and a CRP", "avoiding
    tolls and ferries")."""
    fields: dict[str, dict[str, Any]] = {}
    for name, node in properties.items():
        items = node.get("items") if isinstance(node, dict) and node.get("type") == "array" else None
        if isinstance(items, dict) and items.get("type") == "object":
            fields |= {n: field for n, field in (items.get("properties") or {}).items() if isinstance(field, dict)}
        elif isinstance(items, dict) and "enum" in items:
            fields[name] = items
    return fields


def span(evidence: Evidence, first: int, last: int) -> Evidence:
    """The request's text from its part `first` through its part `last`, as evidence."""
    if first == last:
        return evidence.parts[first]
    text, start = evidence.text, 0
    bounds = []
    for part in evidence.parts[: last + 1]:
        at = text.find(part.text.strip(), start)
        bounds.append((at, at + len(part.text.strip())))
        start = bounds[-1][1]
    return Evidence.of(text[bounds[first][0] : bounds[last][1]], today=evidence.today)


def named_tools(evidence: Evidence, tools: list[ToolSchema]) -> list[ToolSchema]:
    """The tools a part of the request has evidence for; those its first word (the verb of an
    instruction) names, when it names any: "translate the summary" names the summary's tool
    too, but asks for a translation."""
    points = support(evidence, tools)
    named = [t for t in tools if points[t.name] > 0]
    verb = rank_tools(evidence.tokens[0], named) if evidence.tokens and len(named) > 1 else {}
    named = [t for t in named if verb.get(t.name, 0.0) > 0] or named
    # one far ahead of the rest is the one: after a call the model favours repeating it by more
    # than any prior ("when am I free for 30 minutes that day?" after listing that day's events)
    best = max((points[t.name] for t in named), default=0.0)
    return [t for t in named if points[t.name] > best - CLEAR_LEAD]


CLEAR_LEAD = 1.0
"""How far (in evidence points, each worth `evidence_weight` nats) a later part's best tool must
lead the others to be offered alone."""


def _room(node: dict[str, Any]) -> int:
    """How many values a call must be given: its required parameters that are no flag and no
    enum, those of a required object counted one by one ("the staff id and a summary" of an
    `issue` and a `user`)."""
    properties = node.get("properties") or {}
    required = [child for name in node.get("required") or [] if isinstance(child := properties.get(name), dict)]
    return sum(_room(child) if child.get("type") == "object" else 1 for child in required if child.get("type") != "boolean" and "enum" not in child)

