"""Score function-calling outputs: BFCL-exact or semantic, per category, with BFCL's summaries.

`evaluate(...)` scores result files; `evaluate_model(backend, ...)` runs a model live and scores it; `make_scorer(mode, style).score(case, output)` scores one
output; `load_bfcl_suite(...)` reads BFCL data into Cases.
"""

from callforge.evaluate.category import SINGLE_TURN, Category, Group, Kind, Language
from callforge.evaluate.check import Mode, Scorer, Style, make_scorer, score_output
from callforge.evaluate.evaluator import EvalReport, Judged, evaluate, write_report
from callforge.evaluate.live import LiveProgress, LiveReport, evaluate_model
from callforge.evaluate.match.codes import BFCL_ERROR_TYPES, bfcl_error_type
from callforge.evaluate.results import Result, read_results
from callforge.evaluate.scores import OVERALL_WEIGHTS, CategoryScore, GroupScore, group_scores
from callforge.evaluate.suites import load_bfcl_suite

__all__ = [
    "BFCL_ERROR_TYPES",
    "OVERALL_WEIGHTS",
    "SINGLE_TURN",
    "Category",
    "CategoryScore",
    "EvalReport",
    "Group",
    "GroupScore",
    "Judged",
    "Kind",
    "Language",
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
    "load_bfcl_suite",
    "make_scorer",
    "read_results",
    "score_output",
    "write_report",
]
