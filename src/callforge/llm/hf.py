"""A transformers model in this process, with an optional LoRA adapter: the way to evaluate what was trained.

`callforge train` saves a PEFT LoRA adapter; this backend loads the base model the adapter was
trained on (a hub id in the local cache, a model folder, a `.gguf` file, or an embedded model's
GGUF through transformers' `gguf_file=`), applies the adapter, and answers through the same
`Backend` protocol as every other model, so `callforge eval --model hf:BASE --adapter DIR` scores
it like any endpoint. Tools go to the model's own chat template (native mode) or into the system
prompt as text (prompt mode); calls are read from the reply text by `parse_tool_calls`.

torch, transformers and peft (the [train] extra) are imported when the model loads, never at
import time. Generation is greedy unless a request sets a temperature, runs one request at a time
(batch size 1) in a worker thread, and so never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from callforge.core import ConfigError, Message, ToolSpec, Verdict
from callforge.llm.backend import BackendError, Completion, Options, RequestRejected, Usage, parse_options
from callforge.llm.weights import MODELS, resolve_model
from callforge.llm.wire import messages_to_openai, tools_to_openai

ToolMode = Literal["native", "prompt"]

DEFAULT_MAX_TOKENS = 512
TRAIN_EXTRA = "pip install 'callforge[train]'"
_NEEDED = {"torch": "torch", "transformers": "transformers"}


@dataclass(frozen=True)
class ModelSource:
    """Where transformers reads a model from: a hub id or folder, and the GGUF file in it when there is one."""

    location: str
    gguf_file: str | None = None


def model_source(name: str) -> ModelSource:
    """Resolve an `hf:` name: an embedded model's GGUF, a `.gguf` file, a model folder, or a hub id (as given).

    Embedded names win over hub ids: they have no `/` and are assembled from the installed parts,
    so `hf:qwen2.5-coder-0.5b` needs no download.
    """
    if name in MODELS or name.lower().endswith(".gguf"):
        path = resolve_model(name)
        return ModelSource(str(path.parent), path.name)
    folder = Path(name).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            ggufs = sorted(folder.glob("*.gguf"))
            if len(ggufs) == 1:
                return ModelSource(str(folder.resolve()), ggufs[0].name)
            raise ConfigError(
                f"hf:{name}: the folder has no config.json"
                + (f" and {len(ggufs)} .gguf files; name one (hf:{name}/FILE.gguf)" if ggufs else "; give a model folder")
            )
        return ModelSource(str(folder.resolve()))
    if name.startswith((".", "/", "~")):
        raise ConfigError(f"hf:{name}: no such model folder or file")
    return ModelSource(name)


def require_extra(adapter: bool) -> None:
    """Fail with the install line, before a long import half-succeeds, when torch/transformers (or peft) are missing."""
    needed = dict(_NEEDED)
    if adapter:
        needed["peft"] = "peft"
    missing = [dist for module, dist in needed.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise ConfigError(
            f"the hf: backend needs the [train] extra (missing: {', '.join(missing)}): {TRAIN_EXTRA} "
            "(on a machine without a GPU install torch's CPU wheel first; see docs/train.md), "
            "or evaluate a GGUF model with local:<model> instead"
        )


def adapter_folder(adapter: str | Path) -> Path:
    """Check that `adapter` is a PEFT LoRA folder (what `callforge train` saves) and return it resolved."""
    folder = Path(adapter).expanduser()
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ConfigError(f"adapter {str(adapter)!r} {problem}; give the folder `callforge train` saved (with adapter_config.json)")
    if not (folder / "adapter_config.json").is_file():
        raise ConfigError(
            f"adapter {str(adapter)!r} has no adapter_config.json; give the folder `callforge train` (or PEFT's "
            "save_pretrained) wrote"
        )
    return folder.resolve()


def adapter_digest(folder: Path) -> str:
    """A short hash of the adapter's config and weights, so the response cache never serves a retrained adapter's old answers."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("adapter_*")):
        if path.is_file():
            digest.update(path.name.encode())
            with path.open("rb") as fh:
                while chunk := fh.read(8 * 1024 * 1024):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


class HFBackend:
    """A causal LM run by transformers in this process (plus a LoRA adapter), behind the `Backend` protocol.

    Args:
        model: a hub id (read from the local cache when `HF_HUB_OFFLINE=1`), a model folder, a `.gguf`
            file, or an embedded model's name (`qwen2.5-coder-0.5b`), whose GGUF transformers
            dequantizes to float32 (slow to load: see docs/backends.md for figures).
        adapter: a PEFT LoRA folder; it is merged into the weights after loading. A tokenizer saved
            with the adapter (as `callforge train` does) is used instead of the base model's, so the
            chat template is the one the adapter was trained with.
        tool_mode: `"native"` passes tools to the chat template; `"prompt"` writes them into the system prompt.
        dtype: `"float32"` (default: what CPUs run well), `"bfloat16"`, `"float16"` or `"auto"`.
        threads: torch CPU threads (default: torch's own choice).
        seed: the sampling seed when a request sets a temperature but no seed.
    """

    concurrency = 1

    def __init__(
        self,
        model: str,
        *,
        adapter: str | Path | None = None,
        tool_mode: ToolMode = "native",
        dtype: str = "float32",
        threads: int | None = None,
        seed: int = 0,
    ) -> None:
        if tool_mode not in ("native", "prompt"):
            raise ConfigError(f"tool_mode must be 'native' or 'prompt', got {tool_mode!r}")
        if dtype not in ("float32", "bfloat16", "float16", "auto"):
            raise ConfigError(f"dtype must be float32, bfloat16, float16 or auto, got {dtype!r}")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be at least 1, got {threads}")
        self.name = model
        self.adapter = adapter_folder(adapter) if adapter is not None else None
        self.model = f"hf:{model}" + (f"@{adapter}" if adapter is not None else "")
        self.tool_mode: ToolMode = tool_mode
        self.dtype = dtype
        self.threads = threads
        self.seed = seed
        digest = f"@{adapter_digest(self.adapter)}" if self.adapter is not None else ""
        self.cache_identity = f"hf:{model}{digest}#{tool_mode}"
        self.load_s: float | None = None
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def load(self) -> float:
        """Load the model (and merge the adapter) now instead of on the first request; returns the seconds it took."""
        with self._lock:
            return self._ensure_loaded()

    def close(self) -> None:
        """Drop the model; a later request loads it again."""
        with self._lock:
            self._model = None
            self._tokenizer = None

    async def aclose(self) -> None:
        """Free the model without blocking the event loop."""
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> HFBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _ensure_loaded(self) -> float:
        if self._model is not None:
            return 0.0
        require_extra(self.adapter is not None)
        source = model_source(self.name)
        started = time.perf_counter()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.threads is not None:
            torch.set_num_threads(self.threads)
        kwargs: dict[str, Any] = {"gguf_file": source.gguf_file} if source.gguf_file else {}
        tokenizer_from = str(self.adapter) if self.adapter and (self.adapter / "tokenizer_config.json").is_file() else None
        try:
            tokenizer = (
                AutoTokenizer.from_pretrained(tokenizer_from)
                if tokenizer_from
                else AutoTokenizer.from_pretrained(source.location, **kwargs)
            )
        except Exception as exc:  # hub, network and file errors come in many types
            raise self._load_error("tokenizer", exc) from exc
        try:
            model = AutoModelForCausalLM.from_pretrained(source.location, dtype=_dtype(self.dtype), **kwargs)
        except Exception as exc:
            raise self._load_error("weights", exc) from exc
        if self.adapter is not None:
            from peft import PeftModel

            try:
                model = PeftModel.from_pretrained(model, str(self.adapter)).merge_and_unload()
            except Exception as exc:  # a shape mismatch (wrong base), a damaged file
                raise ConfigError(
                    f"{self.model}: cannot apply the adapter {self.adapter} to {self.name} "
                    f"({type(exc).__name__}: {_first_line(exc)}); an adapter only fits the base model it was trained on"
                ) from exc
        model.train(False)  # inference mode: dropout off (what `.eval()` does)
        if getattr(tokenizer, "chat_template", None) is None:
            raise ConfigError(
                f"{self.model}: the tokenizer has no chat template, so chat messages cannot be rendered; use an "
                "instruct/chat model, or save a tokenizer with a chat_template next to the adapter"
            )
        self._tokenizer, self._model = tokenizer, model
        self.load_s = time.perf_counter() - started
        return self.load_s

    def _load_error(self, what: str, exc: Exception) -> ConfigError:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = (
            "it is not in the local Hugging Face cache and HF_HUB_OFFLINE=1"
            if offline
            else "it is not a local model folder or file, and the Hugging Face Hub could not provide it"
        )
        return ConfigError(
            f"{self.model}: cannot load the {what} of {self.name!r}: {hint} ({type(exc).__name__}: {_first_line(exc)}); "
            "give a local folder with config.json and the weights, a .gguf file, or an embedded model "
            f"({', '.join(sorted(MODELS))})"
        )

    # -- requests --------------------------------------------------------------------------------

    def render(self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, options: Options) -> str:
        """The prompt text the model sees (chat template applied, generation prompt added); public for tests."""
        if options.json_schema is not None:
            raise BackendError(
                f"{self.model}: the hf: backend cannot constrain output to a JSON schema; use local: or an "
                "openai: endpoint for requests that need one",
                model=self.model,
            )
        offered = list(tools or ())
        if options.tool_choice == "none":
            offered = []
        elif options.tool_choice not in (None, "auto", "required"):
            offered = [t for t in offered if t.name == options.tool_choice] or offered
        if self.tool_mode == "prompt":
            from callforge.llm.prompt import to_text_protocol

            messages = to_text_protocol(messages, offered)
            offered = []
        chat = messages_to_openai(messages, arguments_as_text=False)
        try:
            text = self._tokenizer.apply_chat_template(
                chat, tools=tools_to_openai(offered) or None, add_generation_prompt=True, tokenize=False
            )
        except Exception as exc:  # jinja errors: a template that cannot show this conversation
            raise RequestRejected(
                f"{self.model}: the chat template cannot render this request ({type(exc).__name__}: {_first_line(exc)})",
                model=self.model,
            ) from None
        return str(text)

    async def complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None, **options: Any
    ) -> Completion:
        """Answer one chat request with the transformers model (loading it on first use), in a worker thread."""
        parsed = parse_options(options)
        offered = list(tools or ()) if parsed.tool_choice != "none" else []
        return await asyncio.to_thread(self._complete, messages, tools, offered, parsed)

    def _complete(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None, offered: list[ToolSpec], options: Options
    ) -> Completion:
        with self._lock:
            self._ensure_loaded()
            prompt = self.render(messages, tools, options)
            started = time.perf_counter()
            text, prompt_tokens, completion_tokens, finish = self._generate(prompt, options)
            latency = time.perf_counter() - started
        verdict: Verdict = Verdict.passed(format="none")
        shown = text
        if offered and text:
            from callforge.llm.parse import parse_tool_calls

            read = parse_tool_calls(text, tools=offered)
            calls, verdict, shown = read.calls, read.verdict, read.text
        else:
            calls = ()
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        raw = {
            "text": text,
            "finish_reason": finish,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
        }
        return Completion(
            text=shown,
            tool_calls=calls,
            usage=usage,
            finish_reason=finish,
            model=self.model,
            parse=verdict,
            raw=raw,
            latency_s=latency,
        )

    def _generate(self, prompt: str, options: Options) -> tuple[str, int, int, str]:
        """Greedy (or seeded sampling) generation of one reply; the caller holds the lock."""
        import torch

        tokenizer, model = self._tokenizer, self._model
        encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        input_ids = encoded["input_ids"]
        limit = options.max_tokens if options.max_tokens is not None else DEFAULT_MAX_TOKENS
        eos = _eos_ids(tokenizer, model)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (eos[0] if eos else 0)
        sampling = bool(options.temperature)
        settings: dict[str, Any] = {
            "max_new_tokens": limit,
            "do_sample": sampling,
            "eos_token_id": eos or None,
            "pad_token_id": pad,
        }
        if sampling:
            settings["temperature"] = options.temperature
            settings["top_p"] = options.top_p if options.top_p is not None else 1.0
            settings["top_k"] = 0
            torch.manual_seed(options.seed if options.seed is not None else self.seed)
        else:  # greedy: the model's generation_config may ask for sampling; say plainly that we do not
            settings.update(temperature=None, top_p=None, top_k=None)
        if options.stop:
            settings["stop_strings"] = list(options.stop)
            settings["tokenizer"] = tokenizer
        try:
            with torch.inference_mode():
                output = model.generate(
                    input_ids=input_ids, attention_mask=encoded.get("attention_mask"), **settings
                )
        except Exception as exc:  # longer than the model's positions, out of memory
            raise RequestRejected(
                f"{self.model}: generation failed ({type(exc).__name__}: {_first_line(exc)})", model=self.model
            ) from None
        new = [int(t) for t in output[0][input_ids.shape[1] :]]
        finish = "length"
        if new and new[-1] in eos:
            new = new[:-1]
            finish = "stop"
        while new and new[-1] == pad:
            new.pop()
            finish = "stop"
        text = tokenizer.decode(new, skip_special_tokens=False)
        if options.stop:
            for stop in options.stop:
                cut = text.find(stop)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
        return text, int(input_ids.shape[1]), len(new), finish


def _eos_ids(tokenizer: Any, model: Any) -> list[int]:
    """Every token that ends a turn: the generation config's, the tokenizer's EOS, and ChatML's `<|im_end|>`."""
    found: list[int] = []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured if isinstance(configured, list) else [configured], [tokenizer.eos_token_id]):
        found.extend(v for v in value if isinstance(v, int) and v not in found)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
    if isinstance(end, int) and end not in found:
        found.append(end)
    return found


def _dtype(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def _first_line(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else ""


__all__ = ["HFBackend", "ModelSource", "adapter_digest", "adapter_folder", "model_source", "require_extra"]
