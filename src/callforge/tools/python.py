"""Python functions as ToolSpecs: type hints become the JSON Schema, the docstring the descriptions.

Type hints are rendered by pydantic, so whatever pydantic validates (Literal, Optional, Enum,
nested models, `Annotated[..., Field(...)]`) is described the same way it will later be checked.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import docstring_parser
from pydantic import PydanticUserError, TypeAdapter
from pydantic.fields import FieldInfo

from callforge.core import SpecError, ToolSpec

_SCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_JSON_TYPES = "a JSON-compatible type (str, int, float, bool, list, dict, Literal, Enum, a pydantic model)"


def tool_from_function(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> ToolSpec:
    """Describe a Python function as a tool, so the code that runs a tool is also its spec.

    Every parameter needs a type hint: a model cannot fill in an argument whose type nobody
    stated. `*args`, `**kwargs` and positional-only parameters are refused because a tool call
    passes arguments by name only. The return hint, when pydantic can describe it, becomes
    `returns`; an indescribable return type leaves `returns` empty rather than failing, since
    callers of the tool never send it.
    """
    tool = name or getattr(fn, "__name__", None)
    target = fn.func if isinstance(fn, functools.partial) else fn  # where hints and docstring live
    source = _source_of(target)
    if not isinstance(tool, str) or not tool:
        raise SpecError("this callable has no __name__", source=source, expected="pass name=...")
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(target, include_extras=True)
    except (NameError, TypeError, ValueError) as exc:
        raise SpecError(
            f"cannot read the signature and type hints of {tool}(): {exc}",
            source=source,
            tool=tool,
            expected="type hints that resolve where the function is defined",
        ) from exc
    doc = _docstring(target)
    parameters = _parameters(signature, hints, doc, tool, source)
    return ToolSpec(
        name=tool,
        description=description if description is not None else _description(doc),
        parameters=parameters,
        returns=_returns(hints.get("return"), doc),
        source="python",
    )


def tools_from_functions(fns: Iterable[Callable[..., Any]]) -> list[ToolSpec]:
    """Describe several functions; two with one name is an error, since a call names its tool."""
    tools: list[ToolSpec] = []
    seen: set[str] = set()
    for fn in fns:
        spec = tool_from_function(fn)
        if spec.name in seen:
            raise SpecError(
                f"two functions are named {spec.name!r}",
                source=_source_of(fn),
                tool=spec.name,
                expected="unique tool names (use tool_from_function(fn, name=...) to rename one)",
            )
        seen.add(spec.name)
        tools.append(spec)
    return tools


def _parameters(
    signature: inspect.Signature,
    hints: dict[str, Any],
    doc: docstring_parser.Docstring,
    tool: str,
    source: str | None,
) -> dict[str, Any]:
    """The argument schema: one property per parameter, described by its Field or its docstring."""
    adapters: dict[str, TypeAdapter[Any]] = {}
    required: list[str] = []
    for param in signature.parameters.values():
        path = f"$.parameters.properties.{param.name}"
        _check_kind(param, tool, source, path)
        if param.name not in hints:
            raise SpecError(
                f"parameter {param.name!r} of {tool}() has no type hint; add a type hint,"
                f" e.g. `{param.name}: str`",
                source=source,
                tool=tool,
                path=path,
                expected="a type hint on every parameter",
            )
        default = ... if param.default is inspect.Parameter.empty else param.default
        field = FieldInfo.from_annotated_attribute(hints[param.name], default)
        adapters[param.name] = _adapter(Annotated[field.annotation, field], tool, source, path)
        if field.is_required():
            required.append(param.name)
    properties, defs = _schemas(adapters, "validation", tool, source)
    described = {p.arg_name: p.description for p in doc.params if p.description}
    for name, schema in properties.items():
        if "description" not in schema and name in described:
            schema["description"] = described[name]
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    if defs:
        parameters["$defs"] = defs
    return parameters


def _check_kind(param: inspect.Parameter, tool: str, source: str | None, path: str) -> None:
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        problem = f"*{param.name} cannot be passed in a tool call"
    elif param.kind is inspect.Parameter.VAR_KEYWORD:
        problem = f"**{param.name} cannot be passed in a tool call"
    elif param.kind is inspect.Parameter.POSITIONAL_ONLY:
        problem = f"positional-only parameter {param.name!r} cannot be passed by name"
    else:
        return
    raise SpecError(
        f"{problem} to {tool}()",
        source=source,
        tool=tool,
        path=path,
        expected="named parameters only (take a list or dict parameter instead)",
    )


def _adapter(annotation: Any, tool: str, source: str | None, path: str) -> TypeAdapter[Any]:
    try:
        return TypeAdapter(annotation)
    except PydanticUserError as exc:
        raise SpecError(
            f"pydantic cannot describe this type hint: {str(exc).splitlines()[0]}",
            source=source,
            tool=tool,
            path=path,
            expected=_JSON_TYPES,
        ) from exc


def _schemas(
    adapters: dict[str, TypeAdapter[Any]],
    mode: typing.Literal["validation", "serialization"],
    tool: str,
    source: str | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """JSON Schemas for the adapters, with `$ref`s inlined and `title`s stripped.

    Inlining keeps each argument self-contained for chat templates and small models; only
    recursive models keep a `$ref`, and the definitions they need are returned.
    """
    try:
        keyed, top = TypeAdapter.json_schemas([(key, mode, adapter) for key, adapter in adapters.items()])
    except PydanticUserError as exc:
        raise SpecError(
            f"pydantic cannot describe a type hint as JSON Schema: {str(exc).splitlines()[0]}",
            source=source,
            tool=tool,
            expected=_JSON_TYPES,
        ) from exc
    defs: dict[str, Any] = top.get("$defs", {})
    kept: dict[str, Any] = {}
    schemas = {key: strip_titles(inline_refs(schema, defs, (), kept)) for (key, _), schema in keyed.items()}
    return schemas, {name: strip_titles(schema) for name, schema in kept.items()}


def inline_refs(node: Any, defs: dict[str, Any], stack: tuple[str, ...], kept: dict[str, Any]) -> Any:
    """Inline `#/$defs/` refs; a cyclic one stays a ref and its definition goes to `kept`.

    Small models and chat templates read an inlined schema far better than a maze of refs, but a
    recursive type cannot be inlined, so only the cycles keep `$defs` (pydantic and MCP schemas alike).
    """
    if isinstance(node, list):
        return [inline_refs(item, defs, stack, kept) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if name in stack:
            if name not in kept:
                kept[name] = {}
                kept[name] = inline_refs(defs[name], defs, (name,), kept)
            return node
        return {**inline_refs(defs[name], defs, (*stack, name), kept), **inline_refs(siblings, defs, stack, kept)}
    return {key: inline_refs(value, defs, stack, kept) for key, value in node.items()}


def strip_titles(schema: Any) -> Any:
    """Drop pydantic's `title` keywords (noise in a prompt) without touching data such as defaults."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title":
            continue
        if key in _SCHEMA:
            out[key] = strip_titles(value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strip_titles(item) for item in value]
        elif key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strip_titles(sub) for name, sub in value.items()}
        else:
            out[key] = value
    return out


def _returns(hint: Any, doc: docstring_parser.Docstring) -> dict[str, Any] | None:
    if hint is None or hint is type(None):
        return None
    try:
        schemas, defs = _schemas({"return": TypeAdapter(hint)}, "serialization", "", None)
    except (PydanticUserError, SpecError):
        return None
    schema = schemas["return"]
    if defs:
        schema["$defs"] = defs
    if doc.returns and doc.returns.description and "description" not in schema:
        schema["description"] = doc.returns.description
    return schema


def _docstring(fn: Any) -> docstring_parser.Docstring:
    """The parsed docstring; one that no style can parse still gives its text as the description."""
    text = inspect.getdoc(fn) or ""
    try:
        return docstring_parser.parse(text)
    except docstring_parser.ParseError:
        doc = docstring_parser.Docstring()
        doc.short_description = text
        return doc


def _description(doc: docstring_parser.Docstring) -> str:
    parts = [doc.short_description, doc.long_description]
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _source_of(fn: Any) -> str | None:
    """`file:line` of a function's definition, so an error points at the code to fix."""
    try:
        file = inspect.getsourcefile(fn)
        _, line = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        module = getattr(fn, "__module__", None)
        qualname = getattr(fn, "__qualname__", None)
        return f"{module}.{qualname}" if module and qualname else None
    return f"{file}:{line}" if file else None
