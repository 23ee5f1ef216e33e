"""Score a file of completions against a dataset file: what `callforge reward score` runs.

The dataset is JSON Lines with the reward columns (docs/reward.md) and optionally `id`. The
completions file is JSON Lines of `{"id", "completion"}` (text or chat messages), or
`{"id", "completions": [...]}` for a group of generations; without ids, line n goes with row n.
A dataset row without `reference_calls` takes its `completion` (a `steps` export scores as it is).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callforge.core import DataError, iter_lines
from callforge.reward.components import Reward
from callforge.reward.record import RewardResult


@dataclass(frozen=True)
class ComponentSummary:
    """One component over a file: how many completions it applied to, its mean, full rewards, and its codes."""

    component: str
    scored: int
    mean: float | None
    full: int
    codes: dict[str, int]


@dataclass(frozen=True)
class ScoreReport:
    """Every completion's result (in file order, with its row id), the summaries, and the completions with no row."""

    ids: tuple[str, ...]
    results: tuple[RewardResult, ...]
    components: tuple[ComponentSummary, ...]
    unmatched: tuple[str, ...]


def score_files(data: Path, completions: Path, reward: Reward, *, out: Path | None = None) -> ScoreReport:
    """Score each completion in `completions` against its row of `data`; `out` gets one JSON line per completion."""
    rows = list(_records(data))
    if not rows:
        raise DataError(f"{data}: no dataset rows")
    by_id = {str(row.get("id", n)): row for n, row in enumerate(rows)}
    if len(by_id) != len(rows):
        raise DataError(f"{data}: row ids are not unique")
    pairs: list[tuple[str, Any]] = []
    unmatched: list[str] = []
    for n, record in enumerate(_records(completions)):
        key = str(record.get("id", n))
        if "completions" in record and isinstance(record["completions"], list):
            group = record["completions"]
        elif "completion" in record:
            group = [record["completion"]]
        else:
            raise DataError(f"{completions}:{n + 1}: a line needs `completion` (or `completions`)")
        if key not in by_id:
            unmatched.append(key)
            continue
        pairs.extend((key, c) for c in group)
    results: list[RewardResult] = []
    for key, completion in pairs:
        row = by_id[key]
        columns = {name: [value] for name, value in row.items() if name not in ("completion", "id")}
        if "reference_calls" not in row and "completion" in row:  # a `steps` export as it is
            columns["reference_calls"] = [row["completion"]]
        results.extend(reward.results([completion], **columns))
    if out is not None:
        with out.open("w", encoding="utf-8") as fh:
            for (key, _), result in zip(pairs, results, strict=True):
                fh.write(json.dumps({"id": key, **result.model_dump(mode="json")}, default=str) + "\n")
    return ScoreReport(
        ids=tuple(k for k, _ in pairs),
        results=tuple(results),
        components=_summaries(results),
        unmatched=tuple(unmatched),
    )


def _records(path: Path) -> Iterator[dict[str, Any]]:
    for n, line in enumerate(iter_lines(path), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path}:{n}: not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise DataError(f"{path}:{n}: a line must be a JSON object")
        yield value


def _summaries(results: list[RewardResult]) -> tuple[ComponentSummary, ...]:
    columns: dict[str, list[RewardResult]] = {}
    for result in results:
        for part in (*result.parts, result):
            columns.setdefault(part.component, []).append(part)
    out = []
    for component, found in columns.items():
        applied = [r.score for r in found if r.score is not None]
        out.append(
            ComponentSummary(
                component=component,
                scored=len(applied),
                mean=sum(applied) / len(applied) if applied else None,
                full=sum(1 for s in applied if s >= 1.0),
                codes=dict(Counter(r.code for r in found).most_common()),
            )
        )
    return tuple(out)
