"""Run untrusted tool code in a separate, limited, isolated Python process.

Tool implementations come from users and from synthesis, so the execution stage treats them as
hostile: a tool may loop forever, allocate without bound, fork-bomb, write over files, read the
parent's secrets or talk to the network. Each run gets a fresh interpreter in its own process group
with resource limits, a clean environment, an empty temporary working directory and, where the
machine allows, namespaces that take away the network, the host's processes and write access to
the filesystem. Which protections a machine actually gives is probed once and exposed as
`Sandbox.protections`, because they depend on the mode, on whether we are root and on the kernel:

* `bwrap` (bubblewrap on PATH): every protection below.
* `process` as root: the child unshares the namespaces itself and runs the tool as a fresh
  unprivileged uid, which gives the same set as bwrap when the process holds CAP_SYS_ADMIN.
* `process` as another user: namespaces only where unprivileged user namespaces are enabled;
  otherwise the network stays reachable and the tool can read what that user can read.

In every mode the tool runs under a seccomp filter that refuses new namespaces, mounts and
ptrace (`sandbox_seccomp`), the run dies with the callforge process and enforces its wall-clock
limit from inside too, and, where a cgroup can be made (`sandbox_cgroup`), the memory and the
processes of the whole call are capped together. Work directories of runs whose callforge
process was killed are removed by the next one that starts a sandbox (`sandbox_stale`).

`docs/sandbox.md` has the full table and the measured cost per call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import select
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from callforge.core import CallforgeError, ConfigError
from callforge.execute import sandbox_cgroup, sandbox_stale
from callforge.execute.sandbox_seccomp import build_filter

log = logging.getLogger(__name__)

Isolation = Literal["auto", "bwrap", "process"]
ISOLATIONS: tuple[str, ...] = ("auto", "bwrap", "process")

CHILD_SCRIPT = Path(__file__).resolve().with_name("_child.py")
SETUP_FAILED = 70

SANDBOX_UID_BASE = 1_900_000_000
SANDBOX_UID_SPAN = 100_000_000
"""A root parent runs each sandbox as a fresh uid drawn from this range (no passwd entry needed).

A uid of its own (not the shared `nobody`) makes RLIMIT_NPROC count only this sandbox's processes,
so concurrent sandboxes do not eat each other's process budget, and lets a cleanup kill by uid
without touching anything else on the machine.
"""

BWRAP_INSTALL = (
    "install bubblewrap (Debian/Ubuntu: `apt-get install -y bubblewrap`; Fedora: `dnf install bubblewrap`; "
    "Arch: `pacman -S bubblewrap`) or pass isolation='auto' or 'process'"
)

PROTECTIONS: dict[str, str] = {
    "clean_env": "the tool sees a minimal environment, none of the parent's variables (API keys)",
    "temp_workdir": "the tool starts in an empty temporary directory, deleted afterwards",
    "wall_timeout": "the whole process group is killed when the wall-clock limit passes",
    "rlimits": "CPU time, address space, file size and open files are capped",
    "process_limit": "the number of processes the tool may run is capped (fork bombs stop)",
    "unprivileged_uid": "a root parent runs the tool as a fresh unprivileged uid",
    "no_new_privs": "setuid binaries cannot raise the tool's privileges",
    "network_namespace": "the tool has its own empty network namespace: no network, no host loopback",
    "pid_namespace": "the tool cannot see or signal host processes; all its processes die with it",
    "private_proc": "/proc shows only the sandbox's own processes",
    "readonly_root": "the whole filesystem outside the work directory is read-only",
    "private_tmp": "/tmp, /var/tmp, /root and /home are empty (only the interpreter's paths are bound back)",
    "private_run": "/run is empty: no host UNIX sockets (dbus, journal, container runtimes)",
    "workdir_quota": "the work directory is a size-limited tmpfs",
    "seccomp": "unshare, setns, mount, ptrace and clone into new namespaces are refused (EPERM)",
    "total_memory": "a cgroup caps the memory of all the run's processes together (total_memory_mb)",
    "total_processes": "the run's processes together, not each uid's, are capped at `processes`",
}

ALWAYS: tuple[str, ...] = ("clean_env", "temp_workdir", "wall_timeout")
BWRAP_PROVIDES: tuple[str, ...] = (
    "no_new_privs",
    "network_namespace",
    "pid_namespace",
    "private_proc",
    "readonly_root",
    "private_tmp",
    "private_run",
    "workdir_quota",
)
COVERS: tuple[str, ...] = ("/tmp", "/var/tmp", "/root", "/home", "/run")
"""Directories replaced by an empty tmpfs in the sandbox: shared scratch space, home directories and
/run, whose UNIX sockets a network namespace does not hide."""

DRAIN_GRACE_S = 0.5
WATCHDOG_GRACE_S = 1.0
"""The child's own wall-clock deadline is this much after the parent's (it also starts later)."""
SWEEP_INTERVAL_S = 600.0
KILL_WAIT_S = 5.0
COVER_BYTES = 1024 * 1024
STDERR_TAIL = 8192


class SandboxError(CallforgeError):
    """The sandbox itself failed (could not start, could not establish a protection it had before)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one sandboxed call.

    The defaults suit ordinary tools (a lookup, a computation, a small file); raise them for tools
    that legitimately need more rather than turning isolation off.

    Attributes:
        cpu_s: CPU seconds (RLIMIT_CPU; SIGXCPU at the limit, SIGKILL one second later).
        wall_s: Wall-clock seconds for the whole run, interpreter start-up included.
        memory_mb: Address space per process (RLIMIT_AS); allocations beyond it raise MemoryError.
        total_memory_mb: Memory of all the run's processes together (resident, a cgroup's limit;
            the kernel's OOM killer ends the largest process beyond it); None: twice memory_mb.
            Only where a cgroup can be made (the `total_memory` protection).
        file_mb: Largest file the tool may write (RLIMIT_FSIZE).
        workdir_mb: Size of the tmpfs work directory, where the mode provides one.
        open_files: File descriptors per process (RLIMIT_NOFILE).
        processes: Processes the tool may run, itself included (RLIMIT_NPROC).
        output_kb: Largest reply read back; a bigger one ends the run.
    """

    cpu_s: int = 5
    wall_s: float = 10.0
    memory_mb: int = 512
    total_memory_mb: int | None = None
    file_mb: int = 16
    workdir_mb: int = 64
    open_files: int = 64
    processes: int = 32
    output_kb: int = 1024

    def __post_init__(self) -> None:
        for name in (
            "cpu_s",
            "wall_s",
            "memory_mb",
            "total_memory_mb",
            "file_mb",
            "workdir_mb",
            "open_files",
            "processes",
            "output_kb",
        ):
            value = getattr(self, name)
            if value is None and name == "total_memory_mb":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"SandboxLimits.{name} must be a positive number, got {value!r}")
        if self.memory_mb < 64:
            raise ConfigError(
                f"SandboxLimits.memory_mb={self.memory_mb} is too small for a Python interpreter; use 64 or more"
            )
        if self.open_files < 16:
            raise ConfigError(f"SandboxLimits.open_files={self.open_files} is too small; use 16 or more")
        if self.total_memory_mb is not None and self.total_memory_mb < 64:
            raise ConfigError(
                f"SandboxLimits.total_memory_mb={self.total_memory_mb} is too small for a Python interpreter; "
                f"use 64 or more"
            )

    @property
    def total_memory_bytes(self) -> int:
        """The cap on the whole run's memory in bytes (twice memory_mb unless set)."""
        total = self.total_memory_mb if self.total_memory_mb is not None else 2 * self.memory_mb
        return total * 1024 * 1024


@dataclass(frozen=True)
class SandboxResult:
    """What came back from one sandboxed run: the child's reply (if any) and how the process ended.

    Attributes:
        reply: The child's JSON reply, or None when it died before answering.
        returncode: Exit status as subprocess reports it (negative: killed by that signal).
        signal: The signal that ended the run, if one did.
        limit: The resource limit that ended the run when it can be told (`cpu`, `memory`,
            `total_memory`, `processes`, `file_size`, `open_files`, `workdir`, `output`), else None.
        timed_out: The wall-clock limit passed and the run was killed (by the parent, or by the
            child's own watchdog when the parent was too slow to do it).
        output_exceeded: The reply grew past `output_kb` and the run was killed.
        stderr_tail: The last few KB of the tool's stderr (and its prints), for error messages.
        cpu_s: CPU seconds used by the run's processes.
        wall_s: Wall-clock seconds from start to cleanup.
        sandbox_id: Random id, also in the child's environment as CALLFORGE_SANDBOX.
        workdir: The host path of the (now removed) work directory.
        isolation: The mode used, `bwrap` or `process`.
        protections: The protections in force for this run.
    """

    reply: dict[str, Any] | None
    returncode: int | None
    signal: int | None
    limit: str | None
    timed_out: bool
    output_exceeded: bool
    stderr_tail: str
    cpu_s: float
    wall_s: float
    sandbox_id: str
    workdir: str
    isolation: str
    protections: tuple[str, ...]


@dataclass(frozen=True)
class _Probe:
    mode: str
    protections: tuple[str, ...]
    applied: tuple[str, ...]


@dataclass
class _Exchange:
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False
    output_exceeded: bool = False
    oom_kills: int = 0


_PROBES: dict[tuple[str, str, int, bool, bool], _Probe] = {}
_PROBE_LOCK = threading.Lock()
_SWEEP_LOCK = threading.Lock()
_LAST_SWEEP: list[float] = []
_SECCOMP: list[str | None] = []
_TIMEOUT: list[str | None] = []
_INTERPRETER_PATHS: dict[str, tuple[str, ...]] = {}


def bwrap_path() -> str | None:
    """Where bubblewrap is, or None; looked up on PATH and in /usr/bin (the parent's PATH may be bare)."""
    found = shutil.which("bwrap")
    if found is None and os.access("/usr/bin/bwrap", os.X_OK):
        found = "/usr/bin/bwrap"
    return found


def tool_request(
    module: str | Path, op: str, *, function: str | None = None, arguments: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Build the child's request for `op` (`inspect`, `describe` or `call`) on a tool module file.

    The source travels with the request because the file may be unreadable to the sandbox user.
    """
    path = Path(module).resolve()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read tool module {path}: {exc}; pass the path of a UTF-8 .py file"
        ) from exc
    request: dict[str, Any] = {"op": op, "module": {"path": str(path), "source": source}}
    if function is not None:
        request["function"] = function
        request["arguments"] = dict(arguments or {})
    return request


def run_in_sandbox(
    module: str | Path,
    function: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    limits: SandboxLimits | None = None,
    isolation: Isolation = "auto",
    python: str | Path | None = None,
) -> SandboxResult:
    """Call `function(**arguments)` from the tool module file `module` in a fresh sandbox.

    A one-shot convenience over `Sandbox`; engines keep a `Sandbox` so the probe runs once.
    Raises ConfigError when the requested isolation cannot work on this machine.
    """
    path = Path(module).resolve()
    sandbox = Sandbox(limits, isolation=isolation, python=python, expose=(path.parent,))
    return sandbox.run(tool_request(path, "call", function=function, arguments=arguments))


class Sandbox:
    """A configured sandbox: limits, isolation mode and interpreter, probed once per machine.

    Construction is cheap; the first use (or `protections`) starts one trivial child to find out
    which protections this machine gives in this mode. Every later run requires the same
    protections and fails with SandboxError rather than run with fewer.
    """

    use_namespaces: bool = True
    """False makes `process` mode skip the namespaces, as on a machine that has none (a container
    without CAP_SYS_ADMIN); tests use it to check the weaker mode, users where mounts misbehave."""

    use_cgroup: bool = True
    """False skips the run's cgroup, as on a machine without a writable one; tests use it to check
    the fallback (per-process RLIMIT_AS and RLIMIT_NPROC only)."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        isolation: Isolation = "auto",
        python: str | Path | None = None,
        expose: Sequence[str | Path] = (),
    ) -> None:
        """Configure a sandbox.

        Args:
            limits: Resource limits per run; the defaults of SandboxLimits when omitted.
            isolation: `auto` (bubblewrap when it works, else process), `bwrap` or `process`.
            python: Interpreter to run tools with (its packages are what tools can import);
                this interpreter by default. Python 3.11 or newer.
            expose: Extra paths the tool may read (data files next to the tool, a package dir);
                the tool module's own directory is exposed by the engine.
        """
        if isolation not in ISOLATIONS:
            raise ConfigError(f"isolation={isolation!r} is not one of {', '.join(ISOLATIONS)}")
        self.limits = limits or SandboxLimits()
        self.requested: Isolation = isolation
        interpreter = str(python) if python is not None else sys.executable
        if not os.path.isabs(interpreter):
            interpreter = shutil.which(interpreter) or interpreter
        if not os.access(interpreter, os.X_OK):
            raise ConfigError(f"python={interpreter!r} is not an executable interpreter; pass the full path")
        self.python = interpreter
        self.expose = tuple(str(Path(p).resolve()) for p in expose)
        self._bwrap = bwrap_path()
        if isolation == "bwrap" and self._bwrap is None:
            raise ConfigError(f"isolation='bwrap' needs bubblewrap, which is not installed; {BWRAP_INSTALL}")

    @property
    def isolation(self) -> str:
        """The mode in use (`bwrap` or `process`) after `auto` is resolved."""
        return self._probe().mode

    @property
    def protections(self) -> tuple[str, ...]:
        """The protections every run of this sandbox has; see PROTECTIONS for what each means."""
        return self._probe().protections

    def run(self, request: Mapping[str, Any]) -> SandboxResult:
        """Send `request` to a fresh sandboxed child and collect its reply.

        Never raises for what the tool does (that is in the result); raises SandboxError when
        the sandbox could not be set up as strongly as the probe found possible.
        """
        probe = self._probe()
        result = self._launch(probe.mode, request, require=probe.applied, protections=probe.protections)
        if result.reply is not None and "setup_error" in result.reply:
            raise SandboxError(
                f"the {probe.mode} sandbox lost a protection it had at start-up ({result.reply['setup_error']}); "
                f"check the machine's namespace support or recreate the Sandbox"
            )
        return result

    # ------------------------------------------------------------------ probing

    def _probe(self) -> _Probe:
        key = (self.requested, self.python, os.geteuid(), self.use_namespaces, self.use_cgroup)
        with _PROBE_LOCK:
            found = _PROBES.get(key)
            if found is None:
                found = _PROBES[key] = self._first_probe()
        return found

    def _first_probe(self) -> _Probe:
        if self.requested == "process" or self._bwrap is None:
            modes = ["process"]
        elif self.requested == "bwrap":
            modes = ["bwrap"]
        else:
            modes = ["bwrap", "process"]
        problems = []
        for mode in modes:
            try:
                result = self._launch(mode, {"op": "ping"}, require=(), protections=())
            except SandboxError as exc:
                problems.append(f"{mode}: {exc}")
                continue
            if result.reply is not None and result.reply.get("ok"):
                applied = tuple(sorted(result.reply.get("protections", ())))
                base = ALWAYS + (BWRAP_PROVIDES if mode == "bwrap" else ())
                return _Probe(mode, tuple(sorted(set(base) | set(applied))), applied)
            problems.append(f"{mode}: {_describe_failure(result)}")
            if mode == "bwrap" and self.requested == "auto":
                log.warning("bubblewrap is installed but failed (%s); using process isolation", problems[-1])
        hint = (
            "the sandbox user could not run the interpreter; pass python= an interpreter outside "
            "private directories"
            if any("Permission denied" in p for p in problems)
            else "see the error above"
        )
        raise ConfigError(f"the sandbox could not start with {self.python} ({'; '.join(problems)}); {hint}")

    # ------------------------------------------------------------------ one run

    def _launch(
        self, mode: str, request: Mapping[str, Any], *, require: Sequence[str], protections: Sequence[str]
    ) -> SandboxResult:
        started = time.monotonic()
        _sweep_stale_runs()
        sandbox_id = secrets.token_hex(8)
        is_root = os.geteuid() == 0
        uid = SANDBOX_UID_BASE + secrets.randbelow(SANDBOX_UID_SPAN) if is_root else None
        limits = self.limits
        proc: subprocess.Popen[bytes] | None = None
        cgroup: sandbox_cgroup.RunCgroup | None = None
        rusage_cpu = 0.0
        exchange = _Exchange()
        seccomp = _seccomp_program()
        seccomp_fd: int | None = None
        workdir, workdir_lock = sandbox_stale.claim_workdir()
        try:
            env = _clean_env(workdir, sandbox_id)
            covers, binds = _mount_plan(self._needed_paths(), workdir)
            if self.use_cgroup:
                # Budget: the tool's `processes` plus this package's supervisor and namespace init.
                cgroup = sandbox_cgroup.create(
                    os.path.basename(workdir), limits.total_memory_bytes, limits.processes + 2
                )
            plan = {
                "mode": mode,
                "namespaces": mode == "process" and self.use_namespaces,
                "parent": os.getpid(),
                "watchdog_s": limits.wall_s + WATCHDOG_GRACE_S,
                # bubblewrap installs the filter itself (from a pipe), so its child needs no ctypes.
                "seccomp": seccomp if mode != "bwrap" else None,
                "seccomp_by_bwrap": mode == "bwrap" and seccomp is not None,
                "cgroup": (
                    {"join": cgroup.join_files, "procs": cgroup.procs_files, "provides": cgroup.provides}
                    if cgroup
                    else None
                ),
                "uid": uid,
                "workdir": workdir,
                "workdir_mb": limits.workdir_mb,
                "covers": covers,
                "binds": binds,
                "require": list(require),
                "rlimits": {
                    "cpu": max(1, int(limits.cpu_s)),
                    "memory": limits.memory_mb * 1024 * 1024,
                    "file_size": limits.file_mb * 1024 * 1024,
                    "open_files": limits.open_files,
                    "processes": limits.processes,
                },
            }
            command = [self.python, "-s", "-P", "-B", str(CHILD_SCRIPT)]
            timeout = _timeout_program() if mode == "bwrap" else None
            if timeout is not None:
                # In bwrap mode coreutils `timeout` is the watchdog: exec'd, it shares no memory
                # with the child, where a forked supervisor cost 5-9 ms of copy-on-write per call.
                # Killing it (a tool of the same uid could) ends bubblewrap's namespace as well.
                command = [timeout, "--foreground", "-s", "KILL", f"{plan['watchdog_s']:.3f}", *command]
                plan["external_watchdog"] = True
            payload = orjson.dumps({**request, "sandbox": plan})
            if mode == "bwrap":
                assert self._bwrap is not None
                writable = cgroup.directories if cgroup else ()
                bwrap_argv = _bwrap_command(
                    self._bwrap, env, covers, binds, workdir, limits, is_root, writable
                )
                if seccomp is not None:
                    seccomp_fd = _program_pipe(bytes.fromhex(seccomp))
                    bwrap_argv[1:1] = ["--seccomp", str(seccomp_fd)]
                command = bwrap_argv + command
            try:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=env,
                    cwd=workdir,
                    start_new_session=True,
                    close_fds=True,
                    pass_fds=(seccomp_fd,) if seccomp_fd is not None else (),
                )
            except OSError as exc:
                raise SandboxError(f"could not start the sandbox ({command[0]}): {exc}") from exc
            finally:
                if seccomp_fd is not None:
                    os.close(seccomp_fd)
                    seccomp_fd = None
            exchange = _exchange(proc, payload, limits.wall_s, limits.output_kb * 1024)
            _terminate(proc.pid)
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            rusage_cpu = rusage.ru_utime + rusage.ru_stime
        finally:
            if proc is not None:
                if proc.returncode is None:
                    _kill_group(proc.pid)
                    proc.wait()
                for stream in (proc.stdin, proc.stdout, proc.stderr):
                    if stream is not None:
                        with contextlib.suppress(OSError):
                            stream.close()
            if cgroup is not None:
                cgroup.kill()  # what left the process group in a mode without a pid namespace
                exchange.oom_kills = cgroup.oom_kills()
            if uid is not None and "pid_namespace" not in protections:
                _kill_uid(uid)
            if cgroup is not None:
                cgroup.remove()
            sandbox_stale.remove_tree(workdir)
            os.close(workdir_lock)
        return self._result(mode, exchange, proc, rusage_cpu, started, sandbox_id, workdir, protections)

    def _result(
        self,
        mode: str,
        exchange: _Exchange,
        proc: subprocess.Popen[bytes] | None,
        cpu_s: float,
        started: float,
        sandbox_id: str,
        workdir: str,
        protections: Sequence[str],
    ) -> SandboxResult:
        reply = None if exchange.output_exceeded else _parse_reply(exchange.stdout)
        if reply is not None and reply.get("watchdog"):
            # The child's supervisor ended the run at its own deadline: this process was stalled.
            reply, exchange.timed_out = None, True
        returncode = proc.returncode if proc is not None else None
        sig = None
        if returncode is not None and returncode < 0:
            sig = -returncode
        elif returncode is not None and returncode > 128 and reply is None:
            sig = returncode - 128  # bubblewrap reports a signalled child as 128 + signal
        wall_s = time.monotonic() - started
        if reply is None and sig == signal.SIGKILL and wall_s >= self.limits.wall_s + WATCHDOG_GRACE_S:
            # Killed after the sandbox's own deadline: bwrap mode's `timeout` watchdog (it leaves
            # no reply), for a parent that was too stalled to end the run itself.
            exchange.timed_out = True
        stderr_tail = exchange.stderr[-STDERR_TAIL:].decode("utf-8", "replace")
        limit = None
        if exchange.output_exceeded:
            limit = "output"
        elif exchange.oom_kills and (reply is None or "MemoryError" in str(reply.get("error"))):
            limit = "total_memory"
        elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_s >= self.limits.cpu_s - 0.05):
            limit = "cpu"
        elif sig == signal.SIGXFSZ:
            limit = "file_size"
        elif reply is None and "MemoryError" in stderr_tail:
            limit = "memory"
        elif reply is not None and isinstance(reply.get("error"), dict):
            limit = reply["error"].get("limit")
        if exchange.timed_out:
            limit = None
        return SandboxResult(
            reply=reply,
            returncode=returncode,
            signal=sig,
            limit=limit,
            timed_out=exchange.timed_out,
            output_exceeded=exchange.output_exceeded,
            stderr_tail=stderr_tail,
            cpu_s=cpu_s,
            wall_s=wall_s,
            sandbox_id=sandbox_id,
            workdir=workdir,
            isolation=mode,
            protections=tuple(protections),
        )

    def _needed_paths(self) -> list[str]:
        """Paths the child must be able to read: the interpreter, its libraries, this package, expose."""
        paths = list(_interpreter_paths(self.python))
        paths += [os.path.dirname(os.path.abspath(self.python)), str(CHILD_SCRIPT.parent), *self.expose]
        return paths


# ---------------------------------------------------------------------- helpers


def _clean_env(workdir: str, sandbox_id: str) -> dict[str, str]:
    """The whole environment of the child: built from nothing, so no parent secret can leak."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        # `python -I` would ignore this seed, so the child runs with -s -P (the rest of -I) and
        # this environment, which is ours from scratch, stands in for -E.
        "PYTHONHASHSEED": "0",
        "PYTHONUTF8": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CALLFORGE_SANDBOX": sandbox_id,
    }


def _interpreter_paths(python: str) -> tuple[str, ...]:
    """The prefixes and sys.path of `python`: what must stay readable for it to start and import."""
    found = _INTERPRETER_PATHS.get(python)
    if found is not None:
        return found
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        paths = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, *sys.path]
    else:
        code = "import json, sys; print(json.dumps([sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, *sys.path]))"
        try:
            out = subprocess.run(
                [python, "-s", "-P", "-c", code],
                capture_output=True,
                timeout=60,
                check=True,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
            ).stdout
            paths = list(orjson.loads(out))
        except (OSError, subprocess.SubprocessError, orjson.JSONDecodeError) as exc:
            raise ConfigError(
                f"python={python!r} could not report its paths ({exc}); pass a Python 3.11+ interpreter"
            ) from exc
    paths.append(os.path.realpath(python))
    # A script run from the temp folder puts that folder on sys.path; mounted read-only it would hide
    # the run's own work directory there (it only holds the caller's script, which the child never runs).
    temp = os.path.realpath(tempfile.gettempdir())
    found = tuple(
        sorted(
            {
                os.path.abspath(p)
                for p in paths
                if p and os.path.exists(p) and not _under(temp, os.path.realpath(p))
            }
        )
    )
    _INTERPRETER_PATHS[python] = found
    return found


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _private_ancestor(path: str) -> str | None:
    """The first directory above `path` that others cannot search (the sandbox uid could not pass it)."""
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        candidate = str(Path(*parts[:depth]))
        try:
            if not os.stat(candidate).st_mode & 0o001:
                return candidate
        except OSError:
            return None
    return None


def _mount_plan(needed: Sequence[str], workdir: str) -> tuple[list[str], list[str]]:
    """Which directories to hide under an empty tmpfs, and which needed paths to bind back (read-only)."""
    covers = {c for c in COVERS if os.path.isdir(c)}
    for path in [*needed, workdir]:
        if not any(_under(path, c) for c in covers):
            private = _private_ancestor(path)
            if private is not None:
                covers.add(private)
    # A cover inside another cover is redundant (and would be invisible).
    cover_list = sorted(c for c in covers if not any(c != o and _under(c, o) for o in covers))
    binds: list[str] = []
    for path in sorted({os.path.abspath(p) for p in needed}):
        if any(_under(path, c) for c in cover_list) and not any(_under(path, b) for b in binds):
            binds.append(path)
    return cover_list, binds


def _bwrap_command(
    bwrap: str,
    env: Mapping[str, str],
    covers: Sequence[str],
    binds: Sequence[str],
    workdir: str,
    limits: SandboxLimits,
    is_root: bool,
    writable: Sequence[str] = (),
) -> list[str]:
    argv = [
        bwrap,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if not is_root:
        argv.append("--unshare-user")
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path in writable:
        argv += ["--bind", path, path]  # the run's cgroup: the child moves itself in
    for cover in covers:
        argv += ["--size", str(COVER_BYTES), "--tmpfs", cover]
    made: set[str] = set()

    def parents(path: str) -> None:
        # bubblewrap creates missing parents 0700, which the sandbox uid could not pass.
        cover = next((c for c in covers if _under(path, c)), None)
        if cover is None:
            return
        current = Path(cover)
        for part in Path(path).relative_to(cover).parts[:-1]:
            current = current / part
            if str(current) not in made:
                made.add(str(current))
                argv.extend(["--perms", "0755", "--dir", str(current)])

    for path in binds:
        parents(path)
        argv += ["--ro-bind", path, path]
    parents(workdir)
    argv += ["--size", str(limits.workdir_mb * 1024 * 1024), "--perms", "0700", "--tmpfs", workdir]
    for cover in covers:
        # A user's sandbox owns its tmpfs covers; read-only, they cannot hold its files either.
        argv += ["--remount-ro", cover]
    argv += ["--chdir", workdir, "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv.append("--")
    return argv


def _exchange(proc: subprocess.Popen[bytes], payload: bytes, wall_s: float, cap: int) -> _Exchange:
    """Feed stdin, read capped stdout and a stderr tail, until the child is done or a limit hits."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    result = _Exchange()
    out = bytearray()
    err = bytearray()
    deadline = time.monotonic() + wall_s
    exited_at: float | None = None
    pending = memoryview(payload)
    selector = selectors.DefaultSelector()
    stdin_fd, stdout_fd, stderr_fd = proc.stdin.fileno(), proc.stdout.fileno(), proc.stderr.fileno()
    for fd in (stdin_fd, stdout_fd, stderr_fd):
        os.set_blocking(fd, False)
    selector.register(stdin_fd, selectors.EVENT_WRITE, "in")
    selector.register(stdout_fd, selectors.EVENT_READ, "out")
    selector.register(stderr_fd, selectors.EVENT_READ, "err")
    pidfd: int | None = None
    try:
        pidfd = os.pidfd_open(proc.pid)
        selector.register(pidfd, selectors.EVENT_READ, "exit")
    except (AttributeError, OSError):
        pidfd = None
    readers = {stdout_fd, stderr_fd}
    try:
        while readers:
            now = time.monotonic()
            if exited_at is None and pidfd is None and _has_exited(proc.pid):
                exited_at = now
            limit = deadline if exited_at is None else min(deadline, exited_at + DRAIN_GRACE_S)
            if now >= limit:
                result.timed_out = exited_at is None
                break
            wait = limit - now if pidfd is not None else min(limit - now, 0.05)
            for key, _ in selector.select(wait):
                tag = key.data
                if tag == "in":
                    try:
                        written = os.write(stdin_fd, pending[:65536])
                        pending = pending[written:]
                    except BlockingIOError:
                        continue
                    except OSError:
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(stdin_fd)
                        proc.stdin.close()
                elif tag == "exit":
                    exited_at = time.monotonic()
                    selector.unregister(key.fd)
                else:
                    fd = key.fd
                    try:
                        data = os.read(fd, 65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        selector.unregister(fd)
                        readers.discard(fd)
                    elif fd == stdout_fd:
                        out += data
                        if len(out) > cap:
                            result.output_exceeded = True
                            readers.clear()
                            break
                    else:
                        err += data
                        if len(err) > 2 * STDERR_TAIL:
                            del err[:-STDERR_TAIL]
    finally:
        selector.close()
        if pidfd is not None:
            os.close(pidfd)
    result.stdout = bytes(out)
    result.stderr = bytes(err)
    return result


def _has_exited(pid: int) -> bool:
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def _terminate(pid: int) -> None:
    """Kill the run's process group and wait until the namespace init (if any) is gone.

    The launched process's children are the pid-namespace init (process mode) or bubblewrap's
    init; the kernel kills every process of a namespace before its init finishes exiting, so once
    those are dead nothing of the sandbox survives, including processes that left the group.
    """
    pidfds = []
    for child in _children(pid):
        with contextlib.suppress(OSError):
            pidfds.append(os.pidfd_open(child))
    _kill_group(pid)
    for fd in pidfds:
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT_S
    try:
        for fd in pidfds:
            # A pidfd turns readable when its process has exited.
            select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
    finally:
        for fd in pidfds:
            os.close(fd)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        pass
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    # The command name may contain spaces; the fields after its ')' are fixed.
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_uid(uid: int) -> None:
    """Kill every process of the sandbox's own uid: the cleanup when no pid namespace does it.

    Stop first, then kill, so a process cannot replace itself faster than the sweep finds it.
    """
    for _ in range(50):
        victims = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                    for line in fh:
                        if line.startswith("Uid:"):
                            if int(line.split()[1]) == uid:
                                victims.append(int(entry))
                            break
            except (OSError, ValueError):
                continue
        if not victims:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        time.sleep(0.01)


def _seccomp_program() -> str | None:
    """The seccomp filter for this machine as hex for the child's plan (built once per process)."""
    if not _SECCOMP:
        program = build_filter()
        _SECCOMP.append(program.hex() if program is not None else None)
    return _SECCOMP[0]


def _timeout_program() -> str | None:
    """Where coreutils `timeout` is (bwrap mode's watchdog), or None: the child then forks its own."""
    if not _TIMEOUT:
        found = shutil.which("timeout", path="/usr/bin:/bin")
        _TIMEOUT.append(found if found is not None and os.access(found, os.X_OK) else None)
    return _TIMEOUT[0]


def _program_pipe(program: bytes) -> int:
    """A pipe's read end holding `program` (far below the pipe buffer), for `bwrap --seccomp FD`."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, program)
    finally:
        os.close(write_fd)
    return read_fd


def _sweep_stale_runs() -> None:
    """Remove what killed callforge processes left: work directories and empty run cgroups.

    Runs on the first sandbox start of a process and then at most every SWEEP_INTERVAL_S.
    """
    now = time.monotonic()
    if _LAST_SWEEP and now - _LAST_SWEEP[0] < SWEEP_INTERVAL_S:
        return
    if not _SWEEP_LOCK.acquire(blocking=False):
        return
    try:
        _LAST_SWEEP[:] = [now]
        sandbox_stale.sweep_stale()
        sandbox_cgroup.sweep_stale()
    finally:
        _SWEEP_LOCK.release()


def _parse_reply(data: bytes) -> dict[str, Any] | None:
    if not data.strip():
        return None
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        import json  # orjson refuses integers beyond 64 bits, which JSON and Python allow

        try:
            value = json.loads(data)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _describe_failure(result: SandboxResult) -> str:
    if result.reply is not None and "setup_error" in result.reply:
        return str(result.reply["setup_error"])
    if result.timed_out:
        return "timed out while starting"
    tail = result.stderr_tail.strip().splitlines()[-3:]
    return f"exit status {result.returncode}: {' | '.join(tail) or 'no output'}"
