"""Standard codes a request names by their names (CLDR through babel): currencies, languages,
countries and units, read as the codes a parameter takes. Plain text processing: no engine."""

from __future__ import annotations

from typing import Any

from radixagent.evidence import Evidence, narrow_arguments
from radixagent.evidence.codes import CodeParameter, System, code_of, code_parameter, language_name, system_of
from radixagent.evidence.parts import extent
from radixagent.evidence.support import grounds, support
from radixagent.schemas import ToolSchema


def named(text: str, system: System) -> list[str]:
    return Evidence.of(text).codes_named(system)


def enum_of(schema: dict[str, Any], text: str, parameter: str) -> list[Any] | None:
    narrowed = narrow_arguments(schema, Evidence.of(text))["properties"][parameter]
    return narrowed.get("enum")


def test_currencies_by_their_names_their_last_word_and_their_signs() -> None:
    assert named("Pay 75 Norwegian kroner to the landlord", System.CURRENCY) == ["NOK"]
    assert named("It came to 18 Singapore dollars in the end", System.CURRENCY) == ["SGD"]
    assert named("Lunch was £12 and the taxi 9€", System.CURRENCY) == ["GBP", "EUR"]
    # a currency's last word alone where a unit stands: the one its sign marks ($ is USD)
    assert named("I still have 40 dollars on me", System.CURRENCY) == ["USD"]
    assert named("Can you change this into rupees?", System.CURRENCY) == ["INR"]
    # and all of them where no sign tells
    assert {"CHF", "XOF"} <= set(named("The fee is 12 francs", System.CURRENCY))


def test_a_currency_word_is_read_only_where_a_unit_stands() -> None:
    assert named("Our team won the cup twice", System.CURRENCY) == []
    assert named("Is that a real diamond?", System.CURRENCY) == []
    assert named("The price was 300 real", System.CURRENCY) == ["BRL"]


def test_languages_and_countries_need_their_capitals() -> None:
    assert named("Subtitles in Hungarian, please", System.LANGUAGE) == ["hu"]
    assert named("a flight to Chad on Monday", System.COUNTRY) == ["TD"]
    assert named("my friend chad is coming over", System.COUNTRY) == []
    assert named("tell us about it", System.COUNTRY) == []
    assert named("the Netherlands and Peru", System.COUNTRY) == ["NL", "PE"]


def test_a_country_by_its_peoples_name_from_its_currency() -> None:
    # "Mexican peso" (MXN) names Mexico's people; the sign on the won tells South Korea from North
    assert named("a Mexican passport holder", System.COUNTRY) == ["MX"]
    assert named("the Korean consulate", System.COUNTRY) == ["KR"]
    assert named("two Danish students", System.COUNTRY) == ["DK"]


def test_units_by_their_names_american_and_british() -> None:
    assert named("Pour in 4 litres of water", System.UNIT) == ["L"]
    assert named("a 6 pound bag of flour", System.UNIT) == ["lb"]
    assert named("It is 30 degrees Celsius outside", System.UNIT) == ["C"]
    assert named("Make it 250 millilitres", System.UNIT) == ["mL"]


def test_codes_of_each_system() -> None:
    assert code_of("usd") == "USD"
    assert code_of("ml", System.UNIT) == "mL"
    assert code_of("c", System.UNIT) == "c"  # a cup; "C" is Celsius
    assert code_of("C", System.UNIT) == "C"
    assert code_of("de", System.COUNTRY) is None  # a country's code is written in capitals
    assert code_of("DE", System.COUNTRY) == "DE"
    assert system_of(["kg", "lb", "oz"]) is System.UNIT
    assert system_of(["EUR", "GBP"]) is System.CURRENCY
    assert system_of(["ko", "en"]) is System.LANGUAGE
    assert system_of(["small", "large"]) is None


def test_which_parameters_take_a_code() -> None:
    def taking(name: str, description: str = "") -> CodeParameter | None:
        node = {"type": "string", "description": description}
        return code_parameter(name, node)

    assert taking("payout", "ISO 4217 code of the payout currency") == CodeParameter(System.CURRENCY, code=True)
    assert taking("lang") == CodeParameter(System.LANGUAGE, code=True, upper=False)
    assert taking("to", "language to translate into, e.g. fr") == CodeParameter(System.LANGUAGE, code=True, upper=False)
    assert taking("origin", "two-letter country code") == CodeParameter(System.COUNTRY, code=True)
    assert taking("target_language", "the language wanted") == CodeParameter(System.LANGUAGE, code=False)
    assert taking("origin", "ISO 3166 alpha-3 country code") is None  # three letters: CLDR's are two
    assert taking("city", "city name") is None


def test_a_code_parameter_takes_the_code_the_request_names() -> None:
    transfer = {
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "currency": {"type": "string", "description": "three-letter currency code"},
        },
        "required": ["amount", "currency"],
    }
    assert enum_of(transfer, "Transfer 90 Danish kroner to Ole", "currency") == ["DKK"]
    assert enum_of(transfer, "Transfer $25 to my sister", "currency") == ["USD"]
    translate = {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "source_lang": {"type": "string", "description": "ISO 639-1 code"},
            "target_lang": {"type": "string", "description": "ISO 639-1 code"},
        },
        "required": ["text", "source_lang", "target_lang"],
    }
    text = "Turn 'goede morgen' from Dutch into Swedish"
    assert enum_of(translate, text, "source_lang") == ["nl"]
    assert enum_of(translate, text, "target_lang") == ["sv"]


def test_an_enum_of_codes_is_named_by_their_names() -> None:
    weight = {"type": "object", "properties": {"unit": {"type": "string", "enum": ["kg", "lb"]}}, "required": ["unit"]}
    assert enum_of(weight, "a 7 pound box of apples", "unit") == ["lb"]
    money = {"type": "object", "properties": {"currency": {"type": "string", "enum": ["USD", "GBP", "EUR"]}}, "required": ["currency"]}
    assert enum_of(money, "the ticket was £30", "currency") == ["GBP"]


def test_a_named_code_ranks_the_tool_that_takes_one() -> None:
    subtitle = ToolSchema(
        name="caption_clip",
        description="Caption a clip.",
        parameters={"type": "object", "properties": {"clip": {"type": "string"}, "lng": {"type": "string", "description": "lang code"}}, "required": ["clip", "lng"]},
    )
    trim = ToolSchema(
        name="trim_clip",
        description="Trim a clip.",
        parameters={"type": "object", "properties": {"clip": {"type": "string"}, "seconds": {"type": "number"}}, "required": ["clip", "seconds"]},
    )
    ranked = support(Evidence.of("I want this clip in Finnish"), [trim, subtitle])
    assert ranked["caption_clip"] > ranked["trim_clip"]


RATE = ToolSchema(
    name="fx_rate",
    description="Rate.",
    parameters={"type": "object", "properties": {"base": {"type": "string", "description": "ccy"}, "quote": {"type": "string", "description": "ccy"}}, "required": ["base", "quote"]},
)
CONSULATE = ToolSchema(
    name="consulate_hours",
    description="Opening hours.",
    parameters={
        "type": "object",
        "properties": {"nation": {"type": "string", "description": "two-letter country code"}, "city": {"type": "string", "description": "city name"}},
        "required": ["nation", "city"],
    },
)


def test_named_codes_alone_ground_a_call_only_when_they_fill_it() -> None:
    # a code for each code parameter, and a value of its own for each other: the whole call
    assert grounds(Evidence.of("Swedish krona against the Thai baht, please"), [RATE]) > 0
    assert grounds(Evidence.of("The Peruvian people in Lima, at what times?"), [CONSULATE]) > 0
    # one currency for two, or a country and no city: a question about the world
    assert grounds(Evidence.of("Why is the Thai baht so stable?"), [RATE]) == 0
    assert grounds(Evidence.of("How large is Peru?"), [CONSULATE]) == 0


def test_the_longest_name_is_the_one_read() -> None:
    found = Evidence.of("Is 20 Swiss francs enough?")
    assert found.codes_named(System.CURRENCY) == ["CHF"] and found.codes_named(System.COUNTRY) == []
    # a word two systems name alike is both, for the parameter to tell
    assert Evidence.of("It weighs 3 pounds").codes_named(System.UNIT) == ["lb"]
    assert Evidence.of("It costs 3 pounds").codes_named(System.CURRENCY) == ["GBP"]


def test_a_place_parameter_written_with_a_country_takes_a_place() -> None:
    node = {"type": "string", "description": "where, in the format 'City, Country'"}
    assert code_parameter("location", node) is None


def test_a_language_s_english_name_from_its_code_or_its_korean_name() -> None:
    assert [language_name(x) for x in ("sv", "pt-BR", "독일어", "Welsh", "Elvish")] == ["Swedish", "Portuguese", "German", "Welsh", "Elvish"]


EXCHANGE = ToolSchema(
    name="exchange",
    description="Exchange money.",
    parameters={
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "source": {"type": "string", "description": "three-letter currency code"},
            "target": {"type": "string", "description": "three-letter currency code"},
        },
        "required": ["amount", "source", "target"],
    },
)


def test_a_named_code_is_a_value_a_call_takes() -> None:
    assert {"EUR", "JPY"} <= set(Evidence.of("Exchange 70 euros to yen").values([EXCHANGE]))
    # so a part naming another target is a call of its own, not more of the first
    request = Evidence.of("Exchange 70 euros to yen and to Swiss francs")
    assert extent(EXCHANGE, request, [EXCHANGE], 0) == 0


def test_a_recipient_described_by_name_takes_a_name_and_no_currency_word() -> None:
    pay = {
        "type": "object",
        "properties": {
            "recipient": {"type": "string", "description": "the payee's saved name"},
            "amount": {"type": "number", "description": "how much"},
            "currency": {"type": "string", "description": "ISO 4217 code"},
        },
        "required": ["recipient", "amount", "currency"],
    }
    assert enum_of(pay, "Pay 700 Danish kroner to Sigrid", "recipient") == ["Sigrid"]
    assert enum_of(pay, "Pay 700 Danish kroner to Sigrid", "currency") == ["DKK"]
