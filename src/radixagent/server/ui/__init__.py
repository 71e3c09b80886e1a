"""The dashboard at /ui: server-rendered pages (Jinja2 templates) with plain scripts and SVG
charts, live from the event feed (GET /v1/events). No build step, nothing from a CDN: the
templates and static files ship in the package. docs/dashboard.md shows it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from radixagent.server.ui.auth import UiCookieMiddleware
from radixagent.server.ui.routes import STATIC_DIR, api, pages

__all__ = ["UiCookieMiddleware", "install"]


def install(app: FastAPI) -> None:
    """Add the dashboard's routes and static files to `app` (its middleware is added by
    `create_app`, in its place before the key check)."""
    app.include_router(pages)
    app.include_router(api)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
