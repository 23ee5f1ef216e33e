"""`planner_caller_summarizer`: three roles decide a step, each of which may be its own model (alpha-UMi).

alpha-UMi (Shen et al., 2024, "Small LLMs Are Weak Tool Learners: A Multi-LLM Agent") splits tool
use over three models: a planner reasons about what to do next and hands over to a caller, which
only writes the call, or to a summarizer, which only writes the answer. Each role's job is small
enough for a small model. Here each role is a request to the backend `Agent(roles=...)` gives it
(`planner`, `caller`, `summarizer`), the agent's model for a role not given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from callforge.agent.strategies._prompts import catalogue, json_object, with_system
from callforge.agent.strategy import Step, StepContext, reply
from callforge.core import Message, ToolSpec

Next = Literal["call", "answer", "give_up"]

PLANNER = """You are the planner of a team of three: you decide the next action, a caller writes the tool call you \
choose, and a summarizer writes the final answer to the user.
The tools (parameters marked * are required):
{tools}
Read the conversation, the tool results so far included, and decide what happens next:
- "call": a tool is needed next; name it in "tool".
- "answer": the results so far answer the request, or it needs no tool.
- "give_up": no tool fits and the request cannot be answered with them.
Reply with JSON only: {{"thought": "<why, in a sentence or two>", "next": "call" | "answer" | "give_up", \
"tool": "<the tool's name, for call>"}}"""

CALLER = """You are the caller: the planner has chosen the next action, and you write the call.
The planner's reasoning: {thought}
{call} now, with arguments taken from the conversation."""

SUMMARIZER = """You are the summarizer: write the final answer to the user's last request from the conversation \
and the tool results in it. Answer in words; do not call tools."""

GIVE_UP = """You are the summarizer. The planner found that the user's last request cannot be completed with the \
tools available: {thought}
Tell the user briefly what cannot be done and why, or ask for what is missing. Answer in words."""

PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "next": {"type": "string", "enum": ["call", "answer", "give_up"]},
        "tool": {"type": "string"},
    },
    "required": ["thought", "next"],
}
"""The planner's reply, as a constraint for backends that honour `json_schema`."""

_SYNONYMS: dict[str, Next] = {
    "call": "call",
    "caller": "call",
    "tool": "call",
    "answer": "answer",
    "summarizer": "answer",
    "summarize": "answer",
    "finish": "answer",
    "give_up": "give_up",
    "give up": "give_up",
    "giveup": "give_up",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """The planner's decision: what happens next, the tool to call (None: not named, or not a tool), and why."""

    next: Next
    tool: str | None
    thought: str


def read_plan(text: str, tools: Sequence[ToolSpec]) -> Plan:
    """The planner's reply as a Plan: its JSON, or failing that its words.

    A reply that names no action reads as `call` with no tool: the caller then gets every tool and
    may still answer in words, so a planner that cannot follow the format costs a request, not the step.
    """
    names = {t.name for t in tools}
    found = json_object(text)
    if found is not None:
        chosen = _SYNONYMS.get(str(found.get("next", "")).strip().lower())
        tool = found.get("tool")
        tool = tool if isinstance(tool, str) and tool in names else None
        thought = str(found.get("thought") or "").strip()
        if chosen is not None:
            return Plan(chosen, tool if chosen == "call" else None, thought)
    lowered = text.lower()
    named = [n for n in names if n in text]
    if "give up" in lowered or "give_up" in lowered:
        return Plan("give_up", None, text.strip())
    if named:
        return Plan("call", max(named, key=len), text.strip())
    if "answer" in lowered or "summarizer" in lowered:
        return Plan("answer", None, text.strip())
    return Plan("call", None, text.strip())


class PlannerCallerSummarizer:
    """Each step: the planner decides, then the caller writes the call or the summarizer the answer.

    Two requests per step: the planner's (no tools offered: it answers in JSON, with its reasoning)
    and the caller's (offered only the tool the planner chose; `force_call` makes it call that tool
    through `tool_choice`) or the summarizer's (no tools: the answer in words). The planner's reply
    is in the trace (role `planner`, purpose `plan`), not in the conversation. When the planner names
    no known tool, the caller is offered every tool and not forced. A step offered no tools is one
    summarizer request.
    """

    name = "planner_caller_summarizer"

    def __init__(self, *, force_call: bool = True) -> None:
        self.force_call = force_call

    async def step(self, context: StepContext) -> Step:
        """The planner's decision carried out by the caller or the summarizer."""
        if not context.tools:
            return Step((await self._summarize(context, SUMMARIZER),))
        asked = with_system(context.messages, PLANNER.format(tools=catalogue(context.tools)))
        planned = await context.complete(asked, tools=(), role="planner", purpose="plan", json_schema=PLAN_SCHEMA)
        plan = read_plan(planned.text, context.tools)
        if plan.next == "answer":
            return Step((await self._summarize(context, SUMMARIZER),))
        if plan.next == "give_up":
            return Step((await self._summarize(context, GIVE_UP.format(thought=plan.thought or "no tool fits")),))
        return Step((await self._call(context, plan),))

    async def _call(self, context: StepContext, plan: Plan) -> Message:
        options: dict[str, Any] = {}
        if plan.tool is None:
            tools = context.tools
            prompt = CALLER.format(thought=plan.thought or "(none)", call="Call the tool that fits")
        else:
            tools = tuple(t for t in context.tools if t.name == plan.tool)
            prompt = CALLER.format(thought=plan.thought or "(none)", call=f"Call `{plan.tool}`")
            if self.force_call:
                options["tool_choice"] = plan.tool
        asked = with_system(context.messages, prompt)
        return reply(await context.complete(asked, tools=tools, role="caller", purpose="call", **options))

    async def _summarize(self, context: StepContext, prompt: str) -> Message:
        asked = with_system(context.messages, prompt)
        answered = await context.complete(asked, tools=(), role="summarizer", purpose="answer")
        return Message(role="assistant", content=answered.text or None)
