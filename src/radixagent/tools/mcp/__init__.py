"""MCP (Model Context Protocol): an MCP server's tools for an agent, and an agent's tools served
over MCP. See docs/mcp.md.

    from radixagent.tools.mcp import MCPServerConfig, MCPToolset

    async with MCPToolset(MCPServerConfig(name="files", command="npx", args=[...])) as files:
        agent = Agent(engine, tools=[*files])

The SDK (`mcp`) comes with the `mcp` extra (`pip install 'radixagent[mcp]'`); it is imported
only when a toolset connects or a server starts, and its absence is a `ConfigurationError`
naming the extra. The configuration classes need no SDK.
"""

from radixagent.tools.mcp.client import MCPToolset, result_content_text
from radixagent.tools.mcp.config import MCPServerConfig, load_mcp_config, parse_mcp_config
from radixagent.tools.mcp.server import build_mcp_server, serve_mcp_http, serve_mcp_stdio

__all__ = [
    "MCPServerConfig",
    "MCPToolset",
    "build_mcp_server",
    "load_mcp_config",
    "parse_mcp_config",
    "result_content_text",
    "serve_mcp_http",
    "serve_mcp_stdio",
]
