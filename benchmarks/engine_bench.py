"""Embedded engine benchmark: what a JSON-schema constraint costs, and how much of the prompt
the prefix cache reuses when several sessions share one engine.

    python benchmarks/engine_bench.py            # both parts
    python benchmarks/engine_bench.py --part constraint
    python benchmarks/engine_bench.py --part cache --sessions 6 --turns 6

(a) Decode tokens/s with and without a JSON-schema constraint, interleaved in one run on the
    same prompts (the unconstrained run generates as many tokens as the constrained one did),
    from the engine's own decode timings, and end to end.
(b) Prefix cache: N sessions x T turns, interleaved round-robin, token-exact prompts (each turn
    is the previous prompt's ids + the generated ids + the new user turn's ids), all sessions
    sharing one system prompt with tool specs. Reported: the engine's own cached-token count
    over the cacheable tokens, i.e. the tokens an ideal prefix cache would reuse (for each
    prompt, its longest prefix shared with anything sent or generated before). Compared:
    llama.cpp choosing the slot (with and without its host-RAM prompt cache) against the radix
    slot scheduler, with fewer slots than sessions (eviction + restore) and with enough slots.

Prints tables; asserts nothing. Timings on a shared 2-core machine are noisy: compare the
columns of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from radixagent.engine import (
    ChatMessage,
    EmbeddedEngine,
    JsonSchemaConstraint,
    SamplingParams,
)
from radixagent.engine.prefix import common_prefix_length

console = Console(width=180)

# --- (a) the constraint's cost ---------------------------------------------------------------

PEOPLE_SCHEMA = {
    "type": "object",
    "properties": {
        "people": {
            "type": "array",
            "minItems": 4,
            "maxItems": 6,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 24},
                    "age": {"type": "integer", "minimum": 0, "maximum": 120},
                    "city": {"type": "string", "maxLength": 24},
                    "hobbies": {"type": "array", "items": {"type": "string", "maxLength": 16}, "maxItems": 3},
                },
                "required": ["name", "age", "city", "hobbies"],
            },
        }
    },
    "required": ["people"],
}

CONSTRAINT_PROMPTS = [
    "List five people with their name, age, city and hobbies as JSON.",
    "Invent five characters for a novel: name, age, city, hobbies. Answer in JSON.",
    "Give me JSON describing five friends (name, age, city, hobbies).",
]


@dataclass
class DecodeTally:
    tokens: int = 0
    decode_ms: float = 0.0
    total_ms: float = 0.0
    rates: list[float] = field(default_factory=list)

    def add(self, tokens: int, decode_ms: float, total_ms: float) -> None:
        self.tokens += tokens
        self.decode_ms += decode_ms
        self.total_ms += total_ms
        if decode_ms > 0:
            self.rates.append(tokens / decode_ms * 1000)

    @property
    def decode_rate(self) -> float:
        return self.tokens / self.decode_ms * 1000 if self.decode_ms else 0.0

    @property
    def end_to_end_rate(self) -> float:
        return self.tokens / self.total_ms * 1000 if self.total_ms else 0.0

    @property
    def median_rate(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


async def constraint_cost(repeats: int, max_tokens: int) -> None:
    engine = EmbeddedEngine(context_size=2048, slots=2)
    await engine.start()
    constraint = JsonSchemaConstraint(json_schema=PEOPLE_SCHEMA)
    with_schema, without = DecodeTally(), DecodeTally()
    valid = 0
    runs = 0
    try:
        for prompt in CONSTRAINT_PROMPTS:  # warm the prompt cache: only decoding is compared
            await engine.generate([ChatMessage(role="user", content=prompt)], sampling=SamplingParams(max_tokens=1))
        for r in range(repeats):
            for prompt in CONSTRAINT_PROMPTS:
                messages = [ChatMessage(role="user", content=prompt)]
                constrained = await engine.generate(
                    messages, constraint=constraint, sampling=SamplingParams(max_tokens=max_tokens)
                )
                n = constrained.usage.completion_tokens
                runs += 1
                try:
                    json.loads(constrained.text)
                    valid += 1
                except ValueError:
                    pass
                free = await engine.generate(messages, sampling=SamplingParams(max_tokens=n))
                # Alternate which one's numbers are taken first, so drift in the machine's
                # load does not favour one side.
                pair = [(with_schema, constrained), (without, free)]
                for tally, result in pair if r % 2 == 0 else reversed(pair):
                    tally.add(
                        result.usage.completion_tokens,
                        result.timings.decode_ms or 0.0,
                        result.timings.total_ms - (result.timings.prompt_ms or 0.0),
                    )
    finally:
        await engine.aclose()

    table = Table(title=f"(a) JSON-schema constraint cost: {runs} runs, {engine.model_name}, 2 threads")
    table.add_column("")
    table.add_column("tokens", justify="right")
    table.add_column("decode tok/s (engine)", justify="right")
    table.add_column("median per run", justify="right")
    table.add_column("tok/s after prefill (measured)", justify="right")
    for label, tally in (("no constraint", without), ("JSON schema", with_schema)):
        table.add_row(
            label,
            str(tally.tokens),
            f"{tally.decode_rate:.1f}",
            f"{tally.median_rate:.1f}",
            f"{tally.end_to_end_rate:.1f}",
        )
    ratio = with_schema.decode_rate / without.decode_rate if without.decode_rate else 0.0
    median_ratio = with_schema.median_rate / without.median_rate if without.median_rate else 0.0
    e2e_ratio = with_schema.end_to_end_rate / without.end_to_end_rate if without.end_to_end_rate else 0.0
    table.add_row(
        "constrained / free",
        "",
        f"{ratio:.3f} ({(1 - ratio) * 100:+.1f}% cost)",
        f"{median_ratio:.3f}",
        f"{e2e_ratio:.3f}",
    )
    console.print(table)
    console.print(f"constrained outputs that parse as JSON: {valid}/{runs} (goal: cost <= 10%)\n")


# --- (b) the prefix cache ------------------------------------------------------------------

TOOLS = [
    {
        "name": "search",
        "description": "Search the web and return the five most relevant snippets.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "max_results": {"type": "integer"}},
            "required": ["query"],
        },
    },
    {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression exactly.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]},
    },
    {
        "name": "weather",
        "description": "Current weather and a three-day forecast for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
    {
        "name": "calendar",
        "description": "List, create or cancel events in the user's calendar.",
        "parameters": {
            "type": "object",
            "properties": {
                "action": {"enum": ["list", "create", "cancel"]},
                "title": {"type": "string"},
                "date": {"type": "string", "format": "date"},
            },
            "required": ["action"],
        },
    },
]

SYSTEM = (
    "You are a helpful assistant. Answer briefly. When a tool helps, call it with a JSON object "
    '{"tool": name, "arguments": {...}}. The tools are:\n' + json.dumps(TOOLS, indent=1)
)

QUESTIONS = [
    "What is the weather in Seoul?",
    "How much is 17 times 23?",
    "Find news about the Mars rover.",
    "Do I have meetings tomorrow?",
    "What is the capital of Australia?",
    "Convert 100 fahrenheit to celsius.",
    "Who wrote Pride and Prejudice?",
    "Plan a picnic for Saturday.",
    "Search for cheap flights to Tokyo.",
    "What is the square root of 1764?",
]


@dataclass
class CacheResult:
    label: str
    prompt_tokens: int = 0
    cached: int = 0
    cacheable: int = 0
    wall_s: float = 0.0
    detail: str = ""

    @property
    def ratio(self) -> float:
        return self.cached / self.cacheable if self.cacheable else 0.0


async def cache_run(
    label: str,
    *,
    slots: int,
    policy: str,
    host_cache_mib: int,
    sessions: int,
    turns: int,
    max_tokens: int,
    concurrent: bool = False,
) -> CacheResult:
    engine = EmbeddedEngine(
        context_size=4096,
        slots=slots,
        slot_policy=policy,  # type: ignore[arg-type]
        host_cache_mib=host_cache_mib,
    )
    await engine.start()
    result = CacheResult(label)
    try:
        im_end = (await engine.tokenize("<|im_end|>"))[0]
        end_of_text = (await engine.tokenize("<|endoftext|>"))[0]
        head = await engine.tokenize(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n")
        prompts: list[list[int]] = []
        for s in range(sessions):
            question = QUESTIONS[s % len(QUESTIONS)]
            prompts.append(
                head + await engine.tokenize(f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n")
            )
        seen: list[list[int]] = []  # everything sent or generated so far

        async def one_turn(s: int, t: int, prompt: list[int]) -> None:
            completion = await engine.generate(prompt, sampling=SamplingParams(max_tokens=max_tokens))
            generated = completion.token_ids or []
            result.prompt_tokens += completion.usage.prompt_tokens
            result.cached += completion.usage.cached_tokens
            seen.append(prompt + generated)
            question = QUESTIONS[(s + 3 * (t + 1)) % len(QUESTIONS)]
            closer = "\n" if generated and generated[-1] in (im_end, end_of_text) else "<|im_end|>\n"
            turn = await engine.tokenize(f"{closer}<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n")
            prompts[s] = prompt + generated + turn

        def cacheable(prompt: list[int], also: list[list[int]]) -> int:
            best = max((common_prefix_length(prompt, old) for old in seen + also), default=0)
            return min(best, len(prompt) - 1)  # the last prompt token is always computed

        started = time.perf_counter()
        for t in range(turns):
            if concurrent:  # the round's requests at once; each may reuse what was sent before it
                round_prompts = [list(p) for p in prompts]
                for s in range(sessions):
                    result.cacheable += cacheable(round_prompts[s], round_prompts[:s])
                await asyncio.gather(*(one_turn(s, t, round_prompts[s]) for s in range(sessions)))
            else:
                for s in range(sessions):
                    result.cacheable += cacheable(prompts[s], [])
                    await one_turn(s, t, prompts[s])
        result.wall_s = time.perf_counter() - started
        if policy == "radix":
            st = engine.slot_stats()
            result.detail = (
                f"extended {st.extended}, copied {st.copies_from_slot}, restored {st.restores_from_saved}, "
                f"evicted+saved {st.evictions_saved}, waited for a busy slot {st.copies_from_busy_slot}"
            )
    finally:
        await engine.aclose()
    return result


async def prefix_cache(sessions: int, turns: int, max_tokens: int, few_slots: int) -> None:
    configs = [
        (f"llama.cpp picks the slot, {few_slots} slots", dict(slots=few_slots, policy="server", host_cache_mib=0)),
        (
            f"llama.cpp picks + host-RAM cache (its default), {few_slots} slots",
            dict(slots=few_slots, policy="server", host_cache_mib=8192),
        ),
        (
            f"radix scheduler, {few_slots} slots (evicts + restores)",
            dict(slots=few_slots, policy="radix", host_cache_mib=0),
        ),
        (f"radix scheduler, {sessions} slots", dict(slots=sessions, policy="radix", host_cache_mib=0)),
        (
            f"radix scheduler, {sessions} slots, each round's requests at once",
            dict(slots=sessions, policy="radix", host_cache_mib=0, concurrent=True),
        ),
    ]
    results = []
    for label, kwargs in configs:
        console.print(f"running: {label} ...")
        results.append(
            await cache_run(label, sessions=sessions, turns=turns, max_tokens=max_tokens, **kwargs)  # type: ignore[arg-type]
        )
    table = Table(title=f"(b) Prefix cache: {sessions} sessions x {turns} turns, interleaved, token-exact prompts")
    table.add_column("setup")
    table.add_column("prompt tokens", justify="right")
    table.add_column("cacheable", justify="right")
    table.add_column("cached (engine)", justify="right")
    table.add_column("cached / cacheable", justify="right")
    table.add_column("prefilled", justify="right")
    table.add_column("wall s", justify="right")
    table.add_column("scheduler")
    for r in results:
        table.add_row(
            r.label,
            str(r.prompt_tokens),
            str(r.cacheable),
            str(r.cached),
            f"{r.ratio:.3f}",
            str(r.prompt_tokens - r.cached),
            f"{r.wall_s:.1f}",
            r.detail,
        )
    console.print(table)
    console.print("goal: radix >= 0.97 of cacheable tokens\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "constraint", "cache"], default="all")
    parser.add_argument("--repeats", type=int, default=4, help="(a) rounds over the prompts")
    parser.add_argument("--json-tokens", type=int, default=400, help="(a) max tokens of a constrained answer")
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=24, help="(b) tokens generated per turn")
    parser.add_argument(
        "--few-slots", type=int, default=4, help="(b) slots in the setups with fewer slots than sessions"
    )
    args = parser.parse_args()
    if args.part in ("all", "constraint"):
        asyncio.run(constraint_cost(args.repeats, args.json_tokens))
    if args.part in ("all", "cache"):
        asyncio.run(prefix_cache(args.sessions, args.turns, args.max_tokens, args.few_slots))


if __name__ == "__main__":
    main()
