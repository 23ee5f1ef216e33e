"""Score function-calling outputs: BFCL-exact or semantic, per category, with BFCL's summaries.

`evaluate(...)` scores result files; `evaluate_model(backend, ...)` runs a model live and scores it; `make_scorer(mode, style).score(case, output)` scores one
output. BFCL data folders are read into Cases by `callforge.formats.load_bfcl_suite`.
"""

from callforge.evaluate.check import Mode, Scorer, Style, make_scorer, score_output
from callforge.evaluate.evaluator import EvalReport, Judged, evaluate, write_report
from callforge.evaluate.live import LiveProgress, LiveReport, evaluate_model
from callforge.evaluate.match.codes import BFCL_ERROR_TYPES, bfcl_error_type
from callforge.evaluate.results import Result, read_results
from callforge.evaluate.scores import OVERALL_WEIGHTS, CategoryScore, GroupScore, group_scores

__all__ = [
    "BFCL_ERROR_TYPES",
    "OVERALL_WEIGHTS",
    "CategoryScore",
    "EvalReport",
    "GroupScore",
    "Judged",
    "LiveProgress",
    "LiveReport",
    "Mode",
    "Result",
    "Scorer",
    "Style",
    "bfcl_error_type",
    "evaluate",
    "evaluate_model",
    "group_scores",
    "make_scorer",
    "read_results",
    "score_output",
    "write_report",
]
