"""What `SQLiteStore` and `PostgresStore` share: every query, the migrations, and every row
<-> record conversion, written once, so the two backends cannot drift apart in what they store
or how.

The tables are memory/schema.py's. Rows and records meet in two places, one per direction:
`_insert_sql` (column -> Python value, encoded by the column's type) and `_decoded` (a row,
decoded by the column's type). The record tables (usage, feedback, assessments, runs, approvals)
go through them generically, field by column (`_add_record`, `_list_records`); sessions and
nodes have one function each way (`_session_values`/`_node_values`, `_session`/`_node`).

Queries use `?` placeholders. A backend supplies its dialect through small hooks:

    DIALECT         its column types and placeholders (memory/schema.py's `Dialect`)
    _sql            the driver's placeholder style (`?` as is, or `%s`)
    _connection     one connection for one statement; database errors come out as StoreError
    _transaction    one write transaction on one connection: all of it commits or none of it
    _snapshot       a read that spans several queries and sees one moment
    _lock_schema    how a migration keeps other processes from migrating at the same time
    _lock_clause    how a write locks its session row first (`FOR ...`, or nothing when the
                    transaction already holds the database's write lock)
    _insert         an INSERT that returns the new row's id (lastrowid, or RETURNING id)
    _executemany    one statement for many rows
    _batch          send several statements at once (a pipeline), where the driver can
    _id_in          `id IN (...)` or `id = ANY(...)`
    _to_ts/_from_ts, _from_json    timestamps and JSON columns as the driver binds and reads them
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticSerializationError

from radixagent.errors import InputError, NodeNotFoundError, SchemaVersionError, SessionNotFoundError
from radixagent.memory.schema import SCHEMA_VERSION, TABLE, Column, Dialect, quote, upgrade
from radixagent.memory.store import (
    ApprovalRecord,
    AssessmentRecord,
    FeedbackRecord,
    RequestRecord,
    RunMetrics,
    SessionRecord,
    ToolCallMetric,
    UsageRecord,
    UsageTotals,
    _now,
)
from radixagent.memory.tree import ConversationNode, PromptRecord
from radixagent.schemas import Message, MessagePart, ToolSchema

LockMode = Literal["UPDATE", "NO KEY UPDATE", "KEY SHARE"]
"""How strongly a write locks its session row: `UPDATE` to delete it, `NO KEY UPDATE` to
change it (move the head, add nodes), `KEY SHARE` to refer to it (attach usage)."""

R = TypeVar("R", bound=BaseModel)


class Row(Protocol):
    """A result row read by column name (sqlite3.Row, psycopg's dict rows)."""

    def __getitem__(self, key: str, /) -> Any: ...


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"The {what} must be JSON-serialisable (str, numbers, lists, dicts): {exc}") from exc


class SQLStore(ABC):
    """A `Store` over SQL: the queries, transactions and record conversions both backends run.
    Subclasses open the database, call `_migrate` and speak their driver's dialect."""

    DIALECT: ClassVar[Dialect]

    blocks: ClassVar[bool] = True
    """Whether a call may wait on something slow (a network round trip, a server restarting):
    an agent on an event loop then writes in a worker thread. SQLite's local writes take less
    than the thread hop would."""

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

    def _lock_schema(self, conn: Any) -> None:
        """Inside the migration's transaction, before it reads the version: keep every other
        process from migrating until it commits. By default nothing (the transaction's own
        write lock on the database does)."""

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
        """A timestamp column's value as a datetime (the driver reads them by default)."""
        assert isinstance(value, datetime)
        return value

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
            rows: list[Any] = self._run(conn, sql, params).fetchall()
        return rows

    def _migrate(self) -> None:
        """Create the schema in an empty database, or bring an older one to SCHEMA_VERSION,
        in one transaction, one process at a time; refuse a database from a newer radixagent."""
        with self._transaction() as conn:
            self._lock_schema(conn)
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self._run(conn, "SELECT version FROM schema_version").fetchone()
            found = 0 if row is None else int(row["version"])
            if found > SCHEMA_VERSION:
                raise SchemaVersionError(self.where, found, SCHEMA_VERSION)
            if found == SCHEMA_VERSION:
                return
            logging.getLogger(type(self).__module__).info(
                "migrating %s from schema version %d to %d", self.where, found, SCHEMA_VERSION
            )
            upgrade(self.DIALECT, found, lambda sql, params: self._run(conn, sql, params))
            if row is None:
                self._run(conn, "INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            else:
                self._run(conn, "UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))

    @property
    def schema_version(self) -> int:
        return int(self._read("SELECT version FROM schema_version")[0]["version"])

    # --- rows <-> values -----------------------------------------------------------------

    def _encode(self, column: Column, value: Any) -> Any:
        """A Python value as bound to `column`."""
        if value is None:
            return None
        if column.type == "timestamp":
            return self._to_ts(value)
        if column.type in ("json", "jsonb"):
            return value.model_dump_json() if isinstance(value, BaseModel) else _json(value, column.what)
        return value

    def _decode(self, column: Column, value: Any) -> Any:
        """A value read from `column` as Python."""
        if value is None or column.type not in _DECODED:
            return value
        if column.type == "timestamp":
            return self._from_ts(value)
        if column.type == "boolean":
            return bool(value)
        return self._from_json(value)

    def _insert_sql(self, table: str, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """`INSERT INTO table (...) VALUES (...)` of `values` (column -> Python value), with
        the parameters encoded for the columns. Raises InputError for JSON that is not."""
        sql, columns = _insert_statement(self.DIALECT, table, tuple(values))
        return sql, [self._encode(c, values[c.name]) for c in columns]

    def _decoded(self, table: str, row: Row) -> dict[str, Any]:
        """A row of `table` as column -> Python value."""
        names, decoded = _read_plan(self.DIALECT, table)
        values = {name: row[name] for name in names}
        for column in decoded:
            values[column.name] = self._decode(column, values[column.name])
        return values

    def _record_values(self, record: BaseModel, table: str) -> dict[str, Any]:
        """The fields of `record` that `table` has columns for, except its auto-numbered key;
        a nested model with no column of its own (an assessment's scores) spreads its fields
        over theirs."""
        columns = {c.name for c in TABLE[table].columns if c.type not in ("key", "sequence")}
        values: dict[str, Any] = {}
        for name in type(record).model_fields:
            value = getattr(record, name)
            if name in columns:
                values[name] = value
            elif isinstance(value, BaseModel):
                values |= self._record_values(value, table)
        return values

    def _record(self, model: type[R], table: str, row: Row, **extra: Any) -> R:
        """A row of `table` as a `model` record (the inverse of `_record_values`); `extra`
        supplies fields stored elsewhere."""
        return model.model_validate(_nest(model, self._decoded(table, row)) | extra)

    def _add_record(self, record: R, table: str) -> R:
        """Store `record` as one new row of `table`; returns it with the id given."""
        sql, params = self._insert_sql(table, self._record_values(record, table))
        with self._transaction() as conn:
            new_id = self._insert(conn, sql, params)
        return record.model_copy(update={"id": new_id})

    def _add_session_record(self, record: R, table: str, session_id: str, node_id: str | None) -> R:
        """Store `record` as one new row of `table`, a row of session `session_id` that points at
        the session's node `node_id` when given; returns it with the id given. Raises
        SessionNotFoundError or NodeNotFoundError when the session or the node is not there."""
        sql, params = self._insert_sql(table, self._record_values(record, table))
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "KEY SHARE")
            if node_id is not None:
                row = self._run(conn, "SELECT 1 FROM nodes WHERE id = ? AND session_id = ?", (node_id, session_id)).fetchone()
                if row is None:
                    raise NodeNotFoundError(node_id, session_id)
            new_id = self._insert(conn, sql, params)
        return record.model_copy(update={"id": new_id})

    def _list_records(self, model: type[R], table: str, session_id: str | None) -> list[R]:
        """Every row of `table` (of one session, when given) as records, in insertion order."""
        sql, params = _scoped(f"SELECT * FROM {table}", session_id)
        return [self._record(model, table, r) for r in self._read(sql + " ORDER BY id", params)]

    # --- sessions ------------------------------------------------------------------------

    def create_session(self, session: SessionRecord, root: ConversationNode) -> SessionRecord:
        """Store a new session and its system root node together."""
        if root.parent_id is not None or root.role != "system":
            raise InputError("A session starts with its system message as the root node.")
        stored = session.model_copy(update={"head_node_id": root.id, "system_prompt": root.content})
        session_row = self._insert_sql("sessions", self._session_values(stored))
        node_row = self._insert_sql("nodes", self._node_values(stored.id, root))
        with self._transaction() as conn:
            self._run(conn, *session_row)
            self._run(conn, *node_row)
            self._run(conn, "UPDATE sessions SET head_node_id = ? WHERE id = ?", (root.id, stored.id))
        return stored

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._read("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionNotFoundError(session_id)
        return self._session(rows[0])

    def list_sessions(self, limit: int = 50, offset: int = 0, *, owner: str | None = None) -> list[SessionRecord]:
        """The most recently updated sessions first; with `owner`, only the sessions it owns."""
        if limit < 1 or offset < 0:
            raise InputError(f"list_sessions needs limit >= 1 and offset >= 0 (got {limit}, {offset}).")
        seq = self.DIALECT.name_of(TABLE["sessions"].column("seq"))
        where, params = ("WHERE owner = ? ", (owner,)) if owner is not None else ("", ())
        rows = self._read(
            f"SELECT * FROM sessions {where}ORDER BY updated_at DESC, {seq} DESC LIMIT ? OFFSET ?", (*params, limit, offset)
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
        changes: dict[str, Any] = {"updated_at": _now()}
        if title is not None:
            changes["title"] = title
        if tools is not None:
            changes["tools"] = _tools(tools)
        if engine_settings is not None:
            changes["engine_settings"] = engine_settings
        columns = [TABLE["sessions"].column(name) for name in changes]
        assignments = ", ".join(f"{quote(c.name)} = {self.DIALECT.param(c)}" for c in columns)
        params = [self._encode(c, changes[c.name]) for c in columns]
        with self._transaction() as conn:
            cursor = self._run(conn, f"UPDATE sessions SET {assignments} WHERE id = ?", (*params, session_id))
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

    def _session_values(self, session: SessionRecord) -> dict[str, Any]:
        """A new session's row (its head is set once its root node is stored)."""
        return {
            "id": session.id,
            "title": session.title,
            "system_prompt": session.system_prompt,
            "tools": _tools(session.tools),
            "engine_settings": session.engine_settings,
            "created_at": session.created_at,
            "updated_at": session.updated_at,
            "owner": session.owner,
        }

    def _session(self, row: Row) -> SessionRecord:
        return self._record(SessionRecord, "sessions", row)

    # --- nodes ---------------------------------------------------------------------------

    def add_nodes(
        self,
        session_id: str,
        nodes: Sequence[ConversationNode],
        *,
        head_id: str | None = None,
        usage: Sequence[UsageRecord] = (),
    ) -> datetime:
        """Store new nodes (parents first) and, when given, move the session's head: all in
        one transaction, serialised with the session's other writers by its row lock.
        `usage`: rows of the engine calls that produced these nodes, written with them (a
        turn's message and its numbers are one write). Returns the session's new `updated_at`.

        Idempotent: a node already stored in this session (the same id: ids are uuids made
        before the write) is left as it is, with its usage, so a write retried after its
        commit was lost in transit stores nothing twice. An id taken by another session's
        node is refused."""
        now = _now()
        with self._transaction() as conn:
            outside = {n.parent_id for n in nodes if n.parent_id is not None} - {n.id for n in nodes}
            stored: set[str] = set()
            if outside:
                condition, ids = self._id_in("id", outside)
                rows = self._run(
                    conn, f"SELECT id FROM nodes WHERE session_id = ? AND {condition}", (session_id, *ids)
                ).fetchall()
                stored = {r["id"] for r in rows}
            if not stored or self._lock_clause("NO KEY UPDATE"):
                # a stored parent proves the session exists; where the transaction does not already
                # hold the write lock, the row lock is taken anyway
                self._lock_session(conn, session_id, "NO KEY UPDATE")
            seen: set[str] = set()
            for node in nodes:
                if node.parent_id is None:
                    raise InputError(f"Node {node.id!r} has no parent: a session has one root, made with the session.")
                if node.parent_id not in stored and node.parent_id not in seen:
                    raise NodeNotFoundError(node.parent_id, session_id)
                if node.id in seen:
                    raise InputError(f"The node {node.id!r} is listed twice in one write: list each node once.")
                seen.add(node.id)
            with self._batch(conn):
                cursors = [
                    self._run(conn, f"{sql} ON CONFLICT (id) DO NOTHING", params)
                    for sql, params in (self._insert_sql("nodes", self._node_values(session_id, n)) for n in nodes)
                ]
            kept = {node.id for node, cursor in zip(nodes, cursors, strict=True) if cursor.rowcount == 0}  # read once the batch is sent
            if kept:
                self._check_retried(conn, session_id, nodes, kept)
            for record in usage:
                if record.node_id not in kept:
                    self._insert(conn, *self._insert_sql("usage", self._record_values(record, "usage")))
            if head_id is not None:
                self._set_head(conn, session_id, head_id, now)
            else:
                self._run(conn, "UPDATE sessions SET updated_at = ? WHERE id = ?", (self._to_ts(now), session_id))
        return now

    def _check_retried(self, conn: Any, session_id: str, nodes: Sequence[ConversationNode], kept: set[str]) -> None:
        """The nodes whose ids were already stored must be these very nodes, stored before."""
        condition, ids = self._id_in("id", kept)
        rows = self._run(conn, f"SELECT id, session_id, parent_id FROM nodes WHERE {condition}", ids).fetchall()
        found = {r["id"]: (r["session_id"], r["parent_id"]) for r in rows}
        for node in nodes:
            if node.id in kept and found.get(node.id) != (session_id, node.parent_id):
                raise InputError(f"The node id {node.id!r} is taken by another node: give each new node a new id.")

    def set_head(self, session_id: str, node_id: str) -> datetime:
        """Move the session's head; returns its new `updated_at`."""
        now = _now()
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "NO KEY UPDATE")
            self._set_head(conn, session_id, node_id, now)
        return now

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

    def _set_head(self, conn: Any, session_id: str, node_id: str, now: datetime | None = None) -> None:
        cursor = self._run(
            conn,
            "UPDATE sessions SET head_node_id = ?, updated_at = ? WHERE id = ?"
            " AND EXISTS (SELECT 1 FROM nodes WHERE id = ? AND session_id = ?)",
            (node_id, self._to_ts(now or _now()), session_id, node_id, session_id),
        )
        if cursor.rowcount == 0:
            raise NodeNotFoundError(node_id, session_id)

    def _node_values(self, session_id: str, node: ConversationNode) -> dict[str, Any]:
        """A node as its row in `nodes` (column -> Python value): the one node -> row mapping."""
        message = node.message
        return {
            "id": node.id,
            "session_id": session_id,
            "parent_id": node.parent_id,
            "depth": node.depth,
            "kind": node.kind,
            "source_id": node.source_id,
            "role": message.role,
            "content": message.content,
            "parts": _parts_data(message.parts),
            "token_count": message.token_count,
            "timestamp": message.timestamp,
            "created_at": node.created_at,
            "prompt": node.prompt,
        }

    def _node(self, row: Row) -> ConversationNode:
        """A row of `nodes` as a node: the one row -> node mapping."""
        values = self._decoded("nodes", row)
        prompt = values["prompt"]
        return ConversationNode(
            id=values["id"],
            parent_id=values["parent_id"],
            message=Message(
                role=values["role"],
                content=values["content"],
                parts=_PARTS.validate_python(values["parts"]),
                timestamp=values["timestamp"],
                token_count=values["token_count"],
            ),
            depth=values["depth"],
            created_at=values["created_at"],
            kind=values["kind"],
            source_id=values["source_id"],
            prompt=PromptRecord.model_validate(prompt) if prompt is not None else None,
        )

    # --- requests answered once ---------------------------------------------------------

    def get_request(self, session_id: str, key: str) -> RequestRecord | None:
        """The stored answer to the session's request with idempotency `key`, if any."""
        rows = self._read("SELECT * FROM requests WHERE id = ?", (_request_id(session_id, key),))
        return self._record(RequestRecord, "requests", rows[0]) if rows else None

    def add_request(self, record: RequestRecord) -> RequestRecord:
        """Keep a request's answer; when one is stored under its key already (a repeat that
        ran at the same time on another replica), that one stays and is returned."""
        values = {"id": _request_id(record.session_id, record.key)} | self._record_values(record, "requests")
        sql, params = self._insert_sql("requests", values)
        with self._transaction() as conn:
            self._lock_session(conn, record.session_id, "KEY SHARE")
            self._run(conn, sql + " ON CONFLICT (id) DO NOTHING", params)
        stored = self.get_request(record.session_id, record.key)
        assert stored is not None  # just written, or kept
        return stored

    # --- usage ---------------------------------------------------------------------------

    def add_usage(self, record: UsageRecord) -> UsageRecord:
        return self._add_session_record(record, "usage", record.session_id, record.node_id)

    def list_usage(self, session_id: str | None = None) -> list[UsageRecord]:
        return self._list_records(UsageRecord, "usage", session_id)

    def usage_totals(self, session_id: str | None = None) -> UsageTotals:
        summed = [name for name in UsageTotals.model_fields if name != "calls"]
        sql, params = _scoped(
            f"SELECT COUNT(*) AS calls, {', '.join(f'COALESCE(SUM({n}), 0) AS {n}' for n in summed)} FROM usage",
            session_id,
        )
        row = self._read(sql, params)[0]
        # PostgreSQL sums BIGINT as NUMERIC: validation turns the Decimals back into ints
        return UsageTotals.model_validate({name: row[name] for name in UsageTotals.model_fields})

    # --- feedback ------------------------------------------------------------------------

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        return self._add_record(record, "feedback")

    def list_feedback(self, session_id: str | None = None) -> list[FeedbackRecord]:
        return self._list_records(FeedbackRecord, "feedback", session_id)

    def add_assessment(self, record: AssessmentRecord) -> AssessmentRecord:
        return self._add_record(record, "quality_assessments")

    def list_assessments(self, session_id: str | None = None) -> list[AssessmentRecord]:
        return self._list_records(AssessmentRecord, "quality_assessments", session_id)

    def add_run(self, record: RunMetrics) -> RunMetrics:
        """Store a run and its tool calls together."""
        sql, params = self._insert_sql("run_metrics", self._record_values(record, "run_metrics"))
        with self._transaction() as conn:
            run_id = self._insert(conn, sql, params)
            calls = [
                self._insert_sql(
                    "run_tool_calls", {"run_id": run_id, "position": i} | self._record_values(call, "run_tool_calls")
                )
                for i, call in enumerate(record.tool_calls)
            ]
            if calls:
                self._executemany(conn, calls[0][0], [call_params for _, call_params in calls])
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
            calls.setdefault(c["run_id"], []).append(self._record(ToolCallMetric, "run_tool_calls", c))
        return [self._record(RunMetrics, "run_metrics", r, tool_calls=calls.get(r["id"], [])) for r in runs]

    # --- approvals -----------------------------------------------------------------------

    def add_approval(self, record: ApprovalRecord) -> ApprovalRecord:
        return self._add_session_record(record, "approvals", record.session_id, record.node_id)

    def list_approvals(self, session_id: str) -> list[ApprovalRecord]:
        return self._list_records(ApprovalRecord, "approvals", session_id)


_DECODED = frozenset({"timestamp", "boolean", "json", "jsonb"})
"""The column types whose values the driver does not hand back as the record's Python value."""


@lru_cache(maxsize=32)
def _read_plan(dialect: Dialect, table: str) -> tuple[tuple[str, ...], tuple[Column, ...]]:
    """The columns of `table` that `dialect` stores (what `SELECT *` returns), and those of
    them whose values need decoding."""
    stored = [c for c in TABLE[table].columns if dialect.stores(c)]
    return tuple(c.name for c in stored), tuple(c for c in stored if c.type in _DECODED)


@lru_cache(maxsize=64)
def _insert_statement(dialect: Dialect, table: str, names: tuple[str, ...]) -> tuple[str, tuple[Column, ...]]:
    """The INSERT of `names` into `table`, and their columns (made once per shape: a turn
    inserts several rows)."""
    columns = tuple(TABLE[table].column(name) for name in names)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(c.name) for c in columns)})"
        f" VALUES ({', '.join(dialect.param(c) for c in columns)})"
    )
    return sql, columns


def _request_id(session_id: str, key: str) -> str:
    return f"{session_id}/{key}"


def _tools(tools: Sequence[ToolSchema]) -> list[dict[str, Any]]:
    """Tool schemas as the JSON stored for a session."""
    return [t.model_dump(mode="json") for t in tools]


def _nest(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` (column -> value) as `model`'s fields: a nested model whose fields are columns
    of their own (an assessment's scores) is gathered back from them."""
    fields: dict[str, Any] = {}
    for name, nested in _fields(model):
        if name in values:
            fields[name] = values[name]
        elif nested is not None:
            fields[name] = _nest(nested, values)
    return fields


@lru_cache(maxsize=32)
def _fields(model: type[BaseModel]) -> tuple[tuple[str, type[BaseModel] | None], ...]:
    """`model`'s field names, each with its type when that is a model itself."""
    return tuple(
        (
            name,
            info.annotation if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel) else None,
        )
        for name, info in model.model_fields.items()
    )


def _scoped(sql: str, session_id: str | None, column: str = "session_id") -> tuple[str, tuple[Any, ...]]:
    """`sql` limited to one session when `session_id` is given."""
    return (f"{sql} WHERE {column} = ?", (session_id,)) if session_id is not None else (sql, ())


_PARTS: TypeAdapter[list[MessagePart]] = TypeAdapter(list[MessagePart])


def _parts_data(parts: list[MessagePart]) -> list[Any]:
    """A message's parts as plain JSON data, or InputError for a value JSON cannot hold."""
    try:
        data: list[Any] = _PARTS.dump_python(parts, mode="json")
    except PydanticSerializationError as exc:
        raise InputError(f"A message part must be JSON-serialisable (str, numbers, lists, dicts): {exc}") from exc
    return data
