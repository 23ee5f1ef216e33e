"""The rule layer: cheap, deterministic checks, one small class per rule, each with stable codes.

`RuleStage` runs every check on a dialog and keeps every failing verdict (not just the first), so a
rejected dialog says all that is wrong with it. Add a rule by passing your own `Check` objects.
"""

from __future__ import annotations

from collections.abc import Sequence

from callforge.core import Dialog, Verdict
from callforge.verify.record import StageResult
from callforge.verify.rules.answer import FinalAnswerCheck
from callforge.verify.rules.base import CallSite, Check, DialogView
from callforge.verify.rules.calls import ArgumentsCheck, DuplicateCallCheck, KnownFunctionCheck
from callforge.verify.rules.claims import ClaimedActionCheck
from callforge.verify.rules.contradict import ContradictionCheck
from callforge.verify.rules.grounding import GroundingCheck
from callforge.verify.rules.reasoning import ReasoningCheck
from callforge.verify.rules.scenario import ScenarioCheck, same_value
from callforge.verify.rules.slots import ParallelCoverageCheck, SwapCheck
from callforge.verify.rules.structure import ReadErrorsCheck, StructureCheck


def default_checks() -> list[Check]:
    """Every built-in rule, cheapest first."""
    return [
        ReadErrorsCheck(),
        StructureCheck(),
        KnownFunctionCheck(),
        ArgumentsCheck(),
        DuplicateCallCheck(),
        ReasoningCheck(),
        ScenarioCheck(),
        GroundingCheck(),
        ContradictionCheck(),
        SwapCheck(),
        ParallelCoverageCheck(),
        FinalAnswerCheck(),
        ClaimedActionCheck(),
    ]


def rule_codes(checks: Sequence[Check] | None = None) -> list[str]:
    """Every code the given (default) checks can emit, for docs and funnels."""
    return [code for check in (checks or default_checks()) for code in check.codes]


class RuleStage:
    """The rules as a cascade stage. Synchronous underneath: `run` is what a tight loop calls."""

    name = "rules"

    def __init__(self, checks: Sequence[Check] | None = None, *, skip: Sequence[str] = ()) -> None:
        """`skip` drops checks by name (`grounding`, `answer` ...) for data where a rule does not apply."""
        chosen = list(checks) if checks is not None else default_checks()
        unknown = set(skip) - {c.name for c in chosen}
        if unknown:
            from callforge.core import ConfigError

            names = ", ".join(c.name for c in chosen)
            raise ConfigError(f"unknown rule(s) to skip: {', '.join(sorted(unknown))}; the rules are: {names}")
        self.checks = [c for c in chosen if c.name not in skip]

    def judge(self, dialog: Dialog) -> list[Verdict]:
        """Every failing and every unsure verdict of every check."""
        view = DialogView.of(dialog)
        out: list[Verdict] = []
        for check in self.checks:
            out.extend(check.check(view))
        return out

    def run(self, dialog: Dialog) -> list[Verdict]:
        """Every failing verdict of every check (the unsure ones left out: they reject nothing)."""
        return [v for v in self.judge(dialog) if not v.ok]

    async def check(self, dialog: Dialog) -> StageResult:
        """The Stage protocol: failing and unsure verdicts, wrapped in a StageResult."""
        return StageResult(stage=self.name, verdicts=tuple(self.judge(dialog)))


__all__ = [
    "ArgumentsCheck",
    "CallSite",
    "Check",
    "ClaimedActionCheck",
    "ContradictionCheck",
    "DialogView",
    "DuplicateCallCheck",
    "FinalAnswerCheck",
    "GroundingCheck",
    "KnownFunctionCheck",
    "ParallelCoverageCheck",
    "ReadErrorsCheck",
    "ReasoningCheck",
    "RuleStage",
    "ScenarioCheck",
    "StructureCheck",
    "SwapCheck",
    "default_checks",
    "rule_codes",
    "same_value",
]
