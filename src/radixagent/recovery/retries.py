"""Retrying what is transient: exponential backoff with full jitter."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from radixagent.errors import EngineHTTPError, EngineTimeoutError, EngineUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def is_transient(exc: BaseException) -> bool:
    """Errors worth sending again unchanged: nothing answered, too slow, or a 408/429/5xx."""
    if isinstance(exc, EngineUnavailableError | EngineTimeoutError):
        return True
    if isinstance(exc, EngineHTTPError):
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return False


class RetryPolicy(BaseModel):
    """Exponential backoff with full jitter (AWS's "Exponential Backoff And Jitter"): the n-th
    retry waits a uniform random time in [0, min(max_delay_s, base_delay_s * factor**n)], or
    what the server asked for in Retry-After (capped at max_delay_s)."""

    model_config = ConfigDict(frozen=True)

    max_attempts: int = Field(default=3, ge=1, description="attempts in all, the first included")
    base_delay_s: float = Field(default=0.5, ge=0.0)
    factor: float = Field(default=2.0, ge=1.0)
    max_delay_s: float = Field(default=30.0, ge=0.0)
    jitter: bool = True

    def is_retryable(self, exc: BaseException) -> bool:
        return is_transient(exc)

    def backoff_cap(self, retry: int) -> float:
        """The longest wait before retry number `retry` (0 = the first retry)."""
        return min(self.max_delay_s, self.base_delay_s * self.factor**retry)

    def delay(self, retry: int, exc: BaseException | None = None, rng: random.Random | None = None) -> float:
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            return min(float(retry_after), self.max_delay_s)
        cap = self.backoff_cap(retry)
        return (rng or random).uniform(0.0, cap) if self.jitter else cap


async def with_retries(
    factory: Callable[[], Awaitable[T]],
    policy: RetryPolicy | None = None,
    *,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Await `factory()` until it succeeds, a non-transient error comes, or attempts run out
    (then the last error is raised). `factory` must make a fresh awaitable each time."""
    policy = policy or RetryPolicy()
    retry = 0
    while True:
        try:
            return await factory()
        except Exception as exc:
            if not policy.is_retryable(exc) or retry + 1 >= policy.max_attempts:
                raise
            wait = policy.delay(retry, exc, rng)
            logger.info("retrying after %s (attempt %d of %d, waiting %.2f s)", exc, retry + 2, policy.max_attempts, wait)
            if on_retry is not None:
                on_retry(retry, exc, wait)
            await sleep(wait)
            retry += 1
