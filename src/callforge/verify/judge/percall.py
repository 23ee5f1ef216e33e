"""Per-call questions: one narrow question per call and per argument, instead of one per aspect.

Asked "is every argument grounded?" about a whole dialog, a small judge writes one plausible sentence
and passes: it reasoned about a `get_weather` call where the dialog called `get_air_quality`, and
about a call that was never made. Asked "in call 2, is `destination='LIS'` what the user meant?",
it has one thing to look at. So the default question set is built per dialog: for each call, is its
tool the right one, and is each argument value the one the user meant; then, is anything asked for
left without a call; then, is the final answer faithful and useful. A dialog without calls gets the
no-call question. Arguments beyond `MAX_ARGUMENT_QUESTIONS` share one grounding question, so a
dialog with many calls keeps a bounded prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Protocol

from callforge.core import Dialog, ToolCall
from callforge.verify.judge.prompt import QUESTIONS, JudgeQuestion, applicable_questions, dialog_shape

MAX_ARGUMENT_QUESTIONS = 12
"""Argument questions per dialog; the rest of the arguments are covered by one dialog-level question."""

_BY_KEY = {q.key: q for q in QUESTIONS}
_KEY_PART = re.compile(r"[^a-z0-9]+")


class Questioner(Protocol):
    """Chooses the questions a judge asks about one dialog."""

    def __call__(self, dialog: Dialog) -> tuple[JudgeQuestion, ...]:
        """The questions for `dialog`, in the order they are asked."""
        ...


def per_call_questions(dialog: Dialog) -> tuple[JudgeQuestion, ...]:
    """Right tool and right value for every call and argument, then coverage and the answer (see the module docs)."""
    calls = [call for message in dialog.messages if message.role == "assistant" for call in message.tool_calls]
    shape = dialog_shape(dialog)
    if not calls:
        return applicable_questions(dialog, QUESTIONS)
    out: list[JudgeQuestion] = []
    asked_arguments = 0
    for number, call in enumerate(calls, start=1):
        out.append(_tool_question(number, call))
        for name, value in call.arguments.items():
            if asked_arguments >= MAX_ARGUMENT_QUESTIONS:
                break
            asked_arguments += 1
            out.append(_value_question(number, call, name, value))
    if asked_arguments < sum(len(c.arguments) for c in calls):
        out.append(_BY_KEY["arguments_grounded"])
    out.append(_COVERAGE)
    if shape.answers_after_outputs:
        out += [_BY_KEY["answer_faithful"], _USEFUL]
    return tuple(out)


def _tool_question(number: int, call: ToolCall) -> JudgeQuestion:
    return JudgeQuestion(
        key=f"call_{number}_tool_fits",
        code="judge.wrong_tool",
        title=f"call {number} ({call.name}): tool choice",
        applies="calls",
        text=(
            f"Call {number} uses the tool `{call.name}`. Is `{call.name}` the offered tool that does what the user "
            "asked for at this point? Fail if the user asked for something this tool does not do, or if another "
            "offered tool is the one for the request."
        ),
    )


def _value_question(number: int, call: ToolCall, name: str, value: object) -> JudgeQuestion:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return JudgeQuestion(
        key=f"call_{number}_{_KEY_PART.sub('_', name.lower()).strip('_') or 'arg'}_right",
        code="judge.wrong_value",
        title=f"call {number} ({call.name}): argument {name}",
        applies="calls",
        text=(
            f"In call {number} (`{call.name}`), is `{name}` = {shown} what the user meant? Pass if the user said "
            "it, or it follows plainly from what they said (a standard code, a unit conversion, a date counted from "
            "the stated today, a value from an earlier tool output, or the schema's default). Fail if the user said "
            "something else (another place, date, time, number, unit or option, or this value belongs in another "
            "parameter) or nothing that leads to it."
        ),
    )


_COVERAGE = JudgeQuestion(
    key="every_request_has_a_call",
    code="judge.missing_call",
    title="requests without a call",
    applies="calls",
    text=(
        "Does every part of the user's request that an offered tool can do have its own call? For example, a "
        "question about two cities needs one call per city, and a task that needs a lookup and then a booking "
        "needs both calls. Fail if something the user asked for was not called, even when the reply claims it."
    ),
)
_USEFUL = JudgeQuestion(
    key="answer_gives_what_was_asked",
    code="judge.answer_useless",
    title="final answer usefulness",
    applies="answer",
    text=(
        "Does the assistant's final reply give the user what they asked for, taken from the tool outputs (the "
        "price, the forecast, the confirmation)? Fail if it only thanks or acknowledges, pastes raw data, or "
        "leaves out what was asked."
    ),
)


def fixed_questions(questions: Sequence[JudgeQuestion]) -> Questioner:
    """A questioner that asks the given questions, those that apply to each dialog."""
    chosen = tuple(questions)

    def ask(dialog: Dialog) -> tuple[JudgeQuestion, ...]:
        return applicable_questions(dialog, chosen)

    return ask
