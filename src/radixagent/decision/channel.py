"""Scores beside the transcript. The noisy channel: how likely the model finds a request after
each tool's name and description, against the same request as a question to a chat assistant;
it tells tools apart where the request shares no word with them (a terse description, or one in
another language). The lean: how likely the model finds each tool after a request that asks for
nothing, which the choice among tools subtracts."""

from __future__ import annotations

from radixagent.prompting import Transcript
from radixagent.schemas import ToolSchema

QUESTION_PROMPT = "A question a user asks a chat assistant:"

CONTENT_FREE = "N/A"
"""A request that asks for nothing: what the model chooses after it is its lean, not the request's."""


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


async def leaning(transcript: Transcript, request: str, label: str, options: list[str]) -> dict[str, float] | None:
    """Each option's log-probability after `label` in the same conversation with the request
    replaced by one that asks for nothing (`CONTENT_FREE`): how much the model favours an
    option whatever is asked ("contextual calibration"). A small model leans toward some tools
    after any request (SmolLM2-135M: often the one that searches over the one that acts), and
    subtracting the lean lets the request decide. None when the transcript does not hold the
    request as written (several user messages joined)."""
    at = transcript.text.rfind(request)
    if at < 0:
        return None
    prompt = transcript.text[:at] + CONTENT_FREE + transcript.text[at + len(request) :] + label
    result = await transcript.score_beside(prompt, [f" {o}" for o in options])
    return {score.choice[1:]: sum(score.token_logprobs) for score in result.scores}
