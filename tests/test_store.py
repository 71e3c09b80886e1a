"""SQLiteStore: persistence across a reopen, WAL, transactions that never half-write,
schema versioning, typed errors."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from radixagent.errors import (
    ConfigurationError,
    InputError,
    NodeNotFoundError,
    SchemaVersionError,
    SessionNotFoundError,
    StoreError,
)
from radixagent.memory import (
    SCHEMA_VERSION,
    AssessmentRecord,
    ConversationTree,
    FeedbackRecord,
    PromptRecord,
    RunMetrics,
    SessionRecord,
    SQLiteStore,
    Store,
    ToolCallMetric,
    UsageRecord,
    open_store,
)
from radixagent.memory.tree import make_node
from radixagent.schemas import QualityAssessment, ToolSchema


def _session(store: SQLiteStore, system: str = "sys") -> tuple[SessionRecord, ConversationTree]:
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


def test_sqlite_store_is_a_store_and_uses_wal(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    assert isinstance(store, Store)
    assert store.journal_mode == "wal"
    with sqlite3.connect(tmp_path / "a.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.schema_version == SCHEMA_VERSION
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_default_path_is_under_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADIXAGENT_DATA_DIR", str(tmp_path / "data"))
    store = open_store()
    assert isinstance(store, SQLiteStore)
    assert store.path == tmp_path / "data" / "radixagent.db"
    assert store.path.is_file()


def test_open_store_locations(tmp_path: Path) -> None:
    assert isinstance(open_store(f"sqlite:///{tmp_path / 'x.db'}"), SQLiteStore)
    assert (tmp_path / "x.db").is_file()
    assert open_store(":memory:").journal_mode == "memory"
    with pytest.raises(ConfigurationError, match="PostgreSQL"):
        open_store("postgresql://localhost/db")
    with pytest.raises(ConfigurationError):
        open_store("mysql://localhost/db")
    with pytest.raises(ConfigurationError, match="directory"):
        SQLiteStore(tmp_path)


def test_everything_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    store = SQLiteStore(path)
    session, tree = _session(store)
    u = tree.add_message("user", "hello", {"lang": "en"}, token_count=3)
    a = tree.add_message(
        "assistant", "hi", prompt=PromptRecord(prompt_text="p", prompt_token_ids=[1, 2], output_token_ids=[3])
    )
    store.add_nodes(session.id, [u, a], head_id=a.id)
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

    again = SQLiteStore(path)
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
    assert again.list_feedback()[0].metadata == {"k": 1}
    assert again.list_assessments()[0].assessment == qa
    run = again.list_runs()[0]
    assert run.tool_calls == [ToolCallMetric(tool="add", success=False)]
    assert run.total_tokens == 10
    assert [s.id for s in again.list_sessions()] == [session.id]


def test_unknown_ids_raise_typed_errors(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "e.db")
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
    with pytest.raises(NodeNotFoundError):
        store.set_head(session.id, "nope")
    with pytest.raises(NodeNotFoundError):  # a node of another session is not this session's
        store.set_head(session.id, other_tree.root_id)
    orphan = make_node(other_tree.root, "user", "x")
    with pytest.raises(NodeNotFoundError):
        store.add_nodes(session.id, [orphan])
    with pytest.raises(InputError):
        store.list_sessions(limit=0)


def test_a_failure_mid_write_writes_nothing(tmp_path: Path) -> None:
    """The third of four nodes fails (its metadata is not JSON): the first two, already
    inserted in the same transaction, must be gone too, and the head must not have moved."""
    store = SQLiteStore(tmp_path / "t.db")
    session, tree = _session(store)
    n1 = make_node(tree.root, "user", "one")
    n2 = make_node(n1, "assistant", "two")
    n3 = make_node(n2, "user", "three", {"bad": {1, 2}})
    n4 = make_node(n3, "assistant", "four")
    with pytest.raises(InputError, match="JSON"):
        store.add_nodes(session.id, [n1, n2, n3, n4], head_id=n4.id)
    assert [n.id for n in store.load_nodes(session.id)] == [tree.root_id]
    assert store.get_session(session.id).head_node_id == tree.root_id
    # a database-level failure (a duplicate id) rolls back the same way
    with pytest.raises(StoreError):
        store.add_nodes(session.id, [n1, n2, n1.model_copy()], head_id=n2.id)
    assert [n.id for n in store.load_nodes(session.id)] == [tree.root_id]
    # and the store still works afterwards
    store.add_nodes(session.id, [n1, n2], head_id=n2.id)
    assert len(store.load_nodes(session.id)) == 3


def test_a_crash_mid_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    """A real process dies (os._exit) after inserting 2 of 4 nodes inside one transaction;
    a new store on the same file sees the conversation as it was before the write."""
    path = tmp_path / "crash.db"
    store = SQLiteStore(path)
    session, tree = _session(store)
    first = tree.add_message("user", "kept")
    store.add_nodes(session.id, [first], head_id=first.id)
    store.close()
    script = textwrap.dedent(
        f"""
        import os
        from radixagent.memory import SQLiteStore
        from radixagent.memory.tree import make_node

        class Dying(SQLiteStore):
            inserted = 0
            def _insert_node(self, conn, session_id, node):
                if self.inserted == 2:
                    os._exit(3)
                super()._insert_node(conn, session_id, node)
                self.inserted += 1

        store = Dying({str(path)!r})
        parent = store.load_nodes({session.id!r})[-1]
        nodes = []
        for i in range(4):
            parent = make_node(parent, "assistant" if i % 2 == 0 else "user", f"lost {{i}}")
            nodes.append(parent)
        store.add_nodes({session.id!r}, nodes, head_id=nodes[-1].id)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    again = SQLiteStore(path)
    nodes = again.load_nodes(session.id)
    assert [n.content for n in nodes] == ["sys", "kept"]
    assert again.get_session(session.id).head_node_id == first.id


def test_run_and_its_tool_calls_are_one_write(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "r.db")

    class Boom(Exception):
        pass

    original = store._conn

    class FailingExecutemany:
        """Wraps the connection; the tool-call insert fails after the run row is written."""

        def __getattr__(self, name: str) -> object:
            return getattr(original, name)

        def executemany(self, *args: object) -> None:
            raise Boom()

    store._conn = FailingExecutemany()  # type: ignore[assignment]
    with pytest.raises(Boom):
        store.add_run(RunMetrics(latency_ms=1.0, tool_calls=[ToolCallMetric(tool="x")]))
    store._conn = original
    assert store.list_runs() == []


def test_delete_session_removes_tree_and_usage(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "d.db")
    session, tree = _session(store)
    nodes = [tree.add_message("user", "a"), tree.add_message("assistant", "b")]
    store.add_nodes(session.id, nodes, head_id=nodes[-1].id)
    store.add_usage(UsageRecord(session_id=session.id, node_id=nodes[-1].id, prompt_tokens=5))
    store.add_feedback(FeedbackRecord(session_id=session.id, query="q", response="r", rating=2))
    store.delete_session(session.id)
    with pytest.raises(SessionNotFoundError):
        store.get_session(session.id)
    assert store._conn.execute("SELECT COUNT(*) FROM nodes").fetchone()[0] == 0
    assert store.list_usage() == []
    assert len(store.list_feedback()) == 1  # ratings are kept for the aggregates


def test_update_and_list_sessions(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "u.db")
    first, _ = _session(store, "one")
    second, _ = _session(store, "two")
    updated = store.update_session(first.id, title="renamed", engine_settings={"model": "m"}, tools=[])
    assert (updated.title, updated.engine_settings, updated.tools) == ("renamed", {"model": "m"}, [])
    assert [s.id for s in store.list_sessions()] == [first.id, second.id]
    assert [s.id for s in store.list_sessions(limit=1, offset=1)] == [second.id]


def test_threads_share_one_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "th.db")
    session, tree = _session(store)
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            parent = tree.root
            for j in range(20):
                node = make_node(parent, "user", f"{i}-{j}")
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


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaVersionError, match="upgrade radixagent"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a radixagent database"):
        SQLiteStore(path)


def test_bad_records_are_refused_before_the_database(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "b.db")
    with pytest.raises(ValueError):
        FeedbackRecord(query="q", response="r", rating=6)
    with pytest.raises(SessionNotFoundError):
        store.add_usage(UsageRecord(session_id="nope"))
    root = ConversationTree("s").root
    with pytest.raises(InputError):
        store.create_session(SessionRecord(), make_node(root, "user", "x"))
