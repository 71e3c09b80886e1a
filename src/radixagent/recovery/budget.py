"""How often the model may be asked to fix a tool call or an output within one run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from radixagent.errors import ConfigurationError


class RetryBudget:
    """How many times one run may ask the model to repair a tool call (per tool) or its final
    output. A tool that succeeds gets its budget back, as its failures were then not stuck."""

    def __init__(self, tool_retries: int = 2, output_retries: int = 2, per_tool: Mapping[str, int] | None = None) -> None:
        if tool_retries < 0 or output_retries < 0 or any(v < 0 for v in (per_tool or {}).values()):
            raise ConfigurationError("Retry budgets must be zero or more.")
        self.tool_retries = tool_retries
        self.output_retries = output_retries
        self.per_tool = dict(per_tool or {})
        self._tool_used: Counter[str] = Counter()
        self._output_used = 0

    def tool_limit(self, tool: str) -> int:
        return self.per_tool.get(tool, self.tool_retries)

    def tool_retries_left(self, tool: str) -> int:
        return max(self.tool_limit(tool) - self._tool_used[tool], 0)

    @property
    def output_retries_left(self) -> int:
        return max(self.output_retries - self._output_used, 0)

    def allow_tool_retry(self, tool: str) -> bool:
        """Spend one repair of `tool` if any is left."""
        if self.tool_retries_left(tool) == 0:
            return False
        self._tool_used[tool] += 1
        return True

    def allow_output_retry(self) -> bool:
        """Spend one repair of the final output if any is left."""
        if self.output_retries_left == 0:
            return False
        self._output_used += 1
        return True

    def tool_succeeded(self, tool: str) -> None:
        self._tool_used.pop(tool, None)

    def reset(self) -> None:
        self._tool_used.clear()
        self._output_used = 0
