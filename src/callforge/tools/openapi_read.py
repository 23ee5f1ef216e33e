"""Reading an OpenAPI document: JSON or YAML to plain JSON, its version, and validation.

Split from tools/openapi.py, which converts what this module returns.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml

from callforge.core import check_depth, is_too_deep, kind_of, load_yaml, too_deep_error
from callforge.tools.openai import Where

Version = Literal["2.0", "3.0", "3.1"]

VALIDATE_HINT = (
    "a valid OpenAPI document; fix the spec, or pass validate=False to import it without the validator"
)


def spec_version(doc: Any, where: Where) -> Version:
    """Which dialect a parsed document is: `2.0` (Swagger), `3.0` or `3.1` (3.1 and later)."""
    if not isinstance(doc, dict):
        where.fail(f"an OpenAPI document must be an object, not {kind_of(doc)}", VALIDATE_HINT)
    if "openapi" in doc:
        value = str(doc["openapi"])
        if value.startswith("3.0"):
            return "3.0"
        if re.match(r"^3\.[1-9]", value):
            return "3.1"
        where.at("openapi").fail(f"OpenAPI version {value!r} is not supported", '"3.0.x" or "3.1.x"')
    if "swagger" in doc:
        if str(doc["swagger"]) != "2.0":
            where.at("swagger").fail(f"Swagger version {doc['swagger']!r} is not supported", '"2.0"')
        return "2.0"
    where.fail(
        'neither "openapi" nor "swagger" is set',
        'an OpenAPI document with "openapi": "3.x" or "swagger": "2.0"',
    )


def read_spec(path: Path, where: Where) -> dict[str, Any]:
    """Parse a JSON or YAML spec file; a problem reading it is a SpecError naming the file.

    The file is read within the `InputLimits` in force (callforge.core): a regular file of at most
    `max_input_mb`, nested no deeper than `max_depth`, whose YAML aliases add at most
    `max_alias_nodes` nodes; past one of them, InputLimitError says which to raise.
    """
    text = where.read_text(path, "a path to an OpenAPI spec (.yaml, .yml or .json)")
    source = where.source or str(path)
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if is_too_deep(exc):
                raise too_deep_error(text, source) from None
            if path.suffix.lower() == ".json":
                where.fail(f"invalid JSON: {exc}")
        else:
            check_depth(doc, source, text=text)
            return doc  # type: ignore[no-any-return]
    try:
        parsed = load_yaml(text, source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        where.fail(f"invalid YAML{at}: {problem}")
    return plain_json(parsed)  # type: ignore[no-any-return]


def plain_json(value: Any) -> Any:
    """Parsed YAML as JSON: keys as strings (`200:` is an int in YAML), dates as ISO strings; a copy.

    Recursive: check the value first (`check_unfolded`), as `read_spec` and `load_openapi` do.
    """
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _json_key(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, bool) or key is None:
        return orjson.dumps(key).decode()
    return str(key)


def refuse_external_refs(doc: Any, root: Where) -> None:
    """Fail on the first reference to another file or a URL, before any validator tries to fetch it."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, steps = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                Where(root.source, None, (*steps, "$ref")).fail(
                    f"external $ref {ref!r} is not supported",
                    "local references only; bundle the spec into one file first "
                    "(e.g. `redocly bundle` or `swagger-cli bundle`)",
                )
            stack.extend((v, (*steps, k)) for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, (*steps, i)) for i, v in enumerate(node) if isinstance(v, (dict, list)))


def validate_spec(doc: dict[str, Any], version: Version, root: Where, *, full: bool) -> None:
    """Check the spec with openapi-spec-validator when it is installed; fail on its first error.

    The document schema (the official JSON Schema of the OpenAPI version, checked by jsonschema-rs)
    takes milliseconds even for GitHub's 1,200 operations; the validator's semantic checks (every
    example and default against its schema, ...) take many seconds on a spec that size, so they
    run only when asked for.
    """
    try:
        from jsonschema_path import SchemaPath
        from openapi_spec_validator.shortcuts import get_validator_cls
    except ImportError:
        return
    steps: tuple[str | int, ...] = ()
    message = ""
    try:
        cls = get_validator_cls(doc)
        found = _schema_error(dict(cls.schema_validator.schema), doc)
        if found is not None:
            steps, message = found
        elif full:
            error = next(iter(cls(SchemaPath.from_dict(doc)).iter_errors()), None)
            if error is not None:
                steps, message = _steps(doc, error.absolute_path), error.message
                if not steps and isinstance(error.schema, dict):  # some semantic errors carry no path
                    steps = _locate(doc, error.schema) or ()
    except Exception as exc:  # the validator broke on this input; say so rather than guess
        root.fail(
            f"openapi-spec-validator could not check the spec: {type(exc).__name__}: {exc}", VALIDATE_HINT
        )
    if message:
        message = message if len(message) <= 300 else message[:297] + "..."
        Where(root.source, None, steps).fail(f"invalid OpenAPI {version} ({message})", VALIDATE_HINT)


def _schema_error(meta: dict[str, Any], doc: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    """The first error of `doc` against the OpenAPI document schema, narrowed to its deepest cause.

    A schema that fails `oneOf: [Schema, Reference]` fails both branches; the useful error is the
    one deepest in the document (`...anyOf[6].type`), not the top one that prints the whole schema.
    """
    import jsonschema_rs

    error = next(iter(jsonschema_rs.validator_for(meta).iter_errors(doc)), None)
    if error is None:
        return None
    while True:
        branches = getattr(error.kind, "context", None) or []
        causes = [e for branch in branches for e in branch]
        if not causes:
            break
        deepest = max(causes, key=lambda e: (len(e.instance_path), type(e.kind).__name__ != "Required"))
        if len(deepest.instance_path) < len(error.instance_path):
            break
        error = deepest
    return _steps(doc, error.instance_path), error.message


def _steps(doc: Any, path: Any) -> tuple[str | int, ...]:
    """A validator's instance path with object keys as strings (jsonschema-rs gives `"200"` as 200)."""
    steps: list[str | int] = []
    node = doc
    for key in path:
        if isinstance(node, dict):
            key = str(key)
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        steps.append(key)
    return tuple(steps)


def _locate(doc: Any, target: dict[str, Any]) -> tuple[str | int, ...] | None:
    """Where in `doc` the node `target` is (the same object, else the first equal one)."""
    equal = None
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(doc, ())]
    while stack:
        node, steps = stack.pop()
        if node is target:
            return steps
        if equal is None and node == target:
            equal = steps
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((v, (*steps, k)) for k, v in items if isinstance(v, (dict, list)))
    return equal
