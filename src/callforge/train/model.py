"""Loading the base model and its tokenizer, with errors that say what to do instead of a hub traceback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from callforge.core import ConfigError


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or os.sep in model.replace("/", "", 1) or Path(model).exists()


def _load_error(model: str, what: str, exc: Exception) -> ConfigError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hint = (
        "it is not in the local Hugging Face cache and HF_HUB_OFFLINE=1"
        if offline
        else "it is neither a local model folder nor a model this machine could fetch from the Hugging Face Hub"
    )
    return ConfigError(
        f"cannot load the {what} of {model!r}: {hint} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
        "give a local folder with config.json and the weights, or download it first where there is a network "
        "(hf download MODEL --local-dir DIR)"
    )


def _gguf(model: str) -> tuple[str, str] | None:
    """(folder, file name) when `model` is a GGUF file: transformers dequantises it into a trainable model."""
    path = Path(model).expanduser()
    if model.lower().endswith(".gguf") and path.is_file():
        return str(path.parent), path.name
    return None


def _source(model: str) -> tuple[str, dict[str, Any]]:
    """What `from_pretrained` takes for `model`: a folder or hub id, or a GGUF file's folder plus `gguf_file`."""
    gguf = _gguf(model)
    if gguf is not None:
        return gguf[0], {"gguf_file": gguf[1]}
    return (str(Path(model).expanduser()) if _looks_like_path(model) else model), {}


def _check_folder(model: str) -> None:
    if _gguf(model) is not None:
        return
    if model.lower().endswith(".gguf"):
        raise ConfigError(f"{model}: no such GGUF file")
    if _looks_like_path(model):
        folder = Path(model).expanduser()
        if not folder.is_dir():
            raise ConfigError(f"{model}: no such model folder")
        if not (folder / "config.json").is_file():
            raise ConfigError(f"{model}: not a model folder (no config.json)")


def load_tokenizer(model: str) -> Any:
    """The model's tokenizer with a pad token (EOS when it has none), as the trainers' collators need one."""
    _check_folder(model)
    from transformers import AutoTokenizer

    source, options = _source(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **options)
    except Exception as exc:  # hub, network and file errors come in many types
        raise _load_error(model, "tokenizer", exc) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def resolve_dtype(name: str) -> Any:
    """`auto` is bfloat16 on a GPU that has it and float32 elsewhere (CPU training in half precision is slow and lossy)."""
    import torch

    if name == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def load_model(model: str, dtype: Any) -> Any:
    """The causal LM to put the LoRA adapter on; a `.gguf` file (the embedded model's) is dequantised to `dtype`."""
    _check_folder(model)
    from transformers import AutoModelForCausalLM

    source, options = _source(model)
    try:
        loaded = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **options)
    except Exception as exc:  # hub, network and file errors come in many types
        raise _load_error(model, "weights", exc) from exc
    if options.get("gguf_file"):
        _forget_gguf_quantisation(loaded)
    return loaded


def _forget_gguf_quantisation(model: Any) -> None:
    """A GGUF model is dequantised on load, yet transformers keeps a GGUF quantiser on it that refuses training."""
    model.hf_quantizer = None
    if "is_quantized" in vars(model):
        model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
