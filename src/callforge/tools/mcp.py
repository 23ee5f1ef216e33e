"""MCP servers as a tool source: read a Claude-Desktop config, reach a server, list its tools as ToolSpecs.

A server is a stdio command (started as a child process) or a streamable-HTTP URL. The `mcp`
package (the `[mcp]` extra) is imported only inside the functions that talk to a server, because
importing it takes about a second. Environment values a server needs are secrets: `McpServer`
keeps only their names, `McpConfig.env` holds the values in memory, and no ToolSpec, binding or
pool file ever contains them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from callforge.core import (
    CallforgeError,
    ConfigError,
    McpBinding,
    McpServer,
    SpecError,
    ToolSpec,
    copy_json,
    kind_of,
    read_bounded,
)
from callforge.tools.load import read_json
from callforge.tools.openai import Where, check_parameters
from callforge.tools.python import inline_refs, strip_titles

if TYPE_CHECKING:
    from mcp import Client
    from mcp_types import Tool

INSTALL_HINT = "pip install 'callforge[mcp]'"
STDERR_TAIL = 2000
"""How much of a stdio server's stderr an error message quotes (its last characters)."""
MAX_PAGES = 1000
"""tools/list pages read at most; a server that pages on beyond this is broken."""

_CONFIG_SHAPE = (
    '{"mcpServers": {"name": {"command": "...", "args": [...], "env": {...}} or {"url": "https://..."}}}'
)
_SERVER_SHAPE = '{"command": "...", "args": [...], "env": {...}, "cwd": "..."} or {"url": "https://..."}'
_STDIO_TYPES = ("stdio",)
_HTTP_TYPES = ("http", "streamable-http", "streamable_http", "streamableHttp")
_LAUNCHER = re.compile(
    r"(python[\d.]*|py|pypy[\d.]*|node|nodejs|npx|npm|pnpm|yarn|bun|bunx|deno|uv|uvx|pipx|docker|podman"
    r"|sh|bash|env|run|exec|dlx|tool|x)(\.exe)?",
    re.IGNORECASE,
)
_SCRIPT_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".ts", ".exe", ".sh", ".jar")
_ENV_NAME = re.compile(r"[^=\0]+")


@dataclass(frozen=True)
class McpConfig:
    """The servers of a config file, and the environment values the file gives each of them.

    `env` maps a server name to its literal values. They stay in memory only: pass the whole
    config to `load_mcp` and to `McpEngine.from_config`, never write it out. `repr` leaves them
    out so a log line or a traceback cannot leak a key.
    """

    servers: tuple[McpServer, ...]
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    source: str | None = None
    """The file it was read from, for messages."""


def server_label(server: McpServer) -> str:
    """How messages name a server: `MCP server 'demo' (python server.py)` or `... at https://...`."""
    if server.url is not None:
        return f"MCP server {server.name!r} at {server.url}"
    command = shlex.join([server.command or "", *server.args])
    return f"MCP server {server.name!r} ({command})"


# ---------------------------------------------------------------------------------------- sources


def server_from_source(src: str, *, name: str | None = None) -> McpServer:
    """A server from a source string: a stdio command line, or an `http(s)://` streamable-HTTP URL.

    An `mcp:` prefix (the CLI's way to say "this is an MCP server") is accepted and dropped. The
    command line is split like a POSIX shell would (`shlex`), but never run through a shell. The
    server's name, used as the tools' domain and as their prefix with `prefix=True`, is `name` or
    else guessed: the script or package a launcher runs (`python weather.py` → `weather`, `npx -y
    @modelcontextprotocol/server-github` → `server-github`), or the URL's host and port.

    Raises:
        ConfigError: The source is empty, has unbalanced quotes, or is a URL of another scheme.
    """
    text = src.strip()
    text = text[4:].strip() if text.lower().startswith("mcp:") else text
    if not text:
        raise ConfigError(f"MCP source {src!r} is empty; give a command (`python server.py`) or a URL")
    if re.match(r"https?://", text, re.IGNORECASE):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ConfigError(f"MCP URL {text!r} has no host; expected e.g. http://127.0.0.1:8000/mcp")
        return McpServer(name=name or _name_from_url(text), url=text)
    if re.match(r"[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        raise ConfigError(
            f"MCP source {text!r}: only http:// and https:// URLs (streamable HTTP) are supported; "
            "for a local server give its command line instead"
        )
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(
            f"MCP command {text!r} cannot be split into arguments: {exc}; check its quotes"
        ) from None
    return McpServer(name=name or _name_from_command(argv), command=argv[0], args=tuple(argv[1:]))


def _name_from_command(argv: list[str]) -> str:
    skip = False
    for token in argv:
        if skip or token.startswith("-") or any(c.isspace() for c in token):
            skip = token == "-c"  # `python -c CODE`: the code names nothing
            continue
        base = token.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        base = base.split("@", 1)[0] if not base.startswith("@") else base
        for suffix in _SCRIPT_SUFFIXES:
            if base.lower().endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
                break
        if not base or _LAUNCHER.fullmatch(base):
            continue
        return _identifier(base)
    return "mcp"


def _name_from_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "mcp"
    return _identifier(f"{host}_{parts.port}" if parts.port else host)


def _identifier(text: str) -> str:
    """`text` reduced to what tool names allow (letters, digits, `_`, `-`)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "mcp"


def is_mcp_config(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a JSON file with an `mcpServers` object (a Claude-Desktop-style config).

    Lets a caller that accepts both tool files and MCP configs tell them apart; unreadable or
    invalid files are not configs (the tools loader then reports what is wrong with them), and
    neither are a FIFO, a device or a file over `max_input_mb`, which are never read here.
    """
    try:
        value = json.loads(read_bounded(path).decode("utf-8-sig"))
    except (CallforgeError, OSError, UnicodeDecodeError, RecursionError, json.JSONDecodeError):
        return False
    return isinstance(value, dict) and isinstance(value.get("mcpServers"), dict)


def read_mcp_config(path: str | os.PathLike[str]) -> McpConfig:
    """Read a Claude-Desktop-style config: `{"mcpServers": {"name": {"command", "args", "env", "cwd"} | {"url"}}}`.

    Cursor, Claude Code and most MCP clients write the same shape. `"disabled": true` skips a
    server; keys other clients add (`autoApprove`, `alwaysAllow` …) are ignored. A relative `cwd`
    is taken relative to the config file. `env` values are literal secrets: they go to
    `McpConfig.env`, and the returned McpServer keeps only their names.

    Raises:
        SpecError: The file cannot be read or is not such a config; the message names the file
            and the JSON path at fault.
    """
    where = Where(source=os.fspath(path))
    documents = read_json(Path(path))
    if len(documents) != 1:
        where.fail(f"expected one JSON document, found {len(documents)} (JSON Lines)", _CONFIG_SHAPE)
    document, where = documents[0]
    if not isinstance(document, dict) or "mcpServers" not in document:
        found = 'an object without "mcpServers"' if isinstance(document, dict) else kind_of(document)
        where.fail(f"not an MCP config: found {found}", _CONFIG_SHAPE)
    entries = document["mcpServers"]
    at = where.at("mcpServers")
    if not isinstance(entries, dict):
        at.fail(f'"mcpServers" must be an object of servers by name, not {kind_of(entries)}', _CONFIG_SHAPE)
    servers: list[McpServer] = []
    env: dict[str, dict[str, str]] = {}
    for name, entry in entries.items():
        found_server = _config_server(name, entry, at.at(name), Path(path).parent)
        if found_server is None:
            continue
        server, values = found_server
        servers.append(server)
        if values:
            env[server.name] = values
    if not servers:
        at.fail("no servers to use (the object is empty or every server is disabled)", _CONFIG_SHAPE)
    return McpConfig(servers=tuple(servers), env=env, source=os.fspath(path))


def _config_server(
    name: str, entry: Any, where: Where, base: Path
) -> tuple[McpServer, dict[str, str]] | None:
    if not name.strip():
        where.fail("a server name must not be empty")
    if not isinstance(entry, dict):
        where.fail(f"a server must be an object, not {kind_of(entry)}", _SERVER_SHAPE)
    if entry.get("disabled") is True:
        return None
    kind = entry.get("type")
    if kind is not None and kind not in (*_STDIO_TYPES, *_HTTP_TYPES):
        if kind == "sse":
            where.at("type").fail(
                "the SSE transport is not supported", 'a streamable-HTTP server ("type": "http")'
            )
        where.at("type").fail(f"unknown transport {json.dumps(kind)}", '"stdio" or "http"')
    command, url = entry.get("command"), entry.get("url")
    if command is not None and url is not None:
        where.fail('a server has "command" (stdio) or "url" (HTTP), not both', _SERVER_SHAPE)
    if command is None and url is None:
        where.fail('missing "command" or "url"', _SERVER_SHAPE)
    if url is not None:
        if kind in _STDIO_TYPES:
            where.at("type").fail('"type": "stdio" needs a "command", not a "url"')
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]", url, re.IGNORECASE):
            where.at("url").fail(f"not an http(s) URL: {json.dumps(url)}", "e.g. http://127.0.0.1:8000/mcp")
        if entry.get("headers"):
            where.at("headers").fail(
                "HTTP headers (credentials) for MCP servers are not supported yet",
                "a server that needs no headers, or its stdio command",
            )
        return McpServer(name=name, url=url), {}
    if kind in _HTTP_TYPES:
        where.at("type").fail(f'"type": {json.dumps(kind)} needs a "url", not a "command"')
    if not isinstance(command, str) or not command.strip():
        where.at("command").fail(f'"command" must be a non-empty string, not {json.dumps(command)}')
    args = entry.get("args", [])
    if not isinstance(args, list):
        where.at("args").fail(f'"args" must be a list of strings, not {kind_of(args)}')
    for i, arg in enumerate(args):
        if not isinstance(arg, str):
            where.at("args").at(i).fail(
                f"an argument must be a string, not {kind_of(arg)}", "a string (quote numbers)"
            )
    values = entry.get("env") or {}
    if not isinstance(values, dict):
        where.at("env").fail(f'"env" must be an object of variable names to values, not {kind_of(values)}')
    for key, value in values.items():
        if not _ENV_NAME.fullmatch(key):
            where.at("env").at(key).fail("not a valid environment variable name")
        if not isinstance(value, str):
            where.at("env").at(key).fail(f"a value must be a string, not {kind_of(value)}", "a quoted value")
    cwd = entry.get("cwd")
    if cwd is not None and (not isinstance(cwd, str) or not cwd):
        where.at("cwd").fail(f'"cwd" must be a directory path, not {json.dumps(cwd)}')
    if isinstance(cwd, str):
        cwd = os.fspath(base / Path(cwd).expanduser())
    server = McpServer(name=name, command=command, args=tuple(args), cwd=cwd, env=tuple(sorted(values)))
    return server, dict(values)


# ---------------------------------------------------------------------------------------- connecting


def require_mcp() -> None:
    """Import the SDK, or say how to install it."""
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"MCP support needs the `mcp` package, which is not installed: {INSTALL_HINT}"
        ) from exc


def server_env(server: McpServer, values: Mapping[str, str] | None) -> dict[str, str]:
    """The environment values a stdio server gets: `values`, then this process's value of each name it lists.

    The SDK adds only a safe base (PATH, HOME, USER …) to them, so a server never sees the rest of
    this process's environment, such as an API key meant for the model.

    Raises:
        ConfigError: A variable the server needs has no value anywhere.
    """
    out = dict(values or {})
    missing = [name for name in server.env if name not in out and name not in os.environ]
    if missing:
        names = ", ".join(missing)
        raise ConfigError(
            f"{server_label(server)} needs the environment variable(s) {names}, which have no value: "
            f"export them, or pass their values (env= of load_mcp, or McpEngine(env={{{server.name!r}: {{...}}}}))"
        )
    out.update({name: os.environ[name] for name in server.env if name not in out})
    return out


def stderr_tail(errlog: IO[Any] | None, limit: int = STDERR_TAIL) -> str:
    """The end of what a stdio server wrote to stderr so far (read without moving the file offset it writes at)."""
    if errlog is None:
        return ""
    try:
        fd = errlog.fileno()
        size = os.fstat(fd).st_size
        data = os.pread(fd, limit, max(0, size - limit))
    except (OSError, ValueError):
        return ""
    return data.decode("utf-8", errors="replace").strip()


@contextlib.asynccontextmanager
async def open_mcp_client(
    server: McpServer,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    errlog: TextIO | None = None,
) -> AsyncIterator[Client]:
    """Connect to `server` and yield an `mcp.Client` that finished its handshake; close it (and the process) on exit.

    Enter and leave it in one task: the SDK's transports are anyio task groups. `timeout` bounds
    the handshake and then every request. A stdio server's stderr goes to `errlog` (a temporary
    file by default), never to this process's terminal; errors quote its end.

    Raises:
        ConfigError: The server cannot start or be reached, exits or hangs during the handshake,
            or the connection breaks; the message names the command or URL and the fix.
    """
    require_mcp()
    import anyio
    from mcp import Client

    _check_timeout(timeout)
    with contextlib.ExitStack() as files:
        if errlog is None and server.url is None:
            errlog = files.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace"))
        client = Client(_transport(server, env, errlog), read_timeout_seconds=timeout)
        entered = False
        try:
            # The deadline covers the handshake only; it is lifted once the client is in.
            with anyio.CancelScope(deadline=anyio.current_time() + timeout) as handshake:
                async with client:
                    entered = True
                    handshake.deadline = math.inf
                    yield client
        except Exception as exc:
            error = _connection_error(exc, server, entered=entered, errlog=errlog)
            if any(
                error is leaf for leaf in _leaves(exc)
            ):  # ours, raised inside: unwrapped from the SDK's groups
                raise error from None
            raise error from exc
        if not entered:
            tail = stderr_tail(errlog)
            raise ConfigError(
                f"{server_label(server)} did not finish the MCP handshake within {timeout:g} s; check that it is an "
                f"MCP server ({'streamable HTTP' if server.url else 'speaking MCP on stdin/stdout'}), or raise timeout="
                + (f"; its stderr ends:\n{tail}" if tail else "")
            )


def _transport(server: McpServer, env: Mapping[str, str] | None, errlog: TextIO | None) -> Any:
    """What `mcp.Client` connects through: the URL itself, or a stdio transport whose stderr goes to `errlog`."""
    if server.url is not None:
        if env:
            raise ConfigError(
                f"{server_label(server)} is reached over HTTP: environment values only reach stdio servers; "
                "drop env= for it"
            )
        return server.url
    if not server.command:
        raise ConfigError(f"MCP server {server.name!r} has neither a command nor a URL; give one of them")
    from mcp import StdioServerParameters
    from mcp.client.stdio import stdio_client

    values = server_env(server, env)
    _check_command(server, values)
    params = StdioServerParameters(
        command=server.command, args=list(server.args), env=values or None, cwd=server.cwd
    )
    return stdio_client(params, errlog=errlog) if errlog is not None else stdio_client(params)


def _check_command(server: McpServer, values: Mapping[str, str]) -> None:
    """Fail before spawning when the command or its directory is missing: the OS error would not name them."""
    command = server.command or ""
    if server.cwd is not None and not Path(server.cwd).is_dir():
        raise ConfigError(
            f'{server_label(server)}: its working directory {server.cwd!r} does not exist; fix its "cwd"'
        )
    if "/" in command or os.sep in command:
        path = Path(command).expanduser()
        if not path.is_absolute() and server.cwd is not None:
            path = Path(server.cwd) / path
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(
                f"{server_label(server)}: command {command!r} is not an executable file; check the path"
            )
        return
    search = values.get("PATH", os.environ.get("PATH", os.defpath))
    if shutil.which(command, path=search) is None:
        raise ConfigError(
            f"{server_label(server)}: command {command!r} was not found on PATH; install it, "
            "or give the full path of the executable"
        )


def _connection_error(
    exc: Exception, server: McpServer, *, entered: bool, errlog: TextIO | None
) -> Exception:
    """Our own error inside `exc`, or a ConfigError saying what went wrong with the server and what to do."""
    leaves = _leaves(exc)
    for leaf in leaves:
        if isinstance(leaf, CallforgeError):
            return leaf
    leaf = leaves[0]
    label = server_label(server)
    when = "during the session" if entered else "before the MCP handshake finished"
    tail = stderr_tail(errlog)
    stderr = f"; its stderr ends:\n{tail}" if tail else ""
    if connection_closed(leaf):
        if server.url is not None:
            text = f"{label} closed the connection {when}; check that the URL is its streamable-HTTP endpoint"
        else:
            text = (
                f"{label} exited or closed its stdout {when}; run the command by hand to see why "
                "(an MCP stdio server must keep running and print nothing but protocol messages)"
            )
        return ConfigError(text + stderr)
    if isinstance(leaf, OSError) and server.url is None:
        return ConfigError(
            f"{label} could not be started: {leaf.strerror or leaf}; check the command{stderr}"
        )
    if server.url is not None and _is_http_error(leaf):
        return ConfigError(
            f"cannot reach {label}: {type(leaf).__name__}: {leaf}; check that the server is running and that "
            "the URL is its streamable-HTTP endpoint (often ending in /mcp)"
        )
    if server.url is not None and not entered:
        return ConfigError(
            f"{label} refused the MCP handshake: {type(leaf).__name__}: {leaf}; check that the URL is its "
            "streamable-HTTP endpoint (often ending in /mcp)"
        )
    return ConfigError(f"{label} failed {when}: {type(leaf).__name__}: {leaf}{stderr}")


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, which the SDK's task groups wrap errors in."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def connection_closed(exc: BaseException) -> bool:
    """Whether an error from the SDK means the connection is gone (the server exited or hung up)."""
    import anyio
    from mcp import MCPError
    from mcp_types import CONNECTION_CLOSED

    if isinstance(exc, MCPError):
        return exc.code == CONNECTION_CLOSED
    return isinstance(exc, (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream))


def _is_http_error(exc: BaseException) -> bool:
    import httpx2

    return isinstance(exc, (httpx2.HTTPError, httpx2.InvalidURL))


def _check_timeout(timeout: float) -> None:
    if not timeout > 0 or math.isinf(timeout):
        raise ConfigError(f"timeout={timeout!r} must be a positive number of seconds")


# ---------------------------------------------------------------------------------------- loading


def load_mcp(
    source: McpServer | McpConfig | str,
    *,
    env: Mapping[str, str] | None = None,
    prefix: bool = False,
    timeout: float = 30.0,
) -> list[ToolSpec]:
    """List the tools of an MCP server (a command line, a URL, an McpServer) or of every server of an McpConfig.

    Synchronous wrapper of `load_mcp_async` for code without an event loop; see it for the rules.

    Raises:
        ConfigError: A server cannot be reached, or tool names clash (see `load_mcp_async`), or
            this is called inside a running event loop (use `await load_mcp_async(...)` there).
        SpecError: A server lists a tool whose schema is malformed.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        require_mcp()  # before the loop starts: the ~1 s import would otherwise run inside it
        return asyncio.run(load_mcp_async(source, env=env, prefix=prefix, timeout=timeout))
    raise ConfigError(
        "load_mcp() cannot run inside a running event loop; use `await load_mcp_async(...)` there"
    )


async def load_mcp_async(
    source: McpServer | McpConfig | str,
    *,
    env: Mapping[str, str] | None = None,
    prefix: bool = False,
    timeout: float = 30.0,
) -> list[ToolSpec]:
    """List the tools of an MCP server, or of every server of an McpConfig (concurrently), as ToolSpecs.

    Each server is started (or connected to), asked for its tools page by page until the last,
    and closed. A ToolSpec gets the tool's name (`<server>__<tool>` with `prefix=True`), its
    description, its input schema as `parameters` and its output schema as `returns` (both with
    pydantic's `title` noise removed and local `$ref`s inlined), `source="mcp"`, the server name
    as `domain`, and an McpBinding for execution. `env` gives values for a single server's
    environment (their names are recorded in the binding, the values nowhere); a config brings
    its own. `timeout` bounds each server's handshake and each request.

    Raises:
        ConfigError: A server cannot be started or reached, fails during listing, or two servers
            offer the same tool name (pass `prefix=True`); names the server, command or URL.
        SpecError: A server lists a tool whose input schema is malformed.
    """
    _check_timeout(timeout)
    if isinstance(source, McpConfig):
        if env is not None:
            raise ConfigError("env= is for a single server; a config carries its own values in McpConfig.env")
        targets = [(server, dict(source.env.get(server.name, {}))) for server in source.servers]
    else:
        server = server_from_source(source) if isinstance(source, str) else source
        if env and server.command is not None:
            server = server.model_copy(update={"env": tuple(sorted({*server.env, *env}))})
        targets = [(server, dict(env or {}))]
    require_mcp()
    results = await asyncio.gather(
        *(_load_server(server, values, prefix, timeout) for server, values in targets), return_exceptions=True
    )
    tools: list[ToolSpec] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        tools.extend(result)
    _check_unique(tools, prefix)
    return tools


async def _load_server(
    server: McpServer, env: dict[str, str], prefix: bool, timeout: float
) -> list[ToolSpec]:
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
        async with open_mcp_client(server, env=env, timeout=timeout, errlog=errlog) as client:
            listed = await _list_tools(client, server, timeout, errlog)
    return [tool_from_mcp(tool, server, prefix=prefix) for tool in listed]


async def _list_tools(client: Client, server: McpServer, timeout: float, errlog: TextIO) -> list[Tool]:
    """Every tool the server lists, following `next_cursor` to the last page."""
    from mcp import MCPError
    from mcp_types import METHOD_NOT_FOUND, REQUEST_TIMEOUT

    label = server_label(server)
    tools: list[Tool] = []
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        try:
            page = await client.list_tools(cursor=cursor)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise ConfigError(
                    f"{label} did not answer tools/list within {timeout:g} s; raise timeout="
                ) from None
            if exc.code == METHOD_NOT_FOUND:
                raise ConfigError(f"{label} offers no tools (it does not support tools/list)") from None
            if connection_closed(exc):
                tail = stderr_tail(errlog)
                raise ConfigError(
                    f"{label} exited or closed the connection while listing its tools"
                    + (f"; its stderr ends:\n{tail}" if tail else "")
                ) from None
            raise ConfigError(
                f"{label} failed to list its tools: {exc.message} (MCP error {exc.code})"
            ) from None
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools
        if cursor in seen:
            raise ConfigError(
                f"{label} answered tools/list with cursor {cursor!r} twice; it would page forever"
            )
        seen.add(cursor)
    raise ConfigError(f"{label} listed more than {MAX_PAGES} pages of tools; it seems to page forever")


def tool_from_mcp(tool: Tool, server: McpServer, *, prefix: bool = False) -> ToolSpec:
    """One listed MCP tool as a ToolSpec bound to `server` (see `load_mcp_async` for what goes where).

    Raises:
        SpecError: The tool's input schema is malformed; names the server and the JSON path.
    """
    where = Where(source=server_label(server), tool=tool.name)
    if not tool.name:
        where.fail("a tool has an empty name")
    schema = tool.input_schema
    if not isinstance(schema, dict):
        where.at("inputSchema").fail(f"the input schema must be an object, not {kind_of(schema)}")
    parameters = {"type": "object", "properties": {}, **normalize_schema(schema)}
    check_parameters(parameters, where.at("inputSchema"))
    output = tool.output_schema
    returns = normalize_schema(output) if isinstance(output, dict) and output else None
    name = f"{_identifier(server.name)}__{tool.name}" if prefix else tool.name
    return ToolSpec(
        name=name,
        description=tool.description or "",
        parameters=parameters,
        returns=returns,
        source="mcp",
        domain=server.name,
        binding=McpBinding(server=server, tool=tool.name, read_only=_declared_read_only(tool)),
    )


def _declared_read_only(tool: Tool) -> bool:
    """Whether the server marks the tool `readOnlyHint: true` (it does not change its environment)."""
    annotations = getattr(tool, "annotations", None)
    return getattr(annotations, "read_only_hint", None) is True


def normalize_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A server's JSON Schema without `title` keywords and with its local `$defs` references inlined.

    Python servers send pydantic's schemas: every property carries a `title` that repeats its name
    and nested models sit behind `$ref`s. Both cost prompt tokens and confuse small models; a
    recursive model keeps its `$ref` and the definitions it needs. A reference this cannot resolve
    leaves the schema as sent.
    """
    copied: dict[str, Any] = copy_json(schema)
    defs = copied.pop("$defs", None)
    if isinstance(defs, dict) and defs:
        kept: dict[str, Any] = {}
        try:
            inlined = inline_refs(copied, defs, (), kept)
        except (KeyError, RecursionError):
            copied["$defs"] = defs
        else:
            copied = inlined
            if kept:
                copied["$defs"] = kept
    elif defs is not None:
        copied["$defs"] = defs
    stripped: dict[str, Any] = strip_titles(copied)
    return stripped


def _check_unique(tools: list[ToolSpec], prefix: bool) -> None:
    owners: dict[str, ToolSpec] = {}
    for spec in tools:
        first = owners.setdefault(spec.name, spec)
        if first is spec:
            continue
        a, b = _server_name(first), _server_name(spec)
        if a == b:
            raise SpecError(
                f"the server lists tool {spec.name!r} twice", source=f"MCP server {a!r}", tool=spec.name
            )
        fix = (
            "rename one of the servers"
            if prefix
            else f"pass prefix=True to name tools '<server>__<tool>' ({_identifier(a)}__{spec.name}, "
            f"{_identifier(b)}__{spec.name})"
        )
        raise ConfigError(f"tool name {spec.name!r} is offered by MCP servers {a!r} and {b!r}; {fix}")


def _server_name(spec: ToolSpec) -> str:
    return spec.binding.server.name if isinstance(spec.binding, McpBinding) else spec.domain or "?"
