"""Backend specs as users type them (`local:qwen2.5-coder-0.5b`, `openai:gpt-4o-mini`) -> Backends.

One place parses the spec so the CLI, the Python API and config files accept the same strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callforge.core import ConfigError
from callforge.llm.backend import Backend, Closable

SPEC_HELP = (
    "local:<name> (embedded: qwen2.5-coder-0.5b, qwen2.5-coder-1.5b), local:<path.gguf>, "
    "openai:<model> (any OpenAI-compatible server; --base-url for vLLM, llama.cpp, Ollama), "
    "fuzz[:<seed>] (schema-valid random calls, for smoke tests)"
)


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
    backend: Backend
    if kind == "local":
        if base_url or api_key:
            raise ConfigError("--base-url and --api-key apply to openai:<model>, not to local models")
        from callforge.llm.local import LocalBackend

        backend = LocalBackend(name or "qwen2.5-coder-0.5b", tool_mode=_mode(tool_mode))
    elif kind == "openai":
        if not name:
            raise ConfigError(
                f"model spec {spec!r} has no model name; write openai:<model>, e.g. openai:gpt-4o-mini"
            )
        from callforge.llm.openai_compat import OpenAIBackend

        extra: dict[str, Any] = {}
        if concurrency is not None:
            extra["concurrency"] = concurrency
        if timeout is not None:
            extra["timeout"] = timeout
        backend = OpenAIBackend(
            name, base_url=base_url, api_key=api_key, tool_mode=_mode(tool_mode), rpm=rpm, **extra
        )
    elif kind == "fuzz":
        from callforge.llm.fuzz import SchemaFuzzBackend

        try:
            seed = int(name or 0)
        except ValueError:
            raise ConfigError(f"fuzz seed must be an integer, got {name!r}") from None
        backend = SchemaFuzzBackend(seed=seed, model=spec)
    else:
        raise ConfigError(f"unknown model spec {spec!r}; use one of: {SPEC_HELP}")
    if cache is not None:
        from callforge.llm.cache import CachedBackend, ResponseCache

        backend = CachedBackend(backend, ResponseCache(cache))
    return backend


def _mode(tool_mode: str | None) -> Any:
    if tool_mode is None:
        return "native"
    if tool_mode not in ("native", "prompt"):
        raise ConfigError(f"--tool-mode must be 'native' or 'prompt', got {tool_mode!r}")
    return tool_mode


async def close_backend(backend: Backend) -> None:
    """Release a backend's connections or model, for backends that hold any."""
    if isinstance(backend, Closable):
        await backend.aclose()
