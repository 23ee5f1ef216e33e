"""The tools a generation run works with, and the engine that runs each of them.

Every source `callforge.execute.sources` reads is accepted. Each tool runs where it really lives:
a `.py` file's functions in the sandbox (never imported here), an OpenAPI operation against its
REST server, an MCP tool on its server; tools with no implementation (JSON specs, synthesized
pools) are played by a simulating model. One run may mix them all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, HttpBinding, McpBinding, ToolSpec
from callforge.execute.base import Engine
from callforge.execute.python import PythonEngine
from callforge.execute.routed import RoutedEngine
from callforge.execute.simulated import SimulatedEngine
from callforge.execute.sources import SourceTools, read_sources, read_sources_async
from callforge.llm import Backend


@dataclass
class Toolbox:
    """Every tool of the run and how each one runs: sandboxed Python, REST, MCP or a simulator."""

    tools: tuple[ToolSpec, ...]
    python: dict[str, PythonEngine] = field(default_factory=dict)
    simulated: frozenset[str] = frozenset()
    rest: frozenset[str] = frozenset()
    mcp: frozenset[str] = frozenset()
    mcp_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    rest_base_url: str | None = None
    read_only: bool = False
    """REST calls with a method that may change something are answered by simulation, never sent."""
    _open: list[Any] = field(default_factory=list, repr=False)

    def engine(self, simulator: Backend | None) -> Engine:
        """One engine for all tools; `simulator` plays the tools that have no implementation."""
        if self.simulated and simulator is None:
            raise ConfigError(
                f"{len(self.simulated)} tool(s) have no implementation ({', '.join(sorted(self.simulated)[:5])}); "
                "give a simulator model or pass their .py file, OpenAPI spec or MCP server"
            )
        routes: dict[str, Engine] = dict(self.python)
        if self.rest:
            from callforge.execute.rest import RestEngine

            rest = RestEngine(self.rest_base_url, read_only=self.read_only)
            self._open.append(rest)
            routes.update(dict.fromkeys(self.rest, rest))
        if self.mcp:
            from callforge.execute.mcp import McpEngine

            mcp = McpEngine(env=self.mcp_env, read_only=self.read_only)
            self._open.append(mcp)
            routes.update(dict.fromkeys(self.mcp, mcp))
        fallback = SimulatedEngine(simulator) if self.simulated and simulator is not None else None
        return RoutedEngine(routes, fallback)

    async def aclose(self) -> None:
        """Close the REST clients and MCP server sessions the engines opened."""
        while self._open:
            await self._open.pop().aclose()


def load_toolbox(
    sources: Sequence[str | os.PathLike[str]], *, rest_base_url: str | None = None, read_only: bool = False
) -> Toolbox:
    """Load tool sources (see `callforge.execute.sources`); names must be unique across them.

    `rest_base_url` overrides the servers an OpenAPI spec declares (a staging or local server).
    `read_only=True` never sends a call that could change something: REST sends only safe methods, MCP
    only tools their server declares read-only (see `RestEngine`, `McpEngine`).
    A pool file's tool whose `source` is an existing `.py` file runs in that file's sandbox.
    This is the blocking form; async code awaits `load_toolbox_async`, because an MCP source
    cannot be listed from inside a running event loop here.
    """
    _check_sources(sources)
    return _toolbox(read_sources([os.fspath(s) for s in sources]), rest_base_url, read_only)


async def load_toolbox_async(
    sources: Sequence[str | os.PathLike[str]], *, rest_base_url: str | None = None, read_only: bool = False
) -> Toolbox:
    """`load_toolbox` for async code (a job's core): MCP servers are listed on the running event loop."""
    _check_sources(sources)
    found = await read_sources_async([os.fspath(s) for s in sources])
    return _toolbox(found, rest_base_url, read_only)


def _check_sources(sources: Sequence[str | os.PathLike[str]]) -> None:
    if not sources:
        raise ConfigError("no tool files given; pass `tools` (a .py file or a JSON spec), e.g. examples/tools/travel.py")


def _toolbox(found: SourceTools, rest_base_url: str | None, read_only: bool) -> Toolbox:
    """Route each tool: its binding (REST, MCP), else its Python file, else the simulator."""
    python: dict[str, PythonEngine] = {}
    by_file: dict[str, PythonEngine] = {}
    simulated: set[str] = set()
    rest: set[str] = set()
    mcp: set[str] = set()
    for tool in found.tools:
        module = found.origins[tool.name] if found.kinds[tool.name] == "python" else tool.source
        if isinstance(tool.binding, HttpBinding):
            rest.add(tool.name)
        elif isinstance(tool.binding, McpBinding):
            mcp.add(tool.name)
        elif module.endswith(".py") and Path(module).is_file():
            engine = by_file.get(module)
            if engine is None:
                engine = by_file[module] = PythonEngine(Path(module))
            python[tool.name] = engine
        else:
            simulated.add(tool.name)
    return Toolbox(
        found.tools,
        python,
        frozenset(simulated),
        frozenset(rest),
        frozenset(mcp),
        found.mcp_env,
        rest_base_url,
        read_only,
    )
