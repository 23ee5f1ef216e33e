"""A simulated engine: a model plays the tool, as ToolACE and StableToolBench do for tools with no code.

The model sees the tool's full definition and the call, and must answer with JSON only; when the
tool declares a `returns` schema the answer is constrained to it (`json_schema`), and the execution
stage still validates the output, so a simulator cannot smuggle a malformed result into the data.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from callforge.core import Message, ToolCall, ToolSpec, Verdict
from callforge.execute.base import Observation
from callforge.llm import Backend, strip_fence

_SYSTEM = (
    "You simulate a software tool. You receive the tool's definition and one call of it. Reply with "
    "the tool's output only: one JSON value, realistic and consistent with the arguments, the "
    "description and the declared return schema (if any). No prose, no code fences. If the call "
    "could not succeed for real (an impossible value), return a JSON object with an \"error\" message."
)
_ANY_OUTPUT: dict[str, Any] = {"type": "object"}


class SimulatedEngine:
    """Runs calls by asking a Backend to play the tool; deterministic at temperature 0 with a cache."""

    def __init__(self, backend: Backend, *, max_tokens: int = 512, temperature: float = 0.0) -> None:
        """Simulate with `backend`; `max_tokens` bounds one output."""
        self.backend = backend
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.name = f"simulated:{backend.model}"

    def prompt(self, call: ToolCall, tool: ToolSpec) -> list[Message]:
        """The messages sent for one call (public so tests and audits can see exactly what was asked)."""
        definition = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        if tool.returns is not None:
            definition["returns"] = tool.returns
        user = (
            "Tool definition:\n"
            + orjson.dumps(definition, option=orjson.OPT_INDENT_2).decode()
            + "\n\nCall arguments:\n"
            + orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS).decode()
            + "\n\nThe tool's output (JSON only):"
        )
        return [Message(role="system", content=_SYSTEM), Message(role="user", content=user)]

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Ask the model for the output and parse it as JSON."""
        start = time.perf_counter()
        completion = await self.backend.complete(
            self.prompt(call, tool),
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            json_schema=tool.returns if isinstance(tool.returns, dict) and tool.returns else _ANY_OUTPUT,
        )
        latency = time.perf_counter() - start
        text = completion.text.strip()
        try:
            output = orjson.loads(strip_fence(text))
        except orjson.JSONDecodeError:
            shown = text if len(text) <= 200 else text[:197] + "..."
            return Observation(
                call=call,
                engine=self.name,
                latency_s=latency,
                verdict=Verdict.failed(
                    "exec.simulation_failed",
                    f"{tool.name}: the simulating model ({self.backend.model}) did not answer with JSON: {shown!r}",
                    text=text,
                ),
            )
        return Observation(call=call, output=output, engine=self.name, latency_s=latency)



