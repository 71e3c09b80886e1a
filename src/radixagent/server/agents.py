"""One agent per session, built from what the store says, shared engine underneath.

A session's configuration (instructions, the built-in tools it may call, decision settings)
is stored with it, so any replica can rebuild its agent after a restart. Agents are kept in
memory (least recently used first out) only to keep their exact transcripts warm; the store is
the truth. Before each use the session's `updated_at` is compared with the one the cached
agent last saw, so a session another replica advanced is reloaded, never overwritten.

What is kept per session id exists only for sessions that exist: a lock lives while requests
for its session are in flight (and is dropped with the last of them), and an agent is cached
only after the store has the session. The store's reads and writes here run in a worker
thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from radixagent.agent import DEFAULT_INSTRUCTIONS, Agent, ApprovalPolicy
from radixagent.decision import DecisionSettings, DecisionStrategy
from radixagent.engine.base import Engine
from radixagent.engine.tap import EngineTap
from radixagent.errors import InputError, UnknownToolError
from radixagent.memory.store import SessionRecord, Store, off_loop
from radixagent.prompting import ChatFormat
from radixagent.schemas import ToolDefinition
from radixagent.server.hub import EventHub, SessionCreatedEvent, SessionDeletedEvent
from radixagent.server.metrics import ServerMetrics

logger = logging.getLogger(__name__)


class SessionEngineSettings(BaseModel):
    """How a session's agent decides: the decision strategy and its per-turn limits."""

    model_config = ConfigDict(extra="forbid")

    strategy: DecisionStrategy = DecisionStrategy.SCORE
    max_calls: int = Field(default=1, ge=1, le=8, description="tool calls one step may make")
    argument_tokens: int = Field(default=160, ge=8, le=4096, description="max tokens of one call's arguments")
    answer_tokens: int = Field(default=256, ge=8, le=4096, description="max tokens of an answer")
    allow_ask: bool = Field(default=True, description="whether the agent may ask a question back")
    max_iterations: int = Field(default=10, ge=1, le=50, description="decision steps one message may take")

    def decision(self) -> DecisionSettings:
        return DecisionSettings(
            strategy=self.strategy,
            max_calls=self.max_calls,
            argument_tokens=self.argument_tokens,
            answer_tokens=self.answer_tokens,
            allow_ask=self.allow_ask,
        )


class SessionApproval(BaseModel):
    """Which of a session's tools wait for a person's approval before each call runs."""

    model_config = ConfigDict(extra="forbid")

    tools: list[str] = Field(default_factory=list, description="tool names, each also in the session's `tools`")


class SessionConfig(BaseModel):
    """What a session's agent is built from; stored in the session's `engine_settings`."""

    instructions: str = DEFAULT_INSTRUCTIONS
    tools: list[str] = Field(default_factory=list)
    settings: SessionEngineSettings = Field(default_factory=SessionEngineSettings)
    approval: SessionApproval = Field(default_factory=SessionApproval)


class _Entry:
    def __init__(self, agent: Agent, seen: datetime) -> None:
        self.agent = agent
        self.seen = seen


class SessionLocks:
    """One lock per session id, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, session_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(session_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[session_id]
            if users <= 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)


class SessionAgents:
    """The sessions of one server: create, lease (run under the session's lock), forget."""

    def __init__(
        self,
        engine: Engine,
        store: Store,
        catalogue: Sequence[ToolDefinition],
        *,
        chat_format: ChatFormat | None = None,
        capacity: int = 256,
        metrics: ServerMetrics | None = None,
        evidence: bool = True,
        events: EventHub | None = None,
    ) -> None:
        self.engine = engine
        self.events = events
        """Where every run's events go, with the session's id and owner (GET /v1/events)."""
        self.evidence = evidence
        """Whether sessions weigh the request's own words, as chat completions do (RADIXAGENT_DECISION_EVIDENCE)."""
        self.store = store
        self.catalogue = {tool.name: tool for tool in catalogue}
        self.chat_format = chat_format
        self.capacity = capacity
        self.metrics = metrics
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self.locks = SessionLocks()
        self._model: str | None = None

    def tool_names(self) -> list[str]:
        return list(self.catalogue)

    def check_tools(self, names: Sequence[str]) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name not in self.catalogue:
                error = UnknownToolError(name, self.tool_names())
                error.param = f"tools[{i}]"
                raise error
            if name in seen:
                raise InputError(f"The tool {name!r} is listed twice: list each tool once.")
            seen.add(name)

    @staticmethod
    def check_approval(config: SessionConfig) -> None:
        for i, name in enumerate(config.approval.tools):
            if name not in config.tools:
                error = InputError(
                    f"approval.tools names {name!r}, which is not one of the session's tools {config.tools}: "
                    "list it in `tools` too, or leave it out of approval.tools."
                )
                error.param = f"approval.tools[{i}]"
                raise error

    def _build(self, config: SessionConfig, *, token_ids: bool = True) -> Agent:
        missing = [name for name in config.tools if name not in self.catalogue]
        if missing:
            raise UnknownToolError(missing[0], self.tool_names())
        return Agent(
            EngineTap(self.engine, token_ids=token_ids),
            instructions=config.instructions,
            tools=[self.catalogue[name] for name in config.tools],
            decision=config.settings.decision() if self.evidence else config.settings.decision().model_only(),
            max_iterations=config.settings.max_iterations,
            store=self.store,
            chat_format=self.chat_format,
            approval=ApprovalPolicy(tools=config.approval.tools) if config.approval.tools else None,
        )

    def _observe(self, agent: Agent, record: SessionRecord) -> Agent:
        """Publish the agent's events, of every run and fork, to the hub."""
        hub = self.events
        if hub is not None:
            session_id, owner = record.id, record.owner
            agent.observers.append(lambda event: hub.publish(session_id, owner, event))
        return agent

    @staticmethod
    def config_of(session: SessionRecord) -> SessionConfig:
        stored = session.engine_settings.get("session")
        if stored is None:
            return SessionConfig(instructions=session.system_prompt, tools=[t.name for t in session.tools])
        return SessionConfig.model_validate(stored)

    async def _model_name(self) -> str:
        if self._model is None:
            self._model = (await self.engine.model_info()).name
        return self._model

    async def create(self, config: SessionConfig, *, title: str = "", owner: str | None = None) -> SessionRecord:
        """A new session, stored with its `owner` (a hash of the caller's key, or None)."""
        self.check_tools(config.tools)
        self.check_approval(config)
        agent = self._build(config)
        agent.memory.owner = owner
        settings = {"engine": self.engine.name, "model": await self._model_name(), "session": config.model_dump(mode="json")}

        def store_it() -> SessionRecord:
            session_id = agent.open_session(title=title, engine_settings=settings)
            return self.store.get_session(session_id)

        record = await off_loop(self.store, store_it)
        self._keep(record.id, _Entry(self._observe(agent, record), record.updated_at))
        if self.events is not None:
            self.events.publish(record.id, owner, SessionCreatedEvent(title=title))
        return record

    def _keep(self, session_id: str, entry: _Entry) -> None:
        self._entries[session_id] = entry
        self._entries.move_to_end(session_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        if self.metrics is not None:
            self.metrics.sessions_loaded.set(len(self._entries))

    @asynccontextmanager
    async def lease(self, session_id: str, *, known: SessionRecord | None = None) -> AsyncIterator[Agent]:
        """The session's agent, current with the store, held under the session's lock: one
        message of a session runs at a time; different sessions run concurrently. `known`:
        the session as the caller just read it (saves reading it again: if it has changed since,
        its `updated_at` no longer matches the cached agent's, which is then rebuilt from the
        store, so a stale `known` costs a reload, never a lost turn)."""
        async with self.locks.hold(session_id):
            if known is not None and known.id == session_id:
                record = known
            else:
                record = await off_loop(self.store, self.store.get_session, session_id)  # SessionNotFoundError for unknown ids
            entry = self._entries.get(session_id)
            if entry is None or entry.seen != record.updated_at:
                if entry is not None:
                    logger.info("session %s changed in the store: reloading its agent", session_id)
                # Stored prompts are token ids of the model that wrote them: under another
                # model the conversation is re-rendered as text instead.
                stored_model = record.engine_settings.get("model")
                same_model = stored_model is None or stored_model == await self._model_name()
                if not same_model:
                    logger.info("session %s was written by model %s: continuing it as text", session_id, stored_model)
                agent = self._observe(self._build(self.config_of(record), token_ids=same_model), record)
                await off_loop(self.store, agent.open_session, session_id)
                entry = _Entry(agent, record.updated_at)
            self._keep(session_id, entry)
            written = entry.agent.memory.updated_at
            try:
                yield entry.agent
            except BaseException:  # failed or cancelled part-way: rebuild from the store next time
                self._entries.pop(session_id, None)
                raise
            if entry.agent.memory.updated_at != written:
                # the session's updated_at as the agent's last write set it (no read): a write of
                # another replica since then changes it, and the next lease reloads
                entry.seen = entry.agent.memory.updated_at or entry.seen

    async def delete(self, session_id: str, *, owner: str | None = None) -> None:
        """Delete the session; `owner` (its record's) says who hears of it on the event feed."""
        async with self.locks.hold(session_id):
            await off_loop(self.store, self.store.delete_session, session_id)
            self._entries.pop(session_id, None)
        if self.events is not None:
            self.events.publish(session_id, owner, SessionDeletedEvent())
        if self.metrics is not None:
            self.metrics.sessions_loaded.set(len(self._entries))
