"""The LLM judge: a model rates an answer, generated under a JSON schema (its comment, then
accuracy, coherence and completeness) so the output is well-formed by construction, then
validated, and retried with the problem fed back when it is cut short or out of range. The
overall score is the mean of the three: a small model's own overall score contradicted them
(5, 5 and 5, then 1, copying the shape of its second example)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from radixagent.engine.base import Engine
from radixagent.engine.types import ChatMessage, JsonSchemaConstraint, SamplingParams, Usage
from radixagent.errors import InputError, JudgeError
from radixagent.schemas import QualityAssessment

logger = logging.getLogger(__name__)

__all__ = ["JUDGE_INSTRUCTIONS", "JudgeOutput", "JudgeResult", "LLMJudge", "judge_schema"]

JUDGE_INSTRUCTIONS = (
    "You are a strict judge of answers. Rate the answer to the question from 0 (worst) to 5 (best) "
    "on accuracy (is it correct?), coherence (is it clear and consistent?) and completeness (does it "
    "answer all of the question?). First write a one-sentence comment, then the scores. "
    "Reply with the JSON object only.\n\n"
    # Two worked examples: SmolLM2-135M scored every answer 0 without them, and told
    # "Paris" from "Berlin" for the capital of France with them (small models need the shape shown).
    "Example. Question: What is 3 + 4? Answer: 7.\n"
    '{"feedback_comment": "Correct, clear and complete.", "accuracy_score": 5, "coherence_score": 5, '
    '"completeness_score": 5}\n\n'
    "Example. Question: Which planet is the largest? Answer: Mars.\n"
    '{"feedback_comment": "Wrong: the largest planet is Jupiter.", "accuracy_score": 0, "coherence_score": 4, '
    '"completeness_score": 2}'
)


class JudgeResult(BaseModel):
    """An assessment with what it cost."""

    assessment: QualityAssessment
    attempts: int
    usage: Usage
    raw: str = Field(description="the accepted output, as generated")


class JudgeOutput(BaseModel):
    """What the judge writes; the assessment adds the overall score, the mean of the three."""

    feedback_comment: str
    accuracy_score: float = Field(ge=0.0, le=5.0)
    coherence_score: float = Field(ge=0.0, le=5.0)
    completeness_score: float = Field(ge=0.0, le=5.0)

    def assessment(self) -> QualityAssessment:
        overall = round((self.accuracy_score + self.coherence_score + self.completeness_score) / 3, 1)
        return QualityAssessment(**self.model_dump(), overall_score=overall)


def judge_schema(comment_max_length: int = 200) -> dict[str, Any]:
    """The JSON schema the judge generates under: the comment first (the judge explains, then
    scores), scores as integers 0-5 (llama.cpp grammars enforce integer ranges but not number
    ranges), the comment bounded so the object always closes."""
    source = QualityAssessment.model_json_schema()["properties"]
    order = list(JudgeOutput.model_fields)
    properties: dict[str, Any] = {}
    for name in order:
        spec = {k: v for k, v in source[name].items() if k != "title"}
        if name == "feedback_comment":
            spec |= {"type": "string", "minLength": 1, "maxLength": comment_max_length}
        else:
            spec |= {"type": "integer", "minimum": int(spec["minimum"]), "maximum": int(spec["maximum"])}
        properties[name] = spec
    return {"type": "object", "properties": properties, "required": order, "additionalProperties": False}


class LLMJudge:
    """Assess answers with a model: constrained to QualityAssessment's schema, validated,
    retried with the problem fed back when the output is unusable."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_attempts: int = 3,
        max_tokens: int | None = None,
        comment_max_length: int = 200,
        instructions: str = JUDGE_INSTRUCTIONS,
    ) -> None:
        if max_attempts < 1:
            raise InputError(f"max_attempts must be at least 1, not {max_attempts}.")
        self.engine = engine
        self.max_attempts = max_attempts
        self.instructions = instructions
        self.constraint = JsonSchemaConstraint(json_schema=judge_schema(comment_max_length))
        # room for the longest comment the schema allows in any script (a Korean character can
        # take three byte tokens), and the scores
        self.sampling = SamplingParams(max_tokens=max_tokens or 3 * comment_max_length + 64, temperature=0.0)

    def _prompt(self, query: str, answer: str, reference: str | None) -> list[ChatMessage]:
        text = f"Question:\n{query}\n\nAnswer:\n{answer}\n"
        if reference:
            text += f"\nA correct reference answer:\n{reference}\n"
        return [ChatMessage(role="system", content=self.instructions), ChatMessage(role="user", content=text)]

    async def ajudge(self, query: str, answer: str, *, reference: str | None = None) -> JudgeResult:
        if not answer.strip():
            raise InputError("There is no answer to judge: the answer is empty.")
        prompt = self._prompt(query, answer, reference)
        usage = Usage()
        errors: list[str] = []
        for attempt in range(1, self.max_attempts + 1):
            completion = await self.engine.generate(prompt, constraint=self.constraint, sampling=self.sampling)
            usage = usage + completion.usage
            problem = self._problem(completion.text, completion.finish_reason)
            if problem is None:
                assessment = JudgeOutput.model_validate_json(completion.text).assessment()
                return JudgeResult(assessment=assessment, attempts=attempt, usage=usage, raw=completion.text)
            logger.info("judge attempt %d/%d gave no valid assessment: %s", attempt, self.max_attempts, problem)
            errors.append(problem)
            prompt = [
                *prompt,
                ChatMessage(role="assistant", content=completion.text),
                ChatMessage(
                    role="user",
                    content=f"That is not a valid assessment: {problem}. Fix the errors and reply again "
                    "with the JSON object only.",
                ),
            ]
        raise JudgeError(self.max_attempts, errors)

    @staticmethod
    def _problem(text: str, finish_reason: str) -> str | None:
        if finish_reason == "length":
            return "the output was cut off before the JSON object closed"
        try:
            JudgeOutput.model_validate_json(text)
        except ValidationError as exc:
            return "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'output'}: {e['msg']}" for e in exc.errors(include_url=False)
            )
        return None

    async def aassess(self, query: str, answer: str, *, reference: str | None = None) -> QualityAssessment:
        return (await self.ajudge(query, answer, reference=reference)).assessment

    def judge(self, query: str, answer: str, *, reference: str | None = None) -> JudgeResult:
        from radixagent.engine._portal import run_sync

        return run_sync(self.ajudge(query, answer, reference=reference))

    def assess(self, query: str, answer: str, *, reference: str | None = None) -> QualityAssessment:
        return self.judge(query, answer, reference=reference).assessment
