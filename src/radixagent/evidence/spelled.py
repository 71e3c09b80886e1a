"""Numbers written in words, as people say them: "seven", "forty-two", "a hundred and fifty",
"fifteen hundred", "two thousand three hundred", "a dozen", "half a dozen", "two grand",
"thirty-seven and a half", "thirty-seven point five", "minus ten", "half a metre"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from radixagent.evidence.measures import unit_of_measure
from radixagent.evidence.words import WORD_NUMBERS

_SMALL = {w: n for w, n in WORD_NUMBERS.items() if n < 20}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_SIGNS = frozenset({"minus", "negative"})
_WORD = re.compile(r"[A-Za-z]+")
_JOINED = re.compile(r"\s+|\s*-\s*")
"""What stands between the words of one number: spaces or a hyphen, no comma or full stop."""
_COUNTING = re.compile(r"\s+(?:\w+\s+)?\w+s\s*:")
"""After a number, a colon that lists what it counts: "two cities: Oslo and Rome"."""


@dataclass(frozen=True)
class Spelled:
    """A number in words and the characters it spans."""

    start: int
    end: int
    value: float


def spelled_numbers(text: str) -> list[Spelled]:
    """Every number `text` writes in words, longest first from left to right, each once; not a
    number that says how many values a colon lists ("two cities: Oslo and Rome")."""
    words = [(m.start(), m.end(), m[0]) for m in _WORD.finditer(text)]
    found: list[Spelled] = []
    index = 0
    while index < len(words):
        read = _number_at(text, words, index)
        if read is None:
            index += 1
            continue
        number, index = read
        if not _COUNTING.match(text, number.end):
            found.append(number)
    return found


def negated(text: str, start: int) -> bool:
    """Whether the number at `start` has a sign word before it ("minus ten", "negative 5"), not
    an operator between two numbers ("ten minus three", "10 minus 3")."""
    sign = _SIGN_BEFORE.search(text, 0, start)
    if sign is None:
        return False
    before = text[: sign.start()].split()
    return not before or not (any(c.isdigit() for c in before[-1]) or before[-1].casefold().strip(",.") in _NUMBER_WORDS)


_SIGN_BEFORE = re.compile(r"\b(?:minus|negative)\s+$", re.IGNORECASE)
_NUMBER_WORDS = frozenset(_SMALL) | frozenset(_TENS) | frozenset(_SCALES) | {"hundred", "dozen"}


def _joined(text: str, words: list[tuple[int, int, str]], index: int) -> bool:
    """Whether word `index` continues the word before it (a space or a hyphen between)."""
    return index > 0 and bool(_JOINED.fullmatch(text, words[index - 1][1], words[index][0]))


def _number_at(text: str, words: list[tuple[int, int, str]], first: int) -> tuple[Spelled, int] | None:
    """The number whose words start at `first` (a sign word before it included), and the index
    of the word after it; None when no number starts there."""
    def word(i: int) -> str:
        return words[i][2].casefold() if i < len(words) and (i == first or _joined(text, words, i)) else ""

    if word(first) == "half" and word(first + 1) in ("a", "an"):
        # "half a dozen" is six; "half a metre" half of its unit (an hour's half is read with the times)
        if word(first + 2) == "dozen":
            return Spelled(words[first][0], words[first + 2][1], 6.0), first + 3
        if unit_of_measure(word(first + 2)):
            return Spelled(words[first][0], words[first + 1][1], 0.5), first + 2
    sign, index = 1, first
    if word(index) in _SIGNS and (word(index + 1) in _SMALL or word(index + 1) in _TENS) and negated(text, words[index + 1][0]):
        sign, index = -1, index + 1
    total = current = 0
    last = ""  # the kind of the word read last: small, tens, ones, hundred, scale, and
    end: int | None = None
    while index < len(words):
        w, original = word(index), words[index][2]
        if w in ("a", "an") and last == "" and (word(index + 1) in ("hundred", "dozen") or word(index + 1) in _SCALES):
            current, last = 1, "small"
        elif w in _TENS and last in ("", "hundred", "scale", "and") and current % 100 == 0:
            current, last = current + _TENS[w], "tens"
        elif w in _SMALL and last == "tens" and 0 < _SMALL[w] < 10:
            current, last = current + _SMALL[w], "ones"
        elif w in _SMALL and last in ("", "hundred", "scale", "and") and current % 100 == 0:
            current, last = current + _SMALL[w], "small" if _SMALL[w] else "zero"  # nothing follows "zero"
        elif w == "hundred" and last in ("small", "tens", "ones") and 0 < current < 100:
            current, last = current * 100, "hundred"
        elif w == "dozen" and last in ("small", "tens", "ones") and 0 < current < 100:
            current, last = current * 12, "dozen"
        elif (w in _SCALES or original == "grand") and last in ("small", "tens", "ones", "hundred") and current:
            total, current, last = total + current * _SCALES.get(w, 1000), 0, "scale"
        elif w == "and" and last in ("hundred", "scale") and (word(index + 1) in _SMALL or word(index + 1) in _TENS):
            last = "and"
        else:
            break
        index += 1
        if last != "and" and w not in ("a", "an"):
            end = words[index - 1][1]
    if end is None:
        return None
    value: float = total + current
    if word(index) == "and" and word(index + 1) == "a" and word(index + 2) == "half":
        value, end, index = value + 0.5, words[index + 2][1], index + 3  # "thirty-seven and a half"
    elif word(index) == "point" and word(index + 1) in _SMALL and _SMALL[word(index + 1)] < 10:
        digits = ""
        index += 1
        while word(index) in _SMALL and _SMALL[word(index)] < 10:
            digits, end, index = digits + str(_SMALL[word(index)]), words[index][1], index + 1
        value = float(f"{int(value)}.{digits}")  # "thirty-seven point five"
    return Spelled(words[first][0], end, sign * float(value)), index
