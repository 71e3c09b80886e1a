"""The embedded llama.cpp engine against the real bundled model (SmolLM2-135M), plus the
constraint translation it relies on. One engine serves the whole module; generations are
kept short."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import jsonschema
import pytest

from radixagent.engine import (
    ChatMessage,
    ChoicesConstraint,
    EmbeddedEngine,
    GrammarConstraint,
    JsonSchemaConstraint,
    RegexConstraint,
    SamplingParams,
)
from radixagent.engine.constraints import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_LENGTH,
    bounded_schema,
    check_output,
    choices_grammar,
    regex_grammar,
    to_llama,
    without_repeats,
)
from radixagent.engine.llamacpp import CompletionRequest, LlamaCppClient
from radixagent.errors import (
    ConfigurationError,
    ConstraintError,
    ContextOverflowError,
    EmptyPromptError,
    EngineUnavailableError,
    ModelLoadError,
    ModelNotFoundError,
)

CONTEXT = 2048

PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "age", "tags"],
}


def chat(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[EmbeddedEngine]:
    eng = EmbeddedEngine(context_size=CONTEXT, slots=3, threads=2)
    await eng.start()
    yield eng
    await eng.aclose()


# --- constraints, no model -------------------------------------------------------------------


def test_bounded_schema_closes_what_the_schema_leaves_open() -> None:
    schema = {
        "$defs": {"Tag": {"type": "object", "properties": {"label": {"type": "string"}}}},
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "kind": {"enum": ["a", "b"]},
            "code": {"type": "string", "maxLength": 4},
            "when": {"type": "string", "format": "date-time"},
            "path": {"type": "string", "format": "path"},
            "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
            "many": {"type": "array", "minItems": 20},
        },
    }
    original = json.dumps(schema, sort_keys=True)
    out = bounded_schema(schema)
    assert json.dumps(schema, sort_keys=True) == original, "the input schema is not modified"
    props = out["properties"]
    assert props["tags"]["maxItems"] == DEFAULT_MAX_ITEMS
    assert out["$defs"]["Tag"]["properties"]["label"]["maxLength"] == DEFAULT_MAX_LENGTH
    assert out["$defs"]["Tag"]["additionalProperties"] is False
    assert props["note"]["anyOf"][0]["maxLength"] == DEFAULT_MAX_LENGTH
    assert "maxLength" not in props["kind"], "an enum is already bounded"
    assert props["code"]["maxLength"] == 4, "an existing bound is kept"
    assert props["when"] == {"type": "string", "format": "date-time"}, "a format llguidance knows bounds the string"
    assert props["path"] == {"type": "string", "maxLength": DEFAULT_MAX_LENGTH}, "an unknown format is dropped"
    assert props["extra"]["maxProperties"] == 16
    assert props["many"]["maxItems"] == 20, "the bound never contradicts minItems"
    assert out["additionalProperties"] is False


def test_bounded_schema_keeps_all_of_parts_open() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer"}}},
            {"properties": {"b": {"type": "integer"}}},
        ]
    }
    out = bounded_schema(schema)
    assert all("additionalProperties" not in part for part in out["allOf"])
    jsonschema.validate({"a": 1, "b": 2}, out)


def test_every_constraint_compiles_or_raises() -> None:
    assert "%json" in to_llama(JsonSchemaConstraint(json_schema=PERSON_SCHEMA)).grammar
    assert to_llama(RegexConstraint(pattern=r"a/b[0-9]")).grammar.endswith(r"start: /a\/b[0-9]/")
    assert to_llama(ChoicesConstraint(choices=['say "hi"', "back\\slash", "new\nline", "한국어"])).grammar
    assert to_llama(GrammarConstraint(grammar='root ::= "yes" | "no"')).grammar  # GBNF: left to llama.cpp
    with pytest.raises(ConstraintError, match="Invalid type"):
        to_llama(JsonSchemaConstraint(json_schema={"type": "foo"}))
    with pytest.raises(ConstraintError, match="look-around"):
        to_llama(RegexConstraint(pattern=r"(?=a)b"))
    with pytest.raises(ConstraintError):
        to_llama(JsonSchemaConstraint(json_schema={"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}))
    with pytest.raises(ConstraintError):
        to_llama(GrammarConstraint(grammar="%llguidance {}\nstart: ::="))
    with pytest.raises(ConstraintError, match="backslash"):
        regex_grammar("abc\\")


PLAYLIST_SCHEMA = {
    "type": "object",
    "properties": {
        "songs": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "contains": {"const": "Intro"}},
        "mood": {"type": "string", "not": {"const": "angry"}},
        "shuffle": {"type": "boolean"},
    },
    "required": ["songs"],
    "dependentRequired": {"shuffle": ["mood"]},
    "unevaluatedProperties": False,
}
"""Assertions llguidance refuses to compile, as a client's tool may carry them."""


def test_assertions_the_grammar_engine_cannot_compile_are_left_to_validation() -> None:
    out = bounded_schema(PLAYLIST_SCHEMA)
    assert to_llama(JsonSchemaConstraint(json_schema=PLAYLIST_SCHEMA)).grammar  # compiles instead of raising
    assert "uniqueItems" not in out["properties"]["songs"] and "not" not in out["properties"]["mood"]
    assert "dependentRequired" not in out and out["additionalProperties"] is False  # closed as unevaluatedProperties said
    # a repeated item is the one such assertion mended without a guess
    assert without_repeats({"songs": ["Intro", "Tide", "Intro"], "mood": "calm"}, PLAYLIST_SCHEMA) == {"songs": ["Intro", "Tide"], "mood": "calm"}
    assert without_repeats({"songs": [{"a": 1}, {"a": 1}]}, {"properties": {"songs": {"uniqueItems": True}}}) == {"songs": [{"a": 1}]}
    assert without_repeats([1, True, 1.0, {"a": [2]}, {"a": [2.0]}], {"uniqueItems": True}) == [1, True, {"a": [2]}]  # true is not 1; 1.0 is


def test_choices_grammar_quotes_each_choice_as_a_literal() -> None:
    grammar = choices_grammar(['a "b"', "c|d"])
    assert grammar.endswith('start: "a \\"b\\"" | "c|d"')


def test_check_output_catches_a_dropped_constraint() -> None:
    check_output(JsonSchemaConstraint(json_schema=PERSON_SCHEMA), '{"name": "x"}')
    with pytest.raises(ConstraintError):
        check_output(JsonSchemaConstraint(json_schema=PERSON_SCHEMA), "```python\nimport json")
    with pytest.raises(ConstraintError):
        check_output(ChoicesConstraint(choices=["yes", "no"]), "maybe")


# --- faults before the model loads -------------------------------------------------------


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="No model file"):
        EmbeddedEngine(tmp_path / "nothing.gguf")


def test_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"<html>not a model</html>" * 100)
    with pytest.raises(ModelLoadError, match="not a valid GGUF"):
        EmbeddedEngine(garbage)


async def test_a_truncated_gguf_fails_to_load(tmp_path: Path, model_path: str) -> None:
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(Path(model_path).read_bytes()[: 4 << 20])  # a valid header, no weights
    eng = EmbeddedEngine(truncated, context_size=256, slots=1)
    with pytest.raises(ModelLoadError):
        await eng.generate("Hello", sampling=SamplingParams(max_tokens=2))
    await eng.aclose()


def test_host_cache_with_pinned_slots_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="host_cache_mib"):
        EmbeddedEngine(slot_policy="radix", host_cache_mib=1024)


# --- generation ----------------------------------------------------------------------------


async def test_json_constraint_output_validates(engine: EmbeddedEngine) -> None:
    result = await engine.generate(
        chat("Describe Mia, a 31 year old painter who likes hiking, as JSON with name, age and tags."),
        constraint=JsonSchemaConstraint(json_schema=PERSON_SCHEMA),
        sampling=SamplingParams(max_tokens=120),
    )
    assert result.finish_reason == "stop", result.text
    value = json.loads(result.text)
    jsonschema.validate(value, PERSON_SCHEMA)
    assert len(value["tags"]) <= DEFAULT_MAX_ITEMS
    assert result.token_ids and result.usage.completion_tokens == len(result.token_ids)
    assert result.usage.prompt_tokens > 10
    assert result.timings.decode_ms is not None and result.timings.total_ms >= result.timings.decode_ms


async def test_regex_and_choices_constraints_hold(engine: EmbeddedEngine) -> None:
    pattern = r"[0-9]{3}-[a-z]+"
    result = await engine.generate(
        "Write a code like 123-abc: ",
        constraint=RegexConstraint(pattern=pattern),
        sampling=SamplingParams(max_tokens=16),
    )
    assert re.fullmatch(pattern, result.text), result.text
    choices = [" yes", " no", " maybe so"]
    answer = await engine.generate(
        "Is the sky blue? Answer:", constraint=ChoicesConstraint(choices=choices), sampling=SamplingParams(max_tokens=8)
    )
    assert answer.text in choices
    assert answer.finish_reason == "stop"


async def test_a_repeated_prompt_is_served_from_the_cache(engine: EmbeddedEngine) -> None:
    prompt = chat("Name three colours of the rainbow.")
    first = await engine.generate(prompt, sampling=SamplingParams(max_tokens=4))
    second = await engine.generate(prompt, sampling=SamplingParams(max_tokens=4))
    assert second.usage.prompt_tokens == first.usage.prompt_tokens
    assert second.usage.cached_tokens >= second.usage.prompt_tokens - 1
    assert second.text == first.text


async def test_a_token_exact_next_turn_reuses_the_whole_history(engine: EmbeddedEngine) -> None:
    prompt_ids = await engine.tokenize("<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n")
    first = await engine.generate(prompt_ids, sampling=SamplingParams(max_tokens=6))
    assert first.token_ids
    turn = await engine.tokenize("<|im_end|>\n<|im_start|>user\nAnd goodbye?<|im_end|>\n<|im_start|>assistant\n")
    second = await engine.generate(prompt_ids + first.token_ids + turn, sampling=SamplingParams(max_tokens=4))
    # Everything but the last generated token (never fed back to the model) is reused.
    assert second.usage.cached_tokens >= len(prompt_ids) + len(first.token_ids) - 1


async def test_logprobs_come_with_token_ids_and_alternatives(engine: EmbeddedEngine) -> None:
    result = await engine.generate("The capital of France is", sampling=SamplingParams(max_tokens=3, logprobs=2))
    assert result.logprobs is not None and len(result.logprobs) == len(result.token_ids or [])
    for entry, token_id in zip(result.logprobs, result.token_ids or [], strict=True):
        assert entry.token_id == token_id
        assert entry.logprob <= 0.0
        assert len(entry.top) == 2
        assert entry.top[0].logprob >= entry.top[1].logprob
        assert entry.logprob == pytest.approx(entry.top[0].logprob)  # greedy: the chosen token is the top one
    none = await engine.generate("The capital of France is", sampling=SamplingParams(max_tokens=2))
    assert none.logprobs is None


async def test_score_picks_the_likeliest_choice_with_the_models_own_logprob(engine: EmbeddedEngine) -> None:
    prefix = "The capital of France is"
    result = await engine.score(prefix, [" Paris", " banana", " a green vegetable"])
    assert result.best == " Paris"
    assert all(len(s.token_logprobs) >= 1 for s in result.scores)
    assert result.probabilities()[" Paris"] > 0.9
    # Independently: greedy generation after the prefix produces " Paris" as one token, and
    # its logprob is the choice's score.
    free = await engine.generate(prefix, sampling=SamplingParams(max_tokens=1, logprobs=0))
    assert free.logprobs is not None and free.logprobs[0].token == " Paris"
    paris = next(s for s in result.scores if s.choice == " Paris")
    assert paris.token_logprobs == [pytest.approx(free.logprobs[0].logprob, abs=1e-4)]


async def test_score_works_for_text_whose_characters_span_several_tokens(engine: EmbeddedEngine) -> None:
    """llama.cpp reports one logprob per character when its UTF-8 bytes span several tokens."""
    choices = [" 고맙습니다, 친구여.", " Merci beaucoup, mon ami.", " 🌧️ rain today"]
    result = await engine.score("Say thanks:", choices)
    for score in result.scores:
        assert len(score.token_logprobs) == len(await engine.tokenize(score.choice))
        assert any(lp < 0 for lp in score.token_logprobs)
    assert sum(result.probabilities().values()) == pytest.approx(1.0)


def test_forced_logprobs_are_aligned_to_the_last_token_of_each_piece() -> None:
    from radixagent.engine.embedded import _forced_logprobs

    # tokens 5, 6 and 7 spell one character: llama.cpp reports it once, under token 7
    assert _forced_logprobs([1, 5, 6, 7, 2], [1, 5, 6, 7, 2], [(1, -0.5), (7, -2.0), (2, -1.0)]) == [-0.5, 0.0, 0.0, -2.0, -1.0]
    assert _forced_logprobs([1, 2], [1, 3], [(1, -0.5), (3, -1.0)]) is None  # not the forced tokens
    assert _forced_logprobs([1, 2], [1, 2], [(9, -0.5)]) is None  # an entry for a token never forced


async def test_score_accepts_token_ids_as_prefix(engine: EmbeddedEngine) -> None:
    ids = await engine.tokenize("The capital of France is")
    result = await engine.score(ids, [" Paris", " banana"])
    assert result.best == " Paris"


async def test_streaming_equals_non_streaming(engine: EmbeddedEngine) -> None:
    prompt = chat("Tell me one fact about the moon.")
    sampling = SamplingParams(max_tokens=24)
    plain = await engine.generate(prompt, sampling=sampling)
    chunks = [chunk async for chunk in engine.stream(prompt, sampling=sampling)]
    final = chunks[-1].completion
    assert final is not None
    assert all(c.completion is None for c in chunks[:-1])
    assert "".join(c.text for c in chunks) == final.text == plain.text
    assert [t for c in chunks for t in c.token_ids] == final.token_ids == plain.token_ids
    assert final.finish_reason == plain.finish_reason
    assert final.timings.first_token_ms is not None


async def test_streaming_a_constrained_answer_that_ends_by_itself(engine: EmbeddedEngine) -> None:
    constraint = ChoicesConstraint(choices=[" yes", " no"])
    sampling = SamplingParams(max_tokens=8)
    plain = await engine.generate("Is water wet? Answer:", constraint=constraint, sampling=sampling)
    chunks = [chunk async for chunk in engine.stream("Is water wet? Answer:", constraint=constraint, sampling=sampling)]
    final = chunks[-1].completion
    assert final is not None and final.finish_reason == "stop"
    assert final.text == plain.text and final.token_ids == plain.token_ids


async def test_two_concurrent_sessions_both_work_and_keep_their_cache(engine: EmbeddedEngine) -> None:
    system = "You are a terse assistant. Tools: search(query), calculator(expression). " * 4

    async def session(question: str) -> tuple[int, int]:
        ids = await engine.tokenize(
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
        )
        first = await engine.generate(ids, sampling=SamplingParams(max_tokens=6))
        assert first.text
        more = await engine.tokenize("<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n")
        second = await engine.generate(ids + (first.token_ids or []) + more, sampling=SamplingParams(max_tokens=4))
        return len(ids) + len(first.token_ids or []) - 1, second.usage.cached_tokens

    results = await asyncio.gather(session("What is 2+2?"), session("Where is Paris?"))
    for reusable, cached in results:
        assert cached >= reusable


async def test_chat_messages_use_the_models_template(engine: EmbeddedEngine) -> None:
    messages = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi")]
    via_chat = await engine.generate(messages, sampling=SamplingParams(max_tokens=4))
    templated = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    via_text = await engine.generate(templated, sampling=SamplingParams(max_tokens=4))
    assert via_chat.usage.prompt_tokens == via_text.usage.prompt_tokens
    assert via_chat.text == via_text.text


async def test_model_info_and_health(engine: EmbeddedEngine) -> None:
    info = await engine.model_info()
    assert info.context_size == CONTEXT
    assert info.path and info.path.endswith(".gguf")
    assert "SmolLM2" in info.name
    health = await engine.health()
    assert health.ok and health.model == info.name


# --- faults --------------------------------------------------------------------------------


async def test_empty_prompt(engine: EmbeddedEngine) -> None:
    with pytest.raises(EmptyPromptError):
        await engine.generate("   ")
    with pytest.raises(EmptyPromptError):
        await engine.generate([])


async def test_a_prompt_longer_than_the_context(engine: EmbeddedEngine) -> None:
    long_text = "word " * (CONTEXT + 100)
    with pytest.raises(ContextOverflowError, match="context holds 2048"):
        await engine.generate(long_text, sampling=SamplingParams(max_tokens=4))
    ids = await engine.tokenize("hello")
    with pytest.raises(ContextOverflowError, match="max_tokens"):
        await engine.generate(ids * (CONTEXT - 10), sampling=SamplingParams(max_tokens=20))


async def test_the_servers_own_context_error_is_mapped(engine: EmbeddedEngine) -> None:
    assert engine.url is not None
    client = LlamaCppClient(engine.url)
    try:
        ids = await client.tokenize("hello")
        with pytest.raises(ContextOverflowError):
            await client.completion(CompletionRequest(prompt=ids * (CONTEXT + 50), n_predict=1, id_slot=0))
    finally:
        await client.aclose()


async def test_a_schema_the_engine_cannot_compile(engine: EmbeddedEngine) -> None:
    with pytest.raises(ConstraintError):
        await engine.generate(
            "Hi", constraint=JsonSchemaConstraint(json_schema={"type": "string", "pattern": "(?<=a)b"})
        )
    with pytest.raises(ConstraintError):
        await engine.generate("Hi", constraint=GrammarConstraint(grammar="root ::= = oops"))


async def test_a_stopped_engine_raises_unavailable() -> None:
    eng = EmbeddedEngine(context_size=256, slots=1)
    assert (await eng.generate("Hi", sampling=SamplingParams(max_tokens=1))).usage.completion_tokens == 1
    assert eng._handle is not None
    eng._handle.stop()  # the server dies under the engine
    with pytest.raises(EngineUnavailableError):
        await eng.generate("Hi", sampling=SamplingParams(max_tokens=1))
    assert not (await eng.health()).ok
    await eng.aclose()
    with pytest.raises(EngineUnavailableError, match="closed"):
        await eng.generate("Hi")


@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_collected_engine_stops_its_server_and_removes_its_files() -> None:
    """Dropped without aclose(): the server stops and the slot files go when it is collected
    (the client's own unclosed socket warns, as any unclosed httpx client does)."""
    eng = EmbeddedEngine(context_size=256, slots=2)
    await eng.generate("Hello there, how are you today?", sampling=SamplingParams(max_tokens=2))
    assert eng.url is not None and eng._handle is not None
    url, state_dir = eng.url, eng._handle.state_dir
    assert os.path.isdir(state_dir)
    del eng
    gc.collect()
    assert not os.path.exists(state_dir)
    probe = LlamaCppClient(url, timeout=2)
    try:
        with pytest.raises(EngineUnavailableError):
            await probe.health()
    finally:
        await probe.aclose()
