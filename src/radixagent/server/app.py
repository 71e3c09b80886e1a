"""The FastAPI application: `create_app()` wires settings, engine, store and tools.

    app = create_app()                                    # engine and store from RADIXAGENT_* settings
    app = create_app(engine=ScriptedEngine([...]), store=SQLiteStore(":memory:"), tools=[...])

Routers per resource: `openai` (/v1/chat/completions, /v1/models), `sessions` (/v1/sessions...),
`ops` (/healthz, /readyz, /metrics), `feed` (/v1/events), and the dashboard `ui` (/ui).
Middleware, outermost first: the client's trace context (while tracing is configured),
unexpected errors (a 500 with an error id), metrics, the
dashboard's login cookie (server/ui/auth.py), the key check, the body (size and deadline), the concurrency
limit: a request takes a slot only once its key is checked and its body is in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from radixagent.engine.base import Engine
from radixagent.memory.store import Store
from radixagent.schemas import ToolDefinition
from radixagent.server import feed, openai, ops, sessions
from radixagent.server.config import ServerSettings
from radixagent.server.errors import install_error_handlers
from radixagent.server.limits import (
    EXEMPT_PATHS,
    BodySizeLimitMiddleware,
    ConcurrencyLimitMiddleware,
    KeyCheckMiddleware,
    MetricsMiddleware,
    UnexpectedErrorMiddleware,
)
from radixagent.server.state import AppState
from radixagent.server.tracing import TraceContextMiddleware
from radixagent.server.ui import UiCookieMiddleware, install


def create_app(
    settings: ServerSettings | None = None,
    *,
    engine: Engine | None = None,
    store: Store | None = None,
    tools: Sequence[ToolDefinition] | None = None,
    close_on_shutdown: bool = False,
) -> FastAPI:
    """A radixagent server app. `engine` (default: `radixagent.engine.create_engine()`),
    `store` (default: `open_store(settings.database_url)`) and `tools` (the catalogue sessions
    choose from; default: the built-in tools) may be given; given ones stay open at shutdown
    unless `close_on_shutdown`."""
    settings = settings or ServerSettings()
    state = AppState(settings, engine=engine, store=store, tools=tools, close_on_shutdown=close_on_shutdown)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = FastAPI(
        title="radixagent",
        version=version("radixagent"),
        summary="OpenAI-compatible chat completions with valid tool calls, and agent sessions.",
        lifespan=lifespan,
    )
    app.state.radixagent = state
    install_error_handlers(app, state.metrics)
    app.include_router(ops.router)
    app.include_router(openai.router)
    app.include_router(sessions.router)
    app.include_router(feed.router)
    install(app)  # the dashboard, /ui
    # the last added runs first
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrency,
        retry_after_s=settings.retry_after_s,
        metrics=state.metrics,
        exempt=EXEMPT_PATHS | {"/v1/events"},  # a feed listener waits for hours: the hub caps them instead
    )
    app.add_middleware(BodySizeLimitMiddleware, limit=settings.max_body_bytes, metrics=state.metrics, timeout=settings.body_timeout)
    app.add_middleware(KeyCheckMiddleware, settings=settings, metrics=state.metrics)
    app.add_middleware(UiCookieMiddleware, settings=settings, metrics=state.metrics)  # the login cookie, on /ui and /v1/events only
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(UnexpectedErrorMiddleware, metrics=state.metrics)
    app.add_middleware(TraceContextMiddleware)
    return app
