"""Clock times split into hours and minutes, ids and codes shaped like a description's examples,
quantities kept from names, and code written out as evidence for a tool that runs code. Plain
text processing on made-up phrases: no engine."""

from __future__ import annotations

from datetime import date
from typing import Any

from radixagent.evidence import Evidence, narrow_arguments
from radixagent.evidence.support import grounds, names_a_tool, support, unheld_inputs
from radixagent.evidence.values import example_shape
from radixagent.schemas import ToolSchema


def enum_of(schema: dict[str, Any], text: str, parameter: str) -> list[Any] | None:
    narrowed = narrow_arguments(schema, Evidence.of(text))["properties"][parameter]
    return narrowed.get("enum")


def tool(name: str, description: str, properties: dict[str, Any], required: list[str] | None = None) -> ToolSchema:
    return ToolSchema(name=name, description=description, parameters={"type": "object", "properties": properties, "required": required or list(properties)})


KETTLE = tool(
    "kettle_timer",
    "Boil water at a set time.",
    {"h": {"type": "integer", "description": "hour of the day, 0-23"}, "m": {"type": "integer", "description": "minute"}, "for_minutes": {"type": "integer", "description": "keep warm for how many minutes"}},
    ["h", "m"],
)


def test_a_clock_time_fills_an_hour_and_a_minute() -> None:
    assert enum_of(KETTLE.parameters, "Boil it at 7:20 tomorrow", "h") == [7]
    assert enum_of(KETTLE.parameters, "Boil it at 7:20 tomorrow", "m") == [20]
    assert enum_of(KETTLE.parameters, "Have tea ready by 9pm", "h") == [21]
    # a duration in minutes is no clock's minute
    warm = {**KETTLE.parameters, "required": ["h", "m", "for_minutes"]}
    assert enum_of(warm, "Boil at 6:05 and keep it warm for 15 minutes", "m") == [5]
    assert enum_of(warm, "Boil at 6:05 and keep it warm for 15 minutes", "for_minutes") == [15]


def test_a_tool_taking_an_hour_and_a_minute_holds_them_in_a_clock_time() -> None:
    request = Evidence.of("Boil it at 7:20 tomorrow")
    assert unheld_inputs(request, KETTLE) == []
    assert unheld_inputs(Evidence.of("Boil some water please"), KETTLE) == ["h", "m"]
    # a clock time is evidence for it, not a number it lacks
    assert support(request, [KETTLE])["kettle_timer"] > support(Evidence.of("Boil some water"), [KETTLE])["kettle_timer"]


def test_the_shapes_of_several_examples_and_of_letters_apart_from_digits() -> None:
    route = {"type": "string", "description": "route, e.g. 7 or N4"}
    assert example_shape(route) == "^(?:[0-9]+|[A-Z]{1}[0-9]+)$"
    assert Evidence.of("When is the next N4 from the harbour?").strings_for(route) == ["N4"]
    train = {"type": "string", "description": "train number, e.g. ICE 512"}
    assert Evidence.of("Is ICE 73 running late?").strings_for(train) == ["ICE 73"]
    assert Evidence.of("Is ICE73 running late?").strings_for(train) == ["ICE73"]
    # a plain word as the first example gives no shape, whatever follows it
    assert example_shape({"type": "string", "description": "city, e.g. Lisbon or L1"}) is None


def test_an_id_of_its_examples_shape_the_request_lacks_is_unheld() -> None:
    depot = tool("depot_stock", "Stock left at a depot.", {"depot": {"type": "string", "description": "depot code, e.g. DP-22"}})
    assert unheld_inputs(Evidence.of("How much is left at the northern depot?"), depot) == ["depot"]
    assert unheld_inputs(Evidence.of("How much is left at DP-31?"), depot) == []
    serial = tool("warranty", "Warranty of a device.", {"serial": {"type": "string", "description": "10-digit serial"}})
    assert unheld_inputs(Evidence.of("Why do serial numbers have check digits?"), serial) == ["serial"]


def test_a_code_of_capitals_names_a_value_even_opening_the_request() -> None:
    rate = tool(
        "fx_rate",
        "Rate between two currencies.",
        {"from_code": {"type": "string", "description": "currency code, e.g. EUR"}, "to_code": {"type": "string", "description": "currency code, e.g. JPY"}},
    )
    assert enum_of(rate.parameters, "CHF to SEK, quickly", "from_code") == ["CHF"]
    assert enum_of(rate.parameters, "CHF to SEK, quickly", "to_code") == ["SEK"]


HEATER = tool(
    "heat_room",
    "Warm a room.",
    {"room": {"type": "string", "description": "which room"}, "target": {"type": "number", "description": "temperature"}, "scale": {"type": "string", "enum": ["C", "F"]}},
)


def test_a_room_is_no_unit_and_no_quantity() -> None:
    # "Fahrenheit" names the scale's value, not the room; 64 °F is the target, not room 64
    assert enum_of(HEATER.parameters, "Keep the nursery at 20 degrees Fahrenheit", "room") == ["nursery"]
    assert not {"64", "64 °F"} & set(enum_of(HEATER.parameters, "Heat the dining room 64 °F", "room") or [])
    # a number with no unit after the parameter's name is its value
    assert enum_of(HEATER.parameters, "Heat room 12 to 20", "room") == ["12"]


def test_am_alone_tells_nothing_of_when() -> None:
    assert not Evidence.of("I am so tired of waiting").tells_when
    assert Evidence.of("Ring me at 7 am").tells_when


def test_code_written_out_grounds_a_tool_that_runs_code_whatever_its_language() -> None:
    runner = tool("ejecutar", "Ejecuta un fragmento de Python.", {"code": {"type": "string", "description": "el código"}})
    summary = tool("resumir", "Resume un texto.", {"texto": {"type": "string", "description": "el texto"}})
    request = Evidence.of("Evaluate max(3, 9) - 1 for me")
    assert grounds(request, [runner, summary]) >= 1
    points = support(request, [runner, summary])
    assert points["ejecutar"] > points["resumir"]
    assert grounds(Evidence.of("What is a good name for a cat?"), [runner, summary]) == 0


def test_when_is_the_thing_asks_a_tool_that_looks_in_the_users_own_things() -> None:
    diary = tool("diary_lookup", "Look up an entry of my diary by its name: its day and time.", {"entry": {"type": "string", "description": "words of the entry"}})
    almanac = tool("almanac_lookup", "Look up an entry of an almanac by its name: its day and time.", {"entry": {"type": "string", "description": "words of the entry"}})
    assert names_a_tool(Evidence.of("When is the piano lesson?"), [diary])
    assert not names_a_tool(Evidence.of("When is the piano lesson?"), [almanac])
    # a question of another kind asks nothing the diary tells
    assert not names_a_tool(Evidence.of("Why is the piano lesson so long?"), [diary])


def test_a_flag_is_set_by_what_its_description_says_after_its_verb() -> None:
    def sprinkler(flag: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"start": {"type": "string", "description": "when, HH:MM"}, "wk": {"type": "boolean", "description": flag}}, "required": ["start"]}

    assert enum_of(sprinkler("repeat on weekends"), "Water the lawn at 06:30 on weekends too", "wk") == [True]
    assert enum_of(sprinkler("repeat on weekends"), "Water the lawn at 06:30, but not on weekends", "wk") == [False]
    assert "wk" not in narrow_arguments(sprinkler("repeat on weekends"), Evidence.of("Water the lawn at 06:30"))["properties"]
    # a verb that turns the rest around is not left out: the flag is the model's to set
    assert enum_of(sprinkler("skip on weekends"), "Water the lawn at 06:30, but not on weekends", "wk") is None


SAUNA = tool(
    "sauna",
    "Heat the sauna.",
    {
        "countdown": {"type": "string", "description": "how long to heat, as HH:MM:SS"},
        "start": {"type": "string", "description": "start time, HH:MM"},
        "fan": {"type": "integer", "description": "fan setting: 0 = off, 1 = low, 2 = high"},
        "level": {"type": "integer", "description": "heat, 1 = gentle, 2 = warm or 3 = fierce", "enum": [1, 2, 3]},
    },
    ["countdown"],
)


def test_a_length_of_time_is_written_as_the_parameter_lays_it_out() -> None:
    assert enum_of(SAUNA.parameters, "Heat the sauna for a quarter of an hour", "countdown") == ["00:15:00"]
    assert enum_of(SAUNA.parameters, "Heat it for 2 hours and leave the fan off", "countdown") == ["02:00:00"]
    plank = {"type": "object", "properties": {"length": {"type": "string", "description": "plank length, MM:SS"}}, "required": ["length"]}
    assert enum_of(plank, "Time a plank of 75 seconds", "length") == ["01:15"]
    # a clock time is no length of time
    timed = {**SAUNA.parameters, "required": ["countdown", "start"]}
    assert enum_of(timed, "Heat the sauna from 18:30 for an hour", "start") == ["18:30"]
    assert enum_of(timed, "Heat the sauna from 18:30 for an hour", "countdown") == ["01:00:00"]


def test_quarters_of_an_hour_count_minutes() -> None:
    walk = {"type": "object", "properties": {"minutes": {"type": "integer", "description": "how long, in minutes"}}, "required": ["minutes"]}
    assert enum_of(walk, "Log a walk of three quarters of an hour", "minutes") == [45]
    assert enum_of(walk, "I cycled for a quarter of an hour", "minutes") == [15]


def test_a_number_is_chosen_by_the_word_its_description_gives_it() -> None:
    assert enum_of(SAUNA.parameters, "Heat it for an hour with the fan on low", "fan") == [1]
    assert enum_of(SAUNA.parameters, "Make the sauna fierce for 20 minutes", "level") == [3]
    # a request that says none of the words leaves the number to the model
    assert enum_of({**SAUNA.parameters, "required": ["countdown", "fan"]}, "Heat the sauna for a while", "fan") is None


def test_examples_and_date_layouts_in_other_languages() -> None:
    # an example after "ex.", "z. B." or "例：" gives the shape of the value as "e.g." does
    locker = tool("abrir_cacifo", "Abre um cacifo da estação.", {"cacifo": {"type": "string", "description": "número do cacifo, ex. LK-2041"}})
    assert enum_of(locker.parameters, "Open locker LK-7310 for me", "cacifo") == ["LK-7310"]
    assert support(Evidence.of("Open locker LK-7310 for me"), [locker])["abrir_cacifo"] > 0
    plate = {"type": "object", "properties": {"plate": {"type": "string", "description": "車両番号（例：SH-4410）"}}, "required": ["plate"]}
    assert enum_of(plate, "Where is car SH-9921 parked?", "plate") == ["SH-9921"]
    # a date laid out in French or German letters is a date, written in their order
    visit = {"type": "object", "properties": {"jour": {"type": "string", "description": "jour de la visite, JJ/MM/AAAA"}}, "required": ["jour"]}
    assert enum_of(visit, "Book the visit for 2027-03-09", "jour") == ["09/03/2027"]
    termin = {"type": "object", "properties": {"tag": {"type": "string", "description": "Tag, TT.MM.JJJJ"}}, "required": ["tag"]}
    assert enum_of(termin, "Move it to 2027-11-04", "tag") == ["04.11.2027"]


SCREENING = tool(
    "find_screenings",
    "Find film screenings in a cinema.",
    {
        "cinema": {"type": "string", "description": "cinema name"},
        "format": {"type": "string", "description": "projection", "enum": ["standard", "4k", "70mm"]},
        "day": {"type": "string", "description": "day of the screening, YYYY-MM-DD"},
    },
    ["cinema"],
)


def test_an_optional_value_the_request_gives_is_kept() -> None:
    narrowed = narrow_arguments(SCREENING.parameters, Evidence.of("Any 4K screenings at the Rialto on June 3rd?", today=date(2026, 5, 20)))
    # "4K" names the enum's "4k", one token as it is one value
    assert narrowed["properties"]["format"]["enum"] == ["4k"]
    # a day without its year is a date: kept, the next such day
    assert narrowed["properties"]["day"]["enum"] == ["2026-06-03"]
    assert set(narrowed["required"]) == {"cinema", "format", "day"}


def test_an_id_is_the_number_written_after_its_name() -> None:
    alarms = {"type": "object", "properties": {"user_id": {"type": "string", "description": "the user's id"}}, "required": ["user_id"]}
    assert narrow_arguments(alarms, Evidence.of("Any reminders left? My user ID is 40817."))["properties"]["user_id"]["enum"] == ["40817"]
    # a name stays a name
    assert narrow_arguments(alarms, Evidence.of("Show the alarms for Mina"))["properties"]["user_id"]["enum"] == ["Mina"]


def test_a_coordinate_south_or_west_is_negative() -> None:
    spot = {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}, "required": ["lat", "lon"]}
    narrowed = narrow_arguments(spot, Evidence.of("Tide times at 33.86° S, 151.21° E"))["properties"]
    assert narrowed["lat"]["enum"] == [-33.86, 151.21] == narrowed["lon"]["enum"]
    # a number of seconds is no coordinate
    timer = {"type": "object", "properties": {"seconds": {"type": "number"}}, "required": ["seconds"]}
    assert narrow_arguments(timer, Evidence.of("Set it for 45 S"))["properties"]["seconds"]["enum"] == [45]


def test_a_postcode_written_in_two_parts_is_one_value() -> None:
    outages = tool("check_outage", "地域の障害情報を確認します。", {"postcode": {"type": "string", "description": "郵便番号"}})
    request = Evidence.of("Any faults reported near EH1 2NG?")
    assert narrow_arguments(outages.parameters, request)["properties"]["postcode"]["enum"] == ["EH1 2NG"]
    assert unheld_inputs(request, outages) == []


def test_a_ref_takes_the_id_not_the_word_before_it() -> None:
    drop = {"type": "object", "properties": {"ref": {"type": "string", "description": "booking ref"}}, "required": ["ref"]}
    assert enum_of(drop, "Please drop reservation KT-5510", "ref") == ["KT-5510"]


def test_a_required_object_is_unheld_where_a_required_field_of_its_is() -> None:
    event = {"type": "object", "properties": {"date": {"type": "string", "description": "YYYY-MM-DD"}, "guests": {"type": "integer"}}, "required": ["date", "guests"]}
    hire = tool("hire_marquee", "Hire a marquee for an event.", {"event": event, "size": {"type": "string", "enum": ["small", "large"]}})
    assert unheld_inputs(Evidence.of("How big a marquee should we get for a garden party?"), hire) == ["event"]
    assert unheld_inputs(Evidence.of("A large marquee for 80 guests on 2026-07-04"), hire) == []
