"""Several engines behind one: each tool runs on the engine that implements it.

A generation run may mix tool sources (two Python files, a JSON spec a model simulates); the
stages above see one Engine and never care which one ran a call.
"""

from __future__ import annotations

from collections.abc import Mapping

from callforge.core import ToolCall, ToolSpec, Verdict
from callforge.execute.base import Engine, Observation


class RoutedEngine:
    """Runs each call on `routes[tool name]`, else on `fallback`; `exec.unavailable` when neither exists."""

    def __init__(self, routes: Mapping[str, Engine], fallback: Engine | None = None) -> None:
        """Route by tool name; `fallback` takes every tool not named."""
        self.routes = dict(routes)
        self.fallback = fallback
        names = sorted({e.name for e in self.routes.values()} | ({fallback.name} if fallback else set()))
        self.name = "+".join(names) if names else "routed"

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Run the call on its tool's engine."""
        engine = self.routes.get(tool.name, self.fallback)
        if engine is None:
            return Observation(
                call=call,
                engine=self.name,
                verdict=Verdict.failed(
                    "exec.unavailable", f"no engine implements {tool.name}; add its Python file or a simulated engine"
                ),
            )
        return await engine.execute(call, tool)
