"""What an agent run did, event by event: every model request, every call, every observation, every check.

A run is judged by more than its answer: how many requests a strategy spent, which calls ran twice,
what a check rejected. Events are frozen records in the order they happened, each with the step it
belongs to and `t`, seconds since the run started, so a trace shows which calls were in flight
together. `Trace.jsonl()` is what `callforge agent --trace` prints.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import ToolCall, Verdict
from callforge.execute import Observation
from callforge.llm import Usage


class RequestEvent(BaseModel):
    """One model request: who asked (`role`) and why (`purpose`), its size, its cost, and what came back."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["request"] = "request"
    step: int
    t: float
    role: str
    """Which backend answered: `agent` (the main model) or a strategy's role (`planner`, `caller` ...)."""
    purpose: str
    """Why the strategy asked: `reply` (the next message), `refine` (after a check's feedback) ..."""
    model: str
    messages: int
    """How many messages the request sent."""
    tools: int
    usage: Usage
    latency_s: float
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    parse: str = "ok"
    """The Completion's parse code: `ok`, or a `parse.*` code when a call attempt could not be read."""


class CallEvent(BaseModel):
    """A call handed to the tools, recorded when it starts (its observation comes later)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["call"] = "call"
    step: int
    t: float
    call: ToolCall
    purpose: str = "run"
    """`run` (the loop runs the step's calls) or what a strategy ran it for (`check`: self_refine's execution check)."""


class ObservationEvent(BaseModel):
    """What a call returned (or how it failed), recorded when it ends."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["observation"] = "observation"
    step: int
    t: float
    observation: Observation


class CheckEvent(BaseModel):
    """A strategy's check of a candidate step: which round, the failures found, whether the calls ran for it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["check"] = "check"
    step: int
    t: float
    round: int
    """0 for the model's first answer, then one per refinement."""
    failures: tuple[Verdict, ...] = ()
    executed: bool = False

    @property
    def passed(self) -> bool:
        """True when the candidate had no failure."""
        return not self.failures


class PlanEvent(BaseModel):
    """A planning strategy's plan (compiler): its tasks, or why it could not run."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["plan"] = "plan"
    step: int
    t: float
    round: int
    """0 for the first plan, then one per replan."""
    tasks: tuple[dict[str, Any], ...] = ()
    """The planned tasks as planned: `{"id", "tool", "arguments"}`, references unresolved."""
    reason: str = ""
    """Why this plan was asked for again: the joiner's reason (empty for the first plan)."""
    problem: str = ""
    """Why the plan cannot run (not JSON, an unknown tool or reference, a cycle); empty for a plan that runs."""


class ProbeEvent(BaseModel):
    """A call-or-answer probe's decision (when_to_call), with the model's own confidence when it was read."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["probe"] = "probe"
    step: int
    t: float
    decision: Literal["call", "answer"]
    probe: Literal["ask", "confidence"]
    """How it was decided: a classifier request, or the model's first-token probability of a call."""
    confidence: float | None = None
    """The probability mass the model put on starting a call (confidence probe only)."""
    note: str = ""
    """Why a confidence probe fell back to asking (the backend returned no log-probabilities)."""


TraceEvent = Annotated[
    RequestEvent | CallEvent | ObservationEvent | CheckEvent | PlanEvent | ProbeEvent, Field(discriminator="kind")
]
"""Any event of a trace, told apart by `kind`."""


class Trace(BaseModel):
    """Every event of a run, in order."""

    model_config = ConfigDict(frozen=True)

    events: tuple[TraceEvent, ...] = ()

    @property
    def requests(self) -> tuple[RequestEvent, ...]:
        """The model requests."""
        return tuple(e for e in self.events if isinstance(e, RequestEvent))

    @property
    def calls(self) -> tuple[CallEvent, ...]:
        """The calls handed to the tools (including a strategy's check runs)."""
        return tuple(e for e in self.events if isinstance(e, CallEvent))

    @property
    def observations(self) -> tuple[ObservationEvent, ...]:
        """What the calls returned."""
        return tuple(e for e in self.events if isinstance(e, ObservationEvent))

    @property
    def checks(self) -> tuple[CheckEvent, ...]:
        """The strategy's checks of candidate steps."""
        return tuple(e for e in self.events if isinstance(e, CheckEvent))

    @property
    def plans(self) -> tuple[PlanEvent, ...]:
        """The plans a planning strategy made (and the ones it could not run)."""
        return tuple(e for e in self.events if isinstance(e, PlanEvent))

    @property
    def probes(self) -> tuple[ProbeEvent, ...]:
        """The call-or-answer decisions a probing strategy made."""
        return tuple(e for e in self.events if isinstance(e, ProbeEvent))

    def jsonl(self) -> str:
        """One JSON object per event, one per line."""
        return "".join(e.model_dump_json() + "\n" for e in self.events)
