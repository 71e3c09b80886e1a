"""Serving benchmark: the sessions API over real HTTP on loopback.

Part 1 (scripted engine, instant replies): N concurrent sessions, each several turns (every
other turn calls a tool), all at once. The server runs in its own process, with an API key.
Reports the server's overhead per request (its total time minus engine and tool time, from the
Server-Timing header) for one session alone and under the concurrent load (where it includes
waiting for the event loop while other requests run), its p99/p50 ratio, the server process's
CPU time per turn (from /proc: everything the process does, the scripted engine included),
the client-observed latency, requests per second; then the same load again while 8 slow
clients with a valid key hold connections, sending their bodies a byte at a time (the
latency with and without them). Every session is read back from the store: every message
there exactly once, in order, each answer matching its question.

Part 2 (embedded engine, SmolLM2-135M): the same kind of conversation, a few sessions
interleaved turn by turn; the engine's own cache hit rate (cached / prompt tokens) per turn.

    python benchmarks/serve_bench.py                 # both parts
    python benchmarks/serve_bench.py --part load --sessions 50 --turns 6
    python benchmarks/serve_bench.py --part cache --cache-sessions 4 --cache-turns 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from radixagent.engine import (
    ChoicesConstraint,
    Completion,
    Constraint,
    JsonSchemaConstraint,
    Prompt,
    SamplingParams,
    ScoreResult,
    ScriptedEngine,
)
from radixagent.memory import SQLiteStore
from radixagent.schemas import ToolDefinition, ToolSchema
from radixagent.server import BackgroundServer, ServerSettings, create_app

ADD = ToolSchema(
    name="add",
    description="Add two integers",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]},
)


def add(a: int, b: int) -> int:
    return a + b


CATALOGUE = [ToolDefinition(schema=ADD, callable=add)]
QUESTION = re.compile(r"s([a-j]+) t([a-j]+): (add (\d+) and (\d+)|hello)")


def tag(number: int) -> str:
    """A number spelled in letters (0 -> a, 12 -> bc): the question's session and turn tags are
    then words, not values the agent's evidence rules would expect a call to take."""
    return "".join("abcdefghij"[int(d)] for d in str(number))


def untag(letters: str) -> int:
    return int("".join(str("abcdefghij".index(c)) for c in letters))


def question(session: int, turn: int) -> str:
    prefix = f"s{tag(session)} t{tag(turn)}:"
    return f"{prefix} add {session} and {turn}" if turn % 2 else f"{prefix} hello"


def expected_answer(session: int, turn: int) -> str:
    return f"ack s{session} t{turn} = {session + turn}" if turn % 2 else f"ack s{session} t{turn}"


def scripted_engine() -> ScriptedEngine:
    """Replies as a model following the protocol would, read off the prompt: call `add` when
    the latest question asks for a sum, then answer naming the question (so a reply landing
    in the wrong session would show)."""

    engine: ScriptedEngine

    def reply(prompt: Prompt, constraint: Constraint | None) -> str:
        text = engine.decode(prompt)
        turn = text[text.rfind("<|im_start|>user\n") :]
        tail = text[text.rfind("<|im_start|>assistant\n") :]
        matches = list(QUESTION.finditer(text))
        if not matches and isinstance(constraint, ChoicesConstraint) and len(constraint.choices) == 1:
            return constraint.choices[0]  # the request scored beside a tool's description (noisy channel)
        if not matches:
            raise AssertionError("no question in the prompt")
        last = matches[-1]
        session, number = untag(last.group(1)), untag(last.group(2))
        if isinstance(constraint, ChoicesConstraint):
            if " run" in constraint.choices:
                return " run"
            asks_sum = last.group(4) is not None and "[tool] add returned" not in turn
            return " add" if asks_sum and " add" in constraint.choices else " answer"
        if isinstance(constraint, JsonSchemaConstraint):
            return json.dumps({"a": int(last.group(4)), "b": int(last.group(5))})
        assert tail.rstrip().endswith("Answer:"), "free text outside an answer"
        return expected_answer(session, number)

    engine = TimedScriptedEngine(reply)
    return engine


class TimedScriptedEngine(ScriptedEngine):
    """The scripted engine, counting its own CPU time: it stands in for a model server, which is
    another process in a deployment, so the report takes it out of the server's own cost. Its
    methods never await, so the thread's CPU time around each call is the call's alone."""

    cpu_seconds = 0.0

    async def _generate(self, prompt: Prompt, constraint: Constraint | None, sampling: SamplingParams) -> Completion:
        started = time.thread_time()
        try:
            return await super()._generate(prompt, constraint, sampling)
        finally:
            TimedScriptedEngine.cpu_seconds += time.thread_time() - started

    async def _score(self, prefix: str | Sequence[int], choices: Sequence[str]) -> ScoreResult:
        started = time.thread_time()
        try:
            return await super()._score(prefix, choices)
        finally:
            TimedScriptedEngine.cpu_seconds += time.thread_time() - started

    async def tokenize(self, text: str) -> list[int]:
        started = time.thread_time()
        try:
            return await super().tokenize(text)
        finally:
            TimedScriptedEngine.cpu_seconds += time.thread_time() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def server_timing(header: str) -> dict[str, float]:
    return {name: float(dur) for name, dur in re.findall(r"(\w+);dur=([0-9.]+)", header)}


KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def serve_in_this_process(port: int, db: str, concurrency_limit: int) -> None:
    """The server of the load part, in its own process (so its CPU time is its own)."""
    from radixagent.server import build_server

    app = create_app(
        ServerSettings(max_concurrency=concurrency_limit, request_timeout=600, server_api_keys=KEY),
        engine=scripted_engine(),
        store=SQLiteStore(db),
        tools=CATALOGUE,
    )
    app.add_api_route("/bench/engine-cpu", lambda: {"seconds": TimedScriptedEngine.cpu_seconds}, methods=["GET"])
    build_server(app, host="127.0.0.1", port=port, log_level="warning").run()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def slow_client(port: int, stop: asyncio.Event, opened: list[int]) -> None:
    """A client with a valid key that sends its body one byte every half second, again and
    again: it holds a connection, never a slot (the body has a deadline, RADIXAGENT_BODY_TIMEOUT)."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        opened.append(1)
        writer.write(
            f"POST /v1/sessions HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {KEY}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n".encode()
        )
        try:
            while not stop.is_set() and not reader.at_eof():
                writer.write(b" ")
                await writer.drain()
                try:
                    await asyncio.wait_for(reader.read(4096), 0.5)
                except TimeoutError:
                    pass
        except OSError:
            pass
        finally:
            writer.close()


async def load_run(sessions: int, turns: int, concurrency_limit: int, slow_clients: int, rounds: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), str(Path(tmp) / "bench.db"), str(concurrency_limit)]
        )
        url = f"http://127.0.0.1:{port}"
        try:
            # idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one
            # the server is closing at that moment fails with ReadError (between rounds, most of
            # them sit idle while the sessions are checked and made)
            limits = httpx.Limits(max_connections=sessions + 8, max_keepalive_connections=sessions + 8, keepalive_expiry=2.0)
            async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits, headers=AUTH) as http:
                for _ in range(600):
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                return await _load(http, server.pid, port, sessions, turns, slow_clients, rounds)
        finally:
            server.terminate()
            server.wait(30)


async def _load(http: httpx.AsyncClient, pid: int, port: int, sessions: int, turns: int, slow_clients: int, rounds: int) -> dict[str, Any]:
    overhead: list[float] = []
    latency: list[float] = []
    rejected = 0
    ids: list[str] = []

    async def new_sessions() -> None:
        ids.clear()
        for i in range(sessions):
            created = await http.post("/v1/sessions", json={"tools": ["add"], "title": f"s{i}", "engine_settings": {"allow_ask": False}})
            created.raise_for_status()
            ids.append(created.json()["id"])

    async def converse(index: int) -> None:
        nonlocal rejected
        for turn in range(1, turns + 1):
            while True:
                started = time.perf_counter()
                response = await http.post(f"/v1/sessions/{ids[index]}/messages", json={"content": question(index, turn)})
                if response.status_code == 429:  # refused before any work: safe to resend
                    rejected += 1
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")) / 10)
                    continue
                break
            latency.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            body = response.json()
            if body["response"]["content"] != expected_answer(index, turn):
                raise AssertionError(f"session {index} turn {turn} got {body['response']['content']!r}")
            t = server_timing(response.headers["server-timing"])
            overhead.append(t["total"] - t["engine"] - t["tools"])

    async def check() -> tuple[int, int, int]:
        lost = duplicated = misplaced = 0
        for index, sid in enumerate(ids):
            tree = (await http.get(f"/v1/sessions/{sid}/tree")).json()
            users = [n["content"] for n in tree["nodes"] if n["role"] == "user"]
            answers = [n["content"] for n in tree["nodes"] if n["role"] == "assistant" and "Answer:" in n["content"]]
            wanted = [question(index, t) for t in range(1, turns + 1)]
            lost += sum(1 for q in wanted if q not in users)
            duplicated += len(users) - len(set(users)) + max(0, len(answers) - turns)
            misplaced += sum(1 for t in range(1, turns + 1) if not any(a.endswith(expected_answer(index, t)) for a in answers))
            misplaced += int(users != wanted)
        return lost, duplicated, misplaced

    # Alone first: one session, one request at a time, is the overhead without contention.
    await new_sessions()
    await converse(0)
    alone = list(overhead)
    overhead.clear()
    latency.clear()

    # Concurrent: every session at once, in rounds that alternate without and with slow clients
    # holding connections (so the two conditions share the machine's noise and the database's
    # growth); the server process's CPU time is read around the rounds without them.
    plain = {"overhead": [], "latency": []}
    slowed = {"overhead": [], "latency": []}
    cpu = wall = engine_cpu = 0.0

    async def engine_cpu_seconds() -> float:
        return float((await http.get("/bench/engine-cpu")).json()["seconds"])
    lost = duplicated = misplaced = opened_total = 0
    for round_ in range(2 * rounds):
        with_slow = round_ % 2 == 1
        overhead.clear()
        latency.clear()
        await new_sessions()
        stop, opened = asyncio.Event(), []
        slow = [asyncio.create_task(slow_client(port, stop, opened)) for _ in range(slow_clients if with_slow else 0)]
        if with_slow:
            await asyncio.sleep(0.5)
        cpu_before, engine_before = cpu_seconds(pid), await engine_cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(converse(i) for i in range(sessions)))
        if not with_slow:
            wall += time.perf_counter() - started
            cpu += cpu_seconds(pid) - cpu_before
            engine_cpu += await engine_cpu_seconds() - engine_before
        stop.set()
        await asyncio.gather(*slow)
        opened_total += len(opened)
        kept = slowed if with_slow else plain
        kept["overhead"] += overhead
        kept["latency"] += latency
        checked = await check()
        lost, duplicated, misplaced = lost + checked[0], duplicated + checked[1], misplaced + checked[2]
    plain_turns = rounds * sessions * turns
    metrics = (await http.get("/metrics")).text
    runs = turns + 2 * rounds * sessions * turns
    return {
        "sessions": sessions,
        "turns": turns,
        "rounds": rounds,
        "requests": plain_turns,
        "wall_s": wall,
        "rps": plain_turns / wall,
        "cpu_ms_per_turn": cpu * 1000 / plain_turns,
        "engine_cpu_ms_per_turn": engine_cpu * 1000 / plain_turns,
        "alone_p50_ms": percentile(alone, 0.50),
        "alone_p99_ms": percentile(alone, 0.99),
        "overhead_p50_ms": percentile(plain["overhead"], 0.50),
        "overhead_p99_ms": percentile(plain["overhead"], 0.99),
        "latency_p50_ms": percentile(plain["latency"], 0.50),
        "latency_p99_ms": percentile(plain["latency"], 0.99),
        "slow_clients": slow_clients,
        "slow_connections": opened_total,
        "slow_latency_p50_ms": percentile(slowed["latency"], 0.50),
        "slow_latency_p99_ms": percentile(slowed["latency"], 0.99),
        "slow_overhead_p99_ms": percentile(slowed["overhead"], 0.99),
        "rejected_429": rejected,
        "lost": lost,
        "duplicated": duplicated,
        "misplaced": misplaced,
        "metrics_ok": "radixagent_agent_runs_total{outcome=\"success\"} " + str(runs) in metrics,
    }


async def cache_run(sessions: int, turns: int, slots: int) -> list[dict[str, Any]]:
    from radixagent.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine(context_size=4096, slots=slots)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(ServerSettings(request_timeout=1800), engine=engine, store=SQLiteStore(Path(tmp) / "cache.db"), tools=CATALOGUE, close_on_shutdown=True)
        with BackgroundServer(app) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=1800) as http:
                settings = {"allow_ask": False, "max_iterations": 3, "argument_tokens": 32, "answer_tokens": 24}
                ids = []
                for _ in range(sessions):
                    created = await http.post("/v1/sessions", json={"tools": ["add"], "engine_settings": settings})
                    created.raise_for_status()
                    ids.append(created.json()["id"])
                for turn in range(1, turns + 1):
                    prompt = cached = calls = 0
                    started = time.perf_counter()
                    for index, sid in enumerate(ids):  # interleaved: every session's turn t, then turn t+1
                        response = await http.post(f"/v1/sessions/{sid}/messages", json={"content": question(index + 1, turn)})
                        response.raise_for_status()
                        body = response.json()["response"]
                        usage = body["usage"]
                        prompt += usage["prompt_tokens"]
                        cached += usage["cached_tokens"]
                        calls += len(body["tool_calls"])
                    rows.append(
                        {
                            "turn": turn,
                            "prompt_tokens": prompt,
                            "cached_tokens": cached,
                            "hit_rate": cached / prompt if prompt else 0.0,
                            "tool_calls": calls,
                            "seconds": time.perf_counter() - started,
                        }
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "load", "cache"], default="all")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--max-concurrency", type=int, default=64)
    parser.add_argument("--cache-sessions", type=int, default=4)
    parser.add_argument("--cache-turns", type=int, default=4)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--slow-clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the load without, then with, slow clients")
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "DB", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_in_this_process(int(args.serve[0]), args.serve[1], int(args.serve[2]))
        return

    if args.part in ("all", "load"):
        r = asyncio.run(load_run(args.sessions, args.turns, args.max_concurrency, args.slow_clients, args.rounds))
        print(
            f"\nLoad: {r['sessions']} concurrent sessions x {r['turns']} turns on the scripted engine, HTTP on loopback, the server in its "
            f"own process; {r['rounds']} rounds without and {r['rounds']} with {r['slow_clients']} slow clients"
        )
        print(f"{'metric':<46}{'value':>12}")
        for label, value in [
            ("requests (rounds without slow clients)", f"{r['requests']}"),
            ("wall time (s)", f"{r['wall_s']:.2f}"),
            ("requests per second", f"{r['rps']:.1f}"),
            ("overhead, one session alone p50 (ms)", f"{r['alone_p50_ms']:.2f}"),
            ("overhead, one session alone max (ms)", f"{r['alone_p99_ms']:.2f}"),
            ("wall time per request (ms, 1 process)", f"{1000 / r['rps']:.2f}"),
            ("server overhead p50 (ms)", f"{r['overhead_p50_ms']:.2f}"),
            ("server overhead p99 (ms)", f"{r['overhead_p99_ms']:.2f}"),
            ("client latency p50 (ms)", f"{r['latency_p50_ms']:.2f}"),
            ("client latency p99 (ms)", f"{r['latency_p99_ms']:.2f}"),
            ("server process CPU time per turn (ms)", f"{r['cpu_ms_per_turn']:.2f}"),
            ("  of which the scripted engine (ms)", f"{r['engine_cpu_ms_per_turn']:.2f}"),
            ("server CPU time per turn, engine aside (ms)", f"{r['cpu_ms_per_turn'] - r['engine_cpu_ms_per_turn']:.2f}"),
            ("server overhead p99/p50", f"{r['overhead_p99_ms'] / max(r['overhead_p50_ms'], 1e-9):.2f}"),
            (f"with {r['slow_clients']} slow clients: latency p50 (ms)", f"{r['slow_latency_p50_ms']:.2f}"),
            (f"with {r['slow_clients']} slow clients: latency p99 (ms)", f"{r['slow_latency_p99_ms']:.2f}"),
            ("  (their connections opened)", f"{r['slow_connections']}"),
            ("429 answers (resent)", f"{r['rejected_429']}"),
            ("lost messages", f"{r['lost']}"),
            ("duplicated messages", f"{r['duplicated']}"),
            ("misplaced answers", f"{r['misplaced']}"),
            ("runs counted in /metrics", "yes" if r["metrics_ok"] else "NO"),
        ]:
            print(f"{label:<46}{value:>12}")
        if r["lost"] or r["duplicated"] or r["misplaced"]:
            sys.exit("messages were lost, duplicated or misplaced")

    if args.part in ("all", "cache"):
        rows = asyncio.run(cache_run(args.cache_sessions, args.cache_turns, args.slots))
        print(f"\nEngine cache per turn: {args.cache_sessions} sessions interleaved, {args.slots} slots, SmolLM2-135M (embedded)")
        print(f"{'turn':>4}{'prompt tok':>12}{'cached':>10}{'hit rate':>10}{'tool calls':>12}{'seconds':>9}")
        for row in rows:
            print(
                f"{row['turn']:>4}{row['prompt_tokens']:>12}{row['cached_tokens']:>10}{row['hit_rate']:>10.1%}"
                f"{row['tool_calls']:>12}{row['seconds']:>9.1f}"
            )


if __name__ == "__main__":
    main()
