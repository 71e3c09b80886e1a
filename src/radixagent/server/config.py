"""The server's settings, from `RADIXAGENT_*` environment variables (or the `serve` flags).

`ServerSettings` is the library's `Settings` (RADIXAGENT_ENGINE, RADIXAGENT_MODEL_PATH,
RADIXAGENT_DATABASE_URL, ...) plus the serving knobs around it: one object per server process.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from radixagent.decision import DecisionStrategy
from radixagent.settings import Settings


class ServerSettings(Settings):
    """`Settings` and how to serve: address, authentication, limits, the decision strategy."""

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="port to listen on")
    server_api_keys: str = Field(
        default="", description="comma-separated Bearer tokens clients must send; empty: no authentication"
    )
    admin_api_keys: str = Field(
        default="",
        description="comma-separated Bearer tokens that see and manage every session (any key's, and those made before "
        "keys were configured); they are accepted as API keys too",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="largest request body accepted")
    body_timeout: float = Field(
        default=10.0, gt=0, description="seconds a client has to send its whole request body (408 after that)"
    )
    max_concurrency: int = Field(default=32, ge=1, description="requests answered at once; more get 429 with Retry-After")
    retry_after_s: float = Field(default=1.0, gt=0, description="what a 429 tells clients to wait")
    request_timeout: float = Field(default=300.0, gt=0, description="seconds one request may take before it is stopped (504)")
    shutdown_timeout: float = Field(default=30.0, gt=0, description="seconds running requests get to finish at shutdown")
    event_subscribers: int = Field(
        default=64, ge=1, description="listeners the live event feed (GET /v1/events, the dashboard) takes at once; more get 429"
    )
    event_buffer: int = Field(
        default=256, ge=8, description="events held for one slow feed listener; past that its events are dropped, never the runs slowed"
    )
    session_cache: int = Field(default=256, ge=1, description="session agents kept in memory (the rest reload from the store)")
    decision_strategy: DecisionStrategy = Field(default=DecisionStrategy.SCORE, description="'score' (choice scoring) or 'schema'")
    decision_evidence: bool = Field(
        default=True,
        description="score strategy: weigh the request's own words in the tool choice, the arguments and the call count, for chat completions and sessions alike (docs/toolcalls.md)",
    )
    max_tokens: int = Field(default=512, ge=1, description="max_tokens of a chat completion that does not say")
    max_tokens_limit: int = Field(
        default=4096, ge=1, description="the largest max_tokens a chat completion may ask for (tokens generated per call)"
    )
    max_request_tools: int = Field(
        default=64, ge=1, description="tools one chat completion may list (each is scored against the request)"
    )
    max_request_messages: int = Field(default=512, ge=1, description="messages one chat completion may carry")
    max_prompt_chars: int = Field(
        default=256_000, ge=1000, description="characters of messages, tools and schemas one chat completion may send"
    )
    max_schema_depth: int = Field(
        default=64, ge=4, le=256, description="nesting of objects and arrays in a JSON schema in a request"
    )
    mcp_config: Path | None = Field(
        default=None,
        description='a JSON file of MCP servers ({"mcpServers": {name: {command, args, env} | {url, headers}}}) whose '
        "tools join the catalogue sessions choose from; connected at startup (docs/mcp.md)",
    )
    max_schema_nodes: int = Field(
        default=4096, ge=16, description="size of a JSON schema in a request: its objects and arrays, references expanded"
    )

    @field_validator("server_api_keys", "admin_api_keys")
    @classmethod
    def _strip(cls, value: str) -> str:
        return ",".join(k.strip() for k in value.split(",") if k.strip())

    @property
    def admin_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.admin_api_keys.split(",") if k)

    @property
    def api_keys(self) -> tuple[str, ...]:
        """Every key the server accepts: the API keys and the admin keys."""
        return tuple(k for k in self.server_api_keys.split(",") if k) + self.admin_keys
