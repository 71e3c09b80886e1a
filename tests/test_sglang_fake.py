"""The SGLang engine, the agent, ChatCompleter and `radixagent serve` against the fake SGLang
server (tests/fake_sglang.py) in its SGLang and sglang-router modes.

The fake runs no model: it answers by the rules of SGLang's and sglang-router's code (each rule
names its file in fake_sglang.py), with a toy tokenizer and logprobs that are a pure function of
the token ids, so the numbers asserted here are the ones SGLang's rules give. SGLang-only fields
are therefore checked against bodies written from SGLang's documented format and code, NOT
captured from a live SGLang server (none runs on these machines).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_sglang import BOS, Constraint, FakeSGLang, running
from radixagent import Agent
from radixagent.chat import ChatCompleter, ChatRequest
from radixagent.engine import SamplingParams, SGLangEngine, create_engine
from radixagent.errors import ContextOverflowError, EngineCapabilityError
from test_sglang_conformance import router_request_rule

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=["sglang", "router"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def serve_fake(**options: Any) -> Any:
    return running(FakeSGLang(**options))


# --- choice scoring ---------------------------------------------------------------------------


def test_single_token_choices_score_with_their_own_logprob(mode: str) -> None:
    """The entry at logprob_start_len is None in SGLang; the engine starts one token earlier,
    so a one-token choice is scored by exactly its own logprob."""
    with serve_fake(router=mode == "router", prefer=lambda _ctx: {" yes"}) as fake:
        engine = SGLangEngine(fake.url)
        prefix = "Is the sky blue? Answer:"
        result = engine.score_sync(prefix, [" yes", " no", " not sure"])
        assert result.best == " yes"
        scores = {s.choice: s.token_logprobs for s in result.scores}
        ids = fake.model.encode(prefix, special=True)
        no = ids + fake.model.encode(" no", special=False)
        unsure = ids + fake.model.encode(" not sure", special=False)
        assert scores[" yes"] == [-0.05]
        assert scores[" no"] == pytest.approx([fake.model.logprob(no, len(ids))])
        assert scores[" not sure"] == pytest.approx([fake.model.logprob(unsure, len(ids)), fake.model.logprob(unsure, len(ids) + 1)])
        scored = [b for b in fake.bodies("/generate") if b.get("return_logprob")]
        assert {b["logprob_start_len"] for b in scored} == {len(ids) - 1}
        if mode == "sglang":  # token ids from /tokenize, the prefix with its special tokens, one batch
            [batch] = scored
            assert [row[0] for row in batch["input_ids"]] == [BOS] * 3
        else:  # the router cannot add BOS: the worker tokenizes the text, one request per choice
            assert [b["text"] for b in scored] == [prefix + c for c in (" yes", " no", " not sure")]
        engine.close()


def test_token_id_prefix_behind_the_router_batches_ids() -> None:
    """The router takes `input_ids` batched; the choices are tokenized by its own tokenizer
    (launched with --model-path), which adds no special tokens."""
    with serve_fake(router=True, prefer=lambda _ctx: {" blue"}) as fake:
        engine = SGLangEngine(fake.url)
        prefix = [BOS, *engine.tokenize_sync("The sky is")]
        result = engine.score_sync(prefix, [" blue", " green"])
        assert result.best == " blue" and result.scores[0].token_logprobs == [-0.05]
        assert "/tokenize" in [p for p, _ in fake.requests]  # looked for a worker's, found none
        assert fake.bodies("/v1/tokenize")[-1]["prompt"] == [" blue", " green"]
        engine.close()


def test_router_without_a_tokenizer_scores_text_one_request_per_choice() -> None:
    """Without --model-path the router cannot tokenize (400 tokenizer_not_found) and refuses
    batched text: each choice goes as its own text request, and token ids are refused with a
    message that says what the router needs."""
    with serve_fake(router=True, router_tokenizer=False, prefer=lambda _ctx: {" no"}) as fake:
        engine = SGLangEngine(fake.url)
        result = engine.score_sync("Is the sky green? Answer:", [" yes", " no"])
        assert result.best == " no" and result.scores[1].token_logprobs == [-0.05]
        scored = [b for b in fake.bodies("/generate") if b.get("return_logprob")]
        assert [b["text"] for b in scored] == ["Is the sky green? Answer: yes", "Is the sky green? Answer: no"]
        for body in fake.bodies("/generate"):
            router_request_rule(body)
        with pytest.raises(EngineCapabilityError, match="--model-path"):
            engine.tokenize_sync("hello")
        with pytest.raises(EngineCapabilityError, match="--model-path"):
            engine.score_sync([BOS, 1000], [" yes", " no"])
        engine.close()


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_context_overflow_from_sglangs_own_messages(mode: str, stream: bool) -> None:
    """The tokenizer manager's two ValueErrors (an HTTP 400, or a streamed error event) and the
    scheduler's abort (an HTTP 400, or a streamed abort finish_reason) all become
    ContextOverflowError with the prompt's tokens and the limit, in that order."""
    with serve_fake(router=mode == "router", context_length=64, kv_tokens=40) as fake:
        engine = SGLangEngine(fake.url)

        def run(prompt: list[int], max_tokens: int) -> None:
            sampling = SamplingParams(max_tokens=max_tokens)
            if stream:
                list(engine.stream_sync(prompt, sampling=sampling))
            else:
                engine.generate_sync(prompt, sampling=sampling)

        cases = [(70, 4, 70, 64), (60, 8, 60, 64), (50, 4, 50, fake.max_req_input_len)]
        for length, max_tokens, prompt_tokens, context in cases:
            with pytest.raises(ContextOverflowError) as caught:
                run([BOS] + [1000] * (length - 1), max_tokens)
            assert (caught.value.prompt_tokens, caught.value.context_size) == (prompt_tokens, context)
        engine.close()


# --- streaming ----------------------------------------------------------------------------------


@pytest.mark.parametrize("incremental", [False, True])
def test_streaming_cumulative_and_incremental(mode: str, incremental: bool) -> None:
    with serve_fake(router=mode == "router", incremental_streaming_output=incremental, reply=lambda _p, _c: " one two three") as fake:
        engine = SGLangEngine(fake.url)
        chunks = list(engine.stream_sync("Count:", sampling=SamplingParams(max_tokens=8, logprobs=0)))
        assert [c.text for c in chunks if c.completion is None] == [" one", " two", " three"]
        final = chunks[-1].completion
        assert final is not None and final.text == " one two three" and final.finish_reason == "stop"
        assert final.logprobs is not None and [lp.token for lp in final.logprobs] == [" one", " two", " three"]
        assert final.token_ids == fake.model.encode(" one two three", special=False)
        engine.close()


# --- end to end: agent, ChatCompleter, radixagent serve --------------------------------------


def _model_for_add() -> dict[str, Any]:
    """The toy model's behaviour for a run that calls add(2, 40) and then answers: it likes the
    tool first and the answer once the result is in its context."""

    def prefer(context: str) -> set[str]:
        return {" answer"} if "42" in context else {" add"}

    def reply(_prompt: str, constraint: Constraint) -> str:
        if constraint.json_schema is not None:
            schema = json.loads(constraint.json_schema)
            return '{"a": 2, "b": 40}' if "a" in schema.get("properties", {}) else "{}"
        if constraint.regex is not None:
            return " answer"
        return " The sum is 42."

    return {"prefer": prefer, "reply": reply}


def _agent(engine: SGLangEngine) -> Agent:
    agent = Agent(engine)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    return agent


def test_agent_completes_a_tool_call(mode: str) -> None:
    with serve_fake(router=mode == "router", **_model_for_add()) as fake:
        engine = SGLangEngine(fake.url)
        response = _agent(engine).run_sync("Add 2 and 40.")
        assert response.is_successful, response.error_message
        [call] = response.tool_calls
        assert (call.tool, call.arguments, call.result) == ("add", {"a": 2, "b": 40}, "42")
        assert "42" in response.content
        assert response.usage.cached_tokens > 0  # the engine's own count, from meta_info
        if mode == "router":
            for body in fake.bodies("/generate"):
                router_request_rule(body)
        engine.close()


def test_agent_behind_a_router_without_a_tokenizer_says_what_it_needs() -> None:
    with serve_fake(router=True, router_tokenizer=False, **_model_for_add()) as fake:
        engine = SGLangEngine(fake.url)
        response = _agent(engine).run_sync("What is 2 + 40?")
        assert not response.is_successful
        assert "--model-path" in (response.error_message or "") and "tokenizer_not_found" in (response.error_message or "")
        engine.close()


ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]},
    },
}


async def test_chat_completer_completes_a_tool_call(mode: str) -> None:
    with serve_fake(router=mode == "router", **_model_for_add()) as fake:
        engine = SGLangEngine(fake.url)
        chat = ChatCompleter(engine)
        request = ChatRequest.model_validate(
            {"messages": [{"role": "user", "content": "What is 2 + 40?"}], "tools": [ADD_TOOL], "tool_choice": "required"}
        )
        result = await chat.complete(request)
        [call] = result.tool_calls
        assert call.name == "add" and json.loads(call.arguments) == {"a": 2, "b": 40}
        await engine.aclose()


@pytest.fixture
def serve_cli(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(engine_url: str) -> str:
        with running(FakeSGLang()) as probe:  # only for a free port number
            port = int(probe.url.rsplit(":", 1)[1])
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RADIXAGENT_DATA_DIR": str(tmp_path)}
        cmd = [sys.executable, "-c", "from radixagent.cli import app; app()", "serve", "--engine", engine_url, "--port", str(port)]
        cmd += ["--database-url", str(tmp_path / "serve.db"), "--log-level", "warning"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"radixagent serve exited: {proc.stdout.read().decode() if proc.stdout else ''}")
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("radixagent serve did not become ready")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(20)


def test_radixagent_serve_completes_a_tool_call(mode: str, serve_cli: Any) -> None:
    """`radixagent serve --engine http://...` probes the fake (its /server_info answers like
    SGLang, through the router too) and serves OpenAI tool calls from it."""
    with serve_fake(router=mode == "router", **_model_for_add()) as fake:
        assert type(create_engine(fake.url)).__name__ == "SGLangEngine"
        url = serve_cli(fake.url)
        body = {
            "model": "any",
            "messages": [{"role": "user", "content": "What is 2 + 40?"}],
            "tools": [ADD_TOOL],
            "tool_choice": "required",
            "max_tokens": 48,
        }
        answer = httpx.post(url + "/v1/chat/completions", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        [call] = answer.json()["choices"][0]["message"]["tool_calls"]
        assert call["function"]["name"] == "add" and json.loads(call["function"]["arguments"]) == {"a": 2, "b": 40}
        assert fake.bodies("/generate"), "the tool call came from the fake SGLang server"


# --- the docs launch what the fake mimics ---------------------------------------------------------


def test_docs_launch_commands_are_the_ones_the_fake_mimics() -> None:
    docs = (ROOT / "docs" / "serving.md").read_text()
    server = re.search(r"python -m sglang\.launch_server[^`]*", docs)
    router = re.search(r"python -m sglang_router\.launch_router[^`]*", docs)
    assert server and router
    for flag in FakeSGLang().launch_flags:
        assert flag in server.group(0), flag
    for flag in FakeSGLang(router=True).launch_flags:
        assert flag in router.group(0), flag
    assert "--tool-call-parser qwen25" not in docs  # deprecated: SGLang rewrites it to qwen with a warning
