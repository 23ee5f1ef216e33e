"""Times BFCL's own multi-turn checker on the conformance records; run by multi_turn_speed.py inside .venv-bench.

    .venv-bench/bin/python bench/_bfcl_mt_peer.py <shared/bfcl> <records.jsonl> [repeat]

Only glue lives here: it imports BFCL's published package (bfcl-eval, Apache-2.0, installed into
the bench venv, never vendored) and, per record, takes the steps `bfcl evaluate` takes for a
multi-turn result (eval_runner._evaluate_single_multi_turn_entry, whose module needs more of
BFCL's dependencies than the bench venv has): the inference-error and turn-count checks, each
step through the handler's `decode_execute` (FC: `convert_to_function_call`, prompting:
`default_decode_execute_prompting`), failed and empty steps dropped, then `multi_turn_checker`.

BFCL caches simulator instances in multi_turn_utils' module globals under
`{model}_{entry id}_{class}_instance` and never frees them, so scoring an entry a second time in
one process would resume from the state the first left. Every record therefore runs under its own
model name, and the instances it created are dropped once it is scored (inside the timed loop, as
callforge drops its environments), so each record starts fresh and memory stays flat.

It prints one JSON object: import and load times, the best-of-N checking time, and per record
[valid, error_type].
"""

from __future__ import annotations

import gc
import json
import sys
import time
import types
from pathlib import Path


def _install_stub() -> None:
    """Stand in for BFCL's model registry, whose import pulls in every provider SDK."""
    import bfcl_eval
    import bfcl_eval.constants

    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = {}  # type: ignore[attr-defined]
    sys.modules["bfcl_eval.constants.model_config"] = stub
    del bfcl_eval


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    shared, records_path = Path(sys.argv[1]), Path(sys.argv[2])
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    t0 = time.perf_counter()
    _install_stub()
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_utils
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import is_empty_execute_response
    from bfcl_eval.model_handler.utils import convert_to_function_call, default_decode_execute_prompting

    import_s = time.perf_counter() - t0

    # What `bfcl evaluate` reads for multi-turn: the question files (id, involved_classes,
    # initial_config) and the ground truth, by id.
    t1 = time.perf_counter()
    data = shared / "data"
    prompts: dict[str, dict] = {}
    truths: dict[str, list] = {}
    for path in sorted(data.glob("BFCL_v4_multi_turn_*.json")):
        for row in _rows(path):
            prompts[row["id"]] = row
        for row in _rows(data / "possible_answer" / path.name):
            truths[row["id"]] = row["ground_truth"]
    load_s = time.perf_counter() - t1
    records = _rows(records_path)

    decoders = {"fc": convert_to_function_call, "prompting": default_decode_execute_prompting}
    cache = vars(multi_turn_utils)  # where execute_multi_turn_func_call keeps its instances
    baseline = set(cache)
    serial = 0

    def score_one(r: dict) -> list:
        nonlocal serial
        serial += 1
        model_name = f"peer{serial}"  # a fresh cache key for every record of every repetition
        output, truth, entry = r["model_output"], truths[r["id"]], prompts[r["id"]]
        if type(output) is not list:
            return [False, "multi_turn:inference_error"]
        if len(output) != len(truth):
            return [False, "multi_turn:force_terminated"]
        decode = decoders[r.get("style", "fc")]
        decoded: list[list[list[str]]] = []
        for turn in output:
            steps = []
            for step in turn:
                try:
                    calls = decode(step)
                except Exception:
                    continue  # BFCL ignores a step that does not decode (the model talking)
                if not is_empty_execute_response(calls):
                    steps.append(calls)
            decoded.append(steps)
        result = multi_turn_checker(decoded, truth, entry, r["category"], model_name)
        for key in [k for k in cache if k not in baseline]:
            del cache[key]
        return [True, None] if result["valid"] else [False, result["error_type"]]

    gc.freeze()  # the same treatment callforge gets after loading its entries
    check_s = float("inf")
    verdicts: list[list] = []
    for _ in range(repeat):  # best of N, as for callforge
        t2 = time.perf_counter()
        verdicts = [score_one(r) for r in records]
        check_s = min(check_s, time.perf_counter() - t2)
    print(
        json.dumps(
            {
                "import_s": import_s,
                "load_s": load_s,
                "check_s": check_s,
                "n": len(records),
                "verdicts": verdicts,
            }
        )
    )


if __name__ == "__main__":
    main()
