"""Planning a chat request: check it and decide how to serve it, before any engine call.

A plan says what the system text is (the request's system messages, then the decision
protocol listing its tools), whether the turn is plain text, a forced answer or a decision,
which tools it may call, and the sampling and decision settings of the turn."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema
from pydantic import ValidationError

from radixagent.chat.wire import (
    AssistantMessageIn,
    ChatRequest,
    JsonObjectFormat,
    NamedToolChoice,
    SystemMessageIn,
    TextFormat,
    ToolMessageIn,
    ToolSpec,
    UserMessageIn,
    content_text,
)
from radixagent.decision import DecisionSettings, DecisionStrategy, protocol_text
from radixagent.engine.constraints import fit_schema
from radixagent.engine.schema_guard import safe_validator
from radixagent.engine.types import SamplingParams
from radixagent.errors import (
    ChatInputError,
    UnknownToolError,
)
from radixagent.schemas import ToolSchema

logger = logging.getLogger(__name__)

DEFAULT_SYSTEM = "You are a helpful assistant."
RESERVED_TOOL_NAMES = frozenset({"answer", "run"})
"""Words of the decision protocol: a tool of that name could not be told apart from them."""


Mode = Literal["plain", "answer", "decide"]


@dataclass
class ChatPlan:
    system: str
    mode: Mode
    decide_tools: list[ToolSchema]
    validators: dict[str, jsonschema.protocols.Validator]
    require_tool: bool
    settings: DecisionSettings
    answer_schema: dict[str, Any] | None
    answer_validator: jsonschema.protocols.Validator | None
    sampling: SamplingParams


def _tool_schemas(specs: Sequence[ToolSpec]) -> tuple[list[ToolSchema], dict[str, jsonschema.protocols.Validator]]:
    tools: list[ToolSchema] = []
    validators: dict[str, jsonschema.protocols.Validator] = {}
    for i, spec in enumerate(specs):
        fn = spec.function
        where = f"tools[{i}].function"
        if fn.name in RESERVED_TOOL_NAMES:
            raise ChatInputError(
                f"A function cannot be named {fn.name!r}: radixagent's decision protocol uses that word. Rename it.",
                param=f"{where}.name",
                code="invalid_tool",
            )
        if fn.name in validators:
            raise ChatInputError(f"Two tools are named {fn.name!r}: give each function its own name.", param=f"{where}.name", code="invalid_tool")
        parameters = fn.parameters or {"type": "object", "properties": {}}
        safe_validator(parameters, param=f"{where}.parameters")
        if parameters.get("type", "object") != "object":
            raise ChatInputError(
                f"The parameters of function {fn.name!r} must be a JSON schema of type 'object', not {parameters.get('type')!r}.",
                param=f"{where}.parameters",
                code="invalid_schema",
            )
        usable = _satisfiable(fn.name, parameters, f"{where}.parameters")
        try:
            tools.append(ToolSchema(name=fn.name, description=fn.description or fn.name, parameters=usable))
        except ValidationError:
            raise ChatInputError(
                f"{fn.name!r} is not a valid function name: use 1-64 letters, digits, '_' or '-', starting with a letter or '_'.",
                param=f"{where}.name",
                code="invalid_tool",
            ) from None
        validators[fn.name] = safe_validator(usable)
    return tools, validators


def _satisfiable(function: str, parameters: dict[str, Any], where: str) -> dict[str, Any]:
    """The parameters as a client meant them, from the sloppy schemas real clients send: an
    enum that spells its type's values as strings (an `integer` listing "1" to "9") lists
    those values; an optional parameter no value can satisfy (a `boolean` listing "True",
    "False" and "dontcare") is left out; a required one is refused, by name. Calls are
    checked against the schema so read."""
    properties = parameters.get("properties")
    if not isinstance(properties, dict):
        return parameters
    required = set(parameters.get("required") or [])
    usable: dict[str, Any] = {}
    dropped = []
    for name, node in properties.items():
        node = _spelled_out(node) if isinstance(node, dict) else node
        if not isinstance(node, dict) or _admits_a_value(node):
            usable[name] = node
            continue
        if name in required:
            raise ChatInputError(
                f"No value satisfies the schema of the required parameter {name!r} of function {function!r} "
                f"(its enum or const values do not match its type): fix the schema.",
                param=f"{where}.properties.{name}",
                code="invalid_schema",
            )
        dropped.append(name)
    if dropped:
        logger.warning("function %r: no value satisfies the schema of its optional parameter(s) %s; they are left out", function, ", ".join(dropped))
    return {**parameters, "properties": usable}


_SPELLINGS: dict[str, Callable[[str], object]] = {
    "integer": lambda text: int(text) if re.fullmatch(r"[-+]?\d+", text.strip()) else None,
    "number": lambda text: float(text) if re.fullmatch(r"[-+]?\d+(\.\d+)?", text.strip()) else None,
    "boolean": lambda text: {"true": True, "false": False}.get(text.strip().lower()),
}


def _spelled_out(node: dict[str, Any]) -> dict[str, Any]:
    """`node` with an enum of strings that each spell a value of its type read as those values."""
    spell = _SPELLINGS.get(str(node.get("type")))
    listed = node.get("enum")
    if spell is None or not isinstance(listed, list) or not listed or not all(isinstance(v, str) for v in listed):
        return node
    values = [spell(v) for v in listed]
    return node if None in values else {**node, "enum": values}


def _admits_a_value(node: dict[str, Any]) -> bool:
    """Whether some value satisfies `node`, as far as its listed values tell: an `enum` or
    `const` whose every value breaks the rest of the schema admits none."""
    listed = node["enum"] if isinstance(node.get("enum"), list) else [node["const"]] if "const" in node else None
    if listed is None:
        return True
    rest = {k: v for k, v in node.items() if k not in ("enum", "const")}
    validator = safe_validator(rest)
    return any(validator.is_valid(value) for value in listed)


def _check_messages(messages: Sequence[SystemMessageIn | UserMessageIn | AssistantMessageIn | ToolMessageIn]) -> None:
    """The conversation's shape: a user message somewhere, tool results answering earlier
    calls, and the assistant's turn still to come."""
    if not any(isinstance(m, UserMessageIn) for m in messages):
        raise ChatInputError("The messages need at least one user message.", param="messages")
    call_ids: set[str] = set()
    for i, message in enumerate(messages):
        if isinstance(message, AssistantMessageIn):
            call_ids.update(call.id for call in message.tool_calls or [])
        elif isinstance(message, ToolMessageIn) and message.tool_call_id not in call_ids:
            raise ChatInputError(
                f"No earlier assistant tool call has the id {message.tool_call_id!r}: a tool message answers one of "
                "the tool_calls of an assistant message before it.",
                param=f"messages[{i}].tool_call_id",
            )
    if isinstance(messages[-1], AssistantMessageIn):
        raise ChatInputError(
            "The last message must be from the user or a tool result: the assistant's turn is what this request generates.",
            param=f"messages[{len(messages) - 1}]",
        )


def _answer_schema(request: ChatRequest) -> tuple[dict[str, Any] | None, jsonschema.protocols.Validator | None]:
    fmt = request.response_format
    if fmt is None or isinstance(fmt, TextFormat):
        return None, None
    if isinstance(fmt, JsonObjectFormat):
        schema: dict[str, Any] = {"type": "object"}
    else:
        schema = fmt.json_schema.json_schema
        if not schema:
            raise ChatInputError(
                "response_format json_schema needs a 'schema': the JSON schema the answer must follow.",
                param="response_format.json_schema.schema",
            )
    return schema, safe_validator(schema, param="response_format.json_schema.schema")


def plan_request(
    request: ChatRequest,
    decision: DecisionSettings,
    *,
    max_parallel_calls: int,
    default_system: str = DEFAULT_SYSTEM,
    default_max_tokens: int = 512,
) -> ChatPlan:
    """Check the request and decide how to serve it (no engine call)."""
    if request.n not in (None, 1):
        raise ChatInputError("Only n=1 is supported: send one request per completion you need.", param="n")
    if request.logprobs:
        raise ChatInputError("logprobs are not returned by this endpoint; leave logprobs unset.", param="logprobs")
    tools, validators = _tool_schemas(request.tools or [])
    choice = request.tool_choice
    max_tokens = request.max_completion_tokens or request.max_tokens
    answer_schema, answer_validator = _answer_schema(request)
    _check_messages(request.messages)
    systems: list[str] = []
    for message in request.messages:
        if not isinstance(message, SystemMessageIn):
            break
        systems.append(content_text(message.content))
    system = "\n\n".join(s for s in systems if s.strip()) or default_system
    if tools:
        system += "\n\n" + protocol_text(tools, allow_ask=False)
    if choice is None:
        choice = "auto"
    if not tools and choice != "none" and choice != "auto":
        raise ChatInputError("tool_choice asks for a tool call, but the request has no tools.", param="tool_choice")
    mode: Mode = "plain" if not tools else "answer" if choice == "none" else "decide"
    decide_tools = tools
    if isinstance(choice, NamedToolChoice):
        named = [t for t in tools if t.name == choice.function.name]
        if not named:
            error = UnknownToolError(choice.function.name, [t.name for t in tools])
            error.param = "tool_choice.function.name"
            raise error
        decide_tools = named
    base = decision
    argument_tokens = max(8, max_tokens) if max_tokens else base.argument_tokens
    answer_tokens = max(8, max_tokens) if max_tokens else base.answer_tokens
    settings = base.model_copy(
        update={
            "max_calls": 1 if request.parallel_tool_calls is False else max_parallel_calls,  # OpenAI: allowed unless turned off
            "argument_tokens": argument_tokens,
            "answer_tokens": answer_tokens,
            "allow_ask": False,
        }
    )
    # Fit the argument schemas to this turn's token budget, so a call closes within it (the
    # system prompt keeps the tools as given: byte-stable whatever max_tokens is). The score
    # strategy fits each call's schema once it is narrowed to the request's values, whose
    # strings a bound set before would cut.
    if max_tokens and base.strategy is DecisionStrategy.SCHEMA:
        decide_tools = [t.model_copy(update={"parameters": fit_schema(t.parameters, argument_tokens)}) for t in decide_tools]
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or [])
    sampling = SamplingParams(
        max_tokens=max_tokens or (answer_tokens if mode != "plain" else default_max_tokens),
        temperature=request.temperature or 0.0,
        top_p=request.top_p or 1.0,
        seed=request.seed,
        stop=stop,
    )
    return ChatPlan(
        system=system,
        mode=mode,
        decide_tools=decide_tools,
        validators=validators,
        require_tool=choice == "required" or isinstance(choice, NamedToolChoice),
        settings=settings,
        answer_schema=answer_schema,
        answer_validator=answer_validator,
        sampling=sampling,
    )
