"""Days a request tells relative to today, on made-up phrases: today as the request states it,
or as the clock says (given here); no engine."""

from __future__ import annotations

from datetime import date
from typing import Any

from radixagent.evidence import Evidence, narrow_arguments

SUNDAY = date(2026, 12, 6)


def dates(text: str, today: date = SUNDAY) -> list[str]:
    return Evidence.of(text, today=today).dates


def test_days_told_relative_to_the_clock() -> None:
    assert dates("Water the ferns tomorrow") == ["2026-12-07"]
    assert dates("Remind me the day after tomorrow") == ["2026-12-08"]
    assert dates("What did I spend yesterday?") == ["2026-12-05"]
    assert dates("Anything on at the Odeon tonight?") == ["2026-12-06"]
    assert dates("Call the plumber in three days") == ["2026-12-09"]
    assert dates("Check the hives in a week") == ["2026-12-13"]
    assert dates("Check the hives 2 weeks from now") == ["2026-12-20"]
    # a weekday: the next one; "next" is the one of the week after this; "this" may be today
    assert dates("Is the gym open on Friday?") == ["2026-12-11"]
    assert dates("Is the gym open Sunday?") == ["2026-12-13"]
    assert dates("Is the gym open this Sunday?") == ["2026-12-06"]
    assert dates("Is the gym open next Tuesday?", today=date(2026, 12, 7)) == ["2026-12-15"]
    assert dates("Is the gym open Tuesday next week?", today=date(2026, 12, 7)) == ["2026-12-15"]
    assert dates("Is the gym open this Tuesday?", today=date(2026, 12, 7)) == ["2026-12-08"]
    assert dates("What did we buy last Friday?") == ["2026-12-04"]


def test_today_as_the_request_states_it() -> None:
    # the stated day is the reference only: the request's day is the one told from it
    assert dates("Book the ferry for tomorrow; today is 2027-02-28.") == ["2027-03-01"]
    assert dates("Plan a picnic on Saturday. Today is Wednesday, 2027-06-02.") == ["2027-06-05"]
    assert dates("Any yoga classes this Thursday? It's 2027-06-01 today") == ["2027-06-03"]
    assert dates("Bins go out on the 3rd of July, today is 2027-06-20") == ["2027-07-03"]
    # the weekday the request says today is counts, even where the calendar disagrees
    assert dates("Dinner on Friday next week? today is 2027.6.1 monday") == ["2027-06-12"]  # a Tuesday
    # alone, the stated day is the day asked about
    assert dates("What's on at the Odeon? Today is 2027-06-01.") == ["2027-06-01"]
    assert dates("What's on at the Odeon? today is june 1st") == []  # a month in lower case is not read
    # saying what day it is is no part of the request of its own
    said = Evidence.of("Tide times for Brest next Friday, given that today is 2027-06-01", today=SUNDAY)
    assert [p.text for p in said.parts] == [said.text] and said.dates == ["2027-06-11"]
    said = Evidence.of("Tide times for Brest on Friday; today is 2027-06-01", today=SUNDAY)
    assert [p.text for p in said.parts] == [said.text] and said.dates == ["2027-06-04"]


def test_what_is_no_day_told() -> None:
    assert dates("We play squash on Mondays") == []
    assert dates("Move it to Monday, March 1, 2027") == ["2027-03-01"]  # written out: the weekday is its own
    assert dates("The monday blues are real") == []  # a weekday in lower case, with nothing around it
    # a day told is no day named: a why-question about today still asks of the world; a
    # question about a day told asks of the user's day
    assert Evidence.of("Why is the sky so red tonight?", today=SUNDAY).asks_about_the_world()
    assert not Evidence.of("Is anything booked the day after tomorrow? Today is 2027-01-04.", today=SUNDAY).asks_about_the_world()
    assert not Evidence.of("Why was the ferry late on 2026-12-01?", today=SUNDAY).asks_about_the_world()


def test_a_date_parameter_takes_the_day_told() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"when": {"type": "string", "description": "day, as YYYY-MM-DD"}, "at": {"type": "string", "description": "time, HH:MM"}},
        "required": ["when", "at"],
    }
    narrowed = narrow_arguments(schema, Evidence.of("Book the sauna for 6 pm the day after tomorrow", today=SUNDAY))["properties"]
    assert (narrowed["when"]["enum"], narrowed["at"]["enum"]) == (["2026-12-08"], ["18:00"])
    moment = {"type": "object", "properties": {"start": {"type": "string", "description": "start, YYYY-MM-DD HH:MM:SS"}}, "required": ["start"]}
    assert narrow_arguments(moment, Evidence.of("Start the kiln tomorrow at 7:15", today=SUNDAY))["properties"]["start"]["enum"] == ["2026-12-07 07:15:00"]
