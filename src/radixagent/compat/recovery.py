"""The tutorial's recovery helper, `AdaptiveRecovery`, on the core's failure log.

The core recovers on its own (`radixagent.recovery`: retries with jitter, a circuit breaker,
a fallback engine, repair budgets); this keeps the tutorial's per-operation retry counters
and its statistics, reading the failures an agent logs.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from radixagent.errors import ConfigurationError
from radixagent.recovery import FailureLog, FailurePattern, FailureRecord

__all__ = ["AdaptiveRecovery", "RecoveryStatistics"]


class RecoveryStatistics(BaseModel):
    total_failures: int
    error_distribution: dict[str, int]
    failures_by_operation: dict[str, int]
    most_common_patterns: list[FailurePattern]
    active_retries: int
    operations_in_retry: list[str]
    total_retries: int
    retried_operations_finished: int
    retried_operations_succeeded: int
    retry_success_rate: float | None
    """Of the operations that were retried and have finished, the share that succeeded (None before any)."""


_FALLBACKS = {
    "generation_error": "Retry with a simpler, shorter prompt, or switch to the fallback engine.",
    "validation_error": "Show the model the validation errors and generate again under the schema.",
    "tool_execution_error": "Use another tool, or answer without the tool and say it failed.",
    "timeout_error": "Lower max_tokens (or the tool's work) and retry.",
    "parsing_error": "Generate under a JSON schema constraint so the output always parses.",
}

_RECOVERY_PROMPTS = {
    "generation_error": "The previous attempt failed. Give a simpler, clearer answer.",
    "validation_error": "The previous answer did not have the required format. Answer again in exactly that format.",
    "tool_execution_error": "The tool failed. Answer directly, without the tool.",
    "timeout_error": "The previous answer was too long. Answer in at most 50 words.",
    "parsing_error": "The previous answer could not be read. Answer with one JSON object only.",
}


class AdaptiveRecovery:
    """The tutorial's recovery helper: per-operation retry counts with exponential delays,
    and statistics and insights computed from the failures actually logged."""

    def __init__(
        self,
        max_retries: int = 3,
        backoff_factor: float = 1.5,
        *,
        max_delay_s: float = 60.0,
        log: FailureLog | None = None,
    ) -> None:
        if max_retries < 0 or backoff_factor < 1.0:
            raise ConfigurationError("max_retries must be >= 0 and backoff_factor >= 1.")
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.max_delay_s = max_delay_s
        self.log = log if log is not None else FailureLog()
        self.retry_counts: dict[str, int] = {}
        self.total_retries = 0
        self.retried_finished = 0
        self.retried_succeeded = 0
        self._lock = threading.Lock()

    @property
    def failure_log(self) -> list[FailureRecord]:
        """The tutorial's attribute: the logged failures, oldest first."""
        return self.log.records

    def log_failure(
        self, operation_id: str, error_type: str, error_message: str, context: Mapping[str, Any] | None = None
    ) -> FailureRecord:
        return self.log.add(operation_id, error_type, error_message, context)

    def log_exception(self, operation_id: str, exc: BaseException, context: Mapping[str, Any] | None = None) -> FailureRecord:
        return self.log.add_exception(operation_id, exc, context)

    def should_retry(self, operation_id: str) -> bool:
        return self.retry_counts.get(operation_id, 0) < self.max_retries

    def get_retry_delay(self, operation_id: str) -> float:
        """backoff_factor ** retries so far, capped at max_delay_s."""
        return min(self.backoff_factor ** self.retry_counts.get(operation_id, 0), self.max_delay_s)

    def record_retry(self, operation_id: str) -> int:
        with self._lock:
            self.retry_counts[operation_id] = self.retry_counts.get(operation_id, 0) + 1
            self.total_retries += 1
            return self.retry_counts[operation_id]

    def reset_operation(self, operation_id: str, succeeded: bool = True) -> None:
        """The operation is over (the tutorial calls this on success; pass succeeded=False when
        giving up), so its retries count towards the retry success rate."""
        with self._lock:
            retries = self.retry_counts.pop(operation_id, 0)
            if retries:
                self.retried_finished += 1
                if succeeded:
                    self.retried_succeeded += 1

    def get_fallback_strategy(self, error_type: str) -> str:
        return _FALLBACKS.get(error_type, "Report the error to the user and stop retrying.")

    def generate_recovery_prompt(self, error_type: str, original_prompt: str) -> str:
        """The original prompt with a recovery instruction appended (never prepended: the
        prompt's prefix stays cached)."""
        addition = _RECOVERY_PROMPTS.get(error_type, "An error occurred. Try again.")
        return f"{original_prompt}\n\n{addition}"

    def get_recovery_statistics(self) -> RecoveryStatistics:
        with self._lock:
            in_retry = list(self.retry_counts)
            finished, succeeded = self.retried_finished, self.retried_succeeded
        return RecoveryStatistics(
            total_failures=self.log.total,
            error_distribution=self.log.by_type(),
            failures_by_operation=self.log.by_operation(),
            most_common_patterns=self.log.patterns(),
            active_retries=len(in_retry),
            operations_in_retry=in_retry,
            total_retries=self.total_retries,
            retried_operations_finished=finished,
            retried_operations_succeeded=succeeded,
            retry_success_rate=succeeded / finished if finished else None,
        )

    def analyze_failure_patterns(self, *, recent: int = 10, min_repeats: int = 3) -> list[str]:
        """Plain-language findings from the log: what fails most lately, what keeps failing
        the same way, whether retries help, and whether too much is retrying at once."""
        insights: list[str] = []
        records = self.log.records
        window = records[-recent:]
        if len(window) >= min_repeats:
            kind, count = Counter(r.error_type for r in window).most_common(1)[0]
            insights.append(f"Most frequent recent error: {kind} ({count} of the last {len(window)} failures).")
        for pattern in self.log.patterns():
            if pattern.count >= min_repeats:
                insights.append(
                    f"The same {pattern.error_type} happened {pattern.count} times ({pattern.pattern!r}): "
                    "a repeating cause; fix it rather than retrying."
                )
        operations = Counter(r.operation_id for r in records).most_common(1)
        if operations and operations[0][1] >= min_repeats:
            insights.append(f"Operation {operations[0][0]!r} failed {operations[0][1]} times.")
        stats = self.get_recovery_statistics()
        if stats.retry_success_rate is not None and stats.retried_operations_finished >= min_repeats:
            rate = stats.retry_success_rate
            if rate < 0.5:
                insights.append(
                    f"Retries rescued only {rate:.0%} of retried operations: these errors are not transient; "
                    "change the prompt, the tool or the engine instead."
                )
            else:
                insights.append(f"Retries rescued {rate:.0%} of retried operations.")
        if stats.active_retries > 5:
            insights.append(f"{stats.active_retries} operations are retrying at once: check the engine's load.")
        return insights
