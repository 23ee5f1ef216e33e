"""How hard a dialog is, measured from the dialog and its tools alone, and how a target model did on it.

`Difficulty` is what `callforge.verify.measure_difficulty` returns and what a generated dialog
carries in `Provenance.difficulty`: the raw features (calls, nesting depth, parallel width,
distractors and their similarity to the right tool, parameters and optional ones, user turns,
implicit values), a score in [0, 1] and a level. `TargetAccuracy` is what `callforge select`
observed a target model do on a dialog (`Provenance.target`), so the two join on one record.
The weights and cut points are in docs/generate.md ("Difficulty").
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Level(StrEnum):
    """A coarse difficulty: what `generate --difficulty` asks for and what a dialog measures as."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"

    @property
    def rank(self) -> int:
        """0, 1, 2 from easy to hard: the order a curriculum exports in."""
        return _ORDER.index(self)

    def up(self) -> Level:
        """One level harder (hard stays hard): what a focused run asks for beyond a failure."""
        return _ORDER[min(self.rank + 1, len(_ORDER) - 1)]


_ORDER = (Level.EASY, Level.MEDIUM, Level.HARD)

LEVEL_CUTS: tuple[float, float] = (0.1, 0.25)
"""Score cut points: below the first is easy, from the second on hard, medium between. Chosen so the
default mix over the example tools measures about a third easy, a third medium, a third hard
(docs/generate.md, "Difficulty": a measured histogram)."""


def level_of(score: float) -> Level:
    """The level a score falls in, by `LEVEL_CUTS`."""
    low, high = LEVEL_CUTS
    if score < low:
        return Level.EASY
    return Level.MEDIUM if score < high else Level.HARD


class DifficultyFeatures(BaseModel):
    """What makes a dialog hard, counted: each feature is one thing a model must get right."""

    model_config = ConfigDict(frozen=True)

    calls: int = Field(default=0, ge=0)
    """Calls the assistant must make (a call planted to fail, error recovery's, is not one)."""
    depth: int = Field(default=0, ge=0)
    """Nesting depth: the longest chain of calls whose arguments come from an earlier call's output (0: none does)."""
    width: int = Field(default=0, ge=0)
    """Parallel width: the most calls in one assistant message."""
    distractors: int = Field(default=0, ge=0)
    """Tools offered but not called."""
    similarity: float = Field(default=0.0, ge=0.0, le=1.0)
    """The nearest distractor's name similarity to a called tool (0: none, 1: a look-alike)."""
    parameters: int = Field(default=0, ge=0)
    """Arguments given over all calls."""
    optional: int = Field(default=0, ge=0)
    """Of `parameters`, those the tool does not require."""
    turns: int = Field(default=0, ge=0)
    """User turns."""
    implicit: int = Field(default=0, ge=0)
    """Argument values the user's text does not state as written and no earlier tool output gives (a date for
    "next Friday", a capital for "the Portuguese capital"): values the model must infer."""


class Difficulty(BaseModel):
    """A dialog's measured difficulty: its features, a score in [0, 1] and the level the score falls in."""

    model_config = ConfigDict(frozen=True)

    features: DifficultyFeatures
    score: float = Field(ge=0.0, le=1.0)
    level: Level


class TargetAccuracy(BaseModel):
    """What a target model got right on one dialog's steps (`callforge select`): joins with `Difficulty`."""

    model_config = ConfigDict(frozen=True)

    model: str
    steps: int = Field(ge=0)
    correct: int = Field(ge=0)

    @property
    def accuracy(self) -> float:
        """Correct steps per step (1.0 for a dialog with no step to ask)."""
        return self.correct / self.steps if self.steps else 1.0

    @property
    def wrong(self) -> int:
        """Steps the model got wrong: a focused run weighs the dialog's tools and kind by these."""
        return self.steps - self.correct
