"""McpEngine: run tool calls on the MCP servers the tools came from, one kept-open session per server.

The SDK's transports are anyio task groups, which must be entered and left by the same task. So
each server's session is owned by a background task that opens it, waits for the engine to close,
and closes it; calls run from any task over the open session. A session is bound to the event
loop that started it: a later `asyncio.run` gets fresh ones, and when a loop ends its owner tasks
are cancelled and still stop their servers.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TextIO

from callforge.core import (
    CallforgeError,
    ConfigError,
    McpBinding,
    McpServer,
    ToolCall,
    ToolSpec,
    Verdict,
    register_secret,
)
from callforge.execute.base import Observation
from callforge.tools import (
    McpConfig,
    connection_closed,
    open_mcp_client,
    require_mcp,
    server_label,
    stderr_tail,
)

if TYPE_CHECKING:
    from mcp import Client
    from mcp_types import CallToolResult

_GRACE_S = 5.0
"""Extra time past `timeout` before a call is abandoned without the SDK's own timeout answer."""


class McpEngine:
    """Executes calls of MCP-bound tools (`ToolSpec.binding` is an McpBinding) on their servers.

    A server is started (or connected to) on the first call of one of its tools and kept open
    for the calls that follow; concurrent first calls start it once. A server that cannot start,
    or that exits, is not restarted: its calls are `exec.unavailable` with the reason, so a crash
    shows in the results instead of hiding behind a fresh process. Close with `aclose()` or use
    `async with McpEngine() as engine`.
    """

    name = "mcp"

    def __init__(
        self,
        *,
        env: Mapping[str, Mapping[str, str]] | None = None,
        timeout: float = 30.0,
        start_timeout: float | None = None,
        read_only: bool = False,
    ) -> None:
        """Execute on MCP servers.

        Args:
            env: Environment values per server name, for stdio servers (`McpConfig.env` has this
                shape). A server also gets this process's value of each variable its McpServer
                lists and that `env` does not give.
            timeout: Seconds for each call.
            start_timeout: Seconds for a server's start and handshake (default: `timeout`, at least 30 s).
                Kept apart from `timeout` because starting a server (a Python interpreter importing
                the SDK) takes seconds on a busy machine, while a short call timeout is meant for calls.
            read_only: Send only the calls of tools their server declares read-only (`readOnlyHint`);
                answer the others with a response simulated from the tool's output schema, never sent.

        Raises:
            ConfigError: `mcp` is not installed, or the timeout is not a positive number.
        """
        require_mcp()  # here, not inside the event loop, where the ~1 s import would stall every task
        if not timeout > 0:
            raise ConfigError(f"timeout={timeout!r} must be a positive number of seconds")
        if start_timeout is not None and not start_timeout > 0:
            raise ConfigError(f"start_timeout={start_timeout!r} must be a positive number of seconds")
        self.timeout = timeout
        self.read_only = read_only
        self.name = "mcp:read-only" if read_only else "mcp"
        self.start_timeout = start_timeout if start_timeout is not None else max(timeout, 30.0)
        self._env = {server: dict(values) for server, values in (env or {}).items()}
        for server, values in self._env.items():
            for name, value in values.items():
                register_secret(value, f"MCP env {name} of {server}")
        self._sessions: dict[asyncio.AbstractEventLoop, dict[McpServer, _Session]] = {}

    @classmethod
    def from_config(cls, config: McpConfig, *, timeout: float = 30.0) -> McpEngine:
        """An engine that passes a config file's environment values to its servers."""
        return cls(env=config.env, timeout=timeout)

    def __repr__(self) -> str:
        # Never show the environment values: they are secrets.
        return f"McpEngine(timeout={self.timeout!r}, servers with env={sorted(self._env)!r})"

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Call the tool on its server and report the output or a failing verdict; never raises for the call.

        The observation is redacted (`Observation.redacted`): a server may print the token it was given.
        """
        return (await self._execute(call, tool)).redacted()

    async def _execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        started = time.perf_counter()
        binding = tool.binding
        if not isinstance(binding, McpBinding):
            kind = f"a {binding.kind} binding" if binding is not None else "no binding"
            verdict = Verdict.failed(
                "exec.unavailable",
                f"{tool.name} is not an MCP tool ({kind}; source {tool.source!r}); import it from its server with "
                "callforge.tools.load_mcp, or route it to another engine",
                tool=tool.name,
            )
            return Observation.timed(call, self.name, started, output=None, verdict=verdict)
        if self.read_only and not binding.read_only:
            return _unsent(call, tool, self.name, started)
        session = self._session(binding.server)
        client = await session.client()
        if client is None:
            verdict = Verdict.failed(
                "exec.unavailable", session.failure, server=binding.server.name, tool=binding.tool
            )
            return Observation.timed(call, self.name, started, output=None, verdict=verdict)
        output, verdict = await self._call(session, client, binding, call)
        return Observation.timed(call, self.name, started, output=output, verdict=verdict)

    async def aclose(self) -> None:
        """Close every session this event loop opened, stopping stdio servers (waits for them to exit)."""
        loop = asyncio.get_running_loop()
        sessions = self._sessions.pop(loop, {})
        await asyncio.gather(*(session.aclose() for session in sessions.values()))

    async def __aenter__(self) -> McpEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    def _session(self, server: McpServer) -> _Session:
        loop = asyncio.get_running_loop()
        for old in [other for other in self._sessions if other.is_closed()]:
            del self._sessions[old]
        sessions = self._sessions.setdefault(loop, {})
        session = sessions.get(server)
        if session is None:
            session = sessions[server] = _Session(server, self._env.get(server.name), self.start_timeout)
        return session

    async def _call(
        self, session: _Session, client: Client, binding: McpBinding, call: ToolCall
    ) -> tuple[Any, Verdict]:
        from mcp import MCPError
        from mcp_types import REQUEST_TIMEOUT

        server, label = binding.server, server_label(binding.server)
        where = f"{binding.tool} on {label}"
        evidence: dict[str, Any] = {"server": server.name, "tool": binding.tool}
        try:
            async with asyncio.timeout(self.timeout + _GRACE_S):
                result = await client.call_tool(
                    binding.tool, call.arguments, read_timeout_seconds=self.timeout
                )
        except TimeoutError:
            return None, _timeout(where, self.timeout, evidence)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                return None, _timeout(where, self.timeout, evidence)
            if session.closed_by(exc):
                return None, Verdict.failed("exec.unavailable", session.failure, **evidence)
            message = f"{where} was rejected: {exc.message} (MCP error {exc.code})"
            return None, _failed(
                "exec.exception",
                message,
                {"type": "MCPError", "message": exc.message, "code": exc.code, **evidence},
            )
        except Exception as exc:  # the call must not raise; whatever broke is this call's verdict
            if session.closed_by(exc):
                return None, Verdict.failed("exec.unavailable", session.failure, **evidence)
            text = str(exc) or type(exc).__name__
            return None, _failed(
                "exec.exception",
                f"{where} failed in the MCP client: {type(exc).__name__}: {text}",
                {"type": type(exc).__name__, "message": text, **evidence},
            )
        content = [block.model_dump(mode="json", exclude_none=True) for block in result.content]
        if result.is_error:
            text = _text(result) or "the server reported an error without a message"
            return None, _failed(
                "exec.exception",
                f"{where} returned an error: {text}",
                {"type": "ToolError", "message": text, "content": content, **evidence},
            )
        return output_of(result), Verdict.passed()



def output_of(result: CallToolResult) -> Any:
    """A tool result as one JSON value: the structured content when there is any, else the text.

    Text that parses as JSON is parsed (servers often send a JSON document as text); several
    content items give a list; non-text items (images, resources) appear as their MCP JSON.
    """
    if result.structured_content is not None:
        return result.structured_content
    items: list[Any] = []
    for block in result.content:
        if block.type == "text":
            try:
                items.append(json.loads(block.text))
            except ValueError:
                items.append(block.text)
        else:
            items.append(block.model_dump(mode="json", exclude_none=True))
    if not items:
        return None
    return items[0] if len(items) == 1 else items


def _text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text").strip()


def _timeout(where: str, timeout: float, evidence: dict[str, Any]) -> Verdict:
    return Verdict.failed(
        "exec.timeout",
        f"{where} did not answer within {timeout:g} s; raise McpEngine(timeout=...) if the tool is just slow",
        limit="wall",
        limit_value=timeout,
        **evidence,
    )


def _failed(code: str, message: str, evidence: dict[str, Any]) -> Verdict:
    # Verdict.failed takes evidence as keywords, and the evidence has a "message" of its own.
    return Verdict(ok=False, code=code, message=message, evidence=evidence)


class _Session:
    """One server's client, owned by a background task that opens it and, when told to stop, closes it."""

    def __init__(self, server: McpServer, env: Mapping[str, str] | None, timeout: float) -> None:
        self.server = server
        self.env = env
        self.timeout = timeout
        self.failure = f"{server_label(server)} is closed"
        """Why there is no client, once there is none: the text of an `exec.unavailable` verdict."""
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._errlog: TextIO | None = None

    async def client(self) -> Client | None:
        """The open client, starting the server on first use; None when it failed or was closed (see `failure`).

        Concurrent first calls start one server: the check and the task's creation run with no
        await between them, which in asyncio no other task can interleave (a lock would add
        nothing). Every caller then waits for the handshake, even one that arrives after the
        first caller was cancelled.
        """
        if self._task is None:
            self._task = asyncio.create_task(self._own(), name=f"mcp session {self.server.name}")
        await self._ready.wait()
        return self._client

    def closed_by(self, exc: BaseException) -> bool:
        """Whether `exc` says the server is gone; if so the session ends, with the reason in `failure`."""
        if not connection_closed(exc):
            return False
        if self._client is not None:
            self._client = None
            if self._stop.is_set():
                self.failure = f"{server_label(self.server)} was closed (McpEngine.aclose) while the call ran"
            else:
                self._ended_on_its_own()
                self._stop.set()
        return True

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait([self._task])

    async def _own(self) -> None:
        """Open the client, hand it out, wait for the stop, close it: all in this one task."""
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
            self._errlog = errlog
            try:
                async with open_mcp_client(
                    self.server, env=self.env, timeout=self.timeout, errlog=errlog
                ) as client:
                    self._client = client
                    self._ready.set()
                    await self._stop.wait()
            except asyncio.CancelledError:
                self.failure = (
                    f"{server_label(self.server)} was closed when the event loop that opened it ended"
                )
                raise
            except Exception as exc:  # kept here: an owner task must not end with an unretrieved exception
                if not self._ready.is_set():
                    self.failure = (
                        str(exc)
                        if isinstance(exc, CallforgeError)
                        else f"{server_label(self.server)} failed: {exc!r}"
                    )
                elif not self._stop.is_set():
                    self._ended_on_its_own()
            finally:
                self._client = None
                self._errlog = None
                self._ready.set()

    def _ended_on_its_own(self) -> None:
        """Record that the server went away while the engine still needed it (it is not restarted)."""
        tail = stderr_tail(self._errlog)
        what = "closed the connection" if self.server.url else "exited"
        self.failure = (
            f"{server_label(self.server)} {what} and is not restarted; fix the server "
            "(run its command by hand to see why), then run again"
            + (f"; its stderr ends:\n{tail}" if tail else "")
        )


def _unsent(call: ToolCall, tool: ToolSpec, engine: str, started: float) -> Observation:
    """A read-only engine's answer to a call of a tool not declared read-only: simulated, never sent."""
    from callforge.execute.rest import simulated_response

    verdict = Verdict.passed(
        f"read-only: {tool.name} was not sent (its server does not declare it read-only); the output is "
        "simulated from the tool's output schema",
        sent=False,
        read_only=True,
        tool=tool.name,
    )
    return Observation.timed(call, engine, started, output=simulated_response(tool, call.arguments), verdict=verdict)
