"""One entry point for every kind of tool source, so the CLI and generation accept them all alike.

A source is a string: a file (OpenAI/BFCL JSON, a pool file, an OpenAPI or Swagger document in
JSON or YAML, a Claude-Desktop-style MCP config, a Python module read in the sandbox), an
`mcp:` command line or URL, or an `http(s)://` URL of an MCP server (streamable HTTP). What kind
a file is comes from its content, not its name, because specs are saved under any name.

`read_sources` is for code without an event loop; async code (generation, a verify engine)
awaits `read_sources_async`, which lists MCP servers on the running loop instead of starting one.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from callforge.core import ConfigError, ToolSpec, load_yaml, read_bounded

if TYPE_CHECKING:
    from callforge.tools import McpConfig

SOURCE_HELP = (
    "a tools file (.json/.jsonl: OpenAI, BFCL or a callforge pool), an OpenAPI 3 / Swagger 2 spec (.json/.yaml), "
    "a Python module (.py, read in the sandbox), an MCP config file with \"mcpServers\", "
    "'mcp:COMMAND ARGS' for a stdio MCP server, or an http(s):// MCP server URL"
)
_YAML = (".yaml", ".yml")


@dataclass(frozen=True)
class SourceTools:
    """The tools of one or more sources, with what running them needs beyond the ToolSpecs.

    `mcp_env` holds the literal environment values MCP config files give their servers. They are
    secrets, so they stay in memory (for the MCP engine) and are never written to a pool file.
    """

    tools: tuple[ToolSpec, ...]
    kinds: Mapping[str, str] = field(default_factory=dict)
    """Tool name → the kind of source it came from: tools, pool, openapi, mcp or python."""
    origins: Mapping[str, str] = field(default_factory=dict)
    """Tool name → the source string it came from, for messages."""
    mcp_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)


def source_kind(src: str) -> str:
    """What a source is: `mcp` (command, URL or config), `openapi`, `python`, `pool` or `tools` (plain JSON)."""
    if src.lower().startswith("mcp:") or src.lower().startswith(("http://", "https://")):
        return "mcp"
    path = Path(src)
    if not path.exists():
        raise ConfigError(f"tool source {src!r}: no such file; give {SOURCE_HELP}")
    if path.is_dir():
        raise ConfigError(f"tool source {src!r} is a directory; give {SOURCE_HELP}")
    if path.suffix.lower() == ".py":
        return "python"
    head = _peek(path)
    if head is None:
        return "tools"  # the JSON loader says precisely what is wrong with it
    if isinstance(head, dict):
        if "openapi" in head or "swagger" in head:
            return "openapi"
        if isinstance(head.get("mcpServers"), dict):
            return "mcp"
        from callforge.tools import is_pool

        if is_pool(head):
            return "pool"
    if path.suffix.lower() in _YAML:
        raise ConfigError(
            f"tool source {src!r}: a YAML file that is not an OpenAPI or Swagger document "
            '(no top-level "openapi" or "swagger" key)'
        )
    return "tools"


def _peek(path: Path) -> Any:
    """The parsed document, or None when it does not parse (JSON Lines, broken files).

    Read within the input limits (core.bounded): a FIFO, a device or an oversized file is refused
    with its clear error here, before anything blocks or fills memory; so is a YAML bomb.
    """
    import json

    try:
        text = read_bounded(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if path.suffix.lower() in _YAML:
        import yaml

        try:
            return load_yaml(text, str(path))
        except yaml.YAMLError:
            return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):  # the tool loaders say what is wrong, with limits
        return None


def read_sources(
    sources: Sequence[str | os.PathLike[str]],
    *,
    prefix: bool = False,
    timeout: float = 30.0,
    validate: bool | Literal["full"] = True,
) -> SourceTools:
    """Load every source; tool names must be unique across them all.

    `prefix` names MCP tools `<server>__<tool>`, which keeps servers that offer the same tool
    name apart. `timeout` bounds each MCP server's start and listing. `validate` is
    `load_openapi`'s: True checks OpenAPI specs against their official schema, "full" adds the
    semantic checks, False imports specs with small errors anyway.

    This is the blocking form for code without an event loop: each MCP server is reached through
    `load_mcp`, which runs its own loop. Async code (a job's core) awaits `read_sources_async`.

    Raises:
        ConfigError: A source is missing or of no known kind, has no tools, two sources define one
            tool name, or an MCP source is given while an event loop is running here.
    """
    planned = _plan(sources)
    mcp = [src for src, kind in planned if kind == "mcp"]
    if mcp and _loop_running():
        raise ConfigError(
            f"read_sources() cannot reach the MCP server of {mcp[0]!r} inside a running event loop; "
            "use `await read_sources_async(...)` there"
        )
    loaded = [_load(src, kind, prefix=prefix, timeout=timeout, validate=validate) for src, kind in planned]
    return _merge(planned, loaded)


async def read_sources_async(
    sources: Sequence[str | os.PathLike[str]],
    *,
    prefix: bool = False,
    timeout: float = 30.0,
    validate: bool | Literal["full"] = True,
) -> SourceTools:
    """`read_sources` for async code: MCP servers are listed on the running loop, sources load concurrently.

    MCP sources go through `load_mcp_async`, so no second event loop is started. Files (specs,
    pools, Python modules described in the sandbox) are read in worker threads, so a large spec
    or a sandbox start does not stall the loop's other tasks. Every source's kind is checked
    before any server starts, and when several sources fail the first one in `sources` order is
    raised, so the error does not depend on timing.

    Raises:
        ConfigError: As `read_sources` (without the event-loop case).
    """
    planned = _plan(sources)
    results = await asyncio.gather(
        *(_load_async(src, kind, prefix=prefix, timeout=timeout, validate=validate) for src, kind in planned),
        return_exceptions=True,
    )
    loaded: list[_Loaded] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        loaded.append(result)
    return _merge(planned, loaded)


_Loaded = tuple[list[ToolSpec], dict[str, Mapping[str, str]]]
"""One source's tools and the MCP environment values it brings (by server name)."""


def _plan(sources: Sequence[str | os.PathLike[str]]) -> list[tuple[str, str]]:
    """Each source with its kind; fails on the first missing or unknown one before anything is started."""
    if not sources:
        raise ConfigError(f"no tool sources given; give {SOURCE_HELP}")
    return [(src, source_kind(src)) for src in (os.fspath(raw) for raw in sources)]


def _merge(planned: list[tuple[str, str]], loaded: Sequence[_Loaded]) -> SourceTools:
    """One SourceTools from every source's tools, in source order; a name defined twice is an error."""
    tools: list[ToolSpec] = []
    kinds: dict[str, str] = {}
    origins: dict[str, str] = {}
    mcp_env: dict[str, Mapping[str, str]] = {}
    for (src, kind), (found, env) in zip(planned, loaded, strict=True):
        if not found:
            raise ConfigError(f"tool source {src!r}: no tools found in it")
        mcp_env.update(env)
        for tool in found:
            if tool.name in origins:
                hint = "; pass `prefix=True` to name MCP tools <server>__<tool>" if "mcp" in (kind, kinds[tool.name]) else ""
                raise ConfigError(f"tool {tool.name!r} is defined in both {origins[tool.name]} and {src}; rename one{hint}")
            origins[tool.name] = src
            kinds[tool.name] = kind
            tools.append(tool)
    return SourceTools(tuple(tools), kinds, origins, mcp_env)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _mcp_config(src: str) -> McpConfig | None:
    """The config a source names, or None for a command line or URL."""
    from callforge.tools import is_mcp_config, read_mcp_config

    if not src.lower().startswith(("mcp:", "http://", "https://")) and is_mcp_config(src):
        return read_mcp_config(src)
    return None


def _load(
    src: str, kind: str, *, prefix: bool, timeout: float, validate: bool | Literal["full"]
) -> _Loaded:
    if kind == "mcp":
        from callforge.tools import load_mcp

        config = _mcp_config(src)
        if config is not None:
            return load_mcp(config, prefix=prefix, timeout=timeout), dict(config.env)
        return load_mcp(src, prefix=prefix, timeout=timeout), {}
    return _load_file(src, kind, validate=validate)


async def _load_async(
    src: str, kind: str, *, prefix: bool, timeout: float, validate: bool | Literal["full"]
) -> _Loaded:
    if kind == "mcp":
        from callforge.tools import load_mcp_async

        config = _mcp_config(src)
        if config is not None:
            return await load_mcp_async(config, prefix=prefix, timeout=timeout), dict(config.env)
        return await load_mcp_async(src, prefix=prefix, timeout=timeout), {}
    return await asyncio.to_thread(_load_file, src, kind, validate=validate)


def _load_file(src: str, kind: str, *, validate: bool | Literal["full"]) -> _Loaded:
    """A source that is a file (no server to reach); blocking, so async callers run it in a thread."""
    if kind == "python":
        from callforge.execute.python import PythonEngine

        return list(PythonEngine(Path(src)).describe()), {}
    if kind == "openapi":
        from callforge.tools import load_openapi

        return load_openapi(src, validate=validate), {}
    from callforge.tools import load_tools

    found = load_tools(src)
    return [t if t.source != "unknown" else t.model_copy(update={"source": src}) for t in found], {}
