"""A strategy seen as a Backend: each request is answered by one strategy step, so `callforge eval` can measure it.

The evaluator sends a request (messages, tools) and stores the reply; it knows backends, not
strategies (it sits below the agent). `StrategyBackend` answers each request with one step of a
strategy, over the same messages and tools: the reply is the step's final assistant message (its
calls, or its text), and its usage is the sum of every request the strategy made, so a strategy's
extra requests (a probe, a planner, a refinement) count in the evaluation's tokens and time. A request
answered from the response cache counts the time it took when it was made, as a cached reply does in
`eval`, so strategies that share a cache (their first request is often the same) are timed as if
each had run alone. No call
is run: BFCL's single-turn cases have no implementations, so a strategy sees `can_execute` false
and decides without running any (self_refine keeps its rule checks and skips its execution check).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from callforge.agent.strategies import make_strategy
from callforge.agent.strategy import Step, StepContext, Strategy
from callforge.agent.trace import RequestEvent, Trace, TraceEvent
from callforge.core import Message, ToolCall, ToolSpec, Verdict
from callforge.execute import Observation
from callforge.llm import Backend, Bounded, Completion, Usage, close_backend


class StrategyBackend:
    """A Backend whose every request is one step of `strategy` on `backend` (and `roles`' backends).

    `model` is `<backend's model>+<strategy>` (the strategy as named, options included), so results
    and run folders say which strategy made them. `close=True` closes the wrapped backends when this one is closed (an evaluation closes its
    backend when it ends); otherwise they stay the caller's. The concurrency of `backend` is its own.
    `last_trace` holds the trace of the latest step (for a caller making one request at a time).
    """

    def __init__(
        self,
        backend: Backend,
        strategy: Strategy | str,
        *,
        roles: Mapping[str, Backend] | None = None,
        close: bool = False,
    ) -> None:
        self.backend = backend
        self.strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
        self.roles = dict(roles or {})
        self.model = f"{backend.model}+{strategy if isinstance(strategy, str) else self.strategy.name}"
        self.last_trace = Trace()
        self._close = close
        if isinstance(backend, Bounded):
            self.concurrency = backend.concurrency

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """One strategy step on this request: its final assistant message, with every request's usage summed."""
        runtime = _StepRuntime(self, options)
        context = StepContext(runtime, tuple(messages), tuple(tools or ()), 0, stateful=False, can_execute=False)
        started = time.perf_counter()
        step = await self.strategy.step(context)
        latency = time.perf_counter() - started
        self.last_trace = Trace(events=tuple(runtime.events))
        return _completion(step, runtime.completions, self.model, latency, self.strategy.name)

    async def aclose(self) -> None:
        """Close the wrapped backends when this adapter was made with `close=True`."""
        if not self._close:
            return
        for backend in {id(b): b for b in (self.backend, *self.roles.values())}.values():
            await close_backend(backend)


class _StepRuntime:
    """A step's runtime with no tools to run: requests go to the role's backend; usage and events are kept."""

    def __init__(self, adapter: StrategyBackend, options: dict[str, Any]) -> None:
        self.adapter = adapter
        self.options = options
        self.completions: list[Completion] = []
        self.events: list[TraceEvent] = []
        self._started = time.perf_counter()

    def now(self) -> float:
        return round(time.perf_counter() - self._started, 6)

    def record(self, event: TraceEvent) -> None:
        self.events.append(event)

    @property
    def budget_left(self) -> int | None:
        return None

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], role: str, purpose: str, options: dict[str, Any]
    ) -> Completion:
        backend = self.adapter.roles.get(role, self.adapter.backend)
        started = time.perf_counter()
        completion = await backend.complete(messages, list(tools) or None, **{**self.options, **options})
        self.completions.append(completion)
        self.record(
            RequestEvent(
                step=0,
                t=self.now(),
                role=role,
                purpose=purpose,
                model=completion.model or backend.model,
                messages=len(messages),
                tools=len(tools),
                usage=completion.usage,
                latency_s=round(time.perf_counter() - started, 6),
                text=completion.text,
                tool_calls=completion.tool_calls,
                parse=completion.parse.code,
            )
        )
        return completion

    async def execute(self, calls: Sequence[ToolCall], purpose: str) -> tuple[Observation, ...]:
        # A strategy should look at `can_execute` first; one that does not is told no call ran.
        verdict = Verdict.failed("exec.unavailable", "no call runs when a strategy is evaluated: the cases have no tools to run")
        return tuple(Observation(call=call, verdict=verdict, engine="none") for call in calls)


def _completion(step: Step, completions: Sequence[Completion], model: str, latency: float, strategy: str) -> Completion:
    """The step's final assistant message as a Completion: its parse and raw reply from the request that wrote it."""
    final = next((m for m in reversed(step.messages) if m.role == "assistant"), None)
    if final is None:
        raise ValueError(f"strategy {strategy!r} returned a step with no assistant message")
    text = final.content or ""
    source = next((c for c in reversed(completions) if c.tool_calls == final.tool_calls and c.text == text), None)
    usage = sum((c.usage for c in completions), Usage())
    latency += sum(c.latency_s for c in completions if c.cached)  # what the cached requests cost when made
    return Completion(
        text=text,
        tool_calls=final.tool_calls,
        usage=usage,
        finish_reason=source.finish_reason if source is not None else ("tool_calls" if final.tool_calls else "stop"),
        model=model,
        parse=source.parse if source is not None else Verdict.passed(format="native" if final.tool_calls else "none"),
        raw=source.raw if source is not None else None,
        cached=bool(completions) and all(c.cached for c in completions),
        latency_s=latency,
    )
