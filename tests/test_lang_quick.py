"""The Java/JavaScript fast path gives exactly what the full decoders give, or steps aside."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.evaluate.decode.python import bracketed
from callforge.evaluate.lang import java, javascript
from callforge.evaluate.lang.quick import quick_call
from tests.conftest import SHARED_BFCL


def _agree(text: str, *, is_java: bool) -> bool:
    """Whether the fast path took `text`; asserts it gave the full decoder's answer."""
    module = java if is_java else javascript
    inner = bracketed(text)[1:-1]
    fast = quick_call(inner, java=is_java)
    if fast is None:
        return False
    parser = module._Parser(inner)
    parser.program()
    slow = parser.result()
    assert repr(fast) == repr(slow), text
    return True


def test_the_fixture_decodes_the_same() -> None:
    path = SHARED_BFCL / "conformance" / "single_turn.jsonl"
    if not path.is_file():
        pytest.skip(f"BFCL conformance fixture not found at {path}")
    taken = 0
    for line in path.open():
        record = json.loads(line)
        if record["style"] == "prompting" and record["category"] in ("simple_java", "simple_javascript"):
            taken += _agree(record["model_output"], is_java=record["category"] == "simple_java")
    assert taken > 400  # of 750: the fast path carries most decodable outputs


_VALUES = st.sampled_from(
    ['"x"', '"a, b=1"', '""', '"//c"', "0", "12", "-3", "1.5", "-0.25", "true", "false", "auto", "null", "new",
     "[1, 2]", '["a", "b"]', "[]", "[ true ]", "007", "1.", '"é"', "x.y", "$v", "_"]
)  # fmt: skip
_NAMES = st.sampled_from(["f", "getX", "Foo.bar", "a.b.c", "new", "$x", "x_1", "this.f", "class"])
_KEYS = st.sampled_from(["a", "limit", "name", "true", "if", "$k", "a"])


@settings(max_examples=400, deadline=None)
@given(
    _NAMES,
    st.lists(st.tuples(_KEYS, _VALUES, st.sampled_from(["=", " = ", "= "])), max_size=4),
    st.sampled_from([", ", ",", " , "]),
    st.booleans(),
)
def test_generated_calls_decode_the_same(name: str, args: list[tuple[str, str, str]], comma: str, is_java: bool) -> None:
    _agree(f"[{name}({comma.join(k + eq + v for k, v, eq in args)})]", is_java=is_java)


@pytest.mark.parametrize(
    ("text", "is_java", "expected"),
    [
        ('[Foo.bar(name="x", limit=50, strict=true)]', True, [{"Foo.bar": {"name": "x", "limit": "50", "strict": "true"}}]),
        ('[f(status=["a", "b"], n=-2)]', False, [{"f": {"status": '["a", "b"]', "n": "-2"}}]),
        ("[f(a=12345)]", True, None),  # short: tree-sitter-java fails it, the full decoder says so
        ('[f(a="\\n")]', False, None),  # an escape
        ("[f(a=1); g(b=2)]", False, None),
    ],
)
def test_the_subset(text: str, is_java: bool, expected: Any) -> None:
    assert quick_call(bracketed(text)[1:-1], java=is_java) == expected
