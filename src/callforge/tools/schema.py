"""Compiled argument validators, one per distinct parameters schema, cached for the process.

jsonschema-rs validates a valid instance in about a microsecond; the pure-Python `jsonschema` is
the fallback when the Rust wheel is missing and the reference for meta-schema questions. Both
report errors as (kind, path, message) so the checks above do not care which one ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

_rs: Any
try:  # the Rust validator is a core dependency, but a platform without its wheel still works
    import jsonschema_rs as _rs
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    _rs = None


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation: its kind (`required`, `type`, `enum` ...), where, and the validator's words."""

    kind: str
    path: tuple[str | int, ...]
    message: str


Validate = Callable[[Any], list[SchemaIssue]]

_CACHE: dict[bytes, Validate] = {}
_MAX_CACHED = 50_000


def validator_for(schema: dict[str, Any]) -> Validate:
    """The compiled validator for `schema`, built once per distinct schema (keyed by canonical JSON)."""
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) >= _MAX_CACHED:
            _CACHE.clear()
        found = _CACHE[key] = _compile(schema)
    return found


def _compile(schema: dict[str, Any]) -> Validate:
    if _rs is not None:
        try:
            compiled = _rs.validator_for(schema)
        except Exception as exc:  # an invalid schema: report it on every call rather than crash
            return _broken(str(exc))

        def validate_rs(instance: Any) -> list[SchemaIssue]:
            if compiled.is_valid(instance):
                return []
            return [
                SchemaIssue(_kind_name(type(e.kind).__name__), tuple(e.instance_path), e.message)
                for e in compiled.iter_errors(instance)
            ]

        return validate_rs
    return _compile_py(schema)


def _compile_py(schema: dict[str, Any]) -> Validate:
    import jsonschema  # type: ignore[import-untyped]

    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        compiled = cls(schema)
    except jsonschema.SchemaError as exc:
        return _broken(exc.message)

    def validate_py(instance: Any) -> list[SchemaIssue]:
        return [
            SchemaIssue(_kind_name(str(e.validator)), tuple(e.absolute_path), e.message)
            for e in compiled.iter_errors(instance)
        ]

    return validate_py


def _broken(reason: str) -> Validate:
    def validate_broken(instance: Any) -> list[SchemaIssue]:
        return [SchemaIssue("schema", (), f"the tool's parameters schema is invalid: {reason}")]

    return validate_broken


def _kind_name(name: str) -> str:
    """`AdditionalProperties` (Rust) and `additionalProperties` (Python) both become `additional_properties`."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
