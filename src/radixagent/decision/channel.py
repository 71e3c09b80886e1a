"""The noisy channel: how likely the model finds a request after each tool's name and
description, against the same request as a question to a chat assistant. It tells tools apart
where the request shares no word with them: a terse description, or one in another language."""

from __future__ import annotations

from radixagent.prompting import Transcript
from radixagent.schemas import ToolSchema

QUESTION_PROMPT = "A question a user asks a chat assistant:"


async def noisy_channel(transcript: Transcript, request: str, tools: list[ToolSchema]) -> tuple[dict[str, float], float]:
    """Each tool's log-probability of the request given the tool ("noisy channel"), and the
    request's log-probability as a question to a chat assistant. The request is scored after
    each tool's name and description, so a terse description, or one in another language than
    the request, still tells the tools apart. Each prompt is its own, and cached across requests."""
    totals = {}
    for tool in tools:
        prefix = f"Tool {tool.name}: {tool.description}\nA request a user sends to the tool {tool.name}:"
        result = await transcript.score_beside(prefix, [f" {request.strip()}"])
        totals[tool.name] = sum(result.scores[0].token_logprobs)
    question = await transcript.score_beside(QUESTION_PROMPT, [f" {request.strip()}"])
    return totals, sum(question.scores[0].token_logprobs)
