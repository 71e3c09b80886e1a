"""What the numbers say to improve (or keep): one rule shape, a table of rules.

A report is first read into `Measure`s (a metric's value, its sample count, and the words
that say where it comes from); each `Rule` compares the measures of its metric with one
threshold and, when the comparison holds, becomes a `Recommendation` that names the data
behind it. A new recommendation is a new row in `RULES` (and, for a new metric, a measure).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from radixagent.feedback.summary import QUALITY_AXES, AverageRatings, PerformanceSummary

__all__ = [
    "RULES",
    "Measure",
    "Recommendation",
    "RecommendationThresholds",
    "Rule",
    "measure",
    "recommend",
]

Severity = Literal["warning", "info"]
Comparison = Literal["<", ">", ">="]

_COMPARE: dict[Comparison, Callable[[float, float], bool]] = {"<": operator.lt, ">": operator.gt, ">=": operator.ge}


class Recommendation(BaseModel):
    """One thing to improve (or keep), and the stored data that says so."""

    code: str = Field(description="stable identifier, e.g. 'low_user_rating'")
    severity: Severity
    message: str
    evidence: str = Field(description="the numbers that triggered it")
    metric: str
    value: float
    threshold: float
    samples: int

    def __str__(self) -> str:
        return f"{self.message} ({self.evidence})"


class RecommendationThresholds(BaseModel):
    """Where a number turns into a recommendation."""

    min_user_rating: float = 3.0
    high_user_rating: float = 4.5
    min_quality_score: float = 3.5
    max_latency_p95_ms: float = 5000.0
    min_cache_hit_rate: float = 0.5
    good_cache_hit_rate: float = 0.8
    max_tool_failure_rate: float = 0.2
    min_tool_calls: int = Field(default=3, ge=1, description="calls a tool needs before its failure rate counts")
    min_success_rate: float = 0.9


@dataclass(frozen=True)
class Measure:
    """One number a rule can judge: `evidence` says what it is and over how much data."""

    metric: str
    value: float
    samples: int
    evidence: str
    subject: str = ""  # what it is about, when a metric has several (a tool's name)
    unit: str = ""  # after the threshold in the evidence, e.g. " ms"
    threshold_format: str = ""  # how the threshold is written, e.g. ".0f"


@dataclass(frozen=True)
class Rule:
    """`code` fires when a measure of `metric` compares (`compare`) true against `threshold`.
    `code` and `message` may name the measure's `{subject}`."""

    code: str
    severity: Severity
    metric: str
    compare: Comparison
    threshold: Callable[[RecommendationThresholds], float]
    message: str

    def apply(self, m: Measure, thresholds: RecommendationThresholds) -> Recommendation | None:
        limit = self.threshold(thresholds)
        if m.metric != self.metric or not _COMPARE[self.compare](m.value, limit):
            return None
        return Recommendation(
            code=self.code.format(subject=m.subject),
            severity=self.severity,
            message=self.message.format(subject=m.subject),
            evidence=f"{m.evidence} {self.compare} {limit:{m.threshold_format}}{m.unit}",
            metric=self.metric,
            value=m.value,
            threshold=limit,
            samples=m.samples,
        )


_QUALITY_ADVICE = {
    "accuracy": "Answers are judged inaccurate: use tools for facts and validate tool results.",
    "coherence": "Answers are judged incoherent: shorten the context (compact it) or use a stronger model.",
    "completeness": "Answers are judged incomplete: raise max_tokens or allow more agent steps.",
}

RULES: tuple[Rule, ...] = (
    Rule(
        "low_user_rating",
        "warning",
        "user_rating",
        "<",
        lambda t: t.min_user_rating,
        "Users rate the answers low: read the low-rated answers and improve the prompts, the tools or the model.",
    ),
    Rule(
        "high_user_rating",
        "info",
        "user_rating",
        ">=",
        lambda t: t.high_user_rating,
        "Users rate the answers highly: keep the current setup.",
    ),
    *(
        Rule(f"low_{axis}", "warning", axis, "<", lambda t: t.min_quality_score, _QUALITY_ADVICE[axis])
        for axis in QUALITY_AXES
    ),
    Rule(
        "high_latency",
        "warning",
        "latency_ms_p95",
        ">",
        lambda t: t.max_latency_p95_ms,
        "Runs are slow: keep prompts prefix-stable so the engine reuses its cache, lower max_tokens, "
        "or use a faster engine.",
    ),
    Rule(
        "low_cache_hit_rate",
        "warning",
        "cache_hit_rate",
        "<",
        lambda t: t.min_cache_hit_rate,
        "The engine recomputes most of each prompt: keep volatile text out of the system prompt and build "
        "each prompt as an exact extension of the previous one.",
    ),
    Rule(
        "good_cache_hit_rate",
        "info",
        "cache_hit_rate",
        ">",
        lambda t: t.good_cache_hit_rate,
        "The engine's prefix cache is working well.",
    ),
    Rule(
        "failing_runs",
        "warning",
        "success_rate",
        "<",
        lambda t: t.min_success_rate,
        "Runs fail: look at the recovery log for the errors behind them.",
    ),
    Rule(
        "failing_tool:{subject}",
        "warning",
        "tool_failure_rate",
        ">",
        lambda t: t.max_tool_failure_rate,
        "Tool {subject!r} fails often: check its argument schema and examples, and its timeout.",
    ),
)
"""Every recommendation, in the order they are reported."""


def measure(ratings: AverageRatings, perf: PerformanceSummary, thresholds: RecommendationThresholds) -> list[Measure]:
    """The numbers the rules judge, from the reports (a tool's failure rate only once it has
    `min_tool_calls` calls)."""
    out: list[Measure] = []
    if ratings.user_rating is not None:
        out.append(
            Measure(
                "user_rating",
                ratings.user_rating,
                ratings.ratings,
                f"mean user rating {ratings.user_rating:.2f} over {ratings.ratings} ratings",
            )
        )
    for axis in QUALITY_AXES:
        score: float | None = getattr(ratings, axis)
        if score is not None:
            evidence = f"mean {axis} score {score:.2f} over {ratings.assessments} assessments"
            out.append(Measure(axis, score, ratings.assessments, evidence))
    if perf.latency_ms is not None:
        p95, runs = perf.latency_ms.p95, perf.latency_ms.samples
        out.append(
            Measure(
                "latency_ms_p95",
                p95,
                runs,
                f"p95 latency {p95:.0f} ms over {runs} runs",
                unit=" ms",
                threshold_format=".0f",
            )
        )
    if perf.engine_cache_hit_rate is not None:
        rate = perf.engine_cache_hit_rate
        out.append(
            Measure(
                "cache_hit_rate", rate, perf.runs, f"engine cached / prompt tokens {rate:.2f} over {perf.runs} runs"
            )
        )
    elif perf.cache_hit_rate is not None:
        rate = perf.cache_hit_rate.mean
        out.append(
            Measure("cache_hit_rate", rate, perf.runs, f"mean per-run cache hit rate {rate:.2f} over {perf.runs} runs")
        )
    if perf.success_rate is not None:
        failed = round((1 - perf.success_rate) * perf.runs)
        evidence = f"{failed} of {perf.runs} runs failed: success rate {perf.success_rate:.2f}"
        out.append(Measure("success_rate", perf.success_rate, perf.runs, evidence))
    for tool in perf.tools:
        if tool.calls >= thresholds.min_tool_calls:
            evidence = (
                f"{tool.failures} of {tool.calls} calls of {tool.tool!r} failed: failure rate {tool.failure_rate:.2f}"
            )
            out.append(Measure("tool_failure_rate", tool.failure_rate, tool.calls, evidence, subject=tool.tool))
    return out


def recommend(
    ratings: AverageRatings,
    perf: PerformanceSummary,
    thresholds: RecommendationThresholds | None = None,
    rules: tuple[Rule, ...] = RULES,
) -> list[Recommendation]:
    """Every rule that holds for a measure, rule by rule."""
    thresholds = thresholds or RecommendationThresholds()
    measures = measure(ratings, perf, thresholds)
    return [rec for rule in rules for m in measures if (rec := rule.apply(m, thresholds)) is not None]
