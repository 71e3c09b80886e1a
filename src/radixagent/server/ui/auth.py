"""How a browser authenticates to the dashboard: a login cookie, accepted on few paths.

A browser cannot put `Authorization: Bearer` on a page load or on an `EventSource`, so
`/ui/login` sets the API key as a cookie (HttpOnly: page scripts cannot read it;
SameSite=Strict: other sites' pages do not send it; Secure over HTTPS). `UiCookieMiddleware`
turns that cookie into the Bearer header the rest of the server checks, and does so ONLY for

- the dashboard's pages (`/ui`, `/ui/sessions/{id}`: GET, reading only), which redirect to
  `/ui/login` without a valid key;
- `/v1/events` (GET, the live feed the pages listen to);
- `/ui/api/...`, the JSON the pages' scripts fetch, which also needs the `X-CSRF-Token`
  header: a value derived from the key (`csrf_token`) that only the server's own pages carry.
  `/ui/api/v1/...` is the API itself for the routes in `PROXIED` (a request there continues as
  `/v1/...`, as if it came with the key).

Everywhere else the cookie means nothing: a cookie is sent by the browser on its own, so any
route that accepted it could be driven by another page the user opens (cross-site request
forgery); a Bearer header is never sent on its own. The state-changing requests the dashboard
makes (approving a tool call) go through `/ui/api/v1/...` with the CSRF token in a header: a
page on another origin can neither read the token (the same-origin policy) nor send a custom
header without a CORS preflight this server never grants. docs/security.md says more.

A request that brings its own Authorization header is left as it is: it is not a browser's
ambient credential, so it needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from http.cookies import SimpleCookie
from urllib.parse import quote

from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from radixagent.errors import AuthenticationError, CsrfTokenError
from radixagent.server.auth import identify
from radixagent.server.config import ServerSettings
from radixagent.server.errors import ErrorDetail, describe, error_body, error_response
from radixagent.server.metrics import ServerMetrics

COOKIE = "radixagent_ui"
CSRF_HEADER = "x-csrf-token"
COOKIE_MAX_AGE_S = 8 * 3600

PUBLIC_UI_PATHS = frozenset({"/ui/login"})
PUBLIC_UI_PREFIX = "/ui/static/"
"""The login page and the stylesheet and scripts: no key needed (they hold no data)."""

API_PREFIX = "/ui/api/v1/"

PROXIED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("GET", re.compile(r"/v1/sessions(/[^/]+(/(tree|status|approvals))?)?")),
    ("POST", re.compile(r"/v1/sessions/[^/]+/approvals/[^/]+")),
)
"""The API routes the dashboard's scripts may call by cookie: reading sessions, and deciding
on a pending tool call. Nothing else (no runs, no deletes) is reachable through the cookie."""


def csrf_token(key: str) -> str:
    """The CSRF token of a key: fixed for the key (so every replica agrees, with no state),
    and not the key (a token that leaks into a page does not give the key away)."""
    return hmac.new(key.encode(), b"radixagent-ui-csrf", hashlib.sha256).hexdigest()


def cookie_key(scope: Scope) -> str | None:
    """The API key in the request's login cookie, if any."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header: as if there were none
                continue
            if COOKIE in jar and jar[COOKIE].value:
                return jar[COOKIE].value
    return None


def is_ui_path(path: str) -> bool:
    return path == "/ui" or path.startswith("/ui/")


def is_public(path: str) -> bool:
    return path in PUBLIC_UI_PATHS or path.startswith(PUBLIC_UI_PREFIX)


class UiCookieMiddleware:
    """Runs before the key check: for the dashboard's paths and the event feed, the login
    cookie stands in for the Bearer header (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, settings: ServerSettings, metrics: ServerMetrics) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (is_ui_path(path) or path == "/v1/events") or is_public(path):
            await self.app(scope, receive, send)  # the cookie means nothing here
            return
        headers = {name: value for name, value in scope.get("headers", [])}
        api = path.startswith("/ui/api/")
        if b"authorization" not in headers:
            key = cookie_key(scope)
            problem = self._check(key, headers, api=api)
            if problem is not None:
                self.metrics.rejected.labels(reason="unauthorized").inc()
                if api or path == "/v1/events":
                    await error_response(describe(problem))(scope, receive, send)
                else:
                    await _redirect(scope, receive, send, "/ui/login?next=" + quote(path, safe="/"))
                return
            if key is not None and self.settings.api_keys:
                scope = dict(scope, headers=[*scope.get("headers", []), (b"authorization", b"Bearer " + key.encode("latin-1"))])
        if path.startswith(API_PREFIX):
            target = path[len("/ui/api") :]
            method = scope.get("method", "GET")
            if not any(method == m and pattern.fullmatch(target) for m, pattern in PROXIED):
                await _not_proxied(scope, receive, send)
                return
            scope = dict(scope, path=target, raw_path=target.encode())
        await self.app(scope, receive, send)

    def _check(self, key: str | None, headers: dict[bytes, bytes], *, api: bool) -> Exception | None:
        """Why the request may not go on by its cookie, or None."""
        if self.settings.api_keys:
            if key is None:
                return AuthenticationError("This dashboard request has no login cookie: log in at /ui/login.")
            try:
                identify(self.settings, "Bearer " + key)
            except AuthenticationError as exc:
                return exc
        if api:
            given = headers.get(CSRF_HEADER.encode(), b"").decode("latin-1")
            if not hmac.compare_digest(given.encode(), csrf_token(key or "").encode()):
                return CsrfTokenError()
        return None


async def _redirect(scope: Scope, receive: Receive, send: Send, location: str) -> None:
    await RedirectResponse(location, status_code=303)(scope, receive, send)


async def _not_proxied(scope: Scope, receive: Receive, send: Send) -> None:
    detail = ErrorDetail(
        message="The dashboard's scripts do not reach this API route: call /v1 with an 'Authorization: Bearer <key>' header.",
        type="not_found_error",
        code="not_found",
    )
    await JSONResponse(error_body(detail), status_code=404)(scope, receive, send)
