"""Glaive function-calling v2 rows (`glaiveai/glaive-function-calling-v2`) as Dialogs.

A row is two strings: `system`, "SYSTEM: You are a helpful assistant with access to the following
functions. Use them if required -" followed by the functions as JSON objects one after another, and
`chat`, a transcript of `USER:`, `ASSISTANT:` and `FUNCTION RESPONSE:` turns where the assistant calls
with `<functioncall> {"name": ..., "arguments": '{...}'}` and ends its turns with `<|endoftext|>`.
The arguments are usually a JSON text inside single quotes, so the call is valid neither as JSON nor
always as Python; `loose.parse_call_text` re-quotes it, and nothing is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Provenance, ToolSpec, kind_of
from callforge.formats.assemble import (
    TOOL_MALFORMED,
    DialogBuilder,
    RawCall,
    RecordError,
    ToolCache,
    read_records,
    record_id,
)
from callforge.formats.loose import flatten_tools, lenient_calls, parse_call_text, parse_values
from callforge.formats.openai import tool_from_json
from callforge.formats.records import Record

SOURCE = "glaive"
EXPECTED = (
    'a Glaive record {"system": "SYSTEM: ... functions ... {json} {json}", '
    '"chat": "USER: ...\\n\\n\\nASSISTANT: <functioncall> {...} <|endoftext|>..."}'
)
CALL_MARKER = "<functioncall>"
END_OF_TURN = "<|endoftext|>"

_SPEAKER = re.compile(r"(?:^|\n)[ \t]*(USER|ASSISTANT|FUNCTION RESPONSE)[ \t]*:[ \t]*")
_SYSTEM_LABEL = re.compile(r"^\s*SYSTEM\s*:\s*")


def read_glaive(path: Path) -> Iterator[Dialog]:
    """Read a Glaive v2 file (JSON array or JSON Lines), one Dialog per record, streaming."""
    cache = ToolCache(tool_from_glaive)
    return read_records(
        path, SOURCE, lambda value, record: dialog_from_glaive(value, record, cache), EXPECTED
    )


def tool_from_glaive(obj: Any) -> ToolSpec:
    """A Glaive function: an OpenAI function object (JSON Schema parameters), marked as from Glaive."""
    return tool_from_json(obj).model_copy(update={"source": SOURCE})


def is_glaive(value: dict[str, Any]) -> bool:
    """Whether a record has Glaive's two columns: a `chat` transcript string beside `system`."""
    return isinstance(value.get("chat"), str) and "system" in value


def dialog_from_glaive(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """One Glaive row: the system prompt (its `SYSTEM:` label cut), its functions, then the transcript.

    A transcript that does not start with a speaker label cannot be split into turns, so the
    record is malformed; a call that cannot be read stays as the turn's text with `call.format`.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    chat = value.get("chat")
    if not isinstance(chat, str):
        raise RecordError(f'"chat" must be a string, not {kind_of(chat)}')
    system = value.get("system")
    if system is not None and not isinstance(system, str):
        raise RecordError(f'"system" must be a string, not {kind_of(system)}')
    turns = list(_SPEAKER.finditer(chat))
    if chat.strip() and (not turns or chat[: turns[0].start()].strip()):
        raise RecordError('"chat" must start with a "USER:" or "ASSISTANT:" turn')
    builder = DialogBuilder(record.where)
    prompt = _SYSTEM_LABEL.sub("", system or "", count=1).strip()
    if prompt:
        _tools(prompt, builder, cache.get if cache is not None else tool_from_glaive)
        builder.text("system", prompt)
    for index, match in enumerate(turns):
        end = turns[index + 1].start() if index + 1 < len(turns) else len(chat)
        text = chat[match.end() : end].replace(END_OF_TURN, "").strip()
        speaker = match.group(1)
        if speaker == "USER":
            builder.text("user", text)
        elif speaker == "ASSISTANT":
            _assistant(text, builder, f"turn {index}")
        else:
            builder.result(text)
    return builder.build(Provenance(id=record_id(value, record), source=SOURCE))


def _tools(prompt: str, builder: DialogBuilder, convert: Callable[[Any], ToolSpec]) -> None:
    """The functions listed in the system prompt: the JSON objects from its first `{` to its last `}`."""
    start, end = prompt.find("{"), prompt.rfind("}")
    if start < 0 or end < start:
        return  # "You are a helpful assistant, with no access to external functions."
    try:
        tools = flatten_tools(parse_values(prompt[start : end + 1]))
    except ValueError as exc:
        builder.error(
            TOOL_MALFORMED,
            f"the functions in the system prompt cannot be read ({exc}); expected JSON function objects "
            "one after another",
        )
        return
    for index, tool in enumerate(tools):
        builder.tool(index, tool, convert)


def _assistant(text: str, builder: DialogBuilder, what: str) -> None:
    """An assistant turn: prose, or prose then `<functioncall>` and the call object."""
    if CALL_MARKER not in text:
        builder.text("assistant", text)
        return
    before, *payloads = text.split(CALL_MARKER)
    calls: list[RawCall] = []
    try:
        for payload in payloads:
            calls.extend(lenient_calls(parse_call_text(payload.strip())))
    except ValueError as exc:
        builder.unparsed(text, f'{what}: {exc}; expected <functioncall> {{"name": ..., "arguments": ...}}')
        return
    builder.assistant(calls, before.strip() or None)
