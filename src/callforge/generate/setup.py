"""The tools a generation run works with, and the engine that runs them.

A `.py` file is described and executed in the sandbox (never imported here), so its tools run for
real. A JSON spec has no code: its tools are played by a simulating model. One run may mix both;
each tool is routed to the engine that can run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callforge.core import ConfigError, ToolSpec
from callforge.llm.backend import Backend
from callforge.verify.execute import Engine, PythonEngine, RoutedEngine, SimulatedEngine


@dataclass
class Toolbox:
    """Every tool of the run, the Python engine of each file, and the names that need a simulator."""

    tools: tuple[ToolSpec, ...]
    python: dict[str, PythonEngine] = field(default_factory=dict)
    simulated: frozenset[str] = frozenset()

    def engine(self, simulator: Backend | None) -> Engine:
        """One engine for all tools; `simulator` plays the tools that have no code."""
        if self.simulated and simulator is None:
            raise ConfigError(
                f"{len(self.simulated)} tool(s) have no Python implementation ({', '.join(sorted(self.simulated)[:5])}); "
                "give a simulator model or pass their .py file"
            )
        fallback = SimulatedEngine(simulator) if self.simulated and simulator is not None else None
        return RoutedEngine(self.python, fallback)


def load_toolbox(paths: Sequence[Path]) -> Toolbox:
    """Load tool files: `.py` (sandboxed describe), `.json`/`.jsonl` specs; names must be unique across files."""
    if not paths:
        raise ConfigError("no tool files given; pass --tools FILE.py (or a JSON spec), e.g. examples/tools/travel.py")
    tools: list[ToolSpec] = []
    python: dict[str, PythonEngine] = {}
    simulated: set[str] = set()
    where: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"--tools {path}: no such file")
        if path.suffix == ".py":
            engine = PythonEngine(path)
            found = list(engine.describe())
            for tool in found:
                python[tool.name] = engine
        else:
            from callforge.tools import load_tools

            found = [t if t.source != "unknown" else t.model_copy(update={"source": str(path)}) for t in load_tools(path)]
            simulated.update(t.name for t in found)
        for tool in found:
            if tool.name in where:
                raise ConfigError(f"tool {tool.name!r} is defined in both {where[tool.name]} and {path}; rename one")
            where[tool.name] = path
        if not found:
            raise ConfigError(f"--tools {path}: no tools found in it")
        tools.extend(found)
    return Toolbox(tuple(tools), python, frozenset(simulated))
