"""Where an MCP server is and how long its calls may take: `MCPServerConfig`, and the common
JSON file that lists several (`load_mcp_config`).

    {"mcpServers": {
        "files":   {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/data"]},
        "weather": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer ..."}}
    }}

This module needs no MCP library: configurations are checked before anything connects.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radixagent.errors import ConfigurationError
from radixagent.tools.signature import TOOL_NAME

__all__ = ["MCPServerConfig", "load_mcp_config", "parse_mcp_config"]


class MCPServerConfig(BaseModel):
    """One MCP server: a command to run and talk to over stdio (`command`, `args`, `env`, `cwd`),
    or the URL of a streamable HTTP endpoint (`url`, `headers`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="what logs and errors call this server")
    command: str | None = Field(default=None, description="stdio: the executable that starts the server")
    args: list[str] = Field(default_factory=list, description="stdio: its arguments")
    env: dict[str, str] = Field(
        default_factory=dict,
        description="stdio: extra environment variables (the server inherits only HOME, PATH, SHELL, TERM, USER, LOGNAME)",
    )
    cwd: Path | None = Field(default=None, description="stdio: its working directory")
    url: str | None = Field(default=None, description="streamable HTTP: the endpoint, e.g. http://127.0.0.1:8000/mcp")
    headers: dict[str, str] = Field(default_factory=dict, description="streamable HTTP: headers sent with every request")
    timeout_s: float = Field(default=30.0, gt=0, description="seconds one tool call may take")
    connect_timeout_s: float = Field(default=30.0, gt=0, description="seconds to start or reach the server and list its tools")
    prefix: str | None = Field(
        default=None, description="prepended to each tool's name as PREFIX_NAME, to keep apart tools of the same name"
    )

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r} needs either a command (stdio) or a url (streamable HTTP), not both or neither")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"MCP server {self.name!r}: url must start with http:// or https://, not {self.url!r}")
        if self.prefix is not None and not TOOL_NAME.fullmatch(self.prefix + "_x"):
            raise ValueError(f"MCP server {self.name!r}: prefix {self.prefix!r} must be letters, digits, '_' or '-', starting with a letter")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"

    def describe(self) -> str:
        """Where the server is, for messages (no headers or environment: they may hold secrets)."""
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return str(self.url)


# The common file's keys, and what they are here; `type` only has to agree with the others.
_KEYS = {"command", "args", "env", "cwd", "url", "headers", "timeout", "connect_timeout", "prefix", "type", "disabled"}
_TYPES = {"stdio", "http", "streamable-http", "streamable_http", "streamableHttp"}


def parse_mcp_config(data: Any, *, source: str = "the MCP configuration") -> list[MCPServerConfig]:
    """The servers of a `{"mcpServers": {name: {...}}}` document, in its order; entries with
    `"disabled": true` are left out. Raises ConfigurationError saying what is wrong."""
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigurationError(f'{source} must be a JSON object with an "mcpServers" object: {{"mcpServers": {{"name": {{"command": ...}}}}}}.')
    configs = []
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{source}: the server {name!r} must be an object with a command or a url.")
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise ConfigurationError(f"{source}: the server {name!r} has unknown keys {unknown}; known keys: {sorted(_KEYS)}.")
        if entry.get("disabled") is True:
            continue
        kind = entry.get("type")
        if kind == "sse":
            raise ConfigurationError(f"{source}: the server {name!r} uses the SSE transport, which radixagent does not speak: use its streamable HTTP endpoint.")
        if kind is not None and kind not in _TYPES:
            raise ConfigurationError(f"{source}: the server {name!r} has type {kind!r}; use 'stdio' or 'http' (streamable HTTP).")
        fields = {k: v for k, v in entry.items() if k not in ("type", "disabled", "timeout", "connect_timeout")}
        if "timeout" in entry:
            fields["timeout_s"] = entry["timeout"]
        if "connect_timeout" in entry:
            fields["connect_timeout_s"] = entry["connect_timeout"]
        try:
            configs.append(MCPServerConfig(name=name, **fields))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigurationError(f"{source}: the server {name!r}{' ' + where if where else ''}: {first['msg']}.") from None
    return configs


def load_mcp_config(path: str | Path) -> list[MCPServerConfig]:
    """The servers listed in a JSON file in the common `{"mcpServers": {...}}` format."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read the MCP configuration {path}: {exc.strerror or exc}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"The MCP configuration {path} is not valid JSON: {exc}.") from None
    return parse_mcp_config(data, source=f"The MCP configuration {path}")
