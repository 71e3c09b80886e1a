"""The default store: SQLite (stdlib `sqlite3`), one file in WAL mode.

Good for one process, or a few on one machine (SQLite serialises writers with a file lock).
Several server replicas on several machines share a `PostgresStore` instead.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from radixagent.errors import (
    ConfigurationError,
    InputError,
    NodeNotFoundError,
    SchemaVersionError,
    SessionNotFoundError,
    StoreError,
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
    default_db_path,
)
from radixagent.memory.tree import ConversationNode, PromptRecord
from radixagent.schemas import Message, QualityAssessment, ToolSchema

logger = logging.getLogger(__name__)

_SCHEMA_V1 = """
CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL DEFAULT '',
    system_prompt   TEXT NOT NULL DEFAULT '',
    tools           TEXT NOT NULL DEFAULT '[]',
    engine_settings TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    head_node_id    TEXT REFERENCES nodes(id) ON DELETE SET NULL
);
CREATE TABLE nodes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent_id   TEXT REFERENCES nodes(id) ON DELETE CASCADE,
    depth       INTEGER NOT NULL CHECK (depth >= 0),
    kind        TEXT NOT NULL DEFAULT 'message',
    source_id   TEXT,
    role        TEXT NOT NULL,
    content     TEXT NOT NULL,
    metadata    TEXT NOT NULL DEFAULT '{}',
    token_count INTEGER,
    timestamp   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    prompt      TEXT
);
CREATE INDEX nodes_by_session ON nodes(session_id, seq);
CREATE INDEX nodes_by_parent ON nodes(parent_id);
CREATE TABLE usage (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id        TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    node_id           TEXT REFERENCES nodes(id) ON DELETE SET NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    cacheable_tokens  INTEGER NOT NULL,
    latency_ms        REAL NOT NULL,
    at                TEXT NOT NULL
);
CREATE INDEX usage_by_session ON usage(session_id);
CREATE TABLE feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    node_id    TEXT,
    query      TEXT NOT NULL,
    response   TEXT NOT NULL,
    rating     REAL NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT NOT NULL DEFAULT '',
    metadata   TEXT NOT NULL DEFAULT '{}',
    at         TEXT NOT NULL
);
CREATE TABLE quality_assessments (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id         TEXT,
    node_id            TEXT,
    query              TEXT NOT NULL DEFAULT '',
    response           TEXT NOT NULL DEFAULT '',
    accuracy_score     REAL NOT NULL,
    coherence_score    REAL NOT NULL,
    completeness_score REAL NOT NULL,
    overall_score      REAL NOT NULL,
    feedback_comment   TEXT NOT NULL,
    source             TEXT NOT NULL,
    at                 TEXT NOT NULL
);
CREATE TABLE run_metrics (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id        TEXT,
    latency_ms        REAL NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    total_tokens      INTEGER NOT NULL,
    cache_hit_rate    REAL NOT NULL,
    success           INTEGER NOT NULL,
    error             TEXT,
    at                TEXT NOT NULL
);
CREATE TABLE run_tool_calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id      INTEGER NOT NULL REFERENCES run_metrics(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    tool        TEXT NOT NULL,
    success     INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    error       TEXT
);
CREATE INDEX run_tool_calls_by_run ON run_tool_calls(run_id);
"""

_MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1}
"""Version -> the script that brings the previous version to it (1 creates everything)."""


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)



class SQLiteStore:
    """The default store: one SQLite file in WAL mode.

    One connection guarded by a lock serves every thread: SQLite writes are serial anyway, and
    one connection keeps `:memory:` databases (tests, throwaway collectors) working."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 10.0) -> None:
        self.path = ":memory:" if path == ":memory:" else Path(path) if path is not None else default_db_path()
        self._lock = threading.RLock()
        if isinstance(self.path, Path):
            if self.path.is_dir():
                raise ConfigurationError(f"The store path {self.path} is a directory: give a file path instead.")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"Cannot create the directory for the store at {self.path}: {exc}. "
                    "Set RADIXAGENT_DATA_DIR to a writable directory."
                ) from exc
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the store at {self.path}: {exc}. Check the path and permissions.") from exc
        self._conn.row_factory = sqlite3.Row
        with self._guard():
            self._conn.execute("PRAGMA foreign_keys = ON")
            self.journal_mode = str(self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    # --- plumbing ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn sqlite3 errors into StoreError with a hint."""
        try:
            yield
        except sqlite3.Error as exc:
            text = str(exc)
            hint = "Check the database file and try again."
            if "locked" in text or "busy" in text:
                hint = "Another process holds a write lock on the database; retry, or give each process its own file."
            elif "readonly" in text or "read-only" in text:
                hint = "The database file is read-only: fix its permissions or set RADIXAGENT_DATA_DIR."
            elif "not a database" in text or "malformed" in text:
                hint = "The file is not a radixagent database (or is damaged): point the store at another file."
            elif isinstance(exc, sqlite3.IntegrityError):
                hint = "The write conflicts with what is stored (a duplicate id, or a reference to a missing row)."
            raise StoreError(f"The store at {self.path} failed: {text}. {hint}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or on any error none of it does."""
        with self._lock, self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock, self._guard():
            return self._conn.execute(sql, params).fetchall()

    def _migrate(self) -> None:
        with self._transaction() as conn:
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if has_table is None:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            found = int(conn.execute("SELECT version FROM schema_version").fetchone()[0])
            if found > SCHEMA_VERSION:
                raise SchemaVersionError(str(self.path), found, SCHEMA_VERSION)
            for version in range(found + 1, SCHEMA_VERSION + 1):
                logger.info("migrating %s to schema version %d", self.path, version)
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("UPDATE schema_version SET version = ?", (version,))

    @property
    def schema_version(self) -> int:
        return int(self._read("SELECT version FROM schema_version")[0][0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions ------------------------------------------------------------------------

    def create_session(self, session: SessionRecord, root: ConversationNode) -> SessionRecord:
        """Store a new session and its system root node together."""
        if root.parent_id is not None or root.role != "system":
            raise InputError("A session starts with its system message as the root node.")
        stored = session.model_copy(update={"head_node_id": root.id, "system_prompt": root.content})
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO sessions (id, title, system_prompt, tools, engine_settings, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.title,
                    stored.system_prompt,
                    _json([t.model_dump(mode="json") for t in stored.tools], "tools config"),
                    _json(stored.engine_settings, "engine settings"),
                    stored.created_at.isoformat(),
                    stored.updated_at.isoformat(),
                ),
            )
            self._insert_node(conn, stored.id, root)
            conn.execute("UPDATE sessions SET head_node_id = ? WHERE id = ?", (root.id, stored.id))
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
            "SELECT * FROM sessions ORDER BY updated_at DESC, rowid DESC LIMIT ? OFFSET ?", (limit, offset)
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
        changes: dict[str, Any] = {"updated_at": _now().isoformat()}
        if title is not None:
            changes["title"] = title
        if tools is not None:
            changes["tools"] = _json([t.model_dump(mode="json") for t in tools], "tools config")
        if engine_settings is not None:
            changes["engine_settings"] = _json(engine_settings, "engine settings")
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._transaction() as conn:
            cursor = conn.execute(f"UPDATE sessions SET {assignments} WHERE id = ?", (*changes.values(), session_id))
            if cursor.rowcount == 0:
                raise SessionNotFoundError(session_id)
        return self.get_session(session_id)

    def delete_session(self, session_id: str) -> None:
        """Delete a session with its tree and usage (feedback and run metrics stay)."""
        with self._transaction() as conn:
            conn.execute("UPDATE sessions SET head_node_id = NULL WHERE id = ?", (session_id,))
            conn.execute("DELETE FROM nodes WHERE session_id = ?", (session_id,))
            if conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount == 0:
                raise SessionNotFoundError(session_id)

    @staticmethod
    def _session(row: sqlite3.Row) -> SessionRecord:
        return SessionRecord(
            id=row["id"],
            title=row["title"],
            system_prompt=row["system_prompt"],
            tools=[ToolSchema.model_validate(t) for t in json.loads(row["tools"])],
            engine_settings=json.loads(row["engine_settings"]),
            created_at=_dt(row["created_at"]),
            updated_at=_dt(row["updated_at"]),
            head_node_id=row["head_node_id"],
        )

    # --- nodes ---------------------------------------------------------------------------

    def add_nodes(self, session_id: str, nodes: Sequence[ConversationNode], *, head_id: str | None = None) -> None:
        """Store new nodes (parents first) and, when given, move the session's head: all in
        one transaction."""
        with self._transaction() as conn:
            self._require_session(conn, session_id)
            for node in nodes:
                if node.parent_id is None:
                    raise InputError(f"Node {node.id!r} has no parent: a session has one root, made with the session.")
                parent = conn.execute("SELECT session_id FROM nodes WHERE id = ?", (node.parent_id,)).fetchone()
                if parent is None or parent["session_id"] != session_id:
                    raise NodeNotFoundError(node.parent_id, session_id)
                self._insert_node(conn, session_id, node)
            if head_id is not None:
                self._set_head(conn, session_id, head_id)
            conn.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (_now().isoformat(), session_id))

    def set_head(self, session_id: str, node_id: str) -> None:
        with self._transaction() as conn:
            self._require_session(conn, session_id)
            self._set_head(conn, session_id, node_id)

    def load_nodes(self, session_id: str) -> list[ConversationNode]:
        """Every node of the session, parents before children; children lists filled in."""
        with self._lock:
            self.get_session(session_id)
            rows = self._read("SELECT * FROM nodes WHERE session_id = ? ORDER BY seq", (session_id,))
        nodes = [self._node(r) for r in rows]
        by_id = {n.id: n for n in nodes}
        for node in nodes:
            if node.parent_id is not None and node.parent_id in by_id:
                by_id[node.parent_id].children.append(node.id)
        return nodes

    def _insert_node(self, conn: sqlite3.Connection, session_id: str, node: ConversationNode) -> None:
        message = node.message
        conn.execute(
            "INSERT INTO nodes (id, session_id, parent_id, depth, kind, source_id, role, content, metadata,"
            " token_count, timestamp, created_at, prompt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                message.timestamp.isoformat(),
                node.created_at.isoformat(),
                node.prompt.model_dump_json() if node.prompt is not None else None,
            ),
        )

    @staticmethod
    def _require_session(conn: sqlite3.Connection, session_id: str) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFoundError(session_id)

    @staticmethod
    def _set_head(conn: sqlite3.Connection, session_id: str, node_id: str) -> None:
        row = conn.execute("SELECT session_id FROM nodes WHERE id = ?", (node_id,)).fetchone()
        if row is None or row["session_id"] != session_id:
            raise NodeNotFoundError(node_id, session_id)
        conn.execute(
            "UPDATE sessions SET head_node_id = ?, updated_at = ? WHERE id = ?",
            (node_id, _now().isoformat(), session_id),
        )

    @staticmethod
    def _node(row: sqlite3.Row) -> ConversationNode:
        return ConversationNode(
            id=row["id"],
            parent_id=row["parent_id"],
            message=Message(
                role=row["role"],
                content=row["content"],
                metadata=json.loads(row["metadata"]),
                timestamp=_dt(row["timestamp"]),
                token_count=row["token_count"],
            ),
            depth=row["depth"],
            created_at=_dt(row["created_at"]),
            kind=row["kind"],
            source_id=row["source_id"],
            prompt=PromptRecord.model_validate_json(row["prompt"]) if row["prompt"] is not None else None,
        )

    # --- usage ---------------------------------------------------------------------------

    def add_usage(self, record: UsageRecord) -> UsageRecord:
        with self._transaction() as conn:
            self._require_session(conn, record.session_id)
            if record.node_id is not None:
                row = conn.execute("SELECT session_id FROM nodes WHERE id = ?", (record.node_id,)).fetchone()
                if row is None or row["session_id"] != record.session_id:
                    raise NodeNotFoundError(record.node_id, record.session_id)
            cursor = conn.execute(
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
                    record.at.isoformat(),
                ),
            )
        return record.model_copy(update={"id": cursor.lastrowid})

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
                at=_dt(r["at"]),
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def usage_totals(self, session_id: str | None = None) -> UsageTotals:
        sql, params = _scoped(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0),"
            " COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(cacheable_tokens), 0), COALESCE(SUM(latency_ms), 0)"
            " FROM usage",
            session_id,
        )
        row = self._read(sql, params)[0]
        return UsageTotals(
            calls=row[0],
            prompt_tokens=row[1],
            completion_tokens=row[2],
            cached_tokens=row[3],
            cacheable_tokens=row[4],
            latency_ms=row[5],
        )

    # --- feedback ------------------------------------------------------------------------

    def add_feedback(self, record: FeedbackRecord) -> FeedbackRecord:
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (session_id, node_id, query, response, rating, comment, metadata, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.session_id,
                    record.node_id,
                    record.query,
                    record.response,
                    record.rating,
                    record.comment,
                    _json(record.metadata, "feedback metadata"),
                    record.at.isoformat(),
                ),
            )
        return record.model_copy(update={"id": cursor.lastrowid})

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
                metadata=json.loads(r["metadata"]),
                at=_dt(r["at"]),
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def add_assessment(self, record: AssessmentRecord) -> AssessmentRecord:
        a = record.assessment
        with self._transaction() as conn:
            cursor = conn.execute(
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
                    record.at.isoformat(),
                ),
            )
        return record.model_copy(update={"id": cursor.lastrowid})

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
                at=_dt(r["at"]),
            )
            for r in self._read(sql + " ORDER BY id", params)
        ]

    def add_run(self, record: RunMetrics) -> RunMetrics:
        """Store a run and its tool calls together."""
        with self._transaction() as conn:
            cursor = conn.execute(
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
                    int(record.success),
                    record.error,
                    record.at.isoformat(),
                ),
            )
            run_id = cursor.lastrowid
            conn.executemany(
                "INSERT INTO run_tool_calls (run_id, position, tool, success, duration_ms, error)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, i, call.tool, int(call.success), call.duration_ms, call.error)
                    for i, call in enumerate(record.tool_calls)
                ],
            )
        return record.model_copy(update={"id": run_id})

    def list_runs(self, session_id: str | None = None) -> list[RunMetrics]:
        sql, params = _scoped("SELECT * FROM run_metrics", session_id)
        with self._lock:
            runs = self._read(sql + " ORDER BY id", params)
            calls: dict[int, list[ToolCallMetric]] = {}
            call_sql, call_params = _scoped(
                "SELECT c.* FROM run_tool_calls c JOIN run_metrics r ON r.id = c.run_id", session_id, "r.session_id"
            )
            for c in self._read(call_sql + " ORDER BY c.run_id, c.position", call_params):
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
                at=_dt(r["at"]),
            )
            for r in runs
        ]


def _scoped(sql: str, session_id: str | None, column: str = "session_id") -> tuple[str, tuple[Any, ...]]:
    return (f"{sql} WHERE {column} = ?", (session_id,)) if session_id is not None else (sql, ())

