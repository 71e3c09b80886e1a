"""Shared fixtures. Model-backed fixtures are session-scoped: the model loads once per run."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from radixagent.engine.models import default_model_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def model_path() -> str:
    return str(default_model_path())


@pytest.fixture(scope="session")
def llama_server_url(model_path: str) -> Iterator[str]:
    """A real llama.cpp server (xllamacpp) with the default model, on a free loopback port:
    the OpenAI-compatible HTTP peer for the HTTP engines' tests."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.n_parallel = 2
    params.n_ctx = 4096
    params.cpuparams.n_threads = 2
    params.warmup = False
    params.verbosity = -1
    params.port = free_port()
    params.hostnames = ["127.0.0.1"]
    server = xllamacpp.Server(params)
    url = f"http://127.0.0.1:{params.port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the llama.cpp test server at {url} did not come up")
        time.sleep(0.05)
    yield url
    del server


# --- PostgreSQL: a throwaway cluster for the PostgresStore tests --------------------------


def _postgres_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: from PATH (symlinks resolved, so all
    three come from one installation), else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    if found:
        bindir = Path(found).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]).parent if candidates else None


def _postgres_missing(reason: str) -> NoReturn:
    """Skip the PostgreSQL tests on a laptop without the server; in CI, fail instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the PostgreSQL tests: .ci/run installs the 'postgresql' package)")
    pytest.skip(f"{reason}: install the PostgreSQL server ('apt-get install postgresql') to run these tests")


class PostgresCluster:
    """A real PostgreSQL cluster in a temporary directory on a free loopback port (trust
    authentication, durability off for speed). `url` is its `postgres` database as the
    superuser; `stop()`/`start()` let a test take the server away and bring it back."""

    def __init__(self, bindir: Path, base: Path, as_postgres: list[str]) -> None:
        self.bindir, self.base, self.as_postgres = bindir, base, as_postgres
        self.data, self.log = base / "data", base / "server.log"
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_postgres, *map(str, args)], capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        made = self._run(
            self.bindir / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr or made.stdout}")

    def start(self) -> None:
        """Start on the same port as before, or on a free one the first time."""
        for _ in range(1 if self.port else 3):  # another process may take a free port first
            port = self.port or free_port()
            options = f"-p {port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
            started = self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", options, "start")
            if started.returncode == 0:
                self.port = port
                return
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr or started.stdout}\n{tail}")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the whole run, removed after it."""
    bindir = _postgres_bindir()
    if bindir is None:
        _postgres_missing("PostgreSQL server binaries (initdb, pg_ctl) not on PATH nor under /usr/lib/postgresql/*/bin")
    base = Path(tempfile.mkdtemp(prefix="radixagent-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb and pg_ctl refuse root
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            _postgres_missing("running as root and there is no 'postgres' user to run initdb and pg_ctl as")
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)), None
        )
        if runuser is None:
            shutil.rmtree(base, ignore_errors=True)
            _postgres_missing("running as root without runuser (util-linux) to run initdb and pg_ctl as 'postgres'")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_postgres = [runuser, "-u", "postgres", "--"]
    cluster = PostgresCluster(bindir, base, as_postgres)
    try:
        cluster.init()
        cluster.start()
        yield cluster
        cluster.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(postgres_cluster: PostgresCluster) -> str:
    """The URL of the throwaway cluster's `postgres` database, as the superuser."""
    return postgres_cluster.url


@pytest.fixture(scope="session")
def postgres_test_database(postgres_server: str) -> str:
    """The URL of one database for the store tests (made once: CREATE DATABASE takes ~0.5 s)."""
    import psycopg

    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute("CREATE DATABASE radixagent_test")
    return f"{postgres_server.rsplit('/', 1)[0]}/radixagent_test"


@pytest.fixture
def postgres_url(postgres_test_database: str) -> Iterator[str]:
    """The URL of a new, empty schema (first on the search_path) in the test database, so each
    test starts with no tables; dropped after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_test_database, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_test_database}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_test_database, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


class StoreBackend:
    """One database of one kind ('sqlite' or 'postgres'): `open()` gives a store on it (call it
    again for a second process's or replica's view), `sql()` reads it behind the store's back.
    Every store it opened is closed after the test."""

    def __init__(self, kind: str, location: str) -> None:
        self.kind = kind
        self.location = location
        self._opened: list[Any] = []

    def open(self) -> Any:
        from radixagent.memory import PostgresStore, SQLiteStore

        store = SQLiteStore(self.location) if self.kind == "sqlite" else PostgresStore(self.location)
        self._opened.append(store)
        return store

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one statement directly on the database (autocommit) and return its rows."""
        if self.kind == "sqlite":
            import sqlite3

            with sqlite3.connect(self.location) as conn:
                return [tuple(r) for r in conn.execute(statement).fetchall()]
        import psycopg

        with psycopg.connect(self.location, autocommit=True) as conn:
            cursor = conn.execute(statement)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def close_all(self) -> None:
        for store in self._opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        backend = StoreBackend("sqlite", str(tmp_path / "store.db"))
    else:
        backend = StoreBackend("postgres", request.getfixturevalue("postgres_url"))
    yield backend
    backend.close_all()


@pytest.fixture
def store(store_backend: StoreBackend) -> Any:
    """A fresh store, on each backend in turn."""
    return store_backend.open()


