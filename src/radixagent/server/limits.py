"""Limits that keep the server answering under load, with bad clients, and at shutdown.

The middleware, outermost first: `UnexpectedErrorMiddleware`, `MetricsMiddleware`,
`KeyCheckMiddleware`, `BodySizeLimitMiddleware`, `ConcurrencyLimitMiddleware`. A request is
counted against the concurrency limit only once its key is checked and its whole body is in,
so clients that send slowly (or send no key) cannot hold the slots good clients need.

- `UnexpectedErrorMiddleware`: an error nothing else answered becomes a 500 whose body
  carries an error id, logged on one line with that id (no traceback reaches uvicorn's log).
- `KeyCheckMiddleware`: with API keys configured, a request without a valid key is answered
  401 before its body is read.
- `BodySizeLimitMiddleware`: the body is read here, within `timeout` seconds (408 after), and
  a body over the limit is refused with 413, whether it says its length up front or streams
  it in chunks.
- `ConcurrencyLimitMiddleware`: beyond `limit` requests in flight, a request is answered 429
  with Retry-After at once, instead of queueing behind the others (the engine is the
  bottleneck; a queue only adds latency and hides the overload from the load balancer).
- `MetricsMiddleware`: counts and times every request by its route template.
- `Lifecycle`: per-request timeouts, and the drain at shutdown: new work is refused (503),
  running work gets the grace period, then is aborted cleanly (a JSON error, or an error
  event at the end of a stream) before the server cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Collection
from typing import Any, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from radixagent.errors import (
    AuthenticationError,
    BodyTimeoutError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServerBusyError,
    ServerShuttingDownError,
)
from radixagent.server.auth import identify
from radixagent.server.config import ServerSettings
from radixagent.server.errors import describe, error_response, server_failure
from radixagent.server.metrics import ServerMetrics

logger = logging.getLogger(__name__)

T = TypeVar("T")

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Operations endpoints stay answerable when the server is full."""

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/ui/login"})
"""Answered without an API key: the probes, the API's own description, the dashboard's login page."""

PUBLIC_PREFIXES = ("/ui/static/",)
"""The dashboard's stylesheet and scripts: the same for everyone, no data in them."""


class UnexpectedErrorMiddleware:
    """The last line: an exception no handler answered is a 500 with an error id (one log
    line with the same id), and is not raised on into the server's traceback log."""

    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            self.metrics.failures.labels(type=type(exc).__name__).inc()
            problem = server_failure(exc, scope.get("method", "?"), scope.get("path", "?"))
            if not started:
                await error_response(problem)(scope, receive, send)
            else:  # the answer had begun: end it (the log line says what happened)
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})


class KeyCheckMiddleware:
    """With API keys configured, refuse a request without a valid one before reading its body
    (who the caller is, and what it may see, the routes' dependency works out again)."""

    def __init__(self, app: ASGIApp, *, settings: ServerSettings, metrics: ServerMetrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.api_keys or scope["path"] in PUBLIC_PATHS or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        authorization = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), "")
        try:
            identify(self.settings, authorization)
        except AuthenticationError as exc:
            self.metrics.rejected.labels(reason="unauthorized").inc()
            await _answer(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, metrics: ServerMetrics, timeout: float = 10.0) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    self.metrics.rejected.labels(reason="too_large").inc()
                    await _answer(scope, receive, send, RequestTooLargeError(self.limit))
                    return
        # Read the body here, up to the limit and within the timeout, and replay it: the app's
        # own body parsing would turn an error raised mid-read into a generic 400, and would
        # wait for a slow client for ever.
        chunks: list[bytes] = []
        received = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        chunks = []
                        break
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > self.limit:
                        self.metrics.rejected.labels(reason="too_large").inc()
                        await _answer(scope, receive, send, RequestTooLargeError(self.limit))
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            self.metrics.rejected.labels(reason="body_timeout").inc()
            response = error_response(describe(BodyTimeoutError(self.timeout)))
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ConcurrencyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, limit: int, retry_after_s: float, metrics: ServerMetrics, exempt: Collection[str] = EXEMPT_PATHS
    ) -> None:
        self.app = app
        self.limit = limit
        self.retry_after_s = retry_after_s
        self.metrics = metrics
        self.exempt = frozenset(exempt)
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            self.metrics.rejected.labels(reason="busy").inc()
            await _answer(scope, receive, send, ServerBusyError(self.limit, self.retry_after_s))
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, watched)
        finally:
            self.metrics.in_flight.dec()
            route = route_of(scope)
            self.metrics.requests.labels(method=scope["method"], route=route, status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - started)


def route_of(scope: Scope) -> str:
    """The route template (`/v1/sessions/{session_id}`), never the raw path: bounded labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return scope["path"] if scope["path"] in EXEMPT_PATHS else "unmatched"


async def _answer(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    await error_response(describe(exc))(scope, receive, send)


class Lifecycle:
    """Per-request deadlines and the shutdown drain."""

    def __init__(self, request_timeout: float) -> None:
        self.request_timeout = request_timeout
        self.draining = False
        self._abort: asyncio.Event | None = None
        self._timer: asyncio.TimerHandle | None = None

    def _event(self) -> asyncio.Event:
        if self._abort is None:
            self._abort = asyncio.Event()
        return self._abort

    def check_accepting(self) -> None:
        if self.draining:
            raise ServerShuttingDownError()

    def begin_drain(self, grace_s: float) -> None:
        """Refuse new work; abort what still runs after `grace_s` seconds."""
        if self.draining:
            return
        self.draining = True
        logger.info("draining: no new requests; running ones get %.1f s", grace_s)
        self._timer = asyncio.get_running_loop().call_later(grace_s, self.abort_now)

    def abort_now(self) -> None:
        self.draining = True
        self._event().set()

    def deadline(self, timeout: float | None = None) -> float:
        return time.monotonic() + (timeout if timeout is not None else self.request_timeout)

    async def run(self, work: Awaitable[T], *, deadline: float | None = None) -> T:
        """Await `work` until it finishes, the deadline passes (RequestTimeoutError) or the
        drain aborts it (ServerShuttingDownError); in the last two cases it is cancelled."""
        task: asyncio.Future[T] = asyncio.ensure_future(work)
        aborted = asyncio.ensure_future(self._event().wait())
        remaining = (deadline if deadline is not None else self.deadline()) - time.monotonic()
        try:
            waited: set[asyncio.Future[Any]] = {task, aborted}
            done, _ = await asyncio.wait(waited, timeout=max(remaining, 0.0), return_when=asyncio.FIRST_COMPLETED)
        finally:
            aborted.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if task in done:
            return task.result()
        if aborted in done:
            raise ServerShuttingDownError()
        raise RequestTimeoutError(self.request_timeout)
