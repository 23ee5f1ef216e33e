"""Adaptive concurrency: an endpoint's capacity found by itself, AIMD-style, per endpoint and over replicas.

The limiter is checked twice: on a simulated server (made-up latencies, exact), and on the fake
OpenAI server with capacity C, queueing (latency grows) or turning away (429) what it cannot hold.
Assertions are on counts (the window, the server's 429s and in-flight maximum), never on time.
"""

from __future__ import annotations

import asyncio

import pytest

from callforge.core import ConfigError, Message
from callforge.llm.adaptive import AdaptiveLimit, FixedLimit, make_limit, parse_concurrency
from callforge.llm.fake import FakeOpenAIServer
from callforge.llm.openai_compat import OpenAIBackend, base_urls


def simulate(limit: AdaptiveLimit, capacity: int, rounds: int, *, rejects: bool) -> list[int]:
    """Rounds of a server with `capacity` slots and latency 1.0 with no queue; the window after each round."""
    windows = []
    for _ in range(rounds):
        width = limit.window
        limit.in_flight += width  # what acquire() does, without a loop
        for n in range(width):
            over = n >= capacity
            if rejects:
                limit.release(None if over else 1.0, overloaded=over, width=n + 1)
            else:
                # a queue of (width - capacity) in front of `capacity` slots: every request waits for it
                limit.release(max(1.0, width / capacity), width=width)
        windows.append(limit.window)
    return windows


@pytest.mark.parametrize("capacity", [8, 32, 100])
def test_the_window_settles_near_a_queueing_servers_capacity(capacity: int) -> None:
    windows = simulate(AdaptiveLimit(), capacity, 80, rejects=False)
    assert all(capacity <= w <= capacity * 1.35 + 2 for w in windows[-20:]), windows


@pytest.mark.parametrize("capacity", [8, 32])
def test_429s_stop_once_the_ceiling_is_found(capacity: int) -> None:
    limit = AdaptiveLimit()
    windows = simulate(limit, capacity, 40, rejects=True)
    overloads = limit.overloads
    simulate(limit, capacity, 40, rejects=True)
    assert limit.overloads == overloads, "no 429 in the last 40 rounds"
    assert windows[-1] == capacity and limit.stats().ceiling == capacity


def test_the_ceiling_is_probed_again_later() -> None:
    limit = AdaptiveLimit(probe_rounds=5)
    simulate(limit, 8, 30, rejects=True)
    assert limit.stats().ceiling in (None, 8)
    assert limit.overloads > 8  # it tried above 8 more than once: the server may have grown


def test_fixed_and_parsed_values() -> None:
    assert isinstance(make_limit("auto"), AdaptiveLimit) and make_limit(12).window == 12
    assert isinstance(make_limit("3"), FixedLimit)
    assert parse_concurrency("AUTO") == "auto" and parse_concurrency("7") == 7 and parse_concurrency(None) is None
    for bad in ("0", "-2", "many"):
        with pytest.raises(ValueError):
            parse_concurrency(bad)
    with pytest.raises(ConfigError, match="positive number or 'auto'"):
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", concurrency="lots")


async def drive(backend: OpenAIBackend, n: int, width: int = 128) -> None:
    gate = asyncio.Semaphore(width)

    async def one() -> None:
        async with gate:
            await backend.complete([Message(role="user", content="hi")])

    await asyncio.gather(*(one() for _ in range(n)))


def test_auto_fills_a_queueing_endpoint_and_16_does_not() -> None:
    capacity = 24

    async def main() -> tuple[int, int, int]:
        async with FakeOpenAIServer(latency_s=0.25, capacity=capacity, record=False) as server:
            auto = OpenAIBackend("m", base_url=server.base_url)
            await drive(auto, 600)
            window = auto.endpoints[0].limit.window
            full = server.stats.max_in_flight
            await auto.aclose()
        async with FakeOpenAIServer(latency_s=0.25, capacity=capacity, record=False) as server:
            fixed = OpenAIBackend("m", base_url=server.base_url, concurrency=16)
            await drive(fixed, 100)
            await fixed.aclose()
            return window, full, server.stats.max_in_flight

    window, full, fixed_full = asyncio.run(main())
    assert full == capacity and fixed_full == 16
    assert capacity * 0.75 <= window <= capacity * 2, window


def test_auto_stops_the_429s_of_an_endpoint_that_turns_away_what_it_cannot_hold() -> None:
    capacity = 12

    async def main() -> tuple[int, int, int]:
        async with FakeOpenAIServer(latency_s=0.25, capacity=capacity, record=False, overflow="429") as server:
            backend = OpenAIBackend("m", base_url=server.base_url)
            await drive(backend, 300)
            early = server.stats.overflowed
            await drive(backend, 300)
            window = backend.endpoints[0].limit.window
            await backend.aclose()
            return early, server.stats.overflowed, window

    early, total, window = asyncio.run(main())
    assert early > 0, "the slow start must have found the limit"
    assert total == early, "no 429 once the ceiling is known"
    assert capacity * 0.75 <= window <= capacity


def test_replicas_each_get_their_own_limit_and_share_the_load() -> None:
    async def main() -> tuple[list[int], list[int], list[int]]:
        async with (
            FakeOpenAIServer(latency_s=0.2, capacity=4, record=False) as small,
            FakeOpenAIServer(latency_s=0.2, capacity=16, record=False) as big,
        ):
            backend = OpenAIBackend("m", base_url=f"{small.base_url}, {big.base_url}")
            await drive(backend, 400)
            windows = [e.limit.window for e in backend.endpoints]
            await backend.aclose()
            return windows, [small.stats.served, big.stats.served], [small.stats.max_in_flight, big.stats.max_in_flight]

    windows, served, most = asyncio.run(main())
    assert most == [4, 16]
    assert windows[0] < windows[1] and served[0] < served[1] and sum(served) == 400


def test_base_urls_take_lists_and_commas() -> None:
    assert base_urls("http://a/v1, http://b/v1") == ["http://a/v1", "http://b/v1"]
    assert base_urls(["http://a/v1", "http://b/v1,http://c/v1"]) == ["http://a/v1", "http://b/v1", "http://c/v1"]
    backend = OpenAIBackend("m", base_url="http://u:secret1@a:1/v1,http://b:2/v1", concurrency=5, balance="round_robin")
    assert backend.concurrency == 10 and "secret1" not in backend.shown_url
    assert [backend._pick().base_url for _ in range(4)] == ["http://b:2/v1", "http://u:secret1@a:1/v1"] * 2
