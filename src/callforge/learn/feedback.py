"""Where a rejected dialog went wrong, and the verifier's findings as observations a model can act on.

A rejected record keeps every failing Verdict. Call-level ones (`call.*`, `arg.*`, `exec.*`) name
the message they belong to (`evidence["message_index"]`); dialog-level ones about the calls
(`scenario.*`: the calls do not do what was asked) belong to the first assistant step that
calls. Failures of the text, the structure, the judge or dedup name no step a model could redo,
so such a dialog is not refinable, and the reason is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from callforge.core import Dialog, MaskReason, Message, Verdict

_STEP_CODES = ("call.", "arg.", "exec.", "scenario.")
"""Failures that a redone assistant step can fix."""

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


@dataclass(frozen=True)
class FailedStep:
    """The assistant step to redo: its index in the dialog and the verdicts against it."""

    index: int
    verdicts: tuple[Verdict, ...]

    @property
    def codes(self) -> list[str]:
        """The failure codes, first one first, without repeats."""
        return list(dict.fromkeys(v.code for v in self.verdicts))


def failed_step(dialog: Dialog, failures: tuple[Verdict, ...]) -> FailedStep | str:
    """The earliest assistant step the failures point at, or why no step can be redone."""
    fixable = [v for v in failures if v.code.startswith(_STEP_CODES)]
    if not fixable:
        codes = sorted({v.code for v in failures}) or ["none"]
        return f"not_a_call_failure:{codes[0]}"
    planted = dialog.masked_calls()
    steps = [
        i
        for i, m in enumerate(dialog.messages)
        if m.role == "assistant" and m.tool_calls and not all(c.id in planted for c in m.tool_calls)
    ]
    if not steps:
        return "no_call_step"
    located = [v.evidence.get("message_index") for v in fixable]
    indices = [i for i in located if isinstance(i, int) and i in steps]
    index = min(indices) if indices else steps[0]
    mine = tuple(v for v in fixable if v.evidence.get("message_index") in (index, None))
    return FailedStep(index, mine)


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


def trajectory_messages(dialog: Dialog) -> tuple[list[Message], list[Message], list[Message]]:
    """A trajectory split into (conversation before the wrong step, wrong step and feedback, the rest)."""
    wrong = dialog.masked_calls(MaskReason.CORRECTED)
    messages = list(dialog.messages)
    at = next((i for i, m in enumerate(messages) if any(c.id in wrong for c in m.tool_calls)), len(messages))
    after = at + 1
    while after < len(messages) and messages[after].role == "tool":
        after += 1
    return messages[:at], messages[at:after], messages[after:]
