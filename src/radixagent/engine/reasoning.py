"""Separating a reasoning model's thinking from its answer.

Reasoning models (Qwen3, DeepSeek-R1, QwQ, gpt-oss) write their thinking before the answer.
Servers started with a reasoning parser hand it back separately (`reasoning_content`); raw
endpoints (SGLang's `/generate`, a `/v1` server without a parser) return it inline, in one of
two shapes:

- **think tags**: `<think>reasoning</think>answer`. Qwen3 and DeepSeek-R1 chat templates often
  open `<think>` in the prompt, so the output is only `reasoning</think>answer`.
- **harmony** (gpt-oss): `<|channel|>analysis<|message|>reasoning<|end|><|start|>assistant
  <|channel|>final<|message|>answer<|return|>`; with special tokens skipped by the server the
  markers vanish and it reads `analysis...assistantfinal...`.

Reasoning must never reach the answer: agents parse the answer as JSON, show it to people, and
put it back into the history. `split_reasoning` splits a finished text; `StreamingReasoningSplitter`
holds streamed text back while it may still turn out to be reasoning.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from pydantic import BaseModel

logger = logging.getLogger(__name__)

ReasoningFormat = Literal["auto", "think", "harmony", "none"]
"""How an engine looks for reasoning in raw output:
`auto` finds think tags or harmony markers where the output starts with them, and a closing
`</think>` anywhere; `think` also treats streamed text as reasoning until `</think>` arrives
(for templates that open `<think>` in the prompt); `harmony` reads gpt-oss channels;
`none` never splits (a model that writes the literal tags as part of its answer)."""

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_HARMONY_MARKERS = ("<|channel|>", "<|start|>", "<|message|>")
_HARMONY_ENDS = ("<|end|>", "<|return|>", "<|call|>", "<|start|>")
_HARMONY_SEGMENT = re.compile(
    r"<\|channel\|>(?P<channel>[A-Za-z_]+)[^<]*(?:<\|constrain\|>[^<]*)?<\|message\|>"
    r"(?P<content>.*?)(?=<\|end\|>|<\|return\|>|<\|call\|>|<\|start\|>|<\|channel\|>|\Z)",
    re.DOTALL,
)
_HARMONY_STRIPPED = re.compile(r"^\s*analysis(?P<reasoning>.*?)assistantfinal(?P<answer>.*)$", re.DOTALL)

_THINK_MODELS = (
    "qwen3",
    "qwq",
    "deepseek-r1",
    "deepseek_r1",
    "r1-distill",
    "deepseek-v3.1",
    "glm-4.5",
    "glm-z1",
    "kimi-k2-thinking",
)
_HARMONY_MODELS = ("gpt-oss", "gpt_oss")


class ReasoningSplit(BaseModel):
    """A generated text, separated: `answer` is what the model says, `reasoning` how it got
    there (None when it did not reason)."""

    answer: str
    reasoning: str | None = None


def reasoning_format_for_model(model: str, default: ReasoningFormat = "auto") -> ReasoningFormat:
    """The format a model family is known to reason in, from its name or path."""
    name = model.lower()
    if any(m in name for m in _HARMONY_MODELS):
        return "harmony"
    if any(m in name for m in _THINK_MODELS):
        return "think"
    return default


def split_reasoning(text: str, fmt: ReasoningFormat = "auto") -> ReasoningSplit:
    """Split a finished generation into answer and reasoning."""
    if fmt == "none":
        return ReasoningSplit(answer=text)
    if fmt == "harmony" or (fmt == "auto" and _looks_harmony(text)):
        split = _split_harmony(text)
        if split is not None:
            return split
        if fmt == "harmony":
            return ReasoningSplit(answer=text)
    return _split_think(text)


def _split_think(text: str) -> ReasoningSplit:
    if THINK_CLOSE in text:
        before, after = text.split(THINK_CLOSE, 1)
        before = before.lstrip()
        if before.startswith(THINK_OPEN):
            before = before[len(THINK_OPEN) :]
        # a model that thinks twice: later closing tags are reasoning too, never answer
        while THINK_CLOSE in after and after.lstrip().startswith(THINK_OPEN):
            extra, after = after.lstrip()[len(THINK_OPEN) :].split(THINK_CLOSE, 1)
            before = f"{before}\n{extra}"
        return ReasoningSplit(answer=after.lstrip(), reasoning=before.strip() or None)
    stripped = text.lstrip()
    if stripped.startswith(THINK_OPEN):  # cut off while thinking: no answer yet
        return ReasoningSplit(answer="", reasoning=stripped[len(THINK_OPEN) :].strip() or None)
    return ReasoningSplit(answer=text)


def _looks_harmony(text: str) -> bool:
    stripped = text.lstrip()
    return stripped.startswith(_HARMONY_MARKERS) or bool(_HARMONY_STRIPPED.match(text))


def _split_harmony(text: str) -> ReasoningSplit | None:
    segments = list(_HARMONY_SEGMENT.finditer(text))
    if segments:
        answer = [m.group("content") for m in segments if m.group("channel") == "final"]
        reasoning = [m.group("content").strip() for m in segments if m.group("channel") != "final"]
        return ReasoningSplit(answer="".join(answer).strip(), reasoning="\n".join(r for r in reasoning if r) or None)
    stripped = _HARMONY_STRIPPED.match(text)
    if stripped:
        return ReasoningSplit(
            answer=stripped.group("answer").strip(), reasoning=stripped.group("reasoning").strip() or None
        )
    return None


class StreamingReasoningSplitter:
    """Feed streamed text; get back only the answer text that can no longer turn out to be
    reasoning. `finish()` gives the final split and whatever answer text is still held back.

    Text is held while it could still be reasoning: after an opening marker until it closes,
    a trailing fragment that may be the start of a marker, and in `think` format everything
    until `</think>` (templates that open `<think>` in the prompt give no opening tag). In `auto`
    format a closing `</think>` with no opening tag can only be recognised once it arrives; the
    final `Completion` is still split correctly, and the leak into the streamed deltas is logged.
    """

    def __init__(self, fmt: ReasoningFormat = "auto") -> None:
        self.fmt: ReasoningFormat = fmt
        self.text = ""
        self._emitted = ""

    def feed(self, delta: str) -> str:
        """Add streamed text; return the new answer text that is safe to show."""
        self.text += delta
        safe = self._safe_answer(self.text)
        if not safe.startswith(self._emitted):
            return ""
        new = safe[len(self._emitted) :]
        self._emitted = safe
        return new

    def finish(self) -> tuple[ReasoningSplit, str]:
        """The split of everything fed, and the answer text not yet returned by `feed`."""
        split = split_reasoning(self.text, self.fmt)
        if split.answer.startswith(self._emitted):
            rest = split.answer[len(self._emitted) :]
        else:
            logger.warning(
                "streamed text turned out to be reasoning after it was sent as answer (format %r); "
                "set the engine's reasoning format to 'think' or 'harmony' for this model",
                self.fmt,
            )
            rest = ""
        self._emitted = split.answer
        return split, rest

    def _safe_answer(self, text: str) -> str:
        fmt = self.fmt
        if fmt == "none":
            return text
        stripped = text.lstrip()
        if fmt == "harmony" or (
            fmt == "auto" and (stripped.startswith(_HARMONY_MARKERS) or _partial(stripped, _HARMONY_MARKERS))
        ):
            return self._safe_harmony(text)
        if fmt == "auto" and _HARMONY_STRIPPED.match(text):
            return ""
        if THINK_CLOSE in text:
            return _hold_partial(_split_think(text).answer, (THINK_CLOSE, THINK_OPEN))
        if fmt == "think":
            return ""
        if stripped.startswith(THINK_OPEN) or _partial(stripped, (THINK_OPEN, "analysis")) or not stripped:
            return ""
        return _hold_partial(text, (THINK_CLOSE,))

    def _safe_harmony(self, text: str) -> str:
        marker = "<|channel|>final"
        start = text.find(marker)
        if start < 0:
            return ""
        body_start = text.find("<|message|>", start)
        if body_start < 0:
            return ""
        body = text[body_start + len("<|message|>") :]
        ends = [body.find(e) for e in _HARMONY_ENDS if e in body]
        if ends:
            return body[: min(ends)].strip()
        return _hold_partial(body, _HARMONY_ENDS).strip()


def _partial(text: str, markers: tuple[str, ...]) -> bool:
    """Whether `text` is a proper beginning of one of `markers` (it may still become one)."""
    return any(len(text) < len(m) and m.startswith(text) and text for m in markers)


def _hold_partial(text: str, markers: tuple[str, ...]) -> str:
    """`text` without a trailing fragment that could be the start of a marker."""
    for cut in range(min(len(text), max(len(m) for m in markers) - 1), 0, -1):
        tail = text[-cut:]
        if any(m.startswith(tail) for m in markers):
            return text[:-cut]
    return text
