"""Later steps of an agent's run, on the scripted engine (deterministic): a part left that
names no tool of its own continues with the last call's tool; a result that holds the input of
another tool the request points to is followed up; a part that refers back to a result takes it
as its input; and a multi-part request is served part by part, each call taking its values
from its own part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest

from radixagent import Agent
from radixagent.decision import DecisionSettings, unserved_parts
from radixagent.decision.later_steps import fed_by_the_result, later_part
from radixagent.engine import ScriptedEngine
from radixagent.engine.embedded import EmbeddedEngine
from radixagent.engine.types import ChoicesConstraint, JsonSchemaConstraint
from radixagent.errors import ConstraintError
from radixagent.evidence import Evidence
from radixagent.evidence.parts import named_tools
from radixagent.schemas import ToolCallRecord, ToolSchema

LEXICAL = DecisionSettings(question_margin=None, tool_margin=None, calibration_weight=0.0)
"""The request's own words only (the noisy channel's and the lean's scoring requests are tested elsewhere)."""


def agent_with(replies: list[Any]) -> tuple[Agent, ScriptedEngine]:
    engine = ScriptedEngine(replies)
    agent = Agent(engine, decision=LEXICAL)

    @agent.tool
    def air_quality(town: str) -> str:
        """Air quality index in a town."""
        return f"{town}: AQI 42"

    @agent.tool
    def find_invoice(invoice_id: str) -> str:
        """Find an invoice by its id.

        Args:
            invoice_id: the invoice's id, e.g. INV-1001
        """
        return f"Invoice {invoice_id}: unpaid, payment reference PY-7788."

    @agent.tool
    def invoice_lines(invoice_id: str) -> str:
        """List the lines of an invoice.

        Args:
            invoice_id: the invoice's id, e.g. INV-1001
        """
        return "2 lines: paper, ink."

    @agent.tool
    def check_payment(payment_reference: str) -> str:
        """Check a payment: whether and when it clears.

        Args:
            payment_reference: e.g. PY-1234
        """
        return f"Payment {payment_reference} clears on Friday."

    @agent.tool
    def search_recipes(query: str) -> str:
        """Search the recipe box."""
        return "Plum cake: bake 40 minutes at 180 C with ripe plums."

    @agent.tool
    def condense(text: str) -> str:
        """Make a summary of a text."""
        return "Plum cake, 40 min."

    return agent, engine


def test_a_part_naming_no_tool_continues_with_the_last_tool() -> None:
    # step 1 offers the one tool the first part names, step 2 the same tool (nothing scored);
    # step 3 answers
    agent, engine = agent_with(['{"town": "Lyon"}', '{"town": "Nantes"}', "Both are fine."])
    response = agent.run_sync("What is the air quality in Lyon and Nantes?")
    assert response.is_successful, response.error_message
    assert [(c.tool, c.arguments) for c in response.tool_calls] == [("air_quality", {"town": "Lyon"}), ("air_quality", {"town": "Nantes"})]
    assert engine.replies_left == 0


def test_a_result_holding_another_tools_input_is_followed_up() -> None:
    # "clears" points to check_payment, whose input only the invoice holds
    agent, engine = agent_with([" find_invoice", '{"invoice_id": "INV-2002"}', '{"payment_reference": "PY-7788"}', "Friday."])
    response = agent.run_sync("When will invoice INV-2002 clear?")
    assert response.is_successful, response.error_message
    assert [c.tool for c in response.tool_calls] == ["find_invoice", "check_payment"]
    assert response.tool_calls[1].arguments == {"payment_reference": "PY-7788"}
    assert engine.replies_left == 0


def test_no_follow_up_when_the_request_points_to_no_other_tool() -> None:
    # invoice_lines is named ("invoice") and the result names an invoice again, but the request's
    # own: nothing new for it to take
    agent, engine = agent_with([" find_invoice", '{"invoice_id": "INV-2002"}', "It is unpaid."])
    response = agent.run_sync("Show me invoice INV-2002.")
    assert [c.tool for c in response.tool_calls] == ["find_invoice"]
    assert engine.replies_left == 0


def test_a_part_that_refers_back_takes_the_result_as_its_input() -> None:
    # step 1 serves the first part with its own words ("plum cake", not "what you find");
    # step 2's part names no value: the search's result is the text to condense
    found = "Plum cake: bake 40 minutes at 180 C with ripe plums."
    # (step 2's part names condense, and find_invoice for "find"; its verb, "make", names condense
    # only: nothing to score)
    agent, engine = agent_with(['{"query": "plum cake"}', f'{{"text": "{found}"}}', "Plum cake, 40 min."])
    response = agent.run_sync("Search the recipe box for plum cake and make a summary of what you find.")
    assert response.is_successful, response.error_message
    assert [(c.tool, c.arguments) for c in response.tool_calls] == [("search_recipes", {"query": "plum cake"}), ("condense", {"text": found})]
    assert engine.replies_left == 0


def test_a_call_that_names_no_value_of_its_part_breaks_the_script() -> None:
    """The first call may take only its own part's words: a script replying with the other
    part's fails its constraint (the scripted engine refuses a reply its constraint forbids)."""
    agent, _ = agent_with(['{"query": "what you find"}'])
    with pytest.raises(ConstraintError, match="plum cake"):
        agent.run_sync("Search the recipe box for plum cake and make a summary of what you find.")


def test_values_coordinated_after_a_call_s_part_belong_to_the_same_call() -> None:
    """ "Multiply 6 and 7": the part "7" names no tool and the call has a parameter left for it,
    so both numbers are offered to the one call (cut at "and", "7" alone would be refused)."""
    engine = ScriptedEngine(['{"x": 6, "y": 7}', "42"])
    agent = Agent(engine, decision=LEXICAL)

    @agent.tool
    def multiply(x: int, y: int) -> int:
        """Multiply two integers."""
        return x * y

    response = agent.run_sync("Multiply 6 and 7.")
    assert response.is_successful, response.error_message
    assert [(c.tool, c.arguments, c.result) for c in response.tool_calls] == [("multiply", {"x": 6, "y": 7}, "42")]
    assert engine.replies_left == 0


def test_the_first_step_serves_the_first_part() -> None:
    # the second part names check_payment ("check", "clears", "payment"); one call a step, the
    # first part comes first: only the invoice tools are offered
    agent, engine = agent_with([" find_invoice", '{"invoice_id": "INV-3003"}'])
    engine.add_replies('{"payment_reference": "PY-7788"}', "Friday.")
    response = agent.run_sync("Open invoice INV-3003, then check when the payment clears")
    assert [c.tool for c in response.tool_calls] == ["find_invoice", "check_payment"]
    # the first choice is among the first part's tools only: a script naming the other one breaks it
    agent, _ = agent_with([" check_payment"])
    with pytest.raises(ConstraintError, match=r"not one of \[' find_invoice', ' invoice_lines'\]"):
        agent.run_sync("Open invoice INV-3003, then check when the payment clears")


def test_numbers_listed_across_parts_go_to_one_call() -> None:
    # "add 2 and 3" is cut at "and", but the first part holds one number for a tool taking two:
    # the call takes both (a script writing the second number would break a one-number constraint)
    engine = ScriptedEngine(['{"a": 2, "b": 3}', "5"])
    agent = Agent(engine, decision=LEXICAL)

    @agent.tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    response = agent.run_sync("add 2 and 3")
    assert response.is_successful, response.error_message
    assert [(c.tool, c.arguments) for c in response.tool_calls] == [("add", {"a": 2, "b": 3})]
    assert engine.replies_left == 0


def test_a_refused_value_is_written_again_among_the_values_the_error_offers() -> None:
    engine = ScriptedEngine([])
    agent = Agent(engine, decision=LEXICAL)

    @agent.tool
    def send_money(amount: float, currency: str) -> str:
        """Send money abroad.

        Args:
            amount: how much
            currency: three-letter code, e.g. NOK
        """
        if currency not in ("NOK", "SEK", "DKK"):
            raise ValueError(f"unknown currency {currency!r}: use one of NOK, SEK, DKK")
        return f"sent {amount} {currency}"

    # the first call takes the code the request's words make ("CRO" for "crowns", a name no
    # currency has in CLDR), which the
    # tool refuses; the next keeps the amount and chooses among the codes the error lists
    # (binding scores the codes the request does not name: its association, then the objects,
    # past the JSON they all open with)
    engine.add_replies('{"amount": 80, "currency": "CRO"}', '{"amount": 80, "currency": "DKK"}', "DKK)", "DKK)", "DKK)", ' "DKK"}', "Sent.")
    response = agent.run_sync("Send 80 crowns home")
    assert [c.arguments for c in response.tool_calls] == [{"amount": 80, "currency": "CRO"}, {"amount": 80, "currency": "DKK"}]
    assert response.tool_calls[1].error is None


def test_a_later_part_offers_its_clear_best_tool_alone() -> None:

    agent, _ = agent_with([])
    tools = agent.tool_manager.schemas()
    # "payment", "clears" and the verb "check" point to check_payment far more than "invoice" does
    assert [t.name for t in named_tools(Evidence.of("check when the invoice payment clears"), tools)] == ["check_payment"]


# --- a later part no word ties to a tool: the model's noisy channel, on the real embedded engine ---


@pytest.fixture(scope="module")
async def engine() -> AsyncIterator[EmbeddedEngine]:
    eng = EmbeddedEngine(context_size=4096, slots=1, threads=2)
    await eng.start()
    yield eng
    await eng.aclose()


def review_agent(engine: EmbeddedEngine) -> Agent:
    """Tools described in Korean only, as the tutorial's are: no word of an English request meets them."""
    agent = Agent(engine, decision=DecisionSettings(answer_tokens=24, argument_tokens=64))

    @agent.tool
    def find_reviews(product: str) -> str:
        """상품 리뷰를 검색한다"""
        return f"3 reviews of {product}: 'Boils fast, love it.' 'Great value.' 'Quiet and pretty.'"

    @agent.tool
    def judge_mood(text: str) -> str:
        """글의 기분이 긍정인지 부정인지 판정한다"""
        return "positive"

    @agent.tool
    def make_shorter(text: str) -> str:
        """글을 짧게 줄인다"""
        return text[:40]

    @agent.tool
    def to_language(text: str) -> str:
        """글을 다른 언어로 옮긴다"""
        return text

    return agent


async def test_a_later_part_no_word_ties_to_a_tool_goes_to_the_tool_the_model_finds_it_for(engine: EmbeddedEngine) -> None:
    agent = review_agent(engine)
    response = await agent.run("Find the reviews for the Zephyr kettle and tell me if they sound happy or unhappy.")
    assert [c.tool for c in response.tool_calls] == ["find_reviews", "judge_mood"], response.tool_calls
    # the part points back to what was found: the reviews are the mood tool's input
    assert "Boils fast" in response.tool_calls[1].arguments["text"]
    # a part that only asks to see what was found asks for no further tool
    shown = await agent.run("Find the reviews for the Zephyr kettle and show me the results.")
    assert [c.tool for c in shown.tool_calls] == ["find_reviews"], shown.tool_calls
    # off, the first call serves the request
    agent.decision = agent.decision.model_copy(update={"channel_lead": None})
    plain = await agent.run("Find the reviews for the Aurora toaster and tell me whether people are pleased or angry.")
    assert [c.tool for c in plain.tool_calls] == ["find_reviews"], plain.tool_calls


def exchange_agent(engine: ScriptedEngine, known: tuple[str, ...] | None = None, *, lists: bool = True) -> Agent:
    """An agent with one currency tool whose codes are shaped like its examples'; with `known`,
    it refuses any other code, listing those it takes (unless not `lists`)."""
    agent = Agent(engine, decision=LEXICAL.model_copy(update={"bind_arguments": False}))

    @agent.tool
    def exchange(amount: float, from_code: str, to_code: str) -> str:
        """Exchange an amount of money between two currencies.

        Args:
            amount: how much money
            from_code: three-letter code of the currency held, e.g. USD
            to_code: three-letter code of the currency wanted, e.g. EUR
        """
        for code in (from_code, to_code):
            if known is not None and code not in known:
                offer = f": use a three-letter code, one of {', '.join(known)}" if lists else ""
                raise ValueError(f"unknown currency {code!r}{offer}")
        return f"{amount:g} {from_code} = {2 * amount:g} {to_code}"

    return agent


def test_every_value_a_tool_refused_is_written_again() -> None:
    # the first call's source code is refused, then the retry's target code: the third call
    # writes both under the tool's own schema, neither narrowed to the request's guesses again
    engine = ScriptedEngine(
        [
            '{"amount": 5, "from_code": "ZOR", "to_code": "PLU"}',
            '{"amount": 5, "from_code": "BBB", "to_code": "PLU"}',
            '{"amount": 5, "from_code": "BBB", "to_code": "CCC"}',
            "5 BBB are 10 CCC.",
        ]
    )
    agent = exchange_agent(engine, known=("AAA", "BBB", "CCC"), lists=False)

    response = agent.run_sync("Exchange 5 zorkian crowns to plutonian marks.", max_iterations=5)
    assert response.is_successful, response.error_message
    assert [c.arguments["to_code"] for c in response.tool_calls] == ["PLU", "PLU", "CCC"]
    assert response.tool_calls[-1].result == "5 BBB = 10 CCC" and engine.replies_left == 0


def test_a_code_the_error_does_not_list_is_written_again_among_those_it_lists() -> None:
    # the error quotes the source code only, but lists the codes the tool takes: the target the
    # request's words spelled ("PLU") is none of them, so the retry writes both among them
    engine = ScriptedEngine(['{"amount": 5, "from_code": "ZOR", "to_code": "PLU"}', '{"amount": 5, "from_code": "BBB", "to_code": "CCC"}', "5 BBB are 10 CCC."])
    agent = exchange_agent(engine, known=("AAA", "BBB", "CCC"))

    response = agent.run_sync("Exchange 5 zorkian crowns to plutonian marks.", max_iterations=5)
    assert response.is_successful, response.error_message
    assert [c.arguments["to_code"] for c in response.tool_calls] == ["PLU", "CCC"]
    assert response.tool_calls[-1].result == "5 BBB = 10 CCC" and engine.replies_left == 0


def test_a_call_that_wrote_the_request_s_names_as_codes_served_it() -> None:
    # "Zorkian crowns" went into the call as ZOR: the request is served, not asked again
    engine = ScriptedEngine(['{"amount": 5, "from_code": "ZOR", "to_code": "PLU"}', "5 ZOR are 10 PLU."])
    agent = exchange_agent(engine)

    response = agent.run_sync("Exchange 5 Zorkian crowns to Plutonian marks.")
    assert response.is_successful, response.error_message
    assert [c.tool for c in response.tool_calls] == ["exchange"] and "10 PLU" in response.content
    # a name no call took is still a part left: "and to Plutonian marks" after a call to another code

    done = [ToolCallRecord(id="call_1", tool="exchange", arguments={"amount": 5, "from_code": "ZOR", "to_code": "AAA"}, result="5 ZOR = 10 AAA")]
    left = unserved_parts(Evidence.of("Exchange 5 Zorkian crowns to Vegan marks and to Plutonian marks."), agent.tool_manager.schemas(), done)
    assert [p.text.strip() for p in left] == ["to Plutonian marks."]


def test_a_call_serves_the_part_it_holds_the_values_of_else_the_first_part_left() -> None:

    tools = [
        ToolSchema(name="get_booking", description="Find a booking by the guest's name.", parameters={"type": "object", "properties": {"guest": {"type": "string"}}}),
        ToolSchema(name="list_arrivals", description="List the arrivals on a day.", parameters={"type": "object", "properties": {"day": {"type": "string"}}}),
    ]
    request = Evidence.of("Show the arrivals on Friday, and find the booking of Ravi Kumar.")
    # the booking was looked up first: the arrivals are left, whatever the order
    booking = ToolCallRecord(id="call_1", tool="get_booking", arguments={"guest": "Ravi Kumar"}, result="room 12")
    assert [p.text.strip() for p in unserved_parts(request, tools, [booking])] == ["Show the arrivals on Friday"]
    # a call that holds none of the values left ("Fri" for Friday) served the first part left
    arrivals = ToolCallRecord(id="call_2", tool="list_arrivals", arguments={"day": "Fri"}, result="2 arrivals")
    assert [p.text.strip(" .") for p in unserved_parts(request, tools, [arrivals])] == ["find the booking of Ravi Kumar"]
    assert unserved_parts(request, tools, [booking, arrivals]) == []


def test_a_call_made_for_a_part_serves_it_whatever_code_its_name_became() -> None:

    code = {"type": "string", "description": "three-letter code, e.g. USD"}
    tools = [ToolSchema(name="exchange", description="Exchange money.", parameters={"type": "object", "properties": {"amount": {"type": "number"}, "from_code": code, "to_code": code}})]
    request = Evidence.of("Exchange 5 US dollars to euros and to Plutonian marks.")
    first = ToolCallRecord(id="call_1", tool="exchange", arguments={"amount": 5, "from_code": "USD", "to_code": "EUR"}, result="4.6 EUR")
    assert [p.text.strip(" .") for p in unserved_parts(request, tools, [first])] == ["to Plutonian marks"]
    # the next call was made for "to Plutonian marks": the code the tool took is the name's
    second = ToolCallRecord(id="call_2", tool="exchange", arguments={"amount": 5, "from_code": "USD", "to_code": "AAA"}, result="9 AAA")
    assert unserved_parts(request, tools, [first, second]) == []


def test_a_part_pointing_back_goes_to_the_tool_the_result_feeds() -> None:

    find = ToolSchema(
        name="find_trip",
        description="Find a trip in my planner by its name: its day and its place.",
        parameters={"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    )
    by_day = ToolSchema(
        name="list_trips",
        description="List the trips in my planner on a day.",
        parameters={"type": "object", "properties": {"date": {"type": "string", "description": "the day, e.g. 2026-05-01"}}, "required": ["date"]},
    )
    request = Evidence.of("When is my trip to Oslo, and what else is in my planner that day?")
    done = [ToolCallRecord(id="call_1", tool="find_trip", arguments={"name": "Oslo"}, result="Trip to Oslo: 2026-05-14, by train.")]
    part = later_part(request.parts[1], [find, by_day], done)
    named = named_tools(part, [find, by_day])
    assert {t.name for t in named} == {"find_trip", "list_trips"}  # the words name both
    # the result holds a new date: the trips of that day, not another lookup by name
    assert [t.name for t in fed_by_the_result(part, named, request, done)] == ["list_trips"]
    # a part that does not point back keeps the tools its words name
    own = later_part(Evidence.of("and for Bergen?"), [find, by_day], done)
    assert fed_by_the_result(own, named, request, done) == named


def preferring(favourite: str, arguments: str, answer: str) -> ScriptedEngine:
    """A model that likes `favourite` best among the tools, whatever the request; writes
    `arguments` for any call and `answer` for any text."""

    def reply(prompt: Any, constraint: Any) -> str:
        if isinstance(constraint, ChoicesConstraint):
            return next((c for c in constraint.choices if c.strip() == favourite), constraint.choices[0])
        if isinstance(constraint, JsonSchemaConstraint):
            return arguments
        return answer

    return ScriptedEngine(reply)


def test_a_tool_the_request_cannot_fill_gives_way_to_one_it_fills() -> None:
    agent = Agent(preferring("book_table", '{"amount": 4, "from_unit": "tsp", "to_unit": "tbsp"}', "4 tsp is 1.33 tbsp."), decision=LEXICAL)

    @agent.tool
    def book_table(city: str, people: int) -> str:
        """Book a restaurant table.

        Args:
            city: the city
            people: how many people
        """
        return f"a table for {people} in {city}"

    @agent.tool
    def kitchen_convert(amount: float, from_unit: Literal["tsp", "tbsp", "cup"], to_unit: Literal["tsp", "tbsp", "cup"]) -> str:
        """Kitchen measures.

        Args:
            amount: how much
            from_unit: the unit of the amount
            to_unit: the unit wanted
        """
        return f"{amount} {from_unit} = {amount / 3:.2f} {to_unit}"

    # the request names no city: the booking tool would make one up; the measures tool has the
    # request's units and amount for evidence
    response = agent.run_sync("Change 4 teaspoons into tablespoons")
    assert [c.tool for c in response.tool_calls][:1] == ["kitchen_convert"]


def test_a_tool_the_request_cannot_fill_gives_way_to_one_it_fills_with_less_evidence() -> None:
    agent = Agent(preferring("convert_money", '{"source": "EUR", "target": "NOK"}', "1 EUR is 11.6 NOK."), decision=LEXICAL)

    @agent.tool
    def convert_money(amount: float, source: str, target: str) -> str:
        """Convert an amount of money between two currencies at today's rate.

        Args:
            amount: how much money
            source: three-letter code of the currency paid, e.g. EUR
            target: three-letter code of the currency wanted, e.g. NOK
        """
        return f"{amount} {source} = {amount * 11.6:.2f} {target}"

    @agent.tool
    def money_rate(source: str, target: str) -> str:
        """Today's rate between two currencies.

        Args:
            source: three-letter code of the base currency, e.g. EUR
            target: three-letter code of the quote currency, e.g. NOK
        """
        return f"1 {source} = 11.6 {target}"

    # the request shares more words with converting, which needs an amount it does not give; the
    # rate tool, with less evidence but some, takes all it holds
    response = agent.run_sync("What rate do I get converting euros to Norwegian kroner today?")
    assert [c.tool for c in response.tool_calls][:1] == ["money_rate"]
