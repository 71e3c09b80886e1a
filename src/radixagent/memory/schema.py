"""The tables of a radixagent store, written once for SQLite and PostgreSQL, and the
migrations that bring an older database to the current version.

`TABLES` is the current schema. A `Dialect` (each backend has one) says how its database
spells what differs: column types, the auto-numbered key, the bound placeholder of a JSON
column, and whether a REFERENCES may name a table created later. `create_statements`
turns the tables into one dialect's DDL.

A new database is created from `TABLES` as it is now and stamped with `SCHEMA_VERSION`; an
older one runs the `MIGRATIONS` after its version. To change the schema:

1. change `TABLES` (what a new database gets);
2. append `Migration(N, "what changes", lambda d: [...])` to `MIGRATIONS`, with the
   statements that bring a version N-1 database to the same place (use `d.type("json")`,
   `d.type("timestamp")`, ... where the dialects differ), and a `rewrite` of the rows where
   their data changes shape (version 2: a message's metadata dict became its typed parts);
3. adapt the row <-> record functions in memory/sql.py.

`SCHEMA_VERSION` follows from the list. After any migration, every index of `TABLES` is
created where missing (so SQLite databases made before the indexes were shared get them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from radixagent.schemas import MessagePart, SummaryPart, ToolCallRecord, ToolResultPart, default_parts

ColumnType = Literal["text", "integer", "bigint", "real", "boolean", "json", "jsonb", "timestamp", "key", "sequence"]
"""What a column holds. `key`: the table's auto-numbered primary key. `sequence`: an
auto-numbered column giving the order rows were inserted in. `json` keeps its text as
written (tool schemas and metadata are rendered back into prompts); `jsonb` may normalise it."""

_QUOTED = frozenset({"timestamp"})
"""Column names that are SQL keywords, quoted wherever they are written."""


def quote(name: str) -> str:
    """A column name as written in SQL."""
    return f'"{name}"' if name in _QUOTED else name


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    constraints: str = ""
    """`NOT NULL`, `DEFAULT ...`, `CHECK (...)`, `UNIQUE`: the same text in every dialect."""
    references: str | None = None
    """`table(column) ON DELETE ...`: a foreign key."""
    label: str = ""
    """What the value is, for an error message about it ("engine settings")."""

    @property
    def what(self) -> str:
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    """Column names, each optionally followed by `DESC`."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name}")


@dataclass(frozen=True, eq=False)
class Dialect:
    """How one database spells the schema (one instance per backend, hashed by identity)."""

    name: str
    types: Mapping[ColumnType, str]
    """The SQL of each column type (for `key` and `sequence` with their key clause). A type
    missing here is not stored: the table's own `rowid` stands for it."""
    forward_references: bool
    """Whether a REFERENCES may name a table created after it; where not, that foreign key
    is added by ALTER TABLE once every table exists."""
    params: Mapping[ColumnType, str] = field(default_factory=dict)
    """The placeholder of a value bound to a column of this type, where not a plain `?`."""

    def type(self, column_type: ColumnType) -> str:
        return self.types[column_type]

    def stores(self, column: Column) -> bool:
        return column.type in self.types

    def param(self, column: Column) -> str:
        return self.params.get(column.type, "?")

    def name_of(self, column: Column) -> str:
        """How queries name `column`: itself, or `rowid` when the dialect does not store it."""
        return quote(column.name) if self.stores(column) else "rowid"


def _c(name: str, type_: ColumnType, constraints: str = "", references: str | None = None, label: str = "") -> Column:
    return Column(name, type_, constraints, references, label)


TABLES: tuple[Table, ...] = (
    Table(
        "sessions",
        (
            _c("id", "text", "PRIMARY KEY"),
            _c("seq", "sequence"),
            _c("title", "text", "NOT NULL DEFAULT ''"),
            _c("system_prompt", "text", "NOT NULL DEFAULT ''"),
            _c("tools", "json", "NOT NULL DEFAULT '[]'", label="tools config"),
            _c("engine_settings", "json", "NOT NULL DEFAULT '{}'"),
            _c("created_at", "timestamp", "NOT NULL"),
            _c("updated_at", "timestamp", "NOT NULL"),
            _c("head_node_id", "text", references="nodes(id) ON DELETE SET NULL"),
            _c("owner", "text", label="session owner"),
        ),
        (
            Index("sessions_by_update", ("updated_at DESC", "seq DESC")),
            Index("sessions_by_owner", ("owner", "updated_at DESC", "seq DESC")),
        ),
    ),
    Table(
        "nodes",
        (
            _c("seq", "key"),
            _c("id", "text", "NOT NULL UNIQUE"),
            _c("session_id", "text", "NOT NULL", "sessions(id) ON DELETE CASCADE"),
            _c("parent_id", "text", references="nodes(id) ON DELETE CASCADE"),
            _c("depth", "integer", "NOT NULL CHECK (depth >= 0)"),
            _c("kind", "text", "NOT NULL DEFAULT 'message'"),
            _c("source_id", "text"),
            _c("role", "text", "NOT NULL"),
            _c("content", "text", "NOT NULL"),
            _c("parts", "json", "NOT NULL DEFAULT '[]'", label="message parts"),
            _c("token_count", "integer"),
            _c("timestamp", "timestamp", "NOT NULL"),
            _c("created_at", "timestamp", "NOT NULL"),
            _c("prompt", "json"),
        ),
        (Index("nodes_by_session", ("session_id", "seq")), Index("nodes_by_parent", ("parent_id",))),
    ),
    Table(
        "requests",
        (
            _c("id", "text", "PRIMARY KEY"),
            _c("session_id", "text", "NOT NULL", "sessions(id) ON DELETE CASCADE"),
            _c("key", "text", "NOT NULL"),
            _c("digest", "text", "NOT NULL"),
            _c("result", "json", "NOT NULL", label="request result"),
            _c("at", "timestamp", "NOT NULL"),
        ),
        (Index("requests_by_session", ("session_id",)),),
    ),
    Table(
        "usage",
        (
            _c("id", "key"),
            _c("session_id", "text", "NOT NULL", "sessions(id) ON DELETE CASCADE"),
            _c("node_id", "text", references="nodes(id) ON DELETE SET NULL"),
            _c("prompt_tokens", "bigint", "NOT NULL"),
            _c("completion_tokens", "bigint", "NOT NULL"),
            _c("cached_tokens", "bigint", "NOT NULL"),
            _c("cacheable_tokens", "bigint", "NOT NULL"),
            _c("latency_ms", "real", "NOT NULL"),
            _c("at", "timestamp", "NOT NULL"),
        ),
        (Index("usage_by_session", ("session_id",)), Index("usage_by_node", ("node_id",))),
    ),
    Table(
        "feedback",
        (
            _c("id", "key"),
            _c("session_id", "text"),
            _c("node_id", "text"),
            _c("query", "text", "NOT NULL"),
            _c("response", "text", "NOT NULL"),
            _c("rating", "real", "NOT NULL CHECK (rating BETWEEN 1 AND 5)"),
            _c("comment", "text", "NOT NULL DEFAULT ''"),
            _c("metadata", "jsonb", "NOT NULL DEFAULT '{}'", label="feedback metadata"),
            _c("at", "timestamp", "NOT NULL"),
        ),
        (Index("feedback_by_session", ("session_id",)),),
    ),
    Table(
        "quality_assessments",
        (
            _c("id", "key"),
            _c("session_id", "text"),
            _c("node_id", "text"),
            _c("query", "text", "NOT NULL DEFAULT ''"),
            _c("response", "text", "NOT NULL DEFAULT ''"),
            _c("accuracy_score", "real", "NOT NULL"),
            _c("coherence_score", "real", "NOT NULL"),
            _c("completeness_score", "real", "NOT NULL"),
            _c("overall_score", "real", "NOT NULL"),
            _c("feedback_comment", "text", "NOT NULL"),
            _c("source", "text", "NOT NULL"),
            _c("at", "timestamp", "NOT NULL"),
        ),
        (Index("quality_assessments_by_session", ("session_id",)),),
    ),
    Table(
        "run_metrics",
        (
            _c("id", "key"),
            _c("session_id", "text"),
            _c("latency_ms", "real", "NOT NULL"),
            _c("prompt_tokens", "bigint", "NOT NULL"),
            _c("completion_tokens", "bigint", "NOT NULL"),
            _c("cached_tokens", "bigint", "NOT NULL"),
            _c("total_tokens", "bigint", "NOT NULL"),
            _c("cache_hit_rate", "real", "NOT NULL"),
            _c("success", "boolean", "NOT NULL"),
            _c("error", "text"),
            _c("at", "timestamp", "NOT NULL"),
        ),
        (Index("run_metrics_by_session", ("session_id",)),),
    ),
    Table(
        "run_tool_calls",
        (
            _c("id", "key"),
            _c("run_id", "bigint", "NOT NULL", "run_metrics(id) ON DELETE CASCADE"),
            _c("position", "integer", "NOT NULL"),
            _c("tool", "text", "NOT NULL"),
            _c("success", "boolean", "NOT NULL"),
            _c("duration_ms", "real", "NOT NULL"),
            _c("error", "text"),
        ),
        (Index("run_tool_calls_by_run", ("run_id",)),),
    ),
    Table(
        "approvals",
        (
            _c("id", "key"),
            _c("session_id", "text", "NOT NULL", "sessions(id) ON DELETE CASCADE"),
            _c("node_id", "text", "NOT NULL", "nodes(id) ON DELETE CASCADE"),
            _c("call_id", "text", "NOT NULL"),
            _c("decision", "text", "NOT NULL CHECK (decision IN ('approve', 'deny'))"),
            _c("reason", "text", "NOT NULL DEFAULT ''"),
            _c("at", "timestamp", "NOT NULL"),
        ),
        (Index("approvals_by_session", ("session_id",)),),
    ),
)

TABLE: Mapping[str, Table] = {t.name: t for t in TABLES}


def create_statements(dialect: Dialect, tables: Sequence[Table] = TABLES) -> list[str]:
    """The DDL creating `tables` (in order) and their indexes in `dialect`. A table that
    `tables` does not list is taken to exist already (a migration adding one table)."""
    statements: list[str] = []
    deferred: list[str] = []
    later = {t.name for t in tables}
    created: set[str] = set()
    for table in tables:
        created.add(table.name)
        lines = []
        for column in table.columns:
            if not dialect.stores(column):
                continue
            line = f"{quote(column.name)} {dialect.type(column.type)}"
            if column.constraints:
                line += f" {column.constraints}"
            if column.references is not None:
                target = column.references.split("(", 1)[0]
                if target in created or target not in later or dialect.forward_references:
                    line += f" REFERENCES {column.references}"
                else:
                    deferred.append(
                        f"ALTER TABLE {table.name} ADD CONSTRAINT {table.name}_{column.name.removesuffix('_id')}_fk"
                        f" FOREIGN KEY ({quote(column.name)}) REFERENCES {column.references}"
                    )
            lines.append(line)
        statements.append(f"CREATE TABLE {table.name} (\n    " + ",\n    ".join(lines) + "\n)")
    return statements + deferred + index_statements(dialect, tables)


def index_statements(dialect: Dialect, tables: Sequence[Table] = TABLES) -> list[str]:
    """`CREATE INDEX IF NOT EXISTS` for every index of `tables`. An index column the dialect
    does not store is left out (its rowid, which every SQLite index ends with, stands for it)."""
    statements = []
    for table in tables:
        for index in table.indexes:
            columns = [c for c in index.columns if dialect.stores(table.column(c.split()[0]))]
            statements.append(f"CREATE INDEX IF NOT EXISTS {index.name} ON {table.name}({', '.join(columns)})")
    return statements


Execute = Callable[[str, Sequence[Any]], Any]
"""Runs one `?`-style statement in the migration's transaction; returns the driver's cursor."""


@dataclass(frozen=True)
class Migration:
    """What brings a database at `version - 1` to `version`: DDL, then an optional rewrite of
    the data (in the same transaction)."""

    version: int
    summary: str
    statements: Callable[[Dialect], Sequence[str]]
    rewrite: Callable[[Dialect, Execute], None] | None = None


def _typed_parts(dialect: Dialect, execute: Execute) -> None:
    """Version 1 kept a message's extras in a metadata dict (a tool message's calls under
    "calls"); version 2 keeps its typed parts. The text of every message stays as it was."""
    param = dialect.param(TABLE["nodes"].column("parts"))
    for row in execute("SELECT id, role, content, kind, parts FROM nodes", ()).fetchall():
        metadata = row["parts"] if not isinstance(row["parts"], str) else json.loads(row["parts"])
        role, content = row["role"], row["content"]
        parts: list[MessagePart]
        if row["kind"] == "summary":
            replaces = metadata.get("compaction", {}).get("replaces", []) if isinstance(metadata, dict) else []
            parts = [SummaryPart(content=content, replaces=replaces)]
        elif role == "tool" and isinstance(metadata, dict) and metadata.get("calls"):
            parts = [ToolResultPart(record=ToolCallRecord.model_validate(c)) for c in metadata["calls"]]
        else:
            parts = default_parts(role, content)
        stored = json.dumps([p.model_dump(mode="json") for p in parts], ensure_ascii=False)
        execute(f"UPDATE nodes SET parts = {param} WHERE id = ?", (stored, row["id"]))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create every table", create_statements),
    Migration(
        2,
        "messages keep typed parts instead of a metadata dict",
        lambda d: [
            "ALTER TABLE nodes RENAME COLUMN metadata TO parts",
            *(["ALTER TABLE nodes ALTER COLUMN parts SET DEFAULT '[]'"] if d.name == "postgresql" else []),
        ],
        _typed_parts,
    ),
    Migration(
        3,
        "sessions belong to the API key that made them (a hash of it; NULL: made before keys, or without any)",
        lambda d: [f"ALTER TABLE sessions ADD COLUMN owner {d.type('text')}"],
    ),
    Migration(
        4,
        "a person's decisions on tool calls that wait for approval",
        lambda d: create_statements(d, [TABLE["approvals"]]),
    ),
    Migration(
        5,
        "a session's requests are answered once: the result of each message sent with an idempotency key",
        lambda d: create_statements(d, [TABLE["requests"]]),
    ),
)
"""Every schema change, oldest first; append to it (see the module docstring)."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema this radixagent reads and writes (table `schema_version` holds a database's)."""

assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1)), "MIGRATIONS must number 1, 2, 3, ..."


def upgrade(dialect: Dialect, found: int, execute: Execute) -> None:
    """Bring a database at version `found` (0: empty) to `SCHEMA_VERSION`."""
    if found == 0:
        for statement in create_statements(dialect):
            execute(statement, ())
        return
    for migration in MIGRATIONS[found:]:
        for statement in migration.statements(dialect):
            execute(statement, ())
        if migration.rewrite is not None:
            migration.rewrite(dialect, execute)
    for statement in index_statements(dialect):
        execute(statement, ())
