"""`analyze_sentiment`: the model chooses positive, negative or neutral by likelihood.

Why scoring instead of asking: a small model asked for a label may answer anything; scored
as SGLang's `select` does (each label as a continuation of a few-shot prompt, mean token
logprob), it always names one of the three, and the softmax over the scores is a confidence
measured from the model's own probabilities rather than a number it made up.

The few-shot prompt is fixed text, so every call shares it as a prefix and the engine's
prefix cache computes it once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from radixagent.engine.base import Engine
from radixagent.errors import ToolArgumentsError

SentimentLabel = Literal["positive", "negative", "neutral"]
LABELS: tuple[SentimentLabel, ...] = ("positive", "negative", "neutral")
LANGUAGES = ("ko", "en", "ja", "zh")
MAX_TEXT_CHARS = 2000

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

    def observation(self) -> str:
        return f"{self.label} (confidence {self.confidence:.2f})"


def sentiment_prompt(text: str, language: str) -> str:
    """The scoring prefix: the fixed few-shot block, then the text; each label continues it."""
    body = " ".join(text.split())[:MAX_TEXT_CHARS]
    return f"{_FEW_SHOT}Text ({language}): {body}\nSentiment:"


class SentimentAnalyzer:
    """The `analyze_sentiment` tool: scores the three labels with `engine.score`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def analyze(self, text: str, language: str = "ko") -> SentimentResult:
        if not text.strip():
            raise ToolArgumentsError("analyze_sentiment", ["text is empty: give the text to analyse."])
        if language not in LANGUAGES:
            raise ToolArgumentsError(
                "analyze_sentiment", [f"language {language!r} is not supported: use one of {', '.join(LANGUAGES)}."]
            )
        result = await self.engine.score(sentiment_prompt(text, language), list(_CHOICES))
        probabilities = {choice.strip(): p for choice, p in result.probabilities().items()}
        label: SentimentLabel = result.best.strip()  # type: ignore[assignment]
        return SentimentResult(label=label, confidence=probabilities[label], probabilities=probabilities)

    async def __call__(self, text: str, language: str = "ko") -> str:
        """Analyse the sentiment of `text`: positive, negative or neutral, with its probability."""
        return (await self.analyze(text, language)).observation()
