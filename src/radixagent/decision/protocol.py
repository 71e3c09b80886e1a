"""The protocol an assistant turn is written in, taught by the system prompt, and the JSON
helpers both strategies share."""

from __future__ import annotations

import json
import re
from typing import Any

from radixagent.engine import Completion
from radixagent.errors import CutOffError, DecisionError
from radixagent.schemas import ToolSchema

ANSWER, ASK, RUN = "answer", "ask", "run"


TEACHING = (
    "You can call tools. Write one line 'Action: <tool name>' and one line 'Arguments: <JSON>' per call,",
    "then 'Action: run' to run them; their results come back as observations.",
    "Call a tool once for each thing you need. When the observations answer the request,",
    "write 'Action: answer' and then 'Answer: <your answer>'.",
)
ASKING = "If the request is unclear, write 'Action: ask' and then 'Question: <your question>'."


def protocol_text(tools: list[ToolSchema], *, allow_ask: bool = True) -> str:
    """The part of the system prompt that teaches the protocol, with each tool's examples as
    few-shot. Byte-stable for a given tool set: nothing volatile goes in here."""
    lines = list(TEACHING)
    if allow_ask:
        lines.append(ASKING)
    lines.append("")
    lines.append("Tools:")
    for tool in tools:
        lines.append(f"- {tool.name}: {tool.description}")
        lines.append(f"  parameters: {json.dumps(tool.parameters, ensure_ascii=False, sort_keys=True)}")
        for example in tool.examples:
            arguments = {k: v for k, v in example.items() if k in tool.parameters.get("properties", {})}
            lines.append(f"  example: Action: {tool.name} / Arguments: {json.dumps(arguments, ensure_ascii=False)}")
    return "\n".join(lines)


def without_protocol(text: str) -> str:
    """`text` without the sentences that copy the protocol's instructions ("You can call a tool
    once for each thing you need."): a small model with nothing to say repeats its system
    prompt, and the instructions are no answer (nor anything a user should be shown)."""
    out = text
    for sentence in reversed(list(_SENTENCE.finditer(text))):
        if _copies(sentence[0]):
            out = out[: sentence.start()] + out[sentence.end() :]
    return re.sub(r"\n{3,}", "\n\n", out).strip()


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return set(zip(words, words[1:], words[2:], strict=False))


_TAUGHT = frozenset(_trigrams(" ".join((*TEACHING, ASKING))))


def _copies(sentence: str) -> bool:
    """Whether most word trigrams of a sentence (of four words or more) are the protocol's."""
    grams = _trigrams(sentence)
    return len(sentence.split()) >= 4 and len(grams & _TAUGHT) >= len(grams) / 2


def object_schema(parameters: dict[str, Any]) -> dict[str, Any]:
    schema = dict(parameters) if parameters else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def parse_json(completion: Completion, what: str) -> Any:
    if completion.finish_reason == "length":
        raise CutOffError(f"The model's {what} was cut off by max_tokens before the JSON closed: {completion.text[:200]!r}")
    try:
        return json.loads(completion.text)
    except ValueError as exc:
        raise DecisionError(f"The model's {what} is not valid JSON ({exc}): {completion.text[:200]!r}") from exc
