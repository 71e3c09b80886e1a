"""FeedbackCollector (persisted aggregates, recommendations from data, export round trips,
the chart) and LLMJudge (constrained, validated, retried)."""

from __future__ import annotations

import importlib.util
import json
import re
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import StoreBackend
from radixagent.engine import Completion, ScriptedEngine, Usage
from radixagent.errors import ConfigurationError, InputError, JudgeError
from radixagent.feedback import (
    RULES,
    FeedbackCollector,
    LLMJudge,
    RecommendationThresholds,
    RunMetrics,
    ToolCallMetric,
    judge_schema,
    percentile,
    read_csv_export,
    read_json_export,
)
from radixagent.memory import SQLiteStore, Store
from radixagent.schemas import AgentResponse, QualityAssessment, ToolCallRecord


def _qa(acc: float, coh: float, comp: float, overall: float, comment: str = "ok") -> QualityAssessment:
    return QualityAssessment(
        accuracy_score=acc,
        coherence_score=coh,
        completeness_score=comp,
        overall_score=overall,
        feedback_comment=comment,
    )


def _codes(collector: FeedbackCollector) -> set[str]:
    return {r.code for r in collector.generate_improvement_recommendations()}


# --- the collector -----------------------------------------------------------------------


def test_tutorial_calls_work_and_aggregate() -> None:
    collector = FeedbackCollector()
    collector.add_feedback("q1", "r1", 4.5, "good")
    collector.add_feedback("q2", "r2", 3)
    collector.add_quality_assessment(_qa(4.5, 4.8, 4.7, 4.6))
    collector.add_quality_assessment(_qa(3.5, 4.0, 4.3, 3.0))
    collector.record_performance(3411.8, 500, 0.0)
    collector.record_performance(6143.3, 700, 0.5)
    ratings = collector.get_average_ratings()
    assert ratings.user_rating == pytest.approx(3.75) and ratings.ratings == 2
    assert ratings.accuracy == pytest.approx(4.0)
    assert ratings.coherence == pytest.approx(4.4)
    assert ratings.completeness == pytest.approx(4.5)
    assert ratings.overall == pytest.approx(3.8)
    perf = collector.get_performance_summary()
    assert perf.runs == 2
    assert perf.latency_ms is not None and perf.latency_ms.mean == pytest.approx((3411.8 + 6143.3) / 2)
    assert perf.latency_ms.min == 3411.8 and perf.latency_ms.max == 6143.3
    assert perf.total_tokens is not None and perf.total_tokens.mean == 600
    assert perf.cache_hit_rate is not None and perf.cache_hit_rate.mean == pytest.approx(0.25)
    assert perf.engine_cache_hit_rate is None  # no token breakdown was recorded
    summary = collector.get_feedback_summary()
    assert (summary.total_feedback_count, summary.quality_assessment_count, summary.run_count) == (2, 2, 2)
    assert summary.average_ratings == ratings
    assert {r.code for r in summary.recommendations} == {"high_latency", "low_cache_hit_rate"}


def test_empty_collector_reports_nothing() -> None:
    collector = FeedbackCollector()
    assert collector.get_average_ratings().user_rating is None
    assert collector.get_performance_summary().runs == 0
    assert collector.generate_improvement_recommendations() == []
    with pytest.raises(InputError, match="No runs"):
        collector.build_figure()


@pytest.mark.parametrize("rating", [0, 5.5, -1, "4", True, float("nan")])
def test_ratings_outside_one_to_five_are_refused(rating: object) -> None:
    collector = FeedbackCollector()
    with pytest.raises(InputError, match="1 to 5"):
        collector.add_feedback("q", "r", rating)  # type: ignore[arg-type]
    assert collector.feedback_records() == []


def test_bad_run_numbers_are_refused() -> None:
    collector = FeedbackCollector()
    with pytest.raises(InputError, match="cache_hit_rate"):
        collector.record_performance(10.0, 5, 1.5)
    with pytest.raises(InputError, match="latency_ms"):
        collector.record_performance(-1.0, 5, 0.5)
    assert collector.runs() == []


def test_data_persists_in_the_store(store_backend: StoreBackend) -> None:
    collector = FeedbackCollector(store_backend.open())
    collector.add_feedback("q", "r", 2, metadata={"user": "u1"})
    collector.record_performance(100.0, prompt_tokens=100, completion_tokens=10, cached_tokens=90)
    again = FeedbackCollector(store_backend.open())
    assert again.get_average_ratings().user_rating == 2
    run = again.runs()[0]
    assert (run.total_tokens, run.cache_hit_rate) == (110, pytest.approx(0.9))
    assert again.get_performance_summary().engine_cache_hit_rate == pytest.approx(0.9)


def test_session_scoping(store: Store) -> None:
    a = FeedbackCollector(store, session_id="a")
    b = FeedbackCollector(store, session_id="b")
    a.add_feedback("q", "r", 1)
    b.add_feedback("q", "r", 5)
    everything = FeedbackCollector(store)
    assert a.get_average_ratings().user_rating == 1
    assert b.get_average_ratings().user_rating == 5
    assert everything.get_average_ratings().user_rating == 3
    a.record_performance(1.0, tool_calls=[ToolCallMetric(tool="only_a")])
    b.record_performance(2.0, tool_calls=[ToolCallMetric(tool="only_b"), ToolCallMetric(tool="only_b")])
    assert [c.tool for r in a.runs() for c in r.tool_calls] == ["only_a"]
    assert [t.tool for t in b.get_performance_summary().tools] == ["only_b"]
    assert [t.calls for t in everything.get_performance_summary().tools] == [1, 2]


# --- recommendations come from the data ----------------------------------------------------


def test_low_and_high_ratings_trigger_opposite_recommendations() -> None:
    collector = FeedbackCollector()
    for rating in (2, 2.5, 3):
        collector.add_feedback("q", "r", rating)
    recs = {r.code: r for r in collector.generate_improvement_recommendations()}
    low = recs["low_user_rating"]
    assert low.severity == "warning" and low.value == pytest.approx(2.5) and low.samples == 3
    assert "2.50 over 3 ratings < 3.0" in low.evidence
    assert "2.50" in str(low)
    for _ in range(12):
        collector.add_feedback("q", "r", 5)
    assert _codes(collector) == {"high_user_rating"}


def test_low_quality_axes_each_trigger() -> None:
    collector = FeedbackCollector()
    collector.add_quality_assessment(_qa(2, 4, 3, 3))
    collector.add_quality_assessment(_qa(3, 5, 3, 3))
    recs = {r.code: r for r in collector.generate_improvement_recommendations()}
    assert set(recs) == {"low_accuracy", "low_completeness"}
    assert recs["low_accuracy"].value == pytest.approx(2.5)
    assert "over 2 assessments" in recs["low_accuracy"].evidence


def test_latency_p95_not_the_mean_triggers() -> None:
    collector = FeedbackCollector(thresholds=RecommendationThresholds(max_latency_p95_ms=1000))
    for _ in range(18):
        collector.record_performance(100.0, 10, 0.9)
    assert "high_latency" not in _codes(collector)
    collector.record_performance(9000.0, 10, 0.9)
    collector.record_performance(9000.0, 10, 0.9)
    recs = {r.code: r for r in collector.generate_improvement_recommendations()}
    mean = (18 * 100 + 2 * 9000) / 20
    assert mean < 1000  # the mean alone would not have said so
    assert recs["high_latency"].value == pytest.approx(percentile([100.0] * 18 + [9000.0] * 2, 95))
    assert recs["high_latency"].samples == 20


def test_cache_hit_rate_uses_engine_tokens() -> None:
    collector = FeedbackCollector()
    # per-run rates average 0.55, but by tokens only 0.20 of prompts were cached
    collector.record_performance(10, prompt_tokens=1000, cached_tokens=100, cache_hit_rate=0.1)
    collector.record_performance(10, prompt_tokens=100, cached_tokens=100, cache_hit_rate=1.0)
    rec = next(r for r in collector.generate_improvement_recommendations() if r.code == "low_cache_hit_rate")
    assert rec.value == pytest.approx(200 / 1100)
    assert "engine cached / prompt tokens" in rec.evidence


def test_failing_tool_and_failing_runs_trigger() -> None:
    collector = FeedbackCollector()
    ok = ToolCallMetric(tool="search", success=True, duration_ms=5)
    bad = ToolCallMetric(tool="calculator", success=False, error="ZeroDivisionError")
    collector.record_performance(10, 10, 0.9, tool_calls=[ok, bad])
    collector.record_performance(10, 10, 0.9, tool_calls=[ok, bad], success=False, error="tool failed")
    assert "failing_tool:calculator" not in _codes(collector)  # 2 calls: below min_tool_calls
    collector.record_performance(10, 10, 0.9, tool_calls=[ok, ToolCallMetric(tool="calculator", success=True)])
    collector.record_performance(10, 10, 0.9, tool_calls=[bad])
    recs = {r.code: r for r in collector.generate_improvement_recommendations()}
    assert "failing_tool:search" not in recs
    tool = recs["failing_tool:calculator"]
    assert (tool.value, tool.samples) == (pytest.approx(0.75), 4)
    assert "3 of 4 calls of 'calculator' failed" in tool.evidence
    assert recs["failing_runs"].value == pytest.approx(0.75)
    stats = {t.tool: t for t in collector.get_performance_summary().tools}
    assert stats["search"].failures == 0 and stats["search"].mean_duration_ms == 5


def test_observe_run_stores_a_finished_run() -> None:
    """The observer entry point: one finished AgentResponse in, its numbers stored."""
    collector = FeedbackCollector(session_id="s1")
    response = AgentResponse(
        content="42",
        tool_calls=[ToolCallRecord(id="c1", tool="calc", arguments={}, error="bad arguments")],
        total_tokens=130,
        latency_ms=250.0,
        is_successful=False,
        error_message="gave up",
        usage=Usage(prompt_tokens=100, completion_tokens=30, cached_tokens=80),
    )
    observer: Callable[[AgentResponse], object] = collector.observe_run
    run = observer(response)
    assert isinstance(run, RunMetrics)
    assert (run.session_id, run.prompt_tokens, run.cached_tokens) == ("s1", 100, 80)
    assert run.cache_hit_rate == pytest.approx(0.8) and not run.success and run.error == "gave up"
    assert collector.runs() == [run]
    assert "failing_runs" in _codes(collector)


def test_observe_run_takes_an_agent_response() -> None:
    collector = FeedbackCollector(session_id="s1")
    response = AgentResponse(
        content="42",
        tool_calls=[
            ToolCallRecord(id="c1", tool="calc", arguments={"x": 1}, result="42", duration_ms=3.0),
            ToolCallRecord(id="c2", tool="calc", arguments={}, error="bad arguments"),
        ],
        total_tokens=130,
        cache_hit_rate=0.5,
        latency_ms=250.0,
        session_id="s1",
        usage=Usage(prompt_tokens=100, completion_tokens=30, cached_tokens=80),
    )
    run = collector.observe_run(response)
    assert run.session_id == "s1" and run.latency_ms == 250.0 and run.total_tokens == 130
    assert run.cache_hit_rate == pytest.approx(0.8)  # the engine's own count wins
    assert [c.success for c in run.tool_calls] == [True, False]
    assert collector.runs() == [run]


# --- export and chart ----------------------------------------------------------------------


def _filled(tmp_path: Path) -> FeedbackCollector:
    collector = FeedbackCollector(SQLiteStore(tmp_path / "x.db"), session_id="sess")
    collector.add_feedback("Was it good?", 'Yes, "very", good\nreally', 4.5, "line1\nline2", {"lang": "ko", "n": 2})
    collector.add_feedback("한국어 질문", "답변", 1)
    collector.add_quality_assessment(_qa(4, 3.5, 2.25, 3), query="q", response="r", source="judge")
    collector.record_performance(123.456, 77, 0.1 + 0.2, tool_calls=[ToolCallMetric(tool="a", duration_ms=1.5)])
    collector.record_performance(
        5000.0,
        prompt_tokens=10,
        completion_tokens=3,
        cached_tokens=7,
        success=False,
        error="timeout",
        tool_calls=[ToolCallMetric(tool="b", success=False, error="x"), ToolCallMetric(tool="a")],
    )
    collector.record_performance(1.0)
    return collector


def test_json_export_round_trip(tmp_path: Path) -> None:
    collector = _filled(tmp_path)
    path = collector.export_json(tmp_path / "out" / "feedback.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert (len(data["feedback"]), len(data["assessments"]), len(data["runs"])) == (2, 1, 3)
    back = read_json_export(path)
    snapshot = collector.snapshot()
    assert back.model_dump(exclude={"exported_at"}) == snapshot.model_dump(exclude={"exported_at"})


def test_csv_export_round_trip(tmp_path: Path) -> None:
    collector = _filled(tmp_path)
    files = collector.export_csv(tmp_path / "csv")
    assert sorted(f.name for f in files) == ["assessments.csv", "feedback.csv", "runs.csv", "tool_calls.csv"]
    assert len((tmp_path / "csv" / "tool_calls.csv").read_text(encoding="utf-8").strip().splitlines()) == 1 + 3
    back = read_csv_export(tmp_path / "csv")
    snapshot = collector.snapshot()
    assert back.feedback == snapshot.feedback
    assert back.assessments == snapshot.assessments
    assert back.runs == snapshot.runs
    with pytest.raises(InputError, match="missing"):
        read_csv_export(tmp_path / "nowhere")


def test_chart_without_matplotlib_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    collector = _filled(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # what an install without [plot] sees
    with pytest.raises(ConfigurationError, match=re.escape("pip install 'radixagent[plot]'")):
        collector.plot(tmp_path / "runs.png")
    assert not (tmp_path / "runs.png").exists()


def test_every_rule_reads_a_threshold_and_has_a_measure() -> None:
    thresholds = RecommendationThresholds()
    metrics = {"user_rating", "accuracy", "coherence", "completeness", "latency_ms_p95", "cache_hit_rate"}
    metrics |= {"success_rate", "tool_failure_rate"}
    assert {rule.metric for rule in RULES} == metrics
    for rule in RULES:
        assert rule.threshold(thresholds) in thresholds.model_dump().values()
    assert len({rule.code for rule in RULES}) == len(RULES)


def test_plot_writes_a_png_of_every_run(tmp_path: Path) -> None:
    collector = _filled(tmp_path)
    runs = collector.runs()
    figure = collector.build_figure()
    latency_ax, cache_ax = figure.axes
    assert list(latency_ax.lines[0].get_ydata()) == [r.latency_ms for r in runs]
    assert list(cache_ax.lines[0].get_ydata()) == [r.cache_hit_rate for r in runs]
    assert list(latency_ax.lines[0].get_xdata()) == [1, 2, 3]
    path = collector.plot(tmp_path / "charts" / "runs.png")
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", raw[16:24])
    assert (width, height) == (800, 500)
    assert raw.endswith(b"\x00\x00\x00\x00IEND\xaeB`\x82") and len(raw) > 1000
    from PIL import Image

    with Image.open(path) as image:
        image.verify()


# --- the judge ---------------------------------------------------------------------------

_GOOD = json.dumps(
    {
        "feedback_comment": "Correct and clear.",
        "accuracy_score": 5,
        "coherence_score": 4,
        "completeness_score": 4,
    }
)


def test_judge_schema_bounds_what_the_model_can_leave_open() -> None:
    schema = judge_schema(120)
    assert list(schema["properties"])[0] == "feedback_comment"
    assert schema["properties"]["feedback_comment"]["maxLength"] == 120
    assert "overall_score" not in schema["properties"]  # the mean of the three, not the model's word
    for name in ("accuracy_score", "coherence_score", "completeness_score"):
        assert schema["properties"][name] | {"description": ""} == {
            "type": "integer",
            "minimum": 0,
            "maximum": 5,
            "description": "",
        }
    assert set(schema["required"]) == set(QualityAssessment.model_fields) - {"overall_score"}


async def test_judge_returns_a_validated_assessment() -> None:
    engine = ScriptedEngine([_GOOD])
    judge = LLMJudge(engine)
    result = await judge.ajudge("What is 2+2?", "4")
    assert result.attempts == 1
    assert result.assessment == QualityAssessment(**json.loads(_GOOD), overall_score=4.3)  # (5 + 4 + 4) / 3
    assert result.usage.completion_tokens > 0
    prompt = engine.prompts[0]
    assert isinstance(prompt, list) and "What is 2+2?" in prompt[1].content and "4" in prompt[1].content


async def test_judge_retries_cut_off_and_invalid_output_with_the_problem_fed_back() -> None:
    cut = Completion(text='{"feedback_comment": "Correct and', finish_reason="length", usage=Usage(completion_tokens=8))
    garbage = Completion(text="not json at all", finish_reason="stop", usage=Usage(completion_tokens=4))
    engine = ScriptedEngine([cut, garbage, _GOOD])
    result = await LLMJudge(engine, max_attempts=3).ajudge("q", "a")
    assert result.attempts == 3
    assert result.usage.completion_tokens >= 12
    retry_prompt = engine.prompts[1]
    assert isinstance(retry_prompt, list)
    assert retry_prompt[-2].role == "assistant" and retry_prompt[-2].content == cut.text
    assert "cut off" in retry_prompt[-1].content and "Fix the errors" in retry_prompt[-1].content
    assert "Invalid JSON" in engine.prompts[2][-1].content  # type: ignore[index]


def test_judge_gives_up_after_its_attempts_with_a_typed_error() -> None:
    out_of_range = Completion(
        text=_GOOD.replace('"accuracy_score": 5', '"accuracy_score": 9'), finish_reason="stop", usage=Usage()
    )
    engine = ScriptedEngine([out_of_range, out_of_range])
    with pytest.raises(JudgeError) as info:
        LLMJudge(engine, max_attempts=2).assess("q", "a")
    assert info.value.attempts == 2 and len(info.value.errors) == 2
    assert "accuracy_score" in info.value.errors[0]
    with pytest.raises(InputError):
        LLMJudge(engine).assess("q", "  ")
    with pytest.raises(InputError):
        LLMJudge(engine, max_attempts=0)


def test_judge_assessment_goes_into_the_collector() -> None:
    collector = FeedbackCollector()
    judge = LLMJudge(ScriptedEngine([_GOOD]))
    collector.add_quality_assessment(judge.assess("q", "a"), query="q", response="a", source="judge")
    record = collector.quality_assessments()[0]
    assert record.source == "judge" and record.assessment.accuracy_score == 5


@pytest.mark.skipif(
    importlib.util.find_spec("radixagent.engine.embedded") is None,
    reason="radixagent.engine.embedded (the llama.cpp engine) is not in this build yet",
)
def test_judge_with_the_embedded_model(model_path: str) -> None:
    """One real judgement by SmolLM2-135M: whatever it thinks of the answer, the result is a
    valid QualityAssessment (constrained generation + validation + bounded retry)."""
    from radixagent.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine(model_path, slots=1, context_size=2048)
    try:
        result = LLMJudge(engine, max_tokens=120).judge("What is the capital of France?", "Paris.")
        # an answer in Korean, which the model copies into its comment: three byte tokens a
        # character, and the default budget still closes the object
        korean = LLMJudge(engine).judge("Translate 'Good night' into Korean.", "좋은 밤 되세요 좋은 밤")
    finally:
        engine.close()
    assert isinstance(result.assessment, QualityAssessment)
    assert 1 <= result.attempts <= 3
    assert result.usage.prompt_tokens > 0
    assert isinstance(korean.assessment, QualityAssessment)


def test_run_metrics_fill_totals() -> None:
    run = RunMetrics(latency_ms=1, prompt_tokens=10, completion_tokens=5, cached_tokens=5)
    assert run.total_tokens == 15 and run.cache_hit_rate == 0.5
