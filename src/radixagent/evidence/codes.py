"""Codes: the standard codes a parameter may take (ISO 4217 currencies, ISO 639-1 languages,
ISO 3166-1 countries, units of measure) and the names English writes for them, from the
Unicode CLDR (through babel): "Swiss francs" is `CHF`, "Portuguese" `pt`, "Japan" and
"Japanese" (of "Japanese yen") `JP`, "millilitres" `mL`.

A request names a currency, a language or a country by its name far more often than by its
code, and no spelling rule turns "Canadian dollars" into `CAD` or "Greek" into `el`: the names
are data, and CLDR is where the world keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from typing import Any, Literal

from babel import Locale
from babel.core import get_global
from babel.numbers import get_currency_name
from babel.units import format_unit

from radixagent.evidence.words import example_of


class System(Enum):
    """A family of standard codes."""

    CURRENCY = "currency"
    LANGUAGE = "language"
    COUNTRY = "country"
    UNIT = "unit"


@dataclass(frozen=True)
class Name:
    """One way English writes a code: its words, and whether they name it only where a unit
    stands ("50,000 yen", "to pounds"; the word "won" elsewhere is a verb)."""

    code: str
    system: System
    words: tuple[str, ...]
    as_unit: bool = False


Found = tuple[System, str, int, int]
"""A code the text names: its system, the code, and the token range of its name."""

_UNIT_GROUPS = ("length", "mass", "volume", "temperature", "area", "speed")
"""The kinds of units requests convert and measure; not typography's points or a g-force."""
_NOT_UNITS = frozenset({"length-point"})
"""Typography's point: its "pt" is the pint's."""
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
_ENGLISH = ("en", "en_GB")
"""American and British English: "kilometers" and "kilometres" both."""
_LONGEST_NAME = 4
_TRIM = "'’"


@cache
def _locales() -> tuple[Locale, ...]:
    return tuple(Locale.parse(tag) for tag in _ENGLISH)


@cache
def _current_currencies() -> frozenset[str]:
    """Currencies some country pays in today (not the franc of France, nor the mark)."""
    return frozenset(
        code for spans in get_global("territory_currencies").values() for code, _start, end, tender in spans if end is None and tender
    )


@cache
def _countries() -> frozenset[str]:
    """Countries and territories that pay in a currency today: not regions, unions or test codes."""
    return frozenset(t for t, spans in get_global("territory_currencies").items() if len(t) == 2 and t.isalpha() and t not in _NOT_COUNTRIES and spans)


@cache
def _sign_of() -> dict[str, str]:
    """The currency each sign stands for when it stands alone ("$" is USD, "€" EUR): the only
    current currency English writes with that sign."""
    english = _locales()[0]
    owners: dict[str, list[str]] = {}
    for code in sorted(_current_currencies()):
        sign = english.currency_symbols.get(code, code)
        if not any(c.isalpha() for c in sign):
            owners.setdefault(sign, []).append(code)
    return {sign: codes[0] for sign, codes in owners.items() if len(codes) == 1}


def _signed(code: str) -> bool:
    return code in _sign_of().values()


def _name_words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@cache
def _names() -> tuple[Name, ...]:
    """Every name English gives a current currency, a language with a two-letter code, a country,
    a unit; read once, on first use."""
    names: list[Name] = []
    currencies = _current_currencies()
    for english in _locales():
        for code in sorted(currencies):
            forms = {english.currencies.get(code, ""), *(get_currency_name(code, count, english) for count in (1, 2))}
            for form in filter(None, forms):
                words = _name_words(form)
                names.append(Name(code, System.CURRENCY, words))
                if len(words) > 1:
                    # "Korean won" of "South Korean won"; "yen" of "Japanese yen" where a unit stands
                    names.extend(Name(code, System.CURRENCY, words[i:], as_unit=i == len(words) - 1) for i in range(1, len(words)))
                    # the country the currency's code opens with, by the people's name: "Swiss" (CHF), "Indian" (INR)
                    if code[:2] in _countries() and words[0][:1].isupper():
                        demonym = words[:-1]
                        names.extend(Name(code[:2], System.COUNTRY, demonym[i:]) for i in range(len(demonym)) if demonym[i][:1].isupper())
        for code, name in english.languages.items():
            if len(code) == 2 and code.isalpha():
                names.append(Name(code, System.LANGUAGE, _name_words(name)))
        for code, name in english.territories.items():
            if code in _countries():
                names.append(Name(code, System.COUNTRY, _name_words(name)))
        for key, symbols in _unit_symbols().items():
            long_forms = {str(english.unit_display_names.get(key, {}).get("long", "")), *_unit_forms(key, "long", english)}
            for form in filter(None, long_forms):
                words = _name_words(form)
                names.append(Name(symbols[0], System.UNIT, words, as_unit=True))
                if words[0] in ("degree", "degrees") and len(words) > 1:
                    names.append(Name(symbols[0], System.UNIT, words[1:], as_unit=True))  # "in Celsius"
    return tuple(dict.fromkeys(names))


@cache
def _unit_symbols() -> dict[str, tuple[str, ...]]:
    """Each unit's symbols, the shortest first ("km"; "mL"; "°C" and "C")."""
    english = _locales()[0]
    out: dict[str, tuple[str, ...]] = {}
    for key, names in english.unit_display_names.items():
        if key.split("-")[0] not in _UNIT_GROUPS or key in _NOT_UNITS:
            continue
        forms = {*_unit_forms(key, "short", english), *_unit_forms(key, "narrow", english)}
        forms.update(str(name) for width, name in names.items() if width in ("short", "narrow"))
        bare = {re.sub(r"^(?:°|deg\.\s*)", "", f) for f in forms}  # "°C" and "deg. C": C
        symbols = sorted({s for s in forms | bare if s and " " not in s and any(c.isalpha() for c in s)}, key=lambda s: (len(s), s))
        if symbols:
            out[key] = tuple(symbols)
    return out


def _unit_forms(key: str, width: Literal["short", "long", "narrow"], locale: Locale) -> set[str]:
    """A unit as written after one and after two of it: "kilometer", "kilometers"; "km"."""
    return {format_unit(count, key, length=width, locale=locale).removeprefix(str(count)).strip() for count in (1, 2)}


@cache
def _index() -> dict[tuple[str, ...], tuple[Name, ...]]:
    """Names by their casefolded words."""
    index: dict[tuple[str, ...], list[Name]] = {}
    for name in _names():
        index.setdefault(tuple(w.casefold() for w in name.words), []).append(name)
    return {words: tuple(found) for words, found in index.items()}


@cache
def _code_index(folded: bool = False) -> dict[str, tuple[tuple[System, str], ...]]:
    """Each code as written -> the systems' codes it is ("CHF", "it", "mL"); `folded`: each
    unit's symbol casefolded ("ml": the millilitre's "mL", and the megalitre's "ML")."""
    out: dict[str, list[tuple[System, str]]] = {}
    if not folded:
        for name in _names():
            if name.system is not System.UNIT:
                out.setdefault(name.code, []).append((name.system, name.code))
    for symbols in _unit_symbols().values():
        for symbol in symbols:
            out.setdefault(symbol.casefold() if folded else symbol, []).append((System.UNIT, symbols[0]))
    return {code: tuple(dict.fromkeys(found)) for code, found in out.items()}


def code_of(value: str, system: System | None = None) -> str | None:
    """The code `value` is in `system` (any system when None), as names give it: "CHF" -> "CHF",
    "usd" -> "USD", "ml" -> "mL" (a unit; not the megalitre's "ML"), "°C" -> "C"."""
    exact = [code for found, code in _code_index().get(value, ()) if system in (None, found)]
    if exact:
        return exact[0]
    # written in other capitals: a unit's or a currency's, the closest in case
    other = [code for found, code in _code_index(folded=True).get(value.casefold(), ()) if system in (None, found)]
    other += [code for found, code in _code_index().get(value.upper(), ()) if system in (None, found) and found is System.CURRENCY]
    return max(other, key=lambda code: sum(a == b for a, b in zip(code, value, strict=False)), default=None)


def code_named(name: str, system: System) -> str | None:
    """The code a name written whole means in `system`: "Kenya" -> "KE" (a country)."""
    found = _index().get(tuple(w.casefold() for w in _name_words(name)), ())
    return next((n.code for n in found if n.system is system), None)


_ENUM_ORDER = (System.UNIT, System.CURRENCY, System.COUNTRY, System.LANGUAGE)
"""Units first: "kg" and "lb" are languages' codes too (Kikongo, Luxembourgish), "cup" a currency's."""


def system_of(values: Iterable[Any]) -> System | None:
    """The system every string of an enum is a code of ([USD, EUR] currencies; [kg, lb] units)."""
    strings = [v for v in values if isinstance(v, str)]
    if not strings:
        return None
    for system in _ENUM_ORDER:
        if all(code_of(v, system) for v in strings):
            return system
    return None


def names_in(tokens: Sequence[str], unit_slot: Callable[[int], bool]) -> list[Found]:
    """The codes `tokens` name, the longest names first ("South Korean won" is KRW, not the verb
    "won"; "British" of "British pounds" is no country), a name that two systems share ("6
    pounds": GBP and lb) in both. A name's capitals must be written ("Turkey", not "turkey";
    "US", not "us"); a unit's and a currency's last word ("yen", "pounds") stand where a unit
    stands. Where a name fits several currencies ("francs"), all; where a sign marks one of them
    ("dollars": $ is USD), that one."""
    words = [t.rstrip(".,;:!?").removesuffix("'s").removesuffix("’s").strip(_TRIM) for t in tokens]
    folded = [w.casefold() for w in words]
    found: list[Found] = []
    taken: set[int] = set()
    for size in range(_LONGEST_NAME, 0, -1):
        for start in range(len(words) - size + 1):
            if taken & set(range(start, start + size)):
                continue  # "British" of "British pounds" names the currency, not a country
            names = _index().get(tuple(folded[start : start + size]), ())
            fitting = [n for n in names if _written(n.words, words[start : start + size]) and (not n.as_unit or unit_slot(start))]
            taken.update(range(start, start + size) if fitting else ())
            for system in System:
                codes = list(dict.fromkeys(n.code for n in fitting if n.system is system))
                if system is System.CURRENCY and len(codes) > 1 and sum(map(_signed, codes)) == 1:
                    codes = [c for c in codes if _signed(c)]
                if system is System.COUNTRY and len(codes) > 1:
                    signed = [c for c in codes if any(m.startswith(c) for m in _sign_of().values())]
                    codes = signed if len(signed) == 1 else codes
                if codes:
                    found.extend((system, code, start, start + size) for code in codes)
    for at, token in enumerate(tokens):
        for sign, code in _sign_of().items():
            if token.startswith(sign) and token[len(sign) : len(sign) + 1].isdigit() or token.endswith(sign) and token[:1].isdigit():
                found.append((System.CURRENCY, code, at, at + 1))  # "$40", "40€"
    return sorted(found, key=lambda f: (f[2], f[3]))


def _written(name: tuple[str, ...], words: Sequence[str]) -> bool:
    """Whether the words write the name's capitals: "Japan" is no "japan"."""
    return all(w[:1].isupper() or not n[:1].isupper() for n, w in zip(name, words, strict=True))


_SYSTEM_WORDS: dict[System, frozenset[str]] = {
    System.CURRENCY: frozenset({"currency", "currencies", "ccy", "curr", "4217"}),
    System.LANGUAGE: frozenset({"language", "languages", "lang", "lng", "locale", "639"}),
    System.COUNTRY: frozenset({"country", "countries", "nation", "nationality", "3166"}),
}
_PLACES = frozenset({"location", "city", "address", "place", "town", "region", "state", "area"})
_CODE_WORDS = frozenset({"code", "codes", "iso", "abbreviation", "abbreviated", "abbr", "alpha", "letter", "ccy", "curr", "lang", "lng"})
"""Words that say a parameter takes a code, not a name: "ISO 639-1", "two-letter", `ccy`, `lang`."""
_CODE_LENGTH = re.compile(r"\b(?:(two|2)|(three|3))[- ]letter\b|\balpha-?(2|3)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+|\d+")


@dataclass(frozen=True)
class CodeParameter:
    """What a string parameter takes: codes of a system, written in a shape (`code` True: "CHF",
    "pt"), or the names (`code` False: "target language")."""

    system: System
    code: bool
    upper: bool = True

    def written(self, code: str) -> str:
        return code.upper() if self.upper else code.lower()


def code_parameter(name: str, node: dict[str, Any]) -> CodeParameter | None:
    """Which system a string parameter takes a code or a name of, by its name, its description
    and the code its description gives as an example; None for any other parameter, and for
    codes of a length CLDR's do not have (an ISO 3166 alpha-3 country, a locale "en-US")."""
    if node.get("type") != "string" or "enum" in node:
        return None
    return _code_parameter(name, str(node.get("description", "")), example_of(node))


@lru_cache(maxsize=4096)
def _code_parameter(name: str, description: str, example: str | None) -> CodeParameter | None:
    said = {w for w in _WORD.findall(f"{name} {description}".replace("_", " ").casefold())}
    named = {w for w in _WORD.findall(name.replace("_", " ").casefold())}
    systems = [s for s, words in _SYSTEM_WORDS.items() if words & said]
    by_example = [s for s, _ in _code_index().get(example or "", ()) if s in _SYSTEM_WORDS]  # "e.g. EUR", "e.g. fr"
    systems = by_example or systems
    if len(systems) != 1 or named & _PLACES:
        return None  # a `location` written "City, Country" takes a place, not a country
    system = systems[0]
    if not (by_example or _CODE_WORDS & said):
        return CodeParameter(system, code=False)
    length = _CODE_LENGTH.search(description)
    size = (2 if length[1] or length[3] == "2" else 3) if length else None
    natural = 3 if system is System.CURRENCY else 2
    if size not in (None, natural) or (example is not None and len(example) != natural):
        return None
    upper = example.isupper() if example else system is not System.LANGUAGE
    return CodeParameter(system, code=True, upper=upper)


_NAMED_IN = ("ko", "ja", "zh")
"""Besides English, the languages whose names for languages `language_name` reads ("영어")."""


@cache
def _language_names() -> dict[str, str]:
    """Each language's name, casefolded, in English and in `_NAMED_IN` -> its English name."""
    english = _locales()[0].languages
    out = {name.casefold(): name for name in english.values()}
    for tag in _NAMED_IN:
        for code, name in Locale.parse(tag).languages.items():
            if code in english:
                out.setdefault(name.casefold(), english[code])
    return out


def language_name(language: str) -> str:
    """The English name of a language given by its code ("ko", "pt-BR": Korean, Portuguese) or
    its name in English, Korean, Japanese or Chinese ("영어": English); anything else as given,
    capitalised."""
    key = language.strip()
    english = _locales()[0].languages
    code = key.replace("-", "_").split("_")[0].lower()
    if code in english and (len(code) in (2, 3)):
        return str(english[code])
    return _language_names().get(key.casefold(), key[:1].upper() + key[1:])
