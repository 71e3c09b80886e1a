"""The protocol an assistant turn is written in, taught by the system prompt, and the JSON
helpers both strategies share."""

from __future__ import annotations

import json
from typing import Any

from radixagent.engine import Completion
from radixagent.errors import DecisionError
from radixagent.schemas import ToolSchema

ANSWER, ASK, RUN = "answer", "ask", "run"


def protocol_text(tools: list[ToolSchema], *, allow_ask: bool = True) -> str:
    """The part of the system prompt that teaches the protocol, with each tool's examples as
    few-shot. Byte-stable for a given tool set: nothing volatile goes in here."""
    lines = [
        "You can call tools. Write one line 'Action: <tool name>' and one line 'Arguments: <JSON>' per call,",
        "then 'Action: run' to run them; their results come back as observations.",
        "Call a tool once for each thing you need. When the observations answer the request,",
        "write 'Action: answer' and then 'Answer: <your answer>'.",
    ]
    if allow_ask:
        lines.append("If the request is unclear, write 'Action: ask' and then 'Question: <your question>'.")
    lines.append("")
    lines.append("Tools:")
    for tool in tools:
        lines.append(f"- {tool.name}: {tool.description}")
        lines.append(f"  parameters: {json.dumps(tool.parameters, ensure_ascii=False, sort_keys=True)}")
        for example in tool.examples:
            arguments = {k: v for k, v in example.items() if k in tool.parameters.get("properties", {})}
            lines.append(f"  example: Action: {tool.name} / Arguments: {json.dumps(arguments, ensure_ascii=False)}")
    return "\n".join(lines)


def object_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    schema = dict(parameters) if parameters else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def parse_json(completion: Completion, what: str) -> Any:
    if completion.finish_reason == "length":
        raise DecisionError(f"The model's {what} was cut off by max_tokens before the JSON closed: {completion.text[:200]!r}")
    try:
        return json.loads(completion.text)
    except ValueError as exc:
        raise DecisionError(f"The model's {what} is not valid JSON ({exc}): {completion.text[:200]!r}") from exc
