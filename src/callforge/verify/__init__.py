"""Verification: the cascade that keeps only correct dialogs and records why each rejected one failed.

Rules first (microseconds), sandboxed execution next (milliseconds), an LLM judge last (seconds and
tokens). `verify(data=PATH, cascade=CascadeSpec(...), out=...)` (or a `VerifyConfig`) reads any
supported dataset format and writes accepted and rejected records to a Run folder plus a funnel;
`build_cascade(spec)` makes the stages, and a `Cascade` judges one dialog at a time. A `Stage` is
the extension protocol (one async `check`). `calibrate` measures a cascade (and its judge) on the
shipped labelled calibration set. `feedback_messages` words a rejected step's findings for the
model that is to redo it (refinement, the agent's self-refinement). `read_labels` reads the labels a
person gave in `callforge browse`; `VerifyConfig.labels` rejects the dialogs marked bad (`label.bad`).
"""

from callforge.verify.api import VerifyConfig, VerifyProgress, VerifyReport, funnel_of, verify, verify_async
from callforge.verify.calibration import (
    CalibrationCase,
    CalibrationFigures,
    CaseOutcome,
    Rates,
    calibrate,
    calibration_cases,
    measured_figures,
    save_figures,
    stratified,
)
from callforge.verify.cascade import Cascade
from callforge.verify.difficulty import (
    DifficultyHistogram,
    LevelRow,
    dialog_difficulty,
    difficulty_histogram,
    measure_difficulty,
)
from callforge.verify.execution import ExecutionStage
from callforge.verify.feedback import feedback_messages
from callforge.verify.funnel import Funnel, StageCount
from callforge.verify.labels import LABEL_BAD, LABELS, Label, LabelStage, append_label, read_labels
from callforge.verify.record import Checked, RemembersAccepted, SettlesDoubts, Stage, StageResult
from callforge.verify.rules import Check, DialogView, RuleStage, default_checks, rule_codes
from callforge.verify.spec import DEFAULT_JUDGE, STAGE_ORDER, CascadeSpec, StageName, build_cascade

__all__ = [
    "DEFAULT_JUDGE",
    "LABELS",
    "LABEL_BAD",
    "STAGE_ORDER",
    "CalibrationCase",
    "CalibrationFigures",
    "Cascade",
    "CascadeSpec",
    "CaseOutcome",
    "Check",
    "Checked",
    "DialogView",
    "DifficultyHistogram",
    "ExecutionStage",
    "Funnel",
    "Label",
    "LabelStage",
    "LevelRow",
    "Rates",
    "RemembersAccepted",
    "RuleStage",
    "SettlesDoubts",
    "Stage",
    "StageCount",
    "StageName",
    "StageResult",
    "VerifyConfig",
    "VerifyProgress",
    "VerifyReport",
    "append_label",
    "build_cascade",
    "calibrate",
    "calibration_cases",
    "default_checks",
    "dialog_difficulty",
    "difficulty_histogram",
    "feedback_messages",
    "funnel_of",
    "measure_difficulty",
    "measured_figures",
    "read_labels",
    "rule_codes",
    "save_figures",
    "stratified",
    "verify",
    "verify_async",
]
