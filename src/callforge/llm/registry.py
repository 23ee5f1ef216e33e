"""Backend specs as users type them (`local:qwen2.5-coder-0.5b`, `openai:gpt-4o-mini`) -> Backends.

One place parses the spec so the CLI, the Python API and config files accept the same strings.
The part before the colon names a provider: `local`, `openai`, `fuzz` and `fake` are built in, and a
package adds one by declaring an entry point in the `callforge.backends` group whose object is a
`BackendFactory` (docs/architecture.md, "Extending callforge").
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
    "fuzz[:<seed>] (schema-valid random calls, for smoke tests), "
    "fake:world (a rule-based model that plays every generation role: for trying the pipeline, not for training)"
)


@dataclass(frozen=True)
class BackendOptions:
    """What a spec string does not say: where the endpoint is, its key, and how hard to use it."""

    base_url: str | None = None
    api_key: str | None = None
    tool_mode: str | None = None
    concurrency: int | None = None
    rpm: float | None = None
    timeout: float | None = None


BackendFactory = Callable[[str, BackendOptions], Backend]
"""A provider: the text after `<provider>:` and the options in, a Backend out."""


def make_backend(
    spec: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    tool_mode: str | None = None,
    concurrency: int | None = None,
    rpm: float | None = None,
    timeout: float | None = None,
    cache: str | Path | None = None,
) -> Backend:
    """Build the backend a spec names, wrapped in the response cache when `cache` is a path."""
    kind, _, name = spec.partition(":")
    factory = providers().get(kind)
    if factory is None:
        raise ConfigError(f"unknown model spec {spec!r}; use one of: {SPEC_HELP}{_plugins_help()}")
    options = BackendOptions(base_url, api_key, tool_mode, concurrency, rpm, timeout)
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
    kind, _, name = spec.partition(":")
    if kind not in providers():
        raise ConfigError(f"unknown model spec {spec!r}; use one of: {SPEC_HELP}{_plugins_help()}")
    if kind == "local" and name:
        from callforge.llm.weights import MODELS, _looks_like_path, known_models

        if name not in MODELS and not _looks_like_path(name):
            raise ConfigError(
                f"unknown local model {name!r}; known models: {', '.join(known_models())}, "
                "or give a path to a .gguf file (local:path/to/model.gguf)"
            )


def providers() -> dict[str, BackendFactory]:
    """Every provider by its spec prefix: the built-in ones, then those packages register."""
    found: dict[str, BackendFactory] = {"local": _local, "openai": _openai, "fuzz": _fuzz, "fake": _fake}
    for entry in entry_points(group=BACKEND_ENTRY_POINTS):
        found.setdefault(entry.name, _loaded(entry.name, entry.value, entry.load()))
    return found


def _loaded(name: str, value: str, factory: Any) -> BackendFactory:
    if not callable(factory):
        raise ConfigError(f"backend provider {name!r} ({value}) is not callable; fix or remove the package that registers it")
    return factory  # type: ignore[no-any-return]


def _plugins_help() -> str:
    extra = sorted({e.name for e in entry_points(group=BACKEND_ENTRY_POINTS)} - {"local", "openai", "fuzz", "fake"})
    return f", or a registered provider ({', '.join(extra)})" if extra else ""


def _local(name: str, options: BackendOptions) -> Backend:
    if options.base_url or options.api_key:
        raise ConfigError("`base_url` and `api_key` apply to openai:<model>, not to local models")
    from callforge.llm.local import LocalBackend

    return LocalBackend(name or "qwen2.5-coder-0.5b", tool_mode=_mode(options.tool_mode))


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
