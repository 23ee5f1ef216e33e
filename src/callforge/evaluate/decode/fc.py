"""Decode function-calling (FC) outputs: BFCL's `[{name: "<json args>"}]` or OpenAI `tool_calls`."""

from __future__ import annotations

import json
from json.scanner import make_scanner
from typing import Any, cast

from callforge.core import DecodeError

# `json.loads`'s own scanner, for its default decoder (typeshed types the argument too narrowly).
_SCAN = make_scanner(cast(Any, json.JSONDecoder()))


def decode_fc_bfcl(output: Any) -> list[Any]:
    """Decode what BFCL stores for an FC model, as BFCL's FC handlers do.

    Each item's first key is the function name and its value a JSON argument string. A text reply
    fails to decode, except the empty string, which is no calls. OpenAI `tool_calls` lists are
    accepted too (BFCL would fail on them; they are a different input format, not a verdict).
    """
    if type(output) is list:
        plain = _plain_calls(output)
        if plain is not None:
            return plain
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


def _plain_calls(output: list[Any]) -> list[Any] | None:
    """The common shape, `[{name: "<json>"}, ...]`, in one pass; None if an item has another.

    An item whose only value is a string cannot be an OpenAI tool call, so for these lists the
    dispatch in `decode_fc_bfcl` would come to the same loop.
    """
    decoded: list[Any] = []
    for item in output:
        if type(item) is not dict or len(item) != 1:
            return None
        ((name, raw),) = item.items()
        if type(raw) is not str:
            return None
        decoded.append({name: _loads(raw)})
    return decoded


def _arguments(raw: Any) -> Any:
    return raw if isinstance(raw, dict) else _loads(raw)


def _loads(raw: Any) -> Any:
    if type(raw) is str:
        # The C scanner that `json.loads` runs, without its Python layers. A value that starts
        # the text and fails is the error `json.loads` would raise (it runs this same scan from
        # the same index); anything else goes through `json.loads` for its exact answer.
        try:
            value, end = _SCAN(raw, 0)
        except ValueError as exc:
            raise DecodeError(f"tool-call arguments are not valid JSON: {exc}") from None
        except (StopIteration, RecursionError):
            pass  # nothing starts at index 0 (whitespace, a BOM, no text), or nesting too deep
        else:
            if end == len(raw):
                return value
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
