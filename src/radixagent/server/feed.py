"""`GET /v1/events`: the live event feed, server-sent events of every run the caller may see.

    GET /v1/events                    every session of the caller's key (an admin key: all)
    GET /v1/events?session_id=ID      one session (404 if the key does not own it)

Each event is named by its `type` and carries a `FeedEvent` (server/hub.py) as JSON: `seq`,
`type`, `session_id`, `at` and the `event` itself (an agent event: `step`, `tool_call`,
`tool_result`, `approval_required`, `failure`, `run_end`; or `session_created`, `session_deleted`; or `dropped`
when this listener read too slowly and missed some). A comment line every
`KEEPALIVE_S` seconds keeps proxies from closing an idle stream. The stream ends when the
server starts draining. It holds no concurrency slot (the hub caps its listeners instead:
RADIXAGENT_EVENT_SUBSCRIBERS).

Browsers cannot set an Authorization header on an `EventSource`: this route (with the
dashboard's pages) also accepts the dashboard's login cookie (server/ui/auth.py,
docs/security.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from radixagent.server.deps import CallerDep, State, accepting, require_api_key
from radixagent.server.hub import Subscription
from radixagent.server.sessions import ERRORS, owned
from radixagent.server.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event
from radixagent.server.state import AppState

router = APIRouter(prefix="/v1", tags=["events"], dependencies=[Depends(require_api_key), Depends(accepting)])

KEEPALIVE_S = 15.0
TICK_S = 1.0
"""How often an idle stream checks whether the server drains."""


# Left out of /openapi.json: a stream that never ends is nothing a generated client (or the
# API fuzzer, which reads each answer to its end) can call; docs/dashboard.md describes it.
@router.get("/events", responses=ERRORS, response_class=StreamingResponse, include_in_schema=False)
async def events(state: State, caller: CallerDep, session_id: str | None = Query(None, max_length=200)) -> StreamingResponse:
    """Server-sent events of the runs of the caller's sessions, as they happen."""
    if session_id is not None:
        await owned(state, caller, session_id)
    subscription = state.events.subscribe(caller, session_id)
    # closed when the stream ends, and after the response in case the stream never started
    return StreamingResponse(
        _stream(state, subscription), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS, background=BackgroundTask(subscription.close)
    )


async def _stream(state: AppState, subscription: Subscription) -> AsyncIterator[bytes]:
    try:
        yield b": connected\n\n"  # the headers and a first byte: the client knows it is listening
        idle = 0.0
        while not state.lifecycle.draining:
            event = await subscription.next(TICK_S)
            if event is None:
                idle += TICK_S
                if idle >= KEEPALIVE_S:
                    idle = 0.0
                    yield b": keepalive\n\n"
                continue
            idle = 0.0
            yield sse_event(event.model_dump_json(), event=event.type, event_id=event.seq)
    finally:
        subscription.close()
