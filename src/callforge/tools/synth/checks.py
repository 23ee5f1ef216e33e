"""Validation of synthesized APIs: an API a model wrote is only kept when these rules all pass.

The rules are what a human reviewer of an API catalogue would insist on (ToolACE's rule layer has
the same spirit): a usable name, a description that says something, every parameter described,
enums and defaults of the declared type, sane bounds, a compilable pattern, objects with members,
an output, and a final schema that is valid JSON Schema. Each failure has a stable `pool.*` code,
so the pool report can count why APIs were dropped.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.core import ToolSpec, Verdict
from callforge.tools.synth.draft import ApiDraft, DraftField

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_MIN_DESCRIPTION_WORDS = 4
_MAX_NAME = 64

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def check_draft(draft: ApiDraft) -> list[Verdict]:
    """Every rule the draft breaks, as failing verdicts (empty when it is fit for the pool)."""
    problems: list[Verdict] = []
    if not NAME_RE.match(draft.name) or len(draft.name) > _MAX_NAME:
        problems.append(
            Verdict.failed(
                "pool.name", f"API name {draft.name!r} is not snake_case of at most {_MAX_NAME} characters"
            )
        )
    if len(draft.description.split()) < _MIN_DESCRIPTION_WORDS:
        problems.append(
            Verdict.failed(
                "pool.description",
                f"description {draft.description!r} has fewer than {_MIN_DESCRIPTION_WORDS} words; say what the API does",
            )
        )
    if not draft.parameters:
        problems.append(Verdict.failed("pool.no_parameters", "the API takes no parameters"))
    if not draft.returns:
        problems.append(Verdict.failed("pool.returns", "the API declares no output fields"))
    problems += _check_fields(draft.parameters, "parameter", inputs=True)
    problems += _check_fields(draft.returns, "output field", inputs=False)
    return problems


def _check_fields(
    fields: tuple[DraftField, ...], what: str, *, inputs: bool, parent: str = ""
) -> list[Verdict]:
    problems: list[Verdict] = []
    seen: set[str] = set()
    for field in fields:
        label = f"{what} {parent}{field.name!r}"
        if not NAME_RE.match(field.name) or len(field.name) > _MAX_NAME:
            problems.append(Verdict.failed("pool.field_name", f"{label}: not a snake_case name"))
        if field.name in seen:
            problems.append(Verdict.failed("pool.duplicate_field", f"{label} appears twice"))
        seen.add(field.name)
        if inputs and len(field.description.split()) < 2:
            problems.append(Verdict.failed("pool.field_description", f"{label} has no real description"))
        problems += _check_values(field, label)
        nested = field.type in ("object", "array<object>")
        if nested and not field.fields:
            problems.append(Verdict.failed("pool.empty_object", f"{label} is an object with no fields"))
        if field.fields and not nested:
            problems.append(
                Verdict.failed("pool.stray_fields", f"{label} lists fields but is a {field.type}")
            )
        if field.fields:
            problems += _check_fields(field.fields, what, inputs=inputs, parent=f"{parent}{field.name}.")
    return problems


def _scalar(field: DraftField) -> str | None:
    kind = field.type[len("array<") : -1] if field.type.startswith("array<") else field.type
    return kind if kind in _PY_TYPES else None


def _fits(value: Any, scalar: str) -> bool:
    if isinstance(value, bool) and scalar != "boolean":
        return False
    return isinstance(value, _PY_TYPES[scalar])


def _check_values(field: DraftField, label: str) -> list[Verdict]:
    problems: list[Verdict] = []
    scalar = _scalar(field)
    if field.enum:
        if scalar is None or scalar == "boolean":
            problems.append(Verdict.failed("pool.enum", f"{label}: an enum on a {field.type} field"))
        elif not all(_fits(v, scalar) for v in field.enum):
            problems.append(
                Verdict.failed("pool.enum", f"{label}: enum values {list(field.enum)} are not all {scalar}")
            )
        elif len(set(map(str, field.enum))) < 2:
            problems.append(
                Verdict.failed("pool.enum", f"{label}: an enum needs two or more distinct values")
            )
    if field.default is not None:
        if scalar is None or field.type.startswith("array<") or not _fits(field.default, scalar):
            problems.append(
                Verdict.failed("pool.default", f"{label}: default {field.default!r} is not a {field.type}")
            )
        elif field.enum and field.default not in field.enum:
            problems.append(
                Verdict.failed("pool.default", f"{label}: default {field.default!r} is not one of its enum")
            )
    if field.minimum is not None and field.maximum is not None and field.minimum > field.maximum:
        problems.append(
            Verdict.failed("pool.bounds", f"{label}: minimum {field.minimum} exceeds maximum {field.maximum}")
        )
    if (field.minimum is not None or field.maximum is not None) and scalar not in ("integer", "number"):
        problems.append(Verdict.failed("pool.bounds", f"{label}: numeric bounds on a {field.type} field"))
    lengths = (field.min_length, field.max_length)
    if any(v is not None and v < 0 for v in lengths) or (
        field.min_length is not None and field.max_length is not None and field.min_length > field.max_length
    ):
        problems.append(Verdict.failed("pool.bounds", f"{label}: length bounds {lengths} are inconsistent"))
    if field.pattern is not None:
        if scalar != "string":
            problems.append(Verdict.failed("pool.pattern", f"{label}: a pattern on a {field.type} field"))
        else:
            try:
                re.compile(field.pattern)
            except (re.error, RecursionError, OverflowError) as exc:
                problems.append(
                    Verdict.failed(
                        "pool.pattern", f"{label}: pattern {field.pattern!r} does not compile ({exc})"
                    )
                )
    if field.format is not None and scalar != "string":
        problems.append(
            Verdict.failed("pool.format", f"{label}: format {field.format!r} on a {field.type} field")
        )
    return problems


def check_schema(tool: ToolSpec) -> list[Verdict]:
    """The converted schemas against the JSON Schema meta-schema (Draft 2020-12): the last gate."""
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

    problems = []
    for label, schema in (("parameters", tool.parameters), ("returns", tool.returns)):
        try:
            Draft202012Validator.check_schema(schema or {})
        except SchemaError as exc:
            problems.append(
                Verdict.failed("pool.meta_schema", f"{label} is not valid JSON Schema: {exc.message}")
            )
    return problems
