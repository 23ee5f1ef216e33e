"""What the cascade records about a dialog: one StageResult per stage run, then the whole Checked record."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import Dialog, Verdict


class StageResult(BaseModel):
    """One stage's judgement of one dialog: every failing Verdict it found (empty when it passed).

    `skipped` says the stage had nothing to judge (no call it could run); `meta` keeps what the stage wants on the record, such as the judge's prompt and raw
    answers or the execution observations, so a rejection can be audited later. `settles` says the
    stage ruled on every unsure verdict of the stages before it (a judge asked about them), so
    those doubts are closed: they count as settled, not as unsure.
    """

    model_config = ConfigDict(frozen=True)

    stage: str
    verdicts: tuple[Verdict, ...] = ()
    skipped: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)
    settles: bool = False

    @property
    def ok(self) -> bool:
        """A stage passes when none of its verdicts failed."""
        return all(v.ok for v in self.verdicts)

    @property
    def failures(self) -> tuple[Verdict, ...]:
        """The failing verdicts, in the order the stage found them."""
        return tuple(v for v in self.verdicts if not v.ok)

    @property
    def unsure(self) -> tuple[Verdict, ...]:
        """The unsure verdicts: findings the stage could neither prove nor refute."""
        return tuple(v for v in self.verdicts if v.unsure)


class Checked(BaseModel):
    """A dialog with the cascade's judgement: accepted only if every stage it reached passed.

    The cascade stops at the first stage that fails (cheap checks first), so a rejected dialog
    carries every verdict of that stage and of the ones before it, and none of the later ones.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    ok: bool
    stages: tuple[StageResult, ...] = ()
    dialog: Dialog

    @property
    def failures(self) -> tuple[Verdict, ...]:
        """Every failing verdict, stage by stage."""
        return tuple(v for stage in self.stages for v in stage.failures)

    @property
    def unsure(self) -> tuple[Verdict, ...]:
        """Every unsure verdict no later stage settled, stage by stage (what a person should look at)."""
        return open_doubts(self.stages)

    @property
    def rejected_by(self) -> str | None:
        """The stage that rejected the dialog, or None when it was accepted."""
        return next((s.stage for s in self.stages if not s.ok), None)


@runtime_checkable
class Stage(Protocol):
    """One layer of the cascade (rules, execution, judge): a name and one async method.

    A stage never raises for a bad dialog: every defect becomes a failing Verdict. It may raise
    `CallforgeError` for a problem of the setup (a dead judge endpoint after retries), which the
    cascade reports without losing the dialogs already written.
    """

    name: str

    async def check(self, dialog: Dialog) -> StageResult:
        """Judge one dialog."""
        ...


def open_doubts(stages: tuple[StageResult, ...] | list[StageResult]) -> tuple[Verdict, ...]:
    """The unsure verdicts of the stages after the last one that settled the doubts before it."""
    start = max((i + 1 for i, stage in enumerate(stages) if stage.settles), default=0)
    return tuple(v for stage in stages[start:] for v in stage.unsure)


@runtime_checkable
class SettlesDoubts(Protocol):
    """A stage that can rule on what earlier stages were unsure about (the judge asks about each doubt).

    The cascade calls `settle` instead of `check` when earlier stages left unsure verdicts; the
    result has `settles=True`, and a doubt the stage finds wrong is one of its failures.
    """

    async def settle(self, dialog: Dialog, doubts: tuple[Verdict, ...]) -> StageResult:
        """Judge one dialog, answering for each doubt too."""
        ...


@runtime_checkable
class RemembersAccepted(Protocol):
    """A stage whose verdict depends on what was accepted before (dedup): a resumed run replays those to it."""

    def remember(self, dialog: Dialog, id: str) -> None:
        """Note a dialog accepted earlier (by this run's earlier sessions)."""
        ...
