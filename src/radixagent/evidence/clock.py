"""Times of day: written on a clock ("18:30", "6:30 pm", "7pm"), told in words ("a quarter to
six", "half past seven", "six thirty in the evening", "5 o'clock", "seven tonight"), or named
("noon", "midnight")."""

from __future__ import annotations

import re
from typing import NamedTuple

from radixagent.evidence.words import WORD_NUMBERS


class TimeOfDay(NamedTuple):
    start: int
    end: int
    time: str
    """"HH:MM", 24-hour."""


_HOURS = {w: n for w, n in WORD_NUMBERS.items() if 1 <= n <= 12}
_HOUR = rf"(?:1[0-2]|0?[1-9]|{'|'.join(_HOURS)})"
_MINUTES = {"five": 5, "ten": 10, "quarter": 15, "twenty": 20, "twenty-five": 25, "twenty five": 25, "half": 30}
_SAID_MINUTES = {"oh five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "forty five": 45, "fifty": 50}
_MERIDIEM = r"(?P<meridiem>[ap])\.?m\b\.?"
_DAY_PART = r"(?:in\s+the\s+|this\s+)(?P<part>morning|afternoon|evening)|at\s+(?P<night>night)|(?P<tonight>tonight)"
_TOLD = re.compile(
    r"\b(?:"
    # "a quarter to six", "half past 7", "ten past nine", "20 minutes to 5"
    rf"(?:an?\s+)?(?P<minutes>{'|'.join(sorted(_MINUTES, key=len, reverse=True))}|[1-5]?\d(?=\s+minutes?))\s+(?:minutes?\s+)?(?P<way>past|after|to)\s+(?P<of>{_HOUR})"
    # "six thirty", "7.45", "9 o'clock"
    rf"|(?P<hour>{_HOUR})(?:(?:\s+|-)(?P<said>{'|'.join(sorted(_SAID_MINUTES, key=len, reverse=True))})|(?P<mark>[.:])(?P<written>[0-5]\d))?(?P<oclock>\s+o'?clock)?"
    r")"
    rf"(?:\s*(?:{_MERIDIEM}|{_DAY_PART}))?"
    r"(?![\w:])",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)(?:\s*([ap])\.?m\.?)?\b", re.IGNORECASE)
_NAMED = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}
_LEADS_TO_A_TIME = re.compile(r"\b(?:at|around|about|by|from|until|till|before|after|between|to)\s+$", re.IGNORECASE)
"""Words before a bare hour that say it is a time ("at six thirty"; "for 4 in the evening" may count people)."""
_COUNTED_AFTER = re.compile(r"\s+(?:minutes?|hours?|days?|weeks?|months?|years?|people|persons?|guests?|adults?|times|percent)\b", re.IGNORECASE)
_A_RANGE_BEFORE = re.compile(r"\b(?:from|between)\s+$", re.IGNORECASE)


def times_in(text: str) -> list[TimeOfDay]:
    """The times of day the text gives, in order: told in words (`_told`), then on a clock
    ("18:30", "6:30 pm") and by name where no told time holds them."""
    found = _told(text)
    for m in _CLOCK.finditer(text):
        found.append(TimeOfDay(m.start(), m.end(), f"{_in_the_day(int(m[1]), None if m[3] is None else m[3].lower() == 'p'):02d}:{m[2]}"))
    for m in re.finditer(rf"\b({'|'.join(_NAMED)})\b", text, re.IGNORECASE):
        found.append(TimeOfDay(m.start(), m.end(), _NAMED[m[1].lower()]))
    kept: list[TimeOfDay] = []
    for time in found:
        if not any(k.start < time.end and time.start < k.end for k in kept):
            kept.append(time)
    return sorted(kept)


def _told(text: str) -> list[TimeOfDay]:
    """The times of day the text tells in words, in order. An hour with minutes ("six
    thirty", "6.30") counts with what places it in the day ("6.30pm", "7:45 in the evening") or
    after a word that leads to a time ("at six thirty"); a bare hour with am/pm or "o'clock",
    or placed in the day after such a word ("at seven tonight"); minutes past or to an hour
    alone where they are a quarter or a half ("half past seven"), else after such a word or
    placed ("at ten to eight"), and never after "from" (a range: "from ten to eight")."""
    out: list[TimeOfDay] = []
    for m in _TOLD.finditer(text):
        placed = bool(m["meridiem"] or m["part"] or m["night"] or m["tonight"])
        leads = bool(_LEADS_TO_A_TIME.search(text, 0, m.start()))
        if _COUNTED_AFTER.match(text, m.end()):
            continue
        if m["way"]:
            if m["way"].lower() == "to" and _A_RANGE_BEFORE.search(text, 0, m.start()):
                continue  # "from ten to eight" (a range)
            if m["minutes"].lower() not in ("quarter", "half") and not (leads or placed):
                continue  # "five to ten options"; "at ten to eight" is a time
            minutes = _MINUTES.get(m["minutes"].lower()) or int(m["minutes"])
            hour = _number(m["of"])
            hour, minute = (hour, minutes) if m["way"].lower() != "to" else ((hour - 2) % 12 + 1, 60 - minutes)
        else:
            hour = _number(m["hour"])
            if m["said"] or m["written"]:
                # "at six thirty", "6.30 pm"; "6.30" alone is a number, "6:30" alone the values' own
                told = placed or (leads and m["mark"] != ":")
            else:
                told = bool(m["meridiem"] or m["oclock"] or (placed and leads))  # "a table for four tonight" counts people
            if not told:
                continue
            minute = _SAID_MINUTES[m["said"].lower()] if m["said"] else int(m["written"] or 0)
        out.append(TimeOfDay(m.start(), m.end(), f"{_placed(hour, m):02d}:{minute:02d}"))
    return out


def _number(word: str) -> int:
    return _HOURS.get(word.lower()) or int(word)


def _placed(hour: int, m: re.Match[str]) -> int:
    """A 12-hour `hour` as a 24-hour one, by the am/pm or the part of the day told with it;
    as said where neither is ("half past seven": 07:30, as "7:30" reads)."""
    if m["meridiem"]:
        return _in_the_day(hour, m["meridiem"].lower() == "p")
    if m["part"]:
        return _in_the_day(hour, m["part"].lower() != "morning")
    if m["night"] or m["tonight"]:
        return _in_the_day(hour, not (hour == 12 or hour <= 4))  # "12 at night", "2 at night": the small hours
    return hour


def _in_the_day(hour: int, afternoon: bool | None) -> int:
    """An hour of a 12-hour clock on the 24-hour one (as written where neither am nor pm is said)."""
    if afternoon is None or hour > 12:
        return hour
    if afternoon:
        return hour if hour == 12 else hour + 12
    return 0 if hour == 12 else hour
