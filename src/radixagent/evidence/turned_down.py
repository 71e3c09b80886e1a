"""What a request turns down: "Don't translate anything, just tell me which language it is",
"Skip the forecast; how cold is it in Oslo?", "No need to convert it". A tool whose words stand
only in such a clause is not asked for."""

from __future__ import annotations

import re
from functools import lru_cache

from radixagent.evidence.words import NEGATED_AWAY

_CLAUSES = re.compile(r"[^.;,!?:]+|[.;,!?:]+")
_OPENERS = re.compile(
    r"\s*(?:(?:and|but|so|please)\s+)*"
    r"(?:i\s+)?(?:don'?t|don’t|do\s+not|never\s+mind|no\s+need\s+to|skip|forget\s+about|not)\s+"
    r"(?:(?:want|need)\s+)?(?:to\s+)?(?:bother\s+(?:with\s+|to\s+)?)?(?P<next>[\w'’-]+)",
    re.IGNORECASE,
)
_TURNED_BACK = NEGATED_AWAY | {"let"}
"""Verbs after which "don't" asks for something after all ("don't forget to lock up", "don't let
me miss the train")."""
_STATES = frozenset({"mind", "care", "worry", "have", "know", "like", "think", "see", "remember"})
"""Verbs after which "don't" tells a preference or a fact, turning down nothing ("I don't mind
a garage", "I don't have a car")."""
_AGAIN = re.compile(r"\s*(?:but|just|instead|rather)\b", re.IGNORECASE)


@lru_cache(maxsize=512)
def asked_text(text: str) -> str:
    """`text` without the clauses that turn something down, where another clause asks for
    something: "Don't translate it, just tell me its language" asks "just tell me its
    language". A request that is one such clause keeps it ("Don't notify the attendees when
    you move the meeting": a flag, not a refusal)."""
    clauses = [m.group(0) for m in _CLAUSES.finditer(text)]
    down = [i for i, c in enumerate(clauses) if _turns_down(c)]
    kept = [c for i, c in enumerate(clauses) if i not in down and re.search(r"[^\W\d_]", c)]
    if not down or not kept:
        return text
    return "".join(" " if i in down else c for i, c in enumerate(clauses))


def _turns_down(clause: str) -> bool:
    opened = _OPENERS.match(clause)
    if opened is None or opened["next"].casefold() in _TURNED_BACK | _STATES:
        return False
    # "not the forecast but the temperature now": the clause asks again after its "but"
    return _AGAIN.search(clause, opened.end()) is None
