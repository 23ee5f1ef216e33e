"""OpenAPI `$ref` resolution and schema conversion to JSON Schema Draft 2020-12.

OpenAPI 3.0 and Swagger 2.0 schemas are a dialect of JSON Schema Draft 4 (`nullable`, boolean
`exclusiveMaximum`, `example`, `type: file`, keywords such as `xml` and `discriminator`); tools need
plain Draft 2020-12 that validators and chat templates accept as is. References are inlined so a
tool's schema stands alone, except where they form a cycle: such a schema cannot be inlined, so
each cyclic target becomes a `$defs` entry of the tool's `parameters` (or `returns`) document and
is referenced as `#/$defs/Name`. Every reference target is converted once per direction (request
or response) and the result is shared, which keeps large specs fast to import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal
from urllib.parse import unquote

from callforge.core import InputLimitError, copy_json, current_limits, kind_of
from callforge.tools.openai import JSON_SCHEMA_TYPES, Where

Direction = Literal["in", "out"]
"""`in`: a request schema (readOnly properties are dropped); `out`: a response (writeOnly dropped)."""

_SUBSCHEMA = frozenset(
    {
        "items",
        "additionalProperties",
        "not",
        "contains",
        "propertyNames",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_SUBSCHEMA_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMA_MAP = frozenset({"properties", "patternProperties", "dependentSchemas"})
_NUMBERS = frozenset(
    {"multipleOf", "maximum", "minimum", "maxLength", "minLength", "maxItems", "minItems"}
    | {"maxProperties", "minProperties", "minContains", "maxContains"}
)
_VALUES = frozenset(
    {"format", "const", "default", "title", "description", "pattern", "uniqueItems", "readOnly", "writeOnly"}
    | {"deprecated", "contentMediaType", "contentEncoding", "dependentRequired", "$comment"}
)
_ANNOTATIONS = frozenset({"description", "title", "default", "example", "examples", "deprecated"})
_COMPOSED = ("allOf", "anyOf", "oneOf", "$ref")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


class RefResolver:
    """Resolves local references in one OpenAPI document and converts its schemas.

    Only local references (`#/...`, JSON Pointer with `~0`/`~1` and percent escapes) are supported:
    a reference to another file or a URL fails with the reference named, because fetching what a
    spec points at is not something an import should do behind the user's back.
    """

    def __init__(self, doc: dict[str, Any], root: Where) -> None:
        """Resolve within `doc`; errors name `root.source`; the `InputLimits` in force bound the work."""
        self.doc = doc
        self.root = root
        limits = current_limits()
        self._max_hops = limits.max_ref_hops
        self._max_depth = limits.max_depth
        self._max_levels = max(1, limits.max_depth // 2)  # a schema level is up to two JSON levels
        self._level = 0
        self._targets: dict[str, tuple[Any, tuple[str | int, ...]]] = {}
        self._memo: dict[tuple[str, Direction], Any] = {}
        self._needs: dict[tuple[str, Direction], frozenset[str]] = {}
        self._active: set[tuple[str, Direction]] = set()
        self._cyclic: set[tuple[str, Direction]] = set()
        self._names: dict[str, str] = {}
        self._refs: dict[str, str] = {}  # def name -> reference

    # ------------------------------------------------------------------ references

    def lookup(self, ref: Any, where: Where) -> tuple[Any, Where]:
        """The node `ref` points at and its location; `where` is the `$ref` being followed."""
        if not isinstance(ref, str):
            where.fail(f'"$ref" must be a string, not {kind_of(ref)}')
        found = self._targets.get(ref)
        if found is None:
            found = self._targets[ref] = self._walk(ref, where)
        node, steps = found
        return node, Where(self.root.source, where.tool, steps)

    def _walk(self, ref: str, where: Where) -> tuple[Any, tuple[str | int, ...]]:
        if not ref.startswith("#"):
            where.fail(
                f"external $ref {ref!r} is not supported",
                'a local reference such as "#/components/schemas/Pet"; bundle the spec into one file first '
                "(e.g. `redocly bundle` or `swagger-cli bundle`)",
            )
        pointer = unquote(ref[1:])
        if pointer and not pointer.startswith("/"):
            where.fail(
                f"$ref {ref!r} is not a JSON Pointer", 'a reference such as "#/components/schemas/Pet"'
            )
        node: Any = self.doc
        steps: list[str | int] = []
        for raw in pointer.split("/")[1:] if pointer else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
                steps.append(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
                steps.append(int(key))
            else:
                there = Where(steps=tuple(steps)).path
                where.fail(
                    f"$ref {ref!r} points at nothing: {there} has no {key!r}",
                    "a reference to an existing node",
                )
        return node, tuple(steps)

    def deref(self, node: Any, where: Where) -> tuple[Any, Where]:
        """Follow `$ref` chains of a non-schema object (parameter, request body, response, path item)."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                where.fail(f"circular $ref {ref!r}: the chain of references never reaches an object")
            if len(seen) >= self._max_hops:
                raise self._hops_error(where)
            seen.add(ref)
            node, where = self.lookup(ref, where.at("$ref"))
        return node, where

    def _hops_error(self, where: Where) -> InputLimitError:
        limit = self._max_hops
        return InputLimitError(
            self.root.source or "the spec",
            f"at {where.path}: more than {limit} $refs are followed one inside another (a reference to "
            f"a schema that references another ...), over the limit of {limit}",
            "max_ref_hops",
            2 * limit,
        )

    # ------------------------------------------------------------------ schemas

    def schema(self, node: Any, where: Where, direction: Direction, needs: set[str]) -> Any:
        """`node` as Draft 2020-12; the cyclic references it uses are added to `needs`.

        Schemas nested deeper than half of `max_depth` (counting through the references being
        inlined) are refused: the converted schema would be too deep to store or validate.
        """
        self._level += 1
        try:
            if self._level > self._max_levels:
                raise InputLimitError(
                    self.root.source or "the spec",
                    f"at {where.path}: schemas nest more than {self._max_levels} levels deep once their "
                    f"$refs are inlined (up to two JSON levels each), over the limit of {self._max_depth}",
                    "max_depth",
                    2 * self._max_depth,
                )
            return self._schema(node, where, direction, needs)
        finally:
            self._level -= 1

    def _schema(self, node: Any, where: Where, direction: Direction, needs: set[str]) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            where.fail(
                f"a schema must be an object, not {kind_of(node)}",
                'a schema object such as {"type": "string"}',
            )
        if "$ref" in node:
            return self._ref(node, where, direction, needs)
        out: dict[str, Any] = {}
        exclusive: list[str] = []
        for key, value in node.items():
            if key in _VALUES:
                out[key] = copy_json(value)
            elif key in _NUMBERS:
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    where.at(key).fail(f'"{key}" must be a number, not {kind_of(value)}')
                out[key] = value
            elif key == "type":
                out["type"] = _type(value, where.at("type"))
            elif key in _SUBSCHEMA:
                sub = where.at(key)
                if key == "items" and isinstance(value, list):  # Draft 4 tuple form
                    out["prefixItems"] = [
                        self.schema(v, sub.at(i), direction, needs) for i, v in enumerate(value)
                    ]
                else:
                    out[key] = self.schema(value, sub, direction, needs)
            elif key in _SUBSCHEMA_LIST:
                if not isinstance(value, list):
                    where.at(key).fail(f'"{key}" must be a list of schemas, not {kind_of(value)}')
                sub = where.at(key)
                out[key] = [self.schema(v, sub.at(i), direction, needs) for i, v in enumerate(value)]
            elif key in _SUBSCHEMA_MAP:
                if not isinstance(value, dict):
                    where.at(key).fail(f'"{key}" must be an object of schemas, not {kind_of(value)}')
                sub = where.at(key)
                out[key] = {k: self.schema(v, sub.at(k), direction, needs) for k, v in value.items()}
            elif key == "required":
                if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
                    where.at(key).fail('"required" must be a list of property names')
                out[key] = list(value)
            elif key == "enum":
                if not isinstance(value, list):
                    where.at(key).fail(f'"enum" must be a list, not {kind_of(value)}')
                out[key] = copy_json(value)
            elif key == "example":
                out.setdefault("examples", [copy_json(value)])
            elif key == "examples":
                if isinstance(value, list):  # OpenAPI 3.0 has no schema `examples`; a map here is a mistake
                    out[key] = copy_json(value)
            elif key in ("exclusiveMaximum", "exclusiveMinimum"):
                if value is True:  # Draft 4: a flag on `maximum` / `minimum`
                    exclusive.append(key)
                elif not isinstance(value, bool):
                    if not isinstance(value, (int, float)):
                        where.at(key).fail(f'"{key}" must be a number or a boolean, not {kind_of(value)}')
                    out[key] = value
            # anything else (xml, externalDocs, discriminator, x-*, $id, nested $defs ...) is not kept
        if out.get("type") == "file":  # Swagger 2.0 file upload
            out["type"] = "string"
            out.setdefault("format", "binary")
        elif isinstance(out.get("type"), list) and "file" in out["type"]:
            out["type"] = ["string" if t == "file" else t for t in out["type"]]
        for key in exclusive:  # Draft 2020-12 states the bound itself
            bound = "maximum" if key == "exclusiveMaximum" else "minimum"
            if bound in out:
                out[key] = out.pop(bound)
        _drop_hidden(out, direction)
        if node.get("nullable") is True or node.get("x-nullable") is True:
            return _nullable(out)
        return out

    def _ref(self, node: dict[str, Any], where: Where, direction: Direction, needs: set[str]) -> Any:
        ref = node["$ref"]
        key = (ref, direction)
        if key in self._memo:
            needs |= self._needs[key]
        elif key not in self._active:
            if len(self._active) >= self._max_hops:
                raise self._hops_error(where.at("$ref"))
            target, at = self.lookup(ref, where.at("$ref"))
            inner: set[str] = set()
            self._active.add(key)
            try:
                result = self.schema(target, at, direction, inner)
            finally:
                self._active.discard(key)
            if key in self._cyclic and result == {"$ref": self._pointer(ref)}:
                at.fail(f"circular $ref {ref!r}: the chain of references never reaches a schema")
            self._memo[key] = result
            self._needs[key] = frozenset(inner)
            needs |= inner
        else:  # met again while converting itself: a cycle, kept as a $defs entry
            self._cyclic.add(key)
        if key in self._cyclic:
            needs.add(ref)
            out: Any = {"$ref": self._pointer(ref)}
        else:
            out = self._memo[key]
        extra = {k: v for k, v in node.items() if k != "$ref" and not k.startswith("x-")}
        if not extra:
            return out
        return self._with_siblings(out, extra, where, direction, needs)

    def _with_siblings(
        self, target: Any, extra: dict[str, Any], where: Where, direction: Direction, needs: set[str]
    ) -> Any:
        """A reference with keywords beside it (OpenAPI 3.1, or a description people add anyway)."""
        nullable = extra.pop("nullable", None) is True
        annotations = {k: extra.pop(k) for k in list(extra) if k in _ANNOTATIONS}
        if extra:  # validation keywords as well: both must hold
            rest = self.schema(extra, where, direction, needs)
            merged: Any = {**rest, "allOf": [target]} if isinstance(rest, dict) and rest else target
        elif isinstance(target, dict):
            merged = dict(target)
        else:
            merged = {"allOf": [target]}
        if annotations:
            merged.update(self.schema(annotations, where, direction, needs))
        return _nullable(merged) if nullable else merged

    def _pointer(self, ref: str) -> str:
        return f"#/$defs/{self.def_name(ref)}"

    def def_name(self, ref: str) -> str:
        """The `$defs` key of a cyclic reference target: its last pointer step, unique within the spec."""
        name = self._names.get(ref)
        if name is None:
            last = unquote(ref).rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
            base = _NAME_BAD.sub("_", last).strip("_") or "schema"
            name, n = base, 1
            while name in self._refs:
                n += 1
                name = f"{base}_{n}"
            self._refs[name] = ref
            self._names[ref] = name
        return name

    def unwrap(self, schema: Any, direction: Direction) -> Any:
        """The body of a `#/$defs/X` reference, so a top-level schema shows its own properties."""
        if isinstance(schema, dict) and len(schema) == 1 and isinstance(schema.get("$ref"), str):
            ref = self._refs.get(schema["$ref"].removeprefix("#/$defs/"))
            if ref is not None and (ref, direction) in self._memo:
                return self._memo[(ref, direction)]
        return schema

    def document(self, schema: dict[str, Any], needs: Iterable[str], direction: Direction) -> dict[str, Any]:
        """`schema` as a standalone document: the `$defs` its cyclic references need, at its root."""
        todo = list(needs)
        seen: set[str] = set()
        while todo:
            ref = todo.pop()
            if ref not in seen:
                seen.add(ref)
                todo.extend(self._needs[(ref, direction)])
        if not seen:
            return schema
        defs = {self.def_name(ref): self._memo[(ref, direction)] for ref in seen}
        return {**schema, "$defs": dict(sorted(defs.items()))}


def _type(value: Any, where: Where) -> Any:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if name not in JSON_SCHEMA_TYPES and name != "file":
            choices = ", ".join(f'"{t}"' for t in JSON_SCHEMA_TYPES)
            where.fail(
                f'"type" must be one of {choices}, not {kind_of(name) if not isinstance(name, str) else repr(name)}'
            )
    return list(value) if isinstance(value, list) else value


def _drop_hidden(out: dict[str, Any], direction: Direction) -> None:
    """Drop readOnly properties from a request schema and writeOnly ones from a response schema."""
    props = out.get("properties")
    if not props:
        return
    hidden = "readOnly" if direction == "in" else "writeOnly"
    gone = [k for k, v in props.items() if isinstance(v, dict) and v.get(hidden) is True]
    if gone:
        out["properties"] = {k: v for k, v in props.items() if k not in gone}
        if "required" in out:
            out["required"] = [r for r in out["required"] if r not in gone]


def _nullable(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable: true`: `null` is allowed too."""
    if not isinstance(schema, dict):
        return schema
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        out = {**schema, "type": types if "null" in types else [*types, "null"]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if any(k in schema for k in _COMPOSED) or "enum" in schema or "const" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return schema  # no type constraint: null is already allowed
