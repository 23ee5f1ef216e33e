"""Inference strategies on BFCL single-turn categories, the same cases for each: accuracy, tokens, time.

    python bench/agent_strategies.py [--model local:qwen2.5-coder-0.5b] [--limit 20]
        [--strategies direct,self_refine,when_to_call,when_to_call:probe=confidence]
        [--categories simple_python,multiple,parallel,irrelevance,live_simple]

Each strategy runs as `callforge eval run --agent STRATEGY --style fc` does: one strategy step per
case (nothing is executed: BFCL's cases have no implementations), scored in both modes. Every run
folder is kept under `--out` (default out/bench-agent-<model>), so a second invocation resumes and
only re-scores. The strategies share one response cache (`--cache`, default `responses.sqlite` in the
out folder): their first request on a case is usually the same one (self_refine and when_to_call
start from the reply direct gives), and at temperature 0 it is asked once. A cached request counts
the tokens and seconds it took when it was made, so each strategy's cost reads as if it had run
alone; `--cache none` asks every request. The table gives, per strategy, the accuracy per category
(BFCL mode; semantic in brackets), then the tokens and seconds per case.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "bfcl" / "data"
CATEGORIES = "simple_python,multiple,parallel,irrelevance,live_simple"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    parser.add_argument("--strategies", default="direct,self_refine,when_to_call,when_to_call:probe=confidence")
    parser.add_argument("--categories", default=CATEGORIES)
    parser.add_argument("--limit", type=int, default=20, help="cases per category (BFCL order)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--cache", default=None, help="response cache file shared by the strategies, or 'none'")
    args = parser.parse_args()

    from callforge.agent import StrategyBackend, make_strategy
    from callforge.evaluate import EvalConfig, Mode, evaluate_model
    from callforge.llm import make_backend

    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", args.model)
    root = args.out or REPO / "out" / f"bench-agent-{slug}"
    categories = tuple(c.strip() for c in args.categories.split(",") if c.strip())
    cache = None if args.cache == "none" else (args.cache or root / "responses.sqlite")
    rows = []
    for name in [s.strip() for s in args.strategies.split(",") if s.strip()]:
        backend = StrategyBackend(make_backend(args.model, cache=cache), make_strategy(name), close=True)
        out = root / re.sub(r"[^A-Za-z0-9._-]+", "-", name)
        report = evaluate_model(
            EvalConfig(
                model=backend, data=args.data, style="fc", categories=categories, limit=args.limit, out=out, resume=True
            )
        )
        results = [json.loads(line) for f in sorted((out / "results").glob("*.jsonl")) for line in f.open() if line.strip()]
        cases = max(1, len(results))
        tokens = sum(r["input_token_count"] + r["output_token_count"] for r in results)
        latency = sum(r["latency"] for r in results)
        bfcl, semantic = report.scores[Mode.BFCL], report.scores[Mode.SEMANTIC]
        accuracy = {
            c.value: (bfcl.categories[c].accuracy, semantic.categories[c].accuracy) for c in bfcl.categories
        }
        rows.append((name, accuracy, tokens / cases, latency / cases, len(results)))
        print(f"{name}: {len(results)} cases, {report.wall_s:.0f} s this session", flush=True)
    print(f"\nmodel {args.model}, {args.limit} cases per category, style fc")
    header = ["strategy", *categories, "tokens/case", "s/case"]
    print(" | ".join(header))
    for name, accuracy, tokens, seconds, _ in rows:
        cells = [f"{100 * a[0]:.0f}% ({100 * a[1]:.0f}%)" for a in (accuracy.get(c, (0.0, 0.0)) for c in categories)]
        print(" | ".join([name, *cells, f"{tokens:.0f}", f"{seconds:.1f}"]))


if __name__ == "__main__":
    main()
