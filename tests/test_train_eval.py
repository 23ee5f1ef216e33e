"""`train(..., eval_data=...)` ends with the adapter and the base model evaluated on held-out cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("peft")

from typer.testing import CliRunner

from callforge.cli import app
from callforge.train import AdapterEvaluation, train
from tests.test_llm_hf import EXAMPLE_DATA, one_thread, tiny_model

__all__ = ["one_thread", "tiny_model"]  # the fixtures, shared with the hf backend's tests

RECORD = {
    "messages": [
        {"role": "user", "content": "What is the weather in Paris?"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"celsius": 12}'},
        {"role": "assistant", "content": "12 degrees."},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather of a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        }
    ],
}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export" / "data.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(json.dumps({**RECORD, "id": f"d{i}"}) for i in range(4)) + "\n")
    return path


def test_train_ends_with_the_adapter_and_the_base_on_held_out_cases(tiny_model: Path, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapter"
    report = train(
        export, model=str(tiny_model), out=out, max_steps=2, batch_size=2, lora_r=4,
        eval_data=EXAMPLE_DATA, eval_categories=["simple_python"], eval_limit=2,
    )  # fmt: skip
    evaluation = report.evaluation
    assert isinstance(evaluation, AdapterEvaluation) and evaluation.base is not None
    assert evaluation.adapter.model.endswith(f"@{out}") and evaluation.base.model == f"hf:{tiny_model}"
    for score in (evaluation.adapter, evaluation.base):
        assert score.cases == 2 and set(score.accuracy) == {"bfcl", "semantic"}
        assert 0.0 <= score.accuracy["semantic"] <= 1.0 and set(score.categories["bfcl"]) == {"simple_python"}
        assert (score.out / "scores").is_dir()  # a resumable eval folder next to the adapter
    saved = json.loads((out / "train_report.json").read_text())
    assert saved["evaluation"]["adapter"]["accuracy"] == evaluation.adapter.accuracy
    assert saved["evaluation"]["gain"]["semantic"] == evaluation.gain("semantic")


def test_the_cli_prints_the_held_out_accuracy(tiny_model: Path, export: Path, tmp_path: Path) -> None:
    out = tmp_path / "adapter"
    result = CliRunner().invoke(
        app,
        ["train", str(export), "--model", str(tiny_model), "--out", str(out), "--max-steps", "1", "--batch-size", "2",
         "--lora-r", "4", "--eval-data", str(EXAMPLE_DATA), "--eval-categories", "simple_python", "--eval-limit", "1",
         "--no-eval-base", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"held-out accuracy of hf:{tiny_model}@{out} on 1 cases: bfcl " in result.output
    assert json.loads((out / "train_report.json").read_text())["evaluation"]["base"] is None
