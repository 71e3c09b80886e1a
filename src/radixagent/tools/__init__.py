"""Tools: plain Python functions an agent may call.

Register a function (`registry.register(fn)` or `@registry.tool`) and its schema comes from
its signature and docstring; the executor checks arguments, enforces timeouts and runs the
calls of one step concurrently.
"""

from radixagent.tools.execution import ExecutionStatistics, ToolExecutor, ToolRun, ToolStats, result_text
from radixagent.tools.registry import RegisteredTool, StructuredToolManager, ToolRecommendation, ToolRegistry
from radixagent.tools.signature import (
    ParsedDocstring,
    ToolFunction,
    check_tool_name,
    flatten_schema,
    function_schema,
    parse_docstring,
)

__all__ = [
    "ExecutionStatistics",
    "ParsedDocstring",
    "RegisteredTool",
    "StructuredToolManager",
    "ToolExecutor",
    "ToolFunction",
    "ToolRecommendation",
    "ToolRegistry",
    "ToolRun",
    "ToolStats",
    "check_tool_name",
    "flatten_schema",
    "function_schema",
    "parse_docstring",
    "result_text",
]
