"""Times of day a request gives on a clock, in words or by name, on made-up phrases; no engine."""

from __future__ import annotations

from radixagent.evidence import Evidence, narrow_arguments


def times(text: str) -> list[str]:
    return Evidence.of(text).times


def test_times_told_in_words() -> None:
    assert times("Wake the kids at half past six") == ["06:30"]
    assert times("The ferry leaves at a quarter to nine in the evening") == ["20:45"]
    assert times("Pick me up at quarter past 4 pm") == ["16:15"]  # not 16:00
    assert times("Ring me at ten to eleven") == ["10:50"]
    assert times("The quiz starts at eight thirty tonight") == ["20:30"]
    assert times("Lunch at 12.45pm, then the dentist at 3 o'clock") == ["12:45", "03:00"]
    assert times("Drinks at nine this evening") == ["21:00"]
    assert times("Walk the dog at 7 this morning") == ["07:00"]
    assert times("a quarter to one in the morning") == ["00:45"]
    assert times("Set the oven timer for midday") == ["12:00"]


def test_numbers_that_are_no_time() -> None:
    assert times("A table for six tonight") == []  # people, not 18:00
    assert times("Show me five to ten hotels") == []
    assert times("Open from nine to five") == []  # a range
    assert times("The bill was 6.30 in total") == []
    assert times("Two quarters of the year") == []


def test_clock_times_as_before() -> None:
    assert times("Standup at 09:15, review at 4:30 pm") == ["09:15", "16:30"]
    assert times("Logged at 2023-04-01 12:00:00") == ["12:00"]
    assert times("Alarm at 7am and 8:10am") == ["07:00", "08:10"]
    assert times("Dinner at 8 in the evening") == ["20:00"]


def test_a_time_told_in_words_fills_a_time_parameter() -> None:
    schema = {"type": "object", "properties": {"pickup": {"type": "string"}, "pickup_time": {"type": "string", "description": "HH:MM, 24-hour"}}, "required": ["pickup"]}
    props = narrow_arguments(schema, Evidence.of("A cab from the Plaza Hotel at twenty past seven tonight"))["properties"]
    assert props["pickup_time"]["enum"] == ["19:20"]
    assert Evidence.of("at twenty past seven tonight").numbers == []  # its words are the time's, no count
