"""Where sessions, conversation trees, usage and feedback live between runs.

`Store` is the small interface the rest of radixagent uses, and the records below are what it
stores. Two implementations share one schema and one set of semantics:

    SQLiteStore    (memory/sqlite.py)    the default: one file in WAL mode, no server
    PostgresStore  (memory/postgres.py)  one database shared by several server replicas

Both are `SQLStore`s (memory/sql.py): every query and row -> record conversion is written
once there, the tables once in memory/schema.py, and each backend adds only its dialect and
connections. This module knows no backend: `open_store(location)` (memory/open.py) picks one
from a path or URL.

Every write that touches more than one row runs in one transaction, so a crash leaves either
the whole change or none of it: never half a conversation. The schema is versioned (table
`schema_version`, memory/schema.py); a database from a newer radixagent is refused rather
than misread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, Field, computed_field, model_validator

from radixagent.memory.tree import ConversationNode
from radixagent.schemas import ApprovalDecisionKind, QualityAssessment, ToolSchema, new_id


def _now() -> datetime:
    return datetime.now(UTC)


# --- what is stored ----------------------------------------------------------------------


class SessionRecord(BaseModel):
    """One conversation: its configuration and where its current branch ends."""

    id: str = Field(default_factory=new_id)
    title: str = ""
    system_prompt: str = ""
    tools: list[ToolSchema] = Field(default_factory=list, description="the tools the session was run with")
    engine_settings: dict[str, Any] = Field(default_factory=dict, description="engine name, model, sampling, ...")
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    head_node_id: str | None = None
    owner: str | None = Field(
        default=None,
        description="who may see the session: a hash of the API key that made it (never the key); None: no one in particular",
    )


class RequestRecord(BaseModel):
    """What a request sent with an idempotency key got: a repeat of it (a client retrying
    after a dropped connection) is answered with `result` instead of running again."""

    session_id: str
    key: str = Field(description="the client's idempotency key, unique within the session")
    digest: str = Field(description="a hash of what the request asked, so a key reused for another request is refused")
    result: dict[str, Any] = Field(description="the answer given, as JSON")
    at: datetime = Field(default_factory=_now)


class UsageRecord(BaseModel):
    """The engine's own token counts for one call, and how much of the prompt an ideal prefix
    cache could have reused (`cacheable_tokens`)."""

    id: int | None = None
    session_id: str
    node_id: str | None = None
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    cacheable_tokens: int = Field(default=0, ge=0)
    latency_ms: float = Field(default=0.0, ge=0.0)
    at: datetime = Field(default_factory=_now)


class UsageTotals(BaseModel):
    """Usage summed over calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cacheable_tokens: int = 0
    latency_ms: float = 0.0

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects a decorator over @property; pydantic documents this form
    @property
    def cache_hit_rate(self) -> float:
        """Engine-reported cached / prompt tokens."""
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @computed_field  # type: ignore[prop-decorator]  # mypy rejects a decorator over @property; pydantic documents this form
    @property
    def prefix_efficiency(self) -> float:
        """Engine-reported cached / cacheable tokens: 1.0 means nothing reusable was recomputed."""
        return self.cached_tokens / self.cacheable_tokens if self.cacheable_tokens else 0.0


class FeedbackRecord(BaseModel):
    """A person's rating of one answer, 1 (bad) to 5 (good)."""

    id: int | None = None
    session_id: str | None = None
    node_id: str | None = None
    query: str
    response: str
    rating: float = Field(ge=1.0, le=5.0)
    comment: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    at: datetime = Field(default_factory=_now)


AssessmentSource = Literal["human", "judge"]


class AssessmentRecord(BaseModel):
    """A `QualityAssessment` and what it assessed."""

    id: int | None = None
    session_id: str | None = None
    node_id: str | None = None
    query: str = ""
    response: str = ""
    assessment: QualityAssessment
    source: AssessmentSource = "human"
    at: datetime = Field(default_factory=_now)


class ToolCallMetric(BaseModel):
    """How one tool call of a run went."""

    tool: str
    success: bool = True
    duration_ms: float = Field(default=0.0, ge=0.0)
    error: str | None = None


class RunMetrics(BaseModel):
    """The measured numbers of one agent run."""

    id: int | None = None
    session_id: str | None = None
    latency_ms: float = Field(ge=0.0)
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    cached_tokens: int = Field(default=0, ge=0)
    total_tokens: int = Field(default=0, ge=0, description="prompt + completion when not given")
    cache_hit_rate: float = Field(default=0.0, ge=0.0, le=1.0, description="engine cached / prompt tokens")
    tool_calls: list[ToolCallMetric] = Field(default_factory=list)
    success: bool = True
    error: str | None = None
    at: datetime = Field(default_factory=_now)

    @model_validator(mode="after")
    def _fill_totals(self) -> RunMetrics:
        if self.total_tokens == 0:
            self.total_tokens = self.prompt_tokens + self.completion_tokens
        if self.prompt_tokens and self.cache_hit_rate == 0.0 and self.cached_tokens:
            self.cache_hit_rate = min(self.cached_tokens / self.prompt_tokens, 1.0)
        return self


class ApprovalRecord(BaseModel):
    """A person's decision on one tool call that waited for approval (the latest decision of
    a call counts, until its run resumes)."""

    id: int | None = None
    session_id: str
    node_id: str = Field(description="the assistant turn that decided the call")
    call_id: str
    decision: ApprovalDecisionKind
    reason: str = ""
    at: datetime = Field(default_factory=_now)


# --- the interface -----------------------------------------------------------------------


@runtime_checkable
class Store(Protocol):
    """What radixagent needs from a store. Methods raise `SessionNotFoundError` /
    `NodeNotFoundError` for unknown ids and `StoreError` when the database fails."""

    # sessions
    def create_session(self, session: SessionRecord, root: ConversationNode) -> SessionRecord: ...
    def get_session(self, session_id: str) -> SessionRecord: ...
    def list_sessions(self, limit: int = 50, offset: int = 0, *, owner: str | None = None) -> list[SessionRecord]: ...
    def update_session(
        self,
        session_id: str,
        *,
        title: str | None = None,
        tools: Sequence[ToolSchema] | None = None,
        engine_settings: dict[str, Any] | None = None,
    ) -> SessionRecord: ...
    def delete_session(self, session_id: str) -> None: ...

    # the conversation tree
    def add_nodes(
        self,
        session_id: str,
        nodes: Sequence[ConversationNode],
        *,
        head_id: str | None = None,
        usage: Sequence[UsageRecord] = (),
    ) -> datetime: ...
    def set_head(self, session_id: str, node_id: str) -> datetime: ...
    def load_nodes(self, session_id: str) -> list[ConversationNode]: ...

    # requests answered once (idempotency keys)
    def get_request(self, session_id: str, key: str) -> RequestRecord | None: ...
    def add_request(self, record: RequestRecord) -> RequestRecord: ...

    # usage
    def add_usage(self, record: UsageRecord) -> UsageRecord: ...
    def list_usage(self, session_id: str | None = None) -> list[UsageRecord]: ...
    def usage_totals(self, session_id: str | None = None) -> UsageTotals: ...

    # feedback
    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord: ...
    def list_feedback(self, session_id: str | None = None) -> list[FeedbackRecord]: ...
    def add_assessment(self, record: AssessmentRecord) -> AssessmentRecord: ...
    def list_assessments(self, session_id: str | None = None) -> list[AssessmentRecord]: ...
    def add_run(self, record: RunMetrics) -> RunMetrics: ...
    def list_runs(self, session_id: str | None = None) -> list[RunMetrics]: ...

    # approvals
    def add_approval(self, record: ApprovalRecord) -> ApprovalRecord: ...
    def list_approvals(self, session_id: str) -> list[ApprovalRecord]: ...

    def close(self) -> None: ...


T = TypeVar("T")


async def off_loop(store: Store, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, a call that writes to `store`: in a worker thread when the store
    may block (`blocks`, true unless it says otherwise), else right here. A cancelled caller
    still waits for the write to finish, so no write of a run lands after the run has unwound
    (and, on a server, after its session's lock is released): a write is idempotent (node ids
    are made before it), never half-done, and the caller learns of it when it returns."""
    if not getattr(store, "blocks", True):
        return fn(*args, **kwargs)
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise
