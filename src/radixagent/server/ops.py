"""Operations: liveness, readiness, metrics. Never behind the concurrency limit; `/metrics`
needs the API key when keys are configured, the probes do not."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel

from radixagent.server.deps import State, require_api_key
from radixagent.server.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])

READY_TIMEOUT_S = 5.0


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready", "draining"]
    engine: str
    model: str = ""
    detail: str = ""


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process answers: restart it if this fails."""
    return Liveness()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(state: State) -> JSONResponse:
    """The engine answers and the server takes work: route traffic here only when 200."""
    engine = state.engine
    if state.lifecycle.draining:
        body = Readiness(status="draining", engine=engine.name, detail="the server is shutting down")
        return JSONResponse(body.model_dump(), status_code=503)
    try:
        health = await asyncio.wait_for(asyncio.shield(engine.health()), READY_TIMEOUT_S)  # a slow check goes on
    except TimeoutError:
        body = Readiness(status="not_ready", engine=engine.name, detail=f"the engine did not answer within {READY_TIMEOUT_S:g} s")
        return JSONResponse(body.model_dump(), status_code=503)
    body = Readiness(status="ready" if health.ok else "not_ready", engine=engine.name, model=health.model, detail=health.detail)
    return JSONResponse(body.model_dump(), status_code=200 if health.ok else 503)


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(require_api_key)])
async def metrics(state: State) -> PlainTextResponse:
    """Prometheus text format."""
    return PlainTextResponse(state.metrics.render(), media_type=CONTENT_TYPE)
