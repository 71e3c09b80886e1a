"""The OpenAI-compatible endpoint on the real embedded engine (SmolLM2-135M), through real HTTP
on loopback, with the unmodified `openai` client: tool calls are valid for every request and
tool set, `response_format` answers validate, streams reassemble to the non-streamed answer,
and bad input is a documented 4xx. One server for the module; small max_tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from radixagent.engine.embedded import EmbeddedEngine
from radixagent.memory import SQLiteStore
from radixagent.server import BackgroundServer, ServerSettings, create_app


def tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


WEATHER = tool(
    "get_weather",
    "Current weather for a city",
    {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    ["city"],
)
ADD = tool("add", "Add two integers", {"a": {"type": "integer"}, "b": {"type": "integer"}}, ["a", "b"])
SEARCH = tool(
    "search_web",
    "Search the web for pages",
    {"query": {"type": "string", "maxLength": 60}, "top_k": {"type": "integer", "minimum": 1, "maximum": 10}},
    ["query"],
)
LIGHT = tool(
    "set_light",
    "Switch a room's light on or off and set its brightness",
    {
        "room": {"type": "string", "enum": ["kitchen", "bedroom", "living_room"]},
        "on": {"type": "boolean"},
        "brightness": {"type": "number", "minimum": 0, "maximum": 100},
    },
    ["room", "on"],
)
TIMER = tool(
    "start_timer",
    "Start a kitchen timer",
    {"minutes": {"type": "integer", "minimum": 1, "maximum": 120}, "label": {"type": "string", "maxLength": 40}},
    ["minutes"],
)
EMAIL = tool(
    "send_email",
    "Send an email",
    {"to": {"type": "string", "maxLength": 60}, "subject": {"type": "string", "maxLength": 60}, "body": {"type": "string", "maxLength": 120}},
    ["to", "subject"],
)
EVENT = tool(
    "create_event",
    "Put an event in the calendar",
    {
        "title": {"type": "string", "maxLength": 40},
        "attendees": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 3},
        "when": {
            "type": "object",
            "properties": {"date": {"type": "string", "maxLength": 10}, "hour": {"type": "integer", "minimum": 0, "maximum": 23}},
            "required": ["date", "hour"],
        },
    },
    ["title", "when"],
)


def named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


# (message, tools, tool_choice, parallel_tool_calls)
CASES: list[tuple[str, list[dict[str, Any]], Any, bool | None]] = [
    ("What's the weather in Paris?", [WEATHER, ADD], "auto", None),
    ("Add 2 and 40.", [WEATHER, ADD], "required", None),
    ("Find news about llamas.", [WEATHER, ADD, SEARCH], named("search_web"), None),
    ("What is the weather in Oslo and in Rome?", [WEATHER], "required", True),
    ("Turn the kitchen light on at 50 percent.", [LIGHT, TIMER], "required", False),
    ("Set a timer for 10 minutes for the tea.", [LIGHT, TIMER], "auto", None),
    ("Email bob@example.com that the meeting moved.", [EMAIL], "required", False),
    ("Create an event 'Team sync' on 2025-05-01 at 10 with Ana and Li.", [EVENT, WEATHER], named("create_event"), None),
    ("Add 7 and 8.", [ADD], named("add"), False),
    ("Weather in Tokyo in fahrenheit, please.", [WEATHER, SEARCH, ADD], "required", None),
    ("Search for the best pizza in Naples.", [SEARCH], "auto", None),
    ("Switch the bedroom light off.", [LIGHT], named("set_light"), None),
    ("What is 100 plus 23?", [ADD, TIMER], "auto", False),
    ("Start a 5 minute timer for the eggs.", [TIMER], "required", True),
    ("Schedule 'Lunch' on 2025-06-02 at 12.", [EVENT], "required", False),
    ("Write to alice@example.com about lunch tomorrow.", [EMAIL, SEARCH], "auto", None),
    ("Look up the Python documentation for asyncio.", [SEARCH, WEATHER], "required", True),
    ("How warm is it in Berlin?", [WEATHER], named("get_weather"), None),
    ("Add 1 and 1, and also 2 and 2.", [ADD], "required", True),
    ("Hi! How are you today?", [WEATHER, ADD], "auto", None),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    store = SQLiteStore(Path(tmp_path_factory.mktemp("serving")) / "sessions.db")
    engine = EmbeddedEngine(context_size=2048, slots=2)
    app = create_app(ServerSettings(), engine=engine, store=store, tools=[], close_on_shutdown=True)
    with BackgroundServer(app) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: BackgroundServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0, timeout=300)


@pytest.mark.timeout(1800)  # 20 requests; on 2 shared cores a model-backed request can take a while
def test_tool_calls_are_valid_for_varied_requests_and_tool_sets(api: openai.OpenAI) -> None:
    called = 0
    for message, tools, choice, parallel in CASES:
        options: dict[str, Any] = {"parallel_tool_calls": parallel} if parallel is not None else {}
        response = api.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": message}], tools=tools, tool_choice=choice, max_tokens=40, **options
        )
        choice_out = response.choices[0]
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
        calls = choice_out.message.tool_calls or []
        where = f"{message!r} ({choice})"
        if choice != "auto":
            assert choice_out.finish_reason == "tool_calls" and calls, where
        if isinstance(choice, dict):
            assert {c.function.name for c in calls} == {choice["function"]["name"]}, where
        if parallel is False:
            assert len(calls) <= 1, where
        if calls:
            called += 1
            assert choice_out.finish_reason == "tool_calls" and choice_out.message.content is None, where
        for call in calls:
            assert call.type == "function" and call.id.startswith("call_")
            assert call.function.name in schemas, where
            jsonschema.validate(json.loads(call.function.arguments), schemas[call.function.name])
        assert response.usage.prompt_tokens > 0
        assert 0 <= response.usage.prompt_tokens_details.cached_tokens <= response.usage.prompt_tokens
    assert called >= 15  # every required and named case, and most auto ones


def test_a_tool_result_turn_gets_an_answer_and_reuses_the_cache(api: openai.OpenAI) -> None:
    first = api.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Add 2 and 40."}], tools=[ADD], tool_choice="required", parallel_tool_calls=False, max_tokens=32
    )
    [call] = first.choices[0].message.tool_calls or []
    history = [
        {"role": "user", "content": "Add 2 and 40."},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "42"},
    ]
    second = api.chat.completions.create(model="m", messages=history, tools=[ADD], tool_choice="none", max_tokens=24)
    assert second.choices[0].finish_reason in ("stop", "length")
    assert second.choices[0].message.content and not second.choices[0].message.tool_calls
    # the resent history is served from the engine's prefix cache up to the new turn (the
    # first request's own count holds every scoring request it made, so it is no yardstick)
    assert second.usage.prompt_tokens_details.cached_tokens >= second.usage.prompt_tokens // 2


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0}}, "required": ["name", "age"]},
        {
            "type": "object",
            "properties": {"mood": {"type": "string", "enum": ["happy", "sad", "neutral"]}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3}},
            "required": ["mood", "tags"],
        },
    ],
)
def test_response_format_output_validates(api: openai.OpenAI, schema: dict[str, Any]) -> None:
    response = api.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "Describe Ana, who is 30 and happy, as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
        max_tokens=64,
    )
    assert response.choices[0].finish_reason == "stop"
    jsonschema.validate(json.loads(response.choices[0].message.content or ""), schema)


def _streamed(api: openai.OpenAI, **request: Any) -> tuple[str, list[tuple[str, str]], str | None]:
    text, calls, finish = "", [], None
    for chunk in api.chat.completions.create(stream=True, **request):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for call in delta.tool_calls or []:
            calls.append((call.function.name, call.function.arguments))  # type: ignore[union-attr]
        finish = chunk.choices[0].finish_reason or finish
    return text, calls, finish


@pytest.mark.parametrize(
    "request_",
    [
        {"messages": [{"role": "user", "content": "Say hello to Mia."}], "max_tokens": 16},
        {"messages": [{"role": "user", "content": "What is the capital of France?"}], "tools": [WEATHER], "tool_choice": "none", "max_tokens": 16},
        {"messages": [{"role": "user", "content": "Weather in Lima?"}], "tools": [WEATHER, ADD], "tool_choice": named("get_weather"), "max_tokens": 32},
    ],
    ids=["plain", "answer", "tool-call"],
)
def test_streaming_chunks_reassemble_to_the_non_streamed_answer(api: openai.OpenAI, request_: dict[str, Any]) -> None:
    whole = api.chat.completions.create(model="m", **request_)
    text, calls, finish = _streamed(api, model="m", **request_)
    message = whole.choices[0].message
    assert finish == whole.choices[0].finish_reason
    assert text == (message.content or "")
    assert calls == [(c.function.name, c.function.arguments) for c in message.tool_calls or []]


def test_models_and_readiness(server: BackgroundServer, api: openai.OpenAI) -> None:
    [model] = api.models.list().data
    assert model.id.startswith("SmolLM2-135M")
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_a_schema_the_engine_cannot_compile_is_a_400(server: BackgroundServer, api: openai.OpenAI) -> None:
    look_behind = {"type": "object", "properties": {"code": {"type": "string", "pattern": "(?<=x)y"}}, "required": ["code"]}
    with pytest.raises(openai.BadRequestError) as raised:
        api.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "A code"}],
            response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": look_behind}},
            max_tokens=16,
        )
    assert raised.value.code == "invalid_schema" and "look-around" in str(raised.value)
    bad_tool = tool("lookup", "Look a code up", look_behind["properties"], ["code"])
    response = httpx.post(
        server.url + "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Look up y"}], "tools": [bad_tool], "tool_choice": "required", "max_tokens": 16},
        timeout=120,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_schema"
    assert httpx.get(server.url + "/readyz").status_code == 200  # the engine is fine afterwards
