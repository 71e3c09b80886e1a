"""`FeedbackCollector`: ratings, assessments and run metrics in a store, and the reports on them.

The collector observes runs; it is not a step of one. An agent hands it each finished run
through `observe_run` (an `on_run_end` observer: `Callable[[AgentResponse], object]`), and
people or a judge add ratings and assessments. Every number it reports is computed from
what is stored, and every recommendation names the data that triggered it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from radixagent.errors import InputError
from radixagent.feedback import chart
from radixagent.feedback.export import FeedbackExport, write_csv_export, write_json_export
from radixagent.feedback.recommendations import Recommendation, RecommendationThresholds, recommend
from radixagent.feedback.summary import AverageRatings, PerformanceSummary
from radixagent.memory.sqlite import SQLiteStore
from radixagent.memory.store import (
    AssessmentRecord,
    AssessmentSource,
    FeedbackRecord,
    RunMetrics,
    Store,
    ToolCallMetric,
)
from radixagent.schemas import AgentResponse, QualityAssessment

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FeedbackCollector", "FeedbackSummary"]


class FeedbackSummary(BaseModel):
    total_feedback_count: int
    quality_assessment_count: int
    run_count: int
    average_ratings: AverageRatings
    performance_summary: PerformanceSummary
    recommendations: list[Recommendation]


class FeedbackCollector:
    """Collects ratings, assessments and run metrics in a store and reports on them.

    `FeedbackCollector()` keeps its data in a throwaway in-memory database; pass the agent's
    store to keep it. With `session_id`, the collector tags what it adds with that session and
    reports on that session only; without, it reports on everything in the store."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        session_id: str | None = None,
        thresholds: RecommendationThresholds | None = None,
    ) -> None:
        self.store: Store = store if store is not None else SQLiteStore(":memory:")
        self.session_id = session_id
        self.thresholds = thresholds or RecommendationThresholds()

    # --- observing runs ------------------------------------------------------------------

    def observe_run(self, response: AgentResponse) -> RunMetrics:
        """The run observer: store the numbers of one finished run (its latency, the engine's
        token counts in `response.usage`, its tool calls, whether it succeeded). An `Agent`
        calls it when each run ends."""
        usage = response.usage
        return self.record_run(
            RunMetrics(
                session_id=response.session_id or self.session_id,
                latency_ms=response.latency_ms,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cached_tokens=usage.cached_tokens,
                total_tokens=response.total_tokens or usage.total_tokens,
                cache_hit_rate=response.cache_hit_rate if not usage.prompt_tokens else usage.cache_hit_rate,
                tool_calls=[
                    ToolCallMetric(tool=c.tool, success=c.error is None, duration_ms=c.duration_ms, error=c.error)
                    for c in response.tool_calls
                ],
                success=response.is_successful,
                error=response.error_message,
            )
        )

    def record_run(self, metrics: RunMetrics) -> RunMetrics:
        if metrics.session_id is None and self.session_id is not None:
            metrics = metrics.model_copy(update={"session_id": self.session_id})
        return self.store.add_run(metrics)

    def record_performance(
        self,
        response_time: float,
        token_usage: int = 0,
        cache_hit_rate: float = 0.0,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cached_tokens: int = 0,
        tool_calls: Sequence[ToolCallMetric] = (),
        success: bool = True,
        error: str | None = None,
    ) -> RunMetrics:
        """Store one run's numbers by hand (the tutorial's call): `response_time` in
        milliseconds, `token_usage` the run's total tokens, `cache_hit_rate` the engine's
        cached / prompt tokens (0-1)."""
        try:
            metrics = RunMetrics(
                session_id=self.session_id,
                latency_ms=response_time,
                total_tokens=token_usage,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cached_tokens=cached_tokens,
                cache_hit_rate=cache_hit_rate,
                tool_calls=list(tool_calls),
                success=success,
                error=error,
            )
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InputError(f"Invalid run metrics: {problems}.") from exc
        return self.store.add_run(metrics)

    # --- ratings and assessments ---------------------------------------------------------

    def add_feedback(
        self,
        query: str,
        response: str,
        rating: float,
        comment: str = "",
        metadata: dict[str, Any] | None = None,
        *,
        node_id: str | None = None,
    ) -> FeedbackRecord:
        """Store a user's rating of an answer: 1 (bad) to 5 (good), halves allowed."""
        if isinstance(rating, bool) or not isinstance(rating, int | float) or not 1 <= rating <= 5:
            raise InputError(f"A rating is a number from 1 to 5, not {rating!r}.")
        return self.store.add_feedback(
            FeedbackRecord(
                session_id=self.session_id,
                node_id=node_id,
                query=query,
                response=response,
                rating=float(rating),
                comment=comment,
                metadata=dict(metadata or {}),
            )
        )

    def add_quality_assessment(
        self,
        assessment: QualityAssessment,
        *,
        query: str = "",
        response: str = "",
        source: AssessmentSource = "human",
        node_id: str | None = None,
    ) -> AssessmentRecord:
        return self.store.add_assessment(
            AssessmentRecord(
                session_id=self.session_id,
                node_id=node_id,
                query=query,
                response=response,
                assessment=assessment,
                source=source,
            )
        )

    # --- reading -------------------------------------------------------------------------

    def feedback_records(self) -> list[FeedbackRecord]:
        return self.store.list_feedback(self.session_id)

    def quality_assessments(self) -> list[AssessmentRecord]:
        return self.store.list_assessments(self.session_id)

    def runs(self) -> list[RunMetrics]:
        return self.store.list_runs(self.session_id)

    def get_average_ratings(self) -> AverageRatings:
        return AverageRatings.of(self.feedback_records(), self.quality_assessments())

    def get_performance_summary(self) -> PerformanceSummary:
        return PerformanceSummary.of(self.runs())

    def generate_improvement_recommendations(self) -> list[Recommendation]:
        """What the stored data says to improve (warnings) or keep (info), each with the
        numbers that triggered it (see `radixagent.feedback.recommendations.RULES`)."""
        return recommend(self.get_average_ratings(), self.get_performance_summary(), self.thresholds)

    def get_feedback_summary(self) -> FeedbackSummary:
        feedback, assessments, runs = self.feedback_records(), self.quality_assessments(), self.runs()
        ratings, perf = AverageRatings.of(feedback, assessments), PerformanceSummary.of(runs)
        return FeedbackSummary(
            total_feedback_count=len(feedback),
            quality_assessment_count=len(assessments),
            run_count=len(runs),
            average_ratings=ratings,
            performance_summary=perf,
            recommendations=recommend(ratings, perf, self.thresholds),
        )

    # --- export and chart ----------------------------------------------------------------

    def snapshot(self) -> FeedbackExport:
        return FeedbackExport(
            feedback=self.feedback_records(), assessments=self.quality_assessments(), runs=self.runs()
        )

    def export_json(self, path: str | Path) -> Path:
        """Write everything to one JSON file (read it back with `read_json_export`)."""
        return write_json_export(self.snapshot(), path)

    def export_csv(self, directory: str | Path) -> list[Path]:
        """Write one CSV file per table into `directory` (feedback, assessments, runs,
        tool_calls); read them back with `read_csv_export`."""
        return write_csv_export(self.snapshot(), directory)

    def build_figure(self) -> Figure:
        """A chart of latency and cache hit rate per run (needs the `plot` extra)."""
        return chart.build_figure(self.runs())

    def plot(self, path: str | Path) -> Path:
        """Save `build_figure()` as a PNG file (needs the `plot` extra)."""
        return chart.save_png(self.runs(), path)
