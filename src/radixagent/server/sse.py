"""Server-sent events: the framing both streaming endpoints use."""

from __future__ import annotations

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}
SSE_MEDIA_TYPE = "text/event-stream"


def sse_event(data: str, *, event: str | None = None, event_id: int | None = None) -> bytes:
    """One event. `data` may hold newlines: each line is sent as its own `data:` field."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()
