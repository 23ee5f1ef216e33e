"""One cgroup per sandbox run: a cap on the memory and the number of processes of the whole call.

RLIMIT_AS and RLIMIT_NPROC bind one process at a time, so a tool with 16 children of 450 MB
each holds 7.2 GB under a 512 MB limit. A cgroup counts all of them together: the parent makes
`callforge-sbx-<pid>-<random>` below its own cgroup with a memory limit (swap off) and a pids
limit, and the child joins it before it forks anything, so every process of the run is inside.
The kernel's OOM killer then ends the largest process of the run when the run as a whole goes
over `total_memory_mb`, and `fork()` fails with EAGAIN past `processes`.

Where callforge may make such cgroups:

* cgroup v2: when callforge's own cgroup hands `memory` (and `pids`) to its children in
  `cgroup.subtree_control`. A v2 cgroup with processes in it cannot do that, so when callforge is
  alone in its cgroup (a container or a systemd unit of its own with `Delegate=yes`) it moves
  itself into a leaf `callforge-main` first and enables the controllers; with other processes
  beside it, it leaves the hierarchy alone.
* cgroup v1: when the `memory` hierarchy's directory of callforge's cgroup is writable (root in a
  container with a writable `/sys/fs/cgroup`), plus the `pids` hierarchy when it is there.

Elsewhere (a read-only cgroupfs, another user without delegation) `find_root` returns None and
the sandbox reports no `total_memory`: the total is then only bounded by `processes x memory_mb`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

from callforge.execute.sandbox_stale import OWNED_NAME, PREFIX, pid_alive

log = logging.getLogger(__name__)

LEAF = "callforge-main"
REMOVE_WAIT_S = 2.0


@dataclass(frozen=True)
class CgroupRoot:
    """Where this process makes run cgroups: the memory directory and the pids one (may be the same)."""

    version: int
    memory: str
    pids: str | None


@dataclass(frozen=True)
class RunCgroup:
    """The cgroup(s) of one run: what the child joins, what the parent reads, kills and removes."""

    version: int
    memory: str
    pids: str | None

    @property
    def directories(self) -> tuple[str, ...]:
        """Every directory of this run's cgroup (one in v2, one per hierarchy in v1)."""
        return tuple(dict.fromkeys(d for d in (self.memory, self.pids) if d is not None))

    @property
    def join_files(self) -> list[str]:
        """The files the child writes "0" (itself) to, to join the run's cgroup before it forks.

        In v1 that is `tasks`: moving the calling thread alone lets the kernel skip the global
        threadgroup lock, whose RCU grace period cost 10 ms and more per run on a busy machine
        (the child is single-threaded there, so its one thread is the whole process). v2 has
        only `cgroup.procs`.
        """
        name = "tasks" if self.version == 1 else "cgroup.procs"
        return [os.path.join(d, name) for d in self.directories]

    @property
    def procs_files(self) -> list[str]:
        """The `cgroup.procs` files that list the run's processes."""
        return [os.path.join(d, "cgroup.procs") for d in self.directories]

    @property
    def provides(self) -> list[str]:
        """The protections a child that joined gets."""
        return ["total_memory", "total_processes"] if self.pids is not None else ["total_memory"]

    def oom_kills(self) -> int:
        """How many processes of the run the kernel's OOM killer ended for the memory cap."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            with open(os.path.join(self.memory, name), encoding="ascii") as fh:
                for line in fh:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def kill(self) -> None:
        """SIGKILL every process still in the run's cgroup (those that left the process group too)."""
        if self.version == 2:
            try:
                _write(os.path.join(self.memory, "cgroup.kill"), "1")
                return
            except OSError:
                pass  # before Linux 5.14: kill one by one
        for _ in range(50):
            pids = _members(self)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Remove the run's cgroup; the kernel refuses while a process is still exiting, so retry briefly."""
        deadline = time.monotonic() + REMOVE_WAIT_S
        for directory in self.directories:
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        log.warning("could not remove the sandbox cgroup %s: %s", directory, exc)
                        break
                    time.sleep(0.005)


_ROOT: tuple[int, CgroupRoot | None] | None = None
_ROOT_LOCK = threading.Lock()


def find_root() -> CgroupRoot | None:
    """Where this process can make run cgroups with a memory limit, or None (found once per process)."""
    global _ROOT
    with _ROOT_LOCK:
        if _ROOT is None or _ROOT[0] != os.getpid():
            try:
                root = _discover()
            except OSError as exc:
                log.debug("no cgroup for sandbox runs: %s", exc)
                root = None
            _ROOT = (os.getpid(), root)
        return _ROOT[1]


def create(name: str, memory_bytes: int, processes: int) -> RunCgroup | None:
    """Make the run cgroup `name` with its limits, or None when this machine gives none.

    `processes` is the whole run's budget of tasks (threads count, as for RLIMIT_NPROC).
    """
    root = find_root()
    if root is None:
        return None
    made: list[str] = []
    try:
        memory = os.path.join(root.memory, name)
        os.mkdir(memory, 0o755)
        made.append(memory)
        if root.version == 2:
            _write(os.path.join(memory, "memory.max"), str(memory_bytes))
            with contextlib.suppress(OSError):
                _write(os.path.join(memory, "memory.swap.max"), "0")
            pids = memory if root.pids is not None else None
        else:
            _write(os.path.join(memory, "memory.limit_in_bytes"), str(memory_bytes))
            with contextlib.suppress(OSError):  # only with swap accounting
                _write(os.path.join(memory, "memory.memsw.limit_in_bytes"), str(memory_bytes))
            pids = None
            if root.pids is not None:
                pids = os.path.join(root.pids, name)
                os.mkdir(pids, 0o755)
                made.append(pids)
        if pids is not None:
            _write(os.path.join(pids, "pids.max"), str(processes))
    except OSError as exc:
        log.warning("could not make the sandbox cgroup %s: %s", name, exc)
        for directory in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        return None
    return RunCgroup(root.version, memory, pids)


def sweep_stale() -> list[str]:
    """Remove the empty run cgroups that dead callforge processes left behind; returns what went."""
    root = find_root()
    if root is None:
        return []
    removed = []
    for base in dict.fromkeys(d for d in (root.memory, root.pids) if d is not None):
        try:
            entries = [e for e in os.scandir(base) if e.name.startswith(PREFIX)]
        except OSError:
            continue
        for entry in entries:
            owned = OWNED_NAME.match(entry.name)
            if owned is None or pid_alive(int(owned.group(1))):
                continue
            try:
                os.rmdir(entry.path)  # refused while any process is still inside
                removed.append(entry.path)
            except OSError:
                continue
    return removed


# ---------------------------------------------------------------------- discovery


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def _read_words(path: str) -> list[str]:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().split()
    except OSError:
        return []


def _members(run: RunCgroup) -> list[int]:
    pids: set[int] = set()
    for directory in run.directories:
        pids.update(int(p) for p in _read_words(os.path.join(directory, "cgroup.procs")) if p.isdigit())
    return sorted(pids)


def own_cgroups(cgroup_text: str, mountinfo_text: str) -> dict[str, str]:
    """Map each controller (v1) or '' (the v2 hierarchy) to this process's cgroup directory.

    Takes the text of /proc/self/cgroup and /proc/self/mountinfo, so it can be tested anywhere.
    """
    paths: dict[str, str] = {}
    for line in cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    found: dict[str, str] = {}
    for line in mountinfo_text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if not sep or len(fields) < 5 or len(rest) < 3:
            continue
        fstype, options = rest[0], rest[2]
        if fstype == "cgroup2":
            names = [""]
        elif fstype == "cgroup":
            names = [n for n in options.split(",") if n in ("memory", "pids")]
        else:
            continue
        mount_root, point = fields[3], fields[4]
        for name in names:
            path = paths.get(name)
            if path is None or name in found:
                continue
            if mount_root == "/" or path == mount_root or path.startswith(mount_root.rstrip("/") + "/"):
                relative = path[len(mount_root) :] if mount_root != "/" else path
                found[name] = os.path.join(point, relative.lstrip("/")).rstrip("/") or "/"
    return found


def _discover() -> CgroupRoot | None:
    with open("/proc/self/cgroup", encoding="utf-8") as fh:
        cgroup_text = fh.read()
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        mountinfo_text = fh.read()
    dirs = own_cgroups(cgroup_text, mountinfo_text)
    unified = dirs.get("")
    if unified is not None and os.path.basename(unified) == LEAF:
        unified = os.path.dirname(unified)  # moved there by an earlier discovery (before a fork)
    if unified is not None:
        root = _v2_root(unified)
        if root is not None:
            return root
    memory = dirs.get("memory")
    if memory is None or not os.access(memory, os.W_OK):
        return None
    pids = dirs.get("pids")
    if pids is not None and not os.access(pids, os.W_OK):
        pids = None
    return CgroupRoot(1, memory, pids)


def _v2_root(base: str) -> CgroupRoot | None:
    """The v2 directory to make run cgroups in, after the leaf move when callforge is alone in it."""
    if not os.access(base, os.W_OK) or "memory" not in _read_words(os.path.join(base, "cgroup.controllers")):
        return None
    wanted = [c for c in ("memory", "pids") if c in _read_words(os.path.join(base, "cgroup.controllers"))]
    enabled = _read_words(os.path.join(base, "cgroup.subtree_control"))
    missing = [c for c in wanted if c not in enabled]
    if missing:
        # A cgroup with processes in it cannot hand controllers to children ("no internal
        # processes"): only when callforge is alone may it move itself into a leaf to make room.
        if _read_words(os.path.join(base, "cgroup.procs")) != [str(os.getpid())]:
            return None
        leaf = os.path.join(base, LEAF)
        with contextlib.suppress(FileExistsError):
            os.mkdir(leaf, 0o755)
        _write(os.path.join(leaf, "cgroup.procs"), str(os.getpid()))
        _write(os.path.join(base, "cgroup.subtree_control"), " ".join(f"+{c}" for c in missing))
        enabled = _read_words(os.path.join(base, "cgroup.subtree_control"))
    if "memory" not in enabled:
        return None
    return CgroupRoot(2, base, base if "pids" in enabled else None)
