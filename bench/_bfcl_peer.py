"""Times BFCL's own checker on the conformance records; run by eval_speed.py inside .venv-bench.

Only glue lives here: it imports BFCL's published package (bfcl-eval, Apache-2.0, installed
into the bench venv, never vendored) and calls its decoder and checker the way `bfcl evaluate`
does for a result file. Once loaded it prints `ready` and then serves passes: for each line
`pass` on stdin it scores every record once and prints one JSON object with that pass's wall and
CPU seconds; `done` prints the verdicts and ends. eval_speed.py alternates these passes with
its own, so that both sides meet the same load on a busy machine.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import types
from pathlib import Path


def _install_stub() -> None:
    import bfcl_eval
    import bfcl_eval.constants

    class _Config:
        def __init__(self, underscore_to_dot: bool) -> None:
            self.underscore_to_dot = underscore_to_dot

    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = {"prompting": _Config(False), "fc": _Config(True)}  # type: ignore[attr-defined]
    sys.modules["bfcl_eval.constants.model_config"] = stub
    del bfcl_eval


def main() -> None:
    shared, records_path = Path(sys.argv[1]), Path(sys.argv[2])
    t0 = time.perf_counter()
    _install_stub()
    from bfcl_eval.constants.enums import Language, ReturnFormat
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
    from bfcl_eval.model_handler.utils import default_decode_ast_prompting

    import_s = time.perf_counter() - t0

    data = shared / "data"
    functions: dict[str, list] = {}
    answers: dict[str, list] = {}
    for path in data.glob("BFCL_v4_*.json"):
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                functions[row["id"]] = row.get("function", [])
        truth = data / "possible_answer" / path.name
        if truth.exists():
            for line in truth.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    answers[row["id"]] = row["ground_truth"]
    records = [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()]

    def language(category: str) -> object:
        if category == "simple_java":
            return Language.JAVA
        if category == "simple_javascript":
            return Language.JAVASCRIPT
        return Language.PYTHON

    def decode(output: object, style: str, lang: object) -> list:
        if style == "fc":
            return [{name: json.loads(item[name])} for item in output for name in [next(iter(item))]]  # type: ignore[union-attr]
        return default_decode_ast_prompting(output, ReturnFormat(lang.value))  # type: ignore[attr-defined]

    def is_call_format(decoded: object) -> bool:
        return isinstance(decoded, list) and all(
            type(i) is dict and len(i) == 1 and type(next(iter(i.values()))) is dict for i in decoded
        )

    def score_all() -> list[bool]:
        verdicts: list[bool] = []
        for r in records:
            score_one(r, verdicts)
        return verdicts

    def score_one(r: dict, verdicts: list[bool]) -> None:
        cat, style = r["category"], r["style"]
        lang = language(cat)
        if cat in ("irrelevance", "live_irrelevance", "live_relevance"):
            try:
                d = decode(r["model_output"], style, Language.PYTHON)
                has_call = is_call_format(d) and len(d) > 0
            except Exception:
                has_call = False
            verdicts.append(not has_call if "irrelevance" in cat else has_call)
            return
        try:
            d = decode(r["model_output"], style, lang)
        except Exception:
            verdicts.append(False)
            return
        if not is_call_format(d):
            verdicts.append(False)
            return
        result = ast_checker(functions[r["id"]], d, answers[r["id"]], lang, cat, style)
        verdicts.append(bool(result["valid"]))

    gc.freeze()  # the same treatment callforge gets after loading its suite
    print(json.dumps({"ready": True, "import_s": import_s, "n": len(records)}), flush=True)
    verdicts: list[bool] = []
    for line in sys.stdin:
        if line.strip() != "pass":
            break
        wall, cpu = time.perf_counter(), time.process_time()
        verdicts = score_all()
        print(json.dumps({"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}), flush=True)
    print(json.dumps({"verdicts": verdicts}), flush=True)


if __name__ == "__main__":
    main()
