"""`generate(...)`: tools in, a Run folder of verified dialogs out; resumable, accounted, deterministic per seed.

This module checks the inputs and the run's config (a resumed run must match the one on disk) and
hands the work to a `Session`; see session.py for the attempts, backends.py for models.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from callforge.core import ConfigError
from callforge.execute import load_toolbox_async, parse_environment
from callforge.generate.backends import RunBackends
from callforge.generate.config import DEFAULT_MODEL, GenerateConfig
from callforge.generate.session import GenerateProgress, GenerateReport, Session
from callforge.run import RayExecutor, RunFolder, blocking, executor_of


async def generate_async(
    config: GenerateConfig | None = None,
    /,
    *,
    progress: Callable[[GenerateProgress], None] | None = None,
    executor: RayExecutor | str | bool | None = None,
    **fields: Any,
) -> GenerateReport:
    """Generate `config.n` verified dialogs from `config.tools` into `config.out` (see `GenerateConfig`).

    Give a `GenerateConfig` or its fields (`generate(tools=["my_tools.py"], n=500, out="runs/mine")`).
    Tools run where they live: Python files sandboxed, OpenAPI operations against `rest_base_url`
    or the spec's server (`read_only=True` sends only the safe ones), MCP tools on their server
    (listed on this event loop); JSON specs and pool files are played by the simulator.
    `resume=True` continues a run in `out` (a killed one, or with a larger `n`); the rest of the
    config must match. `executor` (a `RayExecutor`, a Ray address, or True for `RAY_ADDRESS` or a
    local cluster) plays and judges the attempts in shards on Ray actors; this process dedups and
    writes them in attempt order (docs/scale-out.md).
    """
    ray = executor_of(executor)
    config = GenerateConfig.of(config, **fields)
    earlier = RunFolder(config.out, job=GenerateConfig.job).manifest().get("config") or {}
    if config.today is None:
        today = earlier.get("today") or datetime.date.today().isoformat()
        config = config.model_copy(update={"today": str(today)})
    if config.env is not None:
        if ray is not None:
            raise ConfigError(
                "episodes over an environment (env=...) run in one process: each is proven on the environment's "
                "state as it plays; drop `executor` (--ray), or generate from tools (--tools) on Ray"
            )
        return await _episodes(config, progress)
    toolbox = await load_toolbox_async(
        list(config.tools), rest_base_url=config.rest_base_url, read_only=config.read_only
    )
    digest = _digest([t.model_dump(mode="json", exclude={"source"}) for t in toolbox.tools])
    try:
        folder = config.open_folder(extra={"tool_digest": digest})
        session = Session(folder, toolbox, config, {**config.stored(), "tool_digest": digest})
        backends = RunBackends(
            config.model, config.judge_model, config.simulator_model, config.base_url, config.api_key, folder.path, config.concurrency
        )
        try:
            return await session.run(backends, progress, executor=ray)
        finally:
            await backends.close()
    finally:
        await toolbox.aclose()


generate = blocking(generate_async)


async def _episodes(config: GenerateConfig, progress: Callable[[GenerateProgress], None] | None) -> GenerateReport:
    """A run of episodes over `config.env`: its tools are the environment's, its blueprints proven on it."""
    from callforge.generate.episodes import EpisodeSession, check_episode_config

    assert config.env is not None
    spec = parse_environment(config.env, init=config.env_init)
    check_episode_config(spec, config)
    environment = await asyncio.to_thread(spec.build)
    try:
        tools = environment.tools
    finally:
        await asyncio.to_thread(environment.close)
    digest = _digest([t.model_dump(mode="json", exclude={"source"}) for t in tools])
    folder = config.open_folder(extra={"tool_digest": digest})
    session = EpisodeSession(folder, spec, tools, config, {**config.stored(), "tool_digest": digest})
    backends = RunBackends(
        config.model, config.judge_model, config.simulator_model, config.base_url, config.api_key, folder.path, config.concurrency
    )
    try:
        return await session.run(backends, progress)
    finally:
        await backends.close()


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


__all__ = ["DEFAULT_MODEL", "GenerateConfig", "GenerateProgress", "GenerateReport", "generate", "generate_async"]
