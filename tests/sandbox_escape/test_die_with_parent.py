"""Attack: outlive callforge. The tool keeps running after its parent is killed or stuck.

With the wall-clock limit kept only in the parent and no parent-death signal, a `kill -9` of
callforge left the sandboxed processes running (for over 60 s) and their `callforge-sbx-*` work
directory behind. Expected containment, in every mode: when the parent dies, every process of
the call dies with it (a parent-death signal, or the supervisor in the sandbox sweeping them);
when the parent is alive but stuck, the supervisor inside the sandbox enforces the wall-clock
limit itself; the next callforge process that starts a sandbox removes the dead run's directory.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from callforge.execute import sandbox_cgroup, sandbox_stale
from tests.sandbox_escape.helpers import (
    MODES,
    environ,
    processes_with_argv,
    sandbox_processes,
    tool_file,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]

HANG = """
import os, subprocess, time
def hang(tag):
    subprocess.Popen(["sleep", tag])
    if os.fork() == 0:
        os.setsid()  # leaves the process group: only a namespace, a uid sweep or a cgroup finds it
        os.execvp("sleep", ["sleep", tag])
    time.sleep(900)
"""

PARENT = """
import sys
from pathlib import Path
from callforge.execute.sandbox import tool_request
from tests.sandbox_escape.helpers import make_sandbox
mode, path, tag, wall = sys.argv[1:5]
sandbox = make_sandbox(mode, Path(path).parent, wall_s=float(wall))
sandbox.run(tool_request(path, "call", function="hang", arguments={"tag": tag}))
"""

FRESH_START = """
import sys
from pathlib import Path
from tests.sandbox_escape.helpers import make_sandbox
make_sandbox(sys.argv[1], Path(sys.argv[2])).protections
"""


def start_parent(mode: str, tmp_path: Path, wall_s: float) -> tuple[subprocess.Popen[bytes], str, str]:
    """Run a callforge process whose sandboxed tool hangs; return it, the sandbox id and workdir."""
    tag = f"4000.{secrets.randbelow(10**6):06d}"  # a unique argv for the tool's `sleep` processes
    path = tool_file(tmp_path, HANG)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, mode, str(path), tag, str(wall_s)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def sleepers() -> list[int]:
        if parent.poll() is not None:
            assert parent.stderr is not None
            pytest.fail(f"the parent ended early: {parent.stderr.read().decode(errors='replace')[-2000:]}")
        found = processes_with_argv(["sleep", tag])
        return found if len(found) == 2 else []

    try:
        found = wait_until(sleepers, deadline_s=120, what="the sandboxed tool to start its processes")
    except BaseException:
        parent.kill()
        parent.wait()
        raise
    env = environ(found[0])
    return parent, env["CALLFORGE_SANDBOX"], env["HOME"]


@pytest.mark.parametrize("mode", MODES)
def test_killed_parent_takes_the_sandbox_with_it(mode: str, tmp_path: Path) -> None:
    parent, sandbox_id, workdir = start_parent(mode, tmp_path, wall_s=600)
    assert sandbox_processes(sandbox_id)
    parent.kill()  # kill -9: no finally, no atexit, nothing of the parent runs
    parent.wait()
    # On its own the tool would run for 600 s (the wall limit) or 900 s (its sleep).
    wait_until(lambda: not sandbox_processes(sandbox_id), deadline_s=60, what="the orphaned sandbox to die")
    assert os.path.isdir(workdir), "the killed parent could not remove its workdir"
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH_START, mode, str(tmp_path)], cwd=REPO, capture_output=True, timeout=120
    )
    assert fresh.returncode == 0, fresh.stderr.decode(errors="replace")[-2000:]
    assert not os.path.exists(workdir), "the next sandbox start left the dead run's workdir behind"


@pytest.mark.parametrize("mode", MODES)
def test_wall_limit_holds_while_the_parent_is_stuck(mode: str, tmp_path: Path) -> None:
    parent, sandbox_id, workdir = start_parent(mode, tmp_path, wall_s=15)
    os.kill(parent.pid, signal.SIGSTOP)  # alive but not scheduling: its own timer cannot fire
    try:
        assert sandbox_processes(sandbox_id)
        wait_until(
            lambda: not sandbox_processes(sandbox_id),
            deadline_s=120,
            what="the wall limit inside the sandbox",
        )
    finally:
        parent.kill()
        parent.wait()
    # The killed parent left its workdir (and run cgroup); a sweep removes them now it is dead.
    sandbox_cgroup.sweep_stale()
    assert workdir in sandbox_stale.sweep_stale(os.path.dirname(workdir))
