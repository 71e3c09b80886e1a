"""Agent sessions on the real embedded engine with the built-in tools, through real HTTP:
a streamed run, then a server restart on the same SQLite file (a new app and a new engine):
the session, its tree and its head are all there, and the conversation continues."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from radixagent.engine.embedded import EmbeddedEngine
from radixagent.memory import SQLiteStore
from radixagent.server import BackgroundServer, ServerSettings, create_app


@pytest.fixture(scope="module", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built-in retrieve_documents tool keeps its document store in the data directory."""
    path = Path(tmp_path_factory.mktemp("data"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADIXAGENT_DATA_DIR", str(path))
        yield path


def start(db: Path) -> BackgroundServer:
    engine = EmbeddedEngine(context_size=2048, slots=2)
    app = create_app(ServerSettings(), engine=engine, store=SQLiteStore(db), close_on_shutdown=True)
    return BackgroundServer(app).start()


def events_of(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    out, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name is not None:
            out.append((name, json.loads(line[len("data: ") :])))
    return out


@pytest.mark.timeout(1800)  # two engine starts and model-backed runs, on 2 shared cores
def test_a_session_survives_a_restart_and_continues(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    settings = {"max_iterations": 2, "max_calls": 1, "argument_tokens": 32, "answer_tokens": 32, "allow_ask": False}
    first = start(db)
    try:
        http = httpx.Client(base_url=first.url, timeout=600)
        assert "retrieve_documents" in [t["name"] for t in http.get("/v1/tools").json()["data"]]
        created = http.post("/v1/sessions", json={"title": "docs", "tools": ["retrieve_documents"], "engine_settings": settings})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        with http.stream("POST", f"/v1/sessions/{sid}/messages", json={"content": "What is RadixAttention? Search the documents.", "stream": True}) as response:
            assert response.status_code == 200
            events = events_of(response)
        names = [name for name, _ in events]
        assert names[0] == "step" and names[-1] == "final" and "error" not in names
        for call, result in zip([d for n, d in events if n == "tool_call"], [d for n, d in events if n == "tool_result"], strict=True):
            assert call["call"]["tool_name"] == result["result"]["tool"] == "retrieve_documents"
        final = events[-1][1]
        tree_before = http.get(f"/v1/sessions/{sid}/tree").json()
        assert tree_before["head_node_id"] == final["node_id"]
    finally:
        first.stop()

    second = start(db)
    try:
        http = httpx.Client(base_url=second.url, timeout=600)
        session = http.get(f"/v1/sessions/{sid}").json()
        assert session["title"] == "docs" and session["tools"] == ["retrieve_documents"]
        assert session["engine_settings"]["max_iterations"] == 2
        assert http.get(f"/v1/sessions/{sid}/tree").json() == tree_before
        result = http.post(f"/v1/sessions/{sid}/messages", json={"content": "Thanks. Summarise that in one sentence."})
        assert result.status_code == 200, result.text
        tree_after = http.get(f"/v1/sessions/{sid}/tree").json()
        old = {n["id"] for n in tree_before["nodes"]}
        new_nodes = [n for n in tree_after["nodes"] if n["id"] not in old]
        assert new_nodes[0]["role"] == "user" and new_nodes[0]["parent_id"] == tree_before["head_node_id"]
        assert tree_after["head_node_id"] == result.json()["node_id"]
        status = http.get(f"/v1/sessions/{sid}/status").json()
        memory = status["memory_stats"]
        assert memory["total_messages"] == len(tree_after["nodes"])
        assert memory["prompt_tokens"] > 0 and 0 < memory["cache_hit_rate"] <= 1
    finally:
        second.stop()
