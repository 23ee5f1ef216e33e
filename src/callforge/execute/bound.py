"""Run a dataset's tool calls on the real tools of one source (an OpenAPI spec, an MCP server), by name.

A dataset's ToolSpecs say what a tool takes, not where it runs: they carry no binding. To
execute its calls for real, `SourceEngine` looks each tool up by name among the tools a source
defines (an OpenAPI spec's operations, an MCP server's tools), and runs the call with that
source's ToolSpec, whose binding says how to reach it. A name the source does not define is
`exec.unavailable` with the names it does define, never a guess.
"""

from __future__ import annotations

import asyncio
import difflib
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from callforge.core import CallforgeError, McpBinding, ToolCall, ToolSpec, Verdict
from callforge.execute.base import Engine, Observation
from callforge.llm import Closable

ToolLister = Callable[[], Awaitable[Sequence[ToolSpec]]]
"""Lists a source's tools when they are first needed (an MCP server is reached on the running loop)."""

_SHOWN = 12
"""How many of the source's tool names an `exec.unavailable` message lists."""


@dataclass(frozen=True)
class ToolIndex:
    """A source's tools by the names a dataset may use for them.

    Every tool is found by its own name. A prefixed MCP tool (`weather__get_forecast`, from a config
    of several servers) is also found by its name on the server (`get_forecast`) when no other
    server offers that name; `ambiguous` keeps the names several servers offer, to say which.
    """

    tools: Mapping[str, ToolSpec]
    ambiguous: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, tools: Sequence[ToolSpec]) -> ToolIndex:
        """Index `tools` by name, and prefixed MCP tools by their server-side name too."""
        by_name = {tool.name: tool for tool in tools}
        bare: dict[str, list[str]] = {}
        for tool in tools:
            binding = tool.binding
            if isinstance(binding, McpBinding) and binding.tool != tool.name and binding.tool not in by_name:
                bare.setdefault(binding.tool, []).append(tool.name)
        found = dict(by_name)
        ambiguous: dict[str, tuple[str, ...]] = {}
        for name, owners in bare.items():
            if len(owners) == 1:
                found[name] = by_name[owners[0]]
            else:
                ambiguous[name] = tuple(owners)
        return cls(found, ambiguous)

    def names(self) -> list[str]:
        """The tools' own names (not the server-side aliases), sorted."""
        return sorted({tool.name for tool in self.tools.values()})


class SourceEngine:
    """Runs each call on the tool of the same name in one source, through that source's engine.

    `engine` is the engine for the source's tools (a `RestEngine`, an `McpEngine`); `tools` are
    the source's ToolSpecs, or a coroutine function that lists them on first use. Listing happens
    once (concurrent first calls share it); when it fails, every call is `exec.unavailable` with
    the reason, as the MCP engine does for a server that cannot start. `name` is the wrapped
    engine's, so observations and cache keys read as if it ran the calls itself.
    """

    def __init__(self, engine: Engine, tools: Sequence[ToolSpec] | ToolLister, *, source: str) -> None:
        """Run calls on `engine`, matching tools by name among `tools` from `source` (named in messages)."""
        self.engine = engine
        self.name = engine.name
        self.source = source
        self._index: ToolIndex | None = None
        self._lister: ToolLister | None = None
        self._failure: str | None = None
        self._listing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = (
            weakref.WeakKeyDictionary()
        )
        if callable(tools):
            self._lister = tools
        else:
            self._index = ToolIndex.of(list(tools))

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Run `call` on the source's tool named like `tool`; `exec.unavailable` when there is none."""
        index = await self._ready()
        if index is None:
            return self._unavailable(call, tool, self._failure or f"{self.source} listed no tools")
        bound = index.tools.get(tool.name)
        if bound is None:
            return self._unavailable(call, tool, self._missing(tool.name, index))
        return await self.engine.execute(call, bound)

    async def aclose(self) -> None:
        """Close the wrapped engine (its HTTP client, its MCP sessions)."""
        if isinstance(self.engine, Closable):
            await self.engine.aclose()

    async def __aenter__(self) -> SourceEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ internals

    async def _ready(self) -> ToolIndex | None:
        if self._index is not None or self._lister is None:
            return self._index
        loop = asyncio.get_running_loop()
        task = self._listing.get(loop)
        if task is None:  # no await between the check and the creation: one listing per loop
            task = self._listing[loop] = loop.create_task(
                self._list(self._lister), name=f"list {self.source}"
            )
        await asyncio.shield(task)
        return self._index

    async def _list(self, lister: ToolLister) -> None:
        try:
            listed = await lister()
        except Exception as exc:  # kept as every call's verdict: an engine never raises for a call
            reason = str(exc) if isinstance(exc, CallforgeError) else f"{type(exc).__name__}: {exc}"
            self._failure = f"the tools of {self.source} could not be listed: {reason}"
            self._lister = None
            return
        self._index = ToolIndex.of(list(listed))
        self._lister = None

    def _missing(self, name: str, index: ToolIndex) -> str:
        owners = index.ambiguous.get(name)
        if owners:
            return (
                f"{name} is offered by several MCP servers of {self.source} ({', '.join(owners)}); "
                "name the tool <server>__<tool> in the dataset to say which one runs it"
            )
        names = index.names()
        close = difflib.get_close_matches(name, names, n=1)
        shown = ", ".join(names[:_SHOWN]) + (
            f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        )
        return (
            f"{name} is not a tool of {self.source}"
            + (f" (did you mean {close[0]}?)" if close else "")
            + f"; it defines {shown or 'no tools'}. Tools are matched by name: run this tool on "
            "another engine, or give the source that defines it"
        )

    def _unavailable(self, call: ToolCall, tool: ToolSpec, message: str) -> Observation:
        verdict = Verdict.failed("exec.unavailable", message, tool=tool.name, source=self.source)
        return Observation(call=call, engine=self.name, verdict=verdict)
