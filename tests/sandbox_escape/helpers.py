"""Shared pieces of the escape suite: the sandbox modes to attack and ways to look at the host."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callforge.execute.sandbox import Sandbox, SandboxLimits, SandboxResult, bwrap_path, tool_request

HAS_BWRAP = bwrap_path() is not None
IS_ROOT = os.geteuid() == 0

SYSTEM_PYTHON = next(
    (
        p
        for p in ("/usr/bin/python3.13", "/usr/bin/python3.12", "/usr/bin/python3.11")
        if os.access(p, os.X_OK)
    ),
    None,
)
"""The bare mode has no mount namespace to bind a venv under /root back, so it needs a system Python."""


class BareSandbox(Sandbox):
    """`process` mode on a machine without namespaces (a container without CAP_SYS_ADMIN)."""

    use_namespaces = False


MODES = [
    "process",
    pytest.param("bwrap", marks=pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap is not installed")),
    pytest.param(
        "bare",
        marks=pytest.mark.skipif(
            not IS_ROOT or SYSTEM_PYTHON is None,
            reason="the namespace-less mode is attacked as root with a system Python (/usr/bin/python3.1x)",
        ),
    ),
]
"""`process` and `bwrap` are the real modes; `bare` is `process` without namespaces, as root."""


def make_sandbox(mode: str, directory: Path, **limits: Any) -> Sandbox:
    """A sandbox of `mode` whose tool module lives in `directory`."""
    if mode == "bare":
        return BareSandbox(
            SandboxLimits(**limits), isolation="process", python=SYSTEM_PYTHON, expose=(directory,)
        )
    return Sandbox(SandboxLimits(**limits), isolation=mode, expose=(directory,))  # type: ignore[arg-type]


def tool_file(directory: Path, source: str) -> Path:
    """Write a tool module under `directory` (its own sub-directory, so each test's module is private)."""
    path = directory / "escape_tools.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def call(
    mode: str, path: Path, function: str, arguments: dict[str, Any] | None = None, **limits: Any
) -> SandboxResult:
    """One sandboxed call of `function` from the module file `path`."""
    sandbox = make_sandbox(mode, path.parent, **limits)
    return sandbox.run(tool_request(path, "call", function=function, arguments=arguments or {}))


def output(result: SandboxResult) -> Any:
    """The tool's return value; fails the test with the stderr tail when the call did not return."""
    assert result.reply is not None, result.stderr_tail
    assert result.reply["ok"], result.reply
    return result.reply["output"]


def environ(pid: int) -> dict[str, str]:
    """The environment of a host process ({} when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def cmdline(pid: int) -> list[str]:
    """The argv of a host process ([] when it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [part.decode(errors="replace") for part in fh.read().split(b"\0") if part]
    except OSError:
        return []


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def sandbox_processes(sandbox_id: str) -> list[int]:
    """Live host processes that carry this sandbox's id in their environment."""
    found = []
    for entry in os.listdir("/proc"):
        if (
            entry.isdigit()
            and not _is_zombie(int(entry))
            and environ(int(entry)).get("CALLFORGE_SANDBOX") == sandbox_id
        ):
            found.append(int(entry))
    return found


def processes_with_argv(argv: list[str]) -> list[int]:
    """Live host processes whose argv is exactly `argv`."""
    return [
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and cmdline(int(entry)) == argv and not _is_zombie(int(entry))
    ]


def wait_until(condition: Callable[[], Any], *, deadline_s: float, what: str, interval_s: float = 0.1) -> Any:
    """Poll `condition` until it returns something true; fail after a generous deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"gave up after {deadline_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def _own_cgroup_dirs() -> dict[str, str]:
    """Controller (or '' for the v2 hierarchy) -> this process's cgroup directory on this host."""
    paths: dict[str, str] = {}
    with open("/proc/self/cgroup", encoding="utf-8") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    found: dict[str, str] = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, right = line.split(" - ", 1)
            fields, (fstype, _, options) = left.split(), right.split()[:3]
            root, point = fields[3], fields[4]
            if fstype == "cgroup2":
                names = [""]
            elif fstype == "cgroup":
                names = [n for n in options.split(",") if n in paths]
            else:
                continue
            for name in names:
                if name in paths and paths[name].startswith(root):
                    found[name] = os.path.join(point, paths[name][len(root) :].lstrip("/"))
    return found


def cgroup_memory_writable() -> bool:
    """Whether this process may make sub-cgroups with a memory limit: the total cap is possible."""
    dirs = _own_cgroup_dirs()
    v1 = dirs.get("memory")
    if v1 is not None and os.access(v1, os.W_OK):
        return True
    v2 = dirs.get("")
    if v2 is None or not os.access(v2, os.W_OK):
        return False
    try:
        with open(os.path.join(v2, "cgroup.subtree_control"), encoding="ascii") as fh:
            return "memory" in fh.read().split()
    except OSError:
        return False
