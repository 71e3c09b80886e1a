"""An MCP server's tools as radixagent tools: `MCPToolset`.

    async with MCPToolset(MCPServerConfig(name="files", command="python", args=["server.py"])) as files:
        agent = Agent(engine, tools=[add, *files])
        await agent.run("...")

Connecting starts the server (stdio) or reaches it (streamable HTTP), lists its tools, and
turns each into a `ToolDefinition` whose parameters are the tool's own input schema, so the
agent's calls are generated under that schema. A call goes to the server under the config's
`timeout_s`; what can go wrong comes back as a typed `ToolError` the executor turns into an
observation: the server's error result (`MCPToolError`), the timeout (`ToolTimeoutError`), the
server gone (`MCPConnectionError`, logged; the next call starts or reaches it again).

The connection lives in one task on the event loop that connected it, which enters and leaves
the SDK's transport and session (anyio needs both in one task). A call made on another loop
(the sync API's background loop, a server's worker) is handed to that loop.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import logging
import re
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from radixagent.engine._portal import run_sync
from radixagent.errors import (
    ConfigurationError,
    MCPConnectionError,
    MCPToolError,
    ToolDefinitionError,
    ToolError,
    ToolTimeoutError,
)
from radixagent.extras import requires_extra
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.tools.mcp.config import MCPServerConfig
from radixagent.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from mcp import ClientSession
    from mcp.types import CallToolResult, Tool

__all__ = ["MCPToolset", "result_content_text"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_FEATURE = "MCP tools (radixagent.tools.mcp)"
_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_MAX_PAGES = 100


class MCPToolset:
    """The tools of one MCP server, connected for as long as the toolset is open.

    Open it with `async with toolset:` (or `await toolset.connect()` ... `await toolset.aclose()`;
    `with toolset:` for the sync API), then pass it, or some of its tools, to an agent:
    iterating it gives its `ToolDefinition`s. `config.prefix` renames each tool PREFIX_NAME."""

    def __init__(self, config: MCPServerConfig) -> None:
        self.config = config
        self.tools: list[ToolDefinition] = []
        """The server's tools, as radixagent tools (filled by `connect`)."""
        self.connects = 0
        """How many times the server was started or reached (more than 1: it was lost and found again)."""
        self._remote: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._session: ClientSession | None = None
        self._closed = False  # by aclose(): calls then fail instead of starting the server again

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connected(self) -> bool:
        return self._session is not None and self._task is not None and not self._task.done()

    def __repr__(self) -> str:
        return f"MCPToolset({self.name!r}, {self.config.describe()!r}, {len(self.tools)} tools)"

    def __iter__(self) -> Iterator[ToolDefinition]:
        if not self.tools and self.connects == 0:
            raise ConfigurationError(
                f"The MCP toolset {self.name!r} is not connected, so its tools are not known yet: "
                "open it first (`async with toolset:` or `await toolset.connect()`)."
            )
        return iter(list(self.tools))

    def __len__(self) -> int:
        return len(self.tools)

    # --- opening and closing ---------------------------------------------------------------

    async def connect(self) -> list[ToolDefinition]:
        """Start or reach the server and list its tools; returns them (also in `tools`).
        Raises MCPConnectionError if the server cannot be started, reached or initialised."""
        with requires_extra("mcp", _FEATURE):
            import mcp  # noqa: F401
        if self._foreign_loop():
            return await self._on_own_loop(self.connect())
        self._adopt_loop()
        assert self._lock is not None
        async with self._lock:
            await self._shut()
            listing = await self._open()
            self._closed = False
        self.tools = self._definitions(listing)
        return list(self.tools)

    async def aclose(self) -> None:
        """Close the session (and stop a stdio server). The toolset can connect again."""
        if self._loop is None or self._loop.is_closed():
            return
        if self._foreign_loop():
            await self._on_own_loop(self.aclose())
            return
        self._closed = True
        await self._shut()

    async def __aenter__(self) -> MCPToolset:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def connect_sync(self) -> list[ToolDefinition]:
        """`connect` on radixagent's background loop, where `agent.run_sync` runs."""
        return run_sync(self.connect())

    def close(self) -> None:
        run_sync(self.aclose())

    def __enter__(self) -> MCPToolset:
        self.connect_sync()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- calling ---------------------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any] | None = None) -> str:
        """Call a tool by its name here (with the prefix) and return its result as text.
        Raises MCPToolError (the server's error), ToolTimeoutError, or MCPConnectionError."""
        if self._foreign_loop():
            return await self._on_own_loop(self.call(tool, arguments))
        remote = self._remote.get(tool)
        if self._closed or (remote is None and self.connects == 0):
            raise ToolError(f"The MCP toolset {self.name!r} is not open: open it first (`async with toolset:`).")
        if remote is None:
            raise ToolError(f"The MCP server {self.name!r} has no tool {tool!r}: call one of {sorted(self._remote)}.")
        from mcp import MCPError
        from mcp.types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        session = await self._live_session()
        owner = self._task
        try:
            result = await session.call_tool(remote, arguments or {}, read_timeout_seconds=self.config.timeout_s)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise ToolTimeoutError(tool, self.config.timeout_s) from exc
            if exc.code == CONNECTION_CLOSED:
                await self._lost(owner, f"the connection closed before the call to {remote!r} finished (did the server exit?)")
            raise MCPToolError(tool, self.name, exc.message) from exc
        except OSError as exc:
            await self._lost(owner, f"{type(exc).__name__}: {exc}")
        except (RuntimeError, ValueError) as exc:  # an answer the SDK refused (malformed, or asking for input)
            raise MCPToolError(tool, self.name, f"an answer radixagent cannot use: {exc}") from exc
        if result.is_error:
            raise MCPToolError(tool, self.name, result_content_text(result) or "(no message)")
        return result_content_text(result)

    # --- the connection --------------------------------------------------------------------

    def _foreign_loop(self) -> bool:
        """Whether the toolset lives on another loop that still runs (calls must go there)."""
        if self._loop is None or self._loop.is_closed():
            return False
        return asyncio.get_running_loop() is not self._loop

    def _adopt_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or the loop it lived on is gone (and the connection with it)
            self._loop, self._lock, self._task, self._stop, self._session = loop, asyncio.Lock(), None, None, None

    async def _on_own_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def _live_session(self) -> ClientSession:
        """The open session, reconnecting first if the server was lost."""
        self._adopt_loop()
        assert self._lock is not None
        async with self._lock:
            if not self.connected:
                if self.connects:
                    logger.info("MCP server %r: connecting again", self.name)
                await self._shut()
                await self._open()
            assert self._session is not None
            return self._session

    async def _open(self) -> list[Tool]:
        """Start the task that owns the connection; wait until it has listed the tools."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[list[Tool]] = loop.create_future()
        self._stop = asyncio.Event()
        self._task = loop.create_task(self._own(ready, self._stop), name=f"radixagent-mcp-{self.name}")
        try:
            listing = await asyncio.wait_for(asyncio.shield(ready), self.config.connect_timeout_s)
        except TimeoutError:
            ready.cancel()  # nobody waits for it any more
            await self._shut(now=True)
            raise MCPConnectionError(
                self.name, f"{self.config.describe()} did not answer within {self.config.connect_timeout_s:g} s"
            ) from None
        except BaseException:
            ready.cancel()
            await self._shut(now=True)
            raise
        self.connects += 1
        logger.info("MCP server %r connected (%s): %d tools", self.name, self.config.transport, len(listing))
        return listing

    async def _own(self, ready: asyncio.Future[list[Tool]], stop: asyncio.Event) -> None:
        from mcp import ClientSession

        session: ClientSession | None = None
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listing = await _list_tools(session)
                self._session = session
                if not ready.done():
                    ready.set_result(listing)
                await stop.wait()
        except BaseException as exc:  # reported to whoever waits, or logged: the connection task never dies silently
            if not ready.done():
                ready.set_exception(MCPConnectionError(self.name, f"{self.config.describe()}: {_describe(exc)}"))
            elif not stop.is_set():
                logger.warning("MCP server %r: the connection failed: %s", self.name, _describe(exc))
            if isinstance(exc, asyncio.CancelledError) and not stop.is_set():
                raise
        finally:
            if self._session is session:  # not a newer connection's
                self._session = None

    def _transport(self) -> Any:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        config = self.config
        if config.command is not None:
            params = StdioServerParameters(command=config.command, args=config.args, env=config.env or None, cwd=config.cwd)
            return stdio_client(params)
        import httpx2

        assert config.url is not None
        client = httpx2.AsyncClient(
            # the read timeout also bounds the server's event stream, held open between calls (the SDK's default: 300 s)
            headers=config.headers or None,
            timeout=httpx2.Timeout(config.connect_timeout_s, read=max(300.0, config.timeout_s + 5)),
        )
        return _http_transport(config.url, client)

    async def _shut(self, *, now: bool = False) -> None:
        """Stop the connection task, which leaves the session and the transport (a stdio server
        gets its stdin closed, then SIGTERM, then SIGKILL: the SDK bounds each wait). `now`:
        cancel it instead of asking, for a task still connecting."""
        task, stop = self._task, self._stop
        self._task = None
        if task is None or stop is None or task.done():
            return
        stop.set()
        if now:
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(task), 10.0)
        except TimeoutError:
            task.cancel()
            logger.warning("MCP server %r: the connection did not close within 10 s; cancelled", self.name)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # we are cancelled, not (only) the task we stopped
                raise
        except Exception:  # what the task met, it has logged or reported
            pass

    async def _lost(self, owner: asyncio.Task[None] | None, detail: str) -> NoReturn:
        """A call on the connection of task `owner` found the server gone: drop that connection
        (unless a concurrent call has already replaced it) and report it."""
        logger.warning("MCP server %r lost: %s; it is started or reached again at the next call", self.name, detail)
        if self._task is owner:
            await self._shut()
        raise MCPConnectionError(self.name, detail)

    # --- tools -----------------------------------------------------------------------------

    def _definitions(self, listing: list[Tool]) -> list[ToolDefinition]:
        """Each listed tool as a ToolDefinition; a tool radixagent cannot use (a name that cannot
        be made valid, a schema the registry refuses) is left out with a warning."""
        check = ToolRegistry()
        definitions: list[ToolDefinition] = []
        self._remote = {}
        for tool in listing:
            name = self._local_name(tool.name)
            if name in self._remote:
                logger.warning("MCP server %r: tools %r and %r both become %r; keeping the first", self.name, self._remote[name], tool.name, name)
                continue
            schema = copy.deepcopy(tool.input_schema)
            schema.setdefault("type", "object")
            description = tool.description or tool.title or tool.name
            try:
                definition = ToolDefinition(
                    schema=ToolSchema(name=name, description=description, parameters=schema),
                    callable=self._caller(name),
                    timeout_s=self.config.timeout_s + self.config.connect_timeout_s,  # a backstop: calls time out first
                )
                check.register_tool(definition)
            except (ToolDefinitionError, ValueError) as exc:
                logger.warning("MCP server %r: tool %r left out: %s", self.name, tool.name, exc)
                continue
            self._remote[name] = tool.name
            definitions.append(definition)
        return definitions

    def _local_name(self, remote: str) -> str:
        name = _INVALID.sub("_", remote)
        if self.config.prefix:
            name = f"{self.config.prefix}_{name}"
        if not name[:1].isalpha() and name[:1] != "_":
            name = "_" + name
        return name[:64]

    def _caller(self, name: str) -> Any:
        async def call_mcp_tool(**arguments: Any) -> str:
            return await self.call(name, arguments)

        call_mcp_tool.__qualname__ = call_mcp_tool.__name__ = name
        return call_mcp_tool


def _http_transport(url: str, client: Any) -> Any:
    """The SDK's streamable HTTP transport, which also closes our HTTP client."""
    from contextlib import asynccontextmanager

    from mcp.client.streamable_http import streamable_http_client

    @asynccontextmanager
    async def transport() -> Any:
        async with client, streamable_http_client(url, http_client=client) as streams:
            yield streams

    return transport()


async def _list_tools(session: ClientSession) -> list[Tool]:
    from mcp.types import PaginatedRequestParams

    result = await session.list_tools()
    tools = list(result.tools)
    for _ in range(_MAX_PAGES):
        if not result.next_cursor:
            break
        result = await session.list_tools(params=PaginatedRequestParams(cursor=result.next_cursor))
        tools += result.tools
    return tools


def result_content_text(result: CallToolResult) -> str:
    """What the model reads of a tool result: its text blocks, other blocks named, or the
    structured content as JSON when there is no text."""
    from mcp.types import AudioContent, EmbeddedResource, ImageContent, ResourceLink, TextContent, TextResourceContents

    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent | AudioContent):
            size = len(base64.b64decode(block.data, validate=False)) if block.data else 0
            parts.append(f"[{block.type}: {block.mime_type}, {size} bytes]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            parts.append(resource.text if isinstance(resource, TextResourceContents) else f"[resource {resource.uri}]")
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource link {block.uri}]")
    if not parts and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def _describe(exc: BaseException) -> str:
    """One line for an error, looking inside anyio's exception groups for the cause."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not text.startswith(type(exc).__name__) else text

