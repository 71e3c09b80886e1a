"""`pip install radixagent` is the Python API alone: the core imports no optional library, and
a feature whose extra is missing says which extra to install. Each check runs in a fresh
interpreter, where an optional library is made unimportable the way a core-only install sees it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

OPTIONAL = ("fastapi", "uvicorn", "starlette", "matplotlib", "psycopg", "prometheus_client", "mcp", "opentelemetry.sdk", "opentelemetry.exporter")


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_core_imports_no_optional_library() -> None:
    out = _run(
        f"""
        import sys
        import radixagent, radixagent.feedback, radixagent.memory, radixagent.cli, radixagent.tools.mcp
        print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))
        """
    )
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("blocked", "feature", "extra"),
    [
        ("fastapi", "import radixagent.server", "server"),
        ("uvicorn", "from radixagent.server import create_app", "server"),
        ("psycopg", "from radixagent.memory import open_store; open_store('postgresql://u@127.0.0.1:1/db')", "postgres"),
        ("psycopg", "from radixagent.memory import PostgresStore", "postgres"),
        (
            "matplotlib",
            "from radixagent.feedback import FeedbackCollector\n"
            "c = FeedbackCollector(); c.record_performance(1.0); c.build_figure()",
            "plot",
        ),
        (
            "mcp",
            "import asyncio\nfrom radixagent.tools.mcp import MCPServerConfig, MCPToolset\n"
            "asyncio.run(MCPToolset(MCPServerConfig(name='x', command='x')).connect())",
            "mcp",
        ),
        ("mcp", "from radixagent.tools import ToolRegistry\nfrom radixagent.tools.mcp import build_mcp_server\nbuild_mcp_server(ToolRegistry())", "mcp"),
        ("opentelemetry.sdk", "from radixagent.telemetry import configure_tracing; configure_tracing(endpoint='http://127.0.0.1:4318')", "otel"),
    ],
)
def test_a_missing_extra_is_a_configuration_error_naming_it(blocked: str, feature: str, extra: str) -> None:
    out = _run(
        f"""
        import sys
        for name in list(sys.modules):
            if name == {blocked!r} or name.startswith({blocked!r} + "."):
                del sys.modules[name]
        sys.modules[{blocked!r}] = None  # import {blocked} now fails, as without the extra
        from radixagent.errors import ConfigurationError
        try:
{textwrap.indent(feature, " " * 12)}
        except ConfigurationError as exc:
            print(exc)
        """
    )
    assert f"pip install 'radixagent[{extra}]'" in out
    assert blocked in out
