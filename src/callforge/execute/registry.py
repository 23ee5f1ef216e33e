"""Engine specs as users type them (`python:tools.py`, `rest:api.yaml@http://...`, `mcp:...`) -> Engines.

`callforge verify --exec SPEC` and `CascadeSpec.exec` name an engine this way. The part before
the first colon names a kind: `python`, `simulated`, `rest` and `mcp` are built in, and a package
adds one by declaring an entry point in the `callforge.engines` group whose object is an
`EngineFactory` (docs/architecture.md, "Extending callforge").

`rest` and `mcp` run a dataset's calls on real tools. A dataset's ToolSpecs carry no binding, so
each tool is matched by name to an operation of the spec or a tool of the server (`SourceEngine`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from callforge.core import ConfigError, HttpBinding, McpServer, ToolSpec
from callforge.execute.base import Engine
from callforge.execute.bound import SourceEngine
from callforge.execute.cached import CachedEngine
from callforge.execute.python import PythonEngine
from callforge.execute.simulated import SimulatedEngine
from callforge.llm import make_backend

ENGINE_ENTRY_POINTS = "callforge.engines"
DEFAULT_SIMULATOR = "local:qwen2.5-coder-0.5b"
SPEC_HELP = (
    "python:FILE.py runs your tool functions sandboxed, simulated[:MODEL] has a model play them, "
    "rest:SPEC[@URL] sends each call to the operation of that name in an OpenAPI spec (at URL, else the "
    "spec's server), mcp:COMMAND|URL|CONFIG runs it on the MCP server's tool of that name"
)
_REST = re.compile(r"(?P<spec>.+?)@(?P<url>https?://.*)", re.IGNORECASE | re.DOTALL)
"""`SPEC@URL`, cut at the first `@` that starts an http(s) URL; a URL may hold `@` itself."""


@dataclass(frozen=True)
class EngineOptions:
    """What an engine spec does not say: a model's endpoint and key, where to cache, whether to write."""

    base_url: str | None = None
    api_key: str | None = None
    llm_cache: Path | None = None
    """Response cache of a model the engine uses (a simulator)."""
    read_only: bool = False
    """Send nothing that could change a live service. `rest:` sends only GET, HEAD and OPTIONS and
    simulates the rest (see `RestEngine`); `mcp:` refuses, as MCP tools do not say what they change;
    `python:` and `simulated` reach no live service. A plugin engine that reaches one must honour it."""


EngineFactory = Callable[[str, EngineOptions], Engine]
"""An engine kind: the text after `<kind>:` and the options in, an Engine out."""


def make_engine(spec: str, options: EngineOptions | None = None, *, cache: Path | None = None) -> Engine:
    """Build the engine `spec` names; with `cache`, its outputs are kept in that execution cache file."""
    kind, _, rest = spec.partition(":")
    factory = engine_kinds().get(kind)
    if factory is None:
        raise ConfigError(
            f"`exec={spec!r}`: the engines are {', '.join(f'{k}:...' for k in engine_kinds())} ({SPEC_HELP})"
        )
    engine = factory(rest, options or EngineOptions())
    return CachedEngine(engine, cache) if cache is not None else engine


def engine_kinds() -> dict[str, EngineFactory]:
    """Every engine kind by its spec prefix: the built-in ones, then those packages register."""
    found: dict[str, EngineFactory] = {"python": _python, "simulated": _simulated, "rest": _rest, "mcp": _mcp}
    for entry in entry_points(group=ENGINE_ENTRY_POINTS):
        loaded: Any = entry.load()
        if not callable(loaded):
            raise ConfigError(
                f"engine kind {entry.name!r} ({entry.value}) is not callable; fix or remove that package"
            )
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


def _rest(rest: str, options: EngineOptions) -> Engine:
    """`rest:SPEC` or `rest:SPEC@URL`: the spec is read now, so a bad spec fails before the run starts.

    The spec is converted without the official-schema validation (`validate=False`): execution
    needs only what the conversion itself checks, and real specs often carry small schema errors.
    """
    from callforge.execute.rest import RestEngine
    from callforge.tools import load_openapi

    text = rest.strip()
    match = _REST.fullmatch(text)
    spec, url = (match["spec"].strip(), match["url"].strip()) if match else (text, None)
    form = "`exec='rest:api.yaml'` or `exec='rest:api.yaml@http://127.0.0.1:8000'`"
    if not spec:
        raise ConfigError(f"`exec='rest:{rest}'` names no OpenAPI spec; give its file: {form}")
    if re.match(r"https?://", spec, re.IGNORECASE):
        raise ConfigError(
            f"`exec='rest:{rest}'`: give the OpenAPI spec file first (specs are not downloaded); the URL the "
            f"calls go to follows it after an @: {form}"
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"`exec='rest:{rest}'`: {spec!r} is not a file; give the OpenAPI or Swagger spec: {form}"
        )
    tools = load_openapi(path, validate=False)
    if url is None:
        _require_server(tools, rest, spec)
    engine = RestEngine(url, read_only=options.read_only)
    return SourceEngine(engine, tools, source=f"OpenAPI spec {spec}" + (f" at {url}" if url else ""))


def _require_server(tools: Sequence[ToolSpec], rest: str, spec: str) -> None:
    """Without a URL every call needs an absolute server in the spec; say so now, not once per call."""
    servers = {s for t in tools if isinstance(t.binding, HttpBinding) for s in t.binding.servers}
    if tools and not any("://" in s for s in servers):
        declared = f" (only {', '.join(sorted(servers))})" if servers else ""
        raise ConfigError(
            f"`exec='rest:{rest}'`: {spec} declares no absolute server URL{declared}; give the API's URL "
            f"after an @: `exec='rest:{spec}@http://127.0.0.1:8000'`"
        )


def _mcp(rest: str, options: EngineOptions) -> Engine:
    """`mcp:COMMAND`, `mcp:URL` or `mcp:CONFIG.json`: the source is parsed now, its tools listed on first use.

    Listing waits for the first call because a server is reached on the event loop that runs the
    calls (a verification's), and that loop is not running yet while the cascade is built.
    """
    from callforge.execute.mcp import McpEngine
    from callforge.tools import (
        is_mcp_config,
        load_mcp_async,
        read_mcp_config,
        require_mcp,
        server_from_source,
        server_label,
    )

    text = rest.strip()
    form = (
        "`exec='mcp:python server.py'`, `exec='mcp:http://127.0.0.1:8000/mcp'` or "
        "`exec='mcp:claude_desktop_config.json'`"
    )
    if not text:
        raise ConfigError(
            f"`exec='mcp:'` names no MCP server; give its command line, URL or config file: {form}"
        )
    require_mcp()
    if is_mcp_config(text):  # an existing JSON file with "mcpServers"; anything else is a command or URL
        config = read_mcp_config(text)

        async def list_config() -> list[ToolSpec]:
            return await load_mcp_async(config, prefix=True)  # names stay unique; bare names still match

        return SourceEngine(McpEngine(env=config.env, read_only=options.read_only), list_config, source=f"MCP config {text}")
    if text.lower().endswith(".json") and Path(text).is_file():
        raise ConfigError(
            f"`exec='mcp:{rest}'`: {text} is a JSON file but not an MCP config "
            f'(no "mcpServers" object); {form}'
        )
    server: McpServer = server_from_source(text)  # an existing script (`mcp:./server.py`) runs as a command

    async def list_server() -> list[ToolSpec]:
        return await load_mcp_async(server)

    return SourceEngine(McpEngine(read_only=options.read_only), list_server, source=server_label(server))
