"""A user's own Python class as a stateful Environment, run in the sandbox with its state kept between calls.

The class comes from a .py file and is never imported here: every call runs in a fresh sandboxed
interpreter (the one `PythonEngine` uses), which loads the file, rebuilds the instance without
calling `__init__` (`object.__new__(cls)`, then its attributes), calls one method with keyword
arguments and sends back the return value and every attribute of the instance, public and
private, as JSON. This process keeps that state and sends it into the next call, so a snapshot
costs no sandbox run. The initial state is made once, by `cls(**init)` in the sandbox, and
`reset()` goes back to it.

What the state can hold: JSON values, plus tuples, sets, frozensets, dicts with non-string keys,
non-finite floats and big integers, which travel in a tagged form and come back as they were.
Anything else (a datetime, a dataclass, a defaultdict) is refused with the attribute named, at
construction or as a failing call. Only instance attributes are kept: class attributes and module
globals start afresh on every call, and two attributes that shared one list share it no longer.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ConfigError, ToolCall, ToolSpec, Verdict
from callforge.execute._child import decode_attributes
from callforge.execute.base import Observation
from callforge.execute.environment import EnvironmentState, StateEntry
from callforge.execute.python import (
    _PARSE_LOCK,
    STDERR_EVIDENCE,
    _failed,
    _how_it_ended,
    _limit_text,
    died_verdict,
)
from callforge.execute.sandbox import Isolation, Sandbox, SandboxLimits, SandboxResult, tool_request

STATE_FIX = (
    "keep only JSON values in the instance's attributes (dict, list, str, int, float, bool, None; "
    "tuples and sets are kept too), e.g. a date as an ISO string, a dataclass as a dict, a defaultdict as a dict"
)

_TOOLS: dict[tuple[str, str, str, str], tuple[ToolSpec, ...]] = {}
"""Described tools by (file, sha256 of its source, class, interpreter): every environment of one class shares them."""
_TOOLS_LOCK = threading.Lock()


class SandboxEnvironment:
    """An Environment over one instance of a user's class, each call run in a fresh sandbox.

    The class's public methods (functions and classmethods, as for `ObjectEnvironment`) are the
    tools; its public attributes are the state a snapshot shows, under the class name. Private
    attributes travel between calls too, but are not part of a snapshot. The file's source is read
    once, here: later edits to the file do not reach this environment.

    A call whose method raises is a failing Observation (`exec.exception`) and keeps what the method
    changed before it raised, as Python would. A call stopped by a limit (`exec.timeout`,
    `exec.killed`), one whose process died, and one that leaves a value the state cannot carry
    (`exec.bad_output`) leave the state as it was before the call. A return value that is not JSON
    is `exec.bad_output` too, but the call did run, so its changes are kept.
    """

    def __init__(
        self,
        path: str | Path,
        class_name: str | None = None,
        *,
        init: Mapping[str, Any] | None = None,
        limits: SandboxLimits | None = None,
        name: str | None = None,
        isolation: Isolation = "auto",
        python: str | Path | None = None,
        expose: Sequence[str | Path] = (),
        long_context: int | None = None,
    ) -> None:
        """Read the file, construct the instance in the sandbox and keep its state as the initial one.

        Args:
            path: The .py file that defines the class.
            class_name: The class to run; by default the only public class the file defines
                (exception classes aside).
            init: Keyword arguments for the constructor (JSON values): `cls(**init)`.
            limits: Resource limits of every run in the sandbox, construction included.
            name: The environment's name (on its states and Observations); the class name by default.
            isolation: `auto`, `bwrap` or `process`; see callforge.execute.sandbox.
            python: Interpreter to run the class with (its installed packages are what it can import).
            expose: Extra paths the class may read besides its file's own directory.
            long_context: A seed: after construction, add the class's bulky filler state (its
                `_callforge_long_context(seed)` method, else BFCL's `_load_scenario(..., long_context=True)`)
                to the initial state; `filled` says whether the class had either.

        Raises:
            ConfigError: The file is missing or not valid Python, fails to import, has no such class
                (or several candidates), the class cannot be rebuilt from its attributes
                (`__slots__`, a built-in base), `__init__` raises, or the initial state is not JSON.
        """
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(
                f"environment class file {str(path)!r} not found; pass the path of the .py file that defines the class"
            )
        self.path = file.resolve()
        self._request = tool_request(self.path, "class_init")
        source: str = self._request["module"]["source"]
        _check_syntax(self.path, source)
        arguments = dict(init or {})
        try:
            orjson.dumps(arguments)
        except TypeError as exc:
            raise ConfigError(
                f"init for the class in {self.path} is not JSON ({exc}); pass JSON values "
                "(dict, list, str, int, float, bool, None) as the constructor's keyword arguments"
            ) from exc
        self.sandbox = Sandbox(limits, isolation=isolation, python=python, expose=(self.path.parent, *expose))
        self._source_hash = hashlib.sha256(source.encode("utf-8")).hexdigest()
        reply = self._construct(class_name, arguments, long_context)
        self.filled: bool = bool(reply.get("filled"))
        """Whether the initial state holds long-context filler (asked for, and the class could make it)."""
        self.class_name: str = reply["class"]
        self.methods: tuple[str, ...] = tuple(reply.get("methods", ()))
        self.name = name or self.class_name
        self._engine = f"environment:{self.name}"
        self._request["class"] = self.class_name
        self._initial: dict[str, Any] = reply["state"]
        self._wire: dict[str, Any] = self._initial
        self._state: dict[str, Any] = decode_attributes(self._initial)
        self._lock = threading.Lock()

    @property
    def limits(self) -> SandboxLimits:
        """The resource limits every call runs under."""
        return self.sandbox.limits

    @property
    def protections(self) -> tuple[str, ...]:
        """The sandbox protections in force for every call (see sandbox.PROTECTIONS)."""
        return self.sandbox.protections

    @property
    def tools(self) -> tuple[ToolSpec, ...]:
        """The public methods as ToolSpecs, built in the sandbox when first asked for (running calls never needs them).

        Type hints and docstrings become the specs as `callforge.tools.tool_from_function` makes them
        (`self` left out), and each spec's `source` is the file's path. Environments of the same class
        share one description.

        Raises:
            ConfigError: A method cannot be described (a missing type hint, `*args`), naming it.
        """
        key = (str(self.path), self._source_hash, self.class_name, self.sandbox.python)
        with _TOOLS_LOCK:
            found = _TOOLS.get(key)
        if found is None:
            found = self._describe()
            with _TOOLS_LOCK:
                _TOOLS[key] = found
        return found

    def run(self, call: ToolCall) -> Observation:
        """Call the method named by `call` with its arguments as keywords, in a fresh sandbox, on the current state.

        Never raises for the call; may raise SandboxError when the sandbox itself breaks (a problem of
        the machine, not of the call). Calls on one environment run one at a time, each on the state
        the one before left.
        """
        started = time.perf_counter()
        if call.name not in self.methods:
            listed = ", ".join(self.methods) or "none"
            verdict = Verdict.failed(
                "exec.unavailable",
                f"no tool {call.name!r} in environment {self.name!r} (methods of {self.class_name}: {listed})",
                tool=call.name,
                methods=list(self.methods),
            )
            return Observation.timed(call, self._engine, started, output=None, verdict=verdict)
        try:
            orjson.dumps(call.arguments)
        except TypeError as exc:
            verdict = _failed(
                "exec.exception",
                f"arguments of {call.name} are not JSON-serialisable ({exc}); a tool call carries JSON values only",
                {"type": "TypeError", "message": str(exc), "traceback": ""},
            )
            return Observation.timed(call, self._engine, started, output=None, verdict=verdict)
        with self._lock:
            request = {
                **self._request,
                "op": "class_call",
                "method": call.name,
                "arguments": call.arguments,
                "state": self._wire,
            }
            result = self.sandbox.run(request)
            output, verdict, state = self._judge(call.name, result)
            if state is not None:
                try:
                    decoded = decode_attributes(state)
                except (ValueError, TypeError, RecursionError) as exc:
                    output, verdict = (
                        None,
                        Verdict.failed(
                            "exec.bad_output",
                            f"{call.name} sent back a state this environment cannot read ({exc}); the state is unchanged",
                            sandbox=result.sandbox_id,
                        ),
                    )
                else:
                    self._wire, self._state = state, decoded
        return Observation.timed(call, self._engine, started, output=output, verdict=verdict)

    def snapshot(self, *, copy: bool = True) -> EnvironmentState:
        """The public attributes (names not starting with `_`) under the class name; needs no sandbox run.

        Deep-copied unless `copy=False`, which shares the values this environment holds (they are
        replaced, never changed, by later calls).
        """
        with self._lock:
            state = self._state
        entries = tuple(
            StateEntry(self.class_name, attr, _deepcopy(value) if copy else value)
            for attr, value in state.items()
            if not attr.startswith("_")
        )
        return EnvironmentState(self.name, entries)

    def reset(self) -> None:
        """Go back to the state the constructor made (no sandbox run: it was kept)."""
        with self._lock:
            self._wire = self._initial
            self._state = decode_attributes(self._initial)

    def close(self) -> None:
        """Nothing to let go of: every sandbox run has ended before `run` returns, and the state is plain data."""

    # ------------------------------------------------------------------ construction

    def _construct(self, class_name: str | None, init: dict[str, Any], long_context: int | None = None) -> dict[str, Any]:
        request = {**self._request, "init": init}
        if long_context is not None:
            request["long_context"] = long_context
        if class_name is not None:
            request["class"] = class_name
        result = self.sandbox.run(request)
        reply = result.reply
        what = f"class {class_name}" if class_name else "the class"
        if reply is not None and reply.get("ok"):
            try:
                decode_attributes(reply["state"])
                if not isinstance(reply["class"], str) or not all(
                    isinstance(m, str) for m in reply["methods"]
                ):
                    raise TypeError("the class or its methods are not names")
            except (KeyError, ValueError, TypeError, RecursionError) as exc:
                raise ConfigError(
                    f"constructing {what} of {self.path} sent back an unreadable reply ({exc})"
                ) from exc
            return reply
        if reply is None:
            if result.timed_out:
                raise ConfigError(
                    f"constructing {what} of {self.path} did not finish within {self.limits.wall_s:g} s; "
                    "move slow work out of import time and __init__, or raise SandboxLimits(wall_s=...)"
                )
            raise ConfigError(
                f"constructing {what} of {self.path} ended the sandbox ({_how_it_ended(result)}) without a reply: "
                f"{result.stderr_tail.strip()[-STDERR_EVIDENCE:]}"
            )
        stage = reply.get("stage")
        error = reply.get("error") or {}
        if stage == "load":
            raise ConfigError(
                f"environment class file {self.path} fails to import in the sandbox: {error.get('type')}: "
                f"{error.get('message')}\n{str(error.get('traceback', '')).rstrip()}\n"
                f"Fix the file, or install what it imports into {self.sandbox.python}, "
                f"or pass expose=[...] for files it reads outside {self.path.parent}."
            )
        if stage == "class":
            raise ConfigError(self._class_problem(class_name, list(reply.get("classes", ()))))
        name = reply.get("class", class_name)
        if stage == "init":
            given = ", ".join(sorted(init)) or "none"
            raise ConfigError(
                f"{name}(**init) in {self.path} raised {error.get('type')}: {error.get('message')} "
                f"(init arguments given: {given})\n{str(error.get('traceback', '')).rstrip()}\n"
                "Fix __init__, or pass init={...} with the keyword arguments it needs."
            )
        if stage == "long_context":
            raise ConfigError(
                f"the long-context filler of {name} in {self.path} raised {error.get('type')}: {error.get('message')}\n"
                f"{str(error.get('traceback', '')).rstrip()}\nFix its _callforge_long_context(self, seed) method."
            )
        if stage == "rebuild":
            raise ConfigError(
                f"class {name} in {self.path} cannot be rebuilt from its attributes "
                f"({error.get('type')}: {error.get('message')}); an environment class keeps its state in "
                "instance attributes (no __slots__) and does not derive from a built-in type such as dict or list"
            )
        if stage == "state":
            problem = reply.get("state_error") or {}
            raise ConfigError(
                f"the initial state of {name} in {self.path} cannot be kept between calls: {_state_text(problem)}; "
                f"{STATE_FIX}"
            )
        raise ConfigError(
            f"constructing {what} of {self.path} failed in the sandbox ({stage}): "
            f"{error.get('type')}: {error.get('message')}"
        )

    def _class_problem(self, class_name: str | None, classes: list[str]) -> str:
        listed = ", ".join(classes)
        if class_name is not None:
            found = f"the classes it defines: {listed}" if classes else "it defines no public class"
            return f"{self.path} has no class {class_name!r} ({found}); pass class_name= the class to run"
        if not classes:
            return (
                f"{self.path} defines no public class to run as an environment; define one "
                "(its public methods become the tools, its attributes the state) or pass class_name="
            )
        return f"{self.path} defines several public classes ({listed}); pass class_name= the one to run as the environment"

    def _describe(self) -> tuple[ToolSpec, ...]:
        result = self.sandbox.run({**self._request, "op": "class_describe"})
        reply = result.reply
        if reply is not None and reply.get("ok"):
            return tuple(ToolSpec.model_validate(t) for t in reply.get("tools", ()))
        if reply is not None and isinstance(reply.get("error"), dict):
            error = reply["error"]
            where = f"method {reply['function']!r} of " if reply.get("function") else ""
            raise ConfigError(
                f"cannot describe {where}class {self.class_name} in {self.path} as a tool: "
                f"{error['type']}: {error['message']}; give every parameter a type hint, "
                "or prefix methods that are not tools with `_`"
            )
        raise ConfigError(
            f"describing the methods of {self.class_name} in {self.path} failed in the sandbox "
            f"({_how_it_ended(result)}): {result.stderr_tail.strip()[-STDERR_EVIDENCE:]}"
        )

    # ------------------------------------------------------------------ judging a call

    def _judge(self, name: str, result: SandboxResult) -> tuple[Any, Verdict, dict[str, Any] | None]:
        """The output, the verdict and the new state (None: keep the state as it was) of one sandbox result."""
        limits = self.limits
        common: dict[str, Any] = {
            "stderr": result.stderr_tail[-STDERR_EVIDENCE:],
            "sandbox": result.sandbox_id,
        }
        if result.timed_out:
            return (
                None,
                Verdict.failed(
                    "exec.timeout",
                    f"{name} did not finish within {limits.wall_s:g} s (wall-clock limit); all its processes were "
                    "killed and the state is unchanged",
                    limit="wall",
                    limit_value=limits.wall_s,
                    **common,
                ),
                None,
            )
        reply = result.reply
        if reply is None:
            return None, died_verdict(name, result, self.limits, common, after="; the state is unchanged"), None
        if reply.get("ok"):
            state = reply.get("state")
            if not isinstance(state, dict):
                return (
                    None,
                    Verdict.failed(
                        "exec.bad_output", f"{name} sent back no state; the state is unchanged", **common
                    ),
                    None,
                )
            flagged = reply.get("non_json") or []
            if flagged:
                return (
                    None,
                    Verdict.failed(
                        "exec.bad_output",
                        f"{name} returned a value that is not JSON ({reply.get('type')}; not JSON at "
                        f"{', '.join(flagged[:5])}); return dicts, lists, strings, numbers, booleans or None",
                        type=reply.get("type"),
                        paths=flagged,
                        repr=reply.get("output"),
                        **common,
                    ),
                    state,
                )
            return reply.get("output"), Verdict.passed(), state
        if reply.get("missing"):
            verdict = Verdict.failed(
                "exec.unavailable", f"no tool {name!r} in environment {self.name!r}", tool=name, **common
            )
            return None, verdict, None
        stage = reply.get("stage")
        if stage == "state":
            problem = reply.get("state_error") or {}
            return (
                None,
                Verdict.failed(
                    "exec.bad_output",
                    f"{name} left a value the environment cannot keep between calls: {_state_text(problem)}; "
                    f"the state is unchanged; {STATE_FIX}",
                    state_error=problem,
                    output=reply.get("output"),
                    **common,
                ),
                None,
            )
        error = reply.get("error") or {}
        evidence = {
            "type": error.get("type"),
            "message": error.get("message"),
            "traceback": error.get("traceback", ""),
            **common,
        }
        if stage == "load":
            return (
                None,
                _failed(
                    "exec.exception",
                    f"{name}: module {self.path.name} raised {error.get('type')} on import: {error.get('message')}",
                    evidence,
                ),
                None,
            )
        limit = error.get("limit")
        if limit:
            return (
                None,
                _failed(
                    "exec.killed",
                    f"{name} hit the {_limit_text(limit, limits)} limit ({error.get('type')}: {error.get('message')}); "
                    "the state is unchanged",
                    {"limit": limit, **evidence},
                ),
                None,
            )
        state = reply.get("state")
        if isinstance(state, dict):
            evidence["state"] = "kept"  # what the method changed before it raised, as Python keeps it
        else:
            state = None
            evidence["state"] = "unchanged"
            if reply.get("state_error"):
                evidence["state_error"] = reply["state_error"]
        return (
            None,
            _failed("exec.exception", f"{name} raised {error.get('type')}: {error.get('message')}", evidence),
            state,
        )

def python_environment(
    path: str | Path,
    class_name: str | None = None,
    *,
    init: Mapping[str, Any] | None = None,
    limits: SandboxLimits | None = None,
    name: str | None = None,
    isolation: Isolation = "auto",
    python: str | Path | None = None,
    expose: Sequence[str | Path] = (),
    long_context: int | None = None,
) -> SandboxEnvironment:
    """A stateful Environment over the class `class_name` of the .py file `path`, run in the sandbox.

    `cls(**init)` runs once, now, in the sandbox; each call then runs one method there on the
    state the calls before it left. See `SandboxEnvironment` for the arguments and what each
    outcome does to the state.

    Raises:
        ConfigError: As `SandboxEnvironment`: the file, the class, `__init__` or the initial state is wrong,
            with the file named and what to fix.
    """
    return SandboxEnvironment(
        path,
        class_name,
        init=init,
        limits=limits,
        name=name,
        isolation=isolation,
        python=python,
        expose=expose,
        long_context=long_context,
    )


def _check_syntax(path: Path, source: str) -> None:
    """Parse (never run) the file here, so a syntax error names its line before any sandbox starts."""
    try:
        with _PARSE_LOCK:
            ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ConfigError(
            f"environment class file {path}:{exc.lineno}:{exc.offset}: {exc.msg}; "
            "fix the syntax error before using it as an environment"
        ) from exc


def _state_text(problem: Mapping[str, Any]) -> str:
    attribute = problem.get("attribute") or "?"
    path = problem.get("path") or attribute
    where = f"attribute {attribute!r}" if path == attribute else f"attribute {attribute!r} (at {path})"
    return f"{where}: {problem.get('reason') or 'a value that is not JSON'}"


def _deepcopy(value: Any) -> Any:
    return copy.deepcopy(value)
