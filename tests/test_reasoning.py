"""Reasoning traces (issue 24): the assistant's thought is generated, checked against its calls, and exported per mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from callforge.cli import app
from callforge.core import ConfigError, Dialog, MaskedCall, MaskReason, Message, ToolCall, ToolSpec
from callforge.export import export, to_openai, to_sharegpt, with_reasoning
from callforge.export.chat import load_template
from callforge.export.chat_read import read_chat
from callforge.formats import read_dialogs
from callforge.generate import generate
from callforge.generate.roles import AssistantRole, split_thought
from callforge.llm import Completion, WorldBackend
from callforge.verify import RuleStage, default_checks
from callforge.verify.rules import ReasoningCheck

TOOLS = Path(__file__).resolve().parent.parent / "examples" / "tools" / "travel.py"

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
TIME = ToolSpec(
    name="get_time",
    description="Local time of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
AGREEING = (
    'The user wants the weather in two cities, so 2 calls: get_weather with city = "Paris" (from the user) and '
    "unit = C, then get_weather with city = Rome and days = 3. get_time is not needed."
)


def _dialog(thought: str | None = AGREEING) -> Dialog:
    calls = (
        ToolCall(name="get_weather", arguments={"city": "Paris", "unit": "C"}, id="c1"),
        ToolCall(name="get_weather", arguments={"city": "Rome", "days": 3}, id="c2"),
    )
    return Dialog(
        tools=(WEATHER, TIME),
        messages=(
            Message(role="system", content="You are helpful."),
            Message(role="user", content="Weather in Paris in C, and Rome for 3 days?"),
            Message(role="assistant", tool_calls=calls, reasoning=thought),
            Message(role="tool", tool_call_id="c1", name="get_weather", content='{"temp_c": 21}'),
            Message(role="tool", tool_call_id="c2", name="get_weather", content='{"temp_c": 25}'),
            Message(role="assistant", content="Paris is 21 °C and Rome 25 °C."),
        ),
        meta={"id": "r-1"},
    )


def _codes(dialog: Dialog) -> list[str]:
    return [v.code for v in RuleStage([ReasoningCheck()]).run(dialog)]


# -- generate ------------------------------------------------------------------------------------


def _assistant_rows(folder: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for f in sorted((folder / "accepted").glob("*.jsonl")) for line in f.read_text().splitlines()]
    return [m for r in rows for m in r["dialog"]["messages"] if m["role"] == "assistant"]


def test_fake_world_writes_a_checked_thought_before_each_step_of_calls(tmp_path: Path) -> None:
    report = generate(tools=[TOOLS], n=6, out=tmp_path / "on", model="fake:world", seed=3, concurrency=1, reasoning=True)
    assert report.tally.accepted == 6
    made = [m for m in _assistant_rows(tmp_path / "on") if m["tool_calls"]]
    thought = [m for m in made if m.get("reasoning")]
    assert len(thought) >= 3  # every step the assistant made (a planted wrong call is not the assistant's)
    for message in thought:
        count = len(message["tool_calls"])
        assert message["reasoning"].startswith(f"The request needs {count} call")
        for call in message["tool_calls"]:
            assert f"Call {call['name']} " in message["reasoning"]
            for name, value in call["arguments"].items():
                assert f"{name} = {json.dumps(value, ensure_ascii=False).replace(', ', ',').replace(': ', ':')}" in message[
                    "reasoning"
                ].replace(", ", ",").replace(": ", ":")
        assert "<think>" not in (message["content"] or "")
    manifest = json.loads((tmp_path / "on" / "manifest.json").read_text())
    assert manifest["config"]["reasoning"] is True

    generate(tools=[TOOLS], n=3, out=tmp_path / "off", model="fake:world", seed=3, concurrency=1)
    assert not any(m.get("reasoning") for m in _assistant_rows(tmp_path / "off"))


def test_the_assistant_role_asks_for_a_thought_and_separates_it() -> None:
    role = AssistantRole(WorldBackend(), today="2026-12-06", reasoning=True)
    assert "<think>" in role.system
    plain = AssistantRole(WorldBackend(), today="2026-12-06")
    assert "<think>" not in plain.system
    reply = Completion(text="<think>Call get_weather once.</think>\nok", tool_calls=(ToolCall(name="get_weather"),))
    assert role.thought(reply) == ("Call get_weather once.", "ok")
    assert plain.thought(reply)[0] is None
    served = Completion(text="", raw={"choices": [{"message": {"reasoning_content": " from the server "}}]})
    assert split_thought(served) == ("from the server", "")
    assert split_thought(Completion(text="<think>cut off by the token limit")) == ("cut off by the token limit", "")


def test_the_generate_cli_has_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["generate", "--tools", str(TOOLS), "--model", "fake:world", "-n", "2", "--out", str(tmp_path / "r"), "--reasoning", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert any(m.get("reasoning") for m in _assistant_rows(tmp_path / "r"))


# -- the rule ------------------------------------------------------------------------------------


def test_an_agreeing_thought_passes_and_the_rule_is_a_default() -> None:
    assert "reasoning" in [c.name for c in default_checks()]
    assert _codes(_dialog()) == []
    assert _codes(_dialog(None)) == []  # no thought, nothing to check


@pytest.mark.parametrize(
    ("thought", "code", "said"),
    [
        ("Call get_wether for Paris and Rome, 2 calls.", "reasoning.unknown_tool", "'get_wether'"),
        ("2 calls: get_weather(city='Paris') and get_weather for Rome; then lookup_forecast(city).", "reasoning.unknown_tool", "lookup_forecast"),
        ("2 calls to get_weather, then get_time for Paris.", "reasoning.uncalled_tool", "'get_time'"),
        ('2 calls to get_weather with city = "Lyon" and city = "Rome".', "reasoning.value_mismatch", "city = 'Lyon'"),
        ("2 calls to get_weather: unit = F for Paris, days = 3 for Rome.", "reasoning.value_mismatch", "unit = 'F'"),
        ("2 calls to get_weather: days = 4 for Rome.", "reasoning.value_mismatch", "days = 4"),
        ("three calls to get_weather for Paris and Rome.", "reasoning.count_mismatch", "'three calls'"),
        ("A single call to get_weather covers both.", "reasoning.count_mismatch", "makes 2 calls"),
    ],
)
def test_each_kind_of_disagreement_is_caught_with_a_feedback_message(thought: str, code: str, said: str) -> None:
    verdicts = RuleStage([ReasoningCheck()]).run(_dialog(thought))
    assert [v.code for v in verdicts] == [code]
    assert said in verdicts[0].message and "message 2" in verdicts[0].message
    assert verdicts[0].evidence["message_index"] == 2


def test_rejected_tools_planned_steps_and_values_cut_at_a_comma_pass() -> None:
    assert _codes(_dialog("2 calls to get_weather, not get_time: the user asked for no time.")) == []
    assert _codes(_dialog("Instead of get_time I use get_weather: 2 calls, city = Paris, unit = 'C'.")) == []
    sequential = Dialog(
        tools=(WEATHER, TIME),
        messages=(
            Message(role="user", content="Time in the city where it is warmest, Paris or Rome?"),
            Message(
                role="assistant",
                reasoning="2 calls in turn: first get_weather with city = Paris, then get_time for the warmer city.",
                tool_calls=(ToolCall(name="get_weather", arguments={"city": "Paris"}, id="a"),),
            ),
            Message(role="tool", tool_call_id="a", content='{"temp_c": 30}'),
            Message(
                role="assistant",
                reasoning="get_weather said 30, so get_time with city = Paris, France.",
                tool_calls=(ToolCall(name="get_time", arguments={"city": "Paris, France"}, id="b"),),
            ),
            Message(role="tool", tool_call_id="b", content='{"time": "10:00"}'),
            Message(role="assistant", content="Paris: 10:00."),
        ),
    )
    assert _codes(sequential) == []


def test_a_planted_wrong_call_is_not_held_to_its_thought() -> None:
    dialog = _dialog("Call get_wether, five calls.")
    dialog = dialog.model_copy(update={"meta": dialog.meta.model_copy(update={"masked": (MaskedCall(id="c1", reason=MaskReason.INJECTED), MaskedCall(id="c2", reason=MaskReason.INJECTED))})})
    assert _codes(dialog) == []


# -- export --------------------------------------------------------------------------------------


def _source(tmp_path: Path) -> Path:
    path = tmp_path / "dialogs.jsonl"
    path.write_text(json.dumps(_dialog().model_dump(mode="json")) + "\n", encoding="utf-8")
    return path


def _text(folder: Path) -> str:
    return str(json.loads((folder / "data.jsonl").read_text())["text"])


def test_chat_export_puts_the_thought_in_the_qwen3_think_slot_and_reads_back(tmp_path: Path) -> None:
    export(_source(tmp_path), tmp_path / "q3", format="chat", template="qwen3")
    text = _text(tmp_path / "q3")
    turn = "<|im_start|>assistant\n<think>\n" + AGREEING + "\n</think>\n\n<tool_call>\n"
    assert turn in text and text.count("<think>") == 1
    back = read_chat(text, "qwen3")
    assert back.messages[2].reasoning == AGREEING and back.messages[2].content is None
    assert [c.arguments for c in back.messages[2].tool_calls] == [{"city": "Paris", "unit": "C"}, {"city": "Rome", "days": 3}]
    assert load_template("qwen3").thinks and not load_template("qwen2.5").thinks


def test_chat_export_without_a_slot_drops_by_default_or_keeps_inline(tmp_path: Path) -> None:
    export(_source(tmp_path), tmp_path / "q25", format="chat", template="qwen2.5")
    assert "<think>" not in _text(tmp_path / "q25")
    export(_source(tmp_path), tmp_path / "q25-keep", format="chat", template="qwen2.5", reasoning="keep")
    text = _text(tmp_path / "q25-keep")
    assert "<|im_start|>assistant\n<think>\n" + AGREEING + "\n</think>\n<tool_call>\n" in text
    export(_source(tmp_path), tmp_path / "q3-drop", format="chat", template="qwen3", reasoning="drop")
    assert "<think>" not in _text(tmp_path / "q3-drop")
    with pytest.raises(ConfigError, match="chat text"):
        export(_source(tmp_path), tmp_path / "bad", format="chat", template="qwen3", reasoning="field")
    with pytest.raises(ConfigError, match="unknown reasoning mode"):
        export(_source(tmp_path), tmp_path / "bad2", format="openai", reasoning="inline")


def test_openai_field_keep_and_drop_round_trip(tmp_path: Path) -> None:
    for mode in ("field", "keep", "drop"):
        export(_source(tmp_path), tmp_path / mode, format="openai", reasoning=mode)
    field = json.loads((tmp_path / "field" / "data.jsonl").read_text())["messages"][2]
    assert field["reasoning_content"] == AGREEING and field["content"] is None
    kept = json.loads((tmp_path / "keep" / "data.jsonl").read_text())["messages"][2]
    assert kept["content"] == f"<think>\n{AGREEING}\n</think>" and "reasoning_content" not in kept
    dropped = json.loads((tmp_path / "drop" / "data.jsonl").read_text())["messages"][2]
    assert "reasoning_content" not in dropped and dropped["content"] is None
    # the default for OpenAI-shaped records is the field
    export(_source(tmp_path), tmp_path / "default", format="openai")
    assert (tmp_path / "default" / "data.jsonl").read_text() == (tmp_path / "field" / "data.jsonl").read_text()
    original = _dialog().messages
    for mode in ("field", "keep"):
        back = next(iter(read_dialogs(tmp_path / mode / "data.jsonl")))
        assert back.messages == original, mode
    back = next(iter(read_dialogs(tmp_path / "drop" / "data.jsonl")))
    assert back.messages[2].reasoning is None


def test_sharegpt_keeps_the_thought_at_the_head_of_the_turn_and_reads_it_back(tmp_path: Path) -> None:
    record = to_sharegpt(_dialog())
    call_turn = record["conversations"][1]
    assert call_turn["from"] == "function_call" and call_turn["value"].startswith(f"<think>\n{AGREEING}\n</think>\n\n[")
    export(_source(tmp_path), tmp_path / "sg", format="sharegpt")
    back = next(iter(read_dialogs(tmp_path / "sg" / "data.jsonl", format="sharegpt")))
    assert back.messages[2].reasoning == AGREEING
    with pytest.raises(ConfigError, match="ShareGPT"):
        export(_source(tmp_path), tmp_path / "sg-field", format="sharegpt", reasoning="field")


def test_the_writers_and_the_transform_leave_thoughtless_dialogs_alone() -> None:
    plain = _dialog(None)
    assert with_reasoning(plain, "keep", inline=True) is plain
    assert "reasoning_content" not in json.dumps(to_openai(plain))
    answer = _dialog().model_copy(
        update={"messages": (Message(role="user", content="hi"), Message(role="assistant", content="Hello!", reasoning="Greet back."))}
    )
    inline = with_reasoning(answer, "keep", inline=True)
    assert inline.messages[1].content == "<think>\nGreet back.\n</think>\n\nHello!" and inline.messages[1].reasoning is None


def test_the_export_cli_takes_the_mode(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["export", str(_source(tmp_path)), "--out", str(tmp_path / "o"), "--format", "chat", "--template", "qwen2.5", "--reasoning", "keep"]
    )
    assert result.exit_code == 0, result.output
    assert "<think>" in _text(tmp_path / "o")


def test_the_parquet_export_keeps_the_thought_as_a_field_and_reads_it_back(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from callforge.export import iter_dialogs

    export(_source(tmp_path), tmp_path / "hf", format="hf")
    back = next(iter(iter_dialogs(tmp_path / "hf" / "data.parquet")))
    assert back.messages[2].reasoning == AGREEING and back.messages == _dialog().messages
