"""`/v1/sessions`: agent sessions that persist, branch, and take feedback.

    POST   /v1/sessions                          create (system prompt, built-in tools by name, engine settings)
    GET    /v1/sessions                          list, most recently updated first
    GET    /v1/sessions/{id}                     one session
    DELETE /v1/sessions/{id}                     delete it with its tree
    POST   /v1/sessions/{id}/messages            run the agent on a user message (JSON, or SSE with "stream": true)
    POST   /v1/sessions/{id}/fork                run several messages, each on its own branch from a node
    PUT    /v1/sessions/{id}/head                move the current head: the next message branches there
    GET    /v1/sessions/{id}/tree                the conversation tree
    POST   /v1/sessions/{id}/feedback            a rating and/or a quality assessment of an answer
    GET    /v1/sessions/{id}/status              the session agent's status(): engine, tools, memory, failures, feedback
    GET    /v1/sessions/{id}/approvals           tool calls waiting for a person's approval, with decisions so far
    POST   /v1/sessions/{id}/approvals/{call_id} approve or deny one; the last decision of a turn resumes its run
    GET    /v1/tools                             the tools a session may use (built-in, and the MCP servers')

A streamed run sends typed events, in order: `step`, `tool_call`, `tool_result`, `token`
(answer text as the engine writes it), and one `final` with the whole response (or one
`error`); a run that pauses for approval sends `approval_required` before its `final`
(outcome "awaiting_approval"). Each event's JSON has a `type` equal to its event name. While a
session's head waits for approvals, a new message is refused with 409 (`approval_pending`).

A session belongs to the API key that made it (server/deps.py): every route here answers 404
for a session the caller's key does not own, exactly as for one that does not exist. The
store is read and written in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from radixagent.agent import (
    Agent,
    AgentEvent,
    AgentStatus,
    ApprovalRequestEvent,
    EventHandler,
    FailureEvent,
    RunEndEvent,
    StepEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from radixagent.engine.tap import tap_scope
from radixagent.errors import InputError, NodeNotFoundError, RadixAgentError, SessionNotFoundError
from radixagent.feedback import FeedbackCollector
from radixagent.memory.store import (
    AssessmentRecord,
    FeedbackRecord,
    RequestRecord,
    SessionRecord,
    UsageRecord,
    off_loop,
)
from radixagent.memory.tree import ConversationNode
from radixagent.schemas import (
    AgentResponse,
    ApprovalDecisionKind,
    Approve,
    Deny,
    MessagePart,
    PendingApproval,
    QualityAssessment,
    ToolSchema,
)
from radixagent.server.agents import SessionApproval, SessionConfig, SessionEngineSettings
from radixagent.server.deps import Caller, CallerDep, Protected, State
from radixagent.server.errors import ErrorBody, ErrorDetail, stream_error
from radixagent.server.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event
from radixagent.server.state import AppState

router = APIRouter(prefix="/v1", tags=["sessions"], dependencies=Protected)

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 429, 503, 504)}


# --- requests and answers --------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionCreate(_Body):
    title: str = Field(default="", max_length=200)
    system_prompt: str | None = Field(default=None, max_length=20000, description="the agent's instructions (default: a helpful assistant)")
    tools: list[str] = Field(default_factory=list, description="names of built-in tools the agent may call (GET /v1/tools)")
    engine_settings: SessionEngineSettings = Field(default_factory=SessionEngineSettings)
    approval: SessionApproval = Field(default_factory=SessionApproval, description="tools whose calls wait for a person's approval")


class SessionInfo(BaseModel):
    id: str
    object: Literal["session"] = "session"
    title: str
    system_prompt: str
    tools: list[str]
    engine_settings: SessionEngineSettings
    approval: SessionApproval = Field(default_factory=SessionApproval)
    model: str | None = None
    head_node_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, record: SessionRecord) -> SessionInfo:
        from radixagent.server.agents import SessionAgents

        config = SessionAgents.config_of(record)
        return cls(
            id=record.id,
            title=record.title,
            system_prompt=config.instructions,
            tools=config.tools,
            engine_settings=config.settings,
            approval=config.approval,
            model=record.engine_settings.get("model"),
            head_node_id=record.head_node_id,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class SessionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[SessionInfo]


class Deleted(BaseModel):
    id: str
    object: Literal["session.deleted"] = "session.deleted"
    deleted: bool = True


MAX_MESSAGE_CHARS = 20000
"""The agent refuses longer input; the request is refused before it."""


class MessageCreate(_Body):
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="the user's message")
    stream: bool = Field(default=False, description="send the run as server-sent events")
    max_iterations: int | None = Field(default=None, ge=1, le=50)
    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="an idempotency key (or the Idempotency-Key header): a repeat of the request is answered with the first answer, not run again",
    )

    def digest(self) -> str:
        """What the request asks, hashed: a key sent again must come with the same request."""
        return hashlib.sha256(json.dumps([self.content, self.max_iterations]).encode()).hexdigest()

    def message_id(self, session_id: str) -> str | None:
        """The id the user's message is stored under, made from the idempotency key: a retry
        whose first run failed after storing the message answers that message, not a copy."""
        if self.request_id is None:
            return None
        return hashlib.sha256(json.dumps([session_id, self.request_id]).encode()).hexdigest()[:16]


Outcome = Literal["answered", "failed", "awaiting_approval"]


class RunResult(BaseModel):
    session_id: str
    node_id: str | None
    response: AgentResponse
    outcome: Outcome = Field(
        default="answered",
        description="'failed': the run gave up (see `failure`); what it stored stays, and the next message continues. "
        "'awaiting_approval': the run paused until each of `response.pending_approvals` is approved or denied",
    )
    failure: FailureEvent | None = Field(default=None, description="why a failed run gave up: the last failure it met")


class ApprovalCreate(_Body):
    decision: ApprovalDecisionKind
    reason: str = Field(default="", max_length=2000, description="why the call is denied (the model reads it)")
    stream: bool = Field(default=False, description="send the resumed run as server-sent events")
    max_iterations: int | None = Field(default=None, ge=1, le=50)


class ApprovalList(BaseModel):
    object: Literal["list"] = "list"
    data: list[PendingApproval]


class ForkCreate(_Body):
    node_id: str | None = Field(default=None, description="where the branches start (default: the current head)")
    messages: list[Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS)]] = Field(
        min_length=1, max_length=8, description="one user message per branch"
    )


class ForkResult(BaseModel):
    session_id: str
    node_id: str
    branches: list[RunResult]


class HeadUpdate(_Body):
    node_id: str


class NodeUsage(BaseModel):
    """The engine's numbers for the call that wrote a node, as it reported them."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = Field(description="prompt tokens the engine served from its prefix cache")
    cacheable_tokens: int = Field(description="prompt tokens an earlier prompt of the branch shared")
    latency_ms: float = Field(description="the whole step: prompt, generation and decision")
    at: datetime


class NodeOut(BaseModel):
    id: str
    parent_id: str | None
    role: str
    content: str
    depth: int
    kind: str
    children: list[str]
    created_at: datetime
    parts: list[MessagePart] = Field(default_factory=list, description="what the message means, typed")
    usage: NodeUsage | None = Field(default=None, description="the engine call that wrote this message (assistant nodes)")

    @classmethod
    def of(cls, node: ConversationNode, usage: UsageRecord | None = None) -> NodeOut:
        return cls(
            id=node.id,
            parent_id=node.parent_id,
            role=node.role,
            content=node.content,
            depth=node.depth,
            kind=node.kind,
            children=node.children,
            created_at=node.created_at,
            parts=node.message.parts,
            usage=NodeUsage.model_validate(usage, from_attributes=True) if usage is not None else None,
        )


class TreeOut(BaseModel):
    session_id: str
    root_id: str
    head_node_id: str | None
    nodes: list[NodeOut]


class FeedbackCreate(_Body):
    node_id: str | None = Field(default=None, description="the answer rated (default: the current head)")
    rating: float | None = Field(default=None, ge=1.0, le=5.0)
    comment: str = Field(default="", max_length=5000)
    assessment: QualityAssessment | None = None

    @model_validator(mode="after")
    def _something(self) -> FeedbackCreate:
        if self.rating is None and self.assessment is None:
            raise ValueError("give a rating (1-5), an assessment, or both")
        return self


class FeedbackResult(BaseModel):
    feedback: FeedbackRecord | None = None
    assessment: AssessmentRecord | None = None


class SessionStatus(AgentStatus):
    """`Agent.status()` for one session."""

    session_id: str


class ToolList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ToolSchema]


class TokenEvent(BaseModel):
    type: Literal["token"] = "token"
    text: str


class FinalEvent(BaseModel):
    type: Literal["final"] = "final"
    session_id: str
    node_id: str | None
    response: AgentResponse
    outcome: Outcome = "answered"
    failure: FailureEvent | None = None


class ErrorEvent(BaseModel):
    type: Literal["error"] = "error"
    error: ErrorDetail


async def owned(state: AppState, caller: Caller, session_id: str) -> SessionRecord:
    """The session, if the caller may see it; SessionNotFoundError (404) otherwise, the same
    answer as for a session that does not exist."""
    record = await off_loop(state.store, state.store.get_session, session_id)
    if not caller.sees(record):
        raise SessionNotFoundError(session_id)
    return record


StreamEvent = StepEvent | ToolCallEvent | ToolResultEvent | ApprovalRequestEvent | FailureEvent | TokenEvent | FinalEvent | ErrorEvent

Act = Callable[[Agent, EventHandler], Awaitable[AgentResponse]]
"""What a request does with its session's agent (run a message, resolve an approval), hearing its events."""


# --- endpoints -------------------------------------------------------------------------------


@router.get("/tools", response_model=ToolList)
async def list_tools(state: State) -> ToolList:
    """The tools a session may be created with: the built-in ones and those of the configured MCP servers."""
    catalogue = state.sessions.catalogue
    return ToolList(data=[tool.tool_schema for tool in catalogue.values()])


@router.post("/sessions", response_model=SessionInfo, status_code=201, responses=ERRORS)
async def create_session(body: SessionCreate, state: State, caller: CallerDep) -> SessionInfo:
    config = SessionConfig(
        instructions=body.system_prompt if body.system_prompt is not None else SessionConfig().instructions,
        tools=body.tools,
        settings=body.engine_settings,
        approval=body.approval,
    )
    return SessionInfo.of(await state.sessions.create(config, title=body.title, owner=caller.owner))


@router.get("/sessions", response_model=SessionList)
async def list_sessions(
    state: State, caller: CallerDep, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000)
) -> SessionList:
    """The caller's sessions (an admin key's: all of them), most recently updated first."""
    records = await off_loop(state.store, state.store.list_sessions, limit, offset, owner=caller.lists)
    return SessionList(data=[SessionInfo.of(r) for r in records])


@router.get("/sessions/{session_id}", response_model=SessionInfo, responses=ERRORS)
async def get_session(session_id: str, state: State, caller: CallerDep) -> SessionInfo:
    return SessionInfo.of(await owned(state, caller, session_id))


@router.delete("/sessions/{session_id}", response_model=Deleted, responses=ERRORS)
async def delete_session(session_id: str, state: State, caller: CallerDep) -> Deleted:
    record = await owned(state, caller, session_id)
    await state.lifecycle.run(state.sessions.delete(session_id, owner=record.owner))  # waits for a running message
    return Deleted(id=session_id)


class RunTiming(BaseModel):
    """Where a run's time went, in milliseconds (the `Server-Timing` header)."""

    total_ms: float
    engine_ms: float
    tools_ms: float

    def header(self) -> str:
        return f"engine;dur={self.engine_ms:.2f}, tools;dur={self.tools_ms:.2f}, total;dur={self.total_ms:.2f}"


def _record_run(state: AppState, response: AgentResponse, timing: RunTiming) -> None:
    metrics = state.metrics
    metrics.record_usage(response.usage)
    metrics.record_timing("/v1/sessions/{session_id}/messages", timing.total_ms, timing.engine_ms, timing.tools_ms)
    metrics.agent_runs.labels(outcome="awaiting_approval" if response.awaiting_approval else "success" if response.is_successful else "failed").inc()
    for call in response.tool_calls:
        outcome = "ok" if call.error is None else call.error_type or "error"
        metrics.tool_calls.labels(tool=call.tool, outcome="returned" if not call.executed and call.error is None else outcome).inc()


async def _run(
    state: AppState,
    session_id: str,
    act: Act,
    on_event: Any = None,
    on_text: Any = None,
    known: SessionRecord | None = None,
    request: MessageCreate | None = None,
) -> tuple[RunResult, RunTiming]:
    """Run `act` on the session's agent. `request`: the message it answers, whose idempotency
    key (if any) makes a repeat get the stored answer instead of a second run."""
    started = time.perf_counter()
    failures: list[FailureEvent] = []

    def watch(event: AgentEvent) -> None:
        if isinstance(event, FailureEvent):
            failures.append(event)
        if on_event is not None:
            on_event(event)

    key = request.request_id if request is not None else None
    async with state.sessions.lease(session_id, known=known) as agent:
        if request is not None and key is not None:  # under the session's lock: a repeat sent meanwhile waits, then finds the answer
            stored = await off_loop(state.store, state.store.get_request, session_id, key)
            if stored is not None:
                if stored.digest != request.digest():
                    reused = InputError(f"The idempotency key {key!r} was sent with another message before: give each new message a new key.")
                    reused.param = "request_id"
                    raise reused
                return RunResult.model_validate(stored.result), RunTiming(total_ms=(time.perf_counter() - started) * 1000, engine_ms=0.0, tools_ms=0.0)
        with tap_scope(on_text=on_text) as tap:
            response = await act(agent, watch)
        failed = not response.is_successful
        result = RunResult(
            session_id=session_id,
            node_id=response.node_id,
            response=response,
            outcome="awaiting_approval" if response.awaiting_approval else "failed" if failed else "answered",
            failure=(failures[-1] if failures else FailureEvent(operation="run", error_type="unknown_error", message=response.error_message or ""))
            if failed
            else None,
        )
        if request is not None and key is not None:
            record = RequestRecord(session_id=session_id, key=key, digest=request.digest(), result=result.model_dump(mode="json"))
            await off_loop(state.store, state.store.add_request, record)
    timing = RunTiming(
        total_ms=(time.perf_counter() - started) * 1000,
        engine_ms=tap.engine_ms,
        tools_ms=sum(c.duration_ms for c in response.tool_calls),
    )
    _record_run(state, response, timing)
    return result, timing


@router.post("/sessions/{session_id}/messages", response_model=RunResult, responses=ERRORS)
async def post_message(
    session_id: str,
    body: MessageCreate,
    state: State,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200, description="the same as `request_id`")] = None,
) -> RunResult | StreamingResponse:
    """Run the agent on a user message; the answer and every step are stored in the session.
    409 (`approval_pending`) while the session's head waits for approvals.
    With an idempotency key (`request_id`, or the Idempotency-Key header), a repeat of the
    request, e.g. a client's retry after its connection dropped, gets the first answer."""
    if idempotency_key is not None:
        if body.request_id not in (None, idempotency_key):
            differ = InputError("The Idempotency-Key header and request_id differ: send one key, or the same in both.")
            differ.param = "request_id"
            raise differ
        body = body.model_copy(update={"request_id": idempotency_key})
    record = await owned(state, caller, session_id)  # an unknown session is a 404 before anything starts

    def act(agent: Agent, watch: EventHandler) -> Awaitable[AgentResponse]:
        return agent.run(body.content, max_iterations=body.max_iterations, on_event=watch, message_id=body.message_id(session_id))

    return await _respond(state, session_id, act, body.stream, record, response, "messages", request=body)


async def _respond(
    state: AppState,
    session_id: str,
    act: Act,
    stream: bool,
    record: SessionRecord,
    response: Response,
    route: str,
    *,
    request: MessageCreate | None = None,
) -> RunResult | StreamingResponse:
    lifecycle = state.lifecycle
    deadline = lifecycle.deadline()
    if not stream:
        result, timing = await lifecycle.run(_run(state, session_id, act, known=record, request=request), deadline=deadline)
        response.headers["Server-Timing"] = timing.header()
        return result
    path = f"/v1/sessions/{session_id}/{route}"
    return StreamingResponse(_events(state, session_id, act, deadline, path, request), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


async def _events(state: AppState, session_id: str, act: Act, deadline: float, path: str, request: MessageCreate | None = None) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()
    sequence = 0

    def encode(event: StreamEvent) -> bytes:
        nonlocal sequence
        sequence += 1
        return sse_event(event.model_dump_json(), event=event.type, event_id=sequence)

    def on_event(event: AgentEvent) -> None:
        if not isinstance(event, RunEndEvent):  # the final event says it, with the session
            queue.put_nowait(event)

    async def work() -> None:
        try:
            result, _ = await _run(
                state,
                session_id,
                act,
                on_event=on_event,
                on_text=lambda text: queue.put_nowait(TokenEvent(text=text)),
                request=request,
            )
            queue.put_nowait(
                FinalEvent(session_id=result.session_id, node_id=result.node_id, response=result.response, outcome=result.outcome, failure=result.failure)
            )
        except RadixAgentError as exc:
            state.metrics.failures.labels(type=type(exc).__name__).inc()
            queue.put_nowait(ErrorEvent(error=stream_error(exc, "POST", path)))
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(work())
    try:
        while True:
            try:
                event = await state.lifecycle.run(queue.get(), deadline=deadline)
            except RadixAgentError as exc:  # the request's timeout, or the drain: stop the run cleanly
                task.cancel()
                state.metrics.failures.labels(type=type(exc).__name__).inc()
                yield encode(ErrorEvent(error=stream_error(exc, "POST", path)))
                return
            if event is None:
                return
            yield encode(event)
    finally:
        if not task.done():
            task.cancel()
            try:
                await task
            except BaseException:  # the run was cancelled with its client; what it stored stays
                pass


@router.get("/sessions/{session_id}/approvals", response_model=ApprovalList, responses=ERRORS)
async def list_approvals(session_id: str, state: State, caller: CallerDep) -> ApprovalList:
    """The tool calls of the session's paused runs, each with its decision so far (null: waiting)."""
    await owned(state, caller, session_id)

    async def work() -> ApprovalList:
        async with state.sessions.lease(session_id) as agent:  # waits for a running message
            return ApprovalList(data=await asyncio.to_thread(agent.pending_approvals))

    return await state.lifecycle.run(work())


@router.post("/sessions/{session_id}/approvals/{call_id}", response_model=RunResult, responses=ERRORS)
async def resolve_approval(
    session_id: str, call_id: str, body: ApprovalCreate, state: State, caller: CallerDep, response: Response
) -> RunResult | StreamingResponse:
    """Approve or deny one waiting call. Once every waiting call of its turn is decided the run
    resumes, and the answer is its result (JSON, or SSE with "stream": true, as for messages);
    before that, the result's outcome is "awaiting_approval" with the turn's calls listed."""
    record = await owned(state, caller, session_id)
    decision = Approve() if body.decision == "approve" else Deny(reason=body.reason)

    async def act(agent: Agent, watch: EventHandler) -> AgentResponse:
        decided = await asyncio.to_thread(agent.decide, call_id, decision)
        turn = [p for p in await asyncio.to_thread(agent.pending_approvals) if p.node_id == decided.node_id]
        if any(p.decision is None for p in turn):
            return AgentResponse(content="", pending_approvals=turn, session_id=session_id, node_id=decided.node_id)
        return await agent.resume(node_id=decided.node_id, max_iterations=body.max_iterations, on_event=watch)

    return await _respond(state, session_id, act, body.stream, record, response, f"approvals/{call_id}")


@router.post("/sessions/{session_id}/fork", response_model=ForkResult, responses=ERRORS)
async def fork_session(session_id: str, body: ForkCreate, state: State, caller: CallerDep) -> ForkResult:
    """Run each message on its own branch from `node_id`, all at once; the engine shares the
    branches' common prefix. The current head does not move."""
    await owned(state, caller, session_id)

    async def work() -> ForkResult:
        started = time.perf_counter()
        async with state.sessions.lease(session_id) as agent:
            node_id = body.node_id or agent.memory.current_node_id
            assert node_id is not None
            agent.memory.get_node(node_id)  # NodeNotFoundError for a node of another session
            with tap_scope() as tap:
                responses = await agent.fork(body.messages, node_id=node_id)
        share = RunTiming(
            total_ms=(time.perf_counter() - started) * 1000 / len(responses),
            engine_ms=tap.engine_ms / len(responses),
            tools_ms=sum(c.duration_ms for r in responses for c in r.tool_calls) / len(responses),
        )
        for r in responses:
            _record_run(state, r, share)
        return ForkResult(
            session_id=session_id,
            node_id=node_id,
            branches=[RunResult(session_id=session_id, node_id=r.node_id, response=r) for r in responses],
        )

    return await state.lifecycle.run(work())


@router.put("/sessions/{session_id}/head", response_model=SessionInfo, responses=ERRORS)
async def move_head(session_id: str, body: HeadUpdate, state: State, caller: CallerDep) -> SessionInfo:
    """Move the current head to a node: the next message continues from there, on a new branch."""
    await owned(state, caller, session_id)

    async def work() -> None:
        async with state.sessions.lease(session_id) as agent:
            if not await asyncio.to_thread(agent.memory.branch_from_node, body.node_id):
                raise NodeNotFoundError(body.node_id, session_id)

    await state.lifecycle.run(work())
    return SessionInfo.of(await off_loop(state.store, state.store.get_session, session_id))


@router.get("/sessions/{session_id}/tree", response_model=TreeOut, responses=ERRORS)
async def get_tree(session_id: str, state: State, caller: CallerDep) -> TreeOut:
    record = await owned(state, caller, session_id)
    nodes = await off_loop(state.store, state.store.load_nodes, session_id)
    usage = {u.node_id: u for u in await off_loop(state.store, state.store.list_usage, session_id) if u.node_id is not None}
    root = next(n for n in nodes if n.parent_id is None)
    return TreeOut(
        session_id=session_id, root_id=root.id, head_node_id=record.head_node_id, nodes=[NodeOut.of(n, usage.get(n.id)) for n in nodes]
    )


@router.post("/sessions/{session_id}/feedback", response_model=FeedbackResult, status_code=201, responses=ERRORS)
async def post_feedback(session_id: str, body: FeedbackCreate, state: State, caller: CallerDep) -> FeedbackResult:
    """Rate an answer (1-5) and/or assess it (0-5 per axis); the question is the user message
    the answer followed."""
    record = await owned(state, caller, session_id)
    return await asyncio.to_thread(_feedback, state, session_id, record, body)


def _feedback(state: AppState, session_id: str, record: SessionRecord, body: FeedbackCreate) -> FeedbackResult:
    nodes = {n.id: n for n in state.store.load_nodes(session_id)}
    node_id = body.node_id or record.head_node_id
    if node_id is None or node_id not in nodes:
        raise NodeNotFoundError(node_id or "", session_id)
    node = nodes[node_id]
    if node.role != "assistant":
        raise InputError(f"Node {node_id!r} is a {node.role} message: feedback rates an assistant answer; give its node_id.")
    query = ""
    parent = node.parent_id
    while parent is not None:
        if nodes[parent].role == "user":
            query = nodes[parent].content
            break
        parent = nodes[parent].parent_id
    collector = FeedbackCollector(state.store, session_id=session_id)
    result = FeedbackResult()
    if body.rating is not None:
        result.feedback = collector.add_feedback(query, node.content, body.rating, body.comment, node_id=node_id)
    if body.assessment is not None:
        result.assessment = collector.add_quality_assessment(body.assessment, query=query, response=node.content, node_id=node_id)
    return result


@router.get("/sessions/{session_id}/status", response_model=SessionStatus, responses=ERRORS)
async def get_status(session_id: str, state: State, caller: CallerDep) -> SessionStatus:
    """`get_agent_status()` of the session's agent: engine, tools, memory (with the engine's
    cache hit rate), recovery and feedback, under the tutorial's keys."""
    await owned(state, caller, session_id)

    async def work() -> SessionStatus:
        async with state.sessions.lease(session_id) as agent:  # waits for a running message
            status = await asyncio.to_thread(agent.status)  # reads the store's usage totals
            return SessionStatus(**dict(status), session_id=session_id)

    return await state.lifecycle.run(work())
