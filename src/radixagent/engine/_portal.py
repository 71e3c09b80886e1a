"""One background event loop that runs the async core for the sync twins.

Engines are written once, async; `generate_sync` and friends hand the coroutine to this
loop (like httpx's shared core, but for async-first code). A single loop per process keeps
async clients (httpx.AsyncClient) bound to one loop however the engine is called.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="radixagent-loop", daemon=True).start()
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the background loop and wait for its result in this thread."""
    loop = _background_loop()
    if _running_loop() is loop:
        coro.close()
        raise RuntimeError("a *_sync method was called from radixagent's own event loop; await the async method")
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Drive an async iterator from sync code, one item at a time."""
    try:
        while True:
            try:
                yield run_sync(_next(agen))
            except StopAsyncIteration:
                return
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            run_sync(aclose())


async def _next(agen: AsyncIterator[T]) -> T:
    """`agen.__anext__()` as a coroutine, which is what the background loop runs."""
    return await agen.__anext__()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
