"""The program that runs inside the sandbox: set up isolation, load the tool module, call one function.

This file is executed as a script by a fresh interpreter (`python -s -P -B _child.py`); it is the
only place where tool code ever runs. It imports nothing from callforge (the package may not be
importable by the sandbox user, and importing it would cost startup time), only the standard library.

Protocol: the parent writes one JSON object to stdin and closes it; the child writes one JSON object
to stdout and exits. The request carries a `sandbox` plan (what to isolate, which limits) and an
operation: `ping` (report the protections applied), `inspect` (list the module's public functions),
`describe` (the public functions as ToolSpecs) or `call` (call one function with keyword arguments);
and for a class run as a stateful environment (callforge.execute.class_env), `class_init` (construct
it, report its methods and its state), `class_describe` (its methods as ToolSpecs) and `class_call`
(rebuild the instance from a state, call one method, report the output and the new state). While
tool code runs, file descriptor 1 points at stderr, so prints (from Python or C) cannot corrupt the
reply, which goes to a saved copy of the original stdout.

The state codec of those class operations (encode_state, decode_state and the attribute-level pair)
is also imported by class_env in the parent, so both sides read one format; importing this file has
no side effects.

Process layout in `process` mode when namespaces are available: the first process (outer) joins
the run's cgroup, unshares the namespaces and prepares the mounts, arms PR_SET_PDEATHSIG and forks
the pid-namespace init, which mounts a private /proc and forks the worker. The worker drops
privileges, applies the limits, installs the seccomp filter and runs the tool. When the worker
ends, init exits and the kernel kills whatever the tool left behind in the pid namespace. The
outer process supervises init: when the wall-clock deadline passes (the parent's own timer should
have fired first) it kills init, and when the callforge parent dies the kernel kills the outer
process and so init. In bwrap mode and without namespaces the outer process forks the worker
directly and supervises it the same way; without namespaces it also watches the parent (a pidfd)
and sweeps the run's processes (cgroup, uid or process group) itself when either ends the run.
"""

from __future__ import annotations

import errno
import math
import os
import resource
import select
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing would import re and enum at run time
    from collections.abc import Callable
    from typing import Any

# Start-up time is paid on every call, so modules only some runs need (ctypes for namespaces,
# importlib.util for tools, traceback for errors) are imported where they are used, and JSON goes
# through CPython's C accelerator directly: the json package would import re and enum (5 ms).
try:
    import _json
except ImportError:  # another implementation: the json package does the same, slower
    _json = None  # type: ignore[assignment]

# Linux constants (from <sched.h>, <sys/mount.h>, <sys/prctl.h>); stable kernel ABI.
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
PR_SET_PDEATHSIG = 1
SIGKILL = 9  # the same number on every Linux architecture; the signal module costs 2 ms to import
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

SETUP_FAILED = 70
"""Exit status of a child that could not establish a required protection (sysexits EX_SOFTWARE)."""

WATCHDOG_EXIT = 124
"""Exit status of a run the child's own watchdog ended (the wall-clock limit, or the parent died)."""

TRACEBACK_CHARS = 4000
MAX_DEPTH = 100

_LIBC: Any = None


def _libc() -> Any:
    global _LIBC
    if _LIBC is None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.mount.argtypes = [
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_char_p,
        ]
        libc.unshare.argtypes = [ctypes.c_int]
        libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _LIBC = libc
    return _LIBC


def _check(result: int, what: str) -> None:
    if result != 0:
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc().mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            flags,
            data.encode() if data is not None else None,
        ),
        f"mount {target}",
    )


def _prctl(option: int, value: int) -> None:
    _check(_libc().prctl(option, value, 0, 0, 0), f"prctl({option})")


# --------------------------------------------------------------------------- namespaces and mounts


def _locked_flags(path: str) -> int:
    """The mount flags of `path` that a read-only remount must keep (the kernel refuses to drop them)."""
    flags = os.statvfs(path).f_flag
    out = 0
    for st_flag, ms_flag in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if flags & st_flag:
            out |= ms_flag
    return out


def _remount_readonly(path: str) -> None:
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(path))


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            field = line.split()[4]
            # mountinfo escapes space, tab, newline and backslash as octal.
            points.append(
                field.encode().decode("unicode_escape").encode("latin-1").decode("utf-8", "replace")
            )
    return points


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _write_id_maps(uid: int, gid: int) -> None:
    """Map our own ids into the new user namespace (the one mapping an unprivileged user may write)."""
    with open("/proc/self/uid_map", "w", encoding="ascii") as fh:
        fh.write(f"{uid} {uid} 1")
    with open("/proc/self/setgroups", "w", encoding="ascii") as fh:
        fh.write("deny")
    with open("/proc/self/gid_map", "w", encoding="ascii") as fh:
        fh.write(f"{gid} {gid} 1")


def _make_mountpoint(target: str, like: str) -> None:
    """Create `target` (and missing parents, world-searchable) to mirror `like`: a dir or a file."""
    parent = os.path.dirname(target)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if os.path.isdir(like):
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.exists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))


def _enter_namespaces(plan: dict[str, Any], applied: set[str]) -> None:
    """Unshare network, pid, mount, IPC and UTS namespaces and build the filesystem view.

    As root this always works when the process holds CAP_SYS_ADMIN; as another user it needs
    unprivileged user namespaces. Each protection is recorded only once it is in place, so a
    partial failure is visible to the parent instead of silently weakening the sandbox.
    """
    base = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    flags = base if os.geteuid() == 0 else base | CLONE_NEWUSER
    # Read before unsharing: inside a new user namespace without maps, ids read as the overflow id.
    uid, gid = os.getuid(), os.getgid()
    try:
        _check(_libc().unshare(flags), "unshare")
    except OSError:
        return
    if flags & CLONE_NEWUSER:
        _write_id_maps(uid, gid)
    applied.update(("network_namespace", "pid_namespace"))
    try:
        # Private propagation first: nothing mounted below may ever reach the host's namespace.
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _build_filesystem(plan, applied)
    except OSError as exc:
        print(f"callforge sandbox: filesystem isolation incomplete: {exc}", file=sys.stderr)


def _build_filesystem(plan: dict[str, Any], applied: set[str]) -> None:
    """Read-only root, empty tmpfs over /tmp and private dirs, needed paths bound back, tmpfs workdir."""
    workdir: str = plan["workdir"]
    covers: tuple[str, ...] = tuple(plan["covers"])
    binds: list[str] = [p for p in plan["binds"] if os.path.exists(p)]
    # Keep handles on what the covers are about to hide, to bind it back afterwards.
    handles = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in binds}

    ok = True
    for point in sorted(set(_mount_points()), key=len):
        if _under(point, ("/proc", "/sys")):
            continue
        try:
            _remount_readonly(point)
        except OSError as exc:
            # A point hidden under a later mount cannot be reached and needs no remount.
            if exc.errno not in (errno.ENOENT, errno.EINVAL, errno.EACCES):
                ok = False
    if ok:
        applied.add("readonly_root")

    for cover in covers:
        if os.path.isdir(cover):
            _mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    if "/tmp" in covers:
        applied.add("private_tmp")
    if "/run" in covers or not os.path.isdir("/run"):
        applied.add("private_run")
    for path in binds:
        if _under(path, covers):
            _make_mountpoint(path, like=f"/proc/self/fd/{handles[path]}")
            _mount(f"/proc/self/fd/{handles[path]}", path, None, MS_BIND | MS_REC)
            _remount_readonly(path)
        os.close(handles[path])
    os.makedirs(workdir, mode=0o755, exist_ok=True)
    owner = f",uid={plan['uid']},gid={plan['uid']}" if plan.get("uid") is not None else ""
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0700,size={plan['workdir_mb']}m{owner}")
    applied.add("workdir_quota")
    for cover in covers:
        if os.path.isdir(cover):
            _remount_readonly(cover)


def _die_by(sig: int) -> None:
    """End this process with signal `sig` (default action), as the process it reports on did."""
    if sig != SIGKILL:
        import signal

        if sig != signal.SIGSTOP:
            signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


def _mirror_exit(status: int, *, is_init: bool) -> None:
    """End this process the way its child ended, so the parent sees the real cause (signal or code)."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if not is_init:
            _die_by(sig)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _fork_into_pid_namespace(applied: set[str], deadline: float) -> None:
    """Fork init (pid 1 of the new namespace) and, from it, the worker; return only in the worker.

    This (outer) process stays outside the namespace as its supervisor: it dies with the
    callforge parent (PR_SET_PDEATHSIG, set by the caller), which takes init and with it every
    process of the namespace along, and it kills init itself when the wall-clock deadline passes,
    so the limit holds even when the parent is alive but stuck.
    """
    # A pipe stands in for getppid(), which reads 0 across the pid namespace boundary: when the
    # outer process is gone, its write end closes and the read end turns readable.
    alive_r, alive_w = os.pipe()
    init = os.fork()
    if init:
        os.close(alive_r)
        status = _wait_until(init, deadline, None, None)
        if status is None:
            os.kill(init, SIGKILL)  # the kernel kills the namespace's other processes before init is gone
            os.waitpid(init, 0)
            _watchdog_exit()
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) > 128:
            # init cannot re-raise a signal on itself (pid 1 ignores it); it encodes it as 128+sig.
            _die_by(os.WEXITSTATUS(status) - 128)
        _mirror_exit(status, is_init=False)

    os.close(alive_w)
    _prctl(PR_SET_PDEATHSIG, SIGKILL)
    if select.select([alive_r], [], [], 0)[0]:
        os._exit(1)
    os.close(alive_r)
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        applied.add("private_proc")
    except OSError:
        pass
    worker = os.fork()
    if worker == 0:
        _prctl(PR_SET_PDEATHSIG, SIGKILL)
        return
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if pid == worker:
            _mirror_exit(status, is_init=True)


def _fork_supervised(plan: dict[str, Any], deadline: float, parent: int | None) -> None:
    """Fork the worker and supervise it from here; return only in the worker.

    Used where this process is not outside a pid namespace of the run's own: in bwrap mode (this
    process is inside bubblewrap's namespace, which dies when it exits) and in process mode
    without namespaces (nothing dies by itself, so this process, which keeps its privileges,
    sweeps the run's processes when the deadline passes or the parent (`parent`) dies).
    """
    parent_fd = _watch_parent(parent) if parent is not None else None
    worker = os.fork()
    if worker == 0:
        if parent_fd is not None:
            os.close(parent_fd)
        return
    status = _wait_until(worker, deadline, parent_fd, parent if parent_fd is None else None)
    if status is None:
        _sweep_run(plan, worker)
        _watchdog_exit()
    _mirror_exit(status, is_init=False)


def _wait_until(pid: int, deadline: float, parent_fd: int | None, parent: int | None) -> Any:
    """Wait for child `pid`; its wait status, or None when the deadline passes or the parent dies.

    The parent is watched through `parent_fd` (a pidfd), or by polling getppid() against `parent`
    on kernels without pidfds.
    """
    import time

    try:
        child_fd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):  # Linux before 5.3
        child_fd = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if child_fd is not None:
                watched = [child_fd] if parent_fd is None else [child_fd, parent_fd]
                ready = select.select(watched, [], [], remaining)[0]
                if parent_fd is not None and parent_fd in ready:
                    return None
                if child_fd not in ready:
                    continue
            done, status = os.waitpid(pid, 0 if child_fd is not None else os.WNOHANG)
            if done:
                return status
            if parent is not None and os.getppid() != parent:
                return None
            time.sleep(min(0.05, remaining))
    finally:
        if child_fd is not None:
            os.close(child_fd)


def _watch_parent(parent: int) -> int | None:
    """A descriptor that turns readable when the callforge parent exits (None without pidfd support)."""
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):
        fd = None
    if os.getppid() != parent:  # it died before we looked: we were handed to another process
        os._exit(1)
    return fd


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when the callforge parent dies (exit now if it has)."""
    _prctl(PR_SET_PDEATHSIG, SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _sweep_run(plan: dict[str, Any], worker: int) -> None:
    """Kill every process of the run, for a supervisor that has no pid namespace to do it.

    The run's cgroup lists them all; a root parent's run has a uid of its own (stop, then kill,
    so nothing forks faster than the sweep); else the process group, which a tool can leave.
    """
    import signal
    import time

    me = os.getpid()
    procs = (plan.get("cgroup") or {}).get("procs", ())
    uid = plan.get("uid")
    for _ in range(50):
        victims = {worker}
        for path in procs:
            try:
                with open(path, encoding="ascii") as fh:
                    victims.update(int(p) for p in fh.read().split())
            except (OSError, ValueError):
                pass
        if uid is not None:
            victims.update(_pids_of_uid(uid))
        victims.discard(me)
        alive = []
        for sig in (signal.SIGSTOP, SIGKILL):
            for pid in victims:
                try:
                    os.kill(pid, sig)
                    alive.append(pid)
                except OSError:
                    pass
        if not alive:
            break
        time.sleep(0.01)
        # Reap what was ours (the worker), so it no longer shows as a process to kill.
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
    if uid is None:
        try:  # noqa: SIM105 (contextlib costs start-up time)
            os.killpg(os.getpgrp(), SIGKILL)  # the last resort takes this process along
        except OSError:
            pass


def _pids_of_uid(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def _watchdog_exit() -> None:
    """Tell the parent (if it still listens) that the child's own wall-clock watchdog ended the run."""
    try:  # noqa: SIM105 (contextlib costs start-up time)
        os.write(1, b'{"ok":false,"watchdog":"wall"}')
    except OSError:
        pass
    os._exit(WATCHDOG_EXIT)


def _join_cgroup(plan: dict[str, Any], applied: set[str]) -> None:
    """Move this process (and so everything it will fork) into the run's cgroup, made by the parent."""
    cgroup = plan.get("cgroup")
    if not cgroup:
        return
    try:
        for path in cgroup["join"]:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # "0" is the writer; see sandbox_cgroup.RunCgroup.join_files
            finally:
                os.close(fd)
    except OSError as exc:
        print(f"callforge sandbox: could not join the run's cgroup: {exc}", file=sys.stderr)
        return
    applied.update(cgroup["provides"])


def _install_seccomp(plan: dict[str, Any], applied: set[str]) -> None:
    """Install the parent-built seccomp filter (see sandbox_seccomp.py); needs no_new_privs or root.

    In bwrap mode bubblewrap has installed the same filter already (`--seccomp`, before it started
    this script, which needs none of the refused calls); it is only checked here.
    """
    if plan.get("seccomp_by_bwrap"):
        try:
            with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
                if any(line.split() == ["Seccomp:", "2"] for line in fh):
                    applied.add("seccomp")
        except OSError:
            pass
        return
    program = plan.get("seccomp")
    if not program:
        return
    import ctypes

    code = bytes.fromhex(program)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    try:
        _check(
            _libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0),
            "prctl(PR_SET_SECCOMP)",
        )
    except OSError as exc:
        print(f"callforge sandbox: no seccomp filter: {exc}", file=sys.stderr)
        return
    applied.add("seccomp")


# --------------------------------------------------------------------------- privileges and limits


def _count_processes(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _drop_and_limit(plan: dict[str, Any], applied: set[str]) -> None:
    """Become the sandbox user and apply the rlimits; nothing of the tool has run yet."""
    workdir: str = plan["workdir"]
    uid = plan.get("uid")
    if uid is not None:
        os.chown(workdir, uid, uid)
        os.chmod(workdir, 0o700)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() == uid and os.geteuid() == uid:
            applied.add("unprivileged_uid")
    if plan["mode"] == "process":  # bubblewrap sets no_new_privs itself
        try:
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
            applied.add("no_new_privs")
        except OSError:
            pass
    limits = plan["rlimits"]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"], limits["file_size"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    applied.add("rlimits")
    if os.geteuid() != 0:
        # RLIMIT_NPROC counts every process of the real uid (in this user namespace), so the budget
        # is what runs now plus the allowance; the worker itself is one of those running now.
        running = _count_processes(os.getuid())
        nproc = max(running, 1) - 1 + limits["processes"]
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        applied.add("process_limit")
        if "unprivileged_uid" in applied:
            # A uid of this run's own: RLIMIT_NPROC counts exactly the run's processes.
            applied.add("total_processes")
    os.chdir(workdir)
    # Last, so our own set-up could still mount and unshare; nothing of the tool has run yet.
    _install_seccomp(plan, applied)


# --------------------------------------------------------------------------- JSON


class _ScanContext:
    """The settings json.JSONDecoder hands to the C scanner: plain JSON, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")


def _loads(data: bytes) -> Any:
    text = data.decode("utf-8")
    try:
        value, end = _json.make_scanner(_ScanContext())(text, 0)  # type: ignore[arg-type]
        if text[end:].strip():
            raise ValueError("extra data after the request")
        return value
    except (AttributeError, TypeError):  # no accelerator, or its API changed
        import json

        return json.loads(text)


def _quote(text: str) -> str:
    if _json is not None:
        return str(_json.encode_basestring(text))
    import json

    return json.dumps(text, ensure_ascii=False)


def _encode(value: Any, out: list[str]) -> None:
    """Append JSON for `value`, already made JSON-safe by _jsonable (anything else becomes its repr)."""
    if value is None or value is True or value is False:
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value) if math.isfinite(value) else "null")
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append("," if i else "")
            out.append(_quote(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _encode(item, out)
        out.append("]")
    else:
        out.append(_quote(repr(value)))


def _dumps(value: Any) -> str:
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


# --------------------------------------------------------------------------- loading and calling tools


def _source_loader(path: str, source: str) -> Any:
    """A loader for the tool module that takes its source text from the parent.

    The file itself may be unreadable to the sandbox user; the source arrives over stdin. Using a
    loader (not a bare exec) gives the module a proper spec and lets tracebacks show source lines.
    """
    import importlib.machinery

    data = source.encode("utf-8")

    class SourceLoader(importlib.machinery.SourceFileLoader):
        def get_data(self, path: str) -> bytes:
            if path == self.path:
                return data
            raise OSError(errno.ENOENT, "not available in the sandbox", path)

        def path_stats(self, path: str) -> Any:
            raise OSError(errno.ENOENT, "no bytecode cache in the sandbox", path)

    return SourceLoader(_module_name(path), path)


def _module_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "tool_module"
    if name[0].isdigit() or name in sys.modules or name in sys.stdlib_module_names:
        name = f"callforge_tool_{name}"
    return name


def _load_module(spec: dict[str, Any]) -> Any:
    import importlib.util

    path: str = spec["path"]
    directory = os.path.dirname(path)
    if directory and os.access(directory, os.R_OK | os.X_OK):
        sys.path.insert(0, directory)
    loader = _source_loader(path, spec["source"])
    name = loader.name
    module_spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert module_spec is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


_ROUTINES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
)


def _is_tool(value: Any) -> bool:
    """A function, builtin, method or functools.partial: what can implement a tool."""
    if isinstance(value, _ROUTINES):
        return True
    functools = sys.modules.get("functools")
    return functools is not None and isinstance(value, functools.partial)


def _public_functions(module: Any) -> list[str]:
    return sorted(
        name for name, value in vars(module).items() if not name.startswith("_") and _is_tool(value)
    )


def _jsonable(value: Any, path: str, flagged: list[str], depth: int = 0) -> Any:
    """Convert a return value to JSON; record the paths where something had to become a repr string."""
    if depth > MAX_DEPTH:
        flagged.append(path)
        return "<nested too deeply>"
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        flagged.append(path)
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{path}[{i}]", flagged, depth + 1) for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [_jsonable(v, f"{path}[{i}]", flagged, depth + 1) for i, v in enumerate(value)]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=_dumps)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, bool) or key is None:
                text = _dumps(key)
            elif isinstance(key, (str, int)) or (isinstance(key, float) and math.isfinite(key)):
                text = str(key)
            else:
                flagged.append(f"{path}.<key {key!r}>")
                text = repr(key)
            out[text] = _jsonable(item, f"{path}.{text}", flagged, depth + 1)
        return out
    dataclasses = sys.modules.get("dataclasses")  # a dataclass instance means its module was imported
    if dataclasses is not None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return _jsonable(fields, path, flagged, depth + 1)
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and not isinstance(value, type):
        # numpy arrays and scalars (and anything shaped like them) become plain lists and numbers.
        try:
            return _jsonable(tolist(), path, flagged, depth + 1)
        except Exception:
            pass
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return _jsonable(dump(mode="json"), path, flagged, depth + 1)
        except Exception:
            pass
    flagged.append(path)
    return repr(value)


def _limit_of(exc: BaseException) -> str | None:
    """Name the resource limit behind an exception, when it can be told from the error."""
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, OSError):
        if exc.errno == errno.EFBIG:
            return "file_size"
        if exc.errno == errno.EMFILE:
            return "open_files"
        if exc.errno == errno.ENOSPC:
            return "workdir"
        if exc.errno == errno.EAGAIN:
            import traceback

            frames = traceback.extract_tb(exc.__traceback__)
            if any("fork" in (f.line or "") or f.name in ("_execute_child", "_launch") for f in frames):
                return "processes"
    return None


def _error(exc: BaseException) -> dict[str, Any]:
    tb = exc.__traceback__
    # Skip this file's own frames so the tail shows the tool's code.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    # The finished frames' locals (a memory hog's buffers) are not needed to format the traceback;
    # freeing them first lets the error be reported even when memory ran out.
    frame_tb = tb
    while frame_tb is not None:
        try:  # noqa: SIM105 (contextlib costs start-up time)
            frame_tb.tb_frame.clear()
        except RuntimeError:  # a frame still running cannot be cleared
            pass
        frame_tb = frame_tb.tb_next
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": text[-TRACEBACK_CHARS:],
        "limit": _limit_of(exc),
    }


def _run_op(request: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op", "ping")
    if op == "ping":
        return {"ok": True}
    try:
        module = _load_module(request["module"])
    except BaseException as exc:
        return {"ok": False, "stage": "load", "error": _error(exc)}
    if op == "inspect":
        return {"ok": True, "functions": _public_functions(module)}
    if op == "describe":
        return _describe(module, request["module"]["path"])
    if op in CLASS_OPS:
        return _class_op(module, request)
    name: str = request["function"]
    func: Callable[..., Any] | None = getattr(module, name, None)
    if func is None or isinstance(func, type) or not callable(func):
        return {"ok": False, "missing": True, "functions": _public_functions(module)}
    arguments: dict[str, Any] = request.get("arguments") or {}
    try:
        # Keyword arguments only: a dict's order says nothing about the parameters' order.
        result = _settle(func(**arguments))
    except BaseException as exc:
        return {"ok": False, "stage": "call", "error": _error(exc)}
    flagged: list[str] = []
    output = _jsonable(result, "$", flagged)
    return {"ok": True, "output": output, "non_json": flagged, "type": type(result).__name__}


def _settle(result: Any) -> Any:
    """The value of a tool's result: an awaitable (an async tool's coroutine) is run to its end."""
    if hasattr(type(result), "__await__"):
        import asyncio

        async def _await(awaitable: Any) -> Any:
            return await awaitable

        result = asyncio.run(_await(result))
    return result


def _describe(module: Any, path: str) -> dict[str, Any]:
    """Every public function as a ToolSpec (JSON), built here because building one imports the module.

    callforge itself is imported only for this operation, so plain calls stay as light as before.
    """
    try:
        from callforge.tools import tool_from_function
    except BaseException as exc:
        return {"ok": False, "stage": "describe", "error": _error(exc)}
    tools = []
    for name in _public_functions(module):
        try:
            spec = tool_from_function(getattr(module, name))
        except BaseException as exc:
            return {"ok": False, "stage": "describe", "function": name, "error": _error(exc)}
        tools.append(spec.model_copy(update={"source": path}).model_dump(mode="json"))
    return {"ok": True, "tools": tools}


# --------------------------------------------------------------------------- a class as a stateful environment

CLASS_OPS = ("class_init", "class_describe", "class_call")

STATE_TAGS = ("__tuple__", "__set__", "__frozenset__", "__dict__", "__float__", "__int__")
"""A JSON object with exactly one of these keys stands for a value JSON has no form of (see encode_state)."""

_INT_RANGE = (-(2**63), 2**64 - 1)
"""Integers the parent's JSON library (orjson) reads and writes as numbers; others travel as text."""


class StateError(Exception):
    """An attribute value that the state encoding cannot carry: where it is and what it is."""

    def __init__(self, path: str, type_name: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.attribute = ""
        self.path = path
        self.type_name = type_name
        self.reason = reason

    def problem(self) -> dict[str, Any]:
        """The reply's account of it: the attribute, the path inside it, the type and why."""
        return {"attribute": self.attribute, "path": self.path, "type": self.type_name, "reason": self.reason}


def encode_state(value: Any, path: str, depth: int = 0) -> Any:
    """A JSON tree for one attribute value, such that decode_state gives back an equal value of the same types.

    JSON values stay as they are; tuples, sets, frozensets, dicts whose keys are not all strings,
    non-finite floats and integers beyond 64 bits become tagged objects (`{"__tuple__": [...]}`),
    as does a plain dict whose only key happens to be a tag. Types are matched exactly: a subclass
    (defaultdict, OrderedDict, a namedtuple, an IntEnum) would come back as its base type, so it is
    refused rather than silently changed. Raises StateError naming the path of the first value that
    cannot be carried.
    """
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if _INT_RANGE[0] <= value <= _INT_RANGE[1] else {"__int__": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if depth >= MAX_DEPTH:
        reason = f"it is nested more than {MAX_DEPTH} levels deep (a reference cycle?)"
        raise StateError(path, kind.__name__, reason)
    depth += 1
    if kind is list:
        return [encode_state(item, f"{path}[{i}]", depth) for i, item in enumerate(value)]
    if kind is tuple:
        return {"__tuple__": [encode_state(item, f"{path}[{i}]", depth) for i, item in enumerate(value)]}
    if kind is set or kind is frozenset:
        tag = "__set__" if kind is set else "__frozenset__"
        return {tag: [encode_state(item, f"{path}<item {i}>", depth) for i, item in enumerate(value)]}
    if kind is dict:
        plain = all(type(key) is str for key in value)
        if plain and not (len(value) == 1 and next(iter(value)) in STATE_TAGS):
            return {key: encode_state(item, f"{path}[{key!r}]", depth) for key, item in value.items()}
        return {
            "__dict__": [
                [encode_state(key, f"{path}<key {key!r}>", depth), encode_state(item, f"{path}[{key!r}]", depth)]
                for key, item in value.items()
            ]
        }
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    raise StateError(path, name, f"a {name} is not a JSON value")


def decode_state(value: Any, depth: int = 0) -> Any:
    """The Python value of a tree made by encode_state; raises ValueError (or TypeError) for a malformed one.

    Strict, because the parent also decodes what comes back from the sandbox, which tool code can forge.
    """
    if depth > MAX_DEPTH + 1:
        raise ValueError(f"state nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    if value is None or kind in (bool, str, int, float):
        return value
    depth += 1
    if kind is list:
        return [decode_state(item, depth) for item in value]
    if kind is not dict:
        raise ValueError(f"a {kind.__name__} is not part of an encoded state")
    if len(value) == 1:
        tag, inner = next(iter(value.items()))
        if tag in STATE_TAGS:
            return _decode_tagged(tag, inner, depth)
    return {str(key): decode_state(item, depth) for key, item in value.items()}


def _decode_tagged(tag: str, inner: Any, depth: int) -> Any:
    if tag == "__int__" and type(inner) is str:
        return int(inner)
    if tag == "__float__" and inner in ("inf", "-inf", "nan"):
        return float(inner)
    if type(inner) is not list:
        raise ValueError(f"{tag} holds a {type(inner).__name__}, not a list")
    items = [decode_state(item, depth) for item in inner]
    if tag == "__tuple__":
        return tuple(items)
    if tag == "__set__":
        return set(items)
    if tag == "__frozenset__":
        return frozenset(items)
    if tag == "__dict__" and all(type(pair) is list and len(pair) == 2 for pair in items):
        return {key: item for key, item in items}
    raise ValueError(f"malformed {tag} in an encoded state")


def _public_classes(module: Any) -> list[str]:
    """The classes a module defines itself (not imports), public, and not exceptions: the candidates."""
    name = module.__name__
    return sorted(
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and isinstance(value, type)
        and value.__module__ == name
        and not issubclass(value, BaseException)
    )


def _class_methods(cls: type) -> list[str]:
    """The public methods of a class in definition order, then inherited ones: functions and classmethods.

    The same rule as callforge.execute.environment's ObjectEnvironment (properties, which would
    run, and staticmethods are not tools), read from the class dictionaries along the MRO (what
    inspect.getattr_static sees) without importing inspect.
    """
    seen: dict[str, Any] = {}
    for klass in cls.__mro__:
        for attr, value in vars(klass).items():
            seen.setdefault(attr, value)
    return [
        attr
        for attr, value in seen.items()
        if not attr.startswith("_") and isinstance(value, (types.FunctionType, classmethod))
    ]


def encode_attributes(instance: Any) -> dict[str, Any]:
    """Every attribute of the instance (public and private), encoded; StateError names the first bad one."""
    state = {}
    for attr, value in vars(instance).items():
        try:
            state[attr] = encode_state(value, attr)
        except StateError as exc:
            exc.attribute = attr
            raise
    return state


def decode_attributes(state: Any) -> dict[str, Any]:
    """The attributes of an instance from encode_attributes' result; ValueError/TypeError for a malformed one."""
    if type(state) is not dict:
        raise ValueError(f"the state is a {type(state).__name__}, not an object of attributes")
    return {str(attr): decode_state(value) for attr, value in state.items()}


def _class_op(module: Any, request: dict[str, Any]) -> dict[str, Any]:
    """`class_init`, `class_describe` or `class_call` on the class `request["class"]` (or the only candidate)."""
    op: str = request["op"]
    classes = _public_classes(module)
    name: str | None = request.get("class")
    if name is None:
        if len(classes) != 1:
            return {"ok": False, "stage": "class", "classes": classes}
        name = classes[0]
    cls = vars(module).get(name)
    if not isinstance(cls, type):
        return {"ok": False, "stage": "class", "missing": name, "classes": classes}
    methods = _class_methods(cls)
    if op == "class_describe":
        return _describe_class(cls, methods, request["module"]["path"])
    if op == "class_init":
        return _construct(cls, name, methods, request.get("init") or {}, request.get("long_context"))
    method: str = request["method"]
    if method not in methods:
        return {"ok": False, "missing": True, "methods": methods}
    instance: Any = object.__new__(cls)
    instance.__dict__.update(decode_attributes(request["state"]))
    try:
        result = _settle(getattr(instance, method)(**(request.get("arguments") or {})))
    except BaseException as exc:
        reply: dict[str, Any] = {"ok": False, "stage": "call"}
        if _limit_of(exc) is None:
            # Python keeps what the method changed before it raised, so the environment does too.
            try:
                reply["state"] = encode_attributes(instance)
            except StateError as problem:
                reply["state_error"] = problem.problem()
            except BaseException:
                pass
        reply["error"] = _error(exc)
        return reply
    flagged: list[str] = []
    output = _jsonable(result, "$", flagged)
    try:
        state = encode_attributes(instance)
    except StateError as problem:
        return {"ok": False, "stage": "state", "state_error": problem.problem(), "output": output}
    return {"ok": True, "output": output, "non_json": flagged, "type": type(result).__name__, "state": state}


def _construct(cls: type, name: str, methods: list[str], init: dict[str, Any], long_context: Any = None) -> dict[str, Any]:
    """Build the instance as `cls(**init)`, check that it can be rebuilt without __init__, report its state.

    With `long_context` (an int seed) the instance then gets its bulky filler state (`_fill_long_context`);
    `filled` in the reply says whether the class offered a way to make it.
    """
    try:
        instance = cls(**init)
    except BaseException as exc:
        return {"ok": False, "stage": "init", "class": name, "error": _error(exc)}
    filled = False
    if type(long_context) is int:
        try:
            filled = _fill_long_context(instance, long_context)
        except BaseException as exc:
            return {"ok": False, "stage": "long_context", "class": name, "error": _error(exc)}
    try:
        rebuilt: Any = object.__new__(cls)
        rebuilt.__dict__.update(vars(instance))
    except BaseException as exc:
        return {"ok": False, "stage": "rebuild", "class": name, "error": _error(exc)}
    try:
        state = encode_attributes(instance)
    except StateError as problem:
        return {"ok": False, "stage": "state", "class": name, "state_error": problem.problem()}
    return {"ok": True, "class": name, "methods": methods, "state": state, "filled": filled}


LONG_CONTEXT_HOOK = "_callforge_long_context"
"""The optional method (`def _callforge_long_context(self, seed: int) -> None`) that adds bulky filler state."""


def _fill_long_context(instance: Any, seed: int) -> bool:
    """Add filler state for a long-context episode; False when the class offers no way to.

    The class's own hook comes first; else a BFCL-style `_load_scenario(scenario, long_context=...)`
    is run on the instance's public state, as BFCL loads its simulators for multi_turn_long_context.
    Both names start with `_`, so neither is ever offered as a tool.
    """
    hook = getattr(instance, LONG_CONTEXT_HOOK, None)
    if callable(hook):
        hook(seed)
        return True
    load = getattr(instance, "_load_scenario", None)
    code = getattr(getattr(load, "__func__", None), "__code__", None)
    if callable(load) and code is not None and "long_context" in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
        load({k: v for k, v in vars(instance).items() if not k.startswith("_")}, long_context=True)
        return True
    return False


def _describe_class(cls: type, methods: list[str], path: str) -> dict[str, Any]:
    """The public methods as ToolSpecs (JSON), described bound to a bare instance so `self` is not a parameter."""
    try:
        from callforge.tools import tool_from_function
    except BaseException as exc:
        return {"ok": False, "stage": "describe", "error": _error(exc)}
    tools = []
    for name in methods:
        try:
            spec = tool_from_function(getattr(object.__new__(cls), name))
        except BaseException as exc:
            return {"ok": False, "stage": "describe", "function": name, "error": _error(exc)}
        tools.append(spec.model_copy(update={"source": path}).model_dump(mode="json"))
    return {"ok": True, "tools": tools}


def _write_reply(fd: int, reply: dict[str, Any]) -> None:
    data = _dumps(reply).encode("utf-8", "replace")
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def main() -> None:
    """Read the request, isolate, run the operation and write the reply; see the module docstring."""
    import time

    request = _loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    plan: dict[str, Any] = request["sandbox"]
    # The parent enforces the wall-clock limit; this deadline, a little later, is the child's own,
    # for when the parent is gone or stuck.
    deadline = time.monotonic() + plan["watchdog_s"]
    applied: set[str] = set()
    os.umask(0o022)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _join_cgroup(plan, applied)
    if plan["mode"] == "process" and plan["namespaces"]:
        _enter_namespaces(plan, applied)
    if "pid_namespace" in applied:
        _die_with_parent(plan["parent"])
        _fork_into_pid_namespace(applied, deadline)
    elif plan["mode"] == "bwrap":
        if not plan.get("external_watchdog"):  # else coreutils `timeout` runs above this process
            _fork_supervised(plan, deadline, None)  # bubblewrap's --die-with-parent covers the parent
    else:
        _fork_supervised(plan, deadline, plan["parent"])
    _drop_and_limit(plan, applied)
    reply_fd = os.dup(1)
    os.set_inheritable(reply_fd, False)
    os.dup2(2, 1)
    worker = os.getpid()
    missing = sorted(set(plan.get("require", ())) - applied)
    if missing:
        reply: dict[str, Any] = {"ok": False, "setup_error": f"could not establish: {', '.join(missing)}"}
        _write_reply(reply_fd, reply)
        os._exit(SETUP_FAILED)
    try:
        reply = _run_op(request)
    except BaseException as exc:
        reply = {
            "ok": False,
            "stage": "call" if isinstance(exc, MemoryError) else "internal",
            "error": _error(exc),
        }
    if os.getpid() != worker:
        # A process the tool forked returned through here: only the worker may answer.
        os._exit(0)
    reply["protections"] = sorted(applied)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    _write_reply(reply_fd, reply)
    os._exit(0)


if __name__ == "__main__":
    main()
