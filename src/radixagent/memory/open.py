"""`open_store`: the store a path or URL names, so no other module needs to know the backends."""

from __future__ import annotations

from pathlib import Path

from radixagent.errors import ConfigurationError
from radixagent.memory.sqlite import SQLiteStore
from radixagent.memory.store import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | Path | None = None) -> Store:
    """The store at `location`: `postgresql://user:password@host:port/dbname` for PostgreSQL;
    a file path or `sqlite:///path` for SQLite; `:memory:` for a throwaway one. With no
    location: `RADIXAGENT_DATABASE_URL` when set, else `settings.data_dir / "radixagent.db"`."""
    if location is None:
        from radixagent.settings import get_settings

        location = get_settings().database_url
        if not location:
            return SQLiteStore()
    text = str(location).strip()
    if not text:
        raise ConfigurationError(
            "The store location is empty: give a file path, 'sqlite:///path' or 'postgresql://...'."
        )
    if text.startswith(POSTGRES_SCHEMES):
        from radixagent.memory.postgres import PostgresStore  # loads psycopg only when asked for

        return PostgresStore(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text:
        raise ConfigurationError(
            f"Unknown store URL {text.split('://', 1)[0]}://...: give a file path, 'sqlite:///path', ':memory:' "
            "or 'postgresql://user:password@host:port/dbname'."
        )
    return SQLiteStore(text)
