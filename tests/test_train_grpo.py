"""callforge train --method grpo: a tiny random model learns, by a callforge reward alone, to make the one right call.

The task is chosen so that a randomly initialised model can learn it in a few dozen CPU steps and
the test does not pass by luck: the vocabulary is eight words (a word-level tokenizer), one of them
is the whole right answer `[ping()]` (a Python call list the reward decodes), and a completion is
one token. A random policy is right about one time in eight, so almost every group of eight
samples holds both a right and a wrong completion and GRPO has an advantage to follow from the
first step; the reward is the real `make_reward("format=0.2,exact=1")`, with no shaping. The model's
LM head is initialised wider than usual (0.1) because LoRA leaves it frozen, and a narrow random head
cannot make any word confident however the layers below move. Measured (training seeds 0-3): mean
reward 0.0-0.125 at step 1, 1.0 within 5-8 steps, and it stays there (30 steps, ~3 s).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

import typer
from typer.testing import CliRunner

from callforge.cli.train import register
from callforge.core import ConfigError, Dialog, Message, ToolCall, ToolSpec
from callforge.export import to_grpo
from callforge.train import read_train_data, train
from callforge.train.data import PromptExample
from tests.tiny_lm import one_torch_thread

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")

PING = ToolSpec(name="ping", description="Check that the server answers.", parameters={"type": "object", "properties": {}})
TEMPLATE = (
    "{%- if tools %}<|im_start|>tools\n{% for t in tools %}{{ t.function.name }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{% if m.content %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WORDS = ["[ping()]", "pong", "hello", "server"]
ASKS = ["is the server up", "ping it please", "check the server", "are you there", "hello server", "any answer"]


def _dialog(i: int, ask: str) -> Dialog:
    return Dialog(
        tools=(PING,),
        messages=(
            Message(role="system", content="Use the tools."),
            Message(role="user", content=ask),
            Message(role="assistant", tool_calls=(ToolCall(name="ping", arguments={}, id="c1"),)),
            Message(role="tool", tool_call_id="c1", content="pong"),
            Message(role="assistant", content="It answers."),
        ),
        meta={"id": f"p{i}"},
    )


def _rows() -> list[dict[str, Any]]:
    """The grpo export of the dialogs, keeping the call turns (the text turns would need words the model lacks)."""
    rows = [row for i, ask in enumerate(ASKS) for row in to_grpo(_dialog(i, ask))]
    return [row for row in rows if row["reference_calls"]]


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 1-layer Llama over an eight-word vocabulary, saved like a hub model."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, set_seed

    vocab = {w: i for i, w in enumerate(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "[UNK]", *WORDS])}
    word_level = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    word_level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=word_level,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="[UNK]",
        additional_special_tokens=["<|im_start|>"],
        chat_template=TEMPLATE,
    )
    folder = tmp_path_factory.mktemp("tiny-grpo-model")
    tokenizer.save_pretrained(folder)
    set_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=2,
        bos_token_id=None,
        initializer_range=0.1,  # wide enough that LoRA behind the frozen random LM head can make a word confident
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def grpo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("grpo") / "data.jsonl", _rows())


def test_grpo_rows_read_as_prompts(grpo_data: Path) -> None:
    data = read_train_data(grpo_data)
    assert data.shape == "prompts" and len(data.examples) == len(ASKS)
    first = data.examples[0]
    assert isinstance(first, PromptExample)
    assert [m["role"] for m in first.prompt] == ["system", "user"]
    assert json.loads(first.reference_calls) == [{"name": "ping", "arguments": {}}]
    assert first.tools[0]["function"]["name"] == "ping" and first.environment is None


@pytest.mark.parametrize("seed", [0, 1])
def test_grpo_reward_rises_and_adapter_is_saved(tiny_model: Path, grpo_data: Path, tmp_path: Path, seed: int) -> None:
    out = tmp_path / "grpo"
    report = train(
        grpo_data, method="grpo", model=str(tiny_model), out=out, max_steps=30, lr=2e-2, batch_size=2,
        num_generations=8, max_completion_length=1, lora_r=8, lora_alpha=16, logging_steps=1, seed=seed,
        reward_mix="format=0.2,exact=1", max_length=128,
    )
    curve = report.rewards
    print("grpo rewards", [round(r, 3) for r in curve], file=sys.stderr)
    assert report.method == "grpo" and report.steps == 30 and report.examples == len(ASKS)
    assert len(curve) == 30
    # the untrained policy is right about one time in eight; measured over training seeds 0-3 (lr 1e-2
    # and 2e-2): 0.0-0.125 at step 1, 1.0 by step 5-8 and 0.94-1.0 from then on
    last = sum(curve[-5:]) / 5
    assert report.first_reward is not None and report.first_reward <= 0.25
    assert last >= 0.9
    saved = json.loads((out / "train_report.json").read_text())
    assert saved["first_reward"] == report.first_reward and saved["last_reward"] == report.last_reward
    assert saved["config"]["reward_mix"] == "format=0.2,exact=1"
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json"):
        assert (out / name).is_file()


def test_method_mismatch_names_the_right_flag(tiny_model: Path, grpo_data: Path, tmp_path: Path) -> None:
    pairs = _write(tmp_path / "dpo.jsonl", [{"prompt": [{"role": "user", "content": "x"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}])
    with pytest.raises(ConfigError, match=r"--method dpo.*--format grpo"):
        train(pairs, method="grpo", model=str(tiny_model), out=tmp_path / "a")
    with pytest.raises(ConfigError, match=r"GRPO prompts.*--method grpo"):
        train(grpo_data, method="sft", model=str(tiny_model), out=tmp_path / "b")
    with pytest.raises(ConfigError, match=r"--method grpo"):
        train(grpo_data, method="dpo", model=str(tiny_model), out=tmp_path / "c")
    with pytest.raises(ConfigError, match="unknown component"):
        train(grpo_data, method="grpo", model=str(tiny_model), out=tmp_path / "d", reward_mix="format=1,speed=2")
    with pytest.raises(ConfigError, match="num-generations"):
        train(grpo_data, method="grpo", model=str(tiny_model), out=tmp_path / "e", num_generations=1)


def test_cli_grpo(tiny_model: Path, grpo_data: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, [
        "train", str(grpo_data), "--method", "grpo", "--model", str(tiny_model), "--out", str(tmp_path / "cli"),
        "--max-steps", "2", "--batch-size", "2", "--num-generations", "4", "--max-completion-length", "1",
        "--reward-mix", "format=0.2,exact=1", "--reward-mode", "bfcl", "--max-length", "128",
    ])
    assert result.exit_code == 0, result.output
    assert "step     1" in result.output and "reward" in result.output
    assert "mean reward" in result.output
    saved = json.loads((tmp_path / "cli" / "train_report.json").read_text())
    assert saved["config"]["reward_mode"] == "bfcl" and saved["steps"] == 2
