"""Execution: engines run tool calls, a cache keeps their outputs, the stage judges what came back.

Engines: sandboxed Python, a simulating model, REST (OpenAPI operations) and MCP (a server's tools),
all behind the one-method Engine protocol; `RoutedEngine` sends each tool to its own.
"""

from callforge.verify.execute.base import Engine, Observation
from callforge.verify.execute.cached import CachedEngine, ExecutionCache, call_key
from callforge.verify.execute.mcp import McpEngine
from callforge.verify.execute.python import PythonEngine
from callforge.verify.execute.rest import RestEngine
from callforge.verify.execute.routed import RoutedEngine
from callforge.verify.execute.sandbox import SandboxLimits, run_in_sandbox
from callforge.verify.execute.simulated import SimulatedEngine
from callforge.verify.execute.stage import ExecutionStage, error_payload

__all__ = [
    "CachedEngine",
    "Engine",
    "ExecutionCache",
    "ExecutionStage",
    "McpEngine",
    "Observation",
    "PythonEngine",
    "RestEngine",
    "RoutedEngine",
    "SandboxLimits",
    "SimulatedEngine",
    "call_key",
    "error_payload",
    "run_in_sandbox",
]
