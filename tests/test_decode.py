from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import DecodeError
from callforge.evaluate.decode import decode_fc_bfcl, decode_python, decode_python_bfcl, evaluate_arithmetic

BFCL_ROWS: list[tuple[str, list[dict[str, Any]]]] = [
    ("[f(a=1)]", [{"f": {"a": 1}}]),
    ("f(a=1)", [{"f": {"a": 1}}]),
    ("```\n[f(a=1)]\n```", [{"f": {"a": 1}}]),
    ("[f(a=1), g.h.i(b='x')]", [{"f": {"a": 1}}, {"g.h.i": {"b": "x"}}]),
    ("[math.factorial(5)]", [{"math.factorial": {}}]),  # positional arguments are dropped
    (
        "[f(a=-2.5, b=+3, c=not_a_name)]",
        [{"f": {"a": -2.5, "b": -3, "c": "not_a_name"}}],
    ),  # unary always negates
    ("[f(a=2*3+1, b=2**10, c='ab'+'cd')]", [{"f": {"a": 7, "b": 1024, "c": "abcd"}}]),
    ("[f(a=(1, 2), b=[1, [2]], c={'k': None})]", [{"f": {"a": (1, 2), "b": [1, [2]], "c": {"k": None}}}]),
    ("[f(a=g(x=1), b=h(), c=h(1))]", [{"f": {"a": {"g": {"x": 1}}, "b": "h()", "c": "h(1)"}}]),
    ("[f(a=x[0], b=...)]", [{"f": {"a": "x[0]", "b": "..."}}]),
    ("[]", []),
    ("", []),
    ("[f(a=1, a=2)]", [{"f": {"a": 2}}]),  # a repeated keyword parses; the last one wins
]


@pytest.mark.parametrize(("text", "expected"), BFCL_ROWS)
def test_python_bfcl_decoding(text: str, expected: list[dict[str, Any]]) -> None:
    assert decode_python_bfcl(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "```python\n[f(a=1)]\n```",  # a language tag breaks BFCL's decoder
        "[f(a=1)] I hope this helps!",
        "<tool_call>f(a=1)</tool_call>",
        "[f(a=1), 3]",
        "[f(a=lambda: 1)]",
        "[f(a=x.y)]",
        "[f(a={1, 2})]",
        "[f(a=-x)]",
        "[f(a=__import__('os').system('true') + 1)]",  # BFCL would eval this; we refuse
        "[f(a=10 ** 10 ** 10)]",
        "[f(a='x' * 10**9)]",
        "[f(a=1]",
        42,
    ],
)
def test_python_bfcl_decode_failures(text: Any) -> None:
    with pytest.raises(DecodeError):
        decode_python_bfcl(text)


def test_semantic_decoder_keeps_positional_arguments_and_real_unary_semantics() -> None:
    [call] = decode_python("[f(1, 'x', b=+3)]")
    assert call.name == "f"
    assert call.positional == (1, "x")
    assert call.arguments == {"b": 3}


def test_semantic_decoder_rejects_a_repeated_keyword() -> None:
    with pytest.raises(DecodeError, match="repeated"):
        decode_python("[f(a=1, a=2)]")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ([{"f": '{"a": 1}'}], [{"f": {"a": 1}}]),
        ([{"f": '{"a": 1.0}'}, {"g": "{}"}], [{"f": {"a": 1.0}}, {"g": {}}]),
        ("", []),
        ([], []),
        ([{"f": "[1, 2]"}], [{"f": [1, 2]}]),  # decodes; the format check rejects it later
        (
            [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
            [{"f": {"a": 1}}],
        ),
    ],
)
def test_fc_decoding(output: Any, expected: list[Any]) -> None:
    assert decode_fc_bfcl(output) == expected


@pytest.mark.parametrize(
    "output", ["I will not call anything.", [{"f": "{bad json"}], [{"f": {"a": 1}}], [{}], None, 3]
)
def test_fc_decode_failures(output: Any) -> None:
    with pytest.raises(DecodeError):
        decode_fc_bfcl(output)


def test_arithmetic_is_whitelisted() -> None:
    import ast

    assert evaluate_arithmetic(ast.parse("(1 + 2) * 3 / 4", mode="eval").body) == 2.25
    for src in ["len('x') + 1", "x + 1", "1 + (lambda: 2)()", "(1).real + 1"]:
        with pytest.raises(DecodeError):
            evaluate_arithmetic(ast.parse(src, mode="eval").body)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_decoders_never_raise_anything_but_decode_error(text: str) -> None:
    for decode in (decode_python_bfcl, decode_python):
        with contextlib.suppress(DecodeError):
            decode(text)
