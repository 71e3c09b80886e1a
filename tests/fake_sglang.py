"""A fake SGLang server (and sglang-router) for the tests: FastAPI on loopback, no model.

It answers from the rules of SGLang 0.5.23's and sglang-router 0.3.2's code, with a toy model in
place of a GPU: a word-level tokenizer (BOS = 1 when special tokens are added) and logprobs that
are a pure function of the token ids, so every number is reproducible. The rules, and where they
are written:

- `/generate` (srt/entrypoints/http_server.py generate_request; managers/tokenizer_manager.py):
  `text` or `input_ids`, one or a batch; `max_new_tokens: 0` prefills only (finish
  `{"type": "length", "length": 0}`); `meta_info` always has `cached_tokens`.
- Input logprobs (managers/scheduler_components/logprob_result_processor.py,
  _process_input_token_logprobs): entries for `origin_input_ids[logprob_start_len:]`, the first
  one's logprob None; entries are `[logprob, id, text]`, text None unless
  `return_text_in_logprobs` (tokenizer_manager.detokenize_logprob_tokens).
- Radix cache (managers/schedule_batch.py, Req.init_next_round_input): a request asking for input
  logprobs reuses at most `logprob_start_len` cached tokens.
- Length checks: tokenizer_manager._validate_one_request raises "The input (N tokens) is longer
  than the model's context length (C tokens)." and "Requested token count exceeds ..."; the
  scheduler (managers/utils.py validate_input_length) aborts "Input length (N tokens) exceeds the
  maximum allowed length (M tokens)" with M = min(C - 1, KV pool - 1) - 5 (tp_worker.py).
  Not streamed, an abort with status 400 is an HTTP 400 `{"error": {"message"}}`
  (tokenizer_manager._handle_abort_finish_reason, http_server._create_error_response); streamed,
  the abort is the last event's `finish_reason`, and a ValueError is a `data: {"error": ...}`
  event; both end with `data: [DONE]`.
- Streaming: `text` and `output_ids` cumulative, or only the new part with
  `--incremental-streaming-output`.
- `/tokenize` = `/v1/tokenize` (entrypoints/openai/serving_tokenize.py): `add_special_tokens`
  (default True), `{"tokens", "count", "max_model_len"}`.
- Router mode (sgl-model-gateway server.rs build_app, protocols/generate.rs, routers/tokenize/
  handlers.rs): no `/tokenize` (404, empty body); `/v1/tokenize` uses the router's own tokenizer
  (`--model-path`), never adds special tokens, and answers 400 `tokenizer_not_found` without
  one; `/generate` takes `text` as one string (a list is a 422 from axum's Json extractor) but
  `input_ids` batched; `/server_info`, `/model_info`, `/v1/models`, `/health_generate` are the
  first worker's.

What the toy model writes is the test's to say: `reply(prompt_text, constraint)` gives the text,
and `prefer(context_text)` names the token texts the model likes next (logprob -0.05 instead of
a value in [-5, -1)). Every reply is checked against its constraint, so a test cannot pass on
output SGLang could not have produced.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

BOS = 1
EOS = 2
_TOKEN = re.compile(r"\s*\S+|\s+")

Reply = Callable[[str, "Constraint"], str]
Prefer = Callable[[str], set[str]]


@dataclass
class Constraint:
    json_schema: str | None = None
    regex: str | None = None
    ebnf: str | None = None


class ToyModel:
    """Word-level tokens (ids from 1000 on, in the order first seen) and deterministic logprobs."""

    def __init__(self, prefer: Prefer | None = None) -> None:
        self.vocab: dict[str, int] = {}
        self.pieces: dict[int, str] = {BOS: "<s>", EOS: "</s>"}
        self.prefer = prefer or (lambda _context: set())

    def encode(self, text: str, *, special: bool) -> list[int]:
        ids = [BOS] if special else []
        for piece in _TOKEN.findall(text):
            if piece not in self.vocab:
                self.vocab[piece] = 1000 + len(self.vocab)
                self.pieces[self.vocab[piece]] = piece
        return ids + [self.vocab[p] for p in _TOKEN.findall(text)]

    def piece(self, token_id: int) -> str:
        return self.pieces.get(token_id, f"<{token_id}>")

    def decode(self, ids: list[int], *, skip_special: bool = True) -> str:
        return "".join(self.piece(i) for i in ids if not (skip_special and i in (BOS, EOS)))

    def logprob(self, ids: list[int], position: int) -> float:
        """log P(ids[position] | ids[:position])."""
        if self.piece(ids[position]) in self.prefer(self.decode(ids[:position])):
            return -0.05
        seed = zlib.crc32(f"{ids[position - 1] if position else 0},{ids[position]}".encode())
        return -1.0 - (seed % 400) / 100


@dataclass
class FakeSGLang:
    """The server's state and settings. `router=True` puts sglang-router's rules in front;
    `router_tokenizer` is whether the router was launched with `--model-path`."""

    reply: Reply = field(default=lambda _prompt, _constraint: " OK.")
    prefer: Prefer | None = None
    router: bool = False
    router_tokenizer: bool = True
    context_length: int = 4096
    kv_tokens: int = 100_000
    incremental_streaming_output: bool = False
    enable_cache_report: bool = True
    model_path: str = "Qwen/Qwen2.5-7B-Instruct"
    tool_call_parser: str = "qwen"
    requests: list[tuple[str, Any]] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self.model = ToyModel(self.prefer)
        self.cache: list[list[int]] = []

    # --- what the docs' launch commands set ---------------------------------------------------

    @property
    def launch_flags(self) -> list[str]:
        """The flags of the launch command this fake mimics (docs/serving.md shows the same)."""
        if self.router:
            return ["--worker-urls", "--policy cache_aware", "--model-path"] if self.router_tokenizer else ["--worker-urls"]
        flags = ["--model-path", f"--tool-call-parser {self.tool_call_parser}"]
        return [*flags, "--enable-cache-report"] if self.enable_cache_report else flags

    @property
    def max_req_input_len(self) -> int:
        return min(self.context_length - 1, self.kv_tokens - 1) - 5

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.requests if p == path]

    # --- the radix cache --------------------------------------------------------------------

    def _cached(self, ids: list[int], limit: int) -> int:
        best = 0
        for seen in self.cache:
            n = 0
            for a, b in zip(seen, ids, strict=False):
                if a != b:
                    break
                n += 1
            best = max(best, n)
        return min(best, limit, len(ids) - 1)

    # --- one generate request ---------------------------------------------------------------

    def _ids(self, text: str | None, input_ids: list[int] | None) -> list[int]:
        return list(input_ids) if input_ids is not None else self.model.encode(text or "", special=True)

    def _entries(self, values: list[float | None], ids: list[int], with_text: bool) -> list[list[Any]]:
        return [[v, i, self.model.piece(i) if with_text else None] for v, i in zip(values, ids, strict=True)]

    def _check_length(self, ids: list[int], max_new: int) -> None:
        """tokenizer_manager._validate_one_request: ValueErrors, an HTTP 400 when not streamed."""
        n, c = len(ids), self.context_length
        if n >= c:
            raise ValueError(f"The input ({n} tokens) is longer than the model's context length ({c} tokens).")
        if max_new + n > c:
            raise ValueError(
                f"Requested token count exceeds the model's maximum context length of {c} tokens. You requested a "
                f"total of {max_new + n} tokens: {n} tokens from the input messages and {max_new} tokens for the "
                "completion. Please reduce the number of tokens in the input messages or the completion to fit "
                "within the limit."
            )

    def _generate_one(self, body: dict[str, Any], ids: list[int], rid: str) -> Iterator[dict[str, Any]]:
        """Every step's output dict (cumulative), the last one finished: as the tokenizer manager
        hands them to the HTTP layer."""
        started = time.perf_counter()
        params = body.get("sampling_params") or {}
        max_new = int(params.get("max_new_tokens", 128))
        return_logprob = bool(body.get("return_logprob"))
        start = body.get("logprob_start_len", -1)
        start = len(ids) if start is None or start == -1 else int(start)
        with_text = bool(body.get("return_text_in_logprobs"))
        base: dict[str, Any] = {"id": rid, "prompt_tokens": len(ids), "weight_version": "default"}
        if len(ids) >= self.max_req_input_len:  # the scheduler's abort (validate_input_length)
            message = (
                f"Input length ({len(ids)} tokens) exceeds the maximum allowed length ({self.max_req_input_len} "
                "tokens). Use a shorter input or enable --allow-auto-truncate."
            )
            yield {
                "text": "",
                "output_ids": [],
                "meta_info": {
                    **base,
                    "prompt_tokens": 1,  # set_finish_with_abort keeps one token to skip the prefill
                    "finish_reason": {"type": "abort", "message": message, "status_code": 400, "err_type": "BadRequestError"},
                    "completion_tokens": 0,
                    "cached_tokens": 0,
                    "e2e_latency": time.perf_counter() - started,
                },
            }
            return
        cached = self._cached(ids, start if return_logprob else len(ids))
        constraint = Constraint(params.get("json_schema"), params.get("regex"), params.get("ebnf"))
        out: list[int] = []
        finish: dict[str, Any]
        if max_new == 0:
            finish = {"type": "length", "length": 0}
        else:
            text = self.reply(self.model.decode(ids), constraint)
            abort = _violation(text, constraint)
            if abort:
                finish = {"type": "abort", "message": abort, "status_code": 400, "err_type": None}
            else:
                out = self.model.encode(text, special=False)
                stops = [s for s in ([params["stop"]] if isinstance(params.get("stop"), str) else params.get("stop") or [])]
                finish = {"type": "stop", "matched": EOS}
                for stop in stops:
                    decoded = self.model.decode(out)
                    if stop in decoded:
                        out = self.model.encode(decoded[: decoded.index(stop)], special=False)
                        finish = {"type": "stop", "matched": stop}
                if len(out) > max_new:
                    out, finish = out[:max_new], {"type": "length", "length": max_new}
        self.cache.append(ids + out)
        whole = ids + out
        for step in range(1, len(out) + 1) if out else [0]:
            done = step == len(out)
            meta: dict[str, Any] = {
                **base,
                "finish_reason": finish if done else None,
                "completion_tokens": step,
                "cached_tokens": cached,
                "e2e_latency": time.perf_counter() - started,
            }
            if return_logprob:
                values: list[float | None] = [None] + [self.model.logprob(whole, p) for p in range(start + 1, len(ids))]
                meta["input_token_logprobs"] = self._entries(values if start < len(ids) else [], ids[start:], with_text)
                outs = out[:step]
                meta["output_token_logprobs"] = self._entries(
                    [self.model.logprob(whole, len(ids) + k) for k in range(len(outs))], outs, with_text
                )
                top_n = int(body.get("top_logprobs_num") or 0)
                if top_n:
                    meta["output_top_logprobs"] = [
                        self._entries([self.model.logprob(whole, len(ids) + k)], [t], with_text)[:top_n]
                        for k, t in enumerate(outs)
                    ]
            yield {"text": self.model.decode(out[:step]), "output_ids": out[:step], "meta_info": meta}

    def generate(self, body: dict[str, Any]) -> Any:
        """A whole `/generate` answer (not streamed): one dict, or a list for a batch. Raises
        ValueError as the tokenizer manager does."""
        batch_key = next((k for k in ("text", "input_ids") if _is_batch(k, body.get(k))), None)
        if batch_key is None:
            return self._generate_single(body)
        return [self._generate_single({**body, batch_key: item}) for item in body[batch_key]]

    def _generate_single(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = self._ids(body.get("text"), body.get("input_ids"))
        self._check_length(ids, int((body.get("sampling_params") or {}).get("max_new_tokens", 128)))
        *_, last = self._generate_one(body, ids, uuid.uuid4().hex)
        finish = last["meta_info"]["finish_reason"]
        if finish["type"] == "abort" and finish.get("status_code") == 400:
            raise ValueError(finish["message"])  # _handle_abort_finish_reason, not streamed
        return last

    def stream(self, body: dict[str, Any]) -> Iterator[bytes]:
        """The SSE lines of a streamed `/generate` (http_server.generate_request)."""
        try:
            ids = self._ids(body.get("text"), body.get("input_ids"))
            self._check_length(ids, int((body.get("sampling_params") or {}).get("max_new_tokens", 128)))
            sent_text, sent_ids, sent_logprobs = "", 0, 0
            for out in self._generate_one(body, ids, uuid.uuid4().hex):
                if self.incremental_streaming_output:
                    meta = dict(out["meta_info"])
                    if "output_token_logprobs" in meta:
                        meta["output_token_logprobs"] = meta["output_token_logprobs"][sent_logprobs:]
                        sent_logprobs += len(meta["output_token_logprobs"])
                    event = {"text": out["text"][len(sent_text) :], "output_ids": out["output_ids"][sent_ids:], "meta_info": meta}
                    sent_text, sent_ids = out["text"], len(out["output_ids"])
                else:
                    event = out
                yield b"data: " + json.dumps(event).encode() + b"\n\n"
        except ValueError as exc:
            error = {"error": {"message": str(exc), "type": "invalid_request_error", "code": 400, "retryable": False}}
            yield b"data: " + json.dumps(error).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    # --- chat ---------------------------------------------------------------------------------

    def chat(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """`/v1/chat/completions` (entrypoints/openai/serving_chat.py): the response and its
        stream chunks. The toy chat template is `<|role|>content<|end|>...<|assistant|>`."""
        prompt = "".join(f"<|{m['role']}|>{m.get('content') or ''}<|end|>" for m in body["messages"]) + "<|assistant|>"
        fmt = body.get("response_format") or {}
        schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else None
        params = {
            "max_new_tokens": body.get("max_completion_tokens") or body.get("max_tokens") or 128,
            "stop": body.get("stop"),
            "json_schema": json.dumps(schema) if schema is not None else None,
            "regex": body.get("regex"),
            "ebnf": body.get("ebnf"),
        }
        out = self.generate({"text": prompt, "sampling_params": {k: v for k, v in params.items() if v is not None}})
        meta = out["meta_info"]
        usage = {
            "prompt_tokens": meta["prompt_tokens"],
            "completion_tokens": meta["completion_tokens"],
            "total_tokens": meta["prompt_tokens"] + meta["completion_tokens"],
            "prompt_tokens_details": {"cached_tokens": meta["cached_tokens"]} if self.enable_cache_report else None,
            "reasoning_tokens": 0,
        }
        finish = meta["finish_reason"]["type"]
        rid, created = uuid.uuid4().hex, int(time.time())
        message = {"role": "assistant", "content": out["text"], "reasoning_content": None, "tool_calls": None}
        response = {
            "id": rid,
            "object": "chat.completion",
            "created": created,
            "model": self.model_path,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish, "matched_stop": None}],
            "usage": usage,
        }
        chunk = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": self.model_path}
        chunks = [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}], "usage": None},
            {**chunk, "choices": [{"index": 0, "delta": {"content": out["text"]}, "finish_reason": finish}], "usage": None},
            {**chunk, "choices": [], "usage": usage},
        ]
        return response, chunks

    # --- server state -----------------------------------------------------------------------

    def server_info(self) -> dict[str, Any]:
        """http_server.get_server_info: the server arguments, plus a version and internal states."""
        return {
            "model_path": self.model_path,
            "tokenizer_path": self.model_path,
            "served_model_name": self.model_path,
            "context_length": self.context_length,
            "tp_size": 1,
            "dp_size": 1,
            "enable_cache_report": self.enable_cache_report,
            "incremental_streaming_output": self.incremental_streaming_output,
            "reasoning_parser": None,
            "tool_call_parser": self.tool_call_parser,
            "max_total_num_tokens": self.kv_tokens,
            "max_req_input_len": self.max_req_input_len,
            "internal_states": [{"last_gen_throughput": 0.0}],
            "version": "0.5.23",
        }

    def model_info(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "tokenizer_path": self.model_path,
            "is_generation": True,
            "preferred_sampling_params": None,
            "weight_version": "default",
        }

    def tokenize(self, body: dict[str, Any], *, special: bool) -> dict[str, Any]:
        prompt = body.get("prompt")
        if isinstance(prompt, list):
            tokens = [self.model.encode(p, special=special) for p in prompt]
            return {"tokens": tokens, "count": [len(t) for t in tokens]}
        tokens_one = self.model.encode(prompt or "", special=special)
        return {"tokens": tokens_one, "count": len(tokens_one)}


def _is_batch(key: str, value: Any) -> bool:
    if key == "text":
        return isinstance(value, list)
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


def _violation(text: str, constraint: Constraint) -> str | None:
    """The abort message SGLang's grammar backend would give, or None when `text` obeys."""
    if constraint.json_schema is not None:
        try:
            schema = json.loads(constraint.json_schema)
            jsonschema.Draft202012Validator.check_schema(schema)
        except (ValueError, jsonschema.SchemaError) as exc:
            return f"Invalid grammar request: json_schema={constraint.json_schema!r}, error: {exc}"
        try:
            jsonschema.validate(json.loads(text), schema)
        except (ValueError, jsonschema.ValidationError) as exc:
            raise AssertionError(f"the test's reply {text!r} breaks its JSON schema: {exc}") from exc
    if constraint.regex is not None and not re.fullmatch(constraint.regex, text):
        raise AssertionError(f"the test's reply {text!r} does not match /{constraint.regex}/")
    return None


def create_app(fake: FakeSGLang) -> FastAPI:
    app = FastAPI()

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        body = json.loads(raw) if raw else None
        fake.requests.append((request.url.path, body))
        return body

    def error(exc: ValueError) -> JSONResponse:
        return JSONResponse({"error": {"message": str(exc)}}, status_code=400)

    @app.post("/generate")
    async def generate(request: Request) -> Response:
        body = await body_of(request)
        if fake.router and isinstance(body.get("text"), list):
            # axum's Json<GenerateRequest> rejection: `text` is Option<String>
            return PlainTextResponse(
                "Failed to deserialize the JSON body into the target type: text: invalid type: sequence, "
                f"expected a string at line 1 column {json.dumps(body).index('[') + 1}",
                status_code=422,
            )
        if body.get("stream"):
            return StreamingResponse(fake.stream(body), media_type="text/event-stream")
        try:
            return JSONResponse(fake.generate(body))
        except ValueError as exc:
            return error(exc)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await body_of(request)
        try:
            response, chunks = fake.chat(body)
        except ValueError as exc:
            return JSONResponse({"object": "error", "message": str(exc), "type": "BadRequestError", "code": 400}, 400)
        if body.get("stream"):
            lines = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
            return StreamingResponse(iter(lines), media_type="text/event-stream")
        return JSONResponse(response)

    @app.post("/v1/tokenize")
    async def v1_tokenize(request: Request) -> Response:
        body = await body_of(request)
        if not fake.router:
            return JSONResponse(
                {**fake.tokenize(body, special=body.get("add_special_tokens", True)), "max_model_len": fake.context_length}
            )
        if not fake.router_tokenizer:
            message = "No tokenizers available. Use POST /v1/tokenizers to add one."
            return JSONResponse({"error": {"message": message, "type": "tokenizer_not_found"}}, status_code=400)
        answer = fake.tokenize(body, special=False)  # "Don't add special tokens for tokenize API"
        prompt = body.get("prompt")
        chars = [len(p) for p in prompt] if isinstance(prompt, list) else len(prompt or "")
        return JSONResponse({**answer, "char_count": chars})

    @app.post("/tokenize")
    async def tokenize(request: Request) -> Response:
        body = await body_of(request)
        if fake.router:
            return Response(status_code=404)  # the router's fallback (sink_handler): 404, no body
        return JSONResponse(
            {**fake.tokenize(body, special=body.get("add_special_tokens", True)), "max_model_len": fake.context_length}
        )

    for path in ("/server_info", "/get_server_info"):
        app.add_api_route(path, lambda: fake.server_info(), methods=["GET"])
    for path in ("/model_info", "/get_model_info"):
        app.add_api_route(path, lambda: fake.model_info(), methods=["GET"])

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": fake.model_path, "object": "model", "owned_by": "sglang", "root": fake.model_path, "max_model_len": fake.context_length}],
        }

    @app.get("/health_generate")
    async def health_generate() -> Response:
        return Response(status_code=200)

    @app.post("/flush_cache")
    async def flush_cache() -> Response:
        fake.cache.clear()
        return PlainTextResponse("Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)\n")

    return app


@contextlib.contextmanager
def running(fake: FakeSGLang) -> Iterator[FakeSGLang]:
    """Serve `fake` on a free loopback port in a thread; `fake.url` is set while it runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(fake), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"fake-sglang-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake SGLang server did not start")
        time.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(10)
