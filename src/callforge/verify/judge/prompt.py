"""The judge's prompt: full tool schemas, the whole conversation, and only the questions that apply.

A judge can only catch what it is shown. APIGen's semantic checker saw tool descriptions alone and
passed a call whose arguments were bound to the wrong parameters; so this prompt carries each tool's
complete `parameters` and `returns` schemas, every call with its arguments as JSON, every tool
output next to the call it answers, and the final answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from callforge.core import Dialog, Message, ToolCall, ToolSpec

Applies = Literal["calls", "outputs", "answer", "no_calls", "always"]
"""When a question is asked: the dialog has calls / tool outputs / an answer after outputs / no call."""

VERDICTS = ("pass", "fail")

DEFAULT_MAX_OUTPUT_CHARS = 4000
"""Tool outputs longer than this are cut in the prompt, so one huge REST payload cannot crowd out the rest."""

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class JudgeQuestion(BaseModel):
    """One decomposed question: the JSON key the judge answers under and the verdict code a failure gets.

    Keys are phrased so that "pass" is the good outcome (`arguments_grounded`, not
    `hallucinated_args`): a small model answering under a negative key tends to flip the polarity.
    The code keeps the defect's name because that is what funnels count.

    Attributes:
        key: JSON property the judge answers under (lowercase identifier).
        code: stable verdict code of a failure, e.g. `judge.hallucinated_args`.
        title: what was judged, in a few words; it prefixes the failure message.
        text: the question itself, with what passes and what fails.
        applies: which dialogs the question is asked for.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    code: str
    title: str
    text: str
    applies: Applies = "always"

    @field_validator("key")
    @classmethod
    def _key_is_identifier(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError(
                f"question key {value!r} must be a lowercase identifier such as 'intent_fulfilled'"
            )
        return value


QUESTIONS: tuple[JudgeQuestion, ...] = (
    JudgeQuestion(
        key="arguments_grounded",
        code="judge.hallucinated_args",
        title="argument grounding",
        applies="calls",
        text=(
            "Is every argument value of every call grounded? A value is grounded when the user or system "
            "stated it, when it follows plainly from what they said (a unit conversion, today's date if "
            "given, a name spelled out), or when it was taken from an earlier tool output. Optional "
            "arguments the user did not ask for must be left out or set to the default the schema states. "
            "Fail if any value is invented: an id, date, number, name, address or detail that appears "
            "nowhere earlier in the conversation."
        ),
    ),
    JudgeQuestion(
        key="intent_fulfilled",
        code="judge.intent",
        title="user intent",
        applies="calls",
        text=(
            "Do the calls do what the user asked? Check that the right tools were chosen, that argument "
            "values mean what the user meant (right entity, place, date, unit, quantity) and sit in the "
            "right parameters, and the number of calls: every part of the request that an offered tool "
            "can serve has its call, and there is no extra, repeated or unrelated call. Fail if a call is "
            "missing, wrong or superfluous."
        ),
    ),
    JudgeQuestion(
        key="outputs_consistent",
        code="judge.tool_response",
        title="tool outputs",
        applies="outputs",
        text=(
            "Does each tool output fit its call? It must have the shape and kind of content that the "
            "tool's description and its returns schema (when given) promise, and be plausible for the "
            "arguments of that call (about the requested entity, in the requested unit, no impossible "
            "values). Outputs may be simulated or shortened; that alone is not a failure. Fail if an "
            "output contradicts its call or the tool's definition."
        ),
    ),
    JudgeQuestion(
        key="answer_faithful",
        code="judge.answer_unfaithful",
        title="final answer",
        applies="answer",
        text=(
            "Is each assistant reply written after tool outputs faithful to those outputs? Every fact, "
            "number or name it reports as a result must appear in the outputs or follow directly from "
            "them. Leaving details out is fine. Fail if the reply contradicts an output, states a result "
            "no output contains, or claims a call succeeded when its output shows it failed."
        ),
    ),
    JudgeQuestion(
        key="no_call_justified",
        code="judge.should_call",
        title="decision not to call a tool",
        applies="no_calls",
        text=(
            "The assistant called no tool. Was that right? Pass if no offered tool can serve the request, "
            "or if a value a tool requires is missing and the assistant asked the user for it instead of "
            "guessing. Fail if an offered tool could serve the request with the information given and the "
            "assistant did not call it, or if its reply states results that only a tool could provide."
        ),
    ),
)
"""The default questions, after ToolACE's three expert checkers plus intent and the no-call case."""

DOUBT_KEY = "doubtful_values_right"
DOUBT_CODE = "judge.unproven"


def doubt_question(doubts: Sequence[str]) -> JudgeQuestion:
    """The question that settles what the rules were unsure about: one listed value per doubt.

    The rules say exactly which value they could not trace (a code, a translation, a computed
    number); asking about those values by name is a narrower task than "is every argument
    grounded?", which a small judge answers with more care.
    """
    listed = "\n".join(f"  * {text}" for text in doubts)
    return JudgeQuestion(
        key=DOUBT_KEY,
        code=DOUBT_CODE,
        title="values the automatic checks could not prove",
        text=(
            "The automatic checks could not trace these values to the conversation:\n"
            f"{listed}\n"
            "  Pass if each one is what the user meant: a correct code, translation, unit conversion, "
            "calculation or well-known fact that follows from what was said. Fail if any of them is "
            "wrong, or is a guess the conversation does not support."
        ),
    )


class DialogShape(BaseModel):
    """What a dialog contains, as far as deciding which questions apply is concerned."""

    model_config = ConfigDict(frozen=True)

    calls: int
    outputs: int
    answers_after_outputs: int


def dialog_shape(dialog: Dialog) -> DialogShape:
    """Count the calls, the tool outputs and the assistant replies that follow a tool output."""
    calls = outputs = answers = 0
    seen_output = False
    for message in dialog.messages:
        calls += len(message.tool_calls)
        if message.role == "tool":
            outputs += 1
            seen_output = True
        elif (
            message.role == "assistant"
            and seen_output
            and not message.tool_calls
            and (message.content or "").strip()
        ):
            answers += 1
    return DialogShape(calls=calls, outputs=outputs, answers_after_outputs=answers)


def applicable_questions(
    dialog: Dialog, questions: Sequence[JudgeQuestion] = QUESTIONS
) -> tuple[JudgeQuestion, ...]:
    """The questions that make sense for this dialog, in the given order.

    Asking whether a nonexistent final answer is faithful invites a made-up verdict, so a question
    is only put when the dialog has what it asks about.
    """
    shape = dialog_shape(dialog)
    present = {
        "always": True,
        "calls": shape.calls > 0,
        "outputs": shape.outputs > 0,
        "answer": shape.answers_after_outputs > 0,
        "no_calls": shape.calls == 0,
    }
    return tuple(q for q in questions if present[q.applies])


DEFAULT_MAX_REASON_CHARS = 400
"""Cap on a reason's length in the schema: a small model under a grammar can loop inside a string."""


def answer_schema(
    questions: Sequence[JudgeQuestion],
    *,
    max_reason_chars: int | None = DEFAULT_MAX_REASON_CHARS,
    reasons: bool = True,
) -> dict[str, Any]:
    """The JSON Schema the judge's reply is constrained to: per question a reason, then a verdict.

    The reason comes first so that a model decoding left to right writes its argument before it
    commits to a verdict. `max_reason_chars` (None for no cap) bounds each reason, so a model
    that repeats itself reaches the verdict instead of running out of tokens mid-string. With
    `reasons=False` each key holds the bare verdict string.
    """
    if not reasons:
        bare = {"type": "string", "enum": list(VERDICTS)}
        return {
            "type": "object",
            "properties": {q.key: bare for q in questions},
            "required": [q.key for q in questions],
            "additionalProperties": False,
        }
    reason: dict[str, Any] = {"type": "string"}
    if max_reason_chars is not None:
        reason["maxLength"] = max_reason_chars
    entry = {
        "type": "object",
        "properties": {"reason": reason, "verdict": {"type": "string", "enum": list(VERDICTS)}},
        "required": ["reason", "verdict"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {q.key: entry for q in questions},
        "required": [q.key for q in questions],
        "additionalProperties": False,
    }


SYSTEM_PROMPT = (
    "You audit one function-calling conversation before it is used as training data. You get the tools "
    "the assistant could call, each with its full JSON Schema, the conversation with every call, tool "
    "output and reply, and a few questions. Answer each question on its own, using only what the "
    "conversation shows; do not assume anything that is not written there. For each question first "
    "write a short reason in your own words (one or two sentences, do not repeat the question) that "
    "names the call, argument, output or sentence it is about and what you found, then the verdict: "
    '"pass" when the conversation is correct in that respect, "fail" when it is not. Reply with one '
    "JSON object and nothing else."
)


SYSTEM_PROMPT_VERDICTS = (
    "You audit one function-calling conversation before it is used as training data. You get the tools "
    "the assistant could call, each with its full JSON Schema, the conversation with every call, tool "
    "output and reply, and a few questions. Answer each question on its own, using only what the "
    'conversation shows: "pass" when the conversation is correct in that respect, "fail" when it is not. '
    "Reply with one JSON object and nothing else."
)


def render_prompt(
    dialog: Dialog,
    questions: Sequence[JudgeQuestion],
    *,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    reasons: bool = True,
) -> tuple[Message, ...]:
    """The judge's request for `dialog`: a system message with the task, a user message with the case.

    Args:
        dialog: the dialog to judge.
        questions: the questions to ask (already filtered with `applicable_questions`).
        max_output_chars: longer tool outputs are cut, with a note saying how much was left out.
        reasons: ask for a reason before each verdict (False: verdicts only).

    Returns:
        The messages to send, in order.
    """
    sections = [
        "# Tools\n" + render_tools(dialog.tools),
        "# Conversation\n" + render_conversation(dialog, max_output_chars=max_output_chars),
        "# Questions\n" + render_questions(questions),
        "# Reply format\n" + _format_instructions(questions, reasons),
    ]
    return (
        Message(role="system", content=SYSTEM_PROMPT if reasons else SYSTEM_PROMPT_VERDICTS),
        Message(role="user", content="\n\n".join(sections)),
    )


def render_tools(tools: Sequence[ToolSpec]) -> str:
    """Each tool with its description and its full parameter and return schemas as JSON."""
    if not tools:
        return "(no tools were offered)"
    blocks = []
    for tool in tools:
        lines = [f"## {tool.name}"]
        lines.append(f"Description: {tool.description.strip() or '(none given)'}")
        lines.append(f"Parameters (JSON Schema): {_dumps(tool.parameters)}")
        if tool.returns is not None:
            lines.append(f"Returns (JSON Schema): {_dumps(tool.returns)}")
        else:
            lines.append("Returns: not specified")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_conversation(dialog: Dialog, *, max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS) -> str:
    """The messages numbered in order: texts, each call as `name {json args}`, each output with its call."""
    if not dialog.messages:
        return "(empty)"
    offered = {tool.name for tool in dialog.tools}
    calls_by_id: dict[str, ToolCall] = {}
    lines: list[str] = []
    for number, message in enumerate(dialog.messages, start=1):
        head = f"[{number}] {message.role}"
        if message.role == "tool":
            call = calls_by_id.get(message.tool_call_id or "")
            name = message.name or (call.name if call else None)
            about = ", ".join(
                part
                for part in (name, f"id {message.tool_call_id}" if message.tool_call_id else None)
                if part
            )
            head = f"[{number}] tool output" + (f" ({about})" if about else "")
            lines.append(f"{head}: {_indent(_cut(message.content or '', max_output_chars))}")
            continue
        text = (message.content or "").strip()
        if text or not message.tool_calls:
            lines.append(f"{head}: {_indent(text) if text else '(no text)'}")
        if message.tool_calls:
            if not text:
                lines.append(f"{head} calls:")
            else:
                lines.append("    calls:")
            for call in message.tool_calls:
                if call.id:
                    calls_by_id[call.id] = call
                note = "" if call.name in offered else "  (not an offered tool)"
                ident = f"  [id {call.id}]" if call.id else ""
                lines.append(f"    - {call.name} {_dumps(call.arguments)}{ident}{note}")
    return "\n".join(lines)


def render_questions(questions: Sequence[JudgeQuestion]) -> str:
    """One line per question, led by the key the answer goes under."""
    return "\n".join(f"- {q.key}: {q.text}" for q in questions)


def _format_instructions(questions: Sequence[JudgeQuestion], reasons: bool = True) -> str:
    if not reasons:
        bare = ", ".join(f'"{q.key}": "pass" or "fail"' for q in questions)
        return f"A JSON object with exactly these keys, each holding its verdict:\n{{{bare}}}"
    example = ", ".join(f'"{q.key}": {{"reason": "...", "verdict": "pass" or "fail"}}' for q in questions)
    return (
        "A JSON object with exactly these keys, each holding the reason first and then the verdict:\n"
        f"{{{example}}}"
    )


def repair_message(error: str, questions: Sequence[JudgeQuestion], *, reasons: bool = True) -> Message:
    """The follow-up sent once when a reply could not be read; it names the problem and the keys."""
    keys = ", ".join(q.key for q in questions)
    entry = '{"reason": "...", "verdict": "pass" or "fail"}' if reasons else '"pass" or "fail"'
    return Message(
        role="user",
        content=(
            f"Your reply could not be used: {error}. Reply again with only the JSON object, with one entry "
            f"for each of these keys: {keys}; each entry is {entry}."
        ),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _cut(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return f"{text[:limit]} ... [{len(text) - limit} more characters cut]"


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")
