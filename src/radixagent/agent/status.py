"""An agent's status at a glance, typed."""

from __future__ import annotations

from pydantic import BaseModel

from radixagent.feedback import FeedbackSummary
from radixagent.memory import MemoryStatistics
from radixagent.recovery import (
    FailurePattern,
    RecoveryStats,
)
from radixagent.tools.execution import ExecutionStatistics


class FailureSummary(BaseModel):
    """The failures an agent logged: how many, of which kinds, and which keep repeating."""

    total: int
    by_type: dict[str, int]
    by_operation: dict[str, int]
    patterns: list[FailurePattern]


class AgentStatus(BaseModel):
    """Engine, tools, memory, failures and feedback at a glance."""

    engine: str
    registered_tools: list[str]
    memory_stats: MemoryStatistics
    tool_stats: ExecutionStatistics
    failures: FailureSummary
    engine_recovery: RecoveryStats | None = None
    feedback_summary: FeedbackSummary
