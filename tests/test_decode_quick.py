"""The fast prompting decoder gives exactly what the `ast` path gives, or steps aside."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import DecodeError
from callforge.evaluate.decode.python import _cleaned, _parse, bracketed
from callforge.evaluate.decode.quick import quick_decode_bfcl, undecodable_reason
from tests.conftest import SHARED_BFCL


def _slow(cleaned: str) -> Any:
    try:
        return [{c.name: c.arguments} for c in _parse(cleaned, bfcl=True)]
    except DecodeError:
        return DecodeError


def _agree(text: str) -> None:
    cleaned = bracketed(text).strip().strip("'")
    fast = quick_decode_bfcl(cleaned)
    slow = _slow(cleaned)
    if fast is not None:
        assert fast == slow, text
        assert repr(fast) == repr(slow), text  # the same keys in the same order, the same value types
    if undecodable_reason(cleaned) is not None:
        assert slow is DecodeError, text


def test_every_prompting_output_of_the_fixture_decodes_the_same() -> None:
    path = SHARED_BFCL / "conformance" / "single_turn.jsonl"
    if not path.is_file():
        pytest.skip(f"BFCL conformance fixture not found at {path}")
    seen = 0
    for line in path.open():
        record = json.loads(line)
        if record["style"] == "prompting" and isinstance(record["model_output"], str):
            _agree(record["model_output"])
            seen += 1
    assert seen > 10_000


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(alphabet="abc xyz'\"\\.,()[]{}=-_", max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet="abk", min_size=1, max_size=3), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
_NAMES = st.sampled_from(["f", "get_weather", "math.sqrt", "a.b.c", "True", "class", "x1"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_NAMES, st.dictionaries(st.sampled_from(["x", "city", "n", "if"]), _VALUES, max_size=3)), max_size=3),
       st.sampled_from(["", " ", "\n", "```", "```python\n", "Sure: "]), st.sampled_from(["", " ", "]", ")", " ok"]))  # fmt: skip
def test_generated_call_lists_decode_the_same(calls: list[tuple[str, dict[str, Any]]], before: str, after: str) -> None:
    body = ", ".join(f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})" for name, args in calls)
    _agree(f"{before}[{body}]{after}")
    _agree(f"{before}{body}{after}")


def test_cleaning_is_shared() -> None:
    assert _cleaned("```[f(x=1)]```") == "[f(x=1)]"


@pytest.mark.parametrize(
    "text",
    [
        "```python\n[f(x=1)]\n```",  # BFCL's `[` is never closed
        "python[f(x=1)], g(y=2)",
        "python[x](a=1)",
        "python[x].f(a=1)",
        "python[x][y](a=1)",
        "python [x] + f(a=1)",
        "python[x] if c else f(a=1)",
        "a.b[0]",
        "None[0]",
        "r[x], f(a=1)",
        "f(x=1)] Let me know",
        "f(x=[1, 2)",
        "f(x={'a': 1)",
        "I'm sorry, I can't",
        "f(x='it''s')",
        "0x1f[0]",
        "x[0]\\\n",
        "x[\"a\\\"]\"]",
    ],
)
def test_tricky_texts_are_judged_soundly(text: str) -> None:
    _agree(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```python\n[get_weather(city='Paris')]\n```", "the '[' at character 0 is never closed"),
        ("[f(x=1)] I hope this helps!", "the list ends at character 7, and 'I hope this helps!' follows it"),
        ("None of the functions fits.", "'of' right after 'None' at character 6: prose"),
        ("I'm sorry, I cannot help.", "\"'\" right after 'I' at character 2: prose"),
        ("[math.hypot(x=4, y=5]", "']' at character 20 closes the '(' at character 11"),
        ("[f(x=1", "']' at character 6 closes the '(' at character 2"),
    ],
)
def test_undecodable_outputs_name_the_place(text: str, message: str) -> None:
    from callforge.evaluate.decode.python import decode_python_bfcl

    with pytest.raises(DecodeError, match=re.escape(message)):
        decode_python_bfcl(text)


@pytest.mark.parametrize("text", ["f(x=f'{a}]')", "f(x=rf'{a}]')", "f(x=fr'(')", "f(x=F'[')"])
def test_f_strings_are_left_to_the_parser(text: str) -> None:
    # Python 3.12 reads quotes and brackets inside an f-string's braces as code: not claimed.
    assert undecodable_reason(bracketed(text)) is None
