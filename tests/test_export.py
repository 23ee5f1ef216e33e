"""Export: OpenAI and ShareGPT records read back into the same dialogs; injected wrong calls masked or skipped."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec
from callforge.export import export, iter_dialogs, to_openai, to_sharegpt
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
    rows = [{"id": d.meta.id, "ok": True, "stages": [], "dialog": d.model_dump(mode="json")} for d in dialogs]
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
    assert not any(d.meta.read_errors for d in back)


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


def _single(calls: tuple[ToolCall, ...], tools: tuple[ToolSpec, ...], id: str) -> Dialog:
    messages = [Message(role="user", content="Please help with Oslo.")]
    if calls:
        messages.append(Message(role="assistant", tool_calls=calls))
        messages += [Message(role="tool", tool_call_id=c.id, content="{}") for c in calls]
    messages.append(Message(role="assistant", content="Done."))
    return Dialog(tools=tools, messages=tuple(messages), meta={"id": id})


def _python_call(call: ToolCall) -> str:
    return f"{call.name}({', '.join(f'{k}={v!r}' for k, v in call.arguments.items())})"


def test_bfcl_export_is_an_eval_set_the_dialogs_own_calls_pass(tmp_path: Path) -> None:
    from callforge.evaluate import make_scorer
    from callforge.formats import load_bfcl_suite

    w = lambda city, i: ToolCall(name="get_weather", arguments={"city": city}, id=f"w{i}")  # noqa: E731
    dialogs = [
        _single((w("Oslo", 1),), (WEATHER,), "a"),
        _single((ToolCall(name="get_time", arguments={"city": "Oslo"}, id="t"),), (WEATHER, TIME), "b"),
        _single((w("Oslo", 2), w("Rome", 3)), (WEATHER,), "c"),
        _single((w("Oslo", 4), ToolCall(name="get_time", arguments={"city": "Oslo", "h24": True}, id="t2")), (WEATHER, TIME), "d"),
        _single((), (WEATHER,), "e"),
        _parallel(),  # two user turns: no single-turn category
        _recovery(),  # a planted wrong call: not an eval case
    ]
    run = _run_folder(tmp_path, dialogs)
    report = export(run, tmp_path / "bfcl", format="bfcl")
    assert report.categories == {"irrelevance": 1, "multiple": 1, "parallel": 1, "parallel_multiple": 1, "simple_python": 1}
    assert report.skipped == {"not_single_turn": 2}
    cases = {c.id: c for c in load_bfcl_suite(tmp_path / "bfcl")}
    assert set(cases) == {"simple_python_0", "multiple_0", "parallel_0", "parallel_multiple_0", "irrelevance_0"}
    scorer = make_scorer("bfcl", "prompting")
    by_case = {"simple_python_0": dialogs[0], "multiple_0": dialogs[1], "parallel_0": dialogs[2], "parallel_multiple_0": dialogs[3]}
    for case_id, dialog in by_case.items():
        calls = dialog.messages[1].tool_calls
        verdict = scorer.score(cases[case_id], "[" + ", ".join(_python_call(c) for c in calls) + "]")
        assert verdict.ok, (case_id, verdict)
    # get_time's optional h24 may be left out, and a wrong value fails
    assert scorer.score(cases["multiple_0"], "[get_time(city='Oslo', h24=False)]").ok is False
    assert scorer.score(cases["simple_python_0"], "[get_weather(city='Rome')]").ok is False
    assert scorer.score(cases["irrelevance_0"], "I cannot help with that.").ok
    cli_run = cli("export", str(run), "--format", "bfcl", "--out", str(tmp_path / "bfcl2"))
    assert cli_run.returncode == 0 and "as irrelevance 1, multiple 1" in cli_run.stdout, cli_run.stderr


# -- hf (Parquet), steps, chat through export() ----------------------------------------------------


def test_hf_parquet_loads_with_datasets_and_reads_back(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    run = _run_folder(tmp_path, [_parallel(), _recovery()])
    report = export(run, tmp_path / "hf", format="hf", keep_injected=True)
    assert report.written == 2 and report.files == (tmp_path / "hf" / "data.parquet",)
    loaded = datasets.load_dataset("parquet", data_files=str(report.files[0]), split="train")
    assert loaded.column_names == ["id", "messages", "tools"] and loaded.num_rows == 2
    assert json.loads(loaded[0]["tools"])[1]["function"]["name"] == "get_time"
    call = loaded[0]["messages"][2]["tool_calls"][0]["function"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Oslo"}
    assert loaded[1]["messages"][1]["weight"] == 0
    back = list(iter_dialogs(tmp_path / "hf"))
    assert [_shape(d) for d in back] == [_shape(_parallel()), _shape(_recovery())]
    assert back[0].tools[1].parameters == TIME.parameters
    skipped = export(run, tmp_path / "hf2", format="hf")
    assert (skipped.written, skipped.skipped_injected) == (1, 1)


def test_hf_push_needs_credentials_and_keeps_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")
    import callforge.export.hf as hf

    run = _run_folder(tmp_path, [_parallel()])
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(hf, "_logged_in", lambda: False)
    with pytest.raises(ConfigError, match="HF_TOKEN"):
        export(run, tmp_path / "a", format="hf", push_to_hub="me/tools")
    assert (tmp_path / "a" / "data.parquet").is_file()
    pushed: list[tuple[str, str | None]] = []
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    monkeypatch.setattr(datasets.Dataset, "push_to_hub", lambda self, repo, token=None: pushed.append((repo, token)))
    export(run, tmp_path / "b", format="hf", push_to_hub="me/tools")
    assert pushed == [("me/tools", "hf_test")]


def test_steps_give_one_example_per_assistant_turn_and_read_back(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, [_parallel(), _recovery()])
    report = export(run, tmp_path / "steps", format="steps")
    records = [json.loads(line) for line in (tmp_path / "steps" / "data.jsonl").read_text().splitlines()]
    # parallel: 4 assistant turns; recovery: 3, less the planted wrong call
    assert report.written == 2 and report.records == len(records) == 6
    assert [r["id"] for r in records[:4]] == ["d1:2", "d1:5", "d1:7", "d1:9"]
    assert all(len(r["completion"]) == 1 and r["completion"][0]["role"] == "assistant" for r in records)
    assert records[4]["prompt"][1]["tool_calls"][0]["function"]["arguments"] == '{"city":"Pariss"}'  # context, not target
    back = list(read_dialogs(tmp_path / "steps" / "data.jsonl"))
    assert len(back) == 6 and not any(d.meta.read_errors for d in back)
    assert _shape(back[3]) == _shape(_parallel())  # the last step holds the whole dialog
    assert _shape(back[5]) == _shape(_recovery())


def test_chat_renders_text_and_skips_what_it_cannot_mask(tmp_path: Path) -> None:
    run = _run_folder(tmp_path, [_parallel(), _recovery()])
    report = export(run, tmp_path / "chat", format="chat", template="qwen2.5")
    assert (report.written, report.skipped_injected) == (1, 1)
    record = json.loads((tmp_path / "chat" / "data.jsonl").read_text())
    assert record["id"] == "d1" and record["text"].startswith("<|im_start|>system\nYou are helpful.")
    assert '<tool_call>\n{"name": "get_time", "arguments": {"city": "Oslo", "h24": true}}\n</tool_call>' in record["text"]
    with pytest.raises(ConfigError, match=r"qwen2\.5"):
        export(run, tmp_path / "bad", format="chat", template="no-such-template")
