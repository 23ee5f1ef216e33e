"""API pool synthesis (ToolACE's approach): grow hundreds of realistic, varied, validated APIs from a domain list.

Taxonomy (seed domains + model expansion) → functionalities per domain → API drafts with a sampled
feature plan → evolution passes → validation → dedup → a pool file. Synthesized tools have no
code; generation plays them with the `simulated` engine. See docs/tools.md, "Synthesizing a pool".
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from callforge.llm.backend import Backend
from callforge.tools.synth.checks import check_draft, check_schema
from callforge.tools.synth.draft import ApiDraft, DraftField, draft_schema, features, to_toolspec
from callforge.tools.synth.pipeline import Pool, PoolSynthesizer, Progress, SynthReport
from callforge.tools.synth.similar import DEFAULT_SIMILARITY, ApiIndex
from callforge.tools.synth.taxonomy import SEED_DOMAINS, Domain

DEFAULT_SYNTH_MODEL = "local:qwen2.5-coder-1.5b"
"""The embedded quality tier (`callforge[local-large]`); the 0.5B drafts too few valid APIs."""

__all__ = [
    "DEFAULT_SIMILARITY",
    "DEFAULT_SYNTH_MODEL",
    "SEED_DOMAINS",
    "ApiDraft",
    "ApiIndex",
    "Domain",
    "DraftField",
    "Pool",
    "PoolSynthesizer",
    "SynthReport",
    "check_draft",
    "check_schema",
    "draft_schema",
    "features",
    "synthesize_pool",
    "synthesize_pool_async",
    "to_toolspec",
]


async def synthesize_pool_async(
    n: int,
    *,
    model: str | Backend = DEFAULT_SYNTH_MODEL,
    domains: Sequence[str] | None = None,
    expand: int = 0,
    out: str | os.PathLike[str] | None = None,
    seed: int = 0,
    evolve_rate: float = 0.3,
    similarity: float = DEFAULT_SIMILARITY,
    concurrency: int = 4,
    base_url: str | None = None,
    api_key: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> Pool:
    """Synthesize a pool of `n` APIs and, with `out`, write it as a pool file.

    A model spec gets a response cache (`cache`, default `<out>.cache.sqlite` when `out` is given),
    so re-running a killed synthesis with the same arguments replays the finished requests for free
    and continues. A Backend object is used as given.
    """
    from callforge.llm.registry import close_backend, make_backend
    from callforge.tools.pool import save_pool

    built: Backend | None = None
    if isinstance(model, str):
        cache_path = (
            Path(cache) if cache is not None else (Path(f"{os.fspath(out)}.cache.sqlite") if out else None)
        )
        built = make_backend(
            model, base_url=base_url, api_key=api_key, cache=cache_path, concurrency=concurrency
        )
        backend: Backend = built
    else:
        backend = model
    try:
        synthesizer = PoolSynthesizer(
            backend, seed=seed, evolve_rate=evolve_rate, similarity=similarity, concurrency=concurrency
        )
        pool = await synthesizer.run(n, domains=domains, expand=expand, progress=progress)
    finally:
        if built is not None:
            await close_backend(built)
    if out is not None:
        report = pool.report.model_dump(mode="json")
        report["domain_descriptions"] = {d.name: d.description for d in pool.domains}
        save_pool(out, pool.tools, report=report)
    return pool


def synthesize_pool(n: int, **kwargs: object) -> Pool:
    """`synthesize_pool_async` for code that is not async (scripts, notebooks without a running loop)."""
    return asyncio.run(synthesize_pool_async(n, **kwargs))  # type: ignore[arg-type]
