"""Feedback: ratings, quality assessments, run metrics, and what they say to improve.

An observer of runs, not a step of the agent loop: `FeedbackCollector.observe_run` takes each
finished `AgentResponse`.

    collector.py        FeedbackCollector: adds to a Store, observes runs, reports
    summary.py          AverageRatings, PerformanceSummary, MetricStats, ToolCallSummary, percentile
    recommendations.py  Recommendation: one Rule shape, the table RULES, recommend()
    export.py           FeedbackExport to JSON / CSV files and back
    chart.py            latency and cache hit rate per run (matplotlib: the `plot` extra)
    judge.py            LLMJudge: a model's QualityAssessment, constrained, validated, retried
"""

from radixagent.feedback.collector import FeedbackCollector, FeedbackSummary
from radixagent.feedback.export import FeedbackExport, read_csv_export, read_json_export
from radixagent.feedback.judge import JUDGE_INSTRUCTIONS, JudgeResult, LLMJudge, judge_schema
from radixagent.feedback.recommendations import RULES, Recommendation, RecommendationThresholds, Rule, recommend
from radixagent.feedback.summary import AverageRatings, MetricStats, PerformanceSummary, ToolCallSummary, percentile
from radixagent.memory.store import RunMetrics, ToolCallMetric

__all__ = [
    "JUDGE_INSTRUCTIONS",
    "RULES",
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
    "Rule",
    "RunMetrics",
    "ToolCallMetric",
    "ToolCallSummary",
    "judge_schema",
    "percentile",
    "read_csv_export",
    "read_json_export",
    "recommend",
]
