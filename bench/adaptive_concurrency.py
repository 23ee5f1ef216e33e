"""How busy `concurrency=auto` keeps an endpoint, against the fixed default of 16 and a fixed cap at capacity.

    python bench/adaptive_concurrency.py [--capacity 32] [--latency 0.25] [--n 1200] [--overflow queue|429]

The fake OpenAI server runs in its own process with C slots and latency L per request (requests
past C queue, or get a 429 with `--overflow 429`). One `openai:` backend sends n requests, 256 at
most waiting at once (as a live evaluation's job does), with each concurrency setting in turn, each
against a fresh server. The figures per setting: wall time, requests/s against the ideal C/L,
the server's busy fraction (slot-seconds served / (wall x C), the server's own count), the most
in flight at the server, its longest queue and its 429s, and for `auto` the window it settled on.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from typing import Any

import orjson

from callforge.core import Message
from callforge.llm.openai_compat import OpenAIBackend


def serve(latency: float, capacity: int, overflow: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "callforge.llm.fake_server", "--port", "0", "--latency", str(latency),
         "--capacity", str(capacity), "--overflow", overflow],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def drive(base_url: str, concurrency: int | str, n: int) -> tuple[float, Any]:
    backend = OpenAIBackend("m", base_url=base_url, concurrency=concurrency)
    gate = asyncio.Semaphore(256)

    async def one() -> None:
        async with gate:
            await backend.complete([Message(role="user", content="hi")])

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    wall = time.perf_counter() - started
    stats = backend.limits()[0][1]
    await backend.aclose()
    return wall, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--overflow", choices=("queue", "429"), default="queue")
    args = parser.parse_args()
    ideal = args.capacity / args.latency
    print(f"fake server: capacity {args.capacity}, latency {args.latency:g} s, overflow {args.overflow}: ideal {ideal:.0f} req/s")
    for setting in (16, args.capacity, "auto"):
        proc, url = serve(args.latency, args.capacity, args.overflow)
        try:
            wall, limit = asyncio.run(drive(url, setting, args.n))
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        server = orjson.loads(err.strip().splitlines()[-1])
        busy = server["busy_s"] / (wall * args.capacity)
        extra = f", settled at {limit.window} (429s it saw: {limit.overloads})" if setting == "auto" else ""
        print(
            f"concurrency {setting!s:>4}: {args.n} requests in {wall:.2f} s = {args.n / wall:.0f} req/s "
            f"({args.n / wall / ideal:.2f} of ideal); busy {busy:.2f}; at the server: most in flight "
            f"{server['max_in_flight']}, longest queue {server['max_waiting']}, 429s {server['overflowed']}{extra}"
        )


if __name__ == "__main__":
    main()
