"""Evidence a request gives beyond the words it shares with a tool: units and codes written in
full ("litres" for `l`), the direction of a conversion, ids shaped like a parameter's example,
values named after a parameter, code after a colon, a quoted text as a tool's one free text, and
a later part's reference to an earlier result. Plain text processing: no engine."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from radixagent.decision.later_steps import later_part
from radixagent.evidence import Evidence, narrow_arguments, offered_codes, terms
from radixagent.evidence.addresses import find_addresses
from radixagent.evidence.parts import extent
from radixagent.evidence.support import grounds, hands_over_a_passage, support, unheld_inputs
from radixagent.evidence.values import example_shape
from radixagent.schemas import ToolCallRecord, ToolSchema

UNITS = ["l", "ml", "gal", "cup"]
VOLUME = ToolSchema(
    name="convert_volume",
    description="Convert a volume between units.",
    parameters={
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "from_unit": {"type": "string", "enum": UNITS, "description": "the unit of the value"},
            "to_unit": {"type": "string", "enum": UNITS, "description": "the unit wanted"},
        },
        "required": ["value", "from_unit", "to_unit"],
    },
)
SPEED = ToolSchema(
    name="convert_speed",
    description="Convert a speed between units.",
    parameters={
        "type": "object",
        "properties": {"value": {"type": "number"}, "unit": {"type": "string", "enum": ["kph", "mph", "knot"]}},
        "required": ["value", "unit"],
    },
)
TICKET = ToolSchema(
    name="get_ticket",
    description="Look up a support ticket.",
    parameters={
        "type": "object",
        "properties": {"ticket_id": {"type": "string", "description": "the ticket's id, e.g. TK-4471"}},
        "required": ["ticket_id"],
    },
)
PARCEL = ToolSchema(
    name="locate_parcel",
    description="Locate a parcel by its consignment number.",
    parameters={
        "type": "object",
        "properties": {"consignment_number": {"type": "string", "description": "e.g. 88-ZQ-1200"}},
        "required": ["consignment_number"],
    },
)
TRANSFER = {
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "from_currency": {"type": "string", "description": "three-letter code, e.g. NOK"},
        "to_currency": {"type": "string", "description": "three-letter code, e.g. SEK"},
    },
    "required": ["amount", "from_currency", "to_currency"],
}


def enums(schema: dict[str, Any], message: str | Evidence, **kwargs: Any) -> dict[str, Any]:
    found = Evidence.of(message) if isinstance(message, str) else message
    props = narrow_arguments(schema, found, **kwargs)["properties"]
    return {name: node.get("enum") for name, node in props.items()}


# --- codes written in full ----------------------------------------------------------------------


def test_a_unit_written_in_full_names_its_code_where_a_unit_stands() -> None:
    found = Evidence.of("Pour 3 litres into gallons")
    assert found.named(UNITS) == ["l", "gal"]
    assert found.where("gal") == [(4, 5)]
    # where no unit stands (no number before it, no to/in/into/how many), no code is read
    assert Evidence.of("Convert the file for Fred").named(["C", "F"]) == []
    # a run naming several codes names the one it spells most of: "millilitres" is ml, not l
    assert Evidence.of("How many millilitres are in a cup?").named(UNITS) == ["ml", "cup"]
    # several words: the initials and more of each ("Swedish kronor" -> SEK)
    assert Evidence.of("Change 40 Swedish kronor to euros").named(["SEK", "EUR", "USD"]) == ["SEK", "EUR"]


def test_a_code_written_in_full_is_evidence_for_the_tool_that_takes_it() -> None:
    points = support(Evidence.of("How fast is 30 knots in miles per hour?"), [VOLUME, SPEED])
    assert points["convert_speed"] > points["convert_volume"]
    # no word of the request meets the volume tool's words; its units still point to it (a
    # unit spelled as its code, "cups", meets the tool's words already)
    assert Evidence.of("How many millilitres are in 2 gallons?").typed_matches(VOLUME) == 2
    assert Evidence.of("How many millilitres are in 2 cups?").typed_matches(VOLUME) == 1


def test_the_unit_after_the_number_is_the_origin() -> None:
    assert enums(VOLUME.parameters, "How many millilitres are in 2 cups?")["from_unit"] == ["cup"]
    assert enums(VOLUME.parameters, "How many millilitres are in 2 cups?")["to_unit"] == ["ml"]
    assert enums(VOLUME.parameters, "Pour 3 litres into gallons") == {"value": [3], "from_unit": ["l"], "to_unit": ["gal"]}
    # one unit named, after its number: where it goes is left to the model, among the tool's units
    assert enums(VOLUME.parameters, "Convert 3 litres to something bigger")["to_unit"] == UNITS
    # one unit named, where it goes: the origin is left to the model
    assert enums(VOLUME.parameters, "Turn 5 of them into litres") == {"value": [5], "from_unit": UNITS, "to_unit": ["l"]}


# --- ids and codes shaped like the example -------------------------------------------------------


def test_an_example_in_the_description_gives_the_shape_of_an_id_or_code() -> None:
    assert example_shape(TICKET.parameters["properties"]["ticket_id"]) == r"^[A-Z]{2}\-[0-9]+$"
    assert example_shape({"type": "string", "description": "the city, e.g. Lyon"}) is None  # a name has no shape
    found = Evidence.of("Is ticket PQ-1180 about parcel 12-AB-3456?")
    assert found.strings_for(TICKET.parameters["properties"]["ticket_id"]) == ["PQ-1180"]
    assert found.strings_for(PARCEL.parameters["properties"]["consignment_number"]) == ["12-AB-3456"]
    # the request's id fits one tool's parameter and not the other's
    points = support(Evidence.of("What is going on with PQ-1180?"), [TICKET, PARCEL])
    assert points["get_ticket"] > 0 > points["locate_parcel"]


def test_a_code_the_request_does_not_write_is_generated_in_the_codes_shape() -> None:
    props = narrow_arguments(TRANSFER, Evidence.of("Send 200 of them, the usual way"))["properties"]
    assert props["from_currency"]["pattern"] == "^[A-Z]{3}$" and "enum" not in props["from_currency"]
    jsonschema.validate({"amount": 200, "from_currency": "NOK", "to_currency": "SEK"}, {**TRANSFER, "properties": props})
    # codes the request writes as such are its values
    assert enums(TRANSFER, "Send 200 NOK to SEK") == {"amount": [200], "from_currency": ["NOK"], "to_currency": ["SEK"]}


def test_a_value_after_a_parameters_name_belongs_to_it() -> None:
    found = Evidence.of("Booked, confirmation number QX-88 sent to you.")
    assert found.after_name("confirmation_number") == ["QX-88"]
    assert found.after_name("booking_id") == []
    assert Evidence.of("Reopen ticket TK-9 please").typed_matches(TICKET) == 1  # after its name and of its shape: one parameter
    assert Evidence.of("Reopen ticket TKT-9 please").typed_matches(TICKET) == 1  # after its name only
    assert Evidence.of("Reopen TK-9000 please").typed_matches(TICKET) == 1  # of its shape
    assert Evidence.of("Reopen it please").typed_matches(TICKET) == 0


# --- free text ---------------------------------------------------------------------------------


CODE = {
    "type": "object",
    "properties": {"snippet": {"type": "string"}, "runtime": {"type": "string", "enum": ["python", "node"]}},
    "required": ["snippet"],
}


def test_code_after_a_colon_is_taken_whole() -> None:
    found = Evidence.of("Evaluate this and show me what it prints: len([4, 5, 6])")
    assert found.quoted == ["len([4, 5, 6])"]
    assert [p.text for p in Evidence.of("Evaluate max(3, 9) and min(3, 9)").parts] == ["Evaluate max(3, 9)", "min(3, 9)"]
    # the tool's one free text is what the request quotes, not the words around it
    assert enums(CODE, found, tool_words=terms("run_snippet"))["snippet"] == ["len([4, 5, 6])"]
    # a colon before prose is no code
    assert Evidence.of("For ticket TK-1: who opened it, and when?").quoted == []


def test_a_later_part_that_names_nothing_takes_the_last_result_as_its_input() -> None:
    tools = [ToolSchema(name="shorten_text", description="Shorten a text.", parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})]
    done = [ToolCallRecord(id="c1", tool="find_notes", arguments={"query": "roses"}, result="Note 3: prune roses in March.")]
    part = later_part(Evidence.of("shorten what you find"), tools, done)
    assert part.referent == "Note 3: prune roses in March."
    assert enums(tools[0].parameters, part)["text"] == ["Note 3: prune roses in March."]
    # a part with its own value keeps it
    own = later_part(Evidence.of("and for Oslo"), tools, done)
    assert own.referent is None
    # a quotation elsewhere in the request is the search's, not the input of the part that points back
    whole = Evidence.of("Search the notes for 'pruning roses' and shorten them.")
    back = later_part(Evidence.of("shorten them."), tools, done)
    schema = tools[0].parameters
    assert narrow_arguments(schema, back, context=whole, part_first=True)["properties"]["text"]["enum"] == ["Note 3: prune roses in March."]


def test_a_source_the_request_does_not_name_is_left_to_the_model() -> None:
    schema = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "source_lang": {"type": "string"}, "target_lang": {"type": "string"}},
        "required": ["text", "source_lang", "target_lang"],
    }
    # a `lang` takes a language's code (CLDR's "Italian" is `it`), and the language is no text
    assert enums(schema, "Render 'good night' into Italian") == {"text": ["good night"], "source_lang": None, "target_lang": ["it"]}


PESOS = {"ARS", "CLP", "COP", "CUP", "DOP", "MXN", "PHP", "UYU"}


def test_a_code_the_tools_examples_give_is_read_in_full() -> None:
    # "e.g. NOK" and "e.g. SEK": the tool takes those codes, which a request may write in full
    assert enums(TRANSFER, "Send 200 Norwegian kroner as Swedish krona")["from_currency"] == ["NOK"]
    assert enums(TRANSFER, "Send 200 Norwegian kroner as Swedish krona")["to_currency"] == ["SEK"]
    # "how many X" asks for X: where the amount goes; the origin is the other
    props = narrow_arguments(TRANSFER, Evidence.of("I hold 50 pesos. How many Swedish krona is that?"))["properties"]
    assert props["to_currency"]["enum"] == ["SEK"] and props["from_currency"]["enum"] and set(props["from_currency"]["enum"]) <= PESOS
    tool = ToolSchema(name="transfer", description="Move money.", parameters=TRANSFER)
    assert Evidence.of("How many Swedish krona is 30 pesos?").typed_matches(tool) == 2  # each code parameter


BOOKING = ToolSchema(
    name="get_booking",
    description="Get a booking, with its confirmation code once confirmed.",
    parameters={"type": "object", "properties": {"booking_id": {"type": "string", "description": "e.g. B-1001"}}, "required": ["booking_id"]},
)
CHECK_IN = ToolSchema(
    name="check_in_status",
    description="Whether a guest checked in, and when they arrive, by confirmation code.",
    parameters={"type": "object", "properties": {"confirmation_code": {"type": "string", "description": "e.g. CF-88120"}}, "required": ["confirmation_code"]},
)
TIMER = ToolSchema(
    name="start_timer",
    description="Start a timer on the booking desk.",
    parameters={"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]},
)


def test_a_name_its_e_mail_address_spells_is_a_person_not_a_venue() -> None:
    party = {"type": "object", "properties": {"title": {"type": "string"}, "place": {"type": "string"}}, "required": ["title"]}
    guest = {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}, "required": ["name", "email"]}
    schema = {"type": "object", "properties": {"party": party, "guests": {"type": "array", "items": guest}}, "required": ["party", "guests"]}

    def venue(text: str) -> Any:
        return narrow_arguments(schema, Evidence.of(text))["properties"]["party"]["properties"].get("place", {}).get("enum")

    assert venue("Throw 'Pizza Night' for Tomás Ruiz (truiz@post.example) and Ines Vidal (ines@post.example)") is None


def test_a_date_inside_a_tool_s_objects_is_evidence_for_it() -> None:
    ideas = ToolSchema(name="outing_ideas", description="Schlägt Ausflugsziele vor.", parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    outing = {"type": "object", "properties": {"where": {"type": "string"}, "day": {"type": "string", "description": "Datum JJJJ-MM-TT"}}, "required": ["where", "day"]}
    book = ToolSchema(name="book_outing", description="Bucht einen Ausflug.", parameters={"type": "object", "properties": {"outing": outing}, "required": ["outing"]})
    points = support(Evidence.of("The choir is going to Bath on 2026-08-14."), [ideas, book])
    assert points["book_outing"] > points["outing_ideas"]


def test_the_tool_that_gives_a_missing_input_comes_first() -> None:
    # "arrive" points to check_in_status, which needs a confirmation code the request lacks;
    # get_booking says it gives one
    points = support(Evidence.of("When does booking B-2002 arrive?"), [BOOKING, CHECK_IN])
    assert points["get_booking"] > points["check_in_status"]


def test_a_number_a_tool_needs_and_the_request_lacks_counts_against_it() -> None:
    assert Evidence.of("Anything on the booking desk?").typed_matches(TIMER) == -1
    assert Evidence.of("Start 10 on the booking desk").typed_matches(TIMER) == 0


def test_a_day_a_tool_needs_and_the_request_never_says_counts_against_it() -> None:
    agenda = ToolSchema(
        name="day_agenda",
        description="What is planned for one day",
        parameters={"type": "object", "properties": {"day": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["day"]},
    )
    booking = ToolSchema(
        name="find_booking",
        description="A booking by words of its title",
        parameters={"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
    )
    points = support(Evidence.of("Is my haircut still on?"), [agenda, booking])
    assert points["day_agenda"] < points["find_booking"]
    # a request that says when is no evidence against it
    for said in ("What is planned for Friday?", "What is planned on 2026-03-02?", "What is planned tomorrow?"):
        points = support(Evidence.of(said), [agenda, booking])
        assert points["day_agenda"] > points["find_booking"], said


def test_a_part_naming_the_last_tools_result_refers_to_it() -> None:
    tools = [ToolSchema(name="render_text", description="Render a text in a language.", parameters={"type": "object", "properties": {"text": {"type": "string"}, "target": {"type": "string"}}, "required": ["text", "target"]})]
    done = [ToolCallRecord(id="c1", tool="shorten_notes", arguments={"text": "x"}, result="Water the ferns weekly.")]
    part = later_part(Evidence.of("render the notes into Dutch"), tools, done)
    assert part.referent == "Water the ferns weekly."
    assert enums(tools[0].parameters, part) == {"text": ["Water the ferns weekly."], "target": ["Dutch"]}
    # a name of its own is the part's value, not a reference ("the weather in Seoul")
    weather = [ToolCallRecord(id="c2", tool="get_weather", arguments={"city": "Oslo"}, result="Oslo: snow")]
    city = ToolSchema(name="get_weather", description="Weather in a city.", parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    later = later_part(Evidence.of("Compare the weather in Oslo and the weather in Bergen").parts[1], [city], weather)
    options = enums(city.parameters, later)["city"]
    assert "Bergen" in options and "Oslo: snow" not in options


def test_a_duration_in_another_unit_is_converted_to_the_parameters() -> None:
    schema = {"type": "object", "properties": {"timeout_seconds": {"type": "integer"}, "label": {"type": "string"}}, "required": ["timeout_seconds"]}
    assert enums(schema, "Wait a 3-minute pause")["timeout_seconds"] == [180]
    assert enums(schema, "Give it 2 minutes")["timeout_seconds"] == [120]
    assert enums(schema, "Give it 45 seconds")["timeout_seconds"] == [45]
    assert enums(schema, "Retry 3 times")["timeout_seconds"] == [3]  # no unit of time: the number as it is
    # a name that says no unit: its description's ("minutes"); "for an hour" is one hour
    session = {"type": "object", "properties": {"len": {"type": "integer", "description": "minutes"}}, "required": ["len"]}
    assert enums(session, "Hold the sauna for 2 hours")["len"] == [120]
    assert enums(session, "Keep the kiln going for an hour")["len"] == [60]
    stay = {"type": "object", "properties": {"n": {"type": "integer", "description": "nights"}}, "required": ["n"]}
    assert enums(stay, "A cabin by the lake for 2 weeks")["n"] == [14]  # a night counts as a day
    assert enums(stay, "A houseboat on the canal for a fortnight")["n"] == [14]
    # half units: "an hour and a half", "two and a half hours", "half an hour"
    assert enums(session, "Steam the pudding for an hour and a half")["len"] == [90]
    assert enums(session, "Let the dough rise two and a half hours, then bake at 220")["len"] == [150, 220]
    assert enums(session, "Rest the brisket half an hour")["len"] == [30]
    assert Evidence.of("Walk 3 km and a half").numbers == [3.0]  # no unit of time: no half read
    assert Evidence.of("Idle for zero and a half minutes").numbers == [0.5]  # a word number of value 0 is still read
    # the "and" of a half coordinates nothing
    parts = Evidence.of("Proof the dough for an hour and a half and preheat the oven to 230").parts
    assert [p.text for p in parts] == ["Proof the dough for an hour and a half", "preheat the oven to 230"]


def test_a_time_is_told_by_the_part_of_the_day() -> None:
    assert Evidence.of("Feed the cat at 7 in the morning").times == ["07:00"]
    assert Evidence.of("Lock up at 10:45 at night and again from 6 in the evening").times == ["22:45", "18:00"]
    assert Evidence.of("The ferry leaves at midnight").times == ["00:00"]
    # a bare number a part of the day follows counts something unless a word leads to a time
    counted = Evidence.of("A table for 6 in the evening")
    assert counted.times == [] and counted.numbers == [6.0]


def test_a_date_and_a_time_are_written_in_the_layout_the_description_gives() -> None:
    schema = {"type": "object", "properties": {"slot": {"type": "string", "description": "when, as 'DD.MM.YYYY HH:MM'"}}, "required": ["slot"]}
    assert enums(schema, "Book the tyre change on 2 March 2026 at 4 in the afternoon")["slot"] == ["02.03.2026 16:00"]
    dated = narrow_arguments(schema, Evidence.of("Book the tyre change on 2 March 2026"))["properties"]["slot"]
    assert dated["pattern"] == r"^02\.03\.2026 [0-9]{2}:[0-9]{2}$"  # the day is the request's, the time the model's


def test_coordinates_after_a_comma_stay_one_part() -> None:
    found = Evidence.of("Show bike shops around 59.3293, -18.0686 and around 48.85, 2.35")
    assert [p.text for p in found.parts] == ["Show bike shops around 59.3293, -18.0686", "around 48.85, 2.35"]


def test_a_postal_address_stays_one_part() -> None:
    found = Evidence.of("Send a courier from 88 Harbour Road, Leith, UK, and I can pay 30 pounds for it")
    assert [p.text for p in found.parts] == ["Send a courier from 88 Harbour Road, Leith, UK", "I can pay 30 pounds for it"]
    # a quoted value of another parameter's enum is not the one free text the tool takes
    cab = {
        "type": "object",
        "properties": {"pickup": {"type": "string", "description": "street address"}, "tier": {"type": "string", "enum": ["basic", "black"]}},
        "required": ["pickup", "tier"],
    }
    assert enums(cab, "A 'Black' car from 14 Quay Street, Galway, Ireland") == {"pickup": ["14 Quay Street, Galway, Ireland"], "tier": ["black"]}


def test_a_code_holding_the_tools_own_word_is_a_value() -> None:
    lookup = {"type": "object", "properties": {"po": {"type": "string"}}, "required": ["po"]}
    # "PO-74410" shares "po" with `po_status` and the parameter's name: it is still the value
    assert "PO-74410" in enums(lookup, "Has purchase order PO-74410 shipped yet?", tool_words=terms("po_status"))["po"]


def test_a_long_quotation_is_one_value() -> None:
    text = "Shorten this: '" + " ".join(["The harbour festival returns in June with boats, music and food stalls."] * 5) + "'"
    assert len(Evidence.of(text).quoted[0]) > 300


def test_a_code_no_example_gives_is_offered_as_the_words_letters_make_it() -> None:
    # "Plutonian crowns" is no example's code, nor a currency CLDR names: the codes its letters
    # make, for the model to choose
    options = enums(TRANSFER, "Change 80 Plutonian crowns into Swedish krona")["from_currency"]
    assert "PLC" in options and all(len(o) == 3 and o.isupper() for o in options)
    assert enums(TRANSFER, "Change 80 Plutonian crowns into Swedish krona")["to_currency"] == ["SEK"]
    # one CLDR names is its code ("Danish kroner": DKK)
    assert enums(TRANSFER, "Change 80 Danish kroner into Swedish krona")["from_currency"] == ["DKK"]


def test_after_a_failed_call_the_codes_its_error_lists_are_the_choice() -> None:
    message = "Tool 'transfer' failed: ValueError: unknown currency 'DAK': use a three-letter code, one of NOK, SEK, DKK, EUR"
    props = offered_codes(TRANSFER, message)["properties"]
    assert props["from_currency"]["enum"] == ["NOK", "SEK", "DKK", "EUR"] == props["to_currency"]["enum"]
    assert "enum" not in props["amount"]
    assert "enum" not in offered_codes(TRANSFER, "timed out")["properties"]["to_currency"]


def test_the_pronoun_i_names_nothing() -> None:
    assert Evidence.of("What do I have with Ines, and am I free?").name_tokens == ["Ines"]
    assert Evidence.of("What do I have on 2025-01-02").values([]) == ["2025-01-02"]


def test_a_later_part_s_own_codes_come_before_the_request_s() -> None:
    code = {"type": "string", "description": "three-letter code, e.g. USD"}
    target = {"type": "string", "description": "three-letter code, e.g. EUR"}
    schema = {"type": "object", "properties": {"amount": {"type": "number"}, "from_code": code, "to_code": target}, "required": ["amount", "from_code", "to_code"]}
    whole = Evidence.of("Exchange 5 US dollars to euros and to Plutonian marks.")
    narrowed = narrow_arguments(schema, Evidence.of("and to Plutonian marks."), context=whole, part_first=True)["properties"]
    # the part's name makes the target's codes; the amount and the origin come from around it
    assert narrowed["to_code"]["enum"] and all(c.startswith("P") for c in narrowed["to_code"]["enum"])
    assert narrowed["from_code"]["enum"] == ["USD"] and narrowed["amount"]["enum"] == [5]


# --- what a parameter holds, told by a few words of description --------------------------------


def test_a_number_a_numeric_parameter_takes_is_no_free_texts() -> None:
    stay = {"type": "object", "properties": {"lodge": {"type": "string"}, "guests": {"type": "integer"}}, "required": ["lodge", "guests"]}
    options = enums(stay, "Put us up at Pine Ridge for 4 guests")["lodge"]
    assert "4" not in options and "4 guests" not in options and "Pine Ridge" in options
    # a text whose name says it may be all digits keeps them
    ticket = {"type": "object", "properties": {"ref_no": {"type": "string"}, "seats": {"type": "integer"}}, "required": ["ref_no", "seats"]}
    assert "8812" in enums(ticket, "Change booking 8812 to 3 seats")["ref_no"]


def test_a_few_words_of_description_say_what_a_parameter_holds() -> None:
    schema = {
        "type": "object",
        "properties": {"gln": {"type": "string", "description": "gallery name"}, "hdl": {"type": "string", "description": "show title"}},
        "required": ["gln", "hdl"],
    }
    found = enums(schema, "Hang the 'Blue Hours' prints at Tessellate Gallery next month")
    assert "Tessellate Gallery" in found["gln"] and "prints at Tessellate Gallery" not in found["gln"]  # names only
    assert found["hdl"] == ["Blue Hours"]  # a title is what the request quotes
    # a sentence of description is not read so
    long = {"type": "object", "properties": {"gln": {"type": "string", "description": "The gallery name to use."}}, "required": ["gln"]}
    assert len(enums(long, "Hang the prints at Tessellate Gallery")["gln"]) > 1


def test_an_id_is_what_reads_as_one() -> None:
    schema = {
        "type": "object",
        "properties": {"kiln": {"type": "string", "description": "kiln id"}, "batch_id": {"type": "string"}, "note": {"type": "string"}},
        "required": ["kiln", "batch_id", "note"],
    }
    found = enums(schema, "Put GB-0412 into K7 tonight, note: celadon")
    assert sorted(found["kiln"]) == ["GB-0412", "K7"] == sorted(found["batch_id"])  # ids only, no words around them
    assert "K7 tonight" in found["note"]  # a parameter that takes no id still takes any span
    # with no id in the request, an id parameter is offered the spans as before
    assert "Holloway" in enums(schema, "Fire the Holloway batch tonight, note: celadon")["batch_id"]


def test_a_postal_code_is_offered_by_its_shape() -> None:
    schema = {
        "type": "object",
        "properties": {"kg": {"type": "number"}, "dest_postcode": {"type": "string"}, "note": {"type": "string"}},
        "required": ["kg"],
    }
    # optional, its name unsaid: a number the weight leaves over is the postal code
    assert enums(schema, "Quote 3 kg of tiles to 30159")["dest_postcode"] == ["30159"]
    assert "dest_postcode" not in enums(schema, "Quote 3 kg of tiles")  # none left over: the tool's default
    # a value of its shape is evidence for the tool, whatever language describes it
    hours = ToolSchema(name="hours", description="약국 영업시간", parameters={"type": "object", "properties": {"zip": {"type": "string"}}, "required": ["zip"]})
    assert Evidence.of("Is the bakery near 02139 open late?").typed_matches(hours) == 1
    assert Evidence.of("Is the bakery open late?").typed_matches(hours) == 0
    assert Evidence.of("Is the bakery at Via Roma 5, 00184 Roma, IT open late?").typed_matches(hours) == 0  # the address's code


def test_a_first_or_last_name_is_a_word_of_the_name_written_whole() -> None:
    person = {"type": "string", "description": "first name"}
    schema = {
        "type": "object",
        "properties": {"fn": person, "family_name": {"type": "string"}, "lastName": {"type": "string"}},
        "required": ["fn", "family_name", "lastName"],
    }
    found = enums(schema, "Enrol Ingrid Solberg-Haug in the evening pottery class")
    assert found["fn"] == ["Ingrid"] and found["family_name"] == ["Solberg-Haug"] == found["lastName"]
    # the name is taken by its words: no optional parameter for a name gets it whole as well
    nested = {"type": "object", "properties": {"student": {"type": "object", "properties": {"fn": person, "sn": {"type": "string", "description": "surname"}}, "required": ["fn", "sn"]}, "artist": {"type": "string"}}, "required": ["student"]}
    assert "artist" not in enums(nested, "Enrol Ingrid Solberg-Haug in the evening pottery class")
    # terse: `fn` described "first", `ln` described "last"
    terse = {"type": "object", "properties": {"fn": {"type": "string", "description": "first"}, "ln": {"type": "string", "description": "last"}}, "required": ["fn", "ln"]}
    found = enums(terse, "Please enrol Tomasz Wierzbicki, he's a beginner")
    assert found["fn"] == ["Tomasz"] and found["ln"] == ["Wierzbicki"]


def test_a_range_given_at_one_end_offers_that_end_only() -> None:
    hhmm = {"type": "string", "description": "HH:MM"}
    slots = {"type": "object", "properties": {"day": {"type": "string", "description": "YYYY-MM-DD"}, "start": hhmm, "end": hhmm}, "required": ["day"]}
    assert enums(slots, "Any free courts on 2026-05-02 after 3pm?") == {"day": ["2026-05-02"], "start": ["15:00"]}
    assert enums(slots, "Any free courts on 2026-05-02 before 11am?") == {"day": ["2026-05-02"], "end": ["11:00"]}
    assert enums(slots, "Any free courts on 2026-05-02 between 9am and 11am?")["end"] == ["09:00", "11:00"]
    day = {"type": "string", "format": "date"}
    history = {"type": "object", "properties": {"from_date": day, "to_date": day}, "required": []}
    assert enums(history, "Show my repairs since 2026-01-05") == {"from_date": ["2026-01-05"]}
    assert enums(history, "Show my repairs on 2026-01-05") == {"from_date": ["2026-01-05"]}  # no lead: the first end


def test_an_optional_list_of_things_with_numbers_takes_the_numbers_left_over() -> None:
    receipt = {"type": "object", "properties": {"what": {"type": "string"}, "amount": {"type": "number"}}, "required": ["what", "amount"]}
    schema = {"type": "object", "properties": {"trip": {"type": "string"}, "lines": {"type": "array", "items": receipt}}, "required": ["trip"]}
    lines = narrow_arguments(schema, Evidence.of("Expense trip TR-9: a taxi for 32 and dinner at the Lotus for 58"))["properties"]["lines"]
    assert lines["items"]["properties"]["amount"]["enum"] == [32, 58]
    assert "lines" not in enums(schema, "Expense trip TR-9 please")  # no number: the tool's default


_SEATS = {"type": "object", "properties": {"row": {"type": "string"}, "count": {"type": "integer"}}, "required": ["row", "count"]}
_TEST = {"type": "object", "properties": {"code": {"type": "string", "enum": ["FBC", "CRP", "TSH", "LFT"]}, "urgent": {"type": "boolean"}}, "required": ["code"]}


@pytest.mark.parametrize(
    ("item", "about", "tools", "request_text"),
    [
        # another item's number ("and 3 in row F"), another item's enum value ("and a CRP")
        (_SEATS, "show", ("hold_seats", "blocks", "hold_seat", "Hold seats for a show"), "Hold 2 seats in row C for Hamlet and 3 in row F"),
        (_TEST, "patient", ("order_panel", "tests", "order_test", "Order blood tests for a patient"), "Order an FBC for Mrs Okoye and a CRP as well"),
    ],
)
def test_a_part_holding_another_items_values_continues_the_call(item: dict[str, Any], about: str, tools: tuple[str, str, str, str], request_text: str) -> None:
    listing, items, one, description = tools
    properties = {about: {"type": "string"}, items: {"type": "array", "items": item}}
    listed = ToolSchema(name=listing, description=description, parameters={"type": "object", "properties": properties, "required": [about, items]})
    found = Evidence.of(request_text)
    assert len(found.parts) == 2 and extent(listed, found, [listed], 0) == 1  # one call, two items
    # a tool taking one item per call: the second part is a call of its own
    alone = {"type": "object", "properties": {about: {"type": "string"}, **item["properties"]}, "required": [about, *item["required"]]}
    single = ToolSchema(name=one, description=description, parameters=alone)
    assert extent(single, found, [single], 0) == 0


def test_a_part_naming_a_value_of_a_list_of_an_enums_values_continues_the_call() -> None:
    # "skipping hills and cobbles" is one route
    skip = {"type": "array", "items": {"type": "string", "enum": ["hills", "cobbles", "gravel"]}}
    route = ToolSchema(
        name="plan_route",
        description="Plan a cycling route",
        parameters={"type": "object", "properties": {"start": {"type": "string"}, "end": {"type": "string"}, "skip": skip}, "required": ["start", "end"]},
    )
    ride = Evidence.of("Plan a ride from Ghent to Bruges, skipping hills and cobbles")
    assert extent(route, ride, [route], 0) == len(ride.parts) - 1
    two = Evidence.of("Plan a ride from Ghent to Bruges without gravel, and one from Bruges to Ostend")
    assert extent(route, two, [route], 0) == 0


def test_a_part_naming_a_person_for_another_role_continues_the_call() -> None:
    films = ToolSchema(
        name="find_films",
        description="Find films to watch",
        parameters={"type": "object", "properties": {"director": {"type": "string"}, "cast": {"type": "string"}}, "required": []},
    )
    found = Evidence.of("Films directed by Ava Okoro and starring Tom Hale")
    assert len(found.parts) == 2 and extent(films, found, [films], 0) == 1
    # the same role twice: a search each
    both = Evidence.of("Films directed by Ava Okoro and directed by Tom Hale")
    assert extent(films, both, [films], 0) == 0
    # a person put in the role the tool's parameter is named for, after "with"
    lessons = ToolSchema(
        name="add_lesson",
        description="Add a lesson to the timetable",
        parameters={"type": "object", "properties": {"group": {"type": "string"}, "day": {"type": "string", "enum": ["mon", "tue"]}, "tutor": {"type": "string"}}, "required": ["group", "day"]},
    )
    found = Evidence.of("Put 9B in on Tuesday, with Mrs Osei")
    assert len(found.parts) == 2 and extent(lessons, found, [lessons], 0) == 1


def test_a_phone_number_is_one_value_for_the_parameter_that_takes_it() -> None:
    found = Evidence.of("Text Olu on +234 803 555 0172 or at the office, (212) 555-0148; the code is 40.7128")
    assert found.phones == ["+234 803 555 0172", "(212) 555-0148"] and found.numbers == [40.7128]
    assert Evidence.of("Ping the router at 10.0.0.12").phones == []  # an IP address is no phone
    contact = {"type": "object", "properties": {"who": {"type": "string"}, "mobile_no": {"type": "string"}}, "required": ["who", "mobile_no"]}
    narrowed = enums(contact, "Save Olu Adeyemi, mobile +234 803 555 0172")
    assert narrowed["mobile_no"] == ["+234 803 555 0172"]
    assert not any(o in "+234 803 555 0172" for o in narrowed["who"])  # no piece of it for a name


def test_a_list_items_code_named_once_offers_the_codes_of_its_shape() -> None:
    line = {"type": "object", "properties": {"part": {"type": "string"}, "qty": {"type": "integer"}}, "required": ["part", "qty"]}
    order = {"type": "object", "properties": {"lines": {"type": "array", "items": line}}, "required": ["lines"]}
    items = narrow_arguments(order, Evidence.of("Restock 6 of part ZX-41 and 9 of QW-07 for the Leeds depot"))["properties"]["lines"]["items"]
    assert items["properties"]["part"]["enum"] == ["ZX-41", "QW-07"]


def test_a_street_written_alone_is_an_address_and_its_number_counts_nothing() -> None:
    assert [a.text for a in find_addresses("Collect the old fridge from 112 Juniper Terrace before noon")] == ["112 Juniper Terrace"]
    assert find_addresses("Leave it at Gate 4 by the kiosk") == []  # no street word: a name that ends in a number
    haul = {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "street address"}, "bags": {"type": "integer"}, "zip": {"type": "integer"}},
        "required": ["location", "bags"],
    }
    found = enums(haul, "Haul 3 bags of leaves away from 27 Wren Road")
    assert found["location"] == ["27 Wren Road"] and found["bags"] == [3]  # 27 is the house's number, no count
    # a parameter taking a postal code still gets the number of the address that is one
    assert enums(haul, "Haul 3 bags from 8 Quay Street, Dunmore, 51007")["zip"] == [51007]


def test_a_text_holds_no_number_a_count_takes() -> None:
    hire = {"type": "object", "properties": {"depot": {"type": "string"}, "vans": {"type": "integer"}}, "required": ["depot", "vans"]}
    found = enums(hire, "Hire 4 vans at Northgate depot")
    assert found["vans"] == [4] and not any("4" in o for o in found["depot"])
    assert "Northgate" in found["depot"]
    # "$300", "2019 Volvo": words with a number another parameter takes are not the text
    car = {"type": "object", "properties": {"year": {"type": "integer"}, "brand": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["year", "brand", "limit"]}
    brand = enums(car, "Insure my 2019 Volvo up to a $300 excess")["brand"]
    assert "Volvo" in brand and not any(c.isdigit() for o in brand for c in o)
    # a number ending a name is the name's
    assert "Pier 7" in enums(hire, "Hire a van at Pier 7")["depot"]


def test_words_no_value_opens_or_ends_with() -> None:
    spans = Evidence.of("Set up their printer so much paper jams stop").spans
    assert not {"up", "their printer", "much paper", "their", "much"} & set(spans)
    assert "printer" in spans and "paper jams" in spans
    assert "warm up" in Evidence.of("Let the engine warm up").spans  # a verb's particle ends a value


def test_a_name_opening_a_sentence_before_its_verb_is_a_name() -> None:
    assert Evidence.of("Tobias needs a ride to the airport").name_tokens == ["Tobias"]
    assert Evidence.of("Ines would like the window seat. Yusuf wants the aisle").name_tokens == ["Ines", "Yusuf"]
    for text in ("Somebody needs to water the plants", "Rent is due on the first", "Where would I park?"):
        assert Evidence.of(text).name_tokens == []


def test_a_flag_is_told_by_a_few_words_of_description() -> None:
    scan = {"type": "object", "properties": {"res": {"type": "integer"}, "bw": {"type": "boolean", "description": "grayscale"}}, "required": ["res"]}
    assert enums(scan, "Scan the contract at 300 dpi in grayscale")["bw"] == [True]
    assert enums(scan, "Scan the contract at 300 dpi, not grayscale")["bw"] == [False]
    assert "bw" not in enums(scan, "Scan the contract at 300 dpi")


def test_an_enum_value_written_apart_or_cut_short_is_named() -> None:
    boat = {"type": "object", "properties": {"hull": {"type": "string", "enum": ["catamaran", "jetski", "dinghy"]}}, "required": ["hull"]}
    assert enums(boat, "Rent two jet-skis for the afternoon")["hull"] == ["jetski"]
    assert enums(boat, "Rent two jet skis for the afternoon")["hull"] == ["jetski"]
    month = {"type": "object", "properties": {"city": {"type": "string"}, "mon": {"type": "string", "enum": ["jan", "feb", "mar", "apr"]}}, "required": ["city"]}
    assert enums(month, "Average rainfall in Lisbon during February")["mon"] == ["feb"]  # optional, said by the word it cuts short
    assert "mon" not in enums(month, "Average rainfall in Lisbon")
    # a value written in full comes before one a word only starts with ("Marchand" is no `mar`)
    assert enums(month, "Average rainfall in Lisbon in April, says Marchand")["mon"] == ["apr"]


def test_a_date_where_a_description_writes_the_layout_is_ground_for_the_tool() -> None:
    visit = ToolSchema(name="v", description="방문 예약", parameters={"type": "object", "properties": {"d": {"type": "string", "description": "날짜 YYYY-MM-DD"}}, "required": ["d"]})
    assert grounds(Evidence.of("Put Nala down for 2026-02-14 please"), [visit]) == 1
    assert grounds(Evidence.of("Put Nala down for Valentine's day"), [visit]) == 0
    clock = ToolSchema(name="c", description="알람", parameters={"type": "object", "properties": {"t": {"type": "string", "description": "hh:mm"}}, "required": ["t"]})
    assert grounds(Evidence.of("Wake me at 06:40"), [clock]) == 1
    # it tells whether a tool is meant, not which: two tools taking a date rank as before
    listing = ToolSchema(name="day_list", description="List a day", parameters=visit.parameters)
    assert support(Evidence.of("Put Nala down for 2026-02-14 please"), [visit, listing]) == support(Evidence.of("Put Nala down for 2026-02-15 please"), [visit, listing])


def test_a_list_of_counted_items_has_an_item_per_number_written() -> None:
    line = {"type": "object", "properties": {"thing": {"type": "string"}, "n": {"type": "integer"}}, "required": ["thing", "n"]}
    clear = {"type": "object", "properties": {"loads": {"type": "array", "items": line}}, "required": ["loads"]}

    def room(message: str) -> int:
        return int(narrow_arguments(clear, Evidence.of(message))["properties"]["loads"]["maxItems"])

    assert room("Clear out 6 crates from the cellar, on Thursday if possible") == 1
    assert room("Clear out 3 stools, 1 bench and 5 crates") == 3
    assert room("Clear out 2 stools and 2 benches") == 2  # the same number written twice


def test_a_role_or_a_brand_takes_a_name() -> None:
    lesson = {"type": "object", "properties": {"learner": {"type": "string", "description": "nom de l'élève"}, "patient": {"type": "string"}}, "required": ["patient"]}
    assert enums(lesson, "Set up a hearing test for old Mr Okafor next week")["patient"] == ["Mr Okafor"]
    lease = {"type": "object", "properties": {"mfr": {"type": "string", "description": "manufacturer"}, "months": {"type": "integer"}}, "required": ["mfr", "months"]}
    assert enums(lease, "Lease me a compact Peugeot for 18 months")["mfr"] == ["Peugeot"]


def test_a_part_giving_a_value_of_the_call_s_objects_continues_it() -> None:
    person = {"type": "object", "properties": {"badge": {"type": "string", "description": "badge id"}}, "required": ["badge"]}
    fault = {"type": "object", "properties": {"text": {"type": "string"}, "floor": {"type": "integer"}}, "required": ["text"]}
    report = ToolSchema(name="report_fault", description="Report a building fault", parameters={"type": "object", "properties": {"by": person, "fault": fault}, "required": ["by", "fault"]})
    badge = ToolSchema(name="badge_lookup", description="Look up a badge", parameters={"type": "object", "properties": {"badge": {"type": "string", "description": "badge id"}}, "required": ["badge"]})
    found = Evidence.of("The lift on the east side is stuck again; log it under badge BX-2209.")
    assert len(found.parts) == 2 and extent(report, found, [report, badge], 0) == 1  # the reporter's id: one call
    # its required values counted inside its objects: a part with no value of its own joins the call
    found = Evidence.of("The lift by the canteen is stuck again, and it smells of smoke")
    assert len(found.parts) == 2 and extent(report, found, [report, badge], 0) == 1


def test_words_with_no_value_of_their_own_continue_the_call() -> None:
    quote = ToolSchema(
        name="quote_frames",
        description="Price picture frames",
        parameters={
            "type": "object",
            "properties": {"w": {"type": "integer"}, "h": {"type": "integer"}, "finish": {"type": "string", "enum": ["oak", "walnut", "steel"]}},
            "required": ["w", "h"],
        },
    )
    found = Evidence.of("Frame 30 wide, 40 high, nice and simple, in walnut")
    assert len(found.parts) > 2 and extent(quote, found, [quote], 0) == len(found.parts) - 1  # one call


def test_a_verb_and_its_particle_meet_the_word_a_tool_writes_for_them() -> None:
    assert {"checkout", "check"} <= set(terms("Check out the cart")) and "out" not in terms("Check out the cart")
    assert "signup" in terms("sign up for the newsletter") and "signup" in terms("newsletter_signup")


def test_a_year_is_a_number_that_reads_as_one() -> None:
    policy = {
        "type": "object",
        "properties": {"yr": {"type": "integer", "description": "model year"}, "age": {"type": "integer"}, "term": {"type": "integer", "description": "years"}},
        "required": ["yr", "age", "term"],
    }
    found = enums(policy, "I'm 61 and want 3 years of cover for a 1998 Saab")
    assert found["yr"] == [1998] and found["term"] == [3] and 61 in found["age"]  # "years" counts: any number
    assert enums(policy, "I'm 61 and want 3 years of cover")["yr"] is None  # none: the model's to write


def test_a_duration_takes_no_measure_and_a_measure_no_duration() -> None:
    brew = {
        "type": "object",
        "properties": {"steep": {"type": "integer", "description": "minutes"}, "heat": {"type": "number"}, "cups": {"type": "integer"}},
        "required": [],
    }
    found = enums(brew, "Steep it 4 minutes at 85 degrees")
    assert found["steep"] == [4] and found["heat"] == [85]
    # an optional number kept for a number left over that it cannot take is left out
    assert enums(brew, "Steep it for half an hour") == {"steep": [30]}


def test_a_description_counts_time_only_where_it_says_a_unit() -> None:
    pair = {"type": "object", "properties": {"x": {"type": "integer", "description": "The second number to add."}, "y": {"type": "integer"}}, "required": ["x", "y"]}
    assert 12 in enums(pair, "Add 7 dollars and 12 dollars")["x"]  # "second" is an ordinal here, no unit
    assert enums(pair, "Add 3 minutes to 2 minutes")["x"] == [3, 2]  # not 180 and 120 seconds
    speed = {"type": "object", "properties": {"v": {"type": "number", "description": "speed in metres per second"}}, "required": ["v"]}
    assert enums(speed, "I am doing 14 metres per second")["v"] == [14]  # a rate, no duration
    wait = {"type": "object", "properties": {"t": {"type": "integer", "description": "time to wait in seconds"}}, "required": ["t"]}
    assert enums(wait, "Wait 2 minutes")["t"] == [120]


def test_the_us_is_a_value_where_the_pronoun_is_not() -> None:
    assert "US" in Evidence.of("Wire 40 US dollars to Mara").spans


def test_a_description_in_another_language_says_what_kind_of_value_a_parameter_takes() -> None:
    visit = {
        "type": "object",
        "properties": {"guest": {"type": "string", "description": "손님 이름"}, "town": {"type": "string", "description": "Stadt oder Adresse"}},
        "required": ["guest", "town"],
    }
    found = enums(visit, "Reserve a table for Ilse Brandt in Kassel near the river")
    assert "Kassel" in found["town"] and set(found["guest"]) | set(found["town"]) <= {"Ilse Brandt", "Kassel"}  # names, no span around them
    ferry = {"type": "object", "properties": {"pasajero": {"type": "string", "description": "nombre del pasajero"}}, "required": ["pasajero"]}
    assert enums(ferry, "Check in Tomás Ferreira for the morning boat")["pasajero"] == ["Tomás Ferreira"]
    booking = {"type": "object", "properties": {"ref": {"type": "string", "description": "予約番号"}, "nights": {"type": "integer"}}, "required": ["ref", "nights"]}
    assert enums(booking, "Extend booking HK-30771 by 2 nights")["ref"] == ["HK-30771"]  # a number that names: an id


def test_a_string_named_as_a_number_takes_the_identifier_the_request_writes() -> None:
    reorder = {"type": "object", "properties": {"order_no": {"type": "string"}, "boxes": {"type": "integer"}}, "required": ["order_no", "boxes"]}
    assert enums(reorder, "Reorder ZX-118 again, 6 boxes this time")["order_no"] == ["ZX-118"]


def test_one_of_several_names_offered_to_one_parameter_is_free_for_another() -> None:
    sitting = {
        "type": "object",
        "properties": {"pet": {"type": "string", "description": "pet name"}, "sitter": {"type": "string", "description": "sitter name"}},
        "required": ["pet"],
    }
    found = enums(sitting, "Have Rufus looked after on Sunday by Odile")
    assert found["pet"] == ["Rufus", "Odile"] and found["sitter"] == ["Rufus", "Odile"]  # binding gives each its own
    assert enums(sitting, "Have Rufus looked after on Sunday") == {"pet": ["Rufus"]}  # one name: the pet's


def test_a_listed_number_is_narrowed_where_the_request_gives_it_by_name_or_in_time() -> None:
    spa = {
        "type": "object",
        "properties": {
            "length": {"type": "integer", "enum": [60, 90, 120], "description": "minutes"},
            "guests": {"type": "integer", "enum": [1, 2, 3, 4]},
            "zone": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
        },
        "required": ["zone"],
    }
    found = enums(spa, "Book an hour and a half of massage for three guests, rated 4 stars or better")
    assert found["length"] == [90] and found["guests"] == [3]
    assert found["zone"] == [1, 2, 3, 4, 5]  # "rated 4" is no zone: the tool's own values


def test_a_word_and_the_noun_of_its_doer_meet() -> None:
    assert set(terms("Where can I charge my scooter?")) & set(terms("find_chargers"))
    assert set(terms("remind me at noon")) & set(terms("set_reminder"))


def test_an_example_in_a_description_is_no_ground_for_the_tool() -> None:
    tide = ToolSchema(
        name="tide_times",
        description="High and low tide at a harbour.",
        parameters={"type": "object", "properties": {"harbour": {"type": "string", "description": "the harbour's name, e.g. Brixham"}}, "required": ["harbour"]},
    )
    ferry = ToolSchema(
        name="ferry_departures",
        description="Ferry departures from a port, e.g. Dover or Calais.",
        parameters={"type": "object", "properties": {"port": {"type": "string"}}, "required": ["port"]},
    )
    # naming Brixham or Dover says what a value looks like, not which tool is meant: no more than
    # naming another town does
    assert grounds(Evidence.of("Which pubs in Brixham serve lunch?"), [tide]) == grounds(Evidence.of("Which pubs in Torquay serve lunch?"), [tide])
    assert grounds(Evidence.of("Is Dover worth a day trip?"), [ferry]) == grounds(Evidence.of("Is Hastings worth a day trip?"), [ferry]) == 0
    assert grounds(Evidence.of("When is high tide at Brixham?"), [tide]) > 0  # its own words still count


def test_a_number_that_names_something_is_held_by_a_token_with_a_digit() -> None:
    reading = ToolSchema(
        name="water_usage",
        description="Water used by a household.",
        parameters={"type": "object", "properties": {"meter_no": {"type": "string", "description": "water meter number"}}, "required": ["meter_no"]},
    )
    assert unheld_inputs(Evidence.of("How much water did meter 40-118-9 record in May?"), reading) == []
    assert unheld_inputs(Evidence.of("How much water does a shower use?"), reading) == ["meter_no"]


def test_only_a_tool_that_works_on_a_passage_is_handed_one_by_a_quotation() -> None:
    florist = ToolSchema(
        name="find_bouquet",
        description="bouquets",
        parameters={"type": "object", "properties": {"flower": {"type": "string", "description": "main flower"}}, "required": ["flower"]},
    )
    proofread = ToolSchema(
        name="proofread",
        description="spelling",
        parameters={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    )
    asked = Evidence.of("Who painted 'Sunflowers in a Vase' in 1888?")
    assert not hands_over_a_passage(asked, [florist])  # a quoted title is no passage for a flower
    assert hands_over_a_passage(Evidence.of("Check 'their going to the park tomorow' please"), [florist, proofread])


def test_a_request_asking_of_now_or_of_later_points_to_the_tool_that_tells_it() -> None:
    now = ToolSchema(name="river_level", description="The current water level of a river.", parameters={"type": "object", "properties": {"river": {"type": "string"}}, "required": ["river"]})
    later = ToolSchema(name="river_outlook", description="Predicted water levels for the next days.", parameters={"type": "object", "properties": {"river": {"type": "string"}}, "required": ["river"]})
    tools = [now, later]

    def first(request: str) -> str:
        points = support(Evidence.of(request), tools)
        return max(points, key=points.__getitem__)

    assert first("Will the Danube flood at the weekend?") == "river_outlook"
    assert first("Is the Danube flooding right now?") == "river_level"
    assert first("Is the Danube high?") == "river_level"  # asks how things are
    plain = support(Evidence.of("Is the Danube high?"), [now])  # one frame offered: nothing to tell apart
    assert plain == support(Evidence.of("The Danube, high?"), [now])


def test_code_a_request_writes_is_taken_whole_with_the_calls_inside_it() -> None:
    run = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}
    assert enums(run, "What would print(sorted(set('banana'))) show?")["code"] == ["print(sorted(set('banana')))"]


def test_a_place_named_where_something_is_adds_to_the_grounds_of_a_tool_that_needs_one() -> None:
    surf = ToolSchema(
        name="surf_report",
        description="Wave height and wind at a beach.",
        parameters={"type": "object", "properties": {"beach": {"type": "string"}, "spot_town": {"type": "string", "description": "town"}}, "required": ["spot_town"]},
    )
    assert Evidence.of("Should I bring my board to Biarritz, or is it flat in Hossegor?").places_named == ["Hossegor"]
    assert Evidence.of("Anything worth doing in March at the Orsay?").places_named == ["Orsay"]  # a month is no place
    # the place adds to the words shared with the tool ("wind"); alone it could be any tool's
    assert grounds(Evidence.of("How strong is the wind in Hossegor this morning?"), [surf]) == 2
    assert grounds(Evidence.of("How strong is the wind this morning?"), [surf]) == 1
    assert grounds(Evidence.of("Is it worth paddling out in Hossegor this morning?"), [surf]) == 0


def test_a_question_of_what_holds_in_general_asks_about_the_world_whatever_it_names() -> None:
    assert Evidence.of("How long does a typical flight from Lisbon to Madeira take?").asks_about_the_world()
    assert Evidence.of("What do people usually tip in Vienna?").asks_about_the_world()
    assert not Evidence.of("How long is flight TP1689 from Lisbon today?").asks_about_the_world()


def test_a_why_question_asks_about_the_world_unless_it_names_the_users_thing() -> None:
    assert Evidence.of("Why do some airlines skip row 13?").asks_about_the_world()
    assert Evidence.of("Why is Venice sinking by 2 mm a year?").asks_about_the_world()
    assert not Evidence.of("Why is parcel QX-2231 still in Leeds?").asks_about_the_world()
    assert not Evidence.of("Why was my card declined on 2026-03-02?").asks_about_the_world()


def test_a_question_asking_for_advice_or_a_comparison_asks_about_the_world() -> None:
    assert Evidence.of("How many bottles of wine should I buy for 30 guests?").asks_about_the_world()
    assert Evidence.of("What is a good way to label my spice jars?").asks_about_the_world()
    assert Evidence.of("What's the difference between Pilates and Barre?").asks_about_the_world()
    assert not Evidence.of("How many bottles of wine did I order for 30 guests?").asks_about_the_world()
    assert not Evidence.of("Could you order 6 bottles of the Rioja?").asks_about_the_world()
    # a time or an id of its own makes it about one thing: which of the two trains is faster?
    assert not Evidence.of("What's the difference between the 10:30 and the 11:00 trains?").asks_about_the_world()


def test_a_request_naming_an_id_asks_where_or_when_of_the_users_own_thing() -> None:
    bikes = [
        ToolSchema(name="rental_details", description="What a bike rental includes and where the bike is now.", parameters={"type": "object", "properties": {"rental_id": {"type": "string"}}, "required": ["rental_id"]}),
    ]
    assert grounds(Evidence.of("Where is the e-bike for rental BK-5530?"), bikes) > grounds(Evidence.of("Where is the e-bike for the rental?"), bikes)


def test_numbers_written_in_words() -> None:
    assert Evidence.of("Order a dozen bagels").numbers == [12.0]
    assert Evidence.of("Tip them a hundred rupees").numbers == [100.0]
    assert Evidence.of("We expect forty-five guests, maybe fifty two").numbers == [45.0, 52.0]
    assert Evidence.of("Transfer three thousand pesos").numbers == [3000.0]
    assert Evidence.of("a donkey and a mule").numbers == []  # "a" alone counts nothing
    # "grand" is a thousand after a number, not a piano or a street
    assert sorted(Evidence.of("The van cost eight grand, the trailer 3 grand").numbers) == [3000.0, 8000.0]
    assert Evidence.of("Tune a grand piano on 4 Grand Parade").numbers == [4.0]


def test_numbers_of_several_words_are_one_number() -> None:
    # the words of one number make one value, not one value a word
    assert Evidence.of("Seat a hundred and twenty guests").numbers == [120.0]
    assert len(Evidence.of("Seat a hundred and twenty guests").parts) == 1  # its "and" joins no two requests
    assert Evidence.of("It weighs two thousand four hundred kilos").numbers == [2400.0]
    assert Evidence.of("Budget twelve hundred euros for the trip").numbers == [1200.0]
    assert Evidence.of("Buy three dozen roses").numbers == [36.0]
    # a half and decimals in words
    assert Evidence.of("The baby is sixty-one and a half centimetres long").numbers == [61.5]
    assert Evidence.of("Her fever hit thirty-eight point two degrees").numbers == [38.2]
    # two numbers side by side stay two: a year read aloud, a list
    assert Evidence.of("Set it in nineteen sixty-eight").numbers == [19.0, 68.0]
    assert Evidence.of("Pick three, seven or nine").numbers == [3.0, 7.0, 9.0]


def test_a_sign_word_makes_a_number_negative_but_an_operator_does_not() -> None:
    assert Evidence.of("The freezer reads minus eighteen").numbers == [-18.0]
    assert Evidence.of("Convert negative 40 degrees").numbers == [-40.0]
    assert Evidence.of("Work out eleven minus four").numbers == [11.0, 4.0]
    assert Evidence.of("What is 15 minus 6?").numbers == [15.0, 6.0]


def test_half_a_unit_and_half_a_dozen() -> None:
    assert Evidence.of("Cut half a metre of ribbon").numbers == [0.5]
    assert Evidence.of("Bake half a dozen scones").numbers == [6.0]
    assert Evidence.of("There is half a chance of rain").numbers == []


def test_a_number_in_another_unit_is_converted_to_the_parameters() -> None:
    def offered(name: str, node: dict[str, Any], text: str) -> Any:
        probe = {"type": "object", "properties": {name: node}, "required": [name]}
        return narrow_arguments(probe, Evidence.of(text))["properties"][name]["enum"]

    assert offered("width_cm", {"type": "integer"}, "A shelf 1.2 metres wide") == [120]
    assert offered("load", {"type": "number", "description": "the most it holds (kg)"}, "It must hold 44 pounds") == [19.958064]
    assert offered("depth", {"type": "integer", "description": "depth in millimetres"}, "about 3 cm deep") == [30]
    # a number that counts things is no measure
    assert "enum" not in narrow_arguments(
        {"type": "object", "properties": {"height_cm": {"type": "integer"}}, "required": ["height_cm"]}, Evidence.of("A tree that is safe for my three dogs")
    )["properties"]["height_cm"]
    # a unit of another kind is no conversion: 2 hours stay 2
    assert offered("depth", {"type": "integer", "description": "depth in millimetres"}, "dig for 2 hours, 40 mm deep") == [40]


def test_an_age_is_no_length_of_time() -> None:
    nights = {"type": "object", "properties": {"nights": {"type": "integer"}}, "required": ["nights"]}
    assert narrow_arguments(nights, Evidence.of("Three nights for me and my seven-year-old niece"))["properties"]["nights"]["enum"] == [3]
    assert "enum" not in narrow_arguments(nights, Evidence.of("and for my seven-year-old niece"))["properties"]["nights"]


def test_describing_words_leave_out_values_names_and_dates() -> None:
    words = Evidence.of("Book Lena a gentle yoga class for 2 people on Friday").describing_words
    assert words == ["book", "gentle", "yoga", "class", "people"]


def test_a_national_number_dialled_with_its_zero_is_a_phone_number() -> None:
    assert Evidence.of("Text me on 07700 900461 when you arrive").phones == ["07700 900461"]
    assert Evidence.of("Ship 1200 120000 times").phones == []  # no leading 0: two numbers


def test_a_number_after_another_parameters_name_counts_no_item() -> None:
    line = {"type": "object", "properties": {"item": {"type": "string"}, "qty": {"type": "integer"}}, "required": ["item", "qty"]}
    order = {"type": "object", "properties": {"table": {"type": "string", "description": "table number"}, "lines": {"type": "array", "items": line}}, "required": ["table", "lines"]}
    narrowed = narrow_arguments(order, Evidence.of("Table 12: three lattes and one cinnamon bun"))["properties"]
    assert narrowed["table"]["enum"] == ["12"] and narrowed["lines"]["maxItems"] == 2


def test_a_part_opening_with_one_more_id_of_the_same_shape_is_a_call_of_its_own() -> None:
    archive = ToolSchema(
        name="archive_invoice",
        description="Archive an invoice",
        parameters={
            "type": "object",
            "properties": {"invoice_id": {"type": "string"}, "reason": {"type": "string", "enum": ["paid", "void", "duplicate"]}},
            "required": ["invoice_id", "reason"],
        },
    )
    two = Evidence.of("Archive invoices INV-77 and INV-78 as paid")
    assert len(two.parts) == 2 and extent(archive, two, [archive], 0) == 0
    # an id of another shape is another parameter's ("for version v2"), not a second invoice
    versioned = ToolSchema(
        name="export_bot",
        description="Export a bot",
        parameters={"type": "object", "properties": {"bot_id": {"type": "string"}, "version": {"type": "string"}}, "required": ["bot_id", "version"]},
    )
    one = Evidence.of("Export bot BX-2001 and for version v2")
    assert extent(versioned, one, [versioned], 0) == len(one.parts) - 1
