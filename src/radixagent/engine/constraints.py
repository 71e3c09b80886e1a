"""Constraints in each engine's dialect: the one place a `Constraint` is translated.

llama.cpp (`to_llama`): every constraint becomes one llguidance grammar. llama.cpp (as built in xllamacpp) compiles grammars with llguidance, and when a grammar does
not compile it logs the error and generates *without* the constraint. So radixagent compiles
each grammar here first, with the same library, and raises `ConstraintError` instead of
letting an unconstrained answer through.

SGLang (`to_sglang`): its own `regex` and `ebnf` fields, compiled by its grammar backend.

`bounded_schema` closes what a JSON schema leaves open. A constraint guarantees that every
token is allowed, not that the object ever ends: under an unbounded array a small model may
repeat items until `max_tokens`. Bounding arrays, strings and free-form objects keeps every
valid output valid for the original schema while making it finite.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from typing import Any

import llguidance
from pydantic import BaseModel, ConfigDict

from radixagent.engine.types import (
    ChoicesConstraint,
    Constraint,
    GrammarConstraint,
    JsonSchemaConstraint,
    RegexConstraint,
)
from radixagent.errors import ConstraintError

DEFAULT_MAX_ITEMS = 16
DEFAULT_MAX_LENGTH = 512
DEFAULT_MAX_PROPERTIES = 16

JSON_WHITESPACE = r"\n? {0,16}"
"""Whitespace llguidance allows at each place JSON permits it: one optional newline and up to
16 spaces of indentation. The default (`[ \\t\\n\\r]+`) is unbounded, so a model could emit
newlines forever; this pattern still lets the model pretty-print as it was trained to (measured
on SmolLM2-135M: same output and speed as the default, whereas compact JSON made it wander)."""

LLGUIDANCE_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid", "uri"}
)
"""String formats llguidance enforces; it rejects a schema with any other. JSON Schema makes
`format` an annotation by default, so the others are dropped rather than refused."""

UNENFORCED_KEYWORDS = frozenset(
    {"uniqueItems", "contains", "minContains", "maxContains", "dependentRequired", "dependentSchemas", "propertyNames",
     "not", "if", "then", "else", "unevaluatedProperties", "unevaluatedItems"}
)
"""Assertions llguidance cannot compile (it refuses the whole schema): the grammar goes without
them, and what was generated is checked against the schema as given."""

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_SINGLES = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")


def bounded_schema(
    schema: dict[str, Any],
    *,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_length: int = DEFAULT_MAX_LENGTH,
    max_properties: int = DEFAULT_MAX_PROPERTIES,
) -> dict[str, Any]:
    """A copy of `schema` whose outputs are finite: arrays get `maxItems`, strings
    `maxLength`, objects with named properties `additionalProperties: false` and free-form
    objects `maxProperties`, wherever the schema left them open (recursively, including
    `$defs`, `anyOf`, `items` ...). Unknown string formats (annotations in JSON Schema) are
    dropped, and so are the assertions the grammar engine cannot compile (`UNENFORCED_KEYWORDS`:
    `uniqueItems`, `not` ...); apart from those, every output valid for the result is valid for
    `schema`."""
    bounded: dict[str, Any] = _bound(copy.deepcopy(schema), max_items, max_length, max_properties, in_all_of=False)
    return bounded


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    inferred: set[str] = set()
    if any(k in node for k in ("items", "prefixItems", "minItems")):
        inferred.add("array")
    if any(k in node for k in ("properties", "additionalProperties", "patternProperties")):
        inferred.add("object")
    if any(k in node for k in ("pattern", "minLength", "format")):
        inferred.add("string")
    return inferred


def _bound(node: Any, max_items: int, max_length: int, max_properties: int, *, in_all_of: bool) -> Any:
    if not isinstance(node, dict):
        return node
    types = _types(node)
    fixed = "enum" in node or "const" in node
    if "format" in node and node["format"] not in LLGUIDANCE_FORMATS:
        del node["format"]
    composed = any(k in node for k in ("allOf", "anyOf", "oneOf", "$ref"))
    if node.get("unevaluatedProperties") is False and node.get("properties") and "additionalProperties" not in node and not composed:
        node["additionalProperties"] = False  # the nearest the grammar can say
    for key in UNENFORCED_KEYWORDS & node.keys():
        del node[key]
    if "array" in types and "maxItems" not in node and not fixed:
        node["maxItems"] = max(max_items, int(node.get("minItems", 0)))
    if "string" in types and "maxLength" not in node and "format" not in node and not fixed:
        node["maxLength"] = max(max_length, int(node.get("minLength", 0)))
    if "object" in types and not fixed:
        has_named = bool(node.get("properties"))
        open_ended = not any(k in node for k in ("additionalProperties", "patternProperties", "unevaluatedProperties"))
        composed = any(k in node for k in ("allOf", "anyOf", "oneOf", "$ref"))
        if has_named and open_ended and not composed and not in_all_of:
            node["additionalProperties"] = False
        elif not has_named and "maxProperties" not in node and node.get("additionalProperties") is not False:
            node["maxProperties"] = max(max_properties, int(node.get("minProperties", 0)))
    for key in _SCHEMA_MAPS:
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                children[name] = _bound(child, max_items, max_length, max_properties, in_all_of=False)
    for key in _SCHEMA_LISTS:
        children = node.get(key)
        if isinstance(children, list):
            node[key] = [
                _bound(c, max_items, max_length, max_properties, in_all_of=in_all_of or key == "allOf")
                for c in children
            ]
    for key in _SCHEMA_SINGLES:
        if key in node:
            node[key] = _bound(node[key], max_items, max_length, max_properties, in_all_of=False)
    return node


def without_repeats(value: Any, schema: Any) -> Any:
    """`value` with the repeated items of every array its schema marks `uniqueItems` left
    out (the first of each kept), through properties and items: the one assertion of
    `UNENFORCED_KEYWORDS` generation commonly breaks, and one that is mended without a guess."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        return {k: without_repeats(v, properties.get(k)) for k, v in value.items()}
    if isinstance(value, list):
        items = [without_repeats(v, schema.get("items")) for v in value]
        if schema.get("uniqueItems") is True:
            seen = [_json_equality(v) for v in items]
            items = [v for i, v in enumerate(items) if seen[i] not in seen[:i]]
        return items
    return value


def _json_equality(value: Any) -> Any:
    """A key equal for values JSON Schema calls equal: 1 and 1.0 are, true and 1 are not."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", float(value))
    if isinstance(value, list):
        return ("array", tuple(_json_equality(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _json_equality(v)) for k, v in value.items())))
    return ("other", repr(value))


# --- grammars ----------------------------------------------------------------------------------

_HEADER = "%llguidance {}\n"


def json_grammar(schema: dict[str, Any], *, bound: bool = True) -> str:
    """The llguidance grammar for one JSON value valid against `schema` (bounded first, with
    bounded whitespace unless the schema sets its own `x-guidance` options)."""
    body = bounded_schema(schema) if bound else copy.deepcopy(schema)
    if "x-guidance" not in body:
        body = {"x-guidance": {"whitespace_pattern": JSON_WHITESPACE}, **body}
    return f"{_HEADER}start: %json {json.dumps(body, ensure_ascii=False)}"


def regex_grammar(pattern: str) -> str:
    """The whole output matches `pattern` (Rust `regex` syntax: no look-around)."""
    out: list[str] = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "/":
            out.append("\\/")
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    if escaped:
        raise ConstraintError(f"The regex {pattern!r} ends with a lone backslash; escape it as '\\\\'.")
    return f"{_HEADER}start: /{''.join(out)}/"


def choices_grammar(choices: Sequence[str]) -> str:
    """The output is exactly one of `choices` (literal text, any characters)."""
    return _HEADER + "start: " + " | ".join(json.dumps(c, ensure_ascii=False) for c in choices)


def token_ids_grammar(token_ids: Sequence[int]) -> str:
    """Forces exactly these token ids: how `score` reads the model's own logprob of a choice
    tokenized as it would be after the prefix (a text grammar would re-tokenize it)."""
    if not token_ids:
        raise ConstraintError("Cannot force an empty token sequence.")
    return _HEADER + "start: " + "".join(f"<[{int(t)}]>" for t in token_ids)


class LlamaConstraint(BaseModel):
    """A constraint ready for llama.cpp's /completion: one grammar string."""

    model_config = ConfigDict(frozen=True)

    grammar: str


def to_llama(constraint: Constraint) -> LlamaConstraint:
    """Translate and compile-check `constraint`; raise ConstraintError with llguidance's
    message when it cannot be compiled."""
    if isinstance(constraint, JsonSchemaConstraint):
        grammar = json_grammar(constraint.json_schema)
    elif isinstance(constraint, RegexConstraint):
        grammar = regex_grammar(constraint.pattern)
    elif isinstance(constraint, ChoicesConstraint):
        grammar = choices_grammar(constraint.choices)
    elif isinstance(constraint, GrammarConstraint):
        grammar = constraint.grammar
    else:  # pragma: no cover - the Constraint union is closed
        raise ConstraintError(f"Unknown constraint type {type(constraint).__name__}.")
    check_grammar(grammar, what=constraint.kind)
    return LlamaConstraint(grammar=grammar)


def check_grammar(grammar: str, *, what: str = "grammar") -> None:
    """Compile an llguidance grammar without a model. GBNF grammars (no `%llguidance`
    header) are left to llama.cpp, which refuses a bad one with an error of its own."""
    if not grammar.lstrip().startswith("%llguidance"):
        return
    message = llguidance.LLMatcher.validate_grammar(grammar)
    if message:
        raise ConstraintError(
            f"The {what} constraint cannot be compiled by llama.cpp's grammar engine: {_one_line(message)}. "
            "Fix it and try again."
        )


def _one_line(message: str) -> str:
    """llguidance's message without its source listing (`  2 | start: ...` and `^^^` lines)."""
    kept = []
    for line in message.splitlines():
        stripped = line.strip()
        if not stripped or set(stripped) <= {"^", " "} or re.match(r"^\d+ \|", stripped):
            continue
        kept.append(stripped)
    return " ".join(kept)[:500]


# --- SGLang's dialect ---------------------------------------------------------------------------


def to_sglang(constraint: RegexConstraint | ChoicesConstraint | GrammarConstraint) -> dict[str, str]:
    """SGLang's own field for a constraint JSON schema cannot state: `regex` (choices as a regex
    of escaped alternatives) or `ebnf`. The same in `/generate`'s sampling params and in an
    OpenAI request body; a JSON schema goes as each endpoint takes it."""
    if isinstance(constraint, RegexConstraint):
        return {"regex": constraint.pattern}
    if isinstance(constraint, ChoicesConstraint):
        return {"regex": regex_of_choices(constraint.choices)}
    return {"ebnf": constraint.grammar}


def regex_of_choices(choices: Sequence[str]) -> str:
    """A regex matching exactly one of `choices`, escaping only regex metacharacters (grammar
    compilers such as xgrammar reject Python's escapes of ordinary characters)."""
    return "(" + "|".join(_regex_escape(c) for c in choices) + ")"


def _regex_escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in r"\.^$*+?()[]{}|/":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        else:
            out.append(ch)
    return "".join(out)


# --- after generation ----------------------------------------------------------------------------


def check_output(constraint: Constraint | None, text: str) -> None:
    """A cheap guard that the engine applied the constraint at all: under a JSON schema a
    finished output parses as JSON, under choices it is one of them. Meaning is checked
    elsewhere (validation); this only catches a constraint the engine silently dropped."""
    if isinstance(constraint, JsonSchemaConstraint):
        try:
            json.loads(text)
        except ValueError as exc:
            raise ConstraintError(
                f"The engine finished an output under a JSON schema that is not JSON ({text[:80]!r}): "
                "it did not apply the schema. Check the schema with radixagent.engine.constraints.to_llama."
            ) from exc
    elif isinstance(constraint, ChoicesConstraint) and text not in constraint.choices:
        raise ConstraintError(f"The engine answered {text[:80]!r}, which is none of the choices {constraint.choices}.")


def fit_schema(schema: dict[str, Any], tokens: int) -> dict[str, Any]:
    """`schema` bounded so that its JSON fits in about `tokens` tokens: arrays get few items,
    and free strings share what the keys and punctuation leave (at ~2 characters a token, as
    measured on SmolLM2's arguments).
    Every value valid for the result is valid for `schema`; only the room to ramble shrinks."""
    items = max(1, min(16, tokens // 8))
    bounded = bounded_schema(schema or {"type": "object"}, max_items=items, max_length=max(16, min(512, 3 * tokens)))
    strings: list[dict[str, Any]] = []
    fields = 0

    def walk(node: Any, repeat: int) -> None:
        nonlocal fields
        if not isinstance(node, dict):
            return
        kinds = node.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        if "string" in kinds and not {"enum", "const", "pattern", "format"} & node.keys():
            strings.extend([node] * repeat)
        for child in (node.get("properties") or {}).values():
            fields += repeat
            walk(child, repeat)
        if isinstance(node.get("items"), dict):
            walk(node["items"], repeat * min(int(node.get("maxItems", items)), 3))
        for key in ("anyOf", "oneOf", "allOf"):
            for child in node.get(key) or []:
                walk(child, repeat)

    walk(bounded, 1)
    if strings:
        share = max(8, 2 * (tokens - 2 - 5 * fields) // len(strings))
        for node in strings:
            node["maxLength"] = max(int(node.get("minLength", 0)), min(int(node.get("maxLength", share)), share))
    return bounded
