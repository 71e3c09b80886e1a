"""A small Prometheus metrics registry and the server's metrics.

Counters, gauges and histograms with labels, rendered in the Prometheus text exposition
format (0.0.4). Small on purpose: one process, one registry, no multiprocess mode, so no
dependency is needed. Several replicas are scraped one by one and summed in Prometheus.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

from radixagent.engine.types import Usage

LabelValues = tuple[str, ...]

DEFAULT_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, values: dict[str, str]) -> LabelValues:
        if set(values) != set(self.labels):
            raise ValueError(f"{self.name} takes the labels {list(self.labels)}, not {sorted(values)}")
        return tuple(str(values[label]) for label in self.labels)

    def _labels(self, key: LabelValues, extra: Iterable[tuple[str, str]] = ()) -> str:
        pairs = [*zip(self.labels, key, strict=True), *extra]
        if not pairs:
            return ""
        return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """Only goes up."""

    kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{self._labels(key)} {_number(value)}" for key, value in items]


class Gauge(_Metric):
    """Goes up and down."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[LabelValues, float] = {}

    def set(self, value: float, **labels: str) -> None:
        with self._lock:
            self._values[self._key(labels)] = value

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{self._labels(key)} {_number(value)}" for key, value in items]


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(self, name: str, help: str, labels: Sequence[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help, labels)
        if "le" in self.labels:
            raise ValueError("'le' is reserved for histogram buckets")
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._counts: dict[LabelValues, list[int]] = {}
        self._sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            counts = self._counts.setdefault(key, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
                    break
            self._sums[key] = self._sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        with self._lock:
            return sum(self._counts.get(self._key(labels), []))

    def samples(self) -> list[str]:
        lines: list[str] = []
        with self._lock:
            items = sorted((key, list(counts), self._sums[key]) for key, counts in self._counts.items())
        for key, counts, total in items:
            running = 0
            for bound, n in zip(self.buckets, counts, strict=True):
                running += n
                lines.append(f"{self.name}_bucket{self._labels(key, [('le', _number(bound))])} {running}")
            lines.append(f"{self.name}_sum{self._labels(key)} {_number(total)}")
            lines.append(f"{self.name}_count{self._labels(key)} {running}")
        return lines


class MetricsRegistry:
    """Named metrics, rendered together."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> _Metric:
        if metric.name in self._metrics:
            raise ValueError(f"a metric named {metric.name} is already registered")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        metric = Counter(name, help, labels)
        self._add(metric)
        return metric

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        metric = Gauge(name, help, labels)
        self._add(metric)
        return metric

    def histogram(self, name: str, help: str, labels: Sequence[str] = (), buckets: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        metric = Histogram(name, help, labels, buckets)
        self._add(metric)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServerMetrics:
    """What the server counts. Names follow Prometheus conventions (`_total`, `_seconds`)."""

    def __init__(self) -> None:
        r = self.registry = MetricsRegistry()
        self.requests = r.counter("radixagent_http_requests_total", "HTTP requests answered.", ("method", "route", "status"))
        self.latency = r.histogram("radixagent_http_request_duration_seconds", "Time to answer an HTTP request (to the end of its body).", ("route",))
        self.in_flight = r.gauge("radixagent_http_requests_in_flight", "HTTP requests being answered now.")
        self.rejected = r.counter("radixagent_http_rejected_total", "Requests refused before any work, by reason.", ("reason",))
        self.engine_time = r.histogram("radixagent_engine_seconds", "Time a request spent waiting for the engine.", ("route",))
        self.overhead = r.histogram("radixagent_server_overhead_seconds", "Time a request spent outside the engine and the tools.", ("route",))
        self.tokens = r.counter("radixagent_tokens_total", "Tokens as the engine counted them (cached: prompt tokens served from its prefix cache).", ("kind",))
        self.cache_hit_rate = r.gauge("radixagent_engine_cache_hit_ratio", "Engine-reported cached / prompt tokens since the server started.")
        self.tool_calls = r.counter("radixagent_tool_calls_total", "Tool calls: run by an agent session, or returned to an OpenAI client.", ("tool", "outcome"))
        self.failures = r.counter("radixagent_failures_total", "Errors answered to clients, by exception type.", ("type",))
        self.agent_runs = r.counter("radixagent_agent_runs_total", "Agent runs of the sessions API, by outcome.", ("outcome",))
        self.sessions_loaded = r.gauge("radixagent_sessions_loaded", "Sessions whose agent is held in memory.")

    def record_usage(self, usage: Usage) -> None:
        self.tokens.inc(usage.prompt_tokens, kind="prompt")
        self.tokens.inc(usage.completion_tokens, kind="completion")
        self.tokens.inc(usage.cached_tokens, kind="cached")
        prompt = self.tokens.value(kind="prompt")
        self.cache_hit_rate.set(self.tokens.value(kind="cached") / prompt if prompt else 0.0)

    def record_timing(self, route: str, total_ms: float, engine_ms: float, tools_ms: float = 0.0) -> None:
        self.engine_time.observe(engine_ms / 1000, route=route)
        self.overhead.observe(max(total_ms - engine_ms - tools_ms, 0.0) / 1000, route=route)

    def render(self) -> str:
        return self.registry.render()
