"""The model's lean toward a tool whatever is asked (contextual calibration): the choice among
tools subtracts each tool's likelihood after a request that asks for nothing. A scripted
engine whose scores are set by hand: deterministic, the numbers chosen for the test."""

from __future__ import annotations

import json
from collections.abc import Sequence

from radixagent.chat import ChatCompleter, ChatRequest
from radixagent.decision import DecisionSettings
from radixagent.decision.channel import CONTENT_FREE
from radixagent.engine import Constraint, Prompt, ScriptedEngine
from radixagent.engine.types import ChoiceScore, JsonSchemaConstraint, ScoreResult

LOOK_UP = {"name": "list_kayaks", "description": "List the kayaks moored at a jetty"}
HOLD = {"name": "hold_kayak", "description": "Keep a kayak aside at a jetty for 20 minutes"}


def tools() -> list[dict[str, object]]:
    return [
        {
            "type": "function",
            "function": {
                "name": t["name"],
                "description": t["description"],
                "parameters": {"type": "object", "properties": {"jetty": {"type": "string"}}, "required": ["jetty"]},
            },
        }
        for t in (LOOK_UP, HOLD)
    ]


class Leaning(ScriptedEngine):
    """Likes `list_kayaks` after any request (-1 against -7 after one asking for nothing), and
    a little less after this one (-2 against -4)."""

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        self.prompts.append(prefix if isinstance(prefix, str) else list(prefix))
        void = CONTENT_FREE in self.decode(prefix if isinstance(prefix, str) else list(prefix))
        table = {" list_kayaks": -1.0, " hold_kayak": -7.0} if void else {" list_kayaks": -2.0, " hold_kayak": -4.0}
        return ScoreResult(scores=[ChoiceScore(choice=c, mean_logprob=table[c], token_logprobs=[table[c]]) for c in choices])


def arguments(prompt: Prompt, constraint: Constraint | None) -> str:
    assert isinstance(constraint, JsonSchemaConstraint)
    return json.dumps({"jetty": "Quay Road"})


REQUEST = "Could one be put by for me at Quay Road?"  # no word of either tool: the model decides


async def chosen(settings: DecisionSettings) -> tuple[str, Leaning]:
    engine = Leaning(arguments)
    chat = ChatCompleter(engine, decision=settings)
    body = {"messages": [{"role": "user", "content": REQUEST}], "tools": tools(), "tool_choice": "required"}
    result = await chat.complete(ChatRequest.model_validate(body))
    assert len(result.tool_calls) == 1
    return result.tool_calls[0].name, engine


async def test_the_lean_toward_a_tool_does_not_decide() -> None:
    plain = DecisionSettings(question_margin=None, tool_margin=None)
    name, engine = await chosen(plain)
    assert name == "hold_kayak"  # -4 + (7 - 1) beats -2 + 0
    leaned = [engine.decode(p) for p in engine.prompts if CONTENT_FREE in engine.decode(p)]
    assert len(leaned) == 1 and REQUEST not in leaned[0]  # the same conversation, the request replaced


async def test_without_calibration_the_model_s_lean_decides() -> None:
    name, engine = await chosen(DecisionSettings(question_margin=None, tool_margin=None, calibration_weight=0.0))
    assert name == "list_kayaks"
    assert not any(CONTENT_FREE in engine.decode(p) for p in engine.prompts)
