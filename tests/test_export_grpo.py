"""export --format grpo: the turns of steps, as RL prompts with reference calls (and an episode's world)."""

from __future__ import annotations

import json
from pathlib import Path

from callforge.core import Dialog, Message, ToolCall, ToolSpec
from callforge.export import export, to_grpo, to_steps
from callforge.reward import make_reward

WEATHER = ToolSpec(
    name="get_weather", description="Weather.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _dialog(meta: dict[str, object] | None = None) -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="system", content="Be brief."),
            Message(role="user", content="Weather in Oslo?"),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Olso"}, id="bad"),)),
            Message(role="tool", tool_call_id="bad", content='{"error": "unknown city"}'),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Oslo"}, id="c1"),)),
            Message(role="tool", tool_call_id="c1", content='{"temp_c": 3}'),
            Message(role="assistant", content="3 °C."),
        ),
        meta=meta or {"id": "d1", "injected_errors": ["bad"]},
    )


def test_grpo_rows_are_the_steps_turns_with_reference_calls() -> None:
    dialog = _dialog()
    rows, steps = to_grpo(dialog), to_steps(dialog)
    assert [r["id"] for r in rows] == [s["id"] for s in steps] == ["d1:4", "d1:6"]  # the masked call is no row
    call, answer = rows
    assert call["prompt"][0] == {"role": "system", "content": "Be brief."} and len(call["prompt"]) == 4
    assert call["reference_calls"] == [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert answer["reference_calls"] == [] and "environment" not in call and "prior_calls" not in call
    reward = make_reward("format=0.2,exact=1")
    right = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    assert reward([right, "3 °C."], **{k: [call[k], answer[k]] for k in ("tools", "reference_calls", "prompt")}) == [1.0, 1.0]


def test_episode_rows_carry_environment_and_prior_calls() -> None:
    meta = {"id": "e1", "injected_errors": ["bad"], "episode": {"environment": {"python": "bank.py", "class": "Bank"}}}
    rows = to_grpo(_dialog(meta))
    assert Path(rows[0]["environment"]["python"]).is_absolute() and rows[0]["environment"]["class"] == "Bank"
    assert rows[0]["prior_calls"] == [{"name": "get_weather", "arguments": {"city": "Olso"}}]
    assert len(rows[1]["prior_calls"]) == 2


def test_export_grpo_writes_rows(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(_dialog().model_dump(mode="json")) + "\n", encoding="utf-8")
    report = export(source, tmp_path / "out", format="grpo")
    assert report.written == 1 and report.records == 2
    rows = [json.loads(line) for line in (tmp_path / "out" / "data.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["d1:4", "d1:6"]
