"""Bounds on the work one chat completion may cause, checked before any engine call.

The engine is the expensive part: every tool a request lists is scored against it, every
token of its prompt is prefilled, and `max_tokens` tokens may be generated. A request past a
bound is answered 400 (`code: limit_exceeded`) naming the field and the setting, instead of
holding the engine for minutes. The JSON schemas a request carries (tool parameters and
`response_format`) are checked as data by `radixagent.engine.schema_guard`: depth, size,
references only within the schema, no recursion.

A session's work is bounded by its own settings (`max_iterations` <= 50, `max_calls` <= 8,
`answer_tokens` and `argument_tokens` <= 4096), a message's length and a fork's branches
(server/sessions.py).
"""

from __future__ import annotations

from radixagent.chat import ChatRequest
from radixagent.chat.wire import JsonSchemaFormat, content_text
from radixagent.engine.schema_guard import SchemaLimits, check_schema
from radixagent.errors import RequestLimitError
from radixagent.server.config import ServerSettings

MAX_STOP_SEQUENCES = 16


def check_chat_request(request: ChatRequest, settings: ServerSettings) -> None:
    """Raise RequestLimitError or ConstraintError (both 400) for a request past a bound."""
    if len(request.messages) > settings.max_request_messages:
        raise RequestLimitError(
            "The number of messages", len(request.messages), settings.max_request_messages, "max_request_messages", param="messages"
        )
    tools = request.tools or []
    if len(tools) > settings.max_request_tools:
        raise RequestLimitError("The number of tools", len(tools), settings.max_request_tools, "max_request_tools", param="tools")
    asked = request.max_completion_tokens or request.max_tokens
    if asked is not None and asked > settings.max_tokens_limit:
        field = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        raise RequestLimitError(field, asked, settings.max_tokens_limit, "max_tokens_limit", param=field)
    stops = [request.stop] if isinstance(request.stop, str) else request.stop or []
    if len(stops) > MAX_STOP_SEQUENCES:
        raise RequestLimitError("The number of stop sequences", len(stops), MAX_STOP_SEQUENCES, None, param="stop")
    chars = sum(len(content_text(m.content)) if m.content is not None else 0 for m in request.messages)
    chars += sum(len(call.function.arguments) for m in request.messages for call in (getattr(m, "tool_calls", None) or []))
    chars += sum(len(t.function.description) + len(t.function.name) for t in tools)
    if chars > settings.max_prompt_chars:
        raise RequestLimitError(
            "The characters of the prompt (messages and tool descriptions)", chars, settings.max_prompt_chars, "max_prompt_chars", param="messages"
        )
    limits = SchemaLimits(max_depth=settings.max_schema_depth, max_nodes=settings.max_schema_nodes)
    for i, tool in enumerate(tools):
        check_schema(tool.function.parameters, param=f"tools[{i}].function.parameters", limits=limits)
    fmt = request.response_format
    if isinstance(fmt, JsonSchemaFormat):
        check_schema(fmt.json_schema.json_schema, param="response_format.json_schema.schema", limits=limits)
