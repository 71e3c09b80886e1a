"""Optional dependencies: which extra brings which feature, and the error when one is missing.

    pip install radixagent               the Python API: agents, engines, tools, SQLite store
    pip install 'radixagent[server]'     radixagent serve / radixagent.server (FastAPI, uvicorn)
    pip install 'radixagent[postgres]'   PostgresStore, postgresql:// database URLs (psycopg)
    pip install 'radixagent[plot]'       FeedbackCollector.plot / build_figure (matplotlib)
    pip install 'radixagent[mcp]'        tools from MCP servers, `radixagent mcp` (the mcp SDK)
    pip install 'radixagent[otel]'       traces exported over OTLP (the OpenTelemetry SDK and exporter)
    pip install 'radixagent[all]'        all of them

The core never imports an optional library at import time; the module of a feature imports it
inside `requires_extra`, which turns a missing library into a `ConfigurationError` naming the
extra to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from radixagent.errors import ConfigurationError

__all__ = ["Extra", "requires_extra"]

Extra = Literal["server", "postgres", "plot", "mcp", "otel"]


@contextmanager
def requires_extra(extra: Extra, feature: str) -> Iterator[None]:
    """Imports in this block belong to `extra`; `feature` names what needs them, for the message.

    with requires_extra("plot", "The feedback chart"):
        from matplotlib.figure import Figure
    """
    try:
        yield
    except ImportError as exc:
        missing = exc.name or "an optional dependency"
        raise ConfigurationError(
            f"{feature} needs {missing}, which is not installed: pip install 'radixagent[{extra}]' "
            "(or 'radixagent[all]')."
        ) from exc
