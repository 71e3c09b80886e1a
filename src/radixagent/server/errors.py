"""Every error as JSON in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.

A request a user got wrong is a 4xx that says what to fix; an engine or store failure is a
5xx that says what failed; nothing answers with a traceback. The errors only the server
raises (AuthenticationError 401, ServerBusyError 429, RequestTooLargeError 413, BodyTimeoutError
408, RequestLimitError 400, RequestTimeoutError 504, ServerShuttingDownError 503) are in the
package's one tree, `radixagent.errors`.

A 5xx carries an error id (`error.error_id`, and in the message); the server's log has one
line with the same id saying what failed, never a traceback spread over many lines.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from radixagent.errors import (
    ApprovalNotFoundError,
    ApprovalPendingError,
    AuthenticationError,
    BodyTimeoutError,
    ChatInputError,
    CircuitOpenError,
    ConfigurationError,
    ConstraintError,
    ContextOverflowError,
    CsrfTokenError,
    DecisionError,
    EngineCapabilityError,
    EngineError,
    EngineHTTPError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InputError,
    NodeNotFoundError,
    OutputValidationError,
    RadixAgentError,
    RequestLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServerBusyError,
    ServerShuttingDownError,
    SessionNotFoundError,
    StoreError,
    ToolError,
    UnknownToolError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

    from radixagent.server.metrics import ServerMetrics

logger = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None
    error_id: str | None = None
    """For a 5xx: the id of the one log line that says what failed."""


class ErrorBody(BaseModel):
    """OpenAI's error body."""

    error: ErrorDetail


class Problem(BaseModel):
    """How an exception is answered."""

    status: int
    detail: ErrorDetail
    retry_after: float | None = None


def _problem(status: int, type_: str, code: str, exc: BaseException, *, param: str | None = None, retry_after: float | None = None) -> Problem:
    return Problem(
        status=status,
        detail=ErrorDetail(message=str(exc), type=type_, param=param if param is not None else getattr(exc, "param", None), code=code),
        retry_after=retry_after,
    )


def describe(exc: BaseException) -> Problem:
    """The status and OpenAI error body for an exception radixagent raised."""
    bad = "invalid_request_error"
    if isinstance(exc, ChatInputError):
        return _problem(400, bad, exc.code, exc)
    if isinstance(exc, CsrfTokenError):
        return _problem(403, "permission_error", "csrf_token_invalid", exc)
    if isinstance(exc, AuthenticationError):
        return _problem(401, "authentication_error", "invalid_api_key", exc)
    if isinstance(exc, ServerBusyError):
        return _problem(429, "rate_limit_error", "too_many_requests", exc, retry_after=exc.retry_after_s)
    if isinstance(exc, RequestTimeoutError):
        return _problem(504, "timeout_error", "request_timeout", exc)
    if isinstance(exc, ServerShuttingDownError):
        return _problem(503, "service_unavailable_error", "shutting_down", exc, retry_after=1.0)
    if isinstance(exc, RequestTooLargeError):
        return _problem(413, bad, "request_too_large", exc)
    if isinstance(exc, BodyTimeoutError):
        return _problem(408, bad, "body_timeout", exc)
    if isinstance(exc, RequestLimitError):
        return _problem(400, bad, "limit_exceeded", exc)
    if isinstance(exc, SessionNotFoundError):
        return _problem(404, "not_found_error", "session_not_found", exc, param="session_id")
    if isinstance(exc, NodeNotFoundError):
        return _problem(404, "not_found_error", "node_not_found", exc, param="node_id")
    if isinstance(exc, ApprovalNotFoundError):
        return _problem(404, "not_found_error", "approval_not_found", exc, param="call_id")
    if isinstance(exc, ApprovalPendingError):
        return _problem(409, bad, "approval_pending", exc)
    if isinstance(exc, UnknownToolError):
        return _problem(400, bad, "unknown_tool", exc, param=getattr(exc, "param", None) or "tools")
    if isinstance(exc, ToolError):
        return _problem(400, bad, "invalid_tool", exc)
    if isinstance(exc, ConstraintError):
        return _problem(400, bad, "invalid_schema", exc)
    if isinstance(exc, ContextOverflowError):
        return _problem(400, bad, "context_length_exceeded", exc, param="messages")
    if isinstance(exc, InputError | ConfigurationError):
        return _problem(400, bad, "invalid_request", exc)
    if isinstance(exc, CircuitOpenError):
        return _problem(503, "service_unavailable_error", "engine_unavailable", exc, retry_after=max(exc.retry_in_s, 1.0))
    if isinstance(exc, EngineUnavailableError):
        return _problem(503, "service_unavailable_error", "engine_unavailable", exc, retry_after=1.0)
    if isinstance(exc, EngineTimeoutError):
        return _problem(504, "timeout_error", "engine_timeout", exc)
    if isinstance(exc, EngineHTTPError) and exc.status_code == 429:
        return _problem(429, "rate_limit_error", "engine_busy", exc, retry_after=exc.retry_after or 1.0)
    if isinstance(exc, EngineCapabilityError):
        return _problem(501, "not_implemented_error", "unsupported_by_engine", exc)
    if isinstance(exc, EngineResponseError | DecisionError | OutputValidationError):
        return _problem(502, "engine_error", "bad_engine_output", exc)
    if isinstance(exc, EngineError):
        return _problem(502, "engine_error", "engine_failed", exc)
    if isinstance(exc, StoreError):
        return _problem(503, "service_unavailable_error", "store_unavailable", exc, retry_after=1.0)
    return Problem(
        status=500,
        detail=ErrorDetail(message="The server failed on its own; the error was logged.", type="server_error", code="internal_error"),
    )


def stream_error(exc: BaseException, method: str, path: str) -> ErrorDetail:
    """The error event that ends a stream: as `describe` says, with an error id for a 5xx."""
    problem = describe(exc)
    return server_failure(exc, method, path).detail if problem.status >= 500 else problem.detail


def error_response(problem: Problem) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(problem.retry_after)))} if problem.retry_after is not None else {}
    if problem.detail.error_id is not None:
        headers["X-Error-Id"] = problem.detail.error_id
    return JSONResponse(error_body(problem.detail), status_code=problem.status, headers=headers or None)


def error_body(detail: ErrorDetail) -> dict[str, Any]:
    """OpenAI's error body; `error_id` only where there is one."""
    return ErrorBody(error=detail).model_dump(exclude={"error": {"error_id"}} if detail.error_id is None else None)


def new_error_id() -> str:
    return uuid.uuid4().hex[:16]


def where_raised(exc: BaseException) -> str:
    """`file:line in function` of the innermost frame: enough to find it, on one line."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"


def server_failure(exc: BaseException, method: str, path: str) -> Problem:
    """The answer to an error that is the server's own (5xx): an id in the client's error,
    and the same id on one log line. Unexpected errors say where they were raised."""
    problem = describe(exc)
    error_id = new_error_id()
    message = " ".join(str(exc).split())[:500]
    if problem.status == 500:
        logger.error(
            "error %s: %s %s failed unexpectedly: %s: %s (at %s)", error_id, method, path, type(exc).__name__, message, where_raised(exc)
        )
    else:
        logger.warning("error %s: %s %s failed: %s: %s", error_id, method, path, type(exc).__name__, message)
    detail = problem.detail.model_copy(update={"error_id": error_id, "message": f"{problem.detail.message} (error id {error_id})"})
    return problem.model_copy(update={"detail": detail})


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = list(exc.errors())
    first: dict[str, Any] = dict(errors[0]) if errors else {"loc": (), "msg": "invalid request", "type": "value_error"}
    if first.get("type") == "json_invalid":
        detail = first.get("ctx", {}).get("error", "")
        return Problem(
            status=400,
            detail=ErrorDetail(
                message=f"The request body is not valid JSON{f' ({detail})' if detail else ''}: send one JSON object.",
                type="invalid_request_error",
                code="invalid_json",
            ),
        )
    if tuple(first.get("loc", ())) == ("body",) and first.get("type") in ("model_attributes_type", "dict_type", "missing"):
        return Problem(
            status=400,
            detail=ErrorDetail(
                message="The request body must be one JSON object, sent with 'Content-Type: application/json'.",
                type="invalid_request_error",
                code="invalid_json",
            ),
        )
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body",)]
    param = ".".join(p if not p.isdigit() else f"[{p}]" for p in loc).replace(".[", "[") or None
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return Problem(
        status=400,
        detail=ErrorDetail(
            message=f"{param or 'body'}: {first.get('msg', 'invalid value')}{more}.",
            type="invalid_request_error",
            param=param,
            code="invalid_value" if first.get("type") != "missing" else "missing_field",
        ),
    )


_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def install_error_handlers(app: FastAPI, metrics: ServerMetrics) -> None:
    """Answer every error in OpenAI's shape and count it by type."""

    async def on_radixagent(request: Request, exc: Exception) -> JSONResponse:
        problem = describe(exc)
        metrics.failures.labels(type=type(exc).__name__).inc()
        if problem.status >= 500:
            problem = server_failure(exc, request.method, request.url.path)
        return error_response(problem)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        metrics.failures.labels(type="RequestValidationError").inc()
        return error_response(_validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        metrics.failures.labels(type=f"HTTP{exc.status_code}").inc()
        message = exc.detail if isinstance(exc.detail, str) else "The request cannot be answered."
        if exc.status_code == 404 and message == "Not Found":
            message = f"No endpoint at {request.method} {request.url.path}: see docs/serving.md for the endpoints."
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}: see docs/serving.md for the endpoints."
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error" if exc.status_code < 500 else "server_error"
        problem = Problem(status=exc.status_code, detail=ErrorDetail(message=message, type=kind, code=_HTTP_CODES.get(exc.status_code)))
        response = error_response(problem)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        # only reached for an error outside the app's own middleware (UnexpectedErrorMiddleware
        # answers the rest without letting them reach uvicorn's traceback log)
        metrics.failures.labels(type=type(exc).__name__).inc()
        return error_response(server_failure(exc, request.method, request.url.path))

    app.add_exception_handler(RadixAgentError, on_radixagent)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
