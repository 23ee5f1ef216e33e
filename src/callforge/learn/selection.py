"""Model-aware selection (ToolACE-R): keep the dialogs a target model still gets wrong.

Training a model on what it already does right spends compute on nothing. `select` asks the
target model for every call step of every candidate dialog (the conversation up to the step,
the dialog's tools, native function calling), scores its calls against the step's calls with
callforge's semantic rules, and keeps a dialog when the model misses at least one step. A
dialog whose right answer is not to call (no-call, clarify) is one step scored as irrelevance.

The output is a Run folder (job `select`): `accepted/` holds the kept dialogs, each with the
model's failing verdicts; `rejected/` the ones it solved (`select.solved`), so nothing is lost and
a killed selection resumes. Every judged dialog carries the model's steps and correct steps
(`Provenance.target`) beside its measured difficulty (`Provenance.difficulty`), so accuracy per
level can be read off the folder (`callforge difficulty OUT`) and `generate --focus OUT` can aim at it. `callforge export OUT --format openai` trains on what was kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from callforge.core import Case, Category, Dialog, ExpectedCall, TargetAccuracy, Verdict
from callforge.evaluate import Style, make_scorer, result_value
from callforge.export import iter_dialogs, possible_answer
from callforge.llm import Backend, Closable, ModelRef, RequestRejected
from callforge.run import (
    LLM_CACHE,
    Item,
    JobConfig,
    JobHooks,
    JobProgress,
    RunFolder,
    Written,
    blocking,
    run_job,
)
from callforge.verify import (
    Checked,
    DifficultyHistogram,
    StageResult,
    dialog_difficulty,
    difficulty_histogram,
)

SOLVED = "select.solved"


@dataclass(frozen=True)
class SelectReport:
    """How many dialogs and steps the target model was tried on, and what it got wrong."""

    out: Path
    model: str
    evaluated: int
    kept: int
    solved: int
    steps: int
    steps_wrong: int
    codes: dict[str, int]
    """The model's failure codes over the wrong steps (`arg.value`, `calls.wrong_count` ...: the evaluator's codes)."""
    by_scenario: dict[str, tuple[int, int]]
    """Per scenario kind: (kept, evaluated)."""
    errors: int = 0
    wall_s: float = 0.0
    levels: DifficultyHistogram | None = None
    """The judged dialogs per difficulty level, with the model's steps and correct steps (its accuracy per level)."""


class SelectConfig(JobConfig):
    """A selection: the candidate dialogs, the target model, where the kept ones go."""

    job: ClassVar[str] = "select"
    may_change: ClassVar[frozenset[str]] = frozenset({"limit"})
    runtime: ClassVar[frozenset[str]] = frozenset({"out", "resume", "concurrency", "base_url", "api_key"})

    src: Path
    """Candidate dialogs: a Run folder (its accepted dialogs) or a dataset file."""
    model: ModelRef
    """The target model, the one to be trained."""
    limit: int | None = Field(default=None, ge=1)
    concurrency: int = Field(default=1, ge=1)
    base_url: str | None = None
    api_key: str | None = None


SelectProgress = JobProgress
"""Live counts of a selection (`streams["accepted"]`: dialogs kept)."""


def step_cases(dialog: Dialog, id: str) -> Iterator[tuple[int, Case]]:
    """One Case per call step (or one irrelevance case for a dialog that never calls), with the step's index."""
    tools = {t.name: t for t in dialog.tools}
    planted = dialog.masked_calls()
    steps = [(i, m) for i, m in enumerate(dialog.messages) if m.role == "assistant" and m.tool_calls]
    if not steps:
        first = next((i for i, m in enumerate(dialog.messages) if m.role == "assistant"), None)
        if first is not None and dialog.tools:
            yield first, Case(id=f"{id}#{first}", category=Category.IRRELEVANCE, messages=dialog.messages[:first], tools=dialog.tools)
        return
    for index, message in steps:
        calls = message.tool_calls
        if any(c.id in planted for c in calls) or any(c.name not in tools for c in calls):
            continue
        expected = tuple(
            ExpectedCall(name=c.name, arguments=possible_answer(c, tools[c.name])[c.name]) for c in calls
        )
        if len(calls) == 1:
            category = Category.SIMPLE_PYTHON if len(dialog.tools) == 1 else Category.MULTIPLE
        else:
            category = Category.PARALLEL if len({c.name for c in calls}) == 1 else Category.PARALLEL_MULTIPLE
        yield index, Case(id=f"{id}#{index}", category=category, messages=dialog.messages[:index], tools=dialog.tools, expected=expected)


async def select_async(
    config: SelectConfig | None = None,
    /,
    *,
    progress: Callable[[JobProgress], None] | None = None,
    **fields: Any,
) -> SelectReport:
    """Keep the dialogs of `config.src` that `config.model` gets wrong, in the Run folder `config.out`."""
    config = SelectConfig.of(config, **fields)
    folder = config.open_folder()
    name = config.model if isinstance(config.model, str) else config.model.model
    backend = _backend(config.model, config.base_url, config.api_key, folder.path)
    scorer = make_scorer("semantic", Style.FC)

    def candidates() -> Iterator[Item[tuple[str, Dialog]]]:
        for number, dialog in enumerate(iter_dialogs(config.src)):
            if config.limit is not None and number >= config.limit:
                return
            id = dialog.meta.id or f"d{number:06d}"
            yield Item(id, (id, dialog))

    async def judge(job: tuple[str, Dialog]) -> Written | None:
        id, dialog = job
        verdicts = [await _try(backend, scorer, index, case) for index, case in step_cases(dialog, id)]
        if not verdicts:
            return None
        wrong = tuple(v for v in verdicts if not v.ok)
        stage = StageResult(
            stage="select",
            verdicts=wrong or (Verdict.failed(SOLVED, f"{name} solves every step of this dialog"),),
            meta={"model": name, "steps": len(verdicts), "wrong": len(wrong)},
        )
        kept = bool(wrong)
        target = TargetAccuracy(model=name, steps=len(verdicts), correct=len(verdicts) - len(wrong))
        meta = dialog.meta.model_copy(update={"target": target, "difficulty": dialog_difficulty(dialog)})
        judged = dialog.model_copy(update={"meta": meta})
        return Written("accepted" if kept else "rejected", Checked(id=id, ok=kept, stages=(stage,), dialog=judged))

    try:
        state = await run_job(
            folder,
            candidates(),
            judge,
            config={**config.stored(), "model": name},
            concurrency=config.concurrency,
            hooks=JobHooks(summary=_summary),
            progress=progress,
        )
    finally:
        if isinstance(backend, Closable):
            await backend.aclose()
    return _report(folder, name, state.errors, state.elapsed_s)


select = blocking(select_async)


def _summary(job: JobProgress) -> dict[str, Any]:
    kept, solved = job.streams["accepted"], job.streams["rejected"]
    return {"counts": {"evaluated": kept + solved, "kept": kept, "solved": solved}}


async def _try(backend: Backend, scorer: Any, index: int, case: Case) -> Verdict:
    try:
        completion = await backend.complete(list(case.messages), list(case.tools), temperature=0.0, max_tokens=400, seed=0)
    except RequestRejected as exc:  # this step only (longer than the model's context): it cannot solve it
        return Verdict.failed(
            "select.request_rejected",
            f"the model's server refused step {index}: {exc}",
            message_index=index,
            category=case.category,
        )
    verdict: Verdict = scorer.score(case, result_value(completion, Style.FC))
    return verdict.model_copy(update={"evidence": {**verdict.evidence, "message_index": index, "category": case.category}})


def _backend(model: str | Backend, base_url: str | None, api_key: str | None, folder: Path) -> Backend:
    if not isinstance(model, str):
        return model
    from callforge.llm import make_backend

    folder.mkdir(parents=True, exist_ok=True)
    return make_backend(model, base_url=base_url, api_key=api_key, cache=folder / LLM_CACHE)


def _report(folder: RunFolder, model: str, errors: int, wall_s: float) -> SelectReport:
    codes: Counter[str] = Counter()
    scenarios: dict[str, list[int]] = {}
    kept = solved = steps = wrong = 0
    judged: list[Dialog] = []
    for which in ("accepted", "rejected"):
        for row in folder.records(which):
            checked = Checked.model_validate(row)
            judged.append(checked.dialog)
            stage = checked.stages[0]
            steps += int(stage.meta.get("steps", 0))
            wrong += int(stage.meta.get("wrong", 0))
            tally = scenarios.setdefault(str(checked.dialog.meta.scenario or "unknown"), [0, 0])
            tally[1] += 1
            if checked.ok:
                kept += 1
                tally[0] += 1
                codes.update(v.code for v in stage.verdicts)
            else:
                solved += 1
    return SelectReport(
        folder.path,
        model,
        kept + solved,
        kept,
        solved,
        steps,
        wrong,
        dict(codes.most_common()),
        {k: (v[0], v[1]) for k, v in sorted(scenarios.items())},
        errors,
        wall_s,
        difficulty_histogram(judged),
    )
