"""The inference runtime: one loop that lets a model use tools, and strategies that decide each step.

`Agent(model, tools=..., engine=...)` (or `environment=...`) plays a request to its answer:
`await agent.run("request")` returns an `AgentResult` with the answer, the whole conversation, the
`Trace` of every request, call and observation, the tokens spent and why it stopped (answered, the
step limit, the token budget, a refused request). `run_agent` / `open_agent` build one from a model
spec and tool files, as `callforge agent` does. A `Strategy` is one method, `step(context) -> Step`:
`direct` asks once per step; `self_refine` checks the calls with the verifier's rules (and runs them
where that is free) and feeds the failures back until they pass or stop improving (ToolACE-R).
See docs/agent.md.
"""

from callforge.agent.adapter import StrategyBackend
from callforge.agent.api import open_agent, run_agent, run_agent_async
from callforge.agent.loop import Agent, AgentConfig, AgentResult, StopReason
from callforge.agent.strategies import (
    STRATEGIES,
    Compiler,
    Direct,
    PlannerCallerSummarizer,
    SelfRefine,
    WhenToCall,
    make_strategy,
)
from callforge.agent.strategy import BudgetSpent, Step, StepContext, Strategy, reply, tool_message
from callforge.agent.trace import (
    CallEvent,
    CheckEvent,
    ObservationEvent,
    PlanEvent,
    ProbeEvent,
    RequestEvent,
    Trace,
    TraceEvent,
)

__all__ = [
    "STRATEGIES",
    "Agent",
    "AgentConfig",
    "AgentResult",
    "BudgetSpent",
    "CallEvent",
    "CheckEvent",
    "Compiler",
    "Direct",
    "ObservationEvent",
    "PlanEvent",
    "PlannerCallerSummarizer",
    "ProbeEvent",
    "RequestEvent",
    "SelfRefine",
    "Step",
    "StepContext",
    "StopReason",
    "Strategy",
    "StrategyBackend",
    "Trace",
    "TraceEvent",
    "WhenToCall",
    "make_strategy",
    "open_agent",
    "reply",
    "run_agent",
    "run_agent_async",
    "tool_message",
]
