"""The dashboard's pages and the JSON their scripts fetch.

    GET  /ui                        the sessions, with overall charts, updating live
    GET  /ui/sessions/{id}          one session: its tree, each step, charts, feedback, approvals
    GET  /ui/login, POST /ui/login  the key, kept as an HttpOnly cookie (server/ui/auth.py)
    POST /ui/logout                 forget it
    GET  /ui/api/sessions           the sessions list with their numbers (JSON)
    GET  /ui/api/usage              each engine call's numbers, oldest first (JSON; ?session_id=)
    /ui/api/v1/...                  the API routes the pages read (server/ui/auth.py PROXIED)

Every page and JSON route shows only the sessions of the caller's key (an admin key: all),
with the same ownership check as the API (`owned`, `Caller.lists`).
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from radixagent.errors import AuthenticationError
from radixagent.server.auth import Caller, identify
from radixagent.server.deps import CallerDep, State, require_api_key
from radixagent.server.sessions import SessionInfo, owned
from radixagent.server.state import AppState
from radixagent.server.ui.auth import COOKIE, COOKIE_MAX_AGE_S, cookie_key, csrf_token

PACKAGE = Path(str(files("radixagent.server.ui")))
STATIC_DIR = PACKAGE / "static"
templates = Jinja2Templates(directory=str(PACKAGE / "templates"))  # autoescapes .html: text from models stays text

pages = APIRouter(prefix="/ui", include_in_schema=False)
api = APIRouter(prefix="/ui/api", include_in_schema=False, dependencies=[Depends(require_api_key)])

MAX_SESSIONS = 100
MAX_POINTS = 1000


# --- what the scripts read ---------------------------------------------------------------------


class SessionRow(BaseModel):
    """A session and its numbers, as the sessions list shows them."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    model: str | None = None
    runs: int = Field(description="agent runs (a run paused for approval and its resumption are two)")
    steps: int = Field(description="engine calls")
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cache_hit_rate: float
    mean_latency_ms: float = Field(description="per step")


class SessionRows(BaseModel):
    data: list[SessionRow]


class UsagePoint(BaseModel):
    """One engine call."""

    at: datetime
    session_id: str
    node_id: str | None
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    latency_ms: float
    cache_hit_rate: float


class UsageSeries(BaseModel):
    data: list[UsagePoint]


def _rows(state: AppState, caller: Caller) -> list[SessionRow]:
    store = state.store
    rows = []
    for record in store.list_sessions(MAX_SESSIONS, 0, owner=caller.lists):
        totals = store.usage_totals(record.id)
        rows.append(
            SessionRow(
                id=record.id,
                title=record.title,
                created_at=record.created_at,
                updated_at=record.updated_at,
                model=record.engine_settings.get("model"),
                runs=len(store.list_runs(record.id)),
                steps=totals.calls,
                prompt_tokens=totals.prompt_tokens,
                cached_tokens=totals.cached_tokens,
                completion_tokens=totals.completion_tokens,
                cache_hit_rate=totals.cache_hit_rate,
                mean_latency_ms=totals.latency_ms / totals.calls if totals.calls else 0.0,
            )
        )
    return rows


def _usage(state: AppState, caller: Caller, session_id: str | None) -> list[UsagePoint]:
    store = state.store
    if session_id is not None:
        records = store.list_usage(session_id)
    else:
        records = store.list_usage()
        if not caller.admin:
            mine = {s.id for s in store.list_sessions(1_000_000, 0, owner=caller.lists)} if caller.owner is not None else set()
            records = [r for r in records if r.session_id in mine]
    records.sort(key=lambda r: r.at)
    return [
        UsagePoint(
            at=r.at,
            session_id=r.session_id,
            node_id=r.node_id,
            prompt_tokens=r.prompt_tokens,
            cached_tokens=r.cached_tokens,
            completion_tokens=r.completion_tokens,
            latency_ms=r.latency_ms,
            cache_hit_rate=r.cached_tokens / r.prompt_tokens if r.prompt_tokens else 0.0,
        )
        for r in records[-MAX_POINTS:]
    ]


@api.get("/sessions", response_model=SessionRows)
async def session_rows(state: State, caller: CallerDep) -> SessionRows:
    return SessionRows(data=await asyncio.to_thread(_rows, state, caller))


@api.get("/usage", response_model=UsageSeries)
async def usage(state: State, caller: CallerDep, session_id: Annotated[str | None, Query(max_length=200)] = None) -> UsageSeries:
    if session_id is not None:
        await owned(state, caller, session_id)
    return UsageSeries(data=await asyncio.to_thread(_usage, state, caller, session_id))


# --- pages -------------------------------------------------------------------------------------


PAGE_HEADERS = {
    # scripts and styles from this server only, no framing (the approve buttons must not be
    # clickable through someone else's page), no caching of pages that carry data and a token
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=PAGE_HEADERS)


def _page_context(request: Request, state: AppState) -> dict[str, Any]:
    return {
        "csrf": csrf_token(cookie_key(request.scope) or ""),
        "keys": bool(state.settings.api_keys),
        "model": state.model_name,
    }


@pages.get("", response_class=HTMLResponse, dependencies=[Depends(require_api_key)])
async def index(request: Request, state: State, caller: CallerDep) -> Response:
    rows = await asyncio.to_thread(_rows, state, caller)
    return _page(request, "index.html", {**_page_context(request, state), "rows": rows, "admin": caller.admin})


@pages.get("/sessions/{session_id}", response_class=HTMLResponse, dependencies=[Depends(require_api_key)])
async def session_page(request: Request, session_id: str, state: State, caller: CallerDep) -> Response:
    info = SessionInfo.of(await owned(state, caller, session_id))  # another key's session: 404, as in the API
    return _page(request, "session.html", {**_page_context(request, state), "session": info})


@pages.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, state: State, next: str = "/ui") -> Response:
    return _page(request, "login.html", {"keys": bool(state.settings.api_keys), "next": _safe_next(next), "error": ""})


@pages.post("/login", response_class=HTMLResponse)
async def login(request: Request, state: State) -> Response:
    """Check the key and keep it in the cookie; a wrong one shows the form again (401)."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0].strip()
    target = _safe_next((form.get("next") or ["/ui"])[0])
    if state.settings.api_keys:
        try:
            identify(state.settings, "Bearer " + key)
        except AuthenticationError:
            state.metrics.rejected.labels(reason="unauthorized").inc()
            context = {"keys": True, "next": target, "error": "That is not a key this server accepts."}
            return _page(request, "login.html", context, status_code=401)
    response = RedirectResponse(target, status_code=303)
    if state.settings.api_keys:
        response.set_cookie(
            COOKIE,
            key,
            max_age=COOKIE_MAX_AGE_S,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


@pages.post("/logout", dependencies=[Depends(require_api_key)])
async def logout(request: Request) -> Response:
    """Forget the cookie. The form carries the page's CSRF token, so another site cannot log
    the user out."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    given = (form.get("csrf") or [""])[0]
    if not hmac.compare_digest(given.encode(), csrf_token(cookie_key(request.scope) or "").encode()):
        return RedirectResponse("/ui", status_code=303)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _safe_next(target: str) -> str:
    """Only a dashboard path: never an open redirect to another site."""
    if target == "/ui" or (target.startswith("/ui/") and not target.startswith("/ui//") and "\\" not in target):
        return target
    return "/ui"
