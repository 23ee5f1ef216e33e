"""Stateful tool environments: tools that act on a shared state, which can be snapshotted, compared and reset.

A multi-turn task is judged by what the calls did to the world, not only by what they returned, so
an environment is an object that holds state and runs `ToolCall`s against it, reporting each call
as an `Observation` (the record every engine returns). Its public state can be taken as a frozen
`EnvironmentState`, and two states compare into a typed `StateDiff`. `ObjectEnvironment` is the
one implementation: plain Python objects (BFCL's simulators, for one) whose public methods are the
tools and whose public attributes are the state. `EnvironmentEngine` lets an environment stand
wherever an `Engine` is expected.
"""

from __future__ import annotations

import copy
import inspect
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from callforge.core import DataError, ToolCall, ToolSpec, Verdict
from callforge.execute.base import Observation


class _Absent:
    """The value of an attribute that one side of a comparison does not have."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""Stands for an attribute missing on one side of a `StateChange` (it was added or removed)."""


@dataclass(frozen=True, slots=True)
class StateEntry:
    """One public attribute of one component of an environment: `owner.name == value`."""

    owner: str
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class StateChange:
    """One attribute that differs between two states; `ABSENT` where one side lacks it."""

    owner: str
    name: str
    before: Any
    after: Any

    @property
    def path(self) -> str:
        """`owner.name`, the way a message names the attribute."""
        return f"{self.owner}.{self.name}"


@dataclass(frozen=True, slots=True)
class StateDiff:
    """Every attribute that differs between two states, in the order of the first state's entries.

    Falsy when the states are equal, so `if diff:` reads as "something changed".
    """

    changes: tuple[StateChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[StateChange]:
        return iter(self.changes)

    @property
    def paths(self) -> tuple[str, ...]:
        """The changed attributes as `owner.name`, for messages and evidence (values can be large)."""
        return tuple(c.path for c in self.changes)


@dataclass(frozen=True, slots=True)
class EnvironmentState:
    """The public state of an environment at one moment: every public attribute of every component.

    Two states are equal when they hold the same attributes with `==` values, which is how BFCL
    compares simulator instances. `diff` says which attributes differ.
    """

    environment: str
    entries: tuple[StateEntry, ...]

    def diff(self, other: EnvironmentState) -> StateDiff:
        """What changed from this state to `other` (`before` is this state's value, `after` the other's)."""
        return diff_states(self, other)

    def value(self, owner: str, name: str) -> Any:
        """The value of `owner.name`, or `ABSENT` when the state has no such attribute."""
        for entry in self.entries:
            if entry.owner == owner and entry.name == name:
                return entry.value
        return ABSENT


def diff_states(before: EnvironmentState, after: EnvironmentState) -> StateDiff:
    """The attributes whose values differ (by `==`) between two states, including ones only one side has."""
    theirs = {(e.owner, e.name): e.value for e in after.entries}
    changes = []
    for entry in before.entries:
        key = (entry.owner, entry.name)
        value = theirs.pop(key, ABSENT)
        if value is ABSENT or entry.value != value:
            changes.append(StateChange(entry.owner, entry.name, entry.value, value))
    changes.extend(StateChange(owner, name, ABSENT, value) for (owner, name), value in theirs.items())
    return StateDiff(tuple(changes))


@runtime_checkable
class Environment(Protocol):
    """Tools acting on one shared state: run calls, take the state, go back to the start.

    `run` never raises for a failing call; the failure is in the Observation, as with an Engine.
    `snapshot()` is a deep copy, safe to keep; `snapshot(copy=False)` shares the live objects and
    is only for comparing at once (it costs nothing, whatever the size of the state).
    """

    name: str

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        """The tools a model may call, as ToolSpecs."""
        ...

    def run(self, call: ToolCall) -> Observation:
        """Run one call against the state and report the outcome."""
        ...

    def snapshot(self, *, copy: bool = True) -> EnvironmentState:
        """The public state now."""
        ...

    def reset(self) -> None:
        """Go back to the initial state."""
        ...

    def close(self) -> None:
        """Let go of what the environment holds (threads, connections, servers); it runs nothing after."""
        ...


class UnknownTool(NameError):
    """A call that names no method of any component; `run` reports it as `exec.unavailable` and renders it with `render_error`."""

    def __init__(self, tool: str) -> None:
        super().__init__(f"name '{tool}' is not defined")
        self.tool = tool


Render = Callable[[Any], Any]
RenderError = Callable[[Exception], Any]


def _no_output(_exc: Exception) -> Any:
    return None


def _same(value: Any) -> Any:
    return value


class ObjectEnvironment:
    """An Environment over plain Python objects: their public methods are the tools, their public attributes the state.

    `build` makes the components afresh (name -> object); it runs now and on every `reset`, so
    each environment owns its objects and nothing is shared between evaluations. When two
    components have a method of the same name, the later one answers it. `render` turns a
    method's return value into the Observation's output and `render_error` turns an exception
    into the output that goes with the failing verdict (default: none), so a harness can
    reproduce the exact text its model would have seen.
    """

    def __init__(
        self,
        name: str,
        build: Callable[[], Mapping[str, object]],
        *,
        tools: Iterable[ToolSpec] | Callable[[], Iterable[ToolSpec]] = (),
        render: Render = _same,
        render_error: RenderError = _no_output,
        filled: bool = False,
    ) -> None:
        self.name = name
        self.filled = filled
        """Whether the world starts from long-context filler state (BFCL's `long_context`), as `SandboxEnvironment.filled`."""
        self._build = build
        self._tools_source = tools
        self._tools: tuple[ToolSpec, ...] | None = None
        self._render = render
        self._render_error = render_error
        self._engine = f"environment:{name}"
        self._components: dict[str, object] = {}
        self._methods: dict[str, Callable[..., Any]] = {}
        self.reset()

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        """The tools as ToolSpecs (read when first asked for, since running calls never needs them)."""
        if self._tools is None:
            source = self._tools_source
            self._tools = tuple(source() if callable(source) else source)
        return self._tools

    @property
    def components(self) -> Mapping[str, object]:
        """The live objects behind the tools, by name (a new mapping; change their state only through `run`)."""
        return dict(self._components)

    def reset(self) -> None:
        """Build the components again, so the state is the initial one."""
        self._components = dict(self._build())
        methods: dict[str, Callable[..., Any]] = {}
        for component in self._components.values():
            for attr in _method_names(type(component)):
                methods[attr] = getattr(component, attr)
        self._methods = methods

    def run(self, call: ToolCall) -> Observation:
        """Call the method named by `call` with its arguments as keywords (never `eval`)."""
        started = time.perf_counter()
        method = self._methods.get(call.name)
        if method is None:
            verdict = Verdict.failed(
                "exec.unavailable", f"no tool {call.name!r} in environment {self.name!r}"
            )
            output = self._render_error(UnknownTool(call.name))
            return Observation.timed(call, self._engine, started, output=output, verdict=verdict)
        try:
            value = method(**self._arguments(method, call.arguments))
        except Exception as exc:
            verdict = Verdict.failed("exec.exception", f"{call.name} raised {type(exc).__name__}: {exc}")
            output = self._render_error(exc)
            return Observation.timed(call, self._engine, started, output=output, verdict=verdict)
        return Observation.timed(call, self._engine, started, output=self._render(value))

    @staticmethod
    def _arguments(method: Callable[..., Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments to pass: copies, plus a fresh copy of each mutable default left out.

        Objects keep and change the values they are given (a tweet keeps its `mentions` list, and a
        later call extends it), so the caller's ToolCall, and a default list shared by every
        instance of the class, would otherwise carry state from one evaluation into the next.
        """
        passed: dict[str, Any] = {
            name: _deepcopy(value) if isinstance(value, list | dict | set | bytearray) else value
            for name, value in arguments.items()
        }
        for param, default in _mutable_defaults(method).items():
            if param not in passed:
                passed[param] = _deepcopy(default)
        return passed

    def bind(
        self, name: str, positional: tuple[Any, ...] = (), keywords: Mapping[str, Any] | None = None
    ) -> ToolCall:
        """A ToolCall for `name(*positional, **keywords)`, naming positional values by the method's signature.

        Data written as Python calls (BFCL's ground truth) passes values by position, but a ToolCall
        names every argument. Raises DataError when the values do not fit the signature.
        """
        arguments = dict(keywords or {})
        if positional:
            method = self._methods.get(name)
            if method is None:
                raise DataError(
                    f"cannot name the positional arguments of {name!r}: environment {self.name!r} has no such tool"
                )
            params = [
                p
                for p in inspect.signature(method).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            if len(positional) > len(params):
                raise DataError(
                    f"{name}() takes {len(params)} positional arguments but {len(positional)} were given"
                )
            for param, value in zip(params, positional, strict=False):
                if param.name in arguments:
                    raise DataError(f"{name}() got multiple values for argument {param.name!r}")
                arguments[param.name] = value
        return ToolCall(name=name, arguments=arguments)

    def close(self) -> None:
        """Nothing to let go of: the objects live in this process and go with the environment."""

    def snapshot(self, *, copy: bool = True) -> EnvironmentState:
        """Every public attribute of every component (deep-copied unless `copy=False`)."""
        entries = []
        for owner, component in self._components.items():
            for attr, value in vars(component).items():
                if not attr.startswith("_"):
                    entries.append(StateEntry(owner, attr, _deepcopy(value) if copy else value))
        return EnvironmentState(self.name, tuple(entries))


_METHOD_NAMES: dict[type, tuple[str, ...]] = {}


def _method_names(cls: type) -> tuple[str, ...]:
    """The public methods of a class (functions and classmethods; not properties, which getattr would run)."""
    names = _METHOD_NAMES.get(cls)
    if names is None:
        names = tuple(
            attr
            for attr in dir(cls)
            if not attr.startswith("_")
            and isinstance(inspect.getattr_static(cls, attr), types.FunctionType | classmethod)
        )
        _METHOD_NAMES[cls] = names
    return names


_MUTABLE_DEFAULTS: dict[Any, dict[str, Any]] = {}


def _mutable_defaults(method: Callable[..., Any]) -> dict[str, Any]:
    """A method's keyword defaults that are mutable containers, as first seen (before any call could change them)."""
    function = getattr(method, "__func__", method)
    found = _MUTABLE_DEFAULTS.get(function)
    if found is None:
        found = {
            p.name: _deepcopy(p.default)
            for p in inspect.signature(function).parameters.values()
            if isinstance(p.default, list | dict | set | bytearray)
        }
        _MUTABLE_DEFAULTS[function] = found
    return found


def _deepcopy(value: Any) -> Any:
    return copy.deepcopy(value)


class EnvironmentEngine:
    """An Environment as an Engine, so code written for engines (the execution stage, routing) can run its tools."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.name = f"environment:{environment.name}"

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Run `call` against the environment's state (`tool` is not needed: the environment knows its tools)."""
        return self.environment.run(call)
