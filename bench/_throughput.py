"""Helpers shared by bench/generate_throughput.py and bench/episode_throughput.py.

`Server` runs bench/_gen_fake.py (the `fake:world` model on the fake OpenAI server, with a latency
and a capacity) in its own process; `model_for` builds the model argument of `generate(...)` the
way a benchmark's `--via` asks; `steady_part` finds the steady part of a run from its
(time, accepted) marks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from callforge.llm.openai_compat import OpenAIBackend
from callforge.llm.registry import make_backend

REPO = Path(__file__).resolve().parents[1]


def via_help(name: str) -> str:
    """The help of a benchmark's `--via` option, for a served model called `name`."""
    return (
        "object: an OpenAIBackend (no response cache); cached: the same in the run's llm-cache.sqlite, as "
        f"generate builds for a spec; spec: the string 'openai:{name}' with base_url, as the CLI passes it"
    )


class Server:
    """bench/_gen_fake.py in its own process, driven by line commands on stdin."""

    def __init__(self, latency: float, capacity: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "_gen_fake.py"), "--latency", str(latency), "--capacity", str(capacity)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1"):
            self.proc.kill()
            raise SystemExit(f"fake server did not start (printed {self.url!r})")

    def send(self, command: str) -> dict[str, Any] | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        if not command.startswith("report"):
            return None
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        try:
            self.send("quit")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def model_for(via: str, name: str, url: str, out: Path, backend_concurrency: int) -> tuple[Any, dict[str, Any]]:
    """The `model` argument of `generate(...)` for `--via`, and the extra keyword arguments it needs.

    `out` is the run folder (made here for `cached`, whose response cache lives in it).
    """
    if via == "spec":
        return f"openai:{name}", {"base_url": url, "api_key": "x"}
    if via == "cached":
        out.mkdir(parents=True)
        backend = make_backend(
            f"openai:{name}", base_url=url, api_key="x", concurrency=backend_concurrency, timeout=120,
            cache=out / "llm-cache.sqlite",
        )  # fmt: skip
        return backend, {}
    return OpenAIBackend(name, base_url=url, api_key="x", concurrency=backend_concurrency, timeout=120), {}


def steady_part(marks: list[tuple[float, int]], n: int) -> tuple[float, float, float]:
    """(start, end, accepted/s) of the steady part: from the 10% to the 90% accepted mark (no ramp-up, no drain).

    `marks` are (perf_counter time, accepted) after every judged attempt; the rate is their
    least-squares slope in between.
    """
    low = next((m for m in marks if m[1] >= 0.1 * n), marks[0])
    high = next((m for m in marks if m[1] >= 0.9 * n), marks[-1])
    return low[0], high[0], slope([m for m in marks if low[0] <= m[0] <= high[0]])


def slope(points: list[tuple[float, int]]) -> float:
    """Least-squares accepted per second through (time, accepted) points (steadier than two end points)."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_a = sum(a for _, a in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (a - mean_a) for t, a in points) / spread if spread else 0.0
