"""The tool-call scorer against hand-made model outputs, the benchmark data's consistency, and
the benchmark script end to end on a small subset with the real embedded engine."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from radixagent.errors import ConfigurationError
from toolcalls.scoring import (
    CATEGORIES,
    BenchmarkDataError,
    Case,
    ModelOutput,
    OutputCall,
    Toolset,
    check_case,
    load_benchmark,
    parse_rule,
    score_case,
    select_cases,
    summarize,
)

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "benchmarks" / "toolcalls" / "cases.jsonl"
TOOLSETS = ROOT / "benchmarks" / "toolcalls" / "toolsets.json"
MADE_UP = ROOT / "benchmarks" / "toolcalls" / "madeup"

HOME = Toolset.model_validate(
    {
        "name": "home",
        "domain": "test",
        "tools": [
            {
                "name": "set_light",
                "description": "Switch a light",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "room": {"type": "string", "enum": ["kitchen", "bedroom"]},
                        "on": {"type": "boolean"},
                        "brightness": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100},
                    },
                    "required": ["room", "on"],
                },
            },
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        ],
    }
)


def case(expected: list[dict[str, Any]], category: str = "single_simple", **fields: Any) -> Case:
    return Case.model_validate({"id": "t", "toolset": "home", "category": category, "user": "u", "expected": expected, **fields})


def out(*calls: tuple[str, Any], content: str | None = None, **fields: Any) -> ModelOutput:
    return ModelOutput(
        calls=[OutputCall(name=n, arguments=a if isinstance(a, str) else json.dumps(a)) for n, a in calls],
        content=content,
        **fields,
    )


LIGHT = case([{"name": "set_light", "arguments": {"room": "kitchen", "on": True}}])
TWO_CITIES = case(
    [
        {"name": "get_weather", "arguments": {"city": {"$ci": "Oslo"}}},
        {"name": "get_weather", "arguments": {"city": {"$ci": "Rome"}}},
    ],
    category="multi_call",
)
NO_TOOL = case([], category="no_tool")


# --- one response ---------------------------------------------------------------------------------


def test_right_call_scores_on_every_metric() -> None:
    score = score_case(LIGHT, HOME, out(("set_light", {"room": "kitchen", "on": True}), latency_ms=12.5))
    assert (score.well_formed, score.right_function, score.exact) == (True, True, True)
    assert score.abstained is None and score.right_count is None
    assert score.problems == [] and score.latency_ms == 12.5


def test_wrong_function() -> None:
    score = score_case(LIGHT, HOME, out(("get_weather", {"city": "Paris"})))
    assert (score.well_formed, score.right_function, score.exact) == (True, False, False)
    assert any("expected ['set_light']" in p for p in score.problems)


def test_wrong_value_is_the_right_function_but_not_exact() -> None:
    score = score_case(LIGHT, HOME, out(("set_light", {"room": "bedroom", "on": True})))
    assert (score.right_function, score.exact) == (True, False)
    assert any(p.startswith("set_light: room:") for p in score.problems)


def test_extra_argument_is_inexact_unless_it_is_the_schema_default() -> None:
    extra = score_case(LIGHT, HOME, out(("set_light", {"room": "kitchen", "on": True, "brightness": 40})))
    assert (extra.right_function, extra.exact) == (True, False)
    assert any("brightness: extra argument" in p for p in extra.problems)
    default = score_case(LIGHT, HOME, out(("set_light", {"room": "kitchen", "on": True, "brightness": 100})))
    assert default.exact is True


def test_missing_argument_and_missing_call() -> None:
    missing_argument = score_case(LIGHT, HOME, out(("set_light", '{"room": "kitchen"}')))
    assert missing_argument.well_formed is False  # "on" is required by the schema
    assert missing_argument.exact is False and any("on: missing" in p for p in missing_argument.problems)
    answered = score_case(LIGHT, HOME, out(content="Sure, the light is on."))
    assert answered.well_formed is None  # nothing attempted under auto
    assert (answered.right_function, answered.exact) == (False, False)
    assert "answered directly where a tool fits" in answered.problems
    required = score_case(LIGHT, HOME, out(content="Sure."), tool_choice="required")
    assert required.well_formed is False and "no call under tool_choice=required" in required.problems


def test_malformed_calls_are_not_well_formed() -> None:
    broken = score_case(LIGHT, HOME, out(("set_light", '{"room": "kitchen", "on": tru')))
    assert (broken.well_formed, broken.exact) == (False, False)
    unknown = score_case(LIGHT, HOME, out(("open_window", {})))
    assert (unknown.well_formed, unknown.right_function) == (False, False)
    out_of_enum = score_case(LIGHT, HOME, out(("set_light", {"room": "garage", "on": True})))
    assert out_of_enum.well_formed is False


def test_errors_and_cut_offs_fail_every_applicable_metric() -> None:
    error = score_case(LIGHT, HOME, out(error="500 engine failed"))
    assert (error.well_formed, error.right_function, error.exact) == (False, False, False)
    cut = score_case(NO_TOOL, HOME, out(finish_reason="length"))
    assert (cut.well_formed, cut.abstained) == (False, False)


def test_abstention_right_and_wrong() -> None:
    right = score_case(NO_TOOL, HOME, out(content="Rainbows come from refraction."))
    assert right.abstained is True and right.right_function is None and right.exact is None
    wrong = score_case(NO_TOOL, HOME, out(("get_weather", {"city": "Paris"})))
    assert wrong.abstained is False and wrong.well_formed is True
    assert any("where no tool fits" in p for p in wrong.problems)


def test_multi_call_count_and_order() -> None:
    both = score_case(TWO_CITIES, HOME, out(("get_weather", {"city": "rome"}), ("get_weather", {"city": "OSLO"})))
    assert (both.right_function, both.exact, both.right_count) == (True, True, True)
    one = score_case(TWO_CITIES, HOME, out(("get_weather", {"city": "Oslo"})))
    assert (one.right_function, one.exact, one.right_count) == (True, False, False)
    assert "1 calls, expected 2" in one.problems
    same_twice = score_case(TWO_CITIES, HOME, out(("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Oslo"})))
    assert (same_twice.right_count, same_twice.exact) == (True, False)
    three = score_case(
        TWO_CITIES, HOME, out(("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Rome"}), ("get_weather", {"city": "Bern"}))
    )
    assert (three.right_count, three.exact) == (False, False)


# --- allowed-value rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        ("Paris", [" Paris ", "Paris"], ["paris", "Paris, France"]),
        (3, [3, 3.0], [4, "3", True]),
        (True, [True], [1, "true"]),
        ({"$ci": "New  York."}, ["new york", "NEW YORK!"], ["newyork", "York"]),
        ({"$ci": ["Lisboa", "Lisbon"]}, ["lisbon", "LISBOA"], ["Porto"]),
        ({"$compact": "+33612345678"}, ["+33 6 12 34 56 78", "+33612345678"], ["0612345678"]),
        ({"$num": 251.3, "$tol": 0.001}, [251.3, 251.3005], [251.31, "251.3", False]),
        ({"$contains": ["hiking", "Patagonia"]}, ["Best HIKING trails in patagonia"], ["hiking in Chile", 5]),
        ({"$any": [3, 4]}, [3, 4.0], [2]),
        ({"$set": ["a", {"$ci": "B"}]}, [["b", "a"], ["a", "B"]], [["a"], ["a", "b", "c"], ["a", "a"], "ab"]),
        (["a", "b"], [["a", "b"]], [["b", "a"]]),
        ({"adults": 2, "children": {"$optional": 0}}, [{"adults": 2}, {"adults": 2, "children": 0}], [{"adults": 2, "children": 1}, {"adults": 2, "pets": 1}]),
        ({"$present": True}, ["anything", 0, None], []),
    ],
)
def test_rules(rule: Any, good: list[Any], bad: list[Any]) -> None:
    parsed = parse_rule(rule)
    for value in good:
        assert parsed.problem(value, {}, "x") is None, value
    for value in bad:
        assert parsed.problem(value, {}, "x") is not None, value


def test_nested_defaults_and_optional_arguments() -> None:
    schema = {
        "type": "object",
        "properties": {
            "guests": {
                "type": "object",
                "properties": {"adults": {"type": "integer"}, "children": {"type": "integer", "default": 0}},
            },
            "note": {"type": "string"},
        },
    }
    rule = parse_rule({"guests": {"adults": 2}, "note": {"$optional": {"$contains": "quiet"}}})
    assert rule.problems({"guests": {"adults": 2, "children": 0}}, schema, "") == []
    assert rule.problems({"guests": {"adults": 2}, "note": "a quiet room"}, schema, "") == []
    assert rule.problems({"guests": {"adults": 2, "children": 1}}, schema, "") == ["guests.children: extra argument 1"]
    assert rule.problems({"guests": {"adults": 2}, "note": "sea view"}, schema, "")[0].startswith("note:")
    assert rule.problems({}, schema, "") == ["guests: missing"]


def test_bad_rule_shorthand_is_refused() -> None:
    for raw in ({"$oneof": [1]}, {"$ci": "a", "$contains": "b"}, {"$tol": 1}, {"$num": 1, "$ci": "x"}):
        with pytest.raises(ValueError):
            parse_rule(raw)


# --- summaries and selection ----------------------------------------------------------------------


def test_summary_rows_per_category_and_overall() -> None:
    scores = [
        score_case(LIGHT, HOME, out(("set_light", {"room": "kitchen", "on": True}), latency_ms=10)),
        score_case(LIGHT, HOME, out(("set_light", {"room": "bedroom", "on": True}), latency_ms=30)),
        score_case(NO_TOOL, HOME, out(content="hello", latency_ms=20)),
        score_case(TWO_CITIES, HOME, out(("get_weather", {"city": "Oslo"}), latency_ms=40)),
    ]
    report = summarize(scores)
    assert [r.category for r in report.rows] == ["single_simple", "multi_call", "no_tool", "overall"]
    simple = report.row("single_simple")
    assert (simple.cases, simple.exact.hits, simple.exact.total, simple.right_function.value) == (2, 1, 2, 1.0)
    overall = report.row("overall")
    assert (overall.well_formed.hits, overall.well_formed.total) == (3, 3)
    assert (overall.right_function.hits, overall.right_function.total) == (3, 3)
    assert (overall.exact.hits, overall.exact.total) == (1, 3)
    assert (overall.abstention.hits, overall.abstention.total) == (1, 1)
    assert (overall.call_count.hits, overall.call_count.total) == (0, 1)
    assert overall.latency_ms_mean == 25 and overall.latency_ms_p50 == 20 and overall.latency_ms_p95 == 40
    assert report.row("no_tool").exact.value is None


def test_select_cases_round_robin_and_required_drops_no_tool() -> None:
    cases, _ = load_benchmark(CASES)
    first = select_cases(cases, limit=len(CATEGORIES))
    assert [c.category for c in first] == list(CATEGORIES)
    required = select_cases(cases, tool_choice="required")
    assert required and all(c.category != "no_tool" for c in required)
    assert len(required) == sum(c.category != "no_tool" for c in cases)
    only = select_cases(cases, categories=["nested", "no_tool"], limit=3)
    assert [c.category for c in only] == ["nested", "no_tool", "nested"]
    with pytest.raises(BenchmarkDataError, match="Unknown categories"):
        select_cases(cases, categories=["funny"])


# --- the data -------------------------------------------------------------------------------------


def _kinds(schema: dict[str, Any], found: set[str]) -> None:
    kind = schema.get("type")
    if "enum" in schema:
        found.add("enum")
    if kind == "integer" and ("minimum" in schema or "maximum" in schema):
        found.add("bounded_integer")
    if "default" in schema:
        found.add("default")
    if kind == "object" and found.add("object") is None:
        for child in (schema.get("properties") or {}).values():
            if child.get("type") == "object":
                found.add("nested_object")
            _kinds(child, found)
    if kind == "array":
        _kinds(schema.get("items") or {}, found)
    if isinstance(kind, str):
        found.add(kind)


def test_benchmark_data_is_large_varied_and_consistent() -> None:
    cases, toolsets = load_benchmark(CASES, TOOLSETS)
    assert len(cases) >= 150 and len({c.toolset for c in cases}) >= 20
    assert all(1 <= len(t.tools) <= 8 for t in toolsets.values())
    assert len({t.domain for t in toolsets.values()}) >= 20
    by_category = Counter(c.category for c in cases)
    assert set(by_category) == set(CATEGORIES) and min(by_category.values()) >= 10
    assert any(len(c.expected) == 3 for c in cases) and any(len(c.expected) == 2 for c in cases)
    found: set[str] = set()
    for toolset in toolsets.values():
        for tool in toolset.tools:
            _kinds(tool.parameters, found)
    assert {"string", "enum", "bounded_integer", "number", "boolean", "array", "nested_object", "default"} <= found
    assert len({c.user for c in cases}) == len(cases)


@pytest.mark.parametrize("folder", sorted(p for p in MADE_UP.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_each_made_up_set_is_consistent(folder: Path) -> None:
    cases, toolsets = load_benchmark(folder / "cases.jsonl")
    assert cases and not [problem for case in cases for problem in check_case(case, toolsets)]


def test_check_case_finds_mistakes_in_the_data() -> None:
    _, toolsets = load_benchmark(CASES, TOOLSETS)

    def mistakes(expected: list[dict[str, Any]], category: str = "enum_choice") -> list[str]:
        return check_case(Case.model_validate({"id": "x", "toolset": "weather", "category": category, "user": "u", "expected": expected}), toolsets)

    assert mistakes([{"name": "get_current_weather", "arguments": {"city": "Oslo", "unit": "kelvin"}}])  # not in the enum
    assert mistakes([{"name": "get_current_weather", "arguments": {"unit": "celsius"}}])  # city is required
    assert mistakes([{"name": "get_forecast", "arguments": {"city": "Oslo", "days": 9}}])  # above the maximum
    assert mistakes([{"name": "get_forecast", "arguments": {"city": "Oslo", "hours": 9}}])  # no such parameter
    assert mistakes([{"name": "get_tides", "arguments": {}}])  # no such tool
    assert mistakes([], category="single_simple")  # only no_tool cases expect nothing
    assert mistakes([{"name": "get_forecast", "arguments": {"city": "Oslo"}}], category="multi_call")
    assert mistakes([{"name": "get_forecast", "arguments": {"city": {"$ci": "Oslo"}, "days": 3}}]) == []


def test_malformed_files_raise_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "cases.jsonl"
    bad.write_text('{"id": "a", "toolset": "weather", "category": "single_simple", "user": "hi", "expected": []}\n')
    (tmp_path / "toolsets.json").write_text(TOOLSETS.read_text())
    with pytest.raises(BenchmarkDataError, match="only no_tool cases") as caught:
        load_benchmark(bad)
    assert isinstance(caught.value, ConfigurationError)
    bad.write_text('{"id": "a", "toolset": "weather", "category": "weird", "user": "hi", "expected": []}\n')
    with pytest.raises(BenchmarkDataError, match="cases.jsonl:1"):
        load_benchmark(bad)
    with pytest.raises(BenchmarkDataError, match="Cannot read"):
        load_benchmark(tmp_path / "missing.jsonl")


# --- the benchmark script, end to end ---------------------------------------------------------------


def test_benchmark_script_runs_on_ten_cases_through_the_python_face(tmp_path: Path) -> None:
    """Ten cases spread over every category, on the real embedded engine: every call that comes
    back is well-formed (valid by construction), and the table and the JSON report agree."""
    report_path = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "toolcall_bench.py"),
            "--faces", "python",
            "--strategies", "grounded",
            "--tool-choice", "auto",
            "--limit", "10",
            "--max-tokens", "64",
            "--json", str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "python / grounded / tool_choice=auto" in done.stdout and "overall" in done.stdout
    runs = json.loads(report_path.read_text())["runs"]
    assert len(runs) == 1
    report = runs[0]["report"]
    scores = report["scores"]
    assert len(scores) == 10
    assert {s["category"] for s in scores} == set(CATEGORIES)
    for score in scores:
        if score["output"]["calls"]:
            assert score["well_formed"] is True, score
        assert score["latency_ms"] > 0
    overall = report["rows"][-1]
    assert overall["category"] == "overall" and overall["cases"] == 10
    assert overall["abstention"]["total"] == sum(s["category"] == "no_tool" for s in scores)
