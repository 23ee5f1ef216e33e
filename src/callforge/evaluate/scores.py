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

AGENTIC_CATEGORIES = ("web_search_base", "web_search_no_snippet", "memory_kv", "memory_vector", "memory_rec_sum")
"""BFCL's agentic categories, which callforge does not run: web search needs a live search API (SerpAPI) at
inference, and the vector memory a sentence-transformers model, so neither is reproducible offline."""

SCORED_WEIGHT = 1.0 - OVERALL_WEIGHTS["agentic"]
"""The part of BFCL's overall score that callforge's categories make up (60%)."""

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
    irrelevance and live_irrelevance; Multi-Turn averages its four categories. BFCL's agentic group
    (web search, memory) is not run by callforge and has no row: `overall` uses BFCL's real weights
    with agentic at 0 (so at most 60%), `overall_without_agentic` rescales the same sum to the
    categories callforge runs.
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
    }
    groups = {name: GroupScore(name, acc, missing) for name, (acc, _, missing) in parts.items()}
    scored = sum(OVERALL_WEIGHTS[name] * groups[name].accuracy for name in groups)
    missing = tuple(m for group in groups.values() for m in group.missing)
    # BFCL's overall with its real weights: the agentic 40% is never run here, so it counts as 0,
    # as BFCL counts any group it has no results for; the second figure rescales to the 60% run.
    groups["overall"] = GroupScore("overall", scored, missing)
    groups["overall_without_agentic"] = GroupScore("overall_without_agentic", scored / SCORED_WEIGHT, missing)
    return groups
