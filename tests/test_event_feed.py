"""The live event feed: the hub's fan-out (who sees what, bounded queues, the listener cap) and
`GET /v1/events` streaming a real run over HTTP on loopback, per tenant."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from radixagent.agent import StepEvent
from radixagent.engine import ScriptedEngine
from radixagent.errors import EventFeedFullError
from radixagent.memory import SQLiteStore
from radixagent.server import BackgroundServer, ServerSettings, create_app
from radixagent.server.auth import Caller
from radixagent.server.hub import EventHub
from radixagent.server.metrics import ServerMetrics
from test_server_scripted import CATALOGUE

ALICE = Caller(owner="alice", admin=False)
BOB = Caller(owner="bob", admin=False)
ADMIN = Caller(owner="root", admin=True)


async def drain(subscription: Any, timeout: float = 0.05) -> list[Any]:
    got = []
    while (event := await subscription.next(timeout)) is not None:
        got.append(event)
    return got


async def test_each_listener_hears_only_the_sessions_its_key_owns() -> None:
    hub = EventHub()
    alice, bob, admin = hub.subscribe(ALICE), hub.subscribe(BOB), hub.subscribe(ADMIN)
    only_a2 = hub.subscribe(ALICE, session_id="a2")
    hub.publish("a1", "alice", StepEvent(step=1))
    hub.publish("b1", "bob", StepEvent(step=2))
    hub.publish("a2", "alice", StepEvent(step=3))
    hub.publish("old", None, StepEvent(step=4))  # made before keys: only admins see it
    assert [(e.session_id, e.event.step) for e in await drain(alice)] == [("a1", 1), ("a2", 3)]
    assert [e.session_id for e in await drain(bob)] == ["b1"]
    assert [e.session_id for e in await drain(admin)] == ["a1", "b1", "a2", "old"]
    assert [e.session_id for e in await drain(only_a2)] == ["a2"]
    for s in (alice, bob, admin, only_a2):
        s.close()
    assert len(hub) == 0


async def test_a_slow_listener_loses_events_not_memory_and_never_blocks_a_run() -> None:
    metrics = ServerMetrics()
    hub = EventHub(buffer=8, metrics=metrics)
    slow, fast = hub.subscribe(ADMIN), hub.subscribe(ADMIN)
    # publish is synchronous (it never awaits a listener): the run cannot wait on a slow one
    for step in range(1, 21):
        hub.publish("s", None, StepEvent(step=step))
        if step % 4 == 0:
            await drain(fast, 0.0)  # the fast one keeps up
    got = await drain(slow)
    # the first 8 queued, then one notice of the 12 it missed; the next event comes through again
    assert [e.event.step for e in got[:8]] == list(range(1, 9))
    assert got[8].type == "dropped" and got[8].event.count == 12 and len(got) == 9
    hub.publish("s", None, StepEvent(step=21))
    assert [e.event.step for e in await drain(slow)] == [21]
    assert hub.dropped_total == 12
    assert metrics.registry.get_sample_value("radixagent_events_dropped_total") == 12


async def test_events_published_from_another_thread_arrive_and_the_listener_cap_holds() -> None:
    hub = EventHub(max_subscribers=2)
    first = hub.subscribe(ADMIN)
    hub.subscribe(BOB)
    with pytest.raises(EventFeedFullError, match="RADIXAGENT_EVENT_SUBSCRIBERS"):
        hub.subscribe(ALICE)
    thread = threading.Thread(target=hub.publish, args=("s", None, StepEvent(step=7)))
    thread.start()
    thread.join()
    event = await first.next(2.0)
    assert event is not None and event.event.step == 7
    first.close()
    hub.subscribe(ALICE)  # a closed listener frees its place


# --- over HTTP ---------------------------------------------------------------------------------------


def listen(url: str, key: str, found: list[tuple[str, dict[str, Any]]], stop_at: str, ready: threading.Event, **params: str) -> None:
    name = None
    with httpx.stream("GET", url + "/v1/events", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=10) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                assert name is not None
                found.append((name, json.loads(line[len("data: ") :])))
                if name == stop_at:
                    return


def read_until(lines: Iterator[str], stop: Callable[[str, dict[str, Any]], bool]) -> list[tuple[str, dict[str, Any]]]:
    """The events of an open feed, up to and with the first one `stop` picks."""
    found: list[tuple[str, dict[str, Any]]] = []
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name is not None:
            found.append((name, json.loads(line[len("data: ") :])))
            if stop(*found[-1]):
                return found
    raise AssertionError(f"the feed ended before the awaited event, after {found}")


def test_a_paused_run_tells_its_owner_and_no_other_key_that_a_call_waits_for_approval() -> None:
    engine = ScriptedEngine([" add", '{"a": 2, "b": 40}'])
    settings = ServerSettings(server_api_keys="alice-key,bob-key", decision_evidence=False)
    app = create_app(settings, engine=engine, store=SQLiteStore(":memory:"), tools=CATALOGUE)
    alice, bob = ({"Authorization": f"Bearer {who}-key"} for who in ("alice", "bob"))
    with TestClient(app) as client:
        sid = client.post("/v1/sessions", headers=alice, json={"tools": ["add"], "approval": {"tools": ["add"]}}).json()["id"]
        with client.stream("GET", "/v1/events", headers=alice) as alices, client.stream("GET", "/v1/events", headers=bob) as bobs:
            assert alices.status_code == bobs.status_code == 200
            paused = client.post(f"/v1/sessions/{sid}/messages", headers=alice, json={"content": "2 + 40?"}).json()
            assert paused["outcome"] == "awaiting_approval"
            bobs_own = client.post("/v1/sessions", headers=bob, json={"title": "bob's"}).json()["id"]  # the last event published
            heard = read_until(alices.iter_lines(), lambda name, _: name == "run_end")
            bob_heard = read_until(bobs.iter_lines(), lambda name, data: data["session_id"] == bobs_own)
    assert [name for name, _ in heard] == ["step", "approval_required", "run_end"]
    request = heard[1][1]
    assert request["session_id"] == sid and request["type"] == request["event"]["type"] == "approval_required"
    assert request["event"]["approvals"] == paused["response"]["pending_approvals"]
    assert [(a["tool"], a["arguments"], a["decision"]) for a in request["event"]["approvals"]] == [("add", {"a": 2, "b": 40}, None)]
    # bob's feed was open all along: it carried his own session, nothing of alice's
    assert [(name, data["session_id"]) for name, data in bob_heard] == [("session_created", bobs_own)]


def test_the_feed_streams_a_run_to_its_owner_and_admins_only() -> None:
    engine = ScriptedEngine()
    settings = ServerSettings(server_api_keys="alice-key,bob-key", admin_api_keys="root-key", decision_evidence=False)
    app = create_app(settings, engine=engine, store=SQLiteStore(":memory:"), tools=CATALOGUE)
    with BackgroundServer(app) as server:
        alice = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer alice-key"})
        bob = httpx.Client(base_url=server.url, headers={"Authorization": "Bearer bob-key"})
        assert httpx.get(server.url + "/v1/events").status_code == 401
        bobs = bob.post("/v1/sessions", json={"title": "bob's"}).json()["id"]
        assert alice.get("/v1/events", params={"session_id": bobs}).status_code == 404  # not hers: as if it did not exist

        heard: dict[str, list[tuple[str, dict[str, Any]]]] = {"alice": [], "bob": [], "root": []}
        threads = []
        for who, stop_at in (("alice", "session_deleted"), ("root", "session_deleted"), ("bob", "session_created")):
            ready = threading.Event()
            thread = threading.Thread(target=listen, args=(server.url, f"{who}-key", heard[who], stop_at, ready), daemon=True)
            thread.start()
            assert ready.wait(5)
            threads.append(thread)

        sid = alice.post("/v1/sessions", json={"tools": ["add"], "title": "sums"}).json()["id"]
        engine.add_replies(" add", '{"a": 1, "b": 2}', " answer", "It is 3.")
        assert alice.post(f"/v1/sessions/{sid}/messages", json={"content": "1 + 2?"}).json()["response"]["content"] == "It is 3."
        bob.post("/v1/sessions", json={"title": "ends bob's listener"})
        alice.delete(f"/v1/sessions/{sid}")
        for thread in threads:
            thread.join(10)
            assert not thread.is_alive()

    names = [name for name, _ in heard["alice"]]
    assert names == ["session_created", "step", "tool_call", "tool_result", "step", "run_end", "session_deleted"]
    assert {data["session_id"] for _, data in heard["alice"]} == {sid}
    assert all(data["type"] == name == data["event"]["type"] for name, data in heard["alice"])
    assert heard["alice"][2][1]["event"]["call"]["tool_name"] == "add"
    assert heard["alice"][5][1]["event"]["response"]["content"] == "It is 3."
    seqs = [data["seq"] for _, data in heard["alice"]]
    assert seqs == sorted(seqs)
    # bob heard none of alice's session, only his own creation; the admin heard everything
    assert [(n, d["session_id"] == sid) for n, d in heard["bob"]] == [("session_created", False)]
    assert [n for n, d in heard["root"] if d["session_id"] == sid] == names


async def test_a_listener_stream_ends_when_the_server_drains() -> None:
    app = create_app(ServerSettings(), engine=ScriptedEngine(), store=SQLiteStore(":memory:"), tools=CATALOGUE)
    server = BackgroundServer(app).start()
    try:
        lines: list[str] = []

        def read() -> None:
            with httpx.stream("GET", server.url + "/v1/events", timeout=10) as response:
                lines.extend(response.iter_lines())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        await asyncio.sleep(0.3)
    finally:
        started = time.perf_counter()
        server.stop()
    reader.join(5)
    assert not reader.is_alive() and lines[0] == ": connected"
    assert time.perf_counter() - started < 5
