"""`when_to_call`: a cheap probe decides, before the model replies, whether this turn needs a tool at all (MeCo).

MeCo (Li et al., 2025, "Adaptive Tool Use in Large Language Models with Meta-Cognition Trigger")
asks first whether a tool is needed and lets the model answer directly when it is not, so no tool
is called when none fits (BFCL's irrelevance categories reward exactly that). MeCo reads the
decision from a probe on the model's hidden states, which an API does not show. Two probes stand in:

* `probe="ask"` (the default): a short classifier request, `{"decision": "call" | "answer"}`,
  constrained by `json_schema`, a few tokens long, played by the role `probe` (the agent's model
  unless `Agent(roles={"probe": ...})` gives a smaller one);
* `probe="confidence"`: the model's own confidence, read from its log-probabilities. The reply
  itself is asked with `logprobs` on, and the probability of the tokens a call starts with
  (`<tool_call>`, a JSON object or list, a code fence) at its first token is the confidence; a
  reply that calls with a confidence under `threshold` is replaced by an answer in words. The
  first token's distribution does not depend on what follows it, so this is the probe MeCo runs
  before the reply, at no extra request when the model is sure. A backend that returns no
  log-probabilities (most hosted APIs for tool calls) falls back to asking, and the trace says so.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from callforge.agent.strategies._prompts import catalogue, json_object, turn_start, with_system
from callforge.agent.strategy import Step, StepContext, reply
from callforge.agent.trace import ProbeEvent
from callforge.core import ConfigError, Message

Decision = Literal["call", "answer"]
Probe = Literal["ask", "confidence"]
CALL_STARTS = ("<tool_call", "<", "```", "{", "[")
"""How a reply that calls a tool begins, as one token: Qwen's `<tool_call>` tag (or its `<`), a code fence, JSON."""

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


def call_share(raw: dict[str, Any] | None) -> float | None:
    """The probability the model gave to starting its reply with a call, from an OpenAI-style reply's first-token logprobs.

    None when the reply holds no log-probabilities. Only the listed alternatives are summed, so the
    share is a lower bound: ask for enough of them (`top_logprobs`) that the rest is negligible.
    """
    try:
        first = raw["choices"][0]["logprobs"]["content"][0] if raw else None
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(first, dict):
        return None
    options = first.get("top_logprobs") or [first]
    share = 0.0
    for option in options:
        token, logprob = option.get("token"), option.get("logprob")
        if isinstance(token, str) and isinstance(logprob, int | float) and token.lstrip().startswith(CALL_STARTS):
            share += math.exp(logprob)
    return min(1.0, share)


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

    Each decision is a `ProbeEvent` in the trace. `probe="ask"`: one short request (role and
    purpose `probe`, `probe_tokens` at most, temperature 0, no tools offered); on `call` the step is
    a `direct` step. `probe="confidence"`: the reply is asked with `top_logprobs` alternatives per
    token, and a call whose first-token call share is under `threshold` gives way to an answer.
    Later steps of the turn (after tool results) and a conversation with no tools are `direct`
    steps, with no probe: the model has already chosen to use tools.
    """

    name = "when_to_call"

    def __init__(self, *, probe: Probe = "ask", probe_tokens: int = 16, threshold: float = 0.5, top_logprobs: int = 20) -> None:
        if probe not in ("ask", "confidence"):
            raise ConfigError(f"when_to_call: probe must be 'ask' or 'confidence', got {probe!r}")
        if probe_tokens < 1:
            raise ConfigError(f"when_to_call: probe_tokens must be 1 or more, got {probe_tokens}")
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"when_to_call: threshold is a probability between 0 and 1 (exclusive), got {threshold}")
        self.probe_kind: Probe = probe
        self.probe_tokens = probe_tokens
        self.threshold = threshold
        self.top_logprobs = top_logprobs

    async def step(self, context: StepContext) -> Step:
        """The answer in words when the probe says no tool is needed; otherwise the model's reply as it is."""
        if not (context.tools and turn_start(context.messages)):
            return Step((reply(await context.complete(context.messages)),))
        if self.probe_kind == "confidence":
            return await self._confident_step(context)
        if await self._asked(context) == "answer":
            return await self._answer(context)
        return Step((reply(await context.complete(context.messages)),))

    async def _confident_step(self, context: StepContext) -> Step:
        """The reply with its first-token logprobs: kept when it answers or calls confidently, else answered in words."""
        replied = await context.complete(context.messages, logprobs=True, top_logprobs=self.top_logprobs)
        share = call_share(replied.raw)
        if not replied.tool_calls:  # the model answered by itself: nothing to decide
            context.record(ProbeEvent(step=context.step, t=context.t, decision="answer", probe="confidence", confidence=share))
            return Step((reply(replied),))
        if share is None:
            note = "the backend returned no log-probabilities, so the probe asked instead"
            decision = await self._asked(context, note)
        else:
            decision = "call" if share >= self.threshold else "answer"
            context.record(ProbeEvent(step=context.step, t=context.t, decision=decision, probe="confidence", confidence=round(share, 6)))
        return Step((reply(replied),)) if decision == "call" else await self._answer(context)

    async def _answer(self, context: StepContext) -> Step:
        answered = await context.complete(context.messages, tools=(), purpose="answer")
        return Step((Message(role="assistant", content=answered.text or None),))

    async def _asked(self, context: StepContext, note: str = "") -> Decision:
        """Ask the probe whether this turn needs a tool, and record its decision."""
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
        decision = read_decision(probed.text)
        context.record(ProbeEvent(step=context.step, t=context.t, decision=decision, probe="ask", note=note))
        return decision
