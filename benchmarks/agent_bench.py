"""Agent benchmark: radixagent's prefix-exact transcripts against the tutorial's way of
building prompts, and the framework's own cost per step.

    python benchmarks/agent_bench.py                 # all parts
    python benchmarks/agent_bench.py --part prefill --turns 10
    python benchmarks/agent_bench.py --part overhead

(a) The same 10-turn tool-using conversation on the same embedded engine, run two ways:
    - radixagent: `Agent`, every prompt an exact extension of the previous one;
    - the tutorial's approach: each step's prompt rebuilt from the system prompt and the last
      five messages (a sliding window), sent as chat messages, with the decision generated
      under one JSON schema as the tutorial does (`tutorial_turn`, which
      benchmarks/agent_runs.py runs on its tasks too).
    Both use the same tools and the same per-step token budgets. Reported: prompt tokens,
    engine-reported cached tokens, prefill tokens computed (prompt - cached), wall time, and
    the ratios.
(b) Framework time per step: the agent on the scripted engine (replies are instant, so the
    time is radixagent's own), and on the embedded engine the share of a step's wall time
    spent outside engine calls.

Prints tables; asserts nothing. Compare the columns of one run: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from radixagent import Agent, DecisionSettings
from radixagent.engine import (
    ChatMessage,
    Completion,
    Constraint,
    Engine,
    EngineWrapper,
    JsonSchemaConstraint,
    Prompt,
    SamplingParams,
    ScoreResult,
    ScriptedEngine,
    StreamChunk,
    Usage,
)
from radixagent.schemas import ToolCallRecord, ToolSchema
from radixagent.tools import ToolRegistry

console = Console()

QUERIES = [
    "What is the weather in Paris?",
    "And what is 17 plus 25?",
    "What is the weather in Tokyo?",
    "Multiply 6 by 7.",
    "Is it warmer in Paris or in Tokyo?",
    "What is the weather in Seoul?",
    "Add 100 and 250.",
    "What is 9 times 9?",
    "What is the weather in Berlin?",
    "Thanks! Summarise what you found in one sentence.",
]

WEATHER = {"paris": "sunny, 21 C", "tokyo": "rainy, 17 C", "seoul": "cloudy, 15 C", "berlin": "windy, 12 C"}


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: the city's name, e.g. Paris
    """
    return WEATHER.get(city.strip().lower(), f"no weather data for {city}")


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


TOOLS = [get_weather, add, multiply]
SETTINGS = DecisionSettings(answer_tokens=48, argument_tokens=48, max_calls=1, allow_ask=False)


class TimedEngine(EngineWrapper):
    """Another engine, with the wall time spent inside its calls summed up, its calls counted
    by kind, and the usage the engine reported for every generate and score added up."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.seconds = 0.0
        self.tokenize_seconds = 0.0
        self.calls: Counter[str] = Counter()
        self.usage = Usage()

    @property
    def model_calls(self) -> int:
        """Requests that run the model: generate, stream and score (tokenize and render aside)."""
        return self.calls["generate"] + self.calls["stream"] + self.calls["score"]

    async def _timed(self, kind: str, call: Any) -> Any:
        self.calls[kind] += 1
        started = time.perf_counter()
        try:
            return await call
        finally:
            spent = time.perf_counter() - started
            self.seconds += spent
            if kind == "tokenize":
                self.tokenize_seconds += spent

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        completion: Completion = await self._timed("generate", self.inner.generate(prompt, constraint=constraint, sampling=sampling))
        self.usage = self.usage + completion.usage
        return completion

    async def _stream(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> AsyncIterator[StreamChunk]:
        self.calls["stream"] += 1
        async for chunk in self.inner.stream(prompt, constraint=constraint, sampling=sampling):
            if chunk.completion is not None:
                self.usage = self.usage + chunk.completion.usage
            yield chunk

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        result: ScoreResult = await self._timed("score", self.inner.score(prefix, choices))
        self.usage = self.usage + result.usage
        return result

    async def tokenize(self, text: str) -> list[int]:
        return await self._timed("tokenize", self.inner.tokenize(text))

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        return await self._timed("render_chat", self.inner.render_chat(messages))


# --- the tutorial's approach --------------------------------------------------------------------


TUTORIAL_INSTRUCTIONS = "You are an AI assistant that produces structured output. Use a tool when needed."


def tutorial_system_prompt(tools: Sequence[ToolSchema]) -> str:
    """The tutorial's system prompt: instructions, then each tool's name, description and
    parameters (its `get_tools_description`, with the JSON compact, which only spares it
    tokens), then the reply format."""
    return (
        TUTORIAL_INSTRUCTIONS
        + "\n"
        + "\n".join(f"- {t.name}: {t.description} parameters: {json.dumps(t.parameters, ensure_ascii=False)}" for t in tools)
        + '\nReply with JSON: {"decision": "call_tool"|"respond_directly", "tool_name", "arguments", "reasoning"}.'
    )


def tutorial_decision_schema(tools: Sequence[ToolSchema]) -> dict[str, Any]:
    """The tutorial's ToolCall, as the JSON schema its `_call_sglang` generated under."""
    most = max((len(t.parameters.get("properties") or {}) for t in tools), default=0)
    return {
        "type": "object",
        "properties": {
            "decision": {"enum": ["call_tool", "respond_directly"]},
            "tool_name": {"enum": [t.name for t in tools] + [""]},
            "arguments": {"type": "object", "maxProperties": max(most, 1)},
            "reasoning": {"type": "string", "maxLength": 200},
        },
        "required": ["decision", "tool_name", "arguments", "reasoning"],
        "additionalProperties": False,
    }


class TutorialTurn(BaseModel):
    """One user turn run the tutorial's way: its answer, the calls that ran, and the engine's numbers."""

    content: str = ""
    calls: list[ToolCallRecord] = Field(default_factory=list)
    steps: int = 0
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0
    tool_seconds: float = 0.0
    error: str | None = None


async def tutorial_turn(
    engine: Engine,
    tools: ToolRegistry,
    history: list[ChatMessage],
    query: str,
    *,
    max_tokens: int,
    max_steps: int = 3,
) -> TutorialTurn:
    """Answer `query` the tutorial's way, appending to `history` (the conversation so far).

    Each step sends the system prompt and the last five messages, rebuilt as chat messages,
    and generates one decision under the tutorial's JSON schema. A `call_tool` decision runs
    the tool (through `tools`' executor, which checks the arguments against the schema) and
    appends its result; any other decision ends the turn, its `reasoning` being the answer,
    as in the tutorial. With no answer after `max_steps`, the turn has none."""
    schemas = tools.schemas()
    system, constraint = tutorial_system_prompt(schemas), JsonSchemaConstraint(json_schema=tutorial_decision_schema(schemas))
    turn = TutorialTurn()
    started = time.perf_counter()
    history.append(ChatMessage(role="user", content=query))
    for _ in range(max_steps):
        messages = [ChatMessage(role="system", content=system), *history[-5:]]
        completion = await engine.generate(messages, constraint=constraint, sampling=SamplingParams(max_tokens=max_tokens))
        turn.usage, turn.steps = turn.usage + completion.usage, turn.steps + 1
        history.append(ChatMessage(role="assistant", content=completion.text))
        try:
            decision = json.loads(completion.text)
        except ValueError:
            turn.error = f"the decision is not JSON (cut off at max_tokens={max_tokens}?): {completion.text[:80]!r}"
            break
        name = decision.get("tool_name", "")
        if decision.get("decision") != "call_tool" or name not in tools:
            turn.content = str(decision.get("reasoning", ""))
            break
        record = await tools.executor.execute(name, decision.get("arguments") or {})
        turn.calls.append(record)
        turn.tool_seconds += record.duration_ms / 1000
        result = record.result if record.error is None else f"error: {record.error}"  # the tutorial shows errors to the model
        history.append(ChatMessage(role="user", content=f"Tool result: {result}"))
    else:
        turn.error = f"no answer after {max_steps} steps"
    turn.seconds = time.perf_counter() - started
    return turn


async def run_tutorial_style(engine: Engine, turns: int) -> tuple[Usage, float, int]:
    """The conversation of QUERIES, each turn as `tutorial_turn` runs it."""
    tools = ToolRegistry()
    for fn in TOOLS:
        tools.register(fn)
    history: list[ChatMessage] = []
    usage, calls = Usage(), 0
    started = time.perf_counter()
    for query in QUERIES[:turns]:
        turn = await tutorial_turn(engine, tools, history, query, max_tokens=SETTINGS.answer_tokens + SETTINGS.argument_tokens)
        usage, calls = usage + turn.usage, calls + turn.steps
    return usage, time.perf_counter() - started, calls


async def run_radixagent(engine: Engine, turns: int) -> tuple[Usage, float, int, int]:
    agent = Agent(engine, tools=TOOLS, decision=SETTINGS)
    usage, steps = Usage(), 0
    started = time.perf_counter()
    for query in QUERIES[:turns]:
        response = await agent.run(query, max_iterations=3)
        usage = usage + response.usage
        steps += sum(1 for s in response.reasoning_steps if "answered" in s or "call " in s or "unusable" in s)
    return usage, time.perf_counter() - started, steps, agent.memory.get_statistics().cacheable_tokens


def prefill_table(turns: int) -> None:
    import asyncio

    from radixagent.engine.embedded import EmbeddedEngine

    async def both() -> tuple[Any, Any]:
        engine = EmbeddedEngine(slots=2)
        try:
            await engine.generate("warm up", sampling=SamplingParams(max_tokens=1))
            radix = await run_radixagent(engine, turns)
            tutorial = await run_tutorial_style(engine, turns)
            return radix, tutorial
        finally:
            await engine.aclose()

    console.print(f"[bold](a) {turns}-turn tool-using conversation, embedded engine[/]")
    (r_usage, r_wall, r_steps, r_cacheable), (t_usage, t_wall, t_calls) = asyncio.run(both())
    table = Table()
    for column in ("approach", "engine calls/steps", "prompt tok", "cached tok", "prefill tok", "wall s"):
        table.add_column(column, justify="right" if column != "approach" else "left")
    table.add_row("radixagent (exact prefix)", str(r_steps), str(r_usage.prompt_tokens), str(r_usage.cached_tokens), str(r_usage.prefill_tokens), f"{r_wall:.1f}")
    table.add_row("tutorial (last 5 messages)", str(t_calls), str(t_usage.prompt_tokens), str(t_usage.cached_tokens), str(t_usage.prefill_tokens), f"{t_wall:.1f}")
    console.print(table)
    console.print(
        f"prefill tokens: tutorial / radixagent = {t_usage.prefill_tokens / max(r_usage.prefill_tokens, 1):.1f}x (goal >= 5x); "
        f"wall time: tutorial / radixagent = {t_wall / r_wall:.2f}x (goal >= 2x); "
        f"radixagent prefix efficiency (cached / cacheable) = {r_usage.cached_tokens / max(r_cacheable, 1):.3f}"
    )


def overhead_table(steps: int) -> None:
    import asyncio

    from radixagent.engine.embedded import EmbeddedEngine

    def script(prompt: Prompt, constraint: Constraint | None) -> str:
        """Call add once per question, then answer."""
        text = scripted.decode(prompt)
        called = text.rfind("add returned") > text.rfind("Add one and two")
        if constraint is not None and constraint.kind == "choices":
            options = constraint.choices  # type: ignore[union-attr]
            return " answer" if called and " answer" in options else (" run" if " run" in options else " add")
        if constraint is not None and constraint.kind == "json_schema":
            return '{"a": 1, "b": 2}'
        return "Done."

    scripted = ScriptedEngine(script)

    async def scripted_run() -> tuple[float, int]:
        agent = Agent(scripted, tools=TOOLS, decision=SETTINGS)
        started = time.perf_counter()
        for i in range(steps):
            await agent.run(f"Add one and two, time {i}.", max_iterations=3)
        return time.perf_counter() - started, steps * 2

    async def embedded_run() -> tuple[float, float, float, int]:
        engine = TimedEngine(EmbeddedEngine(slots=2))
        try:
            await engine.generate("warm up", sampling=SamplingParams(max_tokens=1))
            engine.seconds = engine.tokenize_seconds = 0.0
            agent = Agent(engine, tools=TOOLS, decision=SETTINGS)
            started = time.perf_counter()
            n = 0
            for query in QUERIES[: max(2, steps // 10)]:
                response = await agent.run(query, max_iterations=3)
                n += len(response.reasoning_steps)
            return time.perf_counter() - started, engine.seconds, engine.tokenize_seconds, n
        finally:
            await engine.aclose()

    console.print("[bold](b) framework time per step[/]")
    wall, n = asyncio.run(scripted_run())
    console.print(f"scripted engine: {wall / n * 1000:.2f} ms per step over {n} steps (everything but a real engine)")
    e_wall, e_engine, e_tokenize, e_steps = asyncio.run(embedded_run())
    framework = e_wall - e_engine
    table = Table()
    for column in ("embedded engine", "seconds", "share of wall time"):
        table.add_column(column, justify="right" if column != "embedded engine" else "left")
    table.add_row("wall time", f"{e_wall:.2f}", "100%")
    table.add_row("inside engine calls (generate, score, tokenize)", f"{e_engine:.2f}", f"{e_engine / e_wall:.1%}")
    table.add_row("  of which tokenize", f"{e_tokenize:.2f}", f"{e_tokenize / e_wall:.1%}")
    table.add_row("framework (everything else)", f"{framework:.2f}", f"{framework / e_wall:.1%} (goal < 5%)")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["prefill", "overhead", "all"], default="all")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    if args.part in ("prefill", "all"):
        prefill_table(args.turns)
    if args.part in ("overhead", "all"):
        overhead_table(args.steps)


if __name__ == "__main__":
    main()
