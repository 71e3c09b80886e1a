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

    @classmethod
    def of(cls, text: str) -> Evidence:
        found = cls(text=text, words=set(terms(text)))
        taken: list[tuple[int, int]] = []  # characters already read as a date, time, address...

        def take(match: re.Match[str]) -> bool:
            start, end = match.span()
            if any(s < end and start < e for s, e in taken):
                return False
            taken.append((start, end))
            return True

        for m in _EMAIL.finditer(text):
            if take(m):
                found.emails.append(m.group(0))
        for m in _URL.finditer(text):
            take(m)
        for m in _ISO_DATE.finditer(text):
            if take(m) and _valid_date(int(m[1]), int(m[2]), int(m[3])):
                found.dates.append(m.group(0))
        for m in _MONTH_DAY_YEAR.finditer(text):
            if take(m) and _valid_date(int(m[3]), _month(m[1]), int(m[2])):
                found.dates.append(_iso(int(m[3]), _month(m[1]), int(m[2])))
        for m in _DAY_MONTH_YEAR.finditer(text):
            if take(m) and _valid_date(int(m[3]), _month(m[2]), int(m[1])):
                found.dates.append(_iso(int(m[3]), _month(m[2]), int(m[1])))
        for m in _CLOCK.finditer(text):
            if take(m):
                hour = _hour(int(m[1]), m[3])
                found.times.append(f"{hour:02d}:{m[2]}")
        for m in _MERIDIEM.finditer(text):
            if take(m):
                found.times.append(f"{_hour(int(m[1]), m[2]):02d}:00")
        if re.search(r"\bnoon\b", text, re.IGNORECASE):
            found.times.append("12:00")
        for m in _NUMBER.finditer(text):
            if take(m):
                found.numbers.append(float(m.group(0).replace(",", "")))
        for m in _WORD_NUMBER.finditer(text):
            found.numbers.append(float(_WORD_NUMBERS[m[1].lower()]))
        for m in _QUOTED.finditer(text):
            quoted = next(g for g in m.groups() if g is not None).strip()
            if quoted:
                found.quoted.append(quoted)
        found.spans = _spans(text, found.quoted)
        return found

    # --- what a parameter can take from here ----------------------------------------------

    def mentions(self, phrase: str) -> bool:
        """Whether every term of `phrase` (an enum value, a parameter's name) is in the text."""
        wanted = terms(str(phrase))
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

    def parts(self) -> list[Evidence]:
        """The coordinated parts of the text ("A and B", "A, B and C", "A; then B"): each may be
        a call of its own. A text with no coordination is one part."""
        pieces = [p for p in _SPLIT.split(self.text) if p and p.strip(_EDGE + " ")]
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


def _spans(text: str, quoted: Iterable[str]) -> list[str]:
    """Runs of up to `MAX_SPAN_WORDS` words of the text, edge punctuation trimmed, longest
    first; plus each quoted phrase whole."""
    words = [w.strip(_EDGE) for w in text.split()]
    out: list[str] = list(quoted)
    for size in range(min(MAX_SPAN_WORDS, len(words)), 0, -1):
        for start in range(len(words) - size + 1):
            run = [w for w in words[start : start + size]]
            if not run[0] or not run[-1]:
                continue
            if any(w.lower() in _STOP and not (w[:1].isupper() and i + start > 0) for i, w in ((0, run[0]), (size - 1, run[-1]))):
                continue  # "the dentist" -> "dentist"; "The Four Seasons" stays whole
            out.append(" ".join(run))
    return list(dict.fromkeys(out))


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
      one of its numbers within bounds; with none in the text, the parameter stays free;
    - an enum keeps the values the text names, when it names any;
    - an optional parameter the text says nothing about (neither its name nor a value of it) is
      left out, so the tool's default applies instead of an invented value.

    `evidence` is the part of the request this call serves; `context` the whole request, the
    fallback for values the part does not hold. `used` maps a parameter path to the values
    earlier calls of the same tool gave it, which this call does not repeat. A free string
    takes no span holding `tool_words` (the words naming the tool: they ask for it, they are
    not its input) nor led by its own name ("IBAN DE89..." -> "DE89...")."""
    return _narrow_object(copy.deepcopy(schema), evidence, context or evidence, used or {}, "", set(tool_words or ()))


def _narrow_object(
    node: dict[str, Any], part: Evidence, whole: Evidence, used: dict[str, set[Any]], path: str, tool_words: set[str]
) -> dict[str, Any]:
    properties = node.get("properties")
    if not isinstance(properties, dict):
        return node
    required = set(node.get("required") or [])
    claimed = _claims(node, whole)
    kept: dict[str, Any] = {}
    given: list[str] = []
    for name, child in properties.items():
        if not isinstance(child, dict):
            kept[name] = child
            continue
        where = f"{path}.{name}" if path else name
        if name not in required:
            if _said(name, child, whole):
                given.append(name)
            else:
                kind = _value_kind(name, child)
                if kind is None or whole.count(kind) <= claimed[kind]:
                    continue
        else:
            given.append(name)
        kept[name] = _narrow_value(child, _kind(name, child), name, part, whole, used.get(where, set()), used, where, tool_words)
    node["properties"] = kept
    # what the text names is given: the model would skip it as readily as it invents the rest
    node["required"] = given
    return node


def _claims(node: dict[str, Any], text: Evidence) -> Counter[str | None]:
    """The typed values (dates, numbers ...) the parameters the text names, or that are
    required, take: a value serves one parameter, so an optional one the text does not name
    gets only what is left over."""
    required = set(node.get("required") or [])
    claimed: Counter[str | None] = Counter()
    for name, child in (node.get("properties") or {}).items():
        if not isinstance(child, dict) or not (name in required or _said(name, child, text)):
            continue
        if child.get("type") == "object":
            claimed.update(_claims(child, text))
        else:
            claimed[_value_kind(name, child)] += 1
    return claimed


def _value_kind(name: str, node: dict[str, Any]) -> str | None:
    """Which of the text's typed values (dates, times, e-mail addresses, numbers) a parameter takes."""
    if node.get("type") in ("integer", "number") and "enum" not in node:
        return "number"
    kind = _kind(name, node)
    return kind if kind in ("date", "time", "email") else None


def _boolean(name: str, text: Evidence) -> bool | None:
    """A flag the text sets: its name said (true), negated or with its opposite (false)
    ("don't notify" -> false, "switch off" -> on: false, "unlock" -> locked: false)."""
    words_of_name = [_stem(w) for w in re.split(r"[_\W]+", _CAMEL.sub("_", name).lower()) if w]
    wanted = [w for w in words_of_name if w not in ("only", "is", "include")] or words_of_name
    words = [w.strip(_EDGE).lower() for w in text.text.split()]
    stems = [_stem(w) for w in words]
    for i, stem in enumerate(stems):
        for term in wanted:
            opposite = {"on": "off", "off": "on"}.get(term)
            if stem == term or (len(term) > 3 and stem.startswith(term)):
                negated = any(w in ("not", "no", "don't", "dont", "never", "without") or w.endswith("n't") for w in words[max(0, i - 3) : i])
                return not negated
            if stem == opposite or stem in (f"un{term}", f"dis{term}", f"non{term}"):
                return False
    return None


_KINDS = (("email", ("mail",)), ("date", ("date", "yyyy")), ("time", ("time", "hh")))


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
    words = set(terms(f"{name} {node.get('description', '')} {target.get('description', '')}"))
    for kind, cues in _KINDS:
        if any(w.startswith(cue) for w in words for cue in cues):
            return kind
    return None


def _said(name: str, node: dict[str, Any], text: Evidence) -> bool:
    """Whether the text says anything of an optional parameter: its name or description, a
    value of its enum, or (for a typed string) a value that fits it."""
    if text.mentions(name) or any(text.mentions(v) for v in node.get("enum", []) if isinstance(v, str)):
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


def _narrow_value(
    node: dict[str, Any],
    kind: str | None,
    name: str,
    part: Evidence,
    whole: Evidence,
    taken: set[Any],
    used: dict[str, set[Any]],
    path: str,
    tool_words: set[str],
) -> dict[str, Any]:
    declared = node.get("type")
    if "enum" in node:
        for text in (part, whole):
            named = [v for v in node["enum"] if isinstance(v, str) and text.mentions(v) and v not in taken]
            if named:
                return {**node, "enum": named}
        return node
    if declared == "object":
        return _narrow_object(node, part, whole, used, path, tool_words)
    if declared == "array" and isinstance(node.get("items"), dict):
        return {**node, "items": _narrow_value(node["items"], kind, name, whole, whole, set(), used, path + "[]", tool_words)}
    if declared == "boolean":
        flag = _boolean(name, part)
        return node if flag is None else {**node, "enum": [flag]}
    if declared == "string":
        # a part with no name of its own ("... the forecast there") takes its strings from the whole request
        named = kind or node.get("pattern") or part.names()
        own = set(terms(name))
        for text in (part, whole) if named else (whole,):
            options = [
                s
                for s in text.strings_for(node, kind)
                if s not in taken and (s in text.quoted or not (set(terms(s)) & tool_words or set(terms(s.split()[0])) & own))
            ]
            if options:
                narrowed = {k: v for k, v in node.items() if k not in ("pattern", "format", "minLength", "maxLength")}
                return {**narrowed, "enum": options}
        return node
    if declared in ("integer", "number"):
        for text in (part, whole):
            numbers = [n for n in text.numbers_for(node) if n not in taken]
            if numbers:
                return {**node, "enum": numbers}
        return node
    return node
