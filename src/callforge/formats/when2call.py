"""NVIDIA When2Call test records (`nvidia/When2Call`, `when2call_test_mcq.jsonl`) as Dialogs.

When2Call asks whether a model should call a tool, ask for a missing value, or say it cannot help.
Each record is a multiple-choice item: a user `question`, the `tools` offered (BFCL function objects,
each a JSON string), `answers` with one text per kind of answer (`direct`, `tool_call`,
`request_for_info`, `cannot_answer`) and `correct_answer` naming the right one. The dialog is the
question and the correct answer; since the data declares which kind of answer that is, it also
declares the scenario a verifier should hold the dialog to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Provenance, Scenario, ToolSpec, copy_json, kind_of
from callforge.formats.assemble import (
    TOOL_MALFORMED,
    DialogBuilder,
    RecordError,
    ToolCache,
    decode_json_string,
    read_records,
    text_of,
)
from callforge.formats.loose import lenient_calls, parse_value
from callforge.formats.openai import tool_from_json
from callforge.formats.records import Record

SOURCE = "when2call"
EXPECTED = (
    'a When2Call record {"uuid", "question": str, "tools": [JSON function], "correct_answer": '
    '"direct"|"tool_call"|"request_for_info"|"cannot_answer", "answers": {kind: text}}'
)
SCENARIOS: dict[str, Scenario] = {
    "tool_call": Scenario.SINGLE,
    "request_for_info": Scenario.CLARIFY,
    "cannot_answer": Scenario.NO_CALL,
    "direct": Scenario.NO_CALL,
}
"""The scenario each kind of correct answer declares (`tool_call` only when the answer is one call)."""

_CALL_TAGS = re.compile(r"^\s*<(TOOLCALL|tool_call)>(.*?)</\1>\s*$", re.DOTALL | re.IGNORECASE)
_KEPT = ("source_id", "target_tool", "held_out_param", "orig_question")


def read_when2call(path: Path) -> Iterator[Dialog]:
    """Read a When2Call file (JSON Lines or a JSON array), one Dialog per record, streaming.

    When2Call names its records by `uuid`, not `id`, so a record that cannot be read is given its
    `uuid` here too, and a report's ids match the file's whatever went wrong.
    """
    cache = ToolCache(tool_from_when2call)
    dialogs = read_records(
        path, SOURCE, lambda value, record: dialog_from_when2call(value, record, cache), EXPECTED
    )
    for dialog in dialogs:
        raw = dialog.meta.raw
        uuid = raw.get("uuid") if isinstance(raw, dict) and "id" not in raw else None
        if isinstance(uuid, str) and uuid:
            dialog = dialog.model_copy(update={"meta": dialog.meta.model_copy(update={"id": uuid})})
        yield dialog


def tool_from_when2call(obj: Any) -> ToolSpec:
    """A When2Call tool: a BFCL function (or an OpenAI one), given as an object or a JSON string of one."""
    return tool_from_json(decode_json_string(obj)).model_copy(update={"source": SOURCE})


def is_when2call(value: dict[str, Any]) -> bool:
    """Whether a record is a When2Call item: a `question` with a `correct_answer` among `answers`."""
    return "question" in value and "correct_answer" in value and "answers" in value


def dialog_from_when2call(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """The question and its correct answer, with the scenario that answer declares.

    `tool_call` answers are read as calls; any other answer is the assistant's text. The other
    answers, the correct answer's name and the record's BFCL origin go to `meta.extra`, so a
    preference set can still be built from the file's dialogs.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    question = value.get("question")
    if not isinstance(question, str):
        raise RecordError(f'"question" must be a string, not {kind_of(question)}')
    correct = value.get("correct_answer")
    if not isinstance(correct, str) or correct not in SCENARIOS:
        raise RecordError(f'"correct_answer" must be one of {", ".join(SCENARIOS)}, not {text_of(correct)}')
    answers = value.get("answers")
    if not isinstance(answers, dict) or correct not in answers:
        raise RecordError(f'"answers" must be an object with the text of the correct answer {correct!r}')
    builder = DialogBuilder(record.where)
    _tools(value.get("tools"), builder, cache.get if cache is not None else tool_from_when2call)
    builder.text("user", question)
    answer = answers[correct]
    scenario: Scenario | None = SCENARIOS[correct]
    if correct == "tool_call":
        calls = _answer_calls(answer, builder)
        if calls > 1:
            scenario = None  # "a tool call" with several calls in it is no one kind the data names
    elif isinstance(answer, str):
        builder.text("assistant", answer)
    else:
        raise RecordError(f"the {correct!r} answer must be a string, not {kind_of(answer)}")
    held_out = value.get("held_out_param")
    missing = (held_out,) if correct == "request_for_info" and isinstance(held_out, str) and held_out else ()
    extra: dict[str, Any] = {"correct_answer": correct, "answers": copy_json(answers)}
    if isinstance(value.get("source"), str):
        extra["origin"] = value["source"]
    extra.update({key: copy_json(value[key]) for key in _KEPT if value.get(key) is not None})
    uuid = value.get("uuid")
    meta = Provenance(
        id=uuid if isinstance(uuid, str) and uuid else record.fallback_id,
        source=SOURCE,
        scenario=scenario,
        missing=missing,
        extra=extra,
    )
    return builder.build(meta)


def _tools(raw: Any, builder: DialogBuilder, convert: Callable[[Any], ToolSpec]) -> None:
    """Every tool of `tools`: a list of function objects or of JSON strings of one (the test files' way)."""
    try:
        tools = decode_json_string(raw if raw is not None else [])
    except ValueError as exc:
        builder.error(TOOL_MALFORMED, f'"tools" is {exc}; expected a list of JSON function objects')
        return
    if not isinstance(tools, list):
        builder.error(TOOL_MALFORMED, f'"tools" must be a list of tools, not {kind_of(tools)}')
        return
    for index, tool in enumerate(tools):
        builder.tool(index, tool, convert)


def _answer_calls(answer: Any, builder: DialogBuilder) -> int:
    """The `tool_call` answer as calls (how many); unreadable, it stays text with `call.format`.

    The test files write the call as JSON text; the training files wrap it as
    `<TOOLCALL>[...]</TOOLCALL>`, so that wrapper (or Hermes' `<tool_call>`) is taken off first.
    """
    raw = answer if isinstance(answer, str) else text_of(answer)
    try:
        value = answer
        if isinstance(answer, str):
            tagged = _CALL_TAGS.match(answer)
            value = parse_value((tagged.group(2) if tagged else answer).strip())
        calls = lenient_calls(value)
    except ValueError as exc:
        builder.unparsed(raw, f'the tool_call answer: {exc}; expected a JSON call {{"name", "arguments"}}')
        return 0
    builder.assistant(calls)
    return len(calls)
