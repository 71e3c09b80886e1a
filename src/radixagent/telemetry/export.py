"""Sending traces to a collector over OTLP/HTTP (the `[otel]` extra).

    configure_tracing(endpoint="http://collector:4318")    # or RADIXAGENT_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT

sets the global tracer provider: the SDK's, with a batch span processor, the OTLP/HTTP exporter
and the service name `radixagent` (OTEL_SERVICE_NAME overrides it). `radixagent serve` calls it
at start. A program that configures OpenTelemetry itself needs none of this: radixagent's spans
go to whatever provider is global.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import version
from typing import TYPE_CHECKING

from opentelemetry import trace

from radixagent.errors import ConfigurationError
from radixagent.extras import requires_extra
from radixagent.settings import Settings
from radixagent.telemetry.spans import tracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["configure_tracing", "otlp_traces_endpoint", "tracer_provider"]

logger = logging.getLogger(__name__)

TRACES_PATH = "/v1/traces"


def otlp_traces_endpoint(endpoint: str | None = None) -> str | None:
    """The URL traces are posted to, or None when nothing is configured: `endpoint` (the
    `otlp_endpoint` setting), else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, else
    OTEL_EXPORTER_OTLP_ENDPOINT. A base URL (http://collector:4318) gets /v1/traces appended,
    as the OpenTelemetry specification says."""
    specific = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = (endpoint or "").strip() or (None if specific else os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())
    given = base or specific
    if not given:
        return None
    if not given.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"The OTLP endpoint {given!r} is not an http:// or https:// URL: give the collector's OTLP/HTTP address, such as http://localhost:4318."
        )
    if not base or base.rstrip("/").endswith(TRACES_PATH):
        return given
    return base.rstrip("/") + TRACES_PATH


def tracer_provider(url: str) -> TracerProvider:
    """The SDK's tracer provider, batching spans to the OTLP/HTTP receiver at `url`."""
    with requires_extra("otel", "Exporting traces over OTLP"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME") or "radixagent", "service.version": version("radixagent")}
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return provider


def configure_tracing(settings: Settings | None = None, *, endpoint: str | None = None) -> TracerProvider | None:
    """Export traces over OTLP when an endpoint is configured (`endpoint`, else the settings'
    `otlp_endpoint`, else the standard OTEL_EXPORTER_OTLP_* variables): sets the global tracer
    provider and returns it. None when nothing is configured, or when the program already set
    a tracer provider of its own (that one is kept)."""
    url = otlp_traces_endpoint(endpoint or (settings or Settings()).otlp_endpoint)
    if url is None:
        return None
    if tracer() is not None:
        logger.info("a tracer provider is already configured: radixagent's spans go to it, not to %s", url)
        return None
    provider = tracer_provider(url)
    trace.set_tracer_provider(provider)
    logger.info("exporting traces over OTLP to %s", url)
    return provider
