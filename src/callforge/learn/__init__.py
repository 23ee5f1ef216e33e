"""Learning signal from a run: refinement trajectories, preference pairs and model-aware selection.

A run's rejected dialogs are a second harvest. `refine` replays each refinable one from its
failing step with the verifier's feedback as an observation and keeps the verified corrections
("wrong -> feedback -> right"); `preference_pairs` turns trajectories and verified dialogs into DPO
pairs labelled with the verifier's failure code; `select` keeps the dialogs a target model still
gets wrong (ToolACE-R). See docs/learn.md.
"""

from callforge.learn.feedback import FailedStep, failed_step, feedback_messages, trajectory_messages
from callforge.learn.mutate import MUTATIONS, Variant, failing_variant
from callforge.learn.pairs import preference_pairs
from callforge.learn.refine import RefineConfig, RefineProgress, RefineReport, refine, refine_async
from callforge.learn.select import (
    SelectConfig,
    SelectProgress,
    SelectReport,
    select,
    select_async,
    step_cases,
)

__all__ = [
    "MUTATIONS",
    "FailedStep",
    "RefineConfig",
    "RefineProgress",
    "RefineReport",
    "SelectConfig",
    "SelectProgress",
    "SelectReport",
    "Variant",
    "failed_step",
    "failing_variant",
    "feedback_messages",
    "preference_pairs",
    "refine",
    "refine_async",
    "select",
    "select_async",
    "step_cases",
    "trajectory_messages",
]
