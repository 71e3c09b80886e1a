"""How strongly a request, or one part of it, points to each tool: the evidence that ranks the
tools before the model chooses, and that tells a request meant for a tool from one that is not."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from radixagent.evidence.acts import acts_no_tool_does
from radixagent.evidence.addresses import postal_codes, takes_a_postal_code
from radixagent.evidence.codes import System
from radixagent.evidence.narrowing import (
    URL_WORDS,
    reads_as_code,
    takes_a_name,
    takes_a_passage,
    takes_a_place,
    takes_an_identifier,
    takes_code,
    value_kind,
    written_calls,
)
from radixagent.evidence.turned_down import asked_text
from radixagent.evidence.values import (
    GENERIC_NAME_WORDS,
    Evidence,
    clock_part,
    code_systems,
    example_shape,
    leaves,
    named_leaves,
)
from radixagent.evidence.words import ASKING_VERBS, name_words, rank_tools, shared_terms, terms, without_examples
from radixagent.schemas import ToolSchema

STRONG_GROUNDS = 2
"""Terms (and typed values) a request shares with one tool past which the noisy channel no
longer turns it away as a question to an assistant."""


def support(evidence: Evidence, tools: list[ToolSchema]) -> dict[str, float]:
    """Each tool's evidence in the request, to rank the tools: BM25 over its words, plus half a
    point for each of its typed parameters (a date pattern, an e-mail format ...) the request
    has a value for. Remembered for the same evidence and tool objects: a step asks it of the
    request and of each part several times, and every step of a run asks again."""
    key = (id(evidence), evidence.opens, evidence.referent, *map(id, tools))
    known = _SUPPORTED.get(key)
    if known is None:
        # the entry holds the objects themselves, so their ids are not reused while it lives
        known = _SUPPORTED[key] = (evidence, tuple(tools), _supported(evidence, tools))
        if len(_SUPPORTED) > _SUPPORTED_MAX:
            del _SUPPORTED[next(iter(_SUPPORTED))]
    return dict(known[2])


_SUPPORTED: dict[tuple[object, ...], tuple[Evidence, tuple[ToolSchema, ...], dict[str, float]]] = {}
_SUPPORTED_MAX = 256


def _supported(evidence: Evidence, tools: list[ToolSchema]) -> dict[str, float]:
    lexical = rank_tools(asked_text(evidence.text), tools)  # not "Skip the forecast; ..."
    codes = _codes(tools)
    frames = _time_frames(evidence, tools)
    # a currency named tells a tool taking one from the rest, not from another that takes one too
    takers = Counter(system for t in tools for system in set(code_systems(t.parameters).values()))
    found = {
        t.name: lexical.get(t.name, 0.0)
        + 0.5 * (evidence.typed_matches(t, codes) + _kinds_found(evidence, t) - _days_lacking(evidence, t) + _place_given(evidence, t) + _code_written(evidence, t))
        + 0.5 * sum(1 for system in _codes_named(evidence, t).values() if takers[system] < len(tools))
        + frames[t.name]
        for t in tools
    }
    # a tool the words point to that lacks an input the request does not hold ("When will order
    # A-1042 arrive?" names no tracking number): the tools that say they give it come first
    # ("Where is my order D-5521?" points to the tool that says where a package is)
    for tool in tools:
        pointed = lexical.get(tool.name, 0.0) or float(tells_what_is_asked(evidence, tool))
        if pointed <= 0:
            continue
        for name in _missing(evidence, tool):
            wanted = {w for w in terms(name.replace("_", " ")) if w not in GENERIC_NAME_WORDS}
            for other in tools:
                if other is not tool and wanted and wanted <= set(terms(other.description)):
                    found[other.name] += pointed
    return found


def _time_frames(evidence: Evidence, tools: list[ToolSchema]) -> dict[str, int]:
    """A point for each tool that tells of the time the request asks about (as much as a word
    they share), where one tool tells of now and another of what is to come: "Will Paris be
    sunny tomorrow?" asks for the forecast, "Is it snowing in Oslo?" for the current weather."""
    told = {t.name: _frame(name_words(f"{t.name} {without_examples(t.description)}"), _TOOL_FRAMES) for t in tools}
    asked = _asked_frame(evidence)
    if asked is None or not {"now", "later"} <= set(told.values()):
        return dict.fromkeys(told, 0)
    return {name: int(frame == asked) for name, frame in told.items()}


def _frame(words: Iterable[str], frames: dict[str, frozenset[str]]) -> str | None:
    """The one time frame ("now" or "later") whose words are among `words`; None for both or neither."""
    found = {frame for frame, cues in frames.items() if any(w in cues for w in words)}
    return found.pop() if len(found) == 1 else None


def _asked_frame(evidence: Evidence) -> str | None:
    """The time a request asks about: later where it says so ("tomorrow", "will", "next week"),
    now where it says so ("right now") or asks how things are ("Is it snowing ...?")."""
    words = [t.casefold() for t in evidence.tokens]
    frame = _frame(words, _ASKED_FRAMES)
    if frame is None and words[:1] in (["is"], ["are"]) and not any(w in _ASKED_FRAMES["later"] for w in words):
        return "now"
    return frame


_TOOL_FRAMES = {
    "now": frozenset({"current", "currently", "now", "live", "realtime", "latest"}),
    "later": frozenset({"forecast", "forecasts", "upcoming", "future", "next", "coming", "ahead", "predict", "predicted", "prediction"}),
}
_ASKED_FRAMES = {
    "now": frozenset({"now", "currently", "current", "moment", "presently"}),
    "later": frozenset({"tomorrow", "will", "next", "coming", "upcoming", "later", "ahead", "tonight", "weekend", "forecast"}),
}
"""The words by which a tool tells, and a request asks, of now or of what is to come."""


def _kinds_found(evidence: Evidence, tool: ToolSchema) -> int:
    """The tool's parameters that hold a date, a time, an address or a phone number by their name or
    description only (no format or pattern: `typed_matches` counts those) and find one here,
    inside its objects too (a trip's "Datum JJJJ-MM-TT")."""
    return sum(_kind_found(evidence, name, node) for name, node in named_leaves(tool.parameters))


def _kind_found(evidence: Evidence, name: str, node: object) -> bool:
    """Whether a parameter takes a date, a time, an e-mail address or a phone number by its name
    or description (not by a format or a pattern) and the request holds one."""
    if not isinstance(node, dict) or node.get("pattern") or node.get("format"):
        return False
    kind = value_kind(name, node)
    return kind in ("date", "time", "email", "phone") and bool(evidence.strings_for(node, kind))


def _code_written(evidence: Evidence, tool: ToolSchema) -> bool:
    """Whether the tool runs code (`takes_code`) and the request writes some out ("Run print(2
    ** 10) for me"), whatever language describes the tool."""
    return any(takes_code(name) for name in tool.parameters.get("properties") or {}) and any(reads_as_code(c) for c in written_calls(evidence.text))


def _days_lacking(evidence: Evidence, tool: ToolSchema) -> int:
    """The tool's required dates and times, where the request says nothing of when
    (`Evidence.tells_when`): "When is my budget review?" looks the review up; it does not list a
    day's events."""
    if evidence.tells_when:
        return 0
    properties = tool.parameters.get("properties") or {}
    required = tool.parameters.get("required") or []
    return sum(1 for name in required if isinstance(node := properties.get(name), dict) and "enum" not in node and value_kind(name, node) in ("date", "time"))


def _missing(evidence: Evidence, tool: ToolSchema) -> list[str]:
    """The required parameters of `tool` with a shape (a date, an id like its example) or a
    number that the request has no value for."""
    properties = tool.parameters.get("properties") or {}
    out = []
    for name in tool.parameters.get("required") or []:
        node = properties.get(name)
        if not isinstance(node, dict) or "enum" in node:
            continue
        if node.get("type") in ("integer", "number"):
            if not evidence.numbers_for(node, postal=takes_a_postal_code(name)):
                out.append(name)
            continue
        kind = value_kind(name, node)
        if (kind or node.get("pattern") or example_shape(node)) and not evidence.strings_for(node, kind) and not evidence.after_name(name):
            out.append(name)
    return out


def unheld_inputs(evidence: Evidence, tool: ToolSchema) -> list[str]:
    """The required parameters of `tool` (without a default) that the request holds no value of
    the kind they take: a number where it has none; a place or a person ("city", "username")
    where it names nothing (no capitalised name, no quotation); an id where it has no token with
    a digit, or none of its example's shape ("stop code, e.g. S-114"); a URL where it has no
    domain or path; a date or a time where it says nothing of when; a password or a key where
    it quotes nothing and no word has a digit or a symbol inside. A call would make such a value
    up ("I need a haircut" is no city, "a rental car in Lyon" no pick-up date, "log me in as
    Ada" no password). A required object is unheld where one of its own required parameters is
    ("How many canapés per guest?" holds no event's date for a catering order)."""
    return _unheld(evidence, tool.parameters)


def _unheld(evidence: Evidence, parameters: dict[str, Any]) -> list[str]:
    properties = parameters.get("properties") or {}
    # a script without capitals (Chinese, Korean) writes names like any other word
    cased = all(c.lower() != c.upper() for c in evidence.text if c.isalpha())
    out = []
    for name in parameters.get("required") or []:
        node = properties.get(name)
        if not isinstance(node, dict) or "enum" in node or "default" in node or evidence.after_name(name):
            continue
        words = set(name_words(name))
        if node.get("type") == "object":
            if _unheld(evidence, node):
                out.append(name)
        elif value_kind(name, node) in ("date", "time"):
            if not evidence.tells_when:
                out.append(name)
        elif node.get("type") in ("integer", "number") and "id" not in words:
            if not evidence.numbers and not (evidence.times and clock_part(name, node) is not None):
                out.append(name)  # an hour and a minute are a clock time's ("at 6:45")
        elif (codes := postal_codes(name, evidence.tokens)) is not None:
            if not codes:
                out.append(name)
        elif node.get("type") == "string" and _is_secret(words):
            if not evidence.quoted and not any(_SECRET_LIKE.search(t) for t in evidence.tokens):
                out.append(name)
        elif node.get("type") in ("string", "integer") and takes_an_identifier(name, node):
            if not any(any(c.isdigit() for c in t) for t in evidence.tokens) and not evidence.quoted:
                out.append(name)
        elif node.get("type") == "string" and words & URL_WORDS and "name" not in words:
            if not _ADDRESS.search(evidence.text):
                out.append(name)
        elif (shape := example_shape(node)) and "[0-9]" in shape:
            if not evidence.strings_for(node):
                out.append(name)  # an id or a code like its example ("stop code, e.g. S-114")
        elif node.get("type") == "string" and takes_a_name(name, node):
            if cased and not any(c.isalpha() for n in evidence.names_whole for c in n) and not evidence.quoted:  # "100" names no place
                out.append(name)
    return out


PASSAGE_WORDS = 3
"""Words of a quotation past which it is a passage handed over to be worked on."""


def hands_over_a_passage(evidence: Evidence, tools: list[ToolSchema]) -> bool:
    """Whether the request quotes a passage to work on (`PASSAGE_WORDS` words or more) and a
    tool has to be given a passage (`takes_a_passage`): "Is this review positive or negative?
    'The package arrived broken ...'" is meant for a tool, whatever words it asks in; "Who wrote
    'Salt Fat Acid Heat'?" is not meant for a recipe search by its main ingredient."""
    if not any(len(q.split()) >= PASSAGE_WORDS for q in evidence.quoted):
        return False
    return any(takes_a_passage(n, (t.parameters.get("properties") or {}).get(n)) for t in tools for n in t.parameters.get("required") or [])


def beyond_the_tools(evidence: Evidence, tools: list[ToolSchema]) -> bool:
    """Whether the request asks for what no tool does, however many words it shares with one:
    code written for it ("Write a Python script that renames my photos") where no tool works
    with code, or something removed or undone ("Delete my notes about Rome", "Log me out")
    where no tool removes anything, or anything else no tool does (`acts_no_tool_does`). Such
    a request is answered, not sent to the tool nearest in words."""
    if any(set(name_words(t.name)) & _RUNS_ANYTHING for t in tools):
        return False  # a tool that runs commands or code may be asked anything
    if _WRITE_CODE.search(evidence.text):
        return not any(_works_with_code(t) for t in tools)
    return acts_no_tool_does(evidence.text, tools)


_LANGUAGES = (
    "python|java|javascript|typescript|js|ts|c|c#|c\\+\\+|cpp|rust|go|golang|ruby|php|perl|bash|shell|powershell|sql|html|css|"
    "kotlin|swift|scala|r|matlab|haskell|lua|dart|julia|node|nodejs"
)
_WRITE_CODE = re.compile(
    rf"\b(?:write|create|make|generate|build|implement|code|give me|show me)(?:\s+(?:me|us|a|an|the|some|simple|short|small|quick|{_LANGUAGES}))*"
    r"\s+(?:code|function|script|program|snippet|regex|api call)\b",
    re.IGNORECASE,
)
"""Asking for code to be written: a verb, then at most articles, small adjectives and a
programming language before what is written ("give me Python code", not "create a promo code")."""
_RUNS_ANYTHING = frozenset({"execute", "exec", "run", "command", "cmd", "shell", "terminal"})
_CODE_WORDS = frozenset({"code", "script", "program", "snippet", "sql", "regex", "function"})
"""Words of a name about code (not "source": a news source, a data source)."""


def _works_with_code(tool: ToolSchema) -> bool:
    """Whether a tool's name or one of its parameters' names is about code (`run_script`,
    `execute(code=...)`): code written for the request may be meant for it."""
    names = [tool.name, *(tool.parameters.get("properties") or {})]
    return any(set(name_words(n)) & _CODE_WORDS for n in names)


def _is_secret(words: set[str]) -> bool:
    """Whether a parameter's name words name a password, a token or a key to something."""
    return bool(words & _SECRET_WORDS) or ("key" in words and bool(words & _KEY_KINDS))


_SECRET_WORDS = frozenset({"password", "passwd", "passcode", "pin", "secret", "token"})
_KEY_KINDS = frozenset({"api", "access", "auth", "private", "secret", "license"})
_SECRET_LIKE = re.compile(r"\d|\w[@#$%&*!_.-]\w")
"""A digit, or a symbol between letters: what a password or a key has that a word has not."""
_ADDRESS = re.compile(r"\w\.\w|/")
"""Something of a web address: a domain's dot ("example.org") or a path's slash."""


def grounds(evidence: Evidence, tools: list[ToolSchema], *, request_verbs: bool = True) -> float:
    """Whether the request is meant for any tool at all: the most terms it shares with one tool
    (not BM25, whose weights are relative to the tool set), plus that tool's typed matches.
    Without `request_verbs`, the verbs any request uses ("get", "find", "show") are not counted."""
    asked = asked_text(evidence.text)  # "Don't translate anything, just tell me ..." is no ground to translate
    shared = shared_terms(asked if request_verbs else _REQUEST_VERB.sub(" ", asked), tools)
    codes = _codes(tools)
    # asking a tool for what it tells of the user's own things is strong grounds: no assistant
    # knows when the user's budget review is
    return max(_grounds(evidence, t, shared[t.name], codes) for t in tools)


def _grounds(evidence: Evidence, tool: ToolSchema, shared: int, codes: list[str]) -> float:
    found = shared + max(0, evidence.typed_matches(tool, codes) + _layouts_filled(evidence, tool) + _code_written(evidence, tool))
    # a place, a date, a currency the tool needs adds to the grounds a request gives; alone it is
    # no ground ("Which is the longest river in Europe?" names a place too, "What is the capital
    # of Peru?" a country), unless it fills the whole call ("Wire 500 rupees to Asha")
    named = _codes_named(evidence, tool)
    given = _inputs_given(evidence, tool) + len(named) if found > 0 else len(named) * _fills_the_call(evidence, tool, named)
    return found + given + STRONG_GROUNDS * tells_what_is_asked(evidence, tool)


def _codes_named(evidence: Evidence, tool: ToolSchema) -> dict[str, System]:
    """The tool's parameters taking a currency, a language or a country (by code or by name)
    that the request names one of ("300 Swiss francs", "in Greek", "to Japan")."""
    return {name: system for name, system in code_systems(tool.parameters).items() if evidence.codes_named(system)}


def _fills_the_call(evidence: Evidence, tool: ToolSchema, named: dict[str, System]) -> bool:
    """Whether the request gives every required parameter of the tool a value of its own: a code
    to each that takes one (two currencies for a rate), a number to each number, a name or a
    quotation to each text besides the codes' names ("Wire 300 rupees to Asha"; "What is the
    capital of Peru?" gives an embassy's country but no city), and says when where one is wanted."""
    rest = evidence.without_codes
    properties = tool.parameters.get("properties") or {}
    wanted: Counter[System | str] = Counter()
    for name in tool.parameters.get("required") or []:
        node = properties.get(name)
        if not isinstance(node, dict) or "enum" in node or "default" in node:
            continue
        kind = value_kind(name, node)
        if name in named:
            wanted[named[name]] += 1
        elif kind in ("date", "time"):
            if not rest.tells_when:
                return False
        elif kind is not None:
            wanted[kind] += 1
        elif node.get("type") == "string":
            wanted["text"] += 1
        else:
            return False
    texts = len(rest.quoted) + sum(1 for n in rest.names_whole if any(c.isalpha() for c in n))
    return all((len(evidence.codes_named(k)) if isinstance(k, System) else texts if k == "text" else rest.count(k)) >= count for k, count in wanted.items())


def _inputs_given(evidence: Evidence, tool: ToolSchema) -> int:
    """The tool's required places, dates, times, e-mail addresses and phone numbers (by name or
    description; not by a format, a pattern or a layout written out: `typed_matches` and
    `_layouts_filled` count those) that the request gives ("... my dog Rocky on 2026-03-14" for
    a tool taking a "fecha"): typed values, whatever words ask for them."""
    properties = tool.parameters.get("properties") or {}
    given = _place_given(evidence, tool)
    for name in tool.parameters.get("required") or []:
        node = properties.get(name)
        if isinstance(node, dict) and not evidence.in_written_layout(str(node.get("description", ""))):
            given += _kind_found(evidence, name, node)
    return given


def _place_given(evidence: Evidence, tool: ToolSchema) -> int:
    """1 where the tool needs a place and the request names one where something is ("Do I need
    an umbrella in Tokyo?" for a tool taking a city)."""
    properties = tool.parameters.get("properties") or {}
    needs = any(takes_a_place(name, properties.get(name)) for name in tool.parameters.get("required") or [])
    return int(needs and bool(evidence.places_named))


def _layouts_filled(evidence: Evidence, tool: ToolSchema) -> int:
    """The tool's string parameters whose description writes out a layout the request holds a
    value in ("날짜 YYYY-MM-DD" and a date): as much a ground as a pattern, whatever language
    describes the tool. Ranking counts them already (`_kinds_found`)."""
    return sum(1 for node in leaves(tool.parameters) if node.get("type") == "string" and "enum" not in node and evidence.in_written_layout(str(node.get("description", ""))))


def names_a_tool(evidence: Evidence, tools: list[ToolSchema]) -> bool:
    """Whether the request shares `STRONG_GROUNDS` terms (past the verbs any request uses) with
    one tool's own name and description, not its parameters' words: "What is the application
    version?" of `get_version` ("the application's version"), not "the difference between a debit
    card and a credit card" of a tool whose account type may be `credit_card`. Or asks for what
    a tool tells of the user's things (`tells_what_is_asked`): "When is the budget review?" of
    a tool that looks in "my calendar"."""
    asked = set(terms(_REQUEST_VERB.sub(" ", evidence.text)))
    return any(len(asked & set(terms(f"{t.name} {t.description}"))) >= STRONG_GROUNDS or tells_what_is_asked(evidence, t) for t in tools)


def tells_what_is_asked(evidence: Evidence, tool: ToolSchema) -> bool:
    """Whether the request asks when, where or how much of something of the user's ("When is my
    budget review?", "Where is our van?") and the tool's words say it tells that (a day or a
    time; a place; a price or an amount): it asks for what the tool gives, in other words."""
    asked = next((told for question, told in _ASKED if question.match(evidence.text)), None)
    # an id is the user's own thing too: "Where is the parcel for order A-1042?"; and so is what
    # a tool of the user's own things knows by name ("When is the budget review?" of a tool that
    # looks in "my calendar")
    if asked is None or not (_OWN.search(evidence.text) or evidence.identifiers or _OWN.search(tool.description)):
        return False
    return any(w.startswith(asked) for w in terms(f"{tool.name} {tool.description}"))


_ASKED = (
    (re.compile(r"\W*(?:when|what time|what day|which day)\b", re.IGNORECASE), ("day", "date", "time", "schedul")),
    (re.compile(r"\W*where\b", re.IGNORECASE), ("locat", "place", "address", "where")),
    (re.compile(r"\W*how much\b", re.IGNORECASE), ("price", "cost", "amount", "balanc", "fee", "total")),
)
_OWN = re.compile(r"\b(?:my|our)\b", re.IGNORECASE)


_REQUEST_VERB = re.compile(
    rf"\b(?:{'|'.join(sorted(ASKING_VERBS))})\b(?!\s+(?:from|to|there|home|back|around|into|out|off)\b)",
    re.IGNORECASE,
)
"""The verbs any request to any tool may use ("get me", "find", "show me"), where they do not
say a way somewhere ("get from the bridge to the square", "get home")."""


def _codes(tools: list[ToolSchema]) -> list[str]:
    """Every tool's short enum values: codes a request may write in full, each naming one tool."""
    return [v for t in tools for node in leaves(t.parameters) for v in node.get("enum", []) if isinstance(v, str) and len(v) <= 4]
