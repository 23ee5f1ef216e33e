"""Backend specs as users type them (`local:qwen2.5-coder-0.5b`, `openai:gpt-4o-mini`) -> Backends.

One place parses the spec so the CLI, the Python API and config files accept the same strings.
The part before the colon names a provider: `local`, `openai`, `hf`, `fuzz` and `fake` are built in,
and a package adds one by declaring an entry point in the `callforge.backends` group whose object is
a `BackendFactory` (docs/architecture.md, "Extending callforge").

A LoRA adapter rides on the spec as an `@DIR` suffix (`hf:qwen2.5-coder-0.5b@out/adapter`,
`local:qwen2.5-coder-0.5b@out/adapter`) or comes as `adapter=`; either way it reaches the provider
as `BackendOptions.adapter`, so every verb that takes `--model` can evaluate a trained adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from callforge.core import ConfigError
from callforge.llm.backend import Backend, Closable

BACKEND_ENTRY_POINTS = "callforge.backends"
SPEC_HELP = (
    "local:<name> (embedded: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b), local:<path.gguf>, "
    "openai:<model> (any OpenAI-compatible server; `base_url` for vLLM, llama.cpp, Ollama), "
    "hf:<hub id|folder|path.gguf|embedded name> (transformers, the [train] extra), "
    "any hf: or local: spec + @<adapter dir> (a LoRA adapter), "
    "fuzz[:<seed>] (schema-valid random calls, for smoke tests), "
    "fake:world (a rule-based model that plays every generation role: for trying the pipeline, not for training)"
)


@dataclass(frozen=True)
class BackendOptions:
    """What a spec string does not say: where the endpoint is, its key, and how hard to use it."""

    base_url: str | None = None
    api_key: str | None = None
    tool_mode: str | None = None
    concurrency: int | str | None = None
    """Requests in flight per endpoint: a number, or `auto` (openai:'s default) to find the capacity."""
    rpm: float | None = None
    timeout: float | None = None
    adapter: str | None = None
    """A LoRA adapter (a folder `callforge train` saved, or a GGUF LoRA for local:), from `@DIR` or `adapter=`."""


ADAPTER_PROVIDERS = frozenset({"hf", "local"})
"""Providers that apply a LoRA adapter; elsewhere `@` is part of the model name (`openai:claude@2024`)."""

BackendFactory = Callable[[str, BackendOptions], Backend]
"""A provider: the text after `<provider>:` and the options in, a Backend out."""


def make_backend(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    tool_mode: str | None = None,
    concurrency: int | str | None = None,
    rpm: float | None = None,
    timeout: float | None = None,
    cache: str | Path | None = None,
    adapter: str | Path | None = None,
) -> Backend:
    """Build the backend a spec names, wrapped in the response cache when `cache` is a path.

    `adapter` (or a `@DIR` suffix on an `hf:` or `local:` spec) applies a LoRA adapter.
    """
    kind, name, adapter_text = split_spec(spec, adapter)
    factory = providers().get(kind)
    if factory is None:
        raise ConfigError(f"unknown model spec {spec!r}; use one of: {SPEC_HELP}{_plugins_help()}")
    options = BackendOptions(base_url, api_key, tool_mode, concurrency, rpm, timeout, adapter_text)
    backend = factory(name, options)
    if cache is not None:
        from callforge.llm.cache import CachedBackend, ResponseCache

        backend = CachedBackend(backend, ResponseCache(cache))
    return backend


def check_model_spec(spec: str) -> None:
    """Refuse a spec that names no backend, or no embedded model, before a job prints or writes anything.

    Cheap: nothing is built or loaded. A spec that passes can still fail later (a dead endpoint, a
    missing weights package); those errors come from the backend itself.
    """
    kind, name, adapter = split_spec(spec)
    if kind not in providers():
        raise ConfigError(f"unknown model spec {spec!r}; use one of: {SPEC_HELP}{_plugins_help()}")
    if adapter is not None and not Path(adapter).expanduser().exists():
        raise ConfigError(f"{spec}: the adapter {adapter!r} does not exist; give the folder `callforge train` saved")
    if kind in ("local", "hf") and name and name.lower().endswith(".gguf") and not Path(name).expanduser().is_file():
        raise ConfigError(f"{spec}: no such model file {name!r}")
    if kind == "local" and name:
        from callforge.llm.weights import MODELS, _looks_like_path, known_models

        if name not in MODELS and not _looks_like_path(name):
            raise ConfigError(
                f"unknown local model {name!r}; known models: {', '.join(known_models())}, "
                "or give a path to a .gguf file (local:path/to/model.gguf)"
            )


def split_spec(spec: str, adapter: str | Path | None = None) -> tuple[str, str, str | None]:
    """`(provider, name, adapter)` of a spec; one parser, so `model@adapter` means the same in every verb.

    Only `hf:` and `local:` read an `@DIR` suffix (the last `@`); `adapter` given as well as a
    suffix, or given to a provider that applies none, is refused rather than silently dropped.
    """
    kind, _, name = spec.partition(":")
    suffix: str | None = None
    if kind in ADAPTER_PROVIDERS and "@" in name:
        name, _, suffix = name.rpartition("@")
        if not suffix:
            raise ConfigError(f"{spec}: nothing after '@'; write {kind}:<model>@<adapter folder>")
    if adapter is not None:
        if suffix is not None:
            raise ConfigError(f"{spec} already names an adapter ({suffix}); drop the suffix or the separate adapter")
        suffix = str(adapter)
    if suffix is not None and kind not in ADAPTER_PROVIDERS:
        raise ConfigError(
            f"{spec}: a LoRA adapter applies to hf:<model> or local:<model>, not to {kind}: models "
            "(serve the merged model behind an endpoint instead)"
        )
    return kind, name, suffix


def providers() -> dict[str, BackendFactory]:
    """Every provider by its spec prefix: the built-in ones, then those packages register."""
    found: dict[str, BackendFactory] = {
        "local": _local,
        "openai": _openai,
        "hf": _hf,
        "fuzz": _fuzz,
        "fake": _fake,
    }
    for entry in entry_points(group=BACKEND_ENTRY_POINTS):
        found.setdefault(entry.name, _loaded(entry.name, entry.value, entry.load()))
    return found


def _loaded(name: str, value: str, factory: Any) -> BackendFactory:
    if not callable(factory):
        raise ConfigError(f"backend provider {name!r} ({value}) is not callable; fix or remove the package that registers it")
    return factory  # type: ignore[no-any-return]


def _plugins_help() -> str:
    extra = sorted({e.name for e in entry_points(group=BACKEND_ENTRY_POINTS)} - {"local", "openai", "hf", "fuzz", "fake"})
    return f", or a registered provider ({', '.join(extra)})" if extra else ""


def _local(name: str, options: BackendOptions) -> Backend:
    if options.base_url or options.api_key:
        raise ConfigError("`base_url` and `api_key` apply to openai:<model>, not to local models")
    from callforge.llm.local import LocalBackend

    return LocalBackend(name or "qwen2.5-coder-0.5b", tool_mode=_mode(options.tool_mode), adapter=options.adapter)


def _hf(name: str, options: BackendOptions) -> Backend:
    if options.base_url or options.api_key:
        raise ConfigError("`base_url` and `api_key` apply to openai:<model>, not to hf: models")
    if not name:
        raise ConfigError(
            "model spec 'hf:' has no model; write hf:<hub id>, hf:<model folder>, hf:<path.gguf> or "
            "hf:qwen2.5-coder-0.5b (the embedded weights, loaded by transformers)"
        )
    from callforge.llm.hf import HFBackend

    return HFBackend(name, adapter=options.adapter, tool_mode=_mode(options.tool_mode))


def _openai(name: str, options: BackendOptions) -> Backend:
    if not name:
        raise ConfigError("model spec 'openai:' has no model name; write openai:<model>, e.g. openai:gpt-4o-mini")
    from callforge.llm.openai_compat import OpenAIBackend

    extra: dict[str, Any] = {}
    if options.concurrency is not None:
        extra["concurrency"] = options.concurrency
    if options.timeout is not None:
        extra["timeout"] = options.timeout
    return OpenAIBackend(
        name, base_url=options.base_url, api_key=options.api_key, tool_mode=_mode(options.tool_mode), rpm=options.rpm, **extra
    )


def _fuzz(name: str, options: BackendOptions) -> Backend:
    from callforge.llm.fuzz import SchemaFuzzBackend

    try:
        seed = int(name or 0)
    except ValueError:
        raise ConfigError(f"fuzz seed must be an integer, got {name!r}") from None
    return SchemaFuzzBackend(seed=seed, model=f"fuzz:{name}" if name else "fuzz")


def _fake(name: str, options: BackendOptions) -> Backend:
    # endpoint options are ignored, not refused: a run may pass --base-url for its other models
    if name != "world":
        raise ConfigError(f"unknown fake model {name!r}; the one fake model is fake:world")
    from callforge.llm.fake.world import WorldBackend

    return WorldBackend()


def world_notice(*models: object) -> str | None:
    """The line to print when a run uses `fake:world`, so its output is never taken for real data."""
    if any(m == "fake:world" or getattr(m, "model", None) == "fake:world" for m in models):
        from callforge.llm.fake.world import WORLD_NOTE

        return WORLD_NOTE
    return None


def _mode(tool_mode: str | None) -> Any:
    if tool_mode is None:
        return "native"
    if tool_mode not in ("native", "prompt"):
        raise ConfigError(f"`tool_mode` must be 'native' or 'prompt', got {tool_mode!r}")
    return tool_mode


async def close_backend(backend: Backend) -> None:
    """Release a backend's connections or model, for backends that hold any."""
    if isinstance(backend, Closable):
        await backend.aclose()
