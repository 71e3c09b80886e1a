"""Units of length, mass and volume, for numbers a request gives in one unit and a parameter
counts in another ("1.8 metres" for `height_cm`)."""

from __future__ import annotations

from radixagent.evidence.words import EDGE

_UNITS_OF_MEASURE = {
    **dict.fromkeys(("mm", "millimetre", "millimeter"), ("length", 0.001)),
    **dict.fromkeys(("cm", "centimetre", "centimeter"), ("length", 0.01)),
    **dict.fromkeys(("m", "metre", "meter"), ("length", 1.0)),
    **dict.fromkeys(("km", "kilometre", "kilometer"), ("length", 1000.0)),
    **dict.fromkeys(("inch", "inches"), ("length", 0.0254)),
    **dict.fromkeys(("ft", "foot", "feet"), ("length", 0.3048)),
    **dict.fromkeys(("mi", "mile"), ("length", 1609.344)),
    **dict.fromkeys(("g", "gram", "gramme"), ("mass", 0.001)),
    **dict.fromkeys(("kg", "kgs", "kilo", "kilogram"), ("mass", 1.0)),
    **dict.fromkeys(("lb", "lbs", "pound"), ("mass", 0.45359237)),
    **dict.fromkeys(("oz", "ounce"), ("mass", 0.028349523125)),
    **dict.fromkeys(("ml", "millilitre", "milliliter"), ("volume", 0.001)),
    **dict.fromkeys(("l", "litre", "liter"), ("volume", 1.0)),
}
"""Units of length (in metres), mass (in kilograms) and volume (in litres)."""


def unit_of_measure(word: str) -> tuple[str, float] | None:
    """What a word measures and how much of it: "centimetres" -> ("length", 0.01)."""
    word = word.casefold().strip(EDGE)
    return _UNITS_OF_MEASURE.get(word) or (_UNITS_OF_MEASURE.get(word[:-1]) if word.endswith("s") and len(word) > 3 else None)
