"""The response cache and the politeness helpers (rate limit, retry timing)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from callforge.core import DataError, Message, ToolCall, ToolSpec
from callforge.llm.backend import Completion, Options
from callforge.llm.cache import CachedBackend, ResponseCache, request_key
from callforge.llm.limits import RateLimiter, RetryPolicy, retry_after_seconds
from callforge.llm.scripted import FunctionBackend, Request, ScriptedBackend

USER = [Message(role="user", content="hi")]
TOOL = ToolSpec(name="f", parameters={"type": "object", "properties": {"a": {"type": "integer"}}})


def test_cache_answers_a_repeat_without_asking_the_backend(tmp_path: Path) -> None:
    inner = ScriptedBackend([ToolCall(name="f", arguments={"a": 1})])
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))

    async def twice() -> tuple[Completion, Completion]:
        return await backend.complete(USER, [TOOL]), await backend.complete(USER, [TOOL])

    first, second = asyncio.run(twice())
    assert not first.cached and second.cached
    assert second.tool_calls == first.tool_calls
    assert len(inner.requests) == 1
    inner.assert_done()


def test_cache_survives_a_new_process_and_keys_on_every_option(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    asyncio.run(CachedBackend(ScriptedBackend(["one"]), ResponseCache(path)).complete(USER, temperature=0))
    # A fresh cache object on the same file: a hit, zero requests to the new (empty) script.
    replay = CachedBackend(ScriptedBackend([]), ResponseCache(path))
    assert asyncio.run(replay.complete(USER, temperature=0)).text == "one"
    # A different option, sample number, tool list or message is a miss.
    for options, tools, messages in [
        ({"temperature": 0.5}, None, USER),
        ({"temperature": 0, "sample": 1}, None, USER),
        ({"temperature": 0}, [TOOL], USER),
        ({"temperature": 0}, None, [Message(role="user", content="hi!")]),
    ]:
        fresh = ScriptedBackend(["new"])
        reply = asyncio.run(CachedBackend(fresh, ResponseCache(path)).complete(messages, tools, **options))
        assert reply.text == "new" and not reply.cached
    assert len(ResponseCache(path)) == 5


def test_cache_key_is_canonical() -> None:
    a = request_key("m", USER, [TOOL], Options(temperature=0.0, max_tokens=5))
    b = request_key("m", USER, [TOOL], Options(max_tokens=5, temperature=0.0))
    c = request_key("other", USER, [TOOL], Options(max_tokens=5, temperature=0.0))
    assert a == b and a[0] != c[0]


def test_concurrent_identical_requests_are_sent_once(tmp_path: Path) -> None:
    calls = 0

    async def slow(request: Request) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "done"

    backend = CachedBackend(FunctionBackend(slow), ResponseCache(tmp_path / "c.sqlite"))

    async def many() -> list[Completion]:
        return await asyncio.gather(*(backend.complete(USER) for _ in range(8)))

    replies = asyncio.run(many())
    assert calls == 1
    assert [r.text for r in replies] == ["done"] * 8
    assert sum(r.cached for r in replies) == 7


def test_a_failed_request_is_not_cached(tmp_path: Path) -> None:
    from callforge.llm.backend import BackendError

    cache = ResponseCache(tmp_path / "c.sqlite")
    with pytest.raises(BackendError):
        asyncio.run(CachedBackend(ScriptedBackend([BackendError("down")]), cache).complete(USER))
    assert len(cache) == 0


def test_a_corrupt_cache_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match=r"c\.sqlite.*delete the file"):
        ResponseCache(path)


def test_cache_uses_wal(tmp_path: Path) -> None:
    ResponseCache(tmp_path / "c.sqlite")
    mode = sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_retry_after_parsing() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (retry_after_seconds({"retry-after": future}) or 0) <= 31


def test_retry_policy_prefers_the_server_and_caps_it() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60)
    assert policy.delay(0, retry_after=2.5) == 2.5
    assert policy.delay(0, retry_after=3600) == 60
    for attempt in range(10):
        wait = policy.delay(attempt)
        expected = min(8.0, 2.0**attempt)
        assert expected / 2 <= wait <= expected


def test_rate_limiter_spaces_requests() -> None:
    limiter = RateLimiter(rpm=600)  # one every 0.1 s

    async def five() -> float:
        start = time.monotonic()
        for _ in range(5):
            await limiter.acquire()
        return time.monotonic() - start

    assert asyncio.run(five()) >= 0.39
    with pytest.raises(ValueError):
        RateLimiter(rpm=0)
