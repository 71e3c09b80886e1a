"""The BFCL benchmark (benchmarks/bfcl_bench.py): its sample, how it sends BFCL's functions,
how it decodes and judges replies with BFCL's own checker, and the script end to end on a
small subset with the real model for both systems."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("bfcl_eval", reason="BFCL's data: pip install --no-deps bfcl-eval==2026.3.23 (make setup does)")

from bfcl_bench import (  # noqa: E402
    CATEGORIES,
    PYTHON_HINT,
    BfclCase,
    Reply,
    error_kind,
    judge,
    load_category,
    openai_tools,
    sample_cases,
)

ROOT = Path(__file__).resolve().parents[1]
FIVE = ["live_simple", "live_multiple", "live_parallel", "live_irrelevance", "live_relevance"]


def case(category: str, case_id: str) -> BfclCase:
    return next(c for c in load_category(category) if c.id == case_id)


def call(name: str, **arguments: Any) -> tuple[str, str]:
    return name, json.dumps(arguments)


# --- the sample and the request --------------------------------------------------------------------


def test_the_sample_is_seeded_per_category_and_only_live() -> None:
    first = sample_cases(CATEGORIES, 5, seed=0)
    assert [c.id for c in first] == [c.id for c in sample_cases(CATEGORIES, 5, seed=0)]
    assert [c.id for c in first] != [c.id for c in sample_cases(CATEGORIES, 5, seed=1)]
    assert {c.category for c in first} == set(CATEGORIES) and all(c.id.startswith("live_") for c in first)
    assert all(sum(c.category == k for c in first) == 5 for k in CATEGORIES)
    # every case of a category when asked, and fewer than asked where a category has fewer
    assert len(sample_cases(["live_relevance"], 1000, seed=0)) == len(load_category("live_relevance")) == 16
    # scored categories carry BFCL's ground truth; the (ir)relevance ones have none to carry
    assert all(c.ground_truth for c in first if c.category not in ("live_irrelevance", "live_relevance"))


def test_functions_are_sent_as_bfcls_openai_handler_sends_them() -> None:
    latte = case("live_multiple", "live_multiple_0-0-0")
    tools = openai_tools(latte.functions)
    names = [t["function"]["name"] for t in tools]
    assert "ChaDri_change_drink" in names and not any("." in n for n in names)
    drink = tools[names.index("ChaDri_change_drink")]["function"]
    assert drink["description"].endswith(PYTHON_HINT)
    parameters = drink["parameters"]
    assert parameters["type"] == "object"  # BFCL's "dict"
    assert parameters["properties"]["new_preferences"]["type"] == "object"
    # the data itself is left as BFCL ships it
    assert latte.functions[names.index("ChaDri_change_drink")]["parameters"]["type"] == "dict"

    def types_in(schema: dict[str, Any]) -> set[str]:
        found = {schema["type"]}
        for sub in (schema.get("properties") or {}).values():
            found |= types_in(sub)
        if isinstance(schema.get("items"), dict):
            found |= types_in(schema["items"])
        return found

    every = set().union(*(types_in(t["function"]["parameters"]) for c in sample_cases(CATEGORIES, None, 0) for t in openai_tools(c.functions)))
    assert every <= {"object", "string", "integer", "number", "boolean", "array"}, every


# --- decoding and judging --------------------------------------------------------------------------


def test_a_right_call_passes_bfcls_checker_under_its_dotted_name() -> None:
    latte = case("live_multiple", "live_multiple_0-0-0")
    right = call(
        "ChaDri_change_drink",
        drink_id="latte",
        new_preferences={"size": "large", "milk_type": "coconut", "sweetness_level": "extra", "temperature": "hot", "special_instructions": "boiling hot"},
    )
    verdict = judge(latte, Reply(calls=[right], finish_reason="tool_calls"))
    assert verdict.correct and verdict.well_formed, verdict.errors
    assert verdict.decoded is not None and list(verdict.decoded[0]) == ["ChaDri.change_drink"]

    wrong_size = call("ChaDri_change_drink", drink_id="latte", new_preferences={"size": "small", "milk_type": "coconut", "sweetness_level": "extra", "temperature": "hot", "special_instructions": "boiling hot"})
    verdict = judge(latte, Reply(calls=[wrong_size], finish_reason="tool_calls"))
    assert not verdict.correct and verdict.well_formed and error_kind(latte, verdict) == "wrong value of a string field of a dict parameter"
    verdict = judge(latte, Reply(calls=[call("ChaFod", foodItem="latte")], finish_reason="tool_calls"))
    assert not verdict.correct and error_kind(latte, verdict) == "wrong function"
    verdict = judge(latte, Reply(calls=[right, right], finish_reason="tool_calls"))
    assert not verdict.correct and error_kind(latte, verdict) == "missing/extra call"
    verdict = judge(latte, Reply(content="Sure!", finish_reason="stop"))
    assert not verdict.correct and verdict.well_formed and error_kind(latte, verdict) == "no call"


def test_parallel_cases_match_calls_in_any_order_and_name_the_failing_parameter() -> None:
    two = case("live_parallel", "live_parallel_1-0-1")
    (first,), (second,) = (gt.values() for gt in two.ground_truth)
    boston, sf = first["location"][0], second["location"][0]
    verdict = judge(two, Reply(calls=[call("get_current_weather", location=sf), call("get_current_weather", location=boston)], finish_reason="tool_calls"))
    assert verdict.correct, verdict.errors
    verdict = judge(two, Reply(calls=[call("get_current_weather", location=boston), call("get_current_weather", location="Paris")], finish_reason="tool_calls"))
    assert not verdict.correct and error_kind(two, verdict) == "wrong value of a string parameter"


def test_relevance_rules_are_bfcls_and_well_formed_is_separate() -> None:
    irrelevant = load_category("live_irrelevance")[0]
    relevant = load_category("live_relevance")[0]
    name = openai_tools(irrelevant.functions)[0]["function"]["name"]
    assert judge(irrelevant, Reply(content="I cannot do that.", finish_reason="stop")).correct
    called = judge(irrelevant, Reply(calls=[call(name, url="x")], finish_reason="tool_calls"))
    assert not called.correct and called.well_formed and error_kind(irrelevant, called) == "a call where none fits"
    # BFCL counts a call it cannot decode as no call: right for irrelevance, but not well-formed
    broken = judge(irrelevant, Reply(calls=[(name, '{"url": ')], finish_reason="tool_calls"))
    assert broken.correct and not broken.well_formed
    relevant_name = openai_tools(relevant.functions)[0]["function"]["name"]
    assert judge(relevant, Reply(calls=[call(relevant_name, prompt="x")], finish_reason="tool_calls")).correct
    assert not judge(relevant, Reply(content="Here is a painting.", finish_reason="stop")).correct
    # an unlisted name, a cut-off reply and a transport error are not well-formed
    assert not judge(relevant, Reply(calls=[call("paint", prompt="x")], finish_reason="tool_calls")).well_formed
    assert judge(irrelevant, Reply(content="I cannot", finish_reason="length")).well_formed  # a text answer, cut short
    assert not judge(irrelevant, Reply(content='<tool_call>{"name": "requests_get", "argu', finish_reason="length")).well_formed
    errored = judge(relevant, Reply(error="APIStatusError: 500"))
    assert not errored.correct and not errored.well_formed


# --- the script, end to end ----------------------------------------------------------------------------


@pytest.mark.timeout(300)
def test_the_script_runs_a_small_subset_through_both_systems(tmp_path: Path) -> None:
    """The two shortest cases of five live categories (live_parallel_multiple's are all long),
    small budgets, both systems on the real model: the tables are printed, the report has a row
    per category for both systems, and every radixagent reply is well-formed."""
    report_path = tmp_path / "bfcl.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bfcl_bench.py"),
            "--per-category", "2",
            "--categories", ",".join(FIVE),
            "--smallest",
            "--max-tokens", "32",
            "--show-wrong", "1",
            "--json", str(report_path),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # rich wraps the table's headers: check words, not whole header cells
    for words in ("BFCL live: accuracy", "well-formed", "accuracy", "ratio", "radixagent: failures by kind", "llama.cpp: failures by kind"):
        assert words in done.stdout, words
    report = json.loads(report_path.read_text())
    assert len(report["cases"]) == 10 and set(report["systems"]) == {"radixagent", "llama.cpp"}
    for system, result in report["systems"].items():
        assert [r["category"] for r in result["rows"]] == [*FIVE, "all"], system
        assert all(r["n"] == 2 for r in result["rows"][:-1]) and result["rows"][-1]["n"] == 10
        verdicts = result["verdicts"]
        assert [v["case_id"] for v in verdicts] == report["cases"]
        assert all(v["reply"]["latency_ms"] > 0 and v["reply"]["error"] is None for v in verdicts), system
        assert sum(v["correct"] for v in verdicts) == result["rows"][-1]["correct"]
        assert all(bool(v["kind"]) != v["correct"] for v in verdicts)
    radix = report["systems"]["radixagent"]["verdicts"]
    assert all(v["well_formed"] for v in radix), [(v["case_id"], v["reply"]) for v in radix if not v["well_formed"]]
