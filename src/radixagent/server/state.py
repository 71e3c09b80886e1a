"""What one running server holds: settings, engine, store, tools, metrics, lifecycle.

Resources passed in by the caller are used as they are and left open at shutdown (unless
`close_on_shutdown`); what the server opens itself (the engine from `RADIXAGENT_ENGINE`, the
store from `database_url`) it closes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from radixagent.chat import ChatCompleter
from radixagent.decision import DecisionSettings
from radixagent.engine.base import Engine
from radixagent.errors import ConfigurationError
from radixagent.memory import open_store
from radixagent.memory.store import Store
from radixagent.prompting import CHATML, ChatFormat
from radixagent.recovery import RecoveringEngine
from radixagent.schemas import ToolDefinition
from radixagent.server.agents import SessionAgents
from radixagent.server.config import ServerSettings
from radixagent.server.hub import EventHub
from radixagent.server.limits import Lifecycle
from radixagent.server.metrics import ServerMetrics
from radixagent.telemetry import traced

if TYPE_CHECKING:
    from radixagent.tools.mcp import MCPToolset

logger = logging.getLogger(__name__)


class AppState:
    def __init__(
        self,
        settings: ServerSettings,
        *,
        engine: Engine | None = None,
        store: Store | None = None,
        tools: Sequence[ToolDefinition] | None = None,
        close_on_shutdown: bool = False,
    ) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.lifecycle = Lifecycle(settings.request_timeout)
        self.events = EventHub(
            max_subscribers=settings.event_subscribers, buffer=settings.event_buffer, retry_after_s=settings.retry_after_s, metrics=self.metrics
        )
        self.started_at = int(time.time())
        self._engine = engine
        self._store = store
        self._tools = list(tools) if tools is not None else None
        self._close_engine = engine is None or close_on_shutdown
        self._close_store = store is None or close_on_shutdown
        self._completer: ChatCompleter | None = None
        self._sessions: SessionAgents | None = None
        self.mcp_toolsets: list[MCPToolset] = []
        """The MCP servers of `settings.mcp_config`, connected from start to stop."""
        self.chat_format: ChatFormat = CHATML
        self.model_name = ""

    # --- what the routers use ----------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the server has not started")
        return self._engine

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the server has not started")
        return self._store

    @property
    def completer(self) -> ChatCompleter:
        if self._completer is None:
            raise RuntimeError("the server has not started")
        return self._completer

    @property
    def sessions(self) -> SessionAgents:
        if self._sessions is None:
            raise RuntimeError("the server has not started")
        return self._sessions

    # --- lifespan ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._store is None:
            self._store = open_store(self.settings.database_url)
        if self._engine is None:
            from radixagent.engine.factory import create_engine

            self._engine = create_engine(settings=self.settings)
        engine = self._engine
        try:
            health = await engine.health()
            if not health.ok:
                logger.warning("the %s engine is not ready yet: %s", engine.name, health.detail)
            self.model_name = (await engine.model_info()).name
            self.chat_format = await ChatFormat.learn(engine) or CHATML
        except Exception as exc:  # the engine may come up later; /readyz tells
            logger.warning("could not ask the %s engine about its model: %s", engine.name, exc)
            self.model_name = self.model_name or engine.name
        if self._tools is None:
            from radixagent.tools.builtin import builtin_tools

            self._tools = builtin_tools(engine)
        if self.settings.mcp_config is not None:
            self._tools = self._tools + await self._connect_mcp(self.settings.mcp_config, {t.name for t in self._tools})
        decision = DecisionSettings(strategy=self.settings.decision_strategy)
        if not self.settings.decision_evidence:
            decision = decision.model_only()
        self._completer = ChatCompleter(
            RecoveringEngine(traced(engine)), decision=decision, chat_format=self.chat_format, default_max_tokens=self.settings.max_tokens
        )
        self._sessions = SessionAgents(
            engine,
            self._store,
            self._tools,
            chat_format=self.chat_format,
            capacity=self.settings.session_cache,
            metrics=self.metrics,
            evidence=self.settings.decision_evidence,
            events=self.events,
        )
        logger.info("radixagent server ready: %s engine, model %s, %d tools", engine.name, self.model_name, len(self._tools))

    async def _connect_mcp(self, path: Path, taken: set[str]) -> list[ToolDefinition]:
        """Connect to each MCP server of the file; their tools, each name unused so far. A server
        that cannot be reached stops the start: its tools are part of the configuration."""
        from radixagent.tools.mcp import MCPToolset, load_mcp_config

        tools: list[ToolDefinition] = []
        try:
            for config in load_mcp_config(path):
                toolset = MCPToolset(config)
                self.mcp_toolsets.append(toolset)
                for tool in await toolset.connect():
                    if tool.name in taken:
                        raise ConfigurationError(
                            f"The MCP server {config.name!r} has a tool named {tool.name!r}, which is already in the "
                            f'catalogue: give the server a "prefix" in {path}.'
                        )
                    taken.add(tool.name)
                    tools.append(tool)
        except BaseException:
            await self._close_mcp()
            raise
        return tools

    async def _close_mcp(self) -> None:
        for toolset in self.mcp_toolsets:
            try:
                await toolset.aclose()
            except Exception as exc:
                logger.warning("closing the MCP server %r failed: %s", toolset.name, exc)
        self.mcp_toolsets = []

    async def stop(self) -> None:
        self.lifecycle.abort_now()
        await self._close_mcp()
        if self._close_engine and self._engine is not None:
            try:
                await self._engine.aclose()
            except Exception as exc:
                logger.warning("closing the engine failed: %s", exc)
        if self._close_store and self._store is not None:
            self._store.close()
