"""What `SQLiteStore` and `PostgresStore` share: every query and every row -> record
conversion, written once, so the two backends cannot drift apart in what they store or how.

Queries use `?` placeholders. A backend supplies the dialect through small hooks:

    _sql            the driver's placeholder style (`?` as is, or `%s`)
    _connection     one connection for one statement; database errors come out as StoreError
    _transaction    one write transaction on one connection: all of it commits or none of it
    _snapshot       a read that spans several queries and sees one moment
    _lock_clause    how a write locks its session row first (`FOR ...`, or nothing when the
                    transaction already holds the database's write lock)
    _insert         an INSERT that returns the new row's id (lastrowid, or RETURNING id)
    _executemany    one statement for many rows
    _batch          send several statements at once (a pipeline), where the driver can
    _id_in          `id IN (...)` or `id = ANY(...)`
    _to_ts/_from_ts, _from_json    timestamps and JSON columns as the driver binds and reads them
    JSON_PARAM, JSONB_PARAM        the placeholder for a JSON column (`?`, or `?::json`)
    SESSION_SEQ     the column that orders sessions created in the same instant (`rowid`, `seq`)
    MIGRATIONS      version -> the DDL script bringing the previous version to it

The schema itself (DDL, types) stays in each backend's module: the two differ on disk.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, Self

from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from radixagent.errors import InputError, NodeNotFoundError, SchemaVersionError, SessionNotFoundError
from radixagent.memory.store import (
    SCHEMA_VERSION,
    AssessmentRecord,
    FeedbackRecord,
    RunMetrics,
    SessionRecord,
    ToolCallMetric,
    UsageRecord,
    UsageTotals,
    _json,
    _now,
)
from radixagent.memory.tree import ConversationNode, PromptRecord
from radixagent.schemas import (
    Message,
    MessagePart,
    QualityAssessment,
    ToolCallRecord,
    ToolResultPart,
    ToolSchema,
    default_parts,
)

LockMode = Literal["UPDATE", "NO KEY UPDATE", "KEY SHARE"]
"""How strongly a write locks its session row: `UPDATE` to delete it, `NO KEY UPDATE` to
change it (move the head, add nodes), `KEY SHARE` to refer to it (attach usage)."""


class Row(Protocol):
    """A result row read by column name (sqlite3.Row, psycopg's dict rows)."""

    def __getitem__(self, key: str, /) -> Any: ...


class SQLStore(ABC):
    """A `Store` over SQL: the queries, transactions and record conversions both backends run.
    Subclasses open the database, create the schema and speak their driver's dialect."""

    SESSION_SEQ: ClassVar[str]
    """The column that breaks ties between sessions updated in the same instant."""
    MIGRATIONS: ClassVar[Mapping[int, str]]
    """Version -> the script that brings the previous version to it (1 creates everything)."""
    JSON_PARAM: ClassVar[str] = "?"
    """The placeholder for a JSON text bound to a JSON column that keeps the text as written."""
    JSONB_PARAM: ClassVar[str] = "?"
    """The placeholder for a JSON text bound to a JSON column that may normalise it."""

    where: str
    """Where the database is, for messages and repr (never a password)."""

    # --- dialect hooks -------------------------------------------------------------------

    @abstractmethod
    def _connection(self) -> AbstractContextManager[Any]:
        """A connection for one statement; database errors come out as StoreError."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """One write transaction: all of it commits, or on any error none of it does."""

    @abstractmethod
    def _snapshot(self) -> AbstractContextManager[Any]:
        """A read spanning several queries that sees one consistent state."""

    @abstractmethod
    def _insert(self, conn: Any, sql: str, params: Sequence[Any]) -> int:
        """Run one INSERT and return the id the database gave the new row."""

    @abstractmethod
    def close(self) -> None:
        """Release the database; the store cannot be used afterwards."""

    def _sql(self, sql: str) -> str:
        """`sql` in the driver's placeholder style (queries here are written with `?`)."""
        return sql

    def _lock_clause(self, mode: LockMode) -> str:
        """What to append to `SELECT ... FROM sessions` to lock the row in `mode`."""
        return f" FOR {mode}"

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement run for each of `rows`."""
        conn.executemany(self._sql(sql), rows)

    def _batch(self, conn: Any) -> AbstractContextManager[Any]:
        """Around a run of statements whose results are not read: by default nothing."""
        return nullcontext()

    def _id_in(self, column: str, ids: Collection[str]) -> tuple[str, list[Any]]:
        """The condition `column` is one of `ids`, with its parameters."""
        return f"{column} IN ({', '.join('?' * len(ids))})", list(ids)

    def _to_ts(self, value: datetime) -> Any:
        """A timestamp as bound to a timestamp column (the driver adapts datetimes by default)."""
        return value

    def _from_ts(self, value: Any) -> datetime:
        """A timestamp column's value as a datetime."""
        return value  # type: ignore[no-any-return]

    def _from_json(self, value: Any) -> Any:
        """A JSON column's value as Python data (the driver parses it by default)."""
        return value

    # --- plumbing ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.where!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one `?`-style statement on `conn`; returns the driver's cursor."""
        return conn.execute(self._sql(sql), params)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._connection() as conn:
            return self._run(conn, sql, params).fetchall()  # type: ignore[no-any-return]

    def _upgrade(self, conn: Any, found: int) -> None:
        """Bring a database at schema version `found` to SCHEMA_VERSION, inside the caller's
        transaction; refuse one from a newer radixagent."""
        if found > SCHEMA_VERSION:
            raise SchemaVersionError(self.where, found, SCHEMA_VERSION)
        logger = logging.getLogger(type(self).__module__)
        for version in range(found + 1, SCHEMA_VERSION + 1):
            logger.info("migrating %s to schema version %d", self.where, version)
            for statement in self.MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            self._run(conn, "UPDATE schema_version SET version = ?", (version,))

    @property
    def schema_version(self) -> int:
        return int(self._read("SELECT version FROM schema_version")[0]["version"])

    # --- sessions ------------------------------------------------------------------------

    def create_session(self, session: SessionRecord, root: ConversationNode) -> SessionRecord:
        """Store a new session and its system root node together."""
        if root.parent_id is not None or root.role != "system":
            raise InputError("A session starts with its system message as the root node.")
        stored = session.model_copy(update={"head_node_id": root.id, "system_prompt": root.content})
        tools = _json([t.model_dump(mode="json") for t in stored.tools], "tools config")
        engine_settings = _json(stored.engine_settings, "engine settings")
        with self._transaction() as conn:
            self._run(
                conn,
                "INSERT INTO sessions (id, title, system_prompt, tools, engine_settings, created_at, updated_at)"
                f" VALUES (?, ?, ?, {self.JSON_PARAM}, {self.JSON_PARAM}, ?, ?)",
                (
                    stored.id,
                    stored.title,
                    stored.system_prompt,
                    tools,
                    engine_settings,
                    self._to_ts(stored.created_at),
                    self._to_ts(stored.updated_at),
                ),
            )
            self._insert_node(conn, stored.id, root)
            self._run(conn, "UPDATE sessions SET head_node_id = ? WHERE id = ?", (root.id, stored.id))
        return stored

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._read("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionNotFoundError(session_id)
        return self._session(rows[0])

    def list_sessions(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """The most recently updated sessions first."""
        if limit < 1 or offset < 0:
            raise InputError(f"list_sessions needs limit >= 1 and offset >= 0 (got {limit}, {offset}).")
        rows = self._read(
            f"SELECT * FROM sessions ORDER BY updated_at DESC, {self.SESSION_SEQ} DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [self._session(r) for r in rows]

    def update_session(
        self,
        session_id: str,
        *,
        title: str | None = None,
        tools: Sequence[ToolSchema] | None = None,
        engine_settings: dict[str, Any] | None = None,
    ) -> SessionRecord:
        assignments = ["updated_at = ?"]
        values: list[Any] = [self._to_ts(_now())]
        if title is not None:
            assignments.append("title = ?")
            values.append(title)
        if tools is not None:
            assignments.append(f"tools = {self.JSON_PARAM}")
            values.append(_json([t.model_dump(mode="json") for t in tools], "tools config"))
        if engine_settings is not None:
            assignments.append(f"engine_settings = {self.JSON_PARAM}")
            values.append(_json(engine_settings, "engine settings"))
        with self._transaction() as conn:
            cursor = self._run(
                conn, f"UPDATE sessions SET {', '.join(assignments)} WHERE id = ?", (*values, session_id)
            )
            if cursor.rowcount == 0:
                raise SessionNotFoundError(session_id)
            row = self._run(conn, "SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return self._session(row)

    def delete_session(self, session_id: str) -> None:
        """Delete a session with its tree and usage (feedback and run metrics stay)."""
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "UPDATE")
            self._run(conn, "UPDATE sessions SET head_node_id = NULL WHERE id = ?", (session_id,))
            self._run(conn, "DELETE FROM nodes WHERE session_id = ?", (session_id,))
            self._run(conn, "DELETE FROM sessions WHERE id = ?", (session_id,))

    def _lock_session(self, conn: Any, session_id: str, mode: LockMode) -> None:
        """Take the session's row lock (the first lock of every session write) or raise
        SessionNotFoundError."""
        row = self._run(conn, f"SELECT 1 FROM sessions WHERE id = ?{self._lock_clause(mode)}", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(session_id)

    def _session(self, row: Row) -> SessionRecord:
        return SessionRecord(
            id=row["id"],
            title=row["title"],
            system_prompt=row["system_prompt"],
            tools=[ToolSchema.model_validate(t) for t in self._from_json(row["tools"])],
            engine_settings=self._from_json(row["engine_settings"]),
            created_at=self._from_ts(row["created_at"]),
            updated_at=self._from_ts(row["updated_at"]),
            head_node_id=row["head_node_id"],
        )

    # --- nodes ---------------------------------------------------------------------------

    def add_nodes(self, session_id: str, nodes: Sequence[ConversationNode], *, head_id: str | None = None) -> None:
        """Store new nodes (parents first) and, when given, move the session's head: all in
        one transaction, serialised with the session's other writers by its row lock."""
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "NO KEY UPDATE")
            outside = {n.parent_id for n in nodes if n.parent_id is not None} - {n.id for n in nodes}
            stored: set[str] = set()
            if outside:
                condition, ids = self._id_in("id", outside)
                rows = self._run(
                    conn, f"SELECT id FROM nodes WHERE session_id = ? AND {condition}", (session_id, *ids)
                ).fetchall()
                stored = {r["id"] for r in rows}
            seen: set[str] = set()
            for node in nodes:
                if node.parent_id is None:
                    raise InputError(f"Node {node.id!r} has no parent: a session has one root, made with the session.")
                if node.parent_id not in stored and node.parent_id not in seen:
                    raise NodeNotFoundError(node.parent_id, session_id)
                seen.add(node.id)
            with self._batch(conn):
                for node in nodes:
                    self._insert_node(conn, session_id, node)
            if head_id is not None:
                self._set_head(conn, session_id, head_id)
            else:
                self._run(conn, "UPDATE sessions SET updated_at = ? WHERE id = ?", (self._to_ts(_now()), session_id))

    def set_head(self, session_id: str, node_id: str) -> None:
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "NO KEY UPDATE")
            self._set_head(conn, session_id, node_id)

    def load_nodes(self, session_id: str) -> list[ConversationNode]:
        """Every node of the session, parents before children; children lists filled in."""
        with self._snapshot() as conn:
            if self._run(conn, "SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            rows = self._run(conn, "SELECT * FROM nodes WHERE session_id = ? ORDER BY seq", (session_id,)).fetchall()
        nodes = [self._node(r) for r in rows]
        by_id = {n.id: n for n in nodes}
        for node in nodes:
            if node.parent_id is not None and node.parent_id in by_id:
                by_id[node.parent_id].children.append(node.id)
        return nodes

    def _insert_node(self, conn: Any, session_id: str, node: ConversationNode) -> None:
        message = node.message
        self._run(
            conn,
            "INSERT INTO nodes (id, session_id, parent_id, depth, kind, source_id, role, content, metadata,"
            ' token_count, "timestamp", created_at, prompt)'
            f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, {self.JSON_PARAM}, ?, ?, ?, {self.JSON_PARAM})",
            (
                node.id,
                session_id,
                node.parent_id,
                node.depth,
                node.kind,
                node.source_id,
                message.role,
                message.content,
                _parts_json(message.parts),
                message.token_count,
                self._to_ts(message.timestamp),
                self._to_ts(node.created_at),
                node.prompt.model_dump_json() if node.prompt is not None else None,
            ),
        )

    def _set_head(self, conn: Any, session_id: str, node_id: str) -> None:
        cursor = self._run(
            conn,
            "UPDATE sessions SET head_node_id = ?, updated_at = ? WHERE id = ?"
            " AND EXISTS (SELECT 1 FROM nodes WHERE id = ? AND session_id = ?)",
            (node_id, self._to_ts(_now()), session_id, node_id, session_id),
        )
        if cursor.rowcount == 0:
            raise NodeNotFoundError(node_id, session_id)

    def _node(self, row: Row) -> ConversationNode:
        prompt = self._from_json(row["prompt"]) if row["prompt"] is not None else None
        return ConversationNode(
            id=row["id"],
            parent_id=row["parent_id"],
            message=Message(
                role=row["role"],
                content=row["content"],
                parts=_parts(row["role"], row["content"], self._from_json(row["metadata"])),
                timestamp=self._from_ts(row["timestamp"]),
                token_count=row["token_count"],
            ),
            depth=row["depth"],
            created_at=self._from_ts(row["created_at"]),
            kind=row["kind"],
            source_id=row["source_id"],
            prompt=PromptRecord.model_validate(prompt) if prompt is not None else None,
        )

    # --- usage ---------------------------------------------------------------------------

    def add_usage(self, record: UsageRecord) -> UsageRecord:
        with self._transaction() as conn:
            self._lock_session(conn, record.session_id, "KEY SHARE")
            if record.node_id is not None:
                row = self._run(
                    conn, "SELECT 1 FROM nodes WHERE id = ? AND session_id = ?", (record.node_id, record.session_id)
                ).fetchone()
                if row is None:
                    raise NodeNotFoundError(record.node_id, record.session_id)
            usage_id = self._insert(
                conn,
                "INSERT INTO usage (session_id, node_id, prompt_tokens, completion_tokens, cached_tokens,"
                " cacheable_tokens, latency_ms, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_id,
                    record.node_id,
                    record.prompt_tokens,
                    record.completion_tokens,
                    record.cached_tokens,
                    record.cacheable_tokens,
                    record.latency_ms,
                    self._to_ts(record.at),
                ),
            )
        return record.model_copy(update={"id": usage_id})

    def list_usage(self, session_id: str | None = None) -> list[UsageRecord]:
        sql, params = _scoped("SELECT * FROM usage", session_id)
        return [
            UsageRecord(
                id=r["id"],
                session_id=r["session_id"],
                node_id=r["node_id"],
                prompt_tokens=r["prompt_tokens"],
                completion_tokens=r["completion_tokens"],
                cached_tokens=r["cached_tokens"],
                cacheable_tokens=r["cacheable_tokens"],
                latency_ms=r["latency_ms"],
                at=self._from_ts(r["at"]),
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def usage_totals(self, session_id: str | None = None) -> UsageTotals:
        sql, params = _scoped(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt_tokens,"
            " COALESCE(SUM(completion_tokens), 0) AS completion_tokens,"
            " COALESCE(SUM(cached_tokens), 0) AS cached_tokens,"
            " COALESCE(SUM(cacheable_tokens), 0) AS cacheable_tokens,"
            " COALESCE(SUM(latency_ms), 0) AS latency_ms FROM usage",
            session_id,
        )
        row = self._read(sql, params)[0]
        # PostgreSQL sums BIGINT as NUMERIC (Decimal): back to int for the record
        return UsageTotals(
            calls=int(row["calls"]),
            prompt_tokens=int(row["prompt_tokens"]),
            completion_tokens=int(row["completion_tokens"]),
            cached_tokens=int(row["cached_tokens"]),
            cacheable_tokens=int(row["cacheable_tokens"]),
            latency_ms=float(row["latency_ms"]),
        )

    # --- feedback ------------------------------------------------------------------------

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        metadata = _json(record.metadata, "feedback metadata")
        with self._transaction() as conn:
            feedback_id = self._insert(
                conn,
                "INSERT INTO feedback (session_id, node_id, query, response, rating, comment, metadata, at)"
                f" VALUES (?, ?, ?, ?, ?, ?, {self.JSONB_PARAM}, ?)",
                (
                    record.session_id,
                    record.node_id,
                    record.query,
                    record.response,
                    record.rating,
                    record.comment,
                    metadata,
                    self._to_ts(record.at),
                ),
            )
        return record.model_copy(update={"id": feedback_id})

    def list_feedback(self, session_id: str | None = None) -> list[FeedbackRecord]:
        sql, params = _scoped("SELECT * FROM feedback", session_id)
        return [
            FeedbackRecord(
                id=r["id"],
                session_id=r["session_id"],
                node_id=r["node_id"],
                query=r["query"],
                response=r["response"],
                rating=r["rating"],
                comment=r["comment"],
                metadata=self._from_json(r["metadata"]),
                at=self._from_ts(r["at"]),
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def add_assessment(self, record: AssessmentRecord) -> AssessmentRecord:
        a = record.assessment
        with self._transaction() as conn:
            assessment_id = self._insert(
                conn,
                "INSERT INTO quality_assessments (session_id, node_id, query, response, accuracy_score,"
                " coherence_score, completeness_score, overall_score, feedback_comment, source, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_id,
                    record.node_id,
                    record.query,
                    record.response,
                    a.accuracy_score,
                    a.coherence_score,
                    a.completeness_score,
                    a.overall_score,
                    a.feedback_comment,
                    record.source,
                    self._to_ts(record.at),
                ),
            )
        return record.model_copy(update={"id": assessment_id})

    def list_assessments(self, session_id: str | None = None) -> list[AssessmentRecord]:
        sql, params = _scoped("SELECT * FROM quality_assessments", session_id)
        return [
            AssessmentRecord(
                id=r["id"],
                session_id=r["session_id"],
                node_id=r["node_id"],
                query=r["query"],
                response=r["response"],
                assessment=QualityAssessment(
                    accuracy_score=r["accuracy_score"],
                    coherence_score=r["coherence_score"],
                    completeness_score=r["completeness_score"],
                    overall_score=r["overall_score"],
                    feedback_comment=r["feedback_comment"],
                ),
                source=r["source"],
                at=self._from_ts(r["at"]),
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def add_run(self, record: RunMetrics) -> RunMetrics:
        """Store a run and its tool calls together."""
        with self._transaction() as conn:
            run_id = self._insert(
                conn,
                "INSERT INTO run_metrics (session_id, latency_ms, prompt_tokens, completion_tokens, cached_tokens,"
                " total_tokens, cache_hit_rate, success, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_id,
                    record.latency_ms,
                    record.prompt_tokens,
                    record.completion_tokens,
                    record.cached_tokens,
                    record.total_tokens,
                    record.cache_hit_rate,
                    record.success,
                    record.error,
                    self._to_ts(record.at),
                ),
            )
            if record.tool_calls:
                self._executemany(
                    conn,
                    "INSERT INTO run_tool_calls (run_id, position, tool, success, duration_ms, error)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, i, call.tool, call.success, call.duration_ms, call.error)
                        for i, call in enumerate(record.tool_calls)
                    ],
                )
        return record.model_copy(update={"id": run_id})

    def list_runs(self, session_id: str | None = None) -> list[RunMetrics]:
        sql, params = _scoped("SELECT * FROM run_metrics", session_id)
        call_sql, call_params = _scoped(
            "SELECT c.* FROM run_tool_calls c JOIN run_metrics r ON r.id = c.run_id", session_id, "r.session_id"
        )
        with self._snapshot() as conn:
            runs = self._run(conn, sql + " ORDER BY id", params).fetchall()
            call_rows = self._run(conn, call_sql + " ORDER BY c.run_id, c.position", call_params).fetchall()
        calls: dict[int, list[ToolCallMetric]] = {}
        for c in call_rows:
            calls.setdefault(c["run_id"], []).append(
                ToolCallMetric(
                    tool=c["tool"], success=bool(c["success"]), duration_ms=c["duration_ms"], error=c["error"]
                )
            )
        return [
            RunMetrics(
                id=r["id"],
                session_id=r["session_id"],
                latency_ms=r["latency_ms"],
                prompt_tokens=r["prompt_tokens"],
                completion_tokens=r["completion_tokens"],
                cached_tokens=r["cached_tokens"],
                total_tokens=r["total_tokens"],
                cache_hit_rate=r["cache_hit_rate"],
                tool_calls=calls.get(r["id"], []),
                success=bool(r["success"]),
                error=r["error"],
                at=self._from_ts(r["at"]),
            )
            for r in runs
        ]


def _scoped(sql: str, session_id: str | None, column: str = "session_id") -> tuple[str, tuple[Any, ...]]:
    """`sql` limited to one session when `session_id` is given."""
    return (f"{sql} WHERE {column} = ?", (session_id,)) if session_id is not None else (sql, ())


_PARTS: TypeAdapter[list[MessagePart]] = TypeAdapter(list[MessagePart])


def _parts_json(parts: list[MessagePart]) -> str:
    try:
        return json.dumps(_PARTS.dump_python(parts, mode="json"), ensure_ascii=False)
    except (TypeError, ValueError, PydanticSerializationError) as exc:
        raise InputError(f"A message part must be JSON-serialisable (str, numbers, lists, dicts): {exc}") from exc


def _parts(role: str, content: str, stored: Any) -> list[MessagePart]:
    """A node's parts; rows written before parts existed hold a metadata dict, whose tool calls
    become tool-result parts."""
    if isinstance(stored, list):
        return _PARTS.validate_python(stored)
    calls = stored.get("calls") if isinstance(stored, dict) else None
    if role == "tool" and calls:
        return [ToolResultPart(record=ToolCallRecord.model_validate(c)) for c in calls]
    return default_parts(role, content)  # type: ignore[arg-type]  # role is checked by the column's values
