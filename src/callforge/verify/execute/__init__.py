"""Execution: engines run tool calls, a cache keeps their outputs, the stage judges what came back.

Engines: sandboxed Python and a simulating model; REST and MCP engines plug in the same way.
"""

from callforge.verify.execute.base import Engine, Observation
from callforge.verify.execute.cached import CachedEngine, ExecutionCache, call_key
from callforge.verify.execute.python import PythonEngine
from callforge.verify.execute.routed import RoutedEngine
from callforge.verify.execute.sandbox import SandboxLimits, run_in_sandbox
from callforge.verify.execute.simulated import SimulatedEngine
from callforge.verify.execute.stage import ExecutionStage, error_payload

__all__ = [
    "CachedEngine",
    "Engine",
    "ExecutionCache",
    "ExecutionStage",
    "Observation",
    "PythonEngine",
    "RoutedEngine",
    "SandboxLimits",
    "SimulatedEngine",
    "call_key",
    "error_payload",
    "run_in_sandbox",
]
