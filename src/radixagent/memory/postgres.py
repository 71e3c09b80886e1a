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

psycopg comes with the `postgres` extra (`pip install 'radixagent[postgres]'`); without it,
importing this module (or opening a postgresql:// URL) raises `ConfigurationError` saying so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache
from typing import Any

from radixagent.errors import ConfigurationError, StoreError, StoreUnavailableError
from radixagent.extras import requires_extra
from radixagent.memory.schema import Dialect
from radixagent.memory.sql import SQLStore

with requires_extra("postgres", "The PostgreSQL store (PostgresStore, postgresql:// database URLs)"):
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.pq import TransactionStatus
    from psycopg.rows import DictRow, dict_row

Connection = psycopg.Connection[DictRow]

POSTGRESQL = Dialect(
    name="postgresql",
    types={
        "text": "TEXT",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "real": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        "json": "JSON",
        "jsonb": "JSONB",
        "timestamp": "TIMESTAMPTZ",
        "key": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "sequence": "BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE",
    },
    forward_references=False,
    params={"json": "?::json", "jsonb": "?::jsonb"},
)
"""PostgreSQL's spelling of the schema: native JSON, TIMESTAMPTZ, BOOLEAN, identity columns;
a text bound to a JSON column is cast to it."""

_MIGRATION_LOCK = 0x72616469786167
"""Advisory lock key ("radixag") held while migrating, so concurrent replicas migrate once."""

_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
"""SQLSTATEs meaning the server is unreachable, shutting down or full: worth retrying later."""


@lru_cache(maxsize=256)
def _placeholders(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (the queries hold no other `?` and no `%`)."""
    return sql.replace("?", "%s")


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


class PostgresStore(SQLStore):
    """A store in one PostgreSQL database, shared by every replica pointed at it.

    `url` is a libpq URL or conninfo string (`postgresql://user:password@host:5432/dbname`).
    The database must exist; the tables are created on first use. Calls from many threads
    share at most `max_connections` connections; a call waits up to `wait_timeout` seconds
    for one to be free, and up to `connect_timeout` for the server to answer a new one.

    The queries are `SQLStore`'s; what is PostgreSQL's own is below: the pool, row locks,
    `RETURNING id`, pipelined inserts, and JSON and timestamps bound and read natively."""

    DIALECT = POSTGRESQL

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
            self._migrate()
        except BaseException:
            self._pool.close()
            raise

    # --- plumbing ------------------------------------------------------------------------

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

    def _lock_schema(self, conn: Connection) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    def close(self) -> None:
        """Close every pooled connection; the store cannot be used afterwards."""
        self._pool.close()

    def _sql(self, sql: str) -> str:
        return _placeholders(sql)

    def _insert(self, conn: Connection, sql: str, params: Sequence[Any]) -> int:
        row = conn.execute(_placeholders(sql + " RETURNING id"), params).fetchone()
        assert row is not None  # INSERT ... RETURNING always returns the row
        return int(row["id"])

    def _executemany(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(_placeholders(sql), rows)

    def _batch(self, conn: Connection) -> AbstractContextManager[Any]:
        return conn.pipeline()

    def _id_in(self, column: str, ids: Collection[str]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(ids)]
