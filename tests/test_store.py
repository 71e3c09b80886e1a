"""The stores: persistence across a reopen, transactions that never half-write, schema
versioning, typed errors. Tests taking `store` or `store_backend` run on SQLite and on a real
PostgreSQL server (tests/conftest.py); then SQLite's WAL and files, and PostgreSQL's replicas
sharing one database, server failures and restarts."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import PostgresCluster, StoreBackend
from radixagent.errors import (
    ConfigurationError,
    InputError,
    NodeNotFoundError,
    SchemaVersionError,
    SessionNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from radixagent.memory import (
    SCHEMA_VERSION,
    ApprovalRecord,
    AssessmentRecord,
    ConversationTree,
    FeedbackRecord,
    PostgresStore,
    PromptRecord,
    RequestRecord,
    RunMetrics,
    SessionRecord,
    SQLiteStore,
    Store,
    ToolCallMetric,
    UsageRecord,
    open_store,
)
from radixagent.memory.tree import make_node, new_message
from radixagent.schemas import (
    ApprovalRequestPart,
    DecisionPart,
    MessagePart,
    ObservationPart,
    QualityAssessment,
    SummaryPart,
    ToolCall,
    ToolCallPart,
    ToolCallRecord,
    ToolSchema,
    UserTextPart,
)


def _session(store: Any, system: str = "sys") -> tuple[SessionRecord, ConversationTree]:
    tree = ConversationTree(system)
    session = store.create_session(
        SessionRecord(
            title="t",
            tools=[ToolSchema(name="add", description="adds", parameters={"type": "object"})],
            engine_settings={"engine": "scripted", "temperature": 0.0},
        ),
        tree.root,
    )
    return session, tree


def _node(parent: Any, role: Any, content: str, parts: list[MessagePart] | None = None) -> Any:
    return make_node(parent, new_message(role, content, parts or []))


# --- both backends -------------------------------------------------------------------------


def test_a_store_is_a_store_at_the_current_schema(store: Any) -> None:
    assert store.schema_version == SCHEMA_VERSION
    assert isinstance(store, Store)


def test_everything_survives_a_reopen(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    session, tree = _session(store)
    u = tree.add_message("user", "hello")
    a = tree.add_message(
        "assistant",
        "hi",
        [DecisionPart(action="call"), ToolCallPart(call=ToolCall(id="c1", tool_name="add")), ApprovalRequestPart(call_id="c1")],
        prompt=PromptRecord(prompt_text="p", prompt_token_ids=[1, 2], output_token_ids=[3]),
    )
    store.add_nodes(session.id, [u, a], head_id=a.id)
    approval = store.add_approval(ApprovalRecord(session_id=session.id, node_id=a.id, call_id="c1", decision="deny", reason="no"))
    store.add_usage(
        UsageRecord(session_id=session.id, node_id=a.id, prompt_tokens=10, cached_tokens=4, cacheable_tokens=5)
    )
    store.add_feedback(FeedbackRecord(session_id=session.id, query="q", response="r", rating=4, metadata={"k": 1}))
    qa = QualityAssessment(
        accuracy_score=4, coherence_score=5, completeness_score=3, overall_score=4, feedback_comment="ok"
    )
    store.add_assessment(AssessmentRecord(query="q", response="r", assessment=qa, source="judge"))
    store.add_run(RunMetrics(latency_ms=12.5, prompt_tokens=10, tool_calls=[ToolCallMetric(tool="add", success=False)]))
    store.close()

    again = store_backend.open()
    loaded = again.get_session(session.id)
    assert loaded.model_dump(exclude={"updated_at"}) == session.model_dump(exclude={"updated_at", "head_node_id"}) | {
        "head_node_id": a.id
    }
    nodes = again.load_nodes(session.id)
    assert [n.model_dump() for n in nodes] == [n.model_dump() for n in tree.nodes()]
    rebuilt = ConversationTree.from_nodes(nodes, loaded.head_node_id)
    assert rebuilt.messages() == tree.messages()
    assert again.usage_totals(session.id).cache_hit_rate == pytest.approx(0.4)
    assert again.usage_totals(session.id).prefix_efficiency == pytest.approx(0.8)
    assert again.usage_totals().model_dump() == again.usage_totals(session.id).model_dump()
    assert again.list_usage(session.id)[0].node_id == a.id
    assert again.list_feedback()[0].metadata == {"k": 1}
    assert again.list_feedback(session.id)[0].rating == 4
    assert again.list_assessments()[0].assessment == qa
    run = again.list_runs()[0]
    assert run.tool_calls == [ToolCallMetric(tool="add", success=False)]
    assert run.total_tokens == 10
    assert [s.id for s in again.list_sessions()] == [session.id]
    assert again.list_approvals(session.id) == [approval] and approval.id is not None


def test_json_comes_back_as_written(store: Any) -> None:
    """Tool schemas are rendered into prompts: their keys must come back in the order given
    (a reordered schema would be a different prompt prefix for the engine's cache)."""
    parameters = {
        "type": "object",
        "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer", "maximum": 3}, "mid": {}},
        "required": ["zeta"],
    }
    tool = ToolSchema(name="z", description="keys out of order", parameters=parameters)
    tree = ConversationTree("sys")
    session = store.create_session(SessionRecord(tools=[tool], engine_settings={"b": 1, "a": [2.5, None]}), tree.root)
    call = ToolCall(id="c1", tool_name="z", arguments={"z": {"y": 1, "x": "é"}, "a": True}, confidence=0.5)
    node = tree.add_message("assistant", "ü → 日本", [DecisionPart(action="call", confidence=0.5), ToolCallPart(call=call)])
    store.add_nodes(session.id, [node], head_id=node.id)
    loaded = store.get_session(session.id)
    assert loaded.tools[0].model_dump_json() == tool.model_dump_json()
    assert list(loaded.engine_settings) == ["b", "a"]
    stored = store.load_nodes(session.id)[-1]
    assert stored.content == "ü → 日本"
    (stored_call,) = stored.message.tool_calls
    assert stored_call == call
    assert list(stored_call.arguments) == ["z", "a"] and list(stored_call.arguments["z"]) == ["y", "x"]


def test_unknown_ids_raise_typed_errors(store: Any) -> None:
    session, tree = _session(store)
    other, other_tree = _session(store)
    with pytest.raises(SessionNotFoundError):
        store.get_session("nope")
    with pytest.raises(SessionNotFoundError):
        store.load_nodes("nope")
    with pytest.raises(SessionNotFoundError):
        store.update_session("nope", title="x")
    with pytest.raises(SessionNotFoundError):
        store.delete_session("nope")
    with pytest.raises(SessionNotFoundError):
        store.add_nodes("nope", [_node(tree.root, "user", "x")])
    with pytest.raises(NodeNotFoundError):
        store.set_head(session.id, "nope")
    with pytest.raises(NodeNotFoundError):  # a node of another session is not this session's
        store.set_head(session.id, other_tree.root_id)
    orphan = _node(other_tree.root, "user", "x")
    with pytest.raises(NodeNotFoundError):
        store.add_nodes(session.id, [orphan])
    with pytest.raises(NodeNotFoundError):  # usage may not point at another session's node
        store.add_usage(UsageRecord(session_id=session.id, node_id=other_tree.root_id))
    with pytest.raises(InputError):
        store.list_sessions(limit=0)
    with pytest.raises(StoreError, match="duplicate|UNIQUE"):  # the same session twice
        store.create_session(SessionRecord(id=session.id), ConversationTree("s").root)


def test_a_failure_mid_write_writes_nothing(store: Any) -> None:
    """The third of four nodes fails (a part is not JSON): the first two, already
    inserted in the same transaction, must be gone too, and the head must not have moved."""
    session, tree = _session(store)
    n1 = _node(tree.root, "user", "one")
    n2 = _node(n1, "assistant", "two")
    n3 = _node(n2, "assistant", "three", [ToolCallPart(call=ToolCall(tool_name="t", arguments={"bad": object()}))])
    n4 = _node(n3, "assistant", "four")
    with pytest.raises(InputError, match="JSON"):
        store.add_nodes(session.id, [n1, n2, n3, n4], head_id=n4.id)
    assert [n.id for n in store.load_nodes(session.id)] == [tree.root_id]
    assert store.get_session(session.id).head_node_id == tree.root_id
    # an id another session's node has is found taken once the nodes before it are inserted:
    # rolled back the same way
    other, other_tree = _session(store)
    taken = _node(other_tree.root, "user", "elsewhere")
    store.add_nodes(other.id, [taken])
    with pytest.raises(InputError, match="taken"):
        store.add_nodes(session.id, [n1, n2, _node(n2, "user", "mine").model_copy(update={"id": taken.id})], head_id=n2.id)
    assert [n.id for n in store.load_nodes(session.id)] == [tree.root_id]
    assert [n.content for n in store.load_nodes(other.id)] == ["sys", "elsewhere"]
    # a head that is not in the session rolls back the nodes written before it
    with pytest.raises(NodeNotFoundError):
        store.add_nodes(session.id, [n1, n2], head_id="elsewhere")
    assert [n.id for n in store.load_nodes(session.id)] == [tree.root_id]
    # and the store still works afterwards
    store.add_nodes(session.id, [n1, n2], head_id=n2.id)
    assert len(store.load_nodes(session.id)) == 3


def test_a_write_retried_after_it_committed_stores_nothing_twice(store: Any) -> None:
    """The commit went through but its answer was lost (the connection dropped): the retry of
    the same nodes, with their usage, stores nothing again and still moves the head."""
    session, tree = _session(store)
    n1 = _node(tree.root, "user", "one")
    n2 = _node(n1, "assistant", "two")
    usage = UsageRecord(session_id=session.id, node_id=n2.id, prompt_tokens=10, completion_tokens=2)
    first = store.add_nodes(session.id, [n1, n2], head_id=n2.id, usage=[usage])
    assert store.get_session(session.id).updated_at == first
    store.set_head(session.id, tree.root_id)
    store.add_nodes(session.id, [n1, n2], head_id=n2.id, usage=[usage])
    assert [n.content for n in store.load_nodes(session.id)] == ["sys", "one", "two"]
    assert store.get_session(session.id).head_node_id == n2.id
    assert [u.node_id for u in store.list_usage(session.id)] == [n2.id]
    # the same id under another parent is another node: refused, nothing written
    with pytest.raises(InputError, match="taken"):
        store.add_nodes(session.id, [n1.model_copy(update={"parent_id": n2.id, "depth": 3})])
    assert len(store.load_nodes(session.id)) == 3


def test_a_request_answer_is_kept_once_per_key_and_goes_with_its_session(store: Any) -> None:
    session, _ = _session(store)
    assert store.get_request(session.id, "k") is None
    first = store.add_request(RequestRecord(session_id=session.id, key="k", digest="d1", result={"answer": "first"}))
    # a repeat that ran at the same time elsewhere: the first answer stays, and is what both get
    second = store.add_request(RequestRecord(session_id=session.id, key="k", digest="d1", result={"answer": "second"}))
    assert second.result == first.result == {"answer": "first"}
    assert store.get_request(session.id, "k") == first
    other, _ = _session(store)
    assert store.get_request(other.id, "k") is None  # keys are per session
    with pytest.raises(SessionNotFoundError):
        store.add_request(RequestRecord(session_id="nope", key="k", digest="d", result={}))
    store.delete_session(session.id)
    assert store.get_request(session.id, "k") is None


def test_a_crash_mid_write_leaves_nothing_half_written(store_backend: StoreBackend) -> None:
    """A real process dies (os._exit) after inserting 4 nodes inside one transaction, just
    before moving the head and committing; a new store on the same database sees the
    conversation as it was before the write."""
    store = store_backend.open()
    session, tree = _session(store)
    first = tree.add_message("user", "kept")
    store.add_nodes(session.id, [first], head_id=first.id)
    store.close()
    cls = "SQLiteStore" if store_backend.kind == "sqlite" else "PostgresStore"
    script = textwrap.dedent(
        f"""
        import os
        from radixagent.memory import {cls} as Base
        from radixagent.memory.tree import make_node, new_message

        class Dying(Base):
            def _set_head(self, conn, session_id, node_id, now=None):
                # the 4 new nodes are in the database, uncommitted: show it, then die
                print(conn.execute("SELECT COUNT(*) AS n FROM nodes").fetchone()["n"], flush=True)
                os._exit(3)

        store = Dying({store_backend.location!r})
        parent = store.load_nodes({session.id!r})[-1]
        nodes = []
        for i in range(4):
            parent = make_node(parent, new_message("assistant" if i % 2 == 0 else "user", f"lost {{i}}"))
            nodes.append(parent)
        store.add_nodes({session.id!r}, nodes, head_id=nodes[-1].id)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["6"]  # root + kept + 4, seen inside the dying transaction
    again = store_backend.open()
    nodes = again.load_nodes(session.id)
    assert [n.content for n in nodes] == ["sys", "kept"]
    assert again.get_session(session.id).head_node_id == first.id
    assert store_backend.sql("SELECT COUNT(*) FROM nodes") == [(2,)]


def test_run_and_its_tool_calls_are_one_write(store_backend: StoreBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tool-call insert fails after the run row is written: neither stays."""
    store = store_backend.open()

    class Boom(Exception):
        pass

    def boom(*args: object, **kwargs: object) -> None:
        raise Boom()

    if store_backend.kind == "sqlite":
        original = store._conn

        class FailingExecutemany:
            def __getattr__(self, name: str) -> object:
                return getattr(original, name)

            executemany = staticmethod(boom)

        monkeypatch.setattr(store, "_conn", FailingExecutemany())
    else:
        monkeypatch.setattr(psycopg.Cursor, "executemany", boom)
    with pytest.raises(Boom):
        store.add_run(RunMetrics(latency_ms=1.0, tool_calls=[ToolCallMetric(tool="x")]))
    monkeypatch.undo()
    assert store.list_runs() == []
    assert store_backend.sql("SELECT COUNT(*) FROM run_metrics") == [(0,)]
    stored = store.add_run(RunMetrics(latency_ms=1.0, tool_calls=[ToolCallMetric(tool="x")]))
    assert store.list_runs() == [stored]


def test_delete_session_removes_tree_and_usage(store_backend: StoreBackend) -> None:
    store = store_backend.open()
    session, tree = _session(store)
    kept, _ = _session(store)
    nodes = [tree.add_message("user", "a"), tree.add_message("assistant", "b")]
    store.add_nodes(session.id, nodes, head_id=nodes[-1].id)
    store.add_usage(UsageRecord(session_id=session.id, node_id=nodes[-1].id, prompt_tokens=5))
    store.add_feedback(FeedbackRecord(session_id=session.id, query="q", response="r", rating=2))
    store.add_approval(ApprovalRecord(session_id=session.id, node_id=nodes[-1].id, call_id="c1", decision="approve"))
    with pytest.raises(NodeNotFoundError):  # a decision is on a turn of its own session
        store.add_approval(ApprovalRecord(session_id=kept.id, node_id=nodes[-1].id, call_id="c1", decision="approve"))
    store.delete_session(session.id)
    with pytest.raises(SessionNotFoundError):
        store.get_session(session.id)
    assert store_backend.sql("SELECT COUNT(*) FROM nodes") == [(1,)]  # the other session's root
    assert store.list_usage() == [] and store_backend.sql("SELECT COUNT(*) FROM approvals") == [(0,)]
    assert len(store.list_feedback()) == 1  # ratings are kept for the aggregates
    assert store.get_session(kept.id).head_node_id is not None


def test_update_and_list_sessions(store: Any) -> None:
    first, _ = _session(store, "one")
    second, _ = _session(store, "two")
    updated = store.update_session(first.id, title="renamed", engine_settings={"model": "m"}, tools=[])
    assert (updated.title, updated.engine_settings, updated.tools) == ("renamed", {"model": "m"}, [])
    assert store.get_session(first.id) == updated
    assert [s.id for s in store.list_sessions()] == [first.id, second.id]
    assert [s.id for s in store.list_sessions(limit=1, offset=1)] == [second.id]


def test_sessions_are_listed_by_owner(store: Any) -> None:
    """A session keeps the owner it was made with (a hash of an API key); listing by owner
    shows that owner's sessions only, listing without one shows them all."""
    tree = ConversationTree("sys")
    mine = store.create_session(SessionRecord(owner="a" * 64), tree.root)
    theirs = store.create_session(SessionRecord(owner="b" * 64), ConversationTree("sys").root)
    nobody = store.create_session(SessionRecord(), ConversationTree("sys").root)
    assert store.get_session(mine.id).owner == "a" * 64 and store.get_session(nobody.id).owner is None
    assert [s.id for s in store.list_sessions(owner="a" * 64)] == [mine.id]
    assert [s.id for s in store.list_sessions(owner="b" * 64)] == [theirs.id]
    assert {s.id for s in store.list_sessions()} == {mine.id, theirs.id, nobody.id}
    node = _node(tree.root, "user", "hi")
    store.add_nodes(mine.id, [node], head_id=node.id)  # writing keeps the owner
    assert store.get_session(mine.id).owner == "a" * 64


def test_threads_share_one_store(store: Any) -> None:
    session, tree = _session(store)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            parent = tree.root
            for j in range(20):
                node = _node(parent, "user", f"{i}-{j}")
                store.add_nodes(session.id, [node])
                store.add_usage(UsageRecord(session_id=session.id, node_id=node.id, prompt_tokens=1))
                parent = node
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.load_nodes(session.id)) == 1 + 80
    assert store.usage_totals(session.id).calls == 80


def test_a_newer_schema_is_refused(store_backend: StoreBackend) -> None:
    store_backend.open().close()
    store_backend.sql(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match="upgrade radixagent"):
        store_backend.open()


def test_bad_records_are_refused_before_the_database(store: Any) -> None:
    with pytest.raises(ValueError):
        FeedbackRecord(query="q", response="r", rating=6)
    with pytest.raises(SessionNotFoundError):
        store.add_usage(UsageRecord(session_id="nope"))
    root = ConversationTree("s").root
    with pytest.raises(InputError):
        store.create_session(SessionRecord(), _node(root, "user", "x"))
    with pytest.raises(InputError, match="JSON"):
        store.create_session(SessionRecord(engine_settings={"x": object()}), root)
    assert store.list_sessions() == []


# --- the schema ----------------------------------------------------------------------------

# The DDL of schema version 1 exactly as radixagent wrote it before the tables were defined once
# (memory/schema.py): databases made by it must keep opening, and new ones must be the same.
_V1_DDL = {
    "sqlite": """
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
""",
    "postgres": """
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
""",
}

_V1_ONLY_POSTGRES_INDEXED = {
    "sessions_by_update",
    "usage_by_node",
    "feedback_by_session",
    "quality_assessments_by_session",
    "run_metrics_by_session",
}
"""The indexes v1 made on PostgreSQL only; the one schema makes them on SQLite too."""


def _make_v1(backend: StoreBackend) -> None:
    for statement in _V1_DDL[backend.kind].split(";"):
        if statement.strip():
            backend.sql(statement)
    backend.sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    backend.sql("INSERT INTO schema_version (version) VALUES (1)")


def _catalog(backend: StoreBackend) -> dict[str, set[tuple[Any, ...]]]:
    """What the database holds: columns (type, null, default, key), constraints, indexes."""
    if backend.kind == "sqlite":
        tables = [
            t for (t,) in backend.sql("SELECT name FROM sqlite_master WHERE type = 'table'") if t != "sqlite_sequence"
        ]
        return {
            "columns": {(t, *c) for t in tables for c in backend.sql(f"SELECT * FROM pragma_table_info('{t}')")},
            "references": {
                (t, *r[2:]) for t in tables for r in backend.sql(f"SELECT * FROM pragma_foreign_key_list('{t}')")
            },
            "indexes": {
                (i, t, *c)
                for t in tables
                for (i,) in backend.sql(f"SELECT name FROM pragma_index_list('{t}')")
                for c in backend.sql(f"SELECT * FROM pragma_index_xinfo('{i}')")
            },
        }
    here = "table_schema = current_schema()"
    return {
        "columns": set(
            backend.sql(
                "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity,"
                f" identity_generation FROM information_schema.columns WHERE {here}"
            )
        ),
        "references": set(
            backend.sql(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE connamespace = current_schema()::regnamespace"
            )
        ),
        "indexes": set(backend.sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")),
    }


def _empty(backend: StoreBackend) -> None:
    if backend.kind == "sqlite":
        Path(backend.location).unlink()
    else:
        (schema,) = backend.sql("SELECT current_schema()")[0]
        backend.sql(f"DROP SCHEMA {schema} CASCADE")
        backend.sql(f"CREATE SCHEMA {schema}")


def test_a_migrated_v1_database_has_the_tables_a_new_one_has(store_backend: StoreBackend) -> None:
    """Version 2 renamed nodes.metadata to parts; otherwise the schema is v1's, made once."""
    _make_v1(store_backend)
    store_backend.open().close()
    migrated = _catalog(store_backend)
    _empty(store_backend)
    store_backend.open().close()
    fresh = _catalog(store_backend)
    if store_backend.kind == "sqlite":  # SQLite cannot change a column's default: the renamed one keeps v1's '{}'
        # pragma_table_info rows: (table, cid, name, type, notnull, default, pk)
        assert migrated["columns"] - fresh["columns"] == {("nodes", 9, "parts", "TEXT", 1, "'{}'", 0)}
        assert fresh["columns"] - migrated["columns"] == {("nodes", 9, "parts", "TEXT", 1, "'[]'", 0)}
    else:
        assert migrated["columns"] == fresh["columns"]
    assert migrated["references"] == fresh["references"]
    assert migrated["indexes"] == fresh["indexes"]


def test_a_database_made_by_v1_opens_with_its_messages_typed(store_backend: StoreBackend) -> None:
    """Rows written by v1 (a metadata dict per message; a tool message's calls under "calls";
    a compaction's summary) come back as typed parts, their text unchanged."""
    _make_v1(store_backend)
    at = "2026-12-01T10:00:00+00:00"
    record = {"id": "c1", "tool": "add", "arguments": {"a": 2, "b": 40}, "result": "42", "duration_ms": 1.5}
    store_backend.sql(
        "INSERT INTO sessions (id, title, system_prompt, tools, engine_settings, created_at, updated_at)"
        f" VALUES ('s1', '', 'sys', '[]', '{{}}', '{at}', '{at}')"
    )
    rows = [
        ("n0", None, 0, "message", "system", "sys", "{}"),
        ("n1", "n0", 1, "message", "user", "What is 2 + 40?", "{}"),
        ("n2", "n1", 2, "message", "assistant", "Action: add", "{}"),
        ("n3", "n2", 3, "message", "tool", "[tool] add returned: 42", json.dumps({"calls": [record]})),
        ("n4", "n0", 1, "summary", "system", "Summary: adding", json.dumps({"compaction": {"replaces": ["n1", "n2"]}})),
    ]
    for node_id, parent, depth, kind, role, content, metadata in rows:
        parent_sql = "NULL" if parent is None else f"'{parent}'"
        store_backend.sql(
            "INSERT INTO nodes (id, session_id, parent_id, depth, kind, role, content, metadata, \"timestamp\", created_at)"
            f" VALUES ('{node_id}', 's1', {parent_sql}, {depth}, '{kind}', '{role}', '{content}', '{metadata}', '{at}', '{at}')"
        )
    store = store_backend.open()
    assert store.schema_version == SCHEMA_VERSION == 5
    assert store.get_session("s1").owner is None  # made before owners: only an admin key reaches it
    nodes = {n.id: n.message for n in store.load_nodes("s1")}
    assert [nodes[i].content for i in ("n0", "n1", "n2", "n3", "n4")] == [r[5] for r in rows]
    assert nodes["n1"].parts == [UserTextPart(content="What is 2 + 40?")]
    assert nodes["n2"].parts == [DecisionPart()]  # v1 did not keep what the turn decided
    assert nodes["n3"].tool_results == [ToolCallRecord.model_validate(record)]
    assert nodes["n4"].parts == [SummaryPart(content="Summary: adding", replaces=["n1", "n2"])]
    # and the migrated database takes new messages as any other
    session, tree = _session(store)
    node = tree.add_message("observation", "retry", [ObservationPart(content="retry")])
    store.add_nodes(session.id, [node], head_id=node.id)
    assert store.load_nodes(session.id)[-1].message.parts == [ObservationPart(content="retry")]


def test_a_v3_database_gains_the_approvals_and_requests_tables_and_keeps_its_sessions(store_backend: StoreBackend) -> None:
    """Version 4 adds the table of approval decisions, version 5 the answers to idempotent
    requests (v3's schema is today's without both); what a v3 database holds stays, and the
    tables come out as a new database has them."""
    v3 = store_backend.open()
    fresh = _catalog(store_backend)
    session, tree = _session(v3)
    turn = tree.add_message("assistant", "Action: add", [DecisionPart(action="call"), ApprovalRequestPart(call_id="c1")])
    v3.add_nodes(session.id, [turn], head_id=turn.id)
    v3.close()
    store_backend.sql("DROP TABLE approvals")
    store_backend.sql("DROP TABLE requests")
    store_backend.sql("UPDATE schema_version SET version = 3")
    store = store_backend.open()
    assert store.schema_version == SCHEMA_VERSION == 5
    assert _catalog(store_backend) == fresh
    assert store.load_nodes(session.id)[-1].message.parts == turn.message.parts
    stored = store.add_approval(ApprovalRecord(session_id=session.id, node_id=turn.id, call_id="c1", decision="approve"))
    assert store.list_approvals(session.id) == [stored]
    store.close()
    store_backend.open().close()  # a second open finds version 5 and changes nothing


def test_a_migration_appended_to_the_list_runs_once(
    store_backend: StoreBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How a later schema version arrives: a `Migration` appended to `MIGRATIONS`. It runs once,
    on the first open, and after it every index of the schema exists (here: the ones a v1
    SQLite database lacks)."""
    from radixagent.memory import schema, sql

    _make_v1(store_backend)
    added = schema.Migration(
        SCHEMA_VERSION + 1,
        "a column for the test",
        lambda d: [f"ALTER TABLE feedback ADD COLUMN extra {d.type('json')}"],
    )
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, added))
    monkeypatch.setattr(sql, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    assert store_backend.open().schema_version == SCHEMA_VERSION + 1
    assert store_backend.open().schema_version == SCHEMA_VERSION + 1  # a second run would fail: the column exists
    assert store_backend.sql("SELECT COUNT(*) FROM feedback WHERE extra IS NULL") == [(0,)]
    indexes = {i[0] for i in _catalog(store_backend)["indexes"]}
    assert _V1_ONLY_POSTGRES_INDEXED <= indexes


# --- SQLite --------------------------------------------------------------------------------


def test_sqlite_store_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    assert store.journal_mode == "wal"
    with sqlite3.connect(tmp_path / "a.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_sqlite_checkpoints_in_its_own_thread_not_in_a_commit(tmp_path: Path) -> None:
    """The store's commits never copy the log into the file (that copy and its fsync stalled
    the commit that crossed 1000 pages); a thread of the store's does, within a second or two,
    and stops when the store closes."""
    store = SQLiteStore(tmp_path / "c.db")
    assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    session, tree = _session(store)
    parent = tree.root
    for i in range(200):
        node = _node(parent, "user" if i % 2 else "assistant", "x" * 2000)
        store.add_nodes(session.id, [node], head_id=node.id)
        parent = node
    before = (tmp_path / "c.db").stat().st_size
    deadline = time.monotonic() + 10
    while (tmp_path / "c.db").stat().st_size <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "c.db").stat().st_size > before + 200 * 2000
    checkpointer = store._checkpointer
    assert checkpointer is not None and checkpointer._thread.is_alive()
    store.close()
    assert not checkpointer._thread.is_alive()


def test_default_path_is_under_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADIXAGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RADIXAGENT_DATABASE_URL", raising=False)
    store = open_store()
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "data" / "radixagent.db"
    assert store.path.is_file()
    monkeypatch.setenv("RADIXAGENT_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert isinstance(open_store(), SQLiteStore)
    assert (tmp_path / "env.db").is_file()


def test_open_store_locations(tmp_path: Path) -> None:
    assert isinstance(open_store(f"sqlite:///{tmp_path / 'x.db'}"), SQLiteStore)
    assert (tmp_path / "x.db").is_file()
    assert isinstance(open_store(tmp_path / "y.db"), SQLiteStore)
    memory = open_store(":memory:")
    assert isinstance(memory, SQLiteStore) and memory.journal_mode == "memory"
    with pytest.raises(ConfigurationError, match="postgresql://"):
        open_store("mysql://user:secret@localhost/db")
    with pytest.raises(ConfigurationError, match="empty"):
        open_store("  ")
    with pytest.raises(ConfigurationError, match="directory"):
        SQLiteStore(tmp_path)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a radixagent database"):
        SQLiteStore(path)


# --- PostgreSQL ----------------------------------------------------------------------------


def test_open_store_picks_postgres(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with closing(open_store(postgres_url)) as store:
        assert isinstance(store, PostgresStore)
    with closing(open_store(postgres_url.replace("postgresql://", "postgres://", 1))) as store:
        assert isinstance(store, PostgresStore)
    monkeypatch.setenv("RADIXAGENT_DATABASE_URL", postgres_url)
    with closing(open_store()) as store:
        assert isinstance(store, PostgresStore)
        assert store.where.startswith("postgres@127.0.0.1:") and store.where.endswith("/radixagent_test")


def test_two_replicas_write_one_session_at_once(postgres_url: str) -> None:
    """Two PostgresStore objects (two replicas, each with its own connections), three threads
    on each, all appending to one session at the same time: every node is stored exactly once
    under its parent, every usage row counted, the head is one of the nodes written."""
    url = f"{postgres_url}&application_name=replica_test"
    replicas = [PostgresStore(url, max_connections=3), PostgresStore(url, max_connections=3)]
    try:
        session, tree = _session(replicas[0])
        writers, rounds = 6, 12
        start = threading.Barrier(writers)
        written: dict[str, str | None] = {}
        errors: list[BaseException] = []
        lock = threading.Lock()

        def write(i: int) -> None:
            store = replicas[i % 2]
            try:
                start.wait()
                parent = tree.root
                for j in range(rounds):
                    question = _node(parent, "user", f"q {i}-{j}")
                    answer = _node(question, "assistant", f"a {i}-{j}")
                    store.add_nodes(session.id, [question, answer], head_id=answer.id)
                    store.add_usage(UsageRecord(session_id=session.id, node_id=answer.id, prompt_tokens=2))
                    if j % 4 == 3:
                        store.set_head(session.id, question.id)
                    with lock:
                        written.update({question.id: question.parent_id, answer.id: answer.parent_id})
                    parent = answer
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        for reader in replicas:
            nodes = reader.load_nodes(session.id)
            ids = [n.id for n in nodes]
            assert len(ids) == len(set(ids)) == 1 + writers * rounds * 2
            assert {n.id: n.parent_id for n in nodes[1:]} == written
            by_id = {n.id: n for n in nodes}
            assert len(by_id[tree.root_id].children) == writers
            assert all(len(n.children) == 1 for n in nodes[1:] if not n.content.endswith(f"-{rounds - 1}"))
            assert reader.usage_totals(session.id).calls == writers * rounds
            assert reader.usage_totals(session.id).prompt_tokens == writers * rounds * 2
            assert reader.get_session(session.id).head_node_id in written
        # six writers, two replicas of at most three connections each, reused across calls
        active = "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'replica_test'"
        with psycopg.connect(postgres_url) as conn:
            assert 2 <= conn.execute(active).fetchone()[0] <= 6  # type: ignore[index]
    finally:
        for store in replicas:
            store.close()


def test_replicas_starting_together_create_the_schema_once(postgres_url: str) -> None:
    start = threading.Barrier(4)
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            start.wait()
            opened.append(PostgresStore(postgres_url))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert [s.schema_version for s in opened] == [SCHEMA_VERSION] * 4
        with psycopg.connect(postgres_url) as conn:
            assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone() == (1,)
    finally:
        for store in opened:
            store.close()


def test_a_busy_or_closed_store_says_so(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, max_connections=1, wait_timeout=0.2)
    with store._connection():  # a call holding the only connection
        with pytest.raises(StoreUnavailableError, match="max_connections"):
            store.list_sessions()
    assert store.list_sessions() == []
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_sessions()


def test_an_unreachable_server_says_what_to_check() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        url = f"postgresql://radix:s3cret@127.0.0.1:{port}/agents"
        with pytest.raises(StoreUnavailableError, match="Cannot reach PostgreSQL at radix@127.0.0.1") as caught:
            PostgresStore(url, connect_timeout=2)
    message = str(caught.value)
    assert "server is running" in message and "RADIXAGENT_DATABASE_URL" in message
    assert "s3cret" not in message


def test_wrong_database_or_url_is_a_clear_error(postgres_server: str) -> None:
    base = postgres_server.rsplit("/", 1)[0]
    with pytest.raises(StoreError, match="no such database") as caught:
        PostgresStore(f"{base}/no_such_db")
    assert not isinstance(caught.value, StoreUnavailableError)
    with pytest.raises(ConfigurationError, match="postgresql://user:password@host:port/dbname"):
        PostgresStore("postgresql://[::1")
    with pytest.raises(ConfigurationError, match="max_connections"):
        PostgresStore(postgres_server, max_connections=0)


def test_a_user_with_a_password_and_no_rights(postgres_url: str) -> None:
    """The password never shows (repr, messages); missing privileges say what to grant."""
    role = f"replica_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'hunter2'")
    url = postgres_url.replace("postgresql://postgres@", f"postgresql://{role}:hunter2@", 1)
    try:
        with pytest.raises(StoreError, match="lacks a privilege") as caught:
            PostgresStore(url)
        assert "hunter2" not in str(caught.value)
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            row = conn.execute("SELECT current_schema()").fetchone()
            assert row is not None
            conn.execute(f"GRANT ALL ON SCHEMA {row[0]} TO {role}")
        with PostgresStore(url) as store:
            assert "hunter2" not in repr(store) and repr(store).startswith(f"PostgresStore('{role}@127.0.0.1:")
            _session(store)
            assert len(store.list_sessions()) == 1
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_text_postgres_cannot_hold_is_a_store_error(postgres_url: str) -> None:
    """PostgreSQL text has no NUL character (SQLite stores it): the write is refused whole,
    with a message that says so."""
    with PostgresStore(postgres_url) as store:
        session, tree = _session(store)
        ok = _node(tree.root, "user", "fine")
        bad = _node(ok, "tool", "binary\x00output")
        with pytest.raises(StoreError, match="NUL"):
            store.add_nodes(session.id, [ok, bad], head_id=bad.id)
        assert len(store.load_nodes(session.id)) == 1
        with pytest.raises(StoreError, match="NUL"):
            store.add_feedback(FeedbackRecord(query="q", response="r", rating=3, metadata={"raw": "\x00"}))


def test_a_store_rides_out_a_server_restart(postgres_cluster: PostgresCluster, postgres_url: str) -> None:
    """The server goes away under a running replica: calls fail with StoreUnavailableError
    meanwhile, and work again on the same store once the server is back (broken pooled
    connections are replaced, nothing stored is lost)."""
    store = PostgresStore(postgres_url, connect_timeout=2)
    try:
        session, tree = _session(store)
        first = tree.add_message("user", "before")
        store.add_nodes(session.id, [first], head_id=first.id)
        postgres_cluster.stop()
        try:
            with pytest.raises(StoreUnavailableError, match=str(postgres_cluster.port)):
                store.get_session(session.id)
        finally:
            postgres_cluster.start()
        second = tree.add_message("assistant", "after")
        store.add_nodes(session.id, [second], head_id=second.id)
        assert [n.content for n in store.load_nodes(session.id)] == ["sys", "before", "after"]
    finally:
        store.close()
