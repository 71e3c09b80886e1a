"""OpenTelemetry traces: spans for agent runs, their steps, engine calls and tool calls, and for
chat completions, named after the GenAI semantic conventions (docs/telemetry.md).

Only `opentelemetry-api` is used here: with no tracer provider configured nothing is traced.
`configure_tracing` sets up the SDK with an OTLP/HTTP exporter (the `[otel]` extra).
"""

from radixagent.telemetry.engine import TracingEngine, traced
from radixagent.telemetry.export import configure_tracing, otlp_traces_endpoint, tracer_provider
from radixagent.telemetry.runs import RunTrace
from radixagent.telemetry.spans import tracer

__all__ = ["RunTrace", "TracingEngine", "configure_tracing", "otlp_traces_endpoint", "traced", "tracer", "tracer_provider"]
