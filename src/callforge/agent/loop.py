"""The agent loop: ask the strategy for a step, run its calls, until the model answers or a limit stops it.

One loop serves every strategy, so what a run costs and why it stopped mean the same thing for all
of them: a step is one call of `Strategy.step` however many requests it made; the step limit ends
a model that keeps calling, the token budget ends one that keeps spending, and a request the server
refuses (longer than its context) ends the run instead of crashing it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callforge.agent.strategies import make_strategy
from callforge.agent.strategy import BudgetSpent, StepContext, Strategy, tool_message
from callforge.agent.trace import CallEvent, ObservationEvent, RequestEvent, Trace, TraceEvent
from callforge.core import ConfigError, Message, ToolCall, ToolSpec, Verdict
from callforge.execute import Engine, Environment, EnvironmentEngine, Observation
from callforge.llm import Backend, Completion, RequestRejected, Usage

StopReason = Literal["answered", "step_limit", "budget", "rejected"]
"""Why a run ended: the model answered in words, it was still calling at the step limit, the token
budget was spent, or the server refused a request (longer than its context)."""


class AgentConfig(BaseModel):
    """The limits of a run and what every request carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_steps: int = Field(default=10, ge=1)
    """Steps (one strategy decision each, however many requests it made) before the run gives up."""
    budget: int | None = Field(default=None, ge=1)
    """Model tokens (prompt plus completion, every request) the run may spend; None for no limit."""
    system: str | None = None
    """A system message put first when the conversation has none."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Sampling options sent with every request (`temperature`, `max_tokens`, `seed` ...)."""


class AgentResult(BaseModel):
    """A finished run: the answer, the whole conversation, the trace, what it cost and why it stopped."""

    model_config = ConfigDict(frozen=True)

    text: str
    """The answer in words; empty when the run stopped without one."""
    messages: tuple[Message, ...]
    """The conversation from its first message: calls, tool results and the answer (not a strategy's
    side exchanges, such as self_refine's feedback, which are in the trace)."""
    trace: Trace
    usage: Usage
    stop: StopReason
    steps: int
    detail: str = ""
    """Why the run stopped without an answer, in words."""

    @property
    def answered(self) -> bool:
        """True when the model answered in words."""
        return self.stop == "answered"


class Agent:
    """A model, its tools and a strategy: `await agent.run("request")` plays one user turn to its answer.

    Calls run on `engine` (stateless tools: together) or on `environment` (tools acting on one state:
    in order, off the event loop). `roles` gives a strategy's other roles their own backends
    (a planner, a summarizer); a role not given is played by `model`. The agent owns nothing it is
    given: the caller closes backends, engines and environments (`open_agent` does it for specs).
    """

    def __init__(
        self,
        model: Backend,
        *,
        tools: Sequence[ToolSpec] | None = None,
        engine: Engine | None = None,
        environment: Environment | None = None,
        strategy: Strategy | str = "direct",
        config: AgentConfig | None = None,
        roles: Mapping[str, Backend] | None = None,
    ) -> None:
        if engine is not None and environment is not None:
            raise ConfigError("give an agent `engine` (stateless tools) or `environment` (stateful tools), not both")
        if isinstance(engine, EnvironmentEngine):  # its calls act on one state: run them as an environment's
            environment = engine.environment
            engine = None
        offered = tuple(tools) if tools is not None else environment.tools if environment is not None else ()
        if offered and engine is None and environment is None:
            raise ConfigError(
                "the agent has tools but nothing to run them: give `engine` (e.g. load_toolbox(files).engine(model)) "
                "or `environment`"
            )
        self.model = model
        self.tools = offered
        self.engine = engine
        self.environment = environment
        self.strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
        self.config = config or AgentConfig()
        self.roles = dict(roles or {})

    async def run(self, request: str | Sequence[Message]) -> AgentResult:
        """Play the conversation `request` (a user message, or the messages so far) until it is answered or stopped."""
        messages = self._opening(request)
        run = _Run(self, messages)
        stop: StopReason = "step_limit"
        detail = f"still calling tools after {self.config.max_steps} steps"
        steps = 0
        for index in range(self.config.max_steps):
            run.step = index
            context = StepContext(run, tuple(messages), self.tools, index, stateful=self.environment is not None)
            try:
                step = await self.strategy.step(context)
            except BudgetSpent as exc:
                stop, detail = "budget", str(exc)
                break
            except RequestRejected as exc:
                stop, detail = "rejected", str(exc)
                break
            if not step.messages:
                raise ValueError(f"strategy {self.strategy.name!r} returned a step with no message")
            steps += 1
            messages.extend(step.messages)
            last = step.messages[-1]
            if last.role == "assistant" and not last.tool_calls:
                stop, detail = "answered", ""
                break
            pending = _unanswered(step.messages)
            if pending:
                messages.extend(tool_message(o) for o in await run.execute(pending, "run"))
        text = (messages[-1].content or "") if stop == "answered" else ""
        return AgentResult(
            text=text,
            messages=tuple(messages),
            trace=Trace(events=tuple(run.events)),
            usage=run.usage,
            stop=stop,
            steps=steps,
            detail=detail,
        )

    def _opening(self, request: str | Sequence[Message]) -> list[Message]:
        messages = [Message(role="user", content=request)] if isinstance(request, str) else list(request)
        if not messages:
            raise ConfigError("the agent was given no message; pass a request or the conversation so far")
        if self.config.system and messages[0].role != "system":
            messages.insert(0, Message(role="system", content=self.config.system))
        return messages


def _unanswered(messages: Sequence[Message]) -> list[ToolCall]:
    """The last message's calls that no tool message of the step answers: the loop's to run."""
    last = messages[-1]
    if last.role != "assistant":
        return []
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    return [c for c in last.tool_calls if c.id not in answered]


class _Run:
    """One run's runtime for its steps: requests, calls, ids, usage and the trace as they happen."""

    def __init__(self, agent: Agent, messages: Sequence[Message]) -> None:
        self.agent = agent
        self.events: list[TraceEvent] = []
        self.usage = Usage()
        self.step = 0
        self._started = time.perf_counter()
        self._ids = {c.id for m in messages for c in m.tool_calls if c.id}
        self._next_id = len(self._ids)
        self._tools = {t.name: t for t in agent.tools}

    def now(self) -> float:
        return round(time.perf_counter() - self._started, 6)

    def record(self, event: TraceEvent) -> None:
        self.events.append(event)

    @property
    def budget_left(self) -> int | None:
        budget = self.agent.config.budget
        return None if budget is None else max(0, budget - self.usage.total_tokens)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], role: str, purpose: str, options: dict[str, Any]
    ) -> Completion:
        if self.budget_left == 0:
            raise BudgetSpent(
                f"the token budget of {self.agent.config.budget} is spent ({self.usage.total_tokens} tokens used)"
            )
        backend = self.agent.roles.get(role, self.agent.model)
        started = time.perf_counter()
        completion = await backend.complete(
            messages, list(tools) or None, **{**self.agent.config.options, **options}
        )
        latency = time.perf_counter() - started
        completion = completion.model_copy(update={"tool_calls": tuple(self._identified(c) for c in completion.tool_calls)})
        self.usage = self.usage + completion.usage
        self.record(
            RequestEvent(
                step=self.step,
                t=self.now(),
                role=role,
                purpose=purpose,
                model=completion.model or backend.model,
                messages=len(messages),
                tools=len(tools),
                usage=completion.usage,
                latency_s=round(latency, 6),
                text=completion.text,
                tool_calls=completion.tool_calls,
                parse=completion.parse.code,
            )
        )
        return completion

    def _identified(self, call: ToolCall) -> ToolCall:
        """The call with an id no other call of the run has: the one its tool message answers."""
        if call.id and call.id not in self._ids:
            self._ids.add(call.id)
            return call
        while True:
            self._next_id += 1
            made = f"call_{self._next_id}"
            if made not in self._ids:
                self._ids.add(made)
                return call.model_copy(update={"id": made})

    async def execute(self, calls: Sequence[ToolCall], purpose: str) -> tuple[Observation, ...]:
        if self.agent.environment is not None:  # one state: calls run in order, as the model wrote them
            return tuple([await self._one(call, purpose) for call in calls])
        return tuple(await asyncio.gather(*(self._one(call, purpose) for call in calls)))

    async def _one(self, call: ToolCall, purpose: str) -> Observation:
        self.record(CallEvent(step=self.step, t=self.now(), call=call, purpose=purpose))
        environment, engine, tool = self.agent.environment, self.agent.engine, self._tools.get(call.name)
        if environment is not None:
            # A sandboxed class or a real service blocks, so it runs off the event loop.
            observation = await asyncio.to_thread(environment.run, call)
        elif tool is None or engine is None:
            known = ", ".join(sorted(self._tools)) or "none"
            verdict = Verdict.failed("exec.unavailable", f"no tool is called {call.name!r}; the tools are: {known}")
            observation = Observation(call=call, verdict=verdict, engine="agent")
        else:
            observation = await engine.execute(call, tool)
        if observation.call != call:  # the tool message answers the call by its id
            observation = observation.model_copy(update={"call": call})
        self.record(ObservationEvent(step=self.step, t=self.now(), observation=observation))
        return observation
