"""The API fuzzer: requests generated from the server's own OpenAPI document, against a real
server over HTTP on loopback; any 5xx (or an answer slower than the timeout) is a finding.

Schemathesis reads `/openapi.json` and, for every operation, Hypothesis generates requests
that fit the document (positive) and requests that break it (negative: wrong types, missing
fields, junk). Path parameters are half the time a real session of the caller, half the time
generated. The server runs with API keys (the caller's key is sent), a SQLite file, and the
scripted engine answering like a model that follows its constraints, or with
`--engine embedded` the real default model (SmolLM2-135M).

`fuzz()` is shared with the CI test (tests/test_server_fuzz.py, a short run); this script is
the longer run, and prints what it tried: per operation and mode, the requests sent and the
status codes answered, then every finding with a curl command that reproduces it.

    python benchmarks/fuzz_bench.py                          # 200 examples per operation and mode
    python benchmarks/fuzz_bench.py --examples 1000 --seed 7
    flock /tmp/radixagent-model.lock python benchmarks/fuzz_bench.py --engine embedded --examples 20
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from radixagent.engine import (
    ChoicesConstraint,
    Constraint,
    JsonSchemaConstraint,
    Prompt,
    RegexConstraint,
    ScriptedEngine,
)
from radixagent.engine.base import Engine
from radixagent.memory import SQLiteStore
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.server import BackgroundServer, ServerSettings, create_app

KEY = "fuzz-key"
OTHER_KEY = "other-key"
ADMIN_KEY = "fuzz-admin"

ADD = ToolSchema(
    name="add",
    description="Add two integers",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]},
)


def add(a: int, b: int) -> int:
    return a + b


CATALOGUE = [ToolDefinition(schema=ADD, callable=add)]


def minimal_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A small value valid for `schema` (what a model following the constraint might write)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 20:
        return {}
    if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#"):
        target: Any = root
        for token in [t for t in schema["$ref"][1:].split("/") if t]:
            target = target.get(token.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        return minimal_instance(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return minimal_instance(schema[key][0], root, depth + 1)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else {}
        return {name: minimal_instance(properties.get(name, {}), root, depth + 1) for name in schema.get("required", []) if isinstance(name, str)}
    if kind == "array":
        count = schema.get("minItems", 0) if isinstance(schema.get("minItems"), int) else 0
        return [minimal_instance(schema.get("items", {}), root, depth + 1) for _ in range(min(count, 8))]
    if kind == "string":
        length = schema.get("minLength", 0) if isinstance(schema.get("minLength"), int) else 0
        return "x" * min(length, 64)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return int(low) + (1 if "exclusiveMinimum" in schema else 0) if isinstance(low, int | float) else 0
    if kind == "boolean":
        return False
    return None


def fuzz_engine() -> ScriptedEngine:
    """Answers as a model that follows its constraints would: the first choice, a minimal
    value of the schema, a string of the regex; plain text otherwise."""

    def reply(prompt: Prompt, constraint: Constraint | None) -> str:
        if isinstance(constraint, ChoicesConstraint):
            return constraint.choices[-1]  # the protocol's last choice is the answer
        if isinstance(constraint, JsonSchemaConstraint):
            return json.dumps(minimal_instance(constraint.json_schema))
        if isinstance(constraint, RegexConstraint):
            from hypothesis import strategies

            return strategies.from_regex(constraint.pattern, fullmatch=True).example()
        return "An answer."

    return ScriptedEngine(reply, context_size=1 << 20)


@dataclass
class Finding:
    operation: str
    mode: str
    status: int | None
    detail: str
    reproduce: str


@dataclass
class FuzzReport:
    tried: Counter[tuple[str, str]] = field(default_factory=Counter)
    statuses: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    slowest_s: float = 0.0
    slowest: str = ""
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.tried.values())

    @property
    def server_errors(self) -> int:
        return sum(1 for f in self.findings if f.status is None or f.status >= 500)

    def table(self) -> str:
        lines = [f"{'operation':<48}{'mode':<10}{'sent':>6}  statuses"]
        for (operation, mode), sent in sorted(self.tried.items()):
            codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses[(operation, mode)].items()))
            lines.append(f"{operation:<48}{mode:<10}{sent:>6}  {codes}")
        return "\n".join(lines)


@contextmanager
def fuzz_server(engine: Engine | None = None, *, request_timeout: float = 30.0) -> Iterator[tuple[str, str]]:
    """A server with API keys on a SQLite file; yields its URL and a session of KEY's."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = ServerSettings(
            server_api_keys=f"{KEY},{OTHER_KEY}",
            admin_api_keys=ADMIN_KEY,
            request_timeout=request_timeout,
            decision_evidence=False,
            max_concurrency=64,
        )
        app = create_app(settings, engine=engine or fuzz_engine(), store=SQLiteStore(Path(tmp) / "fuzz.db"), tools=CATALOGUE)
        with BackgroundServer(app) as server:
            headers = {"Authorization": f"Bearer {KEY}"}
            created = httpx.post(server.url + "/v1/sessions", json={"tools": ["add"]}, headers=headers, timeout=60)
            created.raise_for_status()
            sid = created.json()["id"]
            httpx.post(server.url + f"/v1/sessions/{sid}/messages", json={"content": "add 2 and 3"}, headers=headers, timeout=60)
            yield server.url, sid


def fuzz(
    url: str,
    session_id: str,
    *,
    examples: int = 25,
    seed: int = 0,
    timeout_s: float = 30.0,
    modes: tuple[str, ...] = ("positive", "negative"),
    log: Any = None,
) -> FuzzReport:
    """Fuzz every operation of the server at `url` from its own OpenAPI document."""
    import hypothesis
    import requests
    import schemathesis
    from hypothesis import strategies as st
    from schemathesis.generation.modes import GenerationMode

    headers = {"Authorization": f"Bearer {KEY}"}
    schema = schemathesis.openapi.from_url(url + "/openapi.json", timeout=30)
    report = FuzzReport()
    started = time.perf_counter()
    session = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: op.method.upper() == "DELETE")  # the caller's session is deleted last
    for operation in operations:
        name = f"{operation.method.upper()} {operation.path}"
        for mode_name in modes:
            mode = GenerationMode(mode_name)
            report.statuses[(name, mode_name)] = Counter()
            has_session = "{session_id}" in operation.path
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)
            if has_session:
                real = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters={"session_id": session_id})
                strategy = st.one_of(strategy, real)

            run = _runner(report, strategy, name, mode_name, url, session, headers, examples, seed, timeout_s)
            try:
                run()
            except hypothesis.errors.Unsatisfiable:  # nothing to break: an operation with no inputs, in negative mode
                pass
            if log is not None:
                log(f"{name:<48}{mode_name:<10}{report.tried[(name, mode_name)]:>6}")
    report.seconds = time.perf_counter() - started
    return report


def _runner(
    report: FuzzReport,
    strategy: Any,
    name: str,
    mode_name: str,
    url: str,
    session: Any,
    headers: dict[str, str],
    examples: int,
    seed: int,
    timeout_s: float,
) -> Any:
    """The Hypothesis test that sends `strategy`'s requests and records what came back."""
    import hypothesis
    import requests
    from hypothesis import HealthCheck, Phase, given, settings

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.seed(seed)
    def run(case: Any) -> None:
        report.tried[(name, mode_name)] += 1
        sent = time.perf_counter()
        try:
            response = case.call(base_url=url, session=session, headers=headers, timeout=timeout_s)
        except requests.exceptions.Timeout:
            report.findings.append(Finding(name, mode_name, None, f"no answer within {timeout_s:g} s", _curl(case, headers)))
            return
        except requests.exceptions.RequestException as exc:
            report.findings.append(Finding(name, mode_name, None, f"{type(exc).__name__}: {exc}", _curl(case, headers)))
            return
        took = time.perf_counter() - sent
        if took > report.slowest_s:
            report.slowest_s, report.slowest = took, name
        report.statuses[(name, mode_name)][response.status_code] += 1
        if response.status_code >= 500:
            report.findings.append(Finding(name, mode_name, response.status_code, response.text[:300], _curl(case, headers)))


    return run


def _curl(case: Any, headers: dict[str, str]) -> str:
    try:
        return str(case.as_curl_command(headers=headers))
    except Exception as exc:  # a case curl cannot spell is still a finding
        return f"(no curl command: {exc})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=200, help="requests per operation and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds an answer may take before it is a finding")
    parser.add_argument("--engine", choices=["scripted", "embedded"], default="scripted")
    args = parser.parse_args()

    engine: Engine | None = None
    if args.engine == "embedded":
        from radixagent.engine.embedded import EmbeddedEngine

        engine = EmbeddedEngine(context_size=4096, slots=2)
    with fuzz_server(engine, request_timeout=args.timeout) as (url, sid):
        print(f"Fuzzing {url} ({args.engine} engine) from its /openapi.json: {args.examples} examples per operation and mode, seed {args.seed}\n")
        report = fuzz(url, sid, examples=args.examples, seed=args.seed, timeout_s=args.timeout + 5)
    print(report.table())
    print(f"\nrequests sent: {report.requests} in {report.seconds:.1f} s; slowest answer {report.slowest_s * 1000:.0f} ms ({report.slowest})")
    print(f"5xx or no answer: {report.server_errors}")
    for finding in report.findings:
        detail = re.sub(r"\s+", " ", finding.detail)
        print(f"\n{finding.operation} ({finding.mode}): {finding.status or 'no answer'}: {detail}")
        print(f"    {finding.reproduce}")
    if report.findings:
        sys.exit(1)


if __name__ == "__main__":
    main()
