"""The fake OpenAI server: reply shapes through the real SDK, policies, faults, capacity, CLI."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx2
import openai
import orjson
import pytest
from openai import AsyncOpenAI, OpenAI

from callforge.core import ToolCall
from callforge.llm.fake_server import (
    DefaultRule,
    Echo,
    FakeOpenAIServer,
    FakeServerError,
    Fault,
    Reply,
    Scripted,
    minimal_value,
)
from callforge.llm.wire import native_tool_calls

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
USER = [{"role": "user", "content": "What is the weather in Paris?"}]


def client(server: FakeOpenAIServer, **kwargs: Any) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="x", **{"max_retries": 0, **kwargs})


def post(
    server: FakeOpenAIServer, body: dict[str, Any] | None = None, timeout: float = 5.0
) -> httpx2.Response:
    payload = body if body is not None else {"model": "m", "messages": USER}
    return httpx2.post(f"{server.base_url}/chat/completions", json=payload, timeout=timeout)


# -- reply shapes through the SDK ------------------------------------------------------------


def test_text_reply_has_the_openai_shape() -> None:
    with FakeOpenAIServer(Echo()) as server:
        reply = client(server).chat.completions.create(model="my-model", messages=USER)
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "my-model"
    assert isinstance(reply.created, int)
    [choice] = reply.choices
    assert (choice.message.role, choice.message.content) == ("assistant", USER[0]["content"])
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert reply.usage is not None
    prompt = len(USER[0]["content"]) // 4
    assert reply.usage.prompt_tokens == prompt
    assert reply.usage.completion_tokens == prompt  # the echo is as long as the prompt
    assert reply.usage.total_tokens == 2 * prompt


def test_tool_call_reply_parses_in_the_sdk_and_in_callforge() -> None:
    script = [
        Reply.calls(("get_weather", {"city": "Paris"}), ToolCall(name="get_time", arguments={}, id="c9"))
    ]
    with FakeOpenAIServer(script) as server:
        reply = client(server).chat.completions.create(model="m", messages=USER, tools=[WEATHER])
        raw = server.requests[0].response
    message = reply.choices[0].message
    assert reply.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert message.tool_calls is not None
    first, second = message.tool_calls
    assert first.type == "function"
    assert (first.function.name, json.loads(first.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert (second.id, second.function.name, second.function.arguments) == ("c9", "get_time", "{}")
    assert raw is not None
    calls, verdict = native_tool_calls(raw["choices"][0]["message"]["tool_calls"])
    assert verdict.ok
    assert [c.name for c in calls] == ["get_weather", "get_time"]


def test_models_health_and_unknown_paths() -> None:
    with FakeOpenAIServer(model="tiny") as server:
        assert [m.id for m in client(server).models.list()] == ["tiny"]
        assert httpx2.get(f"{server.url}/health").json() == {"status": "ok"}
        missing = httpx2.post(f"{server.url}/v2/chat/completions", json={"messages": []})
        assert missing.status_code == 404
        assert "callforge fake server" in missing.json()["error"]["message"]
        assert [(r.index, r.path, r.status) for r in server.requests] == [(-1, "/v2/chat/completions", 404)]
        assert server.stats.received == 0


def test_streaming_and_bad_bodies_are_refused_clearly() -> None:
    with FakeOpenAIServer() as server:
        with pytest.raises(openai.BadRequestError, match="streaming is not supported"):
            client(server).chat.completions.create(model="m", messages=USER, stream=True)
        bad = httpx2.post(f"{server.base_url}/chat/completions", content=b"{not json")
        assert bad.status_code == 400
        assert "messages" in bad.json()["error"]["message"]


# -- policies --------------------------------------------------------------------------------


def test_script_is_consumed_in_order_and_fails_loudly_when_exhausted() -> None:
    policy = Scripted(["one", Reply.call("get_weather", city="Oslo"), "three"])
    with FakeOpenAIServer(policy) as server:
        sdk = client(server)
        first, second, third = (sdk.chat.completions.create(model="m", messages=USER) for _ in range(3))
        assert first.choices[0].message.content == "one"
        calls = second.choices[0].message.tool_calls
        assert calls is not None
        assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}
        assert third.choices[0].message.content == "three"
        assert policy.remaining == 0
        with pytest.raises(openai.InternalServerError, match=r"callforge fake server: script exhausted"):
            sdk.chat.completions.create(model="m", messages=USER)
        last = server.requests[-1]
        assert (last.index, last.status) == (3, 500)
        assert last.error is not None and "exhausted" in last.error
        assert server.errors == [last.error]


def test_rule_and_plain_callables_choose_by_request() -> None:
    def rule(request: dict[str, Any]) -> str:
        return f"{len(request['messages'])} messages"

    with FakeOpenAIServer(rule) as server:
        reply = client(server).chat.completions.create(model="m", messages=USER * 3)
    assert reply.choices[0].message.content == "3 messages"


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """A small JSON Schema check covering what minimal_value must satisfy."""
    if "enum" in schema:
        return value in schema["enum"]
    kind = schema.get("type", "object")
    if kind == "string":
        return isinstance(value, str) and len(value) >= schema.get("minLength", 0)
    if kind in ("integer", "number"):
        ok = isinstance(value, int if kind == "integer" else float) and not isinstance(value, bool)
        low, high = schema.get("minimum", float("-inf")), schema.get("maximum", float("inf"))
        return ok and low <= value <= high and value > schema.get("exclusiveMinimum", float("-inf"))
    if kind == "boolean":
        return value is True
    if kind == "array":
        items = schema.get("items", {})
        return (
            isinstance(value, list)
            and len(value) >= schema.get("minItems", 0)
            and all(conforms(v, items) for v in value)
        )
    props = schema.get("properties", {})
    return isinstance(value, dict) and all(
        k in value and conforms(value[k], props.get(k, {})) for k in schema.get("required", [])
    )


RICH = {
    "type": "object",
    "properties": {
        "s": {"type": "string"},
        "i": {"type": "integer"},
        "n": {"type": "number"},
        "b": {"type": "boolean"},
        "a": {"type": "array", "items": {"type": "string"}},
        "o": {
            "type": "object",
            "properties": {"deep": {"type": "integer", "minimum": 5}},
            "required": ["deep"],
        },
        "e": {"type": "string", "enum": ["low", "high"]},
        "bounded": {"type": "integer", "minimum": 10, "maximum": 20},
        "neg": {"type": "number", "maximum": -3},
        "pos": {"type": "integer", "exclusiveMinimum": 7},
        "longer": {"type": "string", "minLength": 3},
        "few": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
        "optional": {"type": "string"},
    },
    "required": ["s", "i", "n", "b", "a", "o", "e", "bounded", "neg", "pos", "longer", "few"],
}


def test_minimal_value_fills_required_properties_with_valid_values() -> None:
    value = minimal_value(RICH)
    assert value == {
        "s": "x",
        "i": 1,
        "n": 1.0,
        "b": True,
        "a": [],
        "o": {"deep": 5},
        "e": "low",
        "bounded": 10,
        "neg": -3.0,
        "pos": 8,
        "longer": "xxx",
        "few": [1, 1],
    }
    assert conforms(value, RICH)
    assert minimal_value({"anyOf": [{"type": "integer"}, {"type": "string"}]}) == 1
    assert minimal_value({"type": ["null", "boolean"]}) is True
    assert minimal_value({"const": "fixed"}) == "fixed"


def test_default_rule_calls_the_first_tool_with_schema_valid_arguments() -> None:
    rich_tool = {"type": "function", "function": {"name": "rich", "parameters": RICH}}
    with FakeOpenAIServer() as server:
        sdk = client(server)
        reply = sdk.chat.completions.create(model="m", messages=USER, tools=[rich_tool, WEATHER])
        calls = reply.choices[0].message.tool_calls
        assert calls is not None and calls[0].function.name == "rich"
        assert conforms(json.loads(calls[0].function.arguments), RICH)
        chosen = sdk.chat.completions.create(
            model="m",
            messages=USER,
            tools=[rich_tool, WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        )
        picked = chosen.choices[0].message.tool_calls
        assert picked is not None and json.loads(picked[0].function.arguments) == {"city": "x"}
        text = sdk.chat.completions.create(model="m", messages=USER)
        assert (text.choices[0].message.content, text.choices[0].finish_reason) == ("ok", "stop")
        none = sdk.chat.completions.create(model="m", messages=USER, tools=[WEATHER], tool_choice="none")
        assert none.choices[0].message.content == "ok"
    assert isinstance(server.policy, DefaultRule)


# -- faults ----------------------------------------------------------------------------------


def test_429_carries_retry_after_headers_and_the_first_n_schedule() -> None:
    with FakeOpenAIServer(faults=[Fault("429", first=2, retry_after_s=2)]) as server:
        limited = [post(server) for _ in range(2)]
        assert post(server).status_code == 200
        records = server.requests
    for response in limited:
        assert response.status_code == 429
        assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("2", "2000")
        assert "callforge fake server: injected fault 429" in response.json()["error"]["message"]
    assert [(r.fault, r.status) for r in records] == [("429", 429), ("429", 429), (None, 200)]


def test_the_sdk_retry_waits_for_retry_after() -> None:
    with FakeOpenAIServer(["after the retry"], faults=["429@0,retry_after=0.3"]) as server:
        reply = client(server, max_retries=1).chat.completions.create(model="m", messages=USER)
        first, second = server.requests
    assert reply.choices[0].message.content == "after the retry"
    assert first.fault == "429" and first.finished_at is not None
    assert second.received_at - first.finished_at >= 0.29


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(status: int) -> None:
    with FakeOpenAIServer(faults=[Fault(str(status), at={1})]) as server:
        assert post(server).status_code == 200
        failed = post(server)
        assert post(server).status_code == 200
        stats = server.stats
    assert failed.status_code == status
    assert "retry-after" not in failed.headers
    assert stats.by_status == {200: 2, status: 1}
    assert stats.faults == 1


def test_malformed_body_is_truncated_json() -> None:
    with FakeOpenAIServer(faults=["malformed@0"]) as server:
        response = post(server)
    assert response.status_code == 200
    assert response.content.startswith(b'{"id":"chatcmpl-fake-0"')
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_bad_args_gives_a_call_whose_arguments_are_not_json() -> None:
    with FakeOpenAIServer(faults=["bad_args@0,1"]) as server:
        sdk = client(server)
        with_tools = sdk.chat.completions.create(model="m", messages=USER, tools=[WEATHER])
        text_only = sdk.chat.completions.create(model="m", messages=USER)
    for reply in (with_tools, text_only):
        calls = reply.choices[0].message.tool_calls
        assert calls is not None
        with pytest.raises(json.JSONDecodeError):
            json.loads(calls[0].function.arguments)
    raw_calls = [c.model_dump() for c in with_tools.choices[0].message.tool_calls or ()]
    _, verdict = native_tool_calls(raw_calls)
    assert verdict.code == "parse.bad_arguments"


def test_drop_closes_the_connection_without_a_response() -> None:
    with FakeOpenAIServer(faults=["drop@0,1"]) as server:
        with pytest.raises(httpx2.RemoteProtocolError):
            post(server)
        with pytest.raises(openai.APIConnectionError):
            client(server).chat.completions.create(model="m", messages=USER)
        assert post(server).status_code == 200
    assert [(r.fault, r.status) for r in server.requests] == [("drop", None), ("drop", None), (None, 200)]


def test_hang_hits_the_client_timeout_and_stopping_does_not_wait_for_it() -> None:
    server = FakeOpenAIServer(faults=["hang@0,1"]).start()
    try:
        with pytest.raises(httpx2.ReadTimeout):
            post(server, timeout=0.3)
        with pytest.raises(openai.APITimeoutError):
            client(server, timeout=0.3).chat.completions.create(model="m", messages=USER)
    except BaseException:
        server.stop()
        raise
    hung = server.requests[0]
    assert (hung.fault, hung.status) == ("hang", None)
    started = time.monotonic()
    server.stop(timeout_s=30.0)
    # waiting for the hung handler would take the whole 30 s join; the margin is for a busy machine
    assert time.monotonic() - started < 20.0


def test_hang_with_a_hang_time_closes_the_connection_after_it() -> None:
    with FakeOpenAIServer(faults=[Fault("hang", at={0}, hang_s=0.2)]) as server:
        started = time.monotonic()
        with pytest.raises(httpx2.RemoteProtocolError):
            post(server)
        assert time.monotonic() - started >= 0.19


def test_probability_faults_are_reproducible_by_seed() -> None:
    fault = Fault("500", probability=0.3, seed=7)
    hits = [i for i in range(1000) if fault.hits(i)]
    assert hits == [i for i in range(1000) if Fault("500", probability=0.3, seed=7).hits(i)]
    assert hits != [i for i in range(1000) if Fault("500", probability=0.3, seed=8).hits(i)]
    assert 200 < len(hits) < 400


def test_fault_specs_parse_and_bad_ones_say_why() -> None:
    assert Fault.parse("429@0,1") == Fault("429", at={0, 1})
    assert Fault.parse("500@first=2") == Fault("500", first=2)
    assert Fault.parse("drop@p=0.1,seed=7") == Fault("drop", probability=0.1, seed=7)
    assert Fault.parse("hang@3,hang=5,retry_after=2") == Fault("hang", at={3}, hang_s=5.0, retry_after_s=2.0)
    for bad in ("429", "teapot@1", "500@x", "500@every=3", "500@p=2"):
        with pytest.raises(FakeServerError, match="callforge fake server"):
            Fault.parse(bad)


def test_first_matching_fault_wins_and_faults_do_not_consume_the_script() -> None:
    faults = [Fault("503", at={0}), Fault("429", first=2)]
    with FakeOpenAIServer(["only reply"], faults=faults) as server:
        statuses = [post(server).status_code for _ in range(3)]
        assert server.policy.remaining == 0
    assert statuses == [503, 429, 200]


# -- capacity, keep-alive, binding -----------------------------------------------------------


def test_capacity_queues_requests_like_an_inference_server() -> None:
    async def six(server: FakeOpenAIServer) -> float:
        sdk = AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        started = time.monotonic()
        await asyncio.gather(*(sdk.chat.completions.create(model="m", messages=USER) for _ in range(6)))
        return time.monotonic() - started

    with FakeOpenAIServer(latency_s=0.2, capacity=2) as server:
        elapsed = asyncio.run(six(server))
        stats = server.stats
    assert elapsed >= 0.55
    assert (stats.received, stats.served, stats.max_in_flight) == (6, 6, 2)
    assert stats.max_waiting >= 1
    assert (stats.in_flight, stats.waiting) == (0, 0)


def test_keep_alive_serves_sequential_requests_on_one_connection() -> None:
    with FakeOpenAIServer(Echo()) as server, httpx2.Client(timeout=5) as http:
        for n in range(5):
            body = {"model": "m", "messages": [{"role": "user", "content": f"n{n}"}]}
            reply = http.post(f"{server.base_url}/chat/completions", json=body)
            assert reply.json()["choices"][0]["message"]["content"] == f"n{n}"
        assert server.stats.connections == 1


def test_binds_127_0_0_1_only() -> None:
    with FakeOpenAIServer() as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.2", server.port), timeout=1).close()
        try:
            other = socket.gethostbyname(socket.gethostname())
        except OSError:
            other = "127.0.0.1"
        if not other.startswith("127."):
            with pytest.raises(OSError):
                socket.create_connection((other, server.port), timeout=1).close()


def test_async_variant_runs_in_the_current_loop_and_stops_with_hung_requests() -> None:
    async def main() -> tuple[str | None, float]:
        async with FakeOpenAIServer(["async ok"], faults=["hang@1"]) as server:
            sdk = AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
            reply = await sdk.chat.completions.create(model="m", messages=USER)
            hung = asyncio.create_task(sdk.chat.completions.create(model="m", messages=USER))
            while server.stats.received < 2:
                await asyncio.sleep(0.01)
            started = time.monotonic()
        stopped = time.monotonic() - started
        with pytest.raises(openai.APIConnectionError):
            await hung
        return reply.choices[0].message.content, stopped

    text, stopped = asyncio.run(main())
    assert text == "async ok"
    assert stopped < 3.0


def test_a_server_starts_once() -> None:
    server = FakeOpenAIServer()
    with server, pytest.raises(FakeServerError, match="starts once"):
        server.start()


# -- CLI -------------------------------------------------------------------------------------


def test_cli_prints_the_url_serves_and_exits_on_sigterm() -> None:
    command = [sys.executable, "-m", "callforge.llm.fake_server", "--port", "0", "--latency", "0.01"]
    command += ["--capacity", "4", "--fault", "429@0,retry_after=3"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        limited = httpx2.post(f"{url}/chat/completions", json={"model": "m", "messages": USER}, timeout=5)
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
        reply = OpenAI(base_url=url, api_key="x", max_retries=0).chat.completions.create(
            model="m",
            messages=USER,
            tools=[WEATHER],
        )
        calls = reply.choices[0].message.tool_calls
        assert calls is not None and calls[0].function.name == "get_weather"
        root = url.removesuffix("/v1")
        assert httpx2.get(f"{root}/_fake/stats").json()["received"] == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert proc.stderr is not None
        stats = json.loads(proc.stderr.read().strip().splitlines()[-1])
        assert stats["by_status"] == {"200": 1, "429": 1}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_rejects_a_bad_fault_spec() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "callforge.llm.fake_server", "--fault", "teapot@1"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert "unknown fault kind 'teapot'" in result.stderr
