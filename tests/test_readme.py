"""The README's agent example, run as written on the embedded engine: it calls the tool and
answers with what the tool returned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(after: str) -> str:
    text = README.read_text()
    start = text.index(after)
    return re.search(r"```python\n(.*?)```", text[start:], re.DOTALL).group(1)  # type: ignore[union-attr]  # the README has the block


def test_the_agent_in_ten_lines_calls_the_tool_and_states_its_result(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    exec(compile(_block("## An agent in ten lines"), "README.md", "exec"), namespace)
    response = namespace["response"]
    assert [c.tool for c in response.tool_calls] == ["get_weather"]  # type: ignore[attr-defined]
    assert response.tool_calls[0].arguments == {"city": "Paris"}  # type: ignore[attr-defined]
    assert "sunny, 21 C" in response.content  # type: ignore[attr-defined]
    assert "sunny, 21 C" in capsys.readouterr().out
    namespace["agent"].close()  # type: ignore[attr-defined]
