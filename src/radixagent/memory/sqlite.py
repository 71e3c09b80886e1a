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
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from radixagent.errors import ConfigurationError, StoreError
from radixagent.memory.schema import Dialect
from radixagent.memory.sql import LockMode, SQLStore

logger = logging.getLogger(__name__)

DEFAULT_DB_NAME = "radixagent.db"

SQLITE = Dialect(
    name="sqlite",
    types={
        "text": "TEXT",
        "integer": "INTEGER",
        "bigint": "INTEGER",
        "real": "REAL",
        "boolean": "INTEGER",
        "json": "TEXT",
        "jsonb": "TEXT",
        "timestamp": "TEXT",
        "key": "INTEGER PRIMARY KEY AUTOINCREMENT",
        # no "sequence": every table's rowid already numbers its rows in insertion order
    },
    forward_references=True,
)
"""SQLite's spelling of the schema: timestamps as ISO text, JSON as text, booleans as 0/1."""


def default_db_path() -> Path:
    """`settings.data_dir / "radixagent.db"`."""
    from radixagent.settings import get_settings

    return get_settings().data_dir / DEFAULT_DB_NAME


class SQLiteStore(SQLStore):
    """The default store: one SQLite file in WAL mode.

    One connection guarded by a lock serves every thread: SQLite writes are serial anyway, and
    one connection keeps `:memory:` databases (tests, throwaway collectors) working.

    The queries are `SQLStore`'s; what is SQLite's own is below: timestamps stored as ISO text,
    JSON as text, and `BEGIN IMMEDIATE` (the database's write lock) standing for row locks."""

    DIALECT = SQLITE
    blocks = False  # a local file: a write takes microseconds, less than a hop to a worker thread

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
        self._checkpointer: _Checkpointer | None = None
        if isinstance(self.path, Path) and self.journal_mode == "wal":
            with self._guard():
                self._conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's thread does it
            self._checkpointer = _Checkpointer(self.path, timeout)
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

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._conn.close()


CHECKPOINT_INTERVAL_S = 1.0


class _Checkpointer:
    """Copies the write-ahead log into the database file every second, from a thread and a
    connection of its own. SQLite's automatic checkpoint runs inside the commit that takes the
    log past 1000 pages, and its copy and fsync held that commit (on a server, the event loop)
    for milliseconds; a passive checkpoint here never blocks the store's writers."""

    def __init__(self, path: Path, timeout: float, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path, timeout, interval), name="radixagent-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self, path: Path, timeout: float, interval: float) -> None:
        try:
            conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            logger.warning("no checkpoints for %s (%s): SQLite's own will not run either; the log grows until the store closes", path, exc)
            return
        try:
            while not self._stop.wait(interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # busy, or the file went away: the next round tries again
                    logger.debug("checkpoint of %s skipped: %s", path, exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
