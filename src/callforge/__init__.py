"""callforge: turn tool specifications into function-calling models that work, and prove it.

The top-level names are loaded lazily so that `import callforge` stays fast; each stage package
(`callforge.core`, `callforge.tools`, `callforge.evaluate`, ...) is the public face of its stage.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "ToolSpec": "callforge.core",
    "ToolCall": "callforge.core",
    "Message": "callforge.core",
    "Dialog": "callforge.core",
    "Case": "callforge.core",
    "ExpectedCall": "callforge.core",
    "Verdict": "callforge.core",
    "CallforgeError": "callforge.core",
    "SpecError": "callforge.core",
    "DataError": "callforge.core",
    "ConfigError": "callforge.core",
    "load_tools": "callforge.tools",
    "score": "callforge.evaluate",
    "evaluate_model": "callforge.evaluate",
    "make_backend": "callforge.llm",
    "Completion": "callforge.llm",
    "ScriptedBackend": "callforge.llm",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'callforge' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
