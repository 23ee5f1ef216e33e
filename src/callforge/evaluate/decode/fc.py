"""Decode function-calling (FC) outputs: BFCL's `[{name: "<json args>"}]` or OpenAI `tool_calls`."""

from __future__ import annotations

import json
from typing import Any

from callforge.core import DecodeError


def decode_fc_bfcl(output: Any) -> list[Any]:
    """Decode what BFCL stores for an FC model, as BFCL's FC handlers do.

    Each item's first key is the function name and its value a JSON argument string. A text reply
    fails to decode, except the empty string, which is no calls. OpenAI `tool_calls` lists are
    accepted too (BFCL would fail on them; they are a different input format, not a verdict).
    """
    if _is_openai_tool_calls(output):
        return [{c["function"]["name"]: _arguments(c["function"].get("arguments", {}))} for c in output]
    if isinstance(output, str):
        if output == "":
            return []
        raise DecodeError("the model replied with text, not tool calls")
    if isinstance(output, dict):
        if not output:
            return []
        raise DecodeError("expected a list of tool calls, got an object")
    if not isinstance(output, list):
        raise DecodeError(f"expected a list of tool calls, got {type(output).__name__}")
    decoded: list[Any] = []
    for item in output:
        if not isinstance(item, dict) or not item:
            raise DecodeError(f"tool call {item!r} is not a {{name: arguments}} object")
        name = next(iter(item))
        decoded.append({name: _loads(item[name])})
    return decoded


def _arguments(raw: Any) -> Any:
    return raw if isinstance(raw, dict) else _loads(raw)


def _loads(raw: Any) -> Any:
    if not isinstance(raw, str | bytes | bytearray):
        raise DecodeError(f"tool-call arguments must be a JSON string, got {type(raw).__name__}")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DecodeError(f"tool-call arguments are not valid JSON: {exc}") from None


def _is_openai_tool_calls(output: Any) -> bool:
    return (
        isinstance(output, list)
        and bool(output)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("function"), dict)
            and isinstance(c["function"].get("name"), str)
            for c in output
        )
    )
