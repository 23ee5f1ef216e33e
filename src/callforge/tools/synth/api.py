"""`synthesize_pool(...)`: a synthesis as a job of the runner, its drafts in a Run folder beside the pool file."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from callforge.llm import AUTO, Backend, ModelRef, close_backend, make_backend
from callforge.run import LLM_CACHE, JobConfig, RayExecutor, blocking, executor_of
from callforge.tools.pool import save_pool
from callforge.tools.synth.pipeline import DRAFTS, SYNTH_JOB, Pool, PoolSynthesizer
from callforge.tools.synth.similar import DEFAULT_SIMILARITY

DEFAULT_SYNTH_MODEL = "local:qwen2.5-coder-1.5b"
"""The embedded quality tier (`callforge[local-large]`); the 0.5B drafts too few valid APIs."""


class SynthConfig(JobConfig):
    """A pool synthesis: how many APIs, over which domains, with which model; the pool file is `out`.

    The run (manifest, one record per draft, the response cache) is the folder `<out>.run` beside
    the pool file, so a killed synthesis re-run with the same arguments continues where it stopped.
    """

    job: ClassVar[str] = SYNTH_JOB
    streams: ClassVar[tuple[str, ...]] = (DRAFTS,)
    may_change: ClassVar[frozenset[str]] = frozenset({"n"})
    runtime: ClassVar[frozenset[str]] = frozenset({"out", "resume", "concurrency", "base_url", "api_key", "cache"})

    n: int = Field(ge=1)
    model: ModelRef = DEFAULT_SYNTH_MODEL
    domains: tuple[str, ...] | None = None
    """Seed domains (default: the built-in taxonomy)."""
    expand: int = Field(default=0, ge=0)
    """Domains the model adds to the list."""
    seed: int = 0
    evolve_rate: float = Field(default=0.3, ge=0, le=1)
    similarity: float = Field(default=DEFAULT_SIMILARITY, gt=0, le=1)
    concurrency: int = Field(default=4, ge=1)
    base_url: str | None = None
    api_key: str | None = None
    cache: Path | None = None
    """The response cache (default: `llm-cache.sqlite` in the run folder)."""
    resume: bool = True

    @property
    def folder(self) -> Path:
        """The run folder: `<out>.run` beside the pool file."""
        return self.out.with_name(self.out.name + ".run")


async def synthesize_pool_async(
    config: SynthConfig | None = None,
    /,
    *,
    progress: Callable[[int, int], None] | None = None,
    executor: RayExecutor | str | bool | None = None,
    **fields: Any,
) -> Pool:
    """Synthesize a pool of `config.n` APIs and write it as the pool file `config.out`.

    Without an `out`, the pool is made in a temporary folder and only returned. A model spec gets
    a response cache; a Backend object is used as given. `executor` (a `RayExecutor`, a Ray
    address, or True) drafts on Ray actors, each with its own backend built from the config.
    """
    ray = executor_of(executor)
    if config is None and fields.get("out") is None:
        fields.pop("out", None)
        with tempfile.TemporaryDirectory(prefix="callforge-synth-") as tmp:
            return await _synthesize(SynthConfig.of(out=Path(tmp) / "pool.json", **fields), progress, write=False, executor=ray)
    return await _synthesize(SynthConfig.of(config, **fields), progress, write=True, executor=ray)


synthesize_pool = blocking(synthesize_pool_async)


async def _synthesize(
    config: SynthConfig, progress: Callable[[int, int], None] | None, *, write: bool, executor: RayExecutor | None = None
) -> Pool:
    folder = config.open_folder()
    built: Backend | None = None
    if isinstance(config.model, str):
        folder.path.mkdir(parents=True, exist_ok=True)
        built = _backend(config, folder.path)
        backend: Backend = built
    else:
        backend = config.model
    try:
        synthesizer = _synthesizer(config, backend)
        pool = await synthesizer.run(
            config.n,
            domains=config.domains,
            expand=config.expand,
            progress=progress,
            folder=folder,
            config=config.stored(),
            executor=executor,
            setup=_SynthSetup(config) if executor is not None else None,
        )
    finally:
        if built is not None:
            await close_backend(built)
    if write:
        report = pool.report.model_dump(mode="json")
        report["domain_descriptions"] = {d.name: d.description for d in pool.domains}
        save_pool(config.out, pool.tools, report=report)
    return pool


def _backend(config: SynthConfig, folder: Path) -> Backend:
    assert isinstance(config.model, str)
    return make_backend(
        config.model,
        base_url=config.base_url,
        api_key=config.api_key,
        cache=config.cache or folder / LLM_CACHE,
        concurrency=AUTO,  # requests in flight found per endpoint; `config.concurrency` bounds the drafts
    )


def _synthesizer(config: SynthConfig, backend: Backend) -> PoolSynthesizer:
    return PoolSynthesizer(
        backend,
        seed=config.seed,
        evolve_rate=config.evolve_rate,
        similarity=config.similarity,
        concurrency=config.concurrency,
    )


@dataclass(frozen=True)
class _SynthSetup:
    """Builds a synthesizer in a Ray worker (picklable: the config travels, not the backend)."""

    config: SynthConfig

    async def __call__(self) -> Callable[[Any], Awaitable[Any]]:
        config = self.config
        if not isinstance(config.model, str):  # a Backend object that pickled: each worker has its copy
            return await _synthesizer(config, config.model).drafter()
        folder = config.folder
        if not folder.is_dir():  # a node that does not see the run folder keeps its cache in memory only
            config = config.model_copy(update={"cache": None})
            folder = Path(tempfile.mkdtemp(prefix="callforge-synth-worker-"))
        return await _synthesizer(config, _backend(config, folder)).drafter()
