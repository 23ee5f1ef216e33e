"""OpenAI function-calling specs (`tools` entries and bare function objects) as ToolSpecs.

Also home of `Where`, the error locator every JSON loader in this package shares, because the
OpenAI shape is the base the other JSON dialects extend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from callforge.core import InputFileError, SpecError, ToolSpec, copy_json, kind_of, read_bounded

JSON_SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")

_SCHEMA_KEYS = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SCHEMA_LIST_KEYS = ("anyOf", "oneOf", "allOf", "prefixItems")


@dataclass(frozen=True, slots=True)
class Where:
    """Where in which input a loader is looking, so every SpecError names file, tool and JSON path.

    The path is kept as its steps and rendered only when an error is raised: loaders step into
    every node of every schema, and almost all of them are fine.
    """

    source: str | None = None
    tool: str | None = None
    steps: tuple[str | int, ...] = ()

    @property
    def path(self) -> str:
        """The JSON path: `$.a`, `$[3]`, or `$["odd key"]` for keys that are not identifiers."""
        parts = ["$"]
        for key in self.steps:
            if isinstance(key, int):
                parts.append(f"[{key}]")
            elif key.isidentifier():
                parts.append(f".{key}")
            else:
                parts.append(f"[{json.dumps(key)}]")
        return "".join(parts)

    def at(self, key: str | int) -> Where:
        """The location one step deeper."""
        return Where(self.source, self.tool, (*self.steps, key))

    def named(self, tool: str) -> Where:
        """The same location, attributed to the tool called `tool`."""
        return Where(self.source, tool, self.steps)

    def read_text(self, path: Path, expected: str) -> str:
        """The text of `path` (UTF-8, BOM dropped); a missing, unreadable or binary file fails here, naming it.

        `expected` says what the file should have been ("a path to a .json or .jsonl file"). Only
        a regular file within `max_input_mb` is read (see callforge.core.read_bounded): a FIFO, a
        device or a huge file fails here rather than hanging or filling memory.
        """
        try:
            data = read_bounded(path)
        except InputFileError as exc:
            self.fail(exc.problem, expected)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.fail(f"not UTF-8 text ({exc.reason} at byte {exc.start})")

    def fail(self, problem: str, expected: str | None = None) -> NoReturn:
        """Raise the SpecError for a problem found here."""
        raise SpecError(problem, source=self.source, tool=self.tool, path=self.path, expected=expected)


def tool_from_openai(obj: Any, where: Where | None = None) -> ToolSpec:
    """Read one OpenAI tool: `{"type": "function", "function": {...}}` or the bare function object.

    Both shapes are accepted because servers, datasets and the legacy `functions` API disagree on
    which one they write. The schema is checked (types, `required` against `properties`) so a bad
    tool fails here, with its path, rather than later inside a validator or a chat template.
    """
    where = where or Where()
    if isinstance(obj, dict) and "function" in obj:
        if obj.get("type", "function") != "function":
            where.at("type").fail(f'"type" must be "function", not {json.dumps(obj["type"])}')
        return tool_from_openai(obj["function"], where.at("function"))
    name, description = check_name_and_description(obj, where)
    where = where.named(name)
    params = obj.get("parameters")
    if params is None:
        parameters: dict[str, Any] = {"type": "object", "properties": {}}
    else:
        check_parameters(params, where.at("parameters"))
        parameters = {"type": "object", "properties": {}, **copy_json(params)}
    return ToolSpec(name=name, description=description, parameters=parameters, source="openai")


def check_name_and_description(obj: Any, where: Where) -> tuple[str, str]:
    """The function object's name and description, both checked; shared by the JSON dialects."""
    if not isinstance(obj, dict):
        where.fail(f"a function must be an object, not {kind_of(obj)}", 'an object with "name"')
    name = obj.get("name")
    if name is None:
        where.fail('missing "name"', 'a function object with a "name" string')
    if not isinstance(name, str) or not name.strip():
        where.at("name").fail(f'"name" must be a non-empty string, not {json.dumps(name)}')
    description = obj.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        where.named(name).at("description").fail(
            f'"description" must be a string, not {kind_of(description)}'
        )
    return name, description


def check_parameters(params: Any, where: Where) -> None:
    """Check a tool's top-level argument schema: an object schema whose `required` names its properties."""
    if not isinstance(params, dict):
        where.fail(f"parameters must be an object, not {kind_of(params)}", 'a JSON Schema {"type": "object"}')
    if params.get("type", "object") != "object":
        where.at("type").fail(f'parameters "type" must be "object", not {json.dumps(params["type"])}')
    _check_schema(params, where, top=True)


def _check_schema(schema: Any, where: Where, *, top: bool = False) -> None:
    if not isinstance(schema, dict):
        where.fail(f"a schema must be an object, not {kind_of(schema)}")
    if "type" in schema:
        _check_type(schema["type"], where.at("type"))
    props = schema.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            where.at("properties").fail(f'"properties" must be an object, not {kind_of(props)}')
        for key, sub in props.items():
            _check_schema(sub, where.at("properties").at(key))
    check_required(schema, where, top=top)
    if "enum" in schema and not isinstance(schema["enum"], list):
        where.at("enum").fail(f'"enum" must be a list, not {kind_of(schema["enum"])}')
    for key in _SCHEMA_KEYS:
        if isinstance(schema.get(key), dict):
            _check_schema(schema[key], where.at(key))
    for key in _SCHEMA_LIST_KEYS:
        subs = schema.get(key)
        if subs is not None and not isinstance(subs, list):
            where.at(key).fail(f'"{key}" must be a list of schemas, not {kind_of(subs)}')
        for i, sub in enumerate(subs or []):
            _check_schema(sub, where.at(key).at(i))


def _check_type(value: Any, where: Where) -> None:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if name not in JSON_SCHEMA_TYPES:
            choices = ", ".join(f'"{t}"' for t in JSON_SCHEMA_TYPES)
            where.fail(f'"type" must be one of {choices}, not {json.dumps(name)}')


def check_required(schema: dict[str, Any], where: Where, *, top: bool) -> None:
    """Check `required`: a list of property names that all exist.

    Nested objects without `properties` are open objects, where `required` alone is legal JSON
    Schema (BFCL data uses it); a tool's top level has no such excuse.
    """
    required = schema.get("required")
    if required is None:
        return
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        where.at("required").fail('"required" must be a list of property names')
    props = schema.get("properties")
    if props is None and not top:
        return
    for i, name in enumerate(required):
        if name not in (props or {}):
            where.at("required").at(i).fail(f'"required" lists "{name}" which is not in "properties"')


