"""Attack: spread memory over many processes, each under the per-process limit.

RLIMIT_AS caps each process, so 16 children of 450 MB held 7.2 GB with a 512 MB limit. Expected
containment: with a cgroup (`total_memory`) the call's processes together never hold more than
`total_memory_mb` (the kernel's OOM killer ends the largest), and with `total_processes` the
call's processes together never exceed `processes`. Without a writable cgroup the total is only
bounded by `processes x memory_mb`, which is what the fallback documents: the memory test skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox_escape.helpers import IS_ROOT, MODES, call, cgroup_memory_writable, make_sandbox, tool_file

HOARD = """
import os, select, signal, time

def hoard(children, mb):
    ready_r, ready_w = os.pipe()
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                block = b"\\x01" * (mb << 20)  # written, so resident, not just reserved
                os.write(ready_w, b"+")
                time.sleep(120)
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(ready_w)
    reported, dead = 0, set()
    deadline = time.monotonic() + 60
    while reported + len(dead) < children and time.monotonic() < deadline:
        if select.select([ready_r], [], [], 0.2)[0]:
            reported += len(os.read(ready_r, 64))
        for pid in pids:
            if pid not in dead and os.waitpid(pid, os.WNOHANG)[0]:
                dead.add(pid)
    holding = [pid for pid in pids if pid not in dead and os.waitpid(pid, os.WNOHANG)[0] == 0]
    for pid in pids:
        if pid not in dead:
            os.kill(pid, signal.SIGKILL)
    return {"reported": reported, "holding": len(holding)}
"""

SWARM = """
import os, time

def swarm(target):
    # Each process forks a child until the budget runs out; count what ran at the same time.
    r, w = os.pipe()
    made = 0
    for _ in range(target):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            os.close(r)
            time.sleep(60)
            os._exit(0)
        made += 1
    return made + 1
"""


@pytest.mark.parametrize("mode", MODES)
def test_children_cannot_exceed_the_total_memory_cap(mode: str, tmp_path: Path) -> None:
    if not cgroup_memory_writable():
        pytest.skip("no writable memory cgroup here: the total is then only bounded by processes x memory_mb")
    assert "total_memory" in make_sandbox(mode, tmp_path).protections
    result = call(
        mode, tool_file(tmp_path, HOARD), "hoard", {"children": 8, "mb": 100}, total_memory_mb=256, wall_s=90
    )
    if result.reply is not None and result.reply.get("ok"):
        seen = result.reply["output"]
        # 256 MB hold at most two 100 MB blocks at a time (each child also has an interpreter).
        assert seen["holding"] <= 2, seen
    else:
        assert result.limit == "total_memory", result


@pytest.mark.parametrize("mode", MODES)
def test_processes_are_capped_for_the_whole_call(mode: str, tmp_path: Path) -> None:
    if not IS_ROOT and not cgroup_memory_writable():
        pytest.skip("as another user without a cgroup the process cap is relative to the user's processes")
    result = call(mode, tool_file(tmp_path, SWARM), "swarm", {"target": 40}, processes=10, wall_s=60)
    assert result.reply is not None and result.reply["ok"], result
    assert result.reply["output"] <= 10


@pytest.mark.parametrize("mode", MODES)
def test_a_run_killed_for_the_total_names_that_limit(mode: str, tmp_path: Path) -> None:
    if not cgroup_memory_writable():
        pytest.skip("no writable memory cgroup here")
    path = tool_file(tmp_path, "def grab():\n    block = b'\\x01' * (300 << 20)\n    return len(block)\n")
    result = call(mode, path, "grab", memory_mb=512, total_memory_mb=160, wall_s=60)
    assert result.reply is None and result.limit == "total_memory", result
