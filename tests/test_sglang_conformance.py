"""The hand-written SGLang fixtures, and the fake server, against the rules SGLang's code states.

The fixtures under tests/fixtures/sglang/ are bodies WRITTEN FROM SGLang's DOCUMENTED FORMAT AND
CODE, not captured from a live server; SOURCES.json names the SGLang (0.5.23) or sglang-router
(0.3.2) file and function each one copies. Every rule below cites the code that states it, and
each is applied to the fixtures and to what the fake server (tests/fake_sglang.py) answers, so a
fixture or a fake that drifts from SGLang fails here rather than making the engine's tests pass
on something SGLang never sends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fake_sglang import FakeSGLang

FIXTURES = Path(__file__).parent / "fixtures" / "sglang"
SOURCES: dict[str, Any] = json.loads((FIXTURES / "SOURCES.json").read_text())


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# --- the rules --------------------------------------------------------------------------------


def input_logprob_rule(entries: list[list[Any]], input_ids: list[int], start: int) -> None:
    """logprob_result_processor._process_input_token_logprobs: the entries cover
    `origin_input_ids[logprob_start_len:]`, and the first one's logprob is None (values are
    `[None] + input_token_logprobs[:-1]`); every later one is a number."""
    assert [e[1] for e in entries] == input_ids[start:], "entries are not origin_input_ids[logprob_start_len:]"
    assert entries[0][0] is None, "the input logprob at logprob_start_len must be None"
    assert all(isinstance(e[0], float | int) for e in entries[1:])


def entry_rule(entry: list[Any]) -> None:
    """tokenizer_manager.detokenize_logprob_tokens: `(logprob, token_id, text-or-None)`."""
    assert len(entry) == 3 and isinstance(entry[1], int) and (entry[2] is None or isinstance(entry[2], str))


def generate_body_rule(body: dict[str, Any], *, streamed: bool, last: bool = True) -> None:
    """A `/generate` output dict (tokenizer_manager._handle_batch_output): text, output_ids and
    meta_info with prompt/completion/cached token counts; finish_reason a dict (schedule_batch
    FINISH_*.to_json) on the last one only. Not streamed, an abort with status_code >= 400 never
    reaches a body: _handle_abort_finish_reason raises it as an HTTP error."""
    meta = body["meta_info"]
    for key in ("prompt_tokens", "completion_tokens", "cached_tokens"):
        assert isinstance(meta[key], int), key
    finish = meta["finish_reason"]
    assert (finish is not None) == last
    if finish is not None:
        assert finish["type"] in ("stop", "length", "abort")
        if finish["type"] == "abort" and not streamed:
            assert (finish.get("status_code") or 0) < 400, "a non-streamed 4xx abort is an HTTP error, not a body"
    for key in ("output_token_logprobs", "input_token_logprobs"):
        for entry in meta.get(key) or []:
            entry_rule(entry)


def stream_rule(events: list[dict[str, Any]], *, incremental: bool) -> None:
    """http_server.generate_request's stream: cumulative text and ids by default (each event
    extends the one before), only the new part with --incremental-streaming-output; the finish
    reason on the last event."""
    text, ids = "", []
    for i, event in enumerate(events):
        generate_body_rule(event, streamed=True, last=i == len(events) - 1)
        if incremental:
            text, ids = text + event["text"], ids + event["output_ids"]
        else:
            assert event["text"].startswith(text) and event["output_ids"][: len(ids)] == ids
            text, ids = event["text"], event["output_ids"]
        assert len(ids) == event["meta_info"]["completion_tokens"]


def router_request_rule(body: dict[str, Any]) -> None:
    """sgl-model-gateway protocols/generate.rs GenerateRequest: `text` is Option<String> (the
    batched text form does not exist behind the router), `input_ids` single or batched,
    `logprob_start_len` one integer."""
    assert ("text" in body) != ("input_ids" in body)
    assert "text" not in body or isinstance(body["text"], str), "batched text is refused by sglang-router"
    assert isinstance(body.get("logprob_start_len", 0), int)


# --- the fixtures -------------------------------------------------------------------------------


def test_every_fixture_names_the_sglang_code_it_copies() -> None:
    files = {p.name for p in FIXTURES.glob("*.json")} - {"SOURCES.json"}
    named = set(SOURCES) - {"_about"}
    assert files == named, f"unnamed: {sorted(files - named)}, stale: {sorted(named - files)}"
    for name in named:
        assert SOURCES[name]["file"] and SOURCES[name]["function"], name


def test_score_fixture_has_none_at_logprob_start_len() -> None:
    prefix = load("tokenize_prefix.json")["tokens"]
    start = len(prefix) - 1  # what the engine sends: one token before the choice
    for out, choice in zip(load("score_batch.json"), load("tokenize_choices.json")["tokens"], strict=True):
        generate_body_rule(out, streamed=False)
        input_logprob_rule(out["meta_info"]["input_token_logprobs"], prefix + choice, start)
        # schedule_batch Req.init_next_round_input: a logprob request reuses at most
        # logprob_start_len cached tokens
        assert out["meta_info"]["cached_tokens"] <= start


@pytest.mark.parametrize(
    "name", ["generate.json", "generate_harmony.json", "generate_json_schema.json", "generate_length.json", "generate_think.json", "score_prefill.json"]
)
def test_generate_fixtures(name: str) -> None:
    body = load(name)
    generate_body_rule(body, streamed=False)
    assert len(body["output_ids"]) == body["meta_info"]["completion_tokens"]


@pytest.mark.parametrize(
    ("name", "incremental"),
    [("generate_stream.json", False), ("generate_stream_think.json", False), ("generate_stream_incremental.json", True), ("generate_stream_abort_grammar.json", False)],
)
def test_stream_fixtures(name: str, incremental: bool) -> None:
    stream_rule(load(name), incremental=incremental)


def test_router_fixtures() -> None:
    for body in load("router_score_requests.json"):
        router_request_rule(body)
    assert load("router_tokenize_not_found.json")["error"]["type"] == "tokenizer_not_found"


def test_the_rules_catch_a_broken_fixture() -> None:
    """The old score fixture put a real value at logprob_start_len, and the old text scoring
    batched its text behind the router: both must fail."""
    broken = [[-0.35, 314, " is"], [-0.3521, 7042, " Paris"]]
    with pytest.raises(AssertionError, match="None"):
        input_logprob_rule(broken, [504, 3575, 282, 4649, 314, 7042], 4)
    with pytest.raises(AssertionError, match="batched text"):
        router_request_rule({"text": ["a b", "a c"], "logprob_start_len": 1})


# --- the fake server obeys the same rules ------------------------------------------------------


def test_the_fake_server_obeys_the_rules() -> None:
    fake = FakeSGLang(reply=lambda _p, _c: " one two")
    ids = fake.model.encode("Score this prefix and", special=True)
    body = {"input_ids": ids, "sampling_params": {"max_new_tokens": 0}, "return_logprob": True, "logprob_start_len": 2}
    out = fake.generate(body)
    generate_body_rule(out, streamed=False)
    input_logprob_rule(out["meta_info"]["input_token_logprobs"], ids, 2)
    events = [json.loads(line[6:]) for line in b"".join(fake.stream({"text": "Hi", "stream": True})).decode().split("\n\n") if line.startswith("data: {")]
    stream_rule(events, incremental=False)
    fake.incremental_streaming_output = True
    events = [json.loads(line[6:]) for line in b"".join(fake.stream({"text": "Hi", "stream": True})).decode().split("\n\n") if line.startswith("data: {")]
    stream_rule(events, incremental=True)
