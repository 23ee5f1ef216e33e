"""What a generation run cost and produced: counts, yield per kind, reject reasons, tokens per role.

Every figure is derived from the records themselves (each carries its kind, verdicts and the
usage charged to it), so the manifest of a resumed run adds up exactly whatever was killed
before: nothing is kept only in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from callforge.generate.metered import RoleUsage


@dataclass
class KindCount:
    """Attempts and accepted dialogs of one scenario kind."""

    attempts: int = 0
    accepted: int = 0

    @property
    def yield_(self) -> float:
        """Accepted per attempt (0 when none was tried)."""
        return self.accepted / self.attempts if self.attempts else 0.0


@dataclass
class Tally:
    """Running totals over a run's records; `add` takes a record line as written to a shard."""

    accepted: int = 0
    rejected: int = 0
    kinds: dict[str, KindCount] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    stages: Counter[str] = field(default_factory=Counter)
    roles: dict[str, RoleUsage] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    levels: Counter[str] = field(default_factory=Counter)
    """Accepted dialogs per measured difficulty level (`Provenance.difficulty`)."""
    score_sum: float = 0.0

    def add(self, row: dict[str, Any]) -> None:
        """Count one record (accepted or rejected)."""
        self.done.add(str(row["id"]))
        meta = (row.get("dialog") or {}).get("meta") or {}
        kind = self.kinds.setdefault(str(meta.get("scenario") or "unknown"), KindCount())
        kind.attempts += 1
        if row.get("ok"):
            self.accepted += 1
            kind.accepted += 1
            difficulty = meta.get("difficulty") or {}
            if difficulty.get("level"):
                self.levels[str(difficulty["level"])] += 1
                self.score_sum += float(difficulty.get("score") or 0.0)
        else:
            self.rejected += 1
            stage, code = first_failure(row)
            self.reasons[code] += 1
            self.stages[stage] += 1
        usage = meta.get("usage") or {}
        for role, spent in (usage.get("roles") or {}).items():
            self.roles.setdefault(role, RoleUsage()).add(RoleUsage.from_dict(spent))
        for phase, seconds in (usage.get("phases") or {}).items():
            self.phases[phase] = self.phases.get(phase, 0.0) + float(seconds)

    @property
    def tokens(self) -> int:
        """Every model token the records were charged (planner, user, assistant, judge, simulator)."""
        return sum(u.tokens for u in self.roles.values())

    @property
    def tokens_per_accepted(self) -> float:
        """All tokens spent, rejected attempts included, per accepted dialog: the price of one."""
        return self.tokens / self.accepted if self.accepted else 0.0

    def top_reasons(self, k: int = 5) -> list[tuple[str, int]]:
        """The commonest rejection codes, most frequent first (ties by code)."""
        return sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    def to_dict(self) -> dict[str, Any]:
        """The manifest's `counts` and `accounting` sections."""
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "attempts": self.accepted + self.rejected,
            "yield": round(self.accepted / max(1, self.accepted + self.rejected), 4),
            "kinds": {
                name: {"attempts": c.attempts, "accepted": c.accepted, "yield": round(c.yield_, 4)}
                for name, c in sorted(self.kinds.items())
            },
            "rejected_by_stage": dict(sorted(self.stages.items())),
            "reasons": dict(self.top_reasons(len(self.reasons))),
            "roles": {role: u.to_dict() for role, u in sorted(self.roles.items())},
            "phase_seconds": {phase: round(s, 3) for phase, s in sorted(self.phases.items())},
            "tokens": self.tokens,
            "tokens_per_accepted": round(self.tokens_per_accepted, 1),
            "difficulty": self.difficulty(),
        }

    def difficulty(self) -> dict[str, Any]:
        """The accepted dialogs' measured levels (easy, medium, hard) and mean score: what the run's steering got."""
        measured = sum(self.levels.values())
        out: dict[str, Any] = {level: self.levels.get(level, 0) for level in ("easy", "medium", "hard")}
        out["mean_score"] = round(self.score_sum / measured, 4) if measured else 0.0
        return out


def first_failure(row: dict[str, Any]) -> tuple[str, str]:
    """(stage, code) of the first failing verdict of a rejected record."""
    for stage in row.get("stages") or ():
        for verdict in stage.get("verdicts") or ():
            if not verdict.get("ok", True):
                return str(stage.get("stage")), str(verdict.get("code"))
    return "unknown", "unknown"
