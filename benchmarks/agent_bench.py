"""Agent benchmark: radixagent's prefix-exact transcripts against the tutorial's way of
building prompts, and the framework's own cost per step.

    python benchmarks/agent_bench.py                 # all parts
    python benchmarks/agent_bench.py --part prefill --turns 10
    python benchmarks/agent_bench.py --part overhead

(a) The same 10-turn tool-using conversation on the same embedded engine, run two ways:
    - radixagent: `Agent`, every prompt an exact extension of the previous one;
    - the tutorial's approach: each step's prompt rebuilt from the system prompt and the last
      five messages (a sliding window), sent as chat messages, with the decision generated
      under one JSON schema as the tutorial does.
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
from collections.abc import AsyncIterator, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from radixagent import Agent, DecisionSettings
from radixagent.engine import (
    ChatMessage,
    Completion,
    Constraint,
    Engine,
    EngineHealth,
    JsonSchemaConstraint,
    ModelInfo,
    Prompt,
    SamplingParams,
    ScoreResult,
    ScriptedEngine,
    StreamChunk,
    Usage,
)

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


class TimedEngine(Engine):
    """Another engine, with the wall time spent inside its calls summed up."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.name
        self.seconds = 0.0
        self.tokenize_seconds = 0.0

    @property
    def takes_token_ids(self) -> bool:
        return self.engine.takes_token_ids

    async def _timed(self, call: Any, tokenize: bool = False) -> Any:
        started = time.perf_counter()
        try:
            return await call
        finally:
            spent = time.perf_counter() - started
            self.seconds += spent
            if tokenize:
                self.tokenize_seconds += spent

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        return await self._timed(self.engine.generate(prompt, constraint=constraint, sampling=sampling))

    async def _stream(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> AsyncIterator[StreamChunk]:
        async for chunk in self.engine.stream(prompt, constraint=constraint, sampling=sampling):
            yield chunk

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        return await self._timed(self.engine.score(prefix, choices))

    async def tokenize(self, text: str) -> list[int]:
        return await self._timed(self.engine.tokenize(text), tokenize=True)

    async def render_chat(self, messages: Sequence[ChatMessage]) -> str | None:
        return await self._timed(self.engine.render_chat(messages))

    async def health(self) -> EngineHealth:
        return await self.engine.health()

    async def model_info(self) -> ModelInfo:
        return await self.engine.model_info()


# --- the tutorial's approach --------------------------------------------------------------------


def tutorial_decision_schema() -> dict[str, Any]:
    """The tutorial's ToolCall, as the JSON schema its `_call_sglang` generated under."""
    return {
        "type": "object",
        "properties": {
            "decision": {"enum": ["call_tool", "respond_directly"]},
            "tool_name": {"enum": [t.__name__ for t in TOOLS] + [""]},
            "arguments": {"type": "object", "maxProperties": 3},
            "reasoning": {"type": "string", "maxLength": 200},
        },
        "required": ["decision", "tool_name", "arguments", "reasoning"],
        "additionalProperties": False,
    }


async def run_tutorial_style(engine: Engine, turns: int) -> tuple[Usage, float, int]:
    """Each step: system + tool descriptions + the last five messages, re-rendered as chat
    messages; one JSON decision; the tool's result appended; the answer from the reply's
    `reasoning` field, as in the tutorial."""
    tools = {t.__name__: t for t in TOOLS}
    system = (
        "You are an AI assistant that produces structured output. Use a tool when needed.\n"
        + "\n".join(f"- {name}: {(fn.__doc__ or '').strip().splitlines()[0]}" for name, fn in tools.items())
        + '\nReply with JSON: {"decision": "call_tool"|"respond_directly", "tool_name", "arguments", "reasoning"}.'
    )
    history: list[ChatMessage] = []
    usage, calls = Usage(), 0
    started = time.perf_counter()
    for query in QUERIES[:turns]:
        history.append(ChatMessage(role="user", content=query))
        for _ in range(3):
            messages = [ChatMessage(role="system", content=system), *history[-5:]]
            completion = await engine.generate(
                messages,
                constraint=JsonSchemaConstraint(json_schema=tutorial_decision_schema()),
                sampling=SamplingParams(max_tokens=SETTINGS.answer_tokens + SETTINGS.argument_tokens),
            )
            usage, calls = usage + completion.usage, calls + 1
            history.append(ChatMessage(role="assistant", content=completion.text))
            try:
                decision = json.loads(completion.text)
            except ValueError:
                break
            fn = tools.get(decision.get("tool_name", ""))
            if decision.get("decision") != "call_tool" or fn is None:
                break
            try:
                result = str(fn(**decision.get("arguments", {})))
            except Exception as exc:  # the tutorial shows the error to the model
                result = f"error: {exc}"
            history.append(ChatMessage(role="user", content=f"Tool result: {result}"))
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
            await engine.engine.aclose()

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
