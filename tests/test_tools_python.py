"""Python functions as tools: type hints to JSON Schema, docstrings to descriptions."""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from callforge.core import SpecError
from callforge.tools import tool_from_function, tools_from_functions


class Unit(StrEnum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Address(BaseModel):
    """A postal address."""

    street: str
    title: str = Field("", description="Form of address, e.g. Dr")


class Node(BaseModel):
    value: int
    children: list[Node] = []


def get_weather(
    city: str,
    unit: Literal["c", "f"] = "c",
    days: Annotated[int, Field(ge=1, le=7, description="Days ahead (from Field)")] = 1,
    when: Optional[str] = None,  # noqa: UP045 - Optional is what the test is about
) -> dict[str, float]:
    """Get the weather forecast for a city.

    Uses the free forecast service.

    Args:
        city: The city name.
        unit: Temperature unit.
        days: Overridden by the Field description.
        when: ISO date; today when omitted.

    Returns:
        Statistics by name.
    """
    return {}


def add(x: float, y: float = 2.0) -> float:
    """Add two numbers.

    Parameters
    ----------
    x : float
        First addend.
    y : float
        Second addend.

    Returns
    -------
    float
        The sum.
    """
    return x + y


def ship(
    to: Address, tags: list[str], extra: dict[str, int], unit: Unit = Unit.CELSIUS, tree: Node | None = None
) -> None:
    return None


def undocumented(n: int) -> object:
    return n


def test_google_docstring_and_hints() -> None:
    tool = tool_from_function(get_weather)
    assert tool.name == "get_weather"
    assert tool.description == "Get the weather forecast for a city.\n\nUses the free forecast service."
    assert tool.source == "python"
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city name."},
            "unit": {
                "type": "string",
                "enum": ["c", "f"],
                "default": "c",
                "description": "Temperature unit.",
            },
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 7,
                "default": 1,
                "description": "Days ahead (from Field)",
            },
            "when": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "ISO date; today when omitted.",
            },
        },
        "required": ["city"],
    }
    assert tool.returns == {
        "type": "object",
        "additionalProperties": {"type": "number"},
        "description": "Statistics by name.",
    }


def test_numpy_docstring() -> None:
    tool = tool_from_function(add)
    assert tool.description == "Add two numbers."
    assert tool.properties == {
        "x": {"type": "number", "description": "First addend."},
        "y": {"type": "number", "default": 2.0, "description": "Second addend."},
    }
    assert tool.required == ["x"]
    assert tool.returns == {"type": "number", "description": "The sum."}


def test_models_enums_and_containers() -> None:
    tool = tool_from_function(ship)
    props = tool.properties
    assert props["to"] == {
        "type": "object",
        "description": "A postal address.",
        "properties": {
            "street": {"type": "string"},
            "title": {"type": "string", "default": "", "description": "Form of address, e.g. Dr"},
        },
        "required": ["street"],
    }
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["extra"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
    assert tool.required == ["to", "tags", "extra"]
    assert tool.returns is None
    assert tool.description == ""


def test_titles_are_stripped_but_a_property_called_title_is_kept() -> None:
    tool = tool_from_function(ship)

    def titles(node: Any, under_properties: bool = False) -> list[Any]:
        if isinstance(node, dict):
            found = [] if under_properties or "title" not in node else [node]
            for key, value in node.items():
                found += titles(value, key in ("properties", "$defs"))
            return found
        return [t for v in node for t in titles(v)] if isinstance(node, list) else []

    assert titles(tool.parameters) == []
    assert "title" in tool.properties["to"]["properties"]


def test_recursive_models_keep_a_ref_and_its_definition() -> None:
    tool = tool_from_function(ship)
    node = {
        "type": "object",
        "properties": {
            "value": {"type": "integer"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}, "default": []},
        },
        "required": ["value"],
    }
    assert tool.properties["tree"] == {"anyOf": [node, {"type": "null"}], "default": None}
    assert tool.parameters["$defs"] == {"Node": node}


def test_name_and_description_can_be_given() -> None:
    tool = tool_from_function(add, name="plus", description="Adds.")
    assert (tool.name, tool.description) == ("plus", "Adds.")


def test_field_as_default_value() -> None:
    def f(limit: int = Field(10, ge=1, description="Max rows")) -> None:
        return None

    assert tool_from_function(f).properties == {
        "limit": {"type": "integer", "minimum": 1, "default": 10, "description": "Max rows"}
    }


def test_methods_skip_self() -> None:
    class Api:
        def lookup(self, key: str) -> str:
            """Look a key up."""
            return key

    tool = tool_from_function(Api().lookup)
    assert list(tool.properties) == ["key"]


def test_an_indescribable_return_type_leaves_returns_empty() -> None:
    class Opaque:
        pass

    def f(n: int) -> Opaque:
        return Opaque()

    assert tool_from_function(f).returns is None
    assert tool_from_function(undocumented).returns == {}


def test_partials_describe_the_remaining_parameters() -> None:
    tool = tool_from_function(functools.partial(add, 1.0), name="add_one")
    assert (tool.name, tool.description) == ("add_one", "Add two numbers.")
    assert tool.properties == {"y": {"type": "number", "default": 2.0, "description": "Second addend."}}


def test_tools_from_functions() -> None:
    tools = tools_from_functions([get_weather, add])
    assert [t.name for t in tools] == ["get_weather", "add"]


def untyped(city, days: int = 1):  # type: ignore[no-untyped-def]
    return None


def star_args(*cities: str) -> None:
    return None


def star_kwargs(city: str, **options: Any) -> None:
    return None


def positional_only(city: str, /) -> None:
    return None


def unresolved(city: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
    return None


class Opaque:
    pass


def opaque(thing: Opaque) -> None:
    return None


@pytest.mark.parametrize(
    ("fn", "tool", "path", "expected"),
    [
        (
            untyped,
            "untyped",
            "$.parameters.properties.city",
            "parameter 'city' of untyped() has no type hint; add a type hint",
        ),
        (star_args, "star_args", "$.parameters.properties.cities", "*cities cannot be passed in a tool call"),
        (
            star_kwargs,
            "star_kwargs",
            "$.parameters.properties.options",
            "**options cannot be passed in a tool call",
        ),
        (
            positional_only,
            "positional_only",
            "$.parameters.properties.city",
            "positional-only parameter 'city'",
        ),
        (unresolved, "unresolved", "$", "cannot read the signature and type hints of unresolved()"),
        (opaque, "opaque", "$.parameters.properties.thing", "pydantic cannot describe this type hint"),
        (functools.partial(add, 1.0), None, "$", "this callable has no __name__"),
    ],
    ids=["untyped", "*args", "**kwargs", "positional-only", "unresolved-hint", "opaque-type", "no-name"],
)
def test_errors_name_the_function_parameter_and_fix(
    fn: Any, tool: str | None, path: str, expected: str
) -> None:
    with pytest.raises(SpecError) as caught:
        tool_from_function(fn)
    err = caught.value
    message = str(err)
    assert expected in message
    assert (err.tool, err.path) == (tool, path)
    if tool:
        assert f"tool {tool!r}" in message
    assert f"at {path}" in message
    assert err.source and "test_tools_python.py" in err.source


def test_duplicate_function_names_are_an_error() -> None:
    with pytest.raises(SpecError, match=r"two functions are named 'add'.*name=") as caught:
        tools_from_functions([add, add])
    assert caught.value.tool == "add"


def test_an_unparseable_docstring_becomes_the_description(monkeypatch: pytest.MonkeyPatch) -> None:
    import docstring_parser

    def refuse(text: str) -> Any:
        raise docstring_parser.ParseError("no style fits")

    monkeypatch.setattr(docstring_parser, "parse", refuse)
    tool = tool_from_function(add)
    assert tool.description.startswith("Add two numbers.\n\nParameters")
    assert "description" not in tool.properties["x"]
