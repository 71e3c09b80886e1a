"""A store in PostgreSQL, so several server replicas share one database.

Same tables, same semantics as `SQLiteStore`, with the types translated (JSON, TIMESTAMPTZ,
BOOLEAN, DOUBLE PRECISION, identity columns). What differs is that writers now run in several
processes at once, so:

- every write is one transaction on one pooled connection (psycopg 3; a small pool of
  connections per replica, opened on demand, so a replica works again on its first call
  after the database comes back, and broken connections are dropped, never reused);
- writes to one session take that session's row lock first (`FOR NO KEY UPDATE` to move the
  head, `FOR KEY SHARE` to attach usage, `FOR UPDATE` to delete), so they serialise per
  session, always lock in the same order (session, then nodes) and never deadlock;
- the children of a node are never stored, only derived from `parent_id`, so two replicas
  appending to one session at once cannot lose each other's nodes;
- schema migrations run under an advisory lock, so replicas starting together migrate once.

Columns whose JSON is rendered back into prompts (tools, engine settings, message metadata,
prompt records) use `json`, which keeps the text as written: `jsonb` would reorder keys, and
a reordered tool schema is a different prompt prefix for the engine's cache.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row

from radixagent.errors import (
    ConfigurationError,
    InputError,
    NodeNotFoundError,
    SchemaVersionError,
    SessionNotFoundError,
    StoreError,
    StoreUnavailableError,
)
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
from radixagent.schemas import Message, QualityAssessment, ToolSchema

logger = logging.getLogger(__name__)

Connection = psycopg.Connection[DictRow]

_SCHEMA_V1 = """
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    title           TEXT NOT NULL DEFAULT '',
    system_prompt   TEXT NOT NULL DEFAULT '',
    tools           JSON NOT NULL DEFAULT '[]',
    engine_settings JSON NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    head_node_id    TEXT
);
CREATE TABLE nodes (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent_id   TEXT REFERENCES nodes(id) ON DELETE CASCADE,
    depth       INTEGER NOT NULL CHECK (depth >= 0),
    kind        TEXT NOT NULL DEFAULT 'message',
    source_id   TEXT,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL,
    metadata    JSON NOT NULL DEFAULT '{}',
    token_count INTEGER,
    "timestamp" TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    prompt      JSON
);
ALTER TABLE sessions ADD CONSTRAINT sessions_head_node_fk
    FOREIGN KEY (head_node_id) REFERENCES nodes(id) ON DELETE SET NULL;
CREATE INDEX nodes_by_session ON nodes(session_id, seq);
CREATE INDEX nodes_by_parent ON nodes(parent_id);
CREATE INDEX sessions_by_update ON sessions(updated_at DESC, seq DESC);
CREATE TABLE usage (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id        TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    node_id           TEXT REFERENCES nodes(id) ON DELETE SET NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens     BIGINT NOT NULL,
    cacheable_tokens  BIGINT NOT NULL,
    latency_ms        DOUBLE PRECISION NOT NULL,
    at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX usage_by_session ON usage(session_id);
CREATE INDEX usage_by_node ON usage(node_id);
CREATE TABLE feedback (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id TEXT,
    node_id    TEXT,
    query      TEXT NOT NULL,
    response   TEXT NOT NULL,
    rating     DOUBLE PRECISION NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT NOT NULL DEFAULT '',
    metadata   JSONB NOT NULL DEFAULT '{}',
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_by_session ON feedback(session_id);
CREATE TABLE quality_assessments (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id         TEXT,
    node_id            TEXT,
    query              TEXT NOT NULL DEFAULT '',
    response           TEXT NOT NULL DEFAULT '',
    accuracy_score     DOUBLE PRECISION NOT NULL,
    coherence_score    DOUBLE PRECISION NOT NULL,
    completeness_score DOUBLE PRECISION NOT NULL,
    overall_score      DOUBLE PRECISION NOT NULL,
    feedback_comment   TEXT NOT NULL,
    source             TEXT NOT NULL,
    at                 TIMESTAMPTZ NOT NULL
);
CREATE INDEX quality_assessments_by_session ON quality_assessments(session_id);
CREATE TABLE run_metrics (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id        TEXT,
    latency_ms        DOUBLE PRECISION NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens     BIGINT NOT NULL,
    total_tokens      BIGINT NOT NULL,
    cache_hit_rate    DOUBLE PRECISION NOT NULL,
    success           BOOLEAN NOT NULL,
    error             TEXT,
    at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX run_metrics_by_session ON run_metrics(session_id);
CREATE TABLE run_tool_calls (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES run_metrics(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    tool        TEXT NOT NULL,
    success     BOOLEAN NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    error       TEXT
);
CREATE INDEX run_tool_calls_by_run ON run_tool_calls(run_id);
"""

_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}
"""Version -> the script that brings the previous version to it (1 creates everything)."""

_MIGRATION_LOCK = 0x72616469786167
"""Advisory lock key ("radixag") held while migrating, so concurrent replicas migrate once."""

_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
"""SQLSTATEs meaning the server is unreachable, shutting down or full: worth retrying later."""


def _describe(conninfo: str) -> str:
    """`user@host:port/dbname`, never the password: for messages and repr."""
    params = conninfo_to_dict(conninfo)
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    user = f"{params['user']}@" if params.get("user") else ""
    return f"{user}{host}:{port}/{params.get('dbname') or params.get('user') or ''}"


class _Pool:
    """At most `size` connections, opened when needed and kept for reuse (last used first).

    Not psycopg_pool: its reconnection backoff grows while the server is down (measured: 45 s
    down, still failing 8 s after the server was back), where a store should work on the first
    call after the database returns. Here a call either reuses a live connection or opens one
    on the spot, and a connect error is the server's own message (refused, bad password, ...)."""

    CHECK_AFTER_S = 1.0
    """An idle connection is checked (one empty query) before reuse once idle this long: a
    server restart or failover in between would otherwise fail the next call."""
    MAX_IDLE_S = 600.0
    """Idle connections older than this are closed rather than kept."""

    def __init__(self, connect: Callable[[], Connection], size: int, wait_s: float) -> None:
        self._connect = connect
        self._slots = threading.BoundedSemaphore(size)
        self._wait_s = wait_s
        self._idle: list[tuple[Connection, float]] = []
        self._lock = threading.Lock()
        self.closed = False

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if not self._slots.acquire(timeout=self._wait_s):
            raise TimeoutError
        conn: Connection | None = None
        try:
            conn = self._checkout()
            yield conn
        finally:
            if conn is not None:
                self.put(conn)
            self._slots.release()

    def _checkout(self) -> Connection:
        while True:
            with self._lock:
                if self.closed:
                    raise psycopg.InterfaceError("the store is closed")
                conn, since = self._idle.pop() if self._idle else (None, 0.0)
            if conn is None:
                return self._connect()
            if time.monotonic() - since > self.CHECK_AFTER_S:
                try:
                    conn.execute("")
                except psycopg.Error:
                    conn.close()
                    continue
            return conn

    def put(self, conn: Connection) -> None:
        """Keep a connection for reuse, unless it is broken, closed or mid-transaction."""
        if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
            with suppress(psycopg.Error):
                conn.close()
            return
        now = time.monotonic()
        with self._lock:
            stale = [c for c, since in self._idle if now - since > self.MAX_IDLE_S]
            self._idle = [(c, since) for c, since in self._idle if now - since <= self.MAX_IDLE_S]
            if self.closed:
                stale.append(conn)
            else:
                self._idle.append((conn, now))
        for old in stale:
            with suppress(psycopg.Error):
                old.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            with suppress(psycopg.Error):
                conn.close()


class PostgresStore:
    """A store in one PostgreSQL database, shared by every replica pointed at it.

    `url` is a libpq URL or conninfo string (`postgresql://user:password@host:5432/dbname`).
    The database must exist; the tables are created on first use. Calls from many threads
    share at most `max_connections` connections; a call waits up to `wait_timeout` seconds
    for one to be free, and up to `connect_timeout` for the server to answer a new one."""

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 10,
        connect_timeout: float = 10.0,
        wait_timeout: float = 30.0,
    ) -> None:
        if max_connections < 1:
            raise ConfigurationError(f"PostgresStore needs max_connections >= 1 (got {max_connections}).")
        try:
            given = conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ConfigurationError(
                f"Cannot read the PostgreSQL URL: {exc}. Use postgresql://user:password@host:port/dbname."
            ) from exc
        extra: dict[str, Any] = {}
        if "connect_timeout" not in given:
            extra["connect_timeout"] = max(1, round(connect_timeout))
        if "application_name" not in given:
            extra["application_name"] = "radixagent"
        self._conninfo = make_conninfo(url, **extra)
        self.where = _describe(self._conninfo)
        """Where the database is, without the password."""
        self._wait_timeout = wait_timeout
        self._pool = _Pool(self._connect, max_connections, wait_timeout)
        try:
            conn = self._connect()
            try:
                self._migrate(conn)
            except BaseException:
                conn.close()
                raise
        except psycopg.Error as exc:
            raise self._error(exc) from exc
        self._pool.put(conn)

    # --- plumbing ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    def _connect(self) -> Connection:
        """A new connection (autocommit; explicit transactions) that reads and writes
        timestamps in UTC, whatever the server's zone."""
        conn = psycopg.connect(self._conninfo, autocommit=True, row_factory=dict_row)
        try:
            conn.execute("SET TIME ZONE 'UTC'")
        except BaseException:
            conn.close()
            raise
        return conn

    def _error(self, exc: psycopg.Error) -> StoreError:
        """A psycopg error as a StoreError whose message says what to check."""
        text = str(exc).strip().replace("\n", " ")
        state = exc.sqlstate or ""
        if (isinstance(exc, psycopg.OperationalError) and not state) or state.startswith(_UNAVAILABLE_STATES):
            if "password" in text or "authentication" in text:
                return StoreError(
                    f"PostgreSQL at {self.where} refused the login: {text}. Check the user and password in "
                    "the database URL (RADIXAGENT_DATABASE_URL)."
                )
            if "does not exist" in text and "database" in text:
                return StoreError(
                    f"PostgreSQL at {self.where} has no such database: {text}. Create it first "
                    "(createdb NAME, or CREATE DATABASE) or fix the database name in the URL."
                )
            return StoreUnavailableError(
                f"Cannot reach PostgreSQL at {self.where}: {text}. Check that the server is running and "
                "accepts TCP connections on that host and port (listen_addresses, pg_hba.conf, firewall), "
                "and that RADIXAGENT_DATABASE_URL names the right host, port, database, user and password."
            )
        if state.startswith("28"):
            hint = "Check the user and password in the database URL (RADIXAGENT_DATABASE_URL)."
        elif state == "3D000":
            hint = "Create the database first (createdb NAME) or fix its name in the URL."
        elif state.startswith("23"):
            hint = "The write conflicts with what is stored (a duplicate id, or a reference to a missing row)."
        elif state in ("40P01", "40001"):
            hint = "Another replica wrote the same rows at the same moment; retry the call."
        elif state in ("42501", "3F000"):
            hint = (
                "The database user lacks a privilege, or no schema on its search_path is usable: grant it "
                "USAGE and CREATE on the schema (GRANT ALL ON SCHEMA name TO user) and read/write on the tables."
            )
        elif state == "42P01":
            hint = "A radixagent table is missing: the schema was changed by hand; restore it or use a new database."
        elif state == "22P05" or "NUL" in text or "0x00" in text:
            hint = "PostgreSQL text cannot hold NUL (\\x00) characters: remove them from the text before storing it."
        else:
            hint = "Check the database server's log for details."
        return StoreError(f"The store at {self.where} failed: {text}. {hint}")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A pooled connection (autocommit); database errors come out as StoreError."""
        if self._pool.closed:
            raise StoreError(f"The store at {self.where} is closed: open a new PostgresStore to use the database.")
        try:
            with self._pool.connection() as conn:
                yield conn
        except TimeoutError as exc:
            raise StoreUnavailableError(
                f"Every connection of the store at {self.where} stayed busy for {self._wait_timeout:.0f} s: "
                "give the store more connections (max_connections), or find the call that holds one so long."
            ) from exc
        except psycopg.Error as exc:
            raise self._error(exc) from exc

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One write transaction: all of it commits, or on any error none of it does."""
        with self._connection() as conn, conn.transaction():
            yield conn

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read-only transaction that sees one moment, for reads spanning several queries."""
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[DictRow]:
        with self._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _migrate(self, conn: Connection) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            found = int(row["version"]) if row is not None else 0
            if found > SCHEMA_VERSION:
                raise SchemaVersionError(self.where, found, SCHEMA_VERSION)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                logger.info("migrating %s to schema version %d", self.where, version)
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = %s", (version,))

    @property
    def schema_version(self) -> int:
        return int(self._read("SELECT version FROM schema_version")[0]["version"])

    def close(self) -> None:
        """Close every pooled connection; the store cannot be used afterwards."""
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions ------------------------------------------------------------------------

    def create_session(self, session: SessionRecord, root: ConversationNode) -> SessionRecord:
        """Store a new session and its system root node together."""
        if root.parent_id is not None or root.role != "system":
            raise InputError("A session starts with its system message as the root node.")
        stored = session.model_copy(update={"head_node_id": root.id, "system_prompt": root.content})
        tools = _json([t.model_dump(mode="json") for t in stored.tools], "tools config")
        engine_settings = _json(stored.engine_settings, "engine settings")
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO sessions (id, title, system_prompt, tools, engine_settings, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s::json, %s::json, %s, %s)",
                (
                    stored.id,
                    stored.title,
                    stored.system_prompt,
                    tools,
                    engine_settings,
                    stored.created_at,
                    stored.updated_at,
                ),
            )
            self._insert_node(conn, stored.id, root)
            conn.execute("UPDATE sessions SET head_node_id = %s WHERE id = %s", (root.id, stored.id))
        return stored

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._read("SELECT * FROM sessions WHERE id = %s", (session_id,))
        if not rows:
            raise SessionNotFoundError(session_id)
        return self._session(rows[0])

    def list_sessions(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """The most recently updated sessions first."""
        if limit < 1 or offset < 0:
            raise InputError(f"list_sessions needs limit >= 1 and offset >= 0 (got {limit}, {offset}).")
        rows = self._read(
            "SELECT * FROM sessions ORDER BY updated_at DESC, seq DESC LIMIT %s OFFSET %s", (limit, offset)
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
        assignments = ["updated_at = %s"]
        values: list[Any] = [_now()]
        if title is not None:
            assignments.append("title = %s")
            values.append(title)
        if tools is not None:
            assignments.append("tools = %s::json")
            values.append(_json([t.model_dump(mode="json") for t in tools], "tools config"))
        if engine_settings is not None:
            assignments.append("engine_settings = %s::json")
            values.append(_json(engine_settings, "engine settings"))
        with self._transaction() as conn:
            row = conn.execute(
                f"UPDATE sessions SET {', '.join(assignments)} WHERE id = %s RETURNING *", (*values, session_id)
            ).fetchone()
        if row is None:
            raise SessionNotFoundError(session_id)
        return self._session(row)

    def delete_session(self, session_id: str) -> None:
        """Delete a session with its tree and usage (feedback and run metrics stay)."""
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "UPDATE")
            conn.execute("UPDATE sessions SET head_node_id = NULL WHERE id = %s", (session_id,))
            conn.execute("DELETE FROM nodes WHERE session_id = %s", (session_id,))
            conn.execute("DELETE FROM sessions WHERE id = %s", (session_id,))

    @staticmethod
    def _session(row: DictRow) -> SessionRecord:
        return SessionRecord(
            id=row["id"],
            title=row["title"],
            system_prompt=row["system_prompt"],
            tools=[ToolSchema.model_validate(t) for t in row["tools"]],
            engine_settings=row["engine_settings"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            head_node_id=row["head_node_id"],
        )

    # --- nodes ---------------------------------------------------------------------------

    def add_nodes(self, session_id: str, nodes: Sequence[ConversationNode], *, head_id: str | None = None) -> None:
        """Store new nodes (parents first) and, when given, move the session's head: all in
        one transaction, serialised with the session's other writers by its row lock."""
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "NO KEY UPDATE")
            outside = {n.parent_id for n in nodes if n.parent_id is not None} - {n.id for n in nodes}
            stored = {
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM nodes WHERE session_id = %s AND id = ANY(%s)", (session_id, list(outside))
                )
            }
            seen: set[str] = set()
            for node in nodes:
                if node.parent_id is None:
                    raise InputError(f"Node {node.id!r} has no parent: a session has one root, made with the session.")
                if node.parent_id not in stored and node.parent_id not in seen:
                    raise NodeNotFoundError(node.parent_id, session_id)
                seen.add(node.id)
            with conn.pipeline():
                for node in nodes:
                    self._insert_node(conn, session_id, node)
            if head_id is not None:
                self._set_head(conn, session_id, head_id)
            else:
                conn.execute("UPDATE sessions SET updated_at = %s WHERE id = %s", (_now(), session_id))

    def set_head(self, session_id: str, node_id: str) -> None:
        with self._transaction() as conn:
            self._lock_session(conn, session_id, "NO KEY UPDATE")
            self._set_head(conn, session_id, node_id)

    def load_nodes(self, session_id: str) -> list[ConversationNode]:
        """Every node of the session, parents before children; children lists filled in."""
        with self._snapshot() as conn:
            if conn.execute("SELECT 1 FROM sessions WHERE id = %s", (session_id,)).fetchone() is None:
                raise SessionNotFoundError(session_id)
            rows = conn.execute("SELECT * FROM nodes WHERE session_id = %s ORDER BY seq", (session_id,)).fetchall()
        nodes = [self._node(r) for r in rows]
        by_id = {n.id: n for n in nodes}
        for node in nodes:
            if node.parent_id is not None and node.parent_id in by_id:
                by_id[node.parent_id].children.append(node.id)
        return nodes

    def _insert_node(self, conn: Connection, session_id: str, node: ConversationNode) -> None:
        message = node.message
        conn.execute(
            "INSERT INTO nodes (id, session_id, parent_id, depth, kind, source_id, role, content, metadata,"
            ' token_count, "timestamp", created_at, prompt)'
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s, %s, %s::json)",
            (
                node.id,
                session_id,
                node.parent_id,
                node.depth,
                node.kind,
                node.source_id,
                message.role,
                message.content,
                _json(message.metadata, "message metadata"),
                message.token_count,
                message.timestamp,
                node.created_at,
                node.prompt.model_dump_json() if node.prompt is not None else None,
            ),
        )

    @staticmethod
    def _lock_session(conn: Connection, session_id: str, mode: str) -> None:
        """Take the session's row lock (the first lock of every session write) or raise
        SessionNotFoundError."""
        row = conn.execute(f"SELECT 1 FROM sessions WHERE id = %s FOR {mode}", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(session_id)

    @staticmethod
    def _set_head(conn: Connection, session_id: str, node_id: str) -> None:
        cursor = conn.execute(
            "UPDATE sessions SET head_node_id = %s, updated_at = %s WHERE id = %s"
            " AND EXISTS (SELECT 1 FROM nodes WHERE id = %s AND session_id = %s)",
            (node_id, _now(), session_id, node_id, session_id),
        )
        if cursor.rowcount == 0:
            raise NodeNotFoundError(node_id, session_id)

    @staticmethod
    def _node(row: DictRow) -> ConversationNode:
        return ConversationNode(
            id=row["id"],
            parent_id=row["parent_id"],
            message=Message(
                role=row["role"],
                content=row["content"],
                metadata=row["metadata"],
                timestamp=row["timestamp"],
                token_count=row["token_count"],
            ),
            depth=row["depth"],
            created_at=row["created_at"],
            kind=row["kind"],
            source_id=row["source_id"],
            prompt=PromptRecord.model_validate(row["prompt"]) if row["prompt"] is not None else None,
        )

    # --- usage ---------------------------------------------------------------------------

    def add_usage(self, record: UsageRecord) -> UsageRecord:
        with self._transaction() as conn:
            self._lock_session(conn, record.session_id, "KEY SHARE")
            if record.node_id is not None:
                row = conn.execute(
                    "SELECT 1 FROM nodes WHERE id = %s AND session_id = %s", (record.node_id, record.session_id)
                ).fetchone()
                if row is None:
                    raise NodeNotFoundError(record.node_id, record.session_id)
            row = conn.execute(
                "INSERT INTO usage (session_id, node_id, prompt_tokens, completion_tokens, cached_tokens,"
                " cacheable_tokens, latency_ms, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    record.session_id,
                    record.node_id,
                    record.prompt_tokens,
                    record.completion_tokens,
                    record.cached_tokens,
                    record.cacheable_tokens,
                    record.latency_ms,
                    record.at,
                ),
            ).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        return record.model_copy(update={"id": row["id"]})

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
                at=r["at"],
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
        # SUM over BIGINT is NUMERIC (Decimal): back to int for the record
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
            row = conn.execute(
                "INSERT INTO feedback (session_id, node_id, query, response, rating, comment, metadata, at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s) RETURNING id",
                (
                    record.session_id,
                    record.node_id,
                    record.query,
                    record.response,
                    record.rating,
                    record.comment,
                    metadata,
                    record.at,
                ),
            ).fetchone()
        assert row is not None
        return record.model_copy(update={"id": row["id"]})

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
                metadata=r["metadata"],
                at=r["at"],
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def add_assessment(self, record: AssessmentRecord) -> AssessmentRecord:
        a = record.assessment
        with self._transaction() as conn:
            row = conn.execute(
                "INSERT INTO quality_assessments (session_id, node_id, query, response, accuracy_score,"
                " coherence_score, completeness_score, overall_score, feedback_comment, source, at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
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
                    record.at,
                ),
            ).fetchone()
        assert row is not None
        return record.model_copy(update={"id": row["id"]})

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
                at=r["at"],
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def add_run(self, record: RunMetrics) -> RunMetrics:
        """Store a run and its tool calls together."""
        with self._transaction() as conn:
            row = conn.execute(
                "INSERT INTO run_metrics (session_id, latency_ms, prompt_tokens, completion_tokens, cached_tokens,"
                " total_tokens, cache_hit_rate, success, error, at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
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
                    record.at,
                ),
            ).fetchone()
            assert row is not None
            run_id = row["id"]
            if record.tool_calls:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO run_tool_calls (run_id, position, tool, success, duration_ms, error)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
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
            runs = conn.execute(sql + " ORDER BY id", params).fetchall()
            call_rows = conn.execute(call_sql + " ORDER BY c.run_id, c.position", call_params).fetchall()
        calls: dict[int, list[ToolCallMetric]] = {}
        for c in call_rows:
            calls.setdefault(c["run_id"], []).append(
                ToolCallMetric(tool=c["tool"], success=c["success"], duration_ms=c["duration_ms"], error=c["error"])
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
                success=r["success"],
                error=r["error"],
                at=r["at"],
            )
            for r in runs
        ]


def _scoped(sql: str, session_id: str | None, column: str = "session_id") -> tuple[str, tuple[Any, ...]]:
    return (f"{sql} WHERE {column} = %s", (session_id,)) if session_id is not None else (sql, ())
