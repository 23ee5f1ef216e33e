"""callforge train: labels only on learned assistant turns; LoRA SFT and DPO make a tiny random model's loss fall.

The model and tokenizer are built here (a BPE trained on the records, a ChatML-like template
that renders tools and tool calls, a 2-layer Llama), so nothing is downloaded.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

import typer
from typer.testing import CliRunner

from callforge.cli.train import register
from callforge.core import ConfigError, DataError, Dialog, Message, ToolCall, ToolSpec
from callforge.export import to_openai
from callforge.train import TrainReport, read_train_data, train
from callforge.train.data import ChatExample
from callforge.train.tokens import IGNORE, tokenise, tokenise_chat, tokenise_pair
from tests.tiny_lm import bpe_tokenizer, one_torch_thread, save_tiny_lm

pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

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
CITIES = {"Oslo": 3, "Rome": 15, "Paris": 9, "Lima": 18, "Cairo": 27, "Tokyo": 11}

TEMPLATE = (
    "{%- if tools %}<|im_start|>tools\n{% for t in tools %}{{ t.function | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{% if m.content %}{{ m.content }}{% endif %}"
    "{%- for c in m.tool_calls or [] %}<tool_call>{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}</tool_call>{% endfor %}"
    "<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _weather(city: str) -> Dialog:
    return Dialog(
        tools=(WEATHER, TIME),
        messages=(
            Message(role="system", content="You are helpful."),
            Message(role="user", content=f"Weather in {city}?"),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": city}, id="c1"),)),
            Message(role="tool", tool_call_id="c1", content=json.dumps({"temp_c": CITIES[city]})),
            Message(role="assistant", content=f"{CITIES[city]} °C in {city}."),
        ),
        meta={"id": f"w-{city}"},
    )


def _recovery(city: str = "Paris") -> Dialog:
    return Dialog(
        tools=(WEATHER,),
        messages=(
            Message(role="user", content=f"Weather in {city}?"),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": city + "s"}, id="bad"),)),
            Message(role="tool", tool_call_id="bad", content=json.dumps({"error": f"unknown city {city}s"})),
            Message(role="assistant", tool_calls=(ToolCall(name="get_weather", arguments={"city": city}, id="good"),)),
            Message(role="tool", tool_call_id="good", content=json.dumps({"temp_c": CITIES[city]})),
            Message(role="assistant", content=f"{CITIES[city]} °C in {city}."),
        ),
        meta={"id": f"r-{city}", "injected_errors": ["bad"]},
    )


def _sft_records() -> list[dict[str, Any]]:
    return [to_openai(_weather(c)) for c in CITIES] + [to_openai(_recovery("Paris")), to_openai(_recovery("Rome"))]


def _dpo_records() -> list[dict[str, Any]]:
    rows = []
    for city in CITIES:
        record = to_openai(_weather(city))
        prompt, chosen = record["messages"][:2], record["messages"][2]
        rejected = json.loads(json.dumps(chosen))
        rejected["tool_calls"][0]["function"]["arguments"] = "{}"
        rows.append(
            {
                "id": f"p-{city}",
                "prompt": prompt,
                "chosen": [chosen],
                "rejected": [rejected],
                "tools": record["tools"],
                "code": "call.missing_required",
                "origin": "mutated",
            }
        )
    return rows


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Llama with a BPE tokenizer trained on the records, saved like a hub model."""
    corpus = [json.dumps(r, ensure_ascii=False) for r in _sft_records() + _dpo_records()]
    tokenizer = bpe_tokenizer(corpus * 3, vocab_size=400, chat_template=TEMPLATE)
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-model"), tokenizer, initializer_range=0.1)


@pytest.fixture(scope="module")
def sft_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_jsonl(tmp_path_factory.mktemp("sft") / "data.jsonl", _sft_records())


@pytest.fixture(scope="module")
def dpo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_jsonl(tmp_path_factory.mktemp("dpo") / "data.jsonl", _dpo_records())


def _tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def test_only_learned_assistant_turns_carry_labels(tiny_model: Path, sft_data: Path) -> None:
    tokenizer = _tokenizer(tiny_model)
    data = read_train_data(sft_data)
    recovery = next(e for e in data.examples if e.id == "r-Paris")
    assert isinstance(recovery, ChatExample)
    assert recovery.trained == (False, False, False, True, False, True)
    assert recovery.messages[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Pariss"}

    tokens = tokenise_chat(tokenizer, recovery, max_length=1024)
    learned = [t for t, label in zip(tokens.input_ids, tokens.labels, strict=True) if label != IGNORE]
    assert all(label in (IGNORE, t) for t, label in zip(tokens.input_ids, tokens.labels, strict=True))
    # exactly the two learned turns, each with its end-of-turn token; not the wrong call, the user or the tools
    assert tokenizer.decode(learned) == (
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call><|im_end|>\n'
        "9 °C in Paris.<|im_end|>\n"
    )
    whole = tokenizer.decode(list(tokens.input_ids))
    assert whole.startswith("<|im_start|>tools\n") and '"city": "Pariss"' in whole
    assert tokens.labels[0] == IGNORE and tokens.labels[-1] != IGNORE


def test_dropped_examples_are_counted_by_reason(tiny_model: Path, sft_data: Path) -> None:
    tokenizer = _tokenizer(tiny_model)
    examples = read_train_data(sft_data).examples
    no_answer = ChatExample(id="q", messages=examples[0].messages[:2], tools=(), trained=(False, False))  # type: ignore[union-attr]
    result = tokenise(tokenizer, [*examples, no_answer], max_length=60)
    assert result.dropped == {"longer than max_length": len(examples), "no assistant turn to learn": 1}
    assert result.dropped_ids["no assistant turn to learn"] == ("q",)


def test_sft_lora_loss_falls(tiny_model: Path, sft_data: Path, tmp_path: Path) -> None:
    report = train(
        sft_data, method="sft", model=str(tiny_model), out=tmp_path / "sft", max_steps=30, lr=1e-2,
        batch_size=4, lora_r=8, lora_alpha=16, logging_steps=5, seed=0,
    )
    print("sft losses", [(p.step, round(p.loss, 4)) for p in report.losses], file=sys.stderr)
    assert report.examples == 8 and report.steps == 30 and not report.dropped
    assert report.first_loss is not None and report.last_loss is not None
    assert report.last_loss < 0.6 * report.first_loss  # measured: 6.33 -> 2.08
    saved = json.loads((tmp_path / "sft" / "train_report.json").read_text())
    assert saved["first_loss"] == report.first_loss and saved["method"] == "sft"
    assert (tmp_path / "sft" / "adapter_config.json").is_file()
    assert (tmp_path / "sft" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "sft" / "tokenizer.json").is_file()


def test_dpo_lora_prefers_chosen(tiny_model: Path, dpo_data: Path, tmp_path: Path) -> None:
    report = train(
        dpo_data, method="dpo", model=str(tiny_model), out=tmp_path / "dpo", max_steps=20, lr=1e-2,
        batch_size=3, lora_r=8, lora_alpha=16, logging_steps=5, beta=0.1, seed=0,
    )
    print("dpo losses", [(p.step, round(p.loss, 4), p.reward_accuracy) for p in report.losses], file=sys.stderr)
    assert report.examples == len(CITIES) and report.steps == 20
    assert report.first_loss == pytest.approx(math.log(2), abs=1e-3)  # policy == reference at the start
    assert report.last_loss is not None and report.last_loss < 0.5
    assert report.losses[-1].reward_accuracy == 1.0
    assert isinstance(report, TrainReport) and (tmp_path / "dpo" / "adapter_config.json").is_file()


def test_dpo_pairs_split_where_the_prompt_ends(tiny_model: Path, dpo_data: Path) -> None:
    tokenizer = _tokenizer(tiny_model)
    pair = read_train_data(dpo_data).examples[0]
    tokens = tokenise_pair(tokenizer, pair, max_length=1024)  # type: ignore[arg-type]
    assert tokenizer.decode(list(tokens.prompt_ids)).endswith("Weather in Oslo?<|im_end|>\n<|im_start|>assistant\n")
    assert tokenizer.decode(list(tokens.chosen_ids)) == (
        '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call><|im_end|>\n'
    )
    assert tokenizer.decode(list(tokens.rejected_ids)) == '<tool_call>{"name": "get_weather", "arguments": {}}</tool_call><|im_end|>\n'


def _run_folder(folder: Path, dialogs: list[Dialog]) -> Path:
    """A finished generation run as `callforge export` reads it: accepted dialogs plus a manifest."""
    (folder / "accepted").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"job": "generate"}))
    rows = [{"id": d.meta.id, "ok": True, "stages": [], "dialog": d.model_dump(mode="json")} for d in dialogs]
    (folder / "accepted" / "part-0001.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_every_training_export_reads_and_tokenises(tiny_model: Path, tmp_path: Path) -> None:
    from callforge.export import export

    tokenizer = _tokenizer(tiny_model)
    run = _run_folder(tmp_path / "run", [_weather(c) for c in CITIES] + [_recovery("Paris")])
    expected = {"openai": "messages", "tasks": "messages", "hf": "messages", "steps": "completion", "chat": "text", "dpo": "preference"}
    read = {}
    for format, shape in expected.items():
        export(run, tmp_path / format, format=format, keep_injected=True)
        data = read_train_data(tmp_path / format)  # the folder the export wrote
        tokens = tokenise(tokenizer, data.examples, max_length=4096)
        assert data.shape == shape and not tokens.dropped, format
        assert len(tokens.dpo if shape == "preference" else tokens.sft) == len(data.examples) > 0, format
        read[format] = data.examples
    assert read["hf"] == read["openai"]  # Parquet's null-padded message structs read as the JSON Lines do
    recovery = read["openai"][-1]
    assert isinstance(recovery, ChatExample) and recovery.trained == (False, False, False, True, False, True)
    steps = [e for e in read["steps"] if isinstance(e, ChatExample) and e.id.startswith("r-Paris")]
    learned = [m for e in steps for m, t in zip(e.messages, e.trained, strict=True) if t]
    assert len(steps) == 2 and len(learned) == 2  # the right call and the answer; the wrong call is context only
    assert all(c["function"]["arguments"] != {"city": "Pariss"} for m in learned for c in m.get("tool_calls", []))

    text = tokenise(tokenizer, read["chat"], max_length=4096).sft[0]
    assert text.labels == text.input_ids  # plain text is learned whole


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Keep `train` a sub-command, as in the real app."""

    register(app)
    return app


def test_cli_trains_and_prints_the_summary(tiny_model: Path, sft_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapter"
    result = CliRunner().invoke(
        _app(),
        ["train", str(sft_data), "--model", str(tiny_model), "--out", str(out), "--max-steps", "4", "--lr", "1e-2", "--lora-r", "4"],
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("step     1  loss ")
    assert lines[-2].startswith("trained sft LoRA on 8 examples for 4 steps: loss ") and " → " in lines[-2]
    assert lines[-1] == f"adapter, tokenizer and train_report.json in {out}"
    assert json.loads((out / "train_report.json").read_text())["config"]["lora_r"] == 4

    again = CliRunner().invoke(_app(), ["train", str(sft_data), "--model", str(tiny_model), "--out", str(out)])
    assert isinstance(again.exception, ConfigError) and "`overwrite=True`" in str(again.exception)


def test_errors_name_the_input_and_the_fix(
    tiny_model: Path, sft_data: Path, dpo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(error: type[Exception], data: Path, **kwargs: Any) -> str:
        options: dict[str, Any] = {"model": str(tiny_model), "out": tmp_path / "never", **kwargs}
        with pytest.raises(error) as caught:
            train(data, **options)
        assert not (tmp_path / "never").exists()
        return str(caught.value)

    assert "`--method dpo` (method='dpo')" in fails(ConfigError, dpo_data, method="sft")
    assert "--format dpo" in fails(ConfigError, sft_data, method="dpo")
    assert "unknown training method 'ppo'" in fails(ConfigError, sft_data, method="ppo")
    sharegpt = _write_jsonl(tmp_path / "sharegpt.jsonl", [{"conversations": [], "tools": "[]"}])
    message = fails(DataError, sharegpt)
    assert f"{sharegpt}:1: not a training record (keys: conversations, tools)" in message and '"messages"' in message
    assert "no such data file" in fails(DataError, tmp_path / "missing.jsonl")
    assert "no example left to train on (8 longer than max_length)" in fails(DataError, sft_data, max_length=10)

    assert "no such model folder" in fails(ConfigError, sft_data, model=str(tmp_path / "no-model"))
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    assert "cannot load the tokenizer" in fails(ConfigError, sft_data, model=str(broken))
    plain = tmp_path / "plain-model"
    tokenizer = _tokenizer(tiny_model)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(plain)
    (plain / "config.json").write_text((tiny_model / "config.json").read_text())
    assert "has no chat template" in fails(ConfigError, sft_data, model=str(plain))

    monkeypatch.setitem(sys.modules, "peft", None)
    assert "pip install 'callforge[train]'" in fails(ConfigError, sft_data)


def test_a_template_that_renders_the_last_turn_specially_is_named_and_replaceable(
    tiny_model: Path, sft_data: Path, tmp_path: Path
) -> None:
    import shutil

    # like Qwen3's thinking template: only the final assistant turn gets an (empty) reasoning block
    special = TEMPLATE.replace("<|im_start|>{{ m.role }}\n", "<|im_start|>{{ m.role }}\n{% if loop.last and m.role == 'assistant' %}<think></think>{% endif %}")
    model = shutil.copytree(tiny_model, tmp_path / "thinking-model")
    (model / "chat_template.jinja").write_text(special)
    with pytest.raises(DataError) as caught:
        train(sft_data, model=str(model), out=tmp_path / "never")
    assert "8 chat template renders a turn differently when it is the last one" in str(caught.value)
    assert "`chat_template`" in str(caught.value)

    template = tmp_path / "training.jinja"
    template.write_text(TEMPLATE)
    report = train(sft_data, model=str(model), out=tmp_path / "fixed", chat_template=template, max_steps=1, lora_r=4)
    assert report.examples == 8 and report.steps == 1
    assert (tmp_path / "fixed" / "chat_template.jinja").read_text() == TEMPLATE  # saved with the adapter
