"""When things fail: retry what is transient, stop calling what is down, fall back to another
engine, ask the model again with the error in hand, and keep a record of it all.

    retries.py    RetryPolicy / with_retries: exponential backoff with full jitter, transient errors only
    breaker.py    CircuitBreaker: closed -> open after N faults in a row -> half-open trial
    engine.py     RecoveringEngine: an Engine wrapping another with both, plus a fallback Engine
    budget.py     RetryBudget: how often the model may be asked to fix a tool call or an output
    failures.py   FailureLog: what failed, by kind and pattern
"""

from radixagent.recovery.breaker import CircuitBreaker, CircuitSnapshot, CircuitState, is_engine_fault
from radixagent.recovery.budget import RetryBudget
from radixagent.recovery.engine import RecoveringEngine, RecoveryStats
from radixagent.recovery.failures import FailureLog, FailurePattern, FailureRecord, classify_error, failure_pattern
from radixagent.recovery.retries import RetryPolicy, is_transient, with_retries

__all__ = [
    "CircuitBreaker",
    "CircuitSnapshot",
    "CircuitState",
    "FailureLog",
    "FailurePattern",
    "FailureRecord",
    "RecoveringEngine",
    "RecoveryStats",
    "RetryBudget",
    "RetryPolicy",
    "classify_error",
    "failure_pattern",
    "is_engine_fault",
    "is_transient",
    "with_retries",
]
