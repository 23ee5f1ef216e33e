"""The OpenAI-compatible backend end to end against the fake server: replies, tool modes, every
injected fault retried or reported, limits, the cache, and live evaluation that loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from callforge.core import ConfigError, Message, ToolCall, ToolSpec
from callforge.evaluate import Style, evaluate_model
from callforge.llm.backend import BackendError, Completion
from callforge.llm.cache import CachedBackend, ResponseCache
from callforge.llm.fake import FakeOpenAIServer, Reply
from callforge.llm.limits import RetryPolicy
from callforge.llm.openai_compat import OpenAIBackend
from callforge.llm.registry import make_backend

from .conftest import stream

USER = [Message(role="user", content="weather in Paris?")]
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
)
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


def backend(server: FakeOpenAIServer, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("retry", FAST)
    return OpenAIBackend("m", base_url=server.base_url, api_key="k", **kwargs)


def ask(b: OpenAIBackend, tools: list[ToolSpec] | None = None, **options: Any) -> Completion:
    async def go() -> Completion:
        async with b:
            return await b.complete(USER, tools, **options)

    return asyncio.run(go())


def test_text_reply_with_usage_and_request_body() -> None:
    with FakeOpenAIServer(["It is sunny."]) as server:
        reply = ask(backend(server), temperature=0, max_tokens=20, seed=3)
        body = server.requests[0].body
    assert reply.text == "It is sunny." and reply.tool_calls == ()
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.finish_reason == "stop" and reply.model == "openai:m" and reply.parse.ok
    assert body is not None
    assert body["model"] == "m" and body["temperature"] == 0 and body["max_tokens"] == 20 and body["seed"] == 3
    assert "tools" not in body


def test_native_tool_calls_are_read_and_tools_sent() -> None:
    reply_calls = Reply.calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"}))
    with FakeOpenAIServer([reply_calls]) as server:
        reply = ask(backend(server), [WEATHER], tool_choice="required")
        body = server.requests[0].body
    assert [c.arguments for c in reply.tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert reply.finish_reason == "tool_calls" and reply.parse.ok
    assert body is not None and body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tool_choice"] == "required"


def test_calls_left_in_text_by_a_server_without_a_tool_parser_are_parsed() -> None:
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>'
    with FakeOpenAIServer([text]) as server:
        reply = ask(backend(server), [WEATHER])
    assert reply.tool_calls == (ToolCall(name="get_weather", arguments={"city": "Oslo"}),)
    assert reply.text == "" and reply.parse.ok


def test_prompt_tool_mode_renders_tools_and_sends_none() -> None:
    text = '<tool_call>{"name": "get_weather", "arguments": {"city": "Lima"}}</tool_call>'
    with FakeOpenAIServer([text]) as server:
        reply = ask(backend(server, tool_mode="prompt"), [WEATHER])
        body = server.requests[0].body
    assert body is not None and "tools" not in body
    assert body["messages"][0]["role"] == "system" and "get_weather" in body["messages"][0]["content"]
    assert reply.tool_calls[0].arguments == {"city": "Lima"}


def test_429_is_retried_after_the_retry_after_it_names() -> None:
    with FakeOpenAIServer(["ok"], faults=["429@0,retry_after=0.3"]) as server:
        b = backend(server)
        reply = ask(b)
        first, second = server.requests
    assert reply.text == "ok" and b.retries == 1
    assert first.status == 429 and second.status == 200
    assert first.finished_at is not None
    assert second.received_at - first.finished_at >= 0.25


@pytest.mark.parametrize("fault", ["500@0", "503@0,1", "drop@0", "malformed@0", "hang@0,hang=5"])
def test_transient_faults_are_retried_until_an_answer(fault: str) -> None:
    # A rule, not a script: a malformed reply uses up the answer it garbles.
    with FakeOpenAIServer(lambda _: Reply.call("get_weather", city="Paris"), faults=[fault]) as server:
        b = backend(server, timeout=0.5)
        reply = ask(b, [WEATHER])
        statuses = [r.status for r in server.requests]
    assert reply.tool_calls[0].arguments == {"city": "Paris"}
    assert statuses[-1] == 200 and len(statuses) == b.retries + 1 >= 2


def test_invalid_tool_call_arguments_are_reported_not_raised() -> None:
    with FakeOpenAIServer([Reply.call("get_weather", city="Paris")], faults=["bad_args@0"]) as server:
        reply = ask(backend(server), [WEATHER])
        assert len(server.requests) == 1
    assert not reply.parse.ok and reply.parse.code == "parse.bad_arguments"


def test_giving_up_is_a_retryable_backend_error_that_names_the_endpoint() -> None:
    with FakeOpenAIServer(["never"], faults=["500@first=10"]) as server:
        b = backend(server)
        with pytest.raises(BackendError) as caught:
            ask(b)
        assert len(server.requests) == FAST.max_attempts
    assert caught.value.retryable
    assert server.base_url in str(caught.value) and "HTTP 500" in str(caught.value)


def test_a_dead_endpoint_is_a_retryable_error_with_a_hint() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    with pytest.raises(BackendError) as caught:
        ask(OpenAIBackend("m", base_url=url, retry=FAST))
    assert caught.value.retryable and "connection failed" in str(caught.value)
    assert "server is up" in str(caught.value)


def test_client_errors_are_not_retried_and_carry_a_fix() -> None:
    def refuse(request: dict[str, Any]) -> str:
        raise AssertionError("unreachable")

    with FakeOpenAIServer(refuse) as server:
        # A path the server does not have: 404, reported at once with the --base-url hint.
        b = OpenAIBackend("m", base_url=server.url + "/nope", api_key="k", retry=FAST)
        with pytest.raises(BackendError) as caught:
            ask(b)
        assert len([r for r in server.requests if r.index == -1]) == 1
    assert not caught.value.retryable and "HTTP 404" in str(caught.value) and "`base_url`" in str(caught.value)


def test_missing_key_for_openai_itself_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert OpenAIBackend("x").base_url == "http://127.0.0.1:9/v1"  # local servers need no key


def test_concurrency_cap_holds_and_all_requests_finish() -> None:
    with FakeOpenAIServer(latency_s=0.05) as server:
        b = backend(server, concurrency=3)

        async def many() -> list[Completion]:
            async with b:
                return await asyncio.gather(*(b.complete(USER, [WEATHER]) for _ in range(12)))

        replies = asyncio.run(many())
        stats = server.stats
    assert len(replies) == 12 and all(r.tool_calls for r in replies)
    assert stats.max_in_flight == 3 and stats.received == 12


def test_rpm_spaces_requests() -> None:
    with FakeOpenAIServer() as server:
        b = backend(server, rpm=600)  # one every 0.1 s

        async def three() -> None:
            async with b:
                await b.complete(USER)  # the first pays for the client's start-up
                await asyncio.gather(*(b.complete(USER) for _ in range(3)))

        asyncio.run(three())
        arrivals = sorted(r.received_at for r in server.requests)[1:]
    assert arrivals[2] - arrivals[0] >= 0.18


def test_cached_rerun_sends_zero_requests_even_on_another_port_and_keys_on_tool_mode(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"

    def run(server: FakeOpenAIServer, tool_mode: str = "native") -> Completion:
        cached = make_backend(
            "openai:m", base_url=server.base_url, api_key="k", tool_mode=tool_mode, cache=path
        )
        assert isinstance(cached, CachedBackend)

        async def go() -> Completion:
            reply = await cached.complete(USER, [WEATHER], temperature=0)
            await cached.aclose()
            return reply

        return asyncio.run(go())

    with FakeOpenAIServer([Reply.call("get_weather", city="Paris")]) as server:
        assert not run(server).cached
    with FakeOpenAIServer([]) as replay:  # an empty script: any request is a 500
        again = run(replay)
        assert replay.stats.received == 0
    assert again.cached and again.tool_calls[0].arguments == {"city": "Paris"}
    # The other tool mode is another prompt, so another answer.
    with FakeOpenAIServer(["from prompt mode"]) as other:
        assert run(other, "prompt").text == "from prompt mode"
        assert other.stats.received == 1
    assert len(ResponseCache(path)) == 2


# -- live evaluation over HTTP -------------------------------------------------------------------


def test_live_eval_through_faults_loses_nothing(bfcl_dir: Path, tmp_path: Path) -> None:
    faults = ["429@1,retry_after=0.05", "500@4", "drop@7", "malformed@9", "bad_args@11", "hang@13,hang=2"]
    with FakeOpenAIServer(latency_s=0.01, capacity=4, faults=faults) as server:
        b = backend(server, concurrency=4, timeout=0.5)
        report = evaluate_model(
            model=b,
            data=bfcl_dir / "data",
            out=tmp_path,
            style=Style.FC,
            categories=["simple_python", "multiple"],
            limit=10,
        )
    assert report.sent == 20 and report.failed == []
    ids = [row["id"] for row in stream(tmp_path, "results")]
    assert len(ids) == 20 and len(set(ids)) == 20
    rows = {row["id"]: row for row in stream(tmp_path, "results")}
    assert sum(1 for r in rows.values() if r["parse"] == "parse.bad_arguments") == 1
    assert not (tmp_path / "errors.jsonl").exists()


def _result_ids(out: Path) -> list[str]:
    return [row["id"] for row in stream(out, "results")]


def test_sigkilled_cli_run_resumes_with_every_id_exactly_once(bfcl_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "callforge", "eval", "--data", str(bfcl_dir / "data"),
        "--categories", "simple_python", "--limit", "60", "--style", "fc", "--out", str(out),
        "--concurrency", "2", "--api-key", "k",
    ]  # fmt: skip
    with FakeOpenAIServer(latency_s=0.05, capacity=2) as server:
        cmd = [*command, "--model", "openai:m", "--base-url", server.base_url]
        env = {**os.environ, "NO_COLOR": "1"}
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_result_ids(out) if out.exists() else []) < 15:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done_before = len(set(_result_ids(out)))
        assert 15 <= done_before < 60
        sent_before = server.stats.received
        finished = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert finished.returncode == 0, finished.stderr
        sent_after = server.stats.received - sent_before
    ids = _result_ids(out)
    assert len(ids) == 60 and Counter(ids).most_common(1)[0][1] == 1
    # The resumed run asked only for what was missing (plus, at most, the requests the kill cut off).
    assert 60 - done_before <= sent_after <= 60 - done_before + 2
    assert "resumed" in finished.stdout or str(done_before) in finished.stdout
    scores = json.loads((out / "scores" / "bfcl" / "scores.json").read_text())
    assert scores
