"""The server's deterministic logic on the scripted engine, through real HTTP on loopback:
how chat requests become prompts and tool calls, the event order of a streamed session run,
limits (429, 413, timeouts, drain), auth, error shapes, persistence across a restart and
across replicas, and the metrics text."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from prometheus_client.multiprocess import mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

from radixagent.chat import ChatCompleter, ChatRequest
from radixagent.decision import DecisionSettings
from radixagent.engine import Constraint, Prompt, SamplingParams, ScriptedEngine
from radixagent.engine.types import Completion, StreamChunk, Usage
from radixagent.errors import EngineUnavailableError
from radixagent.memory import SQLiteStore
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.server import BackgroundServer, ServerSettings, create_app

ADD_PARAMS = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}
ADD_SPEC = {"type": "function", "function": {"name": "add", "description": "Add two integers", "parameters": ADD_PARAMS}}
CITY_SPEC = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def add(a: int, b: int) -> int:
    return a + b


CATALOGUE = [ToolDefinition(schema=ToolSchema(name="add", description="Add two integers", parameters=ADD_PARAMS), callable=add)]


class GatedEngine(ScriptedEngine):
    """A scripted engine whose generations wait for `gate`; `entered` says one is waiting."""

    def __init__(self, replies: Sequence[Any] = ()) -> None:
        super().__init__(replies)
        self.entered = threading.Event()
        self.gate = threading.Event()

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        self.entered.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.005)
        return await super()._generate(prompt, constraint, sampling)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


def serve(engine: ScriptedEngine, store: SQLiteStore | None = None, **settings: Any) -> BackgroundServer:
    # the script decides: the request's own evidence (tested in test_evidence.py) stays out of it
    settings.setdefault("decision_evidence", False)
    app = create_app(ServerSettings(**settings), engine=engine, store=store or SQLiteStore(":memory:"), tools=CATALOGUE)
    return BackgroundServer(app)


@pytest.fixture
def server() -> Iterator[tuple[BackgroundServer, ScriptedEngine]]:
    engine = ScriptedEngine()
    with serve(engine) as running:
        yield running, engine


def client(server: BackgroundServer, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def assert_error_shape(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    # a 5xx also carries the id of the one log line that says what failed
    assert set(body["error"]) == {"message", "type", "param", "code"} | ({"error_id"} if status >= 500 else set())
    assert body["error"]["message"]
    if status >= 500:
        assert body["error"]["error_id"] in body["error"]["message"] and response.headers["x-error-id"] == body["error"]["error_id"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def sse_events(lines: Iterator[str]) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            assert name is not None
            events.append((name, json.loads(line[len("data: ") :])))
            name = None
    return events


# --- chat completions: prompts, decisions, mapping ------------------------------------------------


def test_tool_call_is_a_registered_function_with_schema_valid_json(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    engine.add_replies(" add", '{"a": 2, "b": 40}', " run")  # then the model runs the calls: parallel calls are allowed by default
    response = client(running).chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "What is 2 + 40?"}], tools=[ADD_SPEC, CITY_SPEC]
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.function.name == "add" and json.loads(call.function.arguments) == {"a": 2, "b": 40}
    assert call.id.startswith("call_")
    assert response.model == "scripted"
    assert response.usage.prompt_tokens > 0 and response.usage.prompt_tokens_details.cached_tokens > 0
    prompt = engine.decode(engine.prompts[0])
    assert prompt.startswith("<|im_start|>system\nYou are a helpful assistant.\n\nYou can call tools.")
    assert "- add: Add two integers" in prompt and "- weather: Weather in a city" in prompt
    assert prompt.endswith("<|im_start|>user\nWhat is 2 + 40?<|im_end|>\n<|im_start|>assistant\nAction:")


def test_history_renders_calls_and_results_in_the_protocol(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    engine.add_replies(" answer", "  The sum is 42.\n")
    messages = [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "What is 2 + 40?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 40}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    response = client(running).chat.completions.create(model="m", messages=messages, tools=[ADD_SPEC])
    assert response.choices[0].message.content == "The sum is 42."
    assert response.choices[0].finish_reason == "stop" and not response.choices[0].message.tool_calls
    prompt = engine.decode(engine.prompts[-1])
    assert prompt.startswith("<|im_start|>system\nBe terse.\n\nYou can call tools.")
    assert (
        "<|im_start|>assistant\nAction: add\nArguments: {\"a\": 2, \"b\": 40}\nAction: run<|im_end|>\n"
        "<|im_start|>user\n[tool] add returned: 42<|im_end|>\n<|im_start|>assistant\nAction: answer\nAnswer: "
    ) in prompt


def test_tool_choice_none_forces_an_answer_and_named_forces_the_function(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    api = client(running)
    engine.add_replies("No tools needed.")
    response = api.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], tools=[ADD_SPEC], tool_choice="none")
    assert response.choices[0].message.content == "No tools needed."
    assert engine.decode(engine.prompts[-1]).endswith("Action: answer\nAnswer: ")
    # Named: no scoring at all (one option); the arguments are generated under weather's schema,
    # which the scripted engine checks the reply against.
    engine.add_replies('{"city": "Oslo"}', " run")  # then the model runs the calls: parallel calls are allowed by default
    response = api.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Oslo?"}],
        tools=[ADD_SPEC, CITY_SPEC],
        tool_choice={"type": "function", "function": {"name": "weather"}},
    )
    [call] = response.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == ("weather", {"city": "Oslo"})
    assert engine.decode(engine.prompts[-2]).endswith("Action: weather\nArguments: ")
    assert engine.decode(engine.prompts[-1]).endswith('Arguments: {"city": "Oslo"}\nAction:')  # another call, or run


def test_parallel_calls_are_deduplicated_and_can_be_switched_off(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    api = client(running)
    # required, one tool: nothing to score for the first call; then ' add' beats ' run' twice
    engine.add_replies('{"a": 1, "b": 2}', " add", '{"a": 1, "b": 2}', " add", '{"a": 3, "b": 4}')
    response = api.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "sums"}], tools=[ADD_SPEC], tool_choice="required", parallel_tool_calls=True
    )
    calls = response.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments) for c in calls] == [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert len({c.id for c in calls}) == 2
    engine.add_replies('{"a": 5, "b": 6}')
    response = api.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "sum"}], tools=[ADD_SPEC], tool_choice="required", parallel_tool_calls=False
    )
    assert len(response.choices[0].message.tool_calls or []) == 1
    assert engine.decode(engine.prompts[-1]).endswith("Arguments: ")  # no further 'Action:' was scored


def test_parallel_tool_calls_are_allowed_unless_turned_off() -> None:
    """OpenAI's default: a request that does not say allows parallel calls."""
    from radixagent.chat import plan_request
    from radixagent.decision import DecisionSettings

    def max_calls(**options: Any) -> int:
        body = {"messages": [{"role": "user", "content": "sum"}], "tools": [ADD_SPEC], **options}
        return plan_request(ChatRequest.model_validate(body), DecisionSettings(), max_parallel_calls=3).settings.max_calls

    assert max_calls() == 3
    assert max_calls(parallel_tool_calls=True) == 3
    assert max_calls(parallel_tool_calls=False) == 1


def test_arguments_cut_off_by_max_tokens_are_a_length_finish_not_a_call(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    cut = Completion(text='{"city": "Os', finish_reason="length", usage=Usage(prompt_tokens=50, completion_tokens=8))
    engine.add_replies(" weather", cut, cut)  # cut off, then cut off again with half the room
    response = client(running).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "weather?"}], tools=[CITY_SPEC], max_tokens=8
    )
    assert response.choices[0].finish_reason == "length"
    assert not response.choices[0].message.tool_calls
    # the retry was sent from where the first attempt began, not after its broken text
    assert engine.prompts[-1] == engine.prompts[-2]


def test_a_later_call_cut_off_by_max_tokens_keeps_the_calls_before_it(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    cut = Completion(text='{"a": 3, "b": ', finish_reason="length", usage=Usage(prompt_tokens=50, completion_tokens=8))
    # required, one tool: the first call, then ' add' beats ' run' and the second call is cut off twice
    engine.add_replies('{"a": 1, "b": 2}', " add", cut, cut)
    response = client(running).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "sums"}], tools=[ADD_SPEC], tool_choice="required", max_tokens=8
    )
    choice = response.choices[0]
    assert choice.finish_reason == "length"
    assert [json.loads(c.function.arguments) for c in choice.message.tool_calls or []] == [{"a": 1, "b": 2}]


def test_arguments_cut_off_once_are_retried_with_less_room(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    cut = Completion(text='{"city": "Oslo Oslo Oslo', finish_reason="length", usage=Usage(prompt_tokens=50, completion_tokens=8))
    engine.add_replies(" weather", cut, '{"city": "Oslo"}', " run")  # then the model runs the calls: parallel calls are allowed by default
    response = client(running).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "weather?"}], tools=[CITY_SPEC], max_tokens=8
    )
    assert response.choices[0].finish_reason == "tool_calls"
    assert json.loads(response.choices[0].message.tool_calls[0].function.arguments) == {"city": "Oslo"}


def test_response_format_constrains_the_answer(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    engine.add_replies('{"name": "Ana"}')
    response = client(running).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "A name"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    assert json.loads(response.choices[0].message.content or "") == {"name": "Ana"}


async def test_streamed_answer_reassembles_to_the_completed_one() -> None:
    engine = ScriptedEngine([" answer", "  It is sunny in Oslo today.  ", " answer", "  It is sunny in Oslo today.  "])
    completer = ChatCompleter(engine, decision=DecisionSettings().model_only())
    request = ChatRequest.model_validate({"messages": [{"role": "user", "content": "Weather?"}], "tools": [CITY_SPEC]})
    whole = await completer.complete(request)
    pieces, final = [], None
    async for delta in completer.stream(request):
        if delta.result is not None:
            final = delta.result
        else:
            pieces.append(delta.text)
    assert whole.content == "It is sunny in Oslo today."
    assert len(pieces) > 1 and "".join(pieces) == whole.content
    assert final is not None and final.content == whole.content


def test_sse_chunks_follow_openais_format(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    engine.add_replies(" add", '{"a": 2, "b": 40}', " run")  # then the model runs the calls: parallel calls are allowed by default
    body = {"model": "m", "messages": [{"role": "user", "content": "2+40"}], "tools": [ADD_SPEC], "stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", running.url + "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    [call_chunk] = [c for c in chunks if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]
    call = call_chunk["choices"][0]["delta"]["tool_calls"][0]
    assert call["index"] == 0 and call["function"]["name"] == "add" and json.loads(call["function"]["arguments"]) == {"a": 2, "b": 40}
    assert [c["choices"][0].get("finish_reason") for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] > 0
    # and the openai client reads the same stream
    engine.add_replies(" answer", "Hello there.")
    stream = client(running).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], tools=[ADD_SPEC], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello there."


def test_a_bad_streamed_request_is_still_a_4xx(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, _ = server
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": [ADD_SPEC], "tool_choice": {"type": "function", "function": {"name": "nope"}}, "stream": True}
    assert_error_shape(httpx.post(running.url + "/v1/chat/completions", json=body), 400, "unknown_tool")


def test_an_engine_failure_before_the_first_delta_is_a_json_error() -> None:
    with serve(ScriptedEngine()) as running:  # nothing scripted: the engine fails when asked
        with httpx.stream("POST", running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "stream": True}) as response:
            assert response.status_code == 502
            assert json.loads(response.read())["error"]["code"] == "engine_failed"


class BreaksMidStream(ScriptedEngine):
    async def _stream(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> AsyncIterator[StreamChunk]:
        yield StreamChunk(text="Hello")
        raise EngineUnavailableError("the engine went away")


def test_an_engine_failure_mid_stream_ends_with_an_error_event_then_done() -> None:
    with serve(BreaksMidStream()) as running:
        with httpx.stream("POST", running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}], "stream": True}) as response:
            assert response.status_code == 200
            data = [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]
        assert json.loads(data[1])["choices"][0]["delta"]["content"] == "Hello"
        assert json.loads(data[-2])["error"]["code"] == "engine_unavailable"
        assert data[-1] == "[DONE]"
        stream = client(running).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
        with pytest.raises(openai.APIError, match="went away"):
            for _ in stream:
                pass


# --- sessions ---------------------------------------------------------------------------------------


def test_session_run_streams_typed_events_in_order(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    http = httpx.Client(base_url=running.url)
    session = http.post("/v1/sessions", json={"tools": ["add"], "title": "sums"}).json()
    assert session["tools"] == ["add"] and session["title"] == "sums"
    engine.add_replies(" add", '{"a": 1, "b": 2}', " answer", "It is 3.")
    with http.stream("POST", f"/v1/sessions/{session['id']}/messages", json={"content": "1 + 2?", "stream": True}) as response:
        events = sse_events(response.iter_lines())
    names = [name for name, _ in events]
    assert names == ["step", "tool_call", "tool_result", "step", "token", "token", "token", "final"]
    assert all(data["type"] == name for name, data in events)
    assert events[1][1]["call"]["tool_name"] == "add" and events[1][1]["call"]["arguments"] == {"a": 1, "b": 2}
    assert events[2][1]["result"]["result"] == "3" and events[2][1]["result"]["id"] == events[1][1]["call"]["id"]
    assert "".join(data["text"] for name, data in events if name == "token") == "It is 3."
    final = events[-1][1]
    assert final["response"]["content"] == "It is 3." and final["response"]["is_successful"]
    tree = http.get(f"/v1/sessions/{session['id']}/tree").json()
    assert [n["role"] for n in tree["nodes"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert tree["head_node_id"] == final["node_id"]


def test_sessions_crud_fork_head_feedback_status(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    http = httpx.Client(base_url=running.url)
    created = http.post(
        "/v1/sessions",
        json={"system_prompt": "You add numbers.", "tools": ["add"], "engine_settings": {"max_iterations": 3, "allow_ask": False}},
    )
    assert created.status_code == 201
    sid = created.json()["id"]
    assert created.json()["engine_settings"]["max_iterations"] == 3
    engine.add_replies(" answer", "Hello.")
    first = http.post(f"/v1/sessions/{sid}/messages", json={"content": "hi"}).json()
    assert first["response"]["content"] == "Hello." and first["session_id"] == sid
    answer_node = first["node_id"]
    user_node = next(n for n in http.get(f"/v1/sessions/{sid}/tree").json()["nodes"] if n["role"] == "user")["id"]
    # fork: two branches from the first answer, both stored, the head stays
    engine.add_replies(" answer", "Branch A.", " answer", "Branch B.")
    fork = http.post(f"/v1/sessions/{sid}/fork", json={"node_id": answer_node, "messages": ["a?", "b?"]}).json()
    assert sorted(b["response"]["content"] for b in fork["branches"]) == ["Branch A.", "Branch B."]
    tree = http.get(f"/v1/sessions/{sid}/tree").json()
    assert tree["head_node_id"] == answer_node
    assert len(next(n for n in tree["nodes"] if n["id"] == answer_node)["children"]) == 2
    # move the head back to the user turn: the next answer is a sibling of the first
    assert http.put(f"/v1/sessions/{sid}/head", json={"node_id": user_node}).json()["head_node_id"] == user_node
    # feedback on the first answer: its question is found
    feedback = http.post(f"/v1/sessions/{sid}/feedback", json={"node_id": answer_node, "rating": 4.5, "comment": "ok"})
    assert feedback.status_code == 201 and feedback.json()["feedback"]["query"] == "hi"
    assessment = {"accuracy_score": 4, "coherence_score": 5, "completeness_score": 3, "overall_score": 4, "feedback_comment": "fine"}
    assert http.post(f"/v1/sessions/{sid}/feedback", json={"node_id": answer_node, "assessment": assessment}).json()["assessment"]["source"] == "human"
    status = http.get(f"/v1/sessions/{sid}/status").json()
    assert status["registered_tools"] == ["add"] and status["session_id"] == sid
    assert status["feedback_summary"]["total_feedback_count"] == 1
    assert status["feedback_summary"]["quality_assessment_count"] == 1
    assert status["memory_stats"]["total_messages"] == len(tree["nodes"])
    assert [s["id"] for s in http.get("/v1/sessions").json()["data"]] == [sid]
    assert http.delete(f"/v1/sessions/{sid}").json() == {"id": sid, "object": "session.deleted", "deleted": True}
    assert_error_shape(http.get(f"/v1/sessions/{sid}"), 404, "session_not_found")
    assert [t["name"] for t in http.get("/v1/tools").json()["data"]] == ["add"]


def test_sessions_survive_a_restart_on_the_same_file(store_path: Path) -> None:
    engine = ScriptedEngine([" answer", "First answer."])
    with serve(engine, SQLiteStore(store_path)) as running:
        http = httpx.Client(base_url=running.url)
        sid = http.post("/v1/sessions", json={"tools": ["add"]}).json()["id"]
        http.post(f"/v1/sessions/{sid}/messages", json={"content": "first question"})
    restarted = ScriptedEngine([" answer", "Second answer."])
    restarted._vocab = dict(engine._vocab)  # the same model: the same token ids (stored prompts are token ids)
    with serve(restarted, SQLiteStore(store_path)) as running:
        http = httpx.Client(base_url=running.url)
        result = http.post(f"/v1/sessions/{sid}/messages", json={"content": "second question"}).json()
        assert result["response"]["content"] == "Second answer."
        prompt = restarted.decode(restarted.prompts[0])
        assert "first question" in prompt and "First answer." in prompt and prompt.rstrip().endswith("Action:")
        roles = [n["role"] for n in http.get(f"/v1/sessions/{sid}/tree").json()["nodes"]]
        assert roles == ["system", "user", "assistant", "user", "assistant"]


def test_a_replica_reloads_a_session_another_replica_advanced(store_path: Path) -> None:
    a_engine, b_engine = ScriptedEngine([" answer", "From A."]), ScriptedEngine([" answer", "From B 1.", " answer", "From B 2."])
    with serve(a_engine, SQLiteStore(store_path)) as a, serve(b_engine, SQLiteStore(store_path)) as b:
        sid = httpx.post(b.url + "/v1/sessions", json={}).json()["id"]
        httpx.post(b.url + f"/v1/sessions/{sid}/messages", json={"content": "one"})  # B caches the agent
        httpx.post(a.url + f"/v1/sessions/{sid}/messages", json={"content": "two"})  # A advances the session
        httpx.post(b.url + f"/v1/sessions/{sid}/messages", json={"content": "three"})  # B must build on A's turn
        nodes = httpx.get(b.url + f"/v1/sessions/{sid}/tree").json()["nodes"]
    contents = [n["content"] for n in nodes if n["role"] == "user"]
    assert contents == ["one", "two", "three"]
    assert all(len(n["children"]) <= 1 for n in nodes), "a replica overwrote another's turn with a branch"


# --- bad input ---------------------------------------------------------------------------------------


def test_bad_inputs_are_4xx_in_openais_shape_and_lose_nothing(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    http = httpx.Client(base_url=running.url)
    engine.add_replies(" answer", "Kept.")
    sid = http.post("/v1/sessions", json={"tools": ["add"]}).json()["id"]
    http.post(f"/v1/sessions/{sid}/messages", json={"content": "keep me"})
    before = http.get(f"/v1/sessions/{sid}/tree").json()

    chat = "/v1/chat/completions"
    assert_error_shape(http.post(chat, content=b'{"messages": [', headers={"content-type": "application/json"}), 400, "invalid_json")
    assert_error_shape(http.post(f"/v1/sessions/{sid}/messages", content=b"{oops", headers={"content-type": "application/json"}), 400, "invalid_json")
    assert_error_shape(http.post("/v1/sessions/nope/messages", json={"content": "hi"}), 404, "session_not_found")
    error = assert_error_shape(http.post("/v1/sessions", json={"tools": ["add", "rm_rf"]}), 400, "unknown_tool")
    assert error["param"] == "tools[1]" and "rm_rf" in error["message"]
    assert_error_shape(http.post(chat, json={"messages": [{"role": "user", "content": "x" * 2_000_000}]}), 413, "request_too_large")
    error = assert_error_shape(
        http.post(chat, json={"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "objekt"}}}]}),
        400,
        "invalid_schema",
    )
    assert error["param"] == "tools[0].function.parameters"
    error = assert_error_shape(
        http.post(chat, json={"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "minProperties": -1}}}}),
        400,
        "invalid_schema",
    )
    assert error["param"] == "response_format.json_schema.schema"
    error = assert_error_shape(
        http.post(chat, json={"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "zz", "content": "1"}]}), 400
    )
    assert error["param"] == "messages[1].tool_call_id"
    assert_error_shape(http.post(chat, json={"messages": [{"role": "robot", "content": "hi"}]}), 400, "invalid_value")
    assert_error_shape(http.post(chat, json={"messages": [{"role": "user", "content": "hi"}], "n": 3}), 400)
    assert_error_shape(http.post(chat, json={"messages": [{"role": "user", "content": "hi"}], "tools": [ADD_SPEC, ADD_SPEC]}), 400, "invalid_tool")
    assert_error_shape(http.post(f"/v1/sessions/{sid}/fork", json={"node_id": "nope", "messages": ["x"]}), 404, "node_not_found")
    assert_error_shape(http.put(f"/v1/sessions/{sid}/head", json={"node_id": "nope"}), 404, "node_not_found")
    assert_error_shape(http.post(f"/v1/sessions/{sid}/feedback", json={"rating": 9}), 400, "invalid_value")
    assert_error_shape(http.post(f"/v1/sessions/{sid}/messages", json={"content": ""}), 400)
    assert_error_shape(http.post("/v1/sessions", json={"engine_settings": {"max_calls": 0}}), 400)
    assert_error_shape(http.get("/v1/nothing-here"), 404, "not_found")

    assert http.get(f"/v1/sessions/{sid}/tree").json() == before
    assert [s["id"] for s in http.get("/v1/sessions").json()["data"]] == [sid]
    with pytest.raises(openai.BadRequestError) as raised:
        client(running).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], tools=[ADD_SPEC], tool_choice="required", n=2)
    assert raised.value.code == "invalid_request"


# --- limits, auth, shutdown ----------------------------------------------------------------------------


def test_concurrency_limit_answers_429_with_retry_after_instead_of_queueing() -> None:
    engine = GatedEngine(["Done."])
    with serve(engine, max_concurrency=1, retry_after_s=2) as running:
        results: list[httpx.Response] = []
        first = threading.Thread(
            target=lambda: results.append(httpx.post(running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=30))
        )
        first.start()
        assert engine.entered.wait(10)
        busy = httpx.post(running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "me too"}]})
        assert_error_shape(busy, 429, "too_many_requests")
        assert busy.headers["retry-after"] == "2"
        assert httpx.get(running.url + "/healthz").status_code == 200  # operations stay answerable
        assert "radixagent_http_rejected_total{reason=\"busy\"} 1" in httpx.get(running.url + "/metrics").text
        engine.gate.set()
        first.join(10)
        assert results[0].status_code == 200 and results[0].json()["choices"][0]["message"]["content"] == "Done."


def test_api_keys_are_bearer_tokens() -> None:
    engine = ScriptedEngine(["Hi."])
    with serve(engine, server_api_keys="k1, k2") as running:
        url = running.url
        assert_error_shape(httpx.get(url + "/v1/models"), 401, "invalid_api_key")
        assert_error_shape(httpx.get(url + "/v1/models", headers={"Authorization": "Bearer nope"}), 401, "invalid_api_key")
        assert_error_shape(httpx.get(url + "/metrics", headers={"Authorization": "Basic k1"}), 401)
        assert httpx.get(url + "/v1/models", headers={"Authorization": "Bearer k2"}).json()["data"][0]["id"] == "scripted"
        assert httpx.get(url + "/healthz").status_code == 200 and httpx.get(url + "/readyz").status_code == 200
        with pytest.raises(openai.AuthenticationError):
            client(running, "wrong").chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        answer = client(running, "k1").chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content == "Hi."


def test_a_request_past_its_timeout_is_stopped_with_504() -> None:
    engine = GatedEngine(["never"])
    try:
        with serve(engine, request_timeout=0.3) as running:
            response = httpx.post(running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=30)
            assert_error_shape(response, 504, "request_timeout")
            assert httpx.get(running.url + "/healthz").status_code == 200
    finally:
        engine.gate.set()


def test_shutdown_lets_running_requests_finish() -> None:
    engine = GatedEngine(["Finished."])
    running = serve(engine, shutdown_timeout=30).start()
    results: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: results.append(httpx.post(running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=60))
    )
    worker.start()
    assert engine.entered.wait(10)
    stopper = threading.Thread(target=running.stop)
    stopper.start()
    while not running.server.app_state.lifecycle.draining:
        threading.Event().wait(0.01)
    engine.gate.set()
    worker.join(30)
    stopper.join(30)
    assert results and results[0].status_code == 200
    assert results[0].json()["choices"][0]["message"]["content"] == "Finished."


def test_shutdown_aborts_what_outlives_the_grace_period_cleanly() -> None:
    engine = GatedEngine(["never"])
    running = serve(engine, shutdown_timeout=5).start()
    results: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: results.append(httpx.post(running.url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=60))
    )
    worker.start()
    assert engine.entered.wait(10)
    try:
        running.stop()
        worker.join(30)
    finally:
        engine.gate.set()
    assert results, "the request got no answer"
    assert_error_shape(results[0], 503, "shutting_down")


# --- metrics ---------------------------------------------------------------------------------------------


_SAMPLE = re.compile(r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eInf]+$')


def _samples(text: str) -> dict[tuple[Any, ...], float]:
    """Each sample's value by (name, *sorted label pairs): label order is the exposition's own."""
    return {
        (s.name, *sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples
    }


def test_metrics_are_prometheus_text_with_the_servers_numbers(server: tuple[BackgroundServer, ScriptedEngine]) -> None:
    running, engine = server
    engine.add_replies(" add", '{"a": 2, "b": 40}', " run")  # then the model runs the calls: parallel calls are allowed by default
    client(running).chat.completions.create(model="m", messages=[{"role": "user", "content": "2+40"}], tools=[ADD_SPEC])
    httpx.get(running.url + "/v1/sessions/nope")
    response = httpx.get(running.url + "/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for line in text.splitlines():
        assert line.startswith("# ") or _SAMPLE.match(line), line
    sample = _samples(text)
    assert sample["radixagent_http_requests_total", ("method", "POST"), ("route", "/v1/chat/completions"), ("status", "200")] == 1
    assert sample["radixagent_http_requests_total", ("method", "GET"), ("route", "/v1/sessions/{session_id}"), ("status", "404")] == 1
    assert sample["radixagent_tool_calls_total", ("outcome", "returned"), ("tool", "add")] == 1
    assert sample["radixagent_failures_total", ("type", "SessionNotFoundError")] == 1
    assert sample["radixagent_http_request_duration_seconds_count", ("route", "/v1/chat/completions")] == 1
    assert "process_resident_memory_bytes" in text and "python_info" in text  # the standard collectors
    cached = sample["radixagent_tokens_total", ("kind", "cached")]
    prompt = sample["radixagent_tokens_total", ("kind", "prompt")]
    ratio = sample[("radixagent_engine_cache_hit_ratio",)]
    assert prompt > 0 and ratio == pytest.approx(cached / prompt)


def test_metrics_of_several_worker_processes_add_up(tmp_path: Path) -> None:
    """Multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before the server starts): each worker
    writes its numbers to the directory, and any one of them answers /metrics for all."""
    worker = (
        "import sys\n"
        "from radixagent.server.metrics import ServerMetrics\n"
        "metrics = ServerMetrics()\n"
        "metrics.rejected.labels(reason='busy').inc()\n"
        "metrics.in_flight.inc()\n"
        "if sys.argv[1] == 'scrape':\n"
        "    sys.stdout.write(metrics.render().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    first = subprocess.Popen([sys.executable, "-c", worker, "count"], env=env)
    assert first.wait() == 0
    mark_process_dead(first.pid, str(tmp_path))  # what a process manager's exit hook does
    text = subprocess.run(
        [sys.executable, "-c", worker, "scrape"], env=env, check=True, capture_output=True, text=True
    ).stdout
    sample = _samples(text)
    assert sample["radixagent_http_rejected_total", ("reason", "busy")] == 2
    assert sample[("radixagent_http_requests_in_flight",)] == 1  # live workers only
    assert "process_cpu_seconds_total" not in text  # one process's own numbers would mislead here


def test_a_sloppy_optional_parameter_is_left_out_and_a_sloppy_required_one_is_named() -> None:
    """Third-party tool definitions carry schemas no value satisfies, such as a boolean whose
    enum lists strings: an optional one is left out of generation, a required one is refused."""
    from radixagent.chat import plan_request
    from radixagent.decision import DecisionSettings
    from radixagent.errors import ChatInputError

    flag = {"type": "boolean", "enum": ["True", "False", "dontcare"], "description": "has parking"}
    hotel = {
        "type": "function",
        "function": {
            "name": "find_hotel",
            "description": "Find a hotel in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "parking": flag}, "required": ["city"]},
        },
    }
    body = {"messages": [{"role": "user", "content": "A hotel in Lyon with parking"}], "tools": [hotel]}
    plan = plan_request(ChatRequest.model_validate(body), DecisionSettings(), max_parallel_calls=3)
    assert list(plan.decide_tools[0].parameters["properties"]) == ["city"]
    assert plan.validators["find_hotel"].is_valid({"city": "Lyon"})
    hotel["function"]["parameters"]["required"] = ["city", "parking"]  # type: ignore[index]
    with pytest.raises(ChatInputError, match="required parameter 'parking'") as refused:
        plan_request(ChatRequest.model_validate(body), DecisionSettings(), max_parallel_calls=3)
    assert refused.value.param == "tools[0].function.parameters.properties.parking"


def test_an_enum_spelling_its_types_values_as_strings_lists_those_values() -> None:
    """An integer parameter whose enum lists "1" to "4" means the integers 1 to 4: generation
    and the check of a call both read it so, required or not; a mix of spellings and other
    strings ("dontcare") is no spelling."""
    from radixagent.chat import plan_request
    from radixagent.decision import DecisionSettings

    seats = {"type": "integer", "enum": ["1", "2", "3", "4"]}
    kids = {"type": "boolean", "enum": ["true", "False"]}
    mixed = {"type": "integer", "enum": ["1", "2", "any"]}
    ride = {
        "type": "function",
        "function": {
            "name": "book_ride",
            "parameters": {
                "type": "object",
                "properties": {"seats": seats, "with_kids": kids, "bags": mixed},
                "required": ["seats"],
            },
        },
    }
    body = {"messages": [{"role": "user", "content": "A ride for two"}], "tools": [ride]}
    plan = plan_request(ChatRequest.model_validate(body), DecisionSettings(), max_parallel_calls=3)
    properties = plan.decide_tools[0].parameters["properties"]
    assert properties["seats"]["enum"] == [1, 2, 3, 4]
    assert properties["with_kids"]["enum"] == [True, False]
    assert "bags" not in properties
    assert plan.validators["book_ride"].is_valid({"seats": 2, "with_kids": False})
    assert not plan.validators["book_ride"].is_valid({"seats": "2"})


def test_the_token_budget_bounds_a_calls_strings_after_they_are_narrowed() -> None:
    """Under `max_tokens`, the schema strategy writes every call in one generation, so the
    tools' strings are bounded when the turn is planned; the score strategy bounds each call's
    schema once narrowed to the request's values, so a long street the request writes is not
    cut from it by a bound set before."""
    from radixagent.chat import plan_request
    from radixagent.decision import DecisionSettings, DecisionStrategy

    fields = {name: {"type": "string"} for name in ("street", "city", "postcode", "country", "floor", "note")}
    move = {"type": "function", "function": {"name": "quote_move", "parameters": {"type": "object", "properties": {"a": {"type": "object", "properties": fields}, "b": {"type": "object", "properties": fields}}}}}
    body = {"messages": [{"role": "user", "content": "From 140 Harbourside Crescent"}], "tools": [move], "max_tokens": 64}
    scored = plan_request(ChatRequest.model_validate(body), DecisionSettings(), max_parallel_calls=3)
    assert "maxLength" not in scored.decide_tools[0].parameters["properties"]["a"]["properties"]["street"]
    whole = plan_request(ChatRequest.model_validate(body), DecisionSettings(strategy=DecisionStrategy.SCHEMA), max_parallel_calls=3)
    assert whole.decide_tools[0].parameters["properties"]["a"]["properties"]["street"]["maxLength"] < len("140 Harbourside Crescent")
