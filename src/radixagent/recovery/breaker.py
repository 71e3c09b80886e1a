"""A circuit breaker: closed -> open after N engine faults in a row -> a half-open trial."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel

from radixagent.errors import CircuitOpenError, ConfigurationError, EngineResponseError
from radixagent.recovery.retries import is_transient

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

T = TypeVar("T")


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitSnapshot(BaseModel):
    name: str
    state: CircuitState
    consecutive_failures: int
    total_failures: int
    total_successes: int
    times_opened: int
    retry_in_s: float = 0.0


def is_engine_fault(exc: BaseException) -> bool:
    """Whether `exc` says the engine is unwell (counts towards opening the circuit). A refused
    prompt or a missing endpoint says nothing about the engine's health."""
    return is_transient(exc) or isinstance(exc, EngineResponseError)


class CircuitBreaker:
    """Stop calling an engine that keeps failing, and try it again after a pause.

    closed: calls pass; `failure_threshold` engine faults in a row open the circuit.
    open: calls fail at once with CircuitOpenError until `reset_timeout_s` has passed.
    half-open: one trial call passes; its success closes the circuit, its failure re-opens it.
    """

    def __init__(
        self,
        name: str = "engine",
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ConfigurationError(f"failure_threshold must be at least 1, not {failure_threshold}.")
        if reset_timeout_s < 0:
            raise ConfigurationError(f"reset_timeout_s must not be negative, not {reset_timeout_s}.")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._trial_running = False
        self.consecutive_failures = 0
        self.total_failures = 0
        self.total_successes = 0
        self.times_opened = 0

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state()

    def _state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self.reset_timeout_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def retry_in_s(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(self.reset_timeout_s - (self._clock() - self._opened_at), 0.0)

    def before_call(self) -> None:
        """Raise CircuitOpenError if a call may not go through now."""
        with self._lock:
            state = self._state()
            if state is CircuitState.CLOSED:
                return
            if state is CircuitState.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return
            assert self._opened_at is not None
            wait = max(self.reset_timeout_s - (self._clock() - self._opened_at), 0.0)
        raise CircuitOpenError(self.name, self.consecutive_failures, wait)

    def record_success(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                logger.info("the %s engine answered again; circuit closed", self.name)
            self._opened_at = None
            self._trial_running = False
            self.consecutive_failures = 0
            self.total_successes += 1

    def record_failure(self, exc: BaseException | None = None) -> None:
        """Count an outcome that failed. Errors that are not engine faults (see
        `is_engine_fault`) only end a half-open trial without judging the engine."""
        with self._lock:
            trial = self._trial_running
            self._trial_running = False
            if exc is not None and not is_engine_fault(exc):
                return
            self.consecutive_failures += 1
            self.total_failures += 1
            if trial or (self._opened_at is None and self.consecutive_failures >= self.failure_threshold):
                self._opened_at = self._clock()
                self.times_opened += 1
                logger.warning(
                    "the %s engine failed %d times in a row; circuit open for %.1f s",
                    self.name,
                    self.consecutive_failures,
                    self.reset_timeout_s,
                )

    async def call(self, factory: Callable[[], Awaitable[T]]) -> T:
        """Run `factory()` through the breaker."""
        self.before_call()
        try:
            result = await factory()
        except BaseException as exc:
            self.record_failure(exc)
            raise
        self.record_success()
        return result

    def reset(self) -> None:
        with self._lock:
            self._opened_at = None
            self._trial_running = False
            self.consecutive_failures = 0

    def snapshot(self) -> CircuitSnapshot:
        with self._lock:
            state = self._state()
            wait = 0.0 if self._opened_at is None else max(self.reset_timeout_s - (self._clock() - self._opened_at), 0.0)
            return CircuitSnapshot(
                name=self.name,
                state=state,
                consecutive_failures=self.consecutive_failures,
                total_failures=self.total_failures,
                total_successes=self.total_successes,
                times_opened=self.times_opened,
                retry_in_s=wait,
            )
