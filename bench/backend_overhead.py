"""How much of an endpoint's capacity callforge's openai backend can use, and what it costs in CPU.

    python bench/backend_overhead.py [--latency 0.25] [--capacity 64] [--requests 2000]

A fake OpenAI-compatible server runs in its own process with a fixed latency L per request and
a capacity C (requests served at once), so the best any client can do is C/L requests/s. Three
clients send the same requests with C in flight:

1. callforge: `OpenAIBackend.complete(...)` (openai 3.x SDK + callforge's limits, retries and
   parsing into a Completion) — the figure the issue asks for: throughput / (C/L), target >= 0.9.
2. the SDK alone: `AsyncOpenAI.chat.completions.create` with its pydantic response models.
3. raw httpx2 + orjson: the leanest possible client, the floor for CPU per request.

CPU ms per request is this process's CPU time (user + system) divided by the requests sent, so
the server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant that calls tools."},
    {"role": "user", "content": "What's the weather in Paris and in Rome, in celsius?"},
]
TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
}


def start_server(latency: float, capacity: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "callforge.llm.fake_server", "--latency", str(latency), "--capacity", str(capacity)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1"):
        proc.kill()
        raise SystemExit(f"fake server did not start (printed {url!r})")
    return proc, url


async def drive(
    send: Callable[[], Awaitable[object]], requests: int, in_flight: int
) -> tuple[float, float]:
    """Keep `in_flight` requests outstanding until `requests` are done; wall and CPU seconds.

    Only this loop is timed, so imports and the warm-up request do not count."""
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await send()

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return time.perf_counter() - start, time.process_time() - cpu


async def run_callforge(url: str, requests: int, capacity: int) -> tuple[float, float, int]:
    from callforge.core import Message, ToolSpec
    from callforge.llm.openai_compat import OpenAIBackend

    backend = OpenAIBackend("fake-model", base_url=url, api_key="x", concurrency=capacity, timeout=30)
    messages = [Message(**m) for m in MESSAGES]  # type: ignore[arg-type]
    tools = [ToolSpec(**TOOL)]
    calls = 0

    async def send() -> None:
        nonlocal calls
        completion = await backend.complete(messages, tools, temperature=0)
        calls += len(completion.tool_calls)

    await backend.complete(messages, tools)  # warm the connection pool and imports
    wall, cpu = await drive(send, requests, capacity)
    await backend.aclose()
    assert calls >= requests, "every reply should carry a tool call"
    return wall, cpu, backend.retries


async def run_sdk(url: str, requests: int, capacity: int) -> tuple[float, float, int]:
    import httpx2
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    client = AsyncOpenAI(
        base_url=url,
        api_key="x",
        max_retries=0,
        http_client=DefaultAsyncHttpxClient(limits=httpx2.Limits(max_connections=capacity)),
    )
    tools = [{"type": "function", "function": TOOL}]

    async def send() -> None:
        reply = await client.chat.completions.create(
            model="fake-model", messages=MESSAGES, tools=tools, temperature=0  # type: ignore[arg-type]
        )
        assert reply.choices[0].message.tool_calls

    await send()
    wall, cpu = await drive(send, requests, capacity)
    await client.close()
    return wall, cpu, 0


async def run_raw(url: str, requests: int, capacity: int) -> tuple[float, float, int]:
    import httpx2
    import orjson

    client = httpx2.AsyncClient(base_url=url, limits=httpx2.Limits(max_connections=capacity), timeout=30)
    body = orjson.dumps(
        {"model": "fake-model", "messages": MESSAGES, "tools": [{"type": "function", "function": TOOL}], "temperature": 0}
    )
    headers = {"content-type": "application/json", "authorization": "Bearer x"}

    async def send() -> None:
        reply = await client.post("/chat/completions", content=body, headers=headers)
        assert orjson.loads(reply.content)["choices"][0]["message"]["tool_calls"]

    await send()
    wall, cpu = await drive(send, requests, capacity)
    await client.aclose()
    return wall, cpu, 0


def measure(name: str, runner: Callable[..., Awaitable[tuple[float, float, int]]], args: argparse.Namespace) -> dict[str, float]:
    proc, url = start_server(args.latency, args.capacity)
    try:
        wall, cpu, retries = asyncio.run(runner(url, args.requests, args.capacity))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ideal = args.capacity / args.latency
    rate = args.requests / wall
    return {"name": name, "rate": rate, "fraction": rate / ideal, "cpu_ms": 1000 * cpu / args.requests, "retries": retries}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.25, help="fake server latency L in seconds")
    parser.add_argument("--capacity", type=int, default=64, help="fake server capacity C (and requests in flight)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2, help="best of N per client")
    args = parser.parse_args()
    ideal = args.capacity / args.latency
    print(f"fake server: L={args.latency:g} s, C={args.capacity}: ideal {ideal:.0f} requests/s; {args.requests} requests per run")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    results = []
    for name, runner in [("callforge OpenAIBackend", run_callforge), ("openai SDK alone", run_sdk), ("raw httpx2+orjson", run_raw)]:
        runs = [measure(name, runner, args) for _ in range(args.runs)]
        best = max(runs, key=lambda r: r["rate"])
        best["cpu_ms"] = min(r["cpu_ms"] for r in runs)
        results.append(best)
    print(f"{'client':26} {'req/s':>8} {'of ideal':>9} {'CPU ms/req':>11}")
    for r in results:
        print(f"{r['name']:26} {r['rate']:8.1f} {r['fraction']:9.3f} {r['cpu_ms']:11.2f}")
    ours, sdk, raw = results
    print(f"callforge throughput / ideal C/L: {ours['fraction']:.3f} (target >= 0.9)")
    print(f"callforge CPU per request vs SDK alone: {ours['cpu_ms'] / sdk['cpu_ms']:.2f}x, vs raw httpx2: {ours['cpu_ms'] / raw['cpu_ms']:.2f}x")


if __name__ == "__main__":
    main()
