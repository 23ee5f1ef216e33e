"""The one job runner: items in, one coroutine per item, records out to a RunFolder, one policy for failures.

Every job (generate, verify, live eval, refine, select, tools synth) is the same loop: take the
items whose ids are not on disk yet, run a bounded number at once, append each finished record to
its stream's shard, and decide what a failure means. That decision is made here, once:

* a failure the policy calls retryable (an endpoint still down after its retries) loses only that
  item: it is noted in `errors.jsonl` and redone by the next session; `give_up_after` such losses
  in a row stop the job (`RunAborted`), because a dead endpoint is a setup problem;
* any other exception is fatal: nothing new starts, the items in flight are cancelled (they are
  redone on resume), the manifest says `failed`, and the exception propagates.

The manifest is rewritten atomically at the start, every few seconds and at the end, with the
session's wall time, the job's config and whatever summary the job adds.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from callforge.core import CallforgeError, ConfigError
from callforge.run.executor import RayExecutor, RayPool, WorkSetup
from callforge.run.folder import RunFolder

T = TypeVar("T")
_SAVE_EVERY_S = 5.0


class RunAborted(CallforgeError):
    """A job stopped because too many items in a row failed for a reason outside the data."""


@dataclass(frozen=True)
class Item(Generic[T]):
    """One unit of work with its stable id (the id its record is written under, and skipped by on resume)."""

    id: str
    value: T


@dataclass(frozen=True)
class Written:
    """What an item produced: a record (with an `id`) and the stream it belongs to (`accepted`, `results` ...)."""

    stream: str
    record: BaseModel


@dataclass(frozen=True)
class FailurePolicy:
    """What a failed item means: retryable ones are logged and redone later, the rest stop the job."""

    give_up_after: int | None = 5
    """Retryable failures in a row after which the job stops (None: never)."""
    retryable: Callable[[BaseException], bool] = field(default=lambda exc: bool(getattr(exc, "retryable", False)))


@dataclass
class JobProgress:
    """Live counts of a job, over every session of its folder; the runner updates it after every item."""

    total: int | None = None
    """Items this session will try, when known in advance."""
    done: int = 0
    """Items this session finished (written or lost)."""
    resumed: int = 0
    """Records already on disk when this session started."""
    errors: int = 0
    """Items this session lost to retryable failures (in `errors.jsonl`, redone next time)."""
    streams: Counter[str] = field(default_factory=Counter)
    """Records per stream, earlier sessions included."""
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed_s(self) -> float:
        """Seconds since this session started."""
        return time.perf_counter() - self.started

    @property
    def rate(self) -> float:
        """Items finished per second in this session."""
        elapsed = self.elapsed_s
        return self.done / elapsed if elapsed > 0 else 0.0


@dataclass
class JobHooks:
    """Optional decisions a job makes about its own schedule; the defaults run every item."""

    enough: Callable[[JobProgress], bool] = field(default=lambda progress: False)
    """True when the job has what it wanted (generate's target): nothing more starts, items in flight are cancelled."""
    keep: Callable[[Written], bool] = field(default=lambda written: True)
    """Whether a finished item's record is written (generate drops accepted surplus past its target)."""
    admit: Callable[[JobProgress, int], bool] = field(default=lambda progress, in_flight: True)
    """Whether another item may start, given how many are in flight (generate starts no surplus)."""
    written: Callable[[Written], None] = field(default=lambda written: None)
    """Called after each record is on disk (a tally, a dedup index)."""
    summary: Callable[[JobProgress], dict[str, Any]] = field(default=lambda progress: {})
    """The job's own manifest sections (counts, accounting), merged into every manifest save."""


async def run_job(
    folder: RunFolder,
    items: Iterable[Item[T]],
    work: Callable[[T], Awaitable[Written | None]],
    *,
    config: dict[str, Any],
    concurrency: int = 1,
    policy: FailurePolicy | None = None,
    hooks: JobHooks | None = None,
    progress: Callable[[JobProgress], None] | None = None,
    total: int | None = None,
    ordered: bool = False,
    barrier: int | None = None,
    executor: RayExecutor | None = None,
    setup: WorkSetup | None = None,
    ship: Callable[[T], Any] | None = None,
    finish: Callable[[Written], Awaitable[Written]] | None = None,
) -> JobProgress:
    """Run `work` on every item of `items` not yet in `folder`, `concurrency` at a time; one session of the job.

    `work` returns the record to write, or None when the item yields none (nothing to judge).

    `ordered=True` writes records in item order whatever order they finish in, so a run's files do
    not depend on timing (a finished item waits for the ones before it). `barrier=k` (with
    `ordered`) runs items in groups of k: a group starts only when every record of the group
    before it is written, so work that reads what earlier items decided (a dedup index, names
    already taken) sees the same state whatever the timing. Returns the final counts.

    `executor=RayExecutor(...)` runs the items in shards on Ray actors instead of here: `setup`
    (picklable) builds the work in each actor, `work` is not used, and this process still writes
    every record (see `callforge.run.executor`). `concurrency` is then the items in flight over
    all shards, and the session's manifest entry records the shards. `ship` turns an item's value
    into what is sent to its worker, here, when the item starts (after its `barrier`): work that
    reads what earlier items decided (names already taken) gets that state as it is then.
    `finish` is a step this process applies to each record just before it is written (before
    `hooks.keep`), in write order: with `ordered`, in item order (generate on Ray runs its dedup
    stage here, the one stage whose state is every shard's).
    """
    if barrier is not None and (barrier < 1 or not ordered):
        raise CallforgeError(f"barrier={barrier!r} needs ordered=True and a group size of at least 1")
    if concurrency < 1:
        raise CallforgeError(f"concurrency must be at least 1, got {concurrency}")
    hooks = hooks or JobHooks()
    folder.repair()  # this session appends: cut what a killed one left half-written, and redo it
    done_ids, counts = folder.scan()
    if total is None and isinstance(items, Sequence):
        items = list(_unique(items))
        total = sum(1 for item in items if item.id not in done_ids)
    state = JobProgress(total=total, resumed=len(done_ids), streams=counts)
    pool: RayPool | None = None
    if executor is not None:
        if setup is None:
            raise ConfigError("this job cannot run on Ray: it gives no setup to build its work in a worker")
        pool = RayPool(executor, setup, concurrency)
        concurrency = pool.width
    session = _Session(folder, config, hooks, state, pool)
    todo = enumerate(i for i in _unique(items) if i.id not in done_ids)
    job = _Job(
        folder, work, policy or FailurePolicy(), hooks, state, session, ordered=ordered, barrier=barrier, pool=pool, ship=ship,
        finish=finish,
    )
    try:
        await job.run(todo, concurrency, progress)
    finally:
        if pool is not None:
            pool.close()
    return state


_LOST = object()
"""What an item lost to a retryable failure yields: counted, logged, not written."""
_WORKER_LOST = object()
"""What an item lost with a dead worker yields: like `_LOST`, but no sign that the job should stop."""


class _Job:
    """One session's loop: start items while allowed, take each finished one, write its record in its turn."""

    def __init__(
        self,
        folder: RunFolder,
        work: Callable[[Any], Awaitable[Written | None]],
        policy: FailurePolicy,
        hooks: JobHooks,
        state: JobProgress,
        session: _Session,
        *,
        ordered: bool,
        barrier: int | None,
        pool: RayPool | None = None,
        ship: Callable[[Any], Any] | None = None,
        finish: Callable[[Written], Awaitable[Written]] | None = None,
    ) -> None:
        self.folder, self.work, self.policy, self.hooks = folder, work, policy, hooks
        self.pool, self.ship, self.finish = pool, ship, finish
        self.state, self.session = state, session
        self.ordered, self.barrier = ordered, barrier
        self.fatal: list[BaseException] = []
        self.pending: set[asyncio.Task[tuple[int, Any]]] = set()
        self.done: asyncio.Queue[asyncio.Task[tuple[int, Any]]] = asyncio.Queue()
        self.waiting: dict[int, Written | None] = {}
        self.next_to_write = 0
        self.lost_in_a_row = 0
        self.exhausted = False
        self.peeked: tuple[int, Item[Any]] | None = None

    async def run(
        self, todo: Iterator[tuple[int, Item[Any]]], concurrency: int, progress: Callable[[JobProgress], None] | None
    ) -> None:
        self.session.save("running")
        self.writers = self.folder.open_session(self.session.number)
        status = "failed"
        try:
            while True:
                self._start(todo, concurrency)
                if not self.pending:
                    break
                finished = [await self.done.get()]
                while not self.done.empty():
                    finished.append(self.done.get_nowait())
                for task in finished:
                    self.pending.discard(task)
                    await self._finish(task)
                    if progress is not None:
                        progress(self.state)
                if self.fatal or self.hooks.enough(self.state):
                    break
                self.session.maybe_save()
            status = "failed" if self.fatal else "complete"
        except (KeyboardInterrupt, asyncio.CancelledError):
            status = "stopped"  # interrupted: the items in flight are redone by the next session
            raise
        finally:
            for task in self.pending:
                task.cancel()
            if self.pending:
                await asyncio.gather(*self.pending, return_exceptions=True)
            self.writers.close()
            self.session.save(status)
        if self.fatal:
            raise self.fatal[0]

    def _start(self, todo: Iterator[tuple[int, Item[Any]]], concurrency: int) -> None:
        """Start items while the job may: room in flight, not enough yet, admitted, and the group's turn."""
        while not self.fatal and not self.exhausted and len(self.pending) < concurrency:
            if self.hooks.enough(self.state) or not self.hooks.admit(self.state, len(self.pending)):
                return
            found = self.peeked or next(todo, None)
            self.peeked = None
            if found is None:
                self.exhausted = True
                return
            if self.barrier is not None and found[0] >= (self.next_to_write // self.barrier + 1) * self.barrier:
                self.peeked = found  # the next group waits until this one is written
                return
            task = asyncio.create_task(self._one(*found))
            task.add_done_callback(self.done.put_nowait)  # one callback per task, not one per wait
            self.pending.add(task)

    async def _one(self, sequence: int, item: Item[Any]) -> tuple[int, Any]:
        try:
            if self.pool is not None:
                result = await self.pool.run(item.id, self.ship(item.value) if self.ship else item.value)
            else:
                result = await self.work(item.value)
        except Exception as exc:
            if getattr(exc, "worker_lost", False):
                self.folder.log_error(item.id, exc)
                return sequence, _WORKER_LOST
            if not self.policy.retryable(exc):
                raise
            self.folder.log_error(item.id, exc)
            return sequence, _LOST
        if result is not None and getattr(result.record, "id", item.id) != item.id:
            # the record is written under its item's id (`a~2` for a repeated id), so a resume skips it
            result = Written(result.stream, result.record.model_copy(update={"id": item.id}))
        return sequence, result

    async def _finish(self, task: asyncio.Task[tuple[int, Any]]) -> None:
        """Count a finished item, apply the failure policy, and write what is due."""
        error = task.exception()
        if error is not None:
            self.fatal.append(error)
            return
        sequence, outcome = task.result()
        self.state.done += 1
        self.session.items += 1
        if outcome is _WORKER_LOST:
            self.state.errors += 1
        elif outcome is _LOST:
            self.state.errors += 1
            self.lost_in_a_row += 1
            if self.policy.give_up_after is not None and self.lost_in_a_row >= self.policy.give_up_after:
                self.fatal.append(
                    RunAborted(
                        f"{self.lost_in_a_row} items in a row failed for a reason outside the data (see "
                        f"{self.folder.errors_path}); fix the cause (an endpoint, a key) and continue the run "
                        "with `resume=True`"
                    )
                )
        else:
            self.lost_in_a_row = 0
        result = outcome if isinstance(outcome, Written) else None
        try:
            if not self.ordered:
                await self._commit(result)
                return
            self.waiting[sequence] = result
            while self.next_to_write in self.waiting:
                await self._commit(self.waiting.pop(self.next_to_write))
                self.next_to_write += 1
        except Exception as exc:  # a hook that finds the job cannot go on (a setup problem)
            self.fatal.append(exc)

    async def _commit(self, result: Written | None) -> None:
        if result is not None and self.finish is not None:
            result = await self.finish(result)
        if result is None or not self.hooks.keep(result):
            return
        self.writers.write(result.stream, result.record.model_dump(mode="json"))
        self.state.streams[result.stream] += 1
        self.hooks.written(result)


def _unique(items: Iterable[Item[T]]) -> Iterator[Item[T]]:
    """Items with unique ids: a repeated id gets `~2`, `~3` ... (datasets repeat ids; records must not)."""
    seen: dict[str, int] = {}
    for item in items:
        count = seen.get(item.id, 0) + 1
        seen[item.id] = count
        yield item if count == 1 else Item(f"{item.id}~{count}", item.value)


class _Session:
    """This session's entry in the manifest, saved at the start, every few seconds and at the end."""

    def __init__(
        self, folder: RunFolder, config: dict[str, Any], hooks: JobHooks, state: JobProgress, pool: RayPool | None = None
    ) -> None:
        self.folder = folder
        self.pool = pool
        self.state = state
        self.config = config
        self.hooks = hooks
        self.number = folder.next_session()
        self.items = 0
        self.started = time.perf_counter()
        self._saved = time.monotonic()
        self.sessions: list[dict[str, Any]] = list(folder.manifest().get("sessions") or [])
        self.sessions.append({"session": self.number, "started": now(), "wall_s": 0.0, "items": 0})

    def maybe_save(self) -> None:
        if time.monotonic() - self._saved > _SAVE_EVERY_S:
            self.save("running")

    def save(self, status: str) -> None:
        self.sessions[-1]["wall_s"] = round(time.perf_counter() - self.started, 3)
        self.sessions[-1]["items"] = self.items
        if self.pool is not None:
            self.sessions[-1]["executor"] = self.pool.describe(complete=status == "complete")
        self.folder.write_manifest(
            {
                "callforge": _version(),
                "status": status,
                "updated": now(),
                "config": self.config,
                "sessions": self.sessions,
                "wall_s": round(sum(float(s.get("wall_s", 0)) for s in self.sessions), 3),
                **self.hooks.summary(self.state),
            }
        )
        self._saved = time.monotonic()


def now() -> str:
    """The time as the manifest writes it: UTC, ISO 8601, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _version() -> str:
    from callforge import __version__

    return __version__
