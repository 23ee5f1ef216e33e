"""Everything that talks to a model: the Backend protocol, backends, tool-call parsing, the cache.

Names load lazily: `openai`, `xllamacpp` and `torch` are only imported when a backend that needs them is
built, so `import callforge.llm` stays cheap for code that only uses the records or the fakes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from callforge.llm.adaptive import (
        AUTO,
        AdaptiveLimit,
        FixedLimit,
        LimitStats,
        make_limit,
        parse_concurrency,
    )
    from callforge.llm.backend import (
        Backend,
        BackendError,
        Bounded,
        CacheKeyed,
        Closable,
        Completion,
        ModelRef,
        Options,
        RequestRejected,
        Usage,
        cache_identity,
    )
    from callforge.llm.cache import CachedBackend, ResponseCache
    from callforge.llm.fake.world import WorldBackend
    from callforge.llm.fuzz import SchemaFuzzBackend, schema_instance
    from callforge.llm.hf import HFBackend
    from callforge.llm.local import LocalBackend
    from callforge.llm.openai_compat import OpenAIBackend
    from callforge.llm.parse import ParsedText, parse_tool_calls, strip_fence
    from callforge.llm.registry import (
        BACKEND_ENTRY_POINTS,
        SPEC_HELP,
        BackendFactory,
        BackendOptions,
        check_model_spec,
        close_backend,
        make_backend,
        providers,
        split_spec,
        world_notice,
    )
    from callforge.llm.scripted import FunctionBackend, ScriptedBackend, ScriptError
    from callforge.llm.weights import resolve_model

_EXPORTS = {
    "AUTO": "callforge.llm.adaptive",
    "AdaptiveLimit": "callforge.llm.adaptive",
    "FixedLimit": "callforge.llm.adaptive",
    "LimitStats": "callforge.llm.adaptive",
    "make_limit": "callforge.llm.adaptive",
    "parse_concurrency": "callforge.llm.adaptive",
    "Backend": "callforge.llm.backend",
    "BackendError": "callforge.llm.backend",
    "Closable": "callforge.llm.backend",
    "Bounded": "callforge.llm.backend",
    "CacheKeyed": "callforge.llm.backend",
    "cache_identity": "callforge.llm.backend",
    "Completion": "callforge.llm.backend",
    "ModelRef": "callforge.llm.backend",
    "Options": "callforge.llm.backend",
    "Usage": "callforge.llm.backend",
    "RequestRejected": "callforge.llm.backend",
    "CachedBackend": "callforge.llm.cache",
    "ResponseCache": "callforge.llm.cache",
    "SchemaFuzzBackend": "callforge.llm.fuzz",
    "schema_instance": "callforge.llm.fuzz",
    "LocalBackend": "callforge.llm.local",
    "HFBackend": "callforge.llm.hf",
    "split_spec": "callforge.llm.registry",
    "OpenAIBackend": "callforge.llm.openai_compat",
    "ParsedText": "callforge.llm.parse",
    "parse_tool_calls": "callforge.llm.parse",
    "strip_fence": "callforge.llm.parse",
    "resolve_model": "callforge.llm.weights",
    "make_backend": "callforge.llm.registry",
    "check_model_spec": "callforge.llm.registry",
    "providers": "callforge.llm.registry",
    "BackendFactory": "callforge.llm.registry",
    "BackendOptions": "callforge.llm.registry",
    "BACKEND_ENTRY_POINTS": "callforge.llm.registry",
    "SPEC_HELP": "callforge.llm.registry",
    "close_backend": "callforge.llm.registry",
    "world_notice": "callforge.llm.registry",
    "WorldBackend": "callforge.llm.fake.world",
    "FunctionBackend": "callforge.llm.scripted",
    "ScriptedBackend": "callforge.llm.scripted",
    "ScriptError": "callforge.llm.scripted",
}

__all__ = [
    "AUTO",
    "BACKEND_ENTRY_POINTS",
    "SPEC_HELP",
    "AdaptiveLimit",
    "Backend",
    "BackendError",
    "BackendFactory",
    "BackendOptions",
    "Bounded",
    "CacheKeyed",
    "CachedBackend",
    "Closable",
    "Completion",
    "FixedLimit",
    "FunctionBackend",
    "HFBackend",
    "LimitStats",
    "LocalBackend",
    "ModelRef",
    "OpenAIBackend",
    "Options",
    "ParsedText",
    "RequestRejected",
    "ResponseCache",
    "SchemaFuzzBackend",
    "ScriptError",
    "ScriptedBackend",
    "Usage",
    "WorldBackend",
    "cache_identity",
    "check_model_spec",
    "close_backend",
    "make_backend",
    "make_limit",
    "parse_concurrency",
    "parse_tool_calls",
    "providers",
    "resolve_model",
    "schema_instance",
    "split_spec",
    "strip_fence",
    "world_notice",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'callforge.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
