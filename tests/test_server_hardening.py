"""The server against attackers and careless clients (issue 13): sessions owned by their key,
slow or keyless clients that cannot starve keyed ones, no state kept for unknown ids, store
calls off the event loop, bounds on the work of a request, schemas as data (never fetched,
never recursive, never too deep), and unexpected errors as one log line with an id the client
gets. All on the scripted engine, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import http.server
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from radixagent.engine import ScriptedEngine
from radixagent.engine.openai_compat import OpenAICompatibleEngine
from radixagent.engine.schema_guard import check_schema, safe_validator
from radixagent.engine.sglang import SGLangEngine
from radixagent.errors import ConstraintError
from radixagent.memory import SQLiteStore
from radixagent.server import BackgroundServer, ServerSettings, create_app
from radixagent.server.auth import key_hash
from test_server_scripted import CATALOGUE, assert_error_shape

A, B, ADMIN = "key-a", "key-b", "key-admin"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def serve(engine: Any, store: Any = None, **settings: Any) -> BackgroundServer:
    settings.setdefault("decision_evidence", False)
    app = create_app(ServerSettings(**settings), engine=engine, store=store or SQLiteStore(":memory:"), tools=CATALOGUE)
    return BackgroundServer(app)


# --- sessions belong to their key ---------------------------------------------------------


def test_another_keys_session_is_404_on_every_route_and_an_admin_key_sees_all(tmp_path: Path) -> None:
    engine = ScriptedEngine([" answer", "For A."] * 4)
    with serve(engine, SQLiteStore(tmp_path / "s.db"), server_api_keys=f"{A},{B}", admin_api_keys=ADMIN) as running:
        a = httpx.Client(base_url=running.url, headers=auth(A))
        b = httpx.Client(base_url=running.url, headers=auth(B))
        admin = httpx.Client(base_url=running.url, headers=auth(ADMIN))
        sid = a.post("/v1/sessions", json={"tools": ["add"], "title": "a's"}).json()["id"]
        first = a.post(f"/v1/sessions/{sid}/messages", json={"content": "hi"})
        assert first.status_code == 200, first.text
        node = first.json()["node_id"]

        assert [s["id"] for s in a.get("/v1/sessions").json()["data"]] == [sid]
        assert b.get("/v1/sessions").json()["data"] == []
        attempts = {
            "get": b.get(f"/v1/sessions/{sid}"),
            "messages": b.post(f"/v1/sessions/{sid}/messages", json={"content": "let me in"}),
            "stream": b.post(f"/v1/sessions/{sid}/messages", json={"content": "let me in", "stream": True}),
            "fork": b.post(f"/v1/sessions/{sid}/fork", json={"messages": ["x"]}),
            "tree": b.get(f"/v1/sessions/{sid}/tree"),
            "head": b.put(f"/v1/sessions/{sid}/head", json={"node_id": node}),
            "feedback": b.post(f"/v1/sessions/{sid}/feedback", json={"rating": 1}),
            "status": b.get(f"/v1/sessions/{sid}/status"),
            "delete": b.delete(f"/v1/sessions/{sid}"),
        }
        unknown = b.get("/v1/sessions/no-such-session").json()
        for route, response in attempts.items():
            error = assert_error_shape(response, 404, "session_not_found")
            assert error["message"] == unknown["error"]["message"].replace("no-such-session", sid), route  # nothing tells them apart
        # A's session is untouched: one question, one answer, nothing of B's
        tree = a.get(f"/v1/sessions/{sid}/tree").json()
        assert [n["content"] for n in tree["nodes"] if n["role"] == "user"] == ["hi"]
        assert tree["head_node_id"] == node

        # an admin key sees and manages every session
        assert [s["id"] for s in admin.get("/v1/sessions").json()["data"]] == [sid]
        assert admin.get(f"/v1/sessions/{sid}/tree").status_code == 200
        assert admin.post(f"/v1/sessions/{sid}/feedback", json={"rating": 4}).status_code == 201
        mine = b.post("/v1/sessions", json={}).json()["id"]
        assert {s["id"] for s in admin.get("/v1/sessions").json()["data"]} == {sid, mine}
        assert [s["id"] for s in b.get("/v1/sessions").json()["data"]] == [mine]
        assert a.delete(f"/v1/sessions/{sid}").status_code == 200

    # the owner is a hash of the key, never the key
    with sqlite3.connect(tmp_path / "s.db") as conn:
        owners = {row[0] for row in conn.execute("SELECT owner FROM sessions")}
    assert owners == {key_hash(B)} and all(len(o) == 64 and B not in o for o in owners)


def test_sessions_made_before_keys_are_reachable_by_the_admin_key_only(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with serve(ScriptedEngine([" answer", "Old."]), SQLiteStore(db)) as running:  # no keys: one tenant
        old = httpx.post(running.url + "/v1/sessions", json={}).json()["id"]
        assert httpx.post(running.url + f"/v1/sessions/{old}/messages", json={"content": "hi"}).status_code == 200
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT owner FROM sessions").fetchall() == [(None,)]
    with serve(ScriptedEngine([" answer", "New."]), SQLiteStore(db), server_api_keys=A, admin_api_keys=ADMIN) as running:
        assert_error_shape(httpx.get(running.url + f"/v1/sessions/{old}", headers=auth(A)), 404, "session_not_found")
        assert httpx.get(running.url + "/v1/sessions", headers=auth(A)).json()["data"] == []
        assert httpx.get(running.url + f"/v1/sessions/{old}", headers=auth(ADMIN)).status_code == 200
        assert httpx.post(running.url + f"/v1/sessions/{old}/messages", json={"content": "again"}, headers=auth(ADMIN)).status_code == 200
    with serve(ScriptedEngine(), SQLiteStore(db)) as running:  # keys removed again: everything visible, as before
        assert [s["id"] for s in httpx.get(running.url + "/v1/sessions").json()["data"]] == [old]


# --- bad clients cannot starve good ones ---------------------------------------------------


def _slow_client(port: int, key: str | None, stop: threading.Event, answers: list[bytes]) -> None:
    """Headers at once, then a body of 1000 bytes, one byte every 0.2 s."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        head = "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        if key is not None:
            head += f"Authorization: Bearer {key}\r\n"
        sock.sendall((head + "\r\n").encode())
        sock.setblocking(False)
        received = b""
        while not stop.is_set():
            try:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                sock.send(b" ")
            except OSError:  # the server closed: read what it said first
                sock.setblocking(True)
                sock.settimeout(1)
                try:
                    received += sock.recv(4096)
                except OSError:
                    pass
                break
            time.sleep(0.2)
        answers.append(received)


@pytest.mark.parametrize("key", [None, A], ids=["no-key", "with-key"])
def test_slow_bodies_do_not_take_the_slots_of_keyed_requests(key: str | None) -> None:
    engine = ScriptedEngine(lambda prompt, constraint: "Fine.")
    with serve(engine, server_api_keys=A, max_concurrency=4, body_timeout=4.0) as running:
        stop, answers = threading.Event(), []
        slow = [threading.Thread(target=_slow_client, args=(running.server.config.port, key, stop, answers)) for _ in range(8)]
        for thread in slow:
            thread.start()
        time.sleep(0.5)
        started = time.perf_counter()
        for _ in range(10):
            response = httpx.post(running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, headers=auth(A))
            assert response.status_code == 200, response.text
        assert time.perf_counter() - started < 3.0  # served at once, not after the slow ones gave up
        time.sleep(4.0 if key else 0.5)
        stop.set()
        for thread in slow:
            thread.join(10)
    # without a key: 401 before the body is read; with one: 408 once the body deadline passed
    expected = b"408 Request Timeout" if key else b"401 Unauthorized"
    assert len(answers) == 8 and all(answer.startswith(b"HTTP/1.1 " + expected) for answer in answers), answers[:1]


def test_unknown_session_ids_leave_no_state_behind() -> None:
    with serve(ScriptedEngine([" answer", "Yes."])) as running:
        state = running.server.config.app.state.radixagent  # type: ignore[union-attr]
        sid = httpx.post(running.url + "/v1/sessions", json={}).json()["id"]
        for i in range(50):
            assert httpx.post(running.url + f"/v1/sessions/unknown-{i}/messages", json={"content": "x"}).status_code == 404
            assert httpx.get(running.url + f"/v1/sessions/unknown-{i}/status").status_code == 404
            assert httpx.delete(running.url + f"/v1/sessions/unknown-{i}").status_code == 404
        assert httpx.post(running.url + f"/v1/sessions/{sid}/messages", json={"content": "hi"}).status_code == 200
        assert len(state.sessions.locks) == 0  # a lock lives only while its session is in use
        assert set(state.sessions._entries) == {sid}


class SlowStore(SQLiteStore):
    """A store whose session reads take 0.5 s, as a remote database under load might; it says
    it may block, as the PostgreSQL store does, so its calls run in worker threads."""

    blocks = True

    def get_session(self, session_id: str) -> Any:
        time.sleep(0.5)
        return super().get_session(session_id)


async def test_a_slow_database_does_not_block_the_event_loop() -> None:
    with serve(ScriptedEngine(), SlowStore(":memory:")) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as http:
            sid = (await http.post("/v1/sessions", json={})).json()["id"]
            reads = [asyncio.create_task(http.get(f"/v1/sessions/{sid}")) for _ in range(3)]
            await asyncio.sleep(0.1)
            started = time.perf_counter()
            assert (await http.get("/healthz")).status_code == 200
            assert time.perf_counter() - started < 0.25  # answered while the reads wait on the database
            assert [r.status_code for r in await asyncio.gather(*reads)] == [200, 200, 200]


# --- bounds on the work one request causes ---------------------------------------------------


def test_a_request_past_a_bound_is_a_400_naming_it() -> None:
    engine = ScriptedEngine(lambda prompt, constraint: "x")
    limits = {"max_request_tools": 4, "max_tokens_limit": 100, "max_request_messages": 8, "max_prompt_chars": 5000}
    with serve(engine, **limits) as running:
        chat = running.url + "/v1/chat/completions"
        hi = [{"role": "user", "content": "hi"}]
        tool = {"type": "function", "function": {"name": "t", "parameters": {"type": "object", "properties": {}}}}
        tools = [{**tool, "function": {**tool["function"], "name": f"t{i}"}} for i in range(5)]
        cases = [
            ({"messages": hi, "tools": tools}, "tools", "MAX_REQUEST_TOOLS"),
            ({"messages": hi, "max_tokens": 101}, "max_tokens", "MAX_TOKENS_LIMIT"),
            ({"messages": hi, "max_completion_tokens": 10**9}, "max_completion_tokens", "MAX_TOKENS_LIMIT"),
            ({"messages": hi * 9}, "messages", "MAX_REQUEST_MESSAGES"),
            ({"messages": [{"role": "user", "content": "x" * 5001}]}, "messages", "MAX_PROMPT_CHARS"),
            ({"messages": hi, "stop": ["a"] * 17}, "stop", None),
        ]
        for body, param, setting in cases:
            error = assert_error_shape(httpx.post(chat, json=body), 400, "limit_exceeded")
            assert error["param"] == param and (setting is None or f"RADIXAGENT_{setting}" in error["message"]), error
        assert engine.prompts == []  # refused before any engine call
        sid = httpx.post(running.url + "/v1/sessions", json={}).json()["id"]
        error = assert_error_shape(httpx.post(running.url + f"/v1/sessions/{sid}/messages", json={"content": "x" * 20001}), 400)
        assert error["param"] == "content"
        assert_error_shape(httpx.post(running.url + f"/v1/sessions/{sid}/fork", json={"messages": ["x"] * 9}), 400)


# --- schemas are data --------------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the handler's name)
        _Recorder.hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/schema+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def schema_host() -> Iterator[str]:
    """A URL a remote `$ref` may point at; every fetch is recorded."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _deep(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def _bad_schemas(host: str) -> dict[str, dict[str, Any]]:
    laughs: dict[str, Any] = {"$defs": {"a0": {"type": "string"}}}
    for i in range(1, 40):
        laughs["$defs"][f"a{i}"] = {"type": "array", "prefixItems": [{"$ref": f"#/$defs/a{i - 1}"}] * 2}
    laughs["$ref"] = "#/$defs/a39"
    return {
        "deep": _deep(250),
        "self": {"type": "object", "properties": {"next": {"$ref": "#"}}},
        "mutual": {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"type": "array", "items": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"},
        "remote": {"type": "object", "properties": {"x": {"$ref": f"{host}/schema.json"}}},
        "remote-root": {"$ref": f"{host}/root.json"},
        "dynamic": {"$dynamicRef": "#meta"},
        "dangling": {"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}}},
        "laughs": laughs,
    }


ENGINES = {
    "scripted": lambda: ScriptedEngine(lambda prompt, constraint: '{"x": "y"}'),
    # engines that validate with jsonschema after generating, or compile the schema remotely:
    # the refusal comes before any call (their servers here do not exist)
    "openai-compatible": lambda: OpenAICompatibleEngine("http://127.0.0.1:9/v1", timeout=1),
    "sglang": lambda: SGLangEngine("http://127.0.0.1:9", timeout=1),
}


@pytest.mark.parametrize("kind", list(ENGINES))
def test_bad_schemas_are_400_on_every_engine_kind_and_nothing_is_fetched(kind: str, schema_host: str) -> None:
    engine = ENGINES[kind]()
    with serve(engine, request_timeout=20) as running:
        chat = running.url + "/v1/chat/completions"
        hi = [{"role": "user", "content": "hi"}]
        for name, schema in _bad_schemas(schema_host).items():
            as_format = {"messages": hi, "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}}}
            error = assert_error_shape(httpx.post(chat, json=as_format, timeout=30), 400, "invalid_schema")
            assert error["param"] == "response_format.json_schema.schema", name
            as_tool = {"messages": hi, "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"p": schema}}}}]}
            error = assert_error_shape(httpx.post(chat, json=as_tool, timeout=30), 400, "invalid_schema")
            assert error["param"] == "tools[0].function.parameters", name
    assert _Recorder.hits == []


def test_schema_guard_accepts_ordinary_schemas_and_validates_without_fetching(schema_host: str) -> None:
    shared = {
        "$defs": {"tag": {"type": "string", "maxLength": 8}},
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}}, "n": {"$ref": "#/$defs/tag"}},
    }
    for schema in (shared, _deep(20), {"type": "object", "properties": {"$ref": {"type": "string"}}}):
        check_schema(schema)
    assert safe_validator(shared).is_valid({"tags": ["a", "b"]})
    remote = safe_validator({"$ref": f"{schema_host}/x.json"})
    with pytest.raises(Exception, match="Unresolvable"):
        remote.is_valid("anything")
    assert _Recorder.hits == []
    with pytest.raises(ConstraintError, match="recursive"):
        check_schema({"items": {"$ref": "#"}})


def test_a_validator_is_built_once_per_schema_and_no_caller_can_change_it() -> None:
    """Checking a schema against its metaschema costs milliseconds: the same schema (in any key
    order) gets the same validator; a schema changed after it was given does not change it; an
    invalid schema is refused every time, never kept."""
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 3}}}
    first = safe_validator(schema)
    assert safe_validator({"properties": {"n": {"maximum": 3, "type": "integer"}}, "type": "object"}) is first
    schema["properties"]["n"]["maximum"] = 100
    assert not first.is_valid({"n": 50})
    assert safe_validator(schema).is_valid({"n": 50})
    for _ in range(2):
        with pytest.raises(ConstraintError, match="not valid"):
            safe_validator({"type": "no-such-type"})


# --- unexpected errors: one line, with an id the client gets ------------------------------------


class BrokenStore(SQLiteStore):
    def list_sessions(self, limit: int = 50, offset: int = 0, *, owner: str | None = None) -> Any:
        raise RuntimeError("the disk is on fire\nsecond line of the message")


def test_an_unexpected_error_is_one_log_line_with_the_id_the_client_gets(caplog: pytest.LogCaptureFixture) -> None:
    uvicorn_records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            uvicorn_records.append(record)

    keep = Keep()
    logging.getLogger("uvicorn.error").addHandler(keep)
    try:
        with caplog.at_level(logging.INFO), serve(ScriptedEngine(), BrokenStore(":memory:")) as running:
            response = httpx.get(running.url + "/v1/sessions")
            stream = httpx.post(running.url + "/v1/sessions", json={})  # the rest of the server still works
    finally:
        logging.getLogger("uvicorn.error").removeHandler(keep)
    error = assert_error_shape(response, 500, "internal_error")
    assert "fire" not in error["message"]  # the client learns the id, not the server's insides
    assert stream.status_code == 201
    lines = [r for r in caplog.records if error["error_id"] in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None and "\n" not in lines[0].getMessage()
    assert "RuntimeError: the disk is on fire second line" in lines[0].getMessage() and "list_sessions" in lines[0].getMessage()
    assert not [r for r in uvicorn_records if r.levelno >= logging.ERROR]  # no traceback from uvicorn either
