"""OpenTelemetry traces on the scripted engine: an agent run's span tree and its GenAI
attributes, errors as span statuses, a served chat completion's spans, nothing at all without a
tracer provider, and the OTLP/HTTP export to a receiver on loopback."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as semconv
from opentelemetry.trace import StatusCode
from opentelemetry.util._once import Once

from radixagent.agent import Agent
from radixagent.decision import DecisionSettings
from radixagent.engine import ScriptedEngine
from radixagent.errors import ConfigurationError, EngineUnavailableError
from radixagent.memory import SQLiteStore
from radixagent.recovery import RetryPolicy
from radixagent.server import BackgroundServer, ServerSettings, create_app
from radixagent.telemetry import configure_tracing, otlp_traces_endpoint, tracer
from radixagent.telemetry import spans as names

MODEL_ONLY = DecisionSettings().model_only()
ADD_SPEC = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]},
    },
}


def _unset_global_provider() -> None:
    # what opentelemetry's own test utilities do: the global provider may be set once per process
    trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]
    trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """A global SDK tracer provider for the test, exporting to memory; unset afterwards."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _unset_global_provider()
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()
    _unset_global_provider()


def make_agent(replies: Sequence[Any], **options: Any) -> Agent:
    agent = Agent(ScriptedEngine(replies), decision=MODEL_ONLY, **options)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    [found] = [s for s in spans if s.name == name]
    return found


def children(spans: Sequence[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_the_attribute_names_are_the_semantic_conventions() -> None:
    assert (names.CACHED_INPUT_TOKENS, names.INPUT_TOKENS, names.OUTPUT_TOKENS) == (
        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        semconv.GEN_AI_USAGE_INPUT_TOKENS,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
    )
    assert (names.OPERATION, names.PROVIDER, names.AGENT_NAME, names.CONVERSATION_ID) == (
        semconv.GEN_AI_OPERATION_NAME,
        semconv.GEN_AI_PROVIDER_NAME,
        semconv.GEN_AI_AGENT_NAME,
        semconv.GEN_AI_CONVERSATION_ID,
    )
    assert (names.TOOL_NAME, names.TOOL_CALL_ID, names.FINISH_REASONS, names.REQUEST_MODEL, names.RESPONSE_MODEL) == (
        semconv.GEN_AI_TOOL_NAME,
        semconv.GEN_AI_TOOL_CALL_ID,
        semconv.GEN_AI_RESPONSE_FINISH_REASONS,
        semconv.GEN_AI_REQUEST_MODEL,
        semconv.GEN_AI_RESPONSE_MODEL,
    )
    operations = semconv.GenAiOperationNameValues
    assert (names.INVOKE_AGENT, names.CHAT, names.TEXT_COMPLETION, names.EXECUTE_TOOL) == (
        operations.INVOKE_AGENT.value,
        operations.CHAT.value,
        operations.TEXT_COMPLETION.value,
        operations.EXECUTE_TOOL.value,
    )


def test_an_agent_run_is_a_tree_of_run_steps_engine_calls_and_tool_calls(exporter: InMemorySpanExporter) -> None:
    agent = make_agent([" add", '{"a": 2, "b": 40}', " answer", "The sum is 42."], name="calculator")
    response = agent.run_sync("What is 2 + 40?")
    assert response.content == "The sum is 42."
    spans = exporter.get_finished_spans()

    run = one(spans, "invoke_agent calculator")
    assert run.parent is None
    assert run.attributes is not None
    assert run.attributes[names.OPERATION] == "invoke_agent"
    assert run.attributes[names.AGENT_NAME] == "calculator"
    assert run.attributes[names.CONVERSATION_ID] == response.session_id
    assert run.attributes[names.PROVIDER] == "scripted"
    # the run's numbers are the response's: every engine call of the run, summed
    assert run.attributes[names.INPUT_TOKENS] == response.usage.prompt_tokens > 0
    assert run.attributes[names.OUTPUT_TOKENS] == response.usage.completion_tokens > 0
    assert run.attributes[names.CACHED_INPUT_TOKENS] == response.usage.cached_tokens > 0
    assert run.status.status_code is StatusCode.UNSET

    steps = children(spans, run)
    assert [s.name for s in steps] == ["step 1", "step 2"]
    first, second = steps

    engine_calls = [s for s in spans if s.attributes and s.attributes.get(names.OPERATION) == "text_completion"]
    assert engine_calls and all(s.parent is not None and s.parent.span_id in (first.context.span_id, second.context.span_id) for s in engine_calls)
    assert all(s.kind is trace.SpanKind.CLIENT and s.attributes and s.attributes[names.REQUEST_MODEL] == "scripted" for s in engine_calls)
    assert sum(int((s.attributes or {})[names.INPUT_TOKENS]) for s in engine_calls) == response.usage.prompt_tokens
    assert sum(int((s.attributes or {})[names.CACHED_INPUT_TOKENS]) for s in engine_calls) == response.usage.cached_tokens
    arguments = [s for s in children(spans, first) if (s.attributes or {}).get(names.ENGINE_METHOD) == "generate"]
    [generation] = arguments
    assert generation.attributes is not None
    assert generation.attributes[names.FINISH_REASONS] == ("stop",)
    assert generation.attributes[names.CONSTRAINT] == "json_schema"  # the tool's arguments, under its schema
    assert generation.attributes[names.OUTPUT_TOKENS] > 0
    scores = [s for s in children(spans, first) if (s.attributes or {}).get(names.ENGINE_METHOD) == "score"]
    assert scores and all((s.attributes or {})[names.SCORE_CHOICES] >= 2 for s in scores)

    [tool] = [s for s in children(spans, first) if s.name == "execute_tool add"]
    [record] = response.tool_calls
    assert tool.attributes is not None
    assert tool.attributes[names.OPERATION] == "execute_tool"
    assert tool.attributes[names.TOOL_NAME] == "add"
    assert tool.attributes[names.TOOL_CALL_ID] == record.id
    assert tool.status.status_code is StatusCode.UNSET
    assert tool.end_time is not None and tool.start_time is not None and tool.end_time >= tool.start_time
    assert not [s for s in children(spans, second) if s.name.startswith("execute_tool")]
    # the second step's prompt extends the first: the engine says it was served from its cache
    assert all(int((s.attributes or {})[names.CACHED_INPUT_TOKENS]) > 0 for s in children(spans, second))


def test_a_failing_tool_marks_its_span_as_an_error(exporter: InMemorySpanExporter) -> None:
    agent = make_agent([" boom", " answer", "It failed, sorry."])

    @agent.tool
    def boom() -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    response = agent.run_sync("Run boom")
    assert response.is_successful
    spans = exporter.get_finished_spans()
    tool = one(spans, "execute_tool boom")
    assert tool.status.status_code is StatusCode.ERROR
    assert "disk on fire" in (tool.status.description or "")
    assert (tool.attributes or {})[names.ERROR_TYPE] == "execution"
    step = one(spans, "step 1")
    assert [e.name for e in step.events] == [names.FAILURE_EVENT]
    assert one(spans, "invoke_agent radixagent").status.status_code is StatusCode.UNSET  # the run recovered


def test_an_engine_failure_fails_its_calls_and_the_run(exporter: InMemorySpanExporter) -> None:
    down = EngineUnavailableError("engine went away")
    agent = make_agent([down, down], retry_policy=RetryPolicy(max_attempts=2, base_delay_s=0))
    response = agent.run_sync("1 + 1?")
    assert not response.is_successful
    spans = exporter.get_finished_spans()
    attempts = [s for s in spans if s.name == "text_completion scripted"]
    assert len(attempts) == 2  # a span per attempt: the retry is visible
    assert all(s.status.status_code is StatusCode.ERROR and (s.attributes or {})[names.ERROR_TYPE] == "EngineUnavailableError" for s in attempts)
    run = one(spans, "invoke_agent radixagent")
    assert run.status.status_code is StatusCode.ERROR and "engine went away" in (run.status.description or "")


def test_a_cancelled_run_still_ends_its_spans(exporter: InMemorySpanExporter) -> None:
    agent = make_agent([" wait"])

    @agent.tool
    async def wait() -> str:
        """Waits a long time."""
        await asyncio.sleep(30)
        return "done"

    async def cancelled() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(agent.run("wait"), 0.2)

    asyncio.run(cancelled())
    spans = exporter.get_finished_spans()
    assert one(spans, "invoke_agent radixagent").status.status_code is StatusCode.ERROR
    assert one(spans, "execute_tool wait").status.status_code is StatusCode.ERROR
    assert one(spans, "step 1").end_time is not None


def test_without_a_tracer_provider_nothing_is_traced() -> None:
    _unset_global_provider()
    assert tracer() is None
    agent = make_agent([" probe", " answer", "Done."])
    seen: list[bool] = []

    @agent.tool
    def probe() -> str:
        """Reports whether a span is current."""
        seen.append(trace.get_current_span().get_span_context().is_valid)
        return "ok"

    response = agent.run_sync("probe")
    assert response.is_successful and seen == [False]


def test_served_chat_completions_and_session_runs_make_spans(exporter: InMemorySpanExporter) -> None:
    engine = ScriptedEngine()
    app = create_app(ServerSettings(decision_evidence=False), engine=engine, store=SQLiteStore(":memory:"), tools=[])
    with BackgroundServer(app) as running:
        engine.add_replies(" add", '{"a": 2, "b": 40}', " run")
        body = {"model": "anything", "messages": [{"role": "user", "content": "What is 2 + 40?"}], "tools": [ADD_SPEC]}
        reply = httpx.post(running.url + "/v1/chat/completions", json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        engine.add_replies("Hello there")
        streamed = {"model": "anything", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
        # a client's W3C trace context: the streamed turn's span joins the client's trace
        parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        with httpx.stream("POST", running.url + "/v1/chat/completions", json=streamed, headers={"traceparent": parent}, timeout=30) as response:
            assert response.status_code == 200 and "[DONE]" in response.read().decode()
        session = httpx.post(running.url + "/v1/sessions", json={"tools": []}, timeout=30).json()
        engine.add_replies(" answer", "Hello.")
        message = httpx.post(running.url + f"/v1/sessions/{session['id']}/messages", json={"content": "hi"}, timeout=30)
        assert message.status_code == 200, message.text
    spans = exporter.get_finished_spans()
    # a session's message is an agent run, in the session's conversation
    run = one(spans, "invoke_agent radixagent")
    assert (run.attributes or {})[names.CONVERSATION_ID] == session["id"]
    [step] = children(spans, run)
    assert children(spans, step) and all(c.name == "text_completion scripted" for c in children(spans, step))
    chats = [s for s in spans if s.name == "chat anything"]
    assert len(chats) == 2
    tools_turn, streamed_turn = sorted(chats, key=lambda s: s.start_time or 0)
    assert tools_turn.attributes is not None
    assert tools_turn.attributes[names.OPERATION] == "chat"
    assert tools_turn.attributes[names.REQUEST_MODEL] == "anything"
    assert tools_turn.attributes[names.RESPONSE_MODEL] == "scripted"
    assert tools_turn.attributes[names.FINISH_REASONS] == ("tool_calls",)
    assert tools_turn.attributes[names.TOOL_CALLS] == ("add",)
    usage = reply.json()["usage"]
    assert tools_turn.attributes[names.INPUT_TOKENS] == usage["prompt_tokens"]
    assert tools_turn.attributes[names.OUTPUT_TOKENS] == usage["completion_tokens"]
    calls = children(spans, tools_turn)
    assert {(c.attributes or {})[names.ENGINE_METHOD] for c in calls} == {"score", "generate"}
    [stream] = children(spans, streamed_turn)
    assert stream.attributes is not None
    assert stream.attributes[names.ENGINE_METHOD] == "stream" and stream.attributes[names.REQUEST_STREAM] is True
    assert stream.attributes[names.FINISH_REASONS] == ("stop",)
    assert streamed_turn.attributes is not None and streamed_turn.attributes[names.FINISH_REASONS] == ("stop",)
    assert streamed_turn.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert streamed_turn.parent is not None and streamed_turn.parent.span_id == 0xB7AD6B7169203331
    assert tools_turn.parent is None  # no traceparent: a trace of its own


# --- export ------------------------------------------------------------------------------------


class _Receiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP receiver on loopback: keeps each POST's path and body."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, str, bytes]] = []
        received = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the handler's name is http.server's)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers["Content-Type"], body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_configured_export_posts_the_run_over_otlp_http(receiver: _Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    _unset_global_provider()
    try:
        provider = configure_tracing(ServerSettings(otlp_endpoint=f"http://127.0.0.1:{receiver.server_port}"))
        assert provider is not None and tracer() is not None
        assert configure_tracing(endpoint="http://127.0.0.1:1") is None  # a provider is set: it stays
        response = make_agent([" answer", "Hello."]).run_sync("Hi")
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        _unset_global_provider()
    assert receiver.posts
    exported: list[tuple[str, Any]] = []
    for path, content_type, body in receiver.posts:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "radixagent"
            exported += [(s.name, s) for scope in resource_spans.scope_spans for s in scope.spans]
    by_name = dict(exported)
    assert {"invoke_agent radixagent", "step 1", "text_completion scripted"} <= set(by_name)
    run_attributes = {a.key: a.value for a in by_name["invoke_agent radixagent"].attributes}
    assert run_attributes[names.CONVERSATION_ID].string_value == response.session_id
    assert by_name["step 1"].parent_span_id == by_name["invoke_agent radixagent"].span_id


def test_the_otlp_endpoint_comes_from_the_setting_or_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "RADIXAGENT_OTLP_ENDPOINT"):
        monkeypatch.delenv(variable, raising=False)
    assert otlp_traces_endpoint(None) is None
    assert configure_tracing(ServerSettings()) is None  # nothing configured: nothing set up
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert otlp_traces_endpoint(None) == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom")
    assert otlp_traces_endpoint(None) == "http://traces:4318/custom"
    monkeypatch.setenv("RADIXAGENT_OTLP_ENDPOINT", "https://mine:4318/v1/traces")
    assert otlp_traces_endpoint(ServerSettings().otlp_endpoint) == "https://mine:4318/v1/traces"
    with pytest.raises(ConfigurationError, match="http:// or https://"):
        otlp_traces_endpoint("collector:4318")


def test_serve_takes_the_otlp_endpoint_and_refuses_a_bad_one_before_listening(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from radixagent.cli import app

    monkeypatch.delenv("RADIXAGENT_OTLP_ENDPOINT", raising=False)
    result = CliRunner().invoke(app, ["serve", "--engine", "http://127.0.0.1:1", "--otlp-endpoint", "collector:4318"])
    assert result.exit_code == 1
    assert "The OTLP endpoint 'collector:4318' is not an http:// or https:// URL" in " ".join(result.stderr.split())
    assert tracer() is None


def test_a_run_resumed_after_approval_is_traced_too(exporter: InMemorySpanExporter) -> None:
    from radixagent.schemas import Approve

    agent = Agent(ScriptedEngine([" add", '{"a": 2, "b": 40}', " answer", "The sum is 42."]), decision=MODEL_ONLY)

    @agent.tool(requires_approval=True)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    paused = agent.run_sync("What is 2 + 40?")
    [pending] = paused.pending_approvals
    agent.resume_sync({pending.call_id: Approve()})
    runs = [s for s in exporter.get_finished_spans() if s.name == "invoke_agent radixagent"]
    assert len(runs) == 2  # the paused run and its resumption
    tool = one(exporter.get_finished_spans(), "execute_tool add")
    assert tool.parent is not None and tool.context is not None
    # the approved call runs inside the resumed run's span
    resumed = [s for s in exporter.get_finished_spans() if s.context is not None and s.context.span_id == tool.parent.span_id]
    assert resumed and (resumed[0].name == "invoke_agent radixagent" or resumed[0].name.startswith("step"))
    assert resumed[0].context is not None and runs[1].context is not None
    assert resumed[0].context.trace_id == runs[1].context.trace_id
