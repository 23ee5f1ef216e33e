"""Accuracy per category and BFCL's group and overall scores, with missing categories marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from callforge.core import Category


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """Correct and scored counts for one category; `size` is the category's entry count in the suite."""

    category: Category
    correct: int
    total: int
    size: int
    errors: Mapping[str, int] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Share of scored entries judged correct (0 when nothing was scored)."""
        return self.correct / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class GroupScore:
    """A BFCL summary score; `missing` lists categories that count as 0 because none were scored."""

    name: str
    accuracy: float
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every category behind this score was evaluated (BFCL shows N/A otherwise)."""
        return not self.missing


OVERALL_WEIGHTS: dict[str, float] = {
    "non_live": 0.10,
    "live": 0.10,
    "hallucination": 0.10,
    "multi_turn": 0.30,
    "agentic": 0.40,
}
"""BFCL v4's weights for the overall score (10/10/10/30/40)."""

_C = Category


def _entry(
    scores: Mapping[Category, CategoryScore], sizes: Mapping[Category, int], c: Category
) -> tuple[float, int, tuple[str, ...]]:
    score = scores.get(c)
    if score is None or score.total == 0:
        return 0.0, sizes.get(c, 0), (c.value,)
    return score.accuracy, score.total, ()


def _unweighted(parts: Sequence[tuple[float, int, tuple[str, ...]]]) -> tuple[float, int, tuple[str, ...]]:
    missing = tuple(m for _, _, ms in parts for m in ms)
    return sum(a for a, _, _ in parts) / len(parts), sum(n for _, n, _ in parts), missing


def _weighted(parts: Sequence[tuple[float, int, tuple[str, ...]]]) -> tuple[float, int, tuple[str, ...]]:
    missing = tuple(m for _, _, ms in parts for m in ms)
    count = sum(n for _, n, _ in parts)
    return (sum(a * n for a, n, _ in parts) / count if count else 0.0), count, missing


def group_scores(
    scores: Mapping[Category, CategoryScore], sizes: Mapping[Category, int]
) -> dict[str, GroupScore]:
    """BFCL's summary table: Non-Live, Live, Hallucination, Multi-Turn, Agentic and the weighted overall.

    As in BFCL, a category that was not evaluated counts as 0 and is listed as missing; Non-Live
    averages Simple (itself the mean of Python, Java, JavaScript), Multiple, Parallel and
    Parallel-Multiple; Live weights its four AST categories by entry count; Hallucination averages
    irrelevance and live_irrelevance. Multi-turn and agentic are not scored by callforge yet.
    """

    def e(c: Category) -> tuple[float, int, tuple[str, ...]]:
        return _entry(scores, sizes, c)

    simple = _unweighted([e(_C.SIMPLE_PYTHON), e(_C.SIMPLE_JAVA), e(_C.SIMPLE_JAVASCRIPT)])
    parts = {
        "non_live": _unweighted([simple, e(_C.MULTIPLE), e(_C.PARALLEL), e(_C.PARALLEL_MULTIPLE)]),
        "live": _weighted(
            [e(_C.LIVE_SIMPLE), e(_C.LIVE_MULTIPLE), e(_C.LIVE_PARALLEL), e(_C.LIVE_PARALLEL_MULTIPLE)]
        ),
        "hallucination": _unweighted([e(_C.IRRELEVANCE), e(_C.LIVE_IRRELEVANCE)]),
        "multi_turn": _unweighted(
            [
                e(_C.MULTI_TURN_BASE),
                e(_C.MULTI_TURN_MISS_FUNC),
                e(_C.MULTI_TURN_MISS_PARAM),
                e(_C.MULTI_TURN_LONG_CONTEXT),
            ]
        ),
        "agentic": (0.0, 0, ("web_search", "memory")),
    }
    groups = {name: GroupScore(name, acc, missing) for name, (acc, _, missing) in parts.items()}
    overall = sum(OVERALL_WEIGHTS[name] * groups[name].accuracy for name in OVERALL_WEIGHTS)
    overall_missing = tuple(m for name in OVERALL_WEIGHTS for m in groups[name].missing)
    groups["overall"] = GroupScore("overall", overall, overall_missing)
    return groups
