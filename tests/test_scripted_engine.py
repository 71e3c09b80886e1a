"""The scripted engine: deterministic replies, constraint checks, and a real prefix cache."""

from __future__ import annotations

import pytest

from radixagent import (
    ChatMessage,
    ChoicesConstraint,
    EmptyPromptError,
    EngineError,
    JsonSchemaConstraint,
    SamplingParams,
    ScriptedEngine,
)
from radixagent.errors import ConstraintError, InputError


def test_replies_in_order_and_prefix_cache() -> None:
    engine = ScriptedEngine(["first answer", "second answer"])
    first = engine.generate_sync("You are helpful. Question one")
    assert first.text == "first answer"
    assert first.usage.cached_tokens == 0
    # exact tokens: the earlier prompt, its reply, then the new turn
    ids = engine.tokenize_sync("You are helpful. Question one") + (first.token_ids or [])
    second = engine.generate_sync(ids + engine.tokenize_sync(" Question two"))
    assert second.text == "second answer"
    assert second.usage.cached_tokens == len(ids)
    assert engine.prompts[0] == "You are helpful. Question one"


def test_reply_must_satisfy_its_constraint() -> None:
    engine = ScriptedEngine(['{"a": "not a number"}'])
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    with pytest.raises(ConstraintError):
        engine.generate_sync("x", constraint=JsonSchemaConstraint(json_schema=schema))


def test_max_tokens_truncates_with_length_finish() -> None:
    engine = ScriptedEngine(["one two three four"])
    completion = engine.generate_sync("x", sampling=SamplingParams(max_tokens=2))
    assert completion.finish_reason == "length"
    assert completion.text == "one two"


def test_score_picks_the_scripted_choice() -> None:
    engine = ScriptedEngine(["blue"])
    result = engine.score_sync("The sky is", ["red", "blue"])
    assert result.best == "blue"
    assert result.probabilities()["blue"] > 0.99


def test_stream_reassembles_to_the_completion() -> None:
    engine = ScriptedEngine(["a b c"])
    chunks = list(engine.stream_sync([ChatMessage(role="user", content="hi")]))
    assert "".join(c.text for c in chunks) == "a b c"
    assert chunks[-1].completion is not None and chunks[-1].completion.text == "a b c"


def test_bad_prompts_raise_typed_errors() -> None:
    engine = ScriptedEngine(["x"])
    with pytest.raises(EmptyPromptError):
        engine.generate_sync("   ")
    with pytest.raises(EmptyPromptError):
        engine.generate_sync([])
    with pytest.raises(InputError):
        engine.score_sync("x", ["a", "a"])
    with pytest.raises(ConstraintError):
        engine.generate_sync("x", constraint=ChoicesConstraint(choices=["y"]))


def test_exhausted_script_says_what_to_do() -> None:
    engine = ScriptedEngine([])
    with pytest.raises(EngineError, match="add_replies"):
        engine.generate_sync("x")


async def test_async_face() -> None:
    engine = ScriptedEngine(["ok"])
    completion = await engine.generate("hello")
    assert completion.text == "ok"
