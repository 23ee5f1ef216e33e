"""The verifier's findings about an assistant step, worded as observations a model can act on.

Two consumers read them: refinement (`callforge.learn`) replays a rejected dialog from its failing
step, and the agent's self-refinement (`callforge.agent`) checks a model's calls before they run.
Both must show the model the same text, the one its refinement data taught it to read, so the
wording lives here, next to the verdicts it words.
"""

from __future__ import annotations

import orjson

from callforge.core import Message, Verdict

_PLAIN = {
    "scenario.parallel": "The request needs several independent calls; make them together in one step.",
    "scenario.call_count": "The number of calls does not fit the request; make exactly the calls it needs.",
    "scenario.no_call": "No tool fits this request.",
    "scenario.clarify": "The request lacks a value the tool needs; a guessed value is wrong.",
}
"""Dialog-level findings reworded for the model: the verifier's own text speaks of samples and plans."""

_ANSWER_INSTEAD = {
    "scenario.clarify": "Do not call a tool: ask the user for the missing value.",
    "scenario.no_call": "Do not call a tool: answer the user in words.",
}
"""Findings whose fix is a text reply, not another call."""


def feedback_messages(step: Message, verdicts: tuple[Verdict, ...]) -> list[Message]:
    """One tool message per call of the rejected step, saying what was wrong with it (or with the step).

    A finding belongs to a call by its position in the step (rules) or its name (execution); a
    call the findings do not name gets the step-level findings: the step is redone as a whole, so
    the model must see why none of its calls ran.
    """
    step_level = [v for v in verdicts if v.evidence.get("call") is None]
    if any(v.code in _ANSWER_INSTEAD for v in step_level):  # "do not call" says all a mismatch would
        step_level = [v for v in step_level if v.code != "scenario.plan_mismatch"]
    codes = {v.code for v in verdicts}
    answer = next((_ANSWER_INSTEAD[c] for c in _ANSWER_INSTEAD if c in codes), None)
    out = []
    for position, call in enumerate(step.tool_calls):
        own = [v for v in verdicts if v.evidence.get("call") is not None and _names(v, position, call.name)]
        found = own + step_level
        texts = [_sentence(_plain(v)) for v in found] or ["Another call of this step was rejected."]
        body = {
            "status": "not run: this step was rejected",
            "problem": " ".join(texts),
            "next": answer or "Call again now with the fix; keep every value the user gave.",
            "codes": list(dict.fromkeys(v.code for v in found)),
        }
        out.append(Message(role="tool", tool_call_id=call.id, name=call.name, content=orjson.dumps(body).decode()))
    return out


def _names(verdict: Verdict, position: int, name: str) -> bool:
    at = verdict.evidence.get("position")
    return at == position if isinstance(at, int) else verdict.evidence.get("call") == name


def _sentence(text: str) -> str:
    """Verifier messages are clauses ("... an earlier tool output"); joined, each needs its full stop."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _plain(verdict: Verdict) -> str:
    if verdict.code in _PLAIN:
        return _PLAIN[verdict.code]
    if verdict.code == "scenario.plan_mismatch":
        detail = verdict.message.replace("the plan", "the request").replace("not planned", "not asked for")
        return detail.replace("planned", "asked for")
    return verdict.message
