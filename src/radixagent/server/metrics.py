"""The server's Prometheus metrics, kept by `prometheus-client`.

Each `ServerMetrics` has its own registry (several apps in one process, as in the tests, do not
collide), with the standard process, platform and GC collectors beside radixagent's own. Call
sites use the library's API: `metrics.rejected.labels(reason="busy").inc()`.

Multiprocess mode (several worker processes behind one port, e.g. `uvicorn --workers N` or
gunicorn): set `PROMETHEUS_MULTIPROC_DIR` to an empty directory, writable by every worker,
before the server starts (prometheus-client reads it when it is first imported), and empty it
again at every restart. Each worker then writes its numbers to files there, and `/metrics` from
any worker answers for all: counters and histograms are summed; `in_flight` and
`sessions_loaded` are summed over live workers, which needs
`prometheus_client.multiprocess.mark_process_dead(pid)` when a worker exits (gunicorn's
`child_exit` hook); the cache hit ratio is given per live worker (`pid` label), as ratios do
not add up: for the whole fleet use
`rate(radixagent_tokens_total{kind="cached"}[5m]) / rate(radixagent_tokens_total{kind="prompt"}[5m])`.
The process collectors describe one process only, so that mode leaves them out. Replicas on
several machines are scraped one by one and summed in Prometheus either way.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

from radixagent.engine.types import Usage

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""What `render` writes: the Prometheus text format 0.0.4."""

DEFAULT_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ
"""Whether prometheus-client runs in multiprocess mode: its own test, made when it was imported."""


class ServerMetrics:
    """What the server counts. Names follow Prometheus conventions (`_total`, `_seconds`)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        if not MULTIPROCESS:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.requests = Counter("radixagent_http_requests_total", "HTTP requests answered.", ("method", "route", "status"), registry=r)
        self.latency = Histogram("radixagent_http_request_duration_seconds", "Time to answer an HTTP request (to the end of its body).", ("route",), registry=r, buckets=DEFAULT_BUCKETS)
        self.in_flight = Gauge("radixagent_http_requests_in_flight", "HTTP requests being answered now.", registry=r, multiprocess_mode="livesum")
        self.rejected = Counter("radixagent_http_rejected_total", "Requests refused before any work, by reason.", ("reason",), registry=r)
        self.engine_time = Histogram("radixagent_engine_seconds", "Time a request spent waiting for the engine.", ("route",), registry=r, buckets=DEFAULT_BUCKETS)
        self.overhead = Histogram("radixagent_server_overhead_seconds", "Time a request spent outside the engine and the tools.", ("route",), registry=r, buckets=DEFAULT_BUCKETS)
        self.tokens = Counter("radixagent_tokens_total", "Tokens as the engine counted them (cached: prompt tokens served from its prefix cache).", ("kind",), registry=r)
        self.cache_hit_rate = Gauge("radixagent_engine_cache_hit_ratio", "Engine-reported cached / prompt tokens since the server started.", registry=r, multiprocess_mode="liveall")
        self.tool_calls = Counter("radixagent_tool_calls_total", "Tool calls: run by an agent session, or returned to an OpenAI client.", ("tool", "outcome"), registry=r)
        self.failures = Counter("radixagent_failures_total", "Errors answered to clients, by exception type.", ("type",), registry=r)
        self.agent_runs = Counter("radixagent_agent_runs_total", "Agent runs of the sessions API, by outcome.", ("outcome",), registry=r)
        self.events_dropped = Counter("radixagent_events_dropped_total", "Live feed events dropped for listeners that read too slowly.", registry=r)
        self.sessions_loaded = Gauge("radixagent_sessions_loaded", "Sessions whose agent is held in memory.", registry=r, multiprocess_mode="livesum")
        self._usage = Usage()
        self._usage_lock = threading.Lock()

    def record_usage(self, usage: Usage) -> None:
        self.tokens.labels(kind="prompt").inc(usage.prompt_tokens)
        self.tokens.labels(kind="completion").inc(usage.completion_tokens)
        self.tokens.labels(kind="cached").inc(usage.cached_tokens)
        with self._usage_lock:  # this process's totals: the library keeps no readable sums
            self._usage = self._usage + usage
            self.cache_hit_rate.set(self._usage.cache_hit_rate)

    def record_timing(self, route: str, total_ms: float, engine_ms: float, tools_ms: float = 0.0) -> None:
        self.engine_time.labels(route=route).observe(engine_ms / 1000)
        self.overhead.labels(route=route).observe(max(total_ms - engine_ms - tools_ms, 0.0) / 1000)

    def render(self) -> bytes:
        """The exposition in the text format (`CONTENT_TYPE`); in multiprocess mode, of every
        worker, read from the shared directory."""
        if not MULTIPROCESS:
            return generate_latest(self.registry)
        merged = CollectorRegistry()  # fresh per scrape, as prometheus-client asks
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]  # the library leaves it unannotated
        return generate_latest(merged)
