"""Where a rejected dialog went wrong, and the verifier's findings as observations a model can act on.

A rejected record keeps every failing Verdict. Call-level ones (`call.*`, `arg.*`, `exec.*`) name
the message they belong to (`evidence["message_index"]`); dialog-level ones about the calls
(`scenario.*`: the calls do not do what was asked) belong to the first assistant step that
calls. Failures of the text, the structure, the judge or dedup name no step a model could redo,
so such a dialog is not refinable, and the reason is counted. The findings' wording for the model
is verify's `feedback_messages` (re-exported here for refinement).
"""

from __future__ import annotations

from dataclasses import dataclass

from callforge.core import Dialog, MaskReason, Message, Verdict
from callforge.verify import feedback_messages

_STEP_CODES = ("call.", "arg.", "exec.", "scenario.")
"""Failures that a redone assistant step can fix."""

__all__ = ["FailedStep", "failed_step", "feedback_messages", "trajectory_messages"]


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


def trajectory_messages(dialog: Dialog) -> tuple[list[Message], list[Message], list[Message]]:
    """A trajectory split into (conversation before the wrong step, wrong step and feedback, the rest)."""
    wrong = dialog.masked_calls(MaskReason.CORRECTED)
    messages = list(dialog.messages)
    at = next((i for i, m in enumerate(messages) if any(c.id in wrong for c in m.tool_calls)), len(messages))
    after = at + 1
    while after < len(messages) and messages[after].role == "tool":
        after += 1
    return messages[:at], messages[at:after], messages[after:]
