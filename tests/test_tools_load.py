"""load_tools: files and parsed JSON, format detection, JSON Lines, de-duplication, options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import callforge
from callforge.core import ConfigError
from callforge.tools import load_tools


def openai_tool(name: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "parameters": {"type": "object", "properties": {}}},
    }


def bfcl_fn(name: str, description: str = "") -> dict[str, Any]:
    parameters = {"type": "dict", "properties": {"x": {"type": "float"}}, "required": ["x"]}
    return {"name": name, "description": description, "parameters": parameters}


def entry(entry_id: str, *functions: dict[str, Any]) -> dict[str, Any]:
    return {"id": entry_id, "question": [[{"role": "user", "content": "?"}]], "function": list(functions)}


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": [openai_tool("a"), openai_tool("b")]}), encoding="utf-8")
    assert [t.name for t in load_tools(path)] == ["a", "b"]
    assert [t.name for t in load_tools(str(path))] == ["a", "b"]


def test_json_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "tools.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([openai_tool("a")]).encode())
    assert [t.name for t in load_tools(path)] == ["a"]


def test_jsonl_of_tools_with_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "tools.jsonl"
    path.write_text(f"{json.dumps(openai_tool('a'))}\n\n{json.dumps(bfcl_fn('b'))}\n", encoding="utf-8")
    tools = load_tools(path)
    assert [(t.name, t.source) for t in tools] == [("a", "openai"), ("b", "bfcl")]


def test_single_line_jsonl_is_still_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "tools.jsonl"
    path.write_text(json.dumps(entry("simple_python_0", bfcl_fn("a"))), encoding="utf-8")
    assert [t.name for t in load_tools(path)] == ["a"]


def test_bfcl_json_lines_under_a_json_suffix_are_deduplicated_first_wins(tmp_path: Path) -> None:
    path = tmp_path / "BFCL_v4_multiple.json"
    lines = [
        entry("multiple_0", bfcl_fn("area", "first"), bfcl_fn("volume")),
        entry("multiple_1", bfcl_fn("area", "second, different")),
        entry("multiple_2", bfcl_fn("perimeter")),
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")  # no trailing newline
    tools = load_tools(path)
    assert [t.name for t in tools] == ["area", "volume", "perimeter"]
    assert tools[0].description == "first"


def test_an_array_of_bfcl_entries_is_deduplicated_too() -> None:
    tools = load_tools([entry("parallel_0", bfcl_fn("a")), entry("parallel_1", bfcl_fn("a"), bfcl_fn("b"))])
    assert [t.name for t in tools] == ["a", "b"]


def test_single_bfcl_entry_and_single_function() -> None:
    assert [t.name for t in load_tools(entry("simple_python_0", bfcl_fn("a")))] == ["a"]
    [tool] = load_tools(bfcl_fn("a"))
    assert (tool.source, tool.dialect) == ("bfcl", "bfcl")


def test_auto_detects_per_function() -> None:
    tools = load_tools([openai_tool("a"), bfcl_fn("b"), {"name": "c"}])
    assert [(t.name, t.source) for t in tools] == [("a", "openai"), ("b", "bfcl"), ("c", "openai")]


def test_format_bfcl_reads_openai_shapes_as_bfcl() -> None:
    wrapped = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
    }
    [tool] = load_tools(
        [
            wrapped,
        ],
        format="bfcl",
    )
    assert (tool.source, tool.dialect) == ("bfcl", "bfcl")
    assert tool.original == wrapped["function"]


def test_format_openai_reads_bare_functions_as_openai() -> None:
    [tool] = load_tools([{"name": "f", "parameters": {"type": "object"}}], format="openai")
    assert tool.source == "openai"


def test_empty_inputs_give_no_tools(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    assert load_tools([]) == []
    assert load_tools({"tools": []}) == []
    assert load_tools(path) == []


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"format": "yaml"}, "format='yaml' is not supported; use one of auto, openai, bfcl"),
        ({"language": "rust"}, "language='rust' is not a BFCL language; use one of python, java, javascript"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_tools([], **options)


def test_load_tools_is_on_the_top_level_package() -> None:
    assert callforge.load_tools is load_tools
