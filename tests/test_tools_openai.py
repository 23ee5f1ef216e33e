"""OpenAI `tools` JSON in all the shapes servers and datasets write it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from callforge.core import ToolSpec
from callforge.tools import load_tools, tool_from_openai

WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
        },
        "required": ["city"],
    },
}
TIME: dict[str, Any] = {"name": "get_time", "description": "Current time.", "parameters": {"type": "object"}}


def wrap(fn: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": fn}


SHAPES = {
    "tools list": [wrap(WEATHER), wrap(TIME)],
    "bare function list": [WEATHER, TIME],
    "tools wrapper": {"tools": [wrap(WEATHER), wrap(TIME)]},
    "legacy functions key": {"functions": [WEATHER, TIME]},
    "mixed list": [wrap(WEATHER), TIME],
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_every_shape_gives_the_same_tools(shape: Any) -> None:
    tools = load_tools(shape)
    assert [t.name for t in tools] == ["get_weather", "get_time"]
    weather = tools[0]
    assert weather.description == "Current weather for a city."
    assert weather.parameters == WEATHER["parameters"]
    assert weather.required == ["city"]
    assert (weather.source, weather.dialect, weather.original) == ("openai", "json_schema", None)


@pytest.mark.parametrize("single", [wrap(WEATHER), WEATHER], ids=["tool", "function"])
def test_a_single_tool_object_loads(single: dict[str, Any]) -> None:
    [tool] = load_tools(single)
    assert tool.name == "get_weather"


def test_parameters_are_normalised_to_an_object_schema() -> None:
    [no_params, no_properties] = load_tools([{"name": "ping"}, TIME])
    assert no_params.parameters == {"type": "object", "properties": {}}
    assert no_params.description == ""
    assert no_properties.parameters == {"type": "object", "properties": {}}


def test_input_is_copied_not_shared() -> None:
    given = copy.deepcopy(WEATHER)
    [tool] = load_tools([given])
    given["parameters"]["properties"]["city"]["type"] = "integer"
    assert tool.properties["city"]["type"] == "string"


def test_to_openai_round_trips() -> None:
    [tool] = load_tools([wrap(WEATHER)])
    assert load_tools([tool.to_openai()]) == [tool]


def test_tool_from_openai_accepts_one_tool() -> None:
    assert tool_from_openai(wrap(WEATHER)) == tool_from_openai(WEATHER)
    assert isinstance(tool_from_openai(WEATHER), ToolSpec)


def test_json_schema_keywords_beyond_the_basics_pass_through() -> None:
    fn = {
        "name": "search",
        "parameters": {
            "type": "object",
            "properties": {
                "q": {"type": ["string", "null"]},
                "filters": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "object", "properties": {}}]},
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
            "additionalProperties": False,
        },
        "strict": True,
    }
    [tool] = load_tools([fn])
    assert tool.parameters == fn["parameters"]
