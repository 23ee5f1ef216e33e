"""Readers for Hermes, Glaive v2, APIGen-MT and When2Call, and OpenAI `"weight": 0` read back as masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from callforge.core import Dialog, MaskedCall, MaskReason, Message, Provenance, Scenario, ToolCall, ToolSpec
from callforge.export import export, to_openai
from callforge.formats import FORMATS, detect_format, read_dialogs
from callforge.formats.loose import (
    lenient_call,
    parse_call_text,
    parse_value,
    parse_values,
    requote_arguments,
)

DATA = Path(__file__).parent / "data" / "formats"


def by_id(path: Path | str, format: str = "auto") -> dict[str, Dialog]:
    return {str(d.meta.id): d for d in read_dialogs(path, format)}


def codes(dialog: Dialog) -> list[str]:
    return [e.code for e in dialog.meta.read_errors]


def calls(message: Message) -> list[tuple[str | None, str, dict[str, Any]]]:
    return [(c.id, c.name, c.arguments) for c in message.tool_calls]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- every new fixture: detection, ids, sources, read errors, links --------------------------------

FIXTURES = [
    (
        "hermes.json",
        "hermes",
        "hermes",
        {
            "h-single": [],
            "h-parallel": [],
            "hermes:2": [],
            "h-bad-call": ["call.format"],
            "h-bad-tools": ["tool.malformed"],
            "h-count-mismatch": ["result.format"],
            "h-malformed": ["record.malformed"],
        },
    ),
    (
        "glaive.json",
        "glaive",
        "glaive",
        {
            "glaive:0": [],
            "glaive:1": [],
            "glaive:2": [],
            "glaive:3": [],
            "glaive:4": ["call.format"],
            "glaive:5": ["tool.malformed"],
            "glaive:6": ["result.unlinked"],
            "glaive:7": ["record.malformed"],
        },
    ),
    (
        "apigen_mt.json",
        "sharegpt",  # the layout is ShareGPT's to the letter: auto cannot tell, `format="apigen_mt"` names it
        "apigen_mt",
        {
            "apigen_mt:0": [],
            "apigen_mt:1": [],
            "apigen_mt:2": [],
            "apigen_mt:3": ["call.format"],
            "apigen_mt:4": ["tool.malformed"],
            "apigen_mt:5": ["record.malformed"],
        },
    ),
    (
        "when2call.jsonl",
        "when2call",
        "when2call",
        {
            "w2c-tool-call": [],
            "w2c-rfi": [],
            "w2c-cannot": [],
            "when2call:4": [],
            "w2c-tagged": [],
            "w2c-bad-call": ["call.format"],
            "w2c-bad-tool": ["tool.malformed"],
            "w2c-malformed": ["record.malformed"],
        },
    ),
]
IDS = [f[0] for f in FIXTURES]


@pytest.mark.parametrize(("name", "detected", "format", "expected"), FIXTURES, ids=IDS)
def test_fixture_ids_sources_and_read_errors(
    name: str, detected: str, format: str, expected: dict[str, list[str]]
) -> None:
    path = DATA / name
    assert detect_format(path) == detected
    dialogs = list(read_dialogs(path, format))
    assert [d.meta.id for d in dialogs] == list(expected)  # file order, nothing dropped
    for dialog in dialogs:
        assert dialog.meta.source == format
        assert codes(dialog) == expected[str(dialog.meta.id)], dialog.meta.read_errors
        for error in dialog.meta.read_errors:
            assert str(path) in error.message  # names the file and the place
        if codes(dialog) == ["record.malformed"]:
            assert dialog.messages == () and dialog.meta.raw is not None
    if detected == format:
        assert list(read_dialogs(path)) == dialogs  # auto reads the same as the explicit name


@pytest.mark.parametrize(("name", "detected", "format", "expected"), FIXTURES, ids=IDS)
def test_every_call_has_an_id_and_every_result_names_a_call(
    name: str, detected: str, format: str, expected: dict[str, list[str]]
) -> None:
    for dialog in read_dialogs(DATA / name, format):
        call_ids = [c.id for m in dialog.messages for c in m.tool_calls]
        assert all(call_ids) and len(set(call_ids)) == len(call_ids), dialog.meta.id
        for message in dialog.messages:
            if message.role == "tool":
                assert isinstance(message.content, str)
                if "result.unlinked" not in codes(dialog):
                    assert message.tool_call_id in call_ids, dialog.meta.id


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("openai.jsonl", "openai"),
        ("sharegpt.json", "sharegpt"),
        ("toolace.jsonl", "toolace"),
        ("xlam.json", "xlam"),
        ("callforge.jsonl", "callforge"),
    ],
)
def test_the_existing_fixtures_detect_as_before(name: str, format: str) -> None:
    assert detect_format(DATA / name) == format


def test_formats_names_every_reader() -> None:
    assert FORMATS == (
        "callforge",
        "openai",
        "xlam",
        "toolace",
        "bfcl",
        "sharegpt",
        "hermes",
        "glaive",
        "apigen_mt",
        "when2call",
    )


@pytest.mark.parametrize(
    ("record", "format"),
    [
        ({"conversations": [{"from": "gpt", "value": "<tool_call>{}</tool_call>"}]}, "hermes"),
        ({"conversations": [{"from": "system", "value": "Tools: <tools>[]</tools>"}]}, "hermes"),
        ({"conversations": [{"from": "tool", "value": "<tool_response>1</tool_response>"}]}, "hermes"),
        ({"system": "<tools>[]</tools>", "conversations": []}, "hermes"),
        ({"messages": [{"from": "gpt", "value": "<tool_call>{}</tool_call>"}]}, "hermes"),
        ({"conversations": [{"from": "gpt", "value": "no tags here"}]}, "sharegpt"),
        (
            {"system": "functions in JSON format that you can invoke: [] <tools>", "conversations": []},
            "toolace",
        ),
        ({"system": "SYSTEM: no functions", "chat": "USER: hi"}, "glaive"),
        ({"chat": "USER: hi"}, None),  # a `chat` string alone is not enough
        ({"question": "q", "correct_answer": "direct", "answers": {}, "tools": []}, "when2call"),
        ({"question": "q", "function": []}, "bfcl"),
        ({"messages": [{"role": "user", "content": "<tool_call>"}]}, "openai"),
    ],
)
def test_detection_rules(tmp_path: Path, record: dict[str, Any], format: str | None) -> None:
    path = write_jsonl(tmp_path / "data.jsonl", [record])
    if format is None:
        with pytest.raises(Exception, match="cannot tell the dataset format"):
            detect_format(path)
    else:
        assert detect_format(path) == format


# --- hermes ------------------------------------------------------------------------------------------


def test_hermes_python_repr_tools_calls_and_unwrapped_results() -> None:
    dialog = by_id(DATA / "hermes.json")["h-single"]
    assert [t.name for t in dialog.tools] == ["get_camera_live_feed", "lock_door"]
    assert dialog.tools[0].source == "hermes"
    assert dialog.tools[0].parameters["properties"]["stream_quality"]["enum"] == ["720p", "1080p", "4k"]
    assert [m.role for m in dialog.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert "<tools>" in (dialog.messages[0].content or "")  # the prompt the model was trained with, whole
    call = dialog.messages[2]
    assert call.content is None
    assert calls(call) == [
        ("call_1", "get_camera_live_feed", {"camera_id": "front_door", "stream_quality": "1080p"})
    ]
    result = dialog.messages[3]
    assert (result.tool_call_id, result.name) == ("call_1", "get_camera_live_feed")
    assert json.loads(result.content or "") == {
        "camera_id": "front_door",
        "status": "streaming",
        "quality": "1080p",
    }


def test_hermes_several_calls_text_around_them_and_results_linked_by_name() -> None:
    dialog = by_id(DATA / "hermes.json")["h-parallel"]
    assistant = dialog.messages[2]
    assert assistant.content == "Let me look both up."
    assert calls(assistant) == [
        ("call_1", "get_stock_price", {"symbol": "NVDA"}),
        ("call_2", "get_company_news", {"company": "NVIDIA", "limit": 3}),  # a JSON-string arguments
    ]
    # the responses come back news first: each is linked to the call of the tool it names
    results = [(m.tool_call_id, m.name, json.loads(m.content or "")) for m in dialog.messages[3:5]]
    assert results == [
        ("call_2", "get_company_news", ["Chip demand up", "New GPU", "Earnings beat"]),
        ("call_1", "get_stock_price", {"price": 121.5}),
    ]


def test_hermes_tools_one_object_after_another_and_no_call() -> None:
    dialog = by_id(DATA / "hermes.json")["hermes:2"]
    assert [t.name for t in dialog.tools] == ["get_stock_price", "get_company_news"]
    assert dialog.messages[-1] == Message(
        role="assistant", content="Which stock symbol do you want the price of?"
    )


def test_hermes_unreadable_call_and_tools_are_recorded() -> None:
    dialogs = by_id(DATA / "hermes.json")
    bad = dialogs["h-bad-call"]
    assert bad.messages[-1].tool_calls == ()
    assert (bad.messages[-1].content or "").startswith("<tool_call>")
    assert bad.meta.read_errors[0].message_index == 2
    assert "hermes.json[3]: turn 2:" in bad.meta.read_errors[0].message
    no_tools = dialogs["h-bad-tools"]
    assert no_tools.tools == ()
    assert calls(no_tools.messages[2]) == [("call_1", "get_stock_price", {"symbol": "MSFT"})]  # a repr call
    assert "<tools> block" in no_tools.meta.read_errors[0].message
    mismatch = dialogs["h-count-mismatch"]
    assert [m.tool_call_id for m in mismatch.messages if m.role == "tool"] == ["call_1"]
    assert "2 calls need 2 <tool_response> blocks, found 1" in mismatch.meta.read_errors[0].message


def test_hermes_rows_read_as_plain_sharegpt_keep_their_calls_as_text() -> None:
    dialog = by_id(DATA / "hermes.json", "sharegpt")["h-single"]
    assert not any(m.tool_calls for m in dialog.messages)  # why hermes is its own format


def test_hermes_tools_column_and_function_call_turns(tmp_path: Path) -> None:
    tool = {"name": "ping", "description": "Ping a host", "parameters": {"type": "object", "properties": {}}}
    row = {
        "id": "mixed",
        "tools": [tool],
        "conversations": [
            {"from": "system", "value": f"<tools>{json.dumps([tool])}</tools>"},  # the same tool: not twice
            {"from": "human", "value": "ping it"},
            {"from": "function_call", "value": '{"name": "ping", "arguments": {}}'},
            {"from": "observation", "value": "pong"},
            {
                "from": "gpt",
                "value": "<tool_call>{'name': 'ping', 'arguments': \"{'host': 'a'}\"}</tool_call>",
            },
            {"from": "tool", "value": "plain output, no tags"},
        ],
    }
    dialog = next(read_dialogs(write_jsonl(tmp_path / "h.jsonl", [row])))
    assert [t.name for t in dialog.tools] == ["ping"]
    assert calls(dialog.messages[2]) == [("call_1", "ping", {})]
    assert dialog.messages[3].tool_call_id == "call_1"
    assert calls(dialog.messages[4]) == [("call_2", "ping", {"host": "a"})]  # a repr inside a repr string
    assert (dialog.messages[5].tool_call_id, dialog.messages[5].content) == (
        "call_2",
        "plain output, no tags",
    )
    assert dialog.meta.read_errors == ()


def test_hermes_one_response_per_tool_turn_and_odd_tool_entries(tmp_path: Path) -> None:
    row = {
        "conversations": [
            {
                "from": "system",
                "value": "<tools>[{'type': 'function', 'function': 'not an object'}, 7]</tools>",
            },
            {"from": "human", "value": "a and b"},
            {
                "from": "gpt",
                "value": "<tool_call>{'name': 'f', 'arguments': {}}</tool_call><tool_call>{'name': 'g', 'arguments': {}}</tool_call>",
            },
            {"from": "tool", "value": '<tool_response>{"name": "f", "content": 1}</tool_response>'},
            {"from": "tool", "value": '<tool_response>{"name": "g", "content": 2}</tool_response>'},
        ]
    }
    dialog = next(read_dialogs(write_jsonl(tmp_path / "h.jsonl", [row]), "hermes"))
    assert codes(dialog) == ["tool.malformed", "tool.malformed"]  # read errors, not a crash
    assert [(m.tool_call_id, m.name, m.content) for m in dialog.messages if m.role == "tool"] == [
        ("call_1", "f", "1"),
        ("call_2", "g", "2"),
    ]


# --- glaive ------------------------------------------------------------------------------------------


def test_glaive_single_quoted_arguments_and_linked_response() -> None:
    dialog = by_id(DATA / "glaive.json")["glaive:0"]
    assert [t.name for t in dialog.tools] == ["convert_currency"]
    assert dialog.tools[0].source == "glaive"
    system = dialog.messages[0]
    assert system.role == "system" and (system.content or "").startswith("You are a helpful assistant")
    assert calls(dialog.messages[2]) == [
        ("call_1", "convert_currency", {"amount": 1000, "from_currency": "USD", "to_currency": "EUR"})
    ]
    assert dialog.messages[3].tool_call_id == "call_1"
    assert json.loads(dialog.messages[3].content or "")["converted_amount"] == 850.0
    assert (
        dialog.messages[4].content == "Sure, 1000 US dollars is approximately 850 Euros."
    )  # no <|endoftext|>


def test_glaive_apostrophe_inside_quoted_arguments() -> None:
    dialog = by_id(DATA / "glaive.json")["glaive:2"]
    assert calls(dialog.messages[2]) == [("call_1", "search_movie", {"title": "Harry's Journey"})]


def test_glaive_two_functions_two_calls_and_text_before_a_call() -> None:
    dialog = by_id(DATA / "glaive.json")["glaive:3"]
    assert [t.name for t in dialog.tools] == ["convert_currency", "calculate_tip"]
    assert [m.role for m in dialog.messages] == [
        "system", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant",
    ]  # fmt: skip
    later = dialog.messages[6]
    assert later.content == "Let me work that out."
    assert calls(later) == [("call_2", "calculate_tip", {"bill_amount": 63.5, "tip_percentage": 15})]
    assert dialog.messages[7].tool_call_id == "call_2"


def test_glaive_without_functions_and_its_errors() -> None:
    dialogs = by_id(DATA / "glaive.json")
    plain = dialogs["glaive:1"]
    assert plain.tools == () and [m.role for m in plain.messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    broken = dialogs["glaive:4"]
    assert broken.messages[-1].tool_calls == () and "<functioncall>" in (broken.messages[-1].content or "")
    unlinked = dialogs["glaive:6"]
    assert unlinked.messages[2].role == "tool" and unlinked.messages[2].tool_call_id is None


def test_glaive_transcript_must_start_with_a_speaker(tmp_path: Path) -> None:
    rows = [
        {"system": "SYSTEM: none", "chat": "USER: hi\n\n\nASSISTANT: hello <|endoftext|>"},
        {"system": "SYSTEM: none", "chat": "hello there"},
    ]
    first, second = read_dialogs(write_jsonl(tmp_path / "g.jsonl", rows), "glaive")
    assert [m.content for m in first.messages] == ["none", "hi", "hello"]
    assert codes(second) == ["record.malformed"] and "must start with" in second.meta.read_errors[0].message


# --- apigen_mt ---------------------------------------------------------------------------------------


def test_apigen_mt_named_or_auto_reads_the_same_dialogs() -> None:
    named = list(read_dialogs(DATA / "apigen_mt.json", "apigen_mt"))
    auto = list(read_dialogs(DATA / "apigen_mt.json"))
    assert {d.meta.source for d in auto} == {"sharegpt"}
    assert [d.messages for d in named] == [d.messages for d in auto]
    first = named[0]
    assert [t.name for t in first.tools] == ["find_user_id_by_name_zip", "get_order_details", "think"]
    assert first.tools[0].source == "apigen_mt"
    assert first.messages[0].role == "system" and (first.messages[0].content or "").startswith(
        "# Retail agent policy"
    )
    assert [(m.tool_call_id, m.content) for m in first.messages if m.role == "tool"][:2] == [
        ("call_1", "sara_doe_496"),
        ("call_2", ""),  # the think tool returns nothing
    ]


def test_apigen_mt_parallel_calls_answered_turn_by_turn_or_in_one_list() -> None:
    dialogs = by_id(DATA / "apigen_mt.json", "apigen_mt")
    for id in ("apigen_mt:1", "apigen_mt:2"):
        dialog = dialogs[id]
        assert [c.id for c in dialog.messages[2].tool_calls] == ["call_1", "call_2"]
        results = [
            (m.tool_call_id, json.loads(m.content or "")["order_id"])
            for m in dialog.messages
            if m.role == "tool"
        ]
        assert [r[0] for r in results] == ["call_1", "call_2"], id
        assert len({r[1] for r in results}) == 2


def test_sharegpt_one_observation_per_call_is_not_a_read_error(tmp_path: Path) -> None:
    row = {
        "conversations": [
            {"from": "human", "value": "a and b"},
            {
                "from": "function_call",
                "value": '[{"name": "f", "arguments": {"x": 1}}, {"name": "f", "arguments": {"x": 2}}]',
            },
            {"from": "observation", "value": "one"},
            {"from": "observation", "value": "two"},
            {"from": "gpt", "value": "done"},
        ]
    }
    dialog = next(read_dialogs(write_jsonl(tmp_path / "s.jsonl", [row]), "sharegpt"))
    assert [(m.tool_call_id, m.content) for m in dialog.messages if m.role == "tool"] == [
        ("call_1", "one"),
        ("call_2", "two"),
    ]
    assert dialog.meta.read_errors == ()


# --- when2call ---------------------------------------------------------------------------------------


def test_when2call_tool_call_answer_and_its_scenario() -> None:
    dialog = by_id(DATA / "when2call.jsonl")["w2c-tool-call"]
    assert [t.name for t in dialog.tools] == ["get_service_id", "get_current_weather"]
    assert dialog.tools[0].dialect == "bfcl" and dialog.tools[0].source == "when2call"
    assert [m.role for m in dialog.messages] == ["user", "assistant"]
    assert calls(dialog.messages[1]) == [("call_1", "get_service_id", {"service_id": 2, "province_id": 2})]
    assert dialog.meta.scenario is Scenario.SINGLE
    extra = dialog.meta.extra
    assert extra["correct_answer"] == "tool_call" and extra["origin"] == "BFCL v2 Live Simple"
    assert extra["source_id"] == "live_simple_179-104-0"
    assert set(extra["answers"]) == {"direct", "tool_call", "request_for_info", "cannot_answer"}


def test_when2call_request_for_info_cannot_answer_and_direct() -> None:
    dialogs = by_id(DATA / "when2call.jsonl")
    clarify = dialogs["w2c-rfi"]
    assert clarify.meta.scenario is Scenario.CLARIFY and clarify.meta.missing == ("location",)
    assert clarify.messages[1] == Message(
        role="assistant", content="Sure, which location would you like the current weather for?"
    )
    cannot = dialogs["w2c-cannot"]
    assert cannot.meta.scenario is Scenario.NO_CALL and cannot.messages[1].tool_calls == ()
    direct = dialogs["when2call:4"]  # no uuid: the line number
    assert direct.meta.scenario is Scenario.NO_CALL
    assert direct.messages[1].content == "Octopuses have three hearts."


def test_when2call_tagged_call_bad_call_and_malformed_keeps_the_uuid() -> None:
    dialogs = by_id(DATA / "when2call.jsonl")
    tagged = dialogs["w2c-tagged"]
    assert calls(tagged.messages[1]) == [
        ("call_1", "get_current_weather", {"location": "Paris, France", "unit": "celsius"})
    ]
    bad = dialogs["w2c-bad-call"]
    assert bad.meta.scenario is Scenario.SINGLE  # declared by the data, whatever the text holds
    assert bad.messages[1].tool_calls == () and bad.meta.read_errors[0].message_index == 1
    assert [t.name for t in dialogs["w2c-bad-tool"].tools] == ["get_current_weather"]
    malformed = dialogs["w2c-malformed"]
    assert "when2call.jsonl:8" in malformed.meta.read_errors[0].message


def test_when2call_several_calls_declare_no_one_scenario(tmp_path: Path) -> None:
    row = {
        "uuid": "two",
        "question": "Weather in Paris and Rome?",
        "correct_answer": "tool_call",
        "answers": {
            "tool_call": '[{"name": "w", "arguments": {"c": "Paris"}}, {"name": "w", "arguments": {"c": "Rome"}}]'
        },
        "tools": [],
    }
    dialog = next(read_dialogs(write_jsonl(tmp_path / "w.jsonl", [row])))
    assert [c.id for c in dialog.messages[1].tool_calls] == ["call_1", "call_2"]
    assert dialog.meta.scenario is None


@pytest.mark.parametrize("name", ["when2call.jsonl", "hermes.json", "glaive.json"])
def test_new_readers_round_trip_through_callforge_records(tmp_path: Path, name: str) -> None:
    originals = list(read_dialogs(DATA / name))
    out = write_jsonl(tmp_path / "dialogs.jsonl", [d.model_dump(mode="json") for d in originals])
    assert list(read_dialogs(out)) == originals


# --- loose JSON --------------------------------------------------------------------------------------


def test_parse_value_and_values() -> None:
    assert parse_value("{'a': True, 'b': None, 'c': [1, 'x']}") == {"a": True, "b": None, "c": [1, "x"]}
    assert parse_value('{"a": true}') == {"a": True}
    assert parse_values('{"a": 1}\n{"b": 2}') == [{"a": 1}, {"b": 2}]
    assert parse_values("[{'a': 1}, {'b': \"it's\"}]") == [[{"a": 1}, {"b": "it's"}]]
    assert parse_values("{'x': '}{'}, {'y': 2}") == [{"x": "}{"}, {"y": 2}]
    with pytest.raises(ValueError, match="expected a JSON object or list"):
        parse_values("[1] trailing words")
    with pytest.raises(ValueError, match="unclosed"):
        parse_values("[{'a': 1}")


def test_requote_and_call_text() -> None:
    assert requote_arguments("""{"name": "f", "arguments": '{"q": "it's", "n": 2}'}""") == {
        "name": "f",
        "arguments": '{"q": "it\'s", "n": 2}',
    }
    assert parse_call_text("""{"name": "f", "arguments": '{"a": 1}'}""")["arguments"] == '{"a": 1}'
    call = lenient_call(parse_call_text("""{"name": "f", "arguments": '{"a": 1}'}"""))
    assert (call.name, call.arguments) == ("f", {"a": 1})
    assert lenient_call({"name": "f", "arguments": "{'a': [1, 2]}"}).arguments == {"a": [1, 2]}
    with pytest.raises(ValueError, match="not valid JSON"):
        lenient_call({"name": "f", "arguments": "a=1"})


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch /tmp/callforge-pwned')",
        "{'name': 'f', 'arguments': __import__('os').getcwd()}",
        "(lambda: 1)()",
    ],
)
def test_loose_parsing_never_evaluates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_value(text)
    with pytest.raises(ValueError):
        parse_call_text(text)
    assert not Path("/tmp/callforge-pwned").exists()


# --- OpenAI "weight": 0 ------------------------------------------------------------------------------

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _recovery() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="Weather in Paris?"),
            Message(
                role="assistant",
                tool_calls=(ToolCall(name="get_weather", arguments={"city": "Pariss"}, id="bad"),),
            ),
            Message(role="tool", tool_call_id="bad", content='{"error": "unknown city Pariss"}'),
            Message(
                role="assistant",
                tool_calls=(ToolCall(name="get_weather", arguments={"city": "Paris"}, id="good"),),
            ),
            Message(role="tool", tool_call_id="good", content='{"temp_c": 9}'),
            Message(role="assistant", content="9 °C in Paris."),
        ),
        meta=Provenance(
            id="d2",
            scenario=Scenario.ERROR_RECOVERY,
            masked=(MaskedCall(id="bad", reason=MaskReason.INJECTED),),
        ),
    )


def _plain() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="Weather in Rome?"),
            Message(
                role="assistant",
                tool_calls=(ToolCall(name="get_weather", arguments={"city": "Rome"}, id="c1"),),
            ),
            Message(role="tool", tool_call_id="c1", content='{"temp_c": 15}'),
            Message(role="assistant", content="15 °C in Rome."),
        ),
        meta=Provenance(id="d1"),
    )


def _run_folder(tmp_path: Path, dialogs: list[Dialog]) -> Path:
    run = tmp_path / "run"
    (run / "accepted").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"job": "generate"}))
    rows: list[dict[str, Any]] = [
        {"id": d.meta.id, "ok": True, "stages": [], "dialog": d.model_dump(mode="json")} for d in dialogs
    ]
    (run / "accepted" / "part-0001.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return run


def test_openai_export_weight_zero_reads_back_as_injected_mask(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, [_plain(), _recovery()])
    report = export(run, tmp_path / "out", format="openai")
    assert report.written == 2
    plain, recovery = read_dialogs(tmp_path / "out" / "data.jsonl")
    assert plain.masked_calls() == frozenset()
    assert recovery.masked_calls() == frozenset({"bad"})
    assert recovery.masked_calls(MaskReason.INJECTED) == frozenset({"bad"})
    assert recovery.meta.read_errors == ()

    def shape(d: Dialog) -> list[tuple[object, ...]]:
        return [(m.role, m.content, m.tool_calls, m.tool_call_id) for m in d.messages]

    assert shape(recovery) == shape(_recovery())  # ids kept, so the mask names the same call
    # and a second export masks the same message again
    assert [m.get("weight") for m in to_openai(recovery)["messages"]] == [None, 0, None, None, None, None]


def test_openai_weight_only_zero_on_calls_masks(tmp_path: Path) -> None:
    call = {"id": "k", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "X"}'}}
    rows: list[dict[str, Any]] = [
        {
            "id": "one",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [call], "weight": 1},
            ],
        },
        {
            "id": "false",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [call], "weight": False},
            ],
        },
        {
            "id": "text",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "content": "hi", "weight": 0},
            ],
        },
        {
            "id": "zero",
            "messages": [
                {"role": "user", "content": "x"},
                {"role": "assistant", "tool_calls": [call], "weight": 0.0},
            ],
        },
    ]
    dialogs = by_id(write_jsonl(tmp_path / "o.jsonl", rows), "openai")
    assert {id: d.masked_calls() for id, d in dialogs.items()} == {
        "one": frozenset(),
        "false": frozenset(),
        "text": frozenset(),
        "zero": frozenset({"k"}),
    }
