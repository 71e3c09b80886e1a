"""What stored ratings, assessments and runs add up to: means, percentiles, per-tool counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, Field

from radixagent.errors import InputError
from radixagent.memory.store import AssessmentRecord, FeedbackRecord, RunMetrics, ToolCallMetric

__all__ = [
    "QUALITY_AXES",
    "AverageRatings",
    "MetricStats",
    "PerformanceSummary",
    "ToolCallSummary",
    "percentile",
]

QUALITY_AXES = ("accuracy", "coherence", "completeness")
"""The assessment scores that each say something to improve (`overall` sums them up)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile with linear interpolation between ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise InputError("percentile() of no values.")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


class AverageRatings(BaseModel):
    """Mean user rating (1-5) and mean assessment scores (0-5); None where nothing is stored."""

    user_rating: float | None = None
    ratings: int = 0
    accuracy: float | None = None
    coherence: float | None = None
    completeness: float | None = None
    overall: float | None = None
    assessments: int = 0

    @classmethod
    def of(cls, feedback: Sequence[FeedbackRecord], assessments: Sequence[AssessmentRecord]) -> AverageRatings:
        assessed = [a.assessment for a in assessments]
        return cls(
            user_rating=_mean(f.rating for f in feedback),
            ratings=len(feedback),
            accuracy=_mean(a.accuracy_score for a in assessed),
            coherence=_mean(a.coherence_score for a in assessed),
            completeness=_mean(a.completeness_score for a in assessed),
            overall=_mean(a.overall_score for a in assessed),
            assessments=len(assessed),
        )


class MetricStats(BaseModel):
    """One metric over runs."""

    samples: int
    mean: float
    min: float
    max: float
    p50: float
    p95: float

    @classmethod
    def of(cls, values: Sequence[float]) -> MetricStats | None:
        if not values:
            return None
        return cls(
            samples=len(values),
            mean=sum(values) / len(values),
            min=min(values),
            max=max(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
        )


class ToolCallSummary(BaseModel):
    """One tool's calls over the stored runs (every session the collector reports on).

    Not `radixagent.tools.ToolStats`: that one counts what one executor ran since it started,
    live; this one is read back from the store, so it spans restarts and processes."""

    tool: str
    calls: int
    failures: int
    failure_rate: float
    mean_duration_ms: float

    @classmethod
    def of(cls, tool: str, calls: Sequence[ToolCallMetric]) -> ToolCallSummary:
        failures = sum(not c.success for c in calls)
        return cls(
            tool=tool,
            calls=len(calls),
            failures=failures,
            failure_rate=failures / len(calls),
            mean_duration_ms=sum(c.duration_ms for c in calls) / len(calls),
        )


class PerformanceSummary(BaseModel):
    runs: int = 0
    latency_ms: MetricStats | None = None
    total_tokens: MetricStats | None = None
    cache_hit_rate: MetricStats | None = Field(default=None, description="per-run cache hit rates")
    engine_cache_hit_rate: float | None = Field(
        default=None, description="cached / prompt tokens summed over the runs that report tokens"
    )
    success_rate: float | None = None
    tools: list[ToolCallSummary] = Field(default_factory=list)

    @classmethod
    def of(cls, runs: Sequence[RunMetrics]) -> PerformanceSummary:
        if not runs:
            return cls()
        with_tokens = [r for r in runs if r.prompt_tokens > 0]
        prompt = sum(r.prompt_tokens for r in with_tokens)
        per_tool: dict[str, list[ToolCallMetric]] = {}
        for run in runs:
            for call in run.tool_calls:
                per_tool.setdefault(call.tool, []).append(call)
        return cls(
            runs=len(runs),
            latency_ms=MetricStats.of([r.latency_ms for r in runs]),
            total_tokens=MetricStats.of([float(r.total_tokens) for r in runs]),
            cache_hit_rate=MetricStats.of([r.cache_hit_rate for r in runs]),
            engine_cache_hit_rate=sum(r.cached_tokens for r in with_tokens) / prompt if prompt else None,
            success_rate=sum(r.success for r in runs) / len(runs),
            tools=[ToolCallSummary.of(name, calls) for name, calls in sorted(per_tool.items())],
        )
