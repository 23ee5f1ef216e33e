"""A live multi-turn run of a model on BFCL's first N multi_turn_base entries: accuracy, wall time, steps.

    python bench/multi_turn_live.py [--model local:qwen2.5-coder-0.5b] [--n 10] [--style prompting]

It is `callforge eval run --categories multi_turn_base --limit N` with a summary of what the run
cost per entry (model replies, tokens, seconds) and how the entries failed. The run folder is
kept (`--out`, default out/bench-multi-turn-<model>-<style>), so a second invocation resumes and
only re-scores.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bfcl" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    parser.add_argument("--n", type=int, default=10, help="entries of multi_turn_base (BFCL order)")
    parser.add_argument("--style", default="prompting", choices=("prompting", "fc"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from callforge.evaluate import EvalConfig, Mode, evaluate_model

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", args.model)
    out = args.out or REPO / "out" / f"bench-multi-turn-{slug}-{args.style}"
    config = EvalConfig(
        model=args.model,
        data=args.data,
        style=args.style,
        categories=("multi_turn_base",),
        limit=args.n,
        max_tokens=args.max_tokens,
        out=out,
    )
    started = time.monotonic()
    last = [0.0]

    def progress(state: object) -> None:
        now = time.monotonic()
        if now - last[0] >= 30:
            last[0] = now
            print(f"  {getattr(state, 'done', '?')}/{getattr(state, 'total', '?')} entries, {now - started:.0f} s", flush=True)

    report = evaluate_model(config, progress=progress)
    rows = [json.loads(line) for f in sorted((out / "results").glob("*.jsonl")) for line in f.open() if line.strip()]
    bfcl = report.scores[Mode.BFCL]
    (category,) = bfcl.categories.values()
    failures = Counter()
    for path in (out / "scores" / "bfcl" / "failures").glob("*.jsonl"):
        for line in path.open():
            failures[json.loads(line).get("code", "?")] += 1
    steps = [r.get("steps") or 0 for r in rows]
    print(f"model {report.model}, style {args.style}, {len(rows)} multi_turn_base entries")
    print(f"accuracy (BFCL rules): {category.correct}/{category.total} = {100 * category.accuracy:.1f}%")
    print(f"wall: {report.wall_s:.0f} s this session ({report.wall_s / max(1, report.sent):.1f} s per entry run now; "
          f"{report.resumed} resumed)")
    print(f"model replies per entry: mean {sum(steps) / max(1, len(steps)):.1f}, max {max(steps, default=0)}; "
          f"force-terminated: {sum(r.get('parse') == 'force_terminated' for r in rows)}; "
          f"refused (context): {sum(str(r.get('parse', '')).startswith('rejected') for r in rows)}")
    print(f"tokens: {sum(r['input_token_count'] for r in rows)} prompt, {sum(r['output_token_count'] for r in rows)} "
          "generated (all entries in the folder)")
    print(f"failures by code: {dict(failures)}")


if __name__ == "__main__":
    main()
