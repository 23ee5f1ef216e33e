"""The compact API draft a model writes, and its conversion to a ToolSpec.

A model asked for raw JSON Schema spends most of its tokens on braces and keywords and often gets
them wrong. The draft is a flat list of fields with a short type name (`array<object>`), so every
answer is cheap to write, can be constrained by a grammar, and converts to valid JSON Schema by
our code. Two levels of nesting (a field's `fields`) cover nested objects and arrays of objects.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callforge.core import ToolSpec

FieldType = Literal[
    "string",
    "integer",
    "number",
    "boolean",
    "object",
    "array<string>",
    "array<integer>",
    "array<number>",
    "array<object>",
]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]
FORMATS = ("date", "date-time", "time", "email", "uri", "uuid")
_CONSTRAINTS = ("minimum", "maximum", "min_length", "max_length", "pattern")


class DraftField(BaseModel):
    """One parameter or output field; `fields` describes an object's (or object array's) members."""

    model_config = ConfigDict(frozen=True)

    name: str
    type: FieldType
    description: str = ""
    required: bool = False
    enum: tuple[Any, ...] = ()
    format: str | None = None
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    fields: tuple[DraftField, ...] = ()


class ApiDraft(BaseModel):
    """An API as a model drafts it: name, description, parameters and output fields."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: tuple[DraftField, ...] = ()
    returns: tuple[DraftField, ...] = Field(default=())


def _leaf_schema(nested: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "name": {"type": "string"},
        "type": {"enum": list(FIELD_TYPES)},
        "description": {"type": "string"},
        "required": {"type": "boolean"},
        "enum": {"type": "array", "items": {"type": ["string", "integer", "number"]}},
        "format": {"enum": list(FORMATS)},
        "default": {"type": ["string", "integer", "number", "boolean"]},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "min_length": {"type": "integer"},
        "max_length": {"type": "integer"},
        "pattern": {"type": "string"},
    }
    if nested:
        properties["fields"] = {"type": "array", "items": _leaf_schema(False), "maxItems": 6}
    return {
        "type": "object",
        "properties": properties,
        "required": ["name", "type", "description"],
        "additionalProperties": False,
    }


def draft_schema() -> dict[str, Any]:
    """The JSON Schema of an ApiDraft answer, for constrained decoding (grammar-friendly: no `$ref`)."""
    field = _leaf_schema(True)
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "parameters": {"type": "array", "items": field, "minItems": 1, "maxItems": 8},
            "returns": {"type": "array", "items": field, "minItems": 1, "maxItems": 8},
        },
        "required": ["name", "description", "parameters", "returns"],
        "additionalProperties": False,
    }


_SCALAR = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def field_schema(field: DraftField) -> dict[str, Any]:
    """The JSON Schema of one draft field, with its description, enum, format, default and bounds."""
    if field.type.startswith("array<"):
        item_type = field.type[len("array<") : -1]
        items = _object_schema(field.fields) if item_type == "object" else {"type": item_type}
        if item_type != "object":
            items.update(_annotations(field, scalar=item_type))
        schema: dict[str, Any] = {"type": "array", "items": items}
        if field.min_length is not None:
            schema["minItems"] = field.min_length
        if field.max_length is not None:
            schema["maxItems"] = field.max_length
    elif field.type == "object":
        schema = _object_schema(field.fields)
    else:
        schema = {"type": _SCALAR[field.type], **_annotations(field, scalar=field.type)}
        if field.type == "string":
            if field.min_length is not None:
                schema["minLength"] = field.min_length
            if field.max_length is not None:
                schema["maxLength"] = field.max_length
    if field.description:
        schema = {"description": field.description.strip(), **schema}
    if field.default is not None:
        schema["default"] = field.default
    return schema


def _annotations(field: DraftField, *, scalar: str) -> dict[str, Any]:
    """Enum, format, bounds and pattern that apply to a scalar (or to each item of a scalar array)."""
    out: dict[str, Any] = {}
    if field.enum:
        out["enum"] = list(field.enum)
    if field.format and scalar == "string":
        out["format"] = field.format
    if scalar in ("integer", "number"):
        if field.minimum is not None:
            out["minimum"] = (
                int(field.minimum) if scalar == "integer" and field.minimum.is_integer() else field.minimum
            )
        if field.maximum is not None:
            out["maximum"] = (
                int(field.maximum) if scalar == "integer" and field.maximum.is_integer() else field.maximum
            )
    if field.pattern and scalar == "string":
        out["pattern"] = field.pattern
    return out


def _object_schema(fields: tuple[DraftField, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {f.name: field_schema(f) for f in fields}}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def to_toolspec(draft: ApiDraft, *, domain: str) -> ToolSpec:
    """The ToolSpec of a draft: parameters and `returns` as JSON Schema objects, tagged with its domain."""
    returns = _object_schema(draft.returns)
    returns["required"] = [f.name for f in draft.returns]
    return ToolSpec(
        name=draft.name,
        description=draft.description.strip(),
        parameters=_object_schema(draft.parameters),
        returns=returns,
        source="synthesized",
        domain=domain,
    )


def snake_case(name: str) -> str:
    """`getFlightStatus`, `get-flight status` → `get_flight_status`: the pool's one naming style before evolution."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def features(tool: ToolSpec) -> set[str]:
    """The schema features a tool uses (enum, default, format, nested object, object array, bounds…).

    The pool report counts them: a pool without nested objects or enums teaches a model nothing
    about them, whatever its size.
    """
    found: set[str] = set()

    def walk(schema: Any, top: bool, item: bool = False) -> None:
        if not isinstance(schema, dict):
            return
        kind = schema.get("type")
        if "enum" in schema:
            found.add("enum")
        if "default" in schema:
            found.add("default")
        if "format" in schema:
            found.add("format")
        if any(k in schema for k in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")):
            found.add("bounds")
        if "pattern" in schema:
            found.add("pattern")
        if kind == "object" and not top and not item:
            found.add("nested_object")
        if kind == "array":
            items = schema.get("items")
            found.add(
                "array_of_objects" if isinstance(items, dict) and items.get("type") == "object" else "array"
            )
            walk(items, False, item=True)
        for sub in (schema.get("properties") or {}).values():
            walk(sub, False)

    walk(tool.parameters, True)
    return found
