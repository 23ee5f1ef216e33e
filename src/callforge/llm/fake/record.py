"""What the fake server saw and did, for assertions: one record per request, plus counters.

Timestamps are `time.monotonic()` seconds, the clock tests use to check that a retry waited for
retry-after; on Linux it is shared by every process, so a CLI server's records compare too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(slots=True)
class RecordedRequest:
    """One HTTP request as received, the fault applied and how it ended.

    Attributes:
        index: 0-based arrival number among chat-completions requests (the index faults select
            on); -1 for other endpoints.
        method: HTTP method.
        path: request path, e.g. "/v1/chat/completions".
        body: the parsed request JSON (None when the body was not JSON).
        fault: the injected fault kind, or None.
        status: HTTP status sent; None when no response was sent (drop, hang, server stopped).
        error: the error message sent (4xx/5xx), e.g. an exhausted script.
        response: the response JSON sent with a 200 (None for faults that corrupt it).
        received_at: monotonic time the request was fully read.
        finished_at: monotonic time the response was written or the connection closed.
    """

    index: int
    method: str
    path: str
    body: Any
    received_at: float
    fault: str | None = None
    status: int | None = None
    error: str | None = None
    response: dict[str, Any] | None = None
    finished_at: float | None = None


@dataclass(slots=True)
class Stats:
    """Counters of chat-completions traffic, cheap enough to keep on during benchmarks.

    Attributes:
        connections: TCP connections accepted (all endpoints); with keep-alive, sequential requests
            from one client share one.
        received: requests fully read.
        served: responses written (any status).
        faults: requests that got an injected fault.
        in_flight: requests holding a capacity slot now.
        max_in_flight: the most that ever held a slot at once (never above `capacity`).
        waiting: requests queued for a slot now.
        max_waiting: the longest the queue ever was.
        overflowed: requests turned away with a 429 because every slot was busy (`overflow="429"`).
        busy_s: slot-seconds spent serving (sum of each request's time in a slot); over
            wall time x capacity it is how busy the server was kept.
    """

    connections: int = 0
    received: int = 0
    served: int = 0
    faults: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    waiting: int = 0
    max_waiting: int = 0
    overflowed: int = 0
    busy_s: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)

    def copy(self) -> Stats:
        """A snapshot, safe to read while the server keeps counting."""
        return replace(self, by_status=dict(self.by_status))

    def as_json(self) -> dict[str, Any]:
        """The counters as JSON-ready data, for `GET /_fake/stats` and the CLI's exit line."""
        snapshot = self.copy()
        data = {f.name: getattr(snapshot, f.name) for f in fields(snapshot)}
        data["by_status"] = {str(k): v for k, v in snapshot.by_status.items()}
        return data
