"""The difficulty knob of `generate --difficulty`: what each level asks of the kinds mix, the samplers and the planner.

A level does not filter dialogs after the fact (that would waste the attempts); it changes what
is drawn. Easy leans on one-call kinds, offers at most one distractor and fills only required
parameters; hard leans on nested, multi-turn and parallel kinds, makes longer chains, more
parallel calls and more turns, offers 3-5 look-alike distractors (same domain first, then the
nearest names), asks the planner for every optional parameter and for values a person would say
in their own words. Medium keeps each kind's own sizes and leans on the middle kinds. The
accepted dialogs are measured afterwards (`callforge.verify.measure_difficulty`), so a run shows
what it got, not what it asked for (docs/generate.md, "Difficulty").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from callforge.core import Level, ToolSpec
from callforge.generate.kinds import KINDS, Kind, MultiTurn, Nested, Parallel
from callforge.generate.sample import Sampler, Span, ToolSample, with_distractors

IMPLICIT_HINT = (
    "Make this case demanding: give every parameter a value, and prefer values a person would say in their own "
    "words rather than in the tool's format (a weekday for a date, a city for its airport code, an amount in words), "
    "as long as the tool's value follows from what they say."
)
"""What a hard level adds to the planner's request (the fake world ignores it; a real model reads it)."""


@dataclass(frozen=True)
class Knob:
    """What one level asks for: kind weights (factors on the mix), call counts, distractors, optional values."""

    level: Level
    kinds: Mapping[str, float] = field(default_factory=dict)
    """Factor per kind on the run's mix (a kind not named keeps factor 1); renormalised afterwards."""
    parallel: tuple[int, int] | None = None
    """Calls of a parallel step (None: the kind's own 2-3)."""
    length: tuple[int, int] | None = None
    """Tools of a nested chain (None: the kind's own 2-3)."""
    turns: tuple[int, int] | None = None
    """User turns of a multi-turn dialog (None: the kind's own 2-3)."""
    distractors: Span | None = None
    """Distractors offered with every sample (None: each kind's own)."""
    optional: bool | None = None
    """Optional parameters: False leaves them out of the planner's slots, True asks for all, None lets it choose."""
    hint: str = ""
    """A line added to the planner's request."""


KNOBS: dict[Level, Knob] = {
    Level.EASY: Knob(
        Level.EASY,
        kinds={
            "single": 3,
            "multiple": 2,
            "parallel": 1,
            "parallel_multiple": 0.5,
            "nested": 0.2,
            "no_call": 2,
            "clarify": 1.5,
            "multi_turn": 0.2,
            "error_recovery": 0.5,
        },
        parallel=(2, 2),
        length=(2, 2),
        turns=(2, 2),
        distractors=(0, 1),
        optional=False,
    ),
    Level.MEDIUM: Knob(
        Level.MEDIUM,
        kinds={
            "single": 0.5,
            "multiple": 1.5,
            "parallel": 1.5,
            "parallel_multiple": 1.5,
            "nested": 1,
            "no_call": 0.5,
            "clarify": 0.5,
            "multi_turn": 1,
            "error_recovery": 1,
        },
    ),
    Level.HARD: Knob(
        Level.HARD,
        kinds={
            "single": 0.2,
            "multiple": 0.5,
            "parallel": 1,
            "parallel_multiple": 2,
            "nested": 3,
            "no_call": 0.2,
            "clarify": 0.3,
            "multi_turn": 3,
            "error_recovery": 1,
        },
        parallel=(3, 4),
        length=(3, 4),
        turns=(3, 3),
        distractors=(3, 5),
        optional=True,
        hint=IMPLICIT_HINT,
    ),
}
"""The knob of each level; docs/generate.md, "Difficulty", lists them."""


def steered_mix(mix: Mapping[str, float], knob: Knob) -> dict[str, float]:
    """The run's mix with the level's factors applied, summing to 1: every kind of the mix keeps some weight."""
    weighted = {name: weight * knob.kinds.get(name, 1.0) for name, weight in mix.items()}
    total = sum(weighted.values())
    return {name: w / total for name, w in weighted.items()}


_SIZED: dict[str, Callable[[Knob], Kind | None]] = {
    "parallel": lambda k: Parallel(k.parallel) if k.parallel else None,
    "nested": lambda k: Nested(k.length) if k.length else None,
    "multi_turn": lambda k: MultiTurn(k.turns) if k.turns else None,
}


def kind_at(name: str, knob: Knob | None) -> Kind:
    """The kind `name` with the level's sizes (more parallel calls, longer chains, more turns); its default without a knob."""
    sized = _SIZED.get(name)
    made = sized(knob) if sized is not None and knob is not None else None
    return made if made is not None else KINDS[name]()


def steered_sampler(sampler: Sampler, tools: Sequence[ToolSpec], knob: Knob | None) -> Sampler:
    """The kind's sampler with the level's distractors (redrawn from every tool of the run); unchanged without one."""
    if knob is None or knob.distractors is None:
        return sampler
    return with_distractors(sampler, tools, knob.distractors)


class FocusedSampler:
    """Draws several samples from a kind's sampler and keeps one with odds proportional to its tools' weights.

    `generate --focus` weighs each tool by the target model's failures on it; a sample calling a
    failed tool is far likelier kept, yet every shape the kind draws (chains, fans, DAGs) stays
    possible, and the draw uses only the given rng, so a seed still reproduces the run.
    """

    def __init__(
        self, inner: Sampler, weights: Mapping[str, float], *, draws: int = 8, floor: float = 0.02
    ) -> None:
        """Keep one of `draws` samples of `inner`; a sample with no weighted tool counts `floor` x the largest weight."""
        self.inner = inner
        self.weights = dict(weights)
        self.draws = draws
        self.floor = floor * max(self.weights.values(), default=1.0) or 1.0

    def sample(self, rng: random.Random) -> ToolSample:
        """Draw `draws` candidates, then one of them by the weights of the tools it calls."""
        candidates = [self.inner.sample(rng) for _ in range(self.draws)]
        odds = [self.floor + sum(self.weights.get(name, 0.0) for name in c.names) for c in candidates]
        return rng.choices(candidates, weights=odds)[0]
