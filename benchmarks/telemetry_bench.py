"""What tracing costs: an agent run on the scripted engine (a tool call, then the answer), timed
three ways, in interleaved rounds:

    baseline   the agent without the tracing hooks (the undecorated run, no TracingEngine)
    off        as shipped, with no tracer provider configured (the default)
    on         an SDK tracer provider exporting every span to memory (SimpleSpanProcessor)

and, below it, one engine call (`generate` through RecoveringEngine) with and without the
TracingEngine in between, tracing off. The scripted engine answers instantly, so the times are
radixagent's own work: the worst case for a relative overhead. Times are the process's CPU time
(`time.process_time`), which other work on a shared machine does not inflate as it does wall time.

    python benchmarks/telemetry_bench.py [--runs 200] [--rounds 5]

Prints tables; asserts nothing. The machine is shared: compare the columns of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from rich.console import Console
from rich.table import Table

from radixagent import Agent, DecisionSettings
from radixagent.engine import ScriptedEngine
from radixagent.memory import SQLiteStore
from radixagent.recovery import RecoveringEngine
from radixagent.telemetry import traced

console = Console()
REPLIES = (" add", '{"a": 2, "b": 40}', " answer", "The sum is 42.")


class UntracedAgent(Agent):
    """The agent as it was before tracing: its own run method, the engine without the wrapper."""

    _run = Agent._run.__wrapped__  # type: ignore[attr-defined]

    def __init__(self, engine: ScriptedEngine) -> None:
        super().__init__(engine, decision=DecisionSettings().model_only(), store=SQLiteStore(":memory:"))
        self.engine = RecoveringEngine(engine)


def make_agent(untraced: bool) -> tuple[Agent, ScriptedEngine]:
    engine = ScriptedEngine()
    agent = UntracedAgent(engine) if untraced else Agent(engine, decision=DecisionSettings().model_only(), store=SQLiteStore(":memory:"))

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent, engine


def set_provider(provider: TracerProvider | None) -> None:
    # the global provider may be set once per process: unset it as opentelemetry's test utilities do
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
    if provider is not None:
        trace.set_tracer_provider(provider)


async def time_runs(agent: Agent, engine: ScriptedEngine, runs: int) -> list[float]:
    """Per-run CPU times in ms; each run is a fresh session (the same prompt sizes every time)."""
    times = []
    for _ in range(runs):
        agent.open_session()
        engine.add_replies(*REPLIES)
        started = time.process_time()
        response = await agent.run("What is 2 + 40?")
        times.append((time.process_time() - started) * 1000)
        assert response.is_successful, response.error_message
    return times


async def time_calls(generate: Callable[[], object], calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.process_time()
        await generate()  # type: ignore[misc]
        times.append((time.process_time() - started) * 1e6)
    return times


async def main(runs: int, rounds: int) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    modes: dict[str, tuple[bool, TracerProvider | None]] = {"baseline": (True, None), "off": (False, None), "on": (False, provider)}
    agents = {mode: make_agent(untraced) for mode, (untraced, _) in modes.items()}
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    spans: dict[str, int] = dict.fromkeys(modes, 0)
    for mode, (_, chosen) in modes.items():  # warm-up
        set_provider(chosen)
        await time_runs(*agents[mode], 5)
    ratios: dict[str, list[float]] = {mode: [] for mode in modes}
    order = list(modes)
    for round_number in range(rounds):
        medians = {}
        for mode in order[round_number % 3 :] + order[: round_number % 3]:  # each mode goes first in turn
            set_provider(modes[mode][1])
            exporter.clear()
            gc.collect()  # one mode's garbage is not the next one's pause
            measured = await time_runs(*agents[mode], runs)
            times[mode] += measured
            medians[mode] = statistics.median(measured)
            spans[mode] += len(exporter.get_finished_spans())
        for mode in modes:
            ratios[mode].append(medians[mode] / medians["baseline"])
    set_provider(None)

    base = statistics.median(times["baseline"])
    table = Table(title=f"An agent run on the scripted engine (tool call + answer), {runs * rounds} runs per mode")
    for column in ("mode", "median CPU ms/run", "p90 CPU ms/run", "vs baseline", "per round: min-max", "spans/run"):
        table.add_column(column, justify="right" if column != "mode" else "left")
    for mode, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        spread = f"{min(ratios[mode]):.3f}-{max(ratios[mode]):.3f}"
        table.add_row(mode, f"{median:.3f}", f"{p90:.3f}", f"{median / base:.3f}", spread, f"{spans[mode] / len(values):.1f}")
    console.print(table)

    engine = ScriptedEngine()
    plain = RecoveringEngine(engine)
    wrapped = RecoveringEngine(traced(engine))
    calls = 2000
    per: dict[str, list[float]] = {"RecoveringEngine(engine)": [], "RecoveringEngine(traced(engine))": []}
    for _ in range(rounds):
        gc.collect()
        for name, chosen_engine in (("RecoveringEngine(engine)", plain), ("RecoveringEngine(traced(engine))", wrapped)):
            engine.add_replies(*(["ok"] * calls))
            per[name] += await time_calls(lambda e=chosen_engine: e.generate("Say ok."), calls)
    table = Table(title=f"One engine call (generate, tracing off), {calls * rounds} calls each")
    for column in ("engine", "median CPU µs/call", "vs plain"):
        table.add_column(column, justify="right" if column != "engine" else "left")
    plain_median = statistics.median(per["RecoveringEngine(engine)"])
    for name, values in per.items():
        table.add_row(name, f"{statistics.median(values):.2f}", f"{statistics.median(values) / plain_median:.3f}")
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="runs per mode in each round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.rounds))
