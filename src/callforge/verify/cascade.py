"""The cascade: stages in order, cheapest first; a dialog goes on only while it passes.

Rules cost microseconds, execution milliseconds, a judge seconds and tokens; running them in that
order and stopping at the first failing stage is what makes verifying a large dataset affordable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from callforge.core import ConfigError, Dialog, Verdict
from callforge.llm import Closable
from callforge.verify.record import Checked, RemembersAccepted, SettlesDoubts, Stage, StageResult
from callforge.verify.rules import RuleStage

UnsurePolicy = Literal["accept", "reject"]
"""What an unsure verdict means at the end of the cascade: keep the dialog (counted apart) or reject it."""


class Cascade:
    """Runs `stages` in order on each dialog and records every stage it reached."""

    def __init__(self, stages: Sequence[Stage], *, unsure: UnsurePolicy = "accept") -> None:
        """Stages run in the order given; names must be unique (they key the funnel).

        `unsure` says what an unsure verdict means when no later stage settles it: `accept` keeps
        the dialog (counted apart as unsure), `reject` treats it as a failure (the strict choice
        for data no judge will see).
        """
        if unsure not in ("accept", "reject"):
            raise ConfigError(f"`unsure` must be 'accept' or 'reject', got {unsure!r}")
        self.unsure: UnsurePolicy = unsure
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ConfigError(f"stage names must be unique, got {', '.join(names)}")
        if not stages:
            raise ConfigError("a cascade needs at least one stage (rules, exec, judge)")
        self.stages = list(stages)

    @property
    def names(self) -> list[str]:
        """The stage names, in order."""
        return [s.name for s in self.stages]

    @property
    def rules_only(self) -> bool:
        """True when every stage is a rule stage, so `check_sync` can skip the event loop."""
        return all(isinstance(s, RuleStage) for s in self.stages)

    @property
    def remembers(self) -> bool:
        """True when a stage keeps what was accepted before (dedup), so a resumed run must tell it."""
        return any(isinstance(s, RemembersAccepted) for s in self.stages)

    async def aclose(self) -> None:
        """Close every stage that holds something open (an execution engine's servers, a judge's client)."""
        for stage in self.stages:
            if isinstance(stage, Closable):
                await stage.aclose()

    def remember(self, dialog: Dialog, id: str) -> None:
        """Tell stages that remember accepted dialogs (dedup) about one accepted before, e.g. by a killed run."""
        for stage in self.stages:
            if isinstance(stage, RemembersAccepted):
                stage.remember(dialog, id)

    async def check(self, dialog: Dialog, id: str | None = None) -> Checked:
        """Judge one dialog; stops at the first stage that rejects it.

        Unsure verdicts travel on: a later stage that settles doubts (the judge) is asked about
        each of them, and only doubts that no stage settles meet the `unsure` policy.
        """
        results: list[StageResult] = []
        doubts: tuple[Verdict, ...] = ()
        for n, stage in enumerate(self.stages):
            if doubts and isinstance(stage, SettlesDoubts):
                result = await stage.settle(dialog, doubts)
                doubts = ()
            else:
                result = await stage.check(dialog)
            if not any(isinstance(later, SettlesDoubts) for later in self.stages[n + 1 :]):
                result = self._settled(result)
            doubts += result.unsure
            results.append(result)
            if not result.ok:
                break
        return _checked(dialog, id, results)

    def check_sync(self, dialog: Dialog, id: str | None = None) -> Checked:
        """The rules-only path without asyncio: what the throughput benchmark measures."""
        results: list[StageResult] = []
        for stage in self.stages:
            if not isinstance(stage, RuleStage):
                raise ConfigError(f"stage {stage.name!r} is not a rule stage; use `await cascade.check(...)`")
            result = self._settled(StageResult(stage=stage.name, verdicts=tuple(stage.judge(dialog))))
            results.append(result)
            if not result.ok:
                break
        return _checked(dialog, id, results)

    def _settled(self, result: StageResult) -> StageResult:
        """With `unsure="reject"` and no judge after this stage, an unsure verdict becomes a failure of the same code."""
        if self.unsure == "accept" or not result.unsure:
            return result
        verdicts = tuple(
            v.model_copy(update={"ok": False, "unsure": False}) if v.unsure else v for v in result.verdicts
        )
        return result.model_copy(update={"verdicts": verdicts})


def _checked(dialog: Dialog, id: str | None, results: list[StageResult]) -> Checked:
    ok = all(r.ok for r in results)
    return Checked(id=id or dialog.meta.id or "", ok=ok, stages=tuple(results), dialog=dialog)
