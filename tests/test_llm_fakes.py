"""The fake backends that ship in the package: scripted, function, schema fuzz."""

from __future__ import annotations

import asyncio
import random

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import Message, ToolCall, ToolSpec
from callforge.llm.backend import Backend, BackendError, Completion
from callforge.llm.fuzz import SchemaFuzzBackend, schema_instance
from callforge.llm.scripted import FunctionBackend, Request, ScriptedBackend, ScriptError

USER = [Message(role="user", content="weather in Paris?")]
WEATHER = ToolSpec(
    name="get_weather",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city"],
    },
)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_scripted_backend_replays_in_order_and_records_requests() -> None:
    backend = ScriptedBackend(["hello", ToolCall(name="get_weather", arguments={"city": "Paris"})])
    assert isinstance(backend, Backend)
    first = run(backend.complete(USER))
    second = run(backend.complete(USER, [WEATHER], temperature=0.5))
    assert first.text == "hello" and first.tool_calls == ()
    assert second.tool_calls[0].arguments == {"city": "Paris"}
    assert second.finish_reason == "tool_calls"
    assert backend.requests[1].tools == (WEATHER,)
    assert backend.requests[1].options.temperature == 0.5
    backend.assert_done()


def test_scripted_backend_fails_loudly_on_an_extra_request() -> None:
    backend = ScriptedBackend(["only one"])
    run(backend.complete(USER))
    with pytest.raises(ScriptError, match=r"unexpected request #2.*'weather in Paris\?'"):
        run(backend.complete(USER))


def test_scripted_backend_fails_loudly_on_a_missing_request() -> None:
    backend = ScriptedBackend(["a", "b"])
    run(backend.complete(USER))
    with pytest.raises(ScriptError, match="1 scripted replies were never requested"):
        backend.assert_done()


def test_scripted_backend_can_raise_a_scripted_error() -> None:
    backend = ScriptedBackend([BackendError("boom", retryable=True), "after"])
    with pytest.raises(BackendError, match="boom"):
        run(backend.complete(USER))
    assert run(backend.complete(USER)).text == "after"


def test_invalid_options_are_rejected_before_a_request() -> None:
    backend = ScriptedBackend(["x"])
    with pytest.raises(BackendError, match="invalid backend options"):
        run(backend.complete(USER, temperature="hot"))


def test_function_backend_sync_and_async_responders() -> None:
    def sync(request: Request) -> str:
        return f"you said {request.messages[-1].content}"

    async def asynchronous(request: Request) -> Completion:
        await asyncio.sleep(0)
        return Completion(text="async")

    assert run(FunctionBackend(sync).complete(USER)).text == "you said weather in Paris?"
    reply = run(FunctionBackend(asynchronous, model="fn").complete(USER))
    assert reply.text == "async" and reply.model == "fn"


def test_fuzz_backend_is_schema_valid_and_deterministic() -> None:
    backend = SchemaFuzzBackend(seed=7, max_parallel=3)
    first = run(backend.complete(USER, [WEATHER]))
    again = run(SchemaFuzzBackend(seed=7, max_parallel=3).complete(USER, [WEATHER]))
    assert first.tool_calls == again.tool_calls
    assert 1 <= len(first.tool_calls) <= 3
    for call in first.tool_calls:
        assert call.name == "get_weather"
        jsonschema.validate(call.arguments, WEATHER.parameters)
    other_sample = run(backend.complete(USER, [WEATHER], sample=1))
    other_seed = run(SchemaFuzzBackend(seed=8, max_parallel=3).complete(USER, [WEATHER]))
    assert first.tool_calls != other_sample.tool_calls or first.tool_calls != other_seed.tool_calls


def test_fuzz_backend_text_when_no_tools_and_honours_named_tool_choice() -> None:
    other = ToolSpec(name="other", parameters={"type": "object", "properties": {}})
    backend = SchemaFuzzBackend(seed=1)
    assert run(backend.complete(USER)).tool_calls == ()
    for sample in range(10):
        reply = run(backend.complete(USER, [WEATHER, other], tool_choice="other", sample=sample))
        assert [c.name for c in reply.tool_calls] == ["other"]


_SCALARS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "string", "minLength": 3, "maxLength": 5},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "email"},
        {"type": "integer", "minimum": -5, "maximum": 5},
        {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 3},
        {"type": "number", "minimum": 0.5, "maximum": 0.75},
        {"type": "boolean"},
        {"type": "null"},
        {"enum": ["a", 1, None]},
        {"const": "fixed"},
        {"type": ["string", "integer"]},
    ]
)


def _schemas() -> st.SearchStrategy[dict]:
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(
            st.builds(lambda i: {"type": "array", "items": i, "minItems": 1, "maxItems": 4}, inner),
            st.builds(lambda i: {"type": "array", "items": i, "uniqueItems": True}, inner),
            st.builds(
                lambda props: {
                    "type": "object",
                    "properties": props,
                    "required": sorted(props)[:1],
                },
                st.dictionaries(st.sampled_from("abcdef"), inner, min_size=1, max_size=4),
            ),
            st.builds(lambda a, b: {"anyOf": [a, b]}, inner, inner),
        ),
        max_leaves=8,
    )


@settings(max_examples=300, deadline=None)
@given(schema=_schemas(), seed=st.integers(0, 2**32))
def test_schema_instance_always_validates(schema: dict, seed: int) -> None:
    value = schema_instance(schema, random.Random(seed))
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())


def test_schema_instance_follows_local_refs() -> None:
    schema = {
        "type": "object",
        "properties": {"point": {"$ref": "#/$defs/Point"}},
        "required": ["point"],
        "$defs": {
            "Point": {
                "type": "object",
                "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
                "required": ["x", "y"],
            }
        },
    }
    value = schema_instance(schema, random.Random(0))
    jsonschema.validate(value, schema)
    assert set(value["point"]) == {"x", "y"}
