"""OpenAI-style chat completions with tools, valid by construction, on any engine.

    completer = ChatCompleter(engine)
    result = await completer.complete(ChatRequest.model_validate(body))   # body: an OpenAI request
    result.tool_calls[0].name, result.tool_calls[0].arguments              # a real tool, valid JSON

A request's messages become one exact transcript: the system text is the request's system
message followed by the decision protocol listing the request's tools (byte-stable for a tool
set, so it sits in the engine's prefix cache); earlier assistant tool calls are rendered in the
same `Action: name / Arguments: {...} / Action: run` protocol the model writes, and tool results
become observation turns. Then `decision.decide` writes the next assistant turn under
constraints built from the request's tools:

    tool_choice "auto"      the model chooses: one of the tools, or an answer
    tool_choice "required"  the model must call one of the tools
    {"function": {"name"}}  the model calls that function
    tool_choice "none"      an answer, generated after a forced "Action: answer"
    no tools                plain generation (the chat template only)

Every tool call names a function of the request and its arguments are generated under that
function's JSON schema (bounded, so the JSON always closes) and checked against it again.
`response_format` json_schema constrains the answer the same way. A generation cut off by
`max_tokens` is reported as `finish_reason="length"`, never as a broken call: the calls
written whole before it are returned with it.

The usage is the engine's own, summed over every request the turn took (choice scoring is one
request per option, each mostly served from the prefix cache: see `cached_tokens`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from radixagent.chat.planning import DEFAULT_SYSTEM, ChatPlan, plan_request
from radixagent.chat.wire import (
    AssistantMessageIn,
    ChatMessageIn,
    ChatRequest,
    SystemMessageIn,
    ToolCallIn,
    ToolMessageIn,
    UserMessageIn,
    content_text,
)
from radixagent.decision import Decision, DecisionSettings, DecisionStrategy, decide
from radixagent.engine.base import Engine
from radixagent.engine.constraints import bounded_schema
from radixagent.engine.prefix import PrefixLedger
from radixagent.engine.tap import EngineTap, TapState, tap_scope
from radixagent.engine.types import (
    JsonSchemaConstraint,
    Usage,
)
from radixagent.errors import (
    DecisionError,
    EngineResponseError,
)
from radixagent.evidence import Evidence
from radixagent.prompting import CHATML, ChatFormat, Transcript, TurnWriter
from radixagent.schemas import ToolCallRecord
from radixagent.telemetry.chat import ChatSpan, chat_span
from radixagent.validation import tidy_answer

logger = logging.getLogger(__name__)


class ChatToolCall(BaseModel):
    """One tool call: `arguments` is JSON text (as OpenAI sends it), valid for the function's schema."""

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.arguments)
        return value


ChatFinishReason = Literal["stop", "length", "tool_calls"]


class ChatResult(BaseModel):
    """One assistant turn: `content` or `tool_calls`, with the engine's numbers."""

    content: str | None = None
    tool_calls: list[ChatToolCall] = Field(default_factory=list)
    finish_reason: ChatFinishReason
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    confidence: float | None = Field(default=None, description="the model's probability of its decision (tools only)")
    engine_ms: float = Field(default=0.0, description="time spent waiting for the engine")
    latency_ms: float = 0.0


class ChatDelta(BaseModel):
    """A piece of a streamed turn: `text` to append to the content; the last delta carries the
    whole `result` (its content equals the concatenated texts)."""

    text: str = ""
    result: ChatResult | None = None


class ChatCompleter:
    """Serves OpenAI chat requests on one engine.

    `decision` sets the strategy (choice scoring by default) and the per-turn limits; a
    request's `max_tokens` caps each generation of the turn. A turn may make up to
    `max_parallel_calls` calls unless the request sets `parallel_tool_calls: false` (OpenAI's
    default allows them); with the request's evidence on, a further call serves a further part
    of the request, never a repeat. Decisions and arguments are
    generated greedily; `temperature`, `top_p`, `seed` and `stop` apply to free answers."""

    def __init__(
        self,
        engine: Engine,
        *,
        decision: DecisionSettings | None = None,
        chat_format: ChatFormat | None = None,
        default_system: str = DEFAULT_SYSTEM,
        default_max_tokens: int = 512,
        max_parallel_calls: int = 3,
    ) -> None:
        self.engine: EngineTap = engine if isinstance(engine, EngineTap) else EngineTap(engine)
        self.decision = decision or DecisionSettings()
        self.max_parallel_calls = max_parallel_calls
        self.default_system = default_system
        self.default_max_tokens = default_max_tokens
        self._format = chat_format
        self._model: str | None = None

    async def chat_format(self) -> ChatFormat:
        if self._format is None:
            self._format = await ChatFormat.learn(self.engine) or CHATML
        return self._format

    async def model_name(self) -> str:
        if self._model is None:
            self._model = (await self.engine.model_info()).name
        return self._model

    # --- public --------------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResult:
        """One assistant turn for `request`."""
        with tap_scope() as state, chat_span(self.engine.name, request.model, stream=False) as span:
            return _traced(span, await self._complete(request, state))

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatDelta]:
        """The same turn, streamed: text deltas of the answer as the engine writes it, then a
        last delta with the result. Tool calls come whole, in the result."""
        plan = self.plan(request)
        queue: asyncio.Queue[str | ChatResult | BaseException] = asyncio.Queue()

        async def work() -> None:
            try:
                with tap_scope(on_text=queue.put_nowait) as state, chat_span(self.engine.name, request.model, stream=True) as span:
                    queue.put_nowait(_traced(span, await self._complete(request, state, plan)))
            except BaseException as exc:  # handed to the consumer, which re-raises it
                queue.put_nowait(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise

        task = asyncio.create_task(work())
        trim = _Trim(enabled=plan.mode != "plain")
        sent = ""
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, ChatResult):
                    content = item.content or ""
                    if item.tool_calls:
                        content = ""
                    if content.startswith(sent) and content != sent:
                        yield ChatDelta(text=content[len(sent) :])
                    elif not content.startswith(sent):
                        logger.warning("streamed text %r is not a prefix of the answer %r", sent[:80], content[:80])
                    yield ChatDelta(result=item)
                    return
                piece = trim.feed(item)
                if piece:
                    sent += piece
                    yield ChatDelta(text=piece)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # --- the turn ------------------------------------------------------------------------

    def plan(self, request: ChatRequest) -> ChatPlan:
        """Check the request and decide how to serve it (no engine call)."""
        return plan_request(
            request,
            self.decision,
            max_parallel_calls=self.max_parallel_calls,
            default_system=self.default_system,
            default_max_tokens=self.default_max_tokens,
        )

    async def transcript(self, request: ChatRequest, plan: ChatPlan) -> Transcript:
        """The request's conversation as the engine will see it, ending where the assistant's
        turn begins. Each turn is appended where the previous request's prompt ended, so a
        client resending its history re-creates the same prompt tokens up to its last turn."""
        fmt = await self.chat_format()
        transcript = Transcript(self.engine, PrefixLedger())
        await transcript.append(fmt.system(plan.system))
        names: dict[str, str] = {}
        writer = TurnWriter(fmt)
        observations: list[str] = []

        def flush_observations() -> None:
            if observations:
                writer.user("[tool] " + "\n".join(observations))
                observations.clear()

        messages = list(request.messages)
        start = next((i for i, m in enumerate(messages) if not isinstance(m, SystemMessageIn)), len(messages))
        for message in messages[start:]:
            if isinstance(message, ToolMessageIn):
                observations.append(f"{names[message.tool_call_id]} returned: {content_text(message.content)}")
                continue
            flush_observations()
            if isinstance(message, UserMessageIn):
                writer.user(content_text(message.content))
            elif isinstance(message, SystemMessageIn):
                writer.user("[system] " + content_text(message.content))
            else:
                await transcript.append(writer.assistant())
                await transcript.append(self._assistant_text(message, plan, names))
        flush_observations()
        await transcript.append(writer.take() + fmt.user_to_assistant)
        return transcript

    @staticmethod
    def _assistant_text(message: AssistantMessageIn, plan: ChatPlan, names: dict[str, str]) -> str:
        if message.tool_calls:
            lines = []
            for call in message.tool_calls:
                names[call.id] = call.function.name
                lines.append(f"Action: {call.function.name}\nArguments: {call.function.arguments.strip() or '{}'}")
            return "\n".join(lines) + "\nAction: run"
        content = content_text(message.content)
        return content if plan.mode == "plain" else f"Action: answer\nAnswer: {content}"

    async def _complete(self, request: ChatRequest, state: TapState, plan: ChatPlan | None = None) -> ChatResult:
        started = time.perf_counter()
        plan = plan or self.plan(request)
        transcript = await self.transcript(request, plan)
        model = await self.model_name()
        constraint = JsonSchemaConstraint(json_schema=bounded_schema(plan.answer_schema)) if plan.answer_schema else None

        def result(**fields: Any) -> ChatResult:
            return ChatResult(
                usage=transcript.usage,
                model=model,
                engine_ms=state.engine_ms,
                latency_ms=(time.perf_counter() - started) * 1000,
                **fields,
            )

        if plan.mode in ("plain", "answer"):
            if plan.mode == "answer":
                await transcript.append("Action: answer\nAnswer: ")
            completion = await transcript.generate(constraint=constraint, sampling=plan.sampling)
            text = completion.text if plan.mode == "plain" else completion.text.strip()
            if completion.finish_reason == "length":
                return result(content=text, finish_reason="length")
            self._check_answer(text, plan)
            return result(content=text, finish_reason="stop")

        before = len(transcript.text)
        try:
            pending = _pending(request.messages)
            decision = await decide(
                transcript,
                plan.decide_tools,
                plan.settings,
                answer_schema=plan.answer_schema,
                require_tool=plan.require_tool,
                request=pending.text,
                done=pending.done,
                today=_stated_today(request.messages),
            )
        except DecisionError as exc:
            if state.last_finish == "length":
                return result(content=None, finish_reason="length")
            raise EngineResponseError(f"The engine's output did not follow its constraint: {exc}") from exc
        if decision.action == "call":
            calls = self._tool_calls(decision, plan, transcript.text[before:])
            # a later call cut off by max_tokens: the calls before it, said to be cut short
            return result(tool_calls=calls, finish_reason="length" if decision.cut_off else "tool_calls", confidence=decision.confidence)
        # a text answer is tidied as the agent's is (a JSON one is the client's schema's)
        text = decision.text if plan.answer_schema is not None else tidy_answer(decision.text)
        self._check_answer(text, plan)
        return result(content=text, finish_reason="stop", confidence=decision.confidence)

    def _tool_calls(self, decision: Decision, plan: ChatPlan, generated: str) -> list[ChatToolCall]:
        raw = _raw_arguments(generated, len(decision.calls)) if self.decision.strategy is DecisionStrategy.SCORE else None
        calls: list[ChatToolCall] = []
        seen: set[tuple[str, str]] = set()
        for i, call in enumerate(decision.calls):
            name = call.tool_name or ""
            arguments = call.arguments or {}
            key = (name, json.dumps(arguments, sort_keys=True))
            if key in seen:  # small models repeat a call; running it twice helps no one
                continue
            seen.add(key)
            validator = plan.validators.get(name)
            if validator is None:
                raise EngineResponseError(f"The decision named {name!r}, which is not one of the request's tools.")
            errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
            if errors:
                raise EngineResponseError(
                    f"The engine's arguments for {name!r} break its schema ({errors[0].message}): the engine did not apply the constraint."
                )
            text = raw[i] if raw is not None and json.loads(raw[i]) == arguments else json.dumps(arguments, ensure_ascii=False)
            calls.append(ChatToolCall(id=call.id, name=name, arguments=text))
        return calls

    @staticmethod
    def _check_answer(text: str, plan: ChatPlan) -> None:
        """A finished answer under a JSON schema must validate: if not, the engine dropped the constraint."""
        validator = plan.answer_validator
        if validator is None:
            return
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise EngineResponseError(f"The engine's answer under response_format is not JSON ({exc}): {text[:120]!r}") from exc
        error = next(iter(validator.iter_errors(value)), None)
        if error is not None:
            raise EngineResponseError(f"The engine's answer breaks the response_format schema: {error.message}")


def _traced(span: ChatSpan | None, result: ChatResult) -> ChatResult:
    """`result`, recorded on the request's span when there is one."""
    if span is not None:
        span.finish(
            model=result.model,
            usage=result.usage,
            finish_reason=result.finish_reason,
            tool_calls=[c.name for c in result.tool_calls],
            confidence=result.confidence,
        )
    return result


@dataclass
class _Pending:
    text: str | None
    done: list[ToolCallRecord]


def _pending(messages: Sequence[ChatMessageIn]) -> _Pending:
    """The user's text this turn answers (the last run of user messages) and the calls made
    for it since, with their results: the decision answers once they served the request."""
    results: dict[str, str] = {}
    calls: list[ToolCallIn] = []
    i = len(messages) - 1
    while i >= 0 and not isinstance(messages[i], UserMessageIn):
        message = messages[i]
        if isinstance(message, ToolMessageIn):
            results[message.tool_call_id] = content_text(message.content)
        elif isinstance(message, AssistantMessageIn):
            calls = list(message.tool_calls or []) + calls
        i -= 1
    texts: list[str] = []
    while i >= 0 and isinstance(messages[i], UserMessageIn):
        texts.insert(0, content_text(messages[i].content))
        i -= 1
    done = [
        ToolCallRecord(id=c.id, tool=c.function.name, arguments=_arguments_of(c), result=results.get(c.id))
        for c in calls
        if c.id in results
    ]
    return _Pending(text="\n".join(texts) or None, done=done)


def _stated_today(messages: Sequence[ChatMessageIn]) -> date | None:
    """The day the system messages say it is ("act like the current date is 2024/02/21")."""
    said = "\n".join(content_text(m.content) for m in messages if isinstance(m, SystemMessageIn))
    return Evidence.of(said).stated_today if said.strip() else None


def _arguments_of(call: ToolCallIn) -> dict[str, Any]:
    try:
        value = json.loads(call.function.arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _raw_arguments(generated: str, count: int) -> list[str] | None:
    """The arguments JSON exactly as the model wrote it (so a client that sends the call back
    re-creates the same prompt bytes), or None when it cannot be found."""
    decoder = json.JSONDecoder()
    out: list[str] = []
    pos = 0
    for _ in range(count):
        at = generated.find("Arguments: ", pos)
        if at < 0:
            return None
        start = at + len("Arguments: ")
        while start < len(generated) and generated[start] in " \t\r\n":
            start += 1
        try:
            _, end = decoder.raw_decode(generated, start)
        except ValueError:
            return None
        out.append(generated[start:end])
        pos = end
    return out


class _Trim:
    """Streams text with leading and trailing whitespace held back, so the streamed pieces
    add up to the stripped answer."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.started = False
        self.held = ""

    def feed(self, piece: str) -> str:
        if not self.enabled:
            return piece
        if not self.started:
            piece = piece.lstrip()
            if not piece:
                return ""
            self.started = True
        text = self.held + piece
        body = text.rstrip()
        self.held = text[len(body) :]
        return body
