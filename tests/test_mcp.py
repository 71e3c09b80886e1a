"""MCP, both ways, against real MCP servers on this machine: the SDK's own server
(tests/fixtures/mcp/tiny_server.py, over stdio and streamable HTTP) for MCPToolset and the
agent, and `radixagent mcp` listed and called by the SDK's own client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import free_port
from radixagent import Agent, MCPConnectionError, MCPToolError, ToolError, ToolTimeoutError
from radixagent.decision import DecisionSettings
from radixagent.engine import JsonSchemaConstraint, ScriptedEngine
from radixagent.errors import ConfigurationError
from radixagent.memory import SQLiteStore
from radixagent.server import BackgroundServer, ServerSettings, create_app
from radixagent.tools.mcp import MCPServerConfig, MCPToolset, load_mcp_config, parse_mcp_config

FIXTURES = Path(__file__).parent / "fixtures" / "mcp"
TINY = str(FIXTURES / "tiny_server.py")
SRC = str(Path(__file__).resolve().parents[1] / "src")


def tiny(**options: object) -> MCPServerConfig:
    return MCPServerConfig(name="tiny", command=sys.executable, args=[TINY], **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def toolset() -> AsyncIterator[MCPToolset]:
    async with MCPToolset(tiny(timeout_s=2.0)) as connected:
        yield connected


# --- configuration (no server) -----------------------------------------------------------------


def test_the_common_config_file_gives_typed_servers(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "files": {"command": "npx", "args": ["-y", "fs"], "env": {"ROOT": "/data"}, "timeout": 5},
                    "web": {"type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "k"}, "prefix": "web"},
                    "old": {"command": "x", "disabled": True},
                }
            }
        )
    )
    files, web = load_mcp_config(path)
    assert (files.name, files.transport, files.args, files.env, files.timeout_s) == ("files", "stdio", ["-y", "fs"], {"ROOT": "/data"}, 5)
    assert (web.transport, web.url, web.headers, web.prefix) == ("http", "http://127.0.0.1:9/mcp", {"X-Key": "k"}, "web")


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ({"args": ["x"]}, "either a command"),
        ({"command": "x", "url": "http://h/mcp"}, "not both"),
        ({"comand": "x"}, "unknown keys ['comand']"),
        ({"type": "sse", "url": "http://h/sse"}, "streamable HTTP endpoint"),
        ({"url": "ftp://h"}, "http:// or https://"),
    ],
)
def test_a_wrong_server_entry_says_what_is_wrong(entry: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigurationError, match=r"'bad'") as caught:
        parse_mcp_config({"mcpServers": {"bad": entry}})
    assert says in str(caught.value)


def test_tools_are_unknown_until_the_toolset_connects() -> None:
    with pytest.raises(ConfigurationError, match="not connected"):
        Agent(ScriptedEngine([]), tools=MCPToolset(tiny()))


# --- MCPToolset against the SDK's own server ----------------------------------------------------


async def test_listed_tools_keep_the_servers_input_schemas(toolset: MCPToolset) -> None:
    by_name = {tool.name: tool for tool in toolset}
    # 'pid.of-server' has a dot, which radixagent tool names cannot: it becomes 'pid_of-server'
    assert set(by_name) == {"add", "fail", "sleep", "pid_of-server", "die"}
    add = by_name["add"].tool_schema
    assert add.description == "Add two integers."
    assert add.parameters["properties"] == {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}}
    assert add.parameters["required"] == ["a", "b"]


async def test_a_call_returns_the_result_text(toolset: MCPToolset) -> None:
    assert await toolset.call("add", {"a": 2, "b": 40}) == "42"


async def test_an_error_result_is_a_tool_error_with_the_servers_message(toolset: MCPToolset) -> None:
    with pytest.raises(MCPToolError, match="refused: no reason") as caught:
        await toolset.call("fail", {"reason": "no reason"})
    assert (caught.value.tool, caught.value.server) == ("fail", "tiny")


async def test_a_slow_call_times_out_and_the_connection_stays_usable(toolset: MCPToolset) -> None:
    with pytest.raises(ToolTimeoutError) as caught:  # a 30-s sleep that ran out would return its text
        await toolset.call("sleep", {"seconds": 30})
    assert caught.value.timeout_s == 2.0  # the toolset's own timeout ended it
    assert await toolset.call("add", {"a": 1, "b": 1}) == "2"
    assert toolset.connects == 1


async def test_failures_reach_an_agents_executor_as_observations(toolset: MCPToolset) -> None:
    agent = Agent(ScriptedEngine([]), tools=toolset)
    failed = await agent.tools.executor.execute("fail", {"reason": "bad day"})
    assert failed.error_type == "execution" and failed.error is not None and "refused: bad day" in failed.error
    invalid = await agent.tools.executor.execute("add", {"a": "two"})  # checked against the server's schema first
    assert invalid.error_type == "arguments" and not invalid.executed


async def test_an_agent_calls_an_mcp_tool_end_to_end(toolset: MCPToolset) -> None:
    script = [" add", '{"a": 2, "b": 40}', " answer", "The sum is 42."]
    schemas: list[dict[str, object]] = []

    def reply(prompt: object, constraint: object) -> str:
        if isinstance(constraint, JsonSchemaConstraint):
            schemas.append(constraint.json_schema)
        return script.pop(0)

    agent = Agent(ScriptedEngine(reply), tools=[*toolset], decision=DecisionSettings().model_only())
    response = await agent.run("What is 2 + 40?")
    assert response.is_successful, response.error_message
    [call] = response.tool_calls
    assert (call.tool, call.arguments, call.result, call.error) == ("add", {"a": 2, "b": 40}, "42", None)
    assert response.content == "The sum is 42."
    # the arguments were generated under the MCP tool's own input schema
    [arguments] = [s for s in schemas if "a" in s.get("properties", {})]  # type: ignore[operator]
    assert arguments["required"] == ["a", "b"]
    assert {k: v["type"] for k, v in arguments["properties"].items()} == {"a": "integer", "b": "integer"}  # type: ignore[attr-defined]


async def test_a_server_killed_mid_call_is_reported_then_started_again() -> None:
    async with MCPToolset(tiny(timeout_s=20.0)) as toolset:
        first_pid = int(await toolset.call("pid_of-server"))
        calls = [asyncio.create_task(toolset.call("sleep", {"seconds": 15})) for _ in range(2)]
        await asyncio.sleep(0.3)
        os.kill(first_pid, signal.SIGKILL)
        for failed in await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10):
            assert isinstance(failed, MCPConnectionError) and "closed before the call" in str(failed)
            assert failed.server == "tiny"
        # the next calls start it again, once for both
        pids = {int(pid) for pid in await asyncio.gather(toolset.call("pid_of-server"), toolset.call("pid_of-server"))}
        assert len(pids) == 1 and first_pid not in pids and toolset.connects == 2
    assert not toolset.connected
    with pytest.raises(ToolError, match="not open"):  # closed on purpose: no restart
        await toolset.call("pid_of-server")


async def test_a_server_that_cannot_start_is_a_connection_error() -> None:
    with pytest.raises(MCPConnectionError, match="'nowhere'"):
        await MCPToolset(MCPServerConfig(name="nowhere", command="/nonexistent/mcp-server")).connect()


async def test_a_server_that_never_answers_is_a_connection_error_after_the_connect_timeout() -> None:
    # it would sleep past the test's own timeout: connect() returns at all only by stopping it
    mute = MCPServerConfig(name="mute", command=sys.executable, args=["-c", "import time; time.sleep(3600)"], connect_timeout_s=1.0)
    with pytest.raises(MCPConnectionError, match="did not answer within 1 s"):
        await MCPToolset(mute).connect()


def test_the_sync_api_serves_run_sync() -> None:
    engine = ScriptedEngine([" add", '{"a": 1, "b": 2}', " answer", "3."])
    with MCPToolset(tiny()) as toolset:
        agent = Agent(engine, tools=toolset, decision=DecisionSettings().model_only())
        assert agent.run_sync("1 + 2?").tool_calls[0].result == "3"


# --- streamable HTTP ----------------------------------------------------------------------------


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {process.stderr.read() if process.stderr else ''!r}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout} s")


class HttpServer:
    """The tiny server over streamable HTTP on a loopback port, which a test may kill and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, TINY, "--http", str(self.port)], stderr=subprocess.PIPE)
        wait_for_port(self.port, process)
        return process

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    try:
        yield server
    finally:
        server.stop()


async def test_streamable_http_on_loopback(http_server: HttpServer) -> None:
    async with MCPToolset(MCPServerConfig(name="web", url=http_server.url, prefix="web", timeout_s=2.0)) as toolset:
        assert "web_add" in {tool.name for tool in toolset}
        assert await toolset.call("web_add", {"a": 20, "b": 22}) == "42"
        with pytest.raises(MCPToolError, match="refused: over http"):
            await toolset.call("web_fail", {"reason": "over http"})
        http_server.stop()
        with pytest.raises(MCPConnectionError, match="closed before the call"):
            await toolset.call("web_add", {"a": 1, "b": 1})
        with pytest.raises(MCPConnectionError, match="ConnectError"):  # nothing listens: reported, tried again next time
            await toolset.call("web_add", {"a": 1, "b": 1})
        http_server.process = await asyncio.to_thread(http_server.start)
        assert await toolset.call("web_add", {"a": 1, "b": 1}) == "2"
        assert toolset.connects == 2


# --- radixagent serve with MCP servers ----------------------------------------------------------


def test_serve_adds_the_mcp_tools_to_the_session_catalogue(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"tiny": {"command": sys.executable, "args": [TINY], "prefix": "tiny"}}}))
    engine = ScriptedEngine([])
    settings = ServerSettings(mcp_config=config, decision_evidence=False)
    app = create_app(settings, engine=engine, store=SQLiteStore(":memory:"), tools=[])
    with BackgroundServer(app) as running:
        http = httpx.Client(base_url=running.url, timeout=30)
        listed = {tool["name"]: tool for tool in http.get("/v1/tools").json()["data"]}
        assert {"tiny_add", "tiny_fail", "tiny_sleep"} <= set(listed)
        assert listed["tiny_add"]["parameters"]["required"] == ["a", "b"]
        session = http.post("/v1/sessions", json={"tools": ["tiny_add"]}).json()
        engine.add_replies(" tiny_add", '{"a": 5, "b": 6}', " answer", "11.")
        reply = http.post(f"/v1/sessions/{session['id']}/messages", json={"content": "5 + 6?"}).json()
        [call] = reply["response"]["tool_calls"]
        assert (call["tool"], call["result"]) == ("tiny_add", "11")
        [toolset] = app.state.radixagent.mcp_toolsets
    assert not toolset.connected  # closed at shutdown


# --- radixagent mcp, listed and called by the SDK's own client ----------------------------------


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([SRC, str(FIXTURES)]),
        "RADIXAGENT_DATA_DIR": str(tmp_path / "data"),
    }


async def test_radixagent_mcp_serves_python_tools_over_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "radixagent.cli", "mcp", "served_tools:TOOLS"], env=cli_env(tmp_path), cwd=tmp_path
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert set(tools) == {"word_count", "shout"}
        # radixagent's own schema, enum and default included
        assert tools["shout"].input_schema["properties"]["mark"] == {"type": "string", "enum": ["!", "?"], "default": "!"}
        result = await session.call_tool("shout", {"text": "hi"})
        assert not result.is_error and result.content[0].text == "HI!"  # type: ignore[union-attr]
        refused = await session.call_tool("shout", {"text": "hi", "mark": "."})
        assert refused.is_error and "mark" in refused.content[0].text  # type: ignore[union-attr]
        with pytest.raises(MCPError, match="No tool named 'whisper'"):  # a protocol error, as the spec asks
            await session.call_tool("whisper", {"text": "hi"})


async def test_radixagent_mcp_serves_the_builtin_tools_over_http(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radixagent.cli", "mcp", "--http", f"127.0.0.1:{port}"], env=cli_env(tmp_path), cwd=tmp_path, stderr=subprocess.PIPE
    )
    try:
        await asyncio.to_thread(wait_for_port, port, process, 60.0)
        async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            names = [tool.name for tool in (await session.list_tools()).tools]
            assert names == ["analyze_sentiment", "retrieve_documents", "generate_summary", "translate_text"]
            found = await session.call_tool("retrieve_documents", {"query": "RadixAttention prefix cache", "top_k": 1})
            assert not found.is_error and "RadixAttention" in found.content[0].text  # type: ignore[union-attr]
    finally:
        process.terminate()
        process.wait(10)
