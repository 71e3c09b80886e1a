"""The agent loop: decide -> validate -> act -> observe -> answer.

    agent = Agent()                       # the embedded default engine

    @agent.tool
    def add(a: int, b: int) -> int:
        "Add two integers."
        return a + b

    response = agent.run_sync("What is 2 + 40?")

Each step extends the branch's transcript (see `prompting`), so every prompt the engine sees
is an exact extension of the one before and its prefix cache reuses all of it. The numbers in
the `AgentResponse` are the engine's: tokens, cached tokens, and latency measured around
the run.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from radixagent.decision import Decision, DecisionSettings, decide, protocol_text
from radixagent.engine import ChatMessage, Engine, SamplingParams, Usage
from radixagent.engine._portal import run_sync
from radixagent.engine.prefix import PrefixLedger
from radixagent.errors import ContextOverflowError, DecisionError, EngineError, InputError, RadixAgentError
from radixagent.feedback import FeedbackCollector, FeedbackSummary
from radixagent.memory import MemoryStatistics, RadixMemory
from radixagent.memory.store import Store
from radixagent.memory.tree import Branch, PromptRecord
from radixagent.prompting import CHATML, ChatFormat, Speaker, Transcript, TurnWriter
from radixagent.recovery import (
    FailureLog,
    FailurePattern,
    RecoveringEngine,
    RecoveryStats,
    RetryBudget,
    RetryPolicy,
    classify_error,
)
from radixagent.schemas import (
    AgentResponse,
    AnswerPart,
    DecisionPart,
    Message,
    MessagePart,
    MessageRole,
    ObservationPart,
    QualityAssessment,
    ToolCall,
    ToolCallPart,
    ToolCallRecord,
    ToolDefinition,
    ToolResultPart,
    ToolSchema,
)
from radixagent.tools import ToolRegistry
from radixagent.tools.execution import ExecutionStatistics
from radixagent.validation import OutputValidator, check_message, format_retry_prompt

logger = logging.getLogger(__name__)

DEFAULT_INSTRUCTIONS = "You are a helpful assistant. Use the tools when they help, and answer briefly and accurately."

_KEPT_TRANSCRIPTS = 64

ToolLike = Callable[..., Any] | ToolDefinition | ToolSchema


# --- events: what a run tells an observer as it goes -------------------------------------


class StepEvent(BaseModel):
    """A decision step begins (1 for the first)."""

    type: Literal["step"] = "step"
    step: int


class ToolCallEvent(BaseModel):
    """The model decided to call a tool; it runs next."""

    type: Literal["tool_call"] = "tool_call"
    step: int
    call: ToolCall


class ToolResultEvent(BaseModel):
    """A tool call finished (or failed, or was handed to the caller unexecuted)."""

    type: Literal["tool_result"] = "tool_result"
    step: int
    result: ToolCallRecord


class FailureEvent(BaseModel):
    """Something failed and the run recovers (or gives up): a reply, a tool call, the engine."""

    type: Literal["failure"] = "failure"
    operation: str
    error_type: str
    message: str


class RunEndEvent(BaseModel):
    """The run is over; `response` is what it returns."""

    type: Literal["run_end"] = "run_end"
    response: AgentResponse


AgentEvent = StepEvent | ToolCallEvent | ToolResultEvent | FailureEvent | RunEndEvent
EventHandler = Callable[[AgentEvent], Awaitable[None] | None]
"""Called with each event of a run, in order; may be a coroutine function."""


class FailureSummary(BaseModel):
    """The failures an agent logged: how many, of which kinds, and which keep repeating."""

    total: int
    by_type: dict[str, int]
    by_operation: dict[str, int]
    patterns: list[FailurePattern]


class AgentStatus(BaseModel):
    """Engine, tools, memory, failures and feedback at a glance."""

    engine: str
    registered_tools: list[str]
    memory_stats: MemoryStatistics
    tool_stats: ExecutionStatistics
    failures: FailureSummary
    engine_recovery: RecoveryStats | None = None
    feedback_summary: FeedbackSummary


class Agent:
    """A typed, tool-using agent over one engine.

    `output_type` makes the final answer a validated object (generated under its JSON schema);
    `validators` check it further. Tool calls and final outputs that fail validation are
    re-asked with the error fed back, within `tool_retries` per tool and `output_retries`."""

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
        observers: Sequence[EventHandler] = (),
    ) -> None:
        if max_iterations < 1:
            raise InputError(f"max_iterations must be at least 1, not {max_iterations}.")
        if engine is None:
            from radixagent.engine.factory import create_engine

            engine = create_engine("embedded")
        self.base_engine = engine
        self.engine: Engine = RecoveringEngine(engine, policy=retry_policy, fallback=fallback)
        self.instructions = instructions
        self.tool_manager = ToolRegistry()
        for tool in tools:
            self.add_tool(tool)
        self.output = OutputValidator(output_type, validators=validators)
        # the request's own evidence is measured on single turns (docs/toolcalls.md); an agent's
        # steps weigh observations too, so it decides with the model alone unless told otherwise
        self.decision = decision or DecisionSettings().model_only()
        self.max_iterations = max_iterations
        self.memory = RadixMemory(store=store)
        self.feedback = FeedbackCollector(self.memory.store)
        self.failures = FailureLog()
        self.observers: list[EventHandler] = [self._watch, *observers]
        """Each hears every event of every run, in order (`on_event` of one run comes last)."""
        self.tool_retries, self.output_retries = tool_retries, output_retries
        self.max_input_chars = max_input_chars
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

    def system_prompt(self) -> str:
        """Instructions, then the protocol and the tools: byte-stable for a given tool set."""
        return self.instructions + "\n\n" + protocol_text(self.tool_manager.schemas(), allow_ask=self.decision.allow_ask)

    # --- running -------------------------------------------------------------------------

    async def run(self, query: str, *, max_iterations: int | None = None, on_event: EventHandler | None = None) -> AgentResponse:
        """Answer `query` on the current branch of the conversation. `on_event` hears each
        step, tool call and tool result as it happens (a server streams them)."""
        async with self._lock:
            self._ensure_session()
            return await self._run(query, None, max_iterations or self.max_iterations, on_event)

    def run_sync(self, query: str, *, max_iterations: int | None = None) -> AgentResponse:
        return run_sync(self.run(query, max_iterations=max_iterations))

    async def fork(self, queries: Sequence[str], *, node_id: str | None = None) -> list[AgentResponse]:
        """Run each query on its own branch from `node_id` (default: the current head), all at
        once. The branches share their prefix on the engine, as SGLang's `fork` does."""
        async with self._lock:
            self._ensure_session()
        branches = self.memory.fork(node_id, len(queries))
        return list(await asyncio.gather(*(self._run(q, b, self.max_iterations) for q, b in zip(queries, branches, strict=True))))

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

    async def _run(self, query: str, branch: Branch | None, max_iterations: int, on_event: EventHandler | None = None) -> AgentResponse:
        started = time.perf_counter()
        run = _Run(self, branch, on_event, query)
        check = check_message(query, max_length=self.max_input_chars)
        if not check.is_valid:
            return await run.failure(f"The input was refused: {check.error_message} {check.suggested_fix or ''}".strip(), started)
        try:
            transcript, last = await self._transcript(run.head_id)
            run.add("user", query)
            await self._render(transcript, [Message(role="user", content=query)], last)
            return await run.loop(transcript, max_iterations, started)
        except (EngineError, ContextOverflowError) as exc:
            await run.emit(FailureEvent(operation="run", error_type=classify_error(exc), message=f"{type(exc).__name__}: {exc}"))
            return await run.failure(str(exc), started)

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
            self.feedback.record_response(event.response, event.response.usage)

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


class _Run:
    """One run's state: where it writes (the current head or a forked branch), what it has
    done, and the repair budget."""

    def __init__(self, agent: Agent, branch: Branch | None, on_event: EventHandler | None = None, query: str = "") -> None:
        self.agent = agent
        self.query = query
        self.on_event = on_event
        self.memory = agent.memory
        self.branch = branch
        self.head_id: str = branch.head_id if branch else (self.memory.current_node_id or "")
        self.records: list[ToolCallRecord] = []
        self.steps: list[str] = []
        self.usage = Usage()
        self.cacheable = 0
        self.budget = RetryBudget(agent.tool_retries, agent.output_retries)
        self.answer_now = False
        """Set when the model repeats a call it already made: the next step may only answer."""

    async def emit(self, event: AgentEvent) -> None:
        for observer in [*self.agent.observers, *([self.on_event] if self.on_event else [])]:
            outcome = observer(event)
            if inspect.isawaitable(outcome):
                await outcome

    def add(self, role: MessageRole, content: str, parts: Sequence[MessagePart] = (), prompt: PromptRecord | None = None) -> str:
        if self.branch is not None:
            self.head_id = self.branch.add_message(role, content, parts, prompt=prompt)
        else:
            self.head_id = self.memory.add_message(role, content, parts, prompt=prompt)
        return self.head_id

    async def loop(self, transcript: Transcript, max_iterations: int, started: float) -> AgentResponse:
        agent = self.agent
        fmt = await agent._format()
        for step in range(1, max_iterations + 1):
            await self.emit(StepEvent(step=step))
            transcript = await self._fit(transcript)
            await transcript.append(fmt.user_to_assistant)
            turn = transcript.fork()
            step_started = time.perf_counter()
            error: DecisionError | None = None
            try:
                tools = [] if self.answer_now else agent.tool_manager.schemas()
                decision = await decide(
                    turn,
                    tools,
                    agent.decision,
                    answer_schema=None if agent.output.is_text else agent.output.generation_schema,
                    request=self.query if step == 1 else None,  # later steps weigh observations, not the request's words
                )
            except DecisionError as exc:
                error, decision = exc, None
            node_id = self._commit_turn(transcript, turn, step_started, decision)
            transcript = turn
            if decision is None:
                assert error is not None
                self.steps.append(f"step {step}: the model's reply was unusable ({error})")
                await self.emit(FailureEvent(operation="decision", error_type=classify_error(error), message=f"{type(error).__name__}: {error}"))
                if not self.budget.allow_output_retry():
                    return await self.failure(f"The model could not produce a usable reply: {error}", started, transcript)
                await self._note(transcript, format_retry_prompt([str(error)], what="reply"))
                continue
            if decision.action == "call":
                try:
                    outcome = await self._act(transcript, decision, step)
                except _Abort as exc:
                    return await self.failure(str(exc), started, transcript)
                if outcome is not None:
                    return await self.success(outcome, transcript, started, node_id)
                continue
            if decision.action == "ask":
                self.steps.append(f"step {step}: asked for more information (confidence {decision.confidence:.2f})")
                return await self.success(decision.text, transcript, started, node_id)
            self.steps.append(f"step {step}: answered (confidence {decision.confidence:.2f})")
            result = await agent.output.avalidate(decision.text)
            if result.ok:
                value = result.value
                content = decision.text if agent.output.is_text else json.dumps(value.model_dump(mode="json") if isinstance(value, BaseModel) else value, ensure_ascii=False)
                return await self.success(content, transcript, started, node_id, output=value)
            self.steps.append(f"step {step}: the answer failed validation: {'; '.join(result.errors)}")
            if not self.budget.allow_output_retry():
                return await self.failure(f"The answer failed validation: {'; '.join(result.errors)}", started, transcript)
            await self._note(transcript, result.retry_prompt or format_retry_prompt(result.errors))
        return await self.failure(f"No answer after {max_iterations} steps: raise max_iterations or simplify the request.", started, transcript)

    def _commit_turn(self, before: Transcript, turn: Transcript, step_started: float, decision: Decision | None) -> str:
        """Store the assistant turn, what it decided, its exact prompt record and the engine's numbers."""
        prompt_ids = before.ids
        record = PromptRecord(
            prompt_text=before.text,
            prompt_token_ids=list(prompt_ids) if prompt_ids is not None else None,
            output_token_ids=turn.ids[len(prompt_ids) :] if turn.ids is not None and prompt_ids is not None else None,
            output_text=turn.text[len(before.text) :],
        )
        node_id = self.add("assistant", record.output_text or "", _decision_parts(decision), prompt=record)
        usage, cacheable = turn.usage, turn.cacheable_tokens
        self.usage = self.usage + usage
        self.cacheable += cacheable
        self.memory.record_usage(usage, min(cacheable, usage.prompt_tokens), (time.perf_counter() - step_started) * 1000, node_id=node_id)
        turn.usage, turn.cacheable_tokens = Usage(), 0
        return node_id

    async def _act(self, transcript: Transcript, decision: Decision, step: int) -> str | None:
        """Run the calls; return content to end the run with (calls for the caller), or None."""
        agent = self.agent
        calls = decision.calls
        repeated = [c for c in calls if self._made_before(c.tool_name or "", c.arguments or {})]
        if repeated:
            # At temperature 0 a repeated call repeats forever: its result is already in the
            # transcript, so the next step answers from it.
            self.answer_now = True
            names = ", ".join(sorted({c.tool_name or "" for c in repeated}))
            self.steps.append(f"step {step}: repeated the call of {names}; answering from its earlier result")
            await self._note(transcript, f"{names} was already called with these arguments; its result is above. Answer now.")
            return None
        for call in calls:
            self.steps.append(f"step {step}: call {call.tool_name}({json.dumps(call.arguments, ensure_ascii=False)}) (confidence {call.confidence:.2f})")
        for call in calls:
            await self.emit(ToolCallEvent(step=step, call=call))
        records = await agent.tool_manager.executor.execute_many(calls)
        self.records.extend(records)
        for record in records:
            await self.emit(ToolResultEvent(step=step, result=record))
        if any(not r.executed for r in records):
            self.steps.append(f"step {step}: returned {sum(not r.executed for r in records)} call(s) to the caller to run")
            return ""
        lines, repairs = [], []
        for record in records:
            if record.error is None:
                self.budget.tool_succeeded(record.tool)
                lines.append(f"{record.tool} returned: {record.result}")
                continue
            await self.emit(FailureEvent(operation=record.tool, error_type=record.error_type or "execution", message=record.error))
            lines.append(f"{record.tool} failed: {record.error}")
            if record.error_type in ("arguments", "unknown_tool"):
                if not self.budget.allow_tool_retry(record.tool):
                    raise _Abort(f"The calls of {record.tool} kept failing validation: {record.error}")
                repairs.append(record.error)
        for line in lines:
            self.steps.append(f"step {step}: {line[:300]}")
        text = "\n".join(lines)
        parts: list[MessagePart] = [ToolResultPart(record=r) for r in records]
        if repairs:
            repair = format_retry_prompt(repairs, what="tool call")
            text += "\n" + repair
            parts.append(ObservationPart(content=repair))
        await self._observe(transcript, "tool", text, parts)
        return None

    def _made_before(self, tool: str, arguments: dict[str, Any]) -> bool:
        return any(r.tool == tool and r.arguments == arguments and r.error is None for r in self.records)

    async def _note(self, transcript: Transcript, text: str) -> None:
        """Tell the model something (a repair instruction, "answer now") before its next turn."""
        await self._observe(transcript, "observation", text, [ObservationPart(content=text)])

    async def _observe(self, transcript: Transcript, role: MessageRole, text: str, parts: Sequence[MessagePart]) -> None:
        self.add(role, text, parts)
        await self.agent._render(transcript, [Message(role=role, content=text, parts=list(parts))], "assistant")

    async def _fit(self, transcript: Transcript) -> Transcript:
        """Compact the branch's older turns into a summary when the next step would not fit."""
        agent = self.agent
        size = await agent.context_size()
        used = len(transcript.ids) if transcript.ids is not None else len(await agent.engine.tokenize(transcript.text))
        budget = agent.decision.answer_tokens + agent.decision.argument_tokens * agent.decision.max_calls
        if used + budget <= size * 0.9:
            return transcript
        history = self.memory.path_to_root(self.head_id)[1:]
        if len(history) <= 2:
            raise ContextOverflowError(used + budget, size, "Even the latest turn does not fit; shorten the input.")
        older = "\n".join(f"{n.role}: {n.content}" for n in history[:-2])[-4 * size :]
        summary = await agent.engine.generate(
            [ChatMessage(role="user", content=f"Summarise this conversation in a few sentences, keeping names, numbers and results:\n\n{older}")],
            sampling=SamplingParams(max_tokens=min(200, size // 8)),
        )
        self.usage = self.usage + summary.usage
        result = self.memory.compact(keep_last=2, summary=f"Summary of the earlier conversation: {summary.text.strip()}") if self.branch is None else None
        if result is None:
            raise ContextOverflowError(used + budget, size, "A forked branch cannot be compacted; start it from a shorter node.")
        self.head_id = result.head_id
        self.steps.append(f"compacted {result.replaced} older messages into a summary to fit the context ({used} of {size} tokens)")
        transcript, _ = await agent._transcript(self.head_id)
        return transcript

    # --- results -------------------------------------------------------------------------

    async def _response(self, content: str, started: float, *, ok: bool, error: str | None = None, output: Any = None) -> AgentResponse:
        response = AgentResponse(
            content=content,
            tool_calls=self.records,
            reasoning_steps=self.steps,
            total_tokens=self.usage.total_tokens,
            cache_hit_rate=self.usage.cache_hit_rate,
            latency_ms=(time.perf_counter() - started) * 1000,
            is_successful=ok,
            error_message=error,
            output=output,
            session_id=self.memory.session_id,
            node_id=self.head_id or None,
            usage=self.usage,
            prefix_efficiency=self.usage.cached_tokens / self.cacheable if self.cacheable else 0.0,
        )
        await self.emit(RunEndEvent(response=response))
        return response

    async def success(self, content: str, transcript: Transcript, started: float, node_id: str, *, output: Any = None) -> AgentResponse:
        self.agent.keep_transcript(node_id, transcript, "assistant")
        return await self._response(content, started, ok=True, output=output)

    async def failure(self, error: str, started: float, transcript: Transcript | None = None) -> AgentResponse:
        """End the run unsuccessfully; its complete messages stay on the branch, and
        `node_id` points at the last of them (branch from an earlier node to leave them out)."""
        if transcript is not None and self.head_id:
            self.agent.keep_transcript(self.head_id, transcript, "user")
        return await self._response("", started, ok=False, error=error)


def _decision_parts(decision: Decision | None) -> list[MessagePart]:
    """What an assistant turn decided, as parts (an unusable reply decided nothing)."""
    if decision is None:
        return [DecisionPart()]
    parts: list[MessagePart] = [DecisionPart(action=decision.action, confidence=decision.confidence)]
    if decision.action == "call":
        parts += [ToolCallPart(call=c) for c in decision.calls]
    else:
        parts.append(AnswerPart(content=decision.text))
    return parts


class _Abort(RadixAgentError):
    """A repair budget ran out: the run ends with this message."""
