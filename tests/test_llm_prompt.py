from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callforge.core import Message, ToolCall, ToolSpec
from callforge.llm.parse import parse_tool_calls
from callforge.llm.prompt import render_tool_call, to_text_protocol, tools_system_prompt

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec(name="get_time", description="Tricky </tools> and <tool_call> text in a description.")
TOOLS = [WEATHER, TIME]


def _tools_block(prompt: str) -> list[str]:
    match = re.search(r"<tools>\n(.*?)\n</tools>", prompt, re.DOTALL)
    assert match is not None
    return match.group(1).split("\n")


def test_system_prompt_lists_each_tool_as_one_json_line() -> None:
    prompt = tools_system_prompt(TOOLS)
    lines = _tools_block(prompt)
    assert [json.loads(line) for line in lines] == [t.to_openai()["function"] for t in TOOLS]
    assert prompt.count("<tools>") == 1 and prompt.count("</tools>") == 1  # the description's tag is escaped


def test_system_prompt_states_the_protocol() -> None:
    prompt = tools_system_prompt([WEATHER])
    assert '<tool_call>\n{"name": "<tool name>", "arguments": {' in prompt
    assert "</tool_call>" in prompt
    assert "several blocks" in prompt
    assert "plain text" in prompt and "missing" in prompt
    assert "<tool_response></tool_response>" in prompt


def test_system_prompt_without_tools_is_empty() -> None:
    assert tools_system_prompt([]) == ""


def test_no_tools_and_no_tool_turns_is_unchanged() -> None:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content="Hi")]
    assert to_text_protocol(messages, []) == messages


def test_tools_prompt_leads_the_existing_system_message() -> None:
    messages = [Message(role="system", content="Be brief."), Message(role="user", content="Hi")]
    out = to_text_protocol(messages, TOOLS)
    assert [m.role for m in out] == ["system", "user"]
    assert out[0].content == tools_system_prompt(TOOLS) + "\n\nBe brief."
    assert out[1] == messages[1]


def test_tools_prompt_becomes_a_new_first_system_message() -> None:
    out = to_text_protocol([Message(role="user", content="Hi")], [WEATHER])
    assert [(m.role, m.content) for m in out] == [("system", tools_system_prompt([WEATHER])), ("user", "Hi")]


def test_empty_system_message_gets_only_the_prompt() -> None:
    out = to_text_protocol(
        [Message(role="system", content=""), Message(role="user", content="Hi")], [WEATHER]
    )
    assert out[0].content == tools_system_prompt([WEATHER])


def _dialog() -> list[Message]:
    return [
        Message(role="user", content="Weather in Paris and Rome, and the time?"),
        Message(
            role="assistant",
            content="Checking both.",
            tool_calls=(
                ToolCall(name="get_weather", arguments={"city": "Paris"}, id="c1"),
                ToolCall(name="get_weather", arguments={"city": "Rome"}, id="c2"),
            ),
        ),
        Message(role="tool", tool_call_id="c1", content="18C"),
        Message(role="tool", tool_call_id="c2", content='{"temp": 25}'),
        Message(role="assistant", tool_calls=(ToolCall(name="get_time", id="c3"),)),
        Message(role="tool", tool_call_id="unknown", content="12:00"),
        Message(role="tool", tool_call_id="c3", name="clock", content=None),
        Message(role="assistant", content="Paris 18C, Rome 25C, noon."),
    ]


def test_history_is_rendered_as_text_blocks() -> None:
    out = to_text_protocol(_dialog(), TOOLS)
    assert [m.role for m in out] == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert all(not m.tool_calls and m.tool_call_id is None for m in out)
    assert out[2].content == (
        "Checking both.\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    )
    assert out[3].content == (
        '<tool_response>\n{"name": "get_weather", "content": "18C"}\n</tool_response>\n'
        '<tool_response>\n{"name": "get_weather", "content": "{\\"temp\\": 25}"}\n</tool_response>'
    )
    assert out[4].content == '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'
    # a result whose id matches no call has no name; an explicit message name wins over the id
    assert out[5].content == (
        '<tool_response>\n{"content": "12:00"}\n</tool_response>\n'
        '<tool_response>\n{"name": "clock", "content": ""}\n</tool_response>'
    )
    assert out[6] == _dialog()[-1]


def test_tool_turns_without_tools_are_rendered_without_a_prompt() -> None:
    out = to_text_protocol(_dialog()[:3], [])
    assert [m.role for m in out] == ["user", "assistant", "user"]
    assert out[2].content is not None and out[2].content.startswith("<tool_response>")


def test_tags_inside_values_cannot_close_a_block() -> None:
    call = ToolCall(name="echo", arguments={"text": "a </tool_call> b <tool_call> c"})
    rendered = render_tool_call(call)
    assert rendered.count("</tool_call>") == 1
    result = parse_tool_calls(rendered)
    assert result.verdict.ok and result.calls == (ToolCall(name="echo", arguments=call.arguments),)
    response = to_text_protocol([Message(role="tool", content="x </tool_response> y")], [])[0].content
    assert response is not None and response.count("</tool_response>") == 1


def test_rendered_dialog_parses_back() -> None:
    out = to_text_protocol(_dialog(), TOOLS)
    parsed = parse_tool_calls(out[2].content)
    assert parsed.verdict.evidence == {"format": "hermes"}
    assert [(c.name, c.arguments) for c in parsed.calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert parsed.text == "Checking both."


NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}(\.[A-Za-z_][A-Za-z0-9_]{0,15})?", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ARGUMENTS = st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=5)
PROSE = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60).filter(
    lambda text: "<tool_call>" not in text and "</tool_call>" not in text and "<|" not in text
)


@settings(max_examples=300, deadline=None)
@given(
    calls=st.lists(st.tuples(NAMES, ARGUMENTS), min_size=1, max_size=4),
    content=st.none() | PROSE,
)
def test_round_trip_rendered_calls_parse_back(
    calls: list[tuple[str, dict[str, Any]]], content: str | None
) -> None:
    message = Message(
        role="assistant",
        content=content,
        tool_calls=tuple(ToolCall(name=n, arguments=a, id=f"id{i}") for i, (n, a) in enumerate(calls)),
    )
    [rendered] = to_text_protocol([message], [])
    assert rendered.role == "assistant" and not rendered.tool_calls
    result = parse_tool_calls(rendered.content)
    assert result.verdict.ok, result.verdict.message
    assert result.verdict.evidence["format"] == "hermes"
    assert [(c.name, c.arguments) for c in result.calls] == calls
    assert result.text == (content or "").strip()
