"""ToolACE dialogs (`Team-ACE/ToolACE`) as Dialogs.

ToolACE keeps its tools inside the system prompt, after "... functions in JSON format that you can
invoke:", in BFCL's dialect, and writes calls in a bracket syntax, `[Market Trends API(country="us")]`,
whose function names may contain spaces, so neither `json` nor `ast.parse` reads a call list as a
whole. `parse_bracket_calls` splits it at the top level itself and reads each argument value with
`ast.literal_eval`; nothing is ever evaluated.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Provenance, ToolSpec, kind_of
from callforge.formats.assemble import (
    DialogBuilder,
    RawCall,
    RecordError,
    ToolCache,
    decode_json_string,
    read_records,
    record_id,
    text_of,
)
from callforge.formats.records import Record
from callforge.tools import tool_from_bfcl

SOURCE = "toolace"
EXPECTED = (
    'a ToolACE record {"system": "... functions in JSON format that you can invoke: [...]", '
    '"conversations": [{"from": "user"|"assistant"|"tool", "value": str}]}'
)
TOOLS_MARKER = "in JSON format that you can invoke:"

_ROLES = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function": "tool",
    "system": "system",
}
# `[` then a name (letters, digits, spaces, dots, dashes ...) directly followed by `(`.
_CALL_START = re.compile(r"\s*\[\s*[^\W\d][^()\[\]{}=,'\"]*\(")
_NAME = re.compile(r"[^\W\d][^()\[\]{}=,'\"]*")
_KEY = re.compile(r"[^\W\d][\w.\-]*")
_JSON_NAMES = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}
_MAX_DEPTH = 100


def read_toolace(path: Path) -> Iterator[Dialog]:
    """Read a ToolACE file (JSON array or JSON Lines), one Dialog per record, streaming."""
    cache = ToolCache(tool_from_toolace)
    return read_records(
        path, SOURCE, lambda value, record: dialog_from_toolace(value, record, cache), EXPECTED
    )


def tool_from_toolace(obj: Any) -> ToolSpec:
    """A ToolACE tool: a BFCL-dialect function object, marked as coming from ToolACE."""
    return tool_from_bfcl(obj).model_copy(update={"source": SOURCE})


def dialog_from_toolace(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """One ToolACE record: the system prompt as is, the tools read out of it, and the turns.

    Assistant turns written in call syntax become calls; a turn that starts like a call list
    but cannot be read stays as text with a `call.format` read error. Each `tool` turn is a JSON
    list of `{"name", "results"}`, split into one tool message per call of the turn before.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    turns = value.get("conversations")
    if not isinstance(turns, list):
        raise RecordError(f'"conversations" must be a list of turns, not {kind_of(turns)}')
    system = value.get("system")
    if system is not None and not isinstance(system, str):
        raise RecordError(f'"system" must be a string, not {kind_of(system)}')
    builder = DialogBuilder(record.where)
    convert = cache.get if cache is not None else tool_from_toolace
    if system:
        for index, tool in enumerate(_tools_in(system, builder)):
            builder.tool(index, tool, convert)
        builder.text("system", system)
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise RecordError(f"turn {index} must be an object, not {kind_of(turn)}")
        speaker = turn.get("from", turn.get("role"))
        role = _ROLES.get(speaker) if isinstance(speaker, str) else None
        text = turn.get("value", turn.get("content"))
        if role is None:
            raise RecordError(
                f'turn {index}: unknown speaker {text_of(speaker)}; expected "user", "assistant" or "tool"'
            )
        if not isinstance(text, str):
            raise RecordError(f'turn {index}: "value" must be a string, not {kind_of(text)}')
        if role == "assistant":
            _assistant(text, builder, index)
        elif role == "tool":
            builder.results(_results(text), text, f"turn {index}")
        else:
            builder.text(role, text)
    return builder.build(Provenance(id=record_id(value, record), source=SOURCE))


def _tools_in(system: str, builder: DialogBuilder) -> list[Any]:
    at = system.lower().find(TOOLS_MARKER.lower())
    if at < 0:
        builder.error("tool.malformed", f'the system prompt has no tool list (no "{TOOLS_MARKER}")')
        return []
    start = at + len(TOOLS_MARKER)
    while start < len(system) and system[start].isspace():
        start += 1
    try:
        tools, _ = json.JSONDecoder().raw_decode(system, start)
    except json.JSONDecodeError as exc:
        builder.error(
            "tool.malformed",
            f"the tool list in the system prompt is not valid JSON ({exc.msg} at char {exc.pos}); "
            "expected a JSON list of BFCL function objects",
        )
        return []
    if isinstance(tools, dict):
        return [tools]
    if not isinstance(tools, list):
        builder.error("tool.malformed", f"the tool list in the system prompt is {kind_of(tools)}, not a list")
        return []
    return tools


def _assistant(text: str, builder: DialogBuilder, index: int) -> None:
    if not looks_like_calls(text):
        builder.text("assistant", text)
        return
    try:
        calls = parse_bracket_calls(text)
    except ValueError as exc:
        builder.unparsed(text, f"turn {index}: {exc}; expected [name(arg=value, ...), ...]")
        return
    builder.assistant(calls)


def _results(text: str) -> list[str] | None:
    try:
        items = decode_json_string(text)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "results" in i for i in items):
        return None
    return [text_of(item["results"]) for item in items]


def looks_like_calls(text: str) -> bool:
    """Whether an assistant turn is written in call syntax (`[name(...)...]`) rather than prose."""
    return _CALL_START.match(text) is not None and text.rstrip().endswith("]")


def parse_bracket_calls(text: str) -> list[RawCall]:
    """Read `[Name With Spaces(arg="v", n=3), other(x=[1, 2])]` into calls.

    The list is split at top-level commas (outside brackets and strings), each call at its first
    `(`, each argument at its top-level `=`; every value must be a Python literal (JSON's `true`,
    `false` and `null` are accepted too). Raises ValueError saying which part is wrong.
    """
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise ValueError("a call list must be enclosed in [ ]")
    calls = []
    for piece in _split(body[1:-1], ","):
        source = piece.strip()
        if not source:
            continue
        open_at = source.find("(")
        if open_at < 0 or not source.endswith(")"):
            raise ValueError(f"{_short(source)} is not a call name(arg=value, ...)")
        if _closing(source, open_at) != len(source) - 1:
            raise ValueError(f"{_short(source)} is not one call (a comma missing between calls?)")
        name = source[:open_at].strip()
        if not _NAME.fullmatch(name):
            raise ValueError(f"{_short(name)} is not a function name")
        arguments: dict[str, Any] = {}
        for argument in _split(source[open_at + 1 : -1], ","):
            if not argument.strip():
                continue
            equals = _top_equals(argument)
            if equals < 0:
                raise ValueError(f"{name}: argument {_short(argument.strip())} has no name= (positional)")
            key = argument[:equals].strip()
            if not _KEY.fullmatch(key):
                raise ValueError(f"{name}: {_short(key)} is not an argument name")
            arguments[key] = literal(argument[equals + 1 :].strip(), f"{name}: argument {key!r}")
        calls.append(RawCall(name, arguments))
    if not calls:
        raise ValueError("the call list is empty")
    return calls


def literal(source: str, what: str = "value") -> Any:
    """A Python (or JSON) literal as plain JSON data: tuples and sets become lists.

    Raises ValueError when the text is anything but a literal, so no expression is ever run.
    """
    try:
        return _plain(ast.literal_eval(source), 0)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        tree = ast.parse(source, mode="eval")
        return _walk(tree.body, 0)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"{what}: {_short(source)} is not a literal value") from None


def _walk(node: ast.expr, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("too deeply nested")
    if isinstance(node, ast.Constant) and not isinstance(node.value, bytes | complex):
        return node.value
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _walk(node.operand, depth + 1)
        if isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [_walk(item, depth + 1) for item in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {
            _walk(key, depth + 1): _walk(item, depth + 1)
            for key, item in zip(node.keys, node.values, strict=True)
            if key is not None
        }
    raise ValueError("not a literal")


def _plain(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("too deeply nested")
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, bytes | complex):
        raise ValueError("not a JSON value")
    return value


def _outside_strings(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, char, bracket depth before it) for every character outside string literals.

    The one scanner behind splitting, bracket matching and `=` finding, so all three agree on
    what is inside a string or a bracket.
    """
    depth, i, n = 0, start, len(text)
    while i < n:
        char = text[i]
        if char in "\"'":
            i = _string_end(text, i)
            continue
        yield i, char, depth
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        i += 1


def _split(text: str, separator: str) -> list[str]:
    """`text` cut at `separator` where it is outside brackets and string literals."""
    parts: list[str] = []
    start = final = 0
    for i, char, depth in _outside_strings(text):
        if char in ")]}" and depth == 0:
            raise ValueError(f"unbalanced {char!r} in {_short(text)}")
        if char == separator and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        final = depth + (1 if char in "([{" else -1 if char in ")]}" else 0)
    if final != 0:
        raise ValueError(f"unclosed bracket in {_short(text)}")
    parts.append(text[start:])
    return parts


def _string_end(text: str, start: int) -> int:
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unclosed string in {_short(text[start:])}")


def _closing(text: str, open_at: int) -> int:
    """Index of the `)` that closes the `(` at `open_at` (-1 when none does)."""
    for i, char, depth in _outside_strings(text, open_at):
        if char in ")]}" and depth == 1:
            return i
    return -1


def _top_equals(argument: str) -> int:
    return next((i for i, char, depth in _outside_strings(argument) if char == "=" and depth == 0), -1)


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
