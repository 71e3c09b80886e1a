"""Faults survived, nothing lost (issue 13): the engine dies, answers 500, hangs or returns
garbage in the middle of a run; a tool raises, hangs or returns something huge; the server is
SIGKILLed while it streams; PostgreSQL restarts while two replicas write the same sessions.

Each ends in a typed outcome the client sees (a run's `outcome` and `failure`, or an error in
OpenAI's shape), and the session goes on: the next message is answered. The stored tree is
checked every time: every message the client sent is there once (none lost, none duplicated),
every node's parent exists, and the head is a node of the session."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PostgresCluster, free_port
from radixagent.engine import ChoicesConstraint, Constraint, Prompt, SamplingParams, ScriptedEngine
from radixagent.engine.types import Completion, ScoreResult
from radixagent.errors import EngineHTTPError, EngineResponseError, EngineUnavailableError, StoreUnavailableError
from radixagent.memory import SQLiteStore
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.server import BackgroundServer, ServerSettings, create_app

X = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}


def check_tree(tree: dict[str, Any], sent: list[str]) -> None:
    """Every message sent is stored exactly once, in order along the branches; the tree holds."""
    nodes = tree["nodes"]
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)), "a node stored twice"
    by_id = {n["id"]: n for n in nodes}
    assert all(n["parent_id"] is None or n["parent_id"] in by_id for n in nodes), "a node without its parent"
    assert tree["head_node_id"] in by_id
    users = [n["content"] for n in nodes if n["role"] == "user"]
    assert sorted(users) == sorted(sent), f"stored {users}, sent {sent}"


def boom(x: int) -> int:
    raise RuntimeError("the tool exploded")


SLEEPY_RELEASE, SLEEPY_DONE = threading.Event(), threading.Event()


def sleepy(x: int) -> int:
    SLEEPY_RELEASE.wait(60)  # runs until the test lets it go, far past its timeout
    SLEEPY_DONE.set()
    return x


def huge(x: int) -> str:
    return "y" * 2_000_000


TOOLS = [
    ToolDefinition(schema=ToolSchema(name=fn.__name__, description=fn.__name__, parameters=X), callable=fn, timeout_s=0.5)
    for fn in (boom, sleepy, huge)
]


class FaultyEngine(ScriptedEngine):
    """A scripted engine (it answers " answer" then "Fine.") that fails as told from its
    `fail_from`-th call on, until `fault` is cleared: a dead engine, a 500, garbage, a hang."""

    def __init__(self) -> None:
        super().__init__(self._reply)
        self.fault: str | None = None
        self.fail_from = 2
        self.calls = 0

    def _reply(self, prompt: Prompt, constraint: Constraint | None) -> str:
        if isinstance(constraint, ChoicesConstraint):
            return " answer" if " answer" in constraint.choices else constraint.choices[0]
        return "Fine."

    async def _fail(self) -> None:
        self.calls += 1
        if self.fault is None or self.calls < self.fail_from:
            return
        if self.fault == "dies":
            raise EngineUnavailableError("The engine at http://127.0.0.1:9 refused the connection (it is not running).")
        if self.fault == "500":
            raise EngineHTTPError("The engine answered 500 Internal Server Error.", 500, body="oops")
        if self.fault == "garbage":
            raise EngineResponseError("The engine's answer is not JSON: '<html>garbage'.")
        if self.fault == "hangs":
            await asyncio.sleep(3600)

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        await self._fail()
        return await super()._generate(prompt, constraint, sampling)

    async def _score(self, prefix: Any, choices: Any) -> ScoreResult:
        await self._fail()
        return await super()._score(prefix, choices)


@pytest.mark.parametrize("fault", ["dies", "500", "garbage", "hangs"])
def test_an_engine_fault_mid_run_is_a_typed_outcome_and_the_session_goes_on(fault: str) -> None:
    engine = FaultyEngine()
    app = create_app(ServerSettings(decision_evidence=False, request_timeout=2), engine=engine, store=SQLiteStore(":memory:"), tools=TOOLS)
    with BackgroundServer(app) as running:
        http = httpx.Client(base_url=running.url, timeout=30)
        sid = http.post("/v1/sessions", json={"tools": ["boom"], "engine_settings": {"allow_ask": False}}).json()["id"]
        engine.fault, engine.fail_from = fault, engine.calls + 2  # the tool choice is made, then the engine fails
        broken = http.post(f"/v1/sessions/{sid}/messages", json={"content": "first"})
        if fault == "hangs":  # the request's deadline stops it: a 504 in OpenAI's shape
            assert broken.status_code == 504 and broken.json()["error"]["code"] == "request_timeout"
        else:
            assert broken.status_code == 200, broken.text
            body = broken.json()
            assert body["outcome"] == "failed" and not body["response"]["is_successful"]
            assert body["failure"]["error_type"] in ("generation_error", "parsing_error"), body["failure"]
        engine.fault = None  # the engine is back
        after = http.post(f"/v1/sessions/{sid}/messages", json={"content": "second"})
        assert after.status_code == 200 and after.json()["outcome"] == "answered", after.text
        assert after.json()["response"]["content"] == "Fine."
        check_tree(http.get(f"/v1/sessions/{sid}/tree").json(), ["first", "second"])


@pytest.mark.parametrize(("tool", "error_type"), [("boom", "execution"), ("sleepy", "timeout"), ("huge", None)])
def test_a_tool_that_raises_hangs_or_floods_is_a_typed_result_and_the_session_goes_on(tool: str, error_type: str | None) -> None:
    engine = ScriptedEngine([f" {tool}", '{"x": 1}', " answer", "Done.", " answer", "Next."])
    app = create_app(ServerSettings(decision_evidence=False, request_timeout=20), engine=engine, store=SQLiteStore(":memory:"), tools=TOOLS)
    with BackgroundServer(app) as running:
        http = httpx.Client(base_url=running.url, timeout=60)
        sid = http.post("/v1/sessions", json={"tools": [tool], "engine_settings": {"allow_ask": False}}).json()["id"]
        result = http.post(f"/v1/sessions/{sid}/messages", json={"content": "use it"})
        if tool == "sleepy":  # answered while the tool still runs: it was abandoned at its timeout
            assert not SLEEPY_DONE.is_set()
            SLEEPY_RELEASE.set()
        assert result.status_code == 200 and result.json()["outcome"] == "answered", result.text
        call = result.json()["response"]["tool_calls"][0]
        assert call["tool"] == tool and call["error_type"] == error_type
        if error_type is None:  # 2 MB comes back cut, with a note: every later prompt carries it
            assert call["result"].startswith("y" * 1000) and call["result"].endswith("more characters of the result were cut]")
            assert len(call["result"]) < 20_000
        assert http.post(f"/v1/sessions/{sid}/messages", json={"content": "and then"}).json()["response"]["content"] == "Next."
        tree = http.get(f"/v1/sessions/{sid}/tree").json()
        check_tree(tree, ["use it", "and then"])
        assert [n["role"] for n in tree["nodes"]].count("tool") == 1


# --- the server is killed while it streams ----------------------------------------------------

SERVER = textwrap.dedent(
    """
    import asyncio, os, sys
    from radixagent.engine import ChoicesConstraint, JsonSchemaConstraint, ScriptedEngine
    from radixagent.memory import SQLiteStore
    from radixagent.schemas import ToolDefinition, ToolSchema
    from radixagent.server import ServerSettings, build_server, create_app

    P = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}

    def add(a: int, b: int) -> int:
        return a + b

    class Slow(ScriptedEngine):
        async def _generate(self, prompt, constraint, sampling):
            await asyncio.sleep(0.4)
            return await super()._generate(prompt, constraint, sampling)

        async def _score(self, prefix, choices):
            await asyncio.sleep(0.4)
            return await super()._score(prefix, choices)

    engine: Slow

    def reply(prompt, constraint):
        text = engine.decode(prompt)
        asked = text.rfind("add 1 and 2")  # the latest request; a result stored before the kill may sit in its turn
        if isinstance(constraint, ChoicesConstraint):
            wants = asked >= 0 and "add returned" not in text[asked:]
            return " add" if wants and " add" in constraint.choices else " answer"
        if isinstance(constraint, JsonSchemaConstraint):
            return '{"a": 1, "b": 2}'
        return "Three, as asked."

    # another process, another vocabulary: the model name tells the server to re-render as text
    engine = Slow(reply, model=f"scripted-{os.getpid()}")
    tools = [ToolDefinition(schema=ToolSchema(name="add", description="Add", parameters=P), callable=add)]
    app = create_app(ServerSettings(decision_evidence=False), engine=engine, store=SQLiteStore(sys.argv[1]), tools=tools)
    build_server(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning").run()
    """
)


def _start(script: Path, db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, str(script), str(db), str(port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


@pytest.mark.timeout(180)
def test_a_server_killed_while_streaming_loses_nothing_and_goes_on(tmp_path: Path) -> None:
    script, db, port = tmp_path / "server.py", tmp_path / "sessions.db", free_port()
    script.write_text(SERVER)
    server = _start(script, db, port)
    url = f"http://127.0.0.1:{port}"
    try:
        sid = httpx.post(url + "/v1/sessions", json={"tools": ["add"], "engine_settings": {"allow_ask": False}}).json()["id"]
        assert httpx.post(url + f"/v1/sessions/{sid}/messages", json={"content": "hello"}, timeout=30).json()["outcome"] == "answered"
        seen: list[str] = []
        with httpx.stream("POST", url + f"/v1/sessions/{sid}/messages", json={"content": "add 1 and 2", "stream": True}, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    seen.append(line[len("event: ") :])
                    if seen[-1] == "tool_call":  # mid-run: the decision is made, the tool result not yet stored
                        os.kill(server.pid, signal.SIGKILL)
                        break
        assert seen[-1] == "tool_call", seen
        server.wait(10)
    finally:
        server.kill()
        server.wait(10)

    server = _start(script, db, port)  # the same database, a new process
    try:
        tree = httpx.get(url + f"/v1/sessions/{sid}/tree").json()
        check_tree(tree, ["hello", "add 1 and 2"])  # what was committed before the kill is all there, once
        again = httpx.post(url + f"/v1/sessions/{sid}/messages", json={"content": "add 1 and 2 again"}, timeout=30)
        assert again.status_code == 200 and again.json()["outcome"] == "answered", again.text
        assert again.json()["response"]["tool_calls"][0]["result"] == "3"
        check_tree(httpx.get(url + f"/v1/sessions/{sid}/tree").json(), ["hello", "add 1 and 2", "add 1 and 2 again"])
    finally:
        server.kill()
        server.wait(10)


# --- PostgreSQL restarts under two replicas ------------------------------------------------------


def _replica_engine() -> ScriptedEngine:
    return ScriptedEngine(lambda prompt, constraint: " answer" if isinstance(constraint, ChoicesConstraint) else "Noted.")


@pytest.mark.timeout(300)
def test_postgres_restarting_under_two_replicas_loses_and_duplicates_nothing(postgres_cluster: PostgresCluster, postgres_url: str) -> None:
    from radixagent.memory import PostgresStore

    settings = ServerSettings(decision_evidence=False, request_timeout=30)
    replicas = [
        BackgroundServer(create_app(settings, engine=_replica_engine(), store=PostgresStore(postgres_url), close_on_shutdown=True)).start()
        for _ in range(2)
    ]
    sessions = 4
    sent: dict[str, list[str]] = {}
    acknowledged: dict[str, list[str]] = {}
    refused: list[int] = []
    try:
        ids = [httpx.post(replicas[0].url + "/v1/sessions", json={"engine_settings": {"allow_ask": False}}).json()["id"] for _ in range(sessions)]
        going, restarted = threading.Event(), threading.Event()

        def converse(index: int) -> None:
            sid = ids[index]
            sent[sid], acknowledged[sid] = [], []
            after = 0
            for turn in range(400):  # until a few turns went through after the restart
                if turn == 2:
                    going.set()
                if restarted.is_set():
                    after += 1
                    if after > 3:
                        break
                message = f"session {index} turn {turn}"
                sent[sid].append(message)
                deadline = time.monotonic() + 60
                while True:  # a client that resends what failed, with the message's idempotency key
                    replica = replicas[(index + turn) % 2]  # the two replicas write the same sessions
                    try:
                        body = {"content": message, "request_id": f"key {index} {turn}"}
                        response = httpx.post(replica.url + f"/v1/sessions/{sid}/messages", json=body, timeout=40)
                        if response.status_code == 200 and response.json()["outcome"] == "answered":
                            acknowledged[sid].append(message)
                            break
                        assert response.status_code in (200, 503, 504), response.text  # typed: the store is away
                        refused.append(response.status_code)
                    except httpx.TransportError:
                        refused.append(0)
                    assert time.monotonic() < deadline, f"{message} never went through"
                    # resent at once: a first attempt whose message was stored before the store went
                    # away (its acknowledgement lost) is answered again, the message not stored twice
                    time.sleep(0.2)

        workers = [threading.Thread(target=converse, args=(i,)) for i in range(sessions)]
        for worker in workers:
            worker.start()
        assert going.wait(60)
        time.sleep(0.3)
        postgres_cluster.stop("immediate")  # a crash: nothing is flushed politely
        time.sleep(1.0)
        postgres_cluster.start()
        restarted.set()
        for worker in workers:
            worker.join(120)
        assert not any(worker.is_alive() for worker in workers)
        assert refused, "the restart went unnoticed: the test tested nothing"

        for sid in ids:
            tree = httpx.get(replicas[1].url + f"/v1/sessions/{sid}/tree").json()
            check_tree(tree, sent[sid])  # every message once: none lost, none duplicated
            stored = {n["content"] for n in tree["nodes"] if n["role"] == "user"}
            assert set(acknowledged[sid]) <= stored
            answers = [n for n in tree["nodes"] if n["role"] == "assistant"]
            assert len(answers) >= len(acknowledged[sid])
        print(json.dumps({"acknowledged": {sid: len(acknowledged[sid]) for sid in ids}, "refused": len(refused)}))
    finally:
        for replica in replicas:
            replica.stop()


# --- a client's retry is answered, not run again -------------------------------------------------


def test_a_message_sent_again_with_its_idempotency_key_runs_once(tmp_path: Path) -> None:
    """A client that lost its connection resends with the same key (header or `request_id`):
    it gets the first answer and the agent does not run again, even when both arrive at once;
    the key sent with another message is refused."""
    engine = ScriptedEngine(lambda prompt, constraint: " answer" if isinstance(constraint, ChoicesConstraint) else "Noted.")
    app = create_app(ServerSettings(decision_evidence=False), engine=engine, store=SQLiteStore(tmp_path / "s.db"), close_on_shutdown=True)
    with BackgroundServer(app) as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        sid = http.post("/v1/sessions", json={"engine_settings": {"allow_ask": False}}).json()["id"]
        url = f"/v1/sessions/{sid}/messages"
        first = http.post(url, json={"content": "hello"}, headers={"Idempotency-Key": "k1"})
        assert first.status_code == 200, first.text
        prompts = len(engine.prompts)
        for again in (
            http.post(url, json={"content": "hello"}, headers={"Idempotency-Key": "k1"}),
            http.post(url, json={"content": "hello", "request_id": "k1"}),
        ):
            assert again.status_code == 200 and again.json() == first.json()
        assert len(engine.prompts) == prompts

        async def twice() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                return list(await asyncio.gather(*(client.post(url, json={"content": "again", "request_id": "k2"}) for _ in range(2))))

        both = asyncio.run(twice())
        assert [r.status_code for r in both] == [200, 200] and both[0].json() == both[1].json()

        reused = http.post(url, json={"content": "something else"}, headers={"Idempotency-Key": "k1"})
        assert reused.status_code == 400 and reused.json()["error"]["param"] == "request_id", reused.text
        differ = http.post(url, json={"content": "hello", "request_id": "k1"}, headers={"Idempotency-Key": "k9"})
        assert differ.status_code == 400, differ.text
        check_tree(http.get(f"/v1/sessions/{sid}/tree").json(), ["hello", "again"])


class LosesOneAcknowledgement(SQLiteStore):
    """A store whose first node write commits, then fails as a connection lost before the
    commit's acknowledgement would (the write is in; the writer cannot know it)."""

    writes = 0

    def add_nodes(self, *args: Any, **kwargs: Any) -> Any:
        done = super().add_nodes(*args, **kwargs)
        LosesOneAcknowledgement.writes += 1
        if LosesOneAcknowledgement.writes == 1:
            raise StoreUnavailableError("the connection to the database was lost")
        return done


def test_a_message_resent_after_its_run_failed_is_stored_once(tmp_path: Path) -> None:
    """The first attempt stores the user's message with its answer, and that write's
    acknowledgement is lost (503). The client resends with the same key: the stored message is
    answered again, not stored again; without a key the resend would be a second message."""
    engine = ScriptedEngine(lambda prompt, constraint: " answer" if isinstance(constraint, ChoicesConstraint) else "Noted.")
    store = LosesOneAcknowledgement(tmp_path / "s.db")
    app = create_app(ServerSettings(decision_evidence=False), engine=engine, store=store, close_on_shutdown=True)
    with BackgroundServer(app) as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        sid = http.post("/v1/sessions", json={"engine_settings": {"allow_ask": False}}).json()["id"]
        url = f"/v1/sessions/{sid}/messages"
        LosesOneAcknowledgement.writes = 0
        first = http.post(url, json={"content": "water the ferns", "request_id": "k-ferns"})
        assert first.status_code == 503, first.text
        again = http.post(url, json={"content": "water the ferns", "request_id": "k-ferns"})
        assert again.status_code == 200 and again.json()["response"]["content"] == "Noted.", again.text
        tree = http.get(f"/v1/sessions/{sid}/tree").json()
        check_tree(tree, ["water the ferns"])
        head = next(n for n in tree["nodes"] if n["id"] == tree["head_node_id"])
        assert head["role"] == "assistant" and head["content"].endswith("Noted.")
