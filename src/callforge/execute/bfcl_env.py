"""BFCL's eight multi-turn simulators (file system, Twitter, trading, ...) as Environments.

The simulators are BFCL's own classes, imported from the pinned `bfcl-eval` package (installed
without its dependencies; the simulator modules need only the standard library and `mpmath`), so
their behaviour is BFCL's by construction. What callforge adds is the harness around them: fresh
instances per environment (BFCL caches instances in a module global and reuses them across
evaluations), calls made as method calls with keyword arguments (BFCL rewrites a call string and
`eval`s it), results rendered as BFCL renders them, and state taken and compared as typed records.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, DataError, ToolSpec
from callforge.execute.environment import ObjectEnvironment, UnknownTool

BFCL_EVAL_PIN = "bfcl-eval==2026.3.23"
BFCL_INSTALL = f"pip install --no-deps {BFCL_EVAL_PIN} mpmath"
"""The install command for the simulators: the pinned wheel alone (1.9 MB), not its 6 GB of dependencies."""

BFCL_SIMULATORS: Mapping[str, str] = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}
"""Each simulator class by its module in bfcl-eval, which is also the stem of its tool file in `multi_turn_func_doc/`."""

_PACKAGE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
_STATELESS = frozenset({"MathAPI"})  # BFCL builds these without loading a scenario
_BLOCKED = frozenset({"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"})
_ERROR_PREFIX = "Error during execution: "


def simulator_class(name: str) -> type:
    """The BFCL simulator class `name`, imported on first use (so callforge needs bfcl-eval only for multi-turn)."""
    module_name = BFCL_SIMULATORS.get(name)
    if module_name is None:
        raise ConfigError(
            f"unknown BFCL simulator {name!r}; the multi-turn simulators are: {', '.join(BFCL_SIMULATORS)}"
        )
    try:
        module = importlib.import_module(f"{_PACKAGE}.{module_name}")
    except ImportError as exc:
        raise ConfigError(
            f"BFCL's multi-turn simulators need the bfcl-eval package ({exc}); install it with `{BFCL_INSTALL}`"
        ) from None
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ConfigError(
            f"bfcl-eval's module {module.__name__} has no class {name}; install the pinned version with `{BFCL_INSTALL}`"
        )
    return cls


def bfcl_result_text(value: Any) -> str:
    """A simulator's return value as BFCL feeds it back and compares it: a string as is, a dict as JSON, else `str`.

    The types are tested exactly (a dict subclass is `str`-ed), as BFCL does, because the response
    check compares these strings.
    """
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def bfcl_error_text(exc: Exception) -> str:
    """A failed call as BFCL reports it: `Error during execution: <exception text>`.

    A call to no method at all reads as BFCL's `eval` would put it (a NameError), and BFCL's
    blocked names (`exit`, `kill`, ...) as its refusal.
    """
    if isinstance(exc, UnknownTool) and exc.tool in _BLOCKED:
        return f"{_ERROR_PREFIX}Function call {exc.tool} is not allowed."
    return f"{_ERROR_PREFIX}{exc}"


def bfcl_environment(
    classes: Sequence[str],
    initial_config: Mapping[str, Any] | None = None,
    *,
    long_context: bool = False,
    data: str | Path | None = None,
    name: str = "bfcl",
) -> ObjectEnvironment:
    """A fresh environment of BFCL simulators, each loaded with its part of `initial_config`, as BFCL loads them.

    `classes` are BFCL's `involved_classes` (their order decides which class answers a method name
    two of them share, the later one, as in BFCL). `long_context=True` adds BFCL's filler records
    (the `multi_turn_long_context` category). `data` is the BFCL data folder whose
    `multi_turn_func_doc/` describes the tools (default: the installed bfcl-eval's). The config is
    copied, so the environment never changes the caller's data, and `reset()` reloads it.
    """
    resolved = [(cls_name, simulator_class(cls_name)) for cls_name in classes]
    scenarios = {name: _frozen(dict(initial_config or {}).get(name, {})) for name, _ in resolved}

    def build() -> dict[str, object]:
        components: dict[str, object] = {}
        for cls_name, cls in resolved:
            instance = cls()
            if cls_name not in _STATELESS:
                instance._load_scenario(scenarios[cls_name](), long_context=long_context)
            components[cls_name] = instance
        return components

    def tools() -> tuple[ToolSpec, ...]:
        return bfcl_tools(classes, data)

    filled = long_context and any(cls_name not in _STATELESS for cls_name, _ in resolved)
    return ObjectEnvironment(
        name, build, tools=tools, render=bfcl_result_text, render_error=bfcl_error_text, filled=filled
    )


def _frozen(scenario: Any) -> Callable[[], Any]:
    """A maker of fresh copies of `scenario`, taken now (so later changes to the caller's data do not leak in).

    A simulator keeps and changes the dicts it is loaded with, so each build needs its own copy;
    BFCL's scenarios are JSON, and parsing JSON again is several times faster than a deep copy.
    """
    try:
        text = json.dumps(scenario)
    except (TypeError, ValueError):
        kept = copy.deepcopy(scenario)
        return lambda: copy.deepcopy(kept)
    if json.loads(text) != scenario:  # tuples, non-string keys: JSON would change them
        kept = copy.deepcopy(scenario)
        return lambda: copy.deepcopy(kept)
    return lambda: json.loads(text)


def bfcl_tools(classes: Iterable[str], data: str | Path | None = None) -> tuple[ToolSpec, ...]:
    """The ToolSpecs of BFCL simulators, in class order, from `<data>/multi_turn_func_doc/` (as BFCL offers them)."""
    folder = _doc_folder(data)
    tools: list[ToolSpec] = []
    for cls_name in classes:
        if cls_name not in BFCL_SIMULATORS:
            simulator_class(cls_name)  # raises the error that lists the known names
        tools.extend(_load_docs(folder / f"{BFCL_SIMULATORS[cls_name]}.json"))
    return tuple(tools)


def _doc_folder(data: str | Path | None) -> Path:
    if data is not None:
        folder = Path(data) / "multi_turn_func_doc"
        if not folder.is_dir():
            raise DataError(
                f"{str(folder)!r} does not exist; pass `data` with a BFCL data folder that holds multi_turn_func_doc/"
            )
        return folder
    import importlib.util

    spec = importlib.util.find_spec("bfcl_eval")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        folder = Path(location) / "data" / "multi_turn_func_doc"
        if folder.is_dir():
            return folder
    raise ConfigError(
        f"no BFCL tool descriptions: pass `data` (a BFCL data folder with multi_turn_func_doc/), or install them with `{BFCL_INSTALL}`"
    )


@cache
def _load_docs(path: Path) -> tuple[ToolSpec, ...]:
    from callforge.tools import load_tools

    if not path.is_file():
        raise DataError(f"BFCL tool file {str(path)!r} is missing; it describes one simulator's tools")
    return tuple(load_tools(path, format="bfcl", language="python"))
