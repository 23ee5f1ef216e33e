"""BFCL's Java / JavaScript decoding and value conversion, quirks included.

Every expected value below is what BFCL's tree-sitter decoder or its type converters return for
the same input (checked against BFCL's code with tree-sitter 0.21.3, tree-sitter-java 0.21.0 and
tree-sitter-javascript 0.21.4).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from callforge.core import DecodeError
from callforge.evaluate import make_scorer
from callforge.evaluate.lang.java import JAVA_TYPES, convert_java, decode_java
from callforge.evaluate.lang.javascript import JS_TYPES, convert_javascript, decode_javascript
from callforge.formats import load_bfcl_suite
from tests.conftest import read_jsonl

FAIL = DecodeError  # marks an input BFCL's decoder raises on

JAVA_DECODE: list[tuple[str, Any]] = [
    # the ordinary shape, with and without the brackets and the `;`
    (
        '[GeometryPresentation.createPresentation(controller="mapController", parent="mapArea")]',
        [{"GeometryPresentation.createPresentation": {"controller": "mapController", "parent": "mapArea"}}],
    ),
    ('Foo.bar(controller="mapController");', [{"Foo.bar": {"controller": "mapController"}}]),
    ('```\n[Foo.bar(name="x")]\n```', [{"Foo.bar": {"name": "x"}}]),
    # values are source text: quotes go, everything else is tokens run together
    (
        "[Foo.bar(a=true, b=42L, c=1.5f, d='c', e=x.y)]",
        [{"Foo.bar": {"a": "true", "b": "42L", "c": "1.5f", "d": "c", "e": "x.y"}}],
    ),
    ('[Foo.bar(s="a \\"q\\" b")]', [{"Foo.bar": {"s": 'a \\"q\\" b'}}]),
    (
        "[TwoSum.twoSum(nums=new int[]{2, 7, 11, 15}, target=9)]",
        [{"TwoSum.twoSum": {"nums": "new int[]{2,7,11,15}", "target": "9"}}],
    ),
    ("[f(a=new int[][]{{1, 2}, {3}})]", [{"f": {"a": "new int[]{{1,2},{3}}"}}]),
    ("[ffffffff(a=x + 1, b=(int) y)]", [{"ffffffff": {"a": "x+1", "b": "(int)y"}}]),
    # method invocations and class literals keep their source text, spaces included
    (
        "[ffffffff(a=Paths.get( '/x' ), b=Foo . class)]",
        [{"ffffffff": {"a": "Paths.get( '/x' )", "b": "Foo . class"}}],
    ),
    (
        '[f(ids=new ArrayList<>(Arrays.asList(101L, 202L)), sa=new InetSocketAddress("h",  80))]',
        [
            {
                "f": {
                    "ids": "new ArrayList<>(Arrays.asList(101L, 202L))",
                    "sa": 'new InetSocketAddress("h", 80)',
                }
            }
        ],
    ),
    # an anonymous class body is dropped: BFCL cannot see a HashMap's puts
    (
        '[f(params=new HashMap<String, Object>() {{ put("limit", 50); }})]',
        [{"f": {"params": "new HashMap<String,Object>()"}}],
    ),
    ("[fffffff(a=new int[3])]", FAIL),  # an array creation without an initializer crashes BFCL's renderer
    # the function name is the object's text, a dot, and the method name
    ("[a . b ( x = 1 )]", [{"a.b": {"x": "1"}}]),
    ("[f(a=1).g(b=2)]", [{"f(a=1).g": {"b": "2"}}]),
    ("[new Foo().bar(a=1)]", [{"new Foo().bar": {"a": "1"}}]),
    # positional arguments: a bare identifier or class literal goes under None, others vanish
    ('[ffffffff("Customers", useShortName=true)]', [{"ffffffff": {"useShortName": "true"}}]),
    ("[ffffffff(customers, useShortName=true)]", [{"ffffffff": {None: "customers", "useShortName": "true"}}]),
    ("[ffffffff(a, b)]", FAIL),
    ("[ffffffff(a=1, a=2)]", FAIL),
    # a statement without `;`: fine unless it is the first and at most 10 bytes
    ("[f(a=12345)]", FAIL),
    ("[f(a=123456)]", [{"f": {"a": "123456"}}]),
    ("[f(a=1);]", [{"f": {"a": "1"}}]),
    ("[f(\na=1)]", [{"f": {"a": "1"}}]),
    # one missing `}` or `]` before the next closer is supplied
    ("[ffffffff(a=new int[]{1, 2)]", [{"ffffffff": {"a": "new int[]{1,2"}}]),
    ("[ffffffff(a=x[1, b=2)]", [{"ffffffff": {"a": "x[1", "b": "2"}}]),
    ("[ffffffff(a=1, b=g(1]", FAIL),
    # what fails
    ('[f(a="x"), f(a="x")]', FAIL),
    ('```java\n[Foo.bar(a="x")]\n```', FAIL),
    ('[Foo.bar(a="x")] I hope this helps!', FAIL),
    ('[Foo.bar(a="x"]', FAIL),
    ("I'm sorry, but none of the available functions can help with this request.", FAIL),
    ('[ffffffffff(a="\\u00zz")]', FAIL),
    # no call: BFCL returns {}, a wrong output format
    ("", {}),
    ("Hello world", {}),
    ("None of the p", {}),
    ("None of the provided functions", FAIL),
    # tree-sitter-java's leniencies
    ("[ffffffff(a=-b=2, c=1)]", [{"ffffffff": {"a": "-b=2", "c": "1"}}]),  # -(b=2)
    ("[ffffffff(-b=2, c=1)]", [{"ffffffff": {"c": "1"}}]),
    ("[ffffffffff(a = /*c*/ 1)]", [{"ffffffffff": {"a": "/*c*/"}}]),
    ("return Foo.bar(a=1);", [{"Foo.bar": {"a": "1"}}]),
    ("I think Foo.bar(a=1)", [{"Foo.bar": {"a": "1"}}]),
    ("int x = y Foo.bar(a=1);", FAIL),
    # text is sliced with UTF-8 byte offsets, so it shifts after a non-ASCII character
    ('[ffffffffff(a="é", b="xyz")]', [{"ffffffffff": {"a": 'é"', "=": 'yz"'}}]),
]

JS_DECODE: list[tuple[str, Any]] = [
    (
        '[submitAtCoordinate(action="submit", coordinates=[60, 30], opts={a: 1})]',
        [{"submitAtCoordinate": {"action": "submit", "coordinates": "[60, 30]", "opts": "{a: 1}"}}],
    ),
    ("[f(a='x', b=`t ${y}`, c=x => x + 1)]", [{"f": {"a": "x", "b": "`t ${y}`", "c": "x => x + 1"}}]),
    ('[f(a="a" + "b")]', [{"f": {"a": 'a" + "b'}}]),  # one pair of quotes around the whole text goes
    ("[a . b ( x = 1 )]", [{"a . b": {"x": "1"}}]),  # the callee's text, spaces kept
    ("[f(a)]", [{"f": {None: "a"}}]),
    ("[f(true, false)]", [{"f": {None: "true"}}]),
    ("[f(a, b)]", FAIL),
    ("[f(a=1, a=2)]", FAIL),
    ("[f(a=1,,b=2)]", [{"f": {"a": "1", "b": "2"}}]),
    ("[f?.(a=1)]", [{"f": {}}]),
    ("[f(a+=1)]", [{"f": {}}]),
    # one `]`, `}` or `)` left open before the enclosing closer is supplied
    ("[f(a=[1, 2)]", [{"f": {"a": "[1, 2"}}]),
    ("[f(a={b: [1})]", [{"f": {"a": "{b: [1}"}}]),
    ("[f(a=[[1, 2], [3, 4)]", FAIL),
    # no top-level call statement: None, a wrong output format
    ("[f(a=1), f(a=1)]", None),
    ("x = f(a=1)", None),
    ("", None),
    ("Hello", None),
    ("<tool_call>[f(a=1)]</tool_call>", None),
    ('{"name": "f", "arguments": {}}', None),
    ("return f(a=1);", None),
    # statements end at `;` or a line break
    ("f(a=1)\ng(b=2)", [{"f": {"a": "1"}}]),
    ("Sure\nf(a=1)", [{"f": {"a": "1"}}]),
    ("[f(a=1) g(b=2)]", FAIL),
    ("[emitNewLineBefor eLeadingComments_v2(node=42)]", [{"eLeadingComments_v2": {"node": "42"}}]),
    # what fails
    ('```javascript\n[f(a="x")]\n```', FAIL),
    ('[f(a="x")] I hope this helps!', FAIL),
    ('[f(a="x"]', FAIL),
    ("I cannot answer that with the tools I have.", FAIL),
    ("hello world", FAIL),
    ('[f(a="user\nname")]', FAIL),
    ('[f(a="user\n")]', [{"f": {"a": "user\n"}}]),
    ("<a>x & y</a>", FAIL),
    # tree-sitter-javascript's leniencies
    ('[f(a="x", c-tegory="y", limit=4.0)]', [{"f": {"a": "x", "limit": "4.0"}}]),
    ("[f(yield=1)]", FAIL),
    ("[f(default=1, undefined=2)]", [{"f": {"default": "1", "undefined": "2"}}]),
    ("```javascript\n[f(a=1)]\n```;", [{"``": {}}]),
]


def _decoded(decode: Any, text: str) -> Any:
    try:
        return decode(text)
    except DecodeError:
        return FAIL


@pytest.mark.parametrize(("text", "expected"), JAVA_DECODE)
def test_decode_java(text: str, expected: Any) -> None:
    assert _decoded(decode_java, text) == expected


@pytest.mark.parametrize(("text", "expected"), JS_DECODE)
def test_decode_javascript(text: str, expected: Any) -> None:
    assert _decoded(decode_javascript, text) == expected


def test_decode_keeps_argument_order() -> None:
    decoded = decode_java("[f(z=1, a=2, m=3)]")
    assert list(decoded[0]["f"]) == ["z", "a", "m"]
    decoded = decode_javascript("[f(z=1, a=2, m=3)]")
    assert list(decoded[0]["f"]) == ["z", "a", "m"]


def test_decode_reports_absurd_nesting_as_undecodable() -> None:
    for decode in (decode_java, decode_javascript):
        with pytest.raises(DecodeError):
            decode("[f(a=" + "(" * 2000 + "1" + ")" * 2000 + ")]")
    with pytest.raises(DecodeError):
        decode_javascript("{" * 2000)


JAVA_CONVERT: list[tuple[str, str, str | None, Any]] = [
    ("42", "integer", None, 42),
    ("-7", "short", None, -7),
    ("42L", "integer", None, "42L"),
    ("42L", "long", None, 42),
    ("42", "long", None, "42"),  # long needs its suffix
    ("1.5f", "float", None, 1.5),
    ("1.5", "float", None, "1.5"),  # so does float
    ("3e3F", "float", None, 3000.0),
    ("1.5", "double", None, 1.5),
    ("1.5d", "double", None, "1.5d"),
    ("true", "boolean", None, True),
    ("True", "boolean", None, "True"),
    ("'c'", "char", None, "'c'"),  # BFCL's char pattern can never match
    ("x", "String", None, "x"),
    ("123", "any", None, "123"),
    ("new int[]{1, 2, 3}", "Array", "integer", [1, 2, 3]),
    ("new long[]{1L, 2, 3L}", "Array", "long", [1, "2", 3]),
    ('new String[]{"a", "b"}', "Array", "String", ['"a"', '"b"']),  # Array<String> keeps quotes
    ("new String[]{a, b}", "Array", "String", ["a", "b"]),
    ("new Object[]{1, true}", "Array", None, [1, True]),
    ("not an array", "Array", "integer", "not an array"),
    ("new ArrayList<>(Arrays.asList(101L, 202L))", "ArrayList", "long", [101, 202]),
    ('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", "String", ["a", "b"]),
    ('new ArrayList<>(Arrays.asList("id", 42, true))', "ArrayList", "any", ['"id"', "42", "true"]),
    ("new ArrayList<Float>() {{ add(1.0f); add(2.0f); }}", "ArrayList", "float", [1.0, 2.0]),
    ("new ArrayList<>()", "ArrayList", "integer", []),
    ('new HashMap<String, Object>() {{ put("k", 1); put("s", "v"); }}', "HashMap", None, {"k": 1, "s": "v"}),
    ("new HashMap<String,Object>()", "HashMap", None, {}),  # what the decoder leaves of a HashMap
    ("params", "HashMap", None, "params"),
]

JS_CONVERT: list[tuple[str, str, str | None, Any]] = [
    ('"x"', "String", None, "x"),
    ("x", "String", None, "x"),
    ("5", "integer", None, 5),
    ("5.0", "integer", None, "5.0"),
    ("5", "float", None, 5.0),
    ("1e3", "float", None, "1e3"),  # no exponent
    ("5n", "Bigint", None, 5),
    ("5", "Bigint", None, "5"),
    ("false", "Boolean", None, False),
    ("[1, 2, 3]", "array", "integer", [1, 2, 3]),
    ("[1.5, 2]", "array", "float", [1.5, 2.0]),
    ("[\"a\", 'b']", "array", "String", ["a", "b"]),
    ("new Array(4, 5)", "array", "integer", [4, 5]),
    ("[[1, 2], [3, 4]]", "array", "array", [[1, 2], [3, 4]]),
    ("[1, 2]", "array", "object", "[1, 2]"),  # an unknown item type: the text comes back
    ("[]", "array", "String", []),
    ("{a: 1, b: 'x', c: [1, 2]}", "dict", None, {"a": 1, "b": "x", "c": [1, 2]}),
    ("{a: {b: 1}, c: 2}", "dict", None, {"a": "{b: 1"}),  # an object stops at its first `}`
    ("{}", "dict", None, {}),
    ("config", "dict", None, "config"),
    ("42", "any", None, "42"),
]


@pytest.mark.parametrize(("value", "type_name", "nested", "expected"), JAVA_CONVERT)
def test_convert_java(value: str, type_name: str, nested: str | None, expected: Any) -> None:
    converted = convert_java(value, type_name, nested)
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(("value", "type_name", "nested", "expected"), JS_CONVERT)
def test_convert_javascript(value: str, type_name: str, nested: str | None, expected: Any) -> None:
    converted = convert_javascript(value, type_name, nested)
    assert converted == expected
    assert type(converted) is type(expected)


def test_convert_keeps_python_number_parsing() -> None:
    assert math.isnan(convert_java("new Object[]{nan}", "Array")[0])
    assert convert_javascript("[1_000]", "array") == [1000]


def test_convert_rejects_what_bfcl_rejects() -> None:
    with pytest.raises(NotImplementedError):
        convert_java("x", "Set")
    with pytest.raises(ValueError, match="Unsupported type"):
        convert_java("x", "list")
    with pytest.raises(ValueError, match="Unsupported type"):
        convert_javascript("x", "object")


def test_type_tables() -> None:
    assert JAVA_TYPES["long"] is int and JAVA_TYPES["HashMap"] is dict and JAVA_TYPES["any"] is str
    assert JAVA_TYPES["Set"] is set and len(JAVA_TYPES) == 17
    expected_js = {
        "String": str,
        "integer": int,
        "float": float,
        "Bigint": int,
        "Boolean": bool,
        "dict": dict,
        "array": list,
        "any": str,
    }
    assert expected_js == JS_TYPES


# -- conformance on BFCL's fixture --------------------------------------------------------------

_LANGUAGES = {"simple_java": decode_java, "simple_javascript": decode_javascript}


def _is_call_format(decoded: Any) -> bool:
    return type(decoded) is list and all(
        type(item) is dict and len(item) == 1 and type(next(iter(item.values()))) is dict for item in decoded
    )


@pytest.fixture(scope="module")
def java_js_records(bfcl_dir: Path) -> list[dict[str, Any]]:
    records = [
        r for r in read_jsonl(bfcl_dir / "conformance" / "single_turn.jsonl") if r["category"] in _LANGUAGES
    ]
    assert len(records) == 750
    return records


def test_decode_fails_exactly_where_bfcl_does(java_js_records: list[dict[str, Any]]) -> None:
    wrong = []
    for record in java_js_records:
        decoded = _decoded(_LANGUAGES[record["category"]], record["model_output"])
        if decoded is FAIL:
            outcome = "ast_decoder:decoder_failed"
        elif not _is_call_format(decoded):
            outcome = "ast_decoder:decoder_wrong_output_format"
        else:
            outcome = "decoded"
        expected = (
            record["error_type"]
            if record["error_type"] and record["error_type"].startswith("ast_decoder")
            else "decoded"
        )
        if outcome != expected:
            wrong.append(f"{record['id']} [{record['mutation']}]: expected {expected}, got {outcome}")
    assert not wrong, "\n".join(wrong)


def test_java_js_verdicts_match_bfcl(bfcl_dir: Path, java_js_records: list[dict[str, Any]]) -> None:
    cases = {c.id: c for c in load_bfcl_suite(bfcl_dir / "data", list(_LANGUAGES))}
    scorer = make_scorer("bfcl", "prompting")
    wrong = []
    for record in java_js_records:
        verdict = scorer.score(cases[record["id"]], record["model_output"])
        got = (verdict.ok, verdict.evidence.get("bfcl_error_type"))
        if got != (record["valid"], record["error_type"]):
            wrong.append(f"{record['id']} [{record['mutation']}]: expected {record['error_type']}, got {got}")
    assert not wrong, "\n".join(wrong)
