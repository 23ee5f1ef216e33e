"""Work directories that outlive their run: claim them so they can be found, sweep them on start.

A sandbox run removes its `callforge-sbx-*` work directory when it ends, but a callforge process
killed with SIGKILL (or the OOM killer) runs no cleanup, and the directory stays in the temporary
directory for good. So every work directory is named after its owner's pid
(`callforge-sbx-<pid>-<random>`) and the owner holds an exclusive `flock` on it for the whole
run. The next callforge process that starts a sandbox sweeps: a directory is removed only when
its owner pid is not running **and** its lock can be taken. The lock is what makes this safe
beyond one pid namespace (a container sharing `/tmp` whose live run happens to have a pid that
is free here still holds the lock); the kernel drops it when the owner dies, however it dies.
Directories named before pids were recorded (`callforge-sbx-<random>`) are removed once they are
a day old, far beyond any wall-clock limit.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from typing import Any

log = logging.getLogger(__name__)

PREFIX = "callforge-sbx-"
OWNED_NAME = re.compile(r"^callforge-sbx-(\d+)-[A-Za-z0-9_]+$")
"""A work directory (or run cgroup) name that records its owner's pid."""
_UNOWNED = re.compile(r"^callforge-sbx-[A-Za-z0-9_]+$")
UNOWNED_MAX_AGE_S = 86400.0


def claim_workdir(parent: str | None = None) -> tuple[str, int]:
    """Make a run's empty work directory and lock it; returns the path and the lock's descriptor.

    Keep the descriptor open for the whole run and close it after removing the directory: while
    it is open, no sweep removes the directory.
    """
    path = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return path, fd


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs in our pid namespace (a zombie counts as running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(parent: str | None = None) -> list[str]:
    """Remove the work directories of dead runs under `parent` (the temporary directory by default).

    Never touches a directory whose owner still runs or whose lock is held. Returns what it removed.
    """
    directory = parent or tempfile.gettempdir()
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        owned = OWNED_NAME.match(entry.name)
        if owned is None:
            if not _UNOWNED.match(entry.name):
                continue
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime < UNOWNED_MAX_AGE_S:
                    continue
        elif pid_alive(int(owned.group(1))):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live run holds it
        try:
            remove_tree(entry.path)
        finally:
            os.close(fd)
        if not os.path.exists(entry.path):
            removed.append(entry.path)
    if removed:
        log.info("removed %d work directories of dead sandbox runs from %s", len(removed), directory)
    return removed


def remove_tree(path: str) -> None:
    """Remove a work directory the sandbox user may have made unreadable or unwritable to us."""

    def retry(func: Any, target: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            func(target)

    shutil.rmtree(path, onerror=retry)
    if os.path.exists(path):
        log.warning("could not remove the sandbox work directory %s", path)
