"""How fast callforge scores BFCL outputs, next to BFCL's own checker, in one run.

    python bench/eval_speed.py [--no-peer] [--no-whole-process] [--passes N]

1. In-process: decode+match every conformance record (35,634) and the oracle outputs of every
   single-turn category; entries/s and µs per entry, by the wall clock and in CPU time.
2. The peer: BFCL's own decoder+checker (bfcl-eval 2026.3.23 installed into .venv-bench, with a
   stubbed model registry, as the reference's light harness does) on the same records; the ratio
   of callforge's time per entry to BFCL's, by both clocks (both sides best of --passes).
3. Whole process: wall time of `callforge eval` on the full conformance set (one run per style).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "bfcl"
BENCH_VENV = REPO / ".venv-bench"
PEER_PACKAGES = [
    "bfcl-eval==2026.3.23",
    "tree_sitter==0.21.3",
    "tree-sitter-java==0.21.0",
    "tree-sitter-javascript==0.21.4",
    "tenacity",
    "filelock",
    "mpmath==1.3.0",
]


def _records() -> list[dict]:
    path = SHARED / "conformance" / "single_turn.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _ours(records: list[dict], passes: int) -> tuple[float, float, float, list[bool]]:
    """Suite load time, best wall and best CPU seconds of a pass over `records`, the verdicts."""
    from callforge.evaluate import make_scorer
    from callforge.formats import load_bfcl_suite

    t0 = time.perf_counter()
    cases = {c.id: c for c in load_bfcl_suite(SHARED / "data")}
    load_s = time.perf_counter() - t0
    gc.freeze()  # as score() does after loading the suite
    scorers = {s: make_scorer("bfcl", s) for s in ("prompting", "fc")}
    wall = cpu = float("inf")
    for _ in range(passes):  # best of N, like the peer, so neither pays one-off warm-up costs
        w, c = time.perf_counter(), time.process_time()
        verdicts = [scorers[r["style"]].score(cases[r["id"]], r["model_output"]).ok for r in records]
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return load_s, wall, cpu, verdicts


def _peer(records_file: Path, passes: int) -> dict | None:
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        print(
            "setting up .venv-bench with BFCL's checker (bfcl-eval, no dependencies beyond the checker's) ..."
        )
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", *PEER_PACKAGES], check=False
        )
        if done.returncode != 0:
            print("could not install bfcl-eval; skipping the peer comparison")
            return None
    out = subprocess.run(
        [str(python), str(REPO / "bench" / "_bfcl_peer.py"), str(SHARED), str(records_file), str(passes)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _whole_process(records: list[dict], folder: Path) -> dict[str, float]:
    callforge = Path(sys.executable).with_name("callforge")
    times = {}
    for style in ("prompting", "fc"):
        results = folder / f"results-{style}.jsonl"
        with results.open("w") as fh:
            for r in records:
                if r["style"] == style:
                    fh.write(json.dumps({"id": r["id"], "result": r["model_output"]}) + "\n")
        t0 = time.perf_counter()
        subprocess.run(
            [
                str(callforge),
                "eval",
                "--data",
                str(SHARED / "data"),
                "--results",
                str(results),
                "--style",
                style,
                "--allow-duplicate-ids",
                "--quiet",
                "--out",
                str(folder / f"scores-{style}"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "COLUMNS": "120"},
        )
        times[style] = time.perf_counter() - t0
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-peer", action="store_true", help="skip BFCL's own checker")
    parser.add_argument(
        "--no-whole-process", action="store_true", help="skip the `callforge eval` wall-time runs (part 3)"
    )
    parser.add_argument("--passes", type=int, default=3, help="timed passes per side; the best counts")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"BFCL data not found at {SHARED}")
    records = _records()
    oracle = [r for r in records if r["mutation"] == "oracle"]

    load_s, ours_wall, ours_cpu, ours_verdicts = _ours(records, args.passes)
    _, oracle_wall, oracle_cpu, _ = _ours(oracle, args.passes)
    n = len(records)
    ours_us, ours_cpu_us = ours_wall / n * 1e6, ours_cpu / n * 1e6
    print(f"suite load (13 categories, {len({r['id'] for r in records})} entries): {load_s:.2f} s")
    print(
        f"callforge  all records : {n} in {ours_wall:.3f} s = {n / ours_wall:,.0f} entries/s, "
        f"{ours_us:.1f} µs/entry (CPU time {ours_cpu_us:.1f} µs/entry)"
    )
    print(
        f"callforge  oracle only : {len(oracle)} in {oracle_wall:.3f} s = "
        f"{oracle_wall / len(oracle) * 1e6:.1f} µs/entry (CPU time {oracle_cpu / len(oracle) * 1e6:.1f} µs/entry)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not args.no_peer:
            records_file = folder / "records.jsonl"
            records_file.write_text("\n".join(json.dumps(r) for r in records))
            peer = _peer(records_file, args.passes)
            if peer is not None:
                peer_us, peer_cpu_us = peer["check_s"] / peer["n"] * 1e6, peer["cpu_s"] / peer["n"] * 1e6
                agree = sum(a == b for a, b in zip(ours_verdicts, peer["verdicts"], strict=True))
                print(
                    f"BFCL       all records : {peer['n']} in {peer['check_s']:.3f} s = {peer_us:.1f} µs/entry "
                    f"(CPU time {peer_cpu_us:.1f} µs/entry; checker import {peer['import_s']:.2f} s)"
                )
                print(
                    f"callforge / BFCL time per entry: {ours_us / peer_us:.2f}x wall, "
                    f"{ours_cpu_us / peer_cpu_us:.2f}x CPU time (<1 means callforge is faster; CPU time "
                    f"is the steadier on a busy machine); verdicts agree on {agree}/{n}"
                )
        if args.no_whole_process:
            return
        times = _whole_process(records, folder)
        for style, seconds in times.items():
            count = sum(r["style"] == style for r in records)
            print(f"whole process `callforge eval --style {style}` on {count} records: {seconds:.2f} s")
        print(f"whole process, both styles: {sum(times.values()):.2f} s")


if __name__ == "__main__":
    main()
