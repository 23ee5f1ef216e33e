"""The execution engine interface: run one tool call, report what came back.

Engines only run calls. What counts as a bad result (an exception, a timeout, an error payload,
an output that breaks the tool's `returns` schema) is decided once, by the execution stage, so
every engine is judged by the same rules.
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from callforge.core import ToolCall, ToolSpec, Verdict, redact, redact_json

EXEC_OK = Verdict.passed()


class Observation(BaseModel):
    """The outcome of one call: the output (any JSON value) or a failing verdict, and who produced it.

    `verdict` codes an engine may set: `exec.exception` (the tool raised), `exec.timeout`,
    `exec.killed` (a resource limit ended the process: memory, CPU, processes, file size),
    `exec.unavailable` (no implementation for this tool in this engine), `exec.bad_output` (the
    tool returned something that is not JSON), `exec.simulation_failed` (the simulating model gave no
    usable output). `engine` names the engine (`python`, `simulated:<model>`), `cached` is true
    when the output came from the execution cache.
    """

    model_config = ConfigDict(frozen=True)

    call: ToolCall
    output: Any = None
    verdict: Verdict = EXEC_OK
    engine: str = ""
    latency_s: float = 0.0
    cached: bool = False

    @classmethod
    def timed(
        cls, call: ToolCall, engine: str, started: float, *, output: Any = None, verdict: Verdict = EXEC_OK
    ) -> Observation:
        """The observation of a call that started at `started` (a `time.perf_counter()` reading): every engine's one way to report."""
        return cls(
            call=call, output=output, verdict=verdict, engine=engine, latency_s=time.perf_counter() - started
        )

    @property
    def ok(self) -> bool:
        """True when the engine ran the call and got an output back."""
        return self.verdict.ok

    def redacted(self) -> Observation:
        """This observation with every known secret masked in its output and its verdict's message and evidence.

        Engines that talk to real services return this: an API that echoes the credential it
        was sent (a 401 body quoting the key) must not carry it into dialogs, caches or feedback.
        """
        verdict = self.verdict
        output = redact_json(self.output)
        message = redact(verdict.message) if verdict.message else verdict.message
        evidence = redact_json(verdict.evidence)
        if output is self.output and message == verdict.message and evidence is verdict.evidence:
            return self
        verdict = verdict.model_copy(update={"message": message, "evidence": evidence})
        return self.model_copy(update={"output": output, "verdict": verdict})


@runtime_checkable
class Engine(Protocol):
    """Runs tool calls. One method, so python, simulated, REST and MCP engines plug in alike."""

    name: str

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Run `call` of `tool` and report the outcome; never raises for a failing call."""
        ...
