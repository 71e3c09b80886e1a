"""What a request asks to have done, read from its verbs, and whether any tool does that.

A request can share every word with a tool and still ask for what the tool does not do: "Pay
tutor T-208 for last week's lessons" of tools that find and book tutors, "Change the address on
my policy" of tools that quote and claim, "Where's my wine order?" of a tool that places orders.
Each act below is a way of asking (a verb opening the request, or a fixed phrase) and the words
a tool that does it is known by; a request asking an act that no tool's words name is answered,
not sent to the tool nearest in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from radixagent.evidence.words import CAMEL, tool_text
from radixagent.schemas import ToolSchema


@dataclass(frozen=True)
class Act:
    """Something a request may ask done that only a tool made for it does."""

    asked: re.Pattern[str]
    """How a clause asks it, matched from the clause's first word past its courtesies."""
    done_by: tuple[str, ...]
    """How the words of a tool that does it open."""


_UNDOING = ("delet", "remov", "cancel", "eras", "revok", "uninstal", "discard", "unsubscrib", "purg", "deactivat", "logout", "signout")
"""How the words that remove or undo something open (deletes, removal, cancellation)."""
_UNDOING_ABROAD = ("absag", "storn", "annul", "anul", "elimin", "supprim")
"""The same in a tool's own language: absagen, stornieren, annuler, anular, eliminar, supprimer."""

ACTS = (
    Act(re.compile(rf"(?:{'|'.join(_UNDOING)})\w*|(?:log|sign)\s+(?:\w+\s+)?out\b"), _UNDOING + _UNDOING_ABROAD),
    Act(re.compile(r"pay\b"), ("pay", "bill", "checkout", "transfer", "send", "wire", "remit", "money", "purchas", "buy", "charg", "settl", "tip", "invoic")),
    Act(
        # not "review" alone: "I need to review the readings" asks to see them
        re.compile(r"rate\b|(?:leave|write|give|post|submit|add)\b.*\b(?:reviews?|ratings?|stars?)\b"),
        ("rate", "rating", "review", "feedback", "stars"),
    ),
    Act(re.compile(r"(?:complain|report)\b"), ("report", "complain", "issue", "incident", "fault", "ticket", "feedback", "support", "problem", "claim")),
    # only of the user's own things, to something else: "Change 100 dollars to euros" asks for a
    # conversion, "I want to change my hair style" for a salon
    Act(
        re.compile(r"(?:change|move|reschedule|modify|update|amend|edit|rename|upgrade|downgrade|postpone)\b.*\b(?:my|our)\b.*\b(?:to|into)\b"),
        ("chang", "move", "moving", "reschedul", "modif", "updat", "amend", "edit", "renam", "upgrad", "downgrad", "postpon", "set", "adjust", "replac", "patch", "manag", "switch", "transfer"),
    ),
    # not a booking: "Buy a dog bed" of a kennel's booking; "Buy two tickets" of a cinema's
    Act(re.compile(r"(?:order|buy|purchase)\b"), ("order", "buy", "purchas", "shop", "cart", "checkout", "ticket", "subscri", "sell", "product", "deliver", "store", "request")),
    # "Call me a taxi" asks for a ride, "Would you call this note rude?" for a judgement
    Act(re.compile(r"(?:call|phone|ring|dial)\b(?!\s+(?:me|us|this|that|it|these|those)\b)"), ("call", "phone", "dial", "ring")),
    Act(re.compile(r"(?:(?:can|could|may)\s+i\s+|i(?:'d)?\s+)?(?:get|have|want|need|like|request)\s+(?:\w+\s+){0,2}(?:refunds?|money back)\b|refund\b"), ("refund", "return", "reimburs", "claim", "cancel")),
    Act(
        re.compile(r"where(?:'s|’s|\s+is|\s+are)\s+(?:my|our)\b.*\b(?:orders?|parcels?|packages?|deliver(?:y|ies)|shipments?)\b"),
        # tracking in the tool's own language too: rastrear, seguimiento, suivi, verfolgen, tracciare
        ("track", "status", "where", "locat", "deliver", "ship", "parcel", "package", "rastre", "seguim", "suivi", "verfolg", "tracci"),
    ),
)

_POLITE_OPENING = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|so|now|please|pls|kindly|(?:can|could|would|will) (?:you|u)|i(?: want| need| would like|'d like) to|"
    r"i wanna|help me|let's|lets|go ahead and|then|and)\b[\s,!.]*)*",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"(?:[^.;,!?\s]|\s(?!and\s))+", re.IGNORECASE)
"""A clause: up to a stop, a comma or an "and"."""
_TELLING = re.compile(
    r"(?:the|a|an|my|our|i|i'm|i've|we|it|this|that|there|yesterday|today|last)\b"
    r"|\S+\s+(?:is|was|were|are|has|had|came|got|went|did|does|didn't|doesn't|isn't|wasn't|won't|can't|\w+ed)\b",
    re.IGNORECASE,
)
"""How a clause opens that tells something rather than asks: "The bike I rode had a flat tyre,
report it", "Biscuit came home muddy, complain to them"."""


def asked_clause(text: str) -> str:
    """The first clause of `text` that asks rather than tells, past its courtesies, in lower
    case ("Could you please pay tutor T-208" -> "pay tutor t-208")."""
    clauses = [_POLITE_OPENING.sub("", c.strip()).casefold() for c in _CLAUSE.findall(text)]
    clauses = [c for c in clauses if c]
    return next((c for c in clauses if not _TELLING.match(c)), clauses[0] if clauses else "")


def acts_no_tool_does(text: str, tools: list[ToolSchema]) -> bool:
    """Whether the request asks for an act (`ACTS`) that no tool's words name: "Pay tutor T-208"
    where no tool pays, "Delete my notes about Rome" where no tool removes anything."""
    clause = asked_clause(text)
    asked = [act for act in ACTS if act.asked.match(clause)]
    if not asked:
        return False
    words = {w for t in tools for w in tool_words(t)}
    return any(not any(w.startswith(act.done_by) for w in words) for act in asked)


def tool_words(tool: ToolSchema) -> list[str]:
    """Every word a tool is known by (`tool_text`), "logs ... out" as one word."""
    text = CAMEL.sub(" ", tool_text(tool)).replace("_", " ").casefold()
    return re.findall(r"[a-z]+", _LOG_OUT.sub(r"\1out", text))


_LOG_OUT = re.compile(r"\b(log|sign)s?\s+(?:\w+\s+){0,2}out\b")
"""Logging or signing out, a word apart or not ("logs the user out")."""
