"""Arguments bound by the model's likelihood (decision/binding.py): which assignments are
scored, on the scripted engine (deterministic), and what the real model chooses on requests
made up for these tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from radixagent.chat import ChatCompleter, ChatRequest
from radixagent.decision import DecisionSettings
from radixagent.decision.binding import bind, once_each
from radixagent.engine import ChoicesConstraint, Constraint, Prompt, ScriptedEngine
from radixagent.engine.embedded import EmbeddedEngine
from radixagent.engine.prefix import PrefixLedger
from radixagent.evidence import Evidence
from radixagent.prompting import Transcript
from radixagent.schemas import ToolSchema

RESIZE = {
    "type": "object",
    "properties": {"width": {"type": "integer", "enum": [640, 480]}, "height": {"type": "integer", "enum": [640, 480]}},
    "required": ["width", "height"],
}


class Chooser:
    """A scripted engine's reply function: remembers the argument objects it was asked to
    score (whole: binding appends the JSON they all open with and scores the rest) and picks
    the one named."""

    def __init__(self, pick: dict[str, Any] | None) -> None:
        self.pick = json.dumps(pick) if pick is not None else None
        self.asked: list[list[str]] = []
        self.associations: list[list[str]] = []
        self.association_prompts: list[Prompt] = []
        self.engine = ScriptedEngine(self)

    def __call__(self, prompt: Prompt, constraint: Constraint | None) -> str:
        assert isinstance(constraint, ChoicesConstraint)
        text = self.engine.decode(prompt)
        opening = text.rsplit("Arguments: ", 1)[-1]
        whole = [opening + choice for choice in constraint.choices]
        if not whole[0].startswith("{"):  # an enum value's association with the request
            self.associations.append(list(constraint.choices))
            self.association_prompts.append(prompt)
            return constraint.choices[0]
        self.asked.append(whole)
        return constraint.choices[whole.index(self.pick)] if self.pick in whole else constraint.choices[0]


async def bound(arguments: dict[str, Any], schema: dict[str, Any], request: str, pick: dict[str, Any] | None) -> tuple[dict[str, Any], Chooser, Transcript]:
    chooser = Chooser(pick)
    transcript = Transcript(chooser.engine, PrefixLedger(), text="Arguments: ")
    start = transcript.mark()
    await transcript.append(json.dumps(arguments))
    result = await bind(transcript, start, arguments, schema, Evidence.of(request))
    return result, chooser, transcript


async def test_a_value_said_once_goes_to_one_parameter() -> None:
    result, chooser, transcript = await bound({"width": 640, "height": 640}, RESIZE, "Make the photo 640 wide and 480 high", {"width": 640, "height": 480})
    assert result == {"width": 640, "height": 480}
    assert transcript.text == 'Arguments: {"width": 640, "height": 480}'
    # both orders are scored, never 640 twice
    assert sorted(chooser.asked[0]) == ['{"width": 480, "height": 640}', '{"width": 640, "height": 480}']


async def test_a_number_inside_a_title_given_is_not_given_again() -> None:
    seats = {
        "type": "object",
        "properties": {"play": {"type": "string", "enum": ["Henry 5", "Henry"]}, "seats": {"type": "integer", "enum": [4, 5]}},
        "required": ["play", "seats"],
    }
    result, chooser, _ = await bound({"play": "Henry 5", "seats": 5}, seats, "4 seats for Henry 5", {"play": "Henry 5", "seats": 4})
    assert result == {"play": "Henry 5", "seats": 4}
    # the title holds the request's one 5: no assignment gives it again
    assert '{"play": "Henry 5", "seats": 5}' not in chooser.asked[0] and '{"play": "Henry 5", "seats": 4}' in chooser.asked[0]


async def test_a_value_said_twice_may_fill_two_parameters() -> None:
    result, chooser, _ = await bound({"width": 640, "height": 640}, RESIZE, "A square of 640 by 640, not 480", None)
    assert result == {"width": 640, "height": 640} and chooser.asked == []  # nothing given twice too often: kept


async def test_values_generation_copied_without_repeating_one_are_kept() -> None:
    result, chooser, _ = await bound({"width": 480, "height": 640}, RESIZE, "Make it 640 high and 480 wide", None)
    assert result == {"width": 480, "height": 640} and chooser.asked == []


async def test_an_enum_the_request_does_not_name_is_scored_whole() -> None:
    schema = {
        "type": "object",
        "properties": {"amount": {"type": "number", "enum": [120]}, "currency": {"type": "string", "enum": ["JOD", "JPY", "USD"]}},
        "required": ["amount", "currency"],
    }
    result, chooser, _ = await bound({"amount": 120, "currency": "JOD"}, schema, "Send 120 in Japanese yen", {"amount": 120, "currency": "JPY"})
    assert result["currency"] == "JPY" and len(chooser.asked[0]) == 3
    # its values are scored, as a glossary writes codes, after a phrase that says nothing and
    # after the request's phrase that writes a currency out
    assert chooser.associations == [["JOD)", "JPY)", "USD)"]] * 3
    assert chooser.association_prompts == ["currency:\nit (", "currency:\nJapanese yen (", "currency:\nJapanese ("]


async def test_a_value_said_once_goes_to_one_parameter_at_any_depth() -> None:
    three = {"type": "integer", "enum": [3, 5, 2]}
    booking = {"type": "object", "properties": {"cabins": three, "party": {"type": "object", "properties": {"grown_ups": three, "kids": three}}}}
    written = {"cabins": 3, "party": {"grown_ups": 5, "kids": 3}}  # the 3 of "3 cabins" given to the kids too
    wanted = {"cabins": 3, "party": {"grown_ups": 5, "kids": 2}}
    result, chooser, transcript = await bound(written, booking, "3 cabins on the ferry for 5 grown-ups and 2 kids", wanted)
    # every assignment scored gives each number to one parameter only, nested ones included
    scored = [json.loads(o) for o in chooser.asked[0]]
    assert len(scored) == 6 and all(sorted([o["cabins"], *o["party"].values()]) == [2, 3, 5] for o in scored)
    assert result == wanted and transcript.text == f"Arguments: {json.dumps(wanted)}"


async def test_the_items_of_a_list_bind_their_values_once_each() -> None:
    fruit, grams = {"type": "string", "enum": ["plums", "figs"]}, {"type": "integer", "enum": [300, 120]}
    basket = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"fruit": fruit, "grams": grams}}}}}
    written = {"items": [{"fruit": "plums", "grams": 120}, {"fruit": "figs", "grams": 120}]}
    wanted = {"items": [{"fruit": "plums", "grams": 300}, {"fruit": "figs", "grams": 120}]}
    result, chooser, transcript = await bound(written, basket, "300 g of plums and 120 g of figs", wanted)
    scored = [json.loads(o)["items"] for o in chooser.asked[0]]
    # each item takes the values written together: 300 with plums, 120 with figs, in either order
    assert sorted(json.dumps(items) for items in scored) == sorted(json.dumps(items) for items in (wanted["items"], wanted["items"][::-1]))
    assert result == wanted and transcript.text == f"Arguments: {json.dumps(wanted)}"
    assert written["items"][0]["grams"] == 120  # the arguments written are not changed in place


async def test_an_item_takes_the_values_written_beside_each_other() -> None:
    code, crates = {"type": "string", "enum": ["K-5", "T-2"]}, {"type": "integer", "enum": [3, 9]}
    line = {"type": "object", "properties": {"code": code, "crates": crates}}
    schema = {"type": "object", "properties": {"depot": {"type": "string"}, "lines": {"type": "array", "items": line}}}
    written = {"depot": "Leeds", "lines": [{"code": "K-5", "crates": 9}, {"code": "T-2", "crates": 9}]}
    for request, pairs in (
        ("Restock Leeds with 3 crates of K-5 and 9 of T-2", {"K-5": 3, "T-2": 9}),
        ("For Leeds: T-2 x 3, K-5 x 9", {"T-2": 3, "K-5": 9}),
    ):
        result, chooser, _ = await bound(written, schema, request, None)
        # the first assignment scored wins: every one scored pairs each code with its own count
        for option in [json.loads(o) for o in chooser.asked[0]] + [result]:
            assert {line["code"]: line["crates"] for line in option["lines"]} == pairs
    # items written with no value twice but each with the other's count are bound again
    crossed = {"depot": "Leeds", "lines": [{"code": "K-5", "crates": 9}, {"code": "T-2", "crates": 3}]}
    result, _, _ = await bound(crossed, schema, "Restock Leeds with 3 crates of K-5 and 9 of T-2", None)
    assert {line["code"]: line["crates"] for line in result["lines"]} == {"K-5": 3, "T-2": 9}
    # closeness pairs the values; it does not choose them: a unit beside its number is no name
    unit = {"type": "object", "properties": {"fruit": {"type": "string", "enum": ["g", "plums", "figs"]}, "grams": {"type": "integer", "enum": [300, 120]}}}
    basket = {"type": "object", "properties": {"items": {"type": "array", "items": unit}}}
    wanted = {"items": [{"fruit": "plums", "grams": 300}, {"fruit": "figs", "grams": 120}]}
    written = {"items": [{"fruit": "plums", "grams": 120}, {"fruit": "figs", "grams": 120}]}
    result, chooser, _ = await bound(written, basket, "300 g of plums and 120 g of figs", wanted)
    assert result == wanted and json.dumps(wanted) in chooser.asked[0]
    kept = {"depot": "Leeds", "lines": [{"code": "K-5", "crates": 3}, {"code": "T-2", "crates": 9}]}
    result, chooser, _ = await bound(kept, schema, "Restock Leeds with 3 crates of K-5 and 9 of T-2", None)
    assert result == kept and chooser.asked == []  # already together: nothing scored


async def test_an_item_finds_its_values_beside_each_other_in_the_whole_request() -> None:
    # the call serves the request's second part, which holds one item's values only: closeness
    # is read over the whole request
    code, crates = {"type": "string", "enum": ["drums", "bales"]}, {"type": "integer", "enum": [5, 2]}
    line = {"type": "object", "properties": {"what": code, "n": crates}}
    schema = {"type": "object", "properties": {"lines": {"type": "array", "items": line}}}
    written = {"lines": [{"what": "drums", "n": 2}, {"what": "bales", "n": 2}]}
    request = "Haul 5 drums and 2 bales from the yard"
    chooser = Chooser(None)
    transcript = Transcript(chooser.engine, PrefixLedger(), text="Arguments: ")
    start = transcript.mark()
    await transcript.append(json.dumps(written))
    part = Evidence.of(request).parts[1]
    result = await bind(transcript, start, written, schema, part, context=Evidence.of(request))
    assert {line["what"]: line["n"] for line in result["lines"]} == {"drums": 5, "bales": 2}


def test_a_value_two_items_repeat_is_left_to_binding() -> None:
    line = {"type": "object", "properties": {"what": {"type": "string", "enum": ["drums", "bales"]}, "n": {"type": "integer"}}}
    schema = {"type": "object", "properties": {"owner": {"type": "string", "enum": ["drums", "Lola"]}, "lines": {"type": "array", "items": line}}}
    request = Evidence.of("Haul 5 drums and 2 bales for Lola")
    # both items wrote "drums": their one schema keeps both values, binding gives each its own
    assert once_each({"lines": [{"what": "drums", "n": 5}, {"what": "drums", "n": 2}]}, schema, request) is None
    # a top-level parameter repeating an item's value still loses it
    again = once_each({"lines": [{"what": "drums", "n": 5}], "owner": "drums"}, schema, request)
    assert again is not None and again["properties"]["owner"]["enum"] == ["Lola"]


async def test_more_parameters_than_values_still_bind_the_values_there_are() -> None:
    day, count = {"type": "string", "enum": ["2031-06-02", "2031-06-09"]}, {"type": "integer", "enum": [2, 4]}
    schema = {"type": "object", "properties": {"arrive": day, "leave": day, "rooms": count, "adults": count, "kids": count}}
    written = {"arrive": "2031-06-02", "leave": "2031-06-02", "rooms": 2, "adults": 4, "kids": 2}
    result, chooser, _ = await bound(written, schema, "Book 2 rooms for 4 adults from 2031-06-02 to 2031-06-09", None)
    # no assignment gives three counts two numbers once each: one parameter at a time, the day
    # generation gave twice goes once; the count left without a number keeps what was written
    assert result == {"arrive": "2031-06-02", "leave": "2031-06-09", "rooms": 2, "adults": 4, "kids": 2}
    assert [len(asked) for asked in chooser.asked] == [2, 2]


async def test_nothing_to_choose_scores_nothing() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "enum": [3]}}}
    result, chooser, transcript = await bound({"city": "Oslo", "days": 3}, schema, "Oslo for 3 days", {})
    assert result == {"city": "Oslo", "days": 3} and chooser.asked == []
    assert transcript.text == 'Arguments: {"city": "Oslo", "days": 3}'


async def test_too_many_assignments_are_chosen_one_parameter_at_a_time() -> None:
    numbers = list(range(1, 9))
    schema = {"type": "object", "properties": {name: {"type": "integer", "enum": numbers} for name in "abc"}}
    request = "Use " + ", ".join(str(n) for n in numbers)
    result, chooser, _ = await bound({"a": 1, "b": 1, "c": 1}, schema, request, None)  # the first choice wins
    # 8 x 7 x 6 assignments are too many: one request per parameter, the values taken before it excluded
    assert result == {"a": 1, "b": 2, "c": 3}
    assert [len(asked) for asked in chooser.asked] == [8, 7, 6]


def test_scale_words_belong_to_their_number() -> None:
    assert Evidence.of("a budget of 3 million euros").numbers == [3_000_000.0]
    assert Evidence.of("valued at 1.2bn, hiring 15k people").numbers == [1_200_000_000.0, 15_000.0]
    assert Evidence.of("run 5 km with 2 friends").numbers == [5.0, 2.0]


# --- the real model, on requests made up for these tests --------------------------------------

TRANSFER = ToolSchema(
    name="move_funds",
    description="Move money between two of the user's accounts",
    parameters={
        "type": "object",
        "properties": {
            "source_account": {"type": "integer", "description": "number of the account to take the money from"},
            "target_account": {"type": "integer", "description": "number of the account that receives it"},
            "sum": {"type": "number"},
        },
        "required": ["source_account", "target_account", "sum"],
    },
)


def _request(user: str, tools: list[ToolSchema]) -> ChatRequest:
    return ChatRequest.model_validate(
        {
            "messages": [{"role": "user", "content": user}],
            "tools": [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}} for t in tools],
            "tool_choice": "required",
            "max_tokens": 48,
        }
    )


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[EmbeddedEngine]:
    eng = EmbeddedEngine(context_size=2048, slots=2, threads=2)
    await eng.start()
    yield eng
    await eng.aclose()


async def test_the_model_binds_each_number_once(engine: EmbeddedEngine) -> None:
    chat = ChatCompleter(engine, decision=DecisionSettings())
    result = await chat.complete(_request("Please move 250 from account 7311 to account 9024", [TRANSFER]))
    arguments = json.loads(result.tool_calls[0].arguments)
    values = [arguments["source_account"], arguments["target_account"], arguments["sum"]]
    assert sorted(values) == [250, 7311, 9024], arguments  # every number once, none twice


def test_a_span_never_cuts_a_capitalised_name() -> None:
    spans = Evidence.of("Ship the parcel to Port Elizabeth Harbour on Monday").spans
    assert "Port Elizabeth Harbour" in spans
    assert "Elizabeth Harbour" not in spans and "Port Elizabeth" not in spans
    # the first word of a sentence is capitalised for the sentence, not for a name
    assert "Greta Lindqvist" in Evidence.of("Invite Greta Lindqvist to lunch").spans


def test_a_number_word_that_counts_the_values_after_it_is_no_value() -> None:
    assert Evidence.of("Check the tides in two harbours: Brest and Cherbourg").numbers == []
    assert Evidence.of("Reserve two cabins for 5 nights").numbers == [5.0, 2.0]


def test_the_number_of_a_compound_is_a_value() -> None:
    evidence = Evidence.of("I need a 4-night stay near the harbour")
    assert evidence.numbers == [4.0]
    assert evidence.served_by([{"nights": 4}], [])  # "4-night" asks for nothing beyond the 4
    assert Evidence.of("Track parcel ZX-4471 please").numbers == []


DISTANCE = ToolSchema(
    name="convert_distance",
    description="Convert a distance between units",
    parameters={
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "from_unit": {"type": "string", "enum": ["km", "m", "mi", "ft"]},
            "to_unit": {"type": "string", "enum": ["km", "m", "mi", "ft"]},
        },
        "required": ["value", "from_unit", "to_unit"],
    },
)


async def test_the_model_picks_units_the_request_names_in_words(engine: EmbeddedEngine) -> None:
    chat = ChatCompleter(engine, decision=DecisionSettings())
    result = await chat.complete(_request("A marathon is 26.2 miles: how long is that in kilometres?", [DISTANCE]))
    arguments = json.loads(result.tool_calls[0].arguments)
    # the two units it names in words, each once (which is which, the 135M model may swap)
    assert arguments["value"] == 26.2 and {arguments["from_unit"], arguments["to_unit"]} == {"mi", "km"}


async def test_one_named_value_narrowed_onto_two_parameters_reopens_their_own_values() -> None:
    units = {"type": "string", "enum": ["kg", "g", "lb"]}
    original = {"type": "object", "properties": {"value": {"type": "number"}, "from_unit": units, "to_unit": units}}
    narrowed = {"type": "object", "properties": {"value": {"type": "number", "enum": [3]}, "from_unit": {**units, "enum": ["kg"]}, "to_unit": {**units, "enum": ["kg"]}}}
    chooser = Chooser({"value": 3, "from_unit": "kg", "to_unit": "lb"})
    transcript = Transcript(chooser.engine, PrefixLedger(), text="Arguments: ")
    start = transcript.mark()
    generated = {"value": 3, "from_unit": "kg", "to_unit": "kg"}
    await transcript.append(json.dumps(generated))
    result = await bind(transcript, start, generated, narrowed, Evidence.of("What is 3 kg in pounds?"), original)
    assert result == {"value": 3, "from_unit": "kg", "to_unit": "lb"}
    assert '{"value": 3, "from_unit": "kg", "to_unit": "kg"}' not in chooser.asked[0]


async def test_a_parameter_narrowed_to_another_value_keeps_it_when_two_reopen() -> None:
    units = {"type": "string", "enum": ["kg", "g", "lb"]}
    shelf = {"type": "string", "enum": ["pantry", "fridge", "freezer"]}
    original = {"type": "object", "properties": {"from_unit": units, "to_unit": units, "shelf": shelf}}
    narrowed = {"type": "object", "properties": {"from_unit": {**units, "enum": ["g"]}, "to_unit": {**units, "enum": ["g"]}, "shelf": {**shelf, "enum": ["freezer"]}}}
    chooser = Chooser({"from_unit": "g", "to_unit": "lb", "shelf": "freezer"})
    transcript = Transcript(chooser.engine, PrefixLedger(), text="Arguments: ")
    start = transcript.mark()
    generated = {"from_unit": "g", "to_unit": "g", "shelf": "freezer"}
    await transcript.append(json.dumps(generated))
    result = await bind(transcript, start, generated, narrowed, Evidence.of("Log 400 g of peas in the freezer, in pounds"), original)
    assert result == {"from_unit": "g", "to_unit": "lb", "shelf": "freezer"}
    assert all('"shelf": "freezer"' in choice for choice in chooser.asked[0])  # the freezer the request names stays


def test_the_phrases_a_code_may_be_written_out_as() -> None:
    # the words where a unit stands, and names, each once
    assert Evidence.of("Wire 60 Polish zloty in Danish kroner").value_phrases == ["Polish zloty", "zloty", "Danish kroner", "Polish", "Danish"]
    assert Evidence.of("Post the letter to Norway by Friday").value_phrases == ["Norway"]  # a weekday is a date


def _coded(name: str, description: str, parameters: dict[str, tuple[str, list[str]]]) -> ToolSchema:
    properties: dict[str, Any] = {"quantity": {"type": "number"}}
    properties |= {key: {"type": "string", "description": text, "enum": values} for key, (text, values) in parameters.items()}
    return ToolSchema(name=name, description=description, parameters={"type": "object", "properties": properties, "required": list(properties)})


async def test_the_model_picks_the_codes_a_request_writes_out_in_words(engine: EmbeddedEngine) -> None:
    # codes no letter of the request spells, each chosen by the phrase that writes it out (scored
    # against the whole request instead, the model's favourites won: USD, US)
    chat = ChatCompleter(engine, decision=DecisionSettings())
    money = ["USD", "EUR", "GBP", "INR", "SEK", "CHF", "KRW", "JPY"]
    pay = _coded("pay_abroad", "Pay an amount abroad", {"source": ("currency code of the amount", money), "target": ("currency code paid out", money)})
    result = await chat.complete(_request("Pay 70 Japanese yen in Swiss francs", [pay]))
    arguments = json.loads(result.tool_calls[0].arguments)
    assert {arguments["source"], arguments["target"]} == {"JPY", "CHF"}, arguments
    countries = ["US", "DE", "CH", "JP", "FR", "KR", "GB", "IT"]
    ship = _coded("ship_boxes", "Ship boxes abroad", {"country": ("two-letter country code of the destination", countries)})
    result = await chat.complete(_request("Ship 2 crates to Germany", [ship]))
    assert json.loads(result.tool_calls[0].arguments)["country"] == "DE"


async def test_a_tool_whose_schema_asks_for_unique_items_is_called(engine: EmbeddedEngine) -> None:
    # `uniqueItems` is an assertion llama.cpp's grammar engine cannot compile: the call is made
    # without it in the grammar, and a repeated tag is left out of what it wrote
    tag = ToolSchema(
        name="tag_photo",
        description="Tag a photo",
        parameters={
            "type": "object",
            "properties": {"photo": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
            "required": ["photo", "tags"],
        },
    )
    chat = ChatCompleter(engine, decision=DecisionSettings())
    result = await chat.complete(_request("Tag photo IMG-2291 with beach, sunset and beach", [tag]))
    arguments = json.loads(result.tool_calls[0].arguments)
    assert arguments["photo"] == "IMG-2291" and len(set(arguments["tags"])) == len(arguments["tags"]) > 0, arguments


async def test_a_number_written_as_a_string_and_as_a_number_is_one_value() -> None:
    lookup = {
        "type": "object",
        "properties": {"code": {"type": "string", "enum": ["BX-2", "14"]}, "qty": {"type": "integer", "enum": [14]}},
        "required": ["code", "qty"],
    }
    result, chooser, _ = await bound({"code": "14", "qty": 14}, lookup, "Restock BX-2 with 14 units", {"code": "BX-2", "qty": 14})
    assert result == {"code": "BX-2", "qty": 14}
    assert all('"code": "14"' not in option for asked in chooser.asked for option in asked)  # 14 once


async def test_a_word_said_of_every_item_is_each_items() -> None:
    guest = {"type": "object", "properties": {"name": {"type": "string", "enum": ["Ana", "Ben"]}, "meal": {"type": "string", "enum": ["quiche"]}}}
    narrowed = {"type": "object", "properties": {"guests": {"type": "array", "items": guest}}}
    original = {"type": "object", "properties": {"guests": {"type": "array", "items": {**guest, "properties": {**guest["properties"], "meal": {"type": "string", "enum": ["beef", "quiche", "fish"]}}}}}}
    written = {"guests": [{"name": "Ana", "meal": "quiche"}, {"name": "Ben", "meal": "quiche"}]}
    for request, kept in (("Seat Ana and Ben at table 2, both having the quiche", True), ("Seat Ana and Ben at table 2, one having the quiche", False)):
        chooser = Chooser({"guests": [{"name": "Ana", "meal": "beef"}, {"name": "Ben", "meal": "quiche"}]})
        transcript = Transcript(chooser.engine, PrefixLedger(), text="Arguments: ")
        start = transcript.mark()
        await transcript.append(json.dumps(written))
        result = await bind(transcript, start, written, narrowed, Evidence.of(request), original)
        # "both": the quiche is each guest's; said once of one, the meals are chosen again
        assert (result == written) is kept


def test_assignments_are_cut_as_soon_as_a_value_is_given_too_often() -> None:
    from radixagent.decision.binding import _assignments

    # twelve parameters, six values each said once: no assignment exists, found without walking
    # the 6**12 combinations
    domains: dict[tuple[str | int, ...], list[str | int | float | bool]] = {(f"p{i}",): [1, 2, 3, 4, 5, 6] for i in range(12)}
    assert list(_assignments({f"p{i}": 1 for i in range(12)}, domains, {})) == []
    two = {("a",): [1, 2], ("b",): [1, 2]}
    assert list(_assignments({"a": 1, "b": 1}, two, {})) == [{"a": 1, "b": 2}, {"a": 2, "b": 1}]


def test_options_are_scored_past_the_json_they_all_open_with() -> None:
    from radixagent.decision.binding import _shared_opening

    assert _shared_opening(['{"w": 640, "h": 480}', '{"w": 640, "h": 640}']) == '{"w": 640, "h":'
    assert _shared_opening(['{"w": 480}', '{"w": 640}']) == '{"w":'
    assert _shared_opening(['{"w": 480}', '{"w": 480}']) == ""  # the same text twice: scored whole
