"""Tool-call accuracy: labeled cases, a model's output, and the scores of one against the other.

Valid by construction says a call is well-formed; this module says whether it is the *right*
call. The benchmark in this folder (run by `benchmarks/toolcall_bench.py`) is data
in two plain files:

`toolsets.json`: tool sets by name, each a domain and 1 to 8 tools in OpenAI's function shape:

    {"weather": {"domain": "weather", "tools": [
        {"name": "get_forecast", "description": "...", "parameters": {<JSON schema, type object>}}]}}

`cases.jsonl`: one request a line, naming its tool set, its category, the user's message (and
optionally a system message) and the call(s) a careful person would make:

    {"id": "weather-03", "toolset": "weather", "category": "numeric",
     "user": "Forecast for Lyon for the next 5 days, in fahrenheit please.",
     "expected": [{"name": "get_forecast",
                   "arguments": {"city": {"$ci": "Lyon"}, "days": 5, "unit": "fahrenheit"}}]}

`"expected": []` means no tool fits: under `tool_choice="auto"` the right reply is a direct
answer (such cases are left out of `tool_choice="required"` runs). Two or three expected calls
mean the request needs them all in one turn, in any order.

Allowed values: each argument of an expected call is a rule, written as JSON:

    "Paris", 3, true, null          exactly this value (strings: outer whitespace ignored; 3 == 3.0)
    [r1, r2]                        an array of exactly these items in this order (each a rule)
    {"key": r, ...}                 an object with these keys (plain keys: no "$"); rules as for arguments
    {"$any": [r1, r2]}              any one of these rules
    {"$ci": "Paris"}                a string equal to this one (or to any of a list) ignoring case,
                                    repeated spaces and a final . ! or ?
    {"$compact": "+33612345678"}    a string equal to this one (or any of a list) once every space is
                                    removed, ignoring case (phone numbers, expressions, codes)
    {"$num": 12.5, "$tol": 0.01}    a number within $tol of $num (default 1e-6)
    {"$contains": ["a", "b"]}       a string containing each of these, ignoring case
    {"$set": [r1, r2]}              an array of these items in any order
    {"$optional": r}                may be left out; when given, it must match r
    {"$present": true}              any value, as long as it is given

An argument the case does not list is allowed only when it equals the parameter's schema
`default` (saying the default out loud changes nothing); any other extra argument makes the
call inexact. `load_benchmark` checks every case against its tool set: tools exist, every
required parameter has a rule, and every concrete allowed value is valid for its schema.

The scores of one response (`score_case`), summed per category and overall (`summarize`):

    well_formed     of the responses that attempted a call (any call, an error, a call cut off,
                    or any response under tool_choice="required"): every call names a tool of
                    the set and its arguments are a JSON object valid for that tool's schema
    right_function  of the cases expecting calls: the set of functions called is the set expected
    exact           of the cases expecting calls: as many calls as expected, each matched to an
                    expected call of the same function whose every argument is allowed
    abstention      of the no-tool cases: no call, no error
    call_count      of the multi-call cases: as many calls as expected
    latency         per request, as measured by the caller (mean, p50, p95 in ms)
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from radixagent.errors import ConfigurationError

__all__ = [
    "CATEGORIES",
    "AnyOf",
    "BenchmarkDataError",
    "Case",
    "CaseInsensitive",
    "Compact",
    "CaseScore",
    "CategoryRow",
    "Contains",
    "Exact",
    "ExpectedCall",
    "ModelOutput",
    "Number",
    "ObjectRule",
    "OptionalRule",
    "Ordered",
    "OutputCall",
    "Present",
    "Rate",
    "Report",
    "Rule",
    "Tool",
    "Toolset",
    "Unordered",
    "check_case",
    "load_benchmark",
    "load_cases",
    "load_toolsets",
    "parse_rule",
    "score_case",
    "select_cases",
    "summarize",
]

CATEGORIES: tuple[str, ...] = (
    "single_simple",
    "single_args_copy",
    "enum_choice",
    "numeric",
    "nested",
    "optional_defaults",
    "multi_call",
    "no_tool",
)
"""The benchmark's categories, in the order tables show them."""


class BenchmarkDataError(ConfigurationError):
    """A case or tool set file is malformed or disagrees with itself; the message names the
    file, the case and what to fix."""


# --- allowed values ------------------------------------------------------------------------------


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        """Why `value` (at `path`) is not allowed, or None when it is."""
        raise NotImplementedError

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        """What in this rule can never match a value valid for `schema` (a mistake in the data)."""
        return []


def _norm(value: Any) -> Any:
    """A value for comparison: strings stripped, numbers as floats (booleans stay booleans)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _same(a: Any, b: Any) -> bool:
    na, nb = _norm(a), _norm(b)
    return type(na) is type(nb) and na == nb


def _valid(value: Any, schema: dict[str, Any]) -> str | None:
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    return None if error is None else error.message


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


class Exact(_Rule):
    kind: Literal["exact"] = "exact"
    value: Any

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        return None if _same(value, self.value) else f"{path}: {_show(value)}, expected {_show(self.value)}"

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        error = _valid(self.value, schema)
        return [f"{path}: allowed value {_show(self.value)} is invalid for the schema ({error})"] if error else []


def _fold(text: str) -> str:
    return " ".join(text.split()).rstrip(".!?").rstrip().casefold()


def _squeeze(text: str) -> str:
    return "".join(text.split()).casefold()


class CaseInsensitive(_Rule):
    kind: Literal["ci"] = "ci"
    values: list[str] = Field(min_length=1)

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        if isinstance(value, str) and _fold(value) in {_fold(v) for v in self.values}:
            return None
        return f"{path}: {_show(value)}, expected {_show(self.values[0])} (any case)"

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        errors = []
        for text in self.values:
            if "enum" in schema:
                if not any(isinstance(e, str) and _fold(e) == _fold(text) for e in schema["enum"]):
                    errors.append(f"{path}: {text!r} matches no value of the enum {schema['enum']}")
            elif error := _valid(text, schema):
                errors.append(f"{path}: allowed value {text!r} is invalid for the schema ({error})")
        return errors


class Compact(_Rule):
    kind: Literal["compact"] = "compact"
    values: list[str] = Field(min_length=1)

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        if isinstance(value, str) and _squeeze(value) in {_squeeze(v) for v in self.values}:
            return None
        return f"{path}: {_show(value)}, expected {_show(self.values[0])} (spaces aside)"

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        return [f"{path}: {text!r} is invalid for the schema ({e})" for text in self.values if (e := _valid(text, schema))]


class Number(_Rule):
    kind: Literal["number"] = "number"
    value: float
    tolerance: float = Field(default=1e-6, ge=0)

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value - self.value) <= self.tolerance:
            return None
        return f"{path}: {_show(value)}, expected {self.value:g} ± {self.tolerance:g}"

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        kinds = schema.get("type")
        probe: float | int = int(self.value) if kinds == "integer" and float(self.value).is_integer() else self.value
        error = _valid(probe, schema)
        return [f"{path}: allowed number {self.value:g} is invalid for the schema ({error})"] if error else []


class Contains(_Rule):
    kind: Literal["contains"] = "contains"
    parts: list[str] = Field(min_length=1)

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        if not isinstance(value, str):
            return f"{path}: {_show(value)} is not a string"
        folded = _fold(value)
        missing = [p for p in self.parts if _fold(p) not in folded]
        return f"{path}: {_show(value)} lacks {missing}" if missing else None

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        return [] if schema.get("type") == "string" else [f"{path}: $contains needs a string parameter"]


class Present(_Rule):
    kind: Literal["present"] = "present"

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        return None


class AnyOf(_Rule):
    kind: Literal["any"] = "any"
    options: list[Rule] = Field(min_length=1)

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        problems = [option.problem(value, schema, path) for option in self.options]
        if any(p is None for p in problems):
            return None
        return f"{path}: {_show(value)} matches none of {len(self.options)} allowed values ({problems[0]})"

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        return [e for option in self.options for e in option.schema_errors(schema, path)]


class OptionalRule(_Rule):
    kind: Literal["optional"] = "optional"
    rule: Rule

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        return self.rule.problem(value, schema, path)

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        return self.rule.schema_errors(schema, path)


class Ordered(_Rule):
    kind: Literal["ordered"] = "ordered"
    items: list[Rule]

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        if not isinstance(value, list):
            return f"{path}: {_show(value)} is not an array"
        if len(value) != len(self.items):
            return f"{path}: {len(value)} items, expected {len(self.items)}"
        item_schema = schema.get("items") or {}
        for i, (rule, item) in enumerate(zip(self.items, value, strict=True)):
            if found := rule.problem(item, item_schema, f"{path}[{i}]"):
                return found
        return None

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        if schema.get("type") != "array":
            return [f"{path}: an array rule for a parameter that is not an array"]
        item_schema = schema.get("items") or {}
        return [e for i, rule in enumerate(self.items) for e in rule.schema_errors(item_schema, f"{path}[{i}]")]


class Unordered(Ordered):
    kind: Literal["set"] = "set"  # type: ignore[assignment]

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        if not isinstance(value, list):
            return f"{path}: {_show(value)} is not an array"
        if len(value) != len(self.items):
            return f"{path}: {len(value)} items, expected {len(self.items)}"
        item_schema = schema.get("items") or {}
        if _matching(self.items, value, lambda rule, item: rule.problem(item, item_schema, path) is None) is None:
            return f"{path}: {_show(value)} are not the expected items (any order)"
        return None


class ObjectRule(_Rule):
    """An object: each listed key follows its rule; other keys only at their schema default."""

    kind: Literal["object"] = "object"
    fields: dict[str, Rule]

    def problem(self, value: Any, schema: dict[str, Any], path: str) -> str | None:
        problems = self.problems(value, schema, path)
        return problems[0] if problems else None

    def problems(self, value: Any, schema: dict[str, Any], path: str) -> list[str]:
        """Every reason `value` is not allowed (one per argument)."""
        if not isinstance(value, dict):
            return [f"{path}: {_show(value)} is not an object"]
        properties = schema.get("properties") or {}
        out: list[str] = []
        for key, rule in self.fields.items():
            where = f"{path}.{key}" if path else key
            if key not in value:
                if not isinstance(rule, OptionalRule):
                    out.append(f"{where}: missing")
                continue
            if found := rule.problem(value[key], properties.get(key) or {}, where):
                out.append(found)
        for key in value.keys() - self.fields.keys():
            where = f"{path}.{key}" if path else key
            spec = properties.get(key) or {}
            if not ("default" in spec and _same(value[key], spec["default"])):
                out.append(f"{where}: extra argument {_show(value[key])}")
        return out

    def schema_errors(self, schema: dict[str, Any], path: str) -> list[str]:
        if schema.get("type", "object") != "object":
            return [f"{path}: an object rule for a parameter that is not an object"]
        properties = schema.get("properties") or {}
        errors = []
        for key, rule in self.fields.items():
            where = f"{path}.{key}" if path else key
            if key not in properties:
                errors.append(f"{where}: not a parameter of the schema")
            else:
                errors.extend(rule.schema_errors(properties[key], where))
        for key in schema.get("required") or []:
            if key not in self.fields or isinstance(self.fields[key], OptionalRule):
                errors.append(f"{path + '.' if path else ''}{key}: required by the schema but has no rule")
        return errors


Rule = Annotated[
    Exact | CaseInsensitive | Compact | Number | Contains | Present | AnyOf | OptionalRule | Ordered | Unordered | ObjectRule,
    Field(discriminator="kind"),
]
"""One allowed-value rule (see the module docstring for the JSON shorthand)."""

for _model in (AnyOf, OptionalRule, Ordered, Unordered, ObjectRule):
    _model.model_rebuild()

_RULE_KEYS = {"$any", "$ci", "$compact", "$num", "$tol", "$contains", "$set", "$optional", "$present"}


def parse_rule(raw: Any) -> Rule:
    """A rule from its JSON shorthand (see the module docstring)."""
    if isinstance(raw, _Rule):
        return raw  # type: ignore[return-value]
    if isinstance(raw, list):
        return Ordered(items=[parse_rule(item) for item in raw])
    if not isinstance(raw, dict):
        return Exact(value=raw)
    keys = {k for k in raw if k.startswith("$")}
    if not keys:
        return ObjectRule(fields={k: parse_rule(v) for k, v in raw.items()})
    unknown = keys - _RULE_KEYS
    if unknown or len(keys) != len(raw):
        raise ValueError(f"rule {_show(raw)}: unknown keys {sorted(unknown or set(raw) - keys)}; allowed: {sorted(_RULE_KEYS)}")
    if "$num" in raw:
        if keys - {"$num", "$tol"}:
            raise ValueError(f"rule {_show(raw)}: $num takes only $tol beside it")
        return Number(value=raw["$num"], tolerance=raw.get("$tol", 1e-6))
    if len(keys) != 1:
        raise ValueError(f"rule {_show(raw)}: one $-key per rule")
    key, body = next(iter(raw.items()))
    if key == "$any":
        return AnyOf(options=[parse_rule(option) for option in body])
    if key == "$ci":
        return CaseInsensitive(values=body if isinstance(body, list) else [body])
    if key == "$compact":
        return Compact(values=body if isinstance(body, list) else [body])
    if key == "$contains":
        return Contains(parts=body if isinstance(body, list) else [body])
    if key == "$set":
        return Unordered(items=[parse_rule(item) for item in body])
    if key == "$optional":
        return OptionalRule(rule=parse_rule(body))
    if key == "$present":
        return Present()
    raise ValueError(f"rule {_show(raw)}: $tol needs $num")


# --- cases and tool sets -------------------------------------------------------------------------


class Tool(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
    description: str
    parameters: dict[str, Any]

    def openai(self) -> dict[str, Any]:
        """The tool as an OpenAI `tools` entry (what a client sends)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


class Toolset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    domain: str
    tools: list[Tool] = Field(min_length=1, max_length=8)

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def openai(self) -> list[dict[str, Any]]:
        return [t.openai() for t in self.tools]


class ExpectedCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    arguments: ObjectRule

    @field_validator("arguments", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and not any(k.startswith("$") for k in raw) and raw.get("kind") != "object":
            return parse_rule(raw)
        return raw


class Case(BaseModel):
    """One request and the call(s) that answer it (none: no tool fits)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    toolset: str
    category: Literal[
        "single_simple", "single_args_copy", "enum_choice", "numeric", "nested", "optional_defaults", "multi_call", "no_tool"
    ]
    user: str = Field(min_length=1)
    system: str | None = None
    expected: list[ExpectedCall] = Field(max_length=3)
    note: str = ""

    @property
    def no_tool(self) -> bool:
        return not self.expected

    def messages(self) -> list[dict[str, str]]:
        """The request's messages, as an OpenAI client sends them."""
        out = [{"role": "system", "content": self.system}] if self.system else []
        return [*out, {"role": "user", "content": self.user}]


def load_toolsets(path: str | Path) -> dict[str, Toolset]:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchmarkDataError(f"Cannot read the tool sets at {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise BenchmarkDataError(f"{path}: the top level must be an object of tool sets by name.")
    out: dict[str, Toolset] = {}
    for name, body in raw.items():
        try:
            toolset = Toolset.model_validate({"name": name, **body})
        except (ValidationError, TypeError) as exc:
            raise BenchmarkDataError(f"{path}: tool set {name!r} is malformed: {exc}") from exc
        for tool in toolset.tools:
            try:
                jsonschema.Draft202012Validator.check_schema(tool.parameters)
            except jsonschema.SchemaError as exc:
                raise BenchmarkDataError(f"{path}: {name}.{tool.name} has an invalid JSON schema: {exc.message}") from exc
        if len({t.name for t in toolset.tools}) != len(toolset.tools):
            raise BenchmarkDataError(f"{path}: tool set {name!r} names a tool twice.")
        out[name] = toolset
    return out


def load_cases(path: str | Path) -> list[Case]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BenchmarkDataError(f"Cannot read the cases at {path}: {exc}") from exc
    cases: list[Case] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            cases.append(Case.model_validate_json(line))
        except ValidationError as exc:
            raise BenchmarkDataError(f"{path}:{number}: not a valid case: {exc}") from exc
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise BenchmarkDataError(f"{path}: case ids must be unique; repeated: {twice}")
    return cases


def check_case(case: Case, toolsets: dict[str, Toolset]) -> list[str]:
    """Mistakes in one case: an unknown tool set or tool, a rule its schema can never satisfy."""
    toolset = toolsets.get(case.toolset)
    if toolset is None:
        return [f"{case.id}: unknown tool set {case.toolset!r}"]
    errors: list[str] = []
    if case.category == "no_tool" and case.expected:
        errors.append(f"{case.id}: a no_tool case expects no call")
    if case.category != "no_tool" and not case.expected:
        errors.append(f"{case.id}: only no_tool cases may expect no call")
    if case.category == "multi_call" and len(case.expected) < 2:
        errors.append(f"{case.id}: a multi_call case expects two or three calls")
    for call in case.expected:
        tool = toolset.tool(call.name)
        if tool is None:
            errors.append(f"{case.id}: {call.name!r} is not a tool of {case.toolset!r}")
            continue
        errors.extend(f"{case.id}: {call.name}: {e}" for e in call.arguments.schema_errors(tool.parameters, ""))
    return errors


def load_benchmark(cases_path: str | Path, toolsets_path: str | Path | None = None) -> tuple[list[Case], dict[str, Toolset]]:
    """Cases and tool sets (by default `toolsets.json` beside the cases), checked against each other."""
    cases_path = Path(cases_path)
    toolsets = load_toolsets(toolsets_path or cases_path.with_name("toolsets.json"))
    cases = load_cases(cases_path)
    errors = [e for case in cases for e in check_case(case, toolsets)]
    if errors:
        shown = "\n  ".join(errors[:20])
        raise BenchmarkDataError(f"{cases_path}: {len(errors)} mistakes in the cases; fix them:\n  {shown}")
    return cases, toolsets


def select_cases(
    cases: Sequence[Case], *, categories: Iterable[str] | None = None, limit: int | None = None, tool_choice: str = "auto"
) -> list[Case]:
    """The cases a run asks for: in the given categories, without no-tool cases when a tool is
    required, and at most `limit` of them taken round-robin over the categories (so a small
    subset still covers every kind of request)."""
    wanted = set(categories) if categories else set(CATEGORIES)
    unknown = wanted - set(CATEGORIES)
    if unknown:
        raise BenchmarkDataError(f"Unknown categories {sorted(unknown)}; choose from {', '.join(CATEGORIES)}.")
    if tool_choice != "auto":
        wanted.discard("no_tool")
    pools = [[c for c in cases if c.category == name] for name in CATEGORIES if name in wanted]
    ordered = [c for group in itertools.zip_longest(*pools) for c in group if c is not None]
    return ordered if limit is None else ordered[:limit]


# --- a model's output and its scores -------------------------------------------------------------


class OutputCall(BaseModel):
    name: str
    arguments: str = Field(description="the arguments as the model returned them: JSON text")


class ModelOutput(BaseModel):
    """One response: a reply, calls, or an error, and how long the request took."""

    content: str | None = None
    calls: list[OutputCall] = Field(default_factory=list)
    finish_reason: str | None = None
    error: str | None = Field(default=None, description="why the request failed, when it did")
    latency_ms: float = 0.0


class CaseScore(BaseModel):
    """One case's scores; a metric that does not apply to the case is None."""

    case_id: str
    category: str
    tool_choice: str
    calls: int
    well_formed: bool | None
    right_function: bool | None
    exact: bool | None
    abstained: bool | None
    right_count: bool | None
    latency_ms: float
    problems: list[str] = Field(default_factory=list)
    output: ModelOutput


def _matching(expected: Sequence[Any], actual: Sequence[Any], fits: Any) -> tuple[int, ...] | None:
    """A one-to-one assignment of `actual` items to `expected` ones where every pair fits."""
    if len(expected) != len(actual):
        return None
    for order in itertools.permutations(range(len(actual))):
        if all(fits(e, actual[i]) for e, i in zip(expected, order, strict=True)):
            return order
    return None


def score_case(case: Case, toolset: Toolset, output: ModelOutput, *, tool_choice: str = "auto") -> CaseScore:
    """Score one response to `case` (see the module docstring for each metric)."""
    problems: list[str] = []
    parsed: list[tuple[str, dict[str, Any] | None]] = []
    well = True
    for call in output.calls:
        tool = toolset.tool(call.name)
        try:
            arguments = json.loads(call.arguments)
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            problems.append(f"{call.name}: arguments are not a JSON object: {call.arguments[:80]!r}")
            parsed.append((call.name, None))
            well = False
            continue
        parsed.append((call.name, arguments))
        if tool is None:
            problems.append(f"{call.name}: not a tool of the set")
            well = False
        elif error := _valid(arguments, tool.parameters):
            problems.append(f"{call.name}: arguments break the schema ({error})")
            well = False
    if output.error:
        problems.append(f"error: {output.error}")
    cut_off = output.finish_reason == "length" and not output.calls and not output.content
    if cut_off:
        problems.append("cut off by max_tokens before a call or answer")
    attempted = bool(output.calls) or output.error is not None or cut_off or tool_choice != "auto"
    if attempted and not output.calls:
        well = False
        if tool_choice != "auto" and not output.error:
            problems.append(f"no call under tool_choice={tool_choice}")

    right_function = exact = abstained = right_count = None
    if case.no_tool:
        abstained = not output.calls and output.error is None and not cut_off
        if output.calls:
            problems.append(f"called {[c.name for c in output.calls]} where no tool fits")
    else:
        names = {name for name, _ in parsed}
        right_function = bool(parsed) and output.error is None and names == {c.name for c in case.expected}
        if not parsed and not output.error and not cut_off:
            problems.append("answered directly where a tool fits")
        elif parsed and not right_function:
            problems.append(f"called {sorted(names)}, expected {sorted({c.name for c in case.expected})}")
        exact = output.error is None and _exact(case, toolset, parsed, problems)
        if len(case.expected) > 1:
            right_count = output.error is None and len(parsed) == len(case.expected)
    if len(parsed) != len(case.expected) and parsed:
        problems.append(f"{len(parsed)} calls, expected {len(case.expected)}")
    return CaseScore(
        case_id=case.id,
        category=case.category,
        tool_choice=tool_choice,
        calls=len(output.calls),
        well_formed=well if attempted else None,
        right_function=right_function,
        exact=exact,
        abstained=abstained,
        right_count=right_count,
        latency_ms=output.latency_ms,
        problems=list(dict.fromkeys(problems)),
        output=output,
    )


def _exact(case: Case, toolset: Toolset, parsed: list[tuple[str, dict[str, Any] | None]], problems: list[str]) -> bool:
    def argument_problems(expected: ExpectedCall, actual: tuple[str, dict[str, Any] | None]) -> list[str]:
        name, arguments = actual
        if name != expected.name or arguments is None:
            return ["different function"]
        tool = toolset.tool(name)
        return expected.arguments.problems(arguments, tool.parameters if tool else {}, "")

    fits = lambda e, a: not argument_problems(e, a)  # noqa: E731
    if _matching(case.expected, parsed, fits) is not None:
        return True
    # Say what is wrong with the calls that name an expected function, for the report.
    for actual in parsed:
        candidates = [e for e in case.expected if e.name == actual[0]]
        if candidates and actual[1] is not None:
            best = min((argument_problems(e, actual) for e in candidates), key=len)
            problems.extend(f"{actual[0]}: {p}" for p in best)
    return False


# --- summaries -----------------------------------------------------------------------------------


class Rate(BaseModel):
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def add(self, flag: bool | None) -> None:
        if flag is not None:
            self.total += 1
            self.hits += int(flag)


class CategoryRow(BaseModel):
    category: str
    cases: int
    well_formed: Rate
    right_function: Rate
    exact: Rate
    abstention: Rate
    call_count: Rate
    latency_ms_mean: float
    latency_ms_p50: float
    latency_ms_p95: float


class Report(BaseModel):
    """Per-category rows, then one named "overall"; and every case's score."""

    rows: list[CategoryRow]
    scores: list[CaseScore]

    def row(self, category: str) -> CategoryRow:
        for row in self.rows:
            if row.category == category:
                return row
        raise KeyError(category)


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _row(category: str, scores: Sequence[CaseScore]) -> CategoryRow:
    rates = {name: Rate() for name in ("well_formed", "right_function", "exact", "abstention", "call_count")}
    for s in scores:
        rates["well_formed"].add(s.well_formed)
        rates["right_function"].add(s.right_function)
        rates["exact"].add(s.exact)
        rates["abstention"].add(s.abstained)
        rates["call_count"].add(s.right_count)
    latencies = [s.latency_ms for s in scores]
    return CategoryRow(
        category=category,
        cases=len(scores),
        latency_ms_mean=sum(latencies) / len(latencies) if latencies else 0.0,
        latency_ms_p50=percentile(latencies, 0.5),
        latency_ms_p95=percentile(latencies, 0.95),
        **rates,
    )


def summarize(scores: Sequence[CaseScore]) -> Report:
    """One row per category present (in `CATEGORIES` order) and an "overall" row."""
    rows = [_row(name, [s for s in scores if s.category == name]) for name in CATEGORIES if any(s.category == name for s in scores)]
    rows.append(_row("overall", scores))
    return Report(rows=rows, scores=list(scores))
