"""PythonEngine: run tool calls against real Python implementations, each call in a fresh sandbox."""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from callforge.core import ConfigError, ToolCall, ToolSpec, Verdict
from callforge.execute.base import Observation
from callforge.execute.sandbox import (
    Isolation,
    Sandbox,
    SandboxLimits,
    SandboxResult,
    tool_request,
)

STDERR_EVIDENCE = 2000


class PythonEngine:
    """Executes calls by calling same-named functions of a Python module, inside the sandbox.

    The module is never imported into this process: at construction a sandboxed probe imports it
    and lists its public functions (so a broken module fails early, with its file named), and every
    call runs in its own fresh process with keyword arguments only. State does not survive between
    calls, which keeps results independent of the order calls run in.
    """

    def __init__(
        self,
        module: str | Path,
        *,
        limits: SandboxLimits | None = None,
        isolation: Isolation = "auto",
        name: str = "python",
        concurrency: int | None = None,
        python: str | Path | None = None,
        expose: Sequence[str | Path] = (),
    ) -> None:
        """Check the module and probe it in the sandbox.

        Args:
            module: Path of the .py file that implements the tools (one function per tool name).
            limits: Resource limits per call.
            isolation: `auto`, `bwrap` or `process`; see callforge.execute.sandbox.
            name: The engine name recorded on every Observation.
            concurrency: Most calls running at once; the number of CPUs by default.
            python: Interpreter for the tools (its installed packages are what they can import).
            expose: Extra paths the tools may read besides the module's own directory.

        Raises:
            ConfigError: The module is missing, unreadable, not valid Python, or fails to import.
        """
        path = Path(module).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"tool module {str(module)!r} not found; pass the path of the .py file that defines the tools"
            )
        self.module = path.resolve()
        self.name = name
        if concurrency is not None and concurrency < 1:
            raise ConfigError(f"concurrency={concurrency} must be at least 1 (calls running at once)")
        self.concurrency = concurrency or os.cpu_count() or 1
        self._request = tool_request(self.module, "inspect")
        _check_syntax(self.module, self._request["module"]["source"])
        self.sandbox = Sandbox(
            limits, isolation=isolation, python=python, expose=(self.module.parent, *expose)
        )
        self._described: tuple[ToolSpec, ...] | None = None
        self.functions: tuple[str, ...] = self._inspect()
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def limits(self) -> SandboxLimits:
        """The resource limits every call runs under."""
        return self.sandbox.limits

    @property
    def protections(self) -> tuple[str, ...]:
        """The sandbox protections in force for every call (see sandbox.PROTECTIONS)."""
        return self.sandbox.protections

    async def execute(self, call: ToolCall, tool: ToolSpec) -> Observation:
        """Run `call` in a fresh sandbox and report the output or a failing verdict; never raises for the call.

        May raise SandboxError when the sandbox itself breaks (a problem of the machine, not of the call).
        """
        started = time.perf_counter()
        if call.name not in self.functions:
            verdict = self._unavailable(call.name, self.functions)
            return Observation.timed(call, self.name, started, output=None, verdict=verdict)
        try:
            orjson.dumps(call.arguments)
        except TypeError as exc:
            verdict = _failed(
                "exec.exception",
                f"arguments of {call.name} are not JSON-serialisable ({exc}); a tool call carries JSON values only",
                {"type": "TypeError", "message": str(exc), "traceback": ""},
            )
            return Observation.timed(call, self.name, started, output=None, verdict=verdict)
        request = {**self._request, "op": "call", "function": call.name, "arguments": call.arguments}
        async with self._semaphore():
            result = await asyncio.to_thread(self.sandbox.run, request)
        output, verdict = self._judge(call.name, result)
        return Observation.timed(call, self.name, started, output=output, verdict=verdict)

    # ------------------------------------------------------------------ internals

    def _semaphore(self) -> asyncio.Semaphore:
        # One semaphore per event loop: an asyncio.Semaphore must not be shared across loops.
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.concurrency)
        return semaphore


    def describe(self) -> tuple[ToolSpec, ...]:
        """The module's public functions as ToolSpecs, built in the sandbox (importing runs the module).

        Type hints and docstrings become the specs exactly as `callforge.tools.tool_from_function`
        makes them, and each spec's `source` is the module's path, so samplers group tools by file.

        Raises:
            ConfigError: A function cannot be described (a missing type hint, `*args`), naming it.
        """
        if self._described is not None:
            return self._described
        result = self.sandbox.run({**self._request, "op": "describe"})
        reply = result.reply
        if reply is not None and reply.get("ok"):
            self._described = tuple(ToolSpec.model_validate(t) for t in reply.get("tools", ()))
            return self._described
        if reply is not None and isinstance(reply.get("error"), dict):
            error = reply["error"]
            where = f"function {reply['function']!r} of " if reply.get("function") else ""
            raise ConfigError(
                f"cannot describe {where}{self.module} as a tool: {error['type']}: {error['message']}; "
                "give every parameter a type hint, or prefix helpers that are not tools with `_`"
            )
        raise ConfigError(
            f"describing the tools of {self.module} failed in the sandbox ({_how_it_ended(result)}): "
            f"{result.stderr_tail.strip()[-STDERR_EVIDENCE:]}"
        )

    def _inspect(self) -> tuple[str, ...]:
        result = self.sandbox.run(self._request)
        reply = result.reply
        if reply is not None and reply.get("ok"):
            return tuple(reply.get("functions", ()))
        if reply is not None and isinstance(reply.get("error"), dict):
            error = reply["error"]
            raise ConfigError(
                f"tool module {self.module} fails to import in the sandbox: {error['type']}: {error['message']}\n"
                f"{error.get('traceback', '').rstrip()}\n"
                f"Fix the module, or install what it imports into {self.sandbox.python}, "
                f"or pass expose=[...] for files it reads outside {self.module.parent}."
            )
        if result.timed_out:
            raise ConfigError(
                f"importing tool module {self.module} did not finish within {self.limits.wall_s:g} s; "
                f"move slow work out of import time or raise SandboxLimits(wall_s=...)"
            )
        raise ConfigError(
            f"tool module {self.module} could not be imported in the sandbox "
            f"({_how_it_ended(result)}): {result.stderr_tail.strip()[-STDERR_EVIDENCE:]}"
        )

    def _unavailable(self, name: str, functions: Sequence[str]) -> Verdict:
        listed = ", ".join(functions) or "none"
        return Verdict.failed(
            "exec.unavailable",
            f"{self.module} has no function {name!r} for tool {name!r} (public functions: {listed}); "
            f"define `def {name}(...)` in that module or route this tool to another engine",
            module=str(self.module),
            tool=name,
            functions=list(functions),
        )

    def _judge(self, name: str, result: SandboxResult) -> tuple[Any, Verdict]:
        """Turn one sandbox result into the output and the verdict the execution stage expects."""
        limits = self.limits
        stderr = result.stderr_tail[-STDERR_EVIDENCE:]
        common: dict[str, Any] = {"stderr": stderr, "sandbox": result.sandbox_id}
        if result.timed_out:
            return None, Verdict.failed(
                "exec.timeout",
                f"{name} did not finish within {limits.wall_s:g} s (wall-clock limit); all its processes were killed",
                limit="wall",
                limit_value=limits.wall_s,
                **common,
            )
        reply = result.reply
        if reply is None:
            return None, died_verdict(name, result, self.limits, common)
        if reply.get("missing"):
            return None, self._unavailable(name, reply.get("functions", ()))
        if reply.get("ok"):
            flagged = reply.get("non_json") or []
            if flagged:
                return None, Verdict.failed(
                    "exec.bad_output",
                    f"{name} returned a value that is not JSON ({reply.get('type')}; not JSON at {', '.join(flagged[:5])}); "
                    f"return dicts, lists, strings, numbers, booleans or None",
                    type=reply.get("type"),
                    paths=flagged,
                    repr=reply.get("output"),
                    **common,
                )
            return reply.get("output"), Verdict.passed()
        error = reply.get("error") or {}
        evidence = {
            "type": error.get("type"),
            "message": error.get("message"),
            "traceback": error.get("traceback", ""),
            **common,
        }
        if reply.get("stage") == "load":
            return None, _failed(
                "exec.exception",
                f"{name}: module {self.module.name} raised {error.get('type')} on import: {error.get('message')}",
                evidence,
            )
        limit = error.get("limit")
        if limit:
            return None, _failed(
                "exec.killed",
                f"{name} hit the {_limit_text(limit, limits)} limit ({error.get('type')}: {error.get('message')})",
                {"limit": limit, **evidence},
            )
        return None, _failed(
            "exec.exception", f"{name} raised {error.get('type')}: {error.get('message')}", evidence
        )

def died_verdict(
    name: str, result: SandboxResult, limits: SandboxLimits, common: dict[str, Any], *, after: str = ""
) -> Verdict:
    """The verdict of a sandboxed call that never returned: stopped by a limit, killed, or exited; `after` ends the message."""
    how = _how_it_ended(result)
    if result.limit is not None:
        return Verdict.failed(
            "exec.killed",
            f"{name} was stopped by the {_limit_text(result.limit, limits)} limit ({how}){after}",
            limit=result.limit,
            signal=result.signal,
            **common,
        )
    if result.signal is not None:
        return Verdict.failed(
            "exec.killed", f"{name} was killed ({how}) before it returned{after}", limit=None, signal=result.signal, **common
        )
    return _failed(
        "exec.exception",
        f"{name} ended the process ({how}) without returning{after}",
        {"type": "Exit", "message": how, "traceback": "", "exit_status": result.returncode, **common},
    )


def _failed(code: str, message: str, evidence: dict[str, Any]) -> Verdict:
    # Verdict.failed takes evidence as keywords, and the evidence has a "message" of its own.
    return Verdict(ok=False, code=code, message=message, evidence=evidence)


_PARSE_LOCK = threading.Lock()
"""CPython 3.11/3.12 keeps the AST converter's recursion depth in shared state (gh-106905): two threads
parsing at once can fail with `SystemError: AST constructor recursion depth mismatch`. Tool files are
read on worker threads, so their parses take turns."""


def _check_syntax(path: Path, source: str) -> None:
    """Parse (never run) the module here, so a syntax error names its line before any sandbox starts."""
    try:
        with _PARSE_LOCK:
            ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ConfigError(
            f"tool module {path}:{exc.lineno}:{exc.offset}: {exc.msg}; fix the syntax error before using it as an engine"
        ) from exc


def _how_it_ended(result: SandboxResult) -> str:
    if result.signal is not None:
        try:
            return f"signal {signal.Signals(result.signal).name}"
        except ValueError:
            return f"signal {result.signal}"
    return f"exit status {result.returncode}"


def _limit_text(limit: str, limits: SandboxLimits) -> str:
    texts = {
        "cpu": f"CPU time ({limits.cpu_s} s)",
        "memory": f"memory ({limits.memory_mb} MB)",
        "total_memory": f"total memory of the call's processes ({limits.total_memory_bytes >> 20} MB)",
        "processes": f"process count ({limits.processes})",
        "file_size": f"file size ({limits.file_mb} MB)",
        "open_files": f"open files ({limits.open_files})",
        "workdir": f"work directory size ({limits.workdir_mb} MB)",
        "output": f"output size ({limits.output_kb} KB)",
    }
    return texts.get(limit, limit)
