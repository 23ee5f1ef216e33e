"""ShareGPT function-calling records (LLaMA-Factory's `formatting: sharegpt`, xlam-apigen-mt) as Dialogs.

`{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation"|"system", "value"}],
"system"?, "tools"?}`. A `function_call` turn holds one `{"name", "arguments"}` object or a list of
them; parallel results all come back in one `observation` turn, which is split into one tool
message per call when it is a JSON list of as many items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Provenance, kind_of
from callforge.formats.assemble import (
    DialogBuilder,
    RecordError,
    ToolCache,
    decode_json_string,
    read_calls,
    read_records,
    record_id,
    text_of,
)
from callforge.formats.openai import content_text, tool_from_json
from callforge.formats.records import Record

SOURCE = "sharegpt"
EXPECTED = (
    'a ShareGPT record {"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value"}], '
    '"system"?, "tools"?}'
)
_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "function_call": "call",
    "tool_call": "call",
    "observation": "tool",
    "tool": "tool",
    "function": "tool",
    "function_response": "tool",
    "tool_response": "tool",
    "system": "system",
}
_THINK = re.compile(r"\s*(<think>.*?</think>)\s*", re.DOTALL)


def read_sharegpt(path: Path) -> Iterator[Dialog]:
    """Read a ShareGPT file (JSON array or JSON Lines), one Dialog per record, streaming."""
    cache = ToolCache(lambda obj: tool_from_json(obj).model_copy(update={"source": SOURCE}))
    return read_records(
        path, SOURCE, lambda value, record: dialog_from_sharegpt(value, record, cache), EXPECTED
    )


def dialog_from_sharegpt(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """One ShareGPT record; also accepts `messages` with `role`/`content` and those role spellings."""
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    turns = value.get("conversations", value.get("messages"))
    if not isinstance(turns, list):
        raise RecordError(f'"conversations" must be a list of turns, not {kind_of(turns)}')
    builder = DialogBuilder(record.where)
    convert = cache.get if cache is not None else tool_from_json
    builder.tools_column(value.get("tools"), convert, expected="a JSON list of tools")
    system = value.get("system")
    if system is not None and not isinstance(system, str):
        raise RecordError(f'"system" must be a string, not {kind_of(system)}')
    if system:
        builder.text("system", system)
    for index, turn in enumerate(turns):
        _turn(turn, index, builder)
    return builder.build(Provenance(id=record_id(value, record), source=SOURCE))


def _turn(turn: Any, index: int, builder: DialogBuilder) -> None:
    what = f"turn {index}"
    if not isinstance(turn, dict):
        raise RecordError(f"{what} must be an object, not {kind_of(turn)}")
    speaker = turn.get("from", turn.get("role"))
    kind = _ROLES.get(speaker) if isinstance(speaker, str) else None
    if kind is None:
        choices = '"human", "gpt", "function_call", "observation", "system"'
        raise RecordError(f"{what}: unknown speaker {text_of(speaker)}; expected one of {choices}")
    raw = turn.get("value", turn.get("content"))
    if kind == "call":
        _calls(raw, builder, what)
        return
    text = content_text(raw, what)
    if kind == "tool":
        outputs = None
        if builder.pending > 1 and text is not None:
            try:
                items = decode_json_string(text)
            except ValueError:
                items = None
            if isinstance(items, list):
                outputs = [text_of(item) for item in items]
        builder.results(outputs, text or "", what)
    else:
        builder.text(kind, text)


def _calls(raw: Any, builder: DialogBuilder, what: str) -> None:
    thought = None
    text = raw
    if isinstance(raw, str):
        match = _THINK.match(raw)
        if match:
            thought, text = match.group(1), raw[match.end() :]
    try:
        calls = read_calls(decode_json_string(text))
    except ValueError as exc:
        builder.unparsed(
            text_of(raw), f'{what}: {exc}; expected a JSON object {{"name", "arguments"}} or a list of them'
        )
        return
    builder.assistant(calls, thought)
