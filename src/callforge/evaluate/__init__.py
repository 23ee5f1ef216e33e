"""Score function-calling outputs: BFCL-exact or semantic, per category, with BFCL's summaries.

`score(results=..., data=...)` scores saved outputs; `evaluate_model(model=..., out=...)` runs a
model live (a job of the runner) and scores it in both modes; `make_scorer(mode, style).score(case,
output)` scores one output. BFCL data folders are read into Cases by `callforge.formats`.
"""

from callforge.evaluate.check import Mode, Scorer, Style, make_scorer, score_output
from callforge.evaluate.evaluator import EvalReport, Judged, ScoreConfig, score, write_report
from callforge.evaluate.live import (
    EvalConfig,
    LiveProgress,
    LiveReport,
    ResultRecord,
    eval_folder_name,
    evaluate_model,
    evaluate_model_async,
    request_for,
    result_value,
    write_bfcl_results,
)
from callforge.evaluate.match.codes import BFCL_ERROR_TYPES, bfcl_error_type
from callforge.evaluate.results import Result, read_results
from callforge.evaluate.scores import OVERALL_WEIGHTS, CategoryScore, GroupScore, group_scores

__all__ = [
    "BFCL_ERROR_TYPES",
    "OVERALL_WEIGHTS",
    "CategoryScore",
    "EvalConfig",
    "EvalReport",
    "GroupScore",
    "Judged",
    "LiveProgress",
    "LiveReport",
    "Mode",
    "Result",
    "ResultRecord",
    "ScoreConfig",
    "Scorer",
    "Style",
    "bfcl_error_type",
    "eval_folder_name",
    "evaluate_model",
    "evaluate_model_async",
    "group_scores",
    "make_scorer",
    "read_results",
    "request_for",
    "result_value",
    "score",
    "score_output",
    "write_bfcl_results",
    "write_report",
]
