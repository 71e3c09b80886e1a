"""The server-wide event hub: every session's run events, for whoever may see them.

Session agents publish each `AgentEvent` of every run (and the hub's own `session_created` /
`session_deleted`) with the session's id and owner; `GET /v1/events` (server/feed.py)
subscribes and streams what the caller's key may see. Publishing never waits: each
subscriber has a bounded queue, and when a slow one's queue is full its new events are
dropped (counted, and told to it as one `dropped` event once it catches up) instead of
growing memory or slowing the runs. The hub lives in one process: with several workers or
replicas, a listener sees the runs of the process it is connected to.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, SerializeAsAny

from radixagent.errors import EventFeedFullError
from radixagent.server.auth import Caller
from radixagent.server.metrics import ServerMetrics


class SessionCreatedEvent(BaseModel):
    type: Literal["session_created"] = "session_created"
    title: str = ""


class SessionDeletedEvent(BaseModel):
    type: Literal["session_deleted"] = "session_deleted"


class DroppedEvent(BaseModel):
    """Events this listener missed because it read too slowly: refetch what it shows."""

    type: Literal["dropped"] = "dropped"
    count: int


class FeedEvent(BaseModel):
    """One event of the feed: which session, when, and the event itself (its `type` says
    which: an agent event such as `step`, `tool_call`, `tool_result`, `approval_required`, `failure`, `run_end`,
    or `session_created`, `session_deleted`, `dropped`)."""

    seq: int = Field(description="the hub's running number, increasing")
    type: str
    session_id: str | None
    at: datetime
    event: SerializeAsAny[BaseModel]


class Subscription:
    """One listener's queue. `session_id` narrows it to one session."""

    def __init__(self, hub: EventHub, caller: Caller, session_id: str | None, capacity: int) -> None:
        self.hub = hub
        self.caller = caller
        self.session_id = session_id
        self.capacity = capacity
        self.dropped = 0
        """Events dropped since the listener last caught up."""
        self._buffer: deque[FeedEvent] = deque()
        self._ready = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def wants(self, session_id: str | None, owner: str | None) -> bool:
        if self.session_id is not None and session_id != self.session_id:
            return False
        return self.caller.owns(owner)

    def offer(self, event: FeedEvent) -> None:
        """Queue the event, or drop it when the queue is full; never blocks. Runs on the
        subscriber's event loop."""
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            self.hub.count_drop()
            return
        self._buffer.append(event)
        self._ready.set()

    async def next(self, timeout: float) -> FeedEvent | None:
        """The next event, a `dropped` notice first when events were lost, or None after
        `timeout` seconds without one."""
        if not self._buffer and self.dropped == 0:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return None
        if self.dropped and not self._buffer:
            count, self.dropped = self.dropped, 0
            return self.hub.stamp(None, DroppedEvent(count=count))
        return self._buffer.popleft() if self._buffer else None

    def close(self) -> None:
        self.hub.unsubscribe(self)


class EventHub:
    """Fans run events out to subscribers, each sees only its caller's sessions."""

    def __init__(
        self, *, max_subscribers: int = 64, buffer: int = 256, retry_after_s: float = 1.0, metrics: ServerMetrics | None = None
    ) -> None:
        self.max_subscribers = max_subscribers
        self.buffer = buffer
        self.retry_after_s = retry_after_s
        self.metrics = metrics
        self.dropped_total = 0
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()  # runs publish on the event loop; tools may from threads
        self._seq = 0

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, caller: Caller, session_id: str | None = None) -> Subscription:
        """A new listener (call on the event loop); EventFeedFullError past `max_subscribers`."""
        with self._lock:
            if len(self._subscribers) >= self.max_subscribers:
                raise EventFeedFullError(self.max_subscribers, self.retry_after_s)
            subscription = Subscription(self, caller, session_id, self.buffer)
            self._subscribers.add(subscription)
            return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def count_drop(self) -> None:
        self.dropped_total += 1
        if self.metrics is not None:
            self.metrics.events_dropped.inc()

    def stamp(self, session_id: str | None, event: BaseModel) -> FeedEvent:
        with self._lock:
            self._seq += 1
            seq = self._seq
        return FeedEvent(seq=seq, type=str(getattr(event, "type", type(event).__name__)), session_id=session_id, at=datetime.now(UTC), event=event)

    def publish(self, session_id: str, owner: str | None, event: BaseModel) -> None:
        """Hand `event` of session `session_id` (owned by `owner`) to every subscriber that
        may see it. Never blocks; safe from any thread."""
        if not self._subscribers:
            return
        stamped = self.stamp(session_id, event)
        with self._lock:
            targets = [s for s in self._subscribers if s.wants(session_id, owner)]
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for subscription in targets:
            if running is subscription.loop:
                subscription.offer(stamped)
            else:  # another thread: the queue belongs to the subscriber's loop
                try:
                    subscription.loop.call_soon_threadsafe(subscription.offer, stamped)
                except RuntimeError:  # that loop is closed: its listener is gone
                    self.unsubscribe(subscription)
