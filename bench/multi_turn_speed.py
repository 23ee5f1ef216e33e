"""How fast callforge scores BFCL's multi-turn outputs, next to BFCL's own multi-turn checker, in one run.

    python bench/multi_turn_speed.py [--no-peer] [--repeat N]

Both sides score the 4,800 records of the multi-turn conformance fixture
(shared/bfcl/conformance/multi_turn.jsonl: 800 entries x 6 candidate outputs, with BFCL's verdicts):

1. callforge, in this process: `load_multi_turn(data)` once (timed apart), then
   `check_multi_turn(entry, model_output, style=...)` for every record; best of N.
2. The peer, BFCL's own code (bfcl-eval 2026.3.23 in .venv-bench, its model registry stubbed):
   bench/_bfcl_mt_peer.py decodes each step with the handler's `decode_execute` and calls
   `multi_turn_checker`, each record under a fresh model name so BFCL's instance cache cannot
   carry state between records or repetitions; best of N.

Both sides' verdicts (valid and error type) are checked against the fixture's. Each side runs the
simulators, so most of the time is BFCL's simulator code (loading scenarios, the calls), common
to both.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "bfcl"
BENCH_VENV = REPO / ".venv-bench"
RECORDS = SHARED / "conformance" / "multi_turn.jsonl"


def _records() -> list[dict]:
    return [json.loads(line) for line in RECORDS.read_text().splitlines() if line.strip()]


def _expected(records: list[dict]) -> list[tuple[bool, str | None]]:
    return [(bool(r["valid"]), r["error_type"]) for r in records]


def _ours(records: list[dict], repeat: int) -> dict:
    t0 = time.perf_counter()
    from callforge.evaluate import check_multi_turn, load_multi_turn

    import_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    entries = {e.id: e for e in load_multi_turn(SHARED / "data")}
    load_s = time.perf_counter() - t1
    gc.freeze()  # as score() does after loading the suite
    best = float("inf")
    verdicts: list[tuple[bool, str | None]] = []
    for _ in range(repeat):  # best of N, like the peer, so neither pays one-off costs (simulator imports)
        t2 = time.perf_counter()
        results = [
            check_multi_turn(entries[r["id"]], r["model_output"], style=r.get("style", "fc")) for r in records
        ]
        best = min(best, time.perf_counter() - t2)
        verdicts = [(v.ok, v.evidence.get("bfcl_error_type")) for v in results]
    gc.unfreeze()
    return {"import_s": import_s, "load_s": load_s, "check_s": best, "verdicts": verdicts}


def _peer(repeat: int) -> dict | None:
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        print(
            f"no {python}: run bench/eval_speed.py once (it sets up .venv-bench with BFCL's checker), "
            "or pass --no-peer"
        )
        return None
    t0 = time.perf_counter()
    out = subprocess.run(
        [str(python), str(REPO / "bench" / "_bfcl_mt_peer.py"), str(SHARED), str(RECORDS), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    )
    wall_s = time.perf_counter() - t0
    peer = json.loads(out.stdout.strip().splitlines()[-1])
    peer["verdicts"] = [(bool(v), e) for v, e in peer["verdicts"]]
    peer["wall_s"] = wall_s
    return peer


def _agreement(got: list[tuple[bool, str | None]], expected: list[tuple[bool, str | None]]) -> str:
    same = sum(a == b for a, b in zip(got, expected, strict=True))
    return f"{same:,}/{len(expected):,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-peer", action="store_true", help="skip BFCL's own checker")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per side; the best counts (3)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not RECORDS.is_file():
        sys.exit(f"BFCL multi-turn fixture not found at {RECORDS}")
    records = _records()
    expected = _expected(records)
    n = len(records)

    ours = _ours(records, args.repeat)
    peer = None if args.no_peer else _peer(args.repeat)

    ours_us = ours["check_s"] / n * 1e6
    rows = [
        ("records", f"{n:,}", f"{peer['n']:,}" if peer else "-"),
        (
            f"check, best of {args.repeat} (s)",
            f"{ours['check_s']:.2f}",
            f"{peer['check_s']:.2f}" if peer else "-",
        ),
        ("µs per record", f"{ours_us:,.0f}", f"{peer['check_s'] / peer['n'] * 1e6:,.0f}" if peer else "-"),
        (
            "agreement with the fixture",
            _agreement(ours["verdicts"], expected),
            _agreement(peer["verdicts"], expected) if peer else "-",
        ),
        ("import (s)", f"{ours['import_s']:.2f}", f"{peer['import_s']:.2f}" if peer else "-"),
        ("load the 800 entries (s)", f"{ours['load_s']:.2f}", f"{peer['load_s']:.2f}" if peer else "-"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'callforge':>12}  {'BFCL':>12}")
    for label, a, b in rows:
        print(f"{label:{width}}  {a:>12}  {b:>12}")
    if peer:
        ratio = ours["check_s"] / n / (peer["check_s"] / peer["n"])
        faster = "callforge" if ratio < 1 else "BFCL"
        print(f"ratio ours/BFCL, time per record: {ratio:.2f} ({faster} is faster)")
        print(f"BFCL peer process wall time, {args.repeat} passes included: {peer['wall_s']:.1f} s")
    ok = ours["verdicts"] == expected and (peer is None or peer["verdicts"] == expected)
    if not ok:
        sys.exit("verdicts disagree with the fixture")


if __name__ == "__main__":
    main()
