"""Engine specs as users type them (`python:tools.py`, `simulated:openai:gpt-4o-mini`) -> Engines.

`callforge verify --exec SPEC` and `CascadeSpec.exec` name an engine this way. The part before
the first colon names a kind: `python` and `simulated` are built in, and a package adds one by
declaring an entry point in the `callforge.engines` group whose object is an `EngineFactory`
(docs/architecture.md, "Extending callforge").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from callforge.core import ConfigError
from callforge.execute.base import Engine
from callforge.execute.cached import CachedEngine
from callforge.execute.python import PythonEngine
from callforge.execute.simulated import SimulatedEngine
from callforge.llm import make_backend

ENGINE_ENTRY_POINTS = "callforge.engines"
DEFAULT_SIMULATOR = "local:qwen2.5-coder-0.5b"


@dataclass(frozen=True)
class EngineOptions:
    """What an engine spec does not say: the endpoint and key of a model it uses, and where to cache."""

    base_url: str | None = None
    api_key: str | None = None
    llm_cache: Path | None = None
    """Response cache of a model the engine uses (a simulator)."""


EngineFactory = Callable[[str, EngineOptions], Engine]
"""An engine kind: the text after `<kind>:` and the options in, an Engine out."""


def make_engine(spec: str, options: EngineOptions | None = None, *, cache: Path | None = None) -> Engine:
    """Build the engine `spec` names; with `cache`, its outputs are kept in that execution cache file."""
    kind, _, rest = spec.partition(":")
    factory = engine_kinds().get(kind)
    if factory is None:
        raise ConfigError(
            f"`exec={spec!r}`: the engines are {', '.join(f'{k}:...' for k in engine_kinds())} "
            "(python:FILE.py runs your tool functions sandboxed, simulated[:MODEL] has a model play them)"
        )
    engine = factory(rest, options or EngineOptions())
    return CachedEngine(engine, cache) if cache is not None else engine


def engine_kinds() -> dict[str, EngineFactory]:
    """Every engine kind by its spec prefix: the built-in ones, then those packages register."""
    found: dict[str, EngineFactory] = {"python": _python, "simulated": _simulated}
    for entry in entry_points(group=ENGINE_ENTRY_POINTS):
        loaded: Any = entry.load()
        if not callable(loaded):
            raise ConfigError(f"engine kind {entry.name!r} ({entry.value}) is not callable; fix or remove that package")
        found.setdefault(entry.name, loaded)
    return found


def _python(rest: str, options: EngineOptions) -> Engine:
    if not rest:
        raise ConfigError("`exec='python:FILE.py'`: name the Python file that defines the tool functions")
    return PythonEngine(rest)


def _simulated(rest: str, options: EngineOptions) -> Engine:
    backend = make_backend(
        rest or DEFAULT_SIMULATOR, base_url=options.base_url, api_key=options.api_key, cache=options.llm_cache
    )
    return SimulatedEngine(backend)
