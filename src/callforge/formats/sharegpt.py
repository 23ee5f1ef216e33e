"""ShareGPT function-calling records (LLaMA-Factory's `formatting: sharegpt`, APIGen-MT) as Dialogs.

`{"conversations": [{"from": "human"|"gpt"|"function_call"|"observation"|"system", "value"}],
"system"?, "tools"?}`. A `function_call` turn holds one `{"name", "arguments"}` object or a list of
them; parallel results come back either in one `observation` turn, which is split into one tool
message per call when it is a JSON list of as many items, or as one `observation` turn per call.

Salesforce's APIGen-MT (`Salesforce/APIGen-MT-5k`, the xLAM multi-turn data) is this very layout,
so `read_apigen_mt` is this reader under the name `apigen_mt`: the same dialogs, with
`meta.source` saying where they came from.
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
    split_think,
    text_of,
)
from callforge.formats.openai import content_text, tool_from_json
from callforge.formats.records import Record

SOURCE = "sharegpt"
APIGEN_MT = "apigen_mt"
EXPECTED = (
    'a ShareGPT record {"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value"}], '
    '"system"?, "tools"?}'
)
ROLES = {  # speaker -> what the turn is; shared with the Hermes reader, which adds tags to the same turns
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


def read_sharegpt(path: Path, source: str = SOURCE) -> Iterator[Dialog]:
    """Read a ShareGPT file (JSON array or JSON Lines), one Dialog per record, streaming."""
    cache = ToolCache(lambda obj: tool_from_json(obj).model_copy(update={"source": source}))
    return read_records(
        path, source, lambda value, record: dialog_from_sharegpt(value, record, cache, source), EXPECTED
    )


def read_apigen_mt(path: Path) -> Iterator[Dialog]:
    """Read APIGen-MT rows (`system`, `tools` as a JSON string, `conversations`): ShareGPT, named apigen_mt."""
    return read_sharegpt(path, APIGEN_MT)


def dialog_from_sharegpt(
    value: Any, record: Record, cache: ToolCache | None = None, source: str = SOURCE
) -> Dialog:
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
    kinds = [turn_kind(turn, index) for index, turn in enumerate(turns)]
    for index, turn in enumerate(turns):
        _turn(turn, kinds[index], index, builder, tool_run(kinds, index))
    return builder.build(Provenance(id=record_id(value, record), source=source))


def tool_run(kinds: list[str], index: int) -> int:
    """How many tool turns follow one another from `index` on (0 when that turn is no tool turn)."""
    run = 0
    while index + run < len(kinds) and kinds[index + run] == "tool":
        run += 1
    return run


def turn_kind(turn: Any, index: int) -> str:
    """What a turn is (user, assistant, call, tool, system); RecordError for a turn that is none."""
    if not isinstance(turn, dict):
        raise RecordError(f"turn {index} must be an object, not {kind_of(turn)}")
    speaker = turn.get("from", turn.get("role"))
    kind = ROLES.get(speaker) if isinstance(speaker, str) else None
    if kind is None:
        choices = '"human", "gpt", "function_call", "observation", "system"'
        raise RecordError(f"turn {index}: unknown speaker {text_of(speaker)}; expected one of {choices}")
    return kind


def _turn(turn: dict[str, Any], kind: str, index: int, builder: DialogBuilder, run: int) -> None:
    """One turn; `run` counts the tool turns from this one on (0 when it is no tool turn).

    When the calls still waiting are exactly as many as the tool turns in a row from here, each
    turn answers one call in order (APIGen-MT writes one `observation` per call); otherwise the
    turn answers them all, split when it is a JSON list of as many results.
    """
    what = f"turn {index}"
    raw = turn.get("value", turn.get("content"))
    if kind == "call":
        call_turn(raw, builder, what)
        return
    text = content_text(raw, what)
    if kind == "tool":
        tool_turn(text, builder, what, run)
    elif kind == "assistant":
        thought, text = split_think(text)
        builder.text(kind, text, thought)
    else:
        builder.text(kind, text)


def tool_turn(text: str | None, builder: DialogBuilder, what: str, run: int) -> None:
    """A tool turn's results: one per turn in a run of as many turns as calls, else split from a list."""
    if builder.pending > 1 and builder.pending == run:
        builder.result(text or "")
        return
    outputs = None
    if builder.pending > 1 and text is not None:
        try:
            items = decode_json_string(text)
        except ValueError:
            items = None
        if isinstance(items, list):
            outputs = [text_of(item) for item in items]
    builder.results(outputs, text or "", what)


def call_turn(raw: Any, builder: DialogBuilder, what: str) -> None:
    """A `function_call` turn: calls, with a leading `<think>` read as their thought; `call.format` if unreadable."""
    thought = None
    text = raw
    if isinstance(raw, str):
        match = _THINK.match(raw)
        if match:
            thought, text = match.group(1).strip(), raw[match.end() :]
    try:
        calls = read_calls(decode_json_string(text))
    except ValueError as exc:
        builder.unparsed(
            text_of(raw), f'{what}: {exc}; expected a JSON object {{"name", "arguments"}} or a list of them'
        )
        return
    builder.assistant(calls, None, thought.removeprefix("<think>").removesuffix("</think>").strip() if thought else None)
