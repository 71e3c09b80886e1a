"""FastAPI dependencies: the server's state, API keys, and the drain check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from radixagent.errors import AuthenticationError
from radixagent.server.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.radixagent
    return state


State = Annotated[AppState, Depends(get_state)]


def require_api_key(request: Request, state: State) -> None:
    """With API keys configured, every request must carry one as a Bearer token (compared in
    constant time); without, the server is open (bind it to loopback)."""
    keys = state.settings.api_keys
    if not keys:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        state.metrics.rejected.labels(reason="unauthorized").inc()
        raise AuthenticationError("This server needs an API key, and the request has none.")
    token = token.strip()
    if not any(hmac.compare_digest(token.encode(), key.encode()) for key in keys):
        state.metrics.rejected.labels(reason="unauthorized").inc()
        raise AuthenticationError("The API key is not one this server accepts.")


def accepting(state: State) -> None:
    """Refuse new work while the server drains for shutdown."""
    if state.lifecycle.draining:
        state.metrics.rejected.labels(reason="draining").inc()
    state.lifecycle.check_accepting()


Protected = [Depends(require_api_key), Depends(accepting)]
