"""Tool-call accuracy benchmark: the right tool with the right arguments, measured on the
labeled cases in benchmarks/toolcalls/ (see toolcalls/scoring.py for the format and metrics).

The same requests go through three faces, each on the same GGUF model (default: the bundled
SmolLM2-135M), greedy, with `parallel_tool_calls=true` (OpenAI's default):

  python   radixagent.chat.ChatCompleter.complete on an embedded engine: the Python API,
           once per decision strategy (`--strategies`, see STRATEGIES below)
  server   the OpenAI-compatible endpoint: `radixagent.server`'s app under uvicorn on a free
           loopback port, called with the unmodified `openai` client, once per strategy the
           server's settings can select (schema, score, grounded)
  llama    the baseline: llama.cpp's own server (xllamacpp, jinja on) with the same model and
           the same `openai` requests. The GGUF's own template has no tools in it, so llama.cpp
           would drop them from the prompt; by default the baseline gets
           toolcalls/chatml_tools.jinja, the same ChatML turns plus the tools and a
           `<tool_call>{...}</tool_call>` format, from which llama.cpp derives its tool-call
           grammar and parser (`--baseline-template model` keeps the GGUF's own).

Each face runs every `--tool-choice` (auto, required; no-tool cases only under auto) and prints
one table per face / strategy / tool_choice with a row per category and an overall row; then
one summary row per run. `--show-wrong K` prints K failed cases per run and why.

    python benchmarks/toolcall_bench.py                               # everything (~213 cases x 10 runs)
    python benchmarks/toolcall_bench.py --limit 20                    # 20 cases spread over the categories
    python benchmarks/toolcall_bench.py --faces python --strategies grounded,score --tool-choice auto \\
        --categories multi_call,no_tool --show-wrong 5 --json /tmp/report.json
    python benchmarks/toolcall_bench.py --toolsets-only weather,calendar    # only these tool sets' cases

Latency is per request, client side, on a machine that may be shared: compare runs of one
invocation. `--threads 1` (the default) is the fastest setting on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from radixagent.chat import ChatCompleter, ChatRequest
from radixagent.decision import DecisionSettings, DecisionStrategy
from radixagent.engine.embedded import EmbeddedEngine
from radixagent.engine.models import default_model_path
from radixagent.errors import RadixAgentError
from reporting import add_model_options, add_report_options, write_json
from toolcalls.scoring import (
    CATEGORIES,
    Case,
    CaseScore,
    ModelOutput,
    OutputCall,
    Rate,
    Report,
    Toolset,
    load_benchmark,
    score_case,
    select_cases,
    summarize,
)

HERE = Path(__file__).resolve().parent
DEFAULT_CASES = HERE / "toolcalls" / "cases.jsonl"
TOOLS_TEMPLATE = HERE / "toolcalls" / "chatml_tools.jinja"
FACES = ("python", "server", "llama")
TOOL_CHOICES = ("auto", "required")

console = Console(width=None if sys.stdout.isatty() else 150)


STRATEGIES: dict[str, DecisionSettings] = {
    "schema": DecisionSettings(strategy=DecisionStrategy.SCHEMA),
    "score": DecisionSettings().model_only(),
    "score+evidence": DecisionSettings().model_only().model_copy(update={"evidence_weight": 3.0, "abstain_below": 1.0}),
    "score+evidence+extract": DecisionSettings().model_copy(update={"split_calls": False}),
    "grounded": DecisionSettings(),
    "grounded+channel": DecisionSettings(channel_weight=1.0),
}
"""Each a setting of the decision layer (radixagent.decision.DecisionSettings): the model alone
(one constrained JSON, or the action by likelihood and the arguments under its schema), then the
request's own evidence for the tool choice and abstention, arguments narrowed to the message's
values, and one call per coordinated part of the request. "grounded" is the library's default;
"grounded+channel" adds each tool's noisy-channel score (the request's likelihood given the tool)."""


class Run(BaseModel):
    face: str
    strategy: str
    tool_choice: str
    report: Report

    @property
    def title(self) -> str:
        return f"{self.face} / {self.strategy} / tool_choice={self.tool_choice}"


def request_body(case: Case, toolset: Toolset, tool_choice: str, max_tokens: int) -> dict[str, Any]:
    """The OpenAI request every face gets for `case`."""
    return {
        "model": "smollm2",
        "messages": case.messages(),
        "tools": toolset.openai(),
        "tool_choice": tool_choice,
        "parallel_tool_calls": True,
        "max_tokens": max_tokens,
        "temperature": 0,
    }


def plan(cases: Sequence[Case], tool_choice: str, args: argparse.Namespace) -> list[Case]:
    """The run's cases, grouped by tool set so each tool set's prompt prefix stays cached."""
    if args.toolsets_only:
        cases = [c for c in cases if c.toolset in args.toolsets_only]
    chosen = select_cases(cases, categories=args.categories, limit=args.limit, tool_choice=tool_choice)
    order = {name: i for i, name in enumerate(dict.fromkeys(c.toolset for c in chosen))}
    return sorted(chosen, key=lambda c: order[c.toolset])


def progress(label: str, done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r{label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


# --- the faces -----------------------------------------------------------------------------------


async def python_face(strategy: str, cases: Sequence[Case], toolsets: dict[str, Toolset], args: argparse.Namespace) -> list[Run]:
    """ChatCompleter on an embedded engine: radixagent's Python API for OpenAI-style requests."""
    engine = EmbeddedEngine(args.model, context_size=args.context, slots=2, threads=args.threads)
    decision = STRATEGIES[strategy]
    if args.max_calls:
        decision = decision.model_copy(update={"max_calls": args.max_calls})
    completer = ChatCompleter(engine, decision=decision)
    runs = []
    try:
        for tool_choice in args.tool_choice:
            chosen = plan(cases, tool_choice, args)
            scores = []
            for i, case in enumerate(chosen):
                toolset = toolsets[case.toolset]
                request = ChatRequest.model_validate(request_body(case, toolset, tool_choice, args.max_tokens))
                started = time.perf_counter()
                try:
                    result = await completer.complete(request)
                    output = ModelOutput(
                        content=result.content,
                        calls=[OutputCall(name=c.name, arguments=c.arguments) for c in result.tool_calls],
                        finish_reason=result.finish_reason,
                    )
                except RadixAgentError as exc:
                    output = ModelOutput(error=f"{type(exc).__name__}: {exc}")
                output.latency_ms = (time.perf_counter() - started) * 1000
                scores.append(score_case(case, toolset, output, tool_choice=tool_choice))
                progress(f"python/{strategy}/{tool_choice}", i + 1, len(chosen))
            runs.append(Run(face="python", strategy=strategy, tool_choice=tool_choice, report=summarize(scores)))
    finally:
        await engine.aclose()
    return runs


def openai_runs(
    face: str, strategy: str, base_url: str, cases: Sequence[Case], toolsets: dict[str, Toolset], args: argparse.Namespace
) -> list[Run]:
    """The requests through the unmodified `openai` client against an OpenAI-compatible server."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=args.request_timeout)
    runs = []
    for tool_choice in args.tool_choice:
        chosen = plan(cases, tool_choice, args)
        scores = []
        for i, case in enumerate(chosen):
            toolset = toolsets[case.toolset]
            started = time.perf_counter()
            try:
                response = client.chat.completions.create(**request_body(case, toolset, tool_choice, args.max_tokens))
                choice = response.choices[0]
                calls = [
                    OutputCall(name=call.function.name, arguments=call.function.arguments)
                    for call in choice.message.tool_calls or []
                    if getattr(call, "function", None) is not None
                ]
                output = ModelOutput(content=choice.message.content, calls=calls, finish_reason=choice.finish_reason)
            except openai.APIError as exc:
                output = ModelOutput(error=f"{type(exc).__name__}: {str(exc)[:300]}")
            output.latency_ms = (time.perf_counter() - started) * 1000
            scores.append(score_case(case, toolset, output, tool_choice=tool_choice))
            progress(f"{face}/{strategy}/{tool_choice}", i + 1, len(chosen))
        runs.append(Run(face=face, strategy=strategy, tool_choice=tool_choice, report=summarize(scores)))
    return runs


SERVER_STRATEGIES = ("schema", "score", "grounded")
"""What the server's settings can select: `decision_strategy` and `decision_evidence`."""


def server_face(strategy: str, cases: Sequence[Case], toolsets: dict[str, Toolset], args: argparse.Namespace) -> list[Run]:
    """radixagent's OpenAI-compatible endpoint, served by uvicorn on loopback."""
    from radixagent.memory import SQLiteStore
    from radixagent.server import BackgroundServer, ServerSettings, create_app

    engine = EmbeddedEngine(args.model, context_size=args.context, slots=2, threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="toolcall-bench-") as tmp:
        decision = STRATEGIES[strategy]
        settings = ServerSettings(
            decision_strategy=decision.strategy,
            decision_evidence=decision.uses_evidence,
            request_timeout=args.request_timeout,
            max_concurrency=4,
        )
        store = SQLiteStore(Path(tmp) / "sessions.db")
        app = create_app(settings, engine=engine, store=store, tools=[], close_on_shutdown=True)
        with BackgroundServer(app) as server:
            return openai_runs("server", strategy, f"{server.url}/v1", cases, toolsets, args)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def llama_server(args: argparse.Namespace) -> Iterator[str]:
    """llama.cpp's own server (xllamacpp) with the same model, jinja on, on a free loopback port."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(args.model or default_model_path())
    params.n_parallel = 1
    params.n_ctx = args.context
    params.cpuparams.n_threads = args.threads
    params.warmup = False
    params.verbosity = -1
    params.use_jinja = True
    if args.baseline_template == "tools":
        params.chat_template = TOOLS_TEMPLATE.read_text(encoding="utf-8")
    params.port = _free_port()
    params.hostnames = ["127.0.0.1"]
    server = xllamacpp.Server(params)
    url = f"http://127.0.0.1:{params.port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"llama.cpp's server at {url} did not come up within 60 s")
        time.sleep(0.1)
    try:
        yield url
    finally:
        del server


def llama_face(cases: Sequence[Case], toolsets: dict[str, Toolset], args: argparse.Namespace) -> list[Run]:
    with llama_server(args) as url:
        return openai_runs("llama", f"llama.cpp ({args.baseline_template} template)", f"{url}/v1", cases, toolsets, args)


# --- output --------------------------------------------------------------------------------------


def cell(rate: Rate) -> str:
    value = rate.value
    return "-" if value is None else f"{value:.2f} ({rate.hits}/{rate.total})"


METRICS: list[tuple[str, Callable[[Any], Rate]]] = [
    ("well-formed", lambda r: r.well_formed),
    ("right fn", lambda r: r.right_function),
    ("exact", lambda r: r.exact),
    ("abstain", lambda r: r.abstention),
    ("n calls", lambda r: r.call_count),
]


def run_table(run: Run) -> Table:
    table = Table(title=run.title, title_justify="left")
    table.add_column("category")
    table.add_column("cases", justify="right")
    for name, _ in METRICS:
        table.add_column(name, justify="right")
    table.add_column("ms mean / p50 / p95", justify="right")
    for row in run.report.rows:
        table.add_row(
            row.category,
            str(row.cases),
            *(cell(get(row)) for _, get in METRICS),
            f"{row.latency_ms_mean:.0f} / {row.latency_ms_p50:.0f} / {row.latency_ms_p95:.0f}",
            style="bold" if row.category == "overall" else None,
        )
    return table


def summary_table(runs: Sequence[Run]) -> Table:
    table = Table(title="overall, per face / strategy / tool_choice", title_justify="left")
    table.add_column("run")
    table.add_column("cases", justify="right")
    for name, _ in METRICS:
        table.add_column(name, justify="right")
    table.add_column("ms mean", justify="right")
    for run in runs:
        row = run.report.row("overall")
        table.add_row(run.title, str(row.cases), *(cell(get(row)) for _, get in METRICS), f"{row.latency_ms_mean:.0f}")
    return table


def wrong(score: CaseScore) -> bool:
    return any(flag is False for flag in (score.well_formed, score.right_function, score.exact, score.abstained, score.right_count))


def compact(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except ValueError:
        return arguments


def show_wrong(run: Run, cases: dict[str, Case], count: int) -> None:
    failed = [s for s in run.report.scores if wrong(s)]
    if not failed:
        return
    console.print(f"[bold]{run.title}[/]: {len(failed)} cases with a failed metric; the first {min(count, len(failed))}:")
    for score in failed[:count]:
        case = cases[score.case_id]
        got = [f"{c.name}({compact(c.arguments)})" for c in score.output.calls] or [repr((score.output.content or "")[:80])]
        console.print(f"  {score.case_id} [{score.category}] {case.user!r}", markup=False, highlight=False)
        console.print(f"      got: {'; '.join(got)}", markup=False, highlight=False)
        console.print(f"      why: {'; '.join(score.problems) or '-'}", markup=False, highlight=False)


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="cases file (JSON lines)")
    parser.add_argument("--toolsets", type=Path, default=None, help="tool sets file (default: toolsets.json beside the cases)")
    parser.add_argument("--limit", type=int, default=None, help="at most N cases per run, spread over the categories")
    parser.add_argument("--categories", type=lambda s: [c for c in s.split(",") if c], default=None, help=f"comma-separated, of: {','.join(CATEGORIES)}")
    parser.add_argument("--toolsets-only", type=lambda s: [t for t in s.split(",") if t], default=None, help="comma-separated tool set names: only their cases")
    parser.add_argument("--faces", type=lambda s: s.split(","), default=list(FACES), help="comma-separated, of: python,server,llama")
    parser.add_argument("--strategies", type=lambda s: s.split(","), default=list(STRATEGIES), help=f"radixagent decision strategies, of: {','.join(STRATEGIES)} (the server face runs {','.join(SERVER_STRATEGIES)})")
    parser.add_argument("--tool-choice", type=lambda s: s.split(","), default=list(TOOL_CHOICES), help="comma-separated, of: auto,required")
    parser.add_argument("--max-tokens", type=int, default=128, help="max_tokens of every request")
    parser.add_argument("--max-calls", type=int, default=None, help="python face only: DecisionSettings.max_calls (default: the library's)")
    add_model_options(parser, context=4096, llama_server=True)
    add_report_options(parser, show_wrong=3, show_wrong_help="failed cases to print per run", json_help="write every run's report (with each case's output) here")
    args = parser.parse_args(argv)
    for name, allowed, given in (("faces", FACES, args.faces), ("tool-choice", TOOL_CHOICES, args.tool_choice)):
        if set(given) - set(allowed):
            parser.error(f"--{name} takes {','.join(allowed)}, not {','.join(sorted(set(given) - set(allowed)))}")
    if set(args.strategies) - set(STRATEGIES):
        parser.error(f"--strategies takes {','.join(STRATEGIES)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cases, toolsets = load_benchmark(args.cases, args.toolsets)
    console.print(
        f"{len(cases)} cases over {len({c.toolset for c in cases})} tool sets; faces {','.join(args.faces)}, "
        f"strategies {','.join(args.strategies)}, tool_choice {','.join(args.tool_choice)}, "
        f"max_tokens {args.max_tokens}, threads {args.threads}" + (f", limit {args.limit}" if args.limit else "")
    )
    runs: list[Run] = []

    def report(new: list[Run]) -> None:
        for run in new:
            console.print(run_table(run))
        runs.extend(new)
        if args.json:  # after every face, so a long run's finished parts are kept
            write_json(args.json, {"runs": [r.model_dump(mode="json") for r in runs]})

    for face in args.faces:
        if face == "python":
            for strategy in args.strategies:
                report(asyncio.run(python_face(strategy, cases, toolsets, args)))
        elif face == "server":
            for strategy in [s for s in args.strategies if s in SERVER_STRATEGIES]:
                report(server_face(strategy, cases, toolsets, args))
        else:
            report(llama_face(cases, toolsets, args))
    console.print(summary_table(runs))
    by_id = {c.id: c for c in cases}
    for run in runs:
        show_wrong(run, by_id, args.show_wrong)
    return 0


if __name__ == "__main__":
    sys.exit(main())
