"""`generate_summary` and `translate_text`: model-written text, held to its limits.

`max_length` of a summary counts **words** (runs of text between spaces; a Korean eojeol
counts as one word). The request's `max_tokens` is capped from it, and if the model still
writes too much the summary is cut at the last sentence end within the limit (or at a word
boundary, marked with "…"), never mid-word. `bullet_points` summaries are re-formatted after
generation so every line starts with "- ", whatever the model wrote; that works on every
engine, where a regex constraint would depend on the engine's grammar support.

Only `Completion.text` is used: reasoning an engine separates is never part of a result, and
a `<think>…</think>` block left in the text by an engine without a reasoning parser is removed.
"""

from __future__ import annotations

import math
import re
from typing import Literal, get_args

from radixagent.engine.base import Engine
from radixagent.engine.types import ChatMessage, SamplingParams
from radixagent.errors import EngineResponseError, ToolArgumentsError
from radixagent.evidence.codes import language_name

SummaryStyle = Literal["concise", "detailed", "bullet_points"]
SUMMARY_STYLES: tuple[str, ...] = get_args(SummaryStyle)
MAX_SUMMARY_WORDS = 1000
MAX_TOKENS_CAP = 2048

_WIDE_SCRIPT_LANGUAGES = frozenset({"Korean", "Japanese", "Chinese", "Thai", "Arabic", "Hindi", "Russian"})

_STYLE_INSTRUCTIONS = {
    "concise": "Write one or two plain sentences.",
    "detailed": "Cover every main point in full sentences.",
    "bullet_points": "Write a list of short bullet points, one per line, each line starting with '- '.",
}
_THINK = re.compile(r"<think>.*?(</think>|\Z)", re.DOTALL | re.IGNORECASE)
_LABEL = re.compile(r"^\s*(summary|translation|요약|번역)\s*[:：]\s*", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•·‣◦]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"[.!?。！？](?=[\"'”’)\]]*(\s|$))")


class Summarizer:
    """The `generate_summary` tool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, text: str, max_length: int = 100, style: str = "concise") -> str:
        """Summarise `text` in at most `max_length` words, in the given style."""
        if not text.strip():
            raise ToolArgumentsError("generate_summary", ["text is empty: give the text to summarise."])
        if not 1 <= max_length <= MAX_SUMMARY_WORDS:
            raise ToolArgumentsError(
                "generate_summary", [f"max_length counts words and must be 1 to {MAX_SUMMARY_WORDS}, not {max_length}."]
            )
        if style not in SUMMARY_STYLES:
            raise ToolArgumentsError("generate_summary", [f"style {style!r} is unknown: use one of {SUMMARY_STYLES}."])
        messages = [
            ChatMessage(
                role="system",
                content="You summarise texts. Reply with the summary only, in the language of the text.",
            ),
            ChatMessage(
                role="user",
                content=(
                    f"Summarise the text below in at most {max_length} words. {_STYLE_INSTRUCTIONS[style]}\n\n"
                    f"Text:\n{text.strip()}"
                ),
            ),
        ]
        tokens_per_word = 5.0 if _is_wide_script(text) else 1.8
        max_tokens = min(MAX_TOKENS_CAP, math.ceil(max_length * tokens_per_word * 1.25) + 16)
        completion = await self.engine.generate(messages, sampling=SamplingParams(max_tokens=max_tokens))
        summary = clean_model_text(completion.text)
        if not summary:
            raise EngineResponseError("The model wrote an empty summary: try again, or use a larger model.")
        if style == "bullet_points":
            return to_bullets(summary, max_length)
        return truncate_words(" ".join(summary.split()), max_length)


class Translator:
    """The `translate_text` tool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, text: str, source_lang: str, target_lang: str) -> str:
        """Translate `text` from `source_lang` to `target_lang` (codes such as "ko" or names such as "Korean")."""
        errors = []
        if not text.strip():
            errors.append("text is empty: give the text to translate.")
        if not source_lang.strip():
            errors.append("source_lang is empty: give a language code such as 'en' or a name such as 'English'.")
        if not target_lang.strip():
            errors.append("target_lang is empty: give a language code such as 'ko' or a name such as 'Korean'.")
        if errors:
            raise ToolArgumentsError("translate_text", errors)
        source, target = language_name(source_lang), language_name(target_lang)
        if source == target:
            return text.strip()
        messages = [
            ChatMessage(
                role="system",
                content=f"You translate {source} text into {target}. Reply with the {target} translation only.",
            ),
            ChatMessage(role="user", content=f"Translate from {source} to {target}:\n{text.strip()}"),
        ]
        per_char = 3 if target in _WIDE_SCRIPT_LANGUAGES else 1
        max_tokens = min(MAX_TOKENS_CAP, per_char * len(text) + 32)
        completion = await self.engine.generate(messages, sampling=SamplingParams(max_tokens=max_tokens))
        translation = clean_model_text(completion.text)
        if not re.search(r"\n\s*\n", text.strip()):  # one paragraph in, one paragraph out: drop any commentary
            translation = re.split(r"\n\s*\n", translation, maxsplit=1)[0].strip()
        translation = _unquote(translation, text)
        if not translation:
            raise EngineResponseError("The model wrote an empty translation: try again, or use a larger model.")
        return translation


# --- text helpers ------------------------------------------------------------------------


def clean_model_text(text: str) -> str:
    """The answer part of a model's text: no think block, no "Summary:" label, a phrase the
    model looped on written once, trimmed."""
    text = _LOOP.sub(r"\1", _THINK.sub("", text))
    return _LABEL.sub("", text.strip(), count=1).strip()


_LOOP = re.compile(r"(?<![0-9A-Za-z])([^\W\d_][^\n]{1,39}?)(?:\s*\1){2,}(?![0-9A-Za-z])")
"""A phrase said three times or more in a row: a small model's greedy loop ("새로운 새로운 새로운")."""


def truncate_words(text: str, max_words: int) -> str:
    """`text` if it has at most `max_words` words; otherwise cut at the last sentence end
    within the limit (when that keeps at least half of it), else at a word boundary + "…"."""
    words = text.split()
    if len(words) <= max_words:
        return text.strip()
    cut = " ".join(words[:max_words])
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    if ends and len(cut[: ends[-1]].split()) >= max(1, max_words // 2):
        return cut[: ends[-1]].rstrip()
    return cut.rstrip(",;:、，-–— ") + "…"


def to_bullets(text: str, max_words: int) -> str:
    """Lines that each start with "- ", at most `max_words` words in all (bullet marks not
    counted). Prose becomes one bullet per sentence."""
    lines = [_BULLET.sub("", line).strip() for line in text.splitlines()]
    items = [line for line in lines if line]
    if len(items) == 1:
        items = _sentences(items[0])
    bullets: list[str] = []
    used = 0
    for item in items:
        count = len(item.split())
        if used + count > max_words:
            if not bullets:
                bullets.append(truncate_words(item, max_words))
            break
        bullets.append(item)
        used += count
    return "\n".join(f"- {b}" for b in bullets)


def _sentences(text: str) -> list[str]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _is_wide_script(text: str) -> bool:
    """Whether most letters are outside ASCII (Hangul, kana, Han...): such text costs more
    tokens per word."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(not c.isascii() for c in letters) > len(letters) / 2


def _unquote(translation: str, original: str) -> str:
    pairs = {'"': '"', "'": "'", "“": "”", "「": "」", "«": "»"}
    if len(translation) >= 2 and pairs.get(translation[0]) == translation[-1]:
        if original.strip()[:1] != translation[0]:
            return translation[1:-1].strip()
    return translation
