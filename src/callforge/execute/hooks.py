"""The hooks a service environment needs from its service: reset it, and read its state.

A real service keeps its own state, so callforge asks it: a command (`CommandHook`: an argv run
without a shell, in its own process group, killed whole on timeout) or an HTTP request (`HttpHook`)
puts it back in its initial state or returns its observable state as one JSON object. A hook that
fails raises `HookError`, which names the environment, the hook, the exit or HTTP status, a
redacted excerpt of what it said, and the fix.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from callforge.core import (
    ConfigError,
    check_depth,
    current_limits,
    redact,
    redact_url,
    register_secret,
)

Role = Literal["reset", "state"]
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
COMMAND_TIMEOUT = 60.0
"""Default seconds a command hook may run (a reset that reloads a database takes a while)."""
HTTP_TIMEOUT = 30.0
"""Default seconds an HTTP hook may take to answer."""
EXCERPT = 800
"""How much of a failing hook's stderr or response body its error shows."""





@dataclass(frozen=True, slots=True)
class CommandHook:
    """A hook that runs a command: `argv` without a shell, in `cwd` (default: the current directory).

    The command succeeds when it exits with status 0 within `timeout` seconds; a state hook prints
    the state as one JSON object on stdout. On timeout the command's whole process group is killed.
    """

    argv: tuple[str, ...]
    cwd: Path | None = None
    timeout: float = COMMAND_TIMEOUT

    def __post_init__(self) -> None:
        if isinstance(self.argv, str | bytes):
            raise ConfigError(
                f"CommandHook(argv={self.argv!r}): give the command as a list of words, "
                f"e.g. {command_words(str(self.argv))!r}; it runs without a shell"
            )
        argv = tuple(self.argv)
        if not argv or not all(isinstance(word, str) and word for word in argv):
            raise ConfigError(
                f"CommandHook(argv={list(argv)!r}): give the program and its arguments as non-empty strings, "
                "e.g. ['python', 'reset_db.py']"
            )
        object.__setattr__(self, "argv", argv)
        if self.cwd is not None:
            object.__setattr__(self, "cwd", Path(self.cwd))
        _check_timeout(self.timeout, "CommandHook")

    def describe(self, role: Role) -> str:
        """The hook as a message names it (`command `python reset_db.py``)."""
        return f"command `{shlex.join(self.argv)}`"


@dataclass(frozen=True, slots=True)
class HttpHook:
    """A hook that sends one HTTP request: `method` (default POST for reset, GET for state) to `url`.

    It succeeds on a 2xx answer within `timeout` seconds; a state hook's response body is the state
    as one JSON object. Header values are treated as secrets: registered for redaction and never
    shown in messages or the record's repr.
    """

    url: str
    method: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    timeout: float = HTTP_TIMEOUT

    def __post_init__(self) -> None:
        parts = urlsplit(self.url) if isinstance(self.url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"HttpHook(url={redact_url(str(self.url))!r}) is not an absolute http(s) URL; "
                "give one such as 'http://127.0.0.1:8000/reset'"
            )
        if self.method is not None:
            method = self.method.upper()
            if method not in HTTP_METHODS:
                raise ConfigError(
                    f"HttpHook(method={self.method!r}): use one of {', '.join(sorted(HTTP_METHODS))}"
                )
            object.__setattr__(self, "method", method)
        headers = dict(self.headers)
        for name, value in headers.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ConfigError(f"HttpHook headers: header {name!r} must map a name to a string value")
            register_secret(value, f"header {name} of a hook")
        object.__setattr__(self, "headers", headers)
        _check_timeout(self.timeout, "HttpHook")

    def method_for(self, role: Role) -> str:
        """The method sent for `role`: the one given, else POST to reset and GET to read the state."""
        return self.method or ("POST" if role == "reset" else "GET")

    def describe(self, role: Role) -> str:
        """The hook as a message names it (`POST http://127.0.0.1:8000/reset`), any URL password masked."""
        return f"{self.method_for(role)} {redact_url(self.url)}"


Hook = CommandHook | HttpHook
"""A reset or state hook: a command or an HTTP request."""


def command_words(line: str) -> list[str]:
    """A command line as the list of words a hook takes, for the message that asks for one."""
    try:
        return shlex.split(line) or ["python", "reset_db.py"]
    except ValueError:  # unbalanced quotes
        return ["python", "reset_db.py"]


def _check_timeout(timeout: float, what: str) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigError(f"{what}(timeout={timeout!r}) must be a positive number of seconds")


class HookError(ConfigError):
    """A reset or state hook failed: the message names the environment, the hook, what went wrong and the fix.

    A ConfigError, because what needs fixing is the setup (the service, the hook's command or
    URL), and so the CLI reports it as one clear line. `status` is the command's exit status or
    the HTTP status when there was one; `output` the (redacted) head of the response body or
    tail of the command's stderr.
    """

    def __init__(
        self,
        environment: str,
        role: Role,
        hook: Hook,
        problem: str,
        fix: str,
        *,
        status: int | None = None,
        output: str = "",
        output_label: str = "",
    ) -> None:
        self.environment = environment
        self.role = role
        self.hook = hook
        self.status = status
        self.output = redact(output)
        text = f"environment {environment!r}: the {role} hook ({hook.describe(role)}) {problem}; {fix}"
        if self.output:
            text += f"; {output_label}:\n{self.output}"
        super().__init__(redact(text))


def _head(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text if len(text) <= EXCERPT else text[:EXCERPT] + " …"


def _tail(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text if len(text) <= EXCERPT else "… " + text[-EXCERPT:]


def _run_command(environment: str, role: Role, hook: CommandHook) -> bytes:
    """Run the command; its stdout, or HookError when it cannot start, times out or exits non-zero."""
    fail = _failer(environment, role, hook)
    if hook.cwd is not None and not hook.cwd.is_dir():
        raise fail(f"cannot start: its cwd {str(hook.cwd)!r} is not a directory", "give an existing `cwd`")
    try:
        process = subprocess.Popen(
            list(hook.argv),
            cwd=hook.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout ends its children too
        )
    except FileNotFoundError:
        raise fail(
            f"cannot start: no program {hook.argv[0]!r}",
            "install it or give its full path as the command's first word",
        ) from None
    except OSError as exc:
        raise fail(f"cannot start: {exc.strerror or exc}", "check the program's path and permissions") from None
    try:
        out, err = process.communicate(timeout=hook.timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        _, err = process.communicate()
        raise fail(
            f"did not finish within {hook.timeout:g} s and was killed",
            "raise its `timeout` if it is just slow",
            output=_tail(err),
            output_label="its stderr ends",
        ) from None
    except BaseException:  # Ctrl-C: leave no command behind
        _kill_group(process)
        process.wait()
        raise
    if process.returncode != 0:
        raise fail(
            f"exited with status {process.returncode}",
            "run the command by hand to see why, and make it exit 0",
            status=process.returncode,
            output=_tail(err),
            output_label="its stderr ends",
        )
    return out


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _send(environment: str, role: Role, hook: HttpHook) -> bytes:
    """Send the request; the response body, or HookError when there is no 2xx answer."""
    import httpx2

    fail = _failer(environment, role, hook)
    method = hook.method_for(role)
    try:
        with httpx2.Client(timeout=httpx2.Timeout(hook.timeout), follow_redirects=True) as client:
            response = client.request(method, hook.url, headers=dict(hook.headers))
    except httpx2.TimeoutException:
        raise fail(
            f"did not answer within {hook.timeout:g} s",
            "check that the service is up, or raise the hook's `timeout` if it is just slow",
        ) from None
    except httpx2.HTTPError as exc:
        raise fail(
            f"could not be reached ({type(exc).__name__}: {exc})",
            "start the service, or fix the hook's `url`",
        ) from None
    if not response.is_success:
        raise fail(
            f"answered HTTP {response.status_code}",
            f"make {method} {redact_url(hook.url)} answer 2xx (is it the right URL, method and headers?)",
            status=response.status_code,
            output=_head(response.content),
            output_label="the body begins",
        )
    return response.content


def _failer(environment: str, role: Role, hook: Hook) -> Callable[..., HookError]:
    def fail(problem: str, fix: str, **details: Any) -> HookError:
        return HookError(environment, role, hook, problem, fix, **details)

    return fail


def run_hook(environment: str, role: Role, hook: Hook) -> bytes:
    """Run a hook for `environment` (a name for messages): a command's stdout or a response's body.

    Raises:
        HookError: The hook could not run, or did not succeed (exit status 0, a 2xx answer).
    """
    if isinstance(hook, CommandHook):
        return _run_command(environment, role, hook)
    return _send(environment, role, hook)


def state_object(environment: str, hook: Hook, raw: bytes) -> dict[str, Any]:
    """What a state hook said, as the JSON object a snapshot is made of; HookError when it is not one."""
    fail = _failer(environment, "state", hook)
    fix = 'make it give one JSON object whose keys name parts of the state, e.g. {"orders": [...]}'
    limit = current_limits().max_input_bytes
    if len(raw) > limit:
        raise fail(
            f"gave {len(raw):,} bytes, more than the input limit ({limit:,})",
            "give a smaller state, or raise `max_input_mb` (environment: CALLFORGE_MAX_INPUT_MB)",
        )
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        what = "an empty output" if not raw.strip() else "output that is not JSON"
        raise fail(f"gave {what}", fix, output=_head(raw), output_label="it begins") from None
    if not isinstance(value, dict):
        raise fail(f"gave a JSON {type(value).__name__}, not an object", fix, output=_head(raw), output_label="it begins")
    check_depth(value, f"the state of environment {environment!r}", text=raw)
    return value


