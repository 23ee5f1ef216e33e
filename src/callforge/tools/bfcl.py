"""BFCL (Gorilla) function specs as ToolSpecs, with BFCL's type names rewritten to JSON Schema.

BFCL writes `"type": "dict"` where JSON Schema says `object`, adds `float`, `tuple` and `any`, and
its Java and JavaScript categories use those languages' type names. Validators and chat templates
need standard JSON Schema, while BFCL-exact scoring needs the original names, so a ToolSpec gets
both: the converted `parameters` and the untouched `original`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from callforge.core import ConfigError, ToolSpec, copy_json, kind_of
from callforge.tools.openai import JSON_SCHEMA_TYPES, Where, check_name_and_description, check_required

BfclLanguage = Literal["python", "java", "javascript"]

DIALECTS: dict[str, str] = {"python": "bfcl", "java": "bfcl_java", "javascript": "bfcl_javascript"}

# BFCL type name -> JSON Schema type; None means "any value" (no `type` constraint).
# Collected from the BFCL v4 data files and bfcl_eval/constants/type_mappings.py. "" occurs once
# (simple_javascript_23) and is read as "no type given".
_PYTHON_TYPES: dict[str, str | None] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "float": "number",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "dict": "object",
    "object": "object",
    "any": None,
    "Any": None,
    "": None,
}
_JAVA_TYPES: dict[str, str | None] = {
    "String": "string",
    "char": "string",
    "int": "integer",
    "long": "integer",
    "short": "integer",
    "byte": "integer",
    "double": "number",
    "Array": "array",
    "ArrayList": "array",
    "Set": "array",
    "Queue": "array",
    "Stack": "array",
    "HashMap": "object",
    "Hashtable": "object",
}
_JS_TYPES: dict[str, str | None] = {"String": "string", "Boolean": "boolean", "Bigint": "integer"}

TYPES: dict[str, dict[str, str | None]] = {
    "python": _PYTHON_TYPES,
    "java": {**_PYTHON_TYPES, **_JAVA_TYPES},
    "javascript": {**_PYTHON_TYPES, **_JS_TYPES},
}
_FROM_JSON_SCHEMA = {"object": "dict", "number": "float"}
_REWRITTEN = ("type", "anyOf", "oneOf", "properties", "items", "$defs")
_JAVA_ONLY = _JAVA_TYPES.keys() - _JS_TYPES.keys()
_JS_ONLY = _JS_TYPES.keys() - _JAVA_TYPES.keys()
_JAVA_OR_JS = _JAVA_TYPES.keys() & _JS_TYPES.keys()


def tool_from_bfcl(fn: Any, *, language: BfclLanguage = "python", where: Where | None = None) -> ToolSpec:
    """Convert one BFCL function object; `language` picks which type names are legal.

    BFCL's per-property `optional` flag is dropped (JSON Schema says it with `required`); a list
    of positional `items` becomes `prefixItems`; `enum`, `default`, `description` and any other
    keyword are kept. A BFCL `response` schema becomes `returns`.
    """
    if language not in DIALECTS:
        raise ConfigError(f"language={language!r} is not a BFCL language; use one of {', '.join(DIALECTS)}")
    where = where or Where()
    name, description = check_name_and_description(fn, where)
    where = where.named(name)
    types = TYPES[language]
    params = fn.get("parameters")
    if params is None:
        parameters: dict[str, Any] = {"type": "object", "properties": {}}
    else:
        parameters = _convert_top(params, where.at("parameters"), types)
    returns = None
    if fn.get("response") is not None:
        returns = _convert(fn["response"], where.at("response"), types)
    return ToolSpec(
        name=name,
        description=description,
        parameters=parameters,
        returns=returns,
        source="bfcl",
        dialect=DIALECTS[language],
        original=copy_json(fn),
    )


def to_bfcl_function(tool: ToolSpec) -> dict[str, Any]:
    """A tool in BFCL's dialect, so tools that did not come from BFCL can be scored by BFCL's rules.

    A BFCL tool gives back its original. Otherwise `object` becomes `dict`, `number` `float`, an
    optional (`anyOf` with `null`) its non-null alternative, and anything without one type `any`.
    """
    if tool.original is not None and tool.dialect in DIALECTS.values():
        return dict(copy_json(tool.original))
    parameters = {**_to_bfcl(tool.parameters), "type": "dict"}
    return {"name": tool.name, "description": tool.description, "parameters": parameters}


def _to_bfcl(node: Any) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {"type": "any"}
    for key in ("anyOf", "oneOf"):
        alternatives = [
            a for a in node.get(key) or [] if not (isinstance(a, dict) and a.get("type") == "null")
        ]
        if len(alternatives) == 1 and isinstance(alternatives[0], dict):
            rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
            return _to_bfcl({**alternatives[0], **rest})
    out = {k: copy_json(v) for k, v in node.items() if k not in _REWRITTEN}
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((t for t in kind if t != "null"), None)
    out["type"] = _FROM_JSON_SCHEMA.get(kind, kind) if kind in JSON_SCHEMA_TYPES else "any"
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: _to_bfcl(v) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        out["items"] = _to_bfcl(node["items"])
    return out


def language_from_id(entry_id: Any) -> BfclLanguage | None:
    """The language a BFCL entry id names (`simple_java_3` -> java), as BFCL itself decides it.

    BFCL picks Java or JavaScript scoring from the test category, not from the types, and many
    Java/JS functions use only neutral types (`any`, `boolean`), so the id is the reliable signal.
    """
    if not isinstance(entry_id, str):
        return None
    words = re.split(r"[_\-\s]+", entry_id.lower())
    for language in ("javascript", "java", "python"):
        if language in words:
            return language
    return None


def detect_language(functions: Sequence[tuple[Any, Where]]) -> BfclLanguage:
    """The one language a batch of BFCL functions is written in, judged by their type names.

    The whole batch (a file) is judged together because most single Java or JavaScript functions
    carry no type name only those languages use. Ambiguity is an error, not a guess, since the
    dialect decides how BFCL scores the arguments.
    """
    java = js = either = None
    for fn, where in functions:
        for type_name, at in _type_names(fn, where):
            if type_name in _JAVA_ONLY:
                java = java or (type_name, at)
            elif type_name in _JS_ONLY:
                js = js or (type_name, at)
            elif type_name in _JAVA_OR_JS:
                either = either or (type_name, at)
    if java and js:
        js[1].fail(
            f'JavaScript type "{js[0]}" in a batch that also has Java type "{java[0]}" ({java[1].path})',
            'one language per file; pass language="java" or language="javascript"',
        )
    if java:
        return "java"
    if js:
        return "javascript"
    if either:
        either[1].fail(
            f'type "{either[0]}" is Java or JavaScript, and nothing else here says which',
            'language="java" or language="javascript"',
        )
    return "python"


def _type_names(fn: Any, where: Where) -> Iterator[tuple[str, Where]]:
    """Every string `type` in a function's schemas; malformed parts are skipped (conversion reports them)."""
    if not isinstance(fn, dict):
        return
    if isinstance(fn.get("name"), str):
        where = where.named(fn["name"])
    stack = [(fn.get(key), where.at(key)) for key in ("parameters", "response")]
    while stack:
        node, at = stack.pop()
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("type"), str):
            yield node["type"], at.at("type")
        props = node.get("properties")
        if isinstance(props, dict):
            stack.extend((sub, at.at("properties").at(key)) for key, sub in props.items())
        for key in ("items", "additionalProperties"):
            stack.append((node.get(key), at.at(key)))


def _convert_top(params: Any, where: Where, types: dict[str, str | None]) -> dict[str, Any]:
    if not isinstance(params, dict):
        where.fail(
            f"parameters must be an object, not {kind_of(params)}", '{"type": "dict", "properties": ...}'
        )
    if params.get("type", "dict") not in ("dict", "object"):
        where.at("type").fail(f'parameters "type" must be "dict", not {json.dumps(params["type"])}')
    out = _convert(params, where, types, top=True)
    return {"type": "object", "properties": {}, **out}


def _convert(node: Any, where: Where, types: dict[str, str | None], *, top: bool = False) -> dict[str, Any]:
    """One BFCL schema node as JSON Schema, recursively through `properties` and `items`."""
    if not isinstance(node, dict):
        where.fail(f"a schema must be an object, not {kind_of(node)}", '{"type": ..., "description": ...}')
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type":
            mapped = _map_type(value, where.at("type"), types)
            if mapped is not None:
                out["type"] = mapped
        elif key == "optional":
            continue
        elif key == "properties":
            if not isinstance(value, dict):
                where.at(key).fail(f'"properties" must be an object, not {kind_of(value)}')
            out[key] = {k: _convert(v, where.at(key).at(k), types) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _convert(value, where.at(key), types)
        elif key == "items" and isinstance(value, list):  # positional (tuple) items, draft-04 style
            out["prefixItems"] = [_convert(v, where.at(key).at(i), types) for i, v in enumerate(value)]
        elif key == "items":
            where.at(key).fail(f'"items" must be a schema object, not {kind_of(value)}')
        else:
            out[key] = copy_json(value)
    check_required(node, where, top=top)
    return out


def _map_type(value: Any, where: Where, types: dict[str, str | None]) -> str | None:
    if not isinstance(value, str) or value not in types:
        choices = ", ".join(f'"{t}"' for t in types if t)
        where.fail(f'"type" must be one of {choices}, not {json.dumps(value)}')
    return types[value]
