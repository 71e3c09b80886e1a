"""Retries, circuit breaker, recovering engine with fallback, failure log, repair budgets."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from radixagent.compat.recovery import AdaptiveRecovery
from radixagent.engine import ChatMessage, Completion, ScriptedEngine, Usage
from radixagent.errors import (
    CircuitOpenError,
    ConfigurationError,
    EmptyPromptError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InputError,
    OutputValidationError,
    ToolArgumentsError,
    ToolExecutionError,
    ToolTimeoutError,
)
from radixagent.recovery import (
    CircuitBreaker,
    CircuitState,
    FailureLog,
    RecoveringEngine,
    RetryBudget,
    RetryPolicy,
    classify_error,
    with_retries,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSleep:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def down() -> EngineUnavailableError:
    return EngineUnavailableError("nothing listens at http://127.0.0.1:1")


# --- RetryPolicy and with_retries ----------------------------------------------------------------


def test_backoff_without_jitter_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=0.5, factor=2, max_delay_s=3, jitter=False)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_full_jitter_stays_within_the_cap() -> None:
    policy = RetryPolicy(base_delay_s=1, factor=2, max_delay_s=100)
    rng = random.Random(7)
    delays = [policy.delay(3, rng=rng) for _ in range(200)]
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) == 200  # jittered, not a constant
    assert max(delays) > 4.0 and min(delays) < 4.0


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_delay_s=10)
    assert policy.delay(0, EngineHTTPError("slow down", 429, retry_after=2.5)) == 2.5
    assert policy.delay(0, EngineHTTPError("slow down", 429, retry_after=99)) == 10


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (down(), True),
        (EngineTimeoutError("slow"), True),
        (EngineHTTPError("x", 408), True),
        (EngineHTTPError("x", 429), True),
        (EngineHTTPError("x", 500), True),
        (EngineHTTPError("x", 502), True),
        (EngineHTTPError("x", 401), False),
        (EngineHTTPError("x", 404), False),
        (EngineResponseError("garbled"), False),
        (InputError("bad request"), False),
        (CircuitOpenError("e", 3, 1.0), False),
        (ValueError("bug"), False),
    ],
)
def test_what_is_retried(error: Exception, retryable: bool) -> None:
    assert RetryPolicy().is_retryable(error) is retryable


async def test_with_retries_succeeds_after_transient_failures() -> None:
    sleep = FakeSleep()
    outcomes: list[Exception | str] = [down(), EngineHTTPError("busy", 503), "ok"]
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    policy = RetryPolicy(max_attempts=5, base_delay_s=1, factor=3, jitter=False)
    seen: list[int] = []
    assert await with_retries(flaky, policy, sleep=sleep, on_retry=lambda n, e, w: seen.append(n)) == "ok"
    assert attempts == 3
    assert sleep.waits == [1.0, 3.0]
    assert seen == [0, 1]


async def test_with_retries_gives_up_and_raises_the_last_error() -> None:
    sleep = FakeSleep()
    attempts = 0

    async def always_down() -> str:
        nonlocal attempts
        attempts += 1
        raise EngineTimeoutError(f"attempt {attempts} timed out")

    with pytest.raises(EngineTimeoutError, match="attempt 3"):
        await with_retries(always_down, RetryPolicy(max_attempts=3, jitter=False), sleep=sleep)
    assert attempts == 3 and len(sleep.waits) == 2


async def test_with_retries_does_not_retry_what_will_not_change() -> None:
    sleep = FakeSleep()
    attempts = 0

    async def refused() -> str:
        nonlocal attempts
        attempts += 1
        raise InputError("the prompt is wrong")

    with pytest.raises(InputError):
        await with_retries(refused, RetryPolicy(max_attempts=5), sleep=sleep)
    assert attempts == 1 and sleep.waits == []


# --- CircuitBreaker ------------------------------------------------------------------------------


def test_breaker_opens_after_threshold_and_half_opens_after_reset() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("sglang", failure_threshold=3, reset_timeout_s=10, clock=clock)
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure(down())
    assert breaker.state is CircuitState.CLOSED
    breaker.before_call()
    breaker.record_failure(down())
    assert breaker.state is CircuitState.OPEN

    clock.now += 4
    with pytest.raises(CircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_in_s == pytest.approx(6.0)
    assert "try it again in 6.0 s" in str(info.value)
    assert "sglang" in str(info.value)

    clock.now += 6
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.before_call()  # the one trial call
    with pytest.raises(CircuitOpenError):
        breaker.before_call()  # a second caller waits for the trial's outcome
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.snapshot().times_opened == 1


def test_failed_trial_reopens_the_circuit() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout_s=5, clock=clock)
    breaker.record_failure(down())
    clock.now += 5
    breaker.before_call()
    breaker.record_failure(EngineTimeoutError("still slow"))
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_in_s() == pytest.approx(5.0)
    assert breaker.snapshot().times_opened == 2


def test_errors_that_are_not_engine_faults_do_not_open_the_circuit() -> None:
    breaker = CircuitBreaker(failure_threshold=1, clock=FakeClock())
    breaker.record_failure(InputError("bad prompt"))
    breaker.record_failure(EngineHTTPError("no such model", 404))
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure(EngineResponseError("garbled"))
    assert breaker.state is CircuitState.OPEN


def test_breaker_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        CircuitBreaker(failure_threshold=0)


# --- RecoveringEngine ----------------------------------------------------------------------------


def _engine(primary: ScriptedEngine, **kwargs: object) -> RecoveringEngine:
    kwargs.setdefault("policy", RetryPolicy(max_attempts=3, base_delay_s=1, jitter=False))
    kwargs.setdefault("sleep", FakeSleep())
    return RecoveringEngine(primary, **kwargs)  # type: ignore[arg-type]


async def test_recovering_engine_retries_transient_errors() -> None:
    primary = ScriptedEngine([down(), EngineHTTPError("overloaded", 502), "hello"])
    sleep = FakeSleep()
    engine = _engine(primary, sleep=sleep)
    completion = await engine.generate("Say hello.")
    assert completion.text == "hello"
    assert len(primary.prompts) == 3
    assert sleep.waits == [1.0, 2.0]
    stats = engine.stats()
    assert (stats.calls, stats.retries, stats.failures, stats.fallback_calls) == (1, 2, 0, 0)
    assert stats.circuit.state is CircuitState.CLOSED


async def test_fallback_engine_answers_when_the_primary_fails() -> None:
    primary = ScriptedEngine(lambda prompt, constraint: down())
    fallback = ScriptedEngine(["from the fallback", "again the fallback"], model="backup")
    engine = _engine(primary, fallback=fallback, policy=RetryPolicy(max_attempts=2, jitter=False))
    completion = await engine.generate("Question?")
    assert completion.text == "from the fallback"
    assert completion.model == "backup"
    assert len(primary.prompts) == 2  # retried once before falling back
    stats = engine.stats()
    assert (stats.failures, stats.fallback_calls, stats.fallback_successes) == (1, 1, 1)


async def test_open_circuit_skips_the_primary_until_the_reset_time() -> None:
    clock = FakeClock()
    healthy = False

    def primary_reply(prompt: object, constraint: object) -> str | Exception:
        return "primary is back" if healthy else down()

    primary = ScriptedEngine(primary_reply)
    fallback = ScriptedEngine(lambda prompt, constraint: "fallback")
    breaker = CircuitBreaker("primary", failure_threshold=2, reset_timeout_s=30, clock=clock)
    engine = _engine(primary, fallback=fallback, breaker=breaker, policy=RetryPolicy(max_attempts=1))

    assert (await engine.generate("one")).text == "fallback"
    assert (await engine.generate("two")).text == "fallback"
    assert breaker.state is CircuitState.OPEN
    assert len(primary.prompts) == 2
    assert (await engine.generate("three")).text == "fallback"
    assert len(primary.prompts) == 2  # the open circuit kept the call away from the primary
    health = await engine.health()
    assert not health.ok and "circuit open" in health.detail

    clock.now += 30
    healthy = True
    assert (await engine.generate("four")).text == "primary is back"  # the half-open trial
    assert breaker.state is CircuitState.CLOSED
    assert (await engine.health()).ok


async def test_without_fallback_the_open_circuit_error_reaches_the_caller() -> None:
    clock = FakeClock()
    primary = ScriptedEngine(lambda prompt, constraint: down())
    breaker = CircuitBreaker("primary", failure_threshold=1, reset_timeout_s=12, clock=clock)
    engine = _engine(primary, breaker=breaker, policy=RetryPolicy(max_attempts=1))
    with pytest.raises(EngineUnavailableError):
        await engine.generate("one")
    with pytest.raises(CircuitOpenError, match="again in 12.0 s"):
        await engine.generate("two")


async def test_requests_the_engine_must_refuse_are_not_retried_or_handed_over() -> None:
    primary = ScriptedEngine(["unused"])
    fallback = ScriptedEngine(["unused"])
    engine = _engine(primary, fallback=fallback)
    with pytest.raises(EmptyPromptError):
        await engine.generate("   ")
    assert primary.prompts == [] and fallback.prompts == []


async def test_token_id_prompts_stay_with_the_primary() -> None:
    class TextOnly(ScriptedEngine):
        @property
        def takes_token_ids(self) -> bool:
            return False

    class Down(ScriptedEngine):
        async def tokenize(self, text: str) -> list[int]:
            raise down()

    primary = Down(lambda prompt, constraint: down())
    engine = _engine(primary, fallback=TextOnly(["text answer"]), policy=RetryPolicy(max_attempts=1))
    assert engine.takes_token_ids
    with pytest.raises(EngineUnavailableError):
        await engine.generate([1, 2, 3])
    with pytest.raises(EngineUnavailableError):
        await engine.tokenize("no fallback for token ids")


async def test_stream_retries_before_the_first_chunk() -> None:
    primary = ScriptedEngine([down(), "streamed answer here"])
    engine = _engine(primary)
    chunks = [chunk async for chunk in engine.stream("Talk.")]
    assert "".join(c.text for c in chunks) == "streamed answer here"
    final = chunks[-1].completion
    assert isinstance(final, Completion) and final.text == "streamed answer here"
    assert engine.stats().retries == 1


async def test_stream_falls_back() -> None:
    primary = ScriptedEngine(lambda prompt, constraint: down())
    engine = _engine(primary, fallback=ScriptedEngine(["fallback stream"]), policy=RetryPolicy(max_attempts=1))
    text = "".join([chunk.text async for chunk in engine.stream([ChatMessage(role="user", content="hi")])])
    assert text == "fallback stream"


async def test_score_and_model_info_delegate() -> None:
    primary = ScriptedEngine([EngineTimeoutError("slow"), " green"], model="tiny")
    engine = _engine(primary)
    result = await engine.score("The colour of grass is", [" green", " red"])
    assert result.best == " green"
    assert (await engine.model_info()).name == "tiny"
    assert engine.name == "scripted"


def test_sync_twins_work_through_the_wrapper() -> None:
    primary = ScriptedEngine([down(), Completion(text="sync ok", finish_reason="stop", usage=Usage())])
    engine = _engine(primary)
    assert engine.generate_sync("Hello?").text == "sync ok"
    engine.close()


# --- retry budgets ------------------------------------------------------------------


def test_retry_budget() -> None:
    budget = RetryBudget(tool_retries=2, output_retries=1, per_tool={"flaky": 0})
    assert budget.allow_tool_retry("search") and budget.allow_tool_retry("search")
    assert not budget.allow_tool_retry("search")
    assert budget.tool_retries_left("search") == 0
    assert budget.tool_retries_left("other") == 2
    assert not budget.allow_tool_retry("flaky")
    budget.tool_succeeded("search")
    assert budget.tool_retries_left("search") == 2
    assert budget.allow_output_retry() and not budget.allow_output_retry()
    assert budget.output_retries_left == 0
    budget.reset()
    assert budget.output_retries_left == 1
    with pytest.raises(ConfigurationError):
        RetryBudget(tool_retries=-1)


# --- the failure log and AdaptiveRecovery ---------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (EngineTimeoutError("slow"), "timeout_error"),
        (ToolTimeoutError("search", 5), "timeout_error"),
        (ToolArgumentsError("search", ["x"]), "validation_error"),
        (OutputValidationError("bad", ["x"]), "validation_error"),
        (ToolExecutionError("search", RuntimeError("boom")), "tool_execution_error"),
        (EngineResponseError("garbled"), "parsing_error"),
        (ValueError("not json"), "parsing_error"),
        (down(), "generation_error"),
        (KeyError("x"), "unknown_error"),
    ],
)
def test_classify_error(error: Exception, kind: str) -> None:
    assert classify_error(error) == kind


def test_tutorial_retry_flow() -> None:
    recovery = AdaptiveRecovery(max_retries=3, backoff_factor=1.5)
    op = "op_1"
    assert recovery.should_retry(op)
    assert recovery.get_retry_delay(op) == 1.0
    assert recovery.record_retry(op) == 1
    assert recovery.get_retry_delay(op) == 1.5
    recovery.record_retry(op)
    assert recovery.get_retry_delay(op) == 2.25
    recovery.record_retry(op)
    assert not recovery.should_retry(op)
    recovery.reset_operation(op)
    assert recovery.should_retry(op)
    assert AdaptiveRecovery(backoff_factor=10, max_delay_s=50).get_retry_delay("x") == 1.0
    capped = AdaptiveRecovery(backoff_factor=10, max_delay_s=50)
    capped.record_retry("x")
    capped.record_retry("x")
    assert capped.get_retry_delay("x") == 50


def test_statistics_come_from_the_logged_failures() -> None:
    times = iter(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=i) for i in range(100))
    recovery = AdaptiveRecovery(log=FailureLog(now=lambda: next(times)))
    recovery.log_failure("op_a", "tool_execution_error", "Tool 'search' failed: timeout after 5 s", {"tool": "search"})
    recovery.log_failure("op_a", "tool_execution_error", "Tool 'search' failed: timeout after 7 s")
    recovery.log_failure("op_b", "tool_execution_error", "Tool 'fetch' failed: timeout after 9 s")
    recovery.log_failure("op_b", "validation_error", "missing 'query'")
    recovery.log_exception("op_c", EngineTimeoutError("no answer in 30 s"))

    recovery.record_retry("op_a")
    recovery.reset_operation("op_a", succeeded=True)
    recovery.record_retry("op_b")
    recovery.record_retry("op_b")
    recovery.reset_operation("op_b", succeeded=False)
    recovery.record_retry("op_c")

    stats = recovery.get_recovery_statistics()
    assert stats.total_failures == 5
    assert stats.error_distribution == {"tool_execution_error": 3, "validation_error": 1, "timeout_error": 1}
    assert stats.failures_by_operation == {"op_a": 2, "op_b": 2, "op_c": 1}
    top = stats.most_common_patterns[0]
    assert (top.error_type, top.pattern, top.count) == ("tool_execution_error", "Tool <value> failed: timeout after <n> s", 3)
    assert stats.total_retries == 4
    assert stats.operations_in_retry == ["op_c"] and stats.active_retries == 1
    assert (stats.retried_operations_finished, stats.retried_operations_succeeded) == (2, 1)
    assert stats.retry_success_rate == 0.5
    assert recovery.failure_log[0].context == {"tool": "search"}
    assert recovery.failure_log[0].timestamp == datetime(2025, 1, 1, tzinfo=UTC)
    assert recovery.failure_log[-1].error_message == "EngineTimeoutError: no answer in 30 s"


def test_failure_pattern_insights() -> None:
    recovery = AdaptiveRecovery()
    assert recovery.analyze_failure_patterns() == []
    for i in range(4):
        recovery.log_failure(f"op_{i}", "timeout_error", f"engine did not answer within {30 + i} s")
        recovery.record_retry(f"op_{i}")
        recovery.reset_operation(f"op_{i}", succeeded=False)
    recovery.log_failure("op_9", "parsing_error", "bad json")
    insights = recovery.analyze_failure_patterns()
    assert insights[0] == "Most frequent recent error: timeout_error (4 of the last 5 failures)."
    assert insights[1].startswith("The same timeout_error happened 4 times ('engine did not answer within <n> s')")
    assert insights[2].startswith("Retries rescued only 0% of retried operations")
    assert len(insights) == 3

    busy = AdaptiveRecovery()
    for i in range(6):
        busy.record_retry(f"op_{i}")
    assert busy.analyze_failure_patterns() == ["6 operations are retrying at once: check the engine's load."]


def test_failure_log_is_bounded_but_counts_everything() -> None:
    log = FailureLog(max_records=3)
    for i in range(5):
        log.add(f"op_{i}", "generation_error", "x")
    assert len(log) == 3 and log.total == 5
    assert [r.operation_id for r in log.records] == ["op_2", "op_3", "op_4"]


def test_fallback_strategies_and_recovery_prompts() -> None:
    recovery = AdaptiveRecovery()
    assert "fallback engine" in recovery.get_fallback_strategy("generation_error")
    assert recovery.get_fallback_strategy("something_else").startswith("Report the error")
    prompt = recovery.generate_recovery_prompt("timeout_error", "Summarise the report.")
    assert prompt.startswith("Summarise the report.\n\n")  # the original prefix is kept intact
    assert prompt.endswith("Answer in at most 50 words.")
