"""The default store: SQLite (stdlib `sqlite3`), one file in WAL mode.

Good for one process, or a few on one machine (SQLite serialises writers with a file lock).
Several server replicas on several machines share a `PostgresStore` instead.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from radixagent.errors import ConfigurationError, StoreError
from radixagent.memory.sql import LockMode, SQLStore
from radixagent.memory.store import default_db_path

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


class SQLiteStore(SQLStore):
    """The default store: one SQLite file in WAL mode.

    One connection guarded by a lock serves every thread: SQLite writes are serial anyway, and
    one connection keeps `:memory:` databases (tests, throwaway collectors) working.

    The queries are `SQLStore`'s; what is SQLite's own is below: timestamps stored as ISO text,
    JSON as text, and `BEGIN IMMEDIATE` (the database's write lock) standing for row locks."""

    SESSION_SEQ = "rowid"
    MIGRATIONS = _MIGRATIONS

    def __init__(self, path: str | Path | None = None, *, timeout: float = 10.0) -> None:
        self.path = ":memory:" if path == ":memory:" else Path(path) if path is not None else default_db_path()
        self.where = str(self.path)
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
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The one connection, held by this thread; sqlite3 errors come out as StoreError."""
        with self._lock, self._guard():
            yield self._conn

    def _snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        """Several reads with the connection held, so no write of this store comes between."""
        return self._connection()

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

    def _lock_clause(self, mode: LockMode) -> str:
        return ""  # BEGIN IMMEDIATE already holds the write lock on the whole database

    def _insert(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
        row_id = conn.execute(sql, params).lastrowid
        assert row_id is not None  # set by every successful INSERT
        return row_id

    def _to_ts(self, value: datetime) -> str:
        return value.isoformat()

    def _from_ts(self, value: str) -> datetime:
        return datetime.fromisoformat(value)

    def _from_json(self, value: str) -> Any:
        return json.loads(value)

    def _migrate(self) -> None:
        with self._transaction() as conn:
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if has_table is None:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            self._upgrade(conn, int(conn.execute("SELECT version FROM schema_version").fetchone()[0]))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
