"""Where a job's items run: in this process (the default), or in shards on a Ray cluster.

Ray (the `ray` extra) is the engine; callforge only decides what a shard is and who writes. A
job that can run on Ray gives the runner a `WorkSetup`: a picklable object that, called once in a
Ray actor, builds the job's per-item work there (its backends and endpoint pool, its sandbox and
tool engines, its caches). The runner then starts one actor per shard and sends each item to
the actor of its shard, `crc32(id) % shards`, so an item belongs to the same shard in every
session with the same number of shards. Records come back to this process, which is the only
writer of the run folder: the run keeps its one layout (append-only shards per session, the
manifest), a cluster needs no shared filesystem, and two processes never append to one file.

The manifest's session entry says how it ran (`executor`: the cluster, and per shard its rule,
the worker's node and process, items started, written and lost, restarts, and `complete`);
what is done is, as always, the ids on disk, so a resumed run, with Ray or without, skips them.

A worker that dies (a node lost, `ray.kill`, an out-of-memory kill) loses only its items in
flight: each is noted in `errors.jsonl` (`WorkerLost`, retryable, not counted towards the
give-up streak: a lost worker is no sign that the endpoint is down) and redone on resume; the
shard gets a fresh actor for its next items, up to `max_restarts` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from callforge.core import CallforgeError, ConfigError

RAY_EXTRA_HINT = "Ray is not installed; `pip install 'callforge[ray]'` (or `pip install ray`) to run jobs on a cluster"

Work = Callable[[Any], Awaitable[Any]]
"""A job's work on one item's value: returns the `Written` record (or None)."""


class WorkSetup(Protocol):
    """Builds a job's per-item work where it runs (a Ray actor); must pickle (hold a config, not a connection)."""

    def __call__(self) -> Awaitable[Work]:
        """The work function, with its backends, engines and caches built here."""
        ...


class WorkerLost(CallforgeError):
    """A Ray worker died with this item in flight: the item is noted and redone on resume, the job goes on."""

    retryable = True
    worker_lost = True


@dataclass(frozen=True)
class RayExecutor:
    """Run a job's items in shards on Ray actors: `address` a cluster (`ray://host:10001`), None `RAY_ADDRESS` or a local one."""

    address: str | None = None
    shards: int | None = None
    """Actors (one per shard); None: one per CPU of the cluster."""
    per_shard: int | None = None
    """Items in flight in each actor; None: the job's concurrency split over the shards."""
    max_restarts: int = 3
    """Fresh actors a shard may get after its worker dies."""
    num_cpus: float = 1.0
    """CPUs each actor reserves (its sandboxed tool runs use them)."""
    on_start: Callable[[RayPool], None] | None = field(default=None, compare=False, repr=False)
    """Called with the pool once its actors are started, to watch or steer it (a test kills a worker)."""


def executor_of(value: RayExecutor | str | bool | None) -> RayExecutor | None:
    """The executor a `--ray [ADDRESS]` flag or an `executor=`/`ray=` argument asks for.

    None or False: this process; True or "": `RAY_ADDRESS`, else a local cluster; a string: that
    cluster (`ray://host:10001`, `auto`); a `RayExecutor` as it is.
    """
    if value is None or value is False:
        return None
    if isinstance(value, RayExecutor):
        return value
    if value is True or not str(value).strip():
        return RayExecutor()
    return RayExecutor(address=str(value).strip())


def shard_of(id: str, shards: int) -> int:
    """The shard an item belongs to: the same in every session that uses the same number of shards."""
    return zlib.crc32(id.encode()) % shards


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_EXTRA_HINT) from None
    return ray


class RayPool:
    """The driver's side of a sharded job: one actor per shard, items dispatched by id, deaths replaced."""

    def __init__(self, executor: RayExecutor, setup: WorkSetup, concurrency: int) -> None:
        """Connect to (or start) the cluster and start the actors; `concurrency` is the job's items in flight."""
        ray = _ray()
        if not ray.is_initialized():
            address = executor.address or os.environ.get("RAY_ADDRESS") or None
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.ray = ray
        self.executor = executor
        self.setup = setup
        cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
        self.shards = executor.shards or max(1, int(cpus // max(executor.num_cpus, 0.01)))
        self.per_shard = executor.per_shard or max(1, -(-concurrency // self.shards))
        self.width = self.shards * self.per_shard
        self._class = _worker_class(ray)
        self._actors: list[Any] = [self._start(k) for k in range(self.shards)]
        self._slots = [asyncio.Semaphore(self.per_shard) for _ in range(self.shards)]
        self._counts = [{"started": 0, "written": 0, "lost": 0, "restarts": 0} for _ in range(self.shards)]
        self._where: list[dict[str, Any]] = [{} for _ in range(self.shards)]
        self._busy = [0] * self.shards
        self.address = executor.address or os.environ.get("RAY_ADDRESS") or "local"
        if executor.on_start is not None:
            executor.on_start(self)

    def _start(self, shard: int) -> Any:
        return self._class.options(max_concurrency=max(2, self.per_shard + 1), num_cpus=self.executor.num_cpus).remote(
            self.setup, shard
        )

    async def run(self, id: str, value: Any) -> Any:
        """Run one item on its shard's actor and return its result; a dead actor raises `WorkerLost`."""
        shard = shard_of(id, self.shards)
        ray = self.ray
        async with self._slots[shard]:
            actor = self._actors[shard]
            counts = self._counts[shard]
            counts["started"] += 1
            self._busy[shard] += 1
            ref = actor.run.remote(value)
            try:
                if not self._where[shard]:
                    self._where[shard] = {"pending": True}
                    self._where[shard] = dict(await actor.where.remote())
                result = await ref
            except asyncio.CancelledError:  # the job has enough, or stops: the worker drops the item too
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
                raise
            except ray.exceptions.RayActorError as exc:
                counts["lost"] += 1
                self._replace(shard, actor)
                raise WorkerLost(f"the Ray worker of shard {shard} died with this item in flight ({type(exc).__name__})") from None
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, BaseException):
                    raise cause from None
                raise
            finally:
                self._busy[shard] -= 1
            counts["written"] += result is not None
            return result

    def in_flight(self, shard: int) -> int:
        """Items the shard's worker holds now."""
        return self._busy[shard]

    def _replace(self, shard: int, dead: Any) -> None:
        """Give a shard a fresh actor after its worker died (once per death, up to `max_restarts`)."""
        counts = self._counts[shard]
        if self._actors[shard] is not dead or counts["restarts"] >= self.executor.max_restarts:
            return
        counts["restarts"] += 1
        self._actors[shard] = self._start(shard)
        self._where[shard] = {}

    def describe(self, *, complete: bool) -> dict[str, Any]:
        """The manifest's record of this session's shards: the rule, each worker, its counts and whether it is done."""
        return {
            "engine": "ray",
            "address": _shown(self.address),
            "rule": f"crc32(id) % {self.shards}",
            "per_shard": self.per_shard,
            "shards": [
                {"shard": k, **self._where[k], **self._counts[k], "complete": complete and not self._counts[k]["lost"]}
                for k in range(self.shards)
            ],
        }

    def kill(self, shard: int) -> None:
        """Kill a shard's worker now (what a lost node does); its items in flight are lost and redone on resume."""
        self.ray.kill(self._actors[shard], no_restart=True)

    def close(self) -> None:
        """Stop the actors (the cluster stays up)."""
        for actor in self._actors:
            with contextlib.suppress(Exception):  # already dead
                self.ray.kill(actor, no_restart=True)


def _shown(address: str) -> str:
    """An address as the manifest keeps it: no userinfo."""
    scheme, sep, rest = address.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else address


_CLASSES: dict[int, Any] = {}


def _worker_class(ray: Any) -> Any:
    """The actor class, made once per process (Ray is imported only when a job asks for it)."""
    made = _CLASSES.get(id(ray))
    if made is not None:
        return made

    class ShardWorker:
        """One shard's worker: builds the job's work once, then runs items on it as they come."""

        def __init__(self, setup: WorkSetup, shard: int) -> None:
            self.setup = setup
            self.shard = shard
            self.work: Work | None = None
            self.lock: asyncio.Lock | None = None

        async def run(self, value: Any) -> Any:
            if self.work is None:
                self.lock = self.lock or asyncio.Lock()
                async with self.lock:
                    if self.work is None:
                        self.work = await self.setup()
            return await self.work(value)

        async def where(self) -> dict[str, Any]:
            import socket

            context = ray.get_runtime_context()
            return {"node": context.get_node_id(), "host": socket.gethostname(), "pid": os.getpid()}

    made = _CLASSES[id(ray)] = ray.remote(ShardWorker)
    return made
