"""The `radixagent` command line: generate, models, demo, docs, serve, mcp."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from radixagent.engine import (
    ChoicesConstraint,
    Completion,
    Constraint,
    Engine,
    JsonSchemaConstraint,
    RegexConstraint,
    SamplingParams,
)
from radixagent.errors import ConfigurationError, RadixAgentError

if TYPE_CHECKING:
    from radixagent.demo import DemoReport
    from radixagent.tools import ToolRegistry

app = typer.Typer(
    name="radixagent",
    help="Typed, tool-using LLM agents on open models: embedded llama.cpp here, SGLang in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

EngineOption = Annotated[
    str,
    typer.Option("--engine", "-e", help="'embedded', or the URL of an SGLang or OpenAI-compatible server.", envvar="RADIXAGENT_ENGINE"),
]
ModelOption = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="GGUF file for the embedded engine (default: bundled SmolLM2-135M).", envvar="RADIXAGENT_MODEL_PATH"),
]
ApiKeyOption = Annotated[
    str | None, typer.Option("--api-key", help="Bearer token for a remote engine.", envvar="RADIXAGENT_API_KEY")
]


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn every error a user can cause into one clean line on stderr and exit code 1."""
    try:
        yield
    except RadixAgentError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)  # a message may hold [brackets]
        raise typer.Exit(1) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        err_console.print(f"[bold red]error:[/] {escape(where)}: {escape(first['msg'])}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def open_engine(engine: str, model: Path | None = None, api_key: str | None = None) -> Engine:
    from radixagent.engine.factory import create_engine

    return create_engine(engine, model_path=model, api_key=api_key)


def with_engine(engine: Engine, work: Callable[[Engine], T]) -> T:
    try:
        return work(engine)
    finally:
        engine.close()


def _constraint(json_schema: Path | None, regex: str | None, choices: str | None) -> Constraint | None:
    given = [c for c in (json_schema, regex, choices) if c is not None]
    if len(given) > 1:
        raise ConfigurationError("Give at most one of --json-schema, --regex and --choices.")
    if json_schema is not None:
        try:
            schema = json.loads(json_schema.read_text())
        except FileNotFoundError:
            raise ConfigurationError(f"No JSON schema file at {json_schema}.") from None
        except ValueError as exc:
            raise ConfigurationError(f"{json_schema} is not valid JSON: {exc}") from None
        if not isinstance(schema, dict):
            raise ConfigurationError(f"{json_schema} must hold a JSON object (a JSON schema).")
        return JsonSchemaConstraint(json_schema=schema)
    if regex is not None:
        return RegexConstraint(pattern=regex)
    if choices is not None:
        options = [c for c in (part.strip() for part in choices.split(",")) if c]
        if not options:
            raise ConfigurationError("--choices needs a comma-separated list, e.g. --choices yes,no")
        return ChoicesConstraint(choices=options)
    return None


def _completion_json(completion: Completion) -> dict[str, Any]:
    return {
        "text": completion.text,
        "finish_reason": completion.finish_reason,
        "usage": {**completion.usage.model_dump(), "total_tokens": completion.usage.total_tokens},
        "timings": completion.timings.model_dump(),
        "model": completion.model,
    }


def _usage_line(completion: Completion) -> str:
    u = completion.usage
    return (
        f"[dim]{u.prompt_tokens} prompt tokens ({u.cached_tokens} cached), {u.completion_tokens} generated, "
        f"finish: {completion.finish_reason}, {completion.timings.total_ms:.0f} ms[/]"
    )


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="The prompt (sent as a user message).")],
    json_schema: Annotated[Path | None, typer.Option("--json-schema", help="Constrain the output to this JSON schema file.")] = None,
    regex: Annotated[str | None, typer.Option("--regex", help="Constrain the output to this regular expression.")] = None,
    choices: Annotated[str | None, typer.Option("--choices", help="Pick one of these comma-separated choices.")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Send the prompt as raw text, without the chat template.")] = False,
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Most tokens to generate.")] = 128,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, help="0 is greedy.")] = 0.0,
    engine: EngineOption = "embedded",
    model: ModelOption = None,
    api_key: ApiKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: text, usage, finish_reason, timings.")] = False,
) -> None:
    """Generate a completion, optionally under a JSON schema, a regex or a set of choices."""
    from radixagent.engine import ChatMessage

    with user_errors():
        constraint = _constraint(json_schema, regex, choices)
        sampling = SamplingParams(max_tokens=max_tokens, temperature=temperature)
        message = prompt if raw else [ChatMessage(role="user", content=prompt)]
        completion = with_engine(
            open_engine(engine, model, api_key),
            lambda e: e.generate_sync(message, constraint=constraint, sampling=sampling),
        )
        if as_json:
            sys.stdout.write(json.dumps(_completion_json(completion), ensure_ascii=False) + "\n")
            return
        console.print(completion.text, highlight=False, markup=False)
        console.print(_usage_line(completion))


@app.command()
def models(
    engine: EngineOption = "embedded",
    model: ModelOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Say which model the engine uses and where it lives."""
    from radixagent.engine.models import DEFAULT_MODEL_NAME, resolve_model_path

    with user_errors():
        if engine == "embedded":
            path = resolve_model_path(model)
            table = Table(show_header=False, box=None)
            table.add_row("engine", "embedded (llama.cpp via xllamacpp, in-process)")
            table.add_row("model", DEFAULT_MODEL_NAME if model is None else path.name)
            table.add_row("path", str(path))
            table.add_row("size", f"{path.stat().st_size / 1e6:.1f} MB")
            console.print(table)
            return
        info = with_engine(open_engine(engine, model, api_key), lambda e: e.model_info_sync())
        table = Table(show_header=False, box=None)
        table.add_row("engine", engine)
        table.add_row("model", info.name)
        table.add_row("context", str(info.context_size or "unknown"))
        console.print(table)


@app.command()
def demo(
    engine: EngineOption = "embedded",
    model: ModelOption = None,
    api_key: ApiKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with every scenario's numbers.")] = False,
) -> None:
    """Run the tutorial's scenarios on the engine: conversation, tools, cache test, status."""
    from radixagent.demo import run_demo

    with user_errors():
        progress_console = err_console if as_json else console
        with progress_console.status("starting the engine") as status:
            report = with_engine(
                open_engine(engine, model, api_key),
                lambda e: run_demo(e, progress=lambda message: status.update(message)),
            )
        if as_json:
            sys.stdout.write(report.model_dump_json() + "\n")
            return
        _print_demo(report)


def _print_demo(report: DemoReport) -> None:
    from rich.panel import Panel

    console.print(f"[bold]radixagent demo[/] on [cyan]{report.engine}[/] ({report.model})\n")
    for result in report.scenarios:
        lines = [f"[bold]Q:[/] {result.query}"]
        for call in result.tool_calls:
            outcome = f"[red]{call.error}[/]" if call.error else (call.result or "")[:160]
            lines.append(f"[magenta]tool[/] {call.tool}({json.dumps(call.arguments, ensure_ascii=False)}) -> {outcome}")
        answer = result.content if result.successful else f"[red]{result.error}[/]"
        lines.append(f"[bold]A:[/] {answer}")
        if result.assessment is not None:
            a = result.assessment
            lines.append(f"[yellow]judge[/] overall {a.overall_score:.1f}/5: {a.feedback_comment}")
        lines.append(
            f"[dim]{len(result.reasoning_steps)} steps, {result.prompt_tokens} prompt tokens ({result.cached_tokens} cached, "
            f"hit rate {result.cache_hit_rate:.0%}), {result.completion_tokens} generated, {result.latency_ms:.0f} ms[/]"
        )
        console.print(Panel("\n".join(lines), title=result.name, title_align="left", highlight=False))
    table = Table(title="per scenario")
    for column in ("scenario", "tools", "prompt tok", "cached", "hit rate", "prefix eff.", "latency ms"):
        table.add_column(column, justify="right" if column != "scenario" else "left")
    for r in report.scenarios:
        table.add_row(
            r.name, str(len(r.tool_calls)), str(r.prompt_tokens), str(r.cached_tokens),
            f"{r.cache_hit_rate:.0%}", f"{r.prefix_efficiency:.2f}", f"{r.latency_ms:.0f}",
        )
    console.print(table)
    memory = report.status.memory_stats
    console.print(
        f"[bold]memory:[/] {memory.total_messages} messages, engine cache hit rate {memory.cache_hit_rate:.0%}, "
        f"prefix efficiency {memory.prefix_efficiency:.2f}"
    )
    tools = report.status.tool_stats
    console.print(f"[bold]tools:[/] {tools.total_executions} runs, {tools.failed} failed")
    feedback = report.status.feedback_summary
    console.print(f"[bold]feedback:[/] {feedback.total_feedback_count} ratings, {feedback.quality_assessment_count} assessments")
    for recommendation in feedback.recommendations:
        console.print(f"  - {recommendation}", highlight=False)


@app.command()
def serve(
    engine: EngineOption = "embedded",
    model: ModelOption = None,
    api_key: ApiKeyOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0 for every interface).", envvar="RADIXAGENT_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port to listen on.", envvar="RADIXAGENT_PORT")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Where sessions live: a SQLite file, sqlite:///path, or postgresql://... (default: the data directory).", envvar="RADIXAGENT_DATABASE_URL"),
    ] = None,
    server_api_keys: Annotated[
        str | None,
        typer.Option("--server-api-keys", help="Comma-separated Bearer tokens clients must send (default: none, open).", envvar="RADIXAGENT_SERVER_API_KEYS"),
    ] = None,
    max_concurrency: Annotated[int | None, typer.Option("--max-concurrency", min=1, help="Requests answered at once; more get 429.")] = None,
    request_timeout: Annotated[float | None, typer.Option("--request-timeout", min=0.001, help="Seconds one request may take (504 after).")] = None,
    mcp_config: Annotated[
        Path | None,
        typer.Option("--mcp-config", help='A JSON file of MCP servers ({"mcpServers": {...}}) whose tools sessions may use.', envvar="RADIXAGENT_MCP_CONFIG"),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's log level: critical, error, warning, info, debug.")] = "info",
    otlp_endpoint: Annotated[
        str | None,
        typer.Option("--otlp-endpoint", help="Send traces to this OpenTelemetry collector (OTLP/HTTP, e.g. http://localhost:4318); needs radixagent[otel].", envvar="RADIXAGENT_OTLP_ENDPOINT"),
    ] = None,
) -> None:
    """Serve the OpenAI-compatible API (valid tool calls) and agent sessions over HTTP."""
    with user_errors():
        from radixagent.server import ServerSettings  # the [server] extra: imported only to serve
        from radixagent.server import serve as run_server

        given: dict[str, Any] = {
            "host": host,
            "port": port,
            "database_url": database_url,
            "server_api_keys": server_api_keys,
            "max_concurrency": max_concurrency,
            "request_timeout": request_timeout,
            "mcp_config": mcp_config,
            "otlp_endpoint": otlp_endpoint,
        }
        settings = ServerSettings(**{k: v for k, v in given.items() if v is not None})
        if settings.mcp_config is not None:  # a wrong file fails here, before the engine starts
            from radixagent.tools.mcp import load_mcp_config

            load_mcp_config(settings.mcp_config)
        if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
            err_console.print(f"[yellow]warning:[/] listening on {settings.host} without API keys: anyone who can reach it can use it.")
        run_server(settings, engine=engine, model_path=model, api_key=api_key, log_level=log_level)


@app.command("mcp")
def mcp_command(
    tools: Annotated[
        str | None,
        typer.Argument(help="Tools to serve, as module:attribute (an Agent, a ToolRegistry, or a list of functions); default: the built-in tools.", show_default=False),
    ] = None,
    http: Annotated[
        str | None, typer.Option("--http", metavar="HOST:PORT", help="Serve over streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="The server name MCP clients see.")] = "radixagent",
    engine: EngineOption = "embedded",
    model: ModelOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Serve tools over MCP (stdio by default), with radixagent's own tool schemas."""
    import asyncio

    from radixagent.tools.mcp import serve_mcp_http, serve_mcp_stdio

    with user_errors():
        address = _host_port(http) if http is not None else None
        opened: Engine | None = None
        if tools is None:
            from radixagent.tools import ToolRegistry
            from radixagent.tools.builtin import builtin_tools

            opened = open_engine(engine, model, api_key)  # the model loads at the first call that needs it
            registry = ToolRegistry()
            for tool in builtin_tools(opened):
                registry.register_tool(tool)
        else:
            registry = _load_tools(tools)
        try:
            if address is None:
                asyncio.run(serve_mcp_stdio(registry, name=name))
            else:
                err_console.print(f"serving {len(registry)} tools over MCP at http://{address[0]}:{address[1]}/mcp", highlight=False)
                if address[0] not in ("127.0.0.1", "localhost", "::1"):
                    err_console.print(f"[yellow]warning:[/] MCP has no authentication here: anyone who can reach {address[0]} can call these tools.")
                asyncio.run(serve_mcp_http(registry, host=address[0], port=address[1], name=name))
        finally:
            if opened is not None:
                opened.close()


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(f"--http takes HOST:PORT, such as 127.0.0.1:8765, not {value!r}.")
    return host, int(port)


def _load_tools(spec: str) -> ToolRegistry:
    """The tools named by `module:attribute`: an Agent's tools, a ToolRegistry, or a list of
    functions (or ToolDefinitions). The working directory is importable, as with uvicorn."""
    import importlib
    import os

    from radixagent.agent import Agent
    from radixagent.tools import ToolRegistry

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"Name the tools as module:attribute, such as mytools:registry, not {spec!r}.")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"Cannot import the module {module_name!r}: {exc}.") from exc
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigurationError(f"The module {module_name!r} has no attribute {attribute!r}.") from None
    if isinstance(found, Agent):
        return found.tools
    if isinstance(found, ToolRegistry):
        return found
    if isinstance(found, list | tuple):
        registry = ToolRegistry()
        for tool in found:
            registry.register(tool)
        return registry
    raise ConfigurationError(
        f"{spec} is a {type(found).__name__}; serve an Agent, a ToolRegistry, or a list of functions."
    )


docs_app = typer.Typer(help="The document store that retrieve_documents searches.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


@docs_app.command("add")
def docs_add(path: Annotated[Path, typer.Argument(help="A file or folder of .md/.txt documents.")]) -> None:
    """Index a file or a folder (recursively) for retrieve_documents."""
    from radixagent.tools.builtin import default_document_store

    with user_errors():
        if not path.exists():
            raise ConfigurationError(f"No file or folder at {path}.")
        store = default_document_store()
        report = store.add_path(path)
        console.print(
            f"indexed {report.files_indexed} file(s) ({report.passages} passages); "
            f"{report.files_unchanged} unchanged, {report.files_skipped} skipped"
        )
        for reason in report.skipped:
            console.print(f"  [yellow]skipped[/] {reason}", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
