"""Feedback: ratings, quality assessments, run metrics, and what they say to improve.

`FeedbackCollector` is the tutorial's collector, persisted in a `Store`: every number it
reports is computed from what is stored, and every recommendation names the data that
triggered it. `LLMJudge` produces a `QualityAssessment` with a model, generated under the
assessment's JSON schema so it is well-formed by construction, validated, and retried
(with the problem fed back) when the output is cut short or out of range.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from radixagent.engine.base import Engine
from radixagent.engine.types import ChatMessage, JsonSchemaConstraint, SamplingParams, Usage
from radixagent.errors import InputError, JudgeError
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

logger = logging.getLogger(__name__)

__all__ = [
    "AverageRatings",
    "FeedbackCollector",
    "FeedbackExport",
    "FeedbackSummary",
    "JudgeResult",
    "LLMJudge",
    "MetricStats",
    "PerformanceSummary",
    "Recommendation",
    "RecommendationThresholds",
    "RunMetrics",
    "ToolCallMetric",
    "ToolStats",
    "read_csv_export",
    "read_json_export",
]


# --- reports -----------------------------------------------------------------------------


class AverageRatings(BaseModel):
    """Mean user rating (1-5) and mean assessment scores (0-5); None where nothing is stored."""

    user_rating: float | None = None
    ratings: int = 0
    accuracy: float | None = None
    coherence: float | None = None
    completeness: float | None = None
    overall: float | None = None
    assessments: int = 0


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


class ToolStats(BaseModel):
    tool: str
    calls: int
    failures: int
    failure_rate: float
    mean_duration_ms: float


class PerformanceSummary(BaseModel):
    runs: int = 0
    latency_ms: MetricStats | None = None
    total_tokens: MetricStats | None = None
    cache_hit_rate: MetricStats | None = Field(default=None, description="per-run cache hit rates")
    engine_cache_hit_rate: float | None = Field(
        default=None, description="cached / prompt tokens summed over the runs that report tokens"
    )
    success_rate: float | None = None
    tools: list[ToolStats] = Field(default_factory=list)


class Recommendation(BaseModel):
    """One thing to improve (or keep), and the stored data that says so."""

    code: str = Field(description="stable identifier, e.g. 'low_user_rating'")
    severity: Literal["warning", "info"]
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


class FeedbackSummary(BaseModel):
    total_feedback_count: int
    quality_assessment_count: int
    run_count: int
    average_ratings: AverageRatings
    performance_summary: PerformanceSummary
    recommendations: list[Recommendation]


class FeedbackExport(BaseModel):
    """Everything a collector sees, as exported to JSON or CSV."""

    version: int = 1
    exported_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    feedback: list[FeedbackRecord] = Field(default_factory=list)
    assessments: list[AssessmentRecord] = Field(default_factory=list)
    runs: list[RunMetrics] = Field(default_factory=list)


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


# --- the collector -----------------------------------------------------------------------


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

    # --- adding --------------------------------------------------------------------------

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
        """Store one run's numbers: `response_time` in milliseconds, `token_usage` the run's
        total tokens, `cache_hit_rate` the engine's cached / prompt tokens (0-1)."""
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

    def record_run(self, metrics: RunMetrics) -> RunMetrics:
        if metrics.session_id is None and self.session_id is not None:
            metrics = metrics.model_copy(update={"session_id": self.session_id})
        return self.store.add_run(metrics)

    def record_response(self, response: AgentResponse, usage: Usage | None = None) -> RunMetrics:
        """Store the numbers of an agent's `AgentResponse` (and its summed engine `usage`)."""
        usage = usage or Usage()
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

    # --- reading -------------------------------------------------------------------------

    def feedback_records(self) -> list[FeedbackRecord]:
        return self.store.list_feedback(self.session_id)

    def quality_assessments(self) -> list[AssessmentRecord]:
        return self.store.list_assessments(self.session_id)

    def runs(self) -> list[RunMetrics]:
        return self.store.list_runs(self.session_id)

    def get_average_ratings(self) -> AverageRatings:
        ratings = [f.rating for f in self.feedback_records()]
        assessed = [a.assessment for a in self.quality_assessments()]
        return AverageRatings(
            user_rating=_mean(ratings),
            ratings=len(ratings),
            accuracy=_mean(a.accuracy_score for a in assessed),
            coherence=_mean(a.coherence_score for a in assessed),
            completeness=_mean(a.completeness_score for a in assessed),
            overall=_mean(a.overall_score for a in assessed),
            assessments=len(assessed),
        )

    def get_performance_summary(self) -> PerformanceSummary:
        return self._performance(self.runs())

    @staticmethod
    def _performance(runs: Sequence[RunMetrics]) -> PerformanceSummary:
        if not runs:
            return PerformanceSummary()
        with_tokens = [r for r in runs if r.prompt_tokens > 0]
        prompt = sum(r.prompt_tokens for r in with_tokens)
        per_tool: dict[str, list[ToolCallMetric]] = {}
        for run in runs:
            for call in run.tool_calls:
                per_tool.setdefault(call.tool, []).append(call)
        tools = [
            ToolStats(
                tool=name,
                calls=len(calls),
                failures=sum(not c.success for c in calls),
                failure_rate=sum(not c.success for c in calls) / len(calls),
                mean_duration_ms=sum(c.duration_ms for c in calls) / len(calls),
            )
            for name, calls in sorted(per_tool.items())
        ]
        return PerformanceSummary(
            runs=len(runs),
            latency_ms=MetricStats.of([r.latency_ms for r in runs]),
            total_tokens=MetricStats.of([float(r.total_tokens) for r in runs]),
            cache_hit_rate=MetricStats.of([r.cache_hit_rate for r in runs]),
            engine_cache_hit_rate=sum(r.cached_tokens for r in with_tokens) / prompt if prompt else None,
            success_rate=sum(r.success for r in runs) / len(runs),
            tools=tools,
        )

    def generate_improvement_recommendations(self) -> list[Recommendation]:
        """What the stored data says to improve (warnings) or keep (info), each with the
        numbers that triggered it."""
        t = self.thresholds
        ratings = self.get_average_ratings()
        perf = self.get_performance_summary()
        out: list[Recommendation] = []

        if ratings.user_rating is not None:
            evidence = f"mean user rating {ratings.user_rating:.2f} over {ratings.ratings} ratings"
            if ratings.user_rating < t.min_user_rating:
                out.append(
                    Recommendation(
                        code="low_user_rating",
                        severity="warning",
                        message="Users rate the answers low: read the low-rated answers and improve the prompts, "
                        "the tools or the model.",
                        metric="user_rating",
                        value=ratings.user_rating,
                        threshold=t.min_user_rating,
                        samples=ratings.ratings,
                        evidence=f"{evidence} < {t.min_user_rating}",
                    )
                )
            elif ratings.user_rating >= t.high_user_rating:
                out.append(
                    Recommendation(
                        code="high_user_rating",
                        severity="info",
                        message="Users rate the answers highly: keep the current setup.",
                        metric="user_rating",
                        value=ratings.user_rating,
                        threshold=t.high_user_rating,
                        samples=ratings.ratings,
                        evidence=f"{evidence} >= {t.high_user_rating}",
                    )
                )

        advice = {
            "accuracy": "Answers are judged inaccurate: use tools for facts and validate tool results.",
            "coherence": "Answers are judged incoherent: shorten the context (compact it) or use a stronger model.",
            "completeness": "Answers are judged incomplete: raise max_tokens or allow more agent steps.",
        }
        for axis, message in advice.items():
            score = getattr(ratings, axis)
            if score is not None and score < t.min_quality_score:
                out.append(
                    Recommendation(
                        code=f"low_{axis}",
                        severity="warning",
                        message=message,
                        metric=axis,
                        value=score,
                        threshold=t.min_quality_score,
                        samples=ratings.assessments,
                        evidence=f"mean {axis} score {score:.2f} over {ratings.assessments} assessments "
                        f"< {t.min_quality_score}",
                    )
                )

        latency = perf.latency_ms
        if latency is not None and latency.p95 > t.max_latency_p95_ms:
            out.append(
                Recommendation(
                    code="high_latency",
                    severity="warning",
                    message="Runs are slow: keep prompts prefix-stable so the engine reuses its cache, lower "
                    "max_tokens, or use a faster engine.",
                    metric="latency_ms_p95",
                    value=latency.p95,
                    threshold=t.max_latency_p95_ms,
                    samples=latency.samples,
                    evidence=f"p95 latency {latency.p95:.0f} ms over {latency.samples} runs "
                    f"> {t.max_latency_p95_ms:.0f} ms",
                )
            )

        if perf.runs:
            if perf.engine_cache_hit_rate is not None:
                rate, source = perf.engine_cache_hit_rate, "engine cached / prompt tokens"
            else:
                assert perf.cache_hit_rate is not None
                rate, source = perf.cache_hit_rate.mean, "mean per-run cache hit rate"
            evidence = f"{source} {rate:.2f} over {perf.runs} runs"
            if rate < t.min_cache_hit_rate:
                out.append(
                    Recommendation(
                        code="low_cache_hit_rate",
                        severity="warning",
                        message="The engine recomputes most of each prompt: keep volatile text out of the system "
                        "prompt and build each prompt as an exact extension of the previous one.",
                        metric="cache_hit_rate",
                        value=rate,
                        threshold=t.min_cache_hit_rate,
                        samples=perf.runs,
                        evidence=f"{evidence} < {t.min_cache_hit_rate}",
                    )
                )
            elif rate > t.good_cache_hit_rate:
                out.append(
                    Recommendation(
                        code="good_cache_hit_rate",
                        severity="info",
                        message="The engine's prefix cache is working well.",
                        metric="cache_hit_rate",
                        value=rate,
                        threshold=t.good_cache_hit_rate,
                        samples=perf.runs,
                        evidence=f"{evidence} > {t.good_cache_hit_rate}",
                    )
                )

        if perf.success_rate is not None and perf.success_rate < t.min_success_rate:
            failed = round((1 - perf.success_rate) * perf.runs)
            out.append(
                Recommendation(
                    code="failing_runs",
                    severity="warning",
                    message="Runs fail: look at the recovery log for the errors behind them.",
                    metric="success_rate",
                    value=perf.success_rate,
                    threshold=t.min_success_rate,
                    samples=perf.runs,
                    evidence=f"{failed} of {perf.runs} runs failed (success rate {perf.success_rate:.2f} "
                    f"< {t.min_success_rate})",
                )
            )

        for tool in perf.tools:
            if tool.calls >= t.min_tool_calls and tool.failure_rate > t.max_tool_failure_rate:
                out.append(
                    Recommendation(
                        code=f"failing_tool:{tool.tool}",
                        severity="warning",
                        message=f"Tool {tool.tool!r} fails often: check its argument schema and examples, "
                        "and its timeout.",
                        metric="tool_failure_rate",
                        value=tool.failure_rate,
                        threshold=t.max_tool_failure_rate,
                        samples=tool.calls,
                        evidence=f"{tool.failures} of {tool.calls} calls of {tool.tool!r} failed "
                        f"(failure rate {tool.failure_rate:.2f} > {t.max_tool_failure_rate})",
                    )
                )
        return out

    def get_feedback_summary(self) -> FeedbackSummary:
        return FeedbackSummary(
            total_feedback_count=len(self.feedback_records()),
            quality_assessment_count=len(self.quality_assessments()),
            run_count=len(self.runs()),
            average_ratings=self.get_average_ratings(),
            performance_summary=self.get_performance_summary(),
            recommendations=self.generate_improvement_recommendations(),
        )

    # --- export --------------------------------------------------------------------------

    def snapshot(self) -> FeedbackExport:
        return FeedbackExport(
            feedback=self.feedback_records(), assessments=self.quality_assessments(), runs=self.runs()
        )

    def export_json(self, path: str | Path) -> Path:
        """Write everything to one JSON file (read it back with `read_json_export`)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.snapshot().model_dump_json(indent=2), encoding="utf-8")
        return target

    def export_csv(self, directory: str | Path) -> list[Path]:
        """Write one CSV file per table into `directory` (feedback, assessments, runs,
        tool_calls); read them back with `read_csv_export`."""
        target = Path(directory)
        if target.exists() and not target.is_dir():
            raise InputError(f"{target} is a file: export_csv writes several files, give it a directory.")
        target.mkdir(parents=True, exist_ok=True)
        data = self.snapshot()
        tables: dict[str, tuple[list[str], list[dict[str, Any]]]] = {
            "feedback": (_FEEDBACK_COLUMNS, [_flat_feedback(f) for f in data.feedback]),
            "assessments": (_ASSESSMENT_COLUMNS, [_flat_assessment(a) for a in data.assessments]),
            "runs": (_RUN_COLUMNS, [_flat_run(r) for r in data.runs]),
            "tool_calls": (
                _TOOL_CALL_COLUMNS,
                [_flat_tool_call(r.id, i, c) for r in data.runs for i, c in enumerate(r.tool_calls)],
            ),
        }
        written = []
        for name, (columns, rows) in tables.items():
            file = target / f"{name}.csv"
            with file.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
            written.append(file)
        return written

    # --- chart ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        """A chart of latency and cache hit rate per run (matplotlib, no global state)."""
        runs = self.runs()
        if not runs:
            raise InputError("No runs are recorded yet: record_performance() first, then plot.")
        from matplotlib.figure import Figure

        x = list(range(1, len(runs) + 1))
        figure = Figure(figsize=(8, 5), dpi=100)
        latency_ax, cache_ax = figure.subplots(2, 1, sharex=True)
        latency_ax.plot(x, [r.latency_ms for r in runs], marker="o", color="tab:blue", label="latency")
        latency_ax.set_ylabel("latency (ms)")
        latency_ax.set_title(f"Agent runs ({len(runs)})")
        latency_ax.grid(True, alpha=0.3)
        cache_ax.plot(x, [r.cache_hit_rate for r in runs], marker="o", color="tab:green", label="cache hit rate")
        cache_ax.set_ylim(-0.02, 1.02)
        cache_ax.set_ylabel("cache hit rate")
        cache_ax.set_xlabel("run")
        cache_ax.grid(True, alpha=0.3)
        figure.tight_layout()
        return figure

    def plot(self, path: str | Path) -> Path:
        """Save `build_figure()` as a PNG file."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        figure = self.build_figure()
        FigureCanvasAgg(figure).print_png(str(target))
        return target


# --- CSV <-> records ---------------------------------------------------------------------

_FEEDBACK_COLUMNS = ["id", "session_id", "node_id", "query", "response", "rating", "comment", "metadata", "at"]
_ASSESSMENT_COLUMNS = [
    "id",
    "session_id",
    "node_id",
    "query",
    "response",
    "accuracy_score",
    "coherence_score",
    "completeness_score",
    "overall_score",
    "feedback_comment",
    "source",
    "at",
]
_RUN_COLUMNS = [
    "id",
    "session_id",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "total_tokens",
    "cache_hit_rate",
    "success",
    "error",
    "at",
]
_TOOL_CALL_COLUMNS = ["run_id", "position", "tool", "success", "duration_ms", "error"]


def _cell(value: Any) -> str:
    """CSV text for a value: None is empty, floats keep every digit, datetimes are ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _flat_feedback(f: FeedbackRecord) -> dict[str, str]:
    row = {c: _cell(getattr(f, c)) for c in _FEEDBACK_COLUMNS if c != "metadata"}
    return row | {"metadata": json.dumps(f.metadata, ensure_ascii=False)}


def _flat_assessment(a: AssessmentRecord) -> dict[str, str]:
    scores = a.assessment.model_dump()
    return {c: _cell(scores[c] if c in scores else getattr(a, c)) for c in _ASSESSMENT_COLUMNS}


def _flat_run(r: RunMetrics) -> dict[str, str]:
    return {c: _cell(getattr(r, c)) for c in _RUN_COLUMNS}


def _flat_tool_call(run_id: int | None, position: int, c: ToolCallMetric) -> dict[str, str]:
    return {
        "run_id": _cell(run_id),
        "position": str(position),
        "tool": c.tool,
        "success": _cell(c.success),
        "duration_ms": _cell(c.duration_ms),
        "error": _cell(c.error),
    }


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(f"{path} is missing: read_csv_export needs the directory export_csv wrote.")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _optional(row: dict[str, str], *columns: str) -> dict[str, Any]:
    return {k: (None if k in columns and v == "" else v) for k, v in row.items()}


def read_json_export(path: str | Path) -> FeedbackExport:
    """Read a file written by `FeedbackCollector.export_json`."""
    try:
        return FeedbackExport.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise InputError(f"{path} is not a radixagent feedback export: {exc}") from exc


def read_csv_export(directory: str | Path) -> FeedbackExport:
    """Read the files written by `FeedbackCollector.export_csv`."""
    base = Path(directory)
    try:
        calls: dict[str, list[tuple[int, ToolCallMetric]]] = {}
        for row in _rows(base / "tool_calls.csv"):
            metric = ToolCallMetric.model_validate(_optional(row, "error"))
            calls.setdefault(row["run_id"], []).append((int(row["position"]), metric))
        feedback = [
            FeedbackRecord.model_validate(
                _optional(row, "id", "session_id", "node_id") | {"metadata": json.loads(row["metadata"])}
            )
            for row in _rows(base / "feedback.csv")
        ]
        assessments = []
        for row in _rows(base / "assessments.csv"):
            fields = _optional(row, "id", "session_id", "node_id")
            scores = {k: fields.pop(k) for k in QualityAssessment.model_fields}
            assessments.append(AssessmentRecord.model_validate(fields | {"assessment": scores}))
        runs = [
            RunMetrics.model_validate(
                _optional(row, "id", "session_id", "error")
                | {"tool_calls": [m for _, m in sorted(calls.get(row["id"], []), key=lambda p: p[0])]}
            )
            for row in _rows(base / "runs.csv")
        ]
    except (ValidationError, ValueError, KeyError) as exc:
        raise InputError(f"{base} does not hold a readable radixagent CSV export: {exc}") from exc
    return FeedbackExport(feedback=feedback, assessments=assessments, runs=runs)


# --- the judge ---------------------------------------------------------------------------

JUDGE_INSTRUCTIONS = (
    "You are a strict judge of answers. Rate the answer to the question from 0 (worst) to 5 (best) "
    "on accuracy (is it correct?), coherence (is it clear and consistent?), completeness (does it "
    "answer all of the question?) and overall. First write a one-sentence comment, then the scores. "
    "Reply with the JSON object only.\n\n"
    # Two worked examples: SmolLM2-135M scored every answer 0 without them, and told
    # "Paris" from "Berlin" for the capital of France with them (small models need the shape shown).
    "Example. Question: What is 3 + 4? Answer: 7.\n"
    '{"feedback_comment": "Correct, clear and complete.", "accuracy_score": 5, "coherence_score": 5, '
    '"completeness_score": 5, "overall_score": 5}\n\n'
    "Example. Question: Which planet is the largest? Answer: Mars.\n"
    '{"feedback_comment": "Wrong: the largest planet is Jupiter.", "accuracy_score": 0, "coherence_score": 4, '
    '"completeness_score": 2, "overall_score": 1}'
)


class JudgeResult(BaseModel):
    """An assessment with what it cost."""

    assessment: QualityAssessment
    attempts: int
    usage: Usage
    raw: str = Field(description="the accepted output, as generated")


def judge_schema(comment_max_length: int = 200) -> dict[str, Any]:
    """QualityAssessment's JSON schema as the judge generates under it: the comment first (the
    judge explains, then scores), scores as integers 0-5 (llama.cpp grammars enforce integer
    ranges but not number ranges), the comment bounded so the object always closes."""
    source = QualityAssessment.model_json_schema()["properties"]
    order = ["feedback_comment", "accuracy_score", "coherence_score", "completeness_score", "overall_score"]
    properties: dict[str, Any] = {}
    for name in order:
        spec = {k: v for k, v in source[name].items() if k != "title"}
        if name == "feedback_comment":
            spec |= {"type": "string", "minLength": 1, "maxLength": comment_max_length}
        else:
            spec |= {"type": "integer", "minimum": int(spec["minimum"]), "maximum": int(spec["maximum"])}
        properties[name] = spec
    return {"type": "object", "properties": properties, "required": order, "additionalProperties": False}


class LLMJudge:
    """Assess answers with a model: constrained to QualityAssessment's schema, validated,
    retried with the problem fed back when the output is unusable."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_attempts: int = 3,
        max_tokens: int = 160,
        comment_max_length: int = 200,
        instructions: str = JUDGE_INSTRUCTIONS,
    ) -> None:
        if max_attempts < 1:
            raise InputError(f"max_attempts must be at least 1, not {max_attempts}.")
        self.engine = engine
        self.max_attempts = max_attempts
        self.instructions = instructions
        self.constraint = JsonSchemaConstraint(json_schema=judge_schema(comment_max_length))
        self.sampling = SamplingParams(max_tokens=max_tokens, temperature=0.0)

    def _prompt(self, query: str, answer: str, reference: str | None) -> list[ChatMessage]:
        text = f"Question:\n{query}\n\nAnswer:\n{answer}\n"
        if reference:
            text += f"\nA correct reference answer:\n{reference}\n"
        return [ChatMessage(role="system", content=self.instructions), ChatMessage(role="user", content=text)]

    async def ajudge(self, query: str, answer: str, *, reference: str | None = None) -> JudgeResult:
        if not answer.strip():
            raise InputError("There is no answer to judge: the answer is empty.")
        prompt = self._prompt(query, answer, reference)
        usage = Usage()
        errors: list[str] = []
        for attempt in range(1, self.max_attempts + 1):
            completion = await self.engine.generate(prompt, constraint=self.constraint, sampling=self.sampling)
            usage = usage + completion.usage
            problem = self._problem(completion.text, completion.finish_reason)
            if problem is None:
                assessment = QualityAssessment.model_validate_json(completion.text)
                return JudgeResult(assessment=assessment, attempts=attempt, usage=usage, raw=completion.text)
            logger.info("judge attempt %d/%d gave no valid assessment: %s", attempt, self.max_attempts, problem)
            errors.append(problem)
            prompt = [
                *prompt,
                ChatMessage(role="assistant", content=completion.text),
                ChatMessage(
                    role="user",
                    content=f"That is not a valid assessment: {problem}. Fix the errors and reply again "
                    "with the JSON object only.",
                ),
            ]
        raise JudgeError(self.max_attempts, errors)

    @staticmethod
    def _problem(text: str, finish_reason: str) -> str | None:
        if finish_reason == "length":
            return "the output was cut off before the JSON object closed"
        try:
            QualityAssessment.model_validate_json(text)
        except ValidationError as exc:
            return "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
        return None

    async def aassess(self, query: str, answer: str, *, reference: str | None = None) -> QualityAssessment:
        return (await self.ajudge(query, answer, reference=reference)).assessment

    def judge(self, query: str, answer: str, *, reference: str | None = None) -> JudgeResult:
        from radixagent.engine._portal import run_sync

        return run_sync(self.ajudge(query, answer, reference=reference))

    def assess(self, query: str, answer: str, *, reference: str | None = None) -> QualityAssessment:
        return self.judge(query, answer, reference=reference).assessment
