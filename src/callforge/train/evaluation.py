"""Evaluate what a training run made: the base model and base+adapter on the same held-out cases.

A loss curve says the adapter fits its data, not that the model calls tools better. `train` can
end with `evaluate_adapter`, which runs the base model and the base model with the new adapter
(`hf:BASE` and `hf:BASE@ADAPTER`, the transformers backend) through `callforge eval` on a BFCL-format
folder (an `export --format bfcl` of the user's held-out tools, or BFCL's own data and chosen
categories), each into its own eval folder next to the adapter, and reports the accuracy of both in
both scoring modes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ModelScore:
    """One model's accuracy on the held-out cases: correct/total over every category, per scoring mode."""

    model: str
    out: Path
    accuracy: dict[str, float]
    """`bfcl` and `semantic`: correct over total of every category run."""
    categories: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per mode, each category's accuracy."""
    cases: int = 0


@dataclass(frozen=True)
class AdapterEvaluation:
    """The base model and base+adapter on the same cases: the before/after a training run is judged by."""

    data: Path
    style: str
    adapter: ModelScore
    base: ModelScore | None = None

    def gain(self, mode: str = "semantic") -> float | None:
        """Accuracy points the adapter added over the base (None without a base run)."""
        if self.base is None:
            return None
        return self.adapter.accuracy.get(mode, 0.0) - self.base.accuracy.get(mode, 0.0)


def evaluate_adapter(
    model: str,
    adapter: str | Path,
    *,
    data: str | Path,
    categories: Sequence[str] | None = None,
    limit: int | None = None,
    style: str = "fc",
    base: bool = True,
    max_tokens: int = 256,
) -> AdapterEvaluation:
    """Run `hf:model@adapter` (and `hf:model` with `base`) through `callforge eval` on `data`; eval folders go next to the adapter.

    Greedy decoding, so the before/after compares the weights, not the sampling. The eval folders
    are resumable runs: calling this again on a killed evaluation finishes it.
    """
    from callforge.evaluate import evaluate_model

    adapter = Path(adapter)
    spec = model if ":" in model and not Path(model).exists() else f"hf:{model}"

    def one(label: str, adapter_dir: Path | None) -> ModelScore:
        out = adapter / f"eval-{label}"
        report = evaluate_model(
            model=spec,
            adapter=adapter_dir,
            data=Path(data),
            style=style,
            categories=list(categories) if categories else None,
            limit=limit,
            max_tokens=max_tokens,
            out=out,
        )
        accuracy: dict[str, float] = {}
        per_category: dict[str, dict[str, float]] = {}
        for mode, scored in report.scores.items():
            correct = sum(s.correct for s in scored.categories.values())
            total = sum(s.total for s in scored.categories.values())
            accuracy[mode.value] = correct / total if total else 0.0
            per_category[mode.value] = {c.value: s.accuracy for c, s in scored.categories.items()}
        name = f"{spec}@{adapter_dir}" if adapter_dir is not None else spec
        return ModelScore(name, out, accuracy, per_category, report.cases)

    adapted = one("adapter", adapter)
    before = one("base", None) if base else None
    return AdapterEvaluation(Path(data), style, adapted, before)
