"""Verifiable rewards for RL on tool calls, in the shape TRL's GRPOTrainer takes, built on evaluate and execute.

`make_reward(mix, mode=..., executor=..., environment=...)` gives a reward function:
`reward(completions, **dataset_columns) -> list[float | None]`, which TRL calls with the completions
(text or chat messages) and every dataset column; `reward.results(...)` gives the same scores as
`RewardResult`s, each with a stable `<component>.<reason>` code and its evidence. Components:
`format` (the completion is calls and nothing else, valid by verify's schema rules), `exact` (BFCL-
exact or semantic match against the row's reference calls), `execution` (the calls run and return
what the reference returns), `end_state` (the calls leave a stateful environment where the reference
leaves it), and their weighted `mix`. The dataset columns are documented in `callforge.reward.row`
and docs/reward.md. `run_suite()` is the hack suite: adversarial completions that must earn no more
than a wrong answer. Importing this package loads neither torch nor trl.
"""

from callforge.reward.components import (
    COMPONENTS,
    DEFAULT_WEIGHTS,
    EndStateReward,
    EnvironmentFactory,
    ExactReward,
    ExecutionReward,
    FormatReward,
    MixReward,
    Reward,
    ToolExecutor,
    make_reward,
    parse_mix,
)
from callforge.reward.decode import MAX_CHARS, decode_completion
from callforge.reward.files import ComponentSummary, ScoreReport, score_files
from callforge.reward.record import Decoded, RewardResult, Shape
from callforge.reward.row import COLUMNS, RewardRow, read_row, rows_from_columns
from callforge.reward.suite import CASES, HackCase, SuiteOutcome, SuiteReport, run_suite

__all__ = [
    "CASES",
    "COLUMNS",
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "MAX_CHARS",
    "ComponentSummary",
    "Decoded",
    "EndStateReward",
    "EnvironmentFactory",
    "ExactReward",
    "ExecutionReward",
    "FormatReward",
    "HackCase",
    "MixReward",
    "Reward",
    "RewardResult",
    "RewardRow",
    "ScoreReport",
    "Shape",
    "SuiteOutcome",
    "SuiteReport",
    "ToolExecutor",
    "decode_completion",
    "make_reward",
    "parse_mix",
    "read_row",
    "rows_from_columns",
    "run_suite",
    "score_files",
]
