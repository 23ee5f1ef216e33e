"""`when_to_call`: a cheap probe decides, before the model replies, whether this turn needs a tool at all (MeCo).

MeCo (Li et al., 2025, "Adaptive Tool Use in Large Language Models with Meta-Cognition Trigger")
asks first whether a tool is needed and lets the model answer directly when it is not, so no tool
is called when none fits (BFCL's irrelevance categories reward exactly that). MeCo reads the
decision from a probe on the model's hidden states; over an API the probe here is a short
classifier request instead: `{"decision": "call" | "answer"}`, constrained by `json_schema`, a few
tokens long, played by the role `probe` (the agent's model unless `Agent(roles={"probe": ...})`
gives a smaller one).
"""

from __future__ import annotations

from typing import Any, Literal

from callforge.agent.strategies._prompts import catalogue, json_object, turn_start, with_system
from callforge.agent.strategy import Step, StepContext, reply
from callforge.core import ConfigError, Message

Decision = Literal["call", "answer"]

PROBE = """Decide whether answering the user's last message needs one of these tools, or whether it should be \
answered directly in words (no tool fits the request, or none is needed).
The tools:
{tools}
Reply with JSON only: {{"decision": "call"}} or {{"decision": "answer"}}."""

PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"decision": {"type": "string", "enum": ["call", "answer"]}},
    "required": ["decision"],
}


def read_decision(text: str) -> Decision:
    """The probe's decision: its JSON, or the one of `answer` / `call` its words name; `call` when unclear.

    `call` is the safe side: the step is then what `direct` would do, so an unreadable probe costs
    its own tokens and nothing else.
    """
    found = json_object(text)
    value = str(found.get("decision", "")) if found is not None else text
    words = value.strip().lower()
    if "answer" in words and "call" not in words:
        return "answer"
    return "call"


class WhenToCall:
    """At the first step of a user turn, probe call-or-answer; on `answer`, reply with no tools offered.

    The probe is one short request (`probe_tokens` at most, temperature 0, no tools offered, role
    and purpose `probe`: its decision is the request's text in the trace). On `call` the step is a
    `direct` step. Later steps of the turn (after tool results) and a conversation with no tools are
    `direct` steps, with no probe: the model has already chosen to use tools.
    """

    name = "when_to_call"

    def __init__(self, *, probe_tokens: int = 16) -> None:
        if probe_tokens < 1:
            raise ConfigError(f"when_to_call: probe_tokens must be 1 or more, got {probe_tokens}")
        self.probe_tokens = probe_tokens

    async def step(self, context: StepContext) -> Step:
        """The answer in words when the probe says no tool is needed; otherwise the model's reply as it is."""
        if context.tools and turn_start(context.messages) and await self.probe(context) == "answer":
            answered = await context.complete(context.messages, tools=(), purpose="answer")
            return Step((Message(role="assistant", content=answered.text or None),))
        return Step((reply(await context.complete(context.messages)),))

    async def probe(self, context: StepContext) -> Decision:
        """Ask the probe whether this turn needs a tool."""
        asked = with_system(context.messages, PROBE.format(tools=catalogue(context.tools)))
        probed = await context.complete(
            asked,
            tools=(),
            role="probe",
            purpose="probe",
            json_schema=PROBE_SCHEMA,
            max_tokens=self.probe_tokens,
            temperature=0.0,
        )
        return read_decision(probed.text)
