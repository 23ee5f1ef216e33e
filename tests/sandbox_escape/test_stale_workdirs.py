"""Leftovers: work directories of runs whose callforge process died are removed, live ones never.

Expected containment: `sweep_stale` removes a `callforge-sbx-<pid>-*` directory only when its
owner process is gone and nobody holds the directory's lock (a run in another pid namespace that
happens to reuse the number still holds it); pre-pid names only once they are a day old.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

from callforge.execute.sandbox_stale import claim_workdir, sweep_stale

CLAIM_AND_DIE = """
import os, sys
from callforge.execute.sandbox_stale import claim_workdir
path, _ = claim_workdir(sys.argv[1])
print(path, flush=True)
os._exit(0)  # like kill -9: the directory stays behind
"""


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_only_dead_runs_dirs(tmp_path: Path) -> None:
    died = subprocess.run(
        [sys.executable, "-c", CLAIM_AND_DIE, str(tmp_path)], capture_output=True, text=True, check=True
    )
    dead_dir = died.stdout.strip()
    assert os.path.isdir(dead_dir) and os.path.basename(dead_dir).startswith("callforge-sbx-")
    live_dir, live_fd = claim_workdir(str(tmp_path))
    # A dead-looking pid whose directory is locked: a live run of another pid namespace.
    foreign = tmp_path / f"callforge-sbx-{dead_pid()}-abcd1234"
    foreign.mkdir()
    foreign_fd = os.open(foreign, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(foreign_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    old_style = tmp_path / "callforge-sbx-q1w2e3r4"
    old_style.mkdir()
    day_ago = time.time() - 2 * 86400
    os.utime(old_style, (day_ago, day_ago))
    recent_old_style = tmp_path / "callforge-sbx-z9x8c7v6"
    recent_old_style.mkdir()
    unrelated = tmp_path / "callforge-other-123-abc"
    unrelated.mkdir()
    try:
        removed = sweep_stale(str(tmp_path))
        assert sorted(removed) == sorted([dead_dir, str(old_style)])
        assert not os.path.exists(dead_dir) and not old_style.exists()
        assert (
            os.path.isdir(live_dir) and foreign.is_dir() and recent_old_style.is_dir() and unrelated.is_dir()
        )
    finally:
        os.close(live_fd)
        os.close(foreign_fd)
