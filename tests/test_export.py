"""Export: OpenAI and ShareGPT records read back into the same dialogs; injected wrong calls masked or skipped."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec
from callforge.export import export, to_openai, to_sharegpt
from callforge.formats import read_dialogs
from tests.test_cli_generate import cli

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = ToolSpec(
    name="get_time",
    description="Local time of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}, "h24": {"type": "boolean"}}},
)


def _parallel() -> Dialog:
    return Dialog(
        tools=(WEATHER, TIME),
        messages=(
            Message(role="system", content="You are helpful."),
            Message(role="user", content="Weather and time in Oslo?"),
            Message(
                role="assistant",
                tool_calls=(
                    ToolCall(name="get_weather", arguments={"city": "Oslo"}, id="c1"),
                    ToolCall(name="get_time", arguments={"city": "Oslo", "h24": True}, id="c2"),
                ),
            ),
            Message(role="tool", tool_call_id="c1", content='{"temp_c": 3}'),
            Message(role="tool", tool_call_id="c2", content='"14:05"'),
            Message(role="assistant", content="3 °C and 14:05 in Oslo."),
            Message(role="user", content="And Rome?"),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Rome"}, id="c3"),)),
            Message(role="tool", tool_call_id="c3", content='{"temp_c": 15}'),
            Message(role="assistant", content="15 °C in Rome."),
        ),
        meta={"id": "d1"},
    )


def _recovery() -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content="Weather in Paris?"),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Pariss"}, id="bad"),)),
            Message(role="tool", tool_call_id="bad", content='{"error": "unknown city Pariss"}'),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": "Paris"}, id="good"),)),
            Message(role="tool", tool_call_id="good", content='{"temp_c": 9}'),
            Message(role="assistant", content="9 °C in Paris."),
        ),
        meta={"id": "d2", "injected_errors": ["bad"]},
    )


def _shape(dialog: Dialog) -> list[tuple[object, ...]]:
    """What a trainer sees: roles, texts, calls and outputs in order (call ids aside: formats renumber them)."""
    return [
        (m.role, m.content or "", tuple((c.name, orjson.dumps(c.arguments, option=orjson.OPT_SORT_KEYS)) for c in m.tool_calls))
        for m in dialog.messages
    ]


def _run_folder(tmp_path: Path, dialogs: list[Dialog]) -> Path:
    run = tmp_path / "run"
    (run / "accepted").mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"job": "generate"}))
    rows = [{"id": d.meta["id"], "ok": True, "stages": [], "dialog": d.model_dump(mode="json")} for d in dialogs]
    (run / "accepted" / "part-0001.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return run


@pytest.mark.parametrize("format", ["openai", "sharegpt"])
def test_export_reads_back_into_the_same_dialogs(tmp_path: Path, format: str) -> None:
    run = _run_folder(tmp_path, [_parallel(), _recovery()])
    report = export(run, tmp_path / "out", format=format, keep_injected=True)
    assert report.written == 2
    back = list(read_dialogs(tmp_path / "out" / "data.jsonl", format=format))
    assert [_shape(d) for d in back] == [_shape(_parallel()), _shape(_recovery())]
    assert [t.name for t in back[0].tools] == ["get_weather", "get_time"]
    assert back[0].tools[1].parameters == TIME.parameters
    assert not any(d.meta.get("read_errors") for d in back)


def test_openai_masks_the_injected_wrong_call_only() -> None:
    record = to_openai(_recovery())
    weights = [m.get("weight") for m in record["messages"]]
    assert weights == [None, 0, None, None, None, None]
    assert record["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city":"Pariss"}'


def test_sharegpt_skips_unmaskable_dialogs_and_writes_dataset_info(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, [_parallel(), _recovery()])
    report = export(run, tmp_path / "out", format="sharegpt")
    assert (report.written, report.skipped_injected) == (1, 1)
    info = json.loads((tmp_path / "out" / "dataset_info.json").read_text())
    assert info["callforge"]["file_name"] == "data.jsonl" and info["callforge"]["formatting"] == "sharegpt"
    record = to_sharegpt(_parallel())
    assert [t["from"] for t in record["conversations"]] == [
        "human", "function_call", "observation", "gpt", "human", "function_call", "observation", "gpt"
    ]
    assert json.loads(record["conversations"][2]["value"]) == ['{"temp_c": 3}', '"14:05"']
    assert record["system"] == "You are helpful." and isinstance(record["tools"], str)


def test_export_refuses_to_overwrite_and_names_bad_input(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, [_parallel()])
    export(run, tmp_path / "out")
    with pytest.raises(ConfigError, match="already exists"):
        export(run, tmp_path / "out")
    with pytest.raises(ConfigError, match="not supported"):
        export(run, tmp_path / "other", format="parquet")
    with pytest.raises(ConfigError, match="no such run folder"):
        export(tmp_path / "nope", tmp_path / "x")


def test_cli_export_converts_a_run(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, [_parallel(), _recovery()])
    done = cli("export", str(run), "--format", "sharegpt", "--out", str(tmp_path / "sg"))
    assert done.returncode == 0, done.stderr
    assert "wrote 1 dialogs (sharegpt)" in done.stdout and "skipped 1" in done.stdout
    again = cli("export", str(run), "--out", str(tmp_path / "sg"), "--format", "sharegpt")
    assert again.returncode == 2 and "already exists" in again.stderr
