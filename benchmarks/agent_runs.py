"""Agent runs: whole tasks run by an agent end to end, each taking 1 to 3 tool steps, scored by
rules in their labels (benchmarks/agent_runs/: tools.py, tasks.jsonl, scoring.py).

The tasks use six tool sets: the tutorial's five tools registered as its cell 19 does (Korean
descriptions, radixagent's built-in functions behind them, a document store seeded with fixed
documents), and five sets of plain Python functions over fixed data (weather, currency,
orders, calendar, units). A task succeeds when the right tools are called with allowed
arguments and the final answer states the fact the tools returned; no model judges.

Two approaches run the same tasks on the same embedded engine (default: the bundled
SmolLM2-135M, greedy):

  radixagent  `Agent(engine, tools=...)` with its default decision settings (only the token
              budgets follow --max-tokens); one agent per tool set, each task a new branch
              from the system prompt, so every prompt extends one the engine has cached
  tutorial    the tutorial's run loop (agent_bench.tutorial_turn): every step re-sends the
              system prompt and the last five messages and generates one decision under the
              tutorial's JSON schema; each task starts a new conversation

Reported per task, per tool set and overall: success, right tools (with allowed arguments),
tools named (arguments aside), answer has the fact, steps, engine calls (generate and score
requests of the agent; the tools' own model calls aside), prompt, cached and prefill tokens
(prompt - cached, as the engine counted them), and latency (wall time of the run, tools
included; the time inside tools is shown too). Then both approaches side by side, with the
ratios of prefill tokens and wall time, and whether they did comparable work (both called
tools).

    python benchmarks/agent_runs.py                          # every task, both approaches
    python benchmarks/agent_runs.py --limit 20               # 20 tasks spread over the tool sets
    python benchmarks/agent_runs.py --faces radixagent --toolsets weather,orders --json /tmp/runs.json

The machine may be shared: compare the columns of one invocation. `--threads 1` (the default)
is the fastest setting on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agent_bench import TimedEngine, tutorial_turn
from agent_runs.scoring import (
    BenchmarkDataError,
    FaceReport,
    Outcome,
    Rate,
    Row,
    Task,
    TaskScore,
    check_task,
    load_tasks,
    score_task,
    select_tasks,
    summarize,
)
from agent_runs.tools import TOOLSETS, toolset
from radixagent import Agent
from radixagent.agent import AgentEvent, StepEvent
from radixagent.engine import ChatMessage, Engine, SamplingParams, Usage
from radixagent.engine.embedded import EmbeddedEngine
from radixagent.errors import RadixAgentError
from radixagent.schemas import ToolSchema
from radixagent.tools import ToolRegistry
from reporting import add_model_options, add_report_options, settings, write_json

HERE = Path(__file__).resolve().parent
DEFAULT_TASKS = HERE / "agent_runs" / "tasks.jsonl"
FACES = ("radixagent", "tutorial")
PREFILL_GOAL, WALL_GOAL = 5.0, 2.0

console = Console(width=None if sys.stdout.isatty() else 160)


def progress(label: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def usage_since(engine: TimedEngine, before: Usage) -> Usage:
    now = engine.usage
    return Usage(
        prompt_tokens=now.prompt_tokens - before.prompt_tokens,
        completion_tokens=now.completion_tokens - before.completion_tokens,
        cached_tokens=now.cached_tokens - before.cached_tokens,
    )


def registry_of(tools: Sequence[Any]) -> ToolRegistry:
    registry = ToolRegistry()
    for tool in tools:
        registry.register(tool)
    return registry


def tool_schemas(engine: Engine) -> dict[str, list[ToolSchema]]:
    """Every tool set's schemas, as an agent registers them."""
    return {name: registry_of(toolset(name, engine)).schemas() for name in TOOLSETS}


def by_toolset(tasks: Sequence[Task]) -> dict[str, list[Task]]:
    out: dict[str, list[Task]] = {}
    for task in tasks:
        out.setdefault(task.toolset, []).append(task)
    return out


# --- the two approaches -------------------------------------------------------------------------


async def radixagent_face(engine: TimedEngine, tasks: Sequence[Task], args: argparse.Namespace) -> list[TaskScore]:
    """`Agent` with its defaults, one per tool set; each task a branch from the system prompt."""
    scores: list[TaskScore] = []
    for name, group in by_toolset(tasks).items():
        agent = Agent(engine, tools=toolset(name, engine.inner))
        if args.max_tokens:  # the budgets only: every other decision setting stays the library's default
            agent.decision = agent.decision.model_copy(update={"answer_tokens": args.max_tokens, "argument_tokens": args.max_tokens})
        schemas = agent.tool_manager.schemas()
        for task in group:
            root = agent.memory.root_id
            if root is not None:
                agent.memory.branch_from_node(root)
            steps = 0

            def hear(event: AgentEvent) -> None:
                nonlocal steps
                if isinstance(event, StepEvent):
                    steps += 1

            calls, usage = engine.model_calls, engine.usage
            started = time.perf_counter()
            try:
                response = await agent.run(task.request, max_iterations=args.max_iterations, on_event=hear)
                outcome = Outcome(
                    content=response.content,
                    calls=response.tool_calls,
                    agent_usage=response.usage,
                    error=None if response.is_successful else response.error_message,
                )
            except RadixAgentError as exc:
                outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            outcome.steps, outcome.engine_calls, outcome.usage = steps, engine.model_calls - calls, usage_since(engine, usage)
            outcome.tool_ms = sum(c.duration_ms for c in outcome.calls)
            scores.append(score_task(task, schemas, outcome))
            progress("radixagent", len(scores), len(tasks))
    return scores


async def tutorial_face(engine: TimedEngine, tasks: Sequence[Task], args: argparse.Namespace) -> list[TaskScore]:
    """The tutorial's loop on the same tools; each task a new conversation."""
    scores: list[TaskScore] = []
    for name, group in by_toolset(tasks).items():
        tools = registry_of(toolset(name, engine.inner))
        for task in group:
            calls, usage = engine.model_calls, engine.usage
            started = time.perf_counter()
            try:
                turn = await tutorial_turn(
                    engine, tools, [], task.request, max_tokens=2 * args.max_tokens, max_steps=args.max_iterations
                )
                outcome = Outcome(content=turn.content, calls=turn.calls, steps=turn.steps, error=turn.error)
            except RadixAgentError as exc:
                outcome = Outcome(error=f"{type(exc).__name__}: {exc}")
            outcome.latency_ms = (time.perf_counter() - started) * 1000
            outcome.engine_calls, outcome.usage = engine.model_calls - calls, usage_since(engine, usage)
            outcome.tool_ms = sum(c.duration_ms for c in outcome.calls)
            scores.append(score_task(task, tools.schemas(), outcome))
            progress("tutorial", len(scores), len(tasks))
    return scores


async def run_faces(tasks: Sequence[Task], args: argparse.Namespace) -> list[FaceReport]:
    base = EmbeddedEngine(args.model, context_size=args.context, slots=2, threads=args.threads)
    engine = TimedEngine(base)
    try:
        await base.generate([ChatMessage(role="user", content="warm up")], sampling=SamplingParams(max_tokens=1))
        schemas = tool_schemas(base)
        errors = [e for t in tasks for e in check_task(t, schemas)]
        if errors:
            raise BenchmarkDataError("the tasks disagree with their tool sets; fix them:\n  " + "\n  ".join(errors[:20]))
        reports = []
        for face in args.faces:
            run = radixagent_face if face == "radixagent" else tutorial_face
            reports.append(summarize(face, await run(engine, tasks, args), TOOLSETS))
        return reports
    finally:
        await base.aclose()


# --- output -------------------------------------------------------------------------------------


def rate(value: Rate) -> str:
    return "-" if value.value is None else f"{value.value:.2f} ({value.hits}/{value.total})"


def mark(flag: bool) -> str:
    return "✓" if flag else "✗"


def tasks_table(report: FaceReport) -> Table:
    table = Table(title=f"{report.face}: per task", title_justify="left")
    for column in ("task", "need", "ok", "tools", "fact", "steps", "calls", "prompt", "cached", "prefill", "ms", "called"):
        table.add_column(column, justify="left" if column in ("task", "called") else "right")
    for s in report.scores:
        o = s.outcome
        called = ", ".join(c.tool + ("!" if c.error else "") for c in o.calls) or "-"
        table.add_row(
            s.task_id, str(s.steps_needed), mark(s.success), mark(s.right_tools), mark(s.has_fact), str(o.steps),
            str(o.engine_calls), str(o.usage.prompt_tokens), str(o.usage.cached_tokens), str(o.usage.prefill_tokens),
            f"{o.latency_ms:.0f}", called[:40],
        )  # fmt: skip
    return table


SUMMARY_COLUMNS: list[tuple[str, Callable[[Row], str]]] = [
    ("tasks", lambda r: str(r.tasks)),
    ("success", lambda r: rate(r.success)),
    ("right tools", lambda r: rate(r.right_tools)),
    ("tools named", lambda r: rate(r.tools_named)),
    ("has fact", lambda r: rate(r.has_fact)),
    ("steps", lambda r: f"{r.mean(r.steps):.1f}"),
    ("engine calls", lambda r: f"{r.mean(r.engine_calls):.1f}"),
    ("prompt tok", lambda r: f"{r.mean(r.prompt_tokens):.0f}"),
    ("cached tok", lambda r: f"{r.mean(r.cached_tokens):.0f}"),
    ("prefill tok", lambda r: f"{r.mean(r.prefill_tokens):.0f}"),
    ("ms (p95)", lambda r: f"{r.mean(r.latency_ms):.0f} ({r.latency_ms_p95:.0f})"),
]


def summary_table(report: FaceReport) -> Table:
    table = Table(title=f"{report.face}: per tool set (steps to ms: mean per task)", title_justify="left")
    table.add_column("tool set")
    for name, _ in SUMMARY_COLUMNS:
        table.add_column(name, justify="right")
    for row in report.rows:
        table.add_row(row.toolset, *(get(row) for _, get in SUMMARY_COLUMNS), style="bold" if row.toolset == "overall" else None)
    return table


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def comparison(radix: FaceReport, tutorial: FaceReport) -> dict[str, Any]:
    """Both approaches on the same tasks: totals, ratios (tutorial / radixagent), and the work
    each did, overall and on the tasks where both called tools."""
    pairs = list(zip(radix.scores, tutorial.scores, strict=True))
    both_called = [(r, t) for r, t in pairs if r.called_tool and t.called_tool]
    both_right = [(r, t) for r, t in pairs if r.right_tools and t.right_tools]

    def totals(scores: Sequence[TaskScore]) -> dict[str, float]:
        return {
            "prefill_tokens": sum(s.outcome.usage.prefill_tokens for s in scores),
            "wall_s": sum(s.outcome.latency_ms for s in scores) / 1000,
            "wall_without_tools_s": sum(s.outcome.latency_ms - s.outcome.tool_ms for s in scores) / 1000,
        }

    def ratios(subset: Sequence[tuple[TaskScore, TaskScore]]) -> dict[str, Any]:
        r, t = totals([p[0] for p in subset]), totals([p[1] for p in subset])
        return {
            "tasks": len(subset),
            "radixagent": r,
            "tutorial": t,
            "prefill_ratio": ratio(t["prefill_tokens"], r["prefill_tokens"]),
            "wall_ratio": ratio(t["wall_s"], r["wall_s"]),
            "wall_without_tools_ratio": ratio(t["wall_without_tools_s"], r["wall_without_tools_s"]),
        }

    per_toolset = {
        row.toolset: ratios([(r, t) for r, t in pairs if row.toolset in ("overall", r.toolset)]) for row in radix.rows
    }
    return {
        "tasks": len(pairs),
        "radixagent_called_tools_in": sum(r.called_tool for r, _ in pairs),
        "tutorial_called_tools_in": sum(t.called_tool for _, t in pairs),
        "both_called_tools_in": len(both_called),
        "both_right_tools_in": len(both_right),
        "per_toolset": per_toolset,
        "both_called_tools": ratios(both_called),
        "both_right_tools": ratios(both_right),
    }


def comparison_tables(radix: FaceReport, tutorial: FaceReport, compared: dict[str, Any]) -> list[Table]:
    r, t = radix.row("overall"), tutorial.row("overall")
    side = Table(title=f"radixagent against the tutorial's loop, same {r.tasks} tasks and engine (totals)", title_justify="left")
    for column in ("measure", "radixagent", "tutorial", "tutorial / radixagent"):
        side.add_column(column, justify="left" if column == "measure" else "right")
    for name, get in (("success", lambda x: x.success), ("right tools", lambda x: x.right_tools), ("has fact", lambda x: x.has_fact), ("called a tool", lambda x: x.called_tool)):
        side.add_row(name, rate(get(r)), rate(get(t)), "")
    numbers: list[tuple[str, Callable[[Row], float], str]] = [
        ("tool calls", lambda x: x.tool_calls, "{:.0f}"),
        ("steps", lambda x: x.steps, "{:.0f}"),
        ("engine calls", lambda x: x.engine_calls, "{:.0f}"),
        ("prompt tokens", lambda x: x.prompt_tokens, "{:.0f}"),
        ("cached tokens", lambda x: x.cached_tokens, "{:.0f}"),
        ("prefill tokens (prompt - cached)", lambda x: x.prefill_tokens, "{:.0f}"),
        ("completion tokens", lambda x: x.completion_tokens, "{:.0f}"),
        ("wall s", lambda x: x.latency_ms / 1000, "{:.1f}"),
        ("  of which inside tools", lambda x: x.tool_ms / 1000, "{:.1f}"),
        ("wall s without tools", lambda x: (x.latency_ms - x.tool_ms) / 1000, "{:.1f}"),
    ]
    for name, get, fmt in numbers:
        side.add_row(name, fmt.format(get(r)), fmt.format(get(t)), times(ratio(get(t), get(r))), style="bold" if name.startswith(("prefill", "wall s")) else None)

    sets = Table(title="per tool set: tutorial / radixagent", title_justify="left")
    for column in ("tool set", "tasks", "success r / t", "prefill r / t", "prefill ratio", "wall s r / t", "wall ratio"):
        sets.add_column(column, justify="left" if column == "tool set" else "right")
    for row_r, row_t in zip(radix.rows, tutorial.rows, strict=True):
        c = compared["per_toolset"][row_r.toolset]
        sets.add_row(
            row_r.toolset, str(row_r.tasks), f"{row_r.success.hits} / {row_t.success.hits}",
            f"{row_r.prefill_tokens} / {row_t.prefill_tokens}", times(c["prefill_ratio"]),
            f"{row_r.latency_ms / 1000:.1f} / {row_t.latency_ms / 1000:.1f}", times(c["wall_ratio"]),
            style="bold" if row_r.toolset == "overall" else None,
        )  # fmt: skip
    return [side, sets]


def comparison_lines(compared: dict[str, Any]) -> list[str]:
    overall = compared["per_toolset"]["overall"]
    lines = [
        f"prefill tokens: tutorial / radixagent = {times(overall['prefill_ratio'])} (goal >= {PREFILL_GOAL:g}x); "
        f"wall time: tutorial / radixagent = {times(overall['wall_ratio'])} (goal >= {WALL_GOAL:g}x; "
        f"{times(overall['wall_without_tools_ratio'])} without the time inside tools)",
        f"comparable work: radixagent called tools in {compared['radixagent_called_tools_in']} of {compared['tasks']} tasks, "
        f"the tutorial's loop in {compared['tutorial_called_tools_in']}; both in {compared['both_called_tools_in']}, "
        f"both with the right tools in {compared['both_right_tools_in']}.",
    ]
    for key, what in (("both_called_tools", "both called tools"), ("both_right_tools", "both called the right tools")):
        subset = compared[key]
        if subset["tasks"]:
            lines.append(
                f"  on the {subset['tasks']} tasks where {what}: prefill {times(subset['prefill_ratio'])}, "
                f"wall {times(subset['wall_ratio'])} ({times(subset['wall_without_tools_ratio'])} without tools)"
            )
        else:
            lines.append(f"  no task where {what}: the ratios above compare unequal work.")
    return lines


def show_wrong(report: FaceReport, tasks: dict[str, Task], count: int) -> None:
    failed = [s for s in report.scores if not s.success]
    if not failed or count <= 0:
        return
    console.print(f"[bold]{report.face}[/]: {len(failed)} tasks failed; the first {min(count, len(failed))}:")
    for s in failed[:count]:
        console.print(f"  {s.task_id} {tasks[s.task_id].request!r}", markup=False, highlight=False)
        calls = "; ".join(f"{c.tool}({json.dumps(c.arguments, ensure_ascii=False)})" for c in s.outcome.calls) or "-"
        console.print(f"      calls: {calls[:200]}", markup=False, highlight=False)
        console.print(f"      answer: {s.outcome.content[:160]!r}", markup=False, highlight=False)
        console.print(f"      why: {'; '.join(s.problems)[:300] or '-'}", markup=False, highlight=False)


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=Path, default=DEFAULT_TASKS, help="tasks file (JSON lines)")
    parser.add_argument("--limit", type=int, default=None, help="at most N tasks, spread over the tool sets")
    parser.add_argument("--toolsets", type=lambda s: [t for t in s.split(",") if t], default=None, help=f"comma-separated, of: {','.join(TOOLSETS)}")
    parser.add_argument("--faces", type=lambda s: [f for f in s.split(",") if f], default=list(FACES), help="comma-separated, of: radixagent,tutorial")
    parser.add_argument("--max-tokens", type=int, default=128, help="radixagent's answer and argument budgets; the tutorial's decision (arguments and answer in one JSON) gets twice this")
    parser.add_argument("--max-iterations", type=int, default=4, help="decisions per task, for both approaches (3 tool steps and the answer)")
    add_model_options(parser, context=4096)
    add_report_options(parser, show_wrong=3, show_wrong_help="failed tasks to print per approach", json_help="write the reports (every task's outcome) and the comparison here")
    args = parser.parse_args(argv)
    if not args.faces or set(args.faces) - set(FACES):
        parser.error(f"--faces takes {','.join(FACES)}")
    if args.toolsets and set(args.toolsets) - set(TOOLSETS):
        parser.error(f"--toolsets takes {','.join(TOOLSETS)}")
    if args.max_tokens < 8 or args.max_iterations < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--max-tokens must be at least 8, --max-iterations and --limit at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # a tool raising on bad arguments is part of the run (its record holds the error), not news
    logging.getLogger("radixagent.tools.execution").setLevel(logging.ERROR)
    every = load_tasks(args.tasks)
    tasks = select_tasks(every, order=TOOLSETS, limit=args.limit, toolsets=args.toolsets)
    counts = ", ".join(f"{name} {n}" for name, n in ((name, sum(t.toolset == name for t in tasks)) for name in TOOLSETS) if n)
    console.print(
        f"{len(tasks)} of {len(every)} tasks ({counts}); steps 1/2/3: "
        f"{'/'.join(str(sum(t.steps == k for t in tasks)) for k in (1, 2, 3))}; approaches {','.join(args.faces)}; "
        f"max_tokens {args.max_tokens}, max_iterations {args.max_iterations}, threads {args.threads}"
    )
    reports = asyncio.run(run_faces(tasks, args))
    for report in reports:
        console.print(tasks_table(report))
        console.print(summary_table(report))
    compared: dict[str, Any] | None = None
    faces = {r.face: r for r in reports}
    if set(FACES) <= faces.keys():
        compared = comparison(faces["radixagent"], faces["tutorial"])
        for table in comparison_tables(faces["radixagent"], faces["tutorial"], compared):
            console.print(table)
        for line in comparison_lines(compared):
            console.print(line, markup=False, highlight=False)
    by_id = {t.id: t for t in tasks}
    for report in reports:
        show_wrong(report, by_id, args.show_wrong)
    if args.json:
        payload = {
            "settings": settings(args),
            "tasks": [t.id for t in tasks],
            "faces": {r.face: r.model_dump(mode="json", by_alias=True) for r in reports},
            "comparison": compared,
        }
        write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
