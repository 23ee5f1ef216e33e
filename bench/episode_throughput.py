"""How much of an endpoint's capacity `generate(env=...)` turns into accepted episodes, and what else bounds it.

    python bench/episode_throughput.py [--latency 0.25] [--capacity 8] [--n 40] [--concurrency 8,16]
        [--env examples/environments/bank.py] [--env-init JSON]

The episode counterpart of bench/generate_throughput.py (read its docstring first). The same fake
OpenAI-compatible server runs in its own process (bench/_gen_fake.py: latency L per request,
capacity C, so at most C/L requests/s) and serves the `fake:world` model, which plays planner, user
and assistant of an episode. The tools are a stateful environment (by default
examples/environments/bank.py, a Python class run in the sandbox): every call the planner proves,
the blueprint replays, the assistant makes and the end-state check replays is a sandbox run of its
own (a fresh interpreter, some 40-60 ms of CPU), on this machine. So besides the endpoint, the
sandbox runs compete for this machine's cores (and, on a shared machine, with other work).

`generate(env=..., env_init=...)` runs for real into a fresh folder per measurement (after one
small warm-up run), and the figures are:

* a sandbox run alone: building the environment (one sandbox run) a few times before anything else
  runs, its wall and CPU time;
* work per accepted episode: model requests of every recorded attempt (the manifest's accounting,
  tool role left out) and the server's own count; tool executions (the manifest's `tool` role:
  the calls made while planning and playing, which the accounting meters) and their seconds; and
  every sandbox run this process made (counted by wrapping `Sandbox.run` here: also the
  environment's construction per attempt, the blueprint's proof run and the end-state check's
  replays, which the accounting does not meter), their wall seconds and their CPU (the CPU of this
  process's children, reaped as each run ends);
* where an attempt's time goes, per recorded attempt: its phases (plan, play, verify; an attempt
  whose blueprint failed has none on its record, so its model and tool seconds stand in), split
  into model requests (planner, user, assistant), tool executions and the rest (sandbox runs the
  accounting does not meter, waiting for a worker thread or a core, rules and dedup; building
  the environment happens before the phases and is in none); `tool share` is tool seconds over
  attempt seconds, and sandbox runs in flight (sandbox seconds over wall) say how much of the wall
  time tools ran;
* ceilings on the accepted rate, each with the others taken as free:
  - endpoint: (C/L) / requests per accepted episode, the server kept full;
  - tools: cores / sandbox CPU seconds per accepted episode, every core busy with sandbox runs;
  - CPU: cores / all CPU seconds per accepted episode (this process, its sandbox runs and the fake
    server, which shares the machine here but would not with a real endpoint);
  - CPU left: the same with the cores that other work on the machine kept busy meanwhile taken
    off (all processes' CPU from /proc/stat, less ours). On a machine that other work saturates
    this one equals the measured rate: the CPU left was the limit;
  - K: attempts in progress / attempt seconds per accepted episode, as measured (so contention
    included). An attempt's requests and calls are sequential, so K attempts keep at most K
    requests at the server, fewer while they run tools; a K above C keeps it fuller. The details
    also give the attempt time with no contention (its requests x L + its sandbox runs x the CPU
    time of a run alone, which is about its wall time on an idle machine) and the rate K alone
    would then allow;
  the lowest names what limits the rate. `--cores` sets the cores to count (default: those this
  process may use);
* the measured accepted rate (accepted / wall time) and its ratio to the endpoint's ideal and to
  the lowest ceiling; the rate over the steady part (10% to 90% accepted, as in
  generate_throughput) and its ratio to the endpoint's ideal; requests and sandbox runs in flight; CPU ms per accepted episode; the cores
  busy with our processes and with the whole machine.

`--concurrency` (K) takes a comma-separated list to compare settings in one run (default C).
`--via` builds the model as generate_throughput's does, but defaults to `spec` (the string
"openai:fake-world" with `base_url`, as `callforge generate --env ... --model openai:fake-world
--base-url URL` passes it; the client's in-flight cap is then max(16, K)). The script exits
non-zero when a run ends with fewer than n accepted episodes (the fake model's episodes no longer
pass generate's checks).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from _throughput import Server, model_for, steady_part, via_help  # noqa: E402

from callforge.execute import parse_environment  # noqa: E402
from callforge.execute import sandbox as sandbox_module  # noqa: E402
from callforge.generate import GenerateProgress, generate  # noqa: E402

BANK = REPO / "examples" / "environments" / "bank.py"
BANK_INIT = {"accounts": {"Ada Lovelace": 120.0, "Bo Chen": 40.0}}
MODEL_ROLES = ("planner", "user", "assistant", "judge", "simulator")


class SandboxRuns:
    """Counts every `Sandbox.run` of this process (all environments), with its start and end times."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[float, float]] = []
        self.flying = 0
        self.max_flying = 0
        self.original = sandbox_module.Sandbox.run
        runs = self

        def run(sandbox: Any, request: Any) -> Any:
            with runs.lock:
                runs.flying += 1
                runs.max_flying = max(runs.max_flying, runs.flying)
            start = time.perf_counter()
            try:
                return runs.original(sandbox, request)
            finally:
                end = time.perf_counter()
                with runs.lock:
                    runs.flying -= 1
                    runs.spans.append((start, end))

        sandbox_module.Sandbox.run = run  # type: ignore[method-assign]

    def reset(self) -> None:
        with self.lock:
            self.spans = []
            self.max_flying = self.flying

    def summary(self, start: float, end: float, steady: tuple[float, float]) -> dict[str, float]:
        """Runs and their seconds in [start, end], and the mean in flight over the steady part."""
        with self.lock:
            spans = list(self.spans)
        inside = [(a, b) for a, b in spans if a >= start and b <= end]
        t0, t1 = steady
        overlap = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans)
        return {
            "runs": len(inside),
            "seconds": sum(b - a for a, b in inside),
            "max_in_flight": self.max_flying,
            "steady_in_flight": overlap / (t1 - t0) if t1 > t0 else 0.0,
        }


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that have ended and been reaped: the sandbox runs."""
    times = os.times()
    return times.children_user + times.children_system


def machine_busy() -> float:
    """CPU seconds every process of the machine has spent so far (/proc/stat: all but idle and iowait)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def sandbox_alone(args: argparse.Namespace, times: int = 5) -> tuple[float, float]:
    """(wall, CPU) seconds of one sandbox run with nothing else of ours running: building the environment."""
    spec = parse_environment(args.env, init=args.env_init)
    spec.build().close()  # the sandbox's probe and the tools' description, once
    wall, cpu = 0.0, 0.0
    for _ in range(times):
        start, child = time.perf_counter(), children_cpu()
        spec.build().close()
        wall, cpu = wall + time.perf_counter() - start, cpu + children_cpu() - child
    return wall / times, cpu / times


def attempt_seconds(out: Path) -> dict[str, float]:
    """Seconds of every recorded attempt: in all (its phases), in model requests, in tool executions.

    A record without phases (an attempt whose blueprint failed is recorded before its plan phase is
    timed) counts its model and tool seconds as its time.
    """
    found = {"attempt": 0.0, "model": 0.0, "tool": 0.0}
    for shard in sorted([*out.glob("accepted/*.jsonl"), *out.glob("rejected/*.jsonl")]):
        for line in shard.read_text().splitlines():
            usage = (json.loads(line).get("dialog", {}).get("meta") or {}).get("usage") or {}
            roles = usage.get("roles") or {}
            model = sum(r["seconds"] for role, r in roles.items() if role in MODEL_ROLES)
            tool = sum(r["seconds"] for role, r in roles.items() if role == "tool")
            found["attempt"] += sum((usage.get("phases") or {}).values()) or model + tool
            found["model"] += model
            found["tool"] += tool
    return found


def run_generate(server: Server, runs: SandboxRuns, out: Path, args: argparse.Namespace, concurrency: int, n: int) -> dict[str, Any]:
    """One `generate(env=...)` into `out`, timed (wall, CPU here and in sandbox runs) with the server's window around it."""
    model, extra = model_for(args.via, "fake-world", server.url, out, args.backend_concurrency)
    marks: list[tuple[float, int]] = []  # (time, accepted) after every judged attempt

    def progress(state: GenerateProgress) -> None:
        marks.append((time.perf_counter(), state.new_accepted))

    server.send("mark")
    runs.reset()
    start, cpu, child_cpu, busy = time.perf_counter(), time.process_time(), children_cpu(), machine_busy()
    report = generate(env=args.env, env_init=args.env_init, n=n, out=out, model=model, concurrency=concurrency, seed=args.seed,
        progress=progress, **extra,
    )  # fmt: skip
    end = time.perf_counter()
    wall, cpu, child_cpu, busy = end - start, time.process_time() - cpu, children_cpu() - child_cpu, machine_busy() - busy
    low, high, steady_rate = steady_part(marks, n)
    seen = server.send(f"report {low} {high}")
    assert seen is not None
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "concurrency": concurrency,
        "accepted": report.accepted,
        "wall": wall,
        "cpu": cpu,
        "sandbox_cpu": child_cpu,
        "machine_busy": busy,
        "steady_rate": steady_rate,
        "server": seen,
        "sandbox": runs.summary(start, end, (low, high)),
        "manifest": manifest,
        "seconds": attempt_seconds(out),
    }


def figures(run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    accounting, counts = run["manifest"]["accounting"], run["manifest"]["counts"]
    roles = accounting["roles"]
    accepted, attempts = max(1, run["accepted"]), max(1, counts["attempts"])
    requests = sum(r["requests"] - r["cached"] for role, r in roles.items() if role != "tool")
    tool = roles.get("tool", {"requests": 0, "cached": 0, "seconds": 0.0})
    attempt_total, model_s = run["seconds"]["attempt"], run["seconds"]["model"]
    server, sandbox = run["server"], run["sandbox"]
    cpu_all = run["cpu"] + run["sandbox_cpu"] + server["cpu_s"]
    others = max(0.0, (run["machine_busy"] - cpu_all) / run["wall"])  # cores busy with other work meanwhile
    bounds = {
        "endpoint": (args.capacity / args.latency) / max(1e-9, requests / accepted),
        "tools": args.cores / max(1e-9, run["sandbox_cpu"] / accepted),
        "CPU": args.cores / max(1e-9, cpu_all / accepted),
        "CPU left": max(0.0, args.cores - others) / max(1e-9, cpu_all / accepted),
        "K": run["concurrency"] / max(1e-9, attempt_total / accepted),
    }
    limit = min(bounds, key=lambda k: bounds[k])
    rate = run["accepted"] / run["wall"]
    return {
        "requests": requests,
        "per_accepted": requests / accepted,
        "server_per_accepted": server["received"] / accepted,
        "tools_per_accepted": tool["requests"] / accepted,
        "tool_s_per_accepted": tool["seconds"] / accepted,
        "sandbox_per_accepted": sandbox["runs"] / accepted,
        "sandbox_s_per_accepted": sandbox["seconds"] / accepted,
        "sandbox_ms_run": 1000 * sandbox["seconds"] / max(1, sandbox["runs"]),
        "sandbox_cpu_ms_run": 1000 * run["sandbox_cpu"] / max(1, sandbox["runs"]),
        "attempt_s": attempt_total / attempts,
        "model_s_attempt": model_s / attempts,
        "tool_s_attempt": tool["seconds"] / attempts,
        "other_s_attempt": (attempt_total - model_s - tool["seconds"]) / attempts,
        "tool_share": tool["seconds"] / attempt_total if attempt_total else 0.0,
        "sandbox_in_flight": sandbox["seconds"] / run["wall"],
        "bounds": bounds,
        "limit": limit,
        "ideal": bounds["endpoint"],
        "lowest": bounds[limit],
        "rate": rate,
        "fraction": rate / bounds["endpoint"],
        "of_lowest": rate / bounds[limit],
        "steady_rate": run["steady_rate"],
        "steady_fraction": run["steady_rate"] / bounds["endpoint"],
        "cpu_ms": 1000 * run["cpu"] / accepted,
        "sandbox_cpu_ms": 1000 * run["sandbox_cpu"] / accepted,
        "server_cpu_ms": 1000 * server["cpu_s"] / accepted,
        "busy_cores": cpu_all / run["wall"],
        "machine_cores": run["machine_busy"] / run["wall"],
        "others": others,
        "alone_attempt_s": (requests * args.latency + sandbox["runs"] * args.alone[1]) / attempts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.25, help="fake server latency L in seconds")
    parser.add_argument("--capacity", type=int, default=8, help="fake server capacity C")
    parser.add_argument("--n", type=int, default=40, help="accepted episodes per measured run")
    parser.add_argument(
        "--concurrency", default=None, help="attempts in progress K, comma-separated to compare several (default C)"
    )
    parser.add_argument(
        "--backend-concurrency", type=int, default=None, help="the client's in-flight cap with --via object/cached (default C)"
    )
    parser.add_argument("--env", default=str(BANK), help="the environment (generate's --env; default the bank example)")
    parser.add_argument(
        "--env-init", type=json.loads, default=None, help=f"its constructor arguments as JSON (default for the bank: {json.dumps(BANK_INIT)})"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--via", choices=("object", "cached", "spec"), default="spec", help=via_help("fake-world"))
    parser.add_argument(
        "--cores", type=float, default=None, help="cores the tool and CPU ceilings count (default: those this process may use)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="copy the run folders here (default: deleted)")
    args = parser.parse_args()
    if args.env_init is None and Path(args.env).resolve() == BANK:
        args.env_init = BANK_INIT
    args.backend_concurrency = args.backend_concurrency or args.capacity
    args.cores = args.cores or len(os.sched_getaffinity(0))
    levels = [int(k) for k in (args.concurrency or str(args.capacity)).split(",")]
    ceiling = args.capacity / args.latency
    client_cap = "max(16, K) (generate's, for a spec)" if args.via == "spec" else str(args.backend_concurrency)
    print(f"fake server: L={args.latency:g} s, C={args.capacity}: at most {ceiling:.0f} requests/s (own process, fake:world)")
    print(f"environment: {args.env} init {json.dumps(args.env_init)}")
    print(f"generate: n={args.n} accepted episodes per run, seed {args.seed}, model via {args.via}, client in-flight cap {client_cap}")
    print(f"machine: {os.cpu_count()} cores ({args.cores:g} counted), load average {os.getloadavg()[0]:.1f} at start, Python {sys.version.split()[0]}")
    args.alone = sandbox_alone(args)
    print(f"a sandbox run alone (building the environment): {1000 * args.alone[0]:.0f} ms wall, {1000 * args.alone[1]:.0f} ms CPU")
    server = Server(args.latency, args.capacity)
    sandbox_runs = SandboxRuns()
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="cf-epbench-") as tmp:
            run_generate(server, sandbox_runs, Path(tmp) / "warm-up", args, 2, 2)  # imports, connections
            for i, k in enumerate(levels):
                out = Path(tmp) / f"run-{i}-k{k}"
                runs.append(run_generate(server, sandbox_runs, out, args, k, args.n))
                if args.keep is not None:
                    shutil.copytree(out, args.keep / out.name, dirs_exist_ok=True)
    finally:
        server.close()
    report(runs, args)


def report(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Print the two tables, the first run's details and the verdicts."""
    print()
    print("per accepted episode: model requests, tool executions (metered), sandbox runs (all); per attempt: seconds")
    print(
        f"{'K':>4} {'accepted':>8} {'attempts':>8} {'yield':>6} {'req/acc':>7} {'tools/acc':>9} {'tool s':>6} "
        f"{'sandbox runs':>12} {'sandbox s':>9} {'attempt s':>9} {'model':>6} {'tools':>6} {'rest':>6} {'tool share':>10} "
        f"{'CPU ms: client':>14} {'sandbox':>8} {'server':>7}"
    )
    for run in runs:
        f = figures(run, args)
        counts = run["manifest"]["counts"]
        print(
            f"{run['concurrency']:>4} {run['accepted']:>8} {counts['attempts']:>8} {counts['yield']:>6.3f} {f['per_accepted']:>7.2f} "
            f"{f['tools_per_accepted']:>9.2f} {f['tool_s_per_accepted']:>6.2f} {f['sandbox_per_accepted']:>12.2f} "
            f"{f['sandbox_s_per_accepted']:>9.2f} {f['attempt_s']:>9.2f} {f['model_s_attempt']:>6.2f} {f['tool_s_attempt']:>6.2f} "
            f"{f['other_s_attempt']:>6.2f} {f['tool_share']:>10.3f} {f['cpu_ms']:>14.0f} {f['sandbox_cpu_ms']:>8.0f} {f['server_cpu_ms']:>7.0f}"
        )
    print()
    print("accepted episodes/s: ceilings (each with the rest free) and measured")
    print(
        f"{'K':>4} {'endpoint':>8} {'tools':>6} {'CPU':>6} {'left':>6} {'K':>6} {'limit':>8} {'wall s':>6} {'acc/s':>6} {'of endpoint':>11} "
        f"{'of limit':>8} {'steady':>6} {'of endpoint':>11} {'server in flight':>16} {'sandbox in flight':>17} "
        f"{'cores: ours':>11} {'all':>4}"
    )
    for run in runs:
        f = figures(run, args)
        b = f["bounds"]
        in_flight = f"{run['server']['mean_in_flight']:.1f}/{run['server']['steady_in_flight']:.1f}/{run['server']['window_max_in_flight']}"
        sandbox = f"{f['sandbox_in_flight']:.1f}/{run['sandbox']['steady_in_flight']:.1f}/{run['sandbox']['max_in_flight']}"
        print(
            f"{run['concurrency']:>4} {b['endpoint']:>8.2f} {b['tools']:>6.2f} {b['CPU']:>6.2f} {b['CPU left']:>6.2f} {b['K']:>6.2f} {f['limit']:>8} "
            f"{run['wall']:>6.1f} {f['rate']:>6.2f} {f['fraction']:>11.3f} {f['of_lowest']:>8.3f} {f['steady_rate']:>6.2f} "
            f"{f['steady_fraction']:>11.3f} {in_flight:>16} {sandbox:>17} {f['busy_cores']:>11.2f} "
            f"{f['machine_cores']:>4.2f}"
        )
    print(
        "  ceilings: endpoint (C/L)/req per accepted; tools cores/sandbox CPU s per accepted; CPU cores/all CPU s per accepted;"
        "\n  left: the same with the cores other work kept busy meanwhile taken off; K attempts in progress/attempt s per accepted (measured, contention included); in flight: run mean/steady mean/max;"
        "\n  cores: CPU seconds over wall, of this process + its sandbox runs + the fake server, and of every process of the machine"
    )
    first = runs[0]
    f = figures(first, args)
    accounting = first["manifest"]["accounting"]
    attempts = max(1, first["manifest"]["counts"]["attempts"])
    print()
    print(f"details of K={first['concurrency']}:")
    print(
        f"  requests: {f['requests']} by recorded attempts ("
        + ", ".join(f"{role} {r['requests'] - r['cached']}" for role, r in accounting["roles"].items() if role != "tool")
        + f"); {first['server']['received']} at the server ("
        + ", ".join(f"{role} {c}" for role, c in sorted(first["server"]["roles"].items()))
        + f"), {f['server_per_accepted']:.2f} per accepted; statuses {first['server']['by_status']}"
    )
    print(
        "  manifest's phases (s per attempt, attempts whose blueprint failed untimed): "
        + ", ".join(f"{phase} {s / attempts:.2f}" for phase, s in accounting["phase_seconds"].items())
        + f"; an attempt with no contention: about {f['alone_attempt_s']:.2f} s (its requests x L + its sandbox runs "
        f"x {1000 * args.alone[1]:.0f} ms, a run's CPU alone), so K={first['concurrency']} alone allows about "
        f"{first['concurrency'] * first['accepted'] / attempts / f['alone_attempt_s']:.2f} accepted/s"
    )
    print("  rejections: " + (", ".join(f"{code} {count}" for code, count in accounting["reasons"].items()) or "none"))
    print(
        f"  sandbox: {first['sandbox']['runs']} runs, {f['sandbox_ms_run']:.0f} ms wall and {f['sandbox_cpu_ms_run']:.0f} ms CPU each "
        f"(alone: {1000 * args.alone[0]:.0f} ms wall); tool executions metered by the accounting: {f['tools_per_accepted']:.1f} "
        f"of {f['sandbox_per_accepted']:.1f} per accepted (the rest: building the environment, the blueprint's proof, "
        "the end-state check)"
    )
    print(
        f"  CPU per accepted episode: {f['cpu_ms']:.0f} ms here, {f['sandbox_cpu_ms']:.0f} ms in sandbox runs, "
        f"{f['server_cpu_ms']:.0f} ms in the fake server; of {args.cores:g} cores, {f['busy_cores']:.2f} busy with ours "
        f"and {f['others']:.2f} with other work (the machine: {f['machine_cores']:.2f})"
    )
    print()
    for run in runs:
        f = figures(run, args)
        b = f["bounds"]
        print(
            f"K={run['concurrency']}: {f['rate']:.2f} accepted episodes/s = {f['fraction']:.3f} of the endpoint's ideal "
            f"{b['endpoint']:.2f} (steady {f['steady_fraction']:.3f}); lowest ceiling {f['limit']} {f['lowest']:.2f} "
            f"(endpoint {b['endpoint']:.2f}, tools {b['tools']:.2f}, CPU {b['CPU']:.2f}, CPU left {b['CPU left']:.2f}, K {b['K']:.2f}): "
            f"{f['of_lowest']:.3f} of it"
        )
    broken = [r["concurrency"] for r in runs if r["accepted"] < args.n]
    if broken:
        raise SystemExit(f"fewer than n={args.n} accepted at K={broken}: the fake model's episodes no longer pass (see the rejections)")


if __name__ == "__main__":
    main()
