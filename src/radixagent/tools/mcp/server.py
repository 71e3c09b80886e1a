"""Serving radixagent tools over MCP: `build_mcp_server(registry)` and the two transports
(`radixagent mcp` on the command line).

Each tool is listed with radixagent's own schema (the one the agent generates under), and a
call runs through the registry's executor: the arguments are checked against that schema,
the timeout applies, and a failure (bad arguments, the tool raising, a timeout) comes back as
an error result the client's model can read. Schema-only tools (no function) are not served.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from radixagent.errors import UnknownToolError
from radixagent.extras import requires_extra
from radixagent.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from mcp.server import Server

__all__ = ["build_mcp_server", "serve_mcp_http", "serve_mcp_stdio"]

logger = logging.getLogger(__name__)

_FEATURE = "Serving tools over MCP (radixagent mcp)"


def build_mcp_server(registry: ToolRegistry, *, name: str = "radixagent", version: str = "") -> Server[Any]:
    """A low-level MCP server whose tools are the registry's tools that have a function."""
    with requires_extra("mcp", _FEATURE):
        from mcp import MCPError
        from mcp.server import Server, ServerRequestContext
        from mcp.types import (
            INVALID_PARAMS,
            CallToolRequestParams,
            CallToolResult,
            ListToolsResult,
            PaginatedRequestParams,
            TextContent,
            Tool,
        )

    def served() -> list[str]:
        return [tool.name for tool in registry if tool.callable is not None]

    async def list_tools(ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None) -> ListToolsResult:
        tools = [registry.entry(name).schema for name in served()]
        return ListToolsResult(tools=[Tool(name=s.name, description=s.description, input_schema=s.parameters) for s in tools])

    async def call_tool(ctx: ServerRequestContext[Any], params: CallToolRequestParams) -> CallToolResult:
        if params.name not in served():
            raise MCPError(code=INVALID_PARAMS, message=str(UnknownToolError(params.name, served())))
        record = await registry.executor.execute(params.name, params.arguments or {})
        if record.error is not None:
            return CallToolResult(content=[TextContent(text=record.error)], is_error=True)
        return CallToolResult(content=[TextContent(text=record.result or "")])

    def input_schema(tool: str) -> dict[str, Any] | None:
        return registry.entry(tool).schema.parameters if tool in served() else None

    return Server(name, version=version, on_list_tools=list_tools, on_call_tool=call_tool, get_tool_input_schema=input_schema)


async def serve_mcp_stdio(registry: ToolRegistry, *, name: str = "radixagent") -> None:
    """Serve the registry's tools on this process's stdin and stdout until the client hangs up."""
    server = build_mcp_server(registry, name=name)
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_mcp_http(
    registry: ToolRegistry, *, host: str = "127.0.0.1", port: int = 8000, path: str = "/mcp", name: str = "radixagent", log_level: str = "warning"
) -> None:
    """Serve the registry's tools over streamable HTTP at http://HOST:PORT/PATH until stopped.
    On a loopback host the SDK also refuses requests whose Host or Origin is not loopback
    (DNS rebinding)."""
    server = build_mcp_server(registry, name=name)
    import uvicorn

    app = server.streamable_http_app(streamable_http_path=path, host=host)
    logger.info("serving %d tools over MCP at http://%s:%d%s", len(registry), host, port, path)
    await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level)).serve()
