"""One entry point for every kind of tool source, so the CLI and generation accept them all alike.

A source is a string: a file (OpenAI/BFCL JSON, a pool file, an OpenAPI or Swagger document in
JSON or YAML, a Claude-Desktop-style MCP config, a Python module read in the sandbox), an
`mcp:` command line or URL, or an `http(s)://` URL of an MCP server (streamable HTTP). What kind
a file is comes from its content, not its name, because specs are saved under any name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from callforge.core import ConfigError, ToolSpec

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
    """The parsed document, or None when it does not parse (JSON Lines, broken files)."""
    import json

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix.lower() in _YAML:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def read_sources(
    sources: Sequence[str | os.PathLike[str]],
    *,
    prefix: bool = False,
    timeout: float = 30.0,
    validate: bool | Literal["full"] = True,
) -> SourceTools:
    """Load every source; tool names must be unique across all of them.

    `prefix` names MCP tools `<server>__<tool>`, which keeps servers that offer the same tool
    name apart. `timeout` bounds each MCP server's start and listing. `validate` is
    `load_openapi`'s: True checks OpenAPI specs against their official schema, "full" adds the
    semantic checks, False imports specs with small errors anyway.
    """
    if not sources:
        raise ConfigError(f"no tool sources given; give {SOURCE_HELP}")
    tools: list[ToolSpec] = []
    kinds: dict[str, str] = {}
    origins: dict[str, str] = {}
    mcp_env: dict[str, Mapping[str, str]] = {}
    for raw in sources:
        src = os.fspath(raw)
        kind = source_kind(src)
        found, env = _load(src, kind, prefix=prefix, timeout=timeout, validate=validate)
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


def _load(
    src: str, kind: str, *, prefix: bool, timeout: float, validate: bool | Literal["full"]
) -> tuple[list[ToolSpec], dict[str, Mapping[str, str]]]:
    if kind == "python":
        from callforge.execute.python import PythonEngine

        return list(PythonEngine(Path(src)).describe()), {}
    if kind == "openapi":
        from callforge.tools import load_openapi

        return load_openapi(src, validate=validate), {}
    if kind == "mcp":
        from callforge.tools import is_mcp_config, load_mcp, read_mcp_config

        if not src.lower().startswith(("mcp:", "http://", "https://")) and is_mcp_config(src):
            config = read_mcp_config(src)
            return load_mcp(config, prefix=prefix, timeout=timeout), dict(config.env)
        return load_mcp(src, prefix=prefix, timeout=timeout), {}
    from callforge.tools import load_tools

    found = load_tools(src)
    return [t if t.source != "unknown" else t.model_copy(update={"source": src}) for t in found], {}
