"""JSON as datasets really write it: Python reprs, concatenated objects, arguments in single quotes.

Several function-calling datasets were made by formatting Python objects into prompt text, so what
looks like JSON often is not: Hermes rows hold `{'name': 'f', 'arguments': {...}}` (a dict's repr),
a Hermes 3 prompt lists its tools as one object after another with no list around them, and Glaive
writes `{"name": "f", "arguments": '{"x": 1}'}`, valid neither as JSON nor, when the quoted text
holds an apostrophe, as Python. Each reader needs the same few repairs, so they live here, and each
one reads data only: `json`, then `ast.literal_eval` through `toolace.literal`, and for Glaive a
targeted re-quoting of the `arguments` string. Nothing is ever evaluated.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from callforge.core import kind_of
from callforge.formats.assemble import RawCall, read_call
from callforge.formats.toolace import literal

_MAX_QUOTE_TRIES = 64
"""Closing-quote candidates tried when re-quoting a single-quoted `arguments` string."""

_QUOTED_ARGUMENTS = re.compile(r"""["']arguments["']\s*:\s*'""")


def parse_value(text: str) -> Any:
    """One value written as JSON or as a Python literal (`'single quotes'`, `True`, `None`).

    Raises ValueError naming JSON's complaint, since JSON is what the text should have been.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        problem = str(exc)
    try:
        return literal(text.strip())
    except ValueError:
        raise ValueError(f"neither JSON nor a Python literal (JSON: {problem})") from None


def parse_values(text: str) -> list[Any]:
    """Every top-level value in `text`, one after another, separated by whitespace or commas.

    A prompt may list its tools as `[{...}, {...}]`, as objects one per line, or as `{'...': ...}` reprs;
    each piece is read with `parse_value`. Raises ValueError when any text is not such a value.
    """
    values: list[Any] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and (text[pos].isspace() or (text[pos] == "," and values)):
            pos += 1
        if pos >= n:
            return values
        if text[pos] not in "{[":
            raise ValueError(f"expected a JSON object or list at {_excerpt(text, pos)}")
        end = _value_end(text, pos)
        if end < 0:
            raise ValueError(f"unclosed {text[pos]!r} at {_excerpt(text, pos)}")
        values.append(parse_value(text[pos:end]))
        pos = end


def _value_end(text: str, start: int) -> int:
    """Index just past the bracket that closes the one at `start`, skipping "..." and '...' strings."""
    depth, i, n = 0, start, len(text)
    while i < n:
        char = text[i]
        if char in "\"'":
            i += 1
            while i < n and text[i] != char:
                i += 2 if text[i] == "\\" else 1
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _excerpt(text: str, pos: int) -> str:
    piece = text[pos : pos + 40]
    return repr(piece + ("..." if len(text) > pos + 40 else ""))


def requote_arguments(text: str) -> Any:
    """Glaive's `{"name": "f", "arguments": '{"x": "it's"}'}`: the quoted arguments re-quoted as JSON.

    The closing quote is the last `'` that leaves valid JSON behind it, tried from the end, so an
    apostrophe inside the arguments does not end them. Raises ValueError when no candidate parses.
    """
    match = _QUOTED_ARGUMENTS.search(text)
    if match is None:
        raise ValueError("no single-quoted arguments string")
    start = match.end() - 1
    ends = [i for i in range(len(text) - 1, start, -1) if text[i] == "'"][:_MAX_QUOTE_TRIES]
    for end in ends:
        repaired = text[:start] + json.dumps(text[start + 1 : end]) + text[end + 1 :]
        try:
            return orjson.loads(repaired)
        except orjson.JSONDecodeError:
            continue
    raise ValueError("the single-quoted arguments string does not close")


def parse_call_text(text: str) -> Any:
    """A call object as a dataset wrote it: JSON, Glaive's single-quoted arguments, or a Python repr."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        problem = str(exc)
    if _QUOTED_ARGUMENTS.search(text):
        try:
            return requote_arguments(text)
        except ValueError:
            pass
    try:
        return literal(text.strip())
    except ValueError:
        raise ValueError(f"not a JSON call object (JSON: {problem})") from None


def lenient_call(item: Any) -> RawCall:
    """`read_call`, except that an `arguments` string may also be a Python literal of a dict.

    Hermes and Glaive rows hold arguments as `'{"x": 1}'` or `"{'x': 1}"`; JSON stays the first
    reading, so a string that is JSON means what JSON says.
    """
    if isinstance(item, dict):
        function = item.get("function")
        inner: dict[str, Any] = function if isinstance(function, dict) else item
        key = "arguments" if "arguments" in inner else "parameters"
        raw = inner.get(key)
        if isinstance(raw, str) and raw.strip():
            try:
                orjson.loads(raw)
            except orjson.JSONDecodeError:
                try:
                    value = literal(raw.strip())
                except ValueError:
                    value = None
                if isinstance(value, dict):
                    repaired = {**inner, key: value}
                    item = {**item, "function": repaired} if inner is not item else repaired
    return read_call(item)


def lenient_calls(value: Any) -> list[RawCall]:
    """One call object or a list of them, read with `lenient_call` (ValueError names the bad item)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("an empty list holds no call")
    calls = []
    for i, item in enumerate(items):
        try:
            calls.append(lenient_call(item))
        except ValueError as exc:
            raise ValueError(f"call #{i}: {exc}" if len(items) > 1 else str(exc)) from None
    return calls


def flatten_tools(values: list[Any]) -> list[Any]:
    """Tools given as one list, as several objects, or as several lists, as one flat list."""
    tools: list[Any] = []
    for value in values:
        if isinstance(value, list):
            tools.extend(value)
        elif isinstance(value, dict):
            tools.append(value)
        else:
            raise ValueError(f"a tool must be an object, not {kind_of(value)}")
    return tools
