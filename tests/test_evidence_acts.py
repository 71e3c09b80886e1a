"""Acts a request asks done (paying, rating, reporting, changing the user's things, ordering,
calling, refunding, tracking) that no tool does: such requests are answered, however many words
they share with a tool. Every phrase is made up for these tests."""

from __future__ import annotations

from typing import Any

import pytest

from radixagent.evidence import Evidence
from radixagent.evidence.acts import acts_no_tool_does, asked_clause
from radixagent.evidence.support import beyond_the_tools
from radixagent.schemas import ToolSchema


def _tool(name: str, description: str, **properties: dict[str, Any]) -> ToolSchema:
    return ToolSchema(name=name, description=description, parameters={"type": "object", "properties": properties, "required": list(properties)})


TEXT = {"type": "string"}
KENNEL = [
    _tool("find_kennel", "Find dog boarding near a town", town=TEXT),
    _tool("book_stay", "Book a dog's stay at a kennel", kennel=TEXT, dog=TEXT, first_night=TEXT),
]


@pytest.mark.parametrize(
    "text",
    [
        "Pay Happy Paws for Biscuit's stay last month.",
        "Rate our stay at Happy Paws four stars.",
        "Please leave a glowing review for Happy Paws, they were great with Biscuit.",
        "Biscuit came home with a torn ear, complain to the kennel for me.",
        "Could you report the kennel in Frome to the council?",
        "Change my stay at Happy Paws to the weekend after.",
        "Move our booking for Biscuit to Friday.",
        "Buy a new dog bed for Biscuit.",
        "Order a bag of kibble.",
        "Call the kennel and ask whether Biscuit ate.",
        "Can I get my money back for the night Biscuit was sent home early?",
        "I want a refund for Biscuit's stay.",
        "I'd like my money back for the weekend Biscuit spent there.",
        "Where's my order of dog shampoo?",
        "Hi! Could you please delete my stay at Happy Paws?",
        "Log me out of the kennel site.",
    ],
)
def test_an_act_no_tool_does_is_beyond_the_tools(text: str) -> None:
    assert acts_no_tool_does(text, KENNEL)
    assert beyond_the_tools(Evidence.of(text), KENNEL)


@pytest.mark.parametrize(
    "text",
    [
        "Book Biscuit into Happy Paws from Friday.",
        "Find dog boarding in Frome.",
        "I need to review the kennels around Frome first.",  # "review" alone asks to see them
        "I want to change my dog's kennel, find one in Bath.",  # changed to nothing told: a search
        "Change the search to Bath.",  # nothing of the user's own
        "Call me a kennel in Frome that takes big dogs.",  # "call me" is no phone call
        "Would you call this kennel in Frome cheap?",
        "Is there a kennel in Frome with a refund policy?",  # a refund spoken of, not asked for
    ],
)
def test_a_request_a_tool_may_serve_is_not_beyond_the_tools(text: str) -> None:
    assert not acts_no_tool_does(text, KENNEL)


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("Pay Happy Paws for Biscuit's stay last month.", _tool("settle_invoice", "Settle an invoice", invoice=TEXT)),
        ("Rate our stay at Happy Paws four stars.", _tool("send_feedback", "Send feedback on a stay", stay=TEXT)),
        ("Biscuit came home with a torn ear, complain to the kennel for me.", _tool("open_ticket", "Open a support ticket", text=TEXT)),
        ("Change my stay at Happy Paws to the weekend after.", _tool("reschedule_stay", "Reschedule a stay", stay=TEXT)),
        ("Buy a new dog bed for Biscuit.", _tool("place_order", "Place an order in the pet shop", item=TEXT)),
        ("Call the kennel and ask whether Biscuit ate.", _tool("phone_contact", "Phone one of your contacts", who=TEXT)),
        ("I want a refund for Biscuit's stay.", _tool("return_booking", "Return a booking for its price", booking=TEXT)),
        ("Where's my order of dog shampoo?", _tool("rastrear_pedido", "Rastrear um pedido", codigo=TEXT)),
    ],
)
def test_a_tool_whose_words_name_the_act_serves_it(text: str, tool: ToolSchema) -> None:
    assert acts_no_tool_does(text, KENNEL)
    assert not acts_no_tool_does(text, [*KENNEL, tool])


def test_the_asked_clause_is_past_what_the_request_tells_and_its_courtesies() -> None:
    assert asked_clause("Biscuit came home muddy, so please report it") == "report it"
    assert asked_clause("The kennel was closed. Could you call them and ask why") == "call them"
    assert asked_clause("I'd like to pay the kennel") == "pay the kennel"
    assert asked_clause("My dog is fine") == "my dog is fine"  # all told: the first clause


def test_a_tool_named_in_its_own_language_may_undo() -> None:
    absagen = _tool("termin_absagen", "Einen Termin absagen", termin=TEXT)
    assert acts_no_tool_does("Cancel my stay at Happy Paws", KENNEL)
    assert not acts_no_tool_does("Cancel my stay at Happy Paws", [*KENNEL, absagen])
