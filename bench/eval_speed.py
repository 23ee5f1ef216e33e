"""How fast callforge scores BFCL outputs, next to BFCL's own checker, in one run.

    python bench/eval_speed.py [--no-peer] [--no-whole-process] [--passes N]

1. In-process: decode+match every conformance record (35,634) and the oracle outputs of every
   single-turn category; entries/s and µs per entry, by the wall clock and in CPU time.
2. The peer: BFCL's own decoder+checker (bfcl-eval 2026.3.23 installed into .venv-bench, with a
   stubbed model registry, as the reference's light harness does) on the same records, its
   passes alternating with callforge's so that both meet the same load; the ratio of
   callforge's time per entry to BFCL's, best pass against best pass (--passes each) and the
   median of the ratios of neighbouring passes.
3. Whole process: wall time of `callforge eval` on the full conformance set (one run per style).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
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


class _Ours:
    """callforge's scorers over `records`, ready for timed passes."""

    def __init__(self, records: list[dict], cases: dict | None = None) -> None:
        from callforge.evaluate import make_scorer
        from callforge.formats import load_bfcl_suite

        t0 = time.perf_counter()
        self.cases = cases or {c.id: c for c in load_bfcl_suite(SHARED / "data")}
        self.load_s = time.perf_counter() - t0
        gc.freeze()  # as score() does after loading the suite
        self.scorers = {s: make_scorer("bfcl", s) for s in ("prompting", "fc")}
        self.records = records
        self.verdicts: list[bool] = []

    def timed_pass(self) -> tuple[float, float]:
        """Wall and CPU seconds of one pass over every record."""
        cases, scorers = self.cases, self.scorers
        w, c = time.perf_counter(), time.process_time()
        self.verdicts = [scorers[r["style"]].score(cases[r["id"]], r["model_output"]).ok for r in self.records]
        return time.perf_counter() - w, time.process_time() - c


class _Peer:
    """BFCL's checker in .venv-bench, serving one timed pass per request (`_bfcl_peer.py`)."""

    def __init__(self, records_file: Path) -> None:
        self.process = subprocess.Popen(
            [str(BENCH_VENV / "bin" / "python"), str(REPO / "bench" / "_bfcl_peer.py"), str(SHARED), str(records_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self._read()
        self.import_s, self.n = ready["import_s"], ready["n"]

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("BFCL's checker (bench/_bfcl_peer.py) exited early; see its error above")
        return json.loads(line)

    def timed_pass(self) -> tuple[float, float]:
        assert self.process.stdin is not None
        self.process.stdin.write("pass\n")
        self.process.stdin.flush()
        done = self._read()
        return done["wall_s"], done["cpu_s"]

    def verdicts(self) -> list[bool]:
        assert self.process.stdin is not None
        self.process.stdin.write("done\n")
        self.process.stdin.flush()
        verdicts: list[bool] = self._read()["verdicts"]
        self.process.wait()
        return verdicts


def _bench_venv() -> bool:
    python = BENCH_VENV / "bin" / "python"
    if python.exists():
        return True
    print("setting up .venv-bench with BFCL's checker (bfcl-eval, no dependencies beyond the checker's) ...")
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", *PEER_PACKAGES], check=False)
    if done.returncode != 0:
        print("could not install bfcl-eval; skipping the peer comparison")
        return False
    return True


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
    parser.add_argument("--passes", type=int, default=7, help="timed passes per side, alternating; the best counts")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"BFCL data not found at {SHARED}")
    records = _records()
    oracle = [r for r in records if r["mutation"] == "oracle"]
    n = len(records)

    ours = _Ours(records)
    ours_oracle = _Ours(oracle, ours.cases)
    oracle_wall = min(ours_oracle.timed_pass()[0] for _ in range(args.passes))
    print(f"suite load (13 categories, {len({r['id'] for r in records})} entries): {ours.load_s:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        peer = None
        if not args.no_peer and _bench_venv():
            records_file = folder / "records.jsonl"
            records_file.write_text("\n".join(json.dumps(r) for r in records))
            peer = _Peer(records_file)
        rounds = []  # (our wall, our CPU, BFCL's wall, BFCL's CPU), passes alternating
        for _ in range(args.passes):
            rounds.append((*ours.timed_pass(), *(peer.timed_pass() if peer else (0.0, 0.0))))
        ours_wall, ours_cpu = min(r[0] for r in rounds), min(r[1] for r in rounds)
        ours_us, ours_cpu_us = ours_wall / n * 1e6, ours_cpu / n * 1e6
        print(
            f"callforge  all records : {n} in {ours_wall:.3f} s = {n / ours_wall:,.0f} entries/s, "
            f"{ours_us:.1f} µs/entry (CPU time {ours_cpu_us:.1f} µs/entry)"
        )
        print(f"callforge  oracle only : {len(oracle)} in {oracle_wall:.3f} s = {oracle_wall / len(oracle) * 1e6:.1f} µs/entry")
        if peer is not None:
            peer_wall, peer_cpu = min(r[2] for r in rounds), min(r[3] for r in rounds)
            peer_us, peer_cpu_us = peer_wall / peer.n * 1e6, peer_cpu / peer.n * 1e6
            verdicts = peer.verdicts()
            agree = sum(a == b for a, b in zip(ours.verdicts, verdicts, strict=True))
            paired = statistics.median(r[0] / r[2] for r in rounds)
            print(
                f"BFCL       all records : {peer.n} in {peer_wall:.3f} s = {peer_us:.1f} µs/entry "
                f"(CPU time {peer_cpu_us:.1f} µs/entry; checker import {peer.import_s:.2f} s)"
            )
            print(
                f"callforge / BFCL time per entry: {ours_us / peer_us:.2f}x wall, {ours_cpu_us / peer_cpu_us:.2f}x "
                f"CPU time, best pass against best pass; {paired:.2f}x the median of {len(rounds)} neighbouring "
                f"pairs (<1 means callforge is faster); verdicts agree on {agree}/{n}"
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
