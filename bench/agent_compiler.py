"""Wall time of the `compiler` strategy (LLMCompiler) next to `direct` on a request of K independent calls.

    python bench/agent_compiler.py [--latency 0.2] [--tool-latency 0.2] [--k 2,4,8] [--repeat 3]

The model is callforge's fake OpenAI-compatible server (`callforge.llm.fake`, in this process, its
own `latency_s` per request: L) behind the real `openai:` backend, answering by a rule from the
request's shape:

* `direct`, a sequential agent: one `get_weather` call per request, for the next city not yet asked,
  then the answer once K results are in: K + 1 requests, K calls one after another.
* `compiler`: the planner request gets a plan of K independent tasks, the joiner request the
  answer: 2 requests, K calls at once.

The tools are a small engine whose every call takes `--tool-latency` seconds (T, asyncio.sleep).
Expected: direct ~ (K + 1) L + K T, compiler ~ 2 L + T. Each cell is the median of `--repeat` runs
(interleaved, on one server and one warm connection per K); every run is checked (answered, K calls made, the requests expected).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from callforge.agent import Agent, AgentConfig
from callforge.core import Message, ToolCall, ToolSpec
from callforge.execute import Observation
from callforge.llm import Backend, close_backend, make_backend
from callforge.llm.fake import FakeOpenAIServer, Reply

CITIES = ["Oslo", "Bergen", "Paris", "Rome", "Lima", "Quito", "Tokyo", "Seoul", "Cairo", "Accra", "Perth", "Hanoi"]
WEATHER = ToolSpec(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


class SlowWeather:
    """An engine whose every call takes `latency` seconds (a remote API), without CPU."""

    name = "slow_weather"

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        self.calls += 1
        await asyncio.sleep(self.latency)
        return Observation(call=call, output={"city": call.arguments.get("city"), "celsius": 12}, engine=self.name)


def policy(k: int) -> Any:
    """The fake model's rule: plan, join, or act as a sequential agent, told apart by the request."""

    def reply(request: dict[str, Any]) -> Reply | str:
        messages = request["messages"]
        last = messages[-1].get("content") or ""
        if last.startswith("Plan the tool calls"):
            tasks = [{"id": f"t{i}", "tool": "get_weather", "arguments": {"city": c}} for i, c in enumerate(CITIES[:k])]
            return json.dumps({"tasks": tasks})
        if last.startswith("Answer the request from the tool results"):
            return f"The weather in {k} cities: 12 °C everywhere."
        done = sum(m["role"] == "tool" for m in messages)
        if done < k:
            return Reply.call("get_weather", city=CITIES[done])
        return f"The weather in {k} cities: 12 °C everywhere."

    return reply


async def once(backend: Backend, strategy: str, k: int, tool_latency: float) -> float:
    engine = SlowWeather(tool_latency)
    agent = Agent(backend, tools=[WEATHER], engine=engine, strategy=strategy, config=AgentConfig(max_steps=k + 2))
    started = time.perf_counter()
    result = await agent.run(f"What is the weather in {', '.join(CITIES[:k])}?")
    wall = time.perf_counter() - started
    requests = len(result.trace.requests)
    expected = 2 if strategy == "compiler" else k + 1
    if not result.answered or engine.calls != k or requests != expected:
        raise SystemExit(f"{strategy} K={k}: {result.stop} {result.detail!r}, {engine.calls} calls, {requests} requests")
    return wall


async def measure(k: int, latency: float, tool_latency: float, repeat: int) -> tuple[float, float]:
    """Median wall time of direct and of compiler, on one server and one warm connection."""
    async with FakeOpenAIServer(policy(k), latency_s=latency, record=False) as server:
        backend = make_backend("openai:fake-model", base_url=server.base_url, api_key="x")
        try:
            await backend.complete([Message(role="user", content="warm up")])  # the connection, off the clock
            walls: dict[str, list[float]] = {"direct": [], "compiler": []}
            for _ in range(repeat):  # interleaved, so load on the machine falls on both alike
                for strategy, runs in walls.items():
                    runs.append(await once(backend, strategy, k, tool_latency))
        finally:
            await close_backend(backend)
    return statistics.median(walls["direct"]), statistics.median(walls["compiler"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model request (L)")
    parser.add_argument("--tool-latency", type=float, default=0.2, help="seconds per tool call (T)")
    parser.add_argument("--k", default="2,4,8", help="numbers of independent calls")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(k) for k in args.k.split(",")]
    if max(sizes) > len(CITIES):
        raise SystemExit(f"--k at most {len(CITIES)}")
    print(f"L = {args.latency} s per request, T = {args.tool_latency} s per call, median of {args.repeat}")
    print(f"{'K':>3} {'direct s':>9} {'compiler s':>11} {'ratio':>6}   requests direct/compiler")
    for k in sizes:
        direct, compiled = await measure(k, args.latency, args.tool_latency, args.repeat)
        print(f"{k:>3} {direct:>9.3f} {compiled:>11.3f} {direct / compiled:>5.2f}x   {k + 1}/2")


if __name__ == "__main__":
    asyncio.run(main())
