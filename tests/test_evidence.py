"""The request's own evidence: values found in a message, argument schemas narrowed to them,
tool ranking, call counting; the decision layer using it on the scripted engine (deterministic)
and each benchmark strategy end to end on the real embedded engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from radixagent import Agent
from radixagent.chat import ChatCompleter, ChatRequest
from radixagent.decision import DecisionSettings
from radixagent.engine import (
    ChoicesConstraint,
    Completion,
    Constraint,
    JsonSchemaConstraint,
    Prompt,
    ScriptedEngine,
    Usage,
)
from radixagent.engine.embedded import EmbeddedEngine
from radixagent.evidence import Evidence, asked_text, narrow_arguments, rank_tools, terms
from radixagent.evidence.support import beyond_the_tools, grounds, hands_over_a_passage, support, unheld_inputs
from radixagent.evidence.values import described_numbers
from radixagent.evidence.words import stem
from radixagent.schemas import ToolSchema
from toolcall_bench import STRATEGIES, request_body
from toolcalls.scoring import ModelOutput, OutputCall, load_benchmark, score_case

ROOT = Path(__file__).resolve().parents[1]

EVENT = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "start_time": {"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$", "description": "HH:MM, 24-hour clock"},
        "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 480, "default": 30},
        "attendees": {"type": "array", "items": {"type": "string"}, "description": "e-mail addresses", "default": []},
        "recurrence": {
            "type": "object",
            "properties": {"frequency": {"type": "string", "enum": ["daily", "weekly", "monthly"]}, "count": {"type": "integer", "minimum": 1}},
            "required": ["frequency", "count"],
        },
    },
    "required": ["title", "date", "start_time"],
}
LIGHT = ToolSchema(
    name="set_light",
    description="Switch a room's light on or off",
    parameters={
        "type": "object",
        "properties": {"room": {"type": "string", "enum": ["kitchen", "living_room", "bedroom"]}, "on": {"type": "boolean"}},
        "required": ["room", "on"],
    },
)
DOOR = ToolSchema(
    name="lock_door",
    description="Lock or unlock a door",
    parameters={
        "type": "object",
        "properties": {"door": {"type": "string", "enum": ["front", "back"]}, "locked": {"type": "boolean", "default": True}},
        "required": ["door"],
    },
)
WEATHER = ToolSchema(
    name="get_weather",
    description="Current weather conditions for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


# --- values in a message --------------------------------------------------------------------


def test_typed_values_are_found_and_normalised() -> None:
    found = Evidence.of("Book a 90 minute 'Budget planning' meeting on March 3, 2025 at 1 pm with ana@x.io; pay $1,250.75.")
    assert found.dates == ["2025-03-03"]
    assert found.times == ["13:00"]
    assert found.emails == ["ana@x.io"]
    assert found.quoted == ["Budget planning"]
    assert found.numbers == [90.0, 1250.75]  # the date's and the time's digits are not numbers of their own
    assert Evidence.of("Two-day forecast, 2025-04-17 at 9:05").numbers == [2.0]
    assert Evidence.of("at 12 am, then 12 pm").times == ["00:00", "12:00"]


def test_spans_skip_stop_word_edges_and_keep_quotes_whole() -> None:
    spans = Evidence.of("Search my inbox for messages about the dentist.").spans
    assert "dentist" in spans and "messages about the dentist" in spans
    assert "the dentist" not in spans and "for" not in spans
    assert Evidence.of("Play 'Blue in Green' now").spans[0] == "Blue in Green"
    # a capitalised stop word opens a name, and is no value alone
    spans = Evidence.of("Book a room. The Grand Budapest has one").spans
    assert "The Grand Budapest" in spans and "The" not in spans


def test_no_span_runs_past_a_label_s_colon() -> None:
    spans = Evidence.of("Two tickets for the 19:45 show. Holder: Ingrid Solberg, row F.").spans
    assert "Ingrid Solberg" in spans and not any("Holder Ingrid" in s for s in spans)
    assert "19:45 show" in spans  # a time's colon is no label's


def test_a_quote_may_run_into_a_particle_but_not_into_a_latin_word() -> None:
    assert Evidence.of("'좋은 아침입니다'를 영어로 바꿔 주세요").quoted == ["좋은 아침입니다"]
    assert Evidence.of("Rate the line 'rain all week' please").quoted == ["rain all week"]
    assert Evidence.of("It's fine, the dog's bowl is 'full'").quoted == ["full"]  # apostrophes are not quotes
    assert Evidence.of("Tunes from the '80s and the '90s").quoted == []


def test_no_span_cuts_into_a_quotation() -> None:
    found = Evidence.of("'비가 오는 날'이라는 시를 영어로 옮겨 주세요")
    assert found.spans[0] == "비가 오는 날"
    assert not any("'" in span or ("오는 날" in span and span != "비가 오는 날") for span in found.spans)
    assert "Red Bicycle" not in " ".join(Evidence.of("Rename 'The Red Bicycle Shop' to Cycles").spans[1:])


def test_parts_split_coordination_but_not_numbers_or_dates() -> None:
    assert [p.text for p in Evidence.of("Compare the weather in Oslo and in Helsinki.").parts] == [
        "Compare the weather in Oslo",
        "in Helsinki.",
    ]
    assert len(Evidence.of("Send $1,250.75 on March 3, 2025 to Carlos").parts) == 1
    assert len(Evidence.of("Turn off the light, lock the front door and set the heating to 18").parts) == 3


def test_a_comma_between_names_says_more_of_the_first_unless_a_list_closes() -> None:
    assert len(Evidence.of("Find a quiet hotel in Lyon, France for the weekend").parts) == 1
    assert len(Evidence.of("Book a room at the Grand Hotel, Tartu for Friday").parts) == 1
    assert [p.text for p in Evidence.of("Ship the crates to Porto, Braga and Faro").parts] == ["Ship the crates to Porto", "Braga", "Faro"]
    assert [p.text for p in Evidence.of("Ship the crates to Porto, Braga or Faro, whichever is cheaper").parts] == [
        "Ship the crates to Porto",
        "Braga or Faro",
        "whichever is cheaper",
    ]


def test_a_name_of_several_capitalised_words_is_one_value() -> None:
    assert Evidence.of("Put on something by Nina Simone, please").values([]) == ["Nina Simone"]
    assert Evidence.of("Flights from Buenos Aires to Santiago").values([]) == ["Buenos Aires", "Santiago"]
    # punctuation ends a name: the next sentence's first word is no part of it
    assert "Gdansk" in Evidence.of("Is it snowing in Gdansk? Tell me.").values([])


def test_a_value_stands_by_its_parameters_name_not_past_an_and() -> None:
    gate = {"type": "object", "properties": {"gate": {"type": "string"}}, "required": ["gate"]}
    offered = narrow_arguments(gate, Evidence.of("Pick me up at the Maple Court gate and wait for 10 minutes"))["properties"]["gate"]["enum"]
    assert "Maple Court" in offered and not any("wait" in o for o in offered)  # not "wait for 10 minutes", after "gate and"
    assert narrow_arguments(gate, Evidence.of("Pick me up at gate B7 please"))["properties"]["gate"]["enum"] == ["B7"]


def test_the_verbs_a_request_asks_with_are_no_values() -> None:
    lesson = {"type": "object", "properties": {"instrument": {"type": "string"}}, "required": ["instrument"]}
    offered = narrow_arguments(lesson, Evidence.of("I need someone to teach my son the cello"))["properties"]["instrument"]["enum"]
    assert "cello" in offered and not any(o.split()[0] in ("need", "help") for o in offered)
    # a query may hold them: "help" is what is searched for
    query = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    assert "help with printers" in narrow_arguments(query, Evidence.of("Search the wiki for help with printers"))["properties"]["query"]["enum"]


def test_a_name_is_offered_without_the_words_leading_to_it() -> None:
    gallery = {"type": "object", "properties": {"gallery": {"type": "string"}}, "required": ["gallery"]}
    offered = narrow_arguments(gallery, Evidence.of("Any prints for sale near Tate Modern?"))["properties"]["gallery"]["enum"]
    assert "Tate Modern" in offered and not any(o.endswith(" Tate Modern") for o in offered)
    venue = {"type": "object", "properties": {"venue": {"type": "string"}}, "required": ["venue"]}
    offered = narrow_arguments(venue, Evidence.of("Is a table free at the Old Mill?"))["properties"]["venue"]["enum"]
    assert "Old Mill" in offered and "free at the Old Mill" not in offered


def test_the_word_opening_a_sentence_names_nothing_by_its_capital() -> None:
    assert Evidence.of("The pump is broken. Could you reorder it? Thanks").name_tokens == []
    assert Evidence.of("Ring Dr. Okafor at noon").name_tokens == ["Dr", "Okafor"]
    # a first and last name the sentence opens with, then its verb, is the sentence's subject
    assert Evidence.of("Odile Brandt needs a quiet room. Tomas Ek has one").names_whole == ["Odile Brandt", "Tomas Ek"]
    assert Evidence.of("Stream Nils Frahm albums").names_whole == ["Nils Frahm"]  # a verb, then a name
    gift = {"type": "object", "properties": {"donor": {"type": "string"}, "usd": {"type": "number"}}, "required": ["donor", "usd"]}
    assert "Odile Brandt" in narrow_arguments(gift, Evidence.of("Odile Brandt wants to donate 40 dollars"))["properties"]["donor"]["enum"]


def test_dates_written_with_dots_or_without_a_year() -> None:
    assert Evidence.of("Book it for 2026.2.9, please").dates == ["2026-02-09"]
    # a day without its year is the next such day
    found = Evidence.of("Is the pool open on the 9th of February or February 11th?", today=date(2026, 12, 6))
    assert (found.dates, found.told) == (["2027-02-09", "2027-02-11"], {"2027-02-09", "2027-02-11"})
    assert Evidence.of("Is the pool open on the 9th of February?", today=date(2026, 1, 20)).dates == ["2026-02-09"]
    # a year the request gives for one date is the others' too; a word of a date names nothing
    found = Evidence.of("Move the 9th of February meeting to March 2, 2027")
    assert found.dates == ["2027-02-09", "2027-03-02"] and found.values([]) == ["2027-02-09", "2027-03-02"]
    assert Evidence.of("You may 3 times").dates == []


def test_a_date_without_a_year_is_the_next_such_day() -> None:
    schema = {"type": "object", "properties": {"day": {"type": "string", "description": "YYYY-MM-DD"}, "venue": {"type": "string"}}, "required": ["day", "venue"]}
    narrowed = narrow_arguments(schema, Evidence.of("Is the Aquadrome pool open on the 9th of February?", today=date(2026, 3, 1)))["properties"]
    assert narrowed["day"]["enum"] == ["2027-02-09"]
    assert "9th of February" not in narrowed["venue"]["enum"] and "Aquadrome" in narrowed["venue"]["enum"]
    # an address is no date: it stays a value
    link = {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}
    assert "https://example.org/feed-2024.json" in narrow_arguments(link, Evidence.of("Fetch https://example.org/feed-2024.json?"))["properties"]["url"]["enum"]


def test_a_date_without_a_year_takes_the_year_the_request_states() -> None:
    spring = date(2026, 3, 1)
    assert Evidence.of("Any jazz nights in Leeds on June 3rd? It's for the year 2028.", today=spring).dates == ["2028-06-03"]
    assert Evidence.of("Book the hall for May 2nd in 2028", today=spring).dates == ["2028-05-02"]
    assert Evidence.of("What was on in 2019 on March 5?", today=spring).dates == ["2019-03-05"]
    # a number of things is no year
    assert Evidence.of("Deliver the puzzle of 2000 pieces on June 3rd", today=spring).dates == ["2026-06-03"]

def test_a_name_two_optional_parameters_could_take_goes_where_the_words_before_it_say() -> None:
    film = {"type": "string", "enum": ["drama", "comedy", "horror"]}
    shows = {
        "type": "object",
        "properties": {"genre": film, "director": {"type": "string", "description": "the film's director"}, "cast": {"type": "string", "description": "the film's leading actors"}},
        "required": [],
    }

    def given(text: str) -> dict[str, Any]:
        return {k: v.get("enum") for k, v in narrow_arguments(shows, Evidence.of(text))["properties"].items()}

    assert given("Any film with Idris Elba in it?") == {"cast": ["Idris Elba"]}
    assert given("A comedy directed by Taika Waititi") == {"genre": ["comedy"], "director": ["Taika Waititi"]}
    assert given("Films starring Olivia Colman") == {"cast": ["Olivia Colman"]}
    # a verb beats a preposition: "acted by" names an actor
    assert given("A horror film acted by Toni Collette") == {"genre": ["horror"], "cast": ["Toni Collette"]}
    # nothing says which: the tool's default
    assert given("Anything Jordan Peele?") == {}

def test_the_words_of_a_time_name_no_code_together() -> None:
    assert not Evidence.of("Collect the tart on Friday at 10 in the morning").mentions("10in")
    assert Evidence.of("A 10 in tart, apricot").mentions("10in")

def test_a_quantity_written_as_a_code_is_said_by_its_number_and_unit() -> None:
    pots = ["1L", "3L", "25L"]
    assert Evidence.of("Two 25 litre pots of mint").named(pots) == ["25L"]
    assert Evidence.of("An 8-inch lemon tart").named(["6in", "8in"]) == ["8in"]
    assert Evidence.of("Collect it at 8 in the morning").named(["6in", "8in"]) == []

def test_a_label_word_is_no_value() -> None:
    schema = {"type": "object", "properties": {"app": {"type": "string"}, "release": {"type": "string"}}, "required": ["app", "release"]}
    narrowed = narrow_arguments(schema, Evidence.of("Open the notes for Wombat. Use release number 31."))["properties"]
    assert narrowed["release"]["enum"] == ["31"]


def test_a_name_before_the_parameters_name_beats_a_plain_word_after_it() -> None:
    schema = {"type": "object", "properties": {"album": {"type": "string"}}, "required": ["album"]}
    assert "The Velvet Quarry" in narrow_arguments(schema, Evidence.of("I hear The Velvet Quarry album is great."))["properties"]["album"]["enum"]
    assert "Blue Harbor" in narrow_arguments(schema, Evidence.of("Play the album Blue Harbor now"))["properties"]["album"]["enum"]


def test_terms_stem_lightly_so_plurals_meet() -> None:
    assert terms("lights balances boxes weekly") == ["light", "balanc", "box", "week"]
    assert terms("balance") == terms("balances")
    # the verb and the noun of one word meet: "summarise" the text for a tool named for a "summary"
    assert terms("summarise summarize summary") == ["summar"] * 3
    assert terms("translate translation") == terms("translates translations")
    assert terms("city query") == ["city", "query"]  # short words keep their ending
    assert terms("get_current_weather") == ["get", "current", "weather"]


def test_rank_tools_prefers_the_tool_the_words_name() -> None:
    scores = rank_tools("Turn off the lights in the kitchen", [LIGHT, DOOR, WEATHER])
    assert max(scores, key=scores.__getitem__) == "set_light"
    assert scores["get_weather"] == 0.0


_RANKED_IN_A_PROCESS = """
from radixagent.evidence import rank_tools
from radixagent.schemas import ToolSchema
def tool(name, text): return ToolSchema(name=name, description=text, parameters={"type": "object", "properties": {}})
tools = [tool("ledger", "invoice invoice invoice refund refund payment customer customer customer customer account"), tool("mailer", "customer message payment reminder")]
print(repr(rank_tools("remind the customer about the refund of the invoice payment on the account", tools)))
"""


def test_rank_tools_scores_alike_in_every_process() -> None:
    # a tie between two tools must not be broken by the order a set of words iterates in,
    # which differs from one process to the next (string hashing)
    outputs = {
        subprocess.run([sys.executable, "-c", _RANKED_IN_A_PROCESS], env={**os.environ, "PYTHONHASHSEED": str(seed)}, capture_output=True, text=True, check=True).stdout
        for seed in range(6)
    }
    assert len(outputs) == 1


# --- narrowing argument schemas ----------------------------------------------------------------


def test_narrowed_schema_admits_only_the_messages_values() -> None:
    message = "Create a weekly 'Team standup' on 2025-05-05 at 09:15 with a@x.io and b@y.io, repeating 10 times."
    schema = narrow_arguments(EVENT, Evidence.of(message), tool_words=terms("create_event"))
    props = schema["properties"]
    assert props["date"]["enum"] == ["2025-05-05"]
    assert props["start_time"]["enum"] == ["09:15"]
    assert props["recurrence"]["properties"]["frequency"]["enum"] == ["weekly"]
    assert props["recurrence"]["properties"]["count"]["enum"] == [10]
    assert props["attendees"]["items"]["enum"] == ["a@x.io", "b@y.io"]
    assert "Team standup" in props["title"]["enum"]
    assert not any("Create" in s for s in props["title"]["enum"])  # the words asking for the tool are not its input
    # the message says nothing of the duration: left out, so its default applies
    assert "duration_minutes" not in props
    assert set(schema["required"]) == {"title", "date", "start_time", "attendees", "recurrence"}
    # every value the narrowed schema admits is valid for the tool's own schema
    value = {"title": "Team standup", "date": "2025-05-05", "start_time": "09:15", "attendees": ["a@x.io"], "recurrence": {"frequency": "weekly", "count": 10}}
    jsonschema.validate(value, schema)
    jsonschema.validate(value, EVENT)


def test_without_values_in_the_message_the_schema_stays_free() -> None:
    schema = narrow_arguments(EVENT, Evidence.of("Put something in my calendar"))
    assert "enum" not in schema["properties"]["date"] and schema["properties"]["date"]["pattern"]


def test_booleans_follow_negation_and_opposites() -> None:
    def flag(tool: ToolSchema, message: str) -> Any:
        props = narrow_arguments(tool.parameters, Evidence.of(message))["properties"]
        return props.get("on", props.get("locked", {})).get("enum")

    assert flag(LIGHT, "Switch off the kitchen light") == [False]
    assert flag(LIGHT, "Turn on the bedroom light") == [True]
    assert flag(DOOR, "Unlock the back door") == [False]
    assert flag(DOOR, "Open the back door") is None  # locked is optional and unspoken of: left out
    notify = {"type": "object", "properties": {"notify_attendees": {"type": "boolean", "default": True}}}
    assert narrow_arguments(notify, Evidence.of("Cancel it, but don't notify the attendees"))["properties"]["notify_attendees"]["enum"] == [False]
    # a negation that opens the clause, far from the flag's word; unless a verb turns it around
    assert flag(LIGHT, "Please don't leave the porch light burning on all night") == [False]
    assert flag(LIGHT, "Don't forget to switch the porch light on") == [True]
    assert flag(LIGHT, "No hurry, but switch the porch light on") == [True]


def test_a_flag_is_said_by_its_telling_words() -> None:
    def flags(message: str, *names: str) -> dict[str, Any]:
        schema = {"type": "object", "properties": {n: {"type": "boolean", "default": False} for n in names}}
        props = narrow_arguments(schema, Evidence.of(message))["properties"]
        return {n: props[n].get("enum") if n in props else "left out" for n in names}

    # the words that frame a flag ("has", "allowed", "include", "visibility") need not be said
    assert flags("A cabin near Bend with a sauna, please", "has_sauna") == {"has_sauna": [True]}
    assert flags("Book two dog-friendly rooms", "dogs_allowed") == {"dogs_allowed": [True]}
    assert flags("Share the album as a private one", "private_visibility") == {"private_visibility": [True]}
    assert flags("A loft with in-suite storage", "in_suite_storage") == {"in_suite_storage": [True]}
    # a negation reaches across "or", not past the clause; "exclude" and "non-" negate too
    assert flags("A cabin with no sauna or hot tub, and a dock", "has_sauna", "hot_tub", "has_dock") == {"has_sauna": [False], "hot_tub": [False], "has_dock": [True]}
    assert flags("List my notes but exclude the archived ones", "include_archived") == {"include_archived": [False]}
    assert flags("A non-smoking room in Galway", "smoking_allowed") == {"smoking_allowed": [False]}
    assert flags("List the current notes with archived ones", "include_archived") == {"include_archived": [True]}  # "current" negates nothing
    # not minding either way sets nothing: the tool's default stands
    assert flags("A cabin in Bend; I don't mind whether it has a sauna", "has_sauna")["has_sauna"] == "left out"


def test_a_flag_spoken_of_only_by_its_description_keeps_its_default() -> None:
    terrace = {"type": "boolean", "default": False, "description": "Only cafes with seats on a terrace"}
    schema = {"type": "object", "properties": {"town": {"type": "string"}, "has_terrace": terrace}, "required": ["town"]}

    def terrace_of(message: str) -> Any:
        props = narrow_arguments(schema, Evidence.of(message))["properties"]
        return props["has_terrace"].get("enum") if "has_terrace" in props else "left out"

    assert terrace_of("Any cafes open late in Ghent?") == "left out"  # "cafes" speaks of it, sets nothing
    assert terrace_of("Cafes in Ghent with a terrace") == [True]
    assert terrace_of("Cafes in Ghent, but no terrace please") == [False]
    # without a default the model still reads it
    free = {**schema, "properties": {**schema["properties"], "has_terrace": {k: v for k, v in terrace.items() if k != "default"}}}
    assert narrow_arguments(free, Evidence.of("Any cafes open late in Ghent?"))["properties"]["has_terrace"] == free["properties"]["has_terrace"]
    # nor does a flag whose default is "no preference": speaking of it states one
    dogs = {"type": "string", "enum": ["True", "False", "dontcare"], "default": "dontcare", "description": "whether the trail welcomes dogs"}
    trails = {"type": "object", "properties": {"town": {"type": "string"}, "dog_friendly": dogs}, "required": ["town"]}
    assert narrow_arguments(trails, Evidence.of("Trails near Boulder that welcome dogs?"))["properties"]["dog_friendly"] == dogs


def test_a_later_call_does_not_repeat_a_value_of_the_same_tool() -> None:
    schema = narrow_arguments(
        {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}, "required": ["date"]},
        Evidence.of("on 2025-07-02"),
        context=Evidence.of("What's on 2025-07-01 and on 2025-07-02?"),
        used={"date": {"2025-07-02"}},
    )
    assert schema["properties"]["date"]["enum"] == ["2025-07-01"]


def test_a_later_call_shares_a_value_its_part_does_not_give() -> None:
    fares = {"type": "object", "properties": {"rooms": {"type": "integer"}, "city": {"type": "string"}, "date": {"type": "string", "format": "date"}}, "required": ["rooms", "city", "date"]}
    whole = Evidence.of("Price 3 rooms in Oslo on 2026-05-08 and on 2026-05-09")
    later = narrow_arguments(fares, whole.parts[-1], context=whole, used={"rooms": {3}, "city": {"Oslo"}, "date": {"2026-05-08"}})["properties"]
    assert (later["rooms"]["enum"], later["city"]["enum"], later["date"]["enum"]) == ([3], ["Oslo"], ["2026-05-09"])
    # not a value the earlier call gave another parameter ("in NZD" was where it went), nor one of a later part
    code = {"type": "string", "description": "currency code, e.g. USD"}
    money = {"type": "object", "properties": {"amount": {"type": "number"}, "from_currency": code, "to_currency": code}, "required": ["amount", "from_currency", "to_currency"]}
    whole = Evidence.of("What is 20 AUD in NZD, in SGD and in HKD?")
    later = narrow_arguments(money, whole.parts[1], context=whole, used={"amount": {20}, "from_currency": {"AUD"}, "to_currency": {"NZD"}})["properties"]
    assert (later["amount"]["enum"], later["from_currency"]["enum"], later["to_currency"]["enum"]) == ([20], ["AUD"], ["SGD"])
    # a part with a value of its own takes it, not the earlier one
    lookups = {"type": "object", "properties": {"ticket": {"type": "string"}}, "required": ["ticket"]}
    whole = Evidence.of("Look up tickets QX-310 and QX-311")
    assert narrow_arguments(lookups, whole.parts[-1], context=whole, used={"ticket": {"QX-310"}})["properties"]["ticket"]["enum"] == ["QX-311"]


def test_served_by_tells_an_item_of_an_array_from_a_new_call() -> None:
    tools = [LIGHT]
    assert Evidence.of("b@y.io").served_by([{"attendees": ["a@x.io", "b@y.io"]}], tools)
    assert not Evidence.of("in the bedroom").served_by([{"room": "kitchen", "on": False}], tools)


# --- the decision layer, deterministic (scripted engine) --------------------------------------


LEXICAL = DecisionSettings(question_margin=None, tool_margin=None, calibration_weight=0.0)
"""The request's own words only: the noisy-channel scores (one scoring request per tool) are
tested on their own below, the lean toward a tool in test_decision_lean.py."""


def completer(replies: list[Any], decision: DecisionSettings | None = None) -> tuple[ChatCompleter, ScriptedEngine]:
    engine = ScriptedEngine(replies)
    return ChatCompleter(engine, decision=decision or LEXICAL), engine


def request(user: str, tools: list[ToolSchema], **extra: Any) -> ChatRequest:
    body = {
        "messages": [{"role": "user", "content": user}],
        "tools": [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}} for t in tools],
        **extra,
    }
    return ChatRequest.model_validate(body)


async def test_evidence_answers_directly_when_no_tool_has_any() -> None:
    chat, engine = completer(["Rainbows come from refraction."])
    result = await chat.complete(request("Why do rainbows appear after a storm?", [LIGHT, DOOR]))
    assert result.content == "Rainbows come from refraction." and not result.tool_calls
    # the model alone is offered "answer" among the tools: the script's choice wins
    chat, _ = completer([" lock_door", '{"door": "front"}', " run"], DecisionSettings().model_only())
    result = await chat.complete(request("Why do rainbows appear after a storm?", [LIGHT, DOOR]))
    assert [c.name for c in result.tool_calls] == ["lock_door"]


async def test_evidence_outweighs_a_weak_model_preference() -> None:
    # the scripted engine scores its pick 0 and the rest -10; evidence of ~5 nats does not
    # overturn that, but a strong weight does
    strong = LEXICAL.model_copy(update={"evidence_weight": 20.0})
    chat, _ = completer([" lock_door", '{"room": "kitchen", "on": false}'], strong)
    result = await chat.complete(request("Switch off the kitchen light", [LIGHT, DOOR]))
    assert result.tool_calls[0].name == "set_light"
    assert json.loads(result.tool_calls[0].arguments) == {"room": "kitchen", "on": False}


async def test_each_coordinated_part_gets_its_own_call() -> None:
    # the second part names one tool only: no choice to score
    chat, engine = completer([" set_light", '{"room": "kitchen", "on": false}', '{"door": "front", "locked": true}'])
    result = await chat.complete(request("Switch off the kitchen light and lock the front door", [LIGHT, DOOR], parallel_tool_calls=True))
    assert [c.name for c in result.tool_calls] == ["set_light", "lock_door"]
    # parallel calls are allowed unless turned off (OpenAI's default)
    chat, _ = completer([" set_light", '{"room": "kitchen", "on": false}', '{"door": "front", "locked": true}'])
    result = await chat.complete(request("Switch off the kitchen light and lock the front door", [LIGHT, DOOR]))
    assert [c.name for c in result.tool_calls] == ["set_light", "lock_door"]
    # turned off, one: for the first part, whose one tool is offered alone (nothing to score)
    chat, _ = completer(['{"room": "kitchen", "on": false}'])
    result = await chat.complete(request("Switch off the kitchen light and lock the front door", [LIGHT, DOOR], parallel_tool_calls=False))
    assert [c.name for c in result.tool_calls] == ["set_light"]


async def test_a_part_whose_values_the_first_call_took_adds_no_call() -> None:
    invite = ToolSchema(
        name="invite",
        description="Invite people to the meeting",
        parameters={"type": "object", "properties": {"emails": {"type": "array", "items": {"type": "string", "format": "email"}}}, "required": ["emails"]},
    )
    chat, _ = completer(['{"emails": ["a@x.io", "b@y.io"]}'])
    result = await chat.complete(request("Invite a@x.io and b@y.io to the meeting", [invite], parallel_tool_calls=True))
    assert len(result.tool_calls) == 1


FILMS = ToolSchema(
    name="find_films",
    description="Find films by director and cast",
    parameters={
        "type": "object",
        "properties": {"directed_by": {"type": "string", "description": "the film's director"}, "cast": {"type": "string", "description": "an actor in it"}},
        "required": [],
    },
)


def first_allowed(prompt: Prompt, constraint: Constraint | None) -> str:
    """A scripted model that writes the first value each constraint allows: the tests below
    count calls, whatever their values."""
    if isinstance(constraint, ChoicesConstraint):
        return constraint.choices[0]
    if isinstance(constraint, JsonSchemaConstraint):
        properties = constraint.json_schema.get("properties") or {}
        return json.dumps({k: node["enum"][0] if "enum" in node else "x" for k, node in properties.items()})
    return " x"


async def test_a_part_speaking_of_another_parameter_continues_the_call() -> None:
    chat = ChatCompleter(ScriptedEngine(first_allowed), decision=LEXICAL)
    result = await chat.complete(request("Show me a film with Saoirse Ronan in the cast and directed by Greta Gerwig", [FILMS], parallel_tool_calls=True))
    assert len(result.tool_calls) == 1


async def test_a_part_repeating_the_calls_parameter_is_a_call_of_its_own() -> None:
    chat = ChatCompleter(ScriptedEngine(first_allowed), decision=LEXICAL)
    result = await chat.complete(request("Find films directed by Agnes Varda and directed by Chantal Akerman", [FILMS], parallel_tool_calls=True))
    assert [json.loads(c.arguments)["directed_by"] for c in result.tool_calls] == ["Agnes Varda", "Chantal Akerman"]
    chat, _ = completer(['{"city": "Tartu"}', '{"city": "Narva"}'])
    result = await chat.complete(request("What is the weather in Tartu and Narva?", [WEATHER], parallel_tool_calls=True))
    assert [json.loads(c.arguments)["city"] for c in result.tool_calls] == ["Tartu", "Narva"]


async def test_parts_that_hold_no_value_add_no_call() -> None:
    chat = ChatCompleter(ScriptedEngine(first_allowed), decision=LEXICAL)
    result = await chat.complete(request("Hi, it's a rainy day and I'm tired. Find me films directed by Agnes Varda.", [FILMS], parallel_tool_calls=True))
    assert [json.loads(c.arguments) for c in result.tool_calls] == [{"directed_by": "Agnes Varda"}]


def test_a_day_told_is_a_value_only_for_a_tool_that_takes_a_day() -> None:
    mail = ToolSchema(
        name="send_mail",
        description="Send an email",
        parameters={"type": "object", "properties": {"to": {"type": "string"}, "body": {"type": "string"}}, "required": ["to", "body"]},
    )
    diary = ToolSchema(
        name="log_repair",
        description="Log a repair",
        parameters={"type": "object", "properties": {"what": {"type": "string"}, "day": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["what"]},
    )
    part = Evidence.of("tell her it was fixed today", today=date(2027, 1, 4))
    assert part.values([mail]) == [] and part.values([diary]) == ["2027-01-04"]
    assert part.served_by([{"to": "ines@faria.pt", "body": "The boiler"}], [mail])


async def test_a_part_giving_the_date_the_call_lacks_continues_it() -> None:
    forecast = ToolSchema(
        name="forecast",
        description="Weather forecast for a city",
        parameters={"type": "object", "properties": {"city": {"type": "string"}, "date": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["city"]},
    )
    chat = ChatCompleter(ScriptedEngine(first_allowed), decision=LEXICAL)
    result = await chat.complete(request("Forecast for Lima please, assuming it is 2026-03-02", [forecast], parallel_tool_calls=True))
    assert [json.loads(c.arguments) for c in result.tool_calls] == [{"city": "Lima", "date": "2026-03-02"}]
    # a second date is a second call
    chat = ChatCompleter(ScriptedEngine(first_allowed), decision=LEXICAL)
    result = await chat.complete(request("Forecast for Lima on 2026-03-02, and for Lima on 2026-03-09", [forecast], parallel_tool_calls=True))
    assert len(result.tool_calls) == 2


async def test_a_city_and_its_region_are_one_call() -> None:
    chat, _ = completer(['{"city": "Tartu, Estonia"}'])
    result = await chat.complete(request("What is the weather in Tartu, Estonia?", [WEATHER], parallel_tool_calls=True))
    assert [json.loads(c.arguments) for c in result.tool_calls] == [{"city": "Tartu, Estonia"}]


def test_a_name_without_the_qualifier_the_examples_show_gets_one_written() -> None:
    node = {"type": "string", "description": "The town and its province, such as 'Ghent, BE' or 'Porto, PT'."}
    schema = {"type": "object", "properties": {"town": node}, "required": ["town"]}
    narrowed = narrow_arguments(schema, Evidence.of("Are there buses in Leuven tonight?"))
    pattern = narrowed["properties"]["town"]["pattern"]
    assert jsonschema.Draft202012Validator({"pattern": pattern}).is_valid("Leuven, BE")
    assert not jsonschema.Draft202012Validator({"pattern": pattern}).is_valid("Leuven")
    # a request that writes the qualifier keeps its own
    offered = narrow_arguments(schema, Evidence.of("Are there buses in Leuven, Flanders tonight?"))["properties"]["town"]["enum"]
    assert "Leuven, Flanders" in offered and "Leuven" not in offered
    # a name that ends in a qualifier of the examples' shape has one, written as they write it
    assert narrow_arguments(schema, Evidence.of("Are there buses in Leuven BE tonight?"))["properties"]["town"]["enum"] == ["Leuven, BE"]
    # a format's placeholders are no example
    bare = {"type": "object", "properties": {"town": {"type": "string", "description": "in the format 'Town, Province'"}}, "required": ["town"]}
    assert "Leuven" in narrow_arguments(bare, Evidence.of("Are there buses in Leuven tonight?"))["properties"]["town"]["enum"]


def test_words_every_parameter_shares_say_nothing_of_one() -> None:
    schema = {
        "type": "object",
        "properties": {
            "dish": {"type": "string", "description": "the dish of the recipes"},
            "cuisine": {"type": "string", "description": "cuisine of the recipes"},
            "chef": {"type": "string", "description": "chef who wrote the recipes"},
        },
        "required": ["dish"],
    }
    narrowed = narrow_arguments(schema, Evidence.of("Find recipes for tofu curry"), tool_words=terms("find_recipes"))
    assert list(narrowed["properties"]) == ["dish"]
    narrowed = narrow_arguments(schema, Evidence.of("Find recipes for tofu curry by a famous chef"), tool_words=terms("find_recipes"))
    assert list(narrowed["properties"]) == ["dish", "chef"]


def test_a_code_example_after_such_as_makes_codes_of_the_names() -> None:
    node = {"type": "string", "description": "Two-letter province code, such as 'ON' for Ontario"}
    schema = {"type": "object", "properties": {"province": node}, "required": ["province"]}
    assert "BC" in narrow_arguments(schema, Evidence.of("Which holidays are there in British Columbia?"))["properties"]["province"]["enum"]
    assert "MB" in narrow_arguments(schema, Evidence.of("Which holidays are there in Manitoba?"))["properties"]["province"]["enum"]


def test_one_call_a_step_serves_the_first_part_holding_a_value() -> None:
    from radixagent.evidence.parts import part_for

    guest = ToolSchema(
        name="get_booking",
        description="Find a booking by the guest's name: its day, its room and its nights.",
        parameters={"type": "object", "properties": {"guest": {"type": "string"}}, "required": ["guest"]},
    )
    day = ToolSchema(
        name="list_arrivals",
        description="List the guests arriving at the hotel on a day.",
        parameters={"type": "object", "properties": {"date": {"type": "string"}}, "required": ["date"]},
    )
    request = Evidence.of("When does Ravi Kumar check in, and who else arrives that day?")
    # the booking's lookup serves the first part (the later one speaks of "day" too)
    assert part_for(guest, request, [guest, day]).text == "When does Ravi Kumar check in"
    # a part naming another tool more is not taken for this one: the arrivals serve the second
    request = Evidence.of("Show the arrivals on Friday, and find the booking of Ravi Kumar.")
    assert part_for(guest, request, [guest, day]).text.strip(" .") == "find the booking of Ravi Kumar"


# --- each strategy end to end, on the real embedded engine -----------------------------------


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[EmbeddedEngine]:
    eng = EmbeddedEngine(context_size=2048, slots=2, threads=2)
    await eng.start()
    yield eng
    await eng.aclose()


CASE_IDS = ["weather-01", "cal-01", "home-07", "bank-01", "weather-06"]
"""A simple call, values to copy, two calls, a nested object, no tool."""


@pytest.mark.parametrize("strategy", list(STRATEGIES))
async def test_strategy_end_to_end_on_the_embedded_engine(engine: EmbeddedEngine, strategy: str) -> None:
    """A few labeled cases through each strategy: every call is well-formed; the default answers
    every one and gets most of them exactly right (a near tie between two tools can flip with the engine's cache
    state, so not all are required)."""
    cases, toolsets = load_benchmark(ROOT / "benchmarks" / "toolcalls" / "cases.jsonl")
    by_id = {c.id: c for c in cases}
    chat = ChatCompleter(engine, decision=STRATEGIES[strategy])
    scores = []
    for case_id in CASE_IDS:
        case = by_id[case_id]
        result = await chat.complete(ChatRequest.model_validate(request_body(case, toolsets[case.toolset], "auto", 96)))
        output = ModelOutput(content=result.content, calls=[OutputCall(name=c.name, arguments=c.arguments) for c in result.tool_calls], finish_reason=result.finish_reason)
        scores.append(score_case(case, toolsets[case.toolset], output))
    # every call that comes back is valid by construction, whatever the strategy
    assert all(s.well_formed for s in scores if s.output.calls), [s.problems for s in scores]
    if strategy == "grounded":
        assert all(s.well_formed is not False for s in scores), [s.problems for s in scores]
        right = [s for s in scores if s.exact is not False and s.abstained is not False and s.right_count is not False]
        assert len(right) >= 4, [s.problems for s in scores]


# --- later steps: an agent answers once its calls served the request -----------------------


def _agent_with(replies: list[Any]) -> tuple[Any, ScriptedEngine]:
    from radixagent import Agent

    engine = ScriptedEngine(replies)
    agent = Agent(engine, decision=LEXICAL)  # the request's own words on

    @agent.tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        return f"sunny, 21 C in {city}"

    @agent.tool
    def convert_currency(amount: float, to: str) -> str:
        """Convert an amount of euros to another currency."""
        return f"{amount * 2} {to}"

    return agent, engine


def test_the_agent_answers_once_its_call_served_the_request() -> None:
    agent, engine = _agent_with([" get_weather", '{"city": "Lisbon"}', "It is sunny, 21 C in Lisbon."])
    response = agent.run_sync("How is the weather in Lisbon today?")
    assert response.is_successful, response.error_message
    assert [c.tool for c in response.tool_calls] == ["get_weather"]
    assert response.content == "It is sunny, 21 C in Lisbon."
    assert engine.replies_left == 0  # the second step offered no tool: nothing was scored


def test_a_part_the_first_call_left_is_served_by_a_later_step() -> None:
    from radixagent.decision import unserved_parts
    from radixagent.evidence import Evidence
    from radixagent.schemas import ToolCallRecord

    agent, _ = _agent_with([])
    tools = agent.tool_manager.schemas()
    request = Evidence.of("Check the weather in Lisbon and convert 40 euros to dollars")
    weather = ToolCallRecord(id="c1", tool="get_weather", arguments={"city": "Lisbon"}, result="sunny")
    assert [p.text for p in unserved_parts(request, tools, [weather])] == ["convert 40 euros to dollars"]
    failed = weather.model_copy(update={"result": None, "error": "down"})
    assert len(unserved_parts(request, tools, [failed])) == 2  # a failed call serves nothing
    converted = ToolCallRecord(id="c2", tool="convert_currency", arguments={"amount": 40, "to": "USD"}, result="80 USD")
    assert unserved_parts(request, tools, [weather, converted]) == []


def test_questions_about_the_world_are_told_from_requests() -> None:
    assert Evidence.of("Why do rainbows appear after a storm?").asks_about_the_world()
    assert Evidence.of("How many days does a leap year have?").asks_about_the_world()
    assert Evidence.of("Can penguins fly backwards?").asks_about_the_world()
    # the same questions in the imperative
    assert Evidence.of("Explain how a siphon moves water uphill.").asks_about_the_world()
    assert Evidence.of("please tell me why owls hunt at night").asks_about_the_world()
    assert not Evidence.of("Explain the charges on my phone bill").asks_about_the_world()
    assert not Evidence.of("Describe the picture at pics.example.org/cat.png").asks_about_the_world()
    # what people do in general, wherever it names
    assert Evidence.of("Do people haggle at the markets in Marrakech?").asks_about_the_world()
    assert Evidence.of("How do locals pay for the tram in Zagreb?").asks_about_the_world()
    requests = ("Will it rain in Dublin?", "How much do I still owe on my credit card?", "What is 1234 times 5678?", "Turn on the light.")
    requests += ("Do people on my guest list eat fish?",)
    for request in (*requests, "Could you pause the dishwasher in the scullery?", "can u list the spreadsheets in the shared folder"):
        assert not Evidence.of(request).asks_about_the_world(), request
    # a question to the service of what it has or does; not one for the assistant's knowledge or opinion
    assert not Evidence.of("Do you stock oat milk?").asks_about_the_world()
    assert Evidence.of("Do you know why cats purr?").asks_about_the_world()
    assert Evidence.of("Do you think a pug suits a small flat?").asks_about_the_world()


async def test_a_tool_the_request_turns_down_is_not_asked_for() -> None:
    assert asked_text("Skip the tide table; what does 'ebb' mean?") == " ; what does 'ebb' mean?"
    assert asked_text("Never mind the exchange rate. Who is on the ten-pound note?") == " . Who is on the ten-pound note?"
    # one clause that turns something down is all the request asks, and "don't forget" asks for it
    # nor does a preference or a fact of the user's ("don't mind", "don't have")
    for kept in ("Don't ring the doorbell when you drop off the parcel", "Don't forget to water the ferns, and remind me at 9", "A flat in Leeds, but I don't mind a busy street"):
        assert asked_text(kept) == kept
    rates = _tool("convert_money", "Convert an amount between currencies", amount={"type": "number"}, to={"type": "string"})
    chat, _ = completer(["Good luck!"], LEXICAL)
    result = await chat.complete(request("No need to convert the 40 dollars, just wish me luck.", [rates]))
    assert not result.tool_calls and result.content == "Good luck!"


async def test_a_question_asking_what_a_tool_tells_is_meant_for_it() -> None:
    # a question about the world in its form, but two of its words name the tool
    firmware = _tool("read_firmware_revision", "Read the firmware revision of this router")
    chat, _ = completer(["{}"])
    result = await chat.complete(request("What is the firmware revision?", [firmware]))
    assert [c.name for c in result.tool_calls] == ["read_firmware_revision"]
    # words it shares with a parameter's values only do not name the tool
    payments = _tool("list_payments", "Payments of an account between two dates", method={"type": "string", "enum": ["bank_transfer", "wire"]})
    chat, _ = completer(["A wire is faster."])
    assert not (await chat.complete(request("What is the difference between a bank transfer and a wire?", [payments]))).tool_calls
    # no word in common, but it asks when something of the user's is, and the tool tells days and times
    booking = _tool("booking_info", "Find a booking by words of its title: its day and time", title={"type": "string"})
    chat, _ = completer(['{"title": "piano lesson"}'])
    result = await chat.complete(request("When is my piano lesson?", [booking]))
    assert [c.name for c in result.tool_calls] == ["booking_info"]
    # the same question of the world, or of a tool that tells no time, is answered
    for asked, tool in (("When did the Hanseatic League end?", booking), ("When is my piano lesson?", _tool("booking_info", "Find a booking by words of its title", title={"type": "string"}))):
        chat, _ = completer(["An answer."])
        assert not (await chat.complete(request(asked, [tool]))).tool_calls, asked
    # asking why is asking for a reason, which no tool returns, whatever words of the tool's it uses
    chat, _ = completer(["A reason."])
    assert not (await chat.complete(request("Why is the firmware revision so old?", [firmware]))).tool_calls


def test_asking_what_a_tool_tells_ranks_the_tool_that_gives_its_input_first() -> None:
    # the tool that says where a parcel is needs a tracking code the request does not hold;
    # the tool that says it gives one comes first
    coded = {"type": "string", "description": "e.g. PX-77"}
    locate = _tool("locate_parcel", "Locate a parcel by its courier code: its place right now", courier_code={"type": "string", "description": "e.g. ZX0012345678"})
    info = _tool("purchase_info", "Status of a purchase, with its courier code once sent", ref=coded)
    contents = _tool("purchase_contents", "What a purchase holds", ref=coded)
    points = support(Evidence.of("Where is my purchase PX-77 today?"), [locate, info, contents])
    assert max(points, key=points.__getitem__) == "purchase_info"
    assert points["purchase_info"] > points["purchase_contents"] + 0.5


def test_a_list_of_objects_gets_an_item_per_part_at_most() -> None:
    meal = {
        "type": "object",
        "properties": {
            "foods": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "grams": {"type": "number"}}, "required": ["name", "grams"]},
            }
        },
        "required": ["foods"],
    }
    schema = narrow_arguments(meal, Evidence.of("I had 200 grams of oatmeal and 150 grams of blueberries."))
    assert schema["properties"]["foods"]["maxItems"] == 2
    assert set(schema["properties"]["foods"]["items"]["properties"]["grams"]["enum"]) == {200, 150}


def test_an_origin_stops_where_the_way_to_the_destination_begins() -> None:
    trip = {"type": "object", "properties": {"origin": {"type": "string"}, "destination": {"type": "string"}}, "required": ["origin", "destination"]}
    props = narrow_arguments(trip, Evidence.of("Send a van from 9 Quay Lane to the Old Mill Theatre"))["properties"]
    assert "9 Quay Lane" in props["origin"]["enum"] and not any("Mill" in v for v in props["origin"]["enum"])
    assert props["destination"]["enum"] == ["Old Mill Theatre"]
    # a pickup leans to where a trip goes from, a drop-off to where it goes, where a name stands there
    ride = {"type": "object", "properties": {"pickup": {"type": "string"}, "dropoff": {"type": "string"}}, "required": ["pickup", "dropoff"]}
    props = narrow_arguments(ride, Evidence.of("A cab from 9 Quay Lane to the Old Mill Theatre"))["properties"]
    assert (props["pickup"]["enum"][0], props["dropoff"]["enum"]) == ("9 Quay Lane", ["Old Mill Theatre"])
    vans = {"type": "object", "properties": {"pickup_location": {"type": "string", "description": "City, State"}}, "required": ["pickup_location"]}
    assert narrow_arguments(vans, Evidence.of("Any vans to rent in Reno, NV, from May 2?"))["properties"]["pickup_location"]["enum"] == ["Reno, NV"]


def test_a_parameter_named_for_an_address_takes_the_address() -> None:
    contact = {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}, "required": ["name", "email"]}
    props = narrow_arguments(contact, Evidence.of("Add Hiroshi Tanaka, hiroshi.tanaka@kaizen-tech.jp, to my contacts."))["properties"]
    assert props["email"]["enum"] == ["hiroshi.tanaka@kaizen-tech.jp"]
    assert "Hiroshi Tanaka" in props["name"]["enum"]


async def test_chat_answers_once_the_calls_in_its_history_served_the_request() -> None:
    weather = ToolSchema(
        name="get_weather", description="Current weather in a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    history = [
        {"role": "user", "content": "How is the weather in Lisbon today?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Lisbon"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny, 21 C"},
    ]
    chat, engine = completer(["It is sunny, 21 C in Lisbon."])
    body = request("", [weather]).model_dump(exclude_none=True) | {"messages": history}
    result = await chat.complete(ChatRequest.model_validate(body))
    assert result.content == "It is sunny, 21 C in Lisbon." and not result.tool_calls
    assert engine.replies_left == 0  # no tool was offered: nothing was scored


def test_abstaining_weighs_the_words_and_the_noisy_channel() -> None:
    from radixagent.decision.by_score import _abstains

    settings = DecisionSettings(question_margin=2.0, tool_margin=10.0)
    assert _abstains(True, None, settings) and not _abstains(False, None, settings)  # the words alone
    assert _abstains(False, -3.0, settings)  # far likelier as a question to an assistant than for any tool
    assert not _abstains(False, -3.0, settings, shared=2)  # unless it shares two terms with a tool
    assert not _abstains(False, -1.0, settings)
    assert not _abstains(True, 12.0, settings)  # no shared word, but the tool explains it far better
    assert _abstains(True, 6.0, settings)
    off = DecisionSettings(question_margin=None, tool_margin=None)
    assert _abstains(True, 12.0, off) and not _abstains(False, -30.0, off)


SPA = ToolSchema(
    name="find_spa",
    description="Find a spa offering a massage in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}, "treatment": {"type": "string"}}, "required": ["city"]},
)
TILES = ToolSchema(
    name="price_tiles",
    description="Price floor tiles for a room",
    parameters={"type": "object", "properties": {"width": {"type": "number"}, "length": {"type": "number"}}, "required": ["width", "length"]},
)
REFUND = ToolSchema(
    name="refund_booking",
    description="Refund a booking",
    parameters={"type": "object", "properties": {"booking_id": {"type": "string"}, "reason": {"type": "string", "default": "other"}}, "required": ["booking_id"]},
)


def test_the_inputs_a_request_holds_no_value_for() -> None:
    assert unheld_inputs(Evidence.of("I could use a massage somewhere nice"), SPA) == ["city"]
    assert unheld_inputs(Evidence.of("Find me a massage in Utrecht"), SPA) == []
    assert unheld_inputs(Evidence.of("마사지 받을 곳 찾아줘"), SPA) == []  # no capitals to tell a name by
    assert unheld_inputs(Evidence.of("How much would tiling the hallway cost?"), TILES) == ["width", "length"]
    assert unheld_inputs(Evidence.of("Tiles for a hallway 2 by 5 metres"), TILES) == []
    assert unheld_inputs(Evidence.of("Refund my booking please"), REFUND) == ["booking_id"]
    assert unheld_inputs(Evidence.of("Refund booking QX7731"), REFUND) == []
    assert unheld_inputs(Evidence.of("Refund booking Lakeview"), REFUND) == []
    fetch = ToolSchema(name="fetch_page", description="Fetch a web page", parameters={"type": "object", "properties": {"page_url": {"type": "string"}}, "required": ["page_url"]})
    assert unheld_inputs(Evidence.of("Fetch the page about tide tables"), fetch) == ["page_url"]
    assert unheld_inputs(Evidence.of("Fetch tides.example.net/brest for me"), fetch) == []  # a name right after the parameter's
    kayak = ToolSchema(
        name="rent_kayak",
        description="Rent a kayak at a lake",
        parameters={
            "type": "object",
            "properties": {"lake": {"type": "string"}, "pickup_date": {"type": "string"}, "start": {"type": "string", "description": "start time, HH:MM"}},
            "required": ["lake", "pickup_date", "start"],
        },
    )
    assert unheld_inputs(Evidence.of("I'd love to paddle a kayak on Lake Bled"), kayak) == ["pickup_date", "start"]  # nothing says when
    for when in ("on Lake Bled tomorrow", "on Lake Bled this Saturday", "on Lake Bled in August", "on Lake Bled at 9", "on Lake Bled tonight"):
        assert unheld_inputs(Evidence.of(f"Rent me a kayak {when}"), kayak) == [], when
    login = ToolSchema(
        name="sign_in",
        description="Sign in to the forum",
        parameters={"type": "object", "properties": {"user": {"type": "string"}, "passcode": {"type": "string"}, "api_key": {"type": "string"}}, "required": ["user", "passcode", "api_key"]},
    )
    assert unheld_inputs(Evidence.of("Sign me in to the forum as Marguerite"), login) == ["passcode", "api_key"]
    assert unheld_inputs(Evidence.of("Sign me in as Marguerite, my passcode is tulip#77"), login) == []
    assert unheld_inputs(Evidence.of("Sign in as Marguerite with 'violets' and the key 'k-1'"), login) == []
    assert Evidence.of("after lunch on the 3rd of May").tells_when and not Evidence.of("a kayak with a spray deck").tells_when


async def test_a_tool_whose_input_the_request_does_not_hold_is_not_called() -> None:
    # "massage" meets the spa tool, but no city is named: the call would make one up
    chat, engine = completer([" find_spa", "Which city are you in?"])  # the model's choice, then its answer
    result = await chat.complete(request("I could use a massage somewhere nice", [SPA, TILES]))
    assert not result.tool_calls and result.content == "Which city are you in?"
    # the same request when a call is required: the call is made
    chat, _ = completer(['{"city": "nice"}'])
    result = await chat.complete(request("I could use a massage somewhere nice", [SPA], tool_choice="required"))
    assert [c.name for c in result.tool_calls] == ["find_spa"]
    # an agent asks for it
    agent = Agent(ScriptedEngine(["Which city are you in?"]), decision=LEXICAL)  # one tool: no choice to score

    @agent.tool
    def find_spa(city: str, treatment: str = "") -> str:
        """Find a spa offering a massage in a city."""
        return f"Spa Aurora in {city}"

    response = agent.run_sync("I could use a massage somewhere nice")
    assert not response.tool_calls and response.content == "Which city are you in?"


async def test_chat_tidies_its_text_answer_as_the_agent_does() -> None:
    # a lone list marker opening a chat answer is no part of it
    chat, _ = completer(["1\n\nOtters hold hands while they sleep."])
    result = await chat.complete(request("Why do otters hold hands?", [LIGHT, DOOR]))
    assert result.content == "Otters hold hands while they sleep."
    # nor does it repeat the protocol the system prompt teaches
    chat, _ = completer(["You can call a tool once for each thing you need.\nOtters hold hands while they sleep. When the observations answer the request, write"])
    result = await chat.complete(request("Why do otters hold hands?", [LIGHT, DOOR]))
    assert result.content == "Otters hold hands while they sleep."


def test_a_parameter_named_for_a_time_takes_a_time_whatever_formats_it_lists() -> None:
    # the description lists a date format among others: the name says what it holds
    remind = {
        "type": "object",
        "properties": {"remind_time": {"type": "string", "description": "When to remind, as 'YYYY-MM-DD HH:MM' or 'HH:MM'"}},
        "required": ["remind_time"],
    }
    narrowed = narrow_arguments(remind, Evidence.of("Remind me to stretch at 4 pm"))
    assert narrowed["properties"]["remind_time"]["enum"] == ["16:00"]
    dated = {"type": "object", "properties": {"start": {"type": "string", "description": "day of the trip, YYYY-MM-DD"}}, "required": ["start"]}
    assert narrow_arguments(dated, Evidence.of("We leave on 2031-05-02 at 9 am"))["properties"]["start"]["enum"] == ["2031-05-02"]


def test_a_place_or_a_person_is_offered_the_names_the_request_gives() -> None:
    parks = {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "city, e.g. 'Austin, TX'"}, "artist": {"type": "string"}},
        "required": ["location", "artist"],
    }
    narrowed = narrow_arguments(parks, Evidence.of("Find open-air concerts by Nina Okafor in Salt Lake City this summer"))["properties"]
    # the town, with the state the example shows; the town after "in" is no artist
    assert narrowed["location"]["enum"] == ["Salt Lake City, UT"]
    assert narrowed["artist"]["enum"] == ["Nina Okafor"]
    # written in lower case, a city is still found, and written as GeoNames does
    assert narrow_arguments(parks, Evidence.of("concerts by the river in boston"))["properties"]["location"]["enum"] == ["Boston, MA"]


def test_code_is_what_the_request_quotes_or_writes_out_as_an_expression() -> None:
    run = {
        "type": "object",
        "properties": {"source_code": {"type": "string"}, "country_code": {"type": "string"}},
        "required": ["source_code", "country_code"],
    }
    narrowed = narrow_arguments(run, Evidence.of("With a quick program, work out 48 / 6 + 1 for the team in Oslo"))["properties"]
    assert narrowed["source_code"]["enum"] == ["48 / 6 + 1"]  # not "program", "work out 48" or "Oslo"
    assert "Oslo" in narrowed["country_code"]["enum"]  # a code of letters is no program
    # no expression written out: the model writes the code
    assert "enum" not in narrow_arguments(run, Evidence.of("Write a script that counts the vowels in banana"))["properties"]["source_code"]
    formula = {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}
    assert narrow_arguments(formula, Evidence.of("Evaluate hypot(6, 8) and round it"))["properties"]["expression"]["enum"] == ["hypot(6, 8)"]


def test_a_free_text_does_not_stop_on_the_number_that_tells_which_one() -> None:
    wiki = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    options = narrow_arguments(wiki, Evidence.of("Search the wiki for the 1998 flood report, page 4"), tool_words=terms("search_wiki"))["properties"]["query"]["enum"]
    assert "1998 flood report" in options
    assert "1998" not in options and "the 1998" not in options  # the year says which report, not what to search
    assert "4" in options  # a number at the end of its phrase stands alone
    # an id is no search: the word after it says what happened to it, not what it is
    order = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    assert "K-3310" in narrow_arguments(order, Evidence.of("Did order K-3310 arrive?"))["properties"]["order_id"]["enum"]


TONE = ToolSchema(
    name="rate_tone",
    description="Rate the mood of a passage",
    parameters={"type": "object", "properties": {"passage": {"type": "string"}}, "required": ["passage"]},
)


async def test_a_request_handing_over_a_passage_is_meant_for_a_tool() -> None:
    # no word of the request is the tool's, but the quotation is text handed over to work on
    asked = "Would you call this note friendly or rude? 'Drop the files on my desk before noon, thanks.'"
    chat, _ = completer(['{"passage": "Drop the files on my desk before noon, thanks."}'])
    result = await chat.complete(request(asked, [TONE]))
    assert [c.name for c in result.tool_calls] == ["rate_tone"]
    # a word or two quoted is no passage: answered
    chat, _ = completer(["It reads as friendly."])
    result = await chat.complete(request("Would you call 'cheers mate' friendly or rude?", [TONE]))
    assert not result.tool_calls and result.content == "It reads as friendly."
    # no tool takes free text: nothing to hand the passage to
    assert not hands_over_a_passage(Evidence.of(asked), [LIGHT, DOOR])


def _tool(name: str, description: str, **properties: dict[str, Any]) -> ToolSchema:
    return ToolSchema(name=name, description=description, parameters={"type": "object", "properties": properties, "required": list(properties)})


JOT = _tool("jot_memo", "Save a short memo", heading={"type": "string"}, body={"type": "string"})
FIND_MEMO = _tool("find_memos", "Look through saved memos", words={"type": "string"})


def test_a_request_for_what_no_tool_does_is_told() -> None:
    memos = [JOT, FIND_MEMO]
    # code to be written, where no tool works with code
    assert beyond_the_tools(Evidence.of("Please write me a Rust function that reverses a memo"), memos)
    assert beyond_the_tools(Evidence.of("could u give me some javascript code to sort my memos"), memos)
    sandbox = _tool("evaluate", "Evaluate a snippet", snippet={"type": "string"})
    assert not beyond_the_tools(Evidence.of("Write a small Python script that prints the date"), [*memos, sandbox])
    news = _tool("search_news", "Search news articles", terms={"type": "string"}, source={"type": "string"})
    assert beyond_the_tools(Evidence.of("Write a small Python script that prints the date"), [*memos, news])  # a source of news
    assert not beyond_the_tools(Evidence.of("Make a gift code for my memo club"), memos)  # a code, not code
    # something removed or undone, where no tool removes anything
    assert beyond_the_tools(Evidence.of("Hey, can you please erase my memo about the plumber?"), memos)
    assert beyond_the_tools(Evidence.of("I'd like to cancel the memo I jotted yesterday"), memos)
    purge = _tool("tidy_memos", "Tidy saved memos", mode={"type": "string", "enum": ["archive", "remove"]})
    assert not beyond_the_tools(Evidence.of("Erase my memo about the plumber"), [*memos, purge])
    assert not beyond_the_tools(Evidence.of("Jot a memo: remove the gutter leaves"), memos)  # the removing is the memo's
    # signing out is undoing a sign-in
    portal = _tool("portal_signin", "Sign a member in to the portal", member={"type": "string"})
    assert beyond_the_tools(Evidence.of("Sign me out of the portal, I'm member Kestrel"), [portal])
    session = _tool("portal_session", "Signs a member in, or signs the member out", member={"type": "string"})
    assert not beyond_the_tools(Evidence.of("Sign me out of the portal, I'm member Kestrel"), [session])
    # a tool that runs commands may be asked anything
    shell = _tool("shell_exec", "Run a command line", line={"type": "string"})
    assert not beyond_the_tools(Evidence.of("delete the folder of old memos"), [shell])


async def test_a_request_no_tool_can_serve_is_answered_however_many_words_it_shares() -> None:
    chat, _ = completer(["I can't remove memos, only save and find them."])
    result = await chat.complete(request("Could you remove the saved memo about the plumber?", [JOT, FIND_MEMO]))
    assert not result.tool_calls and result.content == "I can't remove memos, only save and find them."


TIDES = ToolSchema(
    name="get_tide_times",
    description="High and low tide times at a harbour",
    parameters={"type": "object", "properties": {"harbour": {"type": "string"}}, "required": ["harbour"]},
)


async def test_a_verb_any_request_uses_is_no_ground_for_a_tool() -> None:
    # "get" is all the request shares with `get_tide_times`: nothing it is about
    asked = Evidence.of("Could you get me a good pun about cheese?")
    assert grounds(asked, [TIDES]) == 1 and grounds(asked, [TIDES], request_verbs=False) == 0
    chat, _ = completer(["Why did the cheese blush? It saw the milk's whey."])
    result = await chat.complete(request("Could you get me a good pun about cheese?", [TIDES]))
    assert not result.tool_calls and result.content.startswith("Why did the cheese blush?")
    # a word of what the tool is about still counts, beside the verb
    assert grounds(Evidence.of("Get me the tide times for Brest"), [TIDES], request_verbs=False) == 2
    # "get from ... to" says a way, not a fetch
    route = ToolSchema(name="get_route", description="A route between two places", parameters={"type": "object", "properties": {}})
    assert grounds(Evidence.of("How do I get from the ferry to the old mill?"), [route], request_verbs=False) == 1


def test_a_name_ending_in_a_word_still_gets_the_qualifier_the_examples_show() -> None:
    venue = {"type": "object", "properties": {"place": {"type": "string", "description": "where, such as 'Lyon, France' or 'Austin, TX'"}}, "required": ["place"]}
    # "Porto Alegre" ends in a capitalised word, which is the name's own, not a qualifier
    assert narrow_arguments(venue, Evidence.of("Find jazz clubs in Porto Alegre"))["properties"]["place"]["pattern"] == "^(?:(?:Porto Alegre), [A-Z][A-Za-z]+)$"
    # a code after the name is its qualifier already; so is one after a comma
    assert narrow_arguments(venue, Evidence.of("Find jazz clubs in Dayton OH"))["properties"]["place"]["enum"] == ["Dayton, OH"]
    assert "Ghent, Belgium" in narrow_arguments(venue, Evidence.of("Find jazz clubs in Ghent, Belgium"))["properties"]["place"]["enum"]


def test_a_name_no_kept_parameter_takes_goes_to_the_one_that_takes_a_name() -> None:
    films = {
        "type": "object",
        "properties": {"genre": {"type": "string", "enum": ["Western", "Comedy"]}, "starring": {"type": "string", "default": "any"}, "year": {"type": "integer"}},
        "required": ["genre"],
    }
    narrowed = narrow_arguments(films, Evidence.of("Any good westerns with Dolores Mae-Vance?"))
    assert narrowed["properties"]["starring"]["enum"] == ["Dolores Mae-Vance"] and "year" not in narrowed["properties"]
    # no name left over: nothing added
    assert "starring" not in narrow_arguments(films, Evidence.of("Any good westerns?"))["properties"]
    # two parameters could take it: which one is not the words' to say
    both = {**films, "properties": {**films["properties"], "director": {"type": "string"}}}
    assert set(narrow_arguments(both, Evidence.of("Any good westerns with Dolores Vance?"))["properties"]) == {"genre"}
    # a name inside a value offered is that value's: the song 'Luna de Miel' names no one
    songs = {"type": "object", "properties": {"song": {"type": "string", "enum": ["Luna de Miel", "Blue"]}, "artist": {"type": "string"}}, "required": ["song"]}
    assert "artist" not in narrow_arguments(songs, Evidence.of("Play 'Luna de Miel' please"))["properties"]
    # a free text kept may hold the name itself
    notes = {"type": "object", "properties": {"text": {"type": "string"}, "author": {"type": "string"}}, "required": ["text"]}
    assert "author" not in narrow_arguments(notes, Evidence.of("Save a note: lunch with Dolores Vance"))["properties"]


async def test_a_value_written_for_two_parameters_is_written_again_without_it() -> None:
    edit = ToolSchema(
        name="edit_order",
        description="Change an item of an order",
        parameters={"type": "object", "properties": {"item": {"type": "string"}, "modification": {"type": "string"}}, "required": ["item", "modification"]},
    )
    twice, once = '{"item": "garden salad", "modification": "garden salad"}', '{"item": "garden salad", "modification": "no croutons"}'
    chat, engine = completer([twice, once])
    # the later parameter is written again without the value, before any binding
    asked = "I would like to change my lunch order by making the side dish called 'garden salad' come with 'no croutons' today"
    result = await chat.complete(request(asked, [edit]))
    assert json.loads(result.tool_calls[0].arguments) == {"item": "garden salad", "modification": "no croutons"}
    assert engine.replies_left == 0
    # out of room the second time (twice): what was written first stands, and binding scores
    # its values instead, one parameter at a time (the last two replies, each past the JSON its
    # options open with)
    cut = Completion(text='{"item": "garden salad", "modification": "lunch order I booked', finish_reason="length", usage=Usage())
    chat, engine = completer([twice, cut, cut, ' "garden salad", "modification": "garden salad"}', ' "no croutons"}'])
    result = await chat.complete(request(asked, [edit]))
    assert json.loads(result.tool_calls[0].arguments) == json.loads(once) and engine.replies_left == 0
    # said twice, a value may serve two parameters: written once
    chat, engine = completer(['{"item": "soup", "modification": "soup"}', once])
    result = await chat.complete(request("Change the soup of my order to another soup", [edit]))
    assert json.loads(result.tool_calls[0].arguments) == {"item": "soup", "modification": "soup"} and engine.replies_left == 1


def test_a_text_keeps_the_time_it_runs_into_when_no_parameter_takes_one() -> None:
    note = {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}
    assert "water the ferns at 6 pm" in narrow_arguments(note, Evidence.of("Jot this down: water the ferns at 6 pm"))["properties"]["note"]["enum"]
    # a tool that takes the time on its own: the text leaves it
    timed = {"type": "object", "properties": {"note": {"type": "string"}, "at": {"type": "string", "format": "time"}}, "required": ["note", "at"]}
    assert "water the ferns at 6 pm" not in narrow_arguments(timed, Evidence.of("Jot this down: water the ferns at 6 pm"))["properties"]["note"]["enum"]


def test_a_value_another_parameter_lists_is_no_free_text() -> None:
    deploy = {
        "type": "object",
        "properties": {"app": {"type": "string"}, "stage": {"type": "string", "enum": ["live", "sandbox"]}},
        "required": ["app", "stage"],
    }
    narrowed = narrow_arguments(deploy, Evidence.of("Redeploy the billing-worker app on sandbox"))["properties"]
    assert narrowed["app"]["enum"] == ["billing-worker"] and narrowed["stage"]["enum"] == ["sandbox"]
    offered = narrow_arguments(deploy, Evidence.of("Redeploy the ledger app in sandbox for the auditors"))["properties"]["app"]["enum"]
    assert "ledger" in offered and not any("sandbox" in (o.split()[0], o.split()[-1]) for o in offered)  # nor a span it opens or closes


def test_a_word_saying_another_parameters_value_is_no_free_texts() -> None:
    fan = {
        "type": "object",
        "properties": {"area": {"type": "string"}, "setting": {"type": "string", "enum": ["breeze", "gust", "low_hum", "stop"]}},
        "required": ["area", "setting"],
    }
    # the value said in other words: its stem ("gusting" for `gust`), its words ("low hum" for `low_hum`)
    assert narrow_arguments(fan, Evidence.of("Set the attic fan gusting"))["properties"]["area"]["enum"] == ["attic fan", "attic", "fan"]
    # a word whose stem is a value's, but which does not open with it, is no saying of it ("new" of `news`)
    feed = {"type": "object", "properties": {"topic": {"type": "string"}, "kind": {"type": "string", "enum": ["news", "blogs"]}}, "required": ["topic", "kind"]}
    assert "new bike lanes" in narrow_arguments(feed, Evidence.of("Look up new bike lanes"))["properties"]["topic"]["enum"]
    offered = narrow_arguments(fan, Evidence.of("Put the greenhouse on a soft low hum"))["properties"]["area"]["enum"]
    assert "greenhouse" in offered and not any(w in o.split() for o in offered for w in ("low", "hum"))


def test_a_postal_address_is_found_with_its_parts() -> None:
    from radixagent.evidence.addresses import Address, find_addresses

    assert find_addresses("Mail the invoice to Petra Novak, Vinohradská 48, 12000 Praha, CZ") == [
        Address(text="Vinohradská 48, 12000 Praha, CZ", street="Vinohradská 48", city="Praha", postal_code="12000", country="CZ")
    ]
    assert find_addresses("Drop me at 77 Harbour Road, Wellington, NZ") == [
        Address(text="77 Harbour Road, Wellington, NZ", street="77 Harbour Road", city="Wellington", region="NZ")
    ]  # a code after a town is its state or its country: read as a state, a country where no state is asked
    # an address stops at a full stop; a number and capitalised words are no street without a code or a street's word
    assert [a.text for a in find_addresses("Pick up at 9 Lantern Lane, Bristol. Bring 2 bags")] == ["9 Lantern Lane, Bristol"]
    assert find_addresses("We need 4 Chairs, Tables, Lamps") == []


def test_an_address_goes_to_the_parameters_that_take_it_and_no_other() -> None:
    parcel = {
        "type": "object",
        "properties": {
            "to": {
                "type": "object",
                "properties": {
                    "person": {"type": "string"},
                    "where": {
                        "type": "object",
                        "properties": {"street": {"type": "string"}, "town": {"type": "string"}, "zip": {"type": "string"}, "country": {"type": "string"}},
                        "required": ["street", "town", "zip", "country"],
                    },
                },
                "required": ["person", "where"],
            }
        },
        "required": ["to"],
    }
    narrowed = narrow_arguments(parcel, Evidence.of("Mail the invoice to Petra Novak, Vinohradská 48, 12000 Praha, CZ"))["properties"]["to"]["properties"]
    parts = narrowed["where"]["properties"]
    assert [parts[n]["enum"] for n in ("street", "town", "zip", "country")] == [["Vinohradská 48"], ["Praha"], ["12000"], ["CZ"]]
    assert "Petra Novak" in narrowed["person"]["enum"] and not any("48" in o or "Praha" in o for o in narrowed["person"]["enum"])
    cab = {"type": "object", "properties": {"dropoff": {"type": "string", "description": "street address"}}, "required": ["dropoff"]}
    offered = narrow_arguments(cab, Evidence.of("Drop me at 77 Harbour Road, Wellington, NZ"))["properties"]["dropoff"]["enum"]
    assert offered == ["77 Harbour Road, Wellington, NZ"]
    country = {"type": "object", "properties": {"street": {"type": "string"}, "country": {"type": "string"}}, "required": ["street", "country"]}
    assert narrow_arguments(country, Evidence.of("Drop me at 77 Harbour Road, Wellington, NZ"))["properties"]["country"]["enum"] == ["NZ"]


def test_an_items_text_leaves_its_amount_and_the_words_of_other_parameters() -> None:
    haul = {
        "type": "object",
        "properties": {
            "trip": {"type": "string", "enum": ["morning", "evening"]},
            "catch": {
                "type": "array",
                "items": {"type": "object", "properties": {"fish": {"type": "string"}, "kilos": {"type": "number"}}, "required": ["fish", "kilos"]},
            },
        },
        "required": ["trip", "catch"],
    }
    request = Evidence.of("On the morning trip we landed 12 kilos of mackerel and 3 kilos of cod")
    item = narrow_arguments(haul, request)["properties"]["catch"]["items"]["properties"]
    assert item["kilos"]["enum"] == [12, 3]
    assert {"mackerel", "cod"} <= set(item["fish"]["enum"])
    # no amount, no "kilos of ...", no "morning" (the trip's value)
    assert not any(set(o.split()) & {"12", "3", "morning"} or o.startswith("kilos") for o in item["fish"]["enum"])


def test_a_part_that_names_where_it_goes_takes_the_origin_from_the_request() -> None:
    code = {"type": "string", "pattern": "^[A-Z]{3}$"}
    move = {"type": "object", "properties": {"units": {"type": "integer"}, "from_depot": code, "to_depot": code}, "required": ["units", "from_depot", "to_depot"]}
    request = Evidence.of("Move 40 OSL units to BER, then to MAD")
    later = request.parts[-1]
    assert later.text.strip(" .") == "to MAD"
    narrowed = narrow_arguments(move, later, context=request, used={"to_depot": {"BER"}})["properties"]
    assert narrowed["from_depot"]["enum"] == ["OSL"] and narrowed["to_depot"]["enum"] == ["MAD"]


def test_a_word_naming_another_parameter_is_no_value_of_an_enum() -> None:
    probe = {
        "type": "object",
        "properties": {
            "sensorKind": {"type": "string", "enum": ["humidity", "pressure"]},
            "report": {"type": "string", "enum": ["sensors", "battery", "uptime"]},
        },
        "required": ["sensorKind", "report"],
    }
    # "sensor" names the `sensorKind` parameter, not the report on `sensors`
    narrowed = narrow_arguments(probe, Evidence.of("I want battery figures for the humidity sensor"))["properties"]
    assert narrowed["report"]["enum"] == ["battery"] and narrowed["sensorKind"]["enum"] == ["humidity"]
    # a value said as the only one stays, whatever its words
    assert narrow_arguments(probe, Evidence.of("List the sensors for pressure"))["properties"]["report"]["enum"] == ["sensors"]


def test_a_date_is_offered_in_the_layout_its_parameter_asks_for() -> None:
    def ferry(description: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"sail_on": {"type": "string", "description": description}}, "required": ["sail_on"]}

    request = Evidence.of("Book the ferry to Hvar on June 9th, 2027")
    assert narrow_arguments(ferry("sailing date, in the format 'MM/DD/YYYY'"), request)["properties"]["sail_on"]["enum"] == ["06/09/2027"]
    assert narrow_arguments(ferry("sailing date as dd.mm.yyyy"), request)["properties"]["sail_on"]["enum"] == ["09.06.2027"]
    assert narrow_arguments(ferry("sailing date, e.g. '28/02/2027'"), request)["properties"]["sail_on"]["enum"] == ["09/06/2027"]  # the day first
    assert narrow_arguments(ferry("sailing date, YYYY-MM-DD"), request)["properties"]["sail_on"]["enum"] == ["2027-06-09"]
    assert narrow_arguments(ferry("sailing date, e.g. '03/04/2027'"), request)["properties"]["sail_on"]["enum"] == ["2027-06-09"]  # which is the day, it does not say


def test_a_date_and_a_time_are_joined_for_a_parameter_that_takes_both() -> None:
    def kiln(node: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"fire_at": {"type": "string", **node}}, "required": ["fire_at"]}

    request = Evidence.of("Fire the kiln on 2027-02-14 at 6:15 pm")
    spaced = kiln({"description": "when to fire, 'YYYY-MM-DD HH:MM:SS'"})
    assert narrow_arguments(spaced, request)["properties"]["fire_at"]["enum"] == ["2027-02-14 18:15:00"]
    zoned = kiln({"description": "start, e.g. '2026-01-31T08:00:00Z'"})
    assert narrow_arguments(zoned, request)["properties"]["fire_at"]["enum"] == ["2027-02-14T18:15:00Z"]
    assert narrow_arguments(kiln({"format": "date-time"}), request)["properties"]["fire_at"]["enum"] == ["2027-02-14T18:15:00Z"]
    # a date alone: the day is the request's, the time the model's to write
    dated = narrow_arguments(spaced, Evidence.of("Fire the kiln on 2027-02-14"))["properties"]["fire_at"]
    assert "enum" not in dated and re.fullmatch(dated["pattern"], "2027-02-14 07:00:00") and not re.fullmatch(dated["pattern"], "2027-02-14")


def test_a_host_or_a_url_is_what_reads_as_one() -> None:
    mirror = {"type": "object", "properties": {"label": {"type": "string"}, "host": {"type": "string"}}, "required": ["label", "host"]}
    for request, host in (
        ("Register the mirror named Kestrel, host address 'files.kestrel.example'", "files.kestrel.example"),
        ("Add the Kestrel mirror; its host IP is 10.20.30.40", "10.20.30.40"),
        ("Point the Kestrel mirror at host https://kestrel.example/pub", "https://kestrel.example/pub"),
    ):
        assert narrow_arguments(mirror, Evidence.of(request))["properties"]["host"]["enum"] == [host], request


COURT = ToolSchema(
    name="book_court",
    description="Book a tennis court",
    parameters={"type": "object", "properties": {"day": {"type": "string", "description": "YYYY-MM-DD"}}, "required": ["day"]},
)


async def test_days_told_count_from_the_day_the_system_message_states() -> None:
    chat = ChatCompleter(ScriptedEngine(first_allowed), decision=LEXICAL)
    body = request("Book a court for tomorrow", [COURT])
    body.messages.insert(0, ChatRequest.model_validate({"messages": [{"role": "system", "content": "Please act like the current date is 2027/02/21"}]}).messages[0])
    result = await chat.complete(body)
    assert json.loads(result.tool_calls[0].arguments) == {"day": "2027-02-22"}


async def test_days_told_count_from_the_day_the_agents_instructions_state() -> None:
    from radixagent import Agent

    booked: list[str] = []
    agent = Agent(ScriptedEngine(first_allowed), instructions="You book courts. Today is 2027-02-21.", decision=LEXICAL, max_iterations=2)

    @agent.tool
    def book_court(day: str) -> str:
        """Book a tennis court.

        Args:
            day: the day, YYYY-MM-DD
        """
        booked.append(day)
        return f"booked for {day}"

    await agent.run("Book a court for the day after tomorrow")
    assert booked[:1] == ["2027-02-23"] and agent.stated_today == date(2027, 2, 21)


def test_an_enum_value_is_told_by_the_words_its_description_gives_it() -> None:
    cabins = {
        "type": "object",
        "properties": {
            "berth": {"type": "string", "enum": ["inside", "window", "suite"], "description": "inside: no porthole, the quietest; window: a porthole over the sea; suite: a balcony and a lounge"},
        },
        "required": ["berth"],
    }
    assert narrow_arguments(cabins, Evidence.of("A cabin with a balcony for two, please"))["properties"]["berth"]["enum"] == ["suite"]
    assert narrow_arguments(cabins, Evidence.of("Whichever berth is quietest"))["properties"]["berth"]["enum"] == ["inside"]
    # a word every gloss shares, or the tool's own, tells no value apart
    assert narrow_arguments(cabins, Evidence.of("Book a cabin on the ferry"))["properties"]["berth"]["enum"] == ["inside", "window", "suite"]
    porthole = narrow_arguments(cabins, Evidence.of("a berth with a porthole"), tool_words={"porthole"})
    assert porthole["properties"]["berth"]["enum"] == ["inside", "window", "suite"]


def test_a_superlative_before_the_parameters_word_asks_for_an_end_of_its_enum() -> None:
    crates = {
        "type": "object",
        "properties": {"crate": {"type": "string", "enum": ["20ft", "40ft", "45ft"], "description": "container length"}, "port": {"type": "string"}},
        "required": ["crate", "port"],
    }
    assert narrow_arguments(crates, Evidence.of("Ship it to Gdansk in your longest container"))["properties"]["crate"]["enum"] == ["45ft"]
    assert narrow_arguments(crates, Evidence.of("The shortest container you have, to Gdansk"))["properties"]["crate"]["enum"] == ["20ft"]
    # a superlative of something else leaves the enum open
    assert narrow_arguments(crates, Evidence.of("The fastest route to Gdansk"))["properties"]["crate"]["enum"] == ["20ft", "40ft", "45ft"]


def test_a_superlative_asks_for_the_parameter_named_for_what_it_measures() -> None:
    tins = {
        "type": "object",
        "properties": {"flavour": {"type": "string", "enum": ["plain", "spiced"]}, "size": {"type": "string", "enum": ["small", "medium", "large"]}},
        "required": ["flavour", "size"],
    }
    assert narrow_arguments(tins, Evidence.of("The tiniest tin of spiced biscuits, please."))["properties"]["size"]["enum"] == ["small"]
    assert narrow_arguments(tins, Evidence.of("Your biggest spiced biscuit tin."))["properties"]["size"]["enum"] == ["large"]
    # "cheapest" measures a price, not a size
    assert narrow_arguments(tins, Evidence.of("Spiced biscuits, the cheapest you have."))["properties"]["size"]["enum"] == ["small", "medium", "large"]

def test_a_priority_is_set_by_how_urgent_the_request_says_it_is() -> None:
    ticket = {"type": "object", "properties": {"title": {"type": "string"}, "prio": {"type": "string", "enum": ["lo", "std", "hi"], "default": "std"}}, "required": ["title"]}

    def prio(text: str) -> Any:
        return narrow_arguments(ticket, Evidence.of(text))["properties"].get("prio", {}).get("enum")

    assert prio("Urgent: log 'boiler leak' as a ticket") == ["hi"]
    assert prio("Log 'squeaky door', no rush") == ["lo"]
    assert prio("Log 'squeaky door'") is None  # said nothing of it: the tool's default
    lab = {"type": "object", "properties": {"test": {"type": "string"}, "urgency": {"type": "string", "enum": ["routine", "urgent", "stat"]}}, "required": ["test", "urgency"]}
    assert narrow_arguments(lab, Evidence.of("Run a troponin immediately"))["properties"]["urgency"]["enum"] == ["stat"]

def test_an_enum_value_is_named_by_a_word_no_other_value_has() -> None:
    pool = {
        "type": "object",
        "properties": {
            "slot": {"type": "string"},
            "lane": {"type": "string", "enum": ["fast_lane", "medium_lane", "slow_lane"]},
            "towel": {"type": "string", "enum": ["bring_own", "hire_towel"]},
        },
        "required": ["slot"],
    }

    def kept(text: str) -> dict[str, Any]:
        return {n: c.get("enum") for n, c in narrow_arguments(pool, Evidence.of(text))["properties"].items() if n != "slot"}

    assert kept("Book me the 7am slot, I'll swim in the slow one") == {"lane": ["slow_lane"]}
    assert kept("Book me the 7am slot, and I'd like to hire one") == {"towel": ["hire_towel"]}
    assert kept("Book me the 7am slot in any lane") == {"lane": ["fast_lane", "medium_lane", "slow_lane"]}  # a word all share names none
    # a word of a town's name names no value; a town the value names does
    flights = {"type": "object", "properties": {"day": {"type": "string"}, "airline": {"type": "string", "enum": ["American Airlines", "Air Canada"]}}, "required": ["day"]}
    assert "airline" not in narrow_arguments(flights, Evidence.of("Any flights out of American Canyon on Friday?"))["properties"]
    call = {"type": "object", "properties": {"at": {"type": "string"}, "tz": {"type": "string", "enum": ["Europe/Lisbon", "Asia/Seoul"]}}, "required": ["at"]}
    assert narrow_arguments(call, Evidence.of("Move the call to 3pm Lisbon time"))["properties"]["tz"]["enum"] == ["Europe/Lisbon"]
    # the tool's own words ask for the tool, not for a value
    sights = {"type": "object", "properties": {"town": {"type": "string"}, "kind": {"type": "string", "enum": ["Tourist Attraction", "Nature Preserve"]}}, "required": ["town"]}
    assert "kind" not in narrow_arguments(sights, Evidence.of("Attractions for kids in Oslo?"), tool_words=terms("find_attractions"))["properties"]


def test_a_person_named_for_a_role_is_kept_for_the_parameter_of_that_role() -> None:
    lesson = {
        "type": "object",
        "properties": {
            "day": {"type": "string", "enum": ["Mon", "Tue", "Wed", "Thu", "Fri"]},
            "subject": {"type": "string", "enum": ["maths", "music"]},
            "tutor": {"type": "string", "description": "tutor"},
        },
        "required": ["day", "subject"],
    }
    assert narrow_arguments(lesson, Evidence.of("Music on Tuesday with Mrs Okonjo, please"))["properties"]["tutor"]["enum"] == ["Mrs Okonjo"]
    assert "tutor" not in narrow_arguments(lesson, Evidence.of("Music on Tuesday, please"))["properties"]
    salon = {"type": "object", "properties": {"t": {"type": "string", "description": "HH:MM"}, "who": {"type": "string", "description": "stylist"}}, "required": ["t"]}
    assert narrow_arguments(salon, Evidence.of("A trim at 11:15 with Oskar"))["properties"]["who"]["enum"] == ["Oskar"]
    # a name the request gives for something else is no person in the role
    tour = {"type": "object", "properties": {"day": {"type": "string", "description": "YYYY-MM-DD"}, "guide": {"type": "string"}}, "required": ["day"]}
    assert "guide" not in narrow_arguments(tour, Evidence.of("A walking tour of Gyeongbokgung on 2026-05-02"))["properties"]
    assert narrow_arguments(tour, Evidence.of("A walking tour on 2026-05-02, the guide Minji if she is free"))["properties"]["guide"]["enum"] == ["Minji"]


def test_a_part_of_the_day_is_told_by_the_time_the_request_gives() -> None:
    callback = {"type": "object", "properties": {"phone": {"type": "string"}, "window": {"type": "string", "enum": ["morning", "afternoon", "evening"]}}, "required": ["phone"]}

    def window(text: str) -> Any:
        return narrow_arguments(callback, Evidence.of(text))["properties"].get("window", {}).get("enum")

    assert window("Ring me on 07700 900461 after 7pm") == ["evening"]
    assert window("Ring me on 07700 900461 at half past nine in the morning") == ["morning"]
    assert window("Ring me on 07700 900461 at 9am or at 4pm") is None  # two times: which one?
    assert window("Ring me on 07700 900461") is None
    late = {**callback, "properties": {**callback["properties"], "window": {"type": "string", "enum": ["morning", "late_night"]}}}
    assert narrow_arguments(late, Evidence.of("Ring 07700 900461 after 11pm"))["properties"]["window"]["enum"] == ["late_night"]


def test_a_description_in_another_language_tells_what_the_request_speaks_of() -> None:
    ticket = {"type": "object", "properties": {"account": {"type": "string", "description": "계정 번호"}, "remarks": {"type": "string", "description": "비고"}}, "required": ["account"]}
    noted = narrow_arguments(ticket, Evidence.of("Account AC-3391 keeps dropping. Note: 'it happens every evening'"))["properties"]
    assert noted["remarks"]["enum"] == ["it happens every evening"]
    assert "remarks" not in narrow_arguments(ticket, Evidence.of("Account AC-3391 keeps dropping"))["properties"]


def test_a_value_a_strings_own_bounds_refuse_is_not_offered() -> None:
    parts = {"street": {"type": "string", "maxLength": 12}, "city": {"type": "string", "maxLength": 12}}
    mailing = {"type": "object", "properties": {"to": {"type": "object", "properties": parts, "required": ["street", "city"]}}, "required": ["to"]}
    # the address's street is too long for the bound: it stays free under it, never unsatisfiable
    narrowed = narrow_arguments(mailing, Evidence.of("Post it to 221 Wandsworth Bridge Road, London SW6 2TY"))["properties"]["to"]["properties"]
    assert "enum" not in narrowed["street"] and narrowed["city"]["enum"] == ["London"]


def test_a_list_whose_items_take_a_name_gets_an_item_per_name() -> None:
    riders = {
        "type": "object",
        "properties": {
            "riders": {"type": "array", "items": {"type": "object", "properties": {"member": {"type": "string"}, "bike": {"type": "string", "enum": ["road", "gravel"]}}, "required": ["member", "bike"]}},
        },
        "required": ["riders"],
    }
    # three parts, two names: two items at most; a name inside another is no item of its own
    assert narrow_arguments(riders, Evidence.of("Sign up Ines and Bruno, both on gravel bikes, please"))["properties"]["riders"]["maxItems"] == 2
    assert narrow_arguments(riders, Evidence.of("Sign up Aunt Ines, and Bruno too, and Zoe, all on road bikes"))["properties"]["riders"]["maxItems"] == 3


def test_codes_glossed_with_names_are_said_by_their_names_and_directions() -> None:
    ports = ["DVR", "CLQ", "RTM"]
    crossing = {
        "type": "object",
        "properties": {
            "dep": {"type": "string", "enum": ports, "description": "from port: DVR=Dover, CLQ=Calais, RTM=Rotterdam"},
            "arr": {"type": "string", "enum": ports, "description": "to port"},
            "vehicle": {"type": "string"},
        },
        "required": ["dep", "arr", "vehicle"],
    }
    narrowed = narrow_arguments(crossing, Evidence.of("Take my camper van from Calais to the Rotterdam terminal"))["properties"]
    # the port without glosses shares its sibling's; each takes the name after its direction
    assert narrowed["dep"]["enum"] == ["CLQ"] and narrowed["arr"]["enum"] == ["RTM"]
    # a name a code is glossed with is no free text's
    assert "Calais" not in narrowed["vehicle"]["enum"] and "camper van" in narrowed["vehicle"]["enum"]


def test_a_part_that_also_says_what_day_it_is_gives_no_day_of_its_own() -> None:
    request = Evidence.of("Mow the lawn the day after tomorrow; the grass is long. Today is Monday, 2026-06-01.")
    assert request.dates == ["2026-06-03"]
    assert [p.dates for p in request.parts] == [["2026-06-03"], []]


def test_two_addresses_go_to_the_objects_their_directions_name() -> None:
    place = {"type": "object", "properties": {"street": {"type": "string"}, "town": {"type": "string"}, "postcode": {"type": "string"}, "country": {"type": "string"}}, "required": ["street", "town"]}
    haul = {"type": "object", "properties": {"pickup_from": place, "deliver_to": place}, "required": ["pickup_from", "deliver_to"]}
    text = "Collect a sofa from 9 Mill Lane, York YO1 7HP and take it to 14 Rue du Bac, 75007 Paris, France on 2026-05-02"
    narrowed = narrow_arguments(haul, Evidence.of(text))["properties"]
    origin, destination = narrowed["pickup_from"]["properties"], narrowed["deliver_to"]["properties"]
    assert (origin["street"]["enum"], origin["town"]["enum"], origin["postcode"]["enum"]) == (["9 Mill Lane"], ["York"], ["YO1 7HP"])
    assert (destination["street"]["enum"], destination["town"]["enum"], destination["country"]["enum"]) == (["14 Rue du Bac"], ["Paris"], ["France"])
    # a part of an address the request leaves out is not filled with another value
    assert "country" not in origin


def test_a_one_letter_code_stands_for_a_units_name_not_any_word_after_to() -> None:
    assert Evidence.of("How much to move the shed?").named(["S", "M", "L"]) == []
    assert Evidence.of("Set the oven to Fahrenheit").named(["C", "F"]) == ["F"]


def test_a_number_is_said_by_the_word_its_description_gives_it() -> None:
    assert described_numbers({"description": "1 mild to 5 fiery"}) == {1.0: "mild", 5.0: "fiery"}
    assert described_numbers({"description": "from 0 (silent) to 10 (deafening)"}) == {0.0: "silent", 10.0: "deafening"}
    assert described_numbers({"description": "1 to 5 stars"}) == {}
    curry = {
        "type": "object",
        "properties": {"dish": {"type": "string"}, "heat": {"type": "integer", "minimum": 1, "maximum": 5, "description": "1 mild to 5 fiery"}},
        "required": ["dish"],
    }
    assert narrow_arguments(curry, Evidence.of("A lamb vindaloo, as fiery as you can make it"))["properties"]["heat"]["enum"] == [5]
    assert "heat" not in narrow_arguments(curry, Evidence.of("A lamb korma, nothing too fiery"))["properties"]  # negated
    speaker = {
        "type": "object",
        "properties": {"song": {"type": "string"}, "volume": {"type": "integer", "description": "0 (mute) to 100 (loudest)"}},
        "required": ["song"],
    }
    assert narrow_arguments(speaker, Evidence.of("Play Clocks for five minutes"))["properties"].get("volume", {}).get("enum") != [0]  # "minutes" says no "mute"


def test_a_verb_in_e_keeps_its_stem_through_ed_and_ing() -> None:
    assert stem("closed") == stem("closing") == stem("close")
    assert stem("rated") == stem("rate") and stem("named") == stem("name")
    assert stem("parked") == "park" and stem("booked") == "book"  # no "e" where the verb has none
    assert stem("plane") != stem("plan")
    # "Close" a ticket: `closed`
    ticket = {"type": "object", "properties": {"state": {"type": "string", "enum": ["open", "closed"]}}, "required": ["state"]}
    assert narrow_arguments(ticket, Evidence.of("Close the printer ticket"))["properties"]["state"]["enum"] == ["closed"]
