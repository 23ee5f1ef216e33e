"""How much of an endpoint's capacity `generate(...)` turns into accepted dialogs, and their CPU cost.

    python bench/generate_throughput.py [--latency 0.25] [--capacity 64] [--n 1000] [--concurrency 64,96]

A fake OpenAI-compatible server runs in its own process (bench/_gen_fake.py) with a fixed latency L
per request and a capacity C (requests served at once), so it serves at most C/L requests/s. A
rule-based policy plays planner, user, assistant and tool simulator, faithfully, so dialogs pass
the real cascade (rules with grounding and the plan check, execution, dedup). The tools are a
JSON spec with `returns` schemas, so every tool execution is a simulator request too.

`generate(...)` then runs for real into a fresh folder per measurement, and the figures are:

* requests per accepted dialog: the model requests of every recorded attempt (accepted and
  rejected) from the manifest's accounting, divided by the accepted count. The server's own count
  is also shown; it is higher by the attempts still in flight when the target was reached, which
  are cancelled and never recorded;
* the ideal accepted rate: (C/L) / requests per accepted dialog, i.e. the server kept full;
* the measured accepted rate: accepted / wall time of `generate(...)`, and its ratio to the ideal
  (target >= 0.9), over the whole run and over its steady part (the least-squares slope of
  accepted over time between the 10% and the 90% accepted marks). A whole run also fills and
  drains the pipeline once: an attempt's requests are sequential, so its last dialogs finish about
  one attempt time after the server could have, which even a zero-overhead client pays (printed as
  a bound); the steady part is the figure that longer runs tend to;
* requests in flight at the server: the mean (sampled every 5 ms) over the run and over the steady
  part, and the maximum sampled in the run;
* CPU ms per accepted dialog: this process's CPU time (user + system) over the `generate` call,
  divided by the accepted count; the server's CPU is its own process's and is shown apart.

`--concurrency` (attempts in progress, K) takes a comma-separated list to compare settings in one
run; `--backend-concurrency` is the client's in-flight cap (default C). By default the model is an
`OpenAIBackend` object (so no response cache); `--via cached` wraps it in the run's response cache
as `generate` does for a spec string, and `--via spec` passes the string "openai:fake-model" with
`base_url`, exactly as the CLI does (the in-flight cap is then max(16, K), which generate sets).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from _gen_fake import write_tools  # noqa: E402
from _throughput import Server, model_for, steady_part, via_help  # noqa: E402

from callforge.generate import GenerateProgress, generate  # noqa: E402


def run_generate(server: Server, tools: Path, out: Path, args: argparse.Namespace, concurrency: int, n: int) -> dict[str, Any]:
    """One `generate(...)` into `out`, timed (wall and this process's CPU) with the server's window around it."""
    model, extra = model_for(args.via, "fake-model", server.url, out, args.backend_concurrency)
    marks: list[tuple[float, int]] = []  # (time, accepted) after every judged attempt

    def progress(state: GenerateProgress) -> None:
        marks.append((time.perf_counter(), state.new_accepted))

    server.send("mark")
    start, cpu = time.perf_counter(), time.process_time()
    report = generate(tools=tools, n=n, out=out, model=model, simulator_model=model, concurrency=concurrency, mix=args.mix, seed=args.seed,
        progress=progress, **extra,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    # the steady part of the run: from the 10% to the 90% accepted mark (no ramp-up, no drain)
    low, high, steady_rate = steady_part(marks, n)
    seen = server.send(f"report {low} {high}")
    assert seen is not None
    manifest = json.loads((out / "manifest.json").read_text())
    roles = manifest["accounting"]["roles"]
    requests = sum(r["requests"] - r["cached"] for role, r in roles.items() if role != "tool")
    return {
        "concurrency": concurrency,
        "accepted": report.accepted,
        "complete": report.complete,
        "wall": wall,
        "cpu": cpu,
        "steady_rate": steady_rate,
        "requests": requests,
        "server": seen,
        "manifest": manifest,
    }


def figures(run: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    accepted = max(1, run["accepted"])
    server = run["server"]
    per_accepted = run["requests"] / accepted
    ideal = (args.capacity / args.latency) / per_accepted
    rate = run["accepted"] / run["wall"]
    return {
        "per_accepted": per_accepted,
        "server_per_accepted": server["received"] / accepted,
        "ideal": ideal,
        "rate": rate,
        "fraction": rate / ideal,
        "steady_rate": run["steady_rate"],
        "steady_fraction": run["steady_rate"] / ideal,
        "steady_in_flight": server["steady_in_flight"],
        "utilisation": server["served"] * args.latency / (args.capacity * run["wall"]),
        "mean_in_flight": server["mean_in_flight"],
        "max_in_flight": server["max_in_flight"],
        "window_max": server["window_max_in_flight"],
        "attempt_s": args.latency * run["requests"] / max(1, run["manifest"]["counts"]["attempts"]),
        "mean_waiting": server["mean_waiting"],
        "cpu_ms": 1000 * run["cpu"] / accepted,
        "cpu_ms_request": 1000 * run["cpu"] / max(1, server["received"]),
        "server_cpu_ms": 1000 * server["cpu_s"] / accepted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.25, help="fake server latency L in seconds")
    parser.add_argument("--capacity", type=int, default=64, help="fake server capacity C")
    parser.add_argument("--n", type=int, default=1000, help="accepted dialogs per measured run")
    parser.add_argument(
        "--concurrency", default=None, help="attempts in progress K, comma-separated to compare several (default C)"
    )
    parser.add_argument("--backend-concurrency", type=int, default=None, help="the client's in-flight cap (default C)")
    parser.add_argument("--mix", default="single=1,parallel=1,multiple=1", help="scenario kinds (generate's --mix)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--via",
        choices=("object", "cached", "spec"),
        default="object",
        help=via_help("fake-model"),
    )
    parser.add_argument("--keep", type=Path, default=None, help="copy the run folders here (default: deleted)")
    args = parser.parse_args()
    args.backend_concurrency = args.backend_concurrency or args.capacity
    levels = [int(k) for k in (args.concurrency or str(args.capacity)).split(",")]
    ceiling = args.capacity / args.latency
    client_cap = "16 (OpenAIBackend's default: generate passes no concurrency)" if args.via == "spec" else str(args.backend_concurrency)
    print(f"fake server: L={args.latency:g} s, C={args.capacity}: at most {ceiling:.0f} requests/s (own process)")
    print(f"generate: n={args.n} accepted per run, mix {args.mix}, seed {args.seed}, model via {args.via}, client in-flight cap {client_cap}")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    server = Server(args.latency, args.capacity)
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="cf-genbench-") as tmp:
            tools = write_tools(Path(tmp))
            run_generate(server, tools, Path(tmp) / "warm-up", args, 4, 4)  # imports, first connections
            for i, k in enumerate(levels):
                out = Path(tmp) / f"run-{i}-k{k}"
                runs.append(run_generate(server, tools, out, args, k, args.n))
                if args.keep is not None:
                    shutil.copytree(out, args.keep / out.name, dirs_exist_ok=True)
    finally:
        server.close()

    print()
    print(f"{'':41} {'---- whole run ----':>26} {'- steady 10-90% -':>17} {'---- in flight ----':>21} {'--- CPU ms/acc ---':>18}")
    print(
        f"{'K':>4} {'accepted':>8} {'attempts':>8} {'yield':>6} {'req/acc':>7} {'ideal/s':>7} {'wall s':>6} {'acc/s':>6} "
        f"{'of ideal':>8} {'acc/s':>6} {'of ideal':>8} {'run':>5} {'steady':>6} {'max':>4} {'queue':>5} {'client':>8} {'server':>8}"
    )
    for run in runs:
        f = figures(run, args)
        counts = run["manifest"]["counts"]
        print(
            f"{run['concurrency']:>4} {run['accepted']:>8} {counts['attempts']:>8} {counts['yield']:>6.3f} {f['per_accepted']:>7.2f} "
            f"{f['ideal']:>7.1f} {run['wall']:>6.1f} {f['rate']:>6.1f} {f['fraction']:>8.3f} {f['steady_rate']:>6.1f} "
            f"{f['steady_fraction']:>8.3f} {f['mean_in_flight']:>5.1f} {f['steady_in_flight']:>6.1f} {f['window_max']:>4} "
            f"{f['mean_waiting']:>5.1f} {f['cpu_ms']:>8.1f} {f['server_cpu_ms']:>8.1f}"
        )
    first = runs[0]
    f = figures(first, args)
    accounting = first["manifest"]["accounting"]
    print()
    print(f"details of K={first['concurrency']}:")
    print(
        f"  requests: {first['requests']} by recorded attempts (manifest: "
        + ", ".join(f"{role} {r['requests'] - r['cached']}" for role, r in accounting["roles"].items() if role != "tool")
        + f"); {first['server']['received']} at the server ("
        + ", ".join(f"{role} {c}" for role, c in sorted(first["server"]["roles"].items()))
        + f"), {f['server_per_accepted']:.2f} per accepted; statuses {first['server']['by_status']}; "
        f"{first['server']['received'] - first['requests']} were made by attempts cancelled when the target was reached"
    )
    print("  kinds: " + ", ".join(f"{k} {v['accepted']}/{v['attempts']}" for k, v in accounting["kinds"].items()))
    reasons = accounting["reasons"]
    print("  rejections: " + (", ".join(f"{code} {count}" for code, count in reasons.items()) or "none"))
    print(
        f"  server: capacity busy {f['utilisation']:.3f} of the run (served x L / (C x wall)); sampled in flight mean "
        f"{f['mean_in_flight']:.1f}, max {f['window_max']} (all-time max {f['max_in_flight']}), at capacity "
        f"{first['server']['at_capacity_share']:.1%} of samples"
    )
    print("  in flight by tenth of the run: " + " ".join(f"{x:.0f}" for x in first["server"]["tenths"]))
    least = args.n / f["ideal"]
    print(
        f"  fill and drain: n/ideal = {least:.2f} s; an attempt is >= {f['attempt_s']:.2f} s of sequential requests, so a "
        f"zero-overhead client needs about {least + f['attempt_s'] / 2:.2f} s, i.e. <= ~{least / (least + f['attempt_s'] / 2):.2f} "
        "of ideal over a whole run of this n"
    )
    print(
        f"  CPU: {f['cpu_ms']:.1f} ms per accepted dialog in this process ({f['cpu_ms_request']:.2f} ms per request), "
        f"{f['server_cpu_ms']:.1f} ms in the server process (not included); "
        f"{first['cpu'] / first['wall']:.0%} of one core busy"
    )
    print()
    print(
        f"accepted dialogs/s over the whole run: {f['rate']:.1f} of an ideal {f['ideal']:.1f} = {f['fraction']:.3f}; "
        f"in the steady part: {f['steady_rate']:.1f} = {f['steady_fraction']:.3f} (target >= 0.9)"
    )
    print(
        f"requests in flight at the server: mean {f['mean_in_flight']:.1f} over the run, {f['steady_in_flight']:.1f} in the "
        f"steady part, max {f['window_max']}, of C={args.capacity}; CPU {f['cpu_ms']:.1f} ms per accepted dialog (client)"
    )
    broken = [r["concurrency"] for r in runs if r["manifest"]["counts"]["yield"] < 0.5]
    if broken:
        raise SystemExit(
            f"yield below 0.5 at K={broken}: the fake model's dialogs no longer pass the cascade (see the rejections "
            "above); bench/_gen_fake.py must follow the change in generate's prompts or rules"
        )


if __name__ == "__main__":
    main()
