"""`generate --focus SELECTION`: generate more of what a target model fails, a little harder.

A `callforge select` folder holds every dialog the target model was asked about, each with its
`Provenance.target` (steps asked, steps right) and `Provenance.difficulty`. `read_focus` turns it
into a `Focus`: a weight per tool and per scenario kind, proportional to the steps the model got
wrong on dialogs calling that tool or of that kind, the level those failures typically sit at,
and the model's accuracy per level. A focused run draws its kinds by those weights, keeps the
samples that call failed tools far more often (`steer.FocusedSampler`) and asks for one level
harder than the failures; `--difficulty auto` asks instead for the level where the model's
accuracy is nearest 50% (docs/generate.md, "Focus").
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from callforge.core import ConfigError, Dialog, Level, TargetAccuracy
from callforge.run import RunFolder, is_run_folder
from callforge.verify import DifficultyHistogram, dialog_difficulty, difficulty_histogram


class Focus(BaseModel):
    """What a selection says to generate more of: failed tools and kinds (weights), their level, accuracy per level."""

    model_config = ConfigDict(frozen=True)

    source: str
    model: str
    tools: dict[str, float]
    """Per tool name: the target's wrong steps on dialogs that call it."""
    kinds: dict[str, float]
    """Per scenario kind: the target's wrong steps on dialogs of that kind."""
    failed_level: Level | None
    """The level the wrong steps typically sit at (weighted median; None: the model failed nothing)."""
    levels: DifficultyHistogram
    """Every judged dialog per level, with the target's steps and correct steps (its accuracy per level)."""

    @property
    def harder(self) -> Level:
        """One level above the failures: what a focused run asks for unless told otherwise."""
        return (self.failed_level or Level.MEDIUM).up()

    @property
    def auto(self) -> Level:
        """The level where the target's accuracy is nearest 50% (a tie goes to the harder level)."""
        measured = [
            (abs(a - 0.5), -row.level.rank, row.level)
            for row in self.levels.rows
            if (a := row.accuracy) is not None
        ]
        if not measured:
            raise ConfigError(
                f"{self.source}: no dialog there records the target's steps (Provenance.target); "
                "run `callforge select` with this version first, or give --difficulty easy|medium|hard"
            )
        return min(measured)[2]

    def mix(self, mix: dict[str, float]) -> dict[str, float]:
        """The run's kinds reweighted by failures: kinds of `mix` the target failed, in proportion to the failures."""
        weights = {k: w for k, w in self.kinds.items() if k in mix and w > 0}
        if not weights:
            failed = ", ".join(sorted(self.kinds)) or "none"
            raise ConfigError(
                f"--focus {self.source}: the target failed no kind this run makes (failed kinds: {failed}; "
                f"the run's mix: {', '.join(sorted(mix))}); widen --mix or focus on another selection"
            )
        total = sum(weights.values())
        return {k: w / total for k, w in sorted(weights.items())}


def read_focus(selection: str | Path) -> Focus:
    """Read a `callforge select` output folder into a `Focus` (why: generate what the target model gets wrong)."""
    path = Path(selection)
    if not is_run_folder(path):
        raise ConfigError(f"--focus {path}: not a run folder; give the folder `callforge select --out` wrote")
    folder = RunFolder.of(path)
    manifest = folder.manifest()
    if folder.job != "select":
        raise ConfigError(
            f"--focus {path}: a {folder.job or 'unknown'!r} run, not a `callforge select` output"
        )
    model = str((manifest.get("config") or {}).get("model") or "")
    tools: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    by_level: Counter[Level] = Counter()
    judged: list[Dialog] = []
    for stream in ("accepted", "rejected"):
        for row in folder.records(stream):
            dialog = Dialog.model_validate(row["dialog"])
            target = dialog.meta.target or _target_of(row, model)
            dialog = dialog.model_copy(update={"meta": dialog.meta.model_copy(update={"target": target})})
            judged.append(dialog)
            wrong = target.wrong
            if not wrong:
                continue
            for name in _failed_tools(dialog, row):
                tools[name] += wrong
            kinds[str(dialog.meta.scenario or "unknown")] += wrong
            by_level[dialog_difficulty(dialog).level] += wrong
    return Focus(
        source=str(path),
        model=model,
        tools=dict(sorted(tools.items())),
        kinds=dict(sorted(kinds.items())),
        failed_level=_median(by_level),
        levels=difficulty_histogram(judged),
    )


def _target_of(row: dict[str, Any], model: str) -> TargetAccuracy:
    """An older selection's record (no `Provenance.target`): its steps from the select stage's meta."""
    meta = next((s.get("meta") or {} for s in row.get("stages") or () if s.get("stage") == "select"), {})
    steps = int(meta.get("steps", 0))
    return TargetAccuracy(model=model, steps=steps, correct=max(0, steps - int(meta.get("wrong", 0))))


def _failed_tools(dialog: Dialog, row: dict[str, Any]) -> list[str]:
    """The tools of the steps the target got wrong (every called tool when the record does not say which step)."""
    steps: set[int] = set()
    for stage in row.get("stages") or ():
        for verdict in stage.get("verdicts") or ():
            index = (verdict.get("evidence") or {}).get("message_index")
            if not verdict.get("ok", True) and isinstance(index, int):
                steps.add(index)
    masked = dialog.masked_calls()
    messages = [m for i, m in enumerate(dialog.messages) if not steps or i in steps]
    names = {c.name for m in messages for c in m.tool_calls if c.id not in masked}
    return sorted(names)


def _median(weights: Counter[Level]) -> Level | None:
    total = sum(weights.values())
    seen = 0
    for level in sorted(weights, key=lambda x: x.rank):
        seen += weights[level]
        if 2 * seen >= total:
            return level
    return None
