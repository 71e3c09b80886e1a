"""A record of failures, with the counts and patterns that statistics and insights need."""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from radixagent.errors import (
    EngineError,
    EngineResponseError,
    EngineTimeoutError,
    OutputValidationError,
    ToolArgumentsError,
    ToolError,
    ToolTimeoutError,
)


class FailureRecord(BaseModel):
    timestamp: datetime
    operation_id: str
    error_type: str
    error_message: str
    context: dict[str, Any] = Field(default_factory=dict)


class FailurePattern(BaseModel):
    """Failures that look alike: the same error type and message once numbers and quoted
    values are blanked out."""

    error_type: str
    pattern: str
    count: int


_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_HEX = re.compile(r"\b[0-9a-f]{8,}\b")


def failure_pattern(message: str) -> str:
    """A message with its variable parts blanked, so failures with one cause group together."""
    text = _HEX.sub("<id>", message.strip().splitlines()[0] if message.strip() else "")
    text = _QUOTED.sub("<value>", text)
    return _NUMBER.sub("<n>", text)[:120]


def classify_error(exc: BaseException) -> str:
    """The tutorial's error types, from an exception."""
    if isinstance(exc, EngineTimeoutError | ToolTimeoutError | TimeoutError):
        return "timeout_error"
    if isinstance(exc, ToolArgumentsError | OutputValidationError | PydanticValidationError):
        return "validation_error"
    if isinstance(exc, ToolError):
        return "tool_execution_error"
    if isinstance(exc, EngineResponseError | ValueError):
        return "parsing_error"
    if isinstance(exc, EngineError):
        return "generation_error"
    return "unknown_error"


class FailureLog:
    """A bounded, thread-safe record of failures, with the counts the statistics need."""

    def __init__(self, max_records: int = 10_000, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._records: deque[FailureRecord] = deque(maxlen=max_records)
        self._now = now
        self._lock = threading.Lock()
        self.total = 0
        """Every failure ever logged (the records keep only the last `max_records`)."""

    def add(
        self, operation_id: str, error_type: str, error_message: str, context: Mapping[str, Any] | None = None
    ) -> FailureRecord:
        record = FailureRecord(
            timestamp=self._now(),
            operation_id=operation_id,
            error_type=error_type,
            error_message=error_message,
            context=dict(context or {}),
        )
        with self._lock:
            self._records.append(record)
            self.total += 1
        return record

    def add_exception(self, operation_id: str, exc: BaseException, context: Mapping[str, Any] | None = None) -> FailureRecord:
        return self.add(operation_id, classify_error(exc), f"{type(exc).__name__}: {exc}", context)

    @property
    def records(self) -> list[FailureRecord]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def by_type(self) -> dict[str, int]:
        return dict(Counter(r.error_type for r in self.records).most_common())

    def by_operation(self) -> dict[str, int]:
        return dict(Counter(r.operation_id for r in self.records).most_common())

    def patterns(self, top: int = 5) -> list[FailurePattern]:
        counts = Counter((r.error_type, failure_pattern(r.error_message)) for r in self.records)
        return [FailurePattern(error_type=t, pattern=p, count=n) for (t, p), n in counts.most_common(top)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
