"""`verify(...)`: read any dataset, run the cascade, write accepted and rejected records, count the funnel.

A verification is a job of the one runner: each dialog is an item, each judged dialog a record in
the Run folder's `accepted` or `rejected` stream, so a killed run resumes by skipping the ids
already written, with nothing lost and nothing written twice. A dialog whose stage failed for a
reason outside the data (a judge endpoint still down after retries) goes to `errors.jsonl` and is
retried by the next run. An audit of a fixed input continues by default (`resume=True`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import orjson
from pydantic import Field

from callforge.core import Dialog
from callforge.run import (
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
from callforge.verify.cascade import Cascade
from callforge.verify.funnel import Funnel
from callforge.verify.labels import LabelStage, read_labels
from callforge.verify.record import Checked, Stage, StageResult
from callforge.verify.spec import CascadeSpec, build_cascade

FUNNEL = "funnel.json"


class VerifyConfig(JobConfig):
    """A verification: which dataset, which cascade, where the records go."""

    job: ClassVar[str] = "verify"
    may_change: ClassVar[frozenset[str]] = frozenset({"limit"})
    runtime: ClassVar[frozenset[str]] = frozenset({"out", "resume", "concurrency", "base_url", "api_key", "cache"})

    data: Path | None = None
    """The dataset (a file in any format `callforge.formats` reads, a BFCL folder, a Run folder); None
    when the dialogs are passed in Python."""
    format: str = "auto"
    limit: int | None = Field(default=None, ge=1)
    cascade: CascadeSpec = CascadeSpec()
    concurrency: int = Field(default=8, ge=1)
    base_url: str | None = None
    api_key: str | None = None
    cache: bool = True
    """Cache judge answers and tool outputs in the Run folder."""
    resume: bool = True
    labels: Path | None = None
    """A labels file (`callforge browse` writes RUN/labels.jsonl): dialogs marked bad are rejected first, code `label.bad`."""


VerifyProgress = JobProgress
"""Live counts of a verification (`done`, `resumed`, `errors`, `streams["accepted"]` ...)."""


@dataclass
class VerifyReport:
    """What a verification run produced: the funnel over every record in `out` (earlier runs included)."""

    funnel: Funnel
    out: Path | None
    wall_s: float
    progress: JobProgress
    records: list[Checked] = field(default_factory=list)
    unjudged: dict[str, str] = field(default_factory=dict)
    """Dialogs with no record because a stage failed outside the data (judge down): id -> last error; a re-run retries them."""

    @property
    def accepted_path(self) -> Path | None:
        """Where accepted dialogs are, when written to disk."""
        return self.out / "accepted" if self.out else None

    @property
    def rejected_path(self) -> Path | None:
        """Where rejected dialogs (with every verdict) are, when written to disk."""
        return self.out / "rejected" if self.out else None


async def verify_async(
    config: VerifyConfig | None = None,
    /,
    *,
    dialogs: Iterable[Dialog] | None = None,
    stages: Cascade | Sequence[Stage] | None = None,
    progress: Callable[[JobProgress], None] | None = None,
    executor: RayExecutor | str | bool | None = None,
    **fields: Any,
) -> VerifyReport:
    """Judge every dialog of `config.data` (or of `dialogs`) with the cascade; the records go to `config.out`.

    `stages` runs these stage objects instead of building `config.cascade` (custom stages). Without
    an `out`, the records are judged in a temporary folder and returned in `report.records`.
    `executor` (a `RayExecutor`, a Ray address, or True for `RAY_ADDRESS` or a local cluster)
    judges the dialogs in shards on Ray actors, each building the cascade from `config`.
    """
    fields["executor"] = executor_of(executor)
    if config is None and "out" not in fields:
        with tempfile.TemporaryDirectory(prefix="callforge-verify-") as tmp:
            ray = fields.pop("executor")
            report = await _verify(
                VerifyConfig.of(out=Path(tmp), **fields), dialogs, stages, progress, collect=True, executor=ray
            )
            return VerifyReport(report.funnel, None, report.wall_s, report.progress, report.records, report.unjudged)
    ray = fields.pop("executor")
    return await _verify(VerifyConfig.of(config, **fields), dialogs, stages, progress, collect=False, executor=ray)


async def _verify(
    config: VerifyConfig,
    dialogs: Iterable[Dialog] | None,
    stages: Cascade | Sequence[Stage] | None,
    progress: Callable[[JobProgress], None] | None,
    *,
    collect: bool,
    executor: RayExecutor | None = None,
) -> VerifyReport:
    if (dialogs is None) == (config.data is None):
        from callforge.core import ConfigError

        raise ConfigError("give exactly one of `data` (a dataset path) or `dialogs` (Dialog objects)")
    folder = config.open_folder()
    folder.path.mkdir(parents=True, exist_ok=True)
    cascade = _cascade(config, stages, folder.path)
    _prime(cascade, folder)
    source = dialogs if dialogs is not None else _read(config)
    items = (Item(d.meta.id or f"#{n}", d) for n, d in enumerate(_limited(source, config.limit)))

    async def judge(dialog: Dialog) -> Written:
        checked = await cascade.check(dialog)  # written under its item's id (`#3`, `id~2`) by the runner
        return Written("accepted" if checked.ok else "rejected", checked)

    setup = _VerifySetup(config) if executor is not None else None
    if executor is not None and (stages is not None or cascade.remembers):
        from callforge.core import ConfigError

        raise ConfigError(
            "a verification on Ray builds its cascade in each worker: custom `stages` and stages that remember "
            "accepted dialogs (dedup, which must see every shard's) run in one process only; drop `ray`"
        )
    owned = stages is None  # a cascade built here is closed here; stage objects the caller gave stay theirs
    stored = {**config.stored(), "stages": cascade.names}
    kept: list[Any] = []
    keep = collect
    try:
        state = await run_job(
            folder,
            items,
            judge,
            config=stored,
            concurrency=config.concurrency,
            policy=FailurePolicy(give_up_after=None),
            hooks=JobHooks(summary=_summary, written=lambda w: kept.append(w.record) if keep else None),
            progress=progress,
            ordered=True,
            executor=executor,
            setup=setup,
        )
    finally:
        if owned:
            await cascade.aclose()
    funnel = funnel_of(folder, cascade.names)
    (folder.path / FUNNEL).write_bytes(orjson.dumps(funnel.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
    return VerifyReport(
        funnel=funnel, out=folder.path, wall_s=state.elapsed_s, progress=state, records=kept, unjudged=folder.errors()
    )


verify = blocking(verify_async)


@dataclass(frozen=True)
class _VerifySetup:
    """Builds a verification's cascade in a Ray worker (picklable: only the config travels)."""

    config: VerifyConfig

    async def __call__(self) -> Callable[[Dialog], Awaitable[Written]]:
        # the run folder's caches when this node sees the folder (a local cluster), none elsewhere
        where = self.config.folder if self.config.folder.is_dir() else None
        config = self.config if where is not None else self.config.model_copy(update={"cache": False})
        cascade = _cascade(config, None, where or Path("."))

        async def judge(dialog: Dialog) -> Written:
            checked = await cascade.check(dialog)
            return Written("accepted" if checked.ok else "rejected", checked)

        return judge


def funnel_of(folder: RunFolder, stages: list[str]) -> Funnel:
    """The funnel over every record of a verification folder (every session, earlier layouts included)."""
    funnel = Funnel(list(stages))
    for stream in ("accepted", "rejected"):
        for row in folder.records(stream):
            funnel.add_stages(bool(row["ok"]), [StageResult.model_validate(s) for s in row.get("stages", ())])
    return funnel


def _cascade(config: VerifyConfig, stages: Cascade | Sequence[Stage] | None, folder: Path) -> Cascade:
    cascade = _stages(config, stages, folder)
    if config.labels is None:
        return cascade
    return Cascade([LabelStage(read_labels(config.labels)), *cascade.stages], unsure=cascade.unsure)


def _stages(config: VerifyConfig, stages: Cascade | Sequence[Stage] | None, folder: Path) -> Cascade:
    if isinstance(stages, Cascade):
        return stages
    if stages is not None:
        return Cascade(list(stages))
    cache = folder if config.cache else None
    return build_cascade(config.cascade, base_url=config.base_url, api_key=config.api_key, cache_dir=cache)


def _prime(cascade: Cascade, folder: RunFolder) -> None:
    """Give stages that remember accepted dialogs (dedup) what earlier runs of this folder accepted."""
    if not cascade.remembers:
        return
    for row in folder.records("accepted"):
        cascade.remember(Dialog.model_validate(row["dialog"]), str(row["id"]))


def _read(config: VerifyConfig) -> Iterable[Dialog]:
    from callforge.formats import read_dialogs

    assert config.data is not None
    return read_dialogs(config.data, config.format)


def _limited(dialogs: Iterable[Dialog], limit: int | None) -> Iterator[Dialog]:
    for n, dialog in enumerate(dialogs):
        if limit is not None and n >= limit:
            return
        yield dialog


def _summary(state: JobProgress) -> dict[str, Any]:
    return {"counts": {"accepted": state.streams["accepted"], "rejected": state.streams["rejected"]}}
