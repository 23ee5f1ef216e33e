"""OpenAI chat-completions records (`{"messages": [...], "tools": [...]}`, the SFT/TRL layout) as Dialogs.

TRL's prompt-completion records (`{"prompt": [...], "completion": [...]}`) read as their messages joined.
An assistant message with `"weight": 0` (OpenAI fine-tuning's "do not learn this message", which
callforge's own export writes on a planted wrong call) reads back as masked calls, so a re-verified
export keeps its error-recovery dialogs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, MaskedCall, MaskReason, Provenance, ToolSpec, kind_of
from callforge.formats.assemble import (
    DialogBuilder,
    RawCall,
    RecordError,
    ToolCache,
    read_call,
    read_records,
    record_id,
    split_think,
    text_of,
)
from callforge.formats.records import Record
from callforge.tools import tool_from_bfcl, tool_from_openai

SOURCE = "openai"
EXPECTED = (
    'an object {"messages": [{"role", "content", "tool_calls"?, "tool_call_id"?}], "tools"?: '
    '[{"type": "function", "function": {...}}]}'
)
_TEXT_ROLES = {"system": "system", "developer": "system", "user": "user"}


def read_openai(path: Path) -> Iterator[Dialog]:
    """Read a JSON Lines (or JSON array) file of chat-completions records, streaming."""
    cache = ToolCache(tool_from_json)
    return read_records(
        path, SOURCE, lambda value, record: dialog_from_openai(value, record, cache), EXPECTED
    )


def tool_from_json(obj: Any) -> ToolSpec:
    """A tool given as JSON in a dataset: an OpenAI tool or function object, or a BFCL function.

    BFCL's objects are told apart by `"type": "dict"` parameters, as `load_tools` does.
    """
    params = obj.get("parameters") if isinstance(obj, dict) else None
    if isinstance(params, dict) and params.get("type") == "dict":
        return tool_from_bfcl(obj)
    return tool_from_openai(obj)


def content_text(content: Any, what: str) -> str | None:
    """Message content as text: a string, or the text parts of a list of content parts joined.

    Raises RecordError for anything else (an image-only message cannot be verified as text).
    """
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                raise RecordError(f"{what}: content part {text_of(part)[:60]} has no text")
        return "".join(texts)
    raise RecordError(f"{what}: content must be a string or a list of text parts, not {kind_of(content)}")


def dialog_from_openai(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """One chat-completions record; `arguments` strings are parsed, ids kept, tool messages linked.

    An assistant message with an `arguments` string that is not JSON keeps its raw `tool_calls`
    as text (no calls) and gets a `call.format` read error. The calls of an assistant message with
    `"weight": 0` go to `meta.masked` as `MaskReason.INJECTED`: the file cannot say why a message
    was not to be learned, and injected is the reason under which verification expects a wrong
    call (rules skip it, execution expects it to fail) instead of rejecting the dialog for it.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    messages = value.get("messages")
    if messages is None and isinstance(value.get("prompt"), list) and isinstance(value.get("completion"), list):
        messages = value["prompt"] + value["completion"]  # TRL's prompt-completion shape (`export --format steps`)
    if not isinstance(messages, list):
        raise RecordError(f'"messages" must be a list, not {kind_of(messages)}')
    builder = DialogBuilder(record.where)
    convert = cache.get if cache is not None else tool_from_json
    builder.tools_column(value.get("tools", value.get("functions")), convert, expected="a list of OpenAI tools")
    masked: list[str] = []
    for index, message in enumerate(messages):
        _message(message, index, builder, masked)
    return builder.build(
        Provenance(
            id=record_id(value, record),
            source=SOURCE,
            masked=tuple(MaskedCall(id=i, reason=MaskReason.INJECTED) for i in dict.fromkeys(masked)),
        )
    )


def _message(message: Any, index: int, builder: DialogBuilder, masked: list[str]) -> None:
    what = f"message {index}"
    if not isinstance(message, dict):
        raise RecordError(f"{what} must be an object, not {kind_of(message)}")
    role = message.get("role")
    content = content_text(message.get("content"), what)
    if role in _TEXT_ROLES:
        builder.text(_TEXT_ROLES[role], content)
    elif role == "assistant":
        _assistant(message, content, builder, what)
        if _unweighted(message.get("weight")):
            masked.extend(builder.last_call_ids())
    elif role in ("tool", "function"):
        call_id = message.get("tool_call_id")
        name = message.get("name")
        builder.result(
            content if content is not None else "",
            call_id=call_id if isinstance(call_id, str) else None,
            name=name if isinstance(name, str) else None,
        )
    else:
        raise RecordError(
            f'{what}: unknown role {text_of(role)}; expected "system", "user", "assistant" or "tool"'
        )


def _unweighted(weight: Any) -> bool:
    """`"weight": 0` (or 0.0): OpenAI's switch for a message that must not be trained on."""
    return isinstance(weight, int | float) and not isinstance(weight, bool) and weight == 0


def _thought(message: dict[str, Any], content: str | None) -> tuple[str | None, str | None]:
    """The assistant's thought: a `reasoning_content` (vLLM, DeepSeek) or `reasoning` field, else a leading `<think>`."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip(), content
    return split_think(content)


def _assistant(message: dict[str, Any], content: str | None, builder: DialogBuilder, what: str) -> None:
    raw_calls = message.get("tool_calls")
    if raw_calls is None and isinstance(message.get("function_call"), dict):
        raw_calls = [message["function_call"]]  # the legacy `functions` API: one call, no id
    thought, content = _thought(message, content)
    if not raw_calls:
        builder.text("assistant", content, thought)
        return
    try:
        if not isinstance(raw_calls, list):
            raise ValueError(f'"tool_calls" must be a list, not {kind_of(raw_calls)}')
        calls: list[RawCall] = []
        for i, item in enumerate(raw_calls):
            try:
                calls.append(read_call(item))
            except ValueError as exc:
                raise ValueError(f"tool_calls[{i}]: {exc}") from None
    except ValueError as exc:
        raw = text_of(raw_calls)
        builder.unparsed(f"{content}\n{raw}" if content else raw, f"{what}: {exc}")
        return
    builder.assistant(calls, content, thought)
