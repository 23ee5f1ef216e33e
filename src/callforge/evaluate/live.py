"""Live evaluation: run a model on a suite's cases through the job runner, then score the results.

A live evaluation is a job like any other: each case is an item, each reply a record in the Run
folder's `results` stream, appended (and fsynced) the moment it arrives, so a killed run loses at
most the requests in flight and a re-run skips every id already written. Each record is the line
BFCL's checker reads (`id`, `result`, token counts, latency); after every session the results are
also written as BFCL's own per-category files under `OUT/bfcl-results/`, so the same outputs can
be scored by either tool. An evaluation of a fixed suite continues by default (`resume=True`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from callforge.core import Case, Categories, Category, CategoryKind, ConfigError
from callforge.evaluate.bfcl_prompt import fc_tools, prompting_messages
from callforge.evaluate.check import Mode, Style
from callforge.evaluate.evaluator import EvalReport, score
from callforge.evaluate.multi_turn import MultiTurnEntry, load_multi_turn
from callforge.evaluate.multi_turn_live import STEP_LIMIT, run_multi_turn_entry
from callforge.evaluate.stored import result_value
from callforge.evaluate.trials import pass_hat_by_mode
from callforge.formats import bfcl_data_dir, load_bfcl_suite
from callforge.llm import (
    Backend,
    Bounded,
    ModelRef,
    RequestRejected,
    Usage,
    close_backend,
    make_backend,
)
from callforge.run import (
    LLM_CACHE,
    FailurePolicy,
    Item,
    JobConfig,
    JobHooks,
    JobProgress,
    RayExecutor,
    RunFolder,
    Written,
    blocking,
    executor_of,
    run_job,
)

RESULTS = "results"
BFCL_RESULTS = "bfcl-results"


class EvalConfig(JobConfig):
    """A live evaluation: the model, the suite (BFCL data), how requests are made, where results go."""

    job: ClassVar[str] = "eval"
    streams: ClassVar[tuple[str, ...]] = (RESULTS,)
    may_change: ClassVar[frozenset[str]] = frozenset({"limit", "categories", "trials"})
    runtime: ClassVar[frozenset[str]] = frozenset(
        {"out", "resume", "concurrency", "base_url", "api_key", "tool_mode", "rpm", "timeout", "cache"}
    )

    model: ModelRef
    """A model spec (`local:...`, `openai:...`, `hf:...`, `fuzz`) or a Backend object."""
    adapter: Path | None = None
    """A LoRA adapter for an `hf:` or `local:` model (the folder `callforge train` saved); same as `model@DIR`."""
    data: Path | None = None
    """The BFCL data folder (default: $CALLFORGE_BFCL_DATA, or an installed bfcl-eval's data)."""
    style: Style = Style.PROMPTING
    categories: Categories = None
    """Categories to run; group names (`multi_turn`, `live`, `all`) expand (default: every single-turn category in `data`)."""
    limit: int | None = Field(default=None, ge=1)
    """Only the first N cases of each category (BFCL order): a quick, comparable smoke run."""
    temperature: float = 0.0
    max_tokens: int = Field(default=512, ge=1)
    step_limit: int = Field(default=STEP_LIMIT, ge=1)
    trials: int = Field(default=1, ge=1)
    """Run every case this many times, each trial in its own folder `out/trial-<n>`, and report pass^k (tau-bench)."""
    """Multi-turn: steps (model replies with calls) per turn before the entry is force-terminated (BFCL: 20)."""
    concurrency: Annotated[int, Field(ge=1)] | Literal["auto"] | None = None
    """Requests in flight (default: the backend's own: `auto` for openai:, which finds each endpoint's
    capacity by itself, 1 for local:); a number fixes it."""
    base_url: str | None = None
    api_key: str | None = None
    tool_mode: str | None = None
    rpm: float | None = None
    timeout: float | None = None
    cache: bool = False
    """Answer repeated requests from `out/llm-cache.sqlite` (a re-run sends nothing)."""
    resume: bool = True



class ResultRecord(BaseModel):
    """One reply as BFCL stores it (`id`, `result`, token counts, latency), plus the category and how it parsed."""

    model_config = ConfigDict(frozen=True)

    id: str
    category: Category
    result: Any
    input_token_count: int
    output_token_count: int
    latency: float
    model: str
    parse: str
    cached: bool
    steps: int | None = None
    """Multi-turn only: model replies over all turns (the token counts and latency are totals over them)."""


LiveProgress = JobProgress
"""Live counts of an evaluation (`done`, `total`, `resumed`, `errors`)."""


@dataclass(frozen=True)
class LiveReport:
    """A live run: what was sent, what failed, and the scores in both modes."""

    model: str
    style: Style
    out: Path
    sent: int
    resumed: int
    failed: list[tuple[str, str]]
    usage: Usage
    wall_s: float
    scores: dict[Mode, EvalReport] = field(default_factory=dict)
    """Empty when no case has a result (every request failed): there was nothing to score."""
    cases: int = 0
    """Cases this run covers; `len(failed)` of them have no result and are not scored."""
    trials: tuple[LiveReport, ...] = ()
    """With `trials` > 1: each trial's own report (this report's `scores` are trial 1's)."""
    pass_hat: dict[Mode, dict[Category, dict[int, float]]] = field(default_factory=dict)
    """With `trials` > 1: pass^k for k = 1..trials, per mode and category (see `pass_hat_k`)."""

    @property
    def results_dir(self) -> Path:
        """The run's results stream (its shards, and result files of earlier versions)."""
        return self.out / RESULTS


def request_for(case: Case, style: Style) -> tuple[list[Any], list[Any] | None]:
    """The messages and tools BFCL would send for this case in this style."""
    if style is Style.PROMPTING:
        return prompting_messages(case), None
    return list(case.messages), fc_tools(case)


async def evaluate_model_async(
    config: EvalConfig | None = None,
    /,
    *,
    progress: Callable[[JobProgress], None] | None = None,
    executor: RayExecutor | str | bool | None = None,
    **fields: Any,
) -> LiveReport:
    """Run `config.model` on BFCL's cases, then score the results in both modes.

    `executor` (a `RayExecutor`, a Ray address, or True for `RAY_ADDRESS` or a local cluster) sends
    the cases from shards on Ray actors, each with its own backend (its own endpoint pool).

    Multi-turn entries (categories `multi_turn_*`, or the group `multi_turn`) are played turn by
    turn on BFCL's simulators (`run_multi_turn_entry`); each entry is one item of the job, so a
    killed run redoes only the entries in flight. With `trials` > 1 every case runs that many
    times, trial n in `out/trial-n` (each folder resumable on its own), and the report adds pass^k.

    Results land in the Run folder `out` (stream `results`, BFCL copies in `bfcl-results/`),
    scores in `out/scores/bfcl/` and `out/scores/semantic/`. A request the server refuses for that
    case alone (longer than the context) is an empty answer, scored wrong, with the reason in its
    `parse` field. A request that fails for good (after
    the backend's retries) is logged to `errors.jsonl` and left out, so a re-run retries exactly
    those; a request that can never succeed as configured (bad key, unknown model) stops the run.
    When every case failed, nothing is scored and `scores` is empty.
    """
    config = EvalConfig.of(config, **fields)
    ray = executor_of(executor)
    if config.trials == 1:
        return await _evaluate_once(config, progress=progress, executor=ray)
    reports = []
    for trial in range(1, config.trials + 1):
        one = config.model_copy(update={"out": config.out / f"trial-{trial}", "trials": 1})
        reports.append(await _evaluate_once(one, progress=progress, sample=trial - 1, executor=ray))
    first = reports[0]
    return LiveReport(
        model=first.model,
        style=first.style,
        out=config.out,
        sent=sum(r.sent for r in reports),
        resumed=sum(r.resumed for r in reports),
        failed=[f for r in reports for f in r.failed],
        usage=sum((r.usage for r in reports), Usage()),
        wall_s=sum(r.wall_s for r in reports),
        scores=first.scores,
        cases=first.cases,
        trials=tuple(reports),
        pass_hat=pass_hat_by_mode(r.scores for r in reports),
    )


async def _evaluate_once(
    config: EvalConfig,
    *,
    progress: Callable[[JobProgress], None] | None,
    sample: int = 0,
    executor: RayExecutor | None = None,
) -> LiveReport:
    data_dir = bfcl_data_dir(config.data)
    cases = _cases(_suite(data_dir, config.categories), config.limit)
    _check_simulators(cases)
    folder = config.open_folder()
    folder.path.mkdir(parents=True, exist_ok=True)
    backend = _backend(config, folder.path)
    width = (
        config.concurrency
        if isinstance(config.concurrency, int)
        else (backend.concurrency if isinstance(backend, Bounded) else 1)
    )
    usage = [Usage()]
    sampling: dict[str, Any] = {"temperature": config.temperature, "max_tokens": config.max_tokens}
    if sample:
        sampling["sample"] = sample  # another trial: not the cached answer of the first
    ask = _asker(config, backend, sampling, usage)
    setup = _EvalSetup(config, sampling) if executor is not None else None

    def tally(written: Written) -> None:  # a worker's usage stays in the worker: count it from its record
        record = written.record
        if executor is not None and isinstance(record, ResultRecord):
            usage[0] = usage[0] + Usage(
                prompt_tokens=record.input_token_count, completion_tokens=record.output_token_count
            )

    started = time.monotonic()
    try:
        state = await run_job(
            folder,
            [Item(c.id, c) for c in cases],
            ask,
            config={**config.stored(), "model": backend.model},
            concurrency=width,
            policy=FailurePolicy(give_up_after=None),
            hooks=JobHooks(summary=lambda job: {"counts": {"results": job.streams[RESULTS]}}, written=tally),
            progress=progress,
            executor=executor,
            setup=setup,
        )
    finally:
        await close_backend(backend)
        write_bfcl_results(folder)
    return _report(config, folder, cases, data_dir, backend.model, state, usage[0], time.monotonic() - started)


@dataclass(frozen=True)
class _EvalSetup:
    """Builds a live evaluation's backend and asker in a Ray worker (picklable: the config travels, not a connection)."""

    config: EvalConfig
    sampling: dict[str, Any]

    async def __call__(self) -> Callable[[Case | MultiTurnEntry], Awaitable[Written]]:
        where = self.config.folder
        config = self.config if where.is_dir() else self.config.model_copy(update={"cache": False})
        return _asker(config, _backend(config, where), self.sampling, [Usage()])


def _asker(
    config: EvalConfig, backend: Backend, sampling: dict[str, Any], usage: list[Usage]
) -> Callable[[Case | MultiTurnEntry], Awaitable[Written]]:
    """The work of one case: ask `backend` (or play a multi-turn entry) and make its result record."""

    async def play(entry: MultiTurnEntry) -> Written:
        run = await run_multi_turn_entry(entry, backend, config.style, step_limit=config.step_limit, **sampling)
        usage[0] = usage[0] + run.usage
        parse = f"rejected: {run.rejected}" if run.rejected else ("force_terminated" if run.force_terminated else "ok")
        record = ResultRecord(
            id=entry.id,
            category=entry.category,
            result=run.output,
            input_token_count=run.usage.prompt_tokens,
            output_token_count=run.usage.completion_tokens,
            latency=round(run.latency_s, 4),
            model=run.model,
            parse=parse,
            cached=False,
            steps=run.steps,
        )
        return Written(RESULTS, record)

    async def ask(case: Case | MultiTurnEntry) -> Written:
        if isinstance(case, MultiTurnEntry):
            return await play(case)
        messages, tools = request_for(case, config.style)
        try:
            completion = await backend.complete(messages, tools, **sampling)
        except RequestRejected as exc:
            # This case only (longer than the context, a schema the server cannot compile): the model
            # gave no answer, which BFCL scores as wrong; the run goes on.
            rejected = ResultRecord(
                id=case.id,
                category=case.category,
                result="",
                input_token_count=0,
                output_token_count=0,
                latency=0.0,
                model=backend.model,
                parse=f"rejected: {str(exc)[:300]}",
                cached=False,
            )
            return Written(RESULTS, rejected)
        usage[0] = usage[0] + completion.usage
        record = ResultRecord(
            id=case.id,
            category=case.category,
            result=result_value(completion, config.style),
            input_token_count=completion.usage.prompt_tokens,
            output_token_count=completion.usage.completion_tokens,
            latency=round(completion.latency_s, 4),
            model=completion.model,
            parse=completion.parse.code,
            cached=completion.cached,
        )
        return Written(RESULTS, record)

    return ask


def _report(
    config: EvalConfig,
    folder: RunFolder,
    cases: list[Case | MultiTurnEntry],
    data_dir: Path,
    model: str,
    state: JobProgress,
    usage: Usage,
    wall: float,
) -> LiveReport:
    ids = {c.id for c in cases}
    chosen = sorted({c.category for c in cases})
    failed = [(id, error) for id, error in folder.errors().items() if id in ids]
    scores = {} if ids and len(failed) == len(ids) else {
        mode: score(
            data=data_dir,
            results=folder.path / RESULTS,
            style=config.style,
            mode=mode,
            categories=chosen,
            ids=ids,
            out=folder.path / "scores" / mode.value,
        )
        for mode in Mode
    }
    return LiveReport(
        model=model,
        style=config.style,
        out=folder.path,
        sent=state.done - state.errors,
        resumed=state.resumed,
        failed=failed,
        usage=usage,
        wall_s=wall,
        scores=scores,
        cases=len(ids),
    )


evaluate_model = blocking(evaluate_model_async)


def write_bfcl_results(folder: RunFolder) -> list[Path]:
    """The results stream as BFCL's own files, `bfcl-results/BFCL_v4_<category>_result.json`, rewritten whole.

    BFCL's checker finds results by file name; the stream's shards are named by session. Each
    file is written beside its final name and renamed, so a kill never leaves half of one.
    """
    by_category: dict[str, list[bytes]] = {}
    for row in folder.records(RESULTS):
        category = str(row.get("category") or _category_of(str(row["id"])))
        line = {k: v for k, v in row.items() if k != "category"}
        by_category.setdefault(category, []).append(orjson.dumps(line))
    target = folder.path / BFCL_RESULTS
    written = []
    for category, lines in sorted(by_category.items()):
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"BFCL_v4_{category}_result.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(b"\n".join(lines) + b"\n")
        os.replace(tmp, path)
        written.append(path)
    return written


def _category_of(id: str) -> str:
    return id.rsplit("_", 1)[0] if "_" in id else id


def _suite(data_dir: Path, categories: tuple[Category, ...] | None) -> list[Case | MultiTurnEntry]:
    """The cases to run: single-turn Cases and multi-turn entries, in the order the categories were asked for."""
    if categories is None:
        return list(load_bfcl_suite(data_dir))
    single = [c for c in categories if c.kind is not CategoryKind.MULTI_TURN]
    multi = [c for c in categories if c.kind is CategoryKind.MULTI_TURN]
    found: list[Case | MultiTurnEntry] = []
    if single:
        found.extend(load_bfcl_suite(data_dir, single))
    if multi:
        found.extend(load_multi_turn(data_dir, multi))
    return found


def _check_simulators(cases: list[Case | MultiTurnEntry]) -> None:
    """Refuse a multi-turn run before its first request when BFCL's simulators cannot be loaded."""
    from callforge.execute import simulator_class

    classes = {name for c in cases if isinstance(c, MultiTurnEntry) for name in c.classes}
    try:
        for name in sorted(classes):
            simulator_class(name)
    except ConfigError as exc:
        raise ConfigError(f"multi-turn categories run on BFCL's simulators: {exc}") from None


def _cases(cases: list[Case | MultiTurnEntry], limit: int | None) -> list[Case | MultiTurnEntry]:
    if limit is None:
        return cases
    per: dict[str, int] = {}
    kept = []
    for case in cases:
        per[case.category] = per.get(case.category, 0) + 1
        if per[case.category] <= limit:
            kept.append(case)
    return kept


def _backend(config: EvalConfig, folder: Path) -> Backend:
    if not isinstance(config.model, str):
        if config.adapter is not None:
            raise ConfigError("`adapter` applies to a model spec (hf:... or local:...), not to a Backend object")
        return config.model
    return make_backend(
        config.model,
        base_url=config.base_url,
        api_key=config.api_key,
        tool_mode=config.tool_mode,
        concurrency=config.concurrency,
        rpm=config.rpm,
        timeout=config.timeout,
        cache=folder / LLM_CACHE if config.cache else None,
        adapter=config.adapter,
    )


def eval_folder_name(model: str, style: Style) -> Path:
    """The default output folder of a live run: `evals/<model>-<style>`."""
    import re

    return Path("evals") / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', model)}-{style.value}"
