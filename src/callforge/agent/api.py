"""An agent from what a user types: a model spec, tool files or an environment, a strategy name.

`open_agent` builds the backend, the tools' engine (or the environment) and the strategy, and
closes what it built when the block ends, so a chat keeps one model loaded and one environment's
state across its turns; `run_agent` is one request from start to finish.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from callforge.agent.loop import Agent, AgentConfig, AgentResult
from callforge.agent.strategies import make_strategy
from callforge.agent.strategy import Strategy
from callforge.core import ConfigError, Message
from callforge.execute import Environment, EnvironmentSpec, load_toolbox_async, parse_environment
from callforge.llm import Backend, close_backend, make_backend
from callforge.run import blocking

ToolSources = Sequence[str | os.PathLike[str]]
EnvironmentSource = str | os.PathLike[str] | EnvironmentSpec | Environment


@asynccontextmanager
async def open_agent(
    model: str | Backend,
    *,
    tools: ToolSources = (),
    env: EnvironmentSource | None = None,
    env_init: Mapping[str, Any] | None = None,
    strategy: str | Strategy = "direct",
    config: AgentConfig | None = None,
    simulator: str | Backend | None = None,
    tool_mode: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    roles: Mapping[str, str | Backend] | None = None,
) -> AsyncIterator[Agent]:
    """An Agent over tool sources (`tools`: any file `callforge.execute` reads) or an environment (`env`).

    `model` and `simulator` are specs (`local:...`, `openai:...`, `fake:world`) or Backends; the
    simulator plays tools that have no implementation (default: the model). What this builds from
    a spec or a file is closed on exit; a Backend or Environment passed in stays the caller's.
    `tool_mode`, `base_url` and `api_key` are the spec's endpoint options (`make_backend`). `roles`
    gives a strategy's roles their own models (`{"planner": "openai:big", "caller": "local:small"}`).
    """
    if bool(tools) == (env is not None):
        raise ConfigError(
            "give the agent tools (`tools`: a .py file, a JSON or OpenAPI spec, an MCP server) or a stateful "
            "environment (`env`: bank.py, bank.py:Bank, a service spec), not both and not neither"
        )
    chosen = make_strategy(strategy) if isinstance(strategy, str) else strategy
    async with AsyncExitStack() as stack:
        endpoint = _Endpoint(tool_mode, base_url, api_key)
        backend = _backend(model, stack, endpoint)
        built: dict[str, Backend] = {model: backend} if isinstance(model, str) else {}
        players = {role: _role(spec, built, stack, endpoint) for role, spec in (roles or {}).items()}
        if env is not None:
            environment = await _environment(env, env_init, stack)
            yield Agent(backend, environment=environment, strategy=chosen, config=config, roles=players)
            return
        toolbox = await load_toolbox_async(list(tools))
        stack.push_async_callback(toolbox.aclose)
        player = backend if simulator is None else _backend(simulator, stack, endpoint)
        engine = toolbox.engine(player)
        yield Agent(backend, tools=toolbox.tools, engine=engine, strategy=chosen, config=config, roles=players)


async def run_agent_async(
    request: str | Sequence[Message],
    model: str | Backend,
    *,
    tools: ToolSources = (),
    env: EnvironmentSource | None = None,
    env_init: Mapping[str, Any] | None = None,
    strategy: str | Strategy = "direct",
    config: AgentConfig | None = None,
    simulator: str | Backend | None = None,
    tool_mode: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    roles: Mapping[str, str | Backend] | None = None,
) -> AgentResult:
    """One request played to its answer by a fresh agent (see `open_agent` for the arguments)."""
    async with open_agent(
        model,
        tools=tools,
        env=env,
        env_init=env_init,
        strategy=strategy,
        config=config,
        simulator=simulator,
        tool_mode=tool_mode,
        base_url=base_url,
        api_key=api_key,
        roles=roles,
    ) as agent:
        return await agent.run(request)


run_agent = blocking(run_agent_async)


@dataclass(frozen=True)
class _Endpoint:
    tool_mode: str | None
    base_url: str | None
    api_key: str | None


def _backend(model: str | Backend, stack: AsyncExitStack, endpoint: _Endpoint) -> Backend:
    if not isinstance(model, str):
        return model
    backend = make_backend(model, tool_mode=endpoint.tool_mode, base_url=endpoint.base_url, api_key=endpoint.api_key)
    stack.push_async_callback(close_backend, backend)
    return backend


def _role(spec: str | Backend, built: dict[str, Backend], stack: AsyncExitStack, endpoint: _Endpoint) -> Backend:
    """A role's backend; roles given the same spec share one (a local model loads once)."""
    if not isinstance(spec, str):
        return spec
    if spec not in built:
        built[spec] = _backend(spec, stack, endpoint)
    return built[spec]


async def _environment(source: EnvironmentSource, init: Mapping[str, Any] | None, stack: AsyncExitStack) -> Environment:
    if isinstance(source, Environment):
        return source
    spec = source if isinstance(source, EnvironmentSpec) else parse_environment(source, init=init)
    environment = await asyncio.to_thread(spec.build)  # a sandboxed class starts a process
    stack.callback(environment.close)
    return environment
