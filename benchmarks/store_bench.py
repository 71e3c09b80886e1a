"""Store benchmark: what one conversation turn costs in each store, alone and under replicas.

A turn is what the agent writes per answer: two nodes (question, answer) with the head moved,
in one transaction, then one usage row. Measured per store:

- one writer: turns per second and per-turn latency (p50, p99);
- several writers (threads; for PostgreSQL spread over two store objects, as two replicas
  with their own connections), each on its own session, then all on one shared session;
- reading back a long session (load_nodes);
and, after every concurrent run, a check that every node is there exactly once.

PostgreSQL: `--database-url postgresql://...` (a database whose radixagent tables may be
created and filled), or nothing to start a throwaway cluster as the tests do (needs the
server binaries, initdb/pg_ctl). The writers share this process's GIL, so the figures are a
floor for several replica processes.

    python benchmarks/store_bench.py
    python benchmarks/store_bench.py --turns 500 --writers 8 --database-url postgresql://localhost/bench
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from radixagent.memory import ConversationTree, PostgresStore, SessionRecord, SQLiteStore, UsageRecord
from radixagent.memory.tree import ConversationNode, make_node

Opener = Callable[[], Any]


def _turn(store: Any, session_id: str, parent: ConversationNode, label: str) -> ConversationNode:
    question = make_node(parent, "user", f"question {label}", token_count=12)
    answer = make_node(question, "assistant", f"answer {label}", token_count=30)
    store.add_nodes(session_id, [question, answer], head_id=answer.id)
    store.add_usage(UsageRecord(session_id=session_id, node_id=answer.id, prompt_tokens=100, cached_tokens=90))
    return answer


def _new_session(store: Any) -> tuple[str, ConversationNode]:
    tree = ConversationTree("You are a benchmark.")
    session = store.create_session(SessionRecord(title="bench"), tree.root)
    return session.id, tree.root


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(opener: Opener, replicas: int, writers: int, turns: int, shared: bool) -> dict[str, float]:
    """`writers` threads over `replicas` stores, `turns` turns each; returns the figures."""
    stores = [opener() for _ in range(replicas)]
    sessions = [_new_session(stores[0])] if shared else [_new_session(stores[0]) for _ in range(writers)]
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(writers)

    def write(i: int) -> None:
        store = stores[i % replicas]
        session_id, parent = sessions[0 if shared else i]
        mine: list[float] = []
        try:
            barrier.wait()
            for j in range(turns):
                t0 = time.perf_counter()
                parent = _turn(store, session_id, parent, f"{i}-{j}")
                mine.append((time.perf_counter() - t0) * 1000)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    stored = sum(len(stores[0].load_nodes(sid)) - 1 for sid, _ in sessions)
    ids = {n.id for sid, _ in sessions for n in stores[0].load_nodes(sid)}
    ok = stored == writers * turns * 2 and len(ids) == stored + len(sessions)
    t0 = time.perf_counter()
    loaded = stores[-1].load_nodes(sessions[0][0])
    load_ms = (time.perf_counter() - t0) * 1000
    for store in stores:
        store.close()
    return {
        "turns_per_s": writers * turns / wall,
        "p50_ms": statistics.median(latencies),
        "p99_ms": _pct(latencies, 0.99),
        "load_ms": load_ms,
        "nodes": len(loaded),
        "ok": float(ok),
    }


@contextmanager
def _throwaway_postgres() -> Iterator[str]:
    """A throwaway cluster made the way the tests make theirs (tests/conftest.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import os
    import pwd
    import shutil

    from conftest import PostgresCluster, _postgres_bindir

    bindir = _postgres_bindir()
    if bindir is None:
        raise SystemExit("No PostgreSQL server binaries: pass --database-url, or install the 'postgresql' package.")
    base = Path(tempfile.mkdtemp(prefix="radixagent-pg-bench-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    cluster = PostgresCluster(bindir, base, as_postgres)
    try:
        cluster.init()
        cluster.start()
        yield cluster.url
        cluster.stop("immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="turns per writer")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writer threads")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a throwaway cluster)")
    args = parser.parse_args()

    rows: list[tuple[str, str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as tmp, (
        _throwaway_postgres() if args.database_url is None else _given(args.database_url)
    ) as url:
        backends: list[tuple[str, Opener, int]] = [
            ("sqlite (WAL)", lambda: SQLiteStore(Path(tmp) / "bench.db"), 1),
            ("postgresql", lambda: PostgresStore(url, max_connections=args.writers), 2),
        ]
        for name, opener, replicas in backends:
            rows.append((name, "1 writer", run(opener, 1, 1, args.turns, shared=False)))
            label = f"{args.writers} writers, {replicas} store{'s' if replicas > 1 else ''}"
            rows.append((name, f"{label}, own sessions", run(opener, replicas, args.writers, args.turns, False)))
            rows.append((name, f"{label}, one session", run(opener, replicas, args.writers, args.turns, True)))

    print(f"\nOne turn = 2 nodes + head in one transaction, then 1 usage row; {args.turns} turns per writer.")
    if args.database_url is None:
        print("PostgreSQL: a throwaway cluster on loopback with fsync off (as in the tests); SQLite: synchronous=NORMAL.")
    print()
    print("| store | writers | turns/s | p50 ms | p99 ms | load_nodes ms (nodes) | all stored once |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, label, r in rows:
        print(
            f"| {name} | {label} | {r['turns_per_s']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} "
            f"| {r['load_ms']:.1f} ({r['nodes']:.0f}) | {'yes' if r['ok'] else 'NO'} |"
        )


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
