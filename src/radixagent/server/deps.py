"""FastAPI dependencies: the server's state, the caller (who the API key says it is, see
server/auth.py), and the drain check.

They are `async def` though none awaits: FastAPI runs a plain `def` dependency in its thread
pool, a thread hop per dependency per request for a few microseconds of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from radixagent.errors import AuthenticationError
from radixagent.server.auth import Caller, identify
from radixagent.server.state import AppState

__all__ = ["Caller", "CallerDep", "Protected", "State", "accepting", "get_state", "require_api_key"]


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.radixagent
    return state


State = Annotated[AppState, Depends(get_state)]


async def require_api_key(request: Request, state: State) -> Caller:
    """With API keys configured, every request must carry one as a Bearer token; without,
    the server is open (bind it to loopback)."""
    try:
        return identify(state.settings, request.headers.get("authorization", ""))
    except AuthenticationError:
        state.metrics.rejected.labels(reason="unauthorized").inc()
        raise


CallerDep = Annotated[Caller, Depends(require_api_key)]


async def accepting(state: State) -> None:
    """Refuse new work while the server drains for shutdown."""
    if state.lifecycle.draining:
        state.metrics.rejected.labels(reason="draining").inc()
    state.lifecycle.check_accepting()


Protected = [Depends(require_api_key), Depends(accepting)]
