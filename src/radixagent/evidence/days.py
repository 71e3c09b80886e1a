"""Days: the dates a text gives, written out ("2026-03-12", "March 12") or told relative to
today ("tomorrow", "this Friday", "Wednesday next week", "in three days"). Today is the day the
text says it is ("... today is Tuesday 2026-02-10"), else the clock's."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from radixagent.evidence.words import WORD_NUMBERS

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = "(" + "|".join(WEEKDAYS) + ")"
_COUNT = r"(\d{1,3}|an?|" + "|".join(WORD_NUMBERS) + ")"

# "today is Tuesday 2026-02-10", "assuming today's date is April 4th, 2023", "today: 2026-10-08"
_TODAY_BEFORE = re.compile(
    rf"\b(?:today(?:'s date)?|the date today|the current date|current date)\s*(?:is|was|being|:|=)?\s*,?\s*(?:(?:a\s+)?{_WEEKDAY}\s*,?\s*)?(?:the\s+)?$",
    re.IGNORECASE,
)
_TODAY_AFTER = re.compile(rf"\s*,?\s*(?:\(?{_WEEKDAY}\)?\s*,?\s*)?(?:is\s+)?today\b(?!\s*(?:is|was|:))", re.IGNORECASE)  # "It's 2026-05-30 today"
_NEXT_TO = re.compile(r"[\s,]{0,3}(?:the\s+)?")
_WEEKDAY_AFTER = re.compile(rf"\s*,?\s*\(?{_WEEKDAY}\b", re.IGNORECASE)  # "today is 2023.3.1 monday"

_RELATIVE = re.compile(
    r"\b(?:"
    r"(?P<shift>(?:the\s+)?day\s+after\s+tomorrow|(?:the\s+)?day\s+before\s+yesterday|tomorrow|yesterday|today(?!\s*(?:is|was|:|'s\s+date)\b)|tonight)"
    rf"|in\s+{_COUNT.replace('(', '(?P<count>', 1)}\s+(?P<unit>days?|weeks?)"
    rf"|{_COUNT.replace('(', '(?P<count_from>', 1)}\s+(?P<unit_from>days?|weeks?)\s+from\s+(?:now|today)"
    rf"|(?P<week_first>next|this|last)\s+week(?:'s)?\s+(?:on\s+)?{_WEEKDAY.replace('(', '(?P<day_after>', 1)}"
    rf"|(?:(?P<which>next|this|coming|upcoming|the\s+coming|the\s+upcoming|last|on)\s+)?{_WEEKDAY.replace('(', '(?P<day>', 1)}"
    r"(?:\s+(?:of\s+)?(?P<week>next|this|last)\s+week)?"
    r")(?!s\b)\b",
    re.IGNORECASE,
)
"""A day told relative to today. A weekday said plainly ("Mondays") is a habit, no day."""

_STATED_YEAR = re.compile(r"\b(?:year|in|of)\s+((?:19|20)\d{2})\b(?!\s*(?:%|(?!(?:on|at|and|or|for|to|this|that|is|was|but|the|from|until)\b)[a-z]))", re.IGNORECASE)
"""A year the text gives on its own ("on March 11th? this year 2023"): the year of its dates
that give none. Not a count ("in 2000 pieces")."""


class Written(NamedTuple):
    """A date as the text writes it, where it stands (characters); no year when it gives none."""

    start: int
    end: int
    month: int
    day: int
    year: int | None = None


class Day(NamedTuple):
    """A date the text gives, and where it stands (characters). `told` when the text does not
    write it out: without its year, or `relative` to today."""

    iso: str
    start: int
    end: int
    told: bool
    relative: bool = False


class Days(NamedTuple):
    """The dates a text gives, in its order; the day it counts from; where it says what day
    that is (characters; (0, 0) where it does not)."""

    days: list[Day]
    today: date
    statement: tuple[int, int]


def days_in(text: str, written: Sequence[Written], clock: date) -> Days:
    """Every date `text` gives, in the order it gives them. A written date the text calls today
    is only the reference of the others: it is a day of its own only when the text gives no
    other ("What's on? Today is 2026-11-20.")."""
    anchor, stated_weekday, clause = _today(text, written)
    years = [w.year for w in written if w.year is not None and w is not anchor] or [int(m[1]) for m in _STATED_YEAR.finditer(text)]
    today = clock
    if anchor is not None:
        today = _dated(anchor, anchor.year or (years[0] if years else clock.year), clock=None) or clock
    weekday = WEEKDAYS.index(stated_weekday.lower()) if stated_weekday else today.weekday()
    told: list[Day] = []
    for m in _RELATIVE.finditer(text):
        if clause[0] < m.end() and m.start() < clause[1]:
            continue  # "today is Tuesday ..." says what today is
        if m["day"] and not m["which"] and not m["week"] and not m["day"][0].isupper():
            continue  # a weekday in lower case with nothing around it is no day told
        if any(w.start < m.end() and m.start() < w.end or _NEXT_TO.fullmatch(text, m.end(), w.start) for w in written):
            continue  # "Monday, March 3" is written out
        told.append(Day((today + timedelta(days=_shift(m, weekday))).isoformat(), m.start(), m.end(), True, relative=True))
    days = [
        Day(d.isoformat(), w.start, w.end, w.year is None)
        for w in written
        if (w is not anchor or not told and len(written) == 1) and (d := _dated(w, years[0] if years else None, clock=today)) is not None
    ]
    return Days(sorted([*days, *told], key=lambda d: d.start), today, clause)


def _today(text: str, written: Sequence[Written]) -> tuple[Written | None, str | None, tuple[int, int]]:
    """The written date the text says is today, the weekday it says today is, and the
    characters of that statement."""
    for w in written:
        before = _TODAY_BEFORE.search(text, max(0, w.start - 60), w.start)
        after = _TODAY_AFTER.match(text, w.end)
        if before is None and after is None:
            continue
        weekday_after = _WEEKDAY_AFTER.match(text, w.end)
        stated = (before[1] if before is not None else None) or (after[1] if after is not None else None) or (weekday_after[1] if weekday_after else None)
        end = max(w.end, after.end() if after else 0, weekday_after.end() if weekday_after else 0)
        return w, stated, (before.start() if before is not None else w.start, end)
    return None, None, (0, 0)


def _dated(w: Written, year: int | None, clock: date | None) -> date | None:
    """The written date, its year given by the text, by another date of the text, or else the
    first such day from `clock` on; None when it is no day of the calendar."""
    known = w.year if w.year is not None else year
    try:
        if known is not None:
            return date(known, w.month, w.day)
        if clock is None:
            return None
        day = date(clock.year, w.month, w.day)
        return day if day >= clock else date(clock.year + 1, w.month, w.day)
    except ValueError:
        return None


def _shift(m: re.Match[str], weekday: int) -> int:
    """How many days from today a relative phrase lies, given today's weekday."""
    if m["shift"]:
        words = m["shift"].lower().split()
        if "after" in words:
            return 2
        if "before" in words:
            return -2
        return {"tomorrow": 1, "yesterday": -1}.get(words[-1], 0)
    if m["unit"] or m["unit_from"]:
        count = (m["count"] or m["count_from"]).lower()
        number = 1 if count in ("a", "an") else int(count) if count.isdigit() else WORD_NUMBERS[count]
        return number * (7 if (m["unit"] or m["unit_from"]).lower().startswith("week") else 1)
    target = WEEKDAYS.index((m["day"] or m["day_after"]).lower())
    week = (m["week"] or m["week_first"] or "").lower()
    which = " ".join((m["which"] or "").lower().split()[-1:])
    if week == "next" or which == "next":
        return 7 - weekday + target  # "next Thursday", "Wednesday next week": in the week after this one
    if week == "this":
        return target - weekday
    if week == "last" or which == "last":
        return -((weekday - target) % 7 or 7)
    ahead = (target - weekday) % 7
    return ahead if ahead or which == "this" else 7  # "this Sunday"; "on Friday", "the coming Friday"
