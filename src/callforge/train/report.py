"""What a training run did: the loss curve, the examples used and dropped, where the adapter went."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callforge.train.evaluation import AdapterEvaluation

REPORT_FILE = "train_report.json"


@dataclass(frozen=True)
class LogPoint:
    """One logging step of the trainer; DPO adds how often and by how much chosen beats rejected, GRPO the mean reward."""

    step: int
    loss: float
    reward_accuracy: float | None = None
    reward_margin: float | None = None
    reward: float | None = None
    """GRPO: the mean reward of the completions sampled since the last log (not applicable ones excluded)."""


@dataclass(frozen=True)
class TrainReport:
    """The outcome of `callforge.train.train`, also written to OUT/train_report.json."""

    method: str
    model: str
    data: Path
    out: Path
    steps: int
    examples: int
    dropped: dict[str, int]
    """Examples left out, by reason (`longer than max_length`, `no assistant turn to learn`, ...)."""
    losses: tuple[LogPoint, ...]
    train_loss: float | None
    """The trainer's mean loss over the whole run."""
    runtime_s: float
    config: dict[str, Any] = field(default_factory=dict)
    dropped_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    evaluation: AdapterEvaluation | None = None
    """The adapter (and the base model) on held-out cases, when the run was asked to evaluate (`eval_data`)."""

    @property
    def first_loss(self) -> float | None:
        """The loss at the first logging step."""
        return self.losses[0].loss if self.losses else None

    @property
    def last_loss(self) -> float | None:
        """The loss at the last logging step."""
        return self.losses[-1].loss if self.losses else None

    @property
    def rewards(self) -> tuple[float, ...]:
        """GRPO: the mean reward at each logging step, the curve that says whether the policy learned."""
        return tuple(p.reward for p in self.losses if p.reward is not None)

    @property
    def first_reward(self) -> float | None:
        """GRPO: the mean reward at the first logging step."""
        return self.rewards[0] if self.rewards else None

    @property
    def last_reward(self) -> float | None:
        """GRPO: the mean reward at the last logging step."""
        return self.rewards[-1] if self.rewards else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, with first/last loss spelled out for readers that skip the curve."""
        data = asdict(self)
        data["data"], data["out"] = str(self.data), str(self.out)
        if self.evaluation is not None:
            data["evaluation"] = json.loads(json.dumps(data["evaluation"], default=str))
            data["evaluation"]["gain"] = {m: self.evaluation.gain(m) for m in ("bfcl", "semantic")}
        data["first_loss"], data["last_loss"] = self.first_loss, self.last_loss
        if self.rewards:
            data["first_reward"], data["last_reward"] = self.first_reward, self.last_reward
        return data

    def write(self, folder: Path) -> Path:
        """Save as `train_report.json` next to the adapter."""
        path = folder / REPORT_FILE
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path


def log_points(history: Iterable[Mapping[str, Any]]) -> tuple[LogPoint, ...]:
    """The per-step training logs of a Trainer's `state.log_history` (the final summary row excluded)."""
    points = []
    for row in history:
        loss = row.get("loss")
        if not isinstance(loss, int | float) or "step" not in row:
            continue
        points.append(
            LogPoint(
                step=int(row["step"]),
                loss=float(loss),
                reward_accuracy=_float(row.get("rewards/accuracies")),
                reward_margin=_float(row.get("rewards/margins")),
                reward=_float(row.get("reward")),
            )
        )
    return tuple(points)


def _float(value: Any) -> float | None:
    """A logged number, or None when absent or NaN (GRPO logs NaN when no reward applied to a batch)."""
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None
