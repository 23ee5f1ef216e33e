"""The fast prompting decoder gives exactly what the `ast` path gives, or steps aside."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import DecodeError
from callforge.evaluate.decode.python import _cleaned, _parse, bracketed
from callforge.evaluate.decode.quick import quick_decode_bfcl, surely_undecodable
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
    if surely_undecodable(cleaned):
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
