"""The `fake:world` model served by the fake OpenAI server in its own process, for bench/*_throughput.py.

The model is the package's (`callforge.llm.fake.world.WorldPolicy`): it plays every role
generation asks an endpoint for (planner, user, assistant and the simulator of the JSON-spec tools
below), told apart by the request's shape. Its parsing follows generate's prompt wording: when
that changes, the yield drops and generate_throughput.py says so (it exits non-zero below a yield
of 0.5), as does tests/test_fake_world.py.

Run as a script it serves this policy in its own process (so the benchmark's CPU figures are the
client's alone) and answers line commands on stdin: `mark` opens a measurement window, `report [T0 T1]`
prints the window's counters as one JSON line (with the mean in flight between the perf_counter
times T0 and T1 too, Linux's perf_counter being the system-wide monotonic clock), `quit` stops.

    python bench/_gen_fake.py --latency 0.25 --capacity 64
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from callforge.llm.fake.world import WorldPolicy
from callforge.llm.fake_server import FakeOpenAIServer

# BFCL dialect, because its `response` becomes the ToolSpec's `returns` (the simulator's schema).
TOOLS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Weather forecast for a city on a given day.",
        "parameters": {
            "type": "dict",
            "properties": {
                "city": {"type": "string", "description": "City name."},
                "date": {"type": "string", "description": "Day of the forecast, YYYY-MM-DD."},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "date"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "city": {"type": "string"},
                "date": {"type": "string"},
                "temperature": {"type": "float"},
                "conditions": {"type": "string"},
            },
            "required": ["city", "date", "temperature", "conditions"],
        },
    },
    {
        "name": "convert_currency",
        "description": "Convert an amount of money from one currency to another.",
        "parameters": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float", "description": "Amount to convert."},
                "from_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY", "CHF"]},
                "to_currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "JPY", "CHF"]},
            },
            "required": ["amount", "from_currency", "to_currency"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float"},
                "converted": {"type": "float"},
                "rate": {"type": "float"},
            },
            "required": ["amount", "converted", "rate"],
        },
    },
    {
        "name": "find_books",
        "description": "Search a library catalogue for books on a topic.",
        "parameters": {
            "type": "dict",
            "properties": {
                "topic": {"type": "string", "description": "What the books are about."},
                "max_results": {"type": "integer", "minimum": 1, "maximum": 20},
            },
            "required": ["topic"],
        },
        "response": {
            "type": "dict",
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "dict",
                        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
                        "required": ["title", "year"],
                    },
                },
                "total": {"type": "integer"},
            },
            "required": ["results", "total"],
        },
    },
]

def write_tools(folder: Path) -> Path:
    """Write the tool spec (JSON, no code: its tools run on the simulating model) into `folder`."""
    path = folder / "bench_tools.json"
    path.write_text(json.dumps(TOOLS, indent=1))
    return path


# -- the server process ----------------------------------------------------------------------------


class _Sampler(threading.Thread):
    """Samples the server's in-flight and queue counters every `every` seconds (so plain means are time means)."""

    def __init__(self, server: FakeOpenAIServer, capacity: int, every: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.capacity = capacity
        self.every = every
        self.lock = threading.Lock()
        self.trace: list[tuple[float, int, int]] = []

    def reset(self) -> None:
        with self.lock:
            self.trace = []

    def run(self) -> None:
        while True:
            stats = self.server.stats
            with self.lock:
                self.trace.append((time.perf_counter(), stats.in_flight, stats.waiting))
            time.sleep(self.every)

    def summary(self, until: float, steady: tuple[float, float] | None) -> dict[str, Any]:
        """Means over the window, its tenths, and over `steady` (perf_counter times: CLOCK_MONOTONIC on Linux)."""
        with self.lock:
            trace = [s for s in self.trace if s[0] <= until]
        if not trace:
            return {"samples": 0, "mean_in_flight": 0.0, "mean_waiting": 0.0, "window_max_in_flight": 0,
                    "at_capacity_share": 0.0, "tenths": [0.0] * 10, "steady_in_flight": 0.0}  # fmt: skip
        first, span = trace[0][0], max(1e-9, until - trace[0][0])
        tenths: list[list[int]] = [[] for _ in range(10)]
        for t, flying, _ in trace:
            tenths[min(9, int(10 * (t - first) / span))].append(flying)
        inside = [f for t, f, _ in trace if steady and steady[0] <= t <= steady[1]]
        return {
            "samples": len(trace),
            "mean_in_flight": sum(f for _, f, _ in trace) / len(trace),
            "mean_waiting": sum(w for _, _, w in trace) / len(trace),
            "window_max_in_flight": max(f for _, f, _ in trace),
            "at_capacity_share": sum(f >= self.capacity for _, f, _ in trace) / len(trace),
            "tenths": [sum(b) / len(b) if b else 0.0 for b in tenths],
            "steady_in_flight": sum(inside) / len(inside) if inside else 0.0,
        }


def serve() -> None:
    """Serve `WorldPolicy` until stdin closes or says `quit`; `mark`/`report` measure a window."""
    parser = argparse.ArgumentParser(description="fake:world on the fake OpenAI server (for generate_throughput.py)")
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--capacity", type=int, default=64)
    args = parser.parse_args()
    policy = WorldPolicy()
    server = FakeOpenAIServer(policy, latency_s=args.latency, capacity=args.capacity, record=False)
    with server:
        print(server.base_url, flush=True)
        sampler = _Sampler(server, args.capacity)
        sampler.start()
        start_stats, start_cpu, start_counts, start_wall = server.stats, time.process_time(), Counter(policy.counts), time.perf_counter()
        for line in sys.stdin:
            command, *times = line.split() or [""]
            if command == "mark":
                sampler.reset()
                start_stats, start_cpu, start_counts = server.stats, time.process_time(), Counter(policy.counts)
                start_wall = time.perf_counter()
            elif command == "report":
                stats = server.stats
                report = {
                    "received": stats.received - start_stats.received,
                    "served": stats.served - start_stats.served,
                    "max_in_flight": stats.max_in_flight,
                    "max_waiting": stats.max_waiting,
                    "by_status": {str(k): v - start_stats.by_status.get(k, 0) for k, v in stats.by_status.items()},
                    "roles": dict(policy.counts - start_counts),
                    "cpu_s": time.process_time() - start_cpu,
                    "wall_s": time.perf_counter() - start_wall,
                    **sampler.summary(time.perf_counter(), (float(times[0]), float(times[1])) if len(times) == 2 else None),
                }
                print(json.dumps(report), flush=True)
            elif command == "quit":
                break


if __name__ == "__main__":
    serve()
