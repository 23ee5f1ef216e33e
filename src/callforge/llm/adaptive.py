"""Adaptive concurrency: find an endpoint's capacity by itself, AIMD-style, per endpoint.

A fixed in-flight cap is wrong twice: 16 requests keep a 32-slot vLLM replica half idle, and 64
queue behind an 8-slot llama.cpp server (each request then waits longer and a provider answers
429). `AdaptiveLimit` raises the number of requests in flight while latency holds and backs off
when it grows (a queue is forming at the server) or when the server answers 429/503, so a run
keeps an endpoint full without being told its size.

It works in rounds of about `window` completions (one round trip of the whole window):

* slow start: while nothing has pushed back, the window doubles each round;
* latency held (the round's median latency within `tolerance` of the fastest seen): +1 per round;
* latency grew (for two rounds in a row once out of slow start, so one stall of this process is
  not taken for a queue): the window goes to what the latency says the server holds at once (for each
  request, the requests in flight when it was sent x fastest / its latency: a queue of q in front
  of C slots makes a request take (C + q) / C times the fastest; the round's median of that, the
  gradient of Netflix's concurrency-limits), plus the tolerance;
* 429/503 in the round: the window drops to `backoff` x the requests in flight when it happened,
  and that number, less one, becomes a ceiling the window does not pass again for
  `probe_rounds` rounds, so a server that rejects what it cannot hold stops being overrun.

A server that queues (vLLM, llama.cpp, the fake server's `capacity`) shows its capacity as
latency growth; one that rejects (a provider's 429) as rejections. The limiter is pure
bookkeeping (no clock of its own: the caller times each request), so a test can drive it with
made-up latencies.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

AUTO = "auto"
"""The `concurrency` value that asks for an `AdaptiveLimit` instead of a fixed cap."""


@dataclass(frozen=True)
class LimitStats:
    """A snapshot of an adaptive limit, for a report or a test: where the window is and why."""

    window: int
    in_flight: int
    completed: int
    rounds: int
    overloads: int
    """Requests the server turned away (429/503) since the start."""
    increases: int
    decreases: int
    floor_s: float | None
    """The fastest latency seen: the server's latency with no queue."""
    ceiling: int | None
    """The most in flight a server's 429s allow, while it holds."""
    slow_start: bool


class AdaptiveLimit:
    """An in-flight cap that finds the endpoint's capacity: acquire before a request, `release` with its outcome."""

    def __init__(
        self,
        *,
        initial: int = 4,
        minimum: int = 1,
        maximum: int = 256,
        tolerance: float = 0.15,
        backoff: float = 0.8,
        probe_rounds: int = 200,
    ) -> None:
        if not 1 <= minimum <= initial <= maximum:
            raise ValueError(f"need 1 <= minimum <= initial <= maximum, got {minimum}, {initial}, {maximum}")
        if tolerance <= 0 or not 0 < backoff < 1:
            raise ValueError(f"tolerance must be > 0 and backoff in (0, 1), got {tolerance}, {backoff}")
        self.minimum, self.maximum = minimum, maximum
        self.tolerance, self.backoff, self.probe_rounds = tolerance, backoff, probe_rounds
        self._window = float(initial)
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._samples: list[tuple[float, int]] = []
        self._overloaded_at = 0
        self._round_left = initial
        self._floor: float | None = None
        self._ceiling: int | None = None
        self._since_ceiling = 0
        self._slow_start = True
        self._grew = False
        self.completed = self.rounds = self.overloads = self.increases = self.decreases = 0

    @property
    def window(self) -> int:
        """Requests allowed in flight now."""
        return max(self.minimum, int(self._window))

    def stats(self) -> LimitStats:
        """Where the limit stands (a frozen snapshot)."""
        return LimitStats(
            self.window, self.in_flight, self.completed, self.rounds, self.overloads,
            self.increases, self.decreases, self._floor, self._ceiling, self._slow_start,
        )

    async def acquire(self) -> int:
        """Wait until the window has room for one more request; returns the requests in flight with it."""
        while self.in_flight >= self.window:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                self._wake()  # pass a wake-up this waiter took on to the next one
                raise
        self.in_flight += 1
        return self.in_flight

    def release(self, latency_s: float | None, *, overloaded: bool = False, width: int | None = None) -> None:
        """Give the slot back with what the request showed: its latency (None: it failed otherwise) or an overload.

        `width` is what `acquire` returned (the requests in flight when this one was sent).
        """
        self.in_flight -= 1
        self.completed += 1
        if overloaded:
            self.overloads += 1
            sent_with = width or self.in_flight + 1  # the fewest in flight that were still too many
            self._overloaded_at = min(self._overloaded_at or sent_with, sent_with)
        elif latency_s is not None and latency_s > 0:
            self._samples.append((latency_s, width or self.in_flight + 1))
        self._round_left -= 1
        if self._round_left <= 0:
            self._end_round()
        self._wake()

    def _end_round(self) -> None:
        self.rounds += 1
        before = self._window
        grew = False
        if self._overloaded_at:
            found = max(self.minimum, self._overloaded_at - 1)
            self._ceiling = found if self._ceiling is None else min(self._ceiling, found)
            self._since_ceiling = 0
            self._window = max(float(self.minimum), min(self._window, self._overloaded_at * self.backoff))
            self._slow_start = False
        elif self._samples:
            fastest = min(latency for latency, _ in self._samples)
            floor = self._floor = fastest if self._floor is None else min(self._floor, fastest)
            # A low quantile, not the median: a queue at the server delays every request of the
            # round, a stall of this process (a busy core, a GC pause) only some of them.
            ratio = _quantile([latency for latency, _ in self._samples], 0.25) / floor
            grew = ratio > 1 + 2 * self.tolerance
            if ratio <= 1 + self.tolerance:
                self._window = self._window * 2 if self._slow_start else self._window + 1
            elif grew and (self._grew or self._slow_start):  # out of slow start: two rounds in a row, not a stall
                held = _quantile([width * floor / latency for latency, width in self._samples], 0.75)
                self._window = max(float(self.minimum), min(self._window, held * (1 + self.tolerance)))
                self._slow_start = False
        if self._ceiling is not None:
            self._since_ceiling += 1
            if self._since_ceiling > self.probe_rounds:
                self._ceiling = None  # probe again: the server may have grown
            else:
                self._window = min(self._window, float(self._ceiling))
        self._window = min(float(self.maximum), max(float(self.minimum), self._window))
        if int(self._window) > int(before):
            self.increases += 1
        elif int(self._window) < int(before):
            self.decreases += 1
        self._grew = bool(self._samples) and not self._overloaded_at and grew
        self._samples = []
        self._overloaded_at = 0
        self._round_left = self.window

    def _wake(self) -> None:
        room = self.window - self.in_flight
        while room > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class FixedLimit:
    """A fixed in-flight cap with `AdaptiveLimit`'s interface (`concurrency=N` instead of `auto`)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"concurrency must be at least 1, got {size}")
        self.size = size
        self.in_flight = 0
        self.completed = 0
        self.overloads = 0
        self._slots = asyncio.Semaphore(size)

    @property
    def window(self) -> int:
        """Requests allowed in flight: always `size`."""
        return self.size

    def stats(self) -> LimitStats:
        """The same snapshot an adaptive limit gives, with a window that never moves."""
        return LimitStats(self.size, self.in_flight, self.completed, 0, self.overloads, 0, 0, None, None, False)

    async def acquire(self) -> int:
        """Wait for one of the `size` slots; returns the requests in flight with this one."""
        await self._slots.acquire()
        self.in_flight += 1
        return self.in_flight

    def release(self, latency_s: float | None, *, overloaded: bool = False, width: int | None = None) -> None:
        """Give the slot back (the outcome is only counted)."""
        self.in_flight -= 1
        self.completed += 1
        self.overloads += int(overloaded)
        self._slots.release()


Limit = AdaptiveLimit | FixedLimit
"""What an endpoint's requests pass through: found by itself (`auto`) or fixed."""


def make_limit(concurrency: int | str) -> Limit:
    """The limit `concurrency` asks for: `"auto"` (or 0) finds the capacity, a number fixes it."""
    if concurrency == AUTO or concurrency == 0:
        return AdaptiveLimit()
    if isinstance(concurrency, str):
        if not concurrency.strip().isdigit():
            raise ValueError(f"concurrency must be a positive number or 'auto', got {concurrency!r}")
        concurrency = int(concurrency)
    return FixedLimit(concurrency)


def parse_concurrency(value: int | str | None) -> int | str | None:
    """`--concurrency` as a user types it: a positive number or `auto` (None stays None: the default)."""
    if value is None or value == AUTO:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return AUTO
        if not text.lstrip("-").isdigit():
            raise ValueError(f"concurrency must be a positive number or 'auto', got {value!r}")
        value = int(text)
    if value < 1:
        raise ValueError(f"concurrency must be greater than or equal to 1 (or 'auto'), got {value}")
    return value
