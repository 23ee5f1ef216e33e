"""Semantic matching: one row per verdict code, rows where it differs from BFCL, and a BFCL oracle."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import CategoryKind, ExpectedCall, ToolSpec
from callforge.evaluate.decode.python import KWARGS_KEY, DecodedCall, decode_python
from callforge.evaluate.match.bfcl import BfclMatcher
from callforge.evaluate.match.codes import BFCL_ERROR_TYPES
from callforge.evaluate.match.semantic import SemanticMatcher

SAME = "same"
"""In a row's `bfcl` field: BFCL gives the same verdict code as semantic mode."""

S, M, P, PM = CategoryKind.SIMPLE, CategoryKind.MULTIPLE, CategoryKind.PARALLEL, CategoryKind.PARALLEL_MULTIPLE


def tool(name: str, props: dict[str, Any], required: tuple[str, ...] = ()) -> ToolSpec:
    return ToolSpec(name=name, parameters={"type": "object", "properties": props, "required": list(required)})


def call(name: str, *positional: Any, **arguments: Any) -> DecodedCall:
    return DecodedCall(name, arguments, positional)


def exp(name: str, **accepted: list[Any]) -> ExpectedCall:
    return ExpectedCall(name=name, arguments=accepted)


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
F = tool("f", {"a": STR, "b": INT}, ("a",))
UNIT = tool("area", {"side": NUM, "unit": {"type": "string", "default": "cm"}}, ("side",))
POINTS = tool(
    "plot",
    {"points": {"type": "array", "items": {"type": "object", "properties": {"x": NUM, "y": NUM}}}},
    ("points",),
)
VEC = tool("norm", {"v": {"type": "array", "items": NUM}}, ("v",))
FACT = tool("math.factorial", {"n": INT}, ("n",))
CITIES = {"type": "array", "items": STR}
FILTER = tool("search", {"filters": {"type": "object", "properties": {"cities": CITIES}}})
BOOK = tool(
    "book",
    {"guest": {"type": "object", "properties": {"name": STR, "vip": {"type": "boolean", "default": False}}}},
    ("guest",),
)


@dataclass(frozen=True)
class Row:
    id: str
    kind: CategoryKind
    tools: list[ToolSpec]
    calls: list[DecodedCall]
    expected: list[ExpectedCall]
    code: str | None
    says: str = ""
    """A substring the failure message must contain."""
    bfcl: str | None = field(default=SAME)
    """BFCL's verdict code for the same output (positional arguments dropped, as its decoder does)."""


ROWS = [
    # --- one row per verdict code -------------------------------------------------------------
    Row("ok", S, [F], [call("f", a="x", b=2)], [exp("f", a=["x"], b=[2, ""])], None),
    Row("wrong_count", S, [F], [call("f", a="x"), call("f", a="x")], [exp("f", a=["x"])], "calls.wrong_count",
        "exactly one call, got 2"),
    Row("wrong_count_none", S, [F], [], [exp("f", a=["x"])], "calls.wrong_count", "got 0"),
    Row("wrong_count_multiple", M, [F, UNIT], [], [exp("f", a=["x"])], "calls.wrong_count_multiple"),
    Row("wrong_count_parallel", P, [F], [call("f", a="x")], [exp("f", a=["x"]), exp("f", a=["y"])],
        "calls.wrong_count_parallel", "expected 2 call(s), got 1"),
    Row("no_match", P, [F], [call("f", a="x"), call("f", a="z")], [exp("f", a=["x"]), exp("f", a=["y"])],
        "calls.no_match", "expected call 1 f(a=['y']) is unmatched, closest is call 1 f: parameter 'a': 'z'"),
    Row("no_match_taken", P, [F], [call("f", a="x"), call("f", a="y")],
        [exp("f", a=["x"]), exp("f", a=["x"])],
        "calls.no_match", "the call(s) that fit it ([0]) are each needed by another expected call"),
    Row("wrong_name", S, [F], [call("g", a="x")], [exp("f", a=["x"])],
        "call.wrong_name", "called 'g', expected 'f'"),
    Row("missing_required", S, [F], [call("f", b=2)], [exp("f", a=["x"], b=[2])],
        "call.missing_required", "'a'"),
    Row("unexpected_not_in_schema", S, [F], [call("f", a="x", c=1)], [exp("f", a=["x"])],
        "call.unexpected_param", "'c' is not a parameter of f (parameters: a, b)"),
    Row("unexpected_not_asked", S, [F], [call("f", a="x", b=3)], [exp("f", a=["x"])],
        "call.unexpected_param", "'b' was not asked for"),
    Row("unexpected_not_default", S, [UNIT], [call("area", side=2, unit="m")], [exp("area", side=[2])],
        "call.unexpected_param", "'m' is not its schema default 'cm'"),
    Row("too_many_positional", S, [F], [call("f", "x", 2, 3)], [exp("f", a=["x"], b=[2])],
        "call.unexpected_param", "f takes at most 2 positional argument(s) (a, b), got 3",
        bfcl="call.missing_required"),
    Row("positional_and_keyword", S, [F], [call("f", "y", a="x")], [exp("f", a=["x"])],
        "call.unexpected_param", "'a' given both positionally (#1) and by keyword", bfcl=None),
    Row("missing_optional", S, [F], [call("f", a="x")], [exp("f", a=["x"], b=[2])],
        "call.missing_optional", "'b' was omitted; the expected answer requires one of [2]"),
    Row("required_even_if_answer_omits_it", S, [F], [call("f", b=2)], [exp("f", a=["x", ""], b=[2])],
        "call.missing_required", "'a'"),
    Row("missing_optional_not_in_schema", S, [F], [call("f", a="x")], [exp("f", a=["x"], c=[1])],
        "call.missing_optional", "not in the tool's schema: a data bug"),
    Row("multiple_wrong_tool", M, [F, UNIT], [call("area", side=2)], [exp("f", a=["x"])], "call.wrong_name",
        "called 'area', expected 'f'"),
    Row("type", S, [F], [call("f", a="x", b="2")], [exp("f", a=["x"], b=[2])], "arg.type",
        "parameter b: expected integer, got string '2'"),
    Row("type_bool_not_int", S, [F], [call("f", a="x", b=True)], [exp("f", a=["x"], b=[1])], "arg.type",
        "expected integer, got boolean True"),
    Row("type_bool_not_number", S, [VEC], [call("norm", v=[1.0, False])], [exp("norm", v=[[1.0, 0.0]])],
        "arg.type", "parameter v[1]: expected number, got boolean False", bfcl="arg.type_nested"),
    Row("type_nested_path", S, [POINTS],
        [call("plot", points=[{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": "5", "y": 6}])],
        [exp("plot", points=[[{"x": [1], "y": [2]}, {"x": [3], "y": [4]}, {"x": [5], "y": [6]}]])],
        "arg.type", "parameter points[2].x: expected number, got string '5'", bfcl="arg.value_dict_value"),
    Row("value_string", S, [F], [call("f", a="Paris")], [exp("f", a=["London", "NYC"])], "arg.value_string",
        "parameter 'a': 'Paris' is not one of ['London', 'NYC']"),
    Row("value_list_order", S, [VEC], [call("norm", v=[2, 1])], [exp("norm", v=[[1, 2]])], "arg.value_list",
        "at v[0], 2 does not equal 1"),
    Row("value_list_length", S, [VEC], [call("norm", v=[1])], [exp("norm", v=[[1, 2]])], "arg.value_list"),
    Row("value_list_dict_count", S, [POINTS], [call("plot", points=[{"x": 1, "y": 2}])],
        [exp("plot", points=[[{"x": [1], "y": [2]}, {"x": [3], "y": [4]}]])], "arg.value_list_dict_count",
        "expected 2 item(s), got 1"),
    Row("value_dict_key_extra", S, [BOOK], [call("book", guest={"name": "Ann", "age": 3})],
        [exp("book", guest=[{"name": ["Ann"]}])], "arg.value_dict_key", "unexpected key 'age'"),
    Row("value_dict_key_missing", S, [BOOK], [call("book", guest={})],
        [exp("book", guest=[{"name": ["Ann"]}])], "arg.value_dict_key", "missing key 'name'"),
    Row("value_dict_value", S, [BOOK], [call("book", guest={"name": "Bob"})],
        [exp("book", guest=[{"name": ["Ann"]}])],
        "arg.value_dict_value", "at guest.name, 'Bob' differs from 'Ann'"),
    Row("value", S, [UNIT], [call("area", side=3)], [exp("area", side=[2, 2.5])], "arg.value",
        "parameter 'side': 3 is not one of [2, 2.5]"),
    Row("empty_string_is_not_omission", S, [F], [call("f", a="x", b="")], [exp("f", a=["x"], b=[2, ""])],
        "arg.type"),
    # --- where semantic mode accepts what BFCL rejects ------------------------------------------
    Row("greedy_vs_bipartite", P, [F], [call("f", a="x"), call("f", a="y")],
        [exp("f", a=["x", "y"]), exp("f", a=["x"])],
        None, bfcl="calls.no_match"),
    Row("bipartite_augmenting_chain", P, [F], [call("f", a="x"), call("f", a="y"), call("f", a="z")],
        [exp("f", a=["x", "y"]), exp("f", a=["x"]), exp("f", a=["y", "z"])], None, bfcl="calls.no_match"),
    Row("explicit_default_when_omitted", S, [UNIT], [call("area", side=2, unit="cm")],
        [exp("area", side=[2])], None, bfcl="call.unexpected_param"),
    Row("explicit_default_normalised", S, [UNIT], [call("area", side=2, unit="CM")],
        [exp("area", side=[2], unit=["m", ""])],
        None, bfcl="arg.value_string"),
    Row("omitted_default_accepted", S, [UNIT], [call("area", side=2)], [exp("area", side=[2], unit=["cm"])],
        None, bfcl="call.missing_optional"),
    Row("nested_default_key", S, [BOOK], [call("book", guest={"name": "Ann", "vip": False})],
        [exp("book", guest=[{"name": ["Ann"]}])], None, bfcl="arg.value_dict_key"),
    Row("int_in_array_of_number", S, [VEC], [call("norm", v=[3, 4])], [exp("norm", v=[[3.0, 4.0]])], None,
        bfcl="arg.type_nested"),
    Row("int_in_nested_object", S, [POINTS], [call("plot", points=[{"x": 1, "y": 2}])],
        [exp("plot", points=[[{"x": [1.0], "y": [2.0]}]])], None, bfcl=None),
    Row("integral_float_for_integer", S, [FACT], [call("math.factorial", n=5.0)],
        [exp("math.factorial", n=[5])], None, bfcl="arg.type"),
    Row("tuple_is_array", S, [VEC], [call("norm", v=(1.0, 2.0))], [exp("norm", v=[[1.0, 2.0]])],
        None, bfcl="arg.type"),
    Row("float_tolerance", S, [UNIT], [call("area", side=0.1 + 0.2)], [exp("area", side=[0.3])],
        None, bfcl="arg.value"),
    Row("positional_binding", S, [FACT], [call("math.factorial", 5)], [exp("math.factorial", n=[5])], None,
        bfcl="call.missing_required"),
    Row("kwargs_dict_literal", S, [F], [DecodedCall("f", {KWARGS_KEY: {"a": "x"}})], [exp("f", a=["x"])],
        None, bfcl="call.missing_required"),
    Row("kwargs_not_a_dict", S, [F], [DecodedCall("f", {KWARGS_KEY: "opts"})], [exp("f", a=["x"])],
        "call.unexpected_param", "`**` must unpack a dict", bfcl="call.missing_required"),
    Row("nested_string_normalisation", S, [FILTER],
        [call("search", filters={"cities": ["New York", "Paris"]})],
        [exp("search", filters=[{"cities": [["new-york", "PARIS"]]}])], None, bfcl="arg.value_dict_value"),
    Row("underscore_name", S, [FACT], [call("math_factorial", n=5)], [exp("math.factorial", n=[5])], None,
        bfcl="call.wrong_name"),
    Row("dotted_name_for_underscore", S, [tool("math_pow", {"x": INT})], [call("math.pow", x=2)],
        [exp("math_pow", x=[2])], None, bfcl="call.wrong_name"),
    Row("variable_escape", S, [F], [call("f", a="x", b="n")], [exp("f", a=["x"], b=["n"])], None, bfcl=None),
    Row("variable_escape_nested", S, [VEC], [call("norm", v=["a", "b"])], [exp("norm", v=[["a", "b"]])], None,
        bfcl=None),
    # --- and where it is stricter ----------------------------------------------------------------
    Row("explicit_empty_string", S, [UNIT], [call("area", side=2, unit="")],
        [exp("area", side=[2], unit=["m", ""])],
        "arg.value_string", "'' is not one of ['m'] (or omitted)", bfcl=None),
]


def to_bfcl(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema back to BFCL's dialect, so the same rows can be put to BFCL's checker."""
    names = {"object": "dict", "number": "float"}
    out = {k: v for k, v in schema.items() if k not in ("properties", "items")}
    out["type"] = names.get(schema.get("type", "any"), schema.get("type", "any"))
    if "properties" in schema:
        out["properties"] = {k: to_bfcl(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        out["items"] = to_bfcl(schema["items"])
    return out


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row: Row) -> None:
    failure = SemanticMatcher().check(row.kind, row.tools, row.calls, row.expected)
    assert (failure.code if failure else None) == row.code, failure
    if failure is not None:
        assert row.code in BFCL_ERROR_TYPES
        assert row.says in failure.message
    functions = [{"name": t.name, "parameters": to_bfcl(t.parameters)} for t in row.tools]
    output = [{c.name: dict(c.arguments)} for c in row.calls]  # BFCL's decoder drops positional arguments
    answers = [{e.name: dict(e.arguments)} for e in row.expected]
    bfcl = BfclMatcher().check(row.kind, functions, output, answers)
    assert (bfcl.code if bfcl else None) == (row.code if row.bfcl == SAME else row.bfcl), bfcl


def test_every_verdict_code_of_a_call_has_a_row() -> None:
    covered = {r.code for r in ROWS}
    wanted = {c for c in BFCL_ERROR_TYPES if c.split(".")[0] in ("calls", "call")}
    wanted |= {"arg.type", "arg.value_string", "arg.value_list", "arg.value_dict_key", "arg.value_dict_value"}
    wanted |= {"arg.value", "arg.value_list_dict_count"}
    assert wanted <= covered


def test_kinds_without_expected_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="irrelevance"):
        SemanticMatcher().check(CategoryKind.IRRELEVANCE, [F], [], [])


def test_decoded_positional_output_end_to_end() -> None:
    calls = decode_python("[math.factorial(5), f('New York', b=2)]")
    matcher = SemanticMatcher()
    expected = [exp("f", a=["new york"], b=[2]), exp("math.factorial", n=[5])]
    assert matcher.check(PM, [FACT, F], calls, expected) is None


@settings(max_examples=50, deadline=None)
@given(st.permutations(range(4)))
def test_parallel_verdict_ignores_call_order(order: list[int]) -> None:
    calls = [call("f", a="x"), call("f", a="y"), call("f", a="z"), call("f", a="w", b=1)]
    expected = [exp("f", a=["x", "y"]), exp("f", a=["x"]), exp("f", a=["y", "z"]), exp("f", a=["w"], b=[1])]
    assert SemanticMatcher().check(P, [F], [calls[i] for i in order], expected) is None
    wrong = [call("f", a="y"), call("f", a="y"), call("f", a="z"), call("f", a="w", b=1)]  # nothing for a=x
    failure = SemanticMatcher().check(P, [F], [wrong[i] for i in order], expected)
    assert failure is not None and failure.code == "calls.no_match"


# --- BFCL oracle: every ground truth, rendered as a call, is accepted ---------------------------

BFCL_DATA = Path(__file__).resolve().parents[2] / "shared" / "bfcl" / "data"
ORACLE = {"simple_python": S, "multiple": M, "parallel": P, "parallel_multiple": PM}
_JSON_TYPES = {"dict": "object", "float": "number", "tuple": "array"}


def bfcl_to_json_schema(node: Any) -> Any:
    """BFCL's type names to JSON Schema (dict→object, float→number, tuple→array, any→no type)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            if value != "any":
                out[key] = _JSON_TYPES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: bfcl_to_json_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = bfcl_to_json_schema(value)
        else:
            out[key] = value
    return out


def _first(options: list[Any]) -> Any:
    return next(o for o in options if o != "")


def render(value: Any) -> Any:
    """A ground-truth value as a model would write it: nested dicts map keys to one value."""
    if isinstance(value, dict):
        return {
            k: render(_first(o)) if isinstance(o, list) else o
            for k, o in value.items()
            if not isinstance(o, list) or any(x != "" for x in o)
        }
    if isinstance(value, list):
        return [render(v) for v in value]
    return value


def _load(name: str) -> list[dict[str, Any]]:
    with open(name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.mark.skipif(not BFCL_DATA.is_dir(), reason="BFCL data not present")
@pytest.mark.parametrize("category", list(ORACLE))
def test_bfcl_ground_truth_oracle(category: str) -> None:
    questions = _load(str(BFCL_DATA / f"BFCL_v4_{category}.json"))
    answer_file = BFCL_DATA / "possible_answer" / f"BFCL_v4_{category}.json"
    answers = {a["id"]: a["ground_truth"] for a in _load(str(answer_file))}
    matcher, failures = SemanticMatcher(), []
    for question in questions:
        functions = question["function"]
        tools = [ToolSpec(name=f["name"], parameters=bfcl_to_json_schema(f["parameters"])) for f in functions]
        truth = answers[question["id"]]
        expected = [ExpectedCall(name=n, arguments=a) for gt in truth for n, a in gt.items()]
        calls = []
        for want in expected:
            props = next(t for t in tools if t.name == want.name).properties
            # A parameter the schema lacks (parallel_multiple_26 `type`) is one a model cannot send.
            given = {p: o for p, o in want.arguments.items() if p in props and any(x != "" for x in o)}
            args = {p: render(_first(o)) for p, o in given.items()}
            calls.append(DecodedCall(want.name, args))
        failure = matcher.check(ORACLE[category], tools, calls, expected)
        if failure is not None:
            failures.append((question["id"], failure))
        if len(calls) > 1:  # and in reverse order, which greedy matching need not accept
            failure = matcher.check(ORACLE[category], tools, calls[::-1], expected)
            if failure is not None:
                failures.append((question["id"] + " reversed", failure))
    assert len(questions) >= 200
    assert failures == []


@pytest.mark.skipif(not BFCL_DATA.is_dir(), reason="BFCL data not present")
def test_bfcl_parallel_178_greedy_false_negative() -> None:
    """The real entry where BFCL's greedy matching rejects the ground truth written in reverse order."""
    question = next(q for q in _load(str(BFCL_DATA / "BFCL_v4_parallel.json")) if q["id"] == "parallel_178")
    truth = next(
        a["ground_truth"]
        for a in _load(str(BFCL_DATA / "possible_answer" / "BFCL_v4_parallel.json"))
        if a["id"] == "parallel_178"
    )
    calls = [
        DecodedCall(n, {p: _first(o) for p, o in a.items() if any(x != "" for x in o)})
        for gt in truth[::-1]
        for n, a in gt.items()
    ]
    output = [{c.name: c.arguments} for c in calls]
    bfcl = BfclMatcher().check(P, question["function"], output, truth)
    assert bfcl is not None and bfcl.code == "calls.no_match"
    functions = question["function"]
    tools = [ToolSpec(name=f["name"], parameters=bfcl_to_json_schema(f["parameters"])) for f in functions]
    expected = [ExpectedCall(name=n, arguments=a) for gt in truth for n, a in gt.items()]
    assert SemanticMatcher().check(P, tools, calls, expected) is None
