"""Planted failing calls (error-recovery data): rules skip them, execution requires them to fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

from callforge.core import Dialog, Message, ToolCall
from callforge.execute import PythonEngine
from callforge.verify.execution import ExecutionStage
from callforge.verify.rules import RuleStage

TOOLS_FILE = Path(__file__).resolve().parent / "data" / "gen_tools.py"
ENGINE = PythonEngine(TOOLS_FILE)
TOOLS = ENGINE.describe()


def recovery(bad: dict[str, object], good: dict[str, object], *, injected: bool = True, retry: bool = True) -> Dialog:
    messages = [
        Message(role="user", content="What is the weather in Tokyo, in C?"),
        Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments=bad, id="call_1"),)),
        Message(role="tool", tool_call_id="call_1", content='{"error": "unknown city"}'),
    ]
    if retry:
        messages += [
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments=good, id="call_2"),)),
            Message(role="tool", tool_call_id="call_2", content='{"city": "Tokyo", "temperature": 20.0, "unit": "C"}'),
        ]
    messages.append(Message(role="assistant", content="It is 20.0 C in Tokyo."))
    meta: dict[str, object] = {"scenario": "error_recovery", "plan": [{"name": "get_weather", "arguments": good}]}
    if injected:
        meta["injected_errors"] = ["call_1"]
    return Dialog(tools=TOOLS, messages=tuple(messages), meta=meta)


def codes(dialog: Dialog) -> list[str]:
    return sorted(v.code for v in RuleStage().run(dialog))


def test_rules_ignore_the_planted_call_and_accept_the_correction() -> None:
    good = {"city": "Tokyo", "unit": "C"}
    assert codes(recovery({"city": "Tok", "unit": "C"}, good)) == []
    # without the marker the wrong value is ungrounded and the plan sees an extra call
    assert "arg.ungrounded" in codes(recovery({"city": "Tok", "unit": "C"}, good, injected=False))


def test_error_recovery_needs_the_correction() -> None:
    found = codes(recovery({"city": "Tok", "unit": "C"}, {"city": "Tokyo", "unit": "C"}, retry=False))
    assert "scenario.error_recovery" in found


def test_execution_requires_the_planted_call_to_fail() -> None:
    stage = ExecutionStage(ENGINE)
    failing = asyncio.run(stage.check(recovery({"city": "Tok", "unit": "C"}, {"city": "Tokyo", "unit": "C"})))
    assert failing.ok, failing.failures
    passing = asyncio.run(stage.check(recovery({"city": "Lima", "unit": "C"}, {"city": "Tokyo", "unit": "C"})))
    assert [v.code for v in passing.failures] == ["exec.injected_error_passed"]


def test_a_call_written_as_text_in_the_answer_is_a_defect() -> None:
    call = '{"name": "get_weather", "arguments": {"city": "Tokyo"}}'
    dialog = recovery({"city": "Tok", "unit": "C"}, {"city": "Tokyo", "unit": "C"})
    written = dialog.model_copy(update={"messages": (*dialog.messages[:-1], Message(role="assistant", content=call))})
    assert "dialog.call_as_text" in codes(written)
    prose = dialog.model_copy(update={"messages": (*dialog.messages[:-1], Message(role="assistant", content='Use {"name": "x"} in JSON.'))})
    assert "dialog.call_as_text" not in codes(prose)
