"""`/v1/chat/completions` and `/v1/models`: the OpenAI API, with valid tool calls.

Any OpenAI client works unchanged. The `model` a request names is accepted whatever it is
(clients often hard-code one) and the answer names the model the engine serves. Streaming
follows OpenAI's chunk format and ends with `data: [DONE]`; an error after the stream began
arrives as a `data: {"error": {...}}` event, which OpenAI's clients raise.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse

from radixagent.chat import ChatDelta, ChatRequest, ChatResult
from radixagent.chat.wire import (
    ChatCompletionChunk,
    ChatCompletionOut,
    ChoiceOut,
    ChunkChoice,
    Delta,
    FunctionDelta,
    FunctionOut,
    MessageOut,
    ModelList,
    ModelOut,
    ToolCallDelta,
    ToolCallOut,
    UsageOut,
)
from radixagent.errors import RadixAgentError
from radixagent.server.bounds import check_chat_request
from radixagent.server.deps import Protected, State
from radixagent.server.errors import ErrorBody, error_body, stream_error
from radixagent.server.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event
from radixagent.server.state import AppState

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=Protected)

ROUTE = "/v1/chat/completions"


# --- endpoints -------------------------------------------------------------------------------


def _completion(result: ChatResult, completion_id: str, created: int) -> ChatCompletionOut:
    calls = [ToolCallOut(id=c.id, function=FunctionOut(name=c.name, arguments=c.arguments)) for c in result.tool_calls]
    return ChatCompletionOut(
        id=completion_id,
        created=created,
        model=result.model,
        choices=[
            ChoiceOut(
                message=MessageOut(content=result.content, tool_calls=calls or None),
                finish_reason=result.finish_reason,
            )
        ],
        usage=UsageOut.of(result.usage),
    )


def _record(state: AppState, result: ChatResult) -> None:
    metrics = state.metrics
    metrics.record_usage(result.usage)
    metrics.record_timing(ROUTE, result.latency_ms, result.engine_ms)
    for call in result.tool_calls:
        metrics.tool_calls.labels(tool=call.name, outcome="returned").inc()


def _server_timing(result: ChatResult) -> dict[str, str]:
    return {"Server-Timing": f"engine;dur={result.engine_ms:.2f}, total;dur={result.latency_ms:.2f}"}


@router.post(
    "/chat/completions",
    response_model=ChatCompletionOut,
    responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 429: {"model": ErrorBody}},
)
async def chat_completions(body: ChatRequest, state: State) -> JSONResponse | StreamingResponse:
    """A chat completion; with `tools`, tool calls that are valid by construction."""
    check_chat_request(body, state.settings)  # bounds on the work, and the schemas as data: before any engine call
    completion_id = "chatcmpl-" + uuid.uuid4().hex[:24]
    created = int(time.time())
    lifecycle = state.lifecycle
    deadline = lifecycle.deadline()
    if not body.stream:
        result = await lifecycle.run(state.completer.complete(body), deadline=deadline)
        _record(state, result)
        return JSONResponse(_completion(result, completion_id, created).model_dump(mode="json"), headers=_server_timing(result))

    deltas = state.completer.stream(body).__aiter__()
    # The first delta (or the error) before the answer starts: a bad request is still a 4xx.
    first = await lifecycle.run(anext(deltas), deadline=deadline)
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(
        _chunks(state, first, deltas, deadline, completion_id, created, include_usage),
        media_type=SSE_MEDIA_TYPE,
        headers=SSE_HEADERS,
    )


async def _chunks(
    state: AppState,
    first: ChatDelta,
    deltas: AsyncIterator[ChatDelta],
    deadline: float,
    completion_id: str,
    created: int,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    model = state.model_name

    def chunk(delta: Delta, finish_reason: str | None = None) -> bytes:
        body = ChatCompletionChunk(id=completion_id, created=created, model=model, choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)])
        return sse_event(body.model_dump_json(exclude_none=True))

    try:
        yield chunk(Delta(role="assistant", content=""))
        delta: ChatDelta | None = first
        while delta is not None:
            if delta.result is not None:
                result = delta.result
                _record(state, result)
                for i, call in enumerate(result.tool_calls):
                    yield chunk(
                        Delta(tool_calls=[ToolCallDelta(index=i, id=call.id, type="function", function=FunctionDelta(name=call.name, arguments=call.arguments))])
                    )
                yield chunk(Delta(), result.finish_reason)
                if include_usage:
                    usage = ChatCompletionChunk(id=completion_id, created=created, model=model, choices=[], usage=UsageOut.of(result.usage))
                    yield sse_event(usage.model_dump_json(exclude_none=True))
                break
            if delta.text:
                yield chunk(Delta(content=delta.text))
            delta = await state.lifecycle.run(anext(deltas, None), deadline=deadline)
    except RadixAgentError as exc:
        state.metrics.failures.labels(type=type(exc).__name__).inc()
        yield sse_event(json.dumps(error_body(stream_error(exc, "POST", ROUTE))))
    finally:
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()
    yield sse_event("[DONE]")


@router.get("/models", response_model=ModelList)
async def list_models(state: State) -> ModelList:
    """The model the engine serves."""
    return ModelList(data=[ModelOut(id=state.model_name, created=state.started_at)])


@router.get("/models/{model_id:path}", response_model=ModelOut, responses={404: {"model": ErrorBody}})
async def get_model(model_id: str, state: State) -> ModelOut:
    if model_id != state.model_name:
        raise HTTPException(404, f"No model {model_id!r} here: this server serves {state.model_name!r}.")
    return ModelOut(id=state.model_name, created=state.started_at)
