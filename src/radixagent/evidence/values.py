"""Values: what one text offers a call (dates, times, addresses, numbers, quoted phrases, word
spans), where each stands, and the coordinated parts of a request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from radixagent.evidence.addresses import Address, find_addresses, postal_codes
from radixagent.evidence.clock import times_in
from radixagent.evidence.codes import Found, System, code_of, code_parameter, names_in, system_of
from radixagent.evidence.days import Written, days_in
from radixagent.evidence.measures import unit_of_measure
from radixagent.evidence.spelled import negated, spelled_numbers
from radixagent.evidence.words import (
    EDGE,
    IRREGULAR,
    PARTICLES,
    STOP_WORDS,
    WORD_NUMBERS,
    example_of,
    examples_of,
    name_words,
    stem,
    terms,
)
from radixagent.schemas import ToolSchema

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july", "aug august",
         "sep sept september", "oct october", "nov november", "dec december"]
    )
    for m in names.split()
}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?:of\s+)?(\d{{4}})\b", re.IGNORECASE)
_DOTTED_DATE = re.compile(r"\b(\d{4})[./](\d{1,2})[./](\d{1,2})\b")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?![a-z])", re.IGNORECASE)
_CALENDAR_WORDS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
"""Words English capitalises that name no thing of their own: a date's, a day's."""
_WHEN_WORDS = _CALENDAR_WORDS | frozenset(_MONTHS) | frozenset(
    "now today tonight tomorrow yesterday morning afternoon evening night noon midnight weekend week "
    "weeks month months year years day days hour hours minute minutes pm o'clock "
    "mon tue tues wed thu thur thurs fri sat sun".split()
)
"""Words that say when, with no digit to find them by ("am" is a verb far more often)."""
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", re.IGNORECASE)
_TRUNK_DIALLED = re.compile(r"0\d{3,4}[ -]\d{6}")
"""A national number dialled with its leading 0, in two groups: "07911 123456"."""
_QUANTITY_CODE = re.compile(r"(\d+(?:\.\d+)?)([A-Za-z]{1,4})")
"""A quantity written as one code, its number then its unit's letters: "8in", "25L", "500ml"."""
_PHONE = re.compile(r"(?<![\w.+-])(?:\+\d{1,3}[ -]?)?(?:\(\d{2,4}\)[ -]?)?\d{1,5}(?:[ -]\d{2,6}){1,4}(?![\w-]|\.\d)")
"""A phone number: a "+" and a country code, an area code in brackets, or groups of digits
apart ("415-555-0199"); counted digits and separators tell it from a number, a decimal or an
IP address."""
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://\S+")
# a number, and the number of a compound ("a 2-day forecast"), not a piece of an identifier
_NUMBER = re.compile(r"(?<![\w.@/-])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w@/]|-(?![a-z]+\b)\w|\.\d)")
# A closing ' must not run into a Latin letter or digit ("it's", "the '90s"); a particle in a
# script without spaces may follow it ("'감사합니다'라는").
_QUOTED = re.compile(r"'([^']{1,1000})'(?![A-Za-z0-9_])|\"([^\"]{1,1000})\"|‘([^’]{1,1000})’|“([^”]{1,1000})”")
# "50 million", "2.5bn", "40k": the scale word is part of the number
_SCALED = re.compile(r"(?<![\w.@/-])([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(thousand|million|billion|trillion|bn|k|(?-i:grand))\b", re.IGNORECASE)
_SCALES = {"thousand": 10**3, "k": 10**3, "grand": 10**3, "million": 10**6, "billion": 10**9, "bn": 10**9, "trillion": 10**12}
_TIME_UNIT_WORD = r"(?:second|minute|hour|day|night|week|fortnight)s?"
_AND_A_HALF = re.compile(
    rf"\b(?:(?P<count>an?|one|\d+)\s+{_TIME_UNIT_WORD}\s+and\s+a\s+half"
    rf"|(?P<whole>\d+|{'|'.join(WORD_NUMBERS)})\s+and\s+a\s+(?P<half>half)\s+{_TIME_UNIT_WORD}"
    rf"|half\s+(?P<half_a>an?)\s+{_TIME_UNIT_WORD})\b",
    re.IGNORECASE,
)
"""Half units of time: "an hour and a half" (1.5), "two and a half days" (2.5), "half an hour" (0.5)."""
_QUARTERS = re.compile(rf"\b(?:(?P<count>an?|one|two|three)\s+)?quarters?\s+of\s+(?P<unit>an?)\s+{_TIME_UNIT_WORD}\b", re.IGNORECASE)
"""Quarters of a unit of time: "a quarter of an hour" (0.25), "three quarters of an hour" (0.75)."""
_QUARTER_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3}
_ONE_UNIT = re.compile(rf"(?:(?<=\bfor\s)|(?<=\bin\s))an?(?=\s+{_TIME_UNIT_WORD}\b)", re.IGNORECASE)
"""The "a" of "for a week", "in an hour": one of the unit that follows."""
_COMPOUND = re.compile(r"[-+]?\d+(?:\.\d+)?-[a-z]+")
_SPLIT = re.compile(r"\s*(?:,\s+(?:and\s+|then\s+|also\s+)?(?![-+]?\d)|;\s*|\s+and\s+(?:also\s+)?|\s+then\s+|\s+plus\s+)\s*", re.IGNORECASE)
MAX_SPAN_WORDS = 8


@dataclass
class Evidence:
    """The values one text offers, found once and asked many times."""

    text: str
    dates: list[str] = field(default_factory=list)
    calendar: list[tuple[int, int]] = field(default_factory=list, repr=False)
    """The characters read as a date or a time."""
    today: Date = field(default_factory=Date.today)
    """The day the text counts from: the one it says is today, else the clock's."""
    statement_of_today: tuple[int, int] = (0, 0)
    """Where the text says what day it is ("today is 2026-03-12"), in characters."""
    told: set[str] = field(default_factory=set)
    """The dates the text does not write out: told relative to today ("tomorrow", "this
    Friday"), or without a year ("the 7th of March", the next one)."""
    relative: set[str] = field(default_factory=set)
    """The dates told relative to today ("tomorrow", "this Friday", "in three days")."""
    times: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    """Phone numbers, as written ("+44 20 7946 0321", "415-555-0199"): one value each, no numbers."""
    quoted: list[str] = field(default_factory=list)
    spans: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)
    """Stemmed terms of the text."""
    tokens: list[str] = field(default_factory=list)
    """The text's whitespace-separated words, edge punctuation trimmed."""
    places: dict[Any, list[tuple[int, int]]] = field(default_factory=dict)
    """Where each typed value (as found: "2025-03-03", 13.0 ...) stands, as token ranges."""
    opens: bool = True
    """Whether the text opens a sentence, so that its first word's capital says nothing (a
    later part of a request, "... and Seoul", does not)."""
    referent: str | None = None
    """What the text refers back to ("summarise what you find", "tell me its sentiment"): an
    earlier result, the input of a call that names none of its own."""

    @classmethod
    def of(cls, text: str, today: Date | None = None) -> Evidence:
        """What `text` holds, with days told relative to `today` (the clock's, unless given) where
        the text does not say what day it is."""
        return cls._read(text, today or Date.today())

    @classmethod
    @lru_cache(maxsize=256)
    def _read(cls, text: str, today: Date) -> Evidence:
        """`of`, cached: a request is read again at every step of its run, and evidence is never
        changed once read."""
        found = cls(text=text, words={IRREGULAR.get(w, w) for w in terms(text)})
        bounds = [m.span() for m in re.finditer(r"\S+", text)]
        found.tokens = [text[a:b].strip(EDGE) for a, b in bounds]
        taken: list[tuple[int, int]] = []  # characters already read as a date, time, address...
        last: list[tuple[int, int]] = []

        def spanned(start: int, end: int) -> tuple[int, int]:
            first = next((i for i, (a, b) in enumerate(bounds) if b > start), 0)
            final = max((i for i, (a, b) in enumerate(bounds) if a < end), default=first)
            return first, final + 1

        def take(match: re.Match[str], calendar: bool = False) -> bool:
            return take_span(*match.span(), calendar=calendar)

        def take_span(start: int, end: int, calendar: bool = False) -> bool:
            if any(s < end and start < e for s, e in taken):
                return False
            taken.append((start, end))
            if calendar:
                found.calendar.append((start, end))
            last[:] = [spanned(start, end)]
            return True

        def place(value: Any) -> None:
            found.places.setdefault(value, []).extend(last)

        def add(values: list[Any], value: Any) -> None:
            values.append(value)
            place(value)

        for m in _EMAIL.finditer(text):
            if take(m):
                add(found.emails, m.group(0))
        for m in _URL.finditer(text):
            take(m)
        written: list[Written] = []  # the dates written out, read by `days_in` with the days told
        for m in _ISO_DATE.finditer(text):
            if take(m, calendar=True) and _valid_date(int(m[1]), int(m[2]), int(m[3])):
                written.append(Written(*m.span(), int(m[2]), int(m[3]), int(m[1])))
        for m in _MONTH_DAY_YEAR.finditer(text):
            if take(m, calendar=True) and _valid_date(int(m[3]), _month(m[1]), int(m[2])):
                written.append(Written(*m.span(), _month(m[1]), int(m[2]), int(m[3])))
        for m in _DAY_MONTH_YEAR.finditer(text):
            if take(m, calendar=True) and _valid_date(int(m[3]), _month(m[2]), int(m[1])):
                written.append(Written(*m.span(), _month(m[2]), int(m[1]), int(m[3])))
        for m in _DOTTED_DATE.finditer(text):
            if _valid_date(int(m[1]), int(m[2]), int(m[3])) and take(m, calendar=True):
                written.append(Written(*m.span(), int(m[2]), int(m[3]), int(m[1])))
        for m, month, day in [*((m, m[1], m[2]) for m in _MONTH_DAY.finditer(text)), *((m, m[2], m[1]) for m in _DAY_MONTH.finditer(text))]:
            if 0 < int(day) <= 31 and month[:1].isupper() and take(m, calendar=True):  # "I may 5 times" names no month
                written.append(Written(*m.span(), _month(month), int(day)))
        calendar = days_in(text, sorted(written), today)
        found.today, found.statement_of_today = calendar.today, calendar.statement
        for day in calendar.days:
            last[:] = [spanned(day.start, day.end)]
            if day.iso not in found.dates:
                add(found.dates, day.iso)
            else:
                place(day.iso)
            if day.told:
                found.told.add(day.iso)
            if day.relative:
                found.relative.add(day.iso)
        for time in times_in(text):
            if take_span(time.start, time.end, calendar=True):
                add(found.times, time.time)
        for m in _PHONE.finditer(text):
            if 7 <= sum(c.isdigit() for c in m[0]) <= 15 and (m[0][0] in "+(" or len(re.findall(r"[ -]", m[0])) >= 2 or _TRUNK_DIALLED.fullmatch(m[0])) and take(m):
                add(found.phones, m[0])
        for m in _AND_A_HALF.finditer(text):
            if take(m):
                count = m["count"] or m["whole"]
                value = 0.0 if m["half_a"] else 1.0 if count.lower() in ("a", "an") else float(WORD_NUMBERS.get(count.lower(), count))
                # the value stands where the unit follows it: "an [hour] and a half", "two and a half [hours]"
                mark = m.start("count") if m["count"] else m.start("half") if m["whole"] else m.start("half_a")
                last[:] = [next((i, i + 1) for i, (_, b) in enumerate(bounds) if b > mark)]
                add(found.numbers, value + 0.5)
        for m in _QUARTERS.finditer(text):
            if take(m):
                last[:] = [next((i, i + 1) for i, (_, b) in enumerate(bounds) if b > m.start("unit"))]  # "an [hour]" holds the value
                add(found.numbers, _QUARTER_COUNTS[(m["count"] or "a").lower()] / 4)
        for m in _SCALED.finditer(text):
            if take(m):
                add(found.numbers, float(Decimal(m[1].replace(",", "")) * _SCALES[m[2].lower()]))
        for m in _NUMBER.finditer(text):
            if take(m):
                sign = -1 if negated(text, m.start()) else 1  # "minus 10 degrees", not "20 minus 10"
                add(found.numbers, sign * float(m.group(0).replace(",", "")))
        for m in _ONE_UNIT.finditer(text):
            if take(m):
                add(found.numbers, 1.0)  # "for an hour": one hour
        for number in spelled_numbers(text):
            if take_span(number.start, number.end):
                add(found.numbers, number.value)
        for m in _QUOTED.finditer(text):
            quoted = next(g for g in m.groups() if g is not None).strip()
            if quoted:
                found.quoted.append(quoted)
        code = _CODE_TAIL.search(text)
        if code and not _QUOTED.fullmatch(code[1]) and any(c in code[1] for c in "()[]{}=<>*+/") and code[1] not in found.quoted:
            found.quoted.append(code[1])  # "Run this code: print(2 ** 10)": the code after the colon, whole
        found.spans = _spans(text, found.quoted)
        return found

    # --- what a parameter can take from here ----------------------------------------------

    def mentions(self, phrase: str) -> bool:
        """Whether every term of `phrase` (an enum value, a parameter's name) is in the text,
        or the text names it as a short code by its long form ("kilometres" for `km`)."""
        return self.says(str(phrase)) or bool(self.abbreviated(str(phrase)))

    def says(self, phrase: str) -> bool:
        """Whether every term of `phrase` is in the text, as words (no code read from a longer
        word: "mute" is not said by "minutes")."""
        wanted = [IRREGULAR.get(w, w) for w in terms(phrase)]
        return (bool(wanted) and all(w in self.words for w in wanted)) or _compact(phrase) in self._compact_words or self._measured(phrase)

    def _measured(self, phrase: str) -> bool:
        """Whether the text says a quantity written as a code ("8in", "25L") by its number and its
        unit's name: "8 inch", "an 8-inch cake", "25 litres"."""
        quantity = _QUANTITY_CODE.fullmatch(phrase)
        if quantity is None:
            return False
        number, unit = quantity[1], quantity[2].casefold()
        if any(start > 0 and self.tokens[start - 1] == number for start, _ in self.abbreviated(unit)):
            return True
        joined = (t.casefold().split("-", 1) for t in self.tokens if t.startswith(f"{number}-"))
        return any(len(word) > len(unit) and word.isalpha() and _abbreviates(unit, [word]) for _, word in joined)

    @cached_property
    def _compact_words(self) -> set[str]:
        """Each word and each two words together, letters and digits only: "e-bikes" and "e
        bikes" say `ebike`; two words of one time are not joined."""
        words = [_compact(t) for t in self.tokens]
        # the words of one time say no other value together ("10 in the morning" is no `10in`)
        timed = {i for time in self.times for start, end in self.where(time) for i in range(start, end)}
        pairs = (a + b for i, (a, b) in enumerate(zip(words, words[1:], strict=False)) if not {i, i + 1} <= timed)
        return {w for w in (*words, *pairs) if len(w) > 3}

    def clipped(self, values: Iterable[Any]) -> list[str]:
        """The values (an enum's) that a word of the text starts with, as an abbreviation cuts
        a word short: "Saturday" says `sat`, "medium" `med`. Weaker than a mention: ask it
        where the text mentions none of them."""
        long = [t.casefold() for t in self.tokens if t.isalpha()]
        return [
            v for v in values
            if isinstance(v, str) and v.isalpha() and 3 <= len(v) <= 4 and v.casefold() not in _NO_EDGE
            and any(w.startswith(v.casefold()) and len(w) >= len(v) + 2 for w in long)
        ]

    def named(self, values: Iterable[Any], rivals: Iterable[str] = (), *, by_names: bool = True) -> list[Any]:
        """The values (an enum's) the text mentions. Where words abbreviate several codes (of
        `values`, or `rivals`: other tools' codes), only the one they abbreviate best: the most
        letters from the start, then the most letters, then the earliest ("miles" is `mi`, not
        `m`; "kilograms" is `kg`, not `km` or `K`). Codes of one system are also named by their
        CLDR names ("Swiss francs" for `CHF`), unless `by_names` is False."""
        strings = [v for v in values if isinstance(v, str)]
        spelled = [v for v in strings if self.says(v)]
        # codes the text names by their names ("Swiss francs" CHF, "pounds" lb among units)
        system = system_of(strings) if by_names else None
        coded = [v for v in strings if system and v not in spelled and self.code_runs(v, system)]
        covered = {i for v in coded for a, b in self.code_runs(v, system) for i in range(a, b)}
        best: dict[tuple[int, int], tuple[tuple[int, int, int], str]] = {}
        for value in dict.fromkeys([*strings, *rivals]):
            if value in spelled or value in coded:
                continue
            for run in self.abbreviated(value):
                if covered & set(range(*run)):
                    continue
                rank = _rank(value.casefold(), [t.casefold() for t in self.tokens[run[0] : run[1]]])
                if run not in best or rank > best[run][0]:
                    best[run] = (rank, value)
        chosen = {value for _, value in best.values()}
        return [v for v in strings if v in spelled or v in coded or v in chosen]

    @cached_property
    def coded(self) -> list[Found]:
        """The standard codes the text names by their names: currencies, languages, countries,
        units ("300 Swiss francs" CHF, "in Greek" el, "to Japan" JP, "2 cups" c)."""
        return names_in(self.tokens, self._unit_slot)

    @cached_property
    def without_codes(self) -> Evidence:
        """The text without the names of the codes it names: what else it gives ("Wire 300
        rupees to Asha" still names Asha; "What is the capital of Peru?" nothing)."""
        inside = {i for _, _, start, end in self.coded for i in range(start, end)}
        return Evidence.of(" ".join(t for i, t in enumerate(self.text.split()) if i not in inside))

    def codes_named(self, system: System) -> list[str]:
        """The codes of a system the text names, in its order."""
        return list(dict.fromkeys(code for named, code, _, _ in self.coded if named is system))

    def code_runs(self, value: str, system: System | None = None) -> list[tuple[int, int]]:
        """Where the text names `value` (a code of `system`, else of any) by its name."""
        return [(a, b) for named, code, a, b in self.coded if system in (None, named) and code == code_of(value, named)]

    def abbreviated(self, code: str) -> list[tuple[int, int]]:
        """Where the text names a short code (up to 4 letters: a unit, a currency) by the words
        it abbreviates, as a quantity's unit: "5 kilometres" (`km`), "to miles" (`mi`), "in
        Celsius" (`C`), "how many US dollars" (`USD`), "Japanese yen" (`JPY`). Each word gives
        the code its first letter and maybe more, in order; the words stand where a unit
        stands (after a number, with at most one word between, or after to/in/into/as/many),
        so "convert" is not `C`. The code written as such is a mention, not an abbreviation."""
        folded = code.casefold()
        if not (0 < len(folded) <= MAX_CODE and folded.isalpha()):
            return []
        words = [t.casefold() for t in self.tokens]
        out = []
        for start in range(len(words)):
            if not self._unit_slot(start):
                continue
            for size in range(1, 4):
                run = words[start : start + size]
                if len(run) < size or not all(w.isalpha() and w not in STOP_WORDS - {"us"} for w in run):
                    break
                # a one-letter code stands for a unit's name, not any word after "to" ("to move" is no `M`)
                alone = size == 1 and len(folded) == 1 and not _a_measure(run[0]) and not self.tokens[start][:1].isupper()
                if (size > 1 or len(run[0]) > MAX_CODE - 1) and not alone and len("".join(run)) > len(folded) and _abbreviates(folded, run):
                    out.append((start, start + size))
                    break
        return out

    def spelled_codes(self, size: int) -> list[str]:
        """Codes of `size` capitals the text may write in full where a unit stands, built from
        the words' letters as codes are ("euros" EUR, "US dollars" USD, "Canadian dollars" CAD,
        "Japanese yen" JPY): a word's first letters; the first two of one word and the first of
        the next; or its first letter, one of its consonants and the next word's first letter.
        A name ("British Columbia", "Texas") makes codes too: its words' initials, or for one
        word its first letters, or its first letter and a later consonant (BC, TX, CA). A model
        tells the real one from the rest."""
        out: list[str] = []
        for run in self.unit_runs:
            run = [w.casefold() for w in run]
            first = run[0]
            if len(run) == 1 or len(first) >= size:
                out.append(first[:size])
            if len(run) == 2 and size == 3:
                second = run[1]
                out.append(first[:2] + second[0])
                out.extend(first[0] + c + second[0] for c in dict.fromkeys(first[1:]) if c not in "aeiou")
        for name in self.names_whole:
            parts = name.casefold().split()
            if len(parts) == size:
                out.append("".join(p[0] for p in parts))
            elif len(parts) == 1 and parts[0].isalpha():
                out.append(parts[0][:size])
                if size == 2:
                    out.extend(parts[0][0] + c for c in dict.fromkeys(parts[0][1:]) if c not in "aeiou")
        return [c.upper() for c in dict.fromkeys(out) if len(c) == size and c.isalpha()]

    @cached_property
    def unit_runs(self) -> list[list[str]]:
        """The words (one or two, as written) where a unit or a code stands: "Swiss francs" in
        "250 Swiss francs", "British pounds" in "in British pounds"."""
        runs = []
        for start in range(len(self.tokens)):
            if not self._unit_slot(start):
                continue
            run = [w for w in self.tokens[start : start + 2] if w.isalpha() and w.casefold() not in _NO_UNIT_WORDS]
            if run and run[0] == self.tokens[start]:
                runs.append(run)
        return runs

    @cached_property
    def value_phrases(self) -> list[str]:
        """The phrases a code or an enum value may be written out as: the words where a unit
        stands ("Swiss francs", "learn Spanish") and the names ("Switzerland", "Spanish"), each once."""
        names = [n for n in self.names_whole if any(c.isalpha() for c in n)]
        return list(dict.fromkeys([*(" ".join(run) for run in self.unit_runs), *names]))

    @cached_property
    def describing_words(self) -> list[str]:
        """The words that may say an enum value in other words ("a beginner lesson" for
        `novice`): no stop word, no word of a typed value, a name or a date, each once."""
        typed = {i for spans in self.places.values() for start, end in spans for i in range(start, end)}
        names = set(self.name_tokens)
        return list(dict.fromkeys(
            t.casefold() for i, t in enumerate(self.tokens)
            if t.isalpha() and len(t) > 2 and i not in typed and t not in names and t.casefold() not in _NO_UNIT_WORDS | _WHEN_WORDS
        ))

    def after_number(self, start: int) -> bool:
        """Whether the token at `start` follows a number, directly or past one word ("5 km",
        "100 degrees Fahrenheit"): the unit the number is in."""
        numeric = [i for i, t in enumerate(self.tokens) if _NUMBER.fullmatch(t) or _SCALED.fullmatch(t)]
        return (start - 1) in numeric or ((start - 2) in numeric and self.tokens[start - 1].isalpha())

    def _unit_slot(self, start: int) -> bool:
        before = self.tokens[start - 1].casefold() if start > 0 else ""
        return self.after_number(start) or before in _UNIT_CUES

    def strings_for(self, schema: dict[str, Any], kind: str | None = None) -> list[str]:
        """Strings of the text a string parameter could take: by what it holds (`kind`, else its
        format: dates, times, e-mail addresses), by its pattern (or the shape of the code or id
        its description gives as an example), else quoted phrases and word spans."""
        kind = kind or schema.get("format")
        pattern = schema.get("pattern") or (example_shape(schema) if not kind else None)
        if kind == "email":
            pool = list(self.emails)
        elif kind == "phone":
            pool = list(self.phones)
        elif kind == "date":
            pool = list(self.dates)
        elif kind == "time":
            pool = [f"{t}:00" for t in self.times] if schema.get("format") == "time" else list(self.times)
        elif pattern:
            pool = [*self.dates, *self.times, *self.emails, *self.quoted, *self.spans]
        else:
            pool = [*self.quoted, *self.emails, *self.spans]
        if pattern:
            try:
                compiled = re.compile(pattern)
            except re.error:
                return []
            pool = [s for s in pool if compiled.search(s)]
        limit = schema.get("maxLength")
        floor = schema.get("minLength", 0)
        return list(dict.fromkeys(s for s in pool if floor <= len(s) <= (limit if isinstance(limit, int) else 10**6)))

    def runs_into_date(self, phrase: str) -> bool:
        """Whether `phrase`, where the text holds it, runs into a date or a time."""
        for match in re.finditer(re.escape(phrase), self.text):
            if any(s < match.end() and match.start() < e for s, e in self.calendar):
                return True
        return False

    def after_name(self, name: str) -> list[str]:
        """The identifiers and names standing right after a parameter's name written as words:
        "order A-1042" for `order_id`, "tracking number DHL-7731" for `tracking_number`."""
        wanted = [IRREGULAR.get(w, stem(w)) for w in name_words(name)]
        telling = [w for w in wanted if w not in GENERIC_NAME_WORDS] or wanted
        stems = [(terms(t) or [t.casefold()])[0] for t in self.tokens]
        out = []
        for words in (wanted, telling):
            size = len(words)
            for i in range(len(stems) - size):
                value = self.tokens[i + size]
                if stems[i : i + size] == words and value in self.name_tokens and not terms(value) == words[:1]:
                    out.append(value)
        return list(dict.fromkeys(out))

    def where(self, value: Any) -> list[tuple[int, int]]:
        """The token ranges where a value stands: as found (typed values) or as its words."""
        if value in self.places:
            return self.places[value]
        if isinstance(value, float | int) and float(value) in self.places:
            return self.places[float(value)]
        wanted = [w.strip(EDGE).casefold() for w in str(value).split()]
        wanted = [w for w in wanted if w]
        if not wanted:
            return []
        if isinstance(value, str) and not self.says(value) and (runs := self.code_runs(value) or self.abbreviated(value)):
            return runs  # "kilometres" for km; "inches", not the word "in", for in; "Greek" for el
        if len(wanted) == 1 and wanted[0] not in (t.casefold() for t in self.tokens):
            # an enum value named in other words ("living_room" as "living room", "lights" for "light")
            stems = terms(str(value))
            return [(i, i + 1) for i, t in enumerate(self.tokens) if stems and terms(t)[:1] == stems[:1]]
        folded = [t.casefold() for t in self.tokens]
        size = len(wanted)
        return [(i, i + size) for i in range(len(folded) - size + 1) if folded[i : i + size] == wanted]

    def words_saying(self, values: Iterable[str]) -> set[str]:
        """The words (casefolded) where the text says one of `values`, a value written with
        "_" or "-" as words ("warm white" for `warm_white`), one word by its stem where the word
        opens with it ("heating" for `heat`; "new" is not `news`), a code by its name ("degrees
        Celsius" for `C`)."""
        out: set[str] = set()
        for value in values:
            written = re.sub(r"[_-]+", " ", value).strip()
            named = self.code_runs(written)
            for start, end in self.where(written):
                words = [t.casefold() for t in self.tokens[start:end]]
                if " " in written or words[0].startswith(written.casefold()) or (start, end) in named:
                    out.update(words)
        return out

    def anchored(self, values: Sequence[Any], anchors: set[str], side: str) -> list[Any]:
        """The values standing on one `side` ("after", "before") of an anchor word (a parameter's
        own name, "from" for an origin...): "IBAN DE89...", "from Munich", "2 adults"."""
        if not anchors:
            return []
        marks = [i for i, t in enumerate(self.tokens) if _anchor(t, anchors)]
        if not marks:
            return []
        out = []
        for value in values:
            for start, end in self.where(value):
                if any(_near(self.tokens, mark, start, end, side) for mark in marks):
                    out.append(value)
                    break
        return out

    def numbers_for(self, schema: dict[str, Any], unit: str | None = None, *, postal: bool = False) -> list[int | float]:
        """Numbers of the text within the parameter's bounds (whole ones for an integer). For a
        parameter counted in a unit of time (`unit`: "minute" for `duration_minutes`), a number
        given in another ("a 2-hour gap") is converted to it (120); so is one given in another
        unit of length, mass or volume ("1.8 metres" for `height_cm`). A number inside an address
        is the address's ("9 Oak Street" counts nothing), unless the parameter takes a postal code."""
        out: list[int | float] = []
        for value in dict.fromkeys(self.numbers):
            if not postal and self._addressed(value):
                continue
            if unit in SECONDS and (self.measured(value) or any(w.endswith("-old") for w in self.given_with(value))):
                continue  # "37 degrees" is no duration, nor is an age ("my nine-year-old son")
            given = self._time_unit(value) if unit in SECONDS else None
            if given is not None and unit is not None and given != unit:
                value = value * SECONDS[given] / SECONDS[unit]
            elif unit is not None and (counted := unit_of_measure(unit)) is not None:
                if self.in_time(value):
                    continue  # "for 2 hours" is no depth
                # "1.8 metres" for `height_cm`: 180
                said = next((m for word in self.given_with(value) if (m := unit_of_measure(word)) is not None), None)
                if said is not None and said[0] == counted[0]:
                    value = round(value * said[1] / counted[1], 6)
                elif said is None and any(w.isalpha() and w.endswith("s") for w in self.given_with(value)):
                    continue  # "two cats" counts things, no height
            if schema.get("type") == "integer":
                if not value.is_integer():
                    continue
                number: int | float = int(value)
            else:
                number = int(value) if value.is_integer() else value
            if _within(number, schema):
                out.append(number)
        return out

    def _addressed(self, value: float) -> bool:
        """Whether a number stands inside an address the text writes out, wherever it stands."""
        inside = self._address_tokens
        return bool(inside) and all(start in inside for start, _ in self.places.get(value, [(-1, 0)]))

    @cached_property
    def _address_tokens(self) -> frozenset[int]:
        """The tokens of the addresses the text writes out: read once, asked for each number of
        each parameter."""
        return frozenset(i for address in self.addresses for a, b in self.where(address.text) for i in range(a, b))

    def given_with(self, value: float) -> list[str]:
        """The word after a number of the text, wherever it stands ("2-hour": "hour"; "37
        degrees": "degrees"; "$40": "$"): its unit, or what it counts."""
        out = []
        for start, end in self.places.get(value, []):
            token = self.tokens[start].casefold()
            word = token.split("-", 1)[1] if "-" in token else self.tokens[end].casefold() if end < len(self.tokens) else ""
            out.append("$" if token[:1] in _CURRENCY_SIGNS else word.strip(EDGE))
        return out

    def _time_unit(self, value: float) -> str | None:
        """The unit of time a number of the text is given in: "2-hour", "90 minutes"."""
        return next((unit for word in self.given_with(value) if (unit := time_unit(word)) is not None), None)

    @cached_property
    def durations(self) -> list[float]:
        """The lengths of time the text gives, in seconds: "half an hour" 1800, "90 seconds" 90."""
        return [value * SECONDS[unit] for value in dict.fromkeys(self.numbers) if (unit := self._time_unit(value)) is not None]

    def in_time(self, value: float) -> bool:
        """Whether a number of the text is given in a unit of time ("for 2 hours")."""
        return self._time_unit(value) is not None

    def measured(self, value: float) -> bool:
        """Whether a number of the text is given in a unit of something other than time, every
        place it stands ("37 degrees", "6 kg", "$40", "68 °F")."""
        given = self.given_with(value)
        return bool(given) and all(_a_measure(w) or w[:1] == "°" for w in given)

    def count(self, kind: str) -> int:
        """How many values of a kind ("date", "time", "email", "phone", "number", "id") the text holds."""
        found: dict[str, Sequence[object]] = {
            "date": self.dates, "time": self.times, "email": self.emails, "phone": self.phones, "number": self.numbers, "id": self.identifiers
        }
        return len(found[kind])

    def typed_matches(self, tool: ToolSchema, rivals: Iterable[str] = ()) -> int:
        """How many of the tool's pattern- or format-constrained parameters find a value here,
        how many of its string parameters a value stands after the name of ("order A-1042"),
        whether a clock time fills its hour and minute, and how many of its enum values the text
        abbreviates: evidence that the request is meant for it even when it shares no word with
        it."""
        count = 0
        codes: set[str] = set()
        for node in leaves(tool.parameters):
            if node.get("type") == "string" and (node.get("pattern") or node.get("format")) and self.strings_for(node):
                count += 1
            codes.update(v for v in self.named(node.get("enum", []), rivals) if not self.says(v))
        # a postal code inside an address written whole is the address's
        unaddressed = [t for t in self.tokens if not any(t in a.text for a in self.addresses)]
        for name, node in (tool.parameters.get("properties") or {}).items():
            if not isinstance(node, dict) or node.get("type") != "string" or "enum" in node or node.get("pattern") or node.get("format"):
                continue
            if self.after_name(name) or (example_shape(node) and self.strings_for(node)):
                count += 1  # "order A-1042" for order_id; an id shaped like the example
            elif example_code(node) and self.named(example_codes(tool.parameters), rivals, by_names=False):
                count += 1  # "euros" for a currency code whose example is EUR (CLDR's names: support._codes_named)
            elif postal_codes(name, unaddressed):
                count += 1  # "60614" for a `zip`, whatever language describes the tool
            elif example_shape(node) and name in (tool.parameters.get("required") or []) and self.identifiers:
                count -= 1  # the request's id is not of the shape this tool takes ("A-1042" for a tracking number)
        clocked = False
        for name in tool.parameters.get("required") or []:
            needed = (tool.parameters.get("properties") or {}).get(name)
            if isinstance(needed, dict) and self.times and clock_part(name, needed) is not None:
                clocked = True  # "at 6:45" for `hh` and `mm`
            elif isinstance(needed, dict) and needed.get("type") in ("integer", "number") and "enum" not in needed and not self.numbers_for(needed):
                count -= 1  # a number it needs and the request does not give ("anything on 2026-12-09?" for a duration)
        count += clocked
        # each code the text names in its long form ("kilometres" for km): its words meet none
        # of the tool's, yet they say which tool it is
        return count + len(codes)

    def in_written_layout(self, description: str) -> bool:
        """Whether the text holds a date or a time where a description writes out its layout
        ("YYYY-MM-DD", "MM/DD/YYYY", "HH:MM")."""
        return bool((self.dates and _DATE_LAYOUT_WORD.search(description)) or (self.times and _TIME_LAYOUT_WORD.search(description)))

    # --- parts of a request ------------------------------------------------------------------

    @cached_property
    def parts(self) -> list[Evidence]:
        """The coordinated parts of the text ("A and B", "A, B and C", "A; then B"): each may be
        a call of its own. A text with no coordination is one part."""
        pieces = [p for p in _pieces(self.text) if not self._states_today(p)]  # "...; today is 2026-03-12": no part
        if len(pieces) < 2:
            return [self]
        # a part that also says what day it is ("...; my dog sheds. Today is 2026-07-09.") gives
        # that day no more than the whole does: it is the reference of the others
        said = self.text[slice(*self.statement_of_today)]
        pieces = [" ".join(p.replace(said, " ").split()) if said.strip() else p for p in pieces]
        parts = [Evidence.of(p, today=self.today) for p in pieces]
        for part in parts[1:]:
            part.opens = False
        return parts

    @property
    def stated_today(self) -> Date | None:
        """The day the text says is today ("Please act like the current date is 2024/02/21"),
        or None where it says none."""
        return self.today if self.statement_of_today[1] else None

    def _states_today(self, piece: str) -> bool:
        """Whether a piece of the text only says what day it is ("given that today is
        2026-07-01")."""
        start, end = self.statement_of_today
        said = self.text[start:end].strip(EDGE + " ").casefold()
        piece = piece.strip(EDGE + " ").casefold()
        return bool(said) and said in piece and len(piece.replace(said, " ").split()) <= 3

    def asks_why(self) -> bool:
        """Whether the text asks for a reason ("Why do concert tickets cost so much?", "How come
        ..."): no tool returns one, whatever words of a tool's it uses."""
        return bool(re.match(r"\W*(?:why|how come)\b", self.text, re.IGNORECASE))

    def asks_about_the_world(self) -> bool:
        """Whether the text is a question about the world rather than a request to act on
        something: it opens with a question word (not "can you ...", a polite request) and names
        nothing of the user's ("my") and nothing specific (no date, number, address, quoted
        phrase or capitalised name); or asks the same in the imperative ("Explain how tides
        work", "Tell me about volcanoes").
        "Why do rainbows appear after a storm?" is; "Will it rain in Dublin?" and "How much do
        I owe on my credit card?" are not."""
        words = [t.casefold() for t in self.tokens if t]
        asks = bool(words) and (words[0] in _QUESTION_WORDS or bool(_EXPLAIN.match(self.text)))
        written = [d for d in self.dates if d not in self.told]  # "Why is it cold today?" names no day of its own
        specific = bool(written or self.times or self.emails or self.phones or self.identifiers)
        if asks and _ADVICE.search(self.text) and not specific:
            # advice or a comparison, even of the user's own things: "What is a good way to sort my
            # notes?", "How many rolls should I buy for 12 guests?", "the difference between X and Y"
            return True
        if not asks or any(w in ("my", "our", "mine", "ours") for w in words):
            return False
        if words[0] in ("can", "could", "would", "will") and words[1:2] in (["you"], ["u"]):
            return False  # "Could you stop the dryer?" asks to act
        if words[0] in ("do", "does") and words[1:2] in (["you"], ["u"]) and words[2:3] and words[2] not in _OPINION_VERBS:
            return False  # "Do you sell frozen peas?" asks of the service, "Do you think ..." for an opinion
        if (set(words) & _IN_GENERAL or words[0] == "why" or _of_people_in_general(words)) and not specific:
            # "How much is a typical parking fine in Chicago?" asks what holds anywhere, names or
            # not; "Why do some hotels skip the 13th floor?" asks for a reason, which no tool returns
            return True
        if self.dates or self.times or self.numbers or self.emails or self.phones or self.quoted:
            return False  # "Do I have any meetings the day after tomorrow?" asks of a day
        if any(WEB_ADDRESS.search(t) for t in self.tokens):
            return False  # "What is on example.org/news?" asks of one page
        return not self.name_tokens

    @cached_property
    def addresses(self) -> list[Address]:
        """The postal addresses the text writes out, with their parts."""
        return find_addresses(self.text)

    @cached_property
    def tells_when(self) -> bool:
        """Whether the text says anything of when: a date, a time, a number (a day, an hour),
        or a word of the calendar or the clock ("tomorrow", "Friday", "in March", "tonight")."""
        if self.dates or self.times or self.numbers:
            return True
        return any(t.casefold() in _WHEN_WORDS for t in self.tokens)

    @cached_property
    def name_tokens(self) -> list[str]:
        """Identifiers and capitalised words (past the first word of each sentence, which any
        word may open): the words that name a thing."""
        bounds = [m.span() for m in re.finditer(r"\S+", self.text)]
        raw = [self.text[a:b] for a, b in bounds]
        openers = {i for i in range(1, len(raw)) if _ENDS_SENTENCE.search(raw[i - 1])} | ({0} if self.opens else set())
        # "Jonah needs ...": a word the verb after it agrees with is the sentence's subject, a name
        openers -= {
            i for i in openers
            if i + 1 < len(raw) and _NAME_THEN_VERB.fullmatch(raw[i + 1]) and re.fullmatch(_NAME_WORD, raw[i])
            and raw[i].casefold() not in _NO_EDGE | _QUESTION_WORDS | _WHEN_WORDS
        }
        # a word inside a date or a time is that value's, not a name ("7th" of "the 7th of March")
        inner = [(a + len(w) - len(w.lstrip(EDGE)), b - len(w) + len(w.rstrip(EDGE))) for (a, b), w in zip(bounds, raw, strict=True)]
        dated = {i for i, (a, b) in enumerate(inner) if any(s <= a and b <= e for s, e in self.calendar)}
        return [
            t for i, t in enumerate(self.tokens)
            if t and i not in dated and t.split("'")[0] != "I" and t.casefold() not in _CALENDAR_WORDS
            and (any(c.isdigit() for c in t) or (i not in openers and t[:1].isupper()) or _ACRONYM.fullmatch(t))
        ]  # "I" names no thing

    @cached_property
    def places_named(self) -> list[str]:
        """The names the text puts after "in", "at", "near" or "around" ("in Lima", "at the
        Prado"): where something is, what a place parameter takes."""
        named = set(self.name_tokens)
        return [m[1] for m in _LOCATIVE.finditer(self.text) if m[1] in named]

    @cached_property
    def names_whole(self) -> list[str]:
        """The name tokens, each run of capitalised words written together kept whole: "Quentin
        Tarantino" is one value, not two."""
        names = set(self.name_tokens)
        whole: list[str] = []
        for match in _CAPITALISED_RUN.finditer(self.text):
            words = match[0].split(" ")
            if len(words) == 2 and _OPENS_A_SUBJECT.match(self.text, match.end()) and words[0] != "I" and words[0].casefold() not in _CALENDAR_WORDS:
                names.add(words[0])  # "Marcus Bell wants ...": a first and last name the sentence opens with is its subject
            while words and words[0] not in names:
                words = words[1:]  # "Can Lawrence ...": the sentence's first word names no thing
            if len(words) > 1 and all(w in names for w in words):
                whole.append(" ".join(words))
        inside = {w for run in whole for w in run.split(" ")}
        return whole + [t for t in self.name_tokens if t not in inside]

    @cached_property
    def identifiers(self) -> list[str]:
        """Tokens of letters and digits together: ids, codes ("A-1042", "Q3")."""
        return [t for t in self.tokens if any(c.isdigit() for c in t) and any(c.isalpha() for c in t)]

    def names(self) -> list[str]:
        """Quoted phrases, then the words that name a thing."""
        return [*self.quoted, *self.name_tokens]

    def values(self, tools: Sequence[ToolSchema]) -> list[str]:
        """What a call could take from this text: typed values, quoted phrases, capitalised names
        and identifiers, the tools' enum values it names and the codes it names that they take."""
        # a day told relative to today ("went out today") is a value only where a tool takes a day
        days = [d for d in self.dates if d not in self.relative or any(_takes_a_day(tool.parameters) for tool in tools)]
        found = [*days, *self.times, *self.emails, *self.phones, *self.quoted]
        found += [number_text(n) for n in self.numbers]
        inside_quotes = " ".join(self.quoted).lower()
        for word in self.names_whole:
            if _COMPOUND.fullmatch(word):
                continue  # "2-day": its number is the value
            if word.lower() not in inside_quotes and not any(word in v for v in found):
                found.append(word)
        enums = [v for tool in tools for node in leaves(tool.parameters) for v in node.get("enum", []) if isinstance(v, str)]
        found.extend(self.named(enums, enums))
        # the currencies, languages, countries the tools take, named by their names ("euros")
        systems = {system for tool in tools for system in code_systems(tool.parameters).values()}
        found.extend(code for system in systems for code in self.codes_named(system))
        return list(dict.fromkeys(found))

    def served_by(self, arguments: Sequence[dict[str, Any]], tools: Sequence[ToolSchema]) -> bool:
        """Whether the given calls' arguments already hold every value of this text (the part
        was an item of an array, or a detail of the same call)."""
        written = " ".join(json.dumps(a, ensure_ascii=False) for a in arguments).casefold()
        numbers = {float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", written)}
        for value in self.values(tools):
            try:
                if float(value) in numbers:
                    continue
            except ValueError:
                pass
            if value.casefold() not in written:
                return False
        return True


def _takes_a_day(schema: dict[str, Any]) -> bool:
    """Whether an object schema has a parameter for a day: by its name ("date", "day",
    "check_in_date"), its format, or a layout its description writes."""
    for name, node in (schema.get("properties") or {}).items():
        if not isinstance(node, dict):
            continue
        words = set(name_words(name)) | set(terms(str(node.get("description", ""))))
        if words & {"date", "day", "dates", "days"} or str(node.get("format", "")).startswith("date") or _DATE_LAYOUT_WORD.search(str(node.get("description", ""))):
            return True
        if _takes_a_day(node) or (isinstance(node.get("items"), dict) and _takes_a_day(node["items"])):
            return True
    return False


def number_text(value: float) -> str:
    """A number as a request writes it: 200, not 200.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


GENERIC_NAME_WORDS = frozenset({"id", "type", "max", "min", "only", "is", "include", "value", "name", "number", "num", "new"})
"""Words of parameter names that say little of what the parameter is ("order_id": "order")."""


def code_systems(parameters: dict[str, Any]) -> dict[str, System]:
    """The parameters of an object schema that take a currency, a language or a country, and which."""
    properties = parameters.get("properties") or {}
    return {
        name: taking.system
        for name, node in properties.items()
        if isinstance(node, dict) and (taking := code_parameter(name, node)) is not None
    }


def example_code(schema: dict[str, Any]) -> str | None:
    """The code a parameter's description gives as an example, when it is a code of capitals
    ("e.g. USD"): a value the parameter takes, which a request may write in full ("US dollars")."""
    shape = example_shape(schema)
    return example_of(schema) if shape and re.fullmatch(r"\^(\[A-Z\]\{\d+\})+\$", shape) else None


def example_codes(schema: dict[str, Any]) -> list[str]:
    """Every example code of an object schema's parameters."""
    return list(dict.fromkeys(code for node in leaves(schema) if (code := example_code(node))))


def example_shape(schema: dict[str, Any]) -> str | None:
    """A pattern for a parameter from the code or id its description gives as an example:
    "e.g. USD" -> three capitals, "e.g. DHL-7731" -> three capitals, a dash, digits; several
    examples ("e.g. 12 or M2") -> any of their shapes. A plain word ("e.g. Paris") gives none: a
    name has no shape. Digits may run longer or shorter than the example's ("e.g. LH400" fits
    AF22)."""
    if schema.get("type") != "string" or "enum" in schema:
        return None
    shapes = [shape for text in examples_of(schema) if (shape := _shape_of(text))]
    if not shapes or not _shape_of(str(example_of(schema))):
        return None
    return f"^{shapes[0]}$" if len(shapes) == 1 else f"^(?:{'|'.join(dict.fromkeys(shapes))})$"


def _shape_of(example: str) -> str | None:
    """The pattern of one example code or id; None for a plain word."""
    if not (any(c.isdigit() for c in example) or (example.isupper() and len(example) > 1)) or len(example) > 24:
        return None
    shape = ""
    for run in re.finditer(r"[A-Z]+|[a-z]+|[0-9]+|.", example):
        piece = run.group(0)
        cls = "[A-Z]" if piece.isupper() else "[a-z]" if piece.islower() else "[0-9]" if piece.isdigit() else None
        # letters as many as the example's; digits any number ("e.g. LH400" fits AF22); a space
        # between letters and digits may be left out ("e.g. LH 400" fits LH400)
        shape += ("[0-9]+" if cls == "[0-9]" else f"{cls}{{{len(piece)}}}") if cls else " ?" if piece == " " else re.escape(piece)
    return shape


_QUALIFIED = re.compile(r"\b([A-Z][\w.'-]*(?: [A-Z][\w.'-]*)*), ([A-Z][A-Za-z]*)\b")
_PLACEHOLDERS = frozenset({"state", "country", "province", "region", "code", "abbr", "abbreviation"})


CODE_QUALIFIER = "[A-Z]{2,3}"
"""A qualifier written as a code ("CA", "USA"): one after a name needs no comma to be one."""


def qualifier_shape(schema: dict[str, Any]) -> str | None:
    """A pattern for what a parameter's examples write after a name and a comma: "such as
    'Berkeley, CA' or 'New York, NY'" -> two or three capitals; "'London, UK' or 'Paris,
    France'" -> a capitalised word. A format's placeholders ("in the format of 'City, State'")
    are no example. None when the description gives no such example."""
    if schema.get("type") != "string" or "enum" in schema:
        return None
    tails = [m[2] for m in _QUALIFIED.finditer(str(schema.get("description", ""))) if m[2].casefold() not in _PLACEHOLDERS]
    if not tails:
        return None
    return CODE_QUALIFIER if all(t.isupper() and 2 <= len(t) <= 3 for t in tails) else "[A-Z][A-Za-z]+"


def regex_literal(text: str) -> str:
    """`text` as a regex matching itself, in the syntax every engine's grammar takes (no escaped space)."""
    return "".join(f"\\{c}" if c in _REGEX_META else c for c in text)


_REGEX_META = frozenset("\\.^$|?*+()[]{}")


SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800, "fortnight": 1209600}
"""Units of time, in seconds."""
_TIME_WORDS = {"sec": "second", "secs": "second", "min": "minute", "mins": "minute", "hr": "hour", "hrs": "hour", "night": "day", "nights": "day"}


_CURRENCY_SIGNS = frozenset("$€£¥₩")
_OTHER_MEASURES = frozenset("$ % percent degree degrees celsius fahrenheit gallon gallons kwh dollars dollar euros euro usd eur gbp".split())


def _a_measure(word: str) -> bool:
    """Whether a word is a unit of a quantity that is no time (a length, a mass, a volume, a
    temperature, money, a share): a number given in one is no duration."""
    return word in _OTHER_MEASURES or unit_of_measure(word) is not None


def clock_part(name: str, node: dict[str, Any]) -> int | None:
    """Which part of a clock time an integer parameter takes: `hh` or "hour, 0-23" its hour (0),
    `mm` or "minute" its minute (1); None for any other, a duration among them ("minutes",
    `duration_hours`)."""
    if node.get("type") != "integer":
        return None
    said = {*name_words(name), *name_words(str(node.get("description", "")))}
    parts = {_CLOCK_PARTS[w] for w in said if w in _CLOCK_PARTS}
    return parts.pop() if len(parts) == 1 and not said & _DURATION_WORDS else None


_CLOCK_PARTS = {"hh": 0, "hour": 0, "hr": 0, "mm": 1, "minute": 1}
"""Words of an hour or a minute parameter ("min" is a minimum as often: `min_age`)."""
_DURATION_WORDS = frozenset({"hours", "hrs", "minutes", "mins", "duration", "length", "interval", "long", "lasting", "for", "per"})


def duration_layout(name: str, node: dict[str, Any]) -> str | None:
    """How a string parameter writes a length of time, by its description: "HH:MM:SS", "MM:SS"
    or "HH:MM" for a duration ("length of the countdown as HH:MM:SS"); None for a clock time
    ("start time, HH:MM") or any other."""
    description = str(node.get("description", ""))
    layout = _DURATION_LAYOUT.search(description)
    if node.get("type") != "string" or layout is None or not {*name_words(name), *name_words(description)} & _LENGTH_WORDS:
        return None
    return layout[0].upper()


_DURATION_LAYOUT = re.compile(r"\b(?:HH:MM:SS|MM:SS|HH:MM)\b", re.IGNORECASE)
_LENGTH_WORDS = frozenset({"duration", "length", "long", "countdown", "elapsed", "interval", "period"})


def in_duration_layout(seconds: float, layout: str) -> str | None:
    """A length of time as `layout` writes it: 1800 s as "00:30:00" (HH:MM:SS) or "30:00" (MM:SS);
    None where the layout cannot hold it (90 s in HH:MM)."""
    if not float(seconds).is_integer():
        return None
    total = int(seconds)
    if layout == "MM:SS":
        return f"{total // 60:02d}:{total % 60:02d}"
    hours, rest = divmod(total, 3600)
    if layout == "HH:MM":
        return f"{hours:02d}:{rest // 60:02d}" if rest % 60 == 0 else None
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def described_numbers(node: dict[str, Any]) -> dict[float, str]:
    """The numbers a description gives words for: "1 = easy, 2 = moderate, 3 = hard" ->
    {1: "easy", 2: "moderate", 3: "hard"}; empty unless it gives two or more."""
    description = str(node.get("description", ""))
    pairs = {float(m[1]): m[2].strip() for m in _DESCRIBED.finditer(description)}
    if len(pairs) < 2 and (scale := _SCALE.search(description)) and stem(scale[2].casefold()) != stem(scale[4].casefold()):
        # a scale named at its ends: "1 cheap to 4 expensive", "from 1 (calm) to 5 (stormy)"
        pairs = {float(scale[1]): scale[2], float(scale[3]): scale[4]}
    return pairs if len(pairs) >= 2 else {}


_DESCRIBED = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:=|:|-|means|for)\s*([A-Za-z][A-Za-z ]{0,30}?)\s*(?=[,;.)]|\band\b|\bor\b|$)")
_SCALE = re.compile(r"(?<![\w.])(\d+)\s*\(?([A-Za-z]{3,})\)?\s*(?:to|-|–)\s*(\d+)\s*\(?([A-Za-z]{3,})\b")


def described_values(node: dict[str, Any]) -> dict[str, str]:
    """The words a description gives each value of a string enum: "floor: standing in front of
    the stage; lower: seats in the first tier" -> {"floor": "standing in front of the stage",
    "lower": "seats in the first tier"}; empty unless it gives two or more."""
    description = str(node.get("description", ""))
    values = [v for v in node.get("enum") or [] if isinstance(v, str) and v.strip()]
    marks = sorted((m.start(), m.end(), v) for v in values for m in re.finditer(rf"(?<![\w-]){re.escape(v)}\s*(?:[:=(：（]|[-–—]\s)\s*", description, re.IGNORECASE))
    glosses: dict[str, str] = {}
    for (_, end, value), following in zip(marks, [*marks[1:], None], strict=False):
        gloss = description[end : following[0] if following else len(description)]
        glosses.setdefault(value, re.split(r"[;\n]", gloss)[0].strip(" ,.;)）、"))
    return glosses if len(glosses) >= 2 else {}


def time_unit(word: str) -> str | None:
    """The unit of time a word names: "hours", "hour", "hrs" -> "hour"."""
    word = word.casefold().strip(EDGE)
    word = _TIME_WORDS.get(word, word[:-1] if word.endswith("s") and word[:-1] in SECONDS else word)
    return word if word in SECONDS else None


_PRONOUNS = frozenset({"it", "its", "them", "their", "they", "this", "that", "these", "those", "some", "all"})
_NO_UNIT_WORDS = STOP_WORDS | _PRONOUNS
MAX_CODE = 4
"""The longest code `Evidence.abbreviated` reads from its long form."""
_UNIT_CUES = frozenset({"to", "in", "into", "as", "many", "much"})
"""Words a unit follows: "to miles", "in Celsius", "how many pounds"."""


def _abbreviates(code: str, words: list[str]) -> bool:
    """Whether `code` is made of letters of `words` in order, each word giving its first
    letter and maybe more of its letters: "km" of ["kilometres"], "usd" of ["us", "dollars"]."""
    if not words:
        return not code
    word = words[0]
    if not code or code[0] != word[0]:
        return False
    for taken in range(1, len(code) + 1):
        if _subsequence(code[1:taken], word[1:]) and _abbreviates(code[taken:], words[1:]):
            return True
    return False


def _compact(text: str) -> str:
    """A word or phrase by its letters and digits alone, its plural ending off."""
    return stem(re.sub(r"[\W_]+", "", text.casefold()))


def _rank(code: str, words: list[str]) -> tuple[int, int, int]:
    """How well `code` abbreviates `words`, to compare codes: the letters it shares with their
    start, its length, and how early its letters come (by the earliest reading)."""
    joined = "".join(words)
    prefix = next((i for i, (a, b) in enumerate(zip(code, joined, strict=False)) if a != b), min(len(code), len(joined)))
    at, spent = 0, 0
    for letter in code:
        at = joined.find(letter, at)
        spent += at
        at += 1
    return prefix, len(code), -spent


def _subsequence(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(letter in rest for letter in letters)


_OPINION_VERBS = frozenset({"know", "think", "believe", "reckon", "remember", "like", "mean", "understand", "agree", "prefer", "recommend", "suggest"})
"""Verbs after "Do you" that ask for the assistant's knowledge or opinion, not the service's
goods ("Do you know why ...", "Do you think I should ...")."""
_QUESTION_WORDS = frozenset(
    "what what's whats why how who whom which when where is are does do did can should could would will".split()
)
WEB_ADDRESS = re.compile(r"[a-z][\w+.-]*://\S+|(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?(?:/\S*)?|\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?|localhost", re.IGNORECASE)
"""A web address: a URL, a domain (with a port and a path), an IP address."""
_ADVICE = re.compile(
    r"\b(?:(?:the\s+)?differences?\s+between|(?:a|the)\s+(?:good|best|better|right|proper)\s+(?:way|method|idea|time)s?\s+to"
    r"|how\s+(?:many|much|long|often|far)\b.*\bshould\s+(?:i|we)\b|tips?\s+(?:for|on)\b)",
    re.IGNORECASE,
)
"""A question asking for advice or a comparison, which no tool returns: "the difference between",
"a good way to", "how many ... should I"."""
_IN_GENERAL = frozenset({"typical", "typically", "usually", "usual", "generally", "normally", "average"})
"""Words by which a question asks what holds in general, not of one thing."""
_PEOPLE_IN_GENERAL = frozenset({"people", "anyone", "anybody", "everyone", "everybody", "folks", "most", "tourists", "locals"})
"""Subjects by which a question asks what people do in general ("Do people tip ...")."""
_AUXILIARIES = frozenset("do does did is are was were can should would will".split())


def _of_people_in_general(words: list[str]) -> bool:
    """Whether a question's subject is people in general: "Do people tip cab drivers in Lisbon?",
    "How do locals get around Venice?"; not "How many people are booked?"."""
    subject = 1 if words[0] in _AUXILIARIES else 2 if words[1:2] and words[1] in _AUXILIARIES else None
    return subject is not None and len(words) > subject and words[subject] in _PEOPLE_IN_GENERAL


_EXPLAIN = re.compile(r"\s*(?:please\s+)?(?:explain|describe|teach me|tell me (?:about|why|how|what))\b", re.IGNORECASE)
"""A question about the world asked in the imperative."""
_FILLER = STOP_WORDS | {"is", "are", "of", "at", "a", "an", "the", ":", "=", "-", "%", "percent", "per", "cent", "number", "no", "id", "#"}
"""Words that may stand between a parameter's name and its value ("volume of 25", "version number 5")."""
_JOINING = frozenset({"and", "or", "but", "then", "&"})
"""Words that join two things: what follows is no value of the name before ("the Jubilee Square dock and keep it")."""


def _anchor(token: str, anchors: set[str]) -> bool:
    word = token.casefold()
    if word in anchors:
        return True
    if any(c.isdigit() for c in word):
        return False  # "PO-88213" is a value (of `po`), not the parameter's name
    stems = terms(token)
    return bool(stems) and (stems[0] in anchors or IRREGULAR.get(word, "") in anchors)


def _near(tokens: list[str], mark: int, start: int, end: int, side: str) -> bool:
    """Whether a value at tokens[start:end] follows the anchor at `mark` with at most one
    filler word between ("IBAN DE89...", "volume of 25"), or directly precedes it ("2 adults")."""
    if side == "after" and start > mark:
        gap = tokens[mark + 1 : start]
        return len(gap) <= 1 and all(not g or (g.casefold() in _FILLER and g.casefold() not in _JOINING) for g in gap)
    if side == "before" and end <= mark:
        return all(not g for g in tokens[end:mark])
    return False


def _month(name: str) -> int:
    name = name.lower().rstrip(".")
    return _MONTHS.get(name, _MONTHS.get(name[:3], 0))


def _valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31 and 1000 <= year <= 9999


def _iso(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


_DATE_FIELDS = {"YYYY": "Y", "AAAA": "Y", "JJJJ": "Y", "MM": "M", "DD": "D", "JJ": "D", "TT": "D"}
"""A date layout's fields, in English and as French, Spanish, Portuguese and German write them
("AAAA-MM-DD", "JJ/MM/AAAA", "TT.MM.JJJJ")."""
_DATE_FIELD = "|".join(sorted(_DATE_FIELDS, key=len, reverse=True))
_DATE_LAYOUT_WORD = re.compile(r"\b(?:YYYY|AAAA|JJJJ)\b", re.IGNORECASE)
_TIME_LAYOUT_WORD = re.compile(r"\bHH:MM\b", re.IGNORECASE)
_DATE_LAYOUT = re.compile(rf"\b({_DATE_FIELD})([/.-])({_DATE_FIELD})\2({_DATE_FIELD})\b", re.IGNORECASE)
_DATE_EXAMPLE = re.compile(r"\b(\d{2})([/.-])(\d{2})\2(\d{4})\b")


def date_layout(node: dict[str, Any]) -> tuple[str, str] | None:
    """The order of a date's fields ("MDY", "DMY", "YMD") and their separator that a
    parameter's description asks for ("in the format 'MM/DD/YYYY'", or an example such as
    '25/04/2023' whose day tells which comes first); None for ISO dates or when it says none."""
    text = str(node.get("description", ""))
    if found := _DATE_LAYOUT.search(text):
        order = "".join(_DATE_FIELDS[found[i].upper()] for i in (1, 3, 4))
        layout = (order, found[2])
    elif (example := _DATE_EXAMPLE.search(text)) and (int(example[1]) > 12) != (int(example[3]) > 12):
        layout = ("DMY" if int(example[1]) > 12 else "MDY", example[2])
    else:
        return None
    return None if layout == ("YMD", "-") or sorted(layout[0]) != ["D", "M", "Y"] else layout


_DATETIME_EXAMPLE = re.compile(r"\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})?")
_DATETIME_LAYOUT = re.compile(r"YYYY-MM-DD([T ])HH:MM(:SS)?(Z)?", re.IGNORECASE)
_LAID_OUT_DATETIME = re.compile(r"\b(?:MM|DD|YYYY)([/.-])(?:MM|DD|YYYY)\1(?:MM|DD|YYYY)([T ])HH:MM(:SS)?", re.IGNORECASE)


class DatetimeLayout(NamedTuple):
    """How one string writes a date and a time: "2023-04-15T13:45:00Z", "15/04/2023 13:45"."""

    sep: str
    seconds: bool
    zone: str
    date: tuple[str, str] | None = None
    """The date's own layout (`date_layout`) where it is not ISO."""

    def day(self, iso_date: str) -> str:
        return in_layout(iso_date, self.date) if self.date else iso_date

    def write(self, iso_date: str, time: str) -> str:
        return f"{self.day(iso_date)}{self.sep}{time}{':00' if self.seconds else ''}{self.zone}"


def datetime_layout(node: dict[str, Any]) -> DatetimeLayout | None:
    """How a parameter that takes a date and a time in one string writes them, by its format
    (`date-time`) or its description's layout or example ('YYYY-MM-DD HH:MM:SS',
    '2023-04-15T13:45:00Z', 'dd/mm/yyyy HH:MM')."""
    text = str(node.get("description", ""))
    if found := _DATETIME_EXAMPLE.search(text) or _DATETIME_LAYOUT.search(text):
        return DatetimeLayout(found[1].upper(), bool(found[2]), found[3] or "")
    if found := _LAID_OUT_DATETIME.search(text):
        return DatetimeLayout(found[2].upper(), bool(found[3]), "", date_layout(node))
    return DatetimeLayout("T", True, "Z") if node.get("format") == "date-time" else None


def in_layout(iso: str, layout: tuple[str, str]) -> str:
    """An ISO date ("2023-04-23") written in `layout` (("MDY", "/"): "04/23/2023")."""
    year, month, day = iso.split("-")
    return layout[1].join({"Y": year, "M": month, "D": day}[field] for field in layout[0])


def _within(number: float, schema: dict[str, Any]) -> bool:
    if "minimum" in schema and number < schema["minimum"]:
        return False
    if "maximum" in schema and number > schema["maximum"]:
        return False
    if "exclusiveMinimum" in schema and number <= schema["exclusiveMinimum"]:
        return False
    return not ("exclusiveMaximum" in schema and number >= schema["exclusiveMaximum"])


_CODE_TAIL = re.compile(r":\s+(\S.*?)\s*$", re.DOTALL)
"""What follows a colon at the end of a request: code to run, when it looks like code."""
_RANGE = re.compile(r"\b(between\s+\S+(?:\s+\S+)?)\s+and\s+", re.IGNORECASE)
_APPOSITION = re.compile(r"(\b[A-Z][^\s,]*),(\s+)(?=[A-Z])")
_ENDS_SENTENCE = re.compile(r"(?:[?!]|(?<![A-Z])(?<![A-Z][a-z])(?<![A-Z][a-z]{2})\.)[\"')\]]*$")
"""A word that ends a sentence: "done." or "Really?", not "Dr." or "St." (a capitalised
abbreviation of up to three letters)."""
_LOCATIVE = re.compile(r"\b(?:in|at|near|around)\s+(?:the\s+)?([A-ZÀ-Þ][\w'-]*)")
_NAME_WORD = r"[A-Z][^\W\d_]*(?:-[A-Z][^\W\d_]*)*(?:'[^\W\d_]+)?"
"""A capitalised word of a name: "Zalamea", "Christina-Ann", "O'Neil"."""
_CAPITALISED_RUN = re.compile(rf"{_NAME_WORD}(?: {_NAME_WORD})+")
_OPENS_A_SUBJECT = re.compile(r" (?:is|was|has|had|will|would|can|could|should|must|may|might|does|did|wants|needs)\b")
"""What follows a name that is the sentence's subject: an auxiliary or a verb of wishing that
agrees with it ("Marcus Bell wants", "Ada Lim has"); a plural noun does not ("Play Taylor Swift
songs")."""
_ACRONYM = re.compile(r"(?!OK\b)[A-Z]{2,}")
"""A word of capitals only, a code or an acronym ("USD", "NASA"): a name even where it opens a
sentence ("USD to KRW rate, please.")."""
_NAME_THEN_VERB = re.compile(r"(?:wants|needs|has|would|will|can|could|should|must)")
"""A verb after a sentence's first word that makes it a subject that may be a name ("Jonah
needs", "Mochi has"): not "is", which follows any noun ("Rent is due")."""
_LIST_CLOSE = re.compile(r"\b(?:and|or)\b", re.IGNORECASE)


def _pieces(text: str) -> list[str]:
    """The text cut at its coordinations; a quoted phrase ('Level 3, spot 118'), a range
    ("between 2024-11-01 and 2024-12-31"), a half ("an hour and a half"), a number in words
    ("a hundred and fifty"), a postal address
    ("221B Baker Street, Berkeley, CA, USA") and brackets ("range(1, 11)") are not cut."""

    def hide(phrase: str) -> str:
        return phrase.replace(",", "\x00").replace(" ", "\x01")

    def shield(match: re.Match[str]) -> str:
        return hide(match.group(0))

    def apposed(match: re.Match[str]) -> str:
        # a comma between two names with no "and" or "or" after it in its sentence: the second
        # says more of the first ("Naples, Florida", "Austin, TX, on Monday"), where a list
        # closes with one ("Paris, Rome and Oslo")
        rest = match.string[match.end() :]
        sentence = re.split(r"[.?!;]", rest, maxsplit=1)[0]
        return match.group(0) if _LIST_CLOSE.search(sentence) else f"{match[1]}\x00{match[2].replace(' ', chr(1))}"

    shielded = _APPOSITION.sub(apposed, _AND_A_HALF.sub(shield, _RANGE.sub(shield, _QUOTED.sub(shield, text))))
    for address in find_addresses(text):
        shielded = shielded.replace(address.text, hide(address.text))
    for number in spelled_numbers(text):
        if " and " in (said := text[number.start : number.end]):  # "a hundred and fifty" is one number
            shielded = shielded.replace(said, hide(said))
    depth, chars = 0, []
    for char in shielded:
        depth = depth + 1 if char in "([{" else max(0, depth - 1) if char in ")]}" else depth
        chars.append(("\x00" if char == "," else "\x01" if char == " " else char) if depth else char)
    shielded = "".join(chars)
    return [p.replace("\x00", ",").replace("\x01", " ") for p in _SPLIT.split(shielded) if p and p.strip(EDGE + " ")]


_LABEL_COLON = re.compile(r"(?<=[^\W\d]):\s+")
"""The colon after a word ("Sender: Min-seo Kim"), not inside a time or a ratio."""


def _spans(text: str, quoted: Iterable[str]) -> list[str]:
    """Runs of up to `MAX_SPAN_WORDS` words within each coordinated piece of the text ("BA117"
    and "AF22", not "BA117 and AF22") and none past a label's colon, edge punctuation trimmed,
    longest first, none cutting into a quotation; plus each quoted phrase whole."""
    out: list[str] = list(quoted)
    # no run cuts into a quoted phrase (the text between quotations is split on its own) nor
    # runs past a label's colon ("Name: Omar Aziz")
    pieces = [s.split() for segment in _QUOTED.sub("\n", text).split("\n") if segment.strip() for p in _pieces(segment) for s in _LABEL_COLON.split(p)]
    for size in range(MAX_SPAN_WORDS, 0, -1):
        for piece in pieces:
            # a comma inside a run stays ("Naples, Florida"); other punctuation ends it
            words = [w.strip(EDGE) + ("," if w.endswith(",") and w.strip(EDGE) else "") for w in piece]
            out.extend(run.rstrip(",") for run in _runs(words, size))
    return list(dict.fromkeys(out))


_NO_EDGE = STOP_WORDS | frozenset(
    "he him his she her hers we our ours they them their theirs i'm it's there here "
    "much many some any all every each more most just also very really "
    "everyone everybody someone somebody anyone anybody nobody everything something anything nothing".split()
)
"""Words no value opens or ends with: stop words, pronouns, quantifiers ("his shots", "much
carprofen"); not "us", which is also the US."""
_LONE_PARTICLES = PARTICLES | {"away"}
"""A verb's particle, no value alone ("up" of "Pick up"), though a value may end with it ("wake up")."""


def _runs(words: list[str], size: int) -> list[str]:
    """The runs of `size` words, none starting or ending on an empty word or a lower-case stop
    word ("the dentist" -> "dentist"; "The Four Seasons" stays whole past the first word), and
    none cutting a capitalised name ("New York City", not "York City" or "New York")."""
    out: list[str] = []
    for start in range(len(words) - size + 1):
        run = words[start : start + size]
        if not run[0] or not run[-1] or (size == 1 and run[0].lower() in _LONE_PARTICLES):
            continue
        if any(w.rstrip(",").lower() in _NO_EDGE and not (w[:1].isupper() and at > 0 and size > 1) for at, w in ((start, run[0]), (start + size - 1, run[-1]))):
            continue  # a capitalised stop word opens a name ("The Four Seasons"), and is none alone
        end = start + size
        # a comma ends a name ("Lena Hoffmann, IBAN DE89...")
        if (start > 1 and _capital(words[start - 1]) and not words[start - 1].endswith(",") and _capital(run[0])) or (
            end < len(words) and _capital(run[-1]) and not run[-1].endswith(",") and _capital(words[end])
        ):
            continue
        out.append(" ".join(run))
    return out


def _capital(word: str) -> bool:
    """A capitalised word of a name (an id with digits is a value of its own)."""
    return word[:1].isupper() and word.rstrip(",").lower() not in STOP_WORDS and not any(c.isdigit() for c in word)


def named_leaves(node: dict[str, Any], *, required_only: bool = False) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each parameter below an object schema with its name, inside its objects too."""
    properties = node.get("properties") or {}
    required = set(node.get("required") or [])
    for name, child in properties.items():
        if not isinstance(child, dict) or (required_only and name not in required):
            continue
        if child.get("type") == "object":
            yield from named_leaves(child, required_only=required_only)
        else:
            yield name, child


def leaves(schema: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every parameter schema below an object schema (nested objects and array items included)."""
    for node in (schema.get("properties") or {}).values():
        if not isinstance(node, dict):
            continue
        yield node
        if node.get("type") == "object":
            yield from leaves(node)
        items = node.get("items")
        if isinstance(items, dict):
            yield items
            if items.get("type") == "object":
                yield from leaves(items)
