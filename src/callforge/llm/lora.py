"""A PEFT LoRA adapter (what `callforge train` saves) as a GGUF LoRA that llama.cpp applies to a GGUF base.

llama.cpp reads LoRA adapters only as GGUF files (`general.type = adapter`, tensors named after the
base model's, `<base tensor>.lora_a` / `.lora_b`, plus `adapter.lora.alpha`). This module writes one
from the adapter's safetensors with the `gguf` package (part of the [train] extra), after checking
every tensor against the base GGUF, so a mismatched adapter fails here with a reason instead of
inside llama.cpp. Converted files are cached by content hash under the model cache folder.

What converts: LoRA on linear layers (`lora_A` / `lora_B`), plain or rsLoRA scaling, for base
architectures whose GGUF keeps the Hugging Face weight layout (Qwen2, Qwen3). Llama-family GGUFs
permute the Q/K rows, DoRA adds magnitudes, and LoRA on embeddings has another layout: those are
refused with the way out (llama.cpp's own `convert_lora_to_gguf.py`, then `local:<model>@FILE.gguf`).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from callforge.core import ConfigError
from callforge.llm.weights import cache_dir

SUPPORTED_ARCHS = frozenset({"qwen2", "qwen3"})
"""GGUF architectures whose weights keep the Hugging Face layout, so a LoRA pair converts as it is."""
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<side>[AB])(?:\.[^.]+)?\.weight$")


def gguf_adapter(adapter: str | Path, base: Path) -> Path:
    """The GGUF LoRA file llama.cpp should load for `adapter` on the GGUF model `base`, converting once.

    Args:
        adapter: a `.gguf` LoRA file (used as it is) or a PEFT adapter folder (converted).
        base: the GGUF file of the base model, to map names and check shapes against.

    Returns:
        The path of a GGUF LoRA file.
    """
    path = Path(adapter).expanduser()
    if path.is_file():
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ConfigError(
                    f"adapter {str(adapter)!r} is a file but not a GGUF LoRA; give a .gguf adapter or the folder "
                    "`callforge train` saved"
                )
        return path.resolve()
    from callforge.llm.hf import adapter_digest, adapter_folder

    folder = adapter_folder(path)
    out = cache_dir() / "lora" / f"{adapter_digest(folder)}-{base.stem}.gguf"
    if out.is_file():
        return out
    convert_peft_lora(folder, base, out)
    return out


def convert_peft_lora(folder: Path, base: Path, out: Path) -> Path:
    """Write the PEFT LoRA adapter in `folder` as a GGUF LoRA for the GGUF model `base` (atomically, to `out`)."""
    if importlib.util.find_spec("gguf") is None or importlib.util.find_spec("safetensors") is None:
        raise ConfigError(
            "applying a PEFT adapter to a local: GGUF model needs the `gguf` and `safetensors` packages: "
            "pip install 'callforge[train]'; or convert it with llama.cpp's convert_lora_to_gguf.py and "
            "give local:<model>@ADAPTER.gguf"
        )
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type", "LORA") != "LORA":
        raise ConfigError(f"adapter {folder}: peft_type {config.get('peft_type')!r} is not LoRA; llama.cpp applies LoRA only")
    if config.get("use_dora"):
        raise ConfigError(f"adapter {folder}: DoRA adapters cannot be applied by llama.cpp; train without use_dora")
    if config.get("modules_to_save"):
        raise ConfigError(
            f"adapter {folder}: it saves whole modules ({config['modules_to_save']}), which a LoRA GGUF cannot carry; "
            "evaluate it with hf:<base>@ADAPTER instead"
        )
    weights_file = folder / "adapter_model.safetensors"
    if not weights_file.is_file():
        raise ConfigError(f"adapter {folder}: no adapter_model.safetensors (only safetensors adapters convert)")
    meta, shapes = gguf_layout(base)
    arch = meta.get("general.architecture")
    if arch not in SUPPORTED_ARCHS:
        raise ConfigError(
            f"adapter {folder}: converting a PEFT adapter for a {arch!r} GGUF is not supported (its GGUF reorders "
            "weights); convert it with llama.cpp's convert_lora_to_gguf.py and give local:<model>@ADAPTER.gguf, "
            "or evaluate it with hf:<base>@ADAPTER"
        )
    blocks = meta.get(f"{arch}.block_count")
    if not isinstance(blocks, int):
        raise ConfigError(f"{base}: the GGUF has no {arch}.block_count; is it a model file?")
    names = gguf.get_tensor_name_map({v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[arch], blocks)
    pairs: dict[str, dict[str, Any]] = {}
    for key, value in load_file(str(weights_file)).items():
        match = _KEY.match(key)
        if match is None:
            raise ConfigError(f"adapter {folder}: tensor {key!r} is not a LoRA A/B weight of a linear layer; it cannot convert")
        target = names.get_name(match["module"] + ".weight", try_suffixes=(".weight",))
        if target is None or target not in shapes:
            raise ConfigError(
                f"adapter {folder}: {match['module']} has no counterpart in {base.name}; the adapter was trained "
                "on another model"
            )
        pairs.setdefault(target, {})[match["side"]] = value.astype(np.float32)
    if not pairs:
        raise ConfigError(f"adapter {folder}: no LoRA weights in {weights_file.name}")
    r = int(config.get("r", 8))
    alpha = float(config.get("lora_alpha", r))
    if config.get("use_rslora"):
        alpha *= math.sqrt(r)  # llama.cpp scales by alpha / r; rsLoRA by alpha / sqrt(r)
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise ConfigError(f"adapter {folder}: per-module ranks or alphas (rank_pattern/alpha_pattern) do not convert")
    writer = gguf.GGUFWriter(None, arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for target, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            raise ConfigError(f"adapter {folder}: {target} has lora_{next(iter(pair))} but not its partner")
        a, b = pair["A"], pair["B"]  # torch layout: A is (r, in), B is (out, r); GGUF's ne reverses them
        n_in, n_out = shapes[target][0], shapes[target][1]
        if a.shape[1] != n_in or b.shape[0] != n_out or a.shape[0] != b.shape[1]:
            raise ConfigError(
                f"adapter {folder}: {target} is {n_in}->{n_out} in {base.name} but the adapter's pair is "
                f"A{tuple(a.shape)} B{tuple(b.shape)}; the adapter was trained on another model"
            )
        writer.add_tensor(f"{target}.lora_a", a)
        writer.add_tensor(f"{target}.lora_b", b)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        writer.write_header_to_file(path=tmp)
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out)
    except OSError as exc:
        raise ConfigError(f"cannot write the converted adapter to {out}: {exc}; set CALLFORGE_CACHE_DIR") from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


def gguf_layout(path: Path) -> tuple[dict[str, Any], dict[str, tuple[int, ...]]]:
    """A GGUF file's scalar metadata and its tensors' shapes (GGML order: inputs first), read from the header only.

    `gguf.GGUFReader` decodes every field (the 151k-token vocabulary too) and takes about 10 s on
    the embedded 0.5B model; this walks the header and skips the arrays, in well under a second.
    """
    import mmap
    import struct

    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            if view[:4] != b"GGUF":
                raise ConfigError(f"{path}: not a GGUF file")
            version, n_tensors, n_kv = struct.unpack_from("<IQQ", view, 4)
            if version < 2:
                raise ConfigError(f"{path}: GGUF version {version} is too old to read")
            pos = 24

            def string(at: int) -> tuple[str, int]:
                (size,) = struct.unpack_from("<Q", view, at)
                return bytes(view[at + 8 : at + 8 + size]).decode("utf-8", "replace"), at + 8 + size

            def skip(kind: int, at: int, count: int) -> int:
                if kind in _SCALARS:
                    return at + struct.calcsize(_SCALARS[kind]) * count
                if kind == _STRING:
                    for _ in range(count):
                        (size,) = struct.unpack_from("<Q", view, at)
                        at += 8 + size
                    return at
                if kind == _ARRAY:
                    for _ in range(count):
                        inner, length = struct.unpack_from("<IQ", view, at)
                        at = skip(inner, at + 12, length)
                    return at
                raise ConfigError(f"{path}: unknown GGUF value type {kind}")

            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key, pos = string(pos)
                (kind,) = struct.unpack_from("<I", view, pos)
                pos += 4
                if kind in _SCALARS:
                    (meta[key],) = struct.unpack_from(_SCALARS[kind], view, pos)
                    pos += struct.calcsize(_SCALARS[kind])
                elif kind == _STRING:
                    meta[key], pos = string(pos)
                else:
                    pos = skip(kind, pos, 1)
            shapes: dict[str, tuple[int, ...]] = {}
            for _ in range(n_tensors):
                name, pos = string(pos)
                (dims,) = struct.unpack_from("<I", view, pos)
                shapes[name] = struct.unpack_from(f"<{dims}Q", view, pos + 4)
                pos += 4 + 8 * dims + 4 + 8  # dims, then the type and the data offset
    except (OSError, ValueError, struct.error) as exc:
        raise ConfigError(f"cannot read the GGUF header of {path}: {exc}") from None
    return meta, shapes


__all__ = ["SUPPORTED_ARCHS", "convert_peft_lora", "gguf_adapter", "gguf_layout"]
