"""Hermes / NousResearch function-calling rows (`NousResearch/hermes-function-calling-v1`) as Dialogs.

The layout is ShareGPT (`conversations` of system/human/gpt/tool turns), but the calls live in the
text, as the Hermes chat template writes them: the system prompt lists the tools inside
`<tools> ... </tools>`, the assistant writes each call as `<tool_call>{"name", "arguments"}</tool_call>`
and a `tool` turn brings the results back as `<tool_response>...</tool_response>` blocks, in call
order. Read as plain ShareGPT, such a row has no calls at all and every correct call stays prose;
this reader turns the tags into calls with ids and results linked to them.

The rows were made by formatting Python objects into text, so a tool list or a call is often a
dict's repr (`{'name': 'f', 'arguments': {...}}`) rather than JSON; `loose` reads both as data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Provenance, ToolSpec, kind_of
from callforge.formats.assemble import (
    RESULT_FORMAT,
    TOOL_MALFORMED,
    DialogBuilder,
    RawCall,
    RecordError,
    ToolCache,
    read_records,
    record_id,
    text_of,
)
from callforge.formats.loose import flatten_tools, lenient_calls, parse_value, parse_values
from callforge.formats.openai import content_text, tool_from_json
from callforge.formats.records import Record
from callforge.formats.sharegpt import call_turn, tool_run, tool_turn, turn_kind

SOURCE = "hermes"
EXPECTED = (
    'a Hermes record {"conversations": [{"from": "system"|"human"|"gpt"|"tool", "value"}]} with the tools '
    "in <tools></tools>, calls in <tool_call></tool_call> and results in <tool_response></tool_response>"
)
MARKERS = ("<tool_call>", "<tools>", "<tool_response>")
"""Tags that only the Hermes convention writes into turn text; detection looks for them."""

_TOOLS = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_RESPONSE = re.compile(r"<tool_response>(.*?)(?:</tool_response>|\Z)", re.DOTALL)
_WRAPPER_KEYS = frozenset({"name", "content"})


def read_hermes(path: Path) -> Iterator[Dialog]:
    """Read a Hermes function-calling file (JSON array or JSON Lines), one Dialog per record, streaming."""
    cache = ToolCache(tool_from_hermes)
    return read_records(
        path, SOURCE, lambda value, record: dialog_from_hermes(value, record, cache), EXPECTED
    )


def tool_from_hermes(obj: Any) -> ToolSpec:
    """One tool of a `<tools>` list: an OpenAI tool (wrapped or bare), marked as coming from Hermes."""
    return tool_from_json(obj).model_copy(update={"source": SOURCE})


def is_hermes(value: dict[str, Any]) -> bool:
    """Whether a ShareGPT-shaped record writes its calls, tools or results in Hermes tags.

    Looks at the top-level `system` and at the turns' text, never further, so detection stays as
    cheap as reading the record.
    """
    system = value.get("system")
    if isinstance(system, str) and "<tools>" in system:
        return True
    turns = value.get("conversations", value.get("messages"))
    if not isinstance(turns, list):
        return False
    for turn in turns:
        if isinstance(turn, dict):
            text = turn.get("value", turn.get("content"))
            if isinstance(text, str) and any(marker in text for marker in MARKERS):
                return True
    return False


def dialog_from_hermes(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """One Hermes record: system prompt(s) kept whole, tools read out of `<tools>`, tags made calls.

    A `tools` column, when a re-export added one, is read first; `<tools>` blocks add the tools it
    does not name. `function_call` and `observation` turns, which converted copies mix in, read as
    in ShareGPT.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    turns = value.get("conversations", value.get("messages"))
    if not isinstance(turns, list):
        raise RecordError(f'"conversations" must be a list of turns, not {kind_of(turns)}')
    system = value.get("system")
    if system is not None and not isinstance(system, str):
        raise RecordError(f'"system" must be a string, not {kind_of(system)}')
    builder = DialogBuilder(record.where)
    convert = cache.get if cache is not None else tool_from_hermes
    builder.tools_column(value.get("tools"), convert, expected="a JSON list of tools")
    kinds = [turn_kind(turn, index) for index, turn in enumerate(turns)]
    prompts = [system] if system else []
    prompts += [
        t.get("value", t.get("content")) for t, kind in zip(turns, kinds, strict=True) if kind == "system"
    ]
    _tools(prompts, builder, convert)
    if system:
        builder.text("system", system)
    for index, turn in enumerate(turns):
        what = f"turn {index}"
        kind = kinds[index]
        raw = turn.get("value", turn.get("content"))
        if kind == "call":
            call_turn(raw, builder, what)
            continue
        text = content_text(raw, what)
        if kind == "assistant":
            _assistant(text, builder, what)
        elif kind == "tool":
            _results(text, builder, what, tool_run(kinds, index))
        else:
            builder.text(kind, text)
    return builder.build(Provenance(id=record_id(value, record), source=SOURCE))


def _tools(prompts: list[Any], builder: DialogBuilder, convert: Callable[[Any], ToolSpec]) -> None:
    """Add the tools of every non-empty `<tools>` block of the system prompts.

    The prompt's own instructions say "within <tools> </tools> XML tags" before the real list, so
    blank blocks are skipped rather than read as an empty list.
    """
    known = {tool.name for tool in builder.tools}
    index = len(builder.tools)
    for prompt in prompts:
        if not isinstance(prompt, str):
            continue
        if prompt.count("<tools>") > prompt.count("</tools>"):
            builder.error(
                TOOL_MALFORMED, "the system prompt opens <tools> without closing it; its tools are not read"
            )
            continue
        for block in _TOOLS.findall(prompt):
            if not block.strip():
                continue
            try:
                tools = flatten_tools(parse_values(block))
            except ValueError as exc:
                builder.error(
                    TOOL_MALFORMED,
                    f"the <tools> block of the system prompt cannot be read ({exc}); expected a JSON list "
                    "of tools, or one tool object after another",
                )
                continue
            for tool in tools:
                inner = tool.get("function", tool) if isinstance(tool, dict) else None
                name = inner.get("name") if isinstance(inner, dict) else None
                if isinstance(name, str):
                    if name in known:
                        continue
                    known.add(name)
                builder.tool(index, tool, convert)
                index += 1


def _assistant(text: str | None, builder: DialogBuilder, what: str) -> None:
    """A `gpt` turn: its `<tool_call>` blocks become calls; the text around them is the content."""
    if text is None or "<tool_call>" not in text:
        builder.text("assistant", text)
        return
    calls: list[RawCall] = []
    try:
        for block in _CALL.findall(text):
            values = parse_values(block)
            if not values:
                raise ValueError("an empty <tool_call> block")
            for value in values:
                calls.extend(lenient_calls(value))
    except ValueError as exc:
        builder.unparsed(
            text, f'{what}: {exc}; expected <tool_call>{{"name": ..., "arguments": {{...}}}}</tool_call>'
        )
        return
    rest = _CALL.sub("", text).strip()
    builder.assistant(calls, rest or None)


def _results(text: str | None, builder: DialogBuilder, what: str, run: int) -> None:
    """A `tool` turn: one tool message per `<tool_response>` block, linked by the tool it names.

    The blocks of all pending calls come in this one turn, or one block in each of as many `tool`
    turns in a row (`run` of them) as there are calls. Without tags the turn is read as a ShareGPT
    observation.
    """
    if text is None or "<tool_response>" not in text:
        tool_turn(text, builder, what, run)
        return
    blocks = _RESPONSE.findall(text)
    pending = builder.pending
    expected = 1 if pending > 1 and run == pending else pending
    if pending and len(blocks) != expected:
        builder.error(
            RESULT_FORMAT,
            f"{what}: {_count(pending, 'call')} {'need' if pending > 1 else 'needs'} "
            f"{_count(pending, '<tool_response> block')}, found {len(blocks)}; each block answers the next call",
            message_index=len(builder.messages),
        )
    for block in blocks:
        content, name = _response(block.strip())
        call_id = builder.pending_id(name) if name is not None else None
        builder.result(content, call_id=call_id, name=name)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _response(block: str) -> tuple[str, str | None]:
    """A response block's output and the tool it names.

    Hermes' data wraps each output as `{"name": tool, "content": output}`; the output alone is the
    tool message, so a re-verification compares it with what the tool returns. Any other block is
    kept as written.
    """
    try:
        value = parse_value(block)
    except ValueError:
        return block, None
    if isinstance(value, dict) and set(value) == _WRAPPER_KEYS and isinstance(value["name"], str):
        return text_of(value["content"]), value["name"]
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return block, value["name"]
    return block, None
