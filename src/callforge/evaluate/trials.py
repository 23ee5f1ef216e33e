"""pass^k over repeated trials (tau-bench): how reliably a model succeeds, not only how often.

Accuracy over one trial hides a model that solves a task one time in three. tau-bench's pass^k is
the chance that k trials of the same task, drawn from the n that were run, all succeed:
C(c, k) / C(n, k) for a task with c successes in n trials, averaged over tasks. pass^1 is the
mean accuracy; pass^k falls as k grows unless the model is consistent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from math import comb

from callforge.core import Category
from callforge.evaluate.check import Mode
from callforge.evaluate.evaluator import EvalReport


def pass_hat_k(successes: Mapping[str, Sequence[bool]], k: int) -> float:
    """tau-bench's pass^k: per task C(c, k) / C(n, k), averaged over tasks (each with n >= k trials)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not successes:
        return 0.0
    total = 0.0
    for task, trials in successes.items():
        n = len(trials)
        if n < k:
            raise ValueError(f"task {task!r} has {n} trials, fewer than k={k}")
        total += comb(sum(bool(t) for t in trials), k) / comb(n, k)
    return total / len(successes)


def pass_hat_table(reports: Sequence[EvalReport]) -> dict[Category, dict[int, float]]:
    """pass^1 .. pass^n per category, from n evaluations of the same cases (one report per trial).

    Only cases judged in every trial count, so a trial that lost a request does not bias the rest.
    """
    outcomes: dict[str, list[bool]] = {}
    category_of: dict[str, Category] = {}
    for report in reports:
        for judged in report.judged:
            outcomes.setdefault(judged.case.id, []).append(judged.verdict.ok)
            category_of[judged.case.id] = Category(judged.case.category)
    n = len(reports)
    table: dict[Category, dict[int, float]] = {}
    for category in sorted(set(category_of.values()), key=list(Category).index):
        tasks = {i: o for i, o in outcomes.items() if category_of[i] is category and len(o) == n}
        if tasks:
            table[category] = {k: pass_hat_k(tasks, k) for k in range(1, n + 1)}
    return table


def pass_hat_by_mode(trials: Iterable[Mapping[Mode, EvalReport]]) -> dict[Mode, dict[Category, dict[int, float]]]:
    """`pass_hat_table` for each scoring mode, from the per-trial scores of a live run."""
    runs = list(trials)
    return {mode: pass_hat_table([run[mode] for run in runs if mode in run]) for mode in Mode}
