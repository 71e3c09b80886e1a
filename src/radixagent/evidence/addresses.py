"""Postal addresses a text writes out: "Hauptstraße 12, 10115 Berlin, DE", "45 Elm Street,
Springfield, 62704, US". An address is a run of comma-separated parts that opens with a street
(a house number and a name, either way round) and goes on while the parts read as a place: a
postal code, a town, a region or country code; a street alone is one when it ends in its
capitalised street word ("48 Cedar Lane"). An object whose parameters are named for an
address's parts gets each part as written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from radixagent.evidence.words import EDGE, name_words

# a house number first ("45 Elm Street", "3-1-1 Marunouchi") or last ("Hauptstraße 12", "Rua
# Augusta 90"), with capitalised words for the street's name; the street ends where its part does
_NAME = r"[A-ZÀ-Þ][\w'.-]*(?:\s+(?:[A-ZÀ-Þ][\w'.-]*|de|da|do|di|del|der|des|du|la|le|les|van|von))*"
_STREET = re.compile(rf"(?:\b\d[\d-]*[a-zA-Z]?\s+{_NAME}|{_NAME}\s+\d+[a-zA-Z]?)$")
_POSTAL = r"\d[\d-]{2,9}|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}"
_POSTAL_FIRST = re.compile(rf"^({_POSTAL})\s+({_NAME})$")  # "10115 Berlin"
_POSTAL_LAST = re.compile(rf"^({_NAME})\s+({_POSTAL})$")  # "Springfield 62704", "Paris 75001"
_CODE = re.compile(r"^[A-Z]{2,3}$")
_PART_END = re.compile(r",\s*|:\s+|\s+(?:to|from|and|then|via)\s+(?=\d)|(?<=\d[A-Z]{2})\s+(?=[a-z])|(?<=\b\d{5})\s+(?=[a-z])|\s+(?=(?:on|at|by|before|after)\s+[\dA-Z])")
"""Where a part of an address ends: a comma or a colon, a direction before the next street's number, a
lower-case word after a postal code, a day or a time after it ("..., France on 2026-10-17")."""
_STREET_WORD = re.compile(
    r"\b(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl|square|sq|terrace|"
    r"highway|hwy|parkway|pkwy|alley|plaza|rue|rua|calle|via|avenida|strada)\b\.?|(?:stra(?:ß|ss)e|weg|gasse|platz|laan|straat|gatan|vej)\b",
    re.IGNORECASE,
)
"""Words that make a number and a name a street, where no postal code or code says so."""
_PLACE = re.compile(rf"^{_NAME}$")
_NAMED_STREET = re.compile(
    r"\b\d+[a-zA-Z]?\s+(?:[A-Z][\w'.-]*\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|"
    r"Square|Sq|Terrace|Highway|Hwy|Parkway|Pkwy|Alley|Plaza)\b\.?"
)
"""A street written alone: a house number, capitalised words, and a capitalised street word."""


@dataclass(frozen=True)
class Address:
    """One address and its parts, each as the text writes it (empty when it gives none)."""

    text: str
    street: str
    city: str = ""
    postal_code: str = ""
    region: str = ""
    country: str = ""


def find_addresses(text: str) -> list[Address]:
    """The addresses `text` writes out, in order."""
    # the comma-separated parts of each sentence: an address does not run past a full stop
    sentences = re.split(r"(?<=[.!?;])\s+|\n+", text.strip())
    # and within a part, where another street begins after a direction ("... BS1 5LJ to 27 Gloucester
    # Road") and where words go on after a postal code ("... BS7 8AA on Monday")
    parts = [p.strip().rstrip(".!?;") for sentence in sentences for p in _PART_END.split(sentence) if p.strip()]
    out = []
    i = 0
    while i < len(parts):
        street = _STREET.search(parts[i])
        fields: dict[str, str] = {}
        taken = [street.group(0)] if street else []
        for following in parts[i + 1 :] if street else []:
            found = _place(following, fields)
            if found is None:
                break
            fields.update(found)
            taken.append(following)
        # a street alone may be any number and name; with a place after it, a code or a street's word says it is one
        coded = "postal_code" in fields or any(_CODE.match(fields.get(k, "")) for k in ("region", "country"))
        if street and fields and (coded or _STREET_WORD.search(street.group(0))):
            out.append(Address(text=", ".join(taken), street=street.group(0), **fields))
            i += len(taken)
            continue
        # a house number and a street's name ending in its capitalised word needs no town ("from
        # 48 Cedar Lane on Friday")
        out.extend(Address(text=m.group(0), street=m.group(0)) for m in _NAMED_STREET.finditer(parts[i]))
        i += 1
    return out


def _place(part: str, fields: dict[str, str]) -> dict[str, str] | None:
    """What one part after the street says (a postal code, a town, a code), or None when it
    reads as no part of an address; each field is filled once, in the order addresses go."""
    if re.fullmatch(_POSTAL, part) and "postal_code" not in fields:
        return {"postal_code": part}
    for pattern, postal, city in ((_POSTAL_FIRST, 1, 2), (_POSTAL_LAST, 2, 1)):
        if (m := pattern.match(part)) and "postal_code" not in fields and "city" not in fields:
            return {"postal_code": m.group(postal), "city": m.group(city)}
    if _CODE.match(part):
        # "CA" right after a town is its state; a code after a postal code or a state, the country
        if "city" in fields and "region" not in fields and "postal_code" not in fields:
            return {"region": part}
        return {"country": part} if "country" not in fields else None
    if _PLACE.match(part) and len(part.split()) <= 4:
        if "city" not in fields:
            return {"city": part}
        if "region" not in fields and "postal_code" not in fields:
            return {"region": part}
        return {"country": part} if "country" not in fields else None
    return None


_FIELDS = {
    "street": frozenset({"street", "line"}),
    "city": frozenset({"city", "town", "locality"}),
    "postal_code": frozenset({"postal", "zip", "postcode", "zipcode"}),
    "region": frozenset({"state", "region", "province", "county"}),
    "country": frozenset({"country"}),
}
"""The words of a parameter's name that say which part of an address it holds."""


def address_fields(properties: dict[str, Any]) -> dict[str, str]:
    """Which of an object's parameters hold which part of an address, by their names; none
    unless they hold two parts or more (a `city` alone is no address)."""
    fields = {name: part for name, node in properties.items() if isinstance(node, dict) for part, words in _FIELDS.items() if set(name_words(name)) & words}
    return fields if len(set(fields.values())) >= 2 else {}


def takes_a_postal_code(name: str) -> bool:
    """Whether a parameter is named for a postal code (`to_zip`, `postcode`)."""
    return bool(set(name_words(name)) & _FIELDS["postal_code"])


def postal_codes(name: str, tokens: list[str]) -> list[str] | None:
    """For a parameter named for a postal code (`to_zip`, `postcode`), the tokens shaped like
    one ("94107", "100-0005", "SW1A1AA"), or two written as one ("SW1A 1AA"); None for any
    other parameter."""
    if not takes_a_postal_code(name):
        return None
    words = [t.strip(EDGE) for t in tokens]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if postal_shaped(f"{a} {b}")]
    return pairs + [t for t in words if postal_shaped(t) and not any(t in pair.split() for pair in pairs)]


def postal_shaped(token: str) -> bool:
    """Whether a token reads as a postal code ("94107", "100-0005", "SW1A 1AA")."""
    return bool(re.fullmatch(_POSTAL, token))


def address_values(properties: dict[str, Any], addresses: list[Address]) -> dict[str, str]:
    """The values of an object that holds an address's parts (two of street, city, postal code,
    region, country), from the one address the text writes out: each part as written, for a
    parameter that takes free text (or whose pattern it fits)."""
    fields = address_fields(properties)
    if len(addresses) != 1 or not fields:
        return {}
    out = {}
    for name, part in fields.items():
        node, value = properties[name], getattr(addresses[0], part)
        if part == "country" and "region" not in fields.values():
            value = value or addresses[0].region  # "Wellington, NZ": the code after a town, a country where no state is asked
        if value and node.get("type") == "string" and "enum" not in node and not node.get("format") and re.search(node.get("pattern") or "", value):
            out[name] = value
    return out
