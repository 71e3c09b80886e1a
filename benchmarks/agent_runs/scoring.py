"""Agent runs: labelled tasks, what an agent did on one, and whether it succeeded.

`tasks.jsonl` holds one task a line: a tool set (tools.py), the user's request, the calls a
careful agent makes (1 to 3, so 1 to 3 tool steps), and the fact its final answer must state:

    {"id": "orders-05", "toolset": "orders", "request": "When will order A-1042 arrive?",
     "calls": [{"tool": "get_order_status", "arguments": {"order_id": {"$ci": "A-1042"}},
                "example": {"order_id": "A-1042"}},
               {"tool": "track_package", "arguments": {"tracking_number": {"$ci": "DHL-7731"}},
                "example": {"tracking_number": "DHL-7731"}}],
     "fact": [{"any": ["2026-12-04", "December 4"]}]}

`arguments` holds the allowed values of the arguments that matter, as the rules of the
tool-call benchmark (toolcalls/scoring.py: a plain value is exact, `$ci` ignores case, `$any`
takes any of several rules, `$contains` wants every part in the string, `$compact` ignores
spaces, `$num` allows a tolerance, `$optional`, `$present`). Arguments a call's label does not
name may take any value. `example` is a concrete call that keeps the rules: the data check
runs the deterministic tools on it, so every fixed fact is known to come from a tool's result.

`fact` is a list of clauses the final answer must all meet (case and spacing aside):

    {"all": ["21", "sunny"]}                       every string appears
    {"any": ["92", "ninety-two"]}                  at least one appears
    {"result_of": "analyze_sentiment",             the regex's match (its first group if it has
     "match": "^(\\\\w+)"}                            one) in what that tool returned in this run
    {"overlap_with": "generate_summary",           the answer repeats a run of that many words of
     "words": 3}                                     what the tool returned in this run (all of
                                                     it, when it is shorter)

The last two are for the tools the model itself runs (sentiment, summary, translation): their
result is the model's, so the answer must state what the tool said, not a label fixed in advance.

A task succeeds when the right tools are called with allowed arguments and the answer has the
fact. No model judges anything:

    right_tools   every labelled call is matched, one to one, by a call that ran without error,
                  of the same tool, whose arguments keep the rules; and no tool outside the
                  label was called (repeating a labelled tool is allowed: steps count it)
    tools_named   the set of tools called is the set labelled (arguments aside)
    has_fact      the final answer meets every fact clause
    success       right_tools and has_fact
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from radixagent.engine import Usage
from radixagent.schemas import ToolCallRecord, ToolSchema
from toolcalls.scoring import BenchmarkDataError, OptionalRule, Rate, Rule, parse_rule, percentile

__all__ = [
    "AllOf",
    "AnyOf",
    "BenchmarkDataError",
    "ExpectedCall",
    "FactClause",
    "FaceReport",
    "FromResult",
    "Outcome",
    "Overlap",
    "Rate",
    "Row",
    "Task",
    "TaskScore",
    "check_task",
    "load_tasks",
    "score_task",
    "select_tasks",
    "summarize",
]


# --- labels -------------------------------------------------------------------------------------


class ExpectedCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    arguments: dict[str, Rule] = Field(default_factory=dict)
    example: dict[str, Any]

    @field_validator("arguments", mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise ValueError("arguments must be an object of parameter -> rule")
        return {key: parse_rule(value) for key, value in raw.items()}


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    all_: list[str] = Field(alias="all", min_length=1)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    any_: list[str] = Field(alias="any", min_length=1)


class FromResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result_of: str
    match: str = r"^\S+"

    @field_validator("match")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        re.compile(pattern)
        return pattern


class Overlap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_with: str
    words: int = Field(default=3, ge=1)


FactClause = AllOf | AnyOf | FromResult | Overlap


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    toolset: str
    request: str = Field(min_length=1)
    calls: list[ExpectedCall] = Field(min_length=1, max_length=3)
    fact: list[FactClause] = Field(min_length=1)
    note: str = ""

    @property
    def steps(self) -> int:
        """Tool steps the task takes: one per labelled call."""
        return len(self.calls)

    @property
    def tools(self) -> list[str]:
        return list(dict.fromkeys(c.tool for c in self.calls))


def load_tasks(path: str | Path) -> list[Task]:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BenchmarkDataError(f"Cannot read the tasks at {path}: {exc}") from exc
    tasks: list[Task] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            tasks.append(Task.model_validate_json(line))
        except ValidationError as exc:
            raise BenchmarkDataError(f"{path}:{number}: not a valid task: {exc}") from exc
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise BenchmarkDataError(f"{path}: task ids must be unique; repeated: {sorted({i for i in ids if ids.count(i) > 1})}")
    return tasks


def check_task(task: Task, schemas: dict[str, list[ToolSchema]]) -> list[str]:
    """Mistakes in one task's label against its tool set's schemas: unknown tools or
    parameters, rules no valid value can meet, an example that breaks its schema or rules, a
    fact read from a tool the label does not call."""
    if task.toolset not in schemas:
        return [f"{task.id}: unknown tool set {task.toolset!r}"]
    tools = {s.name: s for s in schemas[task.toolset]}
    errors: list[str] = []
    for call in task.calls:
        schema = tools.get(call.tool)
        if schema is None:
            errors.append(f"{task.id}: {call.tool!r} is not a tool of {task.toolset!r}")
            continue
        properties = schema.parameters.get("properties") or {}
        for key, rule in call.arguments.items():
            if key not in properties:
                errors.append(f"{task.id}: {call.tool}.{key} is not a parameter")
            else:
                errors.extend(f"{task.id}: {call.tool}: {e}" for e in rule.schema_errors(properties[key], key))
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema.parameters).iter_errors(call.example))
        if error is not None:
            errors.append(f"{task.id}: {call.tool}: the example breaks the schema ({error.message})")
        errors.extend(f"{task.id}: {call.tool}: the example breaks its rule: {p}" for p in argument_problems(call, call.example, properties))
    for clause in task.fact:
        source = clause.result_of if isinstance(clause, FromResult) else clause.overlap_with if isinstance(clause, Overlap) else None
        if source is not None and source not in task.tools:
            errors.append(f"{task.id}: the fact reads {source!r}, which the task does not call")
    return errors


def select_tasks(tasks: Sequence[Task], *, order: Sequence[str], limit: int | None = None, toolsets: Iterable[str] | None = None) -> list[Task]:
    """The run's tasks, at most `limit` of them taken round-robin over the tool sets (so a
    small subset still covers every set), then grouped by tool set in `order`."""
    wanted = [name for name in order if toolsets is None or name in set(toolsets)]
    pools = [[t for t in tasks if t.toolset == name] for name in wanted]
    chosen = [t for group in itertools.zip_longest(*pools) for t in group if t is not None]
    if limit is not None:
        chosen = chosen[:limit]
    rank = {name: i for i, name in enumerate(wanted)}
    return sorted(chosen, key=lambda t: rank[t.toolset])


# --- one run and its score ----------------------------------------------------------------------


class Outcome(BaseModel):
    """What one approach did on one task, with the engine's numbers."""

    content: str = ""
    calls: list[ToolCallRecord] = Field(default_factory=list)
    steps: int = Field(default=0, description="decisions the agent made (each a tool step or the answer)")
    engine_calls: int = Field(default=0, description="generate and score requests to the engine, the tools' own aside")
    usage: Usage = Field(default_factory=Usage, description="the engine's counts over those requests")
    agent_usage: Usage | None = Field(default=None, description="the usage the agent itself reported (radixagent)")
    latency_ms: float = 0.0
    tool_ms: float = Field(default=0.0, description="time spent inside the tools (the model-written ones call the engine)")
    error: str | None = None


class TaskScore(BaseModel):
    task_id: str
    toolset: str
    steps_needed: int
    right_tools: bool
    tools_named: bool
    has_fact: bool
    success: bool
    called_tool: bool
    problems: list[str] = Field(default_factory=list)
    outcome: Outcome


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


_WORDS = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORDS.findall(_fold(text))


def argument_problems(call: ExpectedCall, arguments: dict[str, Any], properties: dict[str, Any]) -> list[str]:
    """Why `arguments` are not allowed by the label's rules (none: they are)."""
    problems = []
    for key, rule in call.arguments.items():
        if key not in arguments:
            if not isinstance(rule, OptionalRule):
                problems.append(f"{key}: missing")
            continue
        if found := rule.problem(arguments[key], properties.get(key) or {}, key):
            problems.append(found)
    return problems


def _last_result(calls: Sequence[ToolCallRecord], tool: str) -> str | None:
    results = [c.result for c in calls if c.tool == tool and c.error is None and c.result is not None]
    return results[-1] if results else None


def fact_problems(task: Task, content: str, calls: Sequence[ToolCallRecord]) -> list[str]:
    """Why the answer does not state the task's fact (none: it does)."""
    answer = _fold(content)
    problems = []
    for clause in task.fact:
        if isinstance(clause, AllOf):
            missing = [s for s in clause.all_ if _fold(s) not in answer]
            if missing:
                problems.append(f"answer lacks {missing}")
        elif isinstance(clause, AnyOf):
            if not any(_fold(s) in answer for s in clause.any_):
                problems.append(f"answer has none of {clause.any_}")
        elif isinstance(clause, FromResult):
            result = _last_result(calls, clause.result_of)
            found = re.search(clause.match, result) if result is not None else None
            if found is None:
                problems.append(f"no result of {clause.result_of} to read the fact from")
                continue
            value = found.group(1) if found.re.groups else found.group(0)
            if _fold(value) not in answer:
                problems.append(f"answer does not state {value!r}, what {clause.result_of} returned")
        else:
            result = _last_result(calls, clause.overlap_with)
            said = _words(result or "")
            if not said:
                problems.append(f"no result of {clause.overlap_with} to read the fact from")
                continue
            n = min(clause.words, len(said))
            grams = {tuple(said[i : i + n]) for i in range(len(said) - n + 1)}
            words = _words(content)
            if not any(tuple(words[i : i + n]) in grams for i in range(len(words) - n + 1)):
                problems.append(f"answer repeats no {n} words in a row of what {clause.overlap_with} returned")
    return problems


def score_task(task: Task, schemas: Sequence[ToolSchema], outcome: Outcome) -> TaskScore:
    """Score what an approach did on `task` (see the module docstring)."""
    properties = {s.name: s.parameters.get("properties") or {} for s in schemas}
    problems: list[str] = []
    if outcome.error:
        problems.append(f"error: {outcome.error}")
    called = list(dict.fromkeys(c.tool for c in outcome.calls))
    foreign = [name for name in called if name not in task.tools]
    tools_named = set(called) == set(task.tools)
    if not called:
        problems.append("called no tool")
    elif foreign:
        problems.append(f"called {foreign}, not in the label {task.tools}")
    elif not tools_named:
        problems.append(f"called {called}, the label calls {task.tools}")
    for record in outcome.calls:
        if record.error:
            problems.append(f"{record.tool}({json.dumps(record.arguments, ensure_ascii=False)[:80]}) failed: {record.error[:120]}")
    ran = [c for c in outcome.calls if c.error is None]

    def fits(expected: ExpectedCall, record: ToolCallRecord) -> bool:
        return record.tool == expected.tool and not argument_problems(expected, record.arguments, properties.get(expected.tool, {}))

    matched = any(
        all(fits(e, ran[i]) for e, i in zip(task.calls, order, strict=True))
        for order in itertools.permutations(range(len(ran)), len(task.calls))
    )
    right_tools = matched and not foreign
    if not matched and ran:
        for expected in task.calls:  # say what is wrong with the nearest call of each labelled tool
            same = [r for r in ran if r.tool == expected.tool]
            if same:
                best = min((argument_problems(expected, r.arguments, properties.get(expected.tool, {})) for r in same), key=len)
                problems.extend(f"{expected.tool}: {p}" for p in best)
            else:
                problems.append(f"{expected.tool}: not called successfully")
    missing_fact = fact_problems(task, outcome.content, outcome.calls)
    problems += missing_fact
    return TaskScore(
        task_id=task.id,
        toolset=task.toolset,
        steps_needed=task.steps,
        right_tools=right_tools,
        tools_named=tools_named,
        has_fact=not missing_fact,
        success=right_tools and not missing_fact,
        called_tool=bool(outcome.calls),
        problems=list(dict.fromkeys(problems)),
        outcome=outcome,
    )


# --- summaries ----------------------------------------------------------------------------------


class Row(BaseModel):
    """One tool set's (or the overall) rates, and its totals: divide by `tasks` for a mean."""

    toolset: str
    tasks: int
    success: Rate
    right_tools: Rate
    tools_named: Rate
    has_fact: Rate
    called_tool: Rate
    steps: int
    tool_calls: int
    engine_calls: int
    prompt_tokens: int
    cached_tokens: int
    prefill_tokens: int
    completion_tokens: int
    latency_ms: float
    tool_ms: float
    latency_ms_p50: float
    latency_ms_p95: float

    def mean(self, total: float) -> float:
        return total / self.tasks if self.tasks else 0.0


class FaceReport(BaseModel):
    """One approach over the run's tasks: a row per tool set, then "overall"; every task's score."""

    face: str
    rows: list[Row]
    scores: list[TaskScore]

    def row(self, toolset: str) -> Row:
        for row in self.rows:
            if row.toolset == toolset:
                return row
        raise KeyError(toolset)


def summary_row(name: str, scores: Sequence[TaskScore]) -> Row:
    rates = {k: Rate() for k in ("success", "right_tools", "tools_named", "has_fact", "called_tool")}
    for s in scores:
        for key, rate in rates.items():
            rate.add(getattr(s, key))
    outcomes = [s.outcome for s in scores]
    latencies = [o.latency_ms for o in outcomes]
    return Row(
        toolset=name,
        tasks=len(scores),
        steps=sum(o.steps for o in outcomes),
        tool_calls=sum(len(o.calls) for o in outcomes),
        engine_calls=sum(o.engine_calls for o in outcomes),
        prompt_tokens=sum(o.usage.prompt_tokens for o in outcomes),
        cached_tokens=sum(o.usage.cached_tokens for o in outcomes),
        prefill_tokens=sum(o.usage.prefill_tokens for o in outcomes),
        completion_tokens=sum(o.usage.completion_tokens for o in outcomes),
        latency_ms=sum(latencies),
        tool_ms=sum(o.tool_ms for o in outcomes),
        latency_ms_p50=percentile(latencies, 0.5),
        latency_ms_p95=percentile(latencies, 0.95),
        **rates,
    )


def summarize(face: str, scores: Sequence[TaskScore], order: Sequence[str]) -> FaceReport:
    """A row per tool set present (in `order`) and an "overall" row."""
    rows = [summary_row(name, [s for s in scores if s.toolset == name]) for name in order if any(s.toolset == name for s in scores)]
    rows.append(summary_row("overall", scores))
    return FaceReport(face=face, rows=rows, scores=list(scores))
