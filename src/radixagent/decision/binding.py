"""Arguments bound by the model's likelihood, jointly across one call.

Generation writes a call's arguments left to right, one greedy token at a time: given two
numbers for two parameters it may give the first number to both, or the numbers in the wrong
order, and an enum value is picked by its first token. Where the narrowed schema leaves each of
several parameters a short list of values (the request's numbers, dates and spans, an enum),
and two of them can take the same value or one chooses among values the request does not name,
`bind` scores every assignment of those values as a whole argument object, after the same
prompt, and keeps the likeliest (when generation gave no value twice, only the parameters
choosing among values the request does not name are chosen again):

- an enum value the request does not name also counts by how strongly a phrase of the request
  calls for it (`_associations`: "Swiss francs" for `CHF`);
- no value goes to two parameters unless the request repeats it, at any depth (a nested
  object's parameters, and each list item's, count with the top level's: "2 rooms for 4
  adults" gives no child 2), or says a word of a list's items for each of them ("Tom and
  Priya, both vegetarian");
- the items of a list take values written together ("40 of A-118 and 12 of B-220"): of the
  assignments giving the same values, those whose items' values stand closest in the request
  (the whole of it, not only the part the call serves) are scored;
- the other parameters keep what generation wrote;
- with too many assignments to score at once, or none that gives every parameter a value of
  its own, each parameter is chosen in turn, among the values the ones before it left.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from math import prod
from typing import Any

from radixagent.evidence import Evidence
from radixagent.prompting import Mark, Transcript

MAX_ASSIGNMENTS = 48
"""Whole argument objects scored in one request; past it, one parameter at a time."""
MAX_VALUES = 24
"""A parameter with more allowed values than this (a long enum) keeps what generation wrote."""
MAX_PHRASES = 6
"""Phrases of the request an enum value's association is scored against, in order."""

Scalar = str | int | float | bool
Path = tuple[str | int, ...]
"""Where a parameter stands in the arguments: ("recipient", "name"), ("foods", 1, "grams")."""


async def bind(
    transcript: Transcript,
    start: Mark,
    arguments: dict[str, Any],
    schema: dict[str, Any],
    evidence: Evidence | None,
    original: dict[str, Any] | None = None,
    context: Evidence | None = None,
) -> dict[str, Any]:
    """The likeliest assignment of the open parameters' values. `arguments` is what generation
    wrote after `start` (their key order is kept) under `schema`, the tool's `original` schema
    narrowed to the request's values; when another assignment wins, the transcript is rewound to
    `start` and ends with it instead. `evidence` is the part of the request the call serves,
    `context` the whole, where a list's values are found beside each other."""
    domains, repeats = _domains(arguments, schema), _repeats(evidence)
    near = context if context is not None else evidence
    if near is not None and _all_alike(near):
        # "Seat Tom and Priya, both vegetarian": a word of a list's items is said for each of them
        for path, values in domains.items():
            if any(isinstance(step, int) for step in path):
                repeats.update({_key(v): max(repeats.get(_key(v), 0), len(domains)) for v in values if isinstance(v, str)})
    if original is not None and (over := _overgiven([_get(arguments, path) for path in domains], repeats)):
        # narrowing left two parameters the one enum value the request names ("70 kg" for both
        # units of "How many pounds is 70 kg?"): they choose among the tool's own values again,
        # the parameters narrowed to another value keep it ("dinner" for the meal)
        wide = _domains(arguments, original)
        domains = {path: wide.get(path, values) if len(values) == 1 and _key(values[0]) in over else values for path, values in domains.items()}
    if not _undecided(domains, evidence):
        return arguments
    if _allowed([_get(arguments, path) for path in domains], repeats) and not _apart(arguments, domains, repeats, near):
        # generation gave no value twice: what it copied from the request stays (its order of
        # mention is usually right), only values the request does not name are chosen again
        domains = {path: values if _unnamed(values, evidence) else [_get(arguments, path)] for path, values in domains.items()}
        if not any(len(values) > 1 for values in domains.values()):
            return arguments
    association = await _associations(transcript, domains, evidence, original or schema) if evidence is not None else {}
    written = transcript.text[start[0] :]
    transcript.rewind(start)
    chosen = await _jointly(transcript, arguments, domains, repeats, association, near)
    await transcript.append(written if chosen == arguments else json.dumps(chosen, ensure_ascii=False))
    return chosen


def once_each(arguments: dict[str, Any], schema: dict[str, Any], evidence: Evidence) -> dict[str, Any] | None:
    """A copy of `schema` (narrowed) in which each parameter after the first that generation gave
    a string the request says once no longer offers it (where it offers others: the spans of a
    free text, more than binding chooses among); None when no such string was given twice. A
    list's items share one schema: a value two items repeat is left to binding, which gives
    each item its own ("2 crates and 1 drum", written as two crates)."""
    repeats, seen = _repeats(evidence), set[str]()
    out: dict[str, Any] | None = None
    for path, value in _leaves(arguments):
        if not isinstance(value, str):
            continue
        node = _node(out or schema, path)
        offered = node.get("enum") if node is not None else None
        listed = any(isinstance(step, int) for step in path)
        if value in seen and repeats.get(value, 0) <= 1 and isinstance(offered, list) and len(offered) > 1 and not listed:
            out = out if out is not None else copy.deepcopy(schema)
            if (target := _node(out, path)) is not None:
                target["enum"] = [v for v in offered if v != value]
        seen.add(value)
    return out


async def _jointly(
    transcript: Transcript,
    arguments: dict[str, Any],
    domains: dict[Path, list[Scalar]],
    repeats: dict[Scalar, int],
    association: dict[tuple[Path, Scalar], float],
    evidence: Evidence | None,
) -> dict[str, Any]:
    candidates = list(itertools.islice(_assignments(arguments, domains, repeats), MAX_ASSIGNMENTS + 1))
    if 0 < len(candidates) <= MAX_ASSIGNMENTS:
        if evidence is not None and _in_lists(domains):
            candidates = _closest(candidates, evidence)
        return await _likeliest(transcript, candidates, association) if len(candidates) > 1 else candidates[0]
    # too many assignments, or none (more parameters than values: "2 rooms for 4 adults" leaves a
    # child count without one): each parameter in turn, among the values the ones before it left;
    # one with none left keeps what generation wrote
    best, taken = dict(arguments), list[Scalar]()
    for path, values in domains.items():
        options = [_with(best, {path: v}) for v in values if isinstance(v, bool) or taken.count(_key(v)) < max(1, repeats.get(_key(v), 0))]
        if len(options) > 1:
            best = await _likeliest(transcript, options, association)
        elif options:
            best = options[0]
        taken.append(_key(_get(best, path)))
    return best


def _closest(candidates: list[dict[str, Any]], evidence: Evidence) -> list[dict[str, Any]]:
    """Of the assignments giving the same values, those whose list items take values written
    closest together: an item's values stand side by side ("40 units of A-118 and 12 of B-220":
    40 goes with A-118). Which values are given stays the model's choice."""
    spreads = [sum(_spread(item, evidence) for item in _items(c)) for c in candidates]
    same = [tuple(sorted(json.dumps(value) for _, value in _leaves(c))) for c in candidates]
    least = {key: min(s for k, s in zip(same, spreads, strict=True) if k == key) for key in same}
    return [c for c, key, spread in zip(candidates, same, spreads, strict=True) if spread == least[key]]


def _apart(arguments: dict[str, Any], domains: dict[Path, list[Scalar]], repeats: dict[Scalar, int], evidence: Evidence | None) -> bool:
    """Whether generation paired a list's items with values written apart where another
    assignment keeps each item's values together."""
    if evidence is None or not _in_lists(domains):
        return False
    candidates = list(itertools.islice(_assignments(arguments, domains, repeats), MAX_ASSIGNMENTS + 1))
    return 0 < len(candidates) <= MAX_ASSIGNMENTS and arguments not in _closest([arguments, *candidates], evidence)


def _in_lists(domains: dict[Path, list[Scalar]]) -> bool:
    """Whether some open parameter is a field of a list's item."""
    return any(isinstance(key, int) for path in domains for key in path)


def _items(value: Any) -> Iterator[dict[str, Any]]:
    """The objects inside the lists of the arguments, at any depth."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        if isinstance(value, list) and isinstance(child, dict):
            yield child
        yield from _items(child)


def _spread(item: dict[str, Any], evidence: Evidence) -> int:
    """How many tokens the request spans to say an item's values, taking each where it stands
    closest to the others (a value the request does not hold counts nowhere)."""
    places = [found for _, value in _leaves(item) if isinstance(value, str | int | float) and not isinstance(value, bool) if (found := evidence.where(value))]
    if len(places) < 2 or prod(len(p) for p in places) > MAX_ASSIGNMENTS:
        return 0
    return min(max(end for _, end in chosen) - min(start for start, _ in chosen) for chosen in itertools.product(*places))


def _domains(arguments: dict[str, Any], schema: dict[str, Any], at: Path = ()) -> dict[Path, list[Scalar]]:
    """The parameters (nested objects' included) whose schema allows a short list of scalar
    values, with those values."""
    properties = schema.get("properties") or {}
    out: dict[Path, list[Scalar]] = {}
    for name, value in arguments.items():
        node = properties.get(name)
        if not isinstance(node, dict):
            continue
        if isinstance(value, dict) and node.get("type") == "object":
            out.update(_domains(value, node, (*at, name)))
            continue
        items = node.get("items")
        if isinstance(value, list) and isinstance(items, dict) and items.get("type") == "object":
            for index, item in enumerate(value):  # "300 g of salmon and 200 g of potatoes": an object each
                if isinstance(item, dict):
                    out.update(_domains(item, items, (*at, name, index)))
            continue
        values = node.get("enum")
        if isinstance(values, list) and 0 < len(values) <= MAX_VALUES and all(isinstance(v, Scalar) for v in values):
            out[(*at, name)] = list(values)
    return out


def _get(arguments: dict[str, Any], path: Path) -> Any:
    value: Any = arguments
    for key in path:
        value = value[key]
    return value


def _with(arguments: dict[str, Any], values: dict[Path, Any]) -> dict[str, Any]:
    """A copy of `arguments` with the value at each path replaced (the objects and lists on the
    way copied)."""
    out = dict(arguments)
    for path, value in values.items():
        node: Any = out
        for key in path[:-1]:
            node[key] = dict(node[key]) if isinstance(node[key], dict) else list(node[key])
            node = node[key]
        node[path[-1]] = value
    return out


def _leaves(value: Any, at: Path = ()) -> list[tuple[Path, Any]]:
    """Each scalar (or list of scalars) in the arguments, with its path."""
    if isinstance(value, dict):
        children: Iterable[tuple[str | int, Any]] = value.items()
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        children = enumerate(value)
    else:
        return [(at, value)]
    return [leaf for key, child in children for leaf in _leaves(child, (*at, key))]


def _node(schema: dict[str, Any], path: Path) -> dict[str, Any] | None:
    node: Any = schema
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get("items") if isinstance(key, int) else (node.get("properties") or {}).get(key)
    return node if isinstance(node, dict) else None


def _undecided(domains: dict[Path, list[Scalar]], evidence: Evidence | None) -> bool:
    """Whether generation's left-to-right choice may be wrong: two parameters can take the
    same value, or a parameter chooses among values the request does not name ("Japanese yen"
    for `JPY`). One parameter choosing among the request's own spans is left to generation."""
    keys = [_key(v) for values in domains.values() if len(values) > 1 for v in values]
    given = [{g for w in values for g in _given(w)} for values in domains.values()]
    shared = any(sum(k in g for g in given) > 1 for k in keys)
    return shared or any(_unnamed(values, evidence) for values in domains.values())


def _unnamed(values: list[Scalar], evidence: Evidence | None) -> bool:
    """A choice among several values some of which the request does not name."""
    return len(values) > 1 and (evidence is None or not all(evidence.mentions(str(v)) for v in values))


def _allowed(values: list[Any], repeats: dict[Scalar, int]) -> bool:
    """No value given to more parameters than the request says it (flags aside)."""
    return not _overgiven(values, repeats)


def _overgiven(values: list[Any], repeats: dict[Scalar, int]) -> set[Scalar]:
    """The values given to more parameters than the request says them (flags aside); a number
    inside a string given is given too ("Inside Out 2" as the title gives the request's 2)."""
    counts: dict[Scalar, int] = {}
    for value in values:
        for key in _given(value):
            counts[key] = counts.get(key, 0) + 1
    return {v for v, n in counts.items() if not isinstance(v, bool) and n > max(1, repeats.get(v, 0))}


def _given(value: Any) -> list[Scalar]:
    """The request's values a value gives: itself, and the numbers written inside a string."""
    inside = [float(n) for n in _NUMBER_WORD.findall(value)] if isinstance(value, str) and not _NUMBER.fullmatch(value) else []
    return [_key(value), *inside]


def _assignments(arguments: dict[str, Any], domains: dict[Path, list[Scalar]], repeats: dict[Scalar, int]) -> Iterator[dict[str, Any]]:
    """Every assignment of the domains' values, none giving one value to two parameters unless
    the request says it twice (flags aside): "from km to km" is never meant."""
    # depth first in `itertools.product`'s order, a branch cut as soon as a value is given once
    # too often: the product of a dozen list items' domains runs to millions
    paths = list(domains)
    gives = {path: [Counter(k for k in _given(v) if not isinstance(k, bool)) for v in domains[path]] for path in paths}
    counts: Counter[Scalar] = Counter()
    chosen: list[Scalar] = []

    def extend(depth: int) -> Iterator[dict[str, Any]]:
        if depth == len(paths):
            yield _with(arguments, dict(zip(paths, chosen, strict=True)))
            return
        path = paths[depth]
        for value, given in zip(domains[path], gives[path], strict=True):
            if any(counts[k] + n > max(1, repeats.get(k, 0)) for k, n in given.items()):
                continue
            counts.update(given)
            chosen.append(value)
            yield from extend(depth + 1)
            chosen.pop()
            counts.subtract(given)

    yield from extend(0)


def _repeats(evidence: Evidence | None) -> dict[Scalar, int]:
    """How often the request holds each of its values: numbers, dates, times, addresses, quotes."""
    if evidence is None:
        return {}
    counts: dict[Scalar, int] = {}
    for number in evidence.numbers:
        counts[_key(number)] = counts.get(_key(number), 0) + 1
    for value in (*evidence.dates, *evidence.times, *evidence.emails, *evidence.quoted):
        counts[value] = counts.get(value, 0) + 1
    folded = evidence.text.casefold()
    for span in evidence.spans:  # as a word of its own: "g" is said once in "Log 400 g"
        counts.setdefault(span, max(1, len(re.findall(rf"(?<!\w){re.escape(span.casefold())}(?!\w)", folded))))
    return counts


def _all_alike(evidence: Evidence) -> bool:
    """Whether the request says its list's items share what it says of them ("both", "each")."""
    return bool({t.casefold() for t in evidence.tokens} & _ALIKE)


_ALIKE = frozenset({"both", "each", "all", "every", "everyone", "everybody"})


def _key(value: Any) -> Scalar:
    """Numbers compare by value (3, 3.0 and the string "3" are one value: "90" as an id and 90 as
    a count give the request's one number twice); booleans stay apart from 0 and 1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value) if _NUMBER.fullmatch(value) else value
    return json.dumps(value)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_NUMBER_WORD = re.compile(r"(?<![\w.,:/-])\d+(?:\.\d+)?(?![\w]|[.,:/-]\w)")
"""A number written as a word of its own inside a string ("Inside Out 2"), not a piece of a
date, a time, an id or another number ("2026-05-14", "RX-448120", "1,200")."""


async def _likeliest(transcript: Transcript, options: list[dict[str, Any]], association: dict[tuple[Path, Scalar], float]) -> dict[str, Any]:
    texts = [json.dumps(o, ensure_ascii=False) for o in options]
    # by each object's total log-probability (a permutation of the same values has the same
    # length), plus how strongly the request calls for each value it does not name
    prior = [sum(association.get((path, _key(value)), 0.0) for path, value in _leaves(option)) for option in options]
    # the text every option opens with is the same for all: it is appended once, and only the
    # rest of each is scored (each scored token is a forced decoding step on llama.cpp)
    shared = _shared_opening(texts)
    mark = transcript.mark()
    await transcript.append(shared)
    tails = [text[len(shared) :] for text in texts]
    probabilities = (await transcript.score(tails)).probabilities(length_normalized=False, prior=dict(zip(tails, prior, strict=True)))
    transcript.rewind(mark)
    return options[max(range(len(options)), key=lambda i: probabilities[tails[i]])]


def _shared_opening(texts: list[str]) -> str:
    """The JSON every text opens with, cut before the space after a comma or a colon (the space
    and what follows it are one token to a tokenizer, as the model wrote them)."""
    common = os.path.commonprefix(texts)
    cut = max(common.rfind(", "), common.rfind(": "))
    return common[: cut + 1] if cut > 0 and len(set(texts)) == len(texts) else ""


async def _associations(
    transcript: Transcript, domains: dict[Path, list[Scalar]], evidence: Evidence, schema: dict[str, Any]
) -> dict[tuple[Path, Scalar], float]:
    """For each enum value the request does not name, how strongly a phrase of the request
    calls for it ("Swiss francs" for `CHF`, "into Korean" for `ko`): the most, over the phrases
    a value may be written out as, of log p(value | phrase) - log p(value | "it"), each value
    written in brackets after the phrase, below the parameter's name and description, as a
    glossary writes a code. The difference takes out the model's preference for some values
    whatever the phrase (`en`, `USD`), which alone picks them for most requests. In a request
    with no such phrase, each of its describing words is one ("a beginner lesson" for `novice`);
    with none of those either, the request itself."""
    out: dict[tuple[Path, Scalar], float] = {}
    phrases = evidence.value_phrases[:MAX_PHRASES] or evidence.describing_words[:MAX_PHRASES] or [" ".join(evidence.text.split())[:300]]
    for path, values in domains.items():
        strings = [v for v in values if isinstance(v, str)]
        if len(strings) < 2 or all(evidence.mentions(v) for v in strings):
            continue
        node, name = _node(schema, path), path[-1]
        description = " ".join(str(node.get("description") or "").split())[:200] if node is not None else ""
        head = f"{name}: {description}\n" if description else f"{name}:\n"
        choices = [f"{v})" for v in strings]
        unsaid = await transcript.score_beside(f"{head}it (", choices)
        for phrase in phrases:
            said = await transcript.score_beside(f"{head}{phrase} (", choices)
            for value, with_phrase, without in zip(strings, said.scores, unsaid.scores, strict=True):
                lift = sum(with_phrase.token_logprobs) - sum(without.token_logprobs)
                out[(path, value)] = max(out.get((path, value), lift), lift)
    return out
