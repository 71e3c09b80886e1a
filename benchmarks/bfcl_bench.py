"""BFCL's live categories, through the OpenAI-compatible endpoint: third-party tool-call data
(the Berkeley Function Calling Leaderboard, user-contributed requests and functions), scored by
BFCL's own AST checker, for radixagent and for llama.cpp's own server on the same model.

Data and checker come from the `bfcl-eval` wheel (installed with `--no-deps`, as the Makefile
does): `bfcl_eval/data/BFCL_v4_live_*.json` and `possible_answer/`. Only the live categories
are used (live_simple, live_multiple, live_parallel, live_parallel_multiple, live_irrelevance,
live_relevance); BFCL's other categories stay an untouched, independent check.

Each case is sent as BFCL's OpenAI function-calling handler sends it: the functions converted
with BFCL's own rules (Python type names to JSON Schema, " Note that the provided function is
in Python 3 syntax." appended to each description, dots in names replaced by `_`, mapped back
on the reply), no system prompt added, `tool_choice` left at its default ("auto"), greedy.
Both systems get the same requests through the unmodified `openai` client:

  radixagent   `radixagent serve`'s app (default settings) under uvicorn on a loopback port,
               on the embedded engine with the bundled SmolLM2-135M
  llama.cpp    the baseline: llama.cpp's own server (xllamacpp, jinja on) with the same GGUF;
               its tool calling comes from the chat template (see toolcall_bench.llama_server:
               the GGUF's own template lists no tools, so by default the baseline gets the same
               ChatML turns plus the tools and a `<tool_call>` format; `--baseline-template model`
               keeps the GGUF's own)

Scoring follows BFCL's eval runner: live_irrelevance passes when the reply decodes to no call,
live_relevance when it decodes to at least one; the others go through
`bfcl_eval.eval_checker.ast_eval.ast_checker.ast_checker`. "well-formed" is this benchmark's
own: every call names a listed function and has a JSON-object argument string, or the reply
makes no call (a text answer; one cut off by max_tokens counts unless its text had started a
call: a leading `{`/`[` or a `<tool_call>` tag).

    python benchmarks/bfcl_bench.py                          # 30 seeded cases per category
    python benchmarks/bfcl_bench.py --per-category 5 --show-wrong 3
    python benchmarks/bfcl_bench.py --all --json /tmp/bfcl.json
    python benchmarks/bfcl_bench.py --per-category 2 --smallest --max-tokens 32   # a smoke run (the CI test's)
    python benchmarks/bfcl_bench.py --systems radixagent --categories live_simple,live_irrelevance

Run it under `flock /tmp/radixagent-model.lock` on a shared machine: both systems load the model.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import random
import re
import sys
import tempfile
import time
import types
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

from reporting import add_model_options, add_report_options, settings, write_json
from toolcall_bench import llama_server

CATEGORIES = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance")
SYSTEMS = ("radixagent", "llama.cpp")
BFCL_VERSION = "BFCL_v4"
CHECKER_MODEL_NAME = "radixagent-bench"
"""The name BFCL's checker is given; its config lookup is stubbed (see `bfcl_checker`)."""

console = Console(width=None if sys.stdout.isatty() else 160)


# --- BFCL's data and checker -------------------------------------------------------------------


def bfcl_data_dir() -> Path:
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("BFCL's data is missing: pip install --no-deps bfcl-eval==2026.3.23 (the Makefile's setup does)")
    return Path(spec.submodule_search_locations[0]) / "data"


def bfcl_checker() -> Any:
    """BFCL's AST checker without the package's heavy dependencies: its model-config module
    (which imports every model handler) is replaced by a mapping whose every entry says names
    keep their dots (`underscore_to_dot = False`): we map `_` back to the dotted names ourselves."""

    class _Config:
        underscore_to_dot = False

    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = defaultdict(_Config)  # type: ignore[attr-defined]
    sys.modules.setdefault("bfcl_eval.constants.model_config", stub)
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker


class BfclCase(BaseModel):
    id: str
    category: str
    messages: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, Any]] = Field(default_factory=list)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_category(category: str, data: Path | None = None) -> list[BfclCase]:
    data = data or bfcl_data_dir()
    entries = read_jsonl(data / f"{BFCL_VERSION}_{category}.json")
    answers_path = data / "possible_answer" / f"{BFCL_VERSION}_{category}.json"
    answers = {a["id"]: a["ground_truth"] for a in read_jsonl(answers_path)} if answers_path.exists() else {}
    cases = []
    for entry in entries:
        if len(entry["question"]) != 1:
            raise ValueError(f"{entry['id']}: the live categories are single-turn; this case has {len(entry['question'])} turns")
        cases.append(
            BfclCase(id=entry["id"], category=category, messages=entry["question"][0], functions=entry["function"], ground_truth=answers.get(entry["id"], []))
        )
    return cases


def request_size(case: BfclCase) -> int:
    return len(json.dumps(case.messages)) + len(json.dumps(case.functions))


def sample_cases(categories: Sequence[str], per_category: int | None, seed: int, smallest: bool = False) -> list[BfclCase]:
    """A fixed sample per category: the same `seed` gives the same cases (in file order) on
    every machine, so both systems and every rerun see the same requests; `None` is all.
    `smallest` takes each category's shortest requests instead (a quick smoke run)."""
    chosen = []
    for category in categories:
        cases = load_category(category)
        if per_category is not None and per_category < len(cases):
            if smallest:
                keep = set(sorted(range(len(cases)), key=lambda i: (request_size(cases[i]), i))[:per_category])
            else:
                keep = set(random.Random(f"{seed}:{category}").sample(range(len(cases)), per_category))
            cases = [c for i, c in enumerate(cases) if i in keep]
        chosen.extend(cases)
    return chosen


# --- BFCL's functions as OpenAI tools ------------------------------------------------------------

PYTHON_HINT = " Note that the provided function is in Python 3 syntax."
"""What BFCL appends to every Python function's description before inference (bfcl_eval.utils)."""

TO_JSON_SCHEMA = {
    "integer": "integer",
    "number": "number",
    "float": "number",
    "string": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "dict": "object",
    "object": "object",
    "tuple": "array",
    "any": "string",
}
"""BFCL's GORILLA_TO_OPENAPI for the Python types (bfcl_eval.constants.type_mappings); unknown
types become strings, as BFCL does."""


def _json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """One parameter's BFCL schema in JSON Schema, recursively (BFCL's own cast goes two levels
    deep; the live data nests no deeper, and recursion gives the same result there)."""
    out = dict(schema)
    kind = out.get("type")
    out["type"] = TO_JSON_SCHEMA.get(kind, "string") if isinstance(kind, str) else "string"
    if kind == "float":  # as BFCL's OpenAI handler does
        out["format"] = "float"
        out["description"] = out.get("description", "") + " This is a float type value."
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _json_schema(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _json_schema(out["items"])
    return out


def openai_name(name: str) -> str:
    return name.replace(".", "_")


def openai_tools(functions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`functions` as BFCL's OpenAI function-calling handler sends them."""
    tools = []
    for function in copy.deepcopy(list(functions)):
        parameters = dict(function.get("parameters") or {})
        parameters["type"] = "object"
        parameters["properties"] = {k: _json_schema(v) for k, v in (parameters.get("properties") or {}).items()}
        tools.append(
            {
                "type": "function",
                "function": {
                    "name": openai_name(function["name"]),
                    "description": function.get("description", "") + PYTHON_HINT,
                    "parameters": parameters,
                },
            }
        )
    return tools


# --- one reply -------------------------------------------------------------------------------------


class Reply(BaseModel):
    """What came back, as the client saw it."""

    content: str | None = None
    calls: list[tuple[str, str]] = Field(default_factory=list)
    """(function name, arguments string) per tool call, as sent."""
    finish_reason: str | None = None
    error: str | None = None
    latency_ms: float = 0.0


class Decoded(BaseModel):
    calls: list[dict[str, dict[str, Any]]] | None
    """BFCL's decoded format `[{func_name: {arg: value}}]` with BFCL's (dotted) names; None where
    BFCL's OpenAI decoder would fail (an argument string that is not JSON)."""
    well_formed: bool
    problem: str = ""


def decode(reply: Reply, functions: Sequence[dict[str, Any]]) -> Decoded:
    if reply.error is not None:
        return Decoded(calls=None, well_formed=False, problem=reply.error)
    if not reply.calls:
        text = (reply.content or "").lstrip()
        if reply.finish_reason == "length" and (text.startswith(("{", "[")) or "<tool_call>" in text):
            return Decoded(calls=[], well_formed=False, problem="cut off at max_tokens inside a call")
        return Decoded(calls=[], well_formed=True)
    names = {openai_name(f["name"]): f["name"] for f in functions}
    calls: list[dict[str, dict[str, Any]]] = []
    problems = []
    failed = False
    for name, arguments in reply.calls:
        if name not in names:
            problems.append(f"{name!r} is not a listed function")
        try:
            parsed = json.loads(arguments)
        except ValueError:
            failed = True
            problems.append(f"{name}: arguments are not JSON: {arguments[:80]!r}")
            continue
        if not isinstance(parsed, dict):
            problems.append(f"{name}: arguments are not a JSON object")
            parsed = {}
        calls.append({names.get(name, name): parsed})
    return Decoded(calls=None if failed else calls, well_formed=not problems, problem="; ".join(problems))


class Verdict(BaseModel):
    case_id: str
    category: str
    correct: bool
    well_formed: bool
    error_type: str = ""
    errors: list[Any] = Field(default_factory=list)
    decoded: list[dict[str, dict[str, Any]]] | None = None
    reply: Reply


def judge(case: BfclCase, reply: Reply) -> Verdict:
    """BFCL's verdict on one reply (eval_runner's relevance rules, else its AST checker)."""
    decoded = decode(reply, case.functions)
    base = {"case_id": case.id, "category": case.category, "well_formed": decoded.well_formed, "decoded": decoded.calls, "reply": reply}
    has_call = bool(decoded.calls) and any(decoded.calls)
    if "irrelevance" in case.category:
        return Verdict(**base, correct=not has_call, error_type="" if not has_call else "irrelevance:called", errors=[] if not has_call else ["a call where no function fits"])
    if "relevance" in case.category:
        return Verdict(**base, correct=has_call, error_type="" if has_call else "relevance:no_call", errors=[] if has_call else ["no call where a function fits"])
    if decoded.calls is None:
        return Verdict(**base, correct=False, error_type="ast_decoder:decoder_failed", errors=[decoded.problem])
    if not decoded.calls:
        return Verdict(**base, correct=False, error_type="no_call", errors=[reply.error or f"no call; replied {(reply.content or '')[:80]!r}"])
    from bfcl_eval.constants.enums import Language

    try:
        result = bfcl_checker()(case.functions, decoded.calls, case.ground_truth, Language.PYTHON, case.category, CHECKER_MODEL_NAME)
    except Exception as exc:  # BFCL's checker assumes shapes a wrong reply may not have
        result = {"valid": False, "error": [f"{type(exc).__name__}: {exc}"], "error_type": "checker:exception"}
    return Verdict(**base, correct=bool(result["valid"]), error_type=result.get("error_type", ""), errors=result.get("error", []))


# --- kinds of error ----------------------------------------------------------------------------------

KINDS = {
    "no_call": "no call",
    "relevance:no_call": "no call",
    "irrelevance:called": "a call where none fits",
    "ast_decoder:decoder_failed": "malformed call",
    "simple_function_checker:wrong_count": "missing/extra call",
    "multiple_function_checker:wrong_count": "missing/extra call",
    "parallel_function_checker_no_order:wrong_count": "missing/extra call",
    "simple_function_checker:wrong_func_name": "wrong function",
    "simple_function_checker:missing_required": "missing required parameter",
    "simple_function_checker:unexpected_param": "unexpected parameter",
    "simple_function_checker:missing_optional": "missing parameter the answer needs",
    "checker:exception": "unscorable call",
}


def _param_type(case: BfclCase, function: str | None, param: str) -> str:
    """The BFCL type of `param` (a parameter, or a key inside a dict parameter, which is what
    BFCL's dict checker names) in `function` (None: any of the case's functions)."""

    def find(properties: dict[str, Any], depth: int) -> str | None:
        if param in properties:
            kind = str(properties[param].get("type", "?"))
            return kind if depth == 0 else f"{kind} field of a dict"
        for schema in properties.values():
            inner = schema.get("properties") or (schema.get("items") or {}).get("properties")
            if isinstance(inner, dict) and (found := find(inner, depth + 1)):
                return found
        return None

    for f in case.functions:
        if function in (None, f["name"]) and (found := find(f.get("parameters", {}).get("properties", {}), 0)):
            return found
    return "?"


def error_kind(case: BfclCase, verdict: Verdict) -> str:
    """A short name for why a reply failed: BFCL's error type, in words, with the parameter's
    BFCL type where a value or type was wrong. A parallel case that matched no expected call is
    named by why its first candidate failed."""
    error_type, errors = verdict.error_type, verdict.errors
    function = None
    if error_type == "parallel_function_checker_no_order:cannot_find_match":
        subs = [next(iter(e.values())) for e in errors if isinstance(e, dict)]
        if not subs:
            return "no match for an expected call"
        error_type, errors = subs[0]["sub_error_type"], subs[0]["sub_error"]
        function = next(iter(subs[0]["possible_answer_item"]))
    if error_type in KINDS:
        return KINDS[error_type]
    if error_type.startswith(("value_error", "type_error")):
        match = re.search(r"parameter:? '([^']+)'", " ".join(map(str, errors)))
        what = "wrong value" if error_type.startswith("value_error") else "wrong type"
        if match:
            kind = _param_type(case, function, match.group(1))
            return f"{what} of {'an' if kind[0] in 'aeiou' else 'a'} {kind} parameter"
        return what
    return error_type or "?"


# --- the systems ------------------------------------------------------------------------------------


@contextmanager
def radixagent_server(args: argparse.Namespace) -> Iterator[str]:
    """`radixagent serve`'s app with default settings, on the embedded engine, on loopback."""
    from radixagent.engine.embedded import EmbeddedEngine
    from radixagent.memory import SQLiteStore
    from radixagent.server import BackgroundServer, ServerSettings, create_app

    engine = EmbeddedEngine(args.model, context_size=args.context, slots=2, threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="bfcl-bench-") as tmp:
        settings = ServerSettings(request_timeout=args.request_timeout)
        app = create_app(settings, engine=engine, store=SQLiteStore(Path(tmp) / "sessions.db"), tools=[], close_on_shutdown=True)
        with BackgroundServer(app) as server:
            yield f"{server.url}/v1"


@contextmanager
def baseline_server(args: argparse.Namespace) -> Iterator[str]:
    with llama_server(args) as url:
        yield f"{url}/v1"


def ask(client: Any, case: BfclCase, max_tokens: int) -> Reply:
    """One case through the `openai` client, as BFCL's OpenAI handler asks (plus greedy and a
    token budget)."""
    import openai

    started = time.perf_counter()
    try:
        response = client.chat.completions.create(
            model="smollm2", messages=case.messages, tools=openai_tools(case.functions), temperature=0, max_tokens=max_tokens
        )
        choice = response.choices[0]
        calls = [(c.function.name, c.function.arguments) for c in choice.message.tool_calls or [] if getattr(c, "function", None) is not None]
        reply = Reply(content=choice.message.content, calls=calls, finish_reason=choice.finish_reason)
    except openai.APIError as exc:
        reply = Reply(error=f"{type(exc).__name__}: {str(exc)[:300]}")
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply


def run_system(system: str, cases: Sequence[BfclCase], args: argparse.Namespace) -> list[Verdict]:
    import openai

    serve = radixagent_server if system == "radixagent" else baseline_server
    verdicts = []
    with serve(args) as base_url:
        client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=args.request_timeout)
        for i, case in enumerate(cases):
            verdicts.append(judge(case, ask(client, case, args.max_tokens)))
            if sys.stderr.isatty():
                print(f"\r{system}: {i + 1}/{len(cases)}", end="" if i + 1 < len(cases) else "\n", file=sys.stderr, flush=True)
    return verdicts


# --- the report --------------------------------------------------------------------------------------


@dataclass
class Row:
    category: str
    n: int
    well_formed: int
    correct: int
    latency_ms: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


def rows(verdicts: Sequence[Verdict], categories: Sequence[str]) -> list[Row]:
    out = []
    for category in [*categories, "all"]:
        chosen = [v for v in verdicts if category in ("all", v.category)]
        if not chosen:
            continue
        latency = sum(v.reply.latency_ms for v in chosen) / len(chosen)
        out.append(Row(category, len(chosen), sum(v.well_formed for v in chosen), sum(v.correct for v in chosen), latency))
    return out


def ratio(a: Row, b: Row | None) -> str:
    if b is None:
        return "-"
    if b.correct == 0:
        return "-" if a.correct == 0 else "inf"
    return f"{a.accuracy / b.accuracy:.2f}"


def results_table(results: dict[str, list[Verdict]], categories: Sequence[str]) -> Table:
    table = Table(title="BFCL live: accuracy by BFCL's checker (well-formed: calls of listed functions with JSON args, or a text answer)", title_justify="left")
    table.add_column("category")
    table.add_column("n", justify="right")
    for system in results:
        table.add_column(f"{system} well-formed", justify="right")
        table.add_column(f"{system} accuracy", justify="right")
    if set(SYSTEMS) <= set(results):
        table.add_column("ratio radixagent / llama.cpp", justify="right")
    for system in results:
        table.add_column(f"{system} ms mean", justify="right")
    per_system = {system: {r.category: r for r in rows(verdicts, categories)} for system, verdicts in results.items()}
    first = next(iter(per_system.values()))
    for category, head in first.items():
        cells = [category, str(head.n)]
        for system in results:
            row = per_system[system][category]
            cells += [f"{row.well_formed / row.n:.2f} ({row.well_formed}/{row.n})", f"{row.accuracy:.2f} ({row.correct}/{row.n})"]
        if set(SYSTEMS) <= set(results):
            cells.append(ratio(per_system["radixagent"][category], per_system["llama.cpp"].get(category)))
        cells += [f"{per_system[system][category].latency_ms:.0f}" for system in results]
        table.add_row(*cells, style="bold" if category == "all" else None)
    return table


def kinds_table(system: str, verdicts: Sequence[Verdict], cases: dict[str, BfclCase], categories: Sequence[str]) -> Table:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        if not v.correct:
            counts[error_kind(cases[v.case_id], v)][v.category] += 1
    table = Table(title=f"{system}: failures by kind", title_justify="left")
    table.add_column("kind")
    present = [c for c in categories if any(v.category == c for v in verdicts)]
    for category in present:
        table.add_column(category.removeprefix("live_"), justify="right")
    table.add_column("all", justify="right")
    for kind, per in sorted(counts.items(), key=lambda kv: -sum(kv[1].values())):
        table.add_row(kind, *(str(per[c] or "") for c in present), str(sum(per.values())))
    return table


def show_wrong(system: str, verdicts: Sequence[Verdict], cases: dict[str, BfclCase], categories: Sequence[str], count: int) -> None:
    """Up to `count` failing cases per category, grouped by kind of error."""
    for category in categories:
        failed = [v for v in verdicts if v.category == category and not v.correct][:count]
        if not failed:
            continue
        console.print(f"[bold]{system} / {category}[/]: {sum(v.category == category and not v.correct for v in verdicts)} failed; {len(failed)} shown")
        by_kind: dict[str, list[Verdict]] = defaultdict(list)
        for v in failed:
            by_kind[error_kind(cases[v.case_id], v)].append(v)
        for kind, group in by_kind.items():
            console.print(f"  [italic]{kind}[/]")
            for v in group:
                case = cases[v.case_id]
                user = next((m["content"] for m in reversed(case.messages) if m.get("role") == "user"), "")
                got = json.dumps(v.decoded, ensure_ascii=False) if v.decoded else repr((v.reply.content or v.reply.error or "")[:100])
                expected = json.dumps(case.ground_truth, ensure_ascii=False) if case.ground_truth else ("no call" if "irrelevance" in category else "any call")
                say = lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
                say(f"    {v.case_id}: {user[:160]!r}")
                say(f"      expected: {expected[:300]}")
                say(f"      got:      {got[:300]}")
                if v.errors:
                    say(f"      checker:  {str(v.errors[0])[:300]}")


# --- main --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--categories", type=lambda s: [c for c in s.split(",") if c], default=list(CATEGORIES), help=f"comma-separated, of: {','.join(CATEGORIES)}")
    parser.add_argument("--per-category", type=int, default=30, help="cases sampled per category (seeded; fewer where a category has fewer)")
    parser.add_argument("--all", action="store_true", help="every case of each category")
    parser.add_argument("--ids", type=lambda s: [c for c in s.split(",") if c], default=None, help="only these case ids (after sampling)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument("--smallest", action="store_true", help="each category's shortest requests instead of a seeded sample (a smoke run)")
    parser.add_argument("--systems", type=lambda s: s.split(","), default=list(SYSTEMS), help="comma-separated, of: radixagent,llama.cpp")
    parser.add_argument("--max-tokens", type=int, default=256, help="max_tokens of every request")
    add_model_options(parser, context=8192, context_help="context tokens per slot (live_multiple's prompts are long)", llama_server=True)
    add_report_options(parser, show_wrong=0, show_wrong_help="failing radixagent cases to print per category", json_help="write every verdict here")
    args = parser.parse_args(argv)
    if set(args.categories) - set(CATEGORIES):
        parser.error(f"--categories takes {','.join(CATEGORIES)} (BFCL's other categories are left alone)")
    if set(args.systems) - set(SYSTEMS) or not args.systems:
        parser.error(f"--systems takes {','.join(SYSTEMS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cases = sample_cases(args.categories, None if args.all else args.per_category, args.seed, args.smallest)
    if args.ids:
        cases = [c for c in cases if c.id in args.ids]
    by_id = {c.id: c for c in cases}
    console.print(
        f"BFCL live: {len(cases)} cases ({', '.join(f'{c} {sum(x.category == c for x in cases)}' for c in args.categories)}), "
        f"{'all' if args.all else f'{args.per_category} per category, ' + ('the shortest' if args.smallest else f'seed {args.seed}')}; max_tokens {args.max_tokens}, "
        f"threads {args.threads}, baseline template {args.baseline_template}"
    )
    results = {system: run_system(system, cases, args) for system in SYSTEMS if system in args.systems}
    console.print(results_table(results, args.categories))
    for system, verdicts in results.items():
        console.print(kinds_table(system, verdicts, by_id, args.categories))
    if args.show_wrong and "radixagent" in results:
        show_wrong("radixagent", results["radixagent"], by_id, args.categories, args.show_wrong)
    if args.json:
        report = {
            "cases": [c.id for c in cases],
            "settings": settings(args),
            "systems": {
                system: {
                    "rows": [vars(r) | {"accuracy": r.accuracy} for r in rows(verdicts, args.categories)],
                    "verdicts": [v.model_dump(mode="json") | {"kind": "" if v.correct else error_kind(by_id[v.case_id], v)} for v in verdicts],
                }
                for system, verdicts in results.items()
            },
        }
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
