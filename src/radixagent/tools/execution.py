"""Running tool calls: check the arguments, call the function under a timeout, several calls
of one step at once, and turn every failure into an observation the model can read.

A sync function runs in its own daemon thread, so a hung one cannot hold the caller past its
timeout (Python cannot kill a thread: the abandoned one is counted and logged, and it will not
keep the process alive at exit). An async function runs on the caller's loop under
`asyncio.wait_for`; one that blocks the loop without awaiting cannot be timed out.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import inspect
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jsonschema
import pydantic_core
from pydantic import BaseModel, Field, computed_field

from radixagent.engine._portal import run_sync
from radixagent.errors import (
    ToolArgumentsError,
    ToolError,
    ToolExecutionError,
    ToolTimeoutError,
    UnknownToolError,
)
from radixagent.schemas import ToolCall, ToolCallRecord, new_id

if TYPE_CHECKING:
    from radixagent.tools.registry import RegisteredTool, ToolRegistry

__all__ = ["ExecutionStatistics", "ToolExecutor", "ToolRun", "ToolStats", "apply_defaults", "result_text"]

logger = logging.getLogger(__name__)


class ToolRun(BaseModel):
    """One entry of the execution history: the record plus when it ran (monotonic seconds
    from the executor's clock, for ordering and overlap; `started_at` for people)."""

    record: ToolCallRecord
    started_at: datetime
    start: float
    end: float


class ToolStats(BaseModel):
    """Per-tool counts and timings, over every call since the executor started."""

    call_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    timeout_count: int = 0
    total_time_ms: float = 0.0
    min_time_ms: float = 0.0
    max_time_ms: float = 0.0

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot see pydantic's decorator over a property
    @property
    def avg_time_ms(self) -> float:
        return self.total_time_ms / self.call_count if self.call_count else 0.0

    @computed_field  # type: ignore[prop-decorator]  # mypy cannot see pydantic's decorator over a property
    @property
    def success_rate(self) -> float:
        return self.success_count / self.call_count if self.call_count else 0.0


class ExecutionStatistics(BaseModel):
    """The tutorial's `get_execution_statistics()`, as a model."""

    total_executions: int = 0
    successful: int = 0
    failed: int = 0
    abandoned_threads: int = Field(default=0, description="sync tools that timed out and may still be running")
    tools_used: dict[str, ToolStats] = Field(default_factory=dict)


MAX_RESULT_CHARS = 16_000
"""What the model reads of one result at most: it goes into every later prompt of the branch."""


def result_text(value: Any, max_chars: int = MAX_RESULT_CHARS) -> str:
    """What the model reads of a tool's return value: text as is, anything else as JSON, cut
    to `max_chars` with a note saying how much was left out."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, BaseModel):
        text = value.model_dump_json()
    else:
        try:
            text = pydantic_core.to_json(value).decode()
        except pydantic_core.PydanticSerializationError:
            text = str(value)
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}\n[... {len(text) - max_chars} more characters of the result were cut]"


def apply_defaults(arguments: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `arguments` with each absent property's schema default filled in, also inside
    nested objects that are present."""

    def fill(value: Any, node: Mapping[str, Any]) -> Any:
        if not isinstance(value, dict) or not isinstance(node.get("properties"), dict):
            return value
        out = dict(value)
        for key, sub in node["properties"].items():
            if not isinstance(sub, dict):
                continue
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            elif key in out:
                out[key] = fill(out[key], sub)
        return out

    filled: dict[str, Any] = fill(dict(arguments), schema)
    return filled


def _error_lines(validator: jsonschema.protocols.Validator, arguments: Mapping[str, Any]) -> list[str]:
    lines = []
    for error in sorted(validator.iter_errors(dict(arguments)), key=lambda e: ([str(p) for p in e.absolute_path], e.message)):
        # For anyOf/oneOf, the most relevant sub-error says more than "not valid under any".
        best = jsonschema.exceptions.best_match([error, *error.context]) if error.context else error
        path = ".".join(str(p) for p in best.absolute_path)
        lines.append(f"{path}: {best.message}" if path else best.message)
    return lines


class ToolExecutor:
    """Runs the tools of one registry and keeps their statistics and a bounded history."""

    def __init__(
        self,
        registry: ToolRegistry,
        *,
        history_size: int = 1000,
        clock: Callable[[], float] = time.perf_counter,
        max_result_chars: int = MAX_RESULT_CHARS,
    ) -> None:
        self.registry = registry
        self.max_result_chars = max_result_chars
        self.history: deque[ToolRun] = deque(maxlen=history_size)
        self._clock = clock
        self._stats: dict[str, ToolStats] = {}
        self._lock = threading.Lock()
        self._abandoned = 0

    # --- arguments -----------------------------------------------------------------------

    def validate_arguments(self, name: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        """The arguments with defaults applied, or UnknownToolError / ToolArgumentsError."""
        entry = self.registry.entry(name)
        return self._validate(entry, arguments)

    @staticmethod
    def _validate(entry: RegisteredTool, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise ToolArgumentsError(entry.name, [f"arguments must be a JSON object, not {type(arguments).__name__}"])
        errors = _error_lines(entry.validator, arguments)
        if errors:
            raise ToolArgumentsError(entry.name, errors)
        return apply_defaults(arguments, entry.definition.tool_schema.parameters)

    # --- running -------------------------------------------------------------------------

    async def execute(
        self, call: ToolCall | str, arguments: Mapping[str, Any] | None = None, *, call_id: str | None = None
    ) -> ToolCallRecord:
        """Run one call and return its record. Failures of the call (bad arguments, the tool
        raising, a timeout) are in `record.error`; an unknown tool name raises UnknownToolError."""
        record, _ = await self._run(*self._target(call, arguments, call_id))
        return record

    async def execute_many(self, calls: Sequence[ToolCall]) -> list[ToolCallRecord]:
        """Run the calls of one step concurrently; records come back in the calls' order."""
        targets = [self._target(call, None, None) for call in calls]  # unknown names fail before any runs
        if len(targets) == 1:  # no task around it: under load every extra wake-up waits behind every ready request
            return [(await self._run(*targets[0]))[0]]
        results = await asyncio.gather(*(self._run(*t) for t in targets))
        return [record for record, _ in results]

    async def call(self, name: str, arguments: Mapping[str, Any] | None = None) -> str:
        """Run one call and return its result text, raising the typed ToolError on failure."""
        record, error = await self._run(self.registry.entry(name), dict(arguments or {}), "call_" + new_id())
        if error is not None:
            raise error
        if not record.executed:
            raise ToolError(
                f"Tool {name!r} has no function to run: it is a schema-only tool whose calls go back to the caller."
            )
        return record.result or ""

    def execute_sync(
        self, call: ToolCall | str, arguments: Mapping[str, Any] | None = None, *, call_id: str | None = None
    ) -> ToolCallRecord:
        return run_sync(self.execute(call, arguments, call_id=call_id))

    def execute_many_sync(self, calls: Sequence[ToolCall]) -> list[ToolCallRecord]:
        return run_sync(self.execute_many(calls))

    def call_sync(self, name: str, arguments: Mapping[str, Any] | None = None) -> str:
        return run_sync(self.call(name, arguments))

    def _target(
        self, call: ToolCall | str, arguments: Mapping[str, Any] | None, call_id: str | None
    ) -> tuple[RegisteredTool, Any, str]:
        if isinstance(call, ToolCall):
            return self.registry.entry(call.tool_name), call.arguments, call_id or call.id
        return self.registry.entry(call), arguments, call_id or "call_" + new_id()

    async def _run(
        self, entry: RegisteredTool, arguments: Any, call_id: str
    ) -> tuple[ToolCallRecord, ToolError | None]:
        started_at = datetime.now(UTC)
        start = self._clock()
        shown = dict(arguments) if isinstance(arguments, Mapping) else {}
        error: ToolError | None = None
        result: str | None = None
        executed = entry.definition.callable is not None
        try:
            checked = self._validate(entry, arguments)
            shown = checked
            if executed:
                result = result_text(await self._invoke(entry, checked), self.max_result_chars)
        except ToolError as exc:
            error = exc
        end = self._clock()
        record = ToolCallRecord(
            id=call_id,
            tool=entry.name,
            arguments=shown,
            result=result,
            error=str(error) if error is not None else None,
            error_type=_error_type(error),
            duration_ms=(end - start) * 1000,
            executed=executed and not isinstance(error, ToolArgumentsError),
        )
        self._remember(ToolRun(record=record, started_at=started_at, start=start, end=end), error)
        return record, error

    async def _invoke(self, entry: RegisteredTool, arguments: dict[str, Any]) -> Any:
        fn = entry.definition.callable
        assert fn is not None
        args: list[Any] = []
        kwargs: dict[str, Any] = arguments
        if entry.function is not None:
            args, kwargs = entry.function.bind(arguments)
        timeout = entry.definition.timeout_s
        deadline = self._clock() + timeout
        try:
            if entry.is_async:
                value = await _bounded(fn(*args, **kwargs), timeout)
            else:
                value = await _bounded(self._in_thread(entry.name, fn, args, kwargs), timeout)
            if inspect.isawaitable(value):  # a sync wrapper that returned a coroutine
                value = await _bounded(value, max(deadline - self._clock(), 0.0))
            return value
        except _Expired as exc:
            raise ToolTimeoutError(entry.name, timeout) from exc
        except ToolError:
            raise
        except Exception as exc:
            logger.warning("tool %r raised %s: %s", entry.name, type(exc).__name__, exc, exc_info=True)
            raise ToolExecutionError(entry.name, exc) from exc

    def _in_thread(self, name: str, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()
        executor = self

        def settle(value: Any, error: BaseException | None) -> None:
            if future.cancelled():
                with executor._lock:
                    executor._abandoned -= 1
                logger.info("abandoned tool %r finished after its timeout", name)
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(value)

        def target() -> None:
            try:
                value, error = context.run(fn, *args, **kwargs), None
            except BaseException as exc:  # handed to the awaiting side, which decides
                value, error = None, exc
            try:
                loop.call_soon_threadsafe(settle, value, error)
            except RuntimeError:  # the loop is gone: nobody waits for this result any more
                pass

        def on_done(f: asyncio.Future[Any]) -> None:
            if f.cancelled():
                with executor._lock:
                    executor._abandoned += 1
                logger.warning("tool %r timed out; its thread is abandoned and may still be running", name)

        future.add_done_callback(on_done)
        _TOOL_THREADS.run(target)
        return future

    # --- bookkeeping ---------------------------------------------------------------------

    def _remember(self, run: ToolRun, error: ToolError | None) -> None:
        ms = run.record.duration_ms
        with self._lock:
            stats = self._stats.setdefault(run.record.tool, ToolStats())
            first = stats.call_count == 0
            stats.call_count += 1
            stats.total_time_ms += ms
            stats.min_time_ms = ms if first else min(stats.min_time_ms, ms)
            stats.max_time_ms = ms if first else max(stats.max_time_ms, ms)
            if error is None:
                stats.success_count += 1
            else:
                stats.failure_count += 1
                if isinstance(error, ToolTimeoutError):
                    stats.timeout_count += 1
            self.history.append(run)

    def statistics(self) -> ExecutionStatistics:
        with self._lock:
            tools = {name: s.model_copy() for name, s in self._stats.items()}
            abandoned = max(self._abandoned, 0)
        return ExecutionStatistics(
            total_executions=sum(s.call_count for s in tools.values()),
            successful=sum(s.success_count for s in tools.values()),
            failed=sum(s.failure_count for s in tools.values()),
            abandoned_threads=abandoned,
            tools_used=tools,
        )

    def reset_statistics(self) -> None:
        with self._lock:
            self._stats.clear()
            self.history.clear()


class _Expired(Exception):
    """Our own deadline passed (kept apart from a TimeoutError the tool itself raises)."""


class _ToolThreads:
    """Daemon threads that run sync tools, kept for the next call. Starting a thread per call
    made the event loop wait for each new thread to start (a round trip of the GIL: 1-2 ms
    under load). A call takes an idle thread or starts one, so a tool that hangs holds only its
    own thread, as before; daemons, so a hung tool never keeps the process from exiting."""

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1  # that thread's next item is this one
        self._work.put(fn)
        if spawn:
            threading.Thread(target=self._serve, name="radixagent-tool", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._work.get()()  # `target` in _in_thread: it never raises
            with self._lock:
                self._idle += 1


_TOOL_THREADS = _ToolThreads()


async def _bounded(awaitable: Any, timeout: float) -> Any:
    """Await `awaitable` for at most `timeout` seconds; on expiry cancel it and raise _Expired.
    Unlike wait_for, a TimeoutError raised by the tool itself stays the tool's error."""
    if isinstance(awaitable, asyncio.Future):
        # a thread's result: awaited directly, with a timer, so its caller wakes up once (not
        # again for asyncio.wait's bookkeeping), which under load saves a wait behind every
        # ready request
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            awaitable.cancel()

        timer = asyncio.get_running_loop().call_later(timeout, expire)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if expired:
                raise _Expired() from None
            awaitable.cancel()
            raise
        finally:
            timer.cancel()
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise _Expired()
    return task.result()


def _error_type(error: ToolError | None) -> Any:
    if error is None:
        return None
    if isinstance(error, ToolArgumentsError):
        return "arguments"
    if isinstance(error, ToolTimeoutError):
        return "timeout"
    if isinstance(error, UnknownToolError):
        return "unknown_tool"
    return "execution"
