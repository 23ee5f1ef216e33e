"""`verify(...)`: read any dataset, run the cascade, write accepted and rejected records, count the funnel.

Record files are the checkpoint: each judged dialog is appended to `accepted.jsonl` or
`rejected.jsonl` as it finishes, so a killed run resumes by skipping the ids already written, with
nothing lost and nothing written twice. A dialog whose stage failed for a reason outside the data
(a judge endpoint still down after retries) goes to `errors.jsonl` and is retried by the next run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from callforge.core import CallforgeError, ConfigError, Dialog
from callforge.llm.backend import BackendError
from callforge.run import JsonlWriter, read_ids, repair_tail
from callforge.verify.cascade import Cascade
from callforge.verify.funnel import Funnel
from callforge.verify.record import Checked, Stage, StageResult

ACCEPTED = "accepted.jsonl"
REJECTED = "rejected.jsonl"
ERRORS = "errors.jsonl"
FUNNEL = "funnel.json"


@dataclass
class VerifyProgress:
    """Counters a progress display shows; updated after every judged dialog."""

    done: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    resumed: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def rate(self) -> float:
        """Dialogs judged per second in this run."""
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


@dataclass
class VerifyReport:
    """What a verification run produced: the funnel over every record in `out` (earlier runs included)."""

    funnel: Funnel
    out: Path | None
    wall_s: float
    progress: VerifyProgress
    records: list[Checked] = field(default_factory=list)

    @property
    def accepted_path(self) -> Path | None:
        """Where accepted dialogs are, when written to disk."""
        return self.out / ACCEPTED if self.out else None

    @property
    def rejected_path(self) -> Path | None:
        """Where rejected dialogs (with every verdict) are, when written to disk."""
        return self.out / REJECTED if self.out else None


def record_line(checked: Checked) -> dict[str, Any]:
    """The JSON line written for one judged dialog (what `--format callforge` reads back)."""
    return checked.model_dump(mode="json")


def verify(
    data: str | Path | Iterable[Dialog],
    stages: Cascade | list[Stage],
    *,
    format: str = "auto",
    out: str | Path | None = None,
    limit: int | None = None,
    concurrency: int = 8,
    progress: Callable[[VerifyProgress], None] | None = None,
) -> VerifyReport:
    """Judge every dialog of `data` (a dataset path in any supported format, or Dialogs) with the cascade.

    With `out`, records go to `out/accepted.jsonl` and `out/rejected.jsonl` and a re-run resumes;
    without it, the judged records are returned in `report.records`.
    """
    cascade = stages if isinstance(stages, Cascade) else Cascade(stages)
    dialogs = _dialogs(data, format, limit)
    if cascade.rules_only:
        return _run_sync(cascade, dialogs, out, progress)
    return asyncio.run(verify_async(dialogs, cascade, out=out, concurrency=concurrency, progress=progress))


async def verify_async(
    data: Iterable[Dialog],
    cascade: Cascade,
    *,
    out: str | Path | None = None,
    concurrency: int = 8,
    progress: Callable[[VerifyProgress], None] | None = None,
) -> VerifyReport:
    """The async core of `verify`, for callers already inside an event loop."""
    start = time.perf_counter()
    sink = _Sink(Path(out) if out else None, cascade.names)
    state = VerifyProgress(resumed=len(sink.done))
    _prime(cascade, sink.out)
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    semaphore = asyncio.Semaphore(concurrency)
    pending: set[asyncio.Task[None]] = set()
    fatal: list[BaseException] = []

    async def one(dialog: Dialog, id: str) -> None:
        async with semaphore:
            try:
                checked = await cascade.check(dialog, id)
            except CallforgeError as exc:
                if not (isinstance(exc, BackendError) and exc.retryable):
                    fatal.append(exc)  # a setup problem (bad key, bad flag): stop, nothing is lost
                    return
                sink.error(id, exc)
                state.errors += 1
            else:
                sink.write(checked)
                state.accepted += checked.ok
                state.rejected += not checked.ok
            state.done += 1
            if progress is not None:
                progress(state)

    try:
        for id, dialog in sink.todo(data):
            if fatal:
                break
            while len(pending) >= concurrency * 2:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.add(asyncio.create_task(one(dialog, id)))
        if pending:
            await asyncio.gather(*pending)
    finally:
        sink.close()
    if fatal:
        raise fatal[0]
    return sink.report(time.perf_counter() - start, state)


def _run_sync(
    cascade: Cascade, dialogs: Iterable[Dialog], out: str | Path | None, progress: Callable[[VerifyProgress], None] | None
) -> VerifyReport:
    start = time.perf_counter()
    sink = _Sink(Path(out) if out else None, cascade.names)
    state = VerifyProgress(resumed=len(sink.done))
    try:
        for id, dialog in sink.todo(dialogs):
            checked = cascade.check_sync(dialog, id)
            sink.write(checked)
            state.done += 1
            state.accepted += checked.ok
            state.rejected += not checked.ok
            if progress is not None and (state.done % 200 == 0):
                progress(state)
    finally:
        sink.close()
    if progress is not None:
        progress(state)
    return sink.report(time.perf_counter() - start, state)


def _prime(cascade: Cascade, out: Path | None) -> None:
    """Give stages that remember accepted dialogs (dedup) what earlier runs of this folder accepted."""
    if not any(hasattr(s, "remember") for s in cascade.stages) or out is None or not (out / ACCEPTED).is_file():
        return
    with (out / ACCEPTED).open("rb") as fh:
        for line in fh:
            if line.strip():
                row = orjson.loads(line)
                cascade.remember(Dialog.model_validate(row["dialog"]), str(row["id"]))


def _dialogs(data: str | Path | Iterable[Dialog], format: str, limit: int | None) -> Iterator[Dialog]:
    if isinstance(data, str | Path):
        from callforge.formats import read_dialogs

        source: Iterable[Dialog] = read_dialogs(data, format, limit=limit)
        yield from source
        return
    for n, dialog in enumerate(data):
        if limit is not None and n >= limit:
            return
        yield dialog


class _Sink:
    """Where judged dialogs go: two record files (or memory), the error log, and the ids already done."""

    def __init__(self, out: Path | None, stages: list[str]) -> None:
        self.out = out
        self.stages = stages
        self.records: list[Checked] = []
        self.done: set[str] = set()
        self._seen: dict[str, int] = {}
        self._writers: dict[bool, JsonlWriter] = {}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            self.done = read_ids(out / ACCEPTED, what="verify record") | read_ids(out / REJECTED, what="verify record")
            self._writers = {True: JsonlWriter(out / ACCEPTED), False: JsonlWriter(out / REJECTED)}

    def todo(self, dialogs: Iterable[Dialog]) -> Iterator[tuple[str, Dialog]]:
        """Unique ids for the dialogs not judged yet (a repeated source id gets `~2`, `~3` ...)."""
        for n, dialog in enumerate(dialogs):
            base = dialog.meta.id or f"#{n}"
            seen = self._seen.get(base, 0) + 1
            self._seen[base] = seen
            id = base if seen == 1 else f"{base}~{seen}"
            if id not in self.done:
                yield id, dialog

    def write(self, checked: Checked) -> None:
        if self.out is None:
            self.records.append(checked)
            return
        self._writers[checked.ok].write(record_line(checked))

    def error(self, id: str, exc: BaseException) -> None:
        if self.out is None:
            raise exc
        with (self.out / ERRORS).open("ab") as fh:
            fh.write(orjson.dumps({"id": id, "error": str(exc), "time": time.time()}) + b"\n")

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def report(self, wall_s: float, state: VerifyProgress) -> VerifyReport:
        funnel = Funnel(list(self.stages))
        if self.out is None:
            for checked in self.records:
                funnel.add(checked)
        else:
            for name in (ACCEPTED, REJECTED):
                for ok, stages in _stage_results(self.out / name):
                    funnel.add_stages(ok, stages)
            (self.out / FUNNEL).write_bytes(orjson.dumps(funnel.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        return VerifyReport(funnel=funnel, out=self.out, wall_s=wall_s, progress=state, records=self.records)


def _stage_results(path: Path) -> Iterator[tuple[bool, list[StageResult]]]:
    if not path.is_file():
        return
    repair_tail(path)
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                row = orjson.loads(line)
                yield bool(row["ok"]), [StageResult.model_validate(s) for s in row.get("stages", ())]
