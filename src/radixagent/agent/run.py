"""One run of the loop: decide -> validate -> act -> observe -> answer, on one branch.

A step whose calls need a person's approval pauses the run (`pause`); `resume` continues it
from the stored turn, on the same transcript, as if the step had run straight through."""

from __future__ import annotations

import contextlib
import inspect
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from radixagent.agent.events import (
    AgentEvent,
    ApprovalRequestEvent,
    EventHandler,
    FailureEvent,
    RunEndEvent,
    StepEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from radixagent.decision import Decision, decide
from radixagent.engine import ChatMessage, SamplingParams, Usage
from radixagent.errors import ContextOverflowError, DecisionError, RadixAgentError, ToolError
from radixagent.memory.radix import EngineCall
from radixagent.memory.store import off_loop
from radixagent.memory.tree import Branch, ConversationNode, PromptRecord, new_message
from radixagent.prompting import Transcript
from radixagent.recovery import (
    RetryBudget,
    classify_error,
)
from radixagent.schemas import (
    AgentResponse,
    AnswerPart,
    ApprovalRequestPart,
    DecisionPart,
    Message,
    MessagePart,
    MessageRole,
    ObservationPart,
    PendingApproval,
    ToolCall,
    ToolCallPart,
    ToolCallRecord,
    ToolResultPart,
)
from radixagent.validation import format_retry_prompt, grounded_answer, tidy_answer

if TYPE_CHECKING:
    from radixagent.agent.agent import Agent


class Run:
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
        self.earlier: list[ToolCallRecord] = []
        """The calls the request made before this run resumed it (after a pause for approval)."""
        self.steps: list[str] = []
        self.usage = Usage()
        self.cacheable = 0
        self.budget = RetryBudget(agent.tool_retries, agent.output_retries)
        self.answer_now = False
        """Set when the model repeats a call it already made: the next step may only answer."""
        self.waiting: list[tuple[Message, str | None]] = []
        """Messages (with their node ids) to store with the next one: see `add`."""

    async def emit(self, event: AgentEvent) -> None:
        for observer in [*self.agent.observers, *([self.on_event] if self.on_event else [])]:
            outcome = observer(event)
            if inspect.isawaitable(outcome):
                await outcome

    async def add(
        self,
        role: MessageRole,
        content: str,
        parts: Sequence[MessagePart] = (),
        prompt: PromptRecord | None = None,
        call: EngineCall | None = None,
        node_id: str | None = None,
        *,
        with_reply: bool = False,
    ) -> str:
        """Store a message on the run's branch; `call`: the engine call that produced it. On
        a store that may block (`Store.blocks`: PostgreSQL), in a worker thread.

        `with_reply`: a message the run answers (the user's, a tool's result, a note to the
        model) waits for the assistant turn that replies to it, and both are stored in one
        write: a write per message cost a transaction each. Nothing acknowledges a message
        before its reply is stored; a run that ends without one stores it (`settle`)."""
        if self.branch is not None:
            self.head_id = await off_loop(self.memory.store, self.branch.add_message, role, content, parts, prompt=prompt)
            if call is not None:
                await off_loop(self.memory.store, self.memory.record_usage, call.usage, call.cacheable_tokens, call.latency_ms, node_id=self.head_id)
            return self.head_id
        self.waiting.append((new_message(role, content, parts), node_id))
        if with_reply:
            return self.head_id
        messages, self.waiting = self.waiting, []
        self.head_id = await off_loop(self.memory.store, self.memory.add_messages, messages, prompt=prompt, call=call)
        return self.head_id

    async def settle(self) -> None:
        """Store the messages still waiting for a reply: the run ends without one."""
        if self.waiting:
            messages, self.waiting = self.waiting, []
            self.head_id = await off_loop(self.memory.store, self.memory.add_messages, messages)

    async def loop(self, transcript: Transcript, max_iterations: int, started: float, first_step: int = 1) -> AgentResponse:
        agent = self.agent
        fmt = await agent._format()
        for step in range(first_step, first_step + max_iterations):
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
                    agent.decision.model_copy(update={"allow_ask": False}) if self.answer_now else agent.decision,
                    answer_schema=None if agent.output.is_text else agent.output.generation_schema,
                    request=self.query,
                    done=self.made,  # later steps answer once the calls made have served every part of the request
                    today=agent.stated_today,
                )
            except DecisionError as exc:
                error, decision = exc, None
            if decision is not None and decision.action == "answer" and agent.output.is_text:
                decision = decision.model_copy(update={"text": self._finished_answer(decision.text, step)})
            held = await self._held(decision.calls) if decision is not None and decision.action == "call" else []
            node_id = await self._commit_turn(transcript, turn, step_started, decision, held)
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
                if held:
                    return await self.pause(transcript, started, node_id, step, held)
                try:
                    outcome = await self._act(transcript, decision.calls, step)
                except _Abort as exc:
                    return await self.failure(str(exc), started, transcript)
                if outcome is not None:
                    return await self.success(outcome, transcript, started, node_id)
                continue
            if decision.action == "ask":
                self.steps.append(f"step {step}: asked for more information (confidence {decision.confidence:.2f})")
                return await self.success(tidy_answer(decision.text), transcript, started, node_id)
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

    async def _commit_turn(
        self, before: Transcript, turn: Transcript, step_started: float, decision: Decision | None, held: Sequence[ToolCall] = ()
    ) -> str:
        """Store the assistant turn, what it decided (and which calls wait for approval), its
        exact prompt record and the engine's numbers, in one write."""
        prompt_ids = before.ids
        record = PromptRecord(
            prompt_text=before.text,
            prompt_token_ids=list(prompt_ids) if prompt_ids is not None else None,
            output_token_ids=turn.ids[len(prompt_ids) :] if turn.ids is not None and prompt_ids is not None else None,
            output_text=turn.text[len(before.text) :],
        )
        parts = _decision_parts(decision) + [ApprovalRequestPart(call_id=c.id) for c in held]
        usage, cacheable = turn.usage, turn.cacheable_tokens
        call = EngineCall(usage, min(cacheable, usage.prompt_tokens), (time.perf_counter() - step_started) * 1000)
        node_id = await self.add("assistant", record.output_text or "", parts, prompt=record, call=call)
        self.usage = self.usage + usage
        self.cacheable += cacheable
        turn.usage, turn.cacheable_tokens = Usage(), 0
        return node_id

    async def _held(self, calls: Sequence[ToolCall]) -> list[ToolCall]:
        """The calls of a step that must wait for approval (none when the step repeats a call:
        it is not run again). A call whose arguments are invalid is not held: it fails and is
        repaired as usual, without asking anyone."""
        if any(self._made_before(c.tool_name, c.arguments) for c in calls):
            return []
        held = []
        for call in calls:
            try:
                checked = self.agent.tool_manager.executor.validate_arguments(call.tool_name, call.arguments)
            except ToolError:
                continue
            if await self.agent.needs_approval(call.model_copy(update={"arguments": checked})):
                held.append(call)
        return held

    async def pause(self, transcript: Transcript, started: float, node_id: str, step: int, held: Sequence[ToolCall]) -> AgentResponse:
        """End the run waiting for approvals. The turn is stored with its prompt record and its
        transcript kept, so `resume` extends this exact prompt; the step's other calls wait with
        the held ones, and all run together when the run resumes."""
        pending = [PendingApproval(call_id=c.id, tool=c.tool_name, arguments=c.arguments, node_id=node_id) for c in held]
        self.steps.append(f"step {step}: waiting for approval of {', '.join(c.tool_name for c in held)}")
        await self.emit(ApprovalRequestEvent(step=step, node_id=node_id, approvals=pending))
        self.agent.keep_transcript(node_id, transcript, "assistant")
        return await self._response("", started, ok=True, pending=pending)

    async def resume(
        self, transcript: Transcript, node: ConversationNode, denied: Mapping[str, str], max_iterations: int, started: float, step: int
    ) -> AgentResponse:
        """Run the paused step's calls (the denied ones become observations), then go on."""
        try:
            outcome = await self._act(transcript, node.message.tool_calls, step, denied)
        except _Abort as exc:
            return await self.failure(str(exc), started, transcript)
        if outcome is not None:
            return await self.success(outcome, transcript, started, node.id)
        return await self.loop(transcript, max_iterations, started, first_step=step + 1)

    async def _act(self, transcript: Transcript, calls: Sequence[ToolCall], step: int, denied: Mapping[str, str] | None = None) -> str | None:
        """Run the calls (except those a person `denied`: call id -> reason); return content to
        end the run with (calls for the caller), or None."""
        agent = self.agent
        denied = denied or {}
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
        runnable = [c for c in calls if c.id not in denied]
        for call in runnable:
            await self.emit(ToolCallEvent(step=step, call=call))
        ran = {r.id: r for r in await agent.tool_manager.executor.execute_many(runnable)} if runnable else {}
        records = [ran[c.id] if c.id in ran else _denied(c, denied[c.id]) for c in calls]
        self.records.extend(records)
        for record in records:
            await self.emit(ToolResultEvent(step=step, result=record))
        returned = sum(not r.executed and r.error is None for r in records)
        if returned:
            self.steps.append(f"step {step}: returned {returned} call(s) to the caller to run")
            return ""
        lines, repairs = [], []
        for record in records:
            if record.error_type == "denied":
                lines.append(f"{record.tool} was not run: {record.error}")
                continue
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

    def _finished_answer(self, text: str, step: int) -> str:
        """A text answer without a small model's stray list marker, and, unless the agent says
        otherwise, stating what this run's tools returned (or, where every call failed and the
        answer says nothing, why the last one failed)."""
        text = tidy_answer(text)
        if not self.agent.ground_answers:
            return text
        results = [r.result for r in self.made if r.error is None and r.result]
        failed = [r for r in self.made if r.error is not None and r.error_type != "denied"]
        if not results and failed and not any(c.isalpha() for c in text):
            # "1" after the only call failed: what failed is what the run found out
            self.steps.append(f"step {step}: the answer said nothing; the failure of {failed[-1].tool} is the answer")
            return f"{failed[-1].tool} failed: {failed[-1].error}"
        grounded = grounded_answer(text, results)
        if grounded != text:
            self.steps.append(f"step {step}: the answer did not state what the tools returned; their results are the answer")
        return grounded

    def _made_before(self, tool: str, arguments: dict[str, Any]) -> bool:
        """Whether this exact call already ran: it succeeded, or the tool itself failed on these
        arguments (it would again; arguments that failed validation go to the repair budget, and
        a call a person denied may be decided again). Arguments compare with the tool's defaults
        applied, as its records hold them."""
        with contextlib.suppress(ToolError):
            arguments = self.agent.tool_manager.executor.validate_arguments(tool, arguments)
        return any(r.tool == tool and r.arguments == arguments and r.error_type in (None, "execution") for r in self.made)

    @property
    def made(self) -> list[ToolCallRecord]:
        """Every call made for the request, this run's and those before its pause."""
        return self.earlier + self.records

    async def _note(self, transcript: Transcript, text: str) -> None:
        """Tell the model something (a repair instruction, "answer now") before its next turn."""
        await self._observe(transcript, "observation", text, [ObservationPart(content=text)])

    async def _observe(self, transcript: Transcript, role: MessageRole, text: str, parts: Sequence[MessagePart]) -> None:
        await self.add(role, text, parts, with_reply=True)
        await self.agent._render(transcript, [Message(role=role, content=text, parts=list(parts))], "assistant")

    async def _fit(self, transcript: Transcript) -> Transcript:
        """Compact the branch's older turns into a summary when the next step would not fit."""
        agent = self.agent
        size = await agent.context_size()
        used = len(transcript.ids) if transcript.ids is not None else len(await agent.engine.tokenize(transcript.text))
        budget = agent.decision.answer_tokens + agent.decision.argument_tokens * agent.decision.max_calls
        if used + budget <= size * 0.9:
            return transcript
        await self.settle()
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

    async def _response(
        self, content: str, started: float, *, ok: bool, error: str | None = None, output: Any = None, pending: Sequence[PendingApproval] = ()
    ) -> AgentResponse:
        await self.settle()
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
            pending_approvals=list(pending),
        )
        await self.emit(RunEndEvent(response=response))
        return response

    async def success(self, content: str, transcript: Transcript, started: float, node_id: str, *, output: Any = None) -> AgentResponse:
        self.agent.keep_transcript(node_id, transcript, "assistant")
        return await self._response(content, started, ok=True, output=output)

    async def failure(self, error: str, started: float, transcript: Transcript | None = None) -> AgentResponse:
        """End the run unsuccessfully; its complete messages stay on the branch, and
        `node_id` points at the last of them (branch from an earlier node to leave them out)."""
        await self.settle()
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


def _denied(call: ToolCall, reason: str) -> ToolCallRecord:
    """The record of a call a person denied: it never ran; the model reads why."""
    return ToolCallRecord(
        id=call.id,
        tool=call.tool_name,
        arguments=call.arguments,
        error=f"the user denied this call: {reason}" if reason else "the user denied this call",
        error_type="denied",
        executed=False,
    )


class _Abort(RadixAgentError):
    """A repair budget ran out: the run ends with this message."""
