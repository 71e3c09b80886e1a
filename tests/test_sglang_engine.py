"""The SGLang engine.

Two kinds of peer:
- The HTTP paths SGLang shares with the OpenAI API (`/v1/chat/completions`, plain and
  streamed, JSON-schema constrained) run against a REAL llama.cpp server on loopback (the
  `llama_server_url` fixture).
- SGLang-only behaviour (`/generate` bodies, `meta_info.cached_tokens`, the finish_reason dict,
  cumulative streaming text, `output_token_logprobs`, reasoning separation, the
  `/server_info` -> `/get_server_info` fallback, absent `cached_tokens` read as 0, 503 from
  `/health_generate`, `select`-style scoring) runs against response bodies WRITTEN FROM
  SGLang's DOCUMENTED FORMAT AND CODE (each file's source is named in
  tests/fixtures/sglang/SOURCES.json; test_sglang_conformance.py checks them against the rules
  that code states), NOT CAPTURED FROM A LIVE SGLang SERVER: the JSON files in
  tests/fixtures/sglang/, served by a small real HTTP server on loopback that also records
  what the engine sent. No SGLang server runs on these machines (it needs a GPU). The fake
  server built from those rules (tests/fake_sglang.py) is exercised in test_sglang_fake.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from radixagent.engine import (
    ChatMessage,
    ChoicesConstraint,
    GrammarConstraint,
    JsonSchemaConstraint,
    RegexConstraint,
    SamplingParams,
    SGLangEngine,
    create_engine,
)
from radixagent.engine._portal import run_sync
from radixagent.engine.reasoning import StreamingReasoningSplitter, split_reasoning
from radixagent.errors import ConstraintError, EngineHTTPError, EngineUnavailableError

FIXTURES = Path(__file__).parent / "fixtures" / "sglang"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- a small real HTTP server on loopback that answers from fixtures -------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    events: list[Any] | None = None
    """Sent as SSE `data:` lines, then `data: [DONE]`."""
    text: str | None = None


Route = Reply | Callable[[Any], Reply]


@dataclass
class FakeSGLang:
    routes: dict[tuple[str, str], Route]
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    url: str = ""

    def bodies(self, method: str, path: str) -> list[Any]:
        return [body for m, p, body in self.requests if (m, p) == (method, path)]


@pytest.fixture
def fake() -> Iterator[Callable[[dict[tuple[str, str], Route]], FakeSGLang]]:
    servers: list[ThreadingHTTPServer] = []

    def start(routes: dict[tuple[str, str], Route]) -> FakeSGLang:
        state = FakeSGLang(routes)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                state.requests.append((method, self.path, body))
                route = state.routes.get((method, self.path))
                if route is None:
                    reply = Reply(status=404, body={"detail": "Not Found"})
                else:
                    reply = route(body) if callable(route) else route
                if reply.events is not None:
                    self.send_response(reply.status)
                    self.send_header("content-type", "text/event-stream")
                    self.end_headers()
                    for event in reply.events:
                        self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                payload = reply.text.encode() if reply.text is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "text/plain" if reply.text is not None else "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def plain_model() -> dict[tuple[str, str], Route]:
    """A non-reasoning model, found at the new /model_info name."""
    return {("GET", "/model_info"): Reply(body=fixture("model_info_plain"))}


# --- /generate ----------------------------------------------------------------------------


def test_generate_text_reads_meta_info_and_logprobs(fake) -> None:
    """Body written from SGLang's documented format, not captured from a live server: a
    `/generate` answer with cached_tokens, a finish_reason dict and [logprob, id, text] lists."""
    server = fake({**plain_model(), ("POST", "/generate"): Reply(body=fixture("generate"))})
    engine = SGLangEngine(server.url)
    completion = engine.generate_sync("The capital of France is", sampling=SamplingParams(max_tokens=8, logprobs=1))
    assert completion.text == " Paris."
    assert completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 7
    assert completion.usage.cached_tokens == 6
    assert completion.token_ids == [7042, 30]
    assert completion.logprobs is not None
    assert [lp.token for lp in completion.logprobs] == [" Paris", "."]
    assert completion.logprobs[0].token_id == 7042
    assert completion.logprobs[0].logprob == pytest.approx(-0.1107)
    assert [t.token for t in completion.logprobs[0].top] == [" Paris"]
    sent = server.bodies("POST", "/generate")[0]
    assert sent["text"] == "The capital of France is"
    assert sent["sampling_params"]["max_new_tokens"] == 8
    assert sent["return_logprob"] is True and sent["top_logprobs_num"] == 1
    engine.close()


def test_generate_token_ids_and_length_finish(fake) -> None:
    """Body written from SGLang's documented format, not captured from a live server: token-id
    prompts go as `input_ids`; `{"type": "length"}` becomes finish_reason "length"."""
    server = fake({**plain_model(), ("POST", "/generate"): Reply(body=fixture("generate_length"))})
    engine = SGLangEngine(server.url)
    assert engine.takes_token_ids
    completion = engine.generate_sync([1, 2, 3, 4], sampling=SamplingParams(max_tokens=4, stop=["\n"]))
    assert completion.finish_reason == "length"
    assert completion.usage.cached_tokens == 0
    assert completion.logprobs is None
    sent = server.bodies("POST", "/generate")[0]
    assert sent["input_ids"] == [1, 2, 3, 4] and "text" not in sent
    assert sent["sampling_params"]["stop"] == ["\n"]
    assert "return_logprob" not in sent
    engine.close()


def test_constraints_become_sampling_params(fake) -> None:
    """Body written from SGLang's documented format, not captured from a live server: the JSON
    schema goes as a JSON *string*, choices as a regex of escaped alternatives, a grammar as
    `ebnf`, and never more than one of them."""
    server = fake({**plain_model(), ("POST", "/generate"): Reply(body=fixture("generate_json_schema"))})
    engine = SGLangEngine(server.url)
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    completion = engine.generate_sync("Person:", constraint=JsonSchemaConstraint(json_schema=schema))
    jsonschema.validate(json.loads(completion.text), schema)
    engine.generate_sync("Pick:", constraint=ChoicesConstraint(choices=["a.b", "c|d", "e f"]))
    engine.generate_sync("Year:", constraint=RegexConstraint(pattern="[0-9]{4}"))
    engine.generate_sync("Yes?", constraint=GrammarConstraint(grammar='root ::= "yes" | "no"'))
    sent = [b["sampling_params"] for b in server.bodies("POST", "/generate")]
    assert isinstance(sent[0]["json_schema"], str)
    assert json.loads(sent[0]["json_schema"])["properties"]["age"] == {"type": "integer"}
    assert sent[1]["regex"] == r"(a\.b|c\|d|e f)"
    assert sent[2]["regex"] == "[0-9]{4}"
    assert sent[3]["ebnf"] == 'root ::= "yes" | "no"'
    for params in sent:
        assert sum(k in params for k in ("json_schema", "regex", "ebnf")) == 1
    engine.close()


def test_abort_for_a_bad_grammar_is_a_constraint_error(fake) -> None:
    """Events written from SGLang's code (tokenizer_manager._handle_abort_finish_reason), not
    captured from a live server: streamed, an abort for a grammar that does not compile arrives as
    the last event's finish_reason; not streamed, SGLang raises it as an HTTP 400."""
    server = fake(
        {
            **plain_model(),
            ("POST", "/generate"): lambda body: (
                Reply(events=fixture("generate_stream_abort_grammar"))
                if body.get("stream")
                else Reply(status=400, body={"error": {"message": fixture("generate_stream_abort_grammar")[0]["meta_info"]["finish_reason"]["message"]}})
            ),
        }
    )
    engine = SGLangEngine(server.url)
    with pytest.raises(ConstraintError, match="Invalid grammar request"):
        list(engine.stream_sync("x", constraint=JsonSchemaConstraint(json_schema={"type": "bogus"})))
    with pytest.raises(ConstraintError, match="Invalid grammar request"):
        engine.generate_sync("x", constraint=JsonSchemaConstraint(json_schema={"type": "bogus"}))
    engine.close()


# --- streaming ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["generate_stream", "generate_stream_incremental"])
def test_stream_cumulative_and_incremental_text(fake, name: str) -> None:
    """Events written from SGLang's documented format, not captured from a live server: by
    default every event carries the whole text so far; with --incremental-streaming-output only
    the new text. Either way the deltas add up to the final text exactly once."""
    server = fake({**plain_model(), ("POST", "/generate"): Reply(events=fixture(name))})
    engine = SGLangEngine(server.url)
    chunks = list(engine.stream_sync("The capital of France is"))
    deltas = [c.text for c in chunks if c.completion is None]
    assert deltas == [" Paris", " is", " the", " capital."]
    assert [i for c in chunks for i in c.token_ids] == [7042, 314, 260, 3575, 30]
    final = chunks[-1].completion
    assert final is not None
    assert final.text == " Paris is the capital."
    assert final.token_ids == [7042, 314, 260, 3575, 30]
    assert final.finish_reason == "stop"
    assert final.usage.cached_tokens == 6 and final.usage.completion_tokens == 5
    assert server.bodies("POST", "/generate")[0]["stream"] is True
    engine.close()


# --- reasoning ----------------------------------------------------------------------------


def test_think_reasoning_never_reaches_the_answer(fake) -> None:
    """Body written from SGLang's documented format, not captured from a live server: a Qwen3
    output whose `<think>` was opened by the chat template."""
    server = fake(
        {
            ("GET", "/model_info"): Reply(body=fixture("model_info")),
            ("POST", "/generate"): Reply(body=fixture("generate_think")),
        }
    )
    engine = SGLangEngine(server.url)
    completion = engine.generate_sync(
        "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n<think>\n"
    )
    assert completion.text == "Paris."
    assert completion.reasoning == "The user asks for the capital of France. That is Paris."
    assert "</think>" not in completion.text
    engine.close()


def test_think_reasoning_held_back_while_streaming(fake) -> None:
    """Events written from SGLang's documented format, not captured from a live server: the
    model is a Qwen3 (from /model_info), so streamed text is held until `</think>`; no reasoning
    is ever sent as an answer delta."""
    server = fake(
        {
            ("GET", "/model_info"): Reply(body=fixture("model_info")),
            ("POST", "/generate"): Reply(events=fixture("generate_stream_think")),
        }
    )
    engine = SGLangEngine(server.url)
    chunks = list(engine.stream_sync("Capital of France?"))
    streamed = "".join(c.text for c in chunks)
    assert streamed == "Paris."
    final = chunks[-1].completion
    assert final is not None and final.text == "Paris."
    assert final.reasoning == "Capital of France: Paris."
    engine.close()


def test_harmony_channels_are_separated(fake) -> None:
    """Body written from SGLang's documented format, not captured from a live server: gpt-oss
    writes harmony channels; the engine keeps special tokens so the markers survive."""
    server = fake(
        {
            ("GET", "/model_info"): Reply(body=fixture("model_info_gpt_oss")),
            ("POST", "/generate"): Reply(body=fixture("generate_harmony")),
        }
    )
    engine = SGLangEngine(server.url)
    completion = engine.generate_sync("What is the capital of France?")
    assert completion.text == "Paris."
    assert completion.reasoning == "User wants the capital of France. Answer briefly."
    assert server.bodies("POST", "/generate")[0]["sampling_params"]["skip_special_tokens"] is False
    engine.close()


def test_split_reasoning_shapes() -> None:
    assert split_reasoning("<think>a</think>\n\nb").model_dump() == {"answer": "b", "reasoning": "a"}
    assert split_reasoning("a</think>b").model_dump() == {"answer": "b", "reasoning": "a"}
    assert split_reasoning("<think>cut off").model_dump() == {"answer": "", "reasoning": "cut off"}
    assert split_reasoning("analysisthinkingassistantfinalDone.").model_dump() == {
        "answer": "Done.",
        "reasoning": "thinking",
    }
    assert split_reasoning("no reasoning here").model_dump() == {"answer": "no reasoning here", "reasoning": None}
    assert split_reasoning("<think>x</think>y", "none").answer == "<think>x</think>y"


def test_streaming_splitter_holds_partial_markers() -> None:
    splitter = StreamingReasoningSplitter("auto")
    out = [splitter.feed(piece) for piece in ["<th", "ink>plan", "</thi", "nk>", "Answer", " here"]]
    assert "".join(out) == "Answer here"
    split, rest = splitter.finish()
    assert rest == "" and split.reasoning == "plan" and split.answer == "Answer here"


# --- chat completions on SGLang -------------------------------------------------------------


def test_chat_reasoning_content_and_absent_cached_tokens(fake) -> None:
    """Body written from SGLang's documented format, not captured from a live server: without
    --enable-cache-report (or when nothing was cached) SGLang leaves
    `prompt_tokens_details` null or out entirely; both read as 0 cached tokens."""
    body = fixture("chat_completion")
    without_key = json.loads(json.dumps(body))
    del without_key["usage"]["prompt_tokens_details"]
    answers = iter([Reply(body=body), Reply(body=without_key), Reply(body=fixture("chat_completion_cache_report"))])
    server = fake({**plain_model(), ("POST", "/v1/chat/completions"): lambda _: next(answers)})
    engine = SGLangEngine(server.url, chat_template_kwargs={"enable_thinking": True})
    messages = [ChatMessage(role="user", content="Capital of France?")]
    first = engine.generate_sync(messages, constraint=JsonSchemaConstraint(json_schema={"type": "string"}))
    assert first.text == "Paris."
    assert first.reasoning == "The user asks for the capital of France; it is Paris."
    assert first.usage.cached_tokens == 0
    assert engine.generate_sync(messages).usage.cached_tokens == 0
    assert engine.generate_sync(messages).usage.cached_tokens == 17
    sent = server.bodies("POST", "/v1/chat/completions")
    assert sent[0]["separate_reasoning"] is True
    assert sent[0]["chat_template_kwargs"] == {"enable_thinking": True}
    assert sent[0]["response_format"]["type"] == "json_schema"
    assert "tools" not in sent[0]
    engine.close()


def test_chat_against_a_real_server(llama_server_url: str) -> None:
    """The chat path SGLang shares with the OpenAI API, against a real llama.cpp server."""
    engine = SGLangEngine(llama_server_url)
    messages = [ChatMessage(role="user", content="Name one colour.")]
    completion = engine.generate_sync(messages, sampling=SamplingParams(max_tokens=6, logprobs=0))
    assert completion.text
    assert completion.usage.prompt_tokens > 0 and 0 < completion.usage.completion_tokens <= 6
    assert completion.token_ids is not None and len(completion.token_ids) == completion.usage.completion_tokens
    streamed = list(engine.stream_sync(messages, sampling=SamplingParams(max_tokens=6)))
    assert "".join(c.text for c in streamed) == completion.text
    assert streamed[-1].completion is not None and streamed[-1].completion.text == completion.text
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "maxLength": 12}},
        "required": ["colour"],
        "additionalProperties": False,
    }
    constrained = engine.generate_sync(
        [ChatMessage(role="user", content="Give a colour as JSON.")],
        constraint=JsonSchemaConstraint(json_schema=schema),
        sampling=SamplingParams(max_tokens=40),
    )
    assert constrained.finish_reason == "stop"
    jsonschema.validate(json.loads(constrained.text), schema)
    engine.close()


# --- select-style scoring -------------------------------------------------------------------


def _tokenize_route(body: Any) -> Reply:
    if isinstance(body["prompt"], list):
        return Reply(body=fixture("tokenize_choices"))
    if body["prompt"] == "The capital of France is":
        return Reply(body=fixture("tokenize_prefix"))
    return Reply(body={"tokens": [64], "count": 1, "max_model_len": 32768})  # the engine's first look


def test_score_follows_sglang_select(fake) -> None:
    """Bodies written from SGLang's code (see SOURCES.json), not captured from a live server:
    the prefix is prefilled once with max_new_tokens 0, then prefix + each choice is sent as token
    ids with return_logprob and logprob_start_len one before the choice (SGLang's entry at
    logprob_start_len is None); a choice scores the mean of its own tokens' input logprobs, a
    single-token choice included."""
    generate = iter([Reply(body=fixture("score_prefill")), Reply(body=fixture("score_batch"))])
    server = fake({("POST", "/tokenize"): _tokenize_route, ("POST", "/generate"): lambda _: next(generate)})
    engine = SGLangEngine(server.url)
    result = engine.score_sync("The capital of France is", [" Paris", " London"])
    assert result.best == " Paris"
    scores = {s.choice: s for s in result.scores}
    assert scores[" Paris"].token_logprobs == pytest.approx([-0.3521])
    assert scores[" London"].token_logprobs == pytest.approx([-4.1, -0.2])
    assert scores[" London"].mean_logprob == pytest.approx(-2.15)
    assert result.usage.cached_tokens == 8
    tokenized = server.bodies("POST", "/tokenize")
    assert tokenized[1] == {"prompt": "The capital of France is", "add_special_tokens": True}
    assert tokenized[2] == {"prompt": [" Paris", " London"], "add_special_tokens": False}
    prefill, batch = server.bodies("POST", "/generate")
    assert prefill == {"input_ids": [504, 3575, 282, 4649, 314], "sampling_params": {"max_new_tokens": 0}}
    assert batch["input_ids"] == [[504, 3575, 282, 4649, 314, 7042], [504, 3575, 282, 4649, 314, 4997, 1096]]
    assert batch["logprob_start_len"] == 4
    assert batch["sampling_params"]["max_new_tokens"] == 0
    assert batch["return_logprob"] is True
    engine.close()


def test_score_without_tokenize_sends_text_like_the_frontend(fake) -> None:
    """Bodies written from SGLang's code, not captured from a live server: an SGLang with
    neither /tokenize nor /v1/tokenize gets text, batched, with logprob_start_len one before
    the prefill's prompt_tokens."""
    generate = iter([Reply(body=fixture("score_prefill")), Reply(body=fixture("score_batch"))])
    server = fake({("POST", "/generate"): lambda _: next(generate)})
    engine = SGLangEngine(server.url)
    result = engine.score_sync("The capital of France is", [" Paris", " London"])
    assert result.best == " Paris"
    prefill, batch = server.bodies("POST", "/generate")
    assert prefill["text"] == "The capital of France is"
    assert batch["text"] == ["The capital of France is Paris", "The capital of France is London"]
    assert batch["logprob_start_len"] == 4
    engine.close()


# --- server state ---------------------------------------------------------------------------


def test_server_info_falls_back_to_the_old_names(fake) -> None:
    """Bodies written from SGLang's documented format, not captured from a live server: older
    servers and routers only know /get_server_info and /get_model_info."""
    server = fake(
        {
            ("GET", "/get_server_info"): Reply(body=fixture("server_info")),
            ("GET", "/get_model_info"): Reply(body=fixture("model_info")),
            ("GET", "/v1/models"): Reply(body=fixture("v1_models")),
        }
    )
    engine = SGLangEngine(server.url)
    info = run_sync(engine.server_info())
    assert info.version == "0.5.4" and info.reasoning_parser == "qwen3" and info.enable_cache_report is False
    model = engine.model_info_sync()
    assert model.name == "Qwen/Qwen3-8B" and model.context_size == 40960
    paths = [p for _, p, _ in server.requests]
    assert paths[:2] == ["/server_info", "/get_server_info"]
    assert "/model_info" in paths and "/get_model_info" in paths
    engine.close()


def test_health_generate_503_while_starting(fake) -> None:
    """SGLang answers /health_generate with 503 while it is starting (status only, no body)."""
    states = iter([Reply(status=503, text=""), Reply(status=200, text="")])
    server = fake({("GET", "/health_generate"): lambda _: next(states)})
    engine = SGLangEngine(server.url)
    starting = engine.health_sync()
    assert not starting.ok and "503" in starting.detail
    assert engine.health_sync().ok
    engine.close()


def test_generate_while_starting_is_unavailable(fake) -> None:
    server = fake({**plain_model(), ("POST", "/generate"): Reply(status=503, text="")})
    engine = SGLangEngine(server.url)
    with pytest.raises(EngineUnavailableError, match="loading"):
        engine.generate_sync("hello")
    engine.close()


def test_flush_cache_busy_and_idle(fake) -> None:
    """SGLang's /flush_cache answers 400 while requests are running or waiting (text body)."""
    states = iter(
        [
            Reply(status=400, text="Cache flushed.\nPlease check backend logs"),
            Reply(status=200, text="Cache flushed.\n"),
        ]
    )
    server = fake({("POST", "/flush_cache"): lambda _: next(states)})
    engine = SGLangEngine(server.url)
    with pytest.raises(EngineHTTPError, match="running or waiting") as busy:
        run_sync(engine.flush_cache())
    assert busy.value.status_code == 400
    run_sync(engine.flush_cache())
    engine.close()


def test_factory_recognises_sglang_and_routers(fake) -> None:
    """Bodies written from SGLang's documented format, not captured from a live server: a URL
    is SGLang when /server_info (or, on older servers and routers, /get_server_info) answers
    with SGLang's server arguments."""
    new = fake({("GET", "/server_info"): Reply(body=fixture("server_info"))})
    old = fake({("GET", "/get_server_info"): Reply(body=fixture("server_info"))})
    assert isinstance(create_engine(new.url), SGLangEngine)
    assert isinstance(create_engine(old.url + "/"), SGLangEngine)
    forced = create_engine("sglang+" + new.url)
    assert isinstance(forced, SGLangEngine) and forced.base_url == new.url


def test_chat_stream_with_server_side_reasoning(fake) -> None:
    """Events written from SGLang's documented format, not captured from a live server: with
    --reasoning-parser the reasoning streams as `reasoning_content` deltas, so the answer in
    `content` streams as it comes, and the reasoning lands in the Completion only."""
    server = fake(
        {
            ("GET", "/model_info"): Reply(body=fixture("model_info")),
            ("GET", "/server_info"): Reply(body=fixture("server_info")),
            ("POST", "/v1/chat/completions"): Reply(events=fixture("chat_stream_reasoning")),
        }
    )
    engine = SGLangEngine(server.url)
    chunks = list(engine.stream_sync([ChatMessage(role="user", content="Capital of France?")]))
    assert [c.text for c in chunks if c.completion is None] == ["Paris", "."]
    final = chunks[-1].completion
    assert final is not None
    assert final.text == "Paris." and final.reasoning == "Capital of France: Paris."
    assert final.usage.prompt_tokens == 18 and final.usage.cached_tokens == 0
    assert server.bodies("POST", "/v1/chat/completions")[0]["stream_options"] == {"include_usage": True}
    engine.close()
