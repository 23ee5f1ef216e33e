"""The strategy protocol: given the conversation so far, produce the agent's next step.

The loop owns what every strategy shares (the conversation, running calls, ids, the step limit,
the budget, the trace); a strategy owns only how the next step is decided. One method, so the
seeds' inference-time methods plug in alike: `direct` asks once, `self_refine` asks, checks and asks
again, a planner/caller/summarizer asks three roles, a compiler plans a graph of calls and runs the
independent ones together. What a strategy may do goes through its `StepContext`, which records it:
any number of model requests (`complete`, with a `role` for a second backend), and running calls
itself (`execute`, concurrently where the tools allow) when its decision depends on their results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from callforge.agent.trace import TraceEvent
from callforge.core import CallforgeError, Message, ToolCall, ToolSpec
from callforge.execute import Observation
from callforge.llm import Completion


class BudgetSpent(CallforgeError):
    """The run's token budget is used up: no more model requests; the loop stops with `budget`."""


@dataclass(frozen=True, slots=True)
class Step:
    """The messages a step adds to the conversation, in order.

    The loop runs the calls of the last message when no tool message of the step answers them,
    and stops when the last message is an assistant text: so a step is usually one assistant
    message, and a strategy that ran calls itself returns them with their tool messages.
    """

    messages: tuple[Message, ...]


class _Runtime(Protocol):
    """What the loop gives a step; strategies use it through `StepContext`."""

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], role: str, purpose: str, options: dict[str, Any]
    ) -> Completion: ...

    async def execute(self, calls: Sequence[ToolCall], purpose: str) -> tuple[Observation, ...]: ...

    def record(self, event: TraceEvent) -> None: ...

    def now(self) -> float: ...

    @property
    def budget_left(self) -> int | None: ...


class StepContext:
    """One step's view of the run: the conversation and tools, and the model and tools to act with.

    `stateful` is true when the tools act on a shared state (an Environment): running a call to
    look at its result is then not free, because it changes what later calls see. `can_execute` is
    false when nothing can run the calls (a strategy evaluated on cases without implementations,
    `StrategyBackend`): a strategy then decides without running any.
    """

    def __init__(
        self,
        runtime: _Runtime,
        messages: tuple[Message, ...],
        tools: tuple[ToolSpec, ...],
        step: int,
        *,
        stateful: bool,
        can_execute: bool = True,
    ) -> None:
        self.messages = messages
        self.tools = tools
        self.step = step
        self.stateful = stateful
        self.can_execute = can_execute
        self._runtime = runtime

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] | None = None,
        role: str = "agent",
        purpose: str = "reply",
        **options: Any,
    ) -> Completion:
        """Ask the model playing `role` (the agent's model unless the agent was given one for it).

        `tools` defaults to the step's tools (pass `()` to offer none). Every call in the reply has
        an id unique in the run. Raises `BudgetSpent` when the run's token budget is used up.
        """
        offered = self.tools if tools is None else tuple(tools)
        return await self._runtime.complete(messages, offered, role, purpose, options)

    async def execute(self, calls: Sequence[ToolCall], *, purpose: str = "run") -> tuple[Observation, ...]:
        """Run calls on the agent's tools: together on an engine, in order on an environment."""
        return await self._runtime.execute(calls, purpose)

    def record(self, event: TraceEvent) -> None:
        """Add a strategy's own event (a check, a plan) to the trace."""
        self._runtime.record(event)

    @property
    def t(self) -> float:
        """Seconds since the run started: the `t` of an event a strategy records."""
        return self._runtime.now()

    @property
    def budget_left(self) -> int | None:
        """Tokens the run may still spend (None: no budget), so a strategy can skip an optional request."""
        return self._runtime.budget_left


@runtime_checkable
class Strategy(Protocol):
    """How the agent decides its next step; `name` is what `--strategy` and the trace call it."""

    name: str

    async def step(self, context: StepContext) -> Step:
        """The next step: usually one assistant message (calls, or the answer in words)."""
        ...


def reply(completion: Completion) -> Message:
    """A model's reply as the assistant message the conversation keeps."""
    return Message(role="assistant", content=completion.text or None, tool_calls=completion.tool_calls)


def tool_message(observation: Observation) -> Message:
    """What a call's result looks like to the model: its output, or the error it failed with.

    An environment may render a failure as output (BFCL's simulators answer with the error text),
    which the model sees as is; otherwise a failure reads `{"error": ...}`.
    """
    call = observation.call
    output = observation.output
    if not observation.ok and output is None:
        output = {"error": observation.verdict.message}
    return Message(role="tool", tool_call_id=call.id, name=call.name, content=_text(output))


def _text(output: Any) -> str:
    if isinstance(output, str):
        return output
    try:
        return orjson.dumps(output).decode()
    except TypeError:
        return repr(output)
