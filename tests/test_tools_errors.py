"""Every malformed spec fails with a message naming the file, the tool, the JSON path and the fix.

One row per error. `content` is written to a file (JSON-encoded unless it is already text) and
loaded; `{file}` in `source` stands for that file's path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from callforge.core import SpecError
from callforge.tools import load_tools


def tool(name: str = "get_weather", **params: Any) -> dict[str, Any]:
    parameters = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        **params,
    }
    return {
        "type": "function",
        "function": {"name": name, "description": "Weather.", "parameters": parameters},
    }


def bfcl(name: str = "calc", **params: Any) -> dict[str, Any]:
    parameters = {"type": "dict", "properties": {"x": {"type": "float"}}, "required": ["x"], **params}
    return {"name": name, "description": "Calc.", "parameters": parameters}


def entry(entry_id: str, *functions: dict[str, Any]) -> str:
    return json.dumps(
        {"id": entry_id, "question": [[{"role": "user", "content": "?"}]], "function": list(functions)}
    )


@dataclass
class Row:
    id: str
    content: Any
    tool: str | None
    path: str
    expected: str
    suffix: str = ".json"
    source: str = "{file}"
    options: dict[str, Any] = field(default_factory=dict)


TOOLS = [tool("a"), tool("b"), tool("c")]
ROWS = [
    Row(
        "missing name",
        [{"type": "function", "function": {"description": "x"}}],
        "#0",
        "$[0].function",
        'missing "name"',
    ),
    Row("name not a string", [{"name": 5}], "#0", "$[0].name", '"name" must be a non-empty string, not 5'),
    Row("empty name", [{"name": " "}], "#0", "$[0].name", '"name" must be a non-empty string'),
    Row(
        "description not a string",
        [{"name": "f", "description": ["x"]}],
        "f",
        "$[0].description",
        '"description" must be a string, not a list',
    ),
    Row(
        "unknown property type",
        [*TOOLS, tool(properties={"city": {"type": "str"}})],
        "get_weather",
        "$[3].function.parameters.properties.city.type",
        '"type" must be one of "string", "number", "integer"',
    ),
    Row(
        "type in a type list",
        [tool(properties={"city": {"type": ["string", "text"]}})],
        "get_weather",
        "$[0].function.parameters.properties.city.type",
        'not "text"',
    ),
    Row(
        "required not in properties",
        [tool(required=["city", "x"])],
        "get_weather",
        "$[0].function.parameters.required[1]",
        '"required" lists "x" which is not in "properties"',
    ),
    Row(
        "required without properties",
        [tool(properties=None, required=["city"])],
        "get_weather",
        "$[0].function.parameters.required[0]",
        '"required" lists "city" which is not in "properties"',
    ),
    Row(
        "nested required",
        [tool(properties={"city": {"type": "object", "properties": {}, "required": ["n"]}})],
        "get_weather",
        "$[0].function.parameters.properties.city.required[0]",
        '"required" lists "n"',
    ),
    Row(
        "required not a list",
        [tool(required="city")],
        "get_weather",
        "$[0].function.parameters.required",
        '"required" must be a list of property names',
    ),
    Row(
        "parameters not an object",
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]},
        "f",
        "$.tools[0].function.parameters",
        "parameters must be an object, not a string",
    ),
    Row(
        "parameters type not object",
        [tool(type="array")],
        "get_weather",
        "$[0].function.parameters.type",
        'parameters "type" must be "object", not "array"',
    ),
    Row(
        "properties not an object",
        [tool(properties=["city"], required=[])],
        "get_weather",
        "$[0].function.parameters.properties",
        '"properties" must be an object, not a list',
    ),
    Row(
        "property schema not an object",
        [tool(properties={"city": "string"})],
        "get_weather",
        "$[0].function.parameters.properties.city",
        "a schema must be an object, not a string",
    ),
    Row(
        "odd property name quoted",
        [tool(properties={"the city": {"type": 1}}, required=[])],
        "get_weather",
        '$[0].function.parameters.properties["the city"].type',
        '"type" must be one of',
    ),
    Row(
        "items type",
        [tool(properties={"city": {"type": "array", "items": {"type": "list"}}})],
        "get_weather",
        "$[0].function.parameters.properties.city.items.type",
        '"type" must be one of',
    ),
    Row(
        "anyOf not a list",
        [tool(properties={"city": {"anyOf": {"type": "string"}}})],
        "get_weather",
        "$[0].function.parameters.properties.city.anyOf",
        '"anyOf" must be a list of schemas',
    ),
    Row(
        "enum not a list",
        [tool(properties={"city": {"type": "string", "enum": "Paris"}})],
        "get_weather",
        "$[0].function.parameters.properties.city.enum",
        '"enum" must be a list',
    ),
    Row(
        "wrapper type not function",
        [{"type": "retrieval", "function": {"name": "f"}}],
        "#0",
        "$[0].type",
        '"type" must be "function", not "retrieval"',
    ),
    Row("tools not a list", {"tools": {"name": "f"}}, None, "$.tools", '"tools" must be a list of tools'),
    Row("item not an object", ["get_weather"], "#0", "$[0]", "expected a tool, not a string"),
    Row("document not tools", 42, None, "$", "expected tools, not a number"),
    Row(
        "duplicate name",
        [tool("a"), tool("b"), tool("a")],
        "a",
        "$[2]",
        "duplicate tool name 'a' (first defined at $[0])",
    ),
    Row(
        "duplicate within a BFCL entry",
        entry("simple_python_1", bfcl("calc"), bfcl("calc")),
        "calc",
        "$.function[1]",
        "duplicate tool name 'calc'",
    ),
    Row(
        "duplicate across lines of tools",
        "\n".join(json.dumps(tool("a")) for _ in range(2)),
        "a",
        "$",
        "duplicate tool name 'a' (first defined at {file}:1 $)",
        suffix=".jsonl",
        source="{file}:2",
    ),
    Row(
        "openai forced on BFCL",
        [bfcl()],
        "calc",
        "$[0].parameters.type",
        'parameters "type" must be "object", not "dict"',
        options={"format": "openai"},
    ),
    Row(
        "BFCL unknown type",
        [bfcl(properties={"x": {"type": "str"}})],
        "calc",
        "$[0].parameters.properties.x.type",
        '"type" must be one of "string", "integer", "number", "float"',
    ),
    Row(
        "BFCL unknown type in items",
        [bfcl(properties={"x": {"type": "array", "items": {"type": "Foo"}}})],
        "calc",
        "$[0].parameters.properties.x.items.type",
        'not "Foo"',
    ),
    Row(
        "BFCL top type",
        [bfcl(type="array")],
        "calc",
        "$[0].parameters.type",
        'parameters "type" must be "dict", not "array"',
        options={"format": "bfcl"},
    ),
    Row(
        "BFCL parameters not an object",
        [{"name": "calc", "parameters": []}],
        "calc",
        "$[0].parameters",
        "parameters must be an object, not a list",
        options={"format": "bfcl"},
    ),
    Row(
        "BFCL required not in properties",
        [bfcl(required=["y"])],
        "calc",
        "$[0].parameters.required[0]",
        '"required" lists "y" which is not in "properties"',
    ),
    Row(
        "BFCL items not a schema",
        [bfcl(properties={"x": {"type": "array", "items": "float"}})],
        "calc",
        "$[0].parameters.properties.x.items",
        '"items" must be a schema object, not a string',
    ),
    Row(
        "BFCL entry on line 2",
        entry("simple_python_0", bfcl("a"))
        + "\n"
        + entry("simple_python_1", bfcl("b"), bfcl("c", properties={"x": {"type": "double"}})),
        "c",
        "$.function[1].parameters.properties.x.type",
        'not "double"',
        source="{file}:2",
    ),
    Row(
        "BFCL Java type outside Java",
        entry("simple_python_0", bfcl(properties={"x": {"type": "long"}})),
        "calc",
        "$.function[0].parameters.properties.x.type",
        'not "long"',
        options={"language": "python"},
    ),
    Row(
        "BFCL String alone",
        [bfcl(properties={"x": {"type": "String"}})],
        "calc",
        "$[0].parameters.properties.x.type",
        'language="java" or language="javascript"',
    ),
    Row(
        "BFCL Java and JS mixed",
        [bfcl("j", properties={"x": {"type": "long"}}), bfcl("s", properties={"x": {"type": "Boolean"}})],
        "s",
        "$[1].parameters.properties.x.type",
        "one language per file",
    ),
    Row(
        "multi-turn entries only",
        json.dumps({"id": "multi_turn_base_0", "question": [], "involved_classes": []}),
        None,
        "$",
        "no tools found",
        source="{file}",
    ),
    Row(
        "invalid JSON",
        '[{"name": "a",\n  "parameters": {}\n  "description": "x"}]',
        None,
        "$",
        "invalid JSON: Expecting ',' delimiter at line 3 column 3",
    ),
    Row(
        "invalid JSON line",
        '{"name": "a"}\n{"name": "b"\n',
        None,
        "$",
        "invalid JSON: Expecting ',' delimiter at line 2 column 13",
        suffix=".jsonl",
        source="{file}:2",
    ),
    Row(
        "invalid JSON after a good line in .json",
        '{"name": "a"}\n{"name": }\n',
        None,
        "$",
        "invalid JSON: Expecting value at line 2 column 10",
        source="{file}:2",
    ),
    Row(
        "garbage after a multi-line document",
        '[\n  {"name": "a"}\n]\n]',
        None,
        "$",
        "invalid JSON: Extra data at line 4 column 1",
    ),
    Row("empty file", "", None, "$", "invalid JSON: Expecting value at line 1 column 1"),
    Row("not UTF-8", b"\xff\xfe[]", None, "$", "not UTF-8 text"),
]


def write(tmp_path: Path, row: Row) -> Path:
    path = tmp_path / f"tools{row.suffix}"
    if isinstance(row.content, bytes):
        path.write_bytes(row.content)
    else:
        path.write_text(
            row.content if isinstance(row.content, str) else json.dumps(row.content), encoding="utf-8"
        )
    return path


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_error_names_file_tool_path_and_expectation(tmp_path: Path, row: Row) -> None:
    path = write(tmp_path, row)
    with pytest.raises(SpecError) as caught:
        load_tools(path, **row.options)
    err, message = caught.value, str(caught.value)
    source = row.source.format(file=path)
    assert (err.source, err.tool, err.path) == (source, row.tool, row.path)
    assert message.startswith(source + ":")
    if row.tool:
        assert f"tool {row.tool!r}" in message
    assert f"at {row.path}:" in message
    assert row.expected.format(file=path) in message


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SpecError, match=r"nope\.json: at \$: file not found; expected a path") as caught:
        load_tools(missing)
    assert caught.value.source == str(missing)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_tools(tmp_path)


def test_parsed_objects_are_labelled_by_source_name() -> None:
    with pytest.raises(SpecError) as caught:
        load_tools([{"name": "f", "parameters": 3}], source_name="suite.json:7")
    assert str(caught.value) == (
        "suite.json:7: tool 'f': at $[0].parameters: parameters must be an object, not a number; "
        'expected a JSON Schema {"type": "object"}'
    )
