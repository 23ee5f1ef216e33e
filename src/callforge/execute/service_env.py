"""A REST or MCP tool set as a stateful Environment: the tools act on a real service, which hooks reset and read.

An `ObjectEnvironment` owns its state; a real service (a web shop on localhost, an MCP server over
a database) keeps its own, so the environment needs the service's help for the two things the
`Environment` protocol asks beyond running calls. A *reset hook*, which must exist, puts the service
back in its initial state: a command (`CommandHook`: an argv run without a shell, say a script that
reloads a fixture database) or an HTTP request (`HttpHook`: `POST http://localhost:8000/reset`). An
optional *state hook* reads the service's observable state as one JSON object (a command's stdout or
a response body), whose top-level keys become the snapshot's attributes. Without one, `snapshot()`
is empty and end-state checks can only rely on the responses.

The engines (RestEngine, McpEngine) are async and keep their connections per event loop, while the
protocol's `run` is not; so every call runs on one private event loop in a background thread that
the environment owns, created on first use and ended by `close()` (or a `with` block). One loop
means one MCP session: a second loop would start a second server process with a state of its own,
which is also why `run_async` sends its calls to that loop rather than running them on the caller's.

`load_service_environment(path)` builds one from a declarative YAML or JSON file (see
docs/multi-turn.md, "A real service (REST or MCP) with a reset hook").
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from callforge.core import (
    CallforgeError,
    ConfigError,
    ToolCall,
    ToolSpec,
    Verdict,
    check_depth,
    load_yaml,
    read_bounded,
    redact_url,
    register_secret,
)
from callforge.execute.base import Engine, Observation
from callforge.execute.environment import EnvironmentState, StateEntry
from callforge.execute.hooks import (
    COMMAND_TIMEOUT,
    HTTP_METHODS,
    HTTP_TIMEOUT,
    CommandHook,
    Hook,
    HttpHook,
    Role,
    command_words,
    run_hook,
    state_object,
)
from callforge.execute.toolbox import Toolbox, load_toolbox, load_toolbox_async


class ServiceEnvironment:
    """An Environment over a real service: its REST or MCP tools run there, hooks reset it and read its state.

    Give a `Toolbox` (from `load_toolbox`: the tools and the engine each runs on), or `tools` and
    the `engine` that runs them. `reset` is required; `state` is optional (see `snapshot`). The
    constructor has no side effects on the service: call `reset()` before the first episode to
    start from the initial state.

    Calls run on a private event loop in a background thread, started by the first call and ended
    by `close()`, which also closes the connections and MCP servers the engines opened; use the
    environment as a context manager, or close it. A closed environment runs nothing more.

    Raises:
        ConfigError: Neither or both of `toolbox` and `tools` + `engine` are given, two tools share a
            name, a toolbox tool has no implementation (it would be simulated, not run on the
            service), or a hook is not a CommandHook or HttpHook.
    """

    def __init__(
        self,
        name: str,
        toolbox: Toolbox | None = None,
        *,
        tools: Iterable[ToolSpec] | None = None,
        engine: Engine | None = None,
        reset: Hook,
        state: Hook | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"ServiceEnvironment(name={name!r}): give the environment a non-empty name")
        self.name = name
        closers: list[Callable[[], Awaitable[None]]] = []
        if toolbox is not None:
            if tools is not None or engine is not None:
                raise ConfigError(f"environment {name!r}: give a toolbox, or tools and an engine, not both")
            if toolbox.simulated:
                missing = ", ".join(sorted(toolbox.simulated)[:5])
                raise ConfigError(
                    f"environment {name!r}: {len(toolbox.simulated)} tool(s) have no implementation ({missing}), "
                    "and a service environment runs every tool on the service; give the OpenAPI spec or MCP "
                    "server that serves them"
                )
            specs = tuple(toolbox.tools)
            engine = toolbox.engine(None)
            closers.append(toolbox.aclose)
        else:
            if tools is None or engine is None:
                raise ConfigError(
                    f"environment {name!r}: give a toolbox (load_toolbox(...)), or both tools and the engine that runs them"
                )
            specs = tuple(tools)
            aclose = getattr(engine, "aclose", None)
            if callable(aclose):
                closers.append(aclose)
        by_name: dict[str, ToolSpec] = {}
        for tool in specs:
            if tool.name in by_name:
                raise ConfigError(f"environment {name!r}: two tools are named {tool.name!r}; tool names must be unique")
            by_name[tool.name] = tool
        for role, hook in (("reset", reset), ("state", state)):
            if not (hook is None and role == "state") and not isinstance(hook, CommandHook | HttpHook):
                raise ConfigError(
                    f"environment {name!r}: the {role} hook must be a CommandHook or an HttpHook, not {hook!r}"
                )
        self.reset_hook: Hook = reset
        self.state_hook: Hook | None = state
        self._tools = specs
        self._by_name = by_name
        self._engine: Engine = engine
        self._closers = closers
        self._label = f"environment:{name}"
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = self.state_hook.describe("state") if self.state_hook else None
        return (
            f"ServiceEnvironment(name={self.name!r}, tools={len(self._tools)}, "
            f"reset={self.reset_hook.describe('reset')!r}, state={state!r})"
        )

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        """The tools a model may call, as ToolSpecs."""
        return self._tools

    @property
    def engine(self) -> Engine:
        """The engine the calls run on (they run on this environment's own event loop; use `run`)."""
        return self._engine

    # ------------------------------------------------------------------ calls

    def run(self, call: ToolCall) -> Observation:
        """Run one call on the service and report the outcome; never raises for a failing call.

        Blocks until the engine answers (each engine has its own timeout). Safe to call from any
        thread, including one that runs an event loop of its own. A name that is no tool of this
        environment is an `exec.unavailable` verdict.
        """
        tool = self._by_name.get(call.name)
        if tool is None:
            return self._unknown(call)
        loop = self._running_loop()  # first: a closed environment raises before a coroutine exists
        future = asyncio.run_coroutine_threadsafe(self._execute(call, tool), loop)
        try:
            return future.result()
        except BaseException:  # Ctrl-C while waiting: do not leave the call running on its own
            future.cancel()
            raise

    async def run_async(self, call: ToolCall) -> Observation:
        """`run` for async code: awaits the call without blocking the caller's event loop.

        The call still runs on the environment's own loop, so it reaches the same MCP session
        (and server process, with its state) as every other call of this environment.
        """
        tool = self._by_name.get(call.name)
        if tool is None:
            return self._unknown(call)
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(self._execute(call, tool), loop)
        return await asyncio.wrap_future(future)

    def _unknown(self, call: ToolCall) -> Observation:
        verdict = Verdict.failed("exec.unavailable", f"no tool {call.name!r} in environment {self.name!r}")
        return Observation.timed(call, self._label, time.perf_counter(), verdict=verdict)

    async def _execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        started = time.perf_counter()
        try:
            return await self._engine.execute(call, tool)
        except Exception as exc:  # an engine must not raise for a call; if one does, it is this call's verdict
            verdict = Verdict.failed(
                "exec.exception", f"{call.name} failed in engine {self._engine.name}: {type(exc).__name__}: {exc}"
            )
            return Observation.timed(call, self._engine.name, started, verdict=verdict).redacted()

    # ------------------------------------------------------------------ state

    def reset(self) -> None:
        """Run the reset hook, putting the service back in its initial state.

        Raises:
            HookError: The hook did not succeed (exit status 0, a 2xx answer); the message names
                the hook, its exit status or HTTP status, the head of its stderr or body, and the fix.
        """
        self._check_open()
        run_hook(self.name, "reset", self.reset_hook)

    def snapshot(self, *, copy: bool = True) -> EnvironmentState:
        """The service's observable state, read by the state hook: one entry per top-level key.

        Each key of the hook's JSON object is an attribute whose owner is the environment's name,
        so `before.diff(after).paths` reads `('shop.orders',)`. The values are parsed afresh each
        time, so `copy` changes nothing (both forms are safe to keep). Without a state hook the
        state is empty (no entries), and end-state checks can only rely on the calls' responses.

        Raises:
            HookError: The state hook did not succeed, or did not give one JSON object.
        """
        self._check_open()
        hook = self.state_hook
        if hook is None:
            return EnvironmentState(self.name, ())
        value = state_object(self.name, hook, run_hook(self.name, "state", hook))
        return EnvironmentState(self.name, tuple(StateEntry(self.name, key, item) for key, item in value.items()))

    # ------------------------------------------------------------------ the private event loop

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError(f"environment {self.name!r} is closed; make a new ServiceEnvironment to use it again")

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The environment's event loop, started in its background thread on first use."""
        with self._lock:
            self._check_open()
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_serve, args=(loop,), name=f"callforge {self._label}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            if threading.current_thread() is self._thread:
                raise ConfigError(
                    f"environment {self.name!r}: a call was made from inside its own event loop, where waiting "
                    "for it would never end; run calls from another thread or task"
                )
            return self._loop

    def close(self) -> None:
        """Close what the engines opened (HTTP clients, MCP sessions and servers) and end the event loop's thread.

        Idempotent. The environment runs nothing afterwards.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if threading.current_thread() is thread:
            raise ConfigError(f"environment {self.name!r}: close() it from outside its own event loop")
        try:
            asyncio.run_coroutine_threadsafe(self._aclose(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    async def _aclose(self) -> None:
        failure: BaseException | None = None
        for close in self._closers:
            try:
                await close()
            except Exception as exc:  # close the others anyway, then report the first failure
                failure = failure or exc
        if failure is not None:
            raise failure

    def __enter__(self) -> ServiceEnvironment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The background thread: run the loop until `close` stops it, then cancel what is left and close it."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        try:
            left = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in left:
                task.cancel()
            if left:
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


# ---------------------------------------------------------------------------------------------- spec files

SPEC_FIELDS = (
    "`name`, `tools` (a tool source or a list of them, relative to the file), optional `base_url`, "
    "`reset` ({command: [...]} or {url: ...}) and optional `state`"
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _HookSpec(BaseModel):
    """A hook as a spec file writes it: exactly one of `command` and `url`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] | None = None
    url: str | None = None
    method: str | None = None
    headers: dict[str, str] | None = None
    cwd: str | None = None
    timeout: float | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _words(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                f"give the command as a list of words, e.g. {command_words(value)!r}; it runs without a shell"
            )
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> _HookSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError(
                "give exactly one of `command` (a list of words, e.g. [python, reset_db.py]) "
                "and `url` (e.g. http://127.0.0.1:8000/reset)"
            )
        if self.command is not None:
            if not self.command or not all(self.command):
                raise ValueError("`command` must be a non-empty list of non-empty words, e.g. [python, reset_db.py]")
            extra = [name for name in ("method", "headers") if getattr(self, name) is not None]
            if extra:
                raise ValueError(f"`{extra[0]}` goes with `url`, not with `command`")
        elif self.cwd is not None:
            raise ValueError("`cwd` goes with `command`, not with `url`")
        if self.method is not None and self.method.upper() not in HTTP_METHODS:
            raise ValueError(f"`method` must be one of {', '.join(sorted(HTTP_METHODS))}, not {self.method!r}")
        if self.url is not None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"`url` {redact_url(self.url)!r} is not an absolute http(s) URL; "
                    "give one such as http://127.0.0.1:8000/reset"
                )
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"`timeout` must be a positive number of seconds, not {self.timeout!r}")
        return self


class _ServiceSpec(BaseModel):
    """A service environment spec file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    tools: list[str]
    base_url: str | None = None
    reset: _HookSpec
    state: _HookSpec | None = None

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give the environment a non-empty name, e.g. `name: shop`")
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(s, str) and s.strip() for s in value):
            raise ValueError(
                "give a tool source or a list of them: an OpenAPI spec file, an MCP config file, "
                "'mcp:COMMAND ARGS' or an MCP server URL"
            )
        return value

    @field_validator("reset", "state", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                "give a mapping: {command: [python, reset_db.py]} or {url: http://127.0.0.1:8000/reset}"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"{redact_url(value)!r} is not an absolute http(s) URL; give one such as http://127.0.0.1:8000"
                )
        return value


def load_service_environment(path: str | os.PathLike[str]) -> ServiceEnvironment:
    """A ServiceEnvironment from a YAML or JSON spec file (fields: see `SPEC_FIELDS` and docs/multi-turn.md).

    Tool sources, and the `cwd` of command hooks, are relative to the spec file's folder; a command
    hook runs there unless it gives a `cwd`. A header value may name environment variables as
    `${NAME}`, so a token need not be written in the file. MCP tools are listed now (this starts
    each server once); async code awaits `load_service_environment_async`.

    Raises:
        ConfigError: The file is not a valid spec; the message names the file, the field and the fix.
        DataError: The file cannot be read (missing, not a regular file).
    """
    file, spec = _read_spec(path)
    sources = _tool_sources(file, spec)
    try:
        toolbox = load_toolbox(sources, rest_base_url=spec.base_url)
    except CallforgeError as exc:
        raise ConfigError(f"{file}: `tools`: {exc}") from exc
    return _environment(file, spec, toolbox)


async def load_service_environment_async(path: str | os.PathLike[str]) -> ServiceEnvironment:
    """`load_service_environment` for async code: MCP servers are listed on the running event loop."""
    file, spec = await asyncio.to_thread(_read_spec, path)
    sources = _tool_sources(file, spec)
    try:
        toolbox = await load_toolbox_async(sources, rest_base_url=spec.base_url)
    except CallforgeError as exc:
        raise ConfigError(f"{file}: `tools`: {exc}") from exc
    return _environment(file, spec, toolbox)


def _read_spec(path: str | os.PathLike[str]) -> tuple[Path, _ServiceSpec]:
    file = Path(path).expanduser()
    raw = read_bounded(file)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text; save the service environment spec as UTF-8 YAML or JSON") from None
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"{file}: not valid JSON ({exc}); fix the file or write it as YAML") from None
        check_depth(data, str(file), text=text)
    else:
        import yaml

        try:
            data = load_yaml(text, str(file))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: a service environment spec is a mapping with {SPEC_FIELDS}")
    try:
        spec = _ServiceSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {_describe(exc)} (a spec has {SPEC_FIELDS})") from None
    return file, spec


def _describe(error: ValidationError) -> str:
    parts = []
    for issue in error.errors():
        where = ".".join(str(p) for p in issue["loc"])
        message = str(issue["msg"]).removeprefix("Value error, ")
        parts.append(f"`{where}`: {message}" if where else message)
    return "; ".join(parts)


def _tool_sources(file: Path, spec: _ServiceSpec) -> list[str]:
    """The tool sources, paths made relative to the spec file's folder (commands and URLs as given)."""
    sources = []
    for source in spec.tools:
        if source.lower().startswith(("mcp:", "http://", "https://")):
            sources.append(source)
            continue
        resolved = (file.parent / Path(source).expanduser()).resolve()
        if not resolved.is_file():
            raise ConfigError(
                f"{file}: `tools`: {source!r} is not a file (looked for {resolved}; paths are relative to the spec file)"
            )
        sources.append(str(resolved))
    return sources


def _environment(file: Path, spec: _ServiceSpec, toolbox: Toolbox) -> ServiceEnvironment:
    reset = _hook(file, "reset", spec.reset)
    state = _hook(file, "state", spec.state) if spec.state is not None else None
    try:
        return ServiceEnvironment(spec.name, toolbox, reset=reset, state=state)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from exc


def _hook(file: Path, role: Role, spec: _HookSpec) -> Hook:
    if spec.command is not None:
        cwd = file.parent if spec.cwd is None else (file.parent / Path(spec.cwd).expanduser())
        if not cwd.is_dir():
            raise ConfigError(f"{file}: `{role}.cwd`: {str(cwd)!r} is not a directory (relative to the spec file)")
        return CommandHook(tuple(spec.command), cwd=cwd, timeout=spec.timeout or COMMAND_TIMEOUT)
    assert spec.url is not None  # _HookSpec gives exactly one of command and url
    headers = {name: _expand(file, f"{role}.headers.{name}", value) for name, value in (spec.headers or {}).items()}
    return HttpHook(spec.url, method=spec.method, headers=headers, timeout=spec.timeout or HTTP_TIMEOUT)


def _expand(file: Path, where: str, value: str) -> str:
    """`${NAME}` in a header value replaced by the environment variable's value (registered as a secret)."""

    def variable(match: re.Match[str]) -> str:
        name = match[1]
        found = os.environ.get(name)
        if found is None:
            raise ConfigError(f"{file}: `{where}` uses ${{{name}}}, which is not set; export {name} first")
        register_secret(found, f"${name}")
        return found

    return _VAR.sub(variable, value)
