"""Narrowing: an argument schema cut down to the values a request holds."""

from __future__ import annotations

import ast
import copy
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

from radixagent.evidence.addresses import (
    Address,
    address_fields,
    address_values,
    postal_codes,
    postal_shaped,
    takes_a_postal_code,
)
from radixagent.evidence.codes import System, code_parameter
from radixagent.evidence.measures import unit_of_measure
from radixagent.evidence.places import towns_in, with_its_code, with_its_state
from radixagent.evidence.values import (
    CODE_QUALIFIER,
    GENERIC_NAME_WORDS,
    WEB_ADDRESS,
    Evidence,
    clock_part,
    code_systems,
    date_layout,
    datetime_layout,
    described_numbers,
    described_values,
    duration_layout,
    example_code,
    example_codes,
    example_shape,
    in_duration_layout,
    in_layout,
    leaves,
    number_text,
    qualifier_shape,
    regex_literal,
    time_unit,
)
from radixagent.evidence.words import (
    ASKING_VERBS,
    EDGE,
    IRREGULAR,
    NEGATED_AWAY,
    STOP_WORDS,
    glossed,
    head_word,
    name_words,
    stem,
    terms,
)


def narrow_arguments(
    schema: dict[str, Any],
    evidence: Evidence,
    *,
    context: Evidence | None = None,
    used: dict[str, set[Any]] | None = None,
    tool_words: Iterable[str] | None = None,
    part_first: bool = False,
) -> dict[str, Any]:
    """A copy of an object schema whose values can only come from the request where it has them.

    - a string takes one of the text's strings that fits it (`Evidence.strings_for`), a number
      one of its numbers within bounds, an enum the values the text names, a flag what the text
      says of it; where a value stands next to the parameter's own name ("IBAN DE89...",
      "2 adults") or its direction ("from Munich" for an origin), only such values; with none
      in the text, the parameter stays as the tool defines it;
    - an optional parameter the text says nothing about (neither its name nor a value no other
      parameter takes) is left out, so the tool's default applies instead of an invented value;
      one it speaks of is required, so the model does not skip it.

    `evidence` is the part of the request this call serves; `context` the whole request, the
    fallback for values the part does not hold. `used` maps a parameter path to the values
    earlier calls of the same tool gave it, which this call does not repeat. A free string
    takes no span holding `tool_words` (the words naming the tool: they ask for it, they are
    not its input); with `part_first`, it comes from `evidence` before `context` (the part of
    the request the call was chosen for)."""
    narrowing = _Narrowing(evidence, context or evidence, used or {}, set(tool_words or ()), part_first=part_first)
    narrowed = narrowing.object(copy.deepcopy(schema), "")
    _within_bounds(narrowed)
    return narrowed


def _within_bounds(node: Any) -> None:
    """Each string enum of the request's values cut to those its own length and
    pattern admit, or, where none does, left free under them: a value too long for a bound
    ("27 Gloucester Road" where `maxLength` is 16) would make the schema unsatisfiable."""
    if isinstance(node, dict):
        for child in (node.get("properties") or {}).values():
            _within_bounds(child)
        _within_bounds(node.get("items"))
        if node.get("type") == "string" and isinstance(node.get("enum"), list) and {"maxLength", "minLength", "pattern"} & node.keys():
            admitted = [v for v in node["enum"] if isinstance(v, str) and _admits(node, v)]
            if admitted:
                node["enum"] = admitted
            else:
                del node["enum"]


def _admits(node: dict[str, Any], value: str) -> bool:
    if len(value) > int(node.get("maxLength", len(value))) or len(value) < int(node.get("minLength", 0)):
        return False
    try:
        return "pattern" not in node or re.search(str(node["pattern"]), value) is not None
    except re.error:
        return True


_FROM = frozenset({"from", "origin", "source", "sender"})
_TO = frozenset({"to", "destination", "target", "into"})
_LEANING = {"pickup": _FROM, "pick": _FROM, "dropoff": _TO, "drop": _TO}
"""Words of a name whose value a trip's direction tells, where the request writes one."""
_GENERIC = GENERIC_NAME_WORDS
_LABELS = frozenset({"number", "num", "no", "id", "name", "value", "code"})
_CAST_CUES = frozenset({"with", "starring", "featuring", "acted", "stars"})
_LINKING = frozenset({"with", "by", "of", "for"})
_BY_OR_WITH = frozenset({"with", "by"})
_CAST_WORDS = frozenset({"cast", "actor", "actors", "actress", "actresses", "star", "stars", "starring"})
"""Words that put a person in a film or a show, and words that name a parameter for its actors;
the prepositions among cues, weaker than the words of content ("acted by": an actor)."""
_PREPOSITIONS = frozenset({"from", "to", "into", "in"})
"""Words of a name that give its direction (`to_unit`), not what it is: "grams to" is no unit's name."""
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
"""A number as a request writes it: "68", "1,200", "-3.5"."""
_QUANTITY = re.compile(rf"({_NUMBER.pattern})(?:\s+[^\W\d]+)?")
"""A number, alone or with the one word it counts: "3", "3 nights", "1,200 pages"."""
_YEAR = frozenset({"year", "yr"})
"""Words of a numeric parameter's name or description that say it is a calendar year ("years"
counts a duration)."""
_YEARS = (1900, 2100)
_DIGIT_TEXTS = frozenset({"id", "number", "num", "no", "code", "zip", "postcode", "pin", "phone", "password", "passcode", "account"})
"""Words of a string parameter's name that say its text may be all digits."""


@dataclass
class _Narrowing:
    part: Evidence
    whole: Evidence
    used: dict[str, set[Any]]
    tool_words: set[str]
    anchored: bool = False
    """Whether the last `pick` found values by the parameter's name or direction."""
    against: bool = False
    """Whether the last `pick` saw values by the opposite direction only ("into Spanish" for a source)."""
    part_first: bool = False
    """Whether a free text comes from the part first (the part a call was chosen for)."""
    schema: dict[str, Any] = field(default_factory=dict)
    """The tool's own schema, as given."""
    single: bool = False
    """Whether the tool takes one free text (a string of no format, pattern or enum) only."""
    addressed: set[str] = field(default_factory=set)
    """The words of the address the request writes out, where the tool takes one: no other
    free text's."""
    dated: bool = True
    """Whether the tool has a parameter for a date or a time: else a text takes the ones it runs into."""
    listed: set[str] = field(default_factory=set)
    """The request's words that say a value one of the tool's enums lists ("production",
    "heating" for `heat`, "warm white" for `warm_white`): each is its parameter's, no free text's."""
    coded_words: dict[System, set[str]] = field(default_factory=dict)
    """The request's words that name a currency, a language or a country, by the system of the
    tool's parameters that take one ("yen"): no other parameter's."""
    located: list[str] = field(default_factory=list)
    """The towns the request names after "in", "at" or "near", where the tool takes a place: the
    place's, in no other text ("theaters in Los Angeles" names no theater, "the Rye Crust bakery
    in Spokane" is "Rye Crust")."""

    def object(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return node
        required = set(node.get("required") or [])
        if not path:
            self.single = [free_text(properties.get(n)) for n in required].count(True) == 1
            self.schema = copy.deepcopy(node)
            self.dated = bool(_kinds(node) & {"date", "time"})
            if _takes_addresses(node):
                self.addressed = {w.strip(",").casefold() for a in self.whole.addresses for w in a.text.split()}
            self.listed = self.whole.words_saying(v for leaf in leaves(node) for v in leaf.get("enum") or [] if isinstance(v, str))
            # a name a code is glossed with ("LDS1=Leeds") says the code, no free text's
            self.listed |= self.whole.words_saying(g for leaf in leaves(node) for g in described_values(leaf).values() if len(g.split()) <= 2)
            if any(takes_a_place(n, c) for n, c in properties.items()):
                self.located = [t for t in towns_in(self.whole.text) if re.search(rf"\b(?:in|at|near|around) {re.escape(t)}\b", self.whole.text, re.IGNORECASE)]
            systems = set(code_systems(node).values())
            for system, _, start, end in self.whole.coded:
                if system in systems:
                    self.coded_words.setdefault(system, set()).update(t.casefold() for t in self.whole.tokens[start:end])
        claimed = _claims(node, self.whole)
        common = self.tool_words | untelling_terms(properties)
        said = {n for n, c in properties.items() if n not in required and isinstance(c, dict) and speaks_of(n, c, self.whole, common)}
        spoken = Counter(value_kind(n, properties[n]) for n in said)
        kept: dict[str, Any] = {}
        for name, child in properties.items():
            if not isinstance(child, dict):
                kept[name] = child
                continue
            if name not in required:
                kind = value_kind(name, child)
                # a postal code written with a number the required parameters leave over ("ship
                # a 6 kg box to 94107") is said, though its name is not
                left_over = self.part.count("number") > claimed["number"] + spoken["number"]
                posted = postal_codes(name, self.part.tokens) and left_over
                # so is a list of things each with a number the required parameters leave over
                # ("my laptop, worth 1200, and a camera worth 650" for `items` of a name and a value)
                counted = _numbered_items(child) and left_over
                if kind is None and name not in said and not posted and not counted:
                    continue
                # a date, a number ... for it: named, one the required parameters leave over;
                # unnamed, one of this part that the named ones leave over too
                if kind is not None and not (
                    self.whole.count(kind) > claimed[kind] if name in said else self.part.count(kind) > claimed[kind] + spoken[kind]
                ):
                    if not (name in said and self.described(child)):
                        continue  # no number for it, nor a word its description gives a number ("cheap" for "1 cheap to 4 expensive")
            where = f"{path}.{name}" if path else name
            kept[name] = self.value(child, name, where)
            if name not in required and name not in said and kind == "number" and "enum" not in kept[name]:
                del kept[name]  # kept for a number left over that it cannot take ("2 hours" for a temperature)
            elif name not in required and name in said and _defaulted_choice(child) and kept[name] == child:
                # said by its name or description only ("need a car" for `car_type`, "any Thai
                # places" for `outdoor_seating`, "only places with tables outside") and no value
                # named: the tool's default, not the model's guess among the values (a number
                # left over, "two bus tickets" for `num_passengers`, it places)
                del kept[name]
        kept = self.one_end_each(kept, properties, required, said)
        kept = self.shared(kept, properties, path)
        kept = _without_labels(kept, properties)
        given = address_values(properties, self.addresses_for(path, node))
        for name, value in given.items():
            kept[name] = {**properties[name], "enum": [value]}  # "Hauptstraße 12, 10115 Berlin, DE": each part its own
        if (loose := self.loose_names(properties, required, kept)) is not None:
            taker, names = loose
            kept = {n: {**properties[n], "enum": names} if n == taker else kept[n] for n in properties if n in kept or n == taker}
        if given:
            # a part of the address the request leaves out is not another value's to fill
            parts = address_fields(properties)
            kept = {n: c for n, c in kept.items() if n in given or n in required or n not in parts}
        node["properties"] = kept
        # what the text speaks of is given: the model would skip it as readily as it invents the rest
        node["required"] = list(kept)
        node.setdefault("additionalProperties", False)  # a parameter left out stays out
        return node

    def one_end_each(
        self, kept: dict[str, Any], properties: dict[str, Any], required: set[str], said: set[str]
    ) -> dict[str, Any]:
        """`kept` without the ends of a range the request does not give: where optional start
        and end parameters (`start`/`end`, `from_date`/`to_date`) outnumber the dates or times
        offered them, the ones the words before those values lead to ("after 2pm" starts, "by
        Friday" ends), else the first ones."""
        for kind in ("date", "time"):
            ends = [n for n in kept if n not in required and n not in said and value_kind(n, properties[n]) == kind and _end_of_range(n)]
            offered = [kept[n].get("enum") for n in ends if isinstance(kept[n], dict)]
            if len(offered) < len(ends) or not all(offered):
                continue  # a free end: the model's to fill or leave
            left = len({v for values in offered for v in values})
            if len(ends) <= left:
                continue
            values = self.part.dates if kind == "date" else self.part.times
            led = {side for v in values for start, _ in self.part.where(v) if start > 0 and (side := _RANGE_LEADS.get(self.part.tokens[start - 1].casefold()))}
            chosen = [n for n in ends if _end_of_range(n) in led][:left] or ends[:left]
            kept = {n: c for n, c in kept.items() if n not in ends or n in chosen}
        return kept

    def shared(self, kept: dict[str, Any], properties: dict[str, Any], path: str) -> dict[str, Any]:
        """`kept` with the value an earlier call of the tool gave a parameter, where this call's
        part of the request gives it none and the request holds no other: the parameter is
        free, or offered only values the earlier calls gave other parameters, values another
        parameter of this call takes alone, or values of the parts after this one. "100 GBP in
        USD and in CHF" converts the same pounds twice, not the dollars; "in Paris today and
        tomorrow" asks of one city."""
        if self.part is self.whole:
            return kept
        at = self.whole.text.find(self.part.text)
        later = self.whole.text[at + len(self.part.text) :] if at >= 0 else ""
        alone = {n: c["enum"][0] for n, c in kept.items() if isinstance(c, dict) and len(c.get("enum") or []) == 1}
        out = dict(kept)
        for name, narrowed in kept.items():
            where = f"{path}.{name}" if path else name
            node, taken = properties.get(name), self.used.get(where)
            if not taken or not isinstance(node, dict) or "enum" in node or not isinstance(narrowed, dict):
                continue
            accounted = {v for p, values in self.used.items() if p != where for v in values} | {v for n, v in alone.items() if n != name}
            if not all(v in accounted or str(v) in later for v in narrowed.get("enum", [])):
                continue
            again = replace(self, used={**self.used, where: set()}).value(node, name, where)
            if again.get("enum") and set(again["enum"]) <= taken:
                out[name] = again
        return out

    def loose_names(self, properties: dict[str, Any], required: set[str], kept: dict[str, Any]) -> tuple[str, list[str]] | None:
        """The one optional parameter left out that takes a person's or a place's name, with the
        names of the request no kept parameter is offered ("a thriller with Roberts Blossom"
        gives `starring` its name when only `genre` is kept): a name the request gives is meant
        for something."""
        takers = [n for n, c in properties.items() if n not in kept and n not in required and free_text(c) and takes_a_name(n, c)]
        offered = [c for c in kept.values() if isinstance(c, dict)]
        if len(takers) > 1:
            # several: the one the words before the names call for ("directed by Greta Gerwig",
            # "a film with Zoe Colletti in it" for `cast`)
            owns = {n: _own(n, str(properties[n].get("description", ""))) for n in takers}
            distinct = {n: own - set().union(*(o for m, o in owns.items() if m != n)) for n, own in owns.items()}
            cues = {(n, name): _cue(self.part, distinct[n], name) for n in takers for name in self.part.names_whole}
            strongest = max(cues.values(), default=0)
            takers = list(dict.fromkeys(n for (n, _), cue in cues.items() if cue == strongest > 0))
            cued = {name for (n, name), cue in cues.items() if cue == strongest and n in takers}
        else:
            cued = set(self.part.names_whole)
            if takers and _told(takers[0], properties[takers[0]]) & _ROLES:
                own = _own(takers[0], str(properties[takers[0]].get("description", "")))
                cued = {name for name in cued if _in_role(self.part, name, own)}
        if len(takers) != 1 or any(free_text(c) for c in offered):  # a free text may hold any name
            return None
        # a name inside a value offered ("Clair" of the song 'Clair de Lune') is that value's, and
        # so is one whose words are all offered ("Ada Lovelace" as a first and a last name); one of
        # several names offered to one parameter is not ("Book Biscuit's walk with Dana": the dog
        # takes one of them, the walker may take the other)
        nodes = [n for c in offered for n in (c, *leaves(c))]
        choices = [[str(v) for v in c.get("enum") or []] for c in nodes]
        names_whole = {n for n in self.part.names_whole if n[:1].isupper() and not any(c.isdigit() for c in n)}
        values = [v for options in choices for v in options] + [str(c.get("pattern", "")) for c in offered]
        words = {w for v in values for w in v.split()}

        def taken(name: str) -> bool:
            if any(name in options and len(set(options) & names_whole) > 1 for options in choices) and not any(name in v and name != v for v in values):
                return False
            return any(name in v for v in values) or set(name.split()) <= words

        names = [n for n in self.part.names_whole if n in names_whole and n in cued and not taken(n)]
        if takes_a_place(takers[0], properties[takers[0]]):
            names = [n for n in names if not _mailed(n, self.whole)]  # "Ana Silva at ana.silva@example.com" is a guest, not a venue
        return (takers[0], names) if names else None

    @cached_property
    def labelled(self) -> set[float]:
        """The numbers written right after the name of a required parameter of the tool that is
        no list ("Room 1204" for `room`): that parameter's, not a count of a list's items."""
        properties = self.schema.get("properties") or {}
        named = [n for n in self.schema.get("required") or [] if isinstance(properties.get(n), dict) and properties[n].get("type") != "array"]
        return {float(v) for n in named for v in self.whole.after_name(n) if v.isdigit()}

    def value(self, node: dict[str, Any], name: str, path: str, kind: str | None = None) -> dict[str, Any]:
        declared = node.get("type")
        taken = self.used.get(path, set())
        kind = kind or _kind(name, node)
        if declared == "object":
            return self.object(copy.deepcopy(node), path)  # two parameters may share one schema object
        if declared == "array" and isinstance(node.get("items"), dict):
            items = node["items"]
            # the items of a list spread over the request's parts ("with a@x.io and b@y.io")
            whole = replace(self, part=self.whole, part_first=False)  # what the tool takes stays known (`listed`, `dated` ...)
            narrowed = whole.object(items, path + "[]") if items.get("type") == "object" else whole.value(items, name, path + "[]", kind)
            out = {**node, "items": narrowed}
            if narrowed.get("type") == "object":
                narrowed = _alike(_without_amounts(narrowed), self.whole.identifiers)
                out["items"] = narrowed
                # an item per number where each item needs one ("2 chairs, 1 desk and 3 lamps";
                # "4 tyres to get rid of, on Friday": one), else per coordinated part at most
                counts = [
                    [v for v in c["enum"] if v not in self.labelled]  # "Room 1204: two club sandwiches ...": 1204 is the room's
                    for n, c in narrowed.get("properties", {}).items() if n in (items.get("required") or []) and c.get("type") in ("integer", "number") and "enum" in c
                ]
                # a number written twice counts twice ("2 chairs and 2 desks")
                room = min(sum(len(self.whole.where(n)) or 1 for n in c) for c in counts) if counts else len(self.whole.parts)
                # an item per name where each item takes a name ("Seat Tom and Priya, both vegetarian")
                people = [
                    v for n, c in narrowed.get("properties", {}).items() if n in (items.get("required") or []) and isinstance(c, dict) and takes_a_name(n, c)
                    for v in c.get("enum") or [] if v in self.whole.names_whole
                ]
                if people:  # "Aunt Ines" and "Ines" are one person
                    room = min(room, len([v for v in people if not any(v != w and v in w for w in people)]))
                out["maxItems"] = max(int(node.get("minItems", 0)), min(int(node.get("maxItems", room)), room))
            elif "enum" in narrowed and narrowed is not items:
                # as many items as the text has values for, so the model does not repeat one
                room = len(narrowed["enum"]) if kind or "enum" in items else max(1, len(self.whole.quoted) or 1)
                out["maxItems"] = max(int(node.get("minItems", 0)), min(int(node.get("maxItems", room)), room))
            return out
        if declared == "boolean":
            flag = self.flag(name, node)
            return node if flag is None else {**node, "enum": [flag]}
        if "enum" in node and (flag_values := _flag_values(node["enum"])) is not None:
            # 'True' / 'False' (/ 'dontcare') in a string: a flag all the same ("free entry")
            flag = self.flag(name, node)
            return node if flag is None else {**node, "enum": [flag_values[flag]]}
        if "enum" in node and declared in ("integer", "number"):
            # a listed number the request gives by the parameter's name or in its unit of time
            # ("for two adults", "a 45 minute walk"); not one of another value ("rated 4" for a region)
            unit = _time_counted(name, node)
            options = self.pick(name, lambda text: [v for v in node["enum"] if v in text.numbers_for({"type": "number"}, unit) and v not in taken], strict=True, numeric=True)
            if options and (self.anchored or _listed_in_time(name, node, self.whole)):
                return {**node, "enum": options}
            worded = [v for v in self.described(node) if v in node["enum"] and v not in taken]
            return {**node, "enum": worded} if worded else node
        if "enum" in node:
            options = self.pick(name, lambda text: [v for v in text.named(node["enum"]) or text.clipped(node["enum"]) or partly_named(node["enum"], text, self.tool_words) if v not in taken], strict=True)
            options = options or [v for v in self.glossed(name, node) or self.superlative(name, node) or _urgency(name, node, self.part) or _day_part(node, self.part) if v not in taken]
            return {**node, "enum": options} if options else node
        if declared == "string":
            free = not (kind or node.get("pattern") or example_shape(node))
            # a part that points back to a result and quotes nothing takes the result, not a quotation
            # elsewhere in the request ("Search the documents for 'AI ethics' and summarize them")
            refers = self.part.referent is not None and not self.part.quoted
            if free and takes_code(name):
                # code is what the request quotes or an expression it writes out ("compute 17 * 23"),
                # never a span of its prose ("Python to compute"); else the model writes it
                calls = written_calls(self.whole.text)  # spans stop at brackets: "hypot(6, 8)" is found whole here
                written = [s for s in dict.fromkeys([*self.strings(self.whole, node, kind, name, taken), *calls]) if s in self.whole.quoted or reads_as_code(s)]
                written = [s for s in written if not any(s != w and s in w for w in written)]  # "48 / 6 + 1", not "48 / 6"
                return {**node, "enum": written} if written else node
            if (taking := code_parameter(name, node)) and taking.code:
                # a currency, a language, a country the request names by its name ("300 Swiss
                # francs", "captions in Greek"): its code, by direction where it has two
                def coded(text: Evidence) -> list[str]:
                    return [c for c in text.codes_named(taking.system) if taking.written(c) not in taken]

                # a later part's own name CLDR does not know ("... and to Plutonian marks") is its
                # value, not a code the request names elsewhere: its letters make the codes below
                unknown = self.part is not self.whole and not coded(self.part) and self.part.unit_runs
                if not unknown and (named_codes := self.pick(name, coded, strict=True)):
                    return {**node, "enum": list(dict.fromkeys(taking.written(c) for c in named_codes))}
            titled = bool(_told(name, node) & _TITLES)
            # a quoted value of another parameter's enum is that parameter's ("a 'Plus' type Uber")
            # and so is a quoted date or time where the tool takes one ("as of '2023-04-01 12:00:00'")
            quotes = [q for q in self.whole.quoted if not {w.casefold() for w in q.split()} <= self.listed and not (self.dated and _QUOTED_MOMENT.fullmatch(q) and self.whole.runs_into_date(q))]
            quoted = [q for q in self.strings(self.whole, node, kind, name, taken) if q in quotes] if free and (self.single or titled) and not refers else []
            if quoted:
                # the one free text a tool takes, or a title, is what the request quotes, when it
                # quotes ("Execute this code and tell me the output: print(2 ** 10)"; `ttl`,
                # "episode title", of "publish 'Cold Open' with explicit language")
                return {**node, "enum": quoted}
            if (length_layout := duration_layout(name, node)) is not None and (lengths := self.part.durations or self.whole.durations):
                # "for half an hour" where the countdown is 'HH:MM:SS': "00:30:00"
                written = [w for length in lengths if (w := in_duration_layout(length, length_layout)) is not None and w not in taken]
                return {**node, "enum": written} if written else node
            if (moment := self.moment(node)) is not None:
                return moment
            whole_first = free and not self.part.names() and not self.part_first
            options = self.pick(name, lambda text: self.strings(text, node, kind, name, taken), whole_first=whole_first)
            if kind == "date" and (layout := date_layout(node)) is not None:
                # "in the format 'MM/DD/YYYY'": the request's dates as the parameter writes them
                options = [d for d in dict.fromkeys(in_layout(o, layout) for o in options if re.fullmatch(r"\d{4}-\d{2}-\d{2}", o)) if d not in taken]
            addresses = [a.text for a in (self.part.addresses or self.whole.addresses) if a.text not in taken]
            if free and addresses and _takes_an_address(name, node):
                return {**node, "enum": addresses}  # "to 123 White Street, San Jose": the address whole, past its commas
            if free and self.against and (self.part.referent is not None or all(o in self.whole.quoted for o in options)):
                return node  # "Translate 'X' into Spanish" names the target only: the source is the model's to write
            if free and self.part.referent is not None and not self.anchored and not _loose_names(self.part):
                options = [self.part.referent]  # "summarise what you find": what was found
            if not options and not free and self.part.referent is not None:
                # "where was the package left?": the id or date it needs is in the result it refers to
                options = self.strings(Evidence.of(self.part.referent), node, kind, name, taken)
            if not options and example_code(node):
                # a code written in full: the codes the tool's examples give ("US dollars" for USD,
                # one parameter's example serving another), by direction like an enum's values; a
                # code no example gives ("Swiss francs"), the model writes in the code's shape
                codes, size = example_codes(self.schema), len(str(example_code(node)))

                def named(text: Evidence) -> list[str]:
                    return [c for c in text.named(codes) if c not in taken]

                def spelled(text: Evidence) -> list[str]:  # "Canadian dollars": CAD, CND, CDD, and the model writes the real one
                    return [c for c in text.spelled_codes(size) if c not in taken and not text.named([c], codes) == []]

                options = []
                if self.part is not self.whole and not named(self.part):
                    # "... and to British pounds" after "to US dollars": the part's own name comes
                    # before the codes the request names elsewhere
                    options = self.pick(name, lambda text: spelled(text) if text is self.part else [], strict=True)
                options = options or self.pick(name, named, strict=True) or self.pick(name, spelled, strict=True)
                return {**node, "enum": options} if options else {**node, "pattern": example_shape(node)}
            if free and not set(name_words(name)) & _DIGIT_TEXTS and not _told(name, node) & _PROSE:
                # a number a numeric parameter takes is its value, said once: no free text's too
                # ("3 nights" or "2 bikes at Riverside" for the marina's name, where a count takes
                # it), unless it stands alone by the text's name ("password 123412"), the text
                # may be all digits (an id) or it is prose that tells in full ("the sink in room 12
                # drips" as the problem, the room a number as well)
                options = [o for o in options if not self.counted(o, alone=not self.anchored)] or options
            if free and takes_a_place(name, node):
                options = self.towns(options, node, taken)
            if not options:
                return node
            named_words = {*self.whole.name_tokens, *self.part.name_tokens}
            if free and takes_a_name(name, node):
                # a city is "Salt Lake City", not "dog parks in Salt Lake City"
                options = [o for o in options if _names_only(o, named_words)] or options
            if free and "default" in node and head_word(name_words(name)) == "name" and not any(_named(o) or o in self.whole.quoted for o in options):
                return node  # an optional name with no name in the request ("at theaters in ..."): its default
            if free and (end := _name_end(name, node)) is not None:
                # a first name is the first word of a person's name the request writes whole
                # ("Priya" of "Priya Raman"), a last name its last
                people = [o.split() for o in options if len(o.split()) > 1 and _names_only(o, named_words)]
                options = list(dict.fromkeys(words[end] for words in people)) or options
            narrowed = {k: v for k, v in node.items() if k not in ("pattern", "format", "minLength", "maxLength")}
            qualifier = qualifier_shape(node) if free else None
            # a name with no qualifier yet: "St Helena CA" ends in a code of the examples' shape
            # already, and "CA" alone is one; without a comma, a word is the name's own ("New York")
            bare = [
                o for o in options
                if qualifier and "," not in o and all(w[:1].isupper() for w in o.split())
                and not (re.fullmatch(qualifier, o.split()[-1]) and re.fullmatch(CODE_QUALIFIER, o.split()[-1]))
            ]
            if qualifier and bare:
                # "Leuven, Flanders" in the request: its own qualifier, not one the model writes
                options = [o for o in options if o not in bare or not any(q.startswith(f"{o},") or q.endswith(f", {o}") for q in options)]
                bare = [o for o in bare if o in options]
            if qualifier and bare:
                # "Boston" for a parameter whose examples read 'Berkeley, CA': the model writes the
                # qualifier the examples show
                alternatives = [regex_literal(o) for o in options if o not in bare]
                alternatives.append(f"(?:{'|'.join(map(regex_literal, bare))}), {qualifier}")
                return {**narrowed, "pattern": f"^(?:{'|'.join(alternatives)})$"}
            if qualifier == CODE_QUALIFIER:
                options = list(dict.fromkeys(with_its_code(o, node) for o in options))  # "Nairobi, Kenya" where the examples read 'Paris, FR'
            return {**narrowed, "enum": options}
        if declared in ("integer", "number"):
            if worded := [v for v in self.described(node) if v not in taken]:
                return {**node, "enum": worded}  # "a hard workout" where the description reads "1 = easy, ..., 3 = hard"
            clocks = self.part.times or self.whole.times
            if clocks and (part := clock_part(name, node)) is not None:
                # "an alarm for 19:30" with `hh` and `mm`: the time's hour and its minute
                return {**node, "enum": list(dict.fromkeys(int(t.split(":")[part]) for t in clocks))}
            unit = _time_counted(name, node) or _measure_counted(name, node)
            postal = takes_a_postal_code(name)  # a postal code kept as a number: one of its shape, inside an address or not
            # where another parameter counts time, a number given in hours or days is its, not this one's
            timed = time_unit(unit or "") is None and self.counts_time
            if _told(name, node) & _YEAR:
                # `yr`, "model year": a number that reads as one ("a 2015 Honda", not "I'm 52")
                years = [n for n in self.whole.numbers_for(node) if _YEARS[0] <= n <= _YEARS[1] and n not in taken]
                return {**node, "enum": years} if years else node
            options = self.pick(
                name,
                lambda text: [
                    n for n in text.numbers_for(node, unit, postal=postal)
                    if n not in taken and (not postal or postal_shaped(number_text(n))) and not (timed and text.in_time(n))
                ],
                description=str(node.get("description", "")),
                numeric=True,
            )
            if _told(name, node) & _COORDINATES:
                # "119.5383 W": a longitude west of Greenwich, a latitude south of the equator, is negative
                southwest = {float(m[1]) for m in _SOUTH_OR_WEST.finditer(self.whole.text)}
                options = [-n if float(n) in southwest and n > 0 else n for n in options]
            return {**node, "enum": options} if options else node
        return node

    def moment(self, node: dict[str, Any]) -> dict[str, Any] | None:
        """A parameter that takes a date and a time in one string ("YYYY-MM-DD HH:MM:SS"),
        narrowed to the request's own joined so (or its day, the time left to the model);
        None for any other parameter, or a request with no date."""
        if (layout := datetime_layout(node)) is None:
            return None
        plain = {k: v for k, v in node.items() if k not in ("format", "pattern")}
        for text in (self.part, self.whole):
            if joined := [layout.write(d, t) for d in text.dates[:1] for t in dict.fromkeys(text.times)]:
                return plain | {"enum": joined}
        if dates := self.part.dates or self.whole.dates:
            clock = "[0-9]{2}:[0-9]{2}" + (":[0-9]{2}" if layout.seconds else "")
            return plain | {"pattern": f"^{regex_literal(layout.day(dates[0]) + layout.sep)}{clock}{regex_literal(layout.zone)}$"}
        return None

    def counted(self, option: str, *, alone: bool = True) -> bool:
        """Whether a span holds a number that one of the tool's numeric parameters takes: the
        number with the word it counts ("3 nights"; unless `alone` is false), or words around it
        ("2 bikes at Riverside", "$1000", "2021 Ford"). A number ending a name is the name's
        ("Dock 9", "Terminal 3")."""
        quantity = _QUANTITY.fullmatch(option)
        if quantity is not None:
            return alone and float(quantity[1].replace(",", "")) in self.numbers_taken
        text = self.whole
        names = set(text.name_tokens)
        spans = text.where(option)
        for number in self.numbers_taken:
            for at, _ in text.where(number):
                for start, end in spans:
                    if start <= at < end and not (at == end - 1 and at > start and text.tokens[at - 1] in names and not text.tokens[at - 1][:1].isdigit()):
                        return True
        return False

    def quantity_in_a_unit(self, option: str) -> bool:
        """Whether a span is a number one of the tool's numeric parameters takes, given in a unit,
        with its unit or without ("68 °F", "68")."""
        number, *unit = option.split()
        if len(unit) > 1 or not _NUMBER.fullmatch(number):
            return False
        value = float(number.replace(",", ""))
        return value in self.numbers_taken and self.whole.measured(value) and all(u.casefold() in self.whole.given_with(value) for u in unit)

    @cached_property
    def counts_time(self) -> bool:
        """Whether one of the tool's numeric parameters is counted in a unit of time."""
        return any(isinstance(node, dict) and _time_counted(n, node) for n, node in (self.schema.get("properties") or {}).items())

    @cached_property
    def numbers_taken(self) -> set[float]:
        """The request's numbers that one of the tool's numeric parameters takes: read once per
        call, not once per span of each free text."""
        return {
            float(n)
            for leaf in leaves(self.schema)
            if leaf.get("type") in ("integer", "number") and "enum" not in leaf
            for n in self.whole.numbers_for({**leaf, "type": "number"})
        }

    def strings(self, text: Evidence, node: dict[str, Any], kind: str | None, name: str, taken: set[Any]) -> list[str]:
        own = terms(name)[:1]  # the name's first term, in order: a set's first element differs from run to run
        typed = {*text.dates, *text.times, *text.emails, *text.phones}
        searched = bool(set(name_words(name)) & _TOPIC)  # a query or a text, not an id that a verb follows ("B-2077 shipped")
        first = text.tokens[0].casefold() if (text is self.whole or self.part_first) and len(text.tokens) > 2 else None
        taking = code_parameter(name, node)
        others_coded = {w for system, words in self.coded_words.items() if taking is None or system is not taking.system for w in words}
        out = []
        for option in text.strings_for(node, kind):
            if option in taken or self.quantity_in_a_unit(option):
                continue  # a number in a unit is a quantity, whatever it stands by ("room 68 °F")
            if option not in text.quoted and not kind and not node.get("pattern"):
                words = set(terms(option))
                coded = " " not in option and any(c.isdigit() for c in option)  # "RX-55821" names a thing, not the tool `rx_refill`
                if (words & self.tool_words and not coded) or (words and terms(option.split()[0])[:1] == own and len(option.split()) > 1):
                    continue  # "search_inbox" for a query, "IBAN DE89..." for an iban
                folded = {w.casefold() for w in option.split()}
                if folded & self.addressed:
                    continue  # "John Carter, 45" for a name, where the tool takes "45 Elm Street, Springfield, US"
                if folded & self.listed:
                    continue  # "production" (or "production to 12") for `service` when `environment` lists it
                if folded & others_coded:
                    continue  # "yen" for a recipient when `currency` takes an ISO 4217 code
                if any(re.search(rf"(?<!\w){re.escape(t)}(?!\w)", option) for t in self.located) and not takes_a_place(name, node):
                    continue  # "Los Angeles" of "theaters in Los Angeles" for the theater's name: the city's
                if (option.split()[0].casefold() == first and option not in text.names_whole) or any(t in option for t in typed) or any(option in p for p in text.phones):
                    continue  # the request's verb; a date, an address or a phone number (or a piece of one) belongs to its own parameter
                if not searched and option.split()[0].casefold() in ASKING_VERBS and option not in text.names_whole:
                    continue  # "need someone to help", "help": the request's asking, no value
                if option.split()[0].casefold() in _LABELS or (self.dated and text.runs_into_date(option)):
                    continue  # "number 5", "ID 12312": the label a value stands after; "7th of March" is a date's (where a parameter takes one)
                if searched and _cut_from_its_noun(option, text.text):
                    continue  # "2025" of "the 2025 vendor contract" is no search on its own
            out.append(option)
        if not searched and not takes_a_passage(name, node) and not _direction(name, node):
            # (an origin or a destination is found by the words leading to it: "to Leeds")
            offered = [n for n in text.names_whole if n in out]
            out = [o for o in out if not _led_in(o, offered)]
        if set(name_words(name)) & _WEB_WORDS and (web := [o for o in out if WEB_ADDRESS.fullmatch(o)]):
            return web  # a host or a URL is what reads as one ("db.example.com"), not the word by its name
        if codes := [c for c in postal_codes(name, text.tokens) or () if c not in taken]:
            return codes  # a postal code is what reads as one ("94107", "SW1A 1AA"), not the words around it
        if takes_an_identifier(name, node) and (ids := [o for o in out if o in text.identifiers]):
            return ids  # an id is what reads as one ("MS-4" for an "instrument id", "RX-20931" for `rx_no`), not the word before it
        if takes_an_identifier(name, node) and kind is None and not node.get("pattern") and (numbered := _numbered(text, name)):
            return [n for n in numbered if n not in taken]  # "my user ID is 12345": the number, not the words before the name
        return out

    def flag(self, name: str, node: dict[str, Any]) -> bool | None:
        """What the request sets a flag to: by its name, else a few words of description (`clr`,
        "color": "in color"), or what they say after their verb (`rpt`, "repeat every day":
        "every day"), unless the verb turns it around ("skip on weekends")."""
        told = terse(node)
        tail = ["_".join(told[1:])] if len(told) >= 3 and told[0] not in _REVERSING else []
        said = [name, *(["_".join(told)] if told else []), *tail]
        return next((f for text in (self.part, self.whole) for term in said if (f := _boolean(term, text)) is not None), None)

    def described(self, node: dict[str, Any]) -> list[int | float]:
        """The numbers whose words in the description the request says, and does not negate
        ("hard" where it reads "1 = easy, 2 = moderate, 3 = hard"; "cheap" where it reads "1 cheap
        to 4 expensive"), the part's before the whole's."""
        words = described_numbers(node)
        for text in (self.part, self.whole):
            if said := [int(v) if v.is_integer() and node.get("type") == "integer" else v for v, phrase in words.items() if text.says(phrase) and not _said_not(text, phrase)]:
                return said
        return []

    def addresses_for(self, path: str, node: dict[str, Any]) -> list[Address]:
        """The addresses the request writes out for an object at `path`: of several, the one
        after its direction ("from 3 Park Row, ... to 27 Gloucester Road, ..." for `from_addr`)."""
        addresses = self.part.addresses or self.whole.addresses
        leading = _direction(path.rsplit(".", 1)[-1], node) if path and len(addresses) > 1 else frozenset()
        led = [a for a in addresses if leading and re.search(rf"\b(?:{'|'.join(leading)})\s+(?:the\s+)?{re.escape(a.text)}", self.whole.text, re.IGNORECASE)]
        return led[:1] or addresses

    def glossed(self, name: str, node: dict[str, Any]) -> list[str]:
        """The enum values whose own words in the description the request says, words no other
        value's gloss holds ("the cheapest seats" where it reads "lower: seats in the first tier;
        upper: seats in the top tier, the cheapest"); the tool's and the parameter's own words
        tell no value apart ("wash" of `book_wash`). A parameter listing the same values as one
        that glosses them shares its glosses (`dst` beside `src` described "LDS1=Leeds, ..."),
        and one with a direction takes the values said after it ("from Leeds to Glasgow"). The
        part's before the whole's."""
        described = described_values(node) or next(
            (g for other in leaves(self.schema) if other.get("enum") == node["enum"] and (g := described_values(other))), {}
        )
        glosses = {value: set(terms(gloss)) - self.tool_words - _own(name) for value, gloss in described.items()}
        direction = _direction(name, node)
        for text in (self.part, self.whole):
            folded = [t.casefold() for t in text.tokens]
            said: dict[str, list[int]] = {}
            for index, token in enumerate(folded):
                for term in terms(token):
                    owners = [v for v, words in glosses.items() if term in words]
                    if len(owners) == 1:
                        said.setdefault(owners[0], []).append(index)
            led = [v for v, places in said.items() if any(_led_by(folded, i, direction) for i in places)]
            if said:
                return led or list(said)
        return []

    def superlative(self, name: str, node: dict[str, Any]) -> list[str]:
        """The first or the last value of an enum, where a superlative asks for it before a word
        of the parameter ("the biggest paper" for `sz` described as "paper", "in the smallest
        size"), or of a parameter named for what it measures ("the smallest lemon cake" for
        `size`): an enum lists its values from the least to the most."""
        values = [v for v in node["enum"] if isinstance(v, str)]
        own = _own(name, str(node.get("description", "")))
        tokens = [t.casefold() for t in self.part.tokens]
        for index, token in enumerate(tokens):
            end = 0 if token in _LEAST else -1 if token in _MOST else None
            before = any(stem(t) in own or IRREGULAR.get(t) in own for t in tokens[index + 1 : index + 3])
            if end is not None and len(values) > 1 and (before or {_MEASURED_BY.get(token), stem(_MEASURED_BY.get(token, ""))} & own):
                return [values[end]]
        return []

    def towns(self, options: list[str], node: dict[str, Any], taken: set[Any]) -> list[str]:
        """A place's values as towns: the town a value holds ("Walnut Creek" of "Walnut Creek I'm
        interested"), else the one town the request names where no value holds one ("in new
        york" for "Unisex Salon"); each with the state the parameter's format writes after it
        ("Pleasanton, CA"). A value the request qualifies itself stays ("Nairobi, Kenya")."""
        if any("," in o for o in options):
            return options
        named = towns_in(self.whole.text)
        if not named:
            return options

        def town(option: str) -> str | None:
            held = [t for t in named if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", option)]
            return max(held, key=len) if held else None

        coded = [f"{t}, {o[len(t) :].strip()}" for o in options if (t := town(o)) and o.startswith(t) and _CODE_AFTER.fullmatch(o[len(t) :])]
        if coded:
            return coded  # "Dayton OH": the request's own qualifier, written as the format writes one
        found = [t for o in options if (t := town(o))]
        if not found:
            alone = [t for t in (towns_in(self.part.text) or named) if t in named]
            found = alone if len(alone) == 1 else []
        qualified = [with_its_state(named[t], node) or named[t][0].name for t in dict.fromkeys(found)]  # as GeoNames writes it
        # a town an earlier call took is not offered again, nor the span around it ("rooms in Oslo")
        return [q for q in qualified if q not in taken] if qualified else options

    def pick(
        self, name: str, candidates: Callable[[Evidence], list[Any]], *, whole_first: bool = False, description: str = "", numeric: bool = False, strict: bool = False
    ) -> list[Any]:
        """The candidates of the part (then of the whole request) that stand by the parameter's
        name or direction, else all of the first text that has any (`strict`: the part's, when
        it has any)."""
        words = name_words(name)
        own = _own(name, description)
        direction = _FROM if _FROM & set(words) else _TO if _TO & set(words) else frozenset()
        # "How many euros is 75 dollars?" asks for euros: "many" and "much" lead to where a quantity goes
        opposite = (_TO | {"in", "many", "much"}) if direction is _FROM else _FROM if direction else frozenset()
        if direction is _TO:
            direction = direction | {"in", "many", "much"}
        fallback: list[Any] = []
        countered: list[Any] = []
        self.anchored, self.against = False, False
        for text in (self.whole,) if whole_first else (self.part, self.whole):
            options = candidates(text)
            if not options:
                continue
            # "IBAN DE89...", "the Recipes folder"; numbers: "2 adults", "volume 25"
            sides = ("before", "after") if numeric else ("after", "before")
            near = text.anchored(options, own, sides[0]) or text.anchored(options, own, sides[1])
            if not numeric and near and not any(_named(o) for o in near):
                # "The Martin Garrix Experience album is great": a name on the other side of the
                # parameter's name is its value, not the plain word on this side
                near = [o for o in text.anchored(options, own, sides[1]) if _named(o)] or near
            if not near and direction:
                # "from Munich"; "from 200 Pine Street", not "from 200 Pine Street to the Hilton"
                near = text.anchored(options, set(direction), "after")
                near = [o for o in near if not (isinstance(o, str) and set(o.casefold().split()) & opposite)] or near
            elif not near and (leaning := _leaning(words)):
                # a pickup is where a trip goes from, a drop-off where it goes to: a name or a
                # number written there ("from 221B Baker Street to King's Cross"); anywhere
                # else, the place is where it is ("rental cars in Portland, from April 22")
                near = [o for o in text.anchored(options, set(leaning), "after") if _named(o) and not set(str(o).casefold().split()) & (_FROM | _TO)]
            if near:
                self.anchored = True
                return near
            if opposite:  # "from X to Y": the origin is not the value after "to"
                other = text.anchored(options, set(opposite), "after")
                self.against = self.against or bool(other)
                if strict and direction is _FROM and other and set(other) >= set(options):
                    return []  # "10 pounds to kilograms" names where it goes only: the origin is the model's to choose
                if other and set(other) >= set(options) and text is not self.whole:
                    # "..., to GBP" after "Convert 50 EUR to USD": the part names where it goes only,
                    # the origin is the request's
                    countered = countered or options
                    continue
                options = [o for o in options if o not in other] or options
            if direction and not numeric:
                # a quantity's unit stands after its number ("12 inches"): the unit it is in, the
                # origin; the other is where it goes ("How many centimetres are in 12 inches?"),
                # which the model chooses when the request names no other ("Convert 250 g to ounces")
                counted = [o for o in options if any(text.after_number(start) for start, _ in text.where(o))]
                if 0 < len(counted) < len(options):
                    options = counted if direction is _FROM else [o for o in options if o not in counted]
                elif counted and direction is not _FROM:
                    return []
            if strict:
                return options  # an enum value this part names is its own ("my checking and my savings accounts")
            fallback = fallback or options  # a value may stand by its name elsewhere ("2 adults and 1 child", "..., IBAN X")
        return fallback or countered


def offered_codes(schema: dict[str, Any], message: str) -> dict[str, Any]:
    """A copy of an object schema whose code parameters (a code of capitals for an example:
    "e.g. USD") take only the codes of that shape `message` lists ("unknown currency 'Swiss':
    use a three-letter code, one of USD, EUR, GBP ..."), when it lists several; the rest as
    they are."""
    out = copy.deepcopy(schema)
    found = Evidence.of(message)
    for node in (out.get("properties") or {}).values():
        shape = example_shape(node) if isinstance(node, dict) and example_code(node) else None
        # not the code it refused ("unknown currency 'SWF'")
        codes = list(dict.fromkeys(t for t in found.tokens if shape and re.fullmatch(shape, t) and t not in found.quoted))
        if len(codes) > 1:
            node["enum"] = codes
    return out


_CODE_AFTER = re.compile(rf" {CODE_QUALIFIER}")
"""A code after a town's name: "Dayton OH", "Leuven BE"."""


_LEAST = frozenset({"smallest", "cheapest", "lowest", "shortest", "lightest", "slowest", "tiniest", "minimum"})
_MOST = frozenset({"biggest", "largest", "top", "highest", "longest", "tallest", "heaviest", "fastest", "maximum"})
"""Superlatives that ask for the first, or the last, value of an enum listed from the least to the most."""
_MEASURED_BY = {
    **dict.fromkeys(("smallest", "tiniest", "biggest", "largest"), "size"),
    **dict.fromkeys(("shortest", "longest"), "length"),
    **dict.fromkeys(("lightest", "heaviest"), "weight"),
    **dict.fromkeys(("slowest", "fastest"), "speed"),
    "cheapest": "price",
}
"""The quantity a superlative measures: it asks for a parameter of that name wherever it stands
("the smallest lemon cake" for `size`)."""


def _direction(name: str, node: dict[str, Any]) -> frozenset[str]:
    """The words before a value that give a parameter's direction: "from" for an origin (`src`,
    `from_city`, "from warehouse"), "to" for a destination; none for any other."""
    words = set(name_words(name)) | set(str(node.get("description", "")).casefold().split()[:1])
    return frozenset({"from"}) if words & (_FROM | {"src"}) else frozenset({"to", "into"}) if words & (_TO | {"dst", "dest"}) else frozenset()


def _led_by(words: list[str], index: int, leading: frozenset[str]) -> bool:
    """Whether the word at `index` follows one of `leading`, maybe past an article or a
    possessive ("to the Manchester warehouse", "from our Leeds site")."""
    before = words[max(0, index - 2) : index]
    return bool(before) and (before[-1] in leading or (len(before) == 2 and before[0] in leading and before[1] in _DETERMINERS))


_DETERMINERS = frozenset({"the", "a", "an", "my", "our", "your", "their", "his", "her"})


def _cut_from_its_noun(option: str, text: str) -> bool:
    """Whether a phrase ends on a number (or a code with digits) that a word follows in the
    text: "2025" of "the 2025 vendor contract", "Q3" of "Q3 2026 sales": the number tells
    which one, the words after it what."""
    if not any(c.isdigit() for c in option.split()[-1]):
        return False
    after = re.finditer(rf"(?<!\w){re.escape(option)}[ \t]+([^\W_]+)", text)
    return any(m.group(1).casefold() not in STOP_WORDS for m in after)


def _leaning(words: list[str]) -> frozenset[str]:
    """The direction a pickup or a drop-off leans to (`_LEANING`), none for any other name."""
    return next((_LEANING[w] for w in words if w in _LEANING), frozenset())


def _loose_names(text: Evidence) -> list[str]:
    """The names a text holds that no direction claims ("Seoul" in "the weather in Seoul",
    not "French" in "into French"): values of its own, not a reference to an earlier result."""
    folded = [t.casefold() for t in text.tokens]
    return [t for t in text.name_tokens if not any(folded[i - 1] in _FROM | _TO for i, w in enumerate(text.tokens) if w == t and i > 0)]


def _name_end(name: str, node: dict[str, Any]) -> int | None:
    """Which word of a person's name a parameter takes: 0 for a first name (`first_name`,
    `given`, "forename", `fn` described as "first"), -1 for a last name (`surname`, `family`
    described as "last name", `ln` as "last"); None for a whole name or any other text."""
    words = _told(name, node)
    if words & {"first", "given", "forename", "firstname", "fname"} and (words & {"name", "firstname", "forename", "fn", "fname"} or "given" in words):
        return 0
    if words & {"last", "family", "surname", "lastname", "lname"} and (words & {"name", "lastname", "surname", "ln", "lname"} or "family" in words):
        return -1
    return None


def _names_only(option: str, names: set[str]) -> bool:
    """Whether a string is made of the text's name words only, maybe joined by commas ("New
    Delhi, India"; not "Parks" opening a sentence)."""
    words = option.replace(",", " ").split()
    return bool(words) and all(w in names for w in words)


def _led_in(option: str, names: list[str]) -> bool:
    """Whether an option is one of `names` (offered whole) led in by words of the sentence around
    it: "near Shibuya Station", "free at the Harbour Road" beside "Shibuya Station", "Harbour
    Road" (not "Bank of America" beside "America": the lead is a name's own)."""
    for name in names:
        lead = option[: -len(name)].split() if option.endswith(f" {name}") else []
        if lead and all(w.islower() for w in lead) and lead[-1] in _LEADING_IN:
            return True
    return False


_LEADING_IN = frozenset({"at", "in", "on", "near", "by", "from", "to", "the", "of", "for", "with", "around", "outside", "inside"})
"""The words that lead in to a name of a place or a thing ("at the", "near")."""


def _named(option: Any) -> bool:
    """Whether a candidate is a name: capitalised or with digits, not a plain word."""
    return isinstance(option, str) and (option[:1].isupper() or any(c.isdigit() for c in option))


URL_WORDS = frozenset({"url", "uri", "endpoint", "link"})
ID_WORDS = frozenset({"id", "ids", "uuid", "ref"})
"""Words of a parameter's name (or terse description) that say it takes an identifier."""
_NUMBERED = frozenset({"no", "nr", "num", "number", "digit", "digits"})
"""Words by which a string parameter takes a number that names something (`rx_no`, "order
number"): an identifier, where the request writes one."""
_WEB_WORDS = URL_WORDS | {"host", "hostname", "domain", "website"}


def _without_labels(kept: dict[str, Any], properties: dict[str, Any]) -> dict[str, Any]:
    """The parameters with each enum narrowed to several values the request names keeping none
    that is only the name of another parameter ("the Ethernet interface" names the
    `interfaceType`, not the value `interfaces` of `infoType`)."""
    out = dict(kept)
    for name, node in kept.items():
        options = node.get("enum") if isinstance(node, dict) else None
        if not isinstance(options, list) or len(options) < 2 or node is properties.get(name):
            continue
        labels = {t for other in properties if other != name for t in terms(other.replace("_", " ")) if t not in _GENERIC}
        values = [v for v in options if not (isinstance(v, str) and set(terms(v)) and set(terms(v)) <= labels)]
        if values and len(values) < len(options):
            out[name] = {**node, "enum": values}
    return out


def _alike(item: dict[str, Any], identifiers: list[str]) -> dict[str, Any]:
    """A list item's schema whose codes the request names by the field's name ("SKU A-118") also
    offered the request's other codes of the same shape ("... and 12 of B-220"): every item's
    field takes one."""
    properties = dict(item.get("properties") or {})
    for name, node in properties.items():
        codes = node.get("enum") if isinstance(node, dict) and node.get("type") == "string" else None
        if codes and all(c in identifiers for c in codes):
            shapes = {code_shape(c) for c in codes}
            properties[name] = {**node, "enum": list(dict.fromkeys([*codes, *(i for i in identifiers if code_shape(i) in shapes)]))}
    return {**item, "properties": properties}


def code_shape(code: str) -> str:
    """A code's letters, digits and marks as classes: "A-118" and "B-220" are both "A-999"."""
    return "".join("A" if c.isupper() else "a" if c.islower() else "9" if c.isdigit() else c for c in code)


def _without_amounts(item: dict[str, Any]) -> dict[str, Any]:
    """A list item's object whose free texts are offered no span holding a number its own
    numbers are offered, nor one opening with their name: "200 grams of oatmeal" is 200 for
    `grams` and "oatmeal" for `name` (unless no other span is left)."""
    properties = item.get("properties") or {}
    numeric = {n: c for n, c in properties.items() if isinstance(c, dict) and c.get("type") in ("integer", "number")}
    amounts = {number_text(v) for c in numeric.values() for v in c.get("enum") or []}
    if not amounts:
        return item
    labels = {t for n in numeric for t in terms(n.replace("_", " "))}
    kept = {}
    for name, child in properties.items():
        options = child.get("enum") if isinstance(child, dict) and child.get("type") == "string" else None
        if options and not {"pattern", "format"} & child.keys():
            spared = [o for o in options if not set(str(o).split()) & amounts and not set(terms(str(o).split()[0])) & labels]
            child = {**child, "enum": spared} if spared else child
        kept[name] = child
    return {**item, "properties": kept}


def _takes_addresses(node: dict[str, Any]) -> bool:
    """Whether an object schema takes an address: a free text for one, or an object of its parts."""
    properties = node.get("properties") or {}
    return bool(address_fields(properties)) or any(
        (free_text(child) and _takes_an_address(name, child)) or (child.get("type") == "object" and _takes_addresses(child))
        for name, child in properties.items() if isinstance(child, dict)
    )


def _takes_an_address(name: str, node: dict[str, Any]) -> bool:
    """Whether a free-text parameter takes a street address: by its name, or a description
    that speaks of a street or an address."""
    words = set(name_words(name)) | set(terms(str(node.get("description", ""))))
    return bool(words & {"address", "street", "addr"})


def free_text(node: Any) -> bool:
    """Whether a parameter takes free text: a string of no enum, pattern or format."""
    return isinstance(node, dict) and node.get("type") == "string" and not any(k in node for k in ("enum", "pattern", "format"))


def _own(name: str, description: str = "") -> set[str]:
    """The words that name a parameter in a request: its name's telling words (and long words
    of its description)."""
    return {IRREGULAR.get(w, stem(w)) for w in name_words(name) if w not in _GENERIC and w not in _PREPOSITIONS and len(w) > 1} | {
        t for t in terms(description) if len(t) > 3
    }


def _claims(node: dict[str, Any], text: Evidence) -> Counter[str | None]:
    """The typed values (dates, numbers ...) the required parameters take (those of an
    optional object the text speaks of included): a value serves one parameter, so an optional
    one gets only what is left over."""
    required = set(node.get("required") or [])
    claimed: Counter[str | None] = Counter()
    for name, child in (node.get("properties") or {}).items():
        if not isinstance(child, dict):
            continue
        if child.get("type") == "object" and (name in required or speaks_of(name, child, text)):
            claimed.update(_claims(child, text))
        elif name in required:
            claimed[value_kind(name, child)] += 1
    return claimed


def _kinds(node: dict[str, Any]) -> set[str | None]:
    """The kinds of value (`value_kind`) an object schema's parameters take, nested ones included."""
    out: set[str | None] = set()
    for name, child in (node.get("properties") or {}).items():
        if isinstance(child, dict):
            items = child.get("items")
            inner = child if child.get("type") == "object" else items if isinstance(items, dict) and items.get("type") == "object" else None
            out |= _kinds(inner) if inner is not None else {value_kind(name, child)}
    return out


_RANGE_LEADS = {"after": "start", "from": "start", "since": "start", "starting": "start", "before": "end", "by": "end", "until": "end", "till": "end", "to": "end"}
"""Words before a date or a time that say which end of a range it is."""


def _end_of_range(name: str) -> str | None:
    """Which end of a range a parameter takes, by its name (`start`, `from_date`, `end_time`)."""
    words = set(name_words(name))
    if words & {"start", "begin", "from", "since", "earliest"}:
        return "start"
    if words & {"end", "until", "to", "latest", "finish"}:
        return "end"
    return None


def _mailed(name: str, text: Evidence) -> bool:
    """Whether an e-mail address of the text is made of a word of the name, or of its initial
    and last word (accents aside: "Lucía Gómez" of lucia@..., "Ana Silva" of ana.silva@...,
    "Tomás Ruiz" of truiz@...): a person's."""

    def plain(word: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))

    words = [plain(w) for w in name.split()]
    spelled = {*words, words[0][:1] + words[-1]} if words else set()
    return any(spelled & set(re.split(r"[._+-]", plain(address.split("@")[0]))) for address in text.emails)


def _numbered_items(node: dict[str, Any]) -> bool:
    """Whether a parameter lists objects that each require a number."""
    items = node.get("items") if node.get("type") == "array" else None
    if not isinstance(items, dict) or items.get("type") != "object":
        return False
    properties = items.get("properties") or {}
    return any(isinstance(properties.get(n), dict) and value_kind(n, properties[n]) == "number" for n in items.get("required") or [])


def _time_counted(name: str, node: dict[str, Any]) -> str | None:
    """The unit of time a numeric parameter counts in: `duration_minutes` minutes, `dur`
    described as "minutes" minutes too; None for any other."""
    if node.get("type") not in ("integer", "number"):
        return None
    if unit := next((u for w in name_words(name) if (u := time_unit(w))), None):
        return unit
    # "minutes", "time in seconds"; not "the second integer" or "metres per second"
    told = [w.strip(EDGE).casefold() for w in str(node.get("description", "")).split()]
    return next(
        (u for before, w in zip(["", *told], told, strict=False) if (u := time_unit(w)) and before != "per" and (w.endswith("s") or before == "in")),
        None,
    )


def _measure_counted(name: str, node: dict[str, Any]) -> str | None:
    """The unit of length, mass or volume a numeric parameter counts in, by its name
    (`height_cm`) or a unit its description gives "in" or in brackets ("height in centimetres",
    "weight (kg)"); None for any other."""
    if node.get("type") not in ("integer", "number"):
        return None
    if unit := next((w for w in name_words(name) if unit_of_measure(w)), None):
        return unit
    told = re.findall(r"(?:\bin\s+|\()([A-Za-z]+)", str(node.get("description", "")))
    return next((w for w in told if unit_of_measure(w)), None)


def value_kind(name: str, node: dict[str, Any]) -> str | None:
    """Which of the text's typed values (dates, times, e-mail addresses, phone numbers, numbers) a
    parameter takes."""
    if node.get("type") in ("integer", "number") and "enum" not in node:
        return "number"
    kind = _kind(name, node)
    return kind if kind in ("date", "time", "email", "phone") else None


_KINDS = (("email", ("mail", "recipient", "cc", "bcc")), ("date", ("date", "yyyy", "aaaa", "jjjj")), ("time", ("time", "hh")))
_PHONE_WORDS = frozenset({"phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "phonenumber"})


def _kind(name: str, node: dict[str, Any]) -> str | None:
    """What a string parameter (or an array's string items) holds: its `format`, or what its
    name or description says (an e-mail address, a date, a time) when the schema gives none."""
    items = node.get("items")
    target: dict[str, Any] = items if node.get("type") == "array" and isinstance(items, dict) else node
    if target.get("type") != "string" or "enum" in target:
        return None
    if target.get("format"):
        return str(target["format"])
    if target.get("pattern"):
        return None
    if _told(name, node) & _PHONE_WORDS:
        return "phone"
    described = name_words(str(node.get("description", "")))
    if 0 < len(described) <= 5 and described[-1] == "name":
        return None  # `recipient` described as "saved recipient's name" takes a name, no address
    # the name first: `alarm_time` described as "'YYYY-MM-DD HH:MM:SS', 'HH:MM' ..." holds a time
    own = set(terms(name.replace("_", " "))) | set(name_words(name))
    told = set(terms(glossed(f"{node.get('description', '')} {target.get('description', '')}")))
    for words in (own, own | told):
        for kind, cues in _KINDS:
            if any(w.startswith(cue) or w.endswith(cue) for w in words for cue in cues):  # "mail", "email", "e-mail"
                return kind
    return None


def takes_a_name(name: str, node: dict[str, Any] | None = None) -> bool:
    """Whether a parameter, by its name, takes the name of a place or a person (`city`,
    `location`, `username`, `artist`), not free text (`user_query`); or, by a description of a
    few words, the name of something (`mrn`, "marina name")."""
    words, named = set(name_words(name)), _PLACE_OR_PERSON | _ROLES
    if words & named and not words & _FREE_TEXT:
        return True
    said = terse(node)
    return bool(said) and not set(said) & _FREE_TEXT and (head_word(said) == "name" or bool(set(said) & named))


def takes_a_place(name: str, node: Any) -> bool:
    """Whether a parameter, by its name or a few words of description, takes a place: a city,
    a location, a port ("nome del porto")."""
    return isinstance(node, dict) and node.get("type") == "string" and "enum" not in node and bool(_told(name, node) & _PLACES)


_PLACES = frozenset({"city", "location", "loc", "place", "town", "village", "destination", "country", "region", "area", "harbour", "harbor", "port", "marina", "airport", "station", "venue"})


def takes_a_passage(name: str, node: Any) -> bool:
    """Whether a parameter takes a passage to work on (`text`, `code`, `query`, `prompt`,
    "content of the note"), not a term or a title ("main ingredient", `movie_name`)."""
    return free_text(node) and bool(_told(name, node) & (_PROSE | _WORKED_ON))


_WORKED_ON = frozenset({"text", "code", "script", "snippet", "query", "prompt", "input", "sentence", "question", "passage", "document", "review", "paragraph", "content"})
"""Words by which a parameter takes text a tool works on (analyses, runs, translates, answers)."""


def names_for(name: str, node: dict[str, Any], text: Evidence) -> bool:
    """Whether the text gives a person's name to a parameter taking one by a word of content
    before it ("acted by Lori Tuisano" for `cast`, "directed by" for `directed_by`), or puts the
    name in the role the parameter is named for ("with Mr Adeyemi" for a teacher)."""
    if not (takes_a_name(name, node) and free_text(node)):
        return False
    own, role = _own(name), bool(_told(name, node) & _ROLES)
    return any(_cue(text, own, person) > 1 or (role and _in_role(text, person, own)) for person in text.names_whole)


def _cue(text: Evidence, own: set[str], person: str) -> int:
    """How strongly the two words before a person's name in the text call for the parameter
    whose `own` words are given: 2 for a word of its own ("directed by" for `directed_by`) or a
    verb that puts a person in a film ("starring", "acted by") where the parameter names
    actors; 1 for a preposition that does ("by" for `directed_by`, "with"); else 0."""
    tokens = [t.casefold() for t in text.tokens]
    first = person.split()[0].casefold()
    strength = 0
    for index in (i for i, t in enumerate(tokens) if t == first):
        for word in tokens[max(0, index - 2) : index]:
            # "directed" calls for a director: one stem, or one the start of the other
            called = any(stem(word) == stem(o) or (len(stem(word)) > 4 and o.startswith(stem(word))) for o in own)
            called = called or (word in _CAST_CUES and bool(own & _CAST_WORDS))
            if called:
                strength = max(strength, 1 if word in _LINKING else 2)
    return strength


def _in_role(text: Evidence, name: str, own: set[str]) -> bool:
    """Whether the text names a person in the role whose `own` words are given: a word of the role
    before the name or right after it ("the trainer Ines", "Priya teaching"), or "with" or "by"
    right before it ("a trim with Marta")."""
    if _cue(text, own, name):
        return True
    tokens = [t.casefold() for t in text.tokens]
    words = name.split()
    first, last = words[0].casefold(), words[-1].casefold()
    before = any(t == first and i > 0 and tokens[i - 1] in _BY_OR_WITH for i, t in enumerate(tokens))
    after = any(t == last and i + 1 < len(tokens) and stem(tokens[i + 1]) in own for i, t in enumerate(tokens))
    return before or after


def _urgency(name: str, node: dict[str, Any], text: Evidence) -> list[str]:
    """The value of a priority's enum that says how urgent the request says it is: "urgent",
    "asap" its highest value (`hi`, `urgent`, `stat`), "no rush" its lowest (`lo`, `routine`)."""
    if not any(w.startswith(("prio", "urgen")) for w in name_words(name)):
        return []
    values = [v for v in node.get("enum") or [] if isinstance(v, str)]
    folded = [t.casefold().strip(EDGE) for t in text.tokens]
    said = set(folded) | {" ".join(pair) for pair in zip(folded, folded[1:], strict=False)}
    if said & _UNHURRIED:
        return [v for v in values if v.casefold() in _LOW][:1]
    if said & _URGENT:
        return [v for v in values if v.casefold() in _HIGH][-1:]
    return []


def _day_part(node: dict[str, Any], text: Evidence) -> list[str]:
    """The value of an enum of parts of the day (`morning`, `afternoon`, `evening`, `late_night`)
    the one time the text tells falls in ("free after 6pm" is the evening)."""
    values = [v for v in node.get("enum") or [] if isinstance(v, str)]
    parts = {v: set(name_words(v)) & set(_DAY_PARTS.values()) for v in values}
    if len({p for found in parts.values() for p in found}) < 2 or len(set(text.times)) != 1:
        return []
    hour = int(text.times[0][:2])
    part = next(p for start, p in reversed(_DAY_PARTS.items()) if hour >= start) if hour >= 5 else "night"
    return [v for v, found in parts.items() if part in found][:1]


_DAY_PARTS = {5: "morning", 12: "afternoon", 17: "evening", 22: "night"}
"""Where each part of the day starts, by the hour (night runs on to 5 in the morning)."""
_COORDINATES = frozenset({"latitude", "longitude", "lat", "lon", "lng", "long"})
_SOUTH_OR_WEST = re.compile(r"(\d+(?:\.\d+)?)\s*°?\s*(?:[SW]\b|(?i:south|west)\b)")
"""A coordinate's parameter, and a number written south or west of zero ("33.86 S", "119.5 W")."""
_URGENT = frozenset({"urgent", "urgently", "asap", "immediately", "emergency"})
_UNHURRIED = frozenset({"no rush", "no hurry", "not urgent", "whenever", "eventually"})
_HIGH = frozenset({"hi", "high", "urgent", "critical", "stat", "asap", "top", "highest", "emergency"})
_LOW = frozenset({"lo", "low", "lowest", "routine", "minor"})
"""Words telling how urgent a request is, and the values of a priority that say it."""


def _numbered(text: Evidence, name: str) -> list[str]:
    """The numbers written right after the last word of a parameter's name, or after it and
    "is" ("user ID is 12345", "user id: 778812", "order ID is #123" for `user_id`)."""
    last = name_words(name)[-1:]
    folded = [t.casefold().strip(EDGE) for t in text.tokens]
    out = []
    for index, token in enumerate(folded):
        at = index - 1 - (index > 1 and folded[index - 1] in ("is", "was"))
        if token.lstrip("#").isdigit() and at >= 0 and [stem(folded[at])] == [stem(w) for w in last]:
            out.append(token)  # as written: "#123" stays "#123"
    return out


def takes_an_identifier(name: str, node: dict[str, Any]) -> bool:
    """Whether a parameter, by its name or a few words of description, takes an identifier:
    an id (`order_id`, "instrument id") or a number that names something (`rx_no`, "customer
    account number", "13-digit ISBN")."""
    return bool(_told(name, node) & (ID_WORDS | _NUMBERED))


def _told(name: str, node: dict[str, Any]) -> set[str]:
    """The words that say what a parameter holds: its name's and a few words of description's."""
    return {*name_words(name), *terse(node)}


def terse(node: dict[str, Any] | None) -> list[str]:
    """The words of a description that only names what a parameter holds ("marina name",
    "episode title", "start time"; "nom du client" as "name du client"): a few words, no
    sentence; none for any other."""
    description = glossed(str((node or {}).get("description", "")).strip())
    words = name_words(description)
    return words if 0 < len(words) <= _TERSE_WORDS and not re.search(r"[.;:!?(]", description) else []


_REVERSING = frozenset({"skip", "exclude", "disable", "avoid", "ignore", "omit", "hide", "block", "stop", "no", "not", "without", "never"})
"""First words of a flag's description that turn what follows around ("skip on weekends")."""
_PROSE = frozenset({"description", "message", "text", "content", "note", "notes", "comment", "issue", "problem", "details", "body", "statement", "reason"})
"""Words by which a free text is prose telling something, not a name or a term."""
_QUOTED_MOMENT = re.compile(r"[\d\s:/.,TZ+-]+(?:\s*[ap]\.?m\.?)?", re.IGNORECASE)
"""A quotation that is a date or a time and nothing else ("'2023-04-01 12:00:00'")."""
_TERSE_WORDS = 3
_TITLES = frozenset({"title", "subject", "headline", "caption"})


def takes_code(name: str) -> bool:
    """Whether a parameter, by its name, takes code to run or evaluate (`code`, `python_code`,
    `script`, `expression`), not a code of letters (`country_code`, `promo_code`)."""
    words = name_words(name)
    return bool(set(words) & _PROGRAM) or (words[-1:] == ["code"] and set(words[:-1]) <= _LANGUAGES)


_PROGRAM = frozenset({"script", "snippet", "expression", "formula"})
_LANGUAGES = frozenset({"source", "python", "py", "js", "javascript", "program", "shell", "bash", "sql"})
_CALL_OPENS = re.compile(r"[A-Za-z_][\w.]*\(")


def written_calls(text: str) -> list[str]:
    """The function calls a text writes out, each whole with the calls inside it:
    "print(len('radixagent'))", not "len('radixagent')"."""
    out: list[str] = []
    end = 0
    for opening in _CALL_OPENS.finditer(text):
        if opening.start() < end:
            continue  # inside the call found last
        depth = 0
        for i in range(opening.end() - 1, len(text)):
            if text[i] == "\n":
                break
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                out.append(text[opening.start() : i + 1])
                end = i + 1
                break
    return out

_OPERATIONS = (ast.BinOp, ast.Call, ast.Subscript, ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp)


def reads_as_code(text: str) -> bool:
    """Whether a phrase is an expression that computes something ("17 * 23", "sqrt(2)",
    "2 ** 10"), not words that happen to parse ("Paris", "cats in Paris")."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(node, _OPERATIONS) for node in ast.walk(tree))


_PLACE_OR_PERSON = frozenset(
    {"city", "location", "place", "country", "town", "destination", "origin", "username", "user", "author", "artist", "company", "person"}
    | {"starring", "actor", "actors", "actress", "cast", "director", "directed", "singer", "performer", "composer", "writer", "band"}
    | {"student", "patient", "guest", "customer", "client", "passenger", "employee", "member", "owner"}
    | {"make", "brand", "manufacturer", "vendor"}
)
_ROLES = frozenset(
    {"who", "stylist", "barber", "teacher", "tutor", "instructor", "coach", "trainer", "doctor", "dentist", "therapist", "nurse"}
    | {"guide", "driver", "mechanic", "technician", "photographer", "assignee", "attendee", "organizer", "organiser", "speaker"}
)
"""People by the role they serve the user in: named as such only after "with" or "by", or a word
of the role ("with Marta" for a stylist; "a tour of Gyeongbokgung" names no guide)."""
_FREE_TEXT = frozenset({"query", "text", "message", "prompt", "question", "content", "input", "request", "keyword", "keywords", "description"})
_TOPIC = _FREE_TEXT | {"topic", "subject", "title", "term", "terms", "search"}


def untelling_terms(properties: dict[str, Any]) -> set[str]:
    """Terms in the descriptions of two or more parameters ("movies" in each parameter of a
    film search): they tell none of them apart."""
    seen: Counter[str] = Counter()
    for node in properties.values():
        if isinstance(node, dict):
            seen.update(set(terms(str(node.get("description", "")))))
    return {t for t, n in seen.items() if n > 1}


def partly_named(values: Iterable[Any], text: Evidence, untelling: Iterable[str] = ()) -> list[str]:
    """The values (an enum's) of several words that the text says one of their own words of: a
    word of four letters or more no other value has, nor `untelling` (the tool's own words), and
    not said as part of a code's name or of a town's the value does not name ("near the back"
    says `back_rows`, "email me" `email_reply`, "I'll wait there" `wait_on_site`, "London time"
    `Europe/London`; "American Canyon" no `American Airlines`). Weaker than a mention: ask it
    where the text mentions none of them."""
    strings = [v for v in values if isinstance(v, str)]
    words = {v: set(terms(v)) for v in strings}
    unplaced, towns = _unplaced_terms(text.without_codes.text)
    out = []
    for value in strings:
        others = set().union(*(words[v] for v in strings if v != value))
        said = unplaced.union(*(town for town in towns if town <= words[value])) - set(untelling) - _SAYS_LITTLE
        if len(words[value]) > 1 and any(len(w) >= 4 for w in (words[value] - others) & said):
            out.append(value)
    return out


@lru_cache(maxsize=256)
def _unplaced_terms(text: str) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    """The terms of `text` outside the towns it names, and each town's terms."""
    towns = list(towns_in(text))
    for town in towns:
        text = re.sub(rf"(?<!\w){re.escape(town)}(?!\w)", " ", text)
    return frozenset(terms(text)), tuple(frozenset(terms(town)) for town in towns)


_SAYS_LITTLE = GENERIC_NAME_WORDS | {"change", "make", "full", "other", "more", "less", "default", "none", "without", "area", "place"}
"""Words of an enum value of several words that do not name it on their own ("I'd like to
change the time" says nothing of `oil_change`)."""


def speaks_of(name: str, node: dict[str, Any], text: Evidence, untelling: Iterable[str] = ()) -> bool:
    """Whether the text says anything of an optional parameter: its name (any telling word of
    it) or description (a term not in `untelling`: the tool's name, the words every parameter
    shares), a value of its enum (a code also by its name), a flag it sets, the items of a typed
    list, a town for a place."""
    words = [w for w in name_words(name) if len(w) > 2 and w not in _GENERIC]
    listed = [v for v in node.get("enum", []) if isinstance(v, str)]
    if any(text.mentions(w) for w in words) or text.named(listed) or text.clipped(listed) or partly_named(listed, text, untelling) or _urgency(name, node, text) or _day_part(node, text):
        return True  # the value by its code or its name ("the German word" for `de`), a priority by its urgency
    skip = set(untelling)
    description = [t for t in terms(glossed(str(node.get("description", "")))) if len(t) > 3 and t not in skip]
    if description and any(t in text.words for t in description):
        return True
    kind = _kind(name, node)
    if node.get("type") == "object":
        children = node.get("properties") or {}
        return any(speaks_of(n, c, text, skip) for n, c in children.items() if isinstance(c, dict))
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict):
        # a list of addresses, dates ... the text holds several of
        return (kind or items.get("pattern")) is not None and len(text.strings_for(items, kind)) > 1
    if node.get("type") == "boolean":
        return _boolean(name, text) is not None
    if takes_a_place(name, node) and towns_in(text.text):
        return True  # "the concert at Seattle" for `city`
    return _listed_in_time(name, node, text)  # "a 45 minute walk" for `mins` of 30, 45 or 60


def _listed_in_time(name: str, node: dict[str, Any], text: Evidence) -> bool:
    """Whether the text gives a length of time, and one of a numeric enum counted in time is it."""
    counted = [v for v in node.get("enum", []) if isinstance(v, int | float) and not isinstance(v, bool)]
    unit = _time_counted(name, node) if counted else None
    return unit is not None and any(text.in_time(n) for n in text.numbers) and bool(set(counted) & set(text.numbers_for({"type": "number"}, unit)))


def _flag_values(values: list[Any]) -> dict[bool, str] | None:
    """How a string enum spells a flag's two values ("True", "False", maybe a "dontcare" beside
    them), or None for any other enum."""
    spelled = {str(v).casefold(): v for v in values if isinstance(v, str)}
    if {"true", "false"} <= spelled.keys() and len(spelled) <= 3:
        return {True: spelled["true"], False: spelled["false"]}
    return None


def _defaulted_choice(node: dict[str, Any]) -> bool:
    """Whether a parameter with a default takes a string or a boolean flag, whose default stands
    where the request names no value. Not a flag spelled 'True' / 'False' / 'dontcare': its
    default is "no preference", and a request speaking of it ("suitable for children" for
    `good_for_kids`) has one."""
    if "default" not in node:
        return False
    return node.get("type") == "boolean" or (node.get("type") == "string" and not _a_flag(node))


def _a_flag(node: dict[str, Any]) -> bool:
    return node.get("type") == "boolean" or _flag_values(node.get("enum") or []) is not None


def _negated(words: list[str], at: int) -> bool | None:
    """Whether the clause holding word `at` (of `_FLAG_WORD`'s words) negates it: a negation just
    before it ("no reminder"), or earlier in its clause ("Don't leave the hall light on") unless
    a verb turns it around again ("don't forget to switch it on"); None where it says the user
    does not mind either way ("I don't mind if it has a garage")."""
    start = max((i + 1 for i, w in enumerate(words[:at]) if w in _CLAUSE_BREAKS), default=0)
    for i in range(start, at):
        if not _a_negation(words[i]):
            continue
        if words[i + 1 : i + 2] in (["mind"], ["care"]):
            return None
        if at - i <= 3 or not set(words[i + 1 : at]) & _NEGATING_VERBS:
            return True
    return False


def _said_not(text: Evidence, phrase: str) -> bool:
    """Whether the text negates where it says `phrase` ("not too expensive")."""
    words = _FLAG_WORD.findall(text.text.casefold())
    first = phrase.split()[0].casefold()
    return any(_negated(words, at) for at, word in enumerate(words) if word == first)


def _a_negation(word: str) -> bool:
    return word in _NEGATIONS or word in _REVERSING or word.endswith("n't")


_NEGATIONS = frozenset("not no non never nothing without nor cannot except dont cant wont isnt arent doesnt didnt shouldnt wouldnt couldnt wasnt werent hasnt havent".split())
_FLAG_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?|[,;:.!?]")
_CLAUSE_BREAKS = frozenset({",", ";", ":", ".", "!", "?", "and", "but", "so", "then", "while", "because", "although", "though"})
"""Where a negation's reach ends; not at "or" ("no garage or laundry" wants neither)."""
_FLAG_FRAMES = frozenset("only is has have with include includes allow allowed allows enable enabled in visibility".split())
"""Words of a flag's name that frame it rather than say it: `has_garage` is said by "a garage",
`smoking_allowed` by "smoking rooms", `private_visibility` by "private"."""
_NEGATING_VERBS = NEGATED_AWAY | {"stop"}
"""Verbs that a negation before them turns into the opposite ("don't forget to lock it", "don't
stop the heating": it stays on)."""


def _boolean(name: str, text: Evidence) -> bool | None:
    """A flag the text sets: every telling word of its name said (true), negated or said as
    its opposite (false): "don't notify the attendees" -> notify_attendees: false,
    "switch off" -> on: false, "unlock" -> locked: false, "with a garage" -> has_garage: true."""
    named = name_words(name)
    wanted = [stem(w) for w in named if w not in _FLAG_FRAMES] or [stem(w) for w in named]
    words = [w.replace("’", "'") for w in _FLAG_WORD.findall(text.text.lower())]  # "in-unit" is two words
    stems = [IRREGULAR.get(w, stem(w)) for w in words]

    def said(term: str) -> int | None:
        return next((i for i, st in enumerate(stems) if st == term or (len(term) > 3 and st.startswith(term))), None)

    first = said(wanted[0])
    if first is not None and all(said(t) is not None for t in wanted[1:]):
        negated = _negated(words, first)
        return None if negated is None else not negated
    if len(wanted) == 1:
        term = wanted[0]
        opposite = {"on": "off", "off": "on"}.get(term)
        if any(st == opposite or st in (f"un{term}", f"dis{term}", f"non{term}") for st in stems):
            return False
    return None
