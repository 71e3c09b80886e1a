"""The agent loop: decide -> validate -> act -> observe -> answer.

    agent = Agent()                       # the embedded default engine

    @agent.tool
    def add(a: int, b: int) -> int:
        "Add two integers."
        return a + b

    response = agent.run_sync("What is 2 + 40?")

A tool registered with `requires_approval=True` (or a call the `approval` policy picks) pauses
the run until a person decides it:

    response = await agent.run("Delete the old logs")
    if response.awaiting_approval:
        response = await agent.resume({p.call_id: Approve() for p in response.pending_approvals})

Each step extends the branch's transcript (see `prompting`), so every prompt the engine sees
is an exact extension of the one before and its prefix cache reuses all of it. The numbers in
the `AgentResponse` are the engine's: tokens, cached tokens, and latency measured around
the run.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from radixagent.agent.approval import ApprovalRule, waiting_calls
from radixagent.agent.events import (
    AgentEvent,
    EventHandler,
    FailureEvent,
    RunEndEvent,
)
from radixagent.agent.run import Run
from radixagent.agent.status import AgentStatus, FailureSummary
from radixagent.agent.tracing import traced_run
from radixagent.decision import DecisionSettings, protocol_text
from radixagent.engine import Engine
from radixagent.engine._portal import run_sync
from radixagent.engine.prefix import PrefixLedger
from radixagent.errors import (
    ApprovalNotFoundError,
    ApprovalPendingError,
    ContextOverflowError,
    EngineError,
    InputError,
)
from radixagent.evidence import Evidence
from radixagent.feedback import FeedbackCollector
from radixagent.memory import RadixMemory
from radixagent.memory.store import Store, off_loop
from radixagent.memory.tree import Branch, ConversationNode
from radixagent.prompting import CHATML, ChatFormat, Speaker, Transcript, TurnWriter
from radixagent.recovery import (
    FailureLog,
    RecoveringEngine,
    RetryPolicy,
    classify_error,
)
from radixagent.schemas import (
    AgentResponse,
    ApprovalDecision,
    Approve,
    Deny,
    Message,
    PendingApproval,
    QualityAssessment,
    ToolCall,
    ToolDefinition,
    ToolResultPart,
    ToolSchema,
)
from radixagent.telemetry import traced
from radixagent.tools import ToolRegistry
from radixagent.validation import OutputValidator, check_message

logger = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = "You are a helpful assistant. Use the tools when they help, and answer briefly and accurately."

_KEPT_TRANSCRIPTS = 64

ToolLike = Callable[..., Any] | ToolDefinition | ToolSchema


class Agent:
    """A typed, tool-using agent over one engine.

    `output_type` makes the final answer a validated object (generated under its JSON schema);
    `validators` check it further. Tool calls and final outputs that fail validation are
    re-asked with the error fed back, within `tool_retries` per tool and `output_retries`.
    `approval` picks calls that wait for a person's approval, besides those of tools
    registered with `requires_approval=True` (see `resume`)."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        instructions: str = DEFAULT_INSTRUCTIONS,
        tools: Iterable[ToolLike] = (),
        output_type: Any = str,
        validators: Sequence[Callable[[Any], Any]] = (),
        decision: DecisionSettings | None = None,
        max_iterations: int = 10,
        store: Store | None = None,
        fallback: Engine | None = None,
        retry_policy: RetryPolicy | None = None,
        tool_retries: int = 2,
        output_retries: int = 2,
        chat_format: ChatFormat | None = None,
        max_input_chars: int = 20000,
        ground_answers: bool = True,
        observers: Sequence[EventHandler] = (),
        approval: ApprovalRule | None = None,
        name: str = "radixagent",
    ) -> None:
        if max_iterations < 1:
            raise InputError(f"max_iterations must be at least 1, not {max_iterations}.")
        if engine is None:
            from radixagent.engine.factory import create_engine

            engine = create_engine("embedded")
        self.name = name
        """What traces call the agent (`gen_ai.agent.name`)."""
        self.base_engine = engine
        self.engine: Engine = RecoveringEngine(traced(engine), policy=retry_policy, fallback=traced(fallback) if fallback is not None else None)
        self.instructions = instructions
        self.tool_manager = ToolRegistry()
        for tool in tools:
            self.add_tool(tool)
        self.output = OutputValidator(output_type, validators=validators)
        self.decision = decision or DecisionSettings()
        self.max_iterations = max_iterations
        self.memory = RadixMemory(store=store)
        self.feedback = FeedbackCollector(self.memory.store)
        self.failures = FailureLog()
        self.observers: list[EventHandler] = [self._watch, *observers]
        """Each hears every event of every run, in order (`on_event` of one run comes last)."""
        self.tool_retries, self.output_retries = tool_retries, output_retries
        self.max_input_chars = max_input_chars
        self.approval = approval
        """Which calls wait for a person's approval (an `ApprovalPolicy` or a function of the
        call), besides those of tools registered with `requires_approval=True`."""
        self.ground_answers = ground_answers
        """An answer after tool results that does not state what they returned is replaced by
        those results (`validation.grounded_answer`)."""
        self._chat_format = chat_format
        self._ledger = PrefixLedger()
        self._transcripts: OrderedDict[str, tuple[Transcript, Speaker]] = OrderedDict()
        self._context_size: int | None = None
        self._lock = asyncio.Lock()
        self._tools_at_start: list[ToolSchema] | None = None

    # --- tools ---------------------------------------------------------------------------

    @property
    def tools(self) -> ToolRegistry:
        return self.tool_manager

    def add_tool(self, tool: ToolLike) -> ToolDefinition:
        """Register a function, a ToolDefinition, or a schema-only ToolSchema."""
        if isinstance(tool, ToolDefinition):
            return self.tool_manager.register_tool(tool)
        if isinstance(tool, ToolSchema):
            return self.tool_manager.register_tool(ToolDefinition(schema=tool))
        return self.tool_manager.register(tool)

    def tool(self, fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
        """Decorator: `@agent.tool` or `@agent.tool(timeout_s=5)`."""
        return self.tool_manager.tool(fn, **options) if fn is not None else self.tool_manager.tool(**options)

    async def needs_approval(self, call: ToolCall) -> bool:
        """Whether `call` must wait for a person's approval before it runs."""
        if call.tool_name in self.tool_manager and self.tool_manager.entry(call.tool_name).definition.requires_approval:
            return True
        if self.approval is None:
            return False
        verdict = self.approval(call)
        return bool(await verdict if inspect.isawaitable(verdict) else verdict)

    @property
    def stated_today(self) -> date | None:
        """The day the instructions say it is ("Today is 2026-03-02."), where they say one:
        days a request tells ("tomorrow") count from it, else from the clock."""
        return Evidence.of(self.instructions).stated_today

    def system_prompt(self) -> str:
        """Instructions, then the protocol and the tools: byte-stable for a given tool set."""
        return self.instructions + "\n\n" + protocol_text(self.tool_manager.schemas(), allow_ask=self.decision.allow_ask)

    # --- running -------------------------------------------------------------------------

    async def run(
        self, query: str, *, max_iterations: int | None = None, on_event: EventHandler | None = None, message_id: str | None = None
    ) -> AgentResponse:
        """Answer `query` on the current branch of the conversation. `on_event` hears each
        step, tool call and tool result as it happens (a server streams them).

        `message_id`: the id to store the user's message under, made by the caller from its
        request's idempotency key. When the session already holds that message (a retry of a
        request whose run failed after storing it), it is answered again from where it stands,
        not stored twice."""
        async with self._lock:
            self._ensure_session()
            return await self._run(query, None, max_iterations or self.max_iterations, message_id, on_event)

    def run_sync(self, query: str, *, max_iterations: int | None = None) -> AgentResponse:
        return run_sync(self.run(query, max_iterations=max_iterations))

    # --- approvals -----------------------------------------------------------------------

    def pending_approvals(self) -> list[PendingApproval]:
        """The calls of this session's paused runs, each with its decision so far (None: not
        decided yet). Read from the stored conversation, so they survive a restart."""
        tree = self.memory.tree
        return waiting_calls(tree.leaves(), self.memory.approvals()) if tree is not None else []

    def approve(self, call_id: str) -> PendingApproval:
        """Approve a waiting call (it runs when its run resumes). Until then a decision may
        be changed by deciding again."""
        return self.decide(call_id, Approve())

    def deny(self, call_id: str, reason: str = "") -> PendingApproval:
        """Deny a waiting call: it does not run; the model reads "the user denied this call: `reason`"."""
        return self.decide(call_id, Deny(reason=reason))

    def decide(self, call_id: str, decision: ApprovalDecision) -> PendingApproval:
        """Store a decision on a waiting call; returns the call with it. ApprovalNotFoundError
        when no call of that id waits."""
        pending = next((p for p in self.pending_approvals() if p.call_id == call_id), None)
        if pending is None:
            raise ApprovalNotFoundError(call_id)
        reason = decision.reason if isinstance(decision, Deny) else ""
        self.memory.record_approval(pending.node_id, call_id, decision.decision, reason)
        return pending.model_copy(update={"decision": decision.decision, "reason": reason})

    async def resume(
        self,
        approvals: Mapping[str, ApprovalDecision] | None = None,
        *,
        node_id: str | None = None,
        max_iterations: int | None = None,
        on_event: EventHandler | None = None,
    ) -> AgentResponse:
        """Continue a run that paused for approvals, once each of its waiting calls is decided
        (here in `approvals`, call id -> `Approve()` / `Deny(reason)`, or before with
        `approve`/`deny`). Approved calls run with the step's other calls; denied ones become
        an observation the model reads; the loop then goes on. The resumed step's prompt
        extends the paused one exactly, so the engine reuses its prefix cache.

        `node_id` is the paused turn (`response.node_id`); by default the one the given calls
        belong to, else the current head's. The response counts only the resumed part's
        usage and tool calls. ApprovalPendingError while a call of the turn is undecided."""
        async with self._lock:
            for call_id, decision in (approvals or {}).items():
                await asyncio.to_thread(self.decide, call_id, decision)
            waiting = await asyncio.to_thread(self.pending_approvals)
            if node_id is None:
                given = [p.node_id for p in waiting if p.call_id in (approvals or {})]
                node_id = given[0] if given else self.memory.current_node_id
            mine = [p for p in waiting if p.node_id == node_id]
            if node_id is None or not mine:
                raise InputError(f"No run paused for approval at node {node_id!r}: pass the node_id of the paused response.")
            undecided = [p.call_id for p in mine if p.decision is None]
            if undecided:
                raise ApprovalPendingError(undecided, "decide each of them to resume the run")
            denied = {p.call_id: p.reason for p in mine if p.decision == "deny"}
            return await self._resume(self.memory.get_node(node_id), denied, max_iterations or self.max_iterations, on_event)

    def resume_sync(self, approvals: Mapping[str, ApprovalDecision] | None = None, *, node_id: str | None = None) -> AgentResponse:
        return run_sync(self.resume(approvals, node_id=node_id))

    def _check_not_paused(self, node_id: str) -> None:
        """A new message on a turn that waits for approvals would leave its calls unanswered."""
        node = self.memory.get_node(node_id)
        if not node.children:
            waiting = [p.call_id for p in waiting_calls([node], [])]
            if waiting:
                raise ApprovalPendingError(waiting, "this turn waits for them; decide them, or branch from another node")

    async def fork(self, queries: Sequence[str], *, node_id: str | None = None) -> list[AgentResponse]:
        """Run each query on its own branch from `node_id` (default: the current head), all at
        once. The branches share their prefix on the engine, as SGLang's `fork` does."""
        async with self._lock:
            self._ensure_session()
        branches = self.memory.fork(node_id, len(queries))
        return list(await asyncio.gather(*(self._run(q, b, self.max_iterations, None, None) for q, b in zip(queries, branches, strict=True))))

    def fork_sync(self, queries: Sequence[str], *, node_id: str | None = None) -> list[AgentResponse]:
        return run_sync(self.fork(queries, node_id=node_id))

    def open_session(self, session_id: str | None = None, *, title: str = "", engine_settings: dict[str, Any] | None = None) -> str:
        """Start a new stored session now (`session_id` None), or continue the stored session
        `session_id`: its tree and current head come from the store, its exact prompt records
        rebuild the engine's prefix. Feedback and status then count this session only.
        Returns the session's id."""
        if session_id is None:
            self.memory.title = title
            self.memory.engine_settings = dict(engine_settings or {})
            self._start_session()
        else:
            self.memory = RadixMemory.load(self.memory.store, session_id, max_depth=self.memory.max_depth)
            self._tools_at_start = self.tool_manager.schemas()
            self._transcripts.clear()
        assert self.memory.session_id is not None
        self.feedback = FeedbackCollector(self.memory.store, session_id=self.memory.session_id)
        return self.memory.session_id

    def _ensure_session(self) -> None:
        """Start a session at the first run, and a new one when the tool set has changed
        (the system prompt lists the tools, so the old prompts no longer apply)."""
        if self.memory.session_id is None or self.tool_manager.schemas() != self._tools_at_start:
            if self.memory.session_id is not None:
                logger.info("the tool set changed: starting a new session")
            self._start_session()

    def _start_session(self) -> None:
        tools = self.tool_manager.schemas()
        self.memory.tools = tools
        self.memory.initialize_with_system(self.system_prompt())
        self._tools_at_start = tools

    @traced_run
    async def _run(
        self, query: str, branch: Branch | None, max_iterations: int, message_id: str | None, on_event: EventHandler | None = None
    ) -> AgentResponse:
        started = time.perf_counter()
        stored = self._stored_message(message_id, query)
        if stored is not None:  # answered again from the stored message, on a branch of its own
            await off_loop(self.memory.store, self.memory.branch_from_node, stored.id)
        run = Run(self, branch, on_event, query)
        if stored is None:
            self._check_not_paused(run.head_id)
        check = check_message(query, max_length=self.max_input_chars)
        if not check.is_valid:
            return await run.failure(f"The input was refused: {check.error_message} {check.suggested_fix or ''}".strip(), started)
        try:
            if stored is None:
                transcript, last = await self._transcript(run.head_id)
                await run.add("user", query, node_id=message_id, with_reply=True)
            else:
                assert stored.parent_id is not None  # a user message is never the root
                transcript, last = await self._transcript(stored.parent_id)
            await self._render(transcript, [Message(role="user", content=query)], last)
            return await run.loop(transcript, max_iterations, started)
        except (EngineError, ContextOverflowError) as exc:
            await run.emit(FailureEvent(operation="run", error_type=classify_error(exc), message=f"{type(exc).__name__}: {exc}"))
            return await run.failure(str(exc), started)
        except BaseException:
            await _settle_unwinding(run)
            raise

    def _stored_message(self, message_id: str | None, query: str) -> ConversationNode | None:
        """The session's user message of id `message_id`, if stored; InputError when that id
        holds another message (the caller gave one key to two messages)."""
        tree = self.memory.tree
        if message_id is None or tree is None or message_id not in tree:
            return None
        node = tree.get(message_id)
        if node.message.role != "user" or node.message.content != query:
            raise InputError(f"The message id {message_id!r} holds another message: give each new message a new id.")
        return node

    @traced_run
    async def _resume(self, node: ConversationNode, denied: Mapping[str, str], max_iterations: int, on_event: EventHandler | None) -> AgentResponse:
        """Continue the run paused at `node`: its request, its earlier tool results and its
        step count come from the branch, so this works after a restart too."""
        started = time.perf_counter()
        path = self.memory.path_to_root(node.id)
        start = max((i for i, n in enumerate(path) if n.role == "user"), default=0)
        branch = None if node.id == self.memory.current_node_id else self.memory.fork(node.id, 1)[0]
        run = Run(self, branch, on_event, path[start].content if path[start].role == "user" else "")
        run.earlier = [p.record for n in path[start + 1 :] for p in n.message.parts_of(ToolResultPart)]
        step = sum(n.role == "assistant" for n in path[start + 1 :])
        try:
            transcript, _ = await self._transcript(node.id)
            return await run.resume(transcript, node, denied, max_iterations, started, step)
        except (EngineError, ContextOverflowError) as exc:
            await run.emit(FailureEvent(operation="run", error_type=classify_error(exc), message=f"{type(exc).__name__}: {exc}"))
            return await run.failure(str(exc), started)
        except BaseException:
            await _settle_unwinding(run)
            raise

    # --- transcripts ---------------------------------------------------------------------

    async def _format(self) -> ChatFormat:
        if self._chat_format is None:
            self._chat_format = await ChatFormat.learn(self.engine) or CHATML
        return self._chat_format

    async def context_size(self) -> int:
        if self._context_size is None:
            info = await self.engine.model_info()
            self._context_size = info.context_size or 4096
        return self._context_size

    async def _transcript(self, head_id: str) -> tuple[Transcript, Speaker]:
        """The exact transcript ending at `head_id` and the role its text ends in: kept from
        an earlier run when we have it, else rebuilt from the stored prompt records (after a
        restart, or on a new branch)."""
        kept = self._transcripts.get(head_id)
        if kept is not None:
            self._transcripts.move_to_end(head_id)
            return kept[0].fork(), kept[1]
        fmt = await self._format()
        prefix = self.memory.prompt_prefix(head_id)
        if prefix is not None and prefix.text is not None and (prefix.token_ids is not None or not self.engine.takes_token_ids):
            transcript = Transcript(self.engine, self._ledger, text=prefix.text, ids=prefix.token_ids if self.engine.takes_token_ids else None)
            return transcript, await self._render(transcript, prefix.new_messages, "assistant")
        path = self.memory.path_to_root(head_id)
        transcript = Transcript(self.engine, self._ledger)
        await transcript.append(fmt.system(path[0].content))
        return transcript, await self._render(transcript, [n.message for n in path[1:]], "system")

    async def _render(self, transcript: Transcript, messages: Sequence[Message], last: Speaker) -> Speaker:
        """Append messages as turns. User, tool and summary messages become user turns
        (consecutive ones share a turn); assistant messages are appended as written."""
        writer = TurnWriter(await self._format(), last)
        text = ""
        for message in messages:
            if message.role == "assistant":
                text += writer.assistant() + message.content
            else:
                writer.user(message.content if message.role == "user" else f"[{message.role}] {message.content}")
        await transcript.append(text + writer.take())
        return writer.last

    def keep_transcript(self, head_id: str, transcript: Transcript, last: Speaker) -> None:
        """Remember a branch's transcript so its next run needs no re-tokenizing."""
        self._transcripts[head_id] = (transcript, last)
        while len(self._transcripts) > _KEPT_TRANSCRIPTS:
            self._transcripts.popitem(last=False)

    # --- observing ---------------------------------------------------------------------

    def _watch(self, event: AgentEvent) -> None:
        """The agent's own observer: failures go to its log, finished runs to its feedback."""
        if isinstance(event, FailureEvent):
            self.failures.add(event.operation, event.error_type, event.message)
        elif isinstance(event, RunEndEvent):
            self.feedback.observe_run(event.response)

    # --- feedback and status -------------------------------------------------------------

    def add_feedback(self, query: str, response: str, rating: float, comment: str = "") -> None:
        self.feedback.add_feedback(query, response, rating, comment)

    def add_quality_assessment(self, assessment: QualityAssessment) -> None:
        self.feedback.add_quality_assessment(assessment)

    def status(self) -> AgentStatus:
        """Engine, tools, memory, failures and feedback at a glance."""
        recovering = self.engine if isinstance(self.engine, RecoveringEngine) else None
        return AgentStatus(
            engine=self.base_engine.name,
            registered_tools=self.tool_manager.names,
            memory_stats=self.memory.get_statistics(),
            tool_stats=self.tool_manager.get_execution_statistics(),
            failures=FailureSummary(
                total=self.failures.total,
                by_type=self.failures.by_type(),
                by_operation=self.failures.by_operation(),
                patterns=self.failures.patterns(),
            ),
            engine_recovery=recovering.stats() if recovering else None,
            feedback_summary=self.feedback.get_feedback_summary(),
        )

    async def aclose(self) -> None:
        await self.engine.aclose()

    def close(self) -> None:
        run_sync(self.aclose())


async def _settle_unwinding(run: Run) -> None:
    """A run unwinding on an error or a cancellation (a request's deadline) still stores the
    messages waiting for a reply, as each was stored at once before; a failure to store them
    is logged, and the error that ended the run is the one raised."""
    try:
        await run.settle()
    except Exception:
        logger.exception("the messages of an interrupted run could not be stored")
