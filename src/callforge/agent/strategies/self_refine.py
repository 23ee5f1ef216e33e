"""`self_refine`: the model's calls are checked before they count; a failing step comes back with the verifier's feedback.

ToolACE-R (adaptive self-refinement) lets a model revise its own calls at inference, and stops
revising once a revision no longer helps. Here the judge of a revision is callforge's verifier, not
the model: the rules it runs on training data (the tool exists, the arguments fit its schema, no
parameter is invented, types, every value grounded in the conversation) and, where running a call
changes nothing, the execution stage (the tool raised, reported an error, broke its `returns`).
The feedback is the verifier's, worded as refinement data words it (`verify.feedback_messages`),
so a model trained on `callforge learn refine` trajectories reads the text it learned from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from callforge.agent.strategy import Step, StepContext, reply, tool_message
from callforge.agent.trace import CheckEvent
from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec, Verdict
from callforge.execute import Observation
from callforge.llm import Completion
from callforge.verify import ExecutionStage, RuleStage, default_checks, feedback_messages

CHECKS = ("function", "arguments", "grounding")
"""The rules that judge a call at inference: the others judge a finished dialog (its answer, its plan)."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A reply and what its check found; `rank` orders candidates, fewer rule failures first."""

    message: Message
    failures: tuple[Verdict, ...] = ()
    rank: tuple[int, int] = (0, 0)
    observations: tuple[Observation, ...] = ()
    """The calls' results when the check ran them: the step keeps them, so no call runs twice."""


class SelfRefine:
    """Check each step's calls; on a failure, show the model the feedback and ask again.

    Adaptive: a reply that passes (or is text) is taken at once, so a good model pays nothing.
    Otherwise up to `max_rounds` more requests, each seeing the failed step and one tool message per
    call saying what was wrong; it stops when a revision passes, or is no better than the best so
    far (the best is kept). Only the kept reply enters the conversation; the exchange is in the trace.
    `execute` runs a candidate whose rules pass as part of its check, and keeps the results if it is
    taken; never on an environment (a rejected call would change the state), and set it off for
    tools whose failing calls may still change something.
    """

    name = "self_refine"

    def __init__(self, *, max_rounds: int = 2, checks: Sequence[str] = CHECKS, execute: bool = True) -> None:
        if max_rounds < 0:
            raise ConfigError(f"self_refine: max_rounds must be 0 or more, got {max_rounds}")
        chosen = [c for c in default_checks() if c.name in checks]
        unknown = set(checks) - {c.name for c in chosen}
        if unknown:
            names = ", ".join(c.name for c in default_checks())
            raise ConfigError(f"self_refine: unknown check(s) {', '.join(sorted(unknown))}; the rules are: {names}")
        self.max_rounds = max_rounds
        self.checks = tuple(checks)
        self.execute = execute
        self._rules = RuleStage(chosen)

    async def step(self, context: StepContext) -> Step:
        """The model's reply, refined against the checks until it passes or stops improving."""
        best = await self._check(context, await context.complete(context.messages), 0)
        for number in range(1, self.max_rounds + 1):
            if not best.failures or context.budget_left == 0:
                break
            if best.message.tool_calls:
                feedback = feedback_messages(best.message, best.failures)
                options: dict[str, Any] = {}
            else:  # a call the parser could not read: say why, and ask for a call this time
                feedback = [Message(role="user", content=_unreadable(best.failures[0]))]
                options = {"tool_choice": "required"}
            asked = [*context.messages, best.message, *feedback]
            revised = await context.complete(asked, purpose="refine", **options)
            candidate = await self._check(context, revised, number, feedback)
            if candidate.rank >= best.rank:
                break
            best = candidate
        return Step((best.message, *(tool_message(o) for o in best.observations)))

    async def _check(
        self, context: StepContext, completion: Completion, number: int, feedback: Sequence[Message] = ()
    ) -> _Candidate:
        message = reply(completion)
        if not message.tool_calls:
            echoed = _echoed(message.content or "", feedback)
            if echoed is not None:
                # A small model may answer the feedback by pasting it: text, but no answer to the user.
                context.record(CheckEvent(step=context.step, t=context.t, round=number, failures=(echoed,), executed=False))
                return _Candidate(message, (echoed,), (_UNREADABLE, 0))
            if completion.parse.ok or not context.tools:
                return _Candidate(message)
            # The model tried to call a tool and the attempt could not be read (`parse.*`): worse
            # than any call the parser reads, whatever the rules find in it.
            context.record(CheckEvent(step=context.step, t=context.t, round=number, failures=(completion.parse,), executed=False))
            return _Candidate(message, (completion.parse,), (_UNREADABLE, 0))
        index = len(context.messages)
        dialog = Dialog(tools=context.tools, messages=(*context.messages, message))
        broken = tuple(v for v in self._rules.run(dialog) if v.evidence.get("message_index") == index)
        failed: tuple[Verdict, ...] = ()
        observations: tuple[Observation, ...] = ()
        if not broken and self.execute and context.can_execute and not context.stateful:
            observations = await context.execute(message.tool_calls, purpose="check")
            judged = await ExecutionStage(_Replay(observations)).check(Dialog(tools=context.tools, messages=(message,)))
            failed = tuple(v for v in judged.verdicts if not v.ok)
        failures = broken + failed
        context.record(
            CheckEvent(step=context.step, t=context.t, round=number, failures=failures, executed=bool(observations))
        )
        return _Candidate(message, failures, (len(broken), len(failed)), observations)


_UNREADABLE = 1_000_000
"""The rank of a reply whose call could not be read: any readable call ranks better."""


def _echoed(text: str, feedback: Sequence[Message]) -> Verdict | None:
    """A failure when a revision's text repeats the feedback it was shown instead of acting on it."""
    for shown in feedback:
        body = (shown.content or "").strip()
        for part in (body, *(_json_strings(body) if shown.role == "tool" else ())):
            if len(part) >= 24 and part[:60] in text:
                return Verdict.failed(
                    "agent.echoed_feedback",
                    "the revision repeats the feedback instead of fixing the call or answering the user",
                )
    return None


def _json_strings(text: str) -> tuple[str, ...]:
    """The string values of a JSON object's text (a feedback message's `status` and `problem`)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return ()
    return tuple(v for v in value.values() if isinstance(v, str)) if isinstance(value, dict) else ()


def _unreadable(verdict: Verdict) -> str:
    """The feedback for a call the parser could not read, worded for the model."""
    return (
        f"Your last reply tried to call a tool, but the call could not be read ({verdict.message}). "
        "Make the call again as a tool call, with the tool's exact name and JSON arguments."
    )


class _Replay:
    """An engine that answers with results already obtained, so the execution stage judges them without running again."""

    name = "replay"

    def __init__(self, observations: Sequence[Observation]) -> None:
        self._by_id = {o.call.id: o for o in observations}

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """The observation recorded for this call."""
        return self._by_id[call.id]
