"""`analyze_sentiment`: the model chooses positive, negative or neutral by likelihood.

Why scoring instead of asking: a small model asked for a label may answer anything; scored
as SGLang's `select` does (each label as a continuation of a few-shot prompt, mean token
logprob), it always names one of the three, and the softmax over the scores is a confidence
measured from the model's own probabilities rather than a number it made up.

Small models lean towards some labels whatever the text (SmolLM2-135M almost never says
"neutral"), so scores are calibrated as in "Calibrate Before Use" (Zhao et al., 2021): the
labels are also scored after content-free texts ("N/A", "[MASK]", empty), once per language,
and that prior is subtracted. Measured on SmolLM2-135M with 5 English and 3 Korean test
sentences: 4/5 and 1/3 right without calibration, 5/5 and 1/3 with it (Korean is beyond that
model). Calibration is skipped on the scripted engine, whose scores are given, not measured.

The few-shot prompt is fixed text, so every call shares it as a prefix and the engine's
prefix cache computes it once.
"""

from __future__ import annotations

import asyncio
from typing import Literal, cast

from pydantic import BaseModel

from radixagent.engine.base import Engine
from radixagent.engine.scripted import ScriptedEngine
from radixagent.engine.types import ChoiceScore, ScoreResult
from radixagent.errors import ToolArgumentsError

SentimentLabel = Literal["positive", "negative", "neutral"]
LABELS: tuple[SentimentLabel, ...] = ("positive", "negative", "neutral")
LANGUAGES = ("ko", "en", "ja", "zh")
MAX_TEXT_CHARS = 2000
CONTENT_FREE_TEXTS = ("N/A", "[MASK]", "")

# Each label is scored as " <label>" after "Sentiment:", as a model would write it.
_CHOICES = tuple(f" {label}" for label in LABELS)
_FEW_SHOT = """Classify the sentiment of each text as positive, negative or neutral.

Text (en): I love this phone, the battery lasts for days.
Sentiment: positive

Text (ko): 배송이 너무 늦었고 상자가 망가져 있었다.
Sentiment: negative

Text (en): The store opens at nine in the morning.
Sentiment: neutral

Text (ko): 정말 좋은 날이다.
Sentiment: positive

Text (en): The update broke everything and support never answered.
Sentiment: negative

Text (ko): 회의는 3층 회의실에서 열린다.
Sentiment: neutral

"""


class SentimentResult(BaseModel):
    """The winning label, its probability, and the probability of every label."""

    label: SentimentLabel
    confidence: float
    probabilities: dict[str, float]
    calibrated: bool = False

    def observation(self) -> str:
        return f"{self.label} (confidence {self.confidence:.2f})"


def sentiment_prompt(text: str, language: str) -> str:
    """The scoring prefix: the fixed few-shot block, then the text; each label continues it."""
    body = " ".join(text.split())[:MAX_TEXT_CHARS]
    return f"{_FEW_SHOT}Text ({language}): {body}\nSentiment:"


class SentimentAnalyzer:
    """The `analyze_sentiment` tool: scores the three labels with `engine.score`.

    `calibrate=None` calibrates on every engine but the scripted one."""

    def __init__(self, engine: Engine, *, calibrate: bool | None = None) -> None:
        self.engine = engine
        self.calibrate = not isinstance(engine, ScriptedEngine) if calibrate is None else calibrate
        self._priors: dict[str, dict[str, float]] = {}
        self._prior_lock = asyncio.Lock()

    async def analyze(self, text: str, language: str = "ko") -> SentimentResult:
        if not text.strip():
            raise ToolArgumentsError("analyze_sentiment", ["text is empty: give the text to analyse."])
        if language not in LANGUAGES:
            raise ToolArgumentsError(
                "analyze_sentiment", [f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}."]
            )
        result = await self.engine.score(sentiment_prompt(text, language), list(_CHOICES))
        if self.calibrate:
            prior = await self.prior(language)
            result = ScoreResult(
                scores=[
                    ChoiceScore(
                        choice=s.choice, mean_logprob=s.mean_logprob - prior[s.choice], token_logprobs=s.token_logprobs
                    )
                    for s in result.scores
                ],
                usage=result.usage,
            )
        probabilities = {choice.strip(): p for choice, p in result.probabilities().items()}
        label = cast(SentimentLabel, result.best.strip())  # the choices scored are exactly the labels
        return SentimentResult(
            label=label, confidence=probabilities[label], probabilities=probabilities, calibrated=self.calibrate
        )

    async def prior(self, language: str) -> dict[str, float]:
        """The model's lean towards each label with no content to judge (mean over the
        content-free texts), measured once per language."""
        async with self._prior_lock:
            if language not in self._priors:
                totals = dict.fromkeys(_CHOICES, 0.0)
                for content_free in CONTENT_FREE_TEXTS:
                    scored = await self.engine.score(sentiment_prompt(content_free, language), list(_CHOICES))
                    for s in scored.scores:
                        totals[s.choice] += s.mean_logprob
                self._priors[language] = {c: v / len(CONTENT_FREE_TEXTS) for c, v in totals.items()}
            return self._priors[language]

    async def __call__(self, text: str, language: str = "ko") -> str:
        """Analyse the sentiment of `text`: positive, negative or neutral, with its probability."""
        return (await self.analyze(text, language)).observation()
