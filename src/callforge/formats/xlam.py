"""xLAM / APIGen records (`Salesforce/xlam-function-calling-60k` and its layout) as Dialogs.

A record is `{"id", "query", "tools", "answers"}` where `tools` and `answers` are JSON strings (or,
after some conversions, already lists). The tools' `parameters` are a flat name → spec map with
Python-ish type names (`str`, `List[int]`, `int, optional`), not JSON Schema; they are rewritten
here so validators can use them, and the flat spec is kept in `ToolSpec.original`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from callforge.core import Dialog, Provenance, ToolSpec, copy_json, kind_of
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
from callforge.formats.records import Record
from callforge.tools import tool_from_bfcl, tool_from_openai

SOURCE = "xlam"
EXPECTED = (
    'an xLAM record {"id", "query": str, "tools": JSON list, "answers": JSON list of {"name", "arguments"}}'
)

_SCALARS: dict[str, str] = {
    "str": "string",
    "string": "string",
    "text": "string",
    "int": "integer",
    "integer": "integer",
    "long": "integer",
    "float": "number",
    "number": "number",
    "double": "number",
    "decimal": "number",
    "bool": "boolean",
    "boolean": "boolean",
}
_ARRAYS = frozenset({"list", "array", "sequence", "iterable", "set", "frozenset", "tuple"})
_OBJECTS = frozenset({"dict", "object", "mapping", "json"})
_NULLS = frozenset({"none", "nonetype", "null"})


def read_xlam(path: Path) -> Iterator[Dialog]:
    """Read an xLAM file (JSON array or JSON Lines), one Dialog per record, streaming."""
    cache = ToolCache(tool_from_xlam)
    return read_records(path, SOURCE, lambda value, record: dialog_from_xlam(value, record, cache), EXPECTED)


def dialog_from_xlam(value: Any, record: Record, cache: ToolCache | None = None) -> Dialog:
    """One record as a call-only Dialog: the tools, the query as the user turn, one assistant turn.

    There are no tool messages and no final answer because xLAM records stop at the calls.
    Raises RecordError when the record has no query or no answers at all.
    """
    if not isinstance(value, dict):
        raise RecordError(f"a record must be an object, not {kind_of(value)}")
    query = value.get("query")
    if not isinstance(query, str):
        raise RecordError(f'"query" must be a string, not {kind_of(query)}')
    if "answers" not in value:
        raise RecordError('no "answers"')
    convert = cache.get if cache is not None else tool_from_xlam
    builder = DialogBuilder(record.where)
    try:
        tools = decode_json_string(value.get("tools", []))
    except ValueError as exc:
        builder.error("tool.malformed", f'"tools" is {exc}; expected a JSON list of tools')
        tools = []
    if not isinstance(tools, list):
        builder.error("tool.malformed", f'"tools" must be a list of tools, not {kind_of(tools)}')
        tools = []
    for index, tool in enumerate(tools):
        builder.tool(index, tool, convert)
    builder.text("user", query)
    answers = value["answers"]
    try:
        calls = read_calls(decode_json_string(answers))
    except ValueError as exc:
        builder.unparsed(
            text_of(answers), f'"answers": {exc}; expected a JSON list of {{"name", "arguments"}}'
        )
    else:
        builder.assistant(calls)
    return builder.build(Provenance(id=record_id(value, record), source=SOURCE))


def tool_from_xlam(obj: Any) -> ToolSpec:
    """Convert one xLAM tool; its flat parameter map becomes a JSON Schema object.

    A parameter is required unless its type says `, optional` (or `Optional[...]`) or it has a
    `default`, which is kept in the property schema. Tools whose `parameters` already are a JSON
    Schema (or BFCL) object, as some re-exports write them, are read as such.
    """
    if not isinstance(obj, dict):
        raise ValueError(f"a tool must be an object, not {kind_of(obj)}")
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f'a tool needs a non-empty "name" string, got {text_of(name)}')
    description = obj.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f'"description" must be a string, not {kind_of(description)}')
    params = obj.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError(f'"parameters" must be an object of name -> spec, not {kind_of(params)}')
    if isinstance(params.get("type"), str) and isinstance(params.get("properties"), dict):
        schema_dialect = params["type"] == "dict"
        spec = tool_from_bfcl(obj) if schema_dialect else tool_from_openai(obj)
        return spec.model_copy(update={"source": SOURCE})
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, spec in params.items():
        if not isinstance(spec, dict):
            raise ValueError(
                f'parameter {key!r} must be an object {{"type", "description"}}, not {kind_of(spec)}'
            )
        type_text = spec.get("type", "")
        if not isinstance(type_text, str):
            raise ValueError(f'parameter {key!r}: type must be a string such as "str" or "List[int]"')
        schema, optional = xlam_type(type_text)
        if isinstance(spec.get("description"), str):
            schema["description"] = spec["description"]
        if isinstance(spec.get("enum"), list):
            schema["enum"] = copy_json(spec["enum"])
        if "default" in spec:
            schema["default"] = copy_json(spec["default"])
        properties[key] = schema
        if not optional and "default" not in spec:
            required.append(key)
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return ToolSpec(
        name=name,
        description=description,
        parameters=parameters,
        source=SOURCE,
        dialect="xlam",
        original=copy_json(obj),
    )


def xlam_type(text: str) -> tuple[dict[str, Any], bool]:
    """A Python-ish type name as (JSON Schema, optional).

    `str`→string, `int`→integer, `float`→number, `bool`→boolean, `List[X]`/`list`/`Set`/`Tuple`
    →array (with `items` when one item type is named), `Dict[...]`/`dict`→object, `Optional[X]`
    and a `, optional` suffix → optional, `Union[...]`→anyOf; `Any`, `Callable` and unknown names
    put no type constraint, since guessing one would reject values the tool accepts.
    """
    parts = _split_top(text)
    optional = any(part.strip().lower() == "optional" for part in parts[1:])
    try:
        node, end = _parse(parts[0] if parts else "", 0)
    except ValueError:
        return {}, optional
    if end != len(parts[0]) and parts[0][end:].strip():
        return {}, optional
    schema, is_optional = _schema(node)
    return schema, optional or is_optional


_Node = tuple[str, list[Any]]


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _parse(text: str, pos: int) -> tuple[_Node, int]:
    """One type expression from `pos`: a name and, in brackets, its arguments."""
    pos, name = _skip_name(text, pos)
    args: list[Any] = []
    if pos < len(text) and text[pos] == "[":
        pos += 1
        while True:
            arg, pos = _parse(text, pos)
            args.append(arg)
            if pos >= len(text):
                raise ValueError(f"unclosed [ in {text!r}")
            char, pos = text[pos], pos + 1
            if char == "]":
                break
            if char != ",":
                raise ValueError(f"unexpected {char!r} in {text!r}")
        pos, rest = _skip_name(text, pos)
        if rest:
            raise ValueError(f"unexpected {rest!r} in {text!r}")
    return (name, args), pos


def _skip_name(text: str, pos: int) -> tuple[int, str]:
    end = pos
    while end < len(text) and text[end] not in "[],":
        end += 1
    return end, text[pos:end].strip()


def _schema(node: _Node) -> tuple[dict[str, Any], bool]:
    name, args = node
    base = name.rsplit(".", 1)[-1].lower()  # typing.List, t.Dict
    if base in _SCALARS:
        return {"type": _SCALARS[base]}, False
    if base in _NULLS:
        return {"type": "null"}, True
    if base == "optional" and len(args) == 1:
        return _schema(args[0])[0], True
    if base == "union" and args:
        alternatives = [_schema(a)[0] for a in args]
        non_null = [a for a in alternatives if a.get("type") != "null"]
        optional = len(non_null) < len(alternatives)
        if any(not a for a in non_null):
            return {}, optional
        if len(non_null) == 1:
            return non_null[0], optional
        return {"anyOf": non_null}, optional
    if base in _ARRAYS:
        schema: dict[str, Any] = {"type": "array"}
        items = [_schema(a)[0] for a in args if a[0] != "..."]
        distinct = {repr(sorted(i.items())) for i in items}
        if items and len(distinct) == 1 and items[0]:
            schema["items"] = items[0]
        return schema, False
    if base in _OBJECTS:
        return {"type": "object"}, False
    return {}, False
