"""`generate(...)`: tools in, a Run folder of verified dialogs out; resumable, accounted, deterministic per seed.

This module checks the inputs and the run's config (a resumed run must match the one on disk) and
hands the work to a `Session`; see session.py for scheduling and records, backends.py for models.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ConfigError
from callforge.execute.toolbox import load_toolbox
from callforge.generate.backends import RunBackends
from callforge.generate.kinds import parse_mix
from callforge.generate.session import GenerateProgress, GenerateReport, Session
from callforge.llm.backend import Backend
from callforge.run import RunFolder

DEFAULT_MODEL = "local:qwen2.5-coder-1.5b"
"""Generation's default: the 1.5B embedded model (`callforge[local-large]`). The 0.5B default of the
other verbs writes unusable user turns (docs/generate.md, "Measured"), so it is no default here."""


def generate(
    tools: str | Path | Sequence[str | Path],
    n: int,
    out: str | Path,
    *,
    model: str | Backend = DEFAULT_MODEL,
    judge_model: str | Backend | None = None,
    simulator_model: str | Backend | None = None,
    mix: str | dict[str, float] | None = None,
    seed: int = 0,
    resume: bool = False,
    concurrency: int = 4,
    max_attempts: int | None = None,
    today: str | None = None,
    dedup_threshold: float = 0.8,
    max_same_calls: int = 2,
    replays: int = 1,
    base_url: str | None = None,
    api_key: str | None = None,
    rest_base_url: str | None = None,
    progress: Callable[[GenerateProgress], None] | None = None,
) -> GenerateReport:
    """Generate `n` verified dialogs from `tools` into `out`.

    `tools` are tool sources (`callforge.execute.sources`): Python files (run sandboxed), OpenAPI
    specs (run against `rest_base_url` or the spec's server), MCP configs, commands and URLs (run
    on the server), JSON specs and pool files (played by the simulator).

    `model` plays planner, user and assistant; `judge_model` adds the judge stage; JSON specs
    without code run on `simulator_model` (default: `model`). `resume=True` continues a run in
    `out` (a killed one, or with a larger `n`); the rest of the config must match. Returns when `n`
    dialogs are accepted or `max_attempts` (default 20·n) attempts are spent. A plan whose dialog
    the rules or execution reject is played out again, up to `replays` times, with new seeds for
    the user text and the assistant's sampling: the plan and its proven calls are the expensive
    part, and a weak model's next wording often carries the plan. At most `max_same_calls` accepted
    dialogs may make exactly the same calls (`dedup.same_calls`).
    """
    return asyncio.run(
        generate_async(
            tools,
            n,
            out,
            model=model,
            judge_model=judge_model,
            simulator_model=simulator_model,
            mix=mix,
            seed=seed,
            resume=resume,
            concurrency=concurrency,
            max_attempts=max_attempts,
            today=today,
            dedup_threshold=dedup_threshold,
            max_same_calls=max_same_calls,
            replays=replays,
            base_url=base_url,
            api_key=api_key,
            rest_base_url=rest_base_url,
            progress=progress,
        )
    )


async def generate_async(
    tools: str | Path | Sequence[str | Path],
    n: int,
    out: str | Path,
    *,
    model: str | Backend = DEFAULT_MODEL,
    judge_model: str | Backend | None = None,
    simulator_model: str | Backend | None = None,
    mix: str | dict[str, float] | None = None,
    seed: int = 0,
    resume: bool = False,
    concurrency: int = 4,
    max_attempts: int | None = None,
    today: str | None = None,
    dedup_threshold: float = 0.8,
    max_same_calls: int = 2,
    replays: int = 1,
    base_url: str | None = None,
    api_key: str | None = None,
    rest_base_url: str | None = None,
    progress: Callable[[GenerateProgress], None] | None = None,
) -> GenerateReport:
    """The async core of `generate`, for callers already inside an event loop."""
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    if replays < 0:
        raise ConfigError(f"replays must be 0 or more, got {replays}")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    folder = RunFolder(out, job="generate")
    earlier = folder.manifest()
    if folder.exists and not resume:
        raise ConfigError(
            f"{folder.path} already holds a generation run; pass --resume to continue it, or choose another --out"
        )
    paths = [os.fspath(tools)] if isinstance(tools, str | Path) else [os.fspath(t) for t in tools]
    toolbox = load_toolbox(paths, rest_base_url=rest_base_url)
    config = {
        "tools": paths,
        "tool_digest": _digest([t.model_dump(mode="json", exclude={"source"}) for t in toolbox.tools]),
        "model": _name(model),
        "judge_model": _name(judge_model),
        "simulator_model": _name(simulator_model),
        "mix": parse_mix(mix),
        "seed": seed,
        "today": today or (earlier.get("config") or {}).get("today") or datetime.date.today().isoformat(),
        "dedup_threshold": dedup_threshold,
        "max_same_calls": max_same_calls,
        "replays": replays,
    }
    if earlier.get("config"):
        _same_config(earlier["config"], config, folder.path)
    session = Session(folder, toolbox, config, n=n, concurrency=concurrency, max_attempts=max_attempts or 20 * n)
    backends = RunBackends(model, judge_model, simulator_model, base_url, api_key, folder.path, concurrency)
    try:
        return await session.run(backends, progress)
    finally:
        await backends.close()
        await toolbox.aclose()


def _same_config(before: dict[str, Any], now: dict[str, Any], path: Path) -> None:
    differ = sorted(k for k in now if k in before and before[k] != now[k])
    if differ:
        shown = "; ".join(f"{k}: was {before[k]!r}, now {now[k]!r}" for k in differ if k != "tool_digest")
        if "tool_digest" in differ:
            shown = (shown + "; " if shown else "") + "the tool specs changed"
        raise ConfigError(
            f"{path} was generated with another config ({shown}); resume with the same settings "
            "(only --n may change), or choose another --out"
        )


def _name(spec: str | Backend | None) -> str | None:
    if spec is None or isinstance(spec, str):
        return spec
    return spec.model


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


__all__ = ["DEFAULT_MODEL", "GenerateProgress", "GenerateReport", "generate", "generate_async"]
