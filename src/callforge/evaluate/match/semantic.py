"""Semantic matching: callforge's fairer alternative to BFCL's checker.

It keeps BFCL's verdict codes and its "possible answers" format but fixes what users complain
about (see docs/semantic.md, one rule per section): parallel calls are assigned by a perfect
bipartite matching instead of greedy first-fit, positional arguments are bound to the schema,
an explicit schema default equals an omission, types are checked recursively with int widening
at any depth, and string normalisation applies inside lists and dicts too. Nothing is `eval`-ed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callforge.core import OMITTED, CategoryKind, ExpectedCall, ToolSpec
from callforge.evaluate.decode.python import KWARGS_KEY, DecodedCall
from callforge.evaluate.match.bfcl import standardize_string
from callforge.evaluate.match.codes import Failure

REL_TOL = 1e-9
"""Relative tolerance for comparing floats, so `0.1 + 0.2` equals `0.3`; ints compare exactly."""

_DIALECT_TYPES: dict[str, str | None] = {"float": "number", "dict": "object", "tuple": "array", "any": None}
"""BFCL type names mapped to JSON Schema, in case a schema arrives unconverted."""

_CLOSENESS = {
    "call.wrong_name": 0,
    "call.unexpected_param": 1,
    "call.missing_required": 1,
    "arg.type": 2,
    "call.missing_optional": 4,  # every argument given passed
}
"""How far a failing call got (arg.value* codes: 3); the highest is the "closest candidate"."""


@dataclass(frozen=True, slots=True)
class _Miss:
    """A mismatch found inside a value: its code, where (`points[2].x`), why, and how deep."""

    code: str
    path: str
    detail: str
    depth: int = 0


class SemanticMatcher:
    """Scores decoded calls against BFCL possible answers with schema-aware, order-free rules."""

    def check(
        self,
        kind: CategoryKind,
        tools: Sequence[ToolSpec],
        calls: Sequence[DecodedCall],
        expected: Sequence[ExpectedCall],
    ) -> Failure | None:
        """Check one output of an AST category; None means it is correct."""
        if kind in (CategoryKind.PARALLEL, CategoryKind.PARALLEL_MULTIPLE):
            return self._parallel(tools, calls, expected)
        if kind not in (CategoryKind.SIMPLE, CategoryKind.MULTIPLE):
            raise ValueError(f"semantic matching scores calls against expected calls; {kind} has none")
        if not expected:
            raise ValueError(f"a {kind} case needs one expected call, got none")
        if len(calls) != 1:
            code = "calls.wrong_count" if kind is CategoryKind.SIMPLE else "calls.wrong_count_multiple"
            return Failure(code, f"expected exactly one call, got {len(calls)}")
        return self.check_call(tools, calls[0], expected[0])

    def _parallel(
        self, tools: Sequence[ToolSpec], calls: Sequence[DecodedCall], expected: Sequence[ExpectedCall]
    ) -> Failure | None:
        if len(calls) != len(expected):
            return Failure(
                "calls.wrong_count_parallel", f"expected {len(expected)} call(s), got {len(calls)}"
            )
        verdicts = [[self.check_call(tools, call, want) for call in calls] for want in expected]
        assigned = _max_matching([[v is None for v in row] for row in verdicts])
        reasons = []
        for i, j in enumerate(assigned):
            if j is not None:
                continue
            fitting = [k for k, v in enumerate(verdicts[i]) if v is None]
            if fitting:
                why = f"the call(s) that fit it ({fitting}) are each needed by another expected call"
            else:
                # Prefer a call the matching left free: that is the one this expected call could get.
                k = max(range(len(calls)), key=lambda c: (_closeness(verdicts[i][c]), c not in assigned, -c))
                failure = verdicts[i][k]
                why = f"closest is call {k} {calls[k].name}: {failure.message if failure else ''}"
            reasons.append(f"expected call {i} {_describe(expected[i])} is unmatched, {why}")
        if not reasons:
            return None
        return Failure(
            "calls.no_match", "no one-to-one assignment of calls to expected calls: " + "; ".join(reasons)
        )

    def check_call(
        self, tools: Sequence[ToolSpec], call: DecodedCall, expected: ExpectedCall
    ) -> Failure | None:
        """Check one call against one expected call, in BFCL's order of checks."""
        if not _names_match(call.name, expected.name):
            return Failure(
                "call.wrong_name",
                f"called {call.name!r}, expected {expected.name!r} ('.' and '_' interchangeable)",
            )
        tool = _find_tool(tools, expected.name)
        props = tool.properties if tool is not None else {}
        bound = _bind(call, list(props))
        if isinstance(bound, Failure):
            return bound
        for param in tool.required if tool is not None else ():
            if param not in bound:
                return Failure("call.missing_required", f"missing required parameter {param!r}")
        for param, value in bound.items():
            failure = _check_argument(tool, param, value, expected.arguments.get(param))
            if failure is not None:
                return failure
        for param, accepted in expected.arguments.items():
            if param in bound or OMITTED in accepted or _default_accepted(props.get(param, {}), accepted):
                continue
            note = "" if tool is None or param in props else " (it is not in the tool's schema: a data bug)"
            return Failure(
                "call.missing_optional",
                f"parameter {param!r} was omitted; the expected answer requires one of {accepted!r}{note}",
            )
        return None


def _check_argument(
    tool: ToolSpec | None, param: str, value: Any, accepted: list[Any] | None
) -> Failure | None:
    """Schema membership, the default rule, the type (with BFCL's "variable" escape), then the value."""
    if tool is not None and param not in tool.properties:
        known = ", ".join(tool.properties) or "none"
        return Failure(
            "call.unexpected_param", f"{param!r} is not a parameter of {tool.name} (parameters: {known})"
        )
    schema = tool.properties[param] if tool is not None else {}
    if not isinstance(schema, dict):
        schema = {}
    if accepted is None:
        if _is_default(value, schema):
            return None
        default = (
            f", and {value!r} is not its schema default {schema['default']!r}" if "default" in schema else ""
        )
        return Failure(
            "call.unexpected_param", f"parameter {param!r} was not asked for by the expected answer{default}"
        )
    miss = _type_miss(value, schema, param, 0)
    if miss is not None:
        # BFCL's "variable" escape: an expected value that itself breaks the schema means the data
        # disagrees with the schema, so a value of the expected value's kind is compared instead.
        if not any(
            o != OMITTED and _kind(o) == _kind(value) and _type_miss(o, schema, param, 0, answer=True)
            for o in accepted
        ):
            return Failure("arg.type", f"parameter {miss.path}: {miss.detail}")
        schema = {}
    miss = _match_any(value, accepted, schema, param, None, 0)
    if miss is None or (OMITTED in accepted and _is_default(value, schema)):
        return None
    shown = [o for o in accepted if o != OMITTED]
    omit = " (or omitted)" if OMITTED in accepted else ""
    if miss.path == param and not isinstance(value, list | tuple | dict):
        norm = " after normalisation (case and ' ,./-_*^' ignored)" if isinstance(value, str) else ""
        return Failure(miss.code, f"parameter {param!r}: {value!r} is not one of {shown!r}{omit}{norm}")
    where = "" if miss.path == param else f"at {miss.path}, "
    return Failure(miss.code, f"parameter {param!r}: {where}{miss.detail}; accepted: {shown!r}{omit}")


def _names_match(called: str, wanted: str) -> bool:
    """Exact, or equal once dots become underscores (FC APIs forbid dots), either way round."""
    return called == wanted or called.replace(".", "_") == wanted or wanted.replace(".", "_") == called


def _find_tool(tools: Sequence[ToolSpec], name: str) -> ToolSpec | None:
    for tool in tools:
        if tool.name == name:
            return tool
    for tool in tools:
        if _names_match(tool.name, name):
            return tool
    return tools[0] if len(tools) == 1 else None


def _bind(call: DecodedCall, order: list[str]) -> dict[str, Any] | Failure:
    """Bind positional arguments in schema order, then keywords (and a `**{...}` dict literal)."""
    keywords = {k: v for k, v in call.arguments.items() if k != KWARGS_KEY}
    if KWARGS_KEY in call.arguments:
        spread = call.arguments[KWARGS_KEY]
        if not isinstance(spread, dict) or not all(isinstance(k, str) for k in spread):
            return Failure(
                "call.unexpected_param", f"`**` must unpack a dict with string keys, got {spread!r}"
            )
        for key, value in spread.items():
            if key in keywords:
                return Failure("call.unexpected_param", f"parameter {key!r} given twice (keyword and `**`)")
            keywords[key] = value
    if len(call.positional) > len(order):
        return Failure(
            "call.unexpected_param",
            f"{call.name} takes at most {len(order)} positional argument(s) ({', '.join(order) or 'none'}), "
            f"got {len(call.positional)}: {list(call.positional)!r}",
        )
    bound = dict(zip(order, call.positional, strict=False))
    for key, value in keywords.items():
        if key in bound:
            position = order.index(key) + 1
            return Failure(
                "call.unexpected_param",
                f"parameter {key!r} given both positionally (#{position}) and by keyword",
            )
        bound[key] = value
    return bound


def _kind(value: Any) -> str:
    """The JSON type of a Python value; an int is a "number" and a tuple an "array"."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def _type_names(schema: dict[str, Any]) -> list[str]:
    raw = schema.get("type")
    if isinstance(raw, str):
        names = [raw]
    else:
        names = [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []
    mapped = [_DIALECT_TYPES.get(n, n) for n in names]
    return [] if None in mapped else [n for n in mapped if n is not None]


def _is_type(value: Any, name: str) -> bool:
    kind = _kind(value)
    if name == "integer":  # JSON Schema: a number with a zero fractional part is an integer
        return kind == "number" and (isinstance(value, int) or value.is_integer())
    return kind == name or name not in ("string", "number", "boolean", "array", "object", "null")


def _type_miss(value: Any, schema: Any, path: str, depth: int, answer: bool = False) -> _Miss | None:
    """The first place where `value` breaks the schema's types, at any depth.

    With `answer`, `value` is an expected value, whose dicts map each key to a list of alternatives.
    """
    if not isinstance(schema, dict):
        return None
    for key in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(key, ()) if isinstance(b, dict)]
        if branches and all(_type_miss(value, b, path, depth) for b in branches):
            return _Miss("arg.type", path, f"{value!r} matches none of the {key} alternatives", depth)
    names = _type_names(schema)
    if names and not any(_is_type(value, n) for n in names):
        return _Miss("arg.type", path, f"expected {' or '.join(names)}, got {_kind(value)} {value!r}", depth)
    if isinstance(value, list | tuple) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            miss = _type_miss(item, schema["items"], f"{path}[{i}]", depth + 1, answer)
            if miss is not None:
                return miss
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = _sub_schema(schema, key)
            for alt in _alternatives(item, sub) if answer else [item]:
                miss = _type_miss(alt, sub, _key_path(path, key), depth + 1, answer)
                if miss is not None and not (answer and alt == OMITTED):
                    return miss
    return None


def _sub_schema(schema: dict[str, Any], key: Any) -> dict[str, Any]:
    props = schema.get("properties")
    sub = props.get(key) if isinstance(props, dict) else None
    if sub is None:
        sub = schema.get("additionalProperties")
    return sub if isinstance(sub, dict) else {}


def _key_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"


def _is_default(value: Any, schema: dict[str, Any]) -> bool:
    return "default" in schema and _compare(value, schema["default"], schema, "", None, 0) is None


def _default_accepted(schema: Any, accepted: Sequence[Any]) -> bool:
    """An omitted parameter is fine when its schema default is one of the accepted values."""
    if not isinstance(schema, dict) or "default" not in schema:
        return False
    return _match_any(schema["default"], accepted, schema, "", None, 0) is None


def _match_any(
    value: Any, accepted: Sequence[Any], schema: dict[str, Any], path: str, code: str | None, depth: int
) -> _Miss | None:
    """None if `value` equals one accepted alternative, else the mismatch that got deepest."""
    best: _Miss | None = None
    for option in accepted:
        if option == OMITTED:  # the omission marker, never a value
            continue
        miss = _compare(value, option, schema, path, code, depth)
        if miss is None:
            return None
        if best is None or miss.depth > best.depth:
            best = miss
    return best or _Miss(code or "arg.value", path, f"the expected answer accepts no value for {path}", depth)


def _compare(
    value: Any, want: Any, schema: dict[str, Any], path: str, code: str | None, depth: int
) -> _Miss | None:
    """Compare with one accepted value; `code` is the failure code of a scalar here (None: top level)."""
    if isinstance(want, dict):
        if not isinstance(value, dict):
            return _Miss(code or "arg.value", path, f"expected an object, got {value!r}", depth)
        return _compare_dict(value, want, schema, path, depth)
    if isinstance(want, list | tuple):
        if not isinstance(value, list | tuple):
            return _Miss(code or "arg.value_list", path, f"expected an array, got {value!r}", depth)
        if len(value) != len(want):
            of_dicts = bool(want) and all(isinstance(w, dict) for w in want)
            list_code = "arg.value_list_dict_count" if of_dicts else "arg.value_list"
            return _Miss(list_code, path, f"expected {len(want)} item(s), got {len(value)}: {value!r}", depth)
        items = schema.get("items")
        items = items if isinstance(items, dict) else {}
        for i, (got, item) in enumerate(zip(value, want, strict=True)):
            miss = _compare(got, item, items, f"{path}[{i}]", "arg.value_list", depth + 1)
            if miss is not None:
                return miss
        return None
    if isinstance(want, str) and isinstance(value, str):
        if standardize_string(value) == standardize_string(want):
            return None
        return _Miss(
            code or "arg.value_string", path, f"{value!r} differs from {want!r} after normalisation", depth
        )
    if _same_scalar(value, want):
        return None
    return _Miss(code or "arg.value", path, f"{value!r} does not equal {want!r}", depth)


def _compare_dict(
    value: dict[Any, Any], want: dict[Any, Any], schema: dict[str, Any], path: str, depth: int
) -> _Miss | None:
    """Key by key; each expected key maps to its list of accepted values, as in BFCL answers."""
    for key, got in value.items():
        sub = _sub_schema(schema, key)
        where = _key_path(path, key)
        if key not in want:
            if _is_default(got, sub):
                continue
            return _Miss(
                "arg.value_dict_key",
                where,
                f"unexpected key {key!r} (expected keys: {list(want)!r})",
                depth + 1,
            )
        accepted = _alternatives(want[key], sub)
        miss = _match_any(got, accepted, sub, where, "arg.value_dict_value", depth + 1)
        if miss is not None and not (OMITTED in accepted and _is_default(got, sub)):
            return miss
    for key, raw in want.items():
        if key in value:
            continue
        accepted = _alternatives(raw, _sub_schema(schema, key))
        if OMITTED not in accepted and not _default_accepted(_sub_schema(schema, key), accepted):
            return _Miss(
                "arg.value_dict_key",
                _key_path(path, key),
                f"missing key {key!r}, expected one of {accepted!r}",
                depth + 1,
            )
    return None


def _alternatives(raw: Any, schema: dict[str, Any]) -> list[Any]:
    """A nested key's accepted values: a list of alternatives, unless the schema shows it is one array."""
    if not isinstance(raw, list):
        return [raw]
    if "array" in _type_names(schema) and not any(isinstance(o, list | tuple) or o == OMITTED for o in raw):
        return [raw]
    return raw


def _same_scalar(value: Any, want: Any) -> bool:
    """Numbers by value (bool is never a number), floats within REL_TOL; anything else by `==`."""
    if isinstance(value, bool) or isinstance(want, bool):
        return type(value) is type(want) and value == want
    if isinstance(value, int | float) and isinstance(want, int | float):
        if isinstance(value, int) and isinstance(want, int):
            return value == want
        try:
            return math.isclose(value, want, rel_tol=REL_TOL, abs_tol=0.0)
        except OverflowError:
            return False
    return type(value) is type(want) and bool(value == want)


def _max_matching(fits: list[list[bool]]) -> list[int | None]:
    """Maximum bipartite matching by augmenting paths (Kuhn); `fits[i][j]`: call j passes expected i."""
    owner: list[int | None] = [None] * (len(fits[0]) if fits else 0)

    def augment(i: int, seen: set[int]) -> bool:
        for j, ok in enumerate(fits[i]):
            if ok and j not in seen:
                seen.add(j)
                holder = owner[j]
                if holder is None or augment(holder, seen):
                    owner[j] = i
                    return True
        return False

    for i in range(len(fits)):
        augment(i, set())
    assigned: list[int | None] = [None] * len(fits)
    for j, holder in enumerate(owner):
        if holder is not None:
            assigned[holder] = j
    return assigned


def _closeness(failure: Failure | None) -> int:
    return 9 if failure is None else _CLOSENESS.get(failure.code, 3)


def _describe(call: ExpectedCall) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in call.arguments.items())
    return f"{call.name}({args})"
