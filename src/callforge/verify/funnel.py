"""The funnel: how many dialogs entered each stage, how many it passed, and the reasons it rejected the rest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from callforge.verify.record import Checked, StageResult, open_doubts


@dataclass
class StageCount:
    """One stage's numbers; `codes` counts dialogs per failing code (a dialog counts once per code)."""

    stage: str
    entered: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    unsure: int = 0
    """Dialogs this stage passed with at least one unsure verdict."""
    codes: Counter[str] = field(default_factory=Counter)
    unsure_codes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        """Passed (or skipped) over entered; 1.0 for a stage nothing reached."""
        return (self.entered - self.failed) / self.entered if self.entered else 1.0


@dataclass
class Funnel:
    """Counts over a whole verification run, in stage order."""

    stages: list[str]
    total: int = 0
    accepted: int = 0
    counts: dict[str, StageCount] = field(default_factory=dict)
    kept_unsure: int = 0
    """Accepted dialogs that still carry a doubt no later stage settled."""

    def __post_init__(self) -> None:
        for name in self.stages:
            self.counts.setdefault(name, StageCount(name))

    def add(self, checked: Checked) -> None:
        """Count one judged dialog."""
        self.add_stages(checked.ok, checked.stages)

    def add_stages(self, ok: bool, stages: tuple[StageResult, ...] | list[StageResult]) -> None:
        """Count one dialog from its stage results (as read back from a record file)."""
        self.total += 1
        self.accepted += ok
        self.kept_unsure += bool(ok and open_doubts(stages))
        for result in stages:
            count = self.counts.get(result.stage)
            if count is None:
                self.stages.append(result.stage)
                count = self.counts[result.stage] = StageCount(result.stage)
            count.entered += 1
            if result.skipped:
                count.skipped += 1
            if result.ok:
                count.passed += 1
                if result.unsure:
                    count.unsure += 1
                    count.unsure_codes.update({v.code for v in result.unsure})
                    for verdict in result.unsure:
                        count.examples.setdefault(verdict.code, verdict.message)
            else:
                count.failed += 1
                count.codes.update({v.code for v in result.failures})
                for verdict in result.failures:
                    count.examples.setdefault(verdict.code, verdict.message)

    @property
    def unsure(self) -> int:
        """Accepted dialogs with a doubt no stage settled (counted apart from clean passes)."""
        return self.kept_unsure

    @property
    def rejected(self) -> int:
        """Dialogs some stage rejected."""
        return self.total - self.accepted

    def top_codes(self, n: int = 10) -> list[tuple[str, int]]:
        """The commonest rejection codes over every stage."""
        every: Counter[str] = Counter()
        for count in self.counts.values():
            every.update(count.codes)
        return every.most_common(n)

    def example(self, code: str) -> str:
        """The message of the first rejection with `code`, to show what the code means in this data."""
        for count in self.counts.values():
            if code in count.examples:
                return count.examples[code]
        return ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (written as funnel.json)."""
        return {
            "total": self.total,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unsure": self.unsure,
            "accept_rate": self.accepted / self.total if self.total else None,
            "stages": [
                {
                    "stage": c.stage,
                    "entered": c.entered,
                    "passed": c.passed,
                    "failed": c.failed,
                    "skipped": c.skipped,
                    "unsure": c.unsure,
                    "unsure_codes": dict(c.unsure_codes.most_common()),
                    "pass_rate": c.pass_rate,
                    "codes": dict(c.codes.most_common()),
                    "examples": c.examples,
                }
                for c in (self.counts[name] for name in self.stages)
            ],
        }
