"""A chart of runs: latency and cache hit rate per run (matplotlib, the `plot` extra).

matplotlib is imported when a chart is drawn, never with the package; without it, drawing
raises `ConfigurationError` naming the extra to install.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from radixagent.errors import InputError
from radixagent.extras import requires_extra
from radixagent.memory.store import RunMetrics

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["build_figure", "save_png"]

_FEATURE = "The feedback chart (FeedbackCollector.build_figure / plot)"


def build_figure(runs: Sequence[RunMetrics]) -> Figure:
    """Latency and cache hit rate per run, on a `Figure` of its own (no pyplot global state)."""
    if not runs:
        raise InputError("No runs are recorded yet: record_performance() first, then plot.")
    with requires_extra("plot", _FEATURE):
        from matplotlib.figure import Figure

    x = list(range(1, len(runs) + 1))
    figure = Figure(figsize=(8, 5), dpi=100)
    latency_ax, cache_ax = figure.subplots(2, 1, sharex=True)
    latency_ax.plot(x, [r.latency_ms for r in runs], marker="o", color="tab:blue", label="latency")
    latency_ax.set_ylabel("latency (ms)")
    latency_ax.set_title(f"Agent runs ({len(runs)})")
    latency_ax.grid(True, alpha=0.3)
    cache_ax.plot(x, [r.cache_hit_rate for r in runs], marker="o", color="tab:green", label="cache hit rate")
    cache_ax.set_ylim(-0.02, 1.02)
    cache_ax.set_ylabel("cache hit rate")
    cache_ax.set_xlabel("run")
    cache_ax.grid(True, alpha=0.3)
    figure.tight_layout()
    return figure


def save_png(runs: Sequence[RunMetrics], path: str | Path) -> Path:
    """`build_figure(runs)` as a PNG file at `path` (its folder is made)."""
    figure = build_figure(runs)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png")
    return target
