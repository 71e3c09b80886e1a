"""The agent-run benchmark (benchmarks/agent_runs.py): its labelled tasks agree with their tool
sets and with what the tools return, its scoring on made-up runs, the tutorial's loop on a
scripted engine, and the script end to end on ten tasks with the real embedded engine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agent_bench import tutorial_turn
from agent_runs.scoring import (
    AllOf,
    AnyOf,
    Outcome,
    Task,
    check_task,
    fact_problems,
    load_tasks,
    score_task,
    select_tasks,
    summarize,
)
from agent_runs.tools import CELL_19_SCHEMAS, TOOLSETS, get_weather, toolset
from radixagent import SGLangAgent, ToolDefinition, ToolSchema
from radixagent.engine import Constraint, Prompt, ScriptedEngine
from radixagent.schemas import ToolCallRecord
from radixagent.tools import ToolRegistry

ROOT = Path(__file__).resolve().parents[1]
TASKS = ROOT / "benchmarks" / "agent_runs" / "tasks.jsonl"
HELDOUT = ROOT / "benchmarks" / "agent_runs" / "heldout.jsonl"
"""New wordings and values over the same tool sets, frozen before any rule was tuned on the
development tasks: a run on them says how far the rules carry beyond those tasks."""
MADE_UP = sorted((ROOT / "benchmarks" / "agent_runs" / "madeup").glob("*.jsonl"))
"""Hand-written development tasks over the same tool sets (madeup/README.md)."""
CELLS = ROOT / "tests" / "fixtures" / "tutorial_cells.py"
MODEL_TOOLS = {"analyze_sentiment", "generate_summary", "translate_text"}
"""The tutorial's tools whose result the model writes: their tasks' facts are read from the run."""


def registries() -> dict[str, ToolRegistry]:
    engine = ScriptedEngine()
    out = {}
    for name in TOOLSETS:
        registry = ToolRegistry()
        for tool in toolset(name, engine):
            registry.register(tool)
        out[name] = registry
    return out


# --- the data ----------------------------------------------------------------------------------------


def test_the_tasks_cover_the_tool_sets_and_step_counts_the_issue_asks_for() -> None:
    tasks = load_tasks(TASKS)
    assert len(tasks) >= 50
    per_set = Counter(t.toolset for t in tasks)
    assert set(per_set) == set(TOOLSETS) and len(TOOLSETS) >= 5  # the tutorial's and at least four others
    assert all(n >= 8 for n in per_set.values()), per_set
    steps = Counter(t.steps for t in tasks)
    assert set(steps) == {1, 2, 3}, steps
    two_tools = [t for t in tasks if len(t.tools) >= 2]
    assert any(t.toolset == "tutorial" and t.tools[:2] == ["retrieve_documents", "generate_summary"] for t in two_tools)


def test_the_held_out_tasks_are_new_and_cover_every_tool_set() -> None:
    dev, held_out = load_tasks(TASKS), load_tasks(HELDOUT)
    assert len(held_out) >= 20
    assert {t.toolset for t in held_out} == set(TOOLSETS)
    assert sum(t.steps >= 2 for t in held_out) >= 3
    assert not {t.request for t in held_out} & {t.request for t in dev}
    assert not {t.id for t in held_out} & {t.id for t in dev}


@pytest.mark.parametrize("path", [TASKS, HELDOUT, *MADE_UP], ids=["dev", "heldout", *(p.stem for p in MADE_UP)])
def test_every_label_agrees_with_its_tool_set(path: Path) -> None:
    schemas = {name: registry.schemas() for name, registry in registries().items()}
    errors = [e for task in load_tasks(path) for e in check_task(task, schemas)]
    assert errors == []


@pytest.mark.parametrize(("path", "at_least"), [(TASKS, 40), (HELDOUT, 15), *((p, 15) for p in MADE_UP)], ids=["dev", "heldout", *(p.stem for p in MADE_UP)])
def test_every_fixed_fact_is_what_the_deterministic_tools_return(path: Path, at_least: int) -> None:
    """Run each task's example calls (all but the model-written tools); the answer made of
    their results must meet the task's fixed fact clauses."""
    tools = registries()

    async def results(task: Task) -> list[ToolCallRecord]:
        return [await tools[task.toolset].executor.execute(c.tool, c.example) for c in task.calls if c.tool not in MODEL_TOOLS]

    checked = 0
    for task in load_tasks(path):
        records = asyncio.run(results(task))
        assert all(r.error is None for r in records), (task.id, [r.error for r in records])
        fixed = [clause for clause in task.fact if isinstance(clause, AllOf | AnyOf)]
        if fixed:
            answer = "\n".join(r.result or "" for r in records)
            assert fact_problems(task.model_copy(update={"fact": fixed}), answer, records) == [], task.id
            checked += 1
    assert checked >= at_least


def test_the_tutorial_set_is_registered_as_cell_19_does() -> None:
    """CELL_19_SCHEMAS is the tutorial's cell 19, as the fixture holds it verbatim."""
    cell_19 = CELLS.read_text(encoding="utf-8").split("# In [20]:")[0]
    namespace: dict[str, Any] = {
        "ToolDefinition": ToolDefinition,
        "ToolSchema": ToolSchema,
        "make_agent": lambda: SGLangAgent(engine=ScriptedEngine()),
        **{schema.name: (lambda **kwargs: "") for schema in CELL_19_SCHEMAS},
    }
    exec(compile(cell_19, str(CELLS), "exec"), namespace)
    assert namespace["agent"].tool_manager.schemas() == CELL_19_SCHEMAS
    assert [t.name for t in toolset("tutorial", ScriptedEngine())] == [s.name for s in CELL_19_SCHEMAS]


def test_a_limit_spreads_the_tasks_over_the_tool_sets() -> None:
    chosen = select_tasks(load_tasks(TASKS), order=TOOLSETS, limit=10)
    assert len(chosen) == 10 and {t.toolset for t in chosen} == set(TOOLSETS)
    assert [t.toolset for t in chosen] == sorted((t.toolset for t in chosen), key=TOOLSETS.index)  # grouped, in order


# --- the scoring ---------------------------------------------------------------------------------------

TWO_CITIES = Task.model_validate(
    {
        "id": "made-up",
        "toolset": "weather",
        "request": "Weather in Lima and Oslo?",
        "calls": [
            {"tool": "get_weather", "arguments": {"city": {"$ci": "Lima"}}, "example": {"city": "Lima"}},
            {"tool": "get_weather", "arguments": {"city": {"$ci": "Oslo"}}, "example": {"city": "Oslo"}},
        ],
        "fact": [{"all": ["foggy"]}, {"any": ["-3", "minus three"]}],
    }
)
WEATHER_SCHEMAS = registries()["weather"].schemas()


def ran(tool: str, arguments: dict[str, Any], result: str | None = None, error: str | None = None) -> ToolCallRecord:
    return ToolCallRecord(id="c", tool=tool, arguments=arguments, result=result, error=error)


def test_success_needs_each_labelled_call_with_allowed_arguments_and_the_fact() -> None:
    lima, oslo = ran("get_weather", {"city": "lima"}, get_weather("Lima")), ran("get_weather", {"city": "Oslo"}, get_weather("Oslo"))
    score = score_task(TWO_CITIES, WEATHER_SCHEMAS, Outcome(content="Lima is foggy; Oslo is at -3 °C.", calls=[oslo, lima]))
    assert score.success and score.right_tools and score.tools_named and score.has_fact and score.problems == []
    # one call of the two, twice over: a call is matched once
    score = score_task(TWO_CITIES, WEATHER_SCHEMAS, Outcome(content="foggy, -3", calls=[lima, lima]))
    assert not score.right_tools and score.tools_named and score.has_fact and not score.success
    assert any("city" in p and "Oslo" in p for p in score.problems)
    # a tool outside the label spoils the calls; an answer without the fact spoils success
    extra = ran("celsius_to_fahrenheit", {"celsius": 1}, "1 °C = 33.8 °F")
    score = score_task(TWO_CITIES, WEATHER_SCHEMAS, Outcome(content="foggy, -3", calls=[lima, oslo, extra]))
    assert not score.right_tools and not score.tools_named
    score = score_task(TWO_CITIES, WEATHER_SCHEMAS, Outcome(content="Lima is foggy.", calls=[lima, oslo]))
    assert score.right_tools and not score.has_fact and any("-3" in p for p in score.problems)
    # a call that failed does not count as made
    failed = ran("get_weather", {"city": "Oslo"}, error="timed out")
    assert not score_task(TWO_CITIES, WEATHER_SCHEMAS, Outcome(content="foggy, -3", calls=[lima, failed])).right_tools


def test_facts_of_model_written_tools_are_read_from_the_run() -> None:
    task = Task.model_validate(
        {
            "id": "made-up-2",
            "toolset": "tutorial",
            "request": "Sentiment, then summary",
            "calls": [
                {"tool": "analyze_sentiment", "arguments": {}, "example": {"text": "x"}},
                {"tool": "generate_summary", "arguments": {}, "example": {"text": "x"}},
            ],
            "fact": [{"result_of": "analyze_sentiment", "match": "^(\\w+)"}, {"overlap_with": "generate_summary", "words": 3}],
        }
    )
    calls = [
        ran("analyze_sentiment", {"text": "x"}, "negative (confidence 0.71)"),
        ran("generate_summary", {"text": "x"}, "The bridge closes for repairs in May."),
    ]
    assert fact_problems(task, "It is negative: the bridge closes for repairs soon.", calls) == []
    problems = fact_problems(task, "It is positive; the bridge is closing.", calls)
    assert len(problems) == 2 and "'negative'" in problems[0] and "3 words" in problems[1]
    assert "no result of analyze_sentiment" in fact_problems(task, "negative", calls[1:])[0]


def test_the_summary_rows_add_up() -> None:
    lima = ran("get_weather", {"city": "Lima"}, get_weather("Lima"))
    outcome = Outcome(content="foggy -3", calls=[lima], steps=2, engine_calls=3, latency_ms=100.0)
    outcome.usage.prompt_tokens, outcome.usage.cached_tokens = 50, 40
    scores = [score_task(TWO_CITIES, WEATHER_SCHEMAS, outcome), score_task(TWO_CITIES, WEATHER_SCHEMAS, Outcome())]
    report = summarize("radixagent", scores, TOOLSETS)
    assert [r.toolset for r in report.rows] == ["weather", "overall"]
    overall = report.row("overall")
    assert overall.tasks == 2 and overall.called_tool.hits == 1 and overall.prefill_tokens == 10 and overall.mean(overall.engine_calls) == 1.5


# --- the tutorial's loop -------------------------------------------------------------------------------


def test_the_tutorial_loop_calls_tools_resends_the_last_five_messages_and_answers_from_reasoning() -> None:
    def reply(prompt: Prompt, constraint: Constraint | None) -> str:
        assert constraint is not None and constraint.kind == "json_schema"
        results = sum("Tool result:" in m.content for m in prompt)  # type: ignore[union-attr]
        if len(engine.prompts) <= 3:
            city = ["Paris", "Tokyo", "Seoul"][len(engine.prompts) - 1]
            return json.dumps({"decision": "call_tool", "tool_name": "get_weather", "arguments": {"city": city}, "reasoning": "look"})
        return json.dumps({"decision": "respond_directly", "tool_name": "", "arguments": {}, "reasoning": f"seen {results} results"})

    engine = ScriptedEngine(reply)
    tools = ToolRegistry()
    tools.register(get_weather)
    turn = asyncio.run(tutorial_turn(engine, tools, [], "Weather in three cities?", max_tokens=64, max_steps=4))
    assert [c.arguments["city"] for c in turn.calls] == ["Paris", "Tokyo", "Seoul"] and all(c.error is None for c in turn.calls)
    assert turn.steps == 4 and turn.error is None
    last = engine.prompts[-1]
    assert [m.role for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]  # type: ignore[union-attr]
    assert "get_weather" in last[0].content and "three cities" not in str(last)  # type: ignore[index]
    assert turn.content == "seen 3 results"  # the answer is the last decision's reasoning
    assert turn.usage.prompt_tokens > 0


# --- the script, end to end ------------------------------------------------------------------------------


@pytest.mark.timeout(600)
def test_the_script_runs_ten_tasks_through_both_approaches(tmp_path: Path) -> None:
    """Ten tasks spread over every tool set, on the real embedded engine, small budgets: the
    tables are printed, and the JSON report is complete and consistent (accuracy aside)."""
    report_path = tmp_path / "runs.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "agent_runs.py"),
            "--limit", "10",
            "--max-tokens", "32",
            "--max-iterations", "2",
            "--json", str(report_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for title in ("radixagent: per task", "tutorial: per tool set", "radixagent against the tutorial's loop", "prefill tokens: tutorial / radixagent"):
        assert title in done.stdout, title
    report = json.loads(report_path.read_text())
    assert len(report["tasks"]) == 10 and set(report["faces"]) == {"radixagent", "tutorial"}
    for face in report["faces"].values():
        scores = face["scores"]
        assert [s["task_id"] for s in scores] == report["tasks"]
        assert {s["toolset"] for s in scores} == set(TOOLSETS)
        for s in scores:
            outcome = s["outcome"]
            assert outcome["latency_ms"] > 0 and 1 <= outcome["steps"] <= 2 and outcome["engine_calls"] >= 1
            usage = outcome["usage"]
            assert usage["prompt_tokens"] > 0 and 0 <= usage["cached_tokens"] <= usage["prompt_tokens"]
            assert s["success"] == (s["right_tools"] and s["has_fact"])
            assert s["called_tool"] == bool(outcome["calls"])
        overall = face["rows"][-1]
        assert overall["toolset"] == "overall" and overall["tasks"] == 10
        assert overall["prefill_tokens"] == overall["prompt_tokens"] - overall["cached_tokens"]
        assert sum(r["tasks"] for r in face["rows"][:-1]) == 10
    compared = report["comparison"]
    assert compared["tasks"] == 10 and compared["per_toolset"]["overall"]["tasks"] == 10
    assert compared["both_called_tools_in"] <= min(compared["radixagent_called_tools_in"], compared["tutorial_called_tools_in"])
