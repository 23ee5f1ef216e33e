"""Learning signal from a run: refinement trajectories, preference pairs and model-aware selection.

A run's rejected dialogs are a second harvest. `refine` replays each refinable one from its
failing step with the verifier's feedback as an observation and keeps the verified corrections
("wrong -> feedback -> right"); `preference_pairs` turns trajectories and verified dialogs into DPO
pairs labelled with the verifier's failure code, and `rejected_pairs` turns a failed episode's
first diverging turn into one; `select` keeps the dialogs a target model still gets wrong
(ToolACE-R). See docs/learn.md.
"""

from callforge.export import RecordFormat
from callforge.learn.feedback import FailedStep, failed_step
from callforge.learn.pairs import diverged_pair, preference_pairs, rejected_pairs
from callforge.learn.refinement import RefineConfig, RefineProgress, RefineReport, refine, refine_async
from callforge.learn.selection import SelectConfig, SelectProgress, SelectReport, select, select_async

DPO_FORMAT = RecordFormat(preference_pairs, masks=True, counted_by="origin", rejected=rejected_pairs)
"""`callforge export --format dpo`: registered as an export format through the `callforge.export_formats` entry point.

It reads a run's rejected records too: a failed episode gives its `diverged` pair from there.
"""

__all__ = [
    "DPO_FORMAT",
    "FailedStep",
    "RefineConfig",
    "RefineProgress",
    "RefineReport",
    "SelectConfig",
    "SelectProgress",
    "SelectReport",
    "diverged_pair",
    "failed_step",
    "preference_pairs",
    "refine",
    "refine_async",
    "rejected_pairs",
    "select",
    "select_async",
]
