"""Score function-calling outputs: BFCL-exact or semantic, per category, with BFCL's summaries.

`score(results=..., data=...)` scores saved outputs; `evaluate_model(model=..., out=...)` runs a
model live (a job of the runner) and scores it in both modes; `make_scorer(mode, style).score(case,
output)` scores one output. BFCL data folders are read into Cases by `callforge.formats`.
BFCL's multi-turn categories are read by `load_multi_turn` and judged by `check_multi_turn`, which
runs the model's and the ground truth's calls on BFCL's simulators (`callforge.execute`);
`run_multi_turn_entry` drives a live model through one entry, as `evaluate_model` does for each.
"""

from callforge.evaluate.check import Mode, Scorer, Style, make_scorer
from callforge.evaluate.evaluator import EvalReport, ScoreConfig, score
from callforge.evaluate.live import (
    EvalConfig,
    LiveProgress,
    LiveReport,
    ResultRecord,
    eval_folder_name,
    evaluate_model,
    evaluate_model_async,
)
from callforge.evaluate.match.codes import BFCL_ERROR_TYPES, CODES_BY_BFCL_ERROR_TYPE, bfcl_error_type
from callforge.evaluate.multi_turn import (
    END_STATE_CODES,
    MULTI_TURN_ERROR_TYPES,
    HeldOut,
    MultiTurnEntry,
    check_end_state,
    check_multi_turn,
    decode_turns,
    dialog_output,
    diverged_turn,
    episode_entry,
    load_multi_turn,
)
from callforge.evaluate.multi_turn_live import STEP_LIMIT, EntryRun, run_multi_turn_entry
from callforge.evaluate.scores import OVERALL_WEIGHTS, CategoryScore, GroupScore
from callforge.evaluate.stored import result_value
from callforge.evaluate.trials import pass_hat_k, pass_hat_table

__all__ = [
    "BFCL_ERROR_TYPES",
    "CODES_BY_BFCL_ERROR_TYPE",
    "END_STATE_CODES",
    "MULTI_TURN_ERROR_TYPES",
    "OVERALL_WEIGHTS",
    "STEP_LIMIT",
    "CategoryScore",
    "EntryRun",
    "EvalConfig",
    "EvalReport",
    "GroupScore",
    "HeldOut",
    "LiveProgress",
    "LiveReport",
    "Mode",
    "MultiTurnEntry",
    "ResultRecord",
    "ScoreConfig",
    "Scorer",
    "Style",
    "bfcl_error_type",
    "check_end_state",
    "check_multi_turn",
    "decode_turns",
    "dialog_output",
    "diverged_turn",
    "episode_entry",
    "eval_folder_name",
    "evaluate_model",
    "evaluate_model_async",
    "load_multi_turn",
    "make_scorer",
    "pass_hat_k",
    "pass_hat_table",
    "result_value",
    "run_multi_turn_entry",
    "score",
]
