"""BFCL/Gorilla specs: type names rewritten to JSON Schema, the original kept, languages told apart."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callforge.core import SpecError, ToolSpec
from callforge.tools import load_tools, tool_from_bfcl
from callforge.tools.bfcl import language_from_id, to_bfcl_function
from tests.conftest import SHARED_BFCL

BFCL_DATA = Path(os.environ.get("CALLFORGE_BFCL_DATA", str(SHARED_BFCL / "data")))
JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}

# simple_python_0, abridged descriptions.
TRIANGLE: dict[str, Any] = {
    "name": "calculate_triangle_area",
    "description": "Calculate the area of a triangle given its base and height.",
    "parameters": {
        "type": "dict",
        "properties": {
            "base": {"type": "integer", "description": "The base of the triangle."},
            "height": {"type": "integer", "description": "The height of the triangle."},
            "unit": {"type": "string", "description": "The unit of measure.", "default": "units"},
        },
        "required": ["base", "height"],
    },
}


def fn(name: str, properties: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "",
        "parameters": {"type": "dict", "properties": properties, **params},
    }


@pytest.mark.parametrize(
    ("bfcl", "schema", "language"),
    [
        ("string", "string", "python"),
        ("integer", "integer", "python"),
        ("float", "number", "python"),
        ("boolean", "boolean", "python"),
        ("array", "array", "python"),
        ("tuple", "array", "python"),
        ("dict", "object", "python"),
        ("any", None, "python"),
        ("", None, "javascript"),
        ("String", "string", "java"),
        ("int", "integer", "java"),
        ("long", "integer", "java"),
        ("short", "integer", "java"),
        ("byte", "integer", "java"),
        ("double", "number", "java"),
        ("char", "string", "java"),
        ("Array", "array", "java"),
        ("ArrayList", "array", "java"),
        ("Set", "array", "java"),
        ("HashMap", "object", "java"),
        ("Hashtable", "object", "java"),
        ("String", "string", "javascript"),
        ("Boolean", "boolean", "javascript"),
        ("Bigint", "integer", "javascript"),
        ("number", "number", "javascript"),
        ("object", "object", "javascript"),
    ],
)
def test_type_names_become_json_schema(bfcl: str, schema: str | None, language: Any) -> None:
    spec = tool_from_bfcl(fn("f", {"x": {"type": bfcl, "description": "d"}}), language=language)
    expected = {"description": "d"} if schema is None else {"type": schema, "description": "d"}
    assert spec.properties["x"] == expected


def test_simple_python_0_converts_and_keeps_the_original() -> None:
    [spec] = load_tools([TRIANGLE])
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "base": {"type": "integer", "description": "The base of the triangle."},
            "height": {"type": "integer", "description": "The height of the triangle."},
            "unit": {"type": "string", "description": "The unit of measure.", "default": "units"},
        },
        "required": ["base", "height"],
    }
    assert (spec.source, spec.dialect) == ("bfcl", "bfcl")
    assert spec.original == TRIANGLE
    assert spec.original is not TRIANGLE


def test_conversion_recurses_and_drops_optional() -> None:
    spec = tool_from_bfcl(
        fn(
            "f",
            {
                "points": {
                    "type": "array",
                    "items": {"type": "tuple", "items": {"type": "float"}},
                    "optional": True,
                },
                "config": {
                    "type": "dict",
                    "properties": {"mode": {"type": "string", "enum": ["a", "b"], "optional": "yes"}},
                    "required": ["mode"],
                },
                "anything": {"type": "any", "default": None},
            },
            required=["config"],
            optional=["points"],
        )
    )
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "points": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            "config": {
                "type": "object",
                "properties": {"mode": {"type": "string", "enum": ["a", "b"]}},
                "required": ["mode"],
            },
            "anything": {"default": None},
        },
        "required": ["config"],
    }


def test_positional_items_become_prefix_items() -> None:
    spec = tool_from_bfcl(
        fn("f", {"pair": {"type": "array", "items": [{"type": "float"}, {"type": "string"}]}})
    )
    assert spec.properties["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "number"}, {"type": "string"}],
    }


def test_nested_required_without_properties_is_allowed() -> None:
    # parallel_29 in BFCL v4 has exactly this shape.
    spec = tool_from_bfcl(fn("f", {"population": {"type": "dict", "required": ["adults"]}}))
    assert spec.properties["population"] == {"type": "object", "required": ["adults"]}


def test_response_becomes_returns() -> None:
    spec = tool_from_bfcl(
        {
            **fn("add", {"a": {"type": "float"}}),
            "response": {"type": "dict", "properties": {"r": {"type": "float"}}},
        }
    )
    assert spec.returns == {"type": "object", "properties": {"r": {"type": "number"}}}


@pytest.mark.parametrize(
    ("entry_id", "language"),
    [
        ("simple_java_3", "java"),
        ("simple_javascript_12", "javascript"),
        ("simple_python_0", "python"),
        ("live_simple_0-0-0", None),
        (7, None),
    ],
)
def test_language_from_id(entry_id: Any, language: str | None) -> None:
    assert language_from_id(entry_id) == language


def entry(entry_id: str, *functions: dict[str, Any]) -> dict[str, Any]:
    return {"id": entry_id, "question": [[{"role": "user", "content": "hi"}]], "function": list(functions)}


NEUTRAL = fn("neutral", {"x": {"type": "any"}, "y": {"type": "boolean"}})
JAVA = fn("java", {"s": {"type": "String"}, "n": {"type": "long"}})
JS = fn("js", {"s": {"type": "String"}, "b": {"type": "Boolean"}})
STRING_ONLY = fn("string_only", {"s": {"type": "String"}})


def dialects(tools: list[ToolSpec]) -> dict[str, str]:
    return {t.name: t.dialect for t in tools}


def test_entry_id_decides_the_language_for_neutral_types() -> None:
    tools = load_tools([entry("simple_java_0", NEUTRAL), entry("simple_javascript_0", STRING_ONLY)])
    assert dialects(tools) == {"neutral": "bfcl_java", "string_only": "bfcl_javascript"}


def test_type_names_decide_the_language_for_the_whole_batch() -> None:
    assert dialects(load_tools([NEUTRAL, JAVA, STRING_ONLY])) == dict.fromkeys(
        ["neutral", "java", "string_only"], "bfcl_java"
    )
    assert dialects(load_tools([NEUTRAL, JS])) == dict.fromkeys(["neutral", "js"], "bfcl_javascript")
    assert dialects(load_tools([NEUTRAL])) == {"neutral": "bfcl"}


def test_explicit_language_wins() -> None:
    tools = load_tools([entry("simple_java_0", NEUTRAL), STRING_ONLY], language="javascript")
    assert dialects(tools) == dict.fromkeys(["neutral", "string_only"], "bfcl_javascript")


def test_language_must_be_told_when_types_cannot() -> None:
    with pytest.raises(SpecError, match=r'"String" is Java or JavaScript.*language="java"'):
        load_tools([STRING_ONLY])
    with pytest.raises(SpecError, match=r'JavaScript type "Boolean".*Java type "long"'):
        load_tools([JAVA, JS])


def test_to_bfcl_function_gives_back_the_original() -> None:
    [spec] = load_tools([TRIANGLE])
    assert to_bfcl_function(spec) == TRIANGLE


def test_to_bfcl_function_renders_json_schema_tools() -> None:
    spec = ToolSpec(
        name="f",
        parameters={
            "type": "object",
            "properties": {
                "x": {"type": "number"},
                "o": {
                    "anyOf": [{"type": "object", "properties": {"k": {"type": "integer"}}}, {"type": "null"}]
                },
                "l": {"type": "array", "items": {"type": ["string", "null"]}},
                "a": {"description": "anything"},
            },
            "required": ["x"],
        },
    )
    assert to_bfcl_function(spec)["parameters"] == {
        "type": "dict",
        "properties": {
            "x": {"type": "float"},
            "o": {"type": "dict", "properties": {"k": {"type": "integer"}}},
            "l": {"type": "array", "items": {"type": "string"}},
            "a": {"type": "any", "description": "anything"},
        },
        "required": ["x"],
    }


BFCL_TYPES = st.sampled_from(["string", "integer", "float", "boolean", "any"])


def bfcl_schemas() -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.builds(lambda t, d: {"type": t, "description": d}, BFCL_TYPES, st.text(max_size=10))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda i: {"type": "array", "items": i}, inner),
            st.builds(
                lambda p: {"type": "dict", "properties": p},
                st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=4),
            ),
        ),
        max_leaves=12,
    )


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), bfcl_schemas(), max_size=5))
def test_conversion_yields_json_schema_and_round_trips(properties: dict[str, Any]) -> None:
    original = fn("f", properties, required=sorted(properties)[:1])
    spec = tool_from_bfcl(original)
    assert spec.original == original
    assert set(type_names(spec.parameters)) <= JSON_TYPES
    back = to_bfcl_function(spec.model_copy(update={"original": None, "dialect": "json_schema"}))
    assert back == original


def type_names(schema: Any) -> list[str]:
    """Every `type` value in a JSON Schema, walking properties, items and prefixItems."""
    if not isinstance(schema, dict):
        return []
    found = [schema["type"]] if isinstance(schema.get("type"), str) else list(schema.get("type") or [])
    for sub in (schema.get("properties") or {}).values():
        found += type_names(sub)
    for sub in [schema.get("items"), *schema.get("prefixItems", [])]:
        found += type_names(sub)
    return found


def has_key(schema: Any, key: str) -> bool:
    if isinstance(schema, dict):
        return key in schema or any(has_key(v, key) for v in schema.values())
    if isinstance(schema, list):
        return any(has_key(v, key) for v in schema)
    return False


QUESTION_FILES = sorted(BFCL_DATA.glob("BFCL_v4_*.json"))
FUNC_DOC_FILES = sorted(BFCL_DATA.glob("multi_turn_func_doc/*.json"))
needs_data = pytest.mark.skipif(
    not QUESTION_FILES, reason=f"no BFCL data at {BFCL_DATA} (set CALLFORGE_BFCL_DATA)"
)


def file_language(path: Path) -> str:
    return "javascript" if "javascript" in path.name else "java" if "java" in path.name else "python"


@needs_data
@pytest.mark.parametrize("path", QUESTION_FILES, ids=[p.name for p in QUESTION_FILES])
def test_every_function_in_every_question_file_loads(path: Path) -> None:
    language = file_language(path)
    dialect = {"python": "bfcl", "java": "bfcl_java", "javascript": "bfcl_javascript"}[language]
    count = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        functions = row.get("function", [])
        tools = load_tools(functions, format="bfcl", language=language, source_name=f"{path}:{number}")
        assert [t.name for t in tools] == [f["name"] for f in functions]
        for tool, original in zip(tools, functions, strict=True):
            assert tool.original == original
            assert tool.dialect == dialect
            assert set(type_names(tool.parameters)) <= JSON_TYPES, tool.name
            assert not has_key(tool.parameters, "optional"), tool.name
            assert tool.parameters["type"] == "object"
        count += len(tools)
    if "multi_turn" in path.name:
        assert count == 0
        with pytest.raises(SpecError, match="no tools found"):
            load_tools(path)
    else:
        assert count > 0
        whole = load_tools(path)  # language from the entry ids, duplicates across entries merged
        assert {t.dialect for t in whole} == {dialect}
        assert len({t.name for t in whole}) == len(whole)


@needs_data
@pytest.mark.parametrize("path", FUNC_DOC_FILES, ids=[p.name for p in FUNC_DOC_FILES])
def test_multi_turn_function_docs_load(path: Path) -> None:
    tools = load_tools(path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [t.name for t in tools] == [line["name"] for line in lines]
    for tool, line in zip(tools, lines, strict=True):
        assert (tool.returns is None) == (line.get("response") is None), tool.name
        assert set(type_names(tool.returns)) <= JSON_TYPES, tool.name
