"""What a request's own words say about the tools and their arguments.

A small model picks among named options far better than it writes free JSON, but on its own
it still picks the wrong tool a third of the time, invents values for optional arguments and
copies the tool's name into a `query`. The message itself carries strong evidence:

- the words it shares with a tool's name, description, parameter names and enum values
  (BM25 over those texts, with light stemming, so "lights" meets `set_light`);
- values that fit a parameter: a date for a `YYYY-MM-DD` pattern ("March 3, 2025" included),
  a time ("1 pm" -> "13:00"), an e-mail address, a number within an integer's bounds ("two"
  and "1,250.75" included), an enum value named in the text, a phrase in quotes;
- the coordinated parts of a request ("... in Oslo and in Helsinki"), each of which may need
  its own call.

The decision layer (`radixagent.decision`) combines this evidence with the model's likelihood
to choose the tool, to answer directly when no tool has any evidence, to narrow each argument's
schema to the values found in the message (free generation stays the fallback when none fit),
to leave out optional arguments the message says nothing about, and to count the calls.
Everything here is plain text processing: deterministic, engine-free, a few ms per request.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from radixagent.schemas import ToolSchema

__all__ = ["Evidence", "narrow_arguments", "rank_tools", "shared_terms", "terms", "tool_text"]

# --- words -----------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_STOP = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to was were will with "
    "what which who how me my i you your do does please can could would should".split()
)
_SUFFIXES = ("ing", "ly", "ed", "s")


def _stem(word: str) -> str:
    """A light English stem (lights -> light, balances -> balance, weekly -> week): enough to
    meet a tool's words."""
    if word.endswith("es") and word[-3:-2] in ("s", "x", "z") or word.endswith(("ches", "shes")):
        return word[:-2]
    for suffix in _SUFFIXES:
        if suffix != "es" and len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words (snake_case and camelCase split, English stop words out);
    words in scripts without spaces between morphemes (Hangul, CJK) also give their character
    bigrams, so "감정을" still meets "감정"."""
    out: list[str] = []
    for word in _WORD.findall(_CAMEL.sub(" ", text).replace("_", " ")):
        word = word.lower()
        if word in _STOP:
            continue
        out.append(_stem(word) if word.isascii() else word)
        if not word.isascii() and len(word) > 2:
            out.extend(word[i : i + 2] for i in range(len(word) - 1))
    return out


def tool_text(schema: ToolSchema) -> str:
    """The words a tool is known by: name, description, parameter names and descriptions, enum values."""
    parts = [schema.name, schema.description]

    def walk(properties: dict[str, Any]) -> None:
        for name, node in properties.items():
            if not isinstance(node, dict):
                continue
            parts.append(name)
            parts.append(str(node.get("description", "")))
            parts.extend(str(v) for v in node.get("enum", []))
            walk(node.get("properties") or {})
            items = node.get("items")
            if isinstance(items, dict):
                parts.extend(str(v) for v in items.get("enum", []))
                walk(items.get("properties") or {})

    walk(schema.parameters.get("properties") or {})
    return " ".join(parts)


def shared_terms(query: str, tools: Sequence[ToolSchema]) -> dict[str, int]:
    """How many distinct terms of `query` each tool's words hold: an absolute measure (BM25's
    weights are relative to the tool set, and a word every tool shares weighs almost nothing)."""
    query_terms = set(terms(query))
    return {t.name: len(query_terms & set(terms(tool_text(t)))) for t in tools}


def rank_tools(query: str, tools: Sequence[ToolSchema]) -> dict[str, float]:
    """BM25 between `query` and each tool's words (`tool_text`); 0 for a tool sharing no term."""
    docs = {t.name: terms(tool_text(t)) for t in tools}
    query_terms = set(terms(query))
    if not docs:
        return {}
    n = len(docs)
    avg_len = sum(len(d) for d in docs.values()) / n or 1.0
    df: Counter[str] = Counter()
    for words in docs.values():
        df.update(set(words))
    k1, b = 1.2, 0.75
    scores: dict[str, float] = {}
    for name, words in docs.items():
        tf = Counter(words)
        score = 0.0
        for term in query_terms & tf.keys():
            idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
            score += idf * tf[term] * (k1 + 1) / (tf[term] + k1 * (1 - b + b * len(words) / avg_len))
        scores[name] = score
    return scores


# --- values in the message -------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
         "sep sept september", "oct october", "nov november", "dec december"]
    )
    for m in names.split()
}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?:\s*([ap])\.?m\.?)?\b", re.IGNORECASE)
_MERIDIEM = re.compile(r"\b(1[0-2]|0?[1-9])\s*([ap])\.?m\.?(?![a-z])", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://\S+")
_NUMBER = re.compile(r"(?<![\w.@/-])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w@/]|-\w|\.\d)")
_QUOTED = re.compile(r"'([^']{1,200})'(?!\w)|\"([^\"]{1,200})\"|‘([^’]{1,200})’|“([^”]{1,200})”")
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,\s+(?:and\s+|then\s+|also\s+)?(?!\d)|;\s*|\s+and\s+(?:also\s+)?|\s+then\s+|\s+plus\s+)\s*", re.IGNORECASE)
_EDGE = "\"'“”‘’.,!?;:()[]{}"
MAX_SPAN_WORDS = 8


@dataclass
class Evidence:
    """The values one text offers, found once and asked many times."""

    text: str
    dates: list[str] = field(default_factory=list)
    times: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    spans: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)
    """Stemmed terms of the text."""
    tokens: list[str] = field(default_factory=list)
    """The text's whitespace-separated words, edge punctuation trimmed."""
    places: dict[Any, list[tuple[int, int]]] = field(default_factory=dict)
    """Where each typed value (as found: "2025-03-03", 13.0 ...) stands, as token ranges."""

    @classmethod
    def of(cls, text: str) -> Evidence:
        found = cls(text=text, words={_IRREGULAR.get(w, w) for w in terms(text)})
        bounds = [m.span() for m in re.finditer(r"\S+", text)]
        found.tokens = [text[a:b].strip(_EDGE) for a, b in bounds]
        taken: list[tuple[int, int]] = []  # characters already read as a date, time, address...
        last: list[tuple[int, int]] = []

        def take(match: re.Match[str]) -> bool:
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                return False
            taken.append((start, end))
            first = next((i for i, (a, b) in enumerate(bounds) if b > start), 0)
            final = max((i for i, (a, b) in enumerate(bounds) if a < end), default=first)
            last[:] = [(first, final + 1)]
            return True

        def place(value: Any) -> None:
            found.places.setdefault(value, []).extend(last)

        def add(values: list[Any], value: Any) -> None:
            values.append(value)
            place(value)

        for m in _EMAIL.finditer(text):
            if take(m):
                add(found.emails, m.group(0))
        for m in _URL.finditer(text):
            take(m)
        for m in _ISO_DATE.finditer(text):
            if take(m) and _valid_date(int(m[1]), int(m[2]), int(m[3])):
                add(found.dates, m.group(0))
        for m in _MONTH_DAY_YEAR.finditer(text):
            if take(m) and _valid_date(int(m[3]), _month(m[1]), int(m[2])):
                add(found.dates, _iso(int(m[3]), _month(m[1]), int(m[2])))
        for m in _DAY_MONTH_YEAR.finditer(text):
            if take(m) and _valid_date(int(m[3]), _month(m[2]), int(m[1])):
                add(found.dates, _iso(int(m[3]), _month(m[2]), int(m[1])))
        for m in _CLOCK.finditer(text):
            if take(m):
                add(found.times, f"{_hour(int(m[1]), m[3]):02d}:{m[2]}")
        for m in _MERIDIEM.finditer(text):
            if take(m):
                add(found.times, f"{_hour(int(m[1]), m[2]):02d}:00")
        for m in re.finditer(r"\bnoon\b", text, re.IGNORECASE):
            if take(m):
                add(found.times, "12:00")
        for m in _NUMBER.finditer(text):
            if take(m):
                add(found.numbers, float(m.group(0).replace(",", "")))
        for m in _WORD_NUMBER.finditer(text):
            if take(m):
                add(found.numbers, float(_WORD_NUMBERS[m[1].lower()]))
        for m in _QUOTED.finditer(text):
            quoted = next(g for g in m.groups() if g is not None).strip()
            if quoted:
                found.quoted.append(quoted)
        found.spans = _spans(text, found.quoted)
        return found

    # --- what a parameter can take from here ----------------------------------------------

    def mentions(self, phrase: str) -> bool:
        """Whether every term of `phrase` (an enum value, a parameter's name) is in the text."""
        wanted = [_IRREGULAR.get(w, w) for w in terms(str(phrase))]
        return bool(wanted) and all(w in self.words for w in wanted)

    def strings_for(self, schema: dict[str, Any], kind: str | None = None) -> list[str]:
        """Strings of the text a string parameter could take: by what it holds (`kind`, else its
        format: dates, times, e-mail addresses), by its pattern, else quoted phrases and word spans."""
        kind = kind or schema.get("format")
        pattern = schema.get("pattern")
        if kind == "email":
            pool = list(self.emails)
        elif kind == "date":
            pool = list(self.dates)
        elif kind == "time":
            pool = [f"{t}:00" for t in self.times] if schema.get("format") == "time" else list(self.times)
        elif pattern:
            pool = [*self.dates, *self.times, *self.emails, *self.quoted, *self.spans]
        else:
            pool = [*self.quoted, *self.emails, *self.spans]
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error:
                return []
            pool = [s for s in pool if compiled.search(s)]
        limit = schema.get("maxLength")
        floor = schema.get("minLength", 0)
        return list(dict.fromkeys(s for s in pool if floor <= len(s) <= (limit if isinstance(limit, int) else 10**6)))

    def where(self, value: Any) -> list[tuple[int, int]]:
        """The token ranges where a value stands: as found (typed values) or as its words."""
        if value in self.places:
            return self.places[value]
        if isinstance(value, float | int) and float(value) in self.places:
            return self.places[float(value)]
        wanted = [w.strip(_EDGE).casefold() for w in str(value).split()]
        wanted = [w for w in wanted if w]
        if not wanted:
            return []
        if len(wanted) == 1 and wanted[0] not in (t.casefold() for t in self.tokens):
            # an enum value named in other words ("living_room" as "living room", "lights" for "light")
            stems = terms(str(value))
            return [(i, i + 1) for i, t in enumerate(self.tokens) if stems and terms(t)[:1] == stems[:1]]
        folded = [t.casefold() for t in self.tokens]
        size = len(wanted)
        return [(i, i + size) for i in range(len(folded) - size + 1) if folded[i : i + size] == wanted]

    def anchored(self, values: Sequence[Any], anchors: set[str], side: str) -> list[Any]:
        """The values standing on one `side` ("after", "before") of an anchor word (a parameter's
        own name, "from" for an origin...): "IBAN DE89...", "from Munich", "2 adults"."""
        if not anchors:
            return []
        marks = [i for i, t in enumerate(self.tokens) if _anchor(t, anchors)]
        if not marks:
            return []
        out = []
        for value in values:
            for start, end in self.where(value):
                if any(_near(self.tokens, mark, start, end, side) for mark in marks):
                    out.append(value)
                    break
        return out

    def numbers_for(self, schema: dict[str, Any]) -> list[int | float]:
        """Numbers of the text within the parameter's bounds (whole ones for an integer)."""
        out: list[int | float] = []
        for value in dict.fromkeys(self.numbers):
            if schema.get("type") == "integer":
                if not value.is_integer():
                    continue
                number: int | float = int(value)
            else:
                number = int(value) if value.is_integer() else value
            if _within(number, schema):
                out.append(number)
        return out

    def count(self, kind: str) -> int:
        """How many values of a kind ("date", "time", "email", "number") the text holds."""
        return len({"date": self.dates, "time": self.times, "email": self.emails, "number": self.numbers}[kind])

    def typed_matches(self, tool: ToolSchema) -> int:
        """How many of the tool's pattern- or format-constrained parameters find a value here:
        evidence that the request is meant for it even when it shares no word with it."""
        count = 0
        for node in _leaves(tool.parameters):
            if node.get("type") == "string" and (node.get("pattern") or node.get("format")) and self.strings_for(node):
                count += 1
        return count

    # --- parts of a request ------------------------------------------------------------------

    @cached_property
    def parts(self) -> list[Evidence]:
        """The coordinated parts of the text ("A and B", "A, B and C", "A; then B"): each may be
        a call of its own. A text with no coordination is one part."""
        pieces = _pieces(self.text)
        return [self] if len(pieces) < 2 else [Evidence.of(p) for p in pieces]

    def names(self) -> list[str]:
        """Quoted phrases, capitalised words (past the first) and identifiers: what names a thing."""
        words = [w.strip(_EDGE) for w in self.text.split()]
        found = [w for i, w in enumerate(words) if w and (any(c.isdigit() for c in w) or (i > 0 and w[:1].isupper()))]
        return [*self.quoted, *found]

    def values(self, tools: Sequence[ToolSchema]) -> list[str]:
        """What a call could take from this text: typed values, quoted phrases, capitalised names
        and identifiers, and the tools' enum values it names."""
        found = [*self.dates, *self.times, *self.emails, *self.quoted]
        found += [_number_text(n) for n in self.numbers]
        words = [w.strip(_EDGE) for w in self.text.split()]
        inside_quotes = " ".join(self.quoted).lower()
        for i, word in enumerate(words):
            if word and (any(c.isdigit() for c in word) or (i > 0 and word[:1].isupper())) and word.lower() not in inside_quotes:
                if not any(word in v for v in found):
                    found.append(word)
        for tool in tools:
            for node in _leaves(tool.parameters):
                found.extend(v for v in node.get("enum", []) if isinstance(v, str) and self.mentions(v))
        return list(dict.fromkeys(found))

    def served_by(self, arguments: Sequence[dict[str, Any]], tools: Sequence[ToolSchema]) -> bool:
        """Whether the given calls' arguments already hold every value of this text (the part
        was an item of an array, or a detail of the same call)."""
        written = " ".join(json.dumps(a, ensure_ascii=False) for a in arguments).casefold()
        numbers = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", written)}
        for value in self.values(tools):
            try:
                if float(value) in numbers:
                    continue
            except ValueError:
                pass
            if value.casefold() not in written:
                return False
        return True


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


_FILLER = _STOP | {"is", "are", "of", "at", "a", "an", "the", ":", "=", "-", "%", "percent", "per", "cent"}
_IRREGULAR = {"children": "child", "people": "person", "men": "man", "women": "woman", "feet": "foot"}


def _anchor(token: str, anchors: set[str]) -> bool:
    word = token.casefold()
    if word in anchors:
        return True
    stems = terms(token)
    return bool(stems) and (stems[0] in anchors or _IRREGULAR.get(word, "") in anchors)


def _near(tokens: list[str], mark: int, start: int, end: int, side: str) -> bool:
    """Whether a value at tokens[start:end] follows the anchor at `mark` with at most one
    filler word between ("IBAN DE89...", "volume of 25"), or directly precedes it ("2 adults")."""
    if side == "after" and start > mark:
        gap = tokens[mark + 1 : start]
        return len(gap) <= 1 and all(not g or g.casefold() in _FILLER for g in gap)
    if side == "before" and end <= mark:
        return all(not g for g in tokens[end:mark])
    return False


def _month(name: str) -> int:
    name = name.lower().rstrip(".")
    return _MONTHS.get(name, _MONTHS.get(name[:3], 0))


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31 and 1000 <= year <= 9999


def _iso(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def _hour(hour: int, meridiem: str | None) -> int:
    if not meridiem:
        return hour
    if meridiem.lower() == "p":
        return hour if hour == 12 else hour + 12
    return 0 if hour == 12 else hour


def _within(number: float, schema: dict[str, Any]) -> bool:
    if "minimum" in schema and number < schema["minimum"]:
        return False
    if "maximum" in schema and number > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and number <= schema["exclusiveMinimum"]:
        return False
    return not ("exclusiveMaximum" in schema and number >= schema["exclusiveMaximum"])


_RANGE = re.compile(r"\b(between\s+\S+(?:\s+\S+)?)\s+and\s+", re.IGNORECASE)


def _pieces(text: str) -> list[str]:
    """The text cut at its coordinations; a quoted phrase ('Level 3, spot 118') and a range
    ("between 2024-11-01 and 2024-12-31") are not cut."""

    def shield(match: re.Match[str]) -> str:
        return match.group(0).replace(",", "\x00").replace(" ", "\x01")

    shielded = _RANGE.sub(shield, _QUOTED.sub(shield, text))
    return [p.replace("\x00", ",").replace("\x01", " ") for p in _SPLIT.split(shielded) if p and p.strip(_EDGE + " ")]


def _spans(text: str, quoted: Iterable[str]) -> list[str]:
    """Runs of up to `MAX_SPAN_WORDS` words within each coordinated piece of the text ("BA117"
    and "AF22", not "BA117 and AF22"), edge punctuation trimmed, longest first; plus each
    quoted phrase whole."""
    out: list[str] = list(quoted)
    pieces = [p.split() for p in _pieces(text)]
    for size in range(MAX_SPAN_WORDS, 0, -1):
        for piece in pieces:
            out.extend(_runs([w.strip(_EDGE) for w in piece], size))
    return list(dict.fromkeys(out))


def _runs(words: list[str], size: int) -> list[str]:
    """The runs of `size` words, none starting or ending on an empty word or a lower-case stop
    word ("the dentist" -> "dentist"; "The Four Seasons" stays whole past the first word)."""
    out: list[str] = []
    for start in range(len(words) - size + 1):
        run = words[start : start + size]
        if not run[0] or not run[-1]:
            continue
        if any(w.lower() in _STOP and not (w[:1].isupper() and at > 0) for at, w in ((start, run[0]), (start + size - 1, run[-1]))):
            continue
        out.append(" ".join(run))
    return out


def _leaves(schema: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every parameter schema below an object schema (nested objects and array items included)."""
    for node in (schema.get("properties") or {}).values():
        if not isinstance(node, dict):
            continue
        yield node
        if node.get("type") == "object":
            yield from _leaves(node)
        items = node.get("items")
        if isinstance(items, dict):
            yield items
            if items.get("type") == "object":
                yield from _leaves(items)


# --- narrowing an argument schema ------------------------------------------------------------


def narrow_arguments(
    schema: dict[str, Any],
    evidence: Evidence,
    *,
    context: Evidence | None = None,
    used: dict[str, set[Any]] | None = None,
    tool_words: Iterable[str] | None = None,
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
    not its input)."""
    narrowing = _Narrowing(evidence, context or evidence, used or {}, set(tool_words or ()))
    return narrowing.object(copy.deepcopy(schema), "")


_FROM = frozenset({"from", "origin", "source", "sender"})
_TO = frozenset({"to", "destination", "target", "into"})
_GENERIC = frozenset({"id", "type", "max", "min", "only", "is", "include", "value", "name", "number", "num", "new"})


@dataclass
class _Narrowing:
    part: Evidence
    whole: Evidence
    used: dict[str, set[Any]]
    tool_words: set[str]

    def object(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return node
        required = set(node.get("required") or [])
        claimed = _claims(node, self.whole)
        said = {n for n, c in properties.items() if n not in required and isinstance(c, dict) and _said(n, c, self.whole)}
        spoken = Counter(_value_kind(n, properties[n]) for n in said)
        kept: dict[str, Any] = {}
        for name, child in properties.items():
            if not isinstance(child, dict):
                kept[name] = child
                continue
            if name not in required:
                kind = _value_kind(name, child)
                if kind is None and name not in said:
                    continue
                # a date, a number ... for it: named, one the required parameters leave over;
                # unnamed, one of this part that the named ones leave over too
                if kind is not None and not (
                    self.whole.count(kind) > claimed[kind] if name in said else self.part.count(kind) > claimed[kind] + spoken[kind]
                ):
                    continue
            where = f"{path}.{name}" if path else name
            kept[name] = self.value(child, name, where)
        node["properties"] = kept
        # what the text speaks of is given: the model would skip it as readily as it invents the rest
        node["required"] = list(kept)
        node.setdefault("additionalProperties", False)  # a parameter left out stays out
        return node

    def value(self, node: dict[str, Any], name: str, path: str, kind: str | None = None) -> dict[str, Any]:
        declared = node.get("type")
        taken = self.used.get(path, set())
        kind = kind or _kind(name, node)
        if declared == "object":
            return self.object(node, path)
        if declared == "array" and isinstance(node.get("items"), dict):
            items = node["items"]
            # the items of a list spread over the request's parts ("with a@x.io and b@y.io")
            whole = _Narrowing(self.whole, self.whole, self.used, self.tool_words)
            narrowed = whole.object(items, path + "[]") if items.get("type") == "object" else whole.value(items, name, path + "[]", kind)
            out = {**node, "items": narrowed}
            if "enum" in narrowed and narrowed is not items:
                # as many items as the text has values for, so the model does not repeat one
                room = len(narrowed["enum"]) if kind or "enum" in items else max(1, len(self.whole.quoted) or 1)
                out["maxItems"] = max(int(node.get("minItems", 0)), min(int(node.get("maxItems", room)), room))
            return out
        if declared == "boolean":
            flag = _boolean(name, self.part) if _boolean(name, self.part) is not None else _boolean(name, self.whole)
            return node if flag is None else {**node, "enum": [flag]}
        if "enum" in node:
            options = self.pick(name, lambda text: [v for v in node["enum"] if isinstance(v, str) and text.mentions(v) and v not in taken], strict=True)
            return {**node, "enum": options} if options else node
        if declared == "string":
            options = self.pick(name, lambda text: self.strings(text, node, kind, name, taken), whole_first=not (kind or node.get("pattern") or self.part.names()))
            if not options:
                return node
            narrowed = {k: v for k, v in node.items() if k not in ("pattern", "format", "minLength", "maxLength")}
            return {**narrowed, "enum": options}
        if declared in ("integer", "number"):
            options = self.pick(
                name, lambda text: [n for n in text.numbers_for(node) if n not in taken], description=str(node.get("description", "")), numeric=True
            )
            return {**node, "enum": options} if options else node
        return node

    def strings(self, text: Evidence, node: dict[str, Any], kind: str | None, name: str, taken: set[Any]) -> list[str]:
        own = set(terms(name))
        typed = {*text.dates, *text.times, *text.emails}
        first = text.tokens[0].casefold() if text is self.whole and len(text.tokens) > 2 else None
        out = []
        for option in text.strings_for(node, kind):
            if option in taken:
                continue
            if option not in text.quoted and not kind and not node.get("pattern"):
                words = set(terms(option))
                if words & self.tool_words or (words and terms(option.split()[0])[:1] == list(own)[:1] and len(option.split()) > 1):
                    continue  # "search_inbox" for a query, "IBAN DE89..." for an iban
                if option.split()[0].casefold() == first or any(t in option for t in typed):
                    continue  # the request's verb; a date or an address belongs to its own parameter
            out.append(option)
        return out

    def pick(
        self, name: str, candidates: Any, *, whole_first: bool = False, description: str = "", numeric: bool = False, strict: bool = False
    ) -> list[Any]:
        """The candidates of the part (then of the whole request) that stand by the parameter's
        name or direction, else all of the first text that has any (`strict`: the part's, when
        it has any)."""
        words = _name_words(name)
        own = _own(name, description)
        direction = _FROM if _FROM & set(words) else _TO if _TO & set(words) else frozenset()
        opposite = (_TO | {"in"}) if direction is _FROM else _FROM if direction else frozenset()
        if direction is _TO:
            direction = direction | {"in"}
        fallback: list[Any] = []
        for text in (self.whole,) if whole_first else (self.part, self.whole):
            options = candidates(text)
            if not options:
                continue
            # "IBAN DE89...", "the Recipes folder"; numbers: "2 adults", "volume 25"
            sides = ("before", "after") if numeric else ("after", "before")
            near = text.anchored(options, own, sides[0]) or text.anchored(options, own, sides[1])
            near = near or text.anchored(options, set(direction), "after")  # "from Munich"
            if near:
                return near
            if opposite:  # "from X to Y": the origin is not the value after "to"
                options = [o for o in options if o not in text.anchored(options, set(opposite), "after")] or options
            if strict:
                return options  # an enum value this part names is its own ("my checking and my savings accounts")
            fallback = fallback or options  # a value may stand by its name elsewhere ("2 adults and 1 child", "..., IBAN X")
        return fallback


def _name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\W]+", _CAMEL.sub("_", name).lower()) if w]


def _own(name: str, description: str = "") -> set[str]:
    """The words that name a parameter in a request: its name's telling words (and long words
    of its description)."""
    return {_IRREGULAR.get(w, _stem(w)) for w in _name_words(name) if w not in _GENERIC and len(w) > 1} | {
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
        if child.get("type") == "object" and (name in required or _said(name, child, text)):
            claimed.update(_claims(child, text))
        elif name in required:
            claimed[_value_kind(name, child)] += 1
    return claimed


def _value_kind(name: str, node: dict[str, Any]) -> str | None:
    """Which of the text's typed values (dates, times, e-mail addresses, numbers) a parameter takes."""
    if node.get("type") in ("integer", "number") and "enum" not in node:
        return "number"
    kind = _kind(name, node)
    return kind if kind in ("date", "time", "email") else None


_KINDS = (("email", ("mail", "recipient", "cc", "bcc")), ("date", ("date", "yyyy")), ("time", ("time", "hh")))


def _kind(name: str, node: dict[str, Any]) -> str | None:
    """What a string parameter (or an array's string items) holds: its `format`, or what its
    name or description says (an e-mail address, a date, a time) when the schema gives none."""
    target = node.get("items") if node.get("type") == "array" and isinstance(node.get("items"), dict) else node
    if target.get("type") != "string" or "enum" in target:
        return None
    if target.get("format"):
        return str(target["format"])
    if target.get("pattern"):
        return None
    words = set(terms(f"{name} {node.get('description', '')} {target.get('description', '')}")) | set(name.lower().split("_"))
    for kind, cues in _KINDS:
        if any(w.startswith(cue) for w in words for cue in cues):
            return kind
    return None


def _said(name: str, node: dict[str, Any], text: Evidence) -> bool:
    """Whether the text says anything of an optional parameter: its name (any telling word of
    it) or description, a value of its enum, a flag it sets, the items of a typed list."""
    words = [w for w in re.split(r"[_\W]+", _CAMEL.sub("_", name).lower()) if len(w) > 2 and w not in _GENERIC]
    if any(text.mentions(w) for w in words) or any(text.mentions(v) for v in node.get("enum", []) if isinstance(v, str)):
        return True
    description = [t for t in terms(str(node.get("description", ""))) if len(t) > 3]
    if description and any(t in text.words for t in description):
        return True
    kind = _kind(name, node)
    if node.get("type") == "object":
        children = node.get("properties") or {}
        return any(_said(n, c, text) for n, c in children.items() if isinstance(c, dict))
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict):
        # a list of addresses, dates ... the text holds several of
        return (kind or items.get("pattern")) is not None and len(text.strings_for(items, kind)) > 1
    if node.get("type") == "boolean":
        return _boolean(name, text) is not None
    return False


def _boolean(name: str, text: Evidence) -> bool | None:
    """A flag the text sets: every telling word of its name said (true), negated or said as
    its opposite (false): "don't notify the attendees" -> notify_attendees: false,
    "switch off" -> on: false, "unlock" -> locked: false."""
    words_of_name = [_stem(w) for w in re.split(r"[_\W]+", _CAMEL.sub("_", name).lower()) if w]
    wanted = [w for w in words_of_name if w not in ("only", "is", "include")] or words_of_name
    words = [w.strip(_EDGE).lower() for w in text.text.split()]
    stems = [_IRREGULAR.get(w, _stem(w)) for w in words]

    def said(term: str) -> int | None:
        return next((i for i, st in enumerate(stems) if st == term or (len(term) > 3 and st.startswith(term))), None)

    first = said(wanted[0])
    if first is not None and all(said(t) is not None for t in wanted[1:]):
        negated = any(w in ("not", "no", "never", "without") or w.endswith(("n't", "nt")) and w != "want" for w in words[max(0, first - 3) : first])
        return not negated
    if len(wanted) == 1:
        term = wanted[0]
        opposite = {"on": "off", "off": "on"}.get(term)
        if any(st == opposite or st in (f"un{term}", f"dis{term}", f"non{term}") for st in stems):
            return False
    return None
