"""What a request's own words say about the tools and their arguments.

A small model picks among named options far better than it writes free JSON, but on its own
it still picks the wrong tool a third of the time, invents values for optional arguments and
copies the tool's name into a `query`. The message itself carries strong evidence:

- the words it shares with a tool's name, description, parameter names and enum values
  (BM25 over those texts, with light stemming, so "lights" meets `set_light`);
- values that fit a parameter: a date for a `YYYY-MM-DD` pattern ("March 3, 2025" included),
  a time ("1 pm" -> "13:00"), an e-mail address, a number within an integer's bounds ("two"
  and "1,250.75" included), an enum value named in the text, a phrase in quotes, a currency, a
  language, a country or a unit named by its name (CLDR's: "300 Swiss francs" for `CHF`);
- the coordinated parts of a request ("... in Oslo and in Helsinki"), each of which may need
  its own call, and the clauses that turn something down ("Skip the forecast; ...").

The decision layer (`radixagent.decision`) combines this evidence with the model's likelihood
to choose the tool, to answer directly when no tool has any evidence, to narrow each argument's
schema to the values found in the message (free generation stays the fallback when none fit),
to leave out optional arguments the message says nothing about, and to count the calls.
Everything here is plain text processing: deterministic, engine-free, a few ms per request.
"""

from radixagent.evidence.narrowing import narrow_arguments, offered_codes, speaks_of, untelling_terms, value_kind
from radixagent.evidence.turned_down import asked_text
from radixagent.evidence.values import Evidence
from radixagent.evidence.words import rank_tools, shared_terms, terms, tool_text

__all__ = ["Evidence", "asked_text", "narrow_arguments", "offered_codes", "speaks_of", "untelling_terms", "value_kind", "rank_tools", "shared_terms", "terms", "tool_text"]
