"""The tracer radixagent's spans come from, and the attribute names they carry.

Only `opentelemetry-api` is imported: without a configured tracer provider `tracer()` is None
and every instrumented path takes its plain branch, so tracing costs one check per run and per
engine call. The names follow the OpenTelemetry GenAI semantic conventions; the `radixagent.*`
ones are this project's own.
"""

from __future__ import annotations

from importlib.metadata import version

from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, Status, StatusCode, Tracer

from radixagent.engine.types import Usage

__all__ = ["tracer", "set_usage", "set_error"]

TRACER_NAME = "radixagent"

# --- GenAI semantic conventions ------------------------------------------------------------
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
AGENT_NAME = "gen_ai.agent.name"
CONVERSATION_ID = "gen_ai.conversation.id"
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_TOP_K = "gen_ai.request.top_k"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_STOP = "gen_ai.request.stop_sequences"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_MODEL = "gen_ai.response.model"
FINISH_REASONS = "gen_ai.response.finish_reasons"
TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
OUTPUT_TYPE = "gen_ai.output.type"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHED_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
ERROR_TYPE = "error.type"

# operation names (gen_ai.operation.name)
INVOKE_AGENT = "invoke_agent"
CHAT = "chat"
TEXT_COMPLETION = "text_completion"
EXECUTE_TOOL = "execute_tool"

# --- radixagent's own ----------------------------------------------------------------------
ENGINE_METHOD = "radixagent.engine.method"
"""generate, stream or score: a score is one request per choice, served from the prefix cache."""
CONSTRAINT = "radixagent.constraint"
"""The kind of constraint a generation ran under (json_schema, regex, choices, grammar)."""
SCORE_CHOICES = "radixagent.score.choices"
STEP = "radixagent.step"
TOOL_EXECUTED = "radixagent.tool.executed"
"""False for a schema-only tool, whose call goes back to the caller unexecuted."""
TOOL_CALLS = "radixagent.tool_calls"
CONFIDENCE = "radixagent.confidence"
FAILURE_EVENT = "radixagent.failure"

_cached: tuple[trace.TracerProvider | None, Tracer | None] = (None, None)
"""The global provider last seen and its answer: asked on every run and engine call, so the
answer is worked out once per provider."""


def tracer() -> Tracer | None:
    """radixagent's tracer from the global tracer provider, or None while none is configured
    (then nothing is traced and no span object is made)."""
    global _cached
    provider = trace.get_tracer_provider()
    seen, found = _cached
    if provider is seen:
        return found
    unset = isinstance(provider, ProxyTracerProvider | NoOpTracerProvider)
    found = None if unset else provider.get_tracer(TRACER_NAME, version("radixagent"))
    _cached = (provider, found)
    return found


def set_usage(span: Span, usage: Usage) -> None:
    """The engine's token counts; cached tokens are the engine's own prefix-cache count."""
    span.set_attribute(INPUT_TOKENS, usage.prompt_tokens)
    span.set_attribute(OUTPUT_TOKENS, usage.completion_tokens)
    span.set_attribute(CACHED_INPUT_TOKENS, usage.cached_tokens)


def set_error(span: Span, error_type: str, description: str) -> None:
    span.set_attribute(ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, description))
