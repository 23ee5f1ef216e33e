"""The model backends of a generation run: one per spec, cached in the run folder, wrapped per role.

Every role's requests are charged to the attempt that made them (`MeteredBackend`), and tool
executions too (`Timed`), which is what the run's per-role accounting adds up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callforge.core import ToolSpec
from callforge.execute import CachedEngine, Engine, Observation, Toolbox
from callforge.generate.metered import MeteredBackend, current_meter
from callforge.llm import Backend, close_backend
from callforge.run import EXEC_CACHE, LLM_CACHE


class RunBackends:
    """The run's backends, built once per spec (cached in the run folder) and wrapped per role."""

    def __init__(
        self,
        model: str | Backend,
        judge_model: str | Backend | None,
        simulator_model: str | Backend | None,
        base_url: str | None,
        api_key: str | None,
        folder: Path,
        concurrency: int,
    ) -> None:
        self._built: dict[str, Backend] = {}
        # Requests in flight per endpoint: found by the backend itself (`auto`, openai:), since the
        # attempts in progress (`concurrency`) already bound what is offered; `attempts` is kept for
        # what reads it.
        self.attempts = concurrency
        self._specs = {"model": model, "judge": judge_model, "simulator": simulator_model or model}
        self.base_url = base_url
        self.api_key = api_key
        self.cache = folder / LLM_CACHE

    def _backend(self, which: str) -> Backend | None:
        spec = self._specs[which]
        if spec is None:
            return None
        if not isinstance(spec, str):
            return spec
        found = next((b for k, b in self._built.items() if self._specs[k] == spec), None)
        if found is None:
            from callforge.llm import AUTO, make_backend

            folder = self.cache.parent
            folder.mkdir(parents=True, exist_ok=True)
            found = make_backend(
                spec, base_url=self.base_url, api_key=self.api_key, cache=self.cache, concurrency=AUTO
            )
        self._built[which] = found
        return found

    def role(self, role: str) -> Backend:
        """The run's model under a role name (planner, user, assistant), so its tokens are charged to it."""
        backend = self._backend("model")
        assert backend is not None
        return MeteredBackend(backend, role)

    def judge(self) -> Backend | None:
        """The judge model, or None when the run has no judge stage."""
        backend = self._backend("judge")
        return MeteredBackend(backend, "judge") if backend is not None else None

    def engine(self, toolbox: Toolbox, folder: Path) -> Engine:
        """The run's engine: each tool's own (sandbox or simulator), cached in the run folder and metered."""
        simulator = None
        if toolbox.simulated:
            backend = self._backend("simulator")
            assert backend is not None
            simulator = MeteredBackend(backend, "simulator")
        return Timed(CachedEngine(toolbox.engine(simulator), folder / EXEC_CACHE))

    async def close(self) -> None:
        """Close every backend built (once each), so a local model's server stops with the run."""
        seen: set[int] = set()
        for backend in self._built.values():
            if id(backend) in seen:
                continue
            seen.add(id(backend))
            await close_backend(backend)


class Timed:
    """Charges each tool execution (count and time; cached ones free) to the current attempt's meter."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name = engine.name

    async def execute(self, call: Any, tool: ToolSpec) -> Observation:
        """Run the call and charge its time to the current attempt (cached outputs are free)."""
        observation = await self.engine.execute(call, tool)
        meter = current_meter()
        if meter is not None:
            meter.count("tool", observation.latency_s, cached=observation.cached)
        return observation
