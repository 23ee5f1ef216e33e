"""Where tool calls run: engines, the sandbox, the toolbox that maps each tool to its engine, the exec cache.

Engines (sandboxed Python, a simulating model, REST for OpenAPI operations, MCP for a server's
tools) sit behind the one-method `Engine` protocol; `RoutedEngine` sends each tool to its own and
`CachedEngine` runs an identical call once, and `SourceEngine` runs a dataset's unbound tools on
the same-named tools of an OpenAPI spec or an MCP server. `read_sources` loads any tool source (a
`.py` file is read in the sandbox, never imported), `load_toolbox` adds the engine each tool runs
on; async code awaits their `_async` forms. What counts as a failed call is decided above, by
verify's execution stage.

Stateful tools are an `Environment`: it runs calls against a state that can be snapshotted
(`EnvironmentState`), compared (`StateDiff`) and reset. `ObjectEnvironment` wraps plain Python
objects; `bfcl_environment` builds one from BFCL's multi-turn simulators (the optional, pinned
bfcl-eval package); `python_environment` runs a user's class in the sandbox, state kept across
calls; `ServiceEnvironment` runs REST/MCP tools on a real service with a reset hook (and a state
hook for snapshots). `EnvironmentSpec` says where an environment comes from (`--env bank.py:Bank`,
`--env shop.yaml`, a task file's `environment` field). `EnvironmentEngine` runs an environment's
tools wherever an Engine is expected.
"""

from callforge.execute.base import Engine, Observation
from callforge.execute.bfcl_env import (
    BFCL_INSTALL,
    BFCL_SIMULATORS,
    bfcl_environment,
    bfcl_error_text,
    bfcl_result_text,
    bfcl_tools,
    simulator_class,
)
from callforge.execute.bound import SourceEngine
from callforge.execute.cached import CachedEngine, ExecutionCache, call_key
from callforge.execute.class_env import SandboxEnvironment, python_environment
from callforge.execute.env_spec import EnvironmentSpec, load_environment, parse_environment
from callforge.execute.environment import (
    ABSENT,
    Environment,
    EnvironmentEngine,
    EnvironmentState,
    ObjectEnvironment,
    StateChange,
    StateDiff,
    StateEntry,
    UnknownTool,
    diff_states,
)
from callforge.execute.hooks import CommandHook, Hook, HookError, HttpHook
from callforge.execute.mcp import McpEngine
from callforge.execute.payload import error_payload, short_text
from callforge.execute.python import PythonEngine
from callforge.execute.registry import (
    ENGINE_ENTRY_POINTS,
    EngineFactory,
    EngineOptions,
    engine_kinds,
    make_engine,
)
from callforge.execute.rest import RestEngine
from callforge.execute.routed import RoutedEngine
from callforge.execute.sandbox import SandboxLimits, run_in_sandbox
from callforge.execute.service_env import (
    ServiceEnvironment,
    load_service_environment,
    load_service_environment_async,
)
from callforge.execute.simulated import SimulatedEngine
from callforge.execute.sources import SOURCE_HELP, SourceTools, read_sources, read_sources_async, source_kind
from callforge.execute.toolbox import Toolbox, load_toolbox, load_toolbox_async

__all__ = [
    "ABSENT",
    "BFCL_INSTALL",
    "BFCL_SIMULATORS",
    "ENGINE_ENTRY_POINTS",
    "SOURCE_HELP",
    "CachedEngine",
    "CommandHook",
    "Engine",
    "EngineFactory",
    "EngineOptions",
    "Environment",
    "EnvironmentEngine",
    "EnvironmentSpec",
    "EnvironmentState",
    "ExecutionCache",
    "Hook",
    "HookError",
    "HttpHook",
    "McpEngine",
    "ObjectEnvironment",
    "Observation",
    "PythonEngine",
    "RestEngine",
    "RoutedEngine",
    "SandboxEnvironment",
    "SandboxLimits",
    "ServiceEnvironment",
    "SimulatedEngine",
    "SourceEngine",
    "SourceTools",
    "StateChange",
    "StateDiff",
    "StateEntry",
    "Toolbox",
    "UnknownTool",
    "bfcl_environment",
    "bfcl_error_text",
    "bfcl_result_text",
    "bfcl_tools",
    "call_key",
    "diff_states",
    "engine_kinds",
    "error_payload",
    "load_environment",
    "load_service_environment",
    "load_service_environment_async",
    "load_toolbox",
    "load_toolbox_async",
    "make_engine",
    "parse_environment",
    "python_environment",
    "read_sources",
    "read_sources_async",
    "run_in_sandbox",
    "short_text",
    "simulator_class",
    "source_kind",
]
