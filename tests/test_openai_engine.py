"""The OpenAI-compatible engine against a REAL llama.cpp server on loopback (the
`llama_server_url` fixture: xllamacpp serving the default SmolLM2-135M model).

Two tests at the end check what the engine sends to vLLM and to a server of unknown kind;
there the answers are bodies WRITTEN FROM vLLM's DOCUMENTED FORMAT, NOT CAPTURED FROM A LIVE
vLLM SERVER (none runs here), served through httpx.MockTransport.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from radixagent.engine import (
    ChatMessage,
    ChoicesConstraint,
    GrammarConstraint,
    JsonSchemaConstraint,
    OpenAICompatibleEngine,
    RegexConstraint,
    SamplingParams,
    create_engine,
)
from radixagent.engine._portal import run_sync
from radixagent.engine.constraints import to_llama
from radixagent.errors import ConstraintError, EngineCapabilityError

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def engine(llama_server_url: str) -> Iterator[OpenAICompatibleEngine]:
    engine = OpenAICompatibleEngine(llama_server_url + "/v1")
    yield engine
    engine.close()


def test_detects_llama_cpp_and_its_model(engine: OpenAICompatibleEngine) -> None:
    facts = run_sync(engine.server_facts())
    assert facts.flavor == "llamacpp"
    info = engine.model_info_sync()
    assert info.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert info.path is not None and info.path.endswith(".gguf")
    assert info.context_size == 2048  # n_ctx 4096 shared by 2 slots
    health = engine.health_sync()
    assert health.ok and health.model


def test_chat_generation(engine: OpenAICompatibleEngine) -> None:
    completion = engine.generate_sync(
        [ChatMessage(role="system", content="Answer briefly."), ChatMessage(role="user", content="What is 2 + 2?")],
        sampling=SamplingParams(max_tokens=8),
    )
    assert completion.text.strip()
    assert completion.finish_reason in ("stop", "length")
    assert completion.usage.prompt_tokens > 10
    assert 0 < completion.usage.completion_tokens <= 8
    assert completion.reasoning is None
    assert completion.timings.total_ms > 0 and completion.timings.decode_ms is not None


def test_text_and_token_id_prompts_agree(engine: OpenAICompatibleEngine) -> None:
    text = engine.generate_sync("The capital of France is", sampling=SamplingParams(max_tokens=4, logprobs=2))
    assert text.token_ids is not None and len(text.token_ids) == text.usage.completion_tokens
    assert text.logprobs is not None and all(len(lp.top) <= 2 for lp in text.logprobs)
    assert all(lp.logprob <= 0 for lp in text.logprobs)
    ids = engine.tokenize_sync("The capital of France is")
    assert ids and all(isinstance(i, int) for i in ids)
    by_ids = engine.generate_sync(ids, sampling=SamplingParams(max_tokens=4))
    assert by_ids.usage.prompt_tokens == len(ids)
    assert by_ids.text == text.text


def test_json_schema_output_validates(engine: OpenAICompatibleEngine) -> None:
    chat = engine.generate_sync(
        [ChatMessage(role="user", content="Describe a person as JSON with name and age.")],
        constraint=JsonSchemaConstraint(json_schema=PERSON),
        sampling=SamplingParams(max_tokens=48),
    )
    assert chat.finish_reason == "stop"
    jsonschema.validate(json.loads(chat.text), PERSON)
    text = engine.generate_sync(
        "A person as JSON:", constraint=JsonSchemaConstraint(json_schema=PERSON), sampling=SamplingParams(max_tokens=48)
    )
    assert text.finish_reason == "stop"
    jsonschema.validate(json.loads(text.text), PERSON)


def test_regex_choices_and_grammar(engine: OpenAICompatibleEngine) -> None:
    year = engine.generate_sync(
        "The year the war ended:",
        constraint=RegexConstraint(pattern="[12][0-9]{3}"),
        sampling=SamplingParams(max_tokens=8),
    )
    assert re.fullmatch("[12][0-9]{3}", year.text)
    choices = ["red", "blue", 'dark "green"']
    colour = engine.generate_sync(
        [ChatMessage(role="user", content="What colour is the sky?")],
        constraint=ChoicesConstraint(choices=choices),
        sampling=SamplingParams(max_tokens=8),
    )
    assert colour.text in choices
    answer = engine.generate_sync(
        "Is water wet? Answer:",
        constraint=GrammarConstraint(grammar='root ::= " yes" | " no"'),
        sampling=SamplingParams(max_tokens=4),
    )
    assert answer.text in (" yes", " no")


def test_a_regex_with_an_escaped_slash_and_choices_with_quotes_still_constrain(engine: OpenAICompatibleEngine) -> None:
    """llama.cpp's grammars come from constraints.to_llama, as the embedded engine's do. The
    engine's own copy once escaped `/` by a plain replace, so `\\/` became `\\\\/` and ended the
    regex early: the grammar did not compile and llama.cpp generated with no constraint at all."""
    date = engine.generate_sync(
        "Write a date as month/day:",
        constraint=RegexConstraint(pattern=r"[01][0-9]\/[0-3][0-9]"),
        sampling=SamplingParams(max_tokens=8),
    )
    assert re.fullmatch(r"[01][0-9]/[0-3][0-9]", date.text), date.text
    folders = [r"C:\temp", r'D:\"old docs"', "E:/new\\"]
    folder = engine.generate_sync(
        "Pick a folder:", constraint=ChoicesConstraint(choices=folders), sampling=SamplingParams(max_tokens=12)
    )
    assert folder.text in folders


def test_a_llama_cpp_grammar_is_compiled_before_it_is_sent() -> None:
    """The grammar sent is the embedded engine's, and one llguidance cannot compile is a
    ConstraintError here, not an unconstrained answer from the server."""
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/props":
            return httpx.Response(200, json={"default_generation_settings": {"n_ctx": 2048}, "model_path": "/m/x.gguf"})
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "x.gguf", "owned_by": "llamacpp"}]})
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"text": "12/31", "finish_reason": "stop"}], "usage": {}})

    engine = OpenAICompatibleEngine("http://llama.test:8080", transport=httpx.MockTransport(handler))
    dated = RegexConstraint(pattern=r"[01][0-9]\/[0-3][0-9]")
    assert engine.generate_sync("Date:", constraint=dated).text == "12/31"
    assert sent[-1]["grammar"] == to_llama(dated).grammar
    with pytest.raises(ConstraintError, match="cannot be compiled"):
        engine.generate_sync("Date:", constraint=RegexConstraint(pattern="(?=look)ahead"))
    assert len(sent) == 1
    engine.close()


def test_repeated_prompt_is_cached(engine: OpenAICompatibleEngine) -> None:
    messages = [
        ChatMessage(role="system", content="You are a terse assistant that answers in one word."),
        ChatMessage(role="user", content="Name a fruit that is yellow."),
    ]
    first = engine.generate_sync(messages, sampling=SamplingParams(max_tokens=3))
    second = engine.generate_sync(messages, sampling=SamplingParams(max_tokens=3))
    assert second.usage.cached_tokens > 0
    assert second.usage.cached_tokens >= first.usage.prompt_tokens - 1
    assert second.text == first.text


@pytest.mark.parametrize(
    "prompt", ["Once upon a time", [ChatMessage(role="user", content="Tell me a fact about cats.")]]
)
def test_streaming_equals_non_streaming(engine: OpenAICompatibleEngine, prompt: Any) -> None:
    sampling = SamplingParams(max_tokens=12, temperature=0.0)
    whole = engine.generate_sync(prompt, sampling=sampling)
    chunks = list(engine.stream_sync(prompt, sampling=sampling))
    final = chunks[-1].completion
    assert final is not None
    assert "".join(c.text for c in chunks[:-1]) == whole.text
    assert final.text == whole.text
    assert final.usage.completion_tokens == whole.usage.completion_tokens
    assert final.finish_reason == whole.finish_reason
    assert final.timings.first_token_ms is not None


def test_score_picks_the_likelier_choice(engine: OpenAICompatibleEngine) -> None:
    """The forced-token logprobs are the model's own: they equal what the unconstrained next
    token distribution says about those tokens."""
    prefix = "The capital of France is"
    result = engine.score_sync(prefix, [" Paris", " London", " banana"])
    assert result.best == " Paris"
    probabilities = result.probabilities()
    assert probabilities[" Paris"] > probabilities[" banana"]
    paris = next(s for s in result.scores if s.choice == " Paris")
    (paris_id,) = engine.tokenize_sync(" Paris")
    free = engine.generate_sync(prefix, sampling=SamplingParams(max_tokens=1, logprobs=20))
    assert free.logprobs is not None
    own = {t.token_id: t.logprob for t in free.logprobs[0].top}
    assert paris_id in own
    assert paris.token_logprobs == pytest.approx([own[paris_id]], abs=1e-3)
    assert result.usage.cached_tokens > 0  # the prefix stays in the slot between choices


def test_multi_token_choices_score_every_token(engine: OpenAICompatibleEngine) -> None:
    ids = engine.tokenize_sync(" strawberry jam")
    result = engine.score_sync(engine.tokenize_sync("For breakfast I like toast with"), [" strawberry jam", " gravel"])
    jam = next(s for s in result.scores if s.choice == " strawberry jam")
    assert len(jam.token_logprobs) == len(ids) > 1
    assert jam.mean_logprob == pytest.approx(sum(jam.token_logprobs) / len(ids))
    assert result.best == " strawberry jam"


def test_factory_probes_a_llama_server(llama_server_url: str) -> None:
    engine = create_engine(llama_server_url)
    assert isinstance(engine, OpenAICompatibleEngine)
    engine.close()


# --- other servers, through httpx.MockTransport ----------------------------------------------


def _vllm(request: httpx.Request) -> httpx.Response:
    """Answers written from vLLM's documented format (OpenAI-compatible server, /tokenize,
    /version, echo with prompt logprobs), not captured from a live vLLM server."""
    path = request.url.path
    if path == "/props":
        return httpx.Response(404, json={"detail": "Not Found"})
    if path == "/v1/models":
        return httpx.Response(
            200,
            json={
                "object": "list",
                "data": [{"id": "Qwen/Qwen3-0.6B", "object": "model", "owned_by": "vllm", "max_model_len": 40960}],
            },
        )
    if path == "/version":
        return httpx.Response(200, json={"version": "0.11.0"})
    body = json.loads(request.content)
    if path == "/tokenize":
        table = {"Paris is": [59604, 374], " nice": [6419], " grey": [19780]}
        return httpx.Response(200, json={"tokens": table[body["prompt"]], "count": 1, "max_model_len": 40960})
    if path == "/v1/completions" and body.get("echo"):
        nice = body["prompt"][-1] == 6419
        return httpx.Response(
            200,
            json={
                "id": "cmpl-1",
                "object": "text_completion",
                "model": "Qwen/Qwen3-0.6B",
                "choices": [
                    {
                        "index": 0,
                        "text": "Paris is nice.",
                        "logprobs": {
                            "tokens": ["Paris", " is", " nice" if nice else " grey", "."],
                            "token_logprobs": [None, -1.2, -0.7 if nice else -6.3, -0.4],
                            "top_logprobs": [None, {" is": -1.2}, {" nice": -0.7}, {".": -0.4}],
                            "text_offset": [0, 5, 8, 13],
                        },
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, "prompt_tokens_details": None},
            },
        )
    if path == "/v1/chat/completions":
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "Qwen/Qwen3-0.6B",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "blue", "reasoning": "Sky colour: blue."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 4,
                    "total_tokens": 16,
                    "prompt_tokens_details": {"cached_tokens": 8},
                },
            },
        )
    return httpx.Response(404, json={"detail": "Not Found"})


def test_vllm_structured_outputs_and_echo_scoring() -> None:
    """Bodies written from vLLM's documented format, not captured from a live server: vLLM
    0.11 takes `structured_outputs`, names the model in every request, separates reasoning as
    `reasoning`, and scores by echoing the prompt with its logprobs."""
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.content:
            sent.append(json.loads(request.content))
        return _vllm(request)

    engine = OpenAICompatibleEngine("http://vllm.test:8000", transport=httpx.MockTransport(handler))
    completion = engine.generate_sync(
        [ChatMessage(role="user", content="Sky colour?")], constraint=ChoicesConstraint(choices=["red", "blue"])
    )
    assert completion.text == "blue" and completion.reasoning == "Sky colour: blue."
    assert completion.usage.cached_tokens == 8
    assert sent[-1]["structured_outputs"] == {"choice": ["red", "blue"]}
    assert sent[-1]["model"] == "Qwen/Qwen3-0.6B"
    result = engine.score_sync("Paris is", [" nice", " grey"])
    assert result.best == " nice"
    assert [s.token_logprobs for s in result.scores] == [[-0.7], [-6.3]]
    assert sent[-1]["prompt"] == [59604, 374, 19780] and sent[-1]["echo"] is True
    engine.close()


def test_a_server_of_unknown_kind_says_what_it_cannot_do() -> None:
    """An OpenAI-compatible server that is neither llama.cpp, vLLM nor SGLang (Ollama, a cloud
    API): JSON schema works through response_format; regex, scoring and tokenizing raise."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/models":
            return httpx.Response(
                200, json={"object": "list", "data": [{"id": "llama3.2", "object": "model", "owned_by": "library"}]}
            )
        return httpx.Response(404, text="404 page not found")

    engine = OpenAICompatibleEngine("http://ollama.test:11434/v1", transport=httpx.MockTransport(handler))
    with pytest.raises(ConstraintError, match="regex"):
        engine.generate_sync("x", constraint=RegexConstraint(pattern="a+"))
    with pytest.raises(EngineCapabilityError, match="cannot score"):
        engine.score_sync("x", ["a", "b"])
    with pytest.raises(EngineCapabilityError, match="tokenize"):
        engine.tokenize_sync("x")
    engine.close()


def test_factory_default_is_the_embedded_engine(model_path: str) -> None:
    from radixagent.engine.embedded import EmbeddedEngine
    from radixagent.settings import Settings

    engine = create_engine(settings=Settings(slots=1, context_size=512), model_path=model_path)
    assert isinstance(engine, EmbeddedEngine)
    assert engine.model_info_sync().context_size == 512
    engine.close()
