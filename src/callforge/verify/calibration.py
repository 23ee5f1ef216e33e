"""How good is a cascade, measured: recall on defects and false rejects on good dialogs, per stage.

A judge is only worth its seconds and tokens if it catches what the rules miss without throwing away
good data, and LLM judges differ a lot between models. callforge ships a labelled calibration set
(`verify/judge/calibration.jsonl`: hand-written dialogs, half good, half with one known defect each,
made by `bench/make_calibration.py`); `calibrate` runs a cascade over it and counts, for each stage,
what it rejected among the good dialogs and among the defects that reached it. Figures measured for
the embedded judges ship in `verify/judge/measured.json`, so `callforge verify` can say how far its
judge can be trusted.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import DataError, Dialog
from callforge.verify.cascade import Cascade
from callforge.verify.spec import DEFAULT_JUDGE_MODE

Label = Literal["good", "defect"]
Outcome = Literal["pass", "unsure", "fail"]


class CalibrationCase(BaseModel):
    """One labelled dialog: good, or with one defect of a named kind (its good twin shares `pair`)."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: Label
    kind: str
    pair: str = ""
    note: str = ""
    dialog: Dialog


class CaseOutcome(BaseModel):
    """What each stage said about one case, in cascade order; a stage the case did not reach is absent."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: Label
    kind: str
    stages: dict[str, Outcome]
    unsure: bool = False
    """Accepted with a doubt no stage settled (a rule was unsure and no judge asked about it)."""
    codes: tuple[str, ...] = ()
    seconds: float = 0.0
    tokens: int = 0

    @property
    def rejected(self) -> bool:
        """Whether the cascade rejected the case (an unsure pass is not a rejection)."""
        return "fail" in self.stages.values()


class Rates(BaseModel):
    """A stage's (or the whole cascade's) counts on the cases it saw, and the rates they give."""

    model_config = ConfigDict(frozen=True)

    good: int = 0
    defects: int = 0
    good_rejected: int = 0
    defects_rejected: int = 0
    good_unsure: int = 0
    defects_unsure: int = 0

    @property
    def recall(self) -> float | None:
        """Share of the defects it saw that it rejected."""
        return self.defects_rejected / self.defects if self.defects else None

    @property
    def false_reject_rate(self) -> float | None:
        """Share of the good dialogs it saw that it rejected."""
        return self.good_rejected / self.good if self.good else None

    @property
    def precision(self) -> float | None:
        """Share of its rejections that were defects."""
        rejected = self.good_rejected + self.defects_rejected
        return self.defects_rejected / rejected if rejected else None


class CalibrationFigures(BaseModel):
    """The measured quality of one cascade on the calibration set.

    Attributes:
        model: the judge's model spec, or None for a cascade without a judge.
        questions: the judge's mode (`reference`, `per_call` or `per_aspect`).
        measured_on: ISO date of the measurement.
        cases: how many cases were run.
        stages: per stage, rates over the cases that reached it (a judge only sees what the rules passed).
        cascade: rates of the whole cascade over every case.
        kinds: per defect kind, [rejected, cases] for the whole cascade.
        seconds_per_case, tokens_per_case: the cost of one case, averaged over the run.
    """

    model_config = ConfigDict(frozen=True)

    model: str | None = None
    questions: str = DEFAULT_JUDGE_MODE
    measured_on: str = ""
    cases: int = 0
    stages: dict[str, Rates] = Field(default_factory=dict)
    cascade: Rates = Field(default_factory=Rates)
    kinds: dict[str, tuple[int, int]] = Field(default_factory=dict)
    seconds_per_case: float = 0.0
    tokens_per_case: float = 0.0


def calibration_cases(path: Path | None = None) -> tuple[CalibrationCase, ...]:
    """The shipped calibration set, or a set of your own in the same JSON-lines shape.

    Raises:
        DataError: naming the file and line of a record that is not a labelled case.
    """
    if path is None:
        text = resources.files("callforge.verify.judge").joinpath("calibration.jsonl").read_text(encoding="utf-8")
        where = "callforge's calibration set"
    else:
        if not path.is_file():
            raise DataError(f"{path}: no such file; pass a JSON-lines file of labelled cases, or leave `cases` out for the shipped set")
        text = path.read_text(encoding="utf-8")
        where = str(path)
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(CalibrationCase.model_validate_json(line))
        except ValueError as exc:
            raise DataError(
                f"{where}, line {number}: not a labelled case ({exc.__class__.__name__}: {str(exc)[:200]}); "
                'each line needs "id", "label" (good or defect), "kind" and "dialog"'
            ) from exc
    return tuple(cases)


def stratified(cases: Sequence[CalibrationCase], per_kind: int) -> tuple[CalibrationCase, ...]:
    """Up to `per_kind` defects of each kind (first by id) and their good twins: a smaller set with every kind.

    A judge on a CPU takes tens of seconds per dialog; this keeps a measurement affordable while
    every defect kind and the good dialogs they were made from stay in it.
    """
    taken: dict[str, int] = {}
    pairs: set[str] = set()
    for case in sorted(cases, key=lambda c: c.id):
        if case.label == "defect" and taken.get(case.kind, 0) < per_kind:
            taken[case.kind] = taken.get(case.kind, 0) + 1
            pairs.add(case.pair or case.id)
    return tuple(c for c in cases if (c.pair or c.id) in pairs and (c.label == "good" or c.kind in taken))


async def calibrate(
    cascade: Cascade,
    cases: Sequence[CalibrationCase],
    *,
    done: Iterable[CaseOutcome] = (),
    on_outcome: Callable[[CaseOutcome], None] | None = None,
    model: str | None = None,
    questions: str = DEFAULT_JUDGE_MODE,
) -> CalibrationFigures:
    """Run `cascade` over the cases and count what each stage got right and wrong.

    Cases already in `done` (from an earlier, interrupted run) are not run again; `on_outcome`
    sees each new outcome as soon as it exists, so a caller can append it to a file and resume.
    """
    known = {outcome.id: outcome for outcome in done}
    outcomes = []
    for case in cases:
        outcome = known.get(case.id)
        if outcome is None:
            outcome = await _run_case(cascade, case)
            if on_outcome is not None:
                on_outcome(outcome)
        outcomes.append(outcome)
    return figures_of(outcomes, model=model, questions=questions)


async def _run_case(cascade: Cascade, case: CalibrationCase) -> CaseOutcome:
    start = time.perf_counter()
    checked = await cascade.check(case.dialog, case.id)
    stages: dict[str, Outcome] = {}
    tokens = 0
    for result in checked.stages:
        stages[result.stage] = "fail" if not result.ok else ("unsure" if result.unsure else "pass")
        usage = result.meta.get("usage")
        if isinstance(usage, Mapping):
            tokens += int(usage.get("total_tokens") or 0)
    return CaseOutcome(
        id=case.id,
        label=case.label,
        kind=case.kind,
        stages=stages,
        unsure=checked.ok and bool(checked.unsure),
        codes=tuple(sorted({v.code for v in checked.failures})),
        seconds=round(time.perf_counter() - start, 3),
        tokens=tokens,
    )


def figures_of(
    outcomes: Sequence[CaseOutcome], *, model: str | None = None, questions: str = DEFAULT_JUDGE_MODE
) -> CalibrationFigures:
    """Figures from case outcomes: per stage over the cases it saw, and for the whole cascade."""
    per_stage: dict[str, dict[str, int]] = {}
    whole = dict.fromkeys(Rates.model_fields, 0)
    kinds: dict[str, list[int]] = {}
    for outcome in outcomes:
        for stage, said in outcome.stages.items():
            _count(per_stage.setdefault(stage, dict.fromkeys(Rates.model_fields, 0)), outcome.label, said)
        final: Outcome = "fail" if outcome.rejected else ("unsure" if outcome.unsure else "pass")
        _count(whole, outcome.label, final)
        if outcome.label == "defect":
            caught = kinds.setdefault(outcome.kind, [0, 0])
            caught[0] += outcome.rejected
            caught[1] += 1
    n = max(len(outcomes), 1)
    return CalibrationFigures(
        model=model,
        questions=questions,
        measured_on=datetime.date.today().isoformat(),
        cases=len(outcomes),
        stages={stage: Rates(**counts) for stage, counts in per_stage.items()},
        cascade=Rates(**whole),
        kinds={kind: (pair[0], pair[1]) for kind, pair in sorted(kinds.items())},
        seconds_per_case=round(sum(o.seconds for o in outcomes) / n, 2),
        tokens_per_case=round(sum(o.tokens for o in outcomes) / n, 1),
    )


def _count(counts: dict[str, int], label: Label, said: Outcome) -> None:
    side = "good" if label == "good" else "defects"
    counts[side] += 1
    if said == "fail":
        counts[f"{side}_rejected"] += 1
    elif said == "unsure":
        counts[f"{side}_unsure"] += 1


def measured_figures(model: str, questions: str = DEFAULT_JUDGE_MODE) -> CalibrationFigures | None:
    """The figures callforge measured for a judge model spec (`local:qwen2.5-coder-1.5b` ...), if any."""
    shipped = resources.files("callforge.verify.judge").joinpath("measured.json")
    if not shipped.is_file():
        return None
    table = json.loads(shipped.read_text(encoding="utf-8"))
    entry = table.get(_key(model, questions))
    return CalibrationFigures.model_validate(entry) if isinstance(entry, dict) else None


def save_figures(figures: CalibrationFigures, path: Path) -> None:
    """Merge `figures` into a JSON table keyed by model spec (the shape of the shipped `measured.json`)."""
    table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    table[_key(figures.model or "rules", figures.questions)] = figures.model_dump(mode="json")
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _key(model: str, questions: str) -> str:
    return model if questions == DEFAULT_JUDGE_MODE else f"{model} ({questions})"
